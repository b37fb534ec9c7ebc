//! Starting the helper, the handshake, and the running child (std and tokio flavours).

use super::builder::{AskAnswer, AskCallback, AskRequest};
use super::error::SpawnError;
use super::protocol::{FailureKind, FromHelper, RunRequest, ToHelper, PROTOCOL};
use crate::linux::report::{Floor, Report};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// How long a helper may take to say hello (it does so before doing anything else).
const HELLO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long setting up a sandbox may take before the spawn gives up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// What the builder resolved for one spawn.
pub(super) struct Prepared {
    pub helper: PathBuf,
    pub request: RunRequest,
    pub ask: Option<AskCallback>,
    pub stdin: Option<Stdio>,
    pub stdout: Option<Stdio>,
    pub stderr: Option<Stdio>,
    pub timeout: Option<Duration>,
}

/// Something the sandbox's proxy or engine saw, delivered live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxEvent {
    /// A connection attempt through the proxy, allowed or denied (with host, port,
    /// reason and the rule that decided), emitted when it ended.
    Connection(crate::proxy::Event),
    /// The proxy asked the caller's callback about a host no rule covers.
    Asked { host: String, port: u16 },
    /// The callback answered (the proxy counts an answer after the ask timeout as a
    /// denial; the `Connection` event says what happened).
    Answered {
        host: String,
        port: u16,
        allow: bool,
        reason: String,
    },
}

/// How a sandboxed command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    code: i32,
    timed_out: bool,
}

impl ExitStatus {
    /// The exit code, 128+n when the command was killed by signal n (as a shell
    /// reports it; the CLI exits with the same number).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Whether the sandbox was killed because it outlived the command's timeout.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.code)?;
        if self.timed_out {
            write!(f, " (timed out)")?;
        }
        Ok(())
    }
}

/// Everything a finished command produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// What was in force while it ran.
    pub report: Report,
    /// Every event, in order.
    pub events: Vec<SandboxEvent>,
}

/// The std command for the helper; the socket `fd` is inherited (only by this child:
/// its close-on-exec flag is cleared between fork and exec, so concurrent spawns on
/// other threads never see it).
fn helper_command(p: &mut Prepared, fd: RawFd) -> std::process::Command {
    let mut c = std::process::Command::new(&p.helper);
    c.arg(super::EMBED_ARG).arg(fd.to_string());
    if let Some(s) = p.stdin.take() {
        c.stdin(s);
    }
    if let Some(s) = p.stdout.take() {
        c.stdout(s);
    }
    if let Some(s) = p.stderr.take() {
        c.stderr(s);
    }
    // SAFETY: fcntl is async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

/// Starts the helper with `start` (std or tokio); returns our end of the socket and the
/// process. The helper's end and the stdio it was given are closed here, so that the
/// helper's exit is what ends the conversation.
fn launch<P>(
    p: &mut Prepared,
    start: impl FnOnce(std::process::Command) -> io::Result<P>,
) -> Result<(UnixStream, P), SpawnError> {
    let (ours, theirs) = UnixStream::pair()?;
    let process = start(helper_command(p, theirs.as_raw_fd()));
    drop(theirs);
    let process = process.map_err(|source| SpawnError::Helper {
        path: p.helper.clone(),
        source,
    })?;
    Ok((ours, process))
}

/// A failed handshake, and whether the helper must be killed (a stranger or a hung
/// helper) or exits by itself (it reported the failure).
struct Refused {
    error: SpawnError,
    kill: bool,
}

fn read_msg(reader: &mut BufReader<UnixStream>) -> io::Result<Option<(FromHelper, String)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    match serde_json::from_str(&line) {
        Ok(m) => Ok(Some((m, line))),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unreadable message {:?}: {e}", line.trim_end()),
        )),
    }
}

fn send(w: &Mutex<UnixStream>, msg: &ToHelper) -> io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
    line.push(b'\n');
    w.lock().unwrap_or_else(|e| e.into_inner()).write_all(&line)
}

/// Hello, request, then the report (or the failure).
fn handshake(
    reader: &mut BufReader<UnixStream>,
    writer: &Mutex<UnixStream>,
    p: &Prepared,
) -> Result<Report, Refused> {
    let mismatch = |found: String| Refused {
        error: SpawnError::HelperMismatch {
            path: p.helper.clone(),
            expected_protocol: PROTOCOL,
            expected_version: env!("CARGO_PKG_VERSION").into(),
            found,
        },
        kill: true,
    };
    let io_err = |e: io::Error| Refused {
        error: SpawnError::Io(e),
        kill: true,
    };
    reader
        .get_ref()
        .set_read_timeout(Some(HELLO_TIMEOUT))
        .map_err(io_err)?;
    match read_msg(reader) {
        Ok(Some((FromHelper::Hello { protocol, version }, _)))
            if protocol == PROTOCOL && version == env!("CARGO_PKG_VERSION") => {}
        Ok(Some((FromHelper::Hello { protocol, version }, _))) => {
            return Err(mismatch(format!("protocol {protocol} version {version}")))
        }
        Ok(Some((_, line))) => {
            return Err(mismatch(format!(
                "{:?} instead of a hello",
                line.trim_end()
            )))
        }
        Ok(None) => {
            return Err(mismatch(
                "no handshake (it closed the control socket)".into(),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
            return Err(mismatch(format!("no handshake within {HELLO_TIMEOUT:?}")))
        }
        Err(e) => return Err(mismatch(e.to_string())),
    }
    send(writer, &ToHelper::Run(Box::new(p.request.clone()))).map_err(io_err)?;
    reader
        .get_ref()
        .set_read_timeout(Some(SETUP_TIMEOUT))
        .map_err(io_err)?;
    let result = loop {
        match read_msg(reader).map_err(io_err)? {
            Some((FromHelper::Started { report }, _)) => break Ok(*report),
            Some((
                FromHelper::Failed {
                    kind,
                    layer,
                    message,
                    ..
                },
                _,
            )) => {
                break Err(Refused {
                    error: failure(kind, layer, message),
                    kill: false,
                })
            }
            Some(_) => continue,
            None => {
                break Err(Refused {
                    error: SpawnError::Setup(
                        "the helper exited during setup without a report".into(),
                    ),
                    kill: false,
                })
            }
        }
    };
    reader.get_ref().set_read_timeout(None).map_err(io_err)?;
    result
}

fn failure(kind: FailureKind, layer: Option<Floor>, message: String) -> SpawnError {
    match (kind, layer) {
        (FailureKind::Floor, Some(layer)) => SpawnError::Floor {
            layer,
            reason: message,
        },
        (FailureKind::Policy, _) => SpawnError::Policy(message),
        (FailureKind::NotFound, _) => SpawnError::NotFound(message),
        (FailureKind::NotExecutable, _) => SpawnError::NotExecutable(message),
        _ => SpawnError::Setup(message),
    }
}

/// The caller's side of one running sandbox, shared by both flavours.
struct Control {
    report: Report,
    events: UnboundedReceiver<SandboxEvent>,
    writer: Arc<Mutex<UnixStream>>,
    thread: Option<JoinHandle<Option<i32>>>,
    deadline: Option<Instant>,
    timed_out: bool,
    status: Option<ExitStatus>,
}

impl Control {
    /// Starts the thread that reads the helper's messages until it exits.
    fn start(
        report: Report,
        reader: BufReader<UnixStream>,
        writer: UnixStream,
        ask: Option<AskCallback>,
        runtime: Option<tokio::runtime::Handle>,
        timeout: Option<Duration>,
    ) -> io::Result<Control> {
        let (tx, rx) = unbounded_channel();
        let writer = Arc::new(Mutex::new(writer));
        let w = writer.clone();
        let thread = std::thread::Builder::new()
            .name("srt-sandbox-ctl".into())
            .spawn(move || control_loop(reader, w, tx, ask, runtime))?;
        Ok(Control {
            report,
            events: rx,
            writer,
            thread: Some(thread),
            deadline: timeout.map(|t| Instant::now() + t),
            timed_out: false,
            status: None,
        })
    }

    /// Asks the helper to kill the sandbox (it then exits as usual, cleaning up);
    /// kills the helper itself with `fallback` when it cannot be asked any more.
    fn kill(&self, fallback: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if self.status.is_some() || send(&self.writer, &ToHelper::Kill).is_ok() {
            return Ok(());
        }
        fallback()
    }

    /// Everything collected, once the command has exited.
    fn output(&mut self, status: ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Output {
        Output {
            status,
            stdout,
            stderr,
            report: self.report.clone(),
            events: self.take_events(),
        }
    }

    fn finish(&mut self, helper: std::process::ExitStatus, reported: Option<i32>) -> ExitStatus {
        let code = reported.unwrap_or_else(|| {
            helper
                .code()
                .unwrap_or_else(|| 128 + helper.signal().unwrap_or(0))
        });
        let st = ExitStatus {
            code,
            timed_out: self.timed_out,
        };
        self.status = Some(st);
        st
    }

    fn take_events(&mut self) -> Vec<SandboxEvent> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Reads the helper's messages: events go to the channel, ask requests to the callback
/// (on the caller's runtime, or a small one of their own), the exit code is returned.
fn control_loop(
    mut reader: BufReader<UnixStream>,
    writer: Arc<Mutex<UnixStream>>,
    tx: UnboundedSender<SandboxEvent>,
    ask: Option<AskCallback>,
    runtime: Option<tokio::runtime::Handle>,
) -> Option<i32> {
    let mut code = None;
    loop {
        let msg = match read_msg(&mut reader) {
            Ok(Some((m, _))) => m,
            Ok(None) => break,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => continue,
            Err(_) => break,
        };
        match msg {
            FromHelper::Event(e) => {
                let _ = tx.send(SandboxEvent::Connection(*e));
            }
            FromHelper::Ask { id, host, port } => {
                let _ = tx.send(SandboxEvent::Asked {
                    host: host.clone(),
                    port,
                });
                let Some(cb) = &ask else {
                    let _ = send(
                        &writer,
                        &ToHelper::Answer {
                            id,
                            allow: false,
                            reason: "no ask callback".into(),
                        },
                    );
                    continue;
                };
                let fut = cb(AskRequest {
                    host: host.clone(),
                    port,
                });
                let (w, tx) = (writer.clone(), tx.clone());
                let respond = async move {
                    let (allow, reason) = match fut.await {
                        AskAnswer::Allow => (true, "allowed by the ask callback".to_string()),
                        AskAnswer::Deny(r) => (false, r),
                    };
                    // The event first: the connection (and so the command) can only go
                    // on after the answer, so the event is always in before the exit.
                    let _ = tx.send(SandboxEvent::Answered {
                        host,
                        port,
                        allow,
                        reason: reason.clone(),
                    });
                    let _ = send(&w, &ToHelper::Answer { id, allow, reason });
                };
                match &runtime {
                    Some(h) => {
                        h.spawn(respond);
                    }
                    None => {
                        let _ = std::thread::Builder::new()
                            .name("srt-sandbox-ask".into())
                            .spawn(move || {
                                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                                    .enable_all()
                                    .build()
                                {
                                    rt.block_on(respond);
                                }
                            });
                    }
                }
            }
            FromHelper::Exit { code: c } => code = Some(c),
            FromHelper::Hello { .. } | FromHelper::Started { .. } | FromHelper::Failed { .. } => {}
        }
    }
    code
}

/// The accessors both child flavours share.
macro_rules! sandbox_accessors {
    () => {
        /// What is in force for this command, layer by layer.
        pub fn report(&self) -> &Report {
            &self.ctl.report
        }

        /// The live event stream (`try_recv`, `blocking_recv` outside a runtime, or
        /// `recv().await`); it ends once the sandbox has exited and every ask callback
        /// has returned.
        pub fn events(&mut self) -> &mut UnboundedReceiver<SandboxEvent> {
            &mut self.ctl.events
        }

        /// The events that have arrived so far; after `wait`, all of them.
        pub fn take_events(&mut self) -> Vec<SandboxEvent> {
            self.ctl.take_events()
        }
    };
}

/// A sandboxed command started with [`Command::spawn`](super::Command::spawn).
///
/// Like `std::process::Child`: the stdio handles are the sandboxed process's own
/// pipes when piped, and dropping the handle neither kills nor waits.
pub struct Child {
    pub stdin: Option<std::process::ChildStdin>,
    pub stdout: Option<std::process::ChildStdout>,
    pub stderr: Option<std::process::ChildStderr>,
    process: std::process::Child,
    ctl: Control,
}

pub(super) fn spawn(mut p: Prepared) -> Result<Child, SpawnError> {
    let (ours, mut process) = launch(&mut p, |mut c| c.spawn())?;
    let mut reader = BufReader::new(ours.try_clone()?);
    let writer = Mutex::new(ours);
    let report = match handshake(&mut reader, &writer, &p) {
        Ok(r) => r,
        Err(refused) => {
            if refused.kill {
                let _ = process.kill();
            }
            let _ = process.wait();
            return Err(refused.error);
        }
    };
    let writer = writer.into_inner().unwrap_or_else(|e| e.into_inner());
    let ctl = Control::start(report, reader, writer, p.ask.take(), None, p.timeout)?;
    Ok(Child {
        stdin: process.stdin.take(),
        stdout: process.stdout.take(),
        stderr: process.stderr.take(),
        process,
        ctl,
    })
}

impl Child {
    /// The helper's process id (the sandbox's supervisor).
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    sandbox_accessors!();

    /// Kills everything in the sandbox.
    pub fn kill(&mut self) -> io::Result<()> {
        self.ctl.kill(|| self.process.kill())
    }

    /// Waits for the command (killing it at its timeout, if one was set).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(s) = self.ctl.status {
            return Ok(s);
        }
        drop(self.stdin.take());
        if let Some(deadline) = self.ctl.deadline {
            if !exits_before(self.process.id(), deadline)? {
                self.ctl.timed_out = true;
                self.kill()?;
            }
        }
        let st = self.process.wait()?;
        let reported = self.ctl.thread.take().and_then(|t| t.join().ok()).flatten();
        Ok(self.ctl.finish(st, reported))
    }

    /// Waits at most `limit`; `None` if the command is still running then.
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        if self.ctl.status.is_some() || exits_before(self.process.id(), Instant::now() + limit)? {
            return self.wait().map(Some);
        }
        Ok(None)
    }

    /// The status if the command has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_timeout(Duration::ZERO)
    }

    /// Reads stdout and stderr to the end, waits, and collects the events.
    pub fn wait_with_output(mut self) -> Result<Output, SpawnError> {
        drop(self.stdin.take());
        // Drain both pipes on threads while waiting here, so the timeout applies and a
        // full pipe never blocks the command.
        let out = drain(self.stdout.take());
        let err = drain(self.stderr.take());
        let status = self.wait()?;
        let join = |t: Option<JoinHandle<Vec<u8>>>| {
            t.map(|t| t.join().unwrap_or_default()).unwrap_or_default()
        };
        let (stdout, stderr) = (join(out), join(err));
        Ok(self.ctl.output(status, stdout, stderr))
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            buf
        })
    })
}

/// Whether process `pid` (our unreaped child) exits before `deadline`.
fn exits_before(pid: u32, deadline: Instant) -> io::Result<bool> {
    let fd = crate::linux::sys::pidfd_open(pid as libc::pid_t)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            return Ok(true);
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else if left.is_zero() {
            return Ok(false);
        }
    }
}

/// A sandboxed command started with [`Command::spawn_async`](super::Command::spawn_async):
/// tokio stdio handles, async `wait`.
pub struct AsyncChild {
    pub stdin: Option<tokio::process::ChildStdin>,
    pub stdout: Option<tokio::process::ChildStdout>,
    pub stderr: Option<tokio::process::ChildStderr>,
    process: tokio::process::Child,
    ctl: Control,
}

pub(super) async fn spawn_async(mut p: Prepared) -> Result<AsyncChild, SpawnError> {
    let (ours, mut process) = launch(&mut p, |c| tokio::process::Command::from(c).spawn())?;
    let runtime = tokio::runtime::Handle::current();
    // The handshake blocks on the socket; keep it off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(ours.try_clone()?);
        let writer = Mutex::new(ours);
        let r = handshake(&mut reader, &writer, &p);
        let writer = writer.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok::<_, io::Error>((r, reader, writer, p))
    })
    .await
    .map_err(io::Error::other)??;
    let (result, reader, writer, mut p) = outcome;
    let report = match result {
        Ok(r) => r,
        Err(refused) => {
            if refused.kill {
                let _ = process.start_kill();
            }
            let _ = process.wait().await;
            return Err(refused.error);
        }
    };
    let ctl = Control::start(
        report,
        reader,
        writer,
        p.ask.take(),
        Some(runtime),
        p.timeout,
    )?;
    Ok(AsyncChild {
        stdin: process.stdin.take(),
        stdout: process.stdout.take(),
        stderr: process.stderr.take(),
        process,
        ctl,
    })
}

impl AsyncChild {
    /// The helper's process id (the sandbox's supervisor), while it runs.
    pub fn id(&self) -> Option<u32> {
        self.process.id()
    }

    sandbox_accessors!();

    /// Kills everything in the sandbox.
    pub fn kill(&mut self) -> io::Result<()> {
        self.ctl.kill(|| self.process.start_kill())
    }

    /// Waits for the command (killing it at its timeout, if one was set).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(s) = self.ctl.status {
            return Ok(s);
        }
        drop(self.stdin.take());
        let st = match self.ctl.deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), self.process.wait()).await {
                Ok(st) => st?,
                Err(_) => {
                    self.ctl.timed_out = true;
                    self.kill()?;
                    self.process.wait().await?
                }
            },
            None => self.process.wait().await?,
        };
        let thread = self.ctl.thread.take();
        let reported =
            tokio::task::spawn_blocking(move || thread.and_then(|t| t.join().ok()).flatten())
                .await
                .ok()
                .flatten();
        Ok(self.ctl.finish(st, reported))
    }

    /// Reads stdout and stderr to the end, waits, and collects the events.
    pub async fn wait_with_output(mut self) -> Result<Output, SpawnError> {
        use tokio::io::AsyncReadExt;
        drop(self.stdin.take());
        let (mut out, mut err) = (self.stdout.take(), self.stderr.take());
        let read_out = async {
            let mut b = Vec::new();
            if let Some(o) = out.as_mut() {
                o.read_to_end(&mut b).await?;
            }
            Ok::<_, io::Error>(b)
        };
        let read_err = async {
            let mut b = Vec::new();
            if let Some(e) = err.as_mut() {
                e.read_to_end(&mut b).await?;
            }
            Ok::<_, io::Error>(b)
        };
        // Waiting alongside the reads applies the timeout while output is collected.
        let (stdout, stderr, status) = tokio::try_join!(read_out, read_err, self.wait())?;
        Ok(self.ctl.output(status, stdout, stderr))
    }
}
