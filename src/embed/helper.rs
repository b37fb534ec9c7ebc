//! The helper side: `srt-runc __srt-runc-embed FD` (or an embedding binary through
//! [`main_if_helper`](super::main_if_helper)). It reads one request from the socket,
//! plans it exactly as the CLI plans `srt-runc sandbox`, runs it with the supervisor,
//! and reports back over the same socket. The command's stdio is the helper's own,
//! inherited from the library, so the caller gets the sandboxed process's real stdio.
//!
//! The helper is single-threaded until the sandbox's first process exists (the
//! supervisor clones or forks then); the thread reading the library's answers and kill
//! requests starts in [`Observer::started`].

use super::protocol::{FailureKind, FromHelper, RunRequest, ToHelper, PROTOCOL};
use crate::error::Error;
use crate::linux::report::{Floor, Report};
use crate::linux::{Observer, RunOptions};
use crate::policy::srt::{sandbox_policy, CommandLine, Invocation};
use crate::proxy::{AskFuture, AskHook, Decision, Event};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs the helper on the socket `fd`; returns the process exit status.
pub fn main(fd: &str) -> i32 {
    let Some(sock) = control_socket(fd) else {
        eprintln!("srt-runc: {}: fd {fd:?} is not a control socket; this entry point is for the srt_runc library only", super::EMBED_ARG);
        return 125;
    };
    let writer = match sock.try_clone() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("srt-runc: control socket: {e}");
            return 125;
        }
    };
    let link = Arc::new_cyclic(|me| Link {
        me: me.clone(),
        writer: Mutex::new(writer),
        reader: Mutex::new(None),
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        pidfd: Mutex::new(None),
        ask_timeout: Mutex::new(None),
    });
    link.send(&FromHelper::Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
    });
    let mut reader = BufReader::new(sock);
    let mut line = String::new();
    let request = match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return 125, // the library went away (e.g. version mismatch)
        Ok(_) => match serde_json::from_str::<ToHelper>(&line) {
            Ok(ToHelper::Run(r)) => r,
            Ok(other) => {
                return link.fail(&Error::Usage(format!(
                    "expected a run request, got {other:?}"
                )))
            }
            Err(e) => return link.fail(&Error::Usage(format!("malformed run request: {e}"))),
        },
    };
    *link.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(reader);
    *link.ask_timeout.lock().unwrap_or_else(|p| p.into_inner()) =
        request.ask_timeout_ms.map(Duration::from_millis);
    match run(&request, &link) {
        Ok(code) => {
            link.send(&FromHelper::Exit { code });
            code
        }
        Err(e) => link.fail(&e),
    }
}

/// The fd named on the command line, if it is a unix socket; made close-on-exec so it
/// can reach nothing the helper starts.
fn control_socket(fd: &str) -> Option<UnixStream> {
    let fd: i32 = fd.parse().ok().filter(|fd| *fd > 2)?;
    if crate::linux::sys::fd_type(fd) != Some(libc::S_IFSOCK) {
        return None;
    }
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Plans the request as `srt-runc sandbox` would, then runs it.
fn run(r: &RunRequest, link: &Arc<Link>) -> crate::error::Result<i32> {
    if r.argv.is_empty() {
        return Err(Error::Usage("no program given".into()));
    }
    let origin = "library policy";
    let inv = Invocation {
        command: CommandLine::Argv(r.argv.clone()),
        cwd: r.cwd.clone(),
        env: r.env.clone(),
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    };
    let mut policy = sandbox_policy(r.settings.clone(), origin, inv)?;
    // The library runs the program itself, not through a shell as srt's CLI does.
    policy.process.args = r.argv.clone();
    let plan = crate::plan::build(&policy, crate::plan::Caller::current())?;
    let opts = RunOptions {
        require: r.floor.iter().map(|f| f.name().to_string()).collect(),
        observer: Some(link.clone()),
        landlock_abi_max: r.landlock_abi_max,
        quiet: true,
        ..Default::default()
    };
    crate::linux::run(&plan, &opts)
}

/// The helper's end of the control socket, shared by the supervisor thread (report,
/// exit), the proxy thread (events, asks) and the reader thread (answers, kill).
struct Link {
    /// This link, for the threads and hooks it starts.
    me: std::sync::Weak<Link>,
    writer: Mutex<UnixStream>,
    reader: Mutex<Option<BufReader<UnixStream>>>,
    pending: Mutex<HashMap<u64, tokio::sync::oneshot::Sender<Decision>>>,
    next_id: AtomicU64,
    pidfd: Mutex<Option<OwnedFd>>,
    ask_timeout: Mutex<Option<Duration>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").finish_non_exhaustive()
    }
}

impl Link {
    /// Writes one message; a library that went away is not an error here (the sandbox
    /// runs on and is reaped as usual).
    fn send(&self, msg: &FromHelper) {
        let Ok(mut line) = serde_json::to_vec(msg) else {
            return;
        };
        line.push(b'\n');
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.write_all(&line);
    }

    fn fail(&self, e: &Error) -> i32 {
        let code = e.exit_code();
        let (kind, layer) = match e {
            Error::Floor { layer, .. } => (FailureKind::Floor, Floor::parse(layer)),
            Error::Config { .. }
            | Error::ConfigText { .. }
            | Error::Settings { .. }
            | Error::Usage(_) => (FailureKind::Policy, None),
            _ if code == 127 => (FailureKind::NotFound, None),
            _ if code == 126 => (FailureKind::NotExecutable, None),
            _ => (FailureKind::Setup, None),
        };
        // A floor failure carries only its reason: the library words the rest.
        let message = match e {
            Error::Floor { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        self.send(&FromHelper::Failed {
            kind,
            layer,
            message,
            code,
        });
        code
    }

    /// Reads answers and kill requests until the library closes its end.
    fn serve(self: Arc<Self>) {
        let Some(mut reader) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            match serde_json::from_str::<ToHelper>(&line) {
                Ok(ToHelper::Answer { id, allow, reason }) => {
                    let waiter = self
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    if let Some(tx) = waiter {
                        let _ = tx.send(if allow {
                            Decision::allow(reason)
                        } else {
                            Decision::deny(reason)
                        });
                    }
                }
                Ok(ToHelper::Kill) => {
                    if let Some(fd) = &*self.pidfd.lock().unwrap_or_else(|p| p.into_inner()) {
                        let _ = crate::linux::sys::pidfd_send_signal(fd, libc::SIGKILL);
                    }
                }
                Ok(ToHelper::Run(_)) | Err(_) => {
                    tracing::warn!("control socket: unexpected line {line:?}");
                }
            }
        }
    }
}

impl Observer for Link {
    fn report(&self, report: &Report) {
        self.send(&FromHelper::Started {
            report: Box::new(report.clone()),
        });
    }

    fn started(&self, pidfd: &OwnedFd) {
        if let Ok(fd) = pidfd.try_clone() {
            *self.pidfd.lock().unwrap_or_else(|p| p.into_inner()) = Some(fd);
        }
        if let Some(me) = self.me.upgrade() {
            let _ = std::thread::Builder::new()
                .name("srt-embed-ctl".into())
                .spawn(move || me.serve());
        }
    }

    fn event(&self, event: &Event) {
        self.send(&FromHelper::Event(Box::new(event.clone())));
    }

    fn ask_hook(&self) -> Option<(AskHook, Duration)> {
        let timeout = (*self.ask_timeout.lock().unwrap_or_else(|p| p.into_inner()))?;
        let me = self.me.upgrade()?;
        let hook: AskHook = Arc::new(move |host: String, port: u16| -> AskFuture {
            let id = me.next_id.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = tokio::sync::oneshot::channel();
            me.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, tx);
            me.send(&FromHelper::Ask { id, host, port });
            let me = me.clone();
            Box::pin(async move {
                let d = rx.await;
                me.pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                d.unwrap_or_else(|_| Decision::deny("the embedding closed its control channel"))
            })
        });
        Some((hook, timeout))
    }
}
