//! The supervisor: the `srt-runc` process that starts the sandbox and outlives it.
//!
//! It plans and compiles everything while single-threaded, `clone3`s the init into new
//! namespaces, writes the id maps, and then only relays: signals to the init, terminal
//! bytes when a pty is used, and finally the command's exit status (128+n on signal n).

use super::init::{self, InitArgs};
use super::process::{self, wait_set};
use super::report::{self, Floor, Layer, Report, Status};
use super::sync::{self, Msg};
use super::{idmap, sys};
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::seccomp::{self, Arch, BpfProgram};
use nix::sys::signal::SigmaskHow;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

pub(super) const NS_FLAGS: u64 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u64;

/// Joins the plan's namespaces given by path in this (single-threaded) process, so the
/// clone inherits them, and returns `flags` without them. Done from the host side
/// because a namespace owned by the host's user namespace (podman's netns) cannot be
/// joined from inside the sandbox's new user namespace.
pub(super) fn join_by_path(plan: &Plan, mut flags: u64) -> Result<u64> {
    for (kind, path) in &plan.join_namespaces {
        let flag = match kind.as_str() {
            "network" => libc::CLONE_NEWNET,
            "ipc" => libc::CLONE_NEWIPC,
            "uts" => libc::CLONE_NEWUTS,
            "cgroup" => libc::CLONE_NEWCGROUP,
            other => {
                return Err(Error::SetupMsg(format!(
                    "joining a {other} namespace by path is not supported"
                )))
            }
        };
        let f = std::fs::File::open(path)
            .step(|| format!("opening the {kind} namespace {}", path.display()))?;
        if unsafe { libc::setns(f.as_raw_fd(), flag) } != 0 {
            return Err(Error::setup(
                format!("joining the {kind} namespace {}", path.display()),
                std::io::Error::last_os_error(),
            ));
        }
        flags &= !(flag as u64);
    }
    Ok(flags)
}

/// Compiles the plan's seccomp programs (before the clone, so errors surface early and
/// the init does no compiling).
pub fn seccomp_programs(plan: &Plan) -> Result<Vec<BpfProgram>> {
    let arch = Arch::native();
    let mut out = Vec::new();
    if let Some(profile) = &plan.seccomp.oci_profile {
        let progs = seccomp::translate_oci(profile, arch)
            .map_err(|e| Error::config(&plan.origin, "linux.seccomp", e.to_string()))?;
        out.extend(progs);
    }
    let mut builtin = Vec::new();
    for name in &plan.seccomp.builtin {
        let prog = if *name == "guard" {
            seccomp::guard(arch)
        } else {
            seccomp::builtin(arch, name).ok_or_else(|| {
                Error::SetupMsg(format!("built-in seccomp program {name:?} is missing"))
            })?
        };
        builtin.push(prog);
    }
    out.push(seccomp::chain(&builtin).map_err(|e| Error::SetupMsg(e.to_string()))?);
    Ok(out)
}

/// Someone embedding the engine (the library's helper process) watching one run.
/// Called on the supervisor's thread except `event` and the ask hook, which run on the
/// proxy's thread.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// The enforcement report, after the caller's floor was checked against it; the
    /// command starts right after.
    fn report(&self, report: &Report);
    /// The sandbox's first process (the init, or the command in weaker mode) runs now.
    /// Threads may be started from here on.
    fn started(&self, pidfd: &OwnedFd);
    /// One proxy event.
    fn event(&self, event: &crate::proxy::Event);
    /// The hook asked about hosts no rule covers, and how long it may take.
    fn ask_hook(&self) -> Option<(crate::proxy::AskHook, std::time::Duration)>;
}

/// Caller choices that are not part of the policy.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Append every proxy connection event to this file as JSON lines.
    pub violations_log: Option<std::path::PathBuf>,
    /// Also deliver every proxy event to this channel (live, in-process).
    pub events: Option<tokio::sync::mpsc::UnboundedSender<crate::proxy::Event>>,
    /// Layers that must be enforced or the run is refused (exit 125): `network`,
    /// `filesystem`, `pid`, `namespaces`.
    pub require: Vec<String>,
    /// The embedding's observer: report, start, events, ask hook.
    pub observer: Option<std::sync::Arc<dyn Observer>>,
    /// Use at most this Landlock ABI in weaker mode (reproduces an older kernel).
    pub landlock_abi_max: Option<i32>,
    /// Do not print weaker mode's notice on stderr (the embedding reads the report).
    pub quiet: bool,
}

impl RunOptions {
    /// The parsed floors.
    pub fn floors(&self) -> Result<Vec<Floor>> {
        self.require
            .iter()
            .map(|r| {
                Floor::parse(r).ok_or_else(|| {
                    Error::Usage(format!(
                        "--require {r}: unknown layer; use network, filesystem, pid or namespaces"
                    ))
                })
            })
            .collect()
    }

    /// Checks the floors against what the run achieved; the command has not started.
    pub(super) fn check_report(&self, report: &Report) -> Result<()> {
        report
            .check(&self.floors()?)
            .map_err(|(floor, reason)| Error::Floor {
                layer: floor.name().into(),
                reason,
            })
    }
}

/// Refuses to run, before anything starts, when a required layer cannot be enforced in
/// this mode on this host. This is the quick answer from the mode and the kernel; the
/// authoritative one is the report the sandbox sends after setting up, checked before
/// the command runs (see `RunOptions::check_report`).
pub fn check_floor(plan: &Plan, opts: &RunOptions) -> Result<()> {
    let weaker = plan.mode == crate::policy::Mode::Weaker;
    let abi = super::landlock::current_abi();
    for floor in opts.floors()? {
        let (ok, why) = match floor {
            Floor::Network => (
                !weaker || abi >= 4,
                format!(
                    "weaker mode confines TCP with Landlock, which needs ABI 4 (ABI {abi} here)"
                ),
            ),
            Floor::Filesystem => (abi >= 1, "Landlock is unavailable on this kernel".into()),
            Floor::Pid | Floor::Namespaces => {
                (!weaker, "weaker mode runs without namespaces".into())
            }
        };
        if !ok {
            return Err(Error::Floor {
                layer: floor.name().into(),
                reason: why,
            });
        }
    }
    Ok(())
}

/// Runs the plan in the foreground and returns the exit status to use.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<i32> {
    check_floor(plan, opts)?;
    if plan.mode == crate::policy::Mode::Weaker {
        return super::weaker::run(plan, opts);
    }
    let programs = seccomp_programs(plan)?;
    // The init reports what it enforced and waits for a verdict only when someone will
    // read the report (a floor to check, an embedding caller): one round trip saved on
    // every other start.
    let handshake = !opts.require.is_empty() || opts.observer.is_some();
    // Declared before the init exists, so it is removed after the init is gone.
    let cgroup = super::cgroup::SandboxCgroup::create(plan)?;
    let (sup_chan, init_chan) = sync::pair().step(|| "creating the sync socketpair".into())?;
    let pty = if plan.process.terminal {
        Some(Pty::open()?)
    } else {
        None
    };

    let mask = wait_set();
    let mut old_mask = nix::sys::signal::SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old_mask))
        .step(|| "blocking signals".into())?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .step(|| "signalfd".into())?;

    // SAFETY: the supervisor has started no threads (the proxy runtime comes later).
    let flags = join_by_path(plan, NS_FLAGS)?;
    let forked = unsafe { sys::clone_pidfd(flags) }.map_err(clone_error)?;
    let (pid, pidfd) = match forked {
        sys::Forked::Child => {
            drop(sup_chan);
            drop(sigfd);
            init::main(InitArgs {
                plan,
                chan: init_chan,
                seccomp: &programs,
                pty_slave: pty.as_ref().map(|p| p.slave.as_raw_fd()),
                may_setgroups: !plan.id_maps.deny_setgroups,
                detached: None,
                handshake,
                hooks: Default::default(),
            })
        }
        sys::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(init_chan);
    let pty = pty.map(|p| {
        drop(p.slave);
        p.master
    });
    let child = Pid::from_raw(pid);

    // A setup step failed on our side: the init dies before we report it.
    let fail = |e: Error| {
        let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
        let _ = waitpid(child, None);
        e
    };
    // Placeholders must exist before the init builds its mounts (it waits for "go"), and
    // go when this function returns (normally, on error, or after the command was
    // killed). Created after the clone so a host refusing namespaces is reported first.
    let placeholders = cgroup
        .join(pid)
        .and_then(|()| process::raise_rlimits_of(pid, &plan.process))
        .and_then(|()| idmap::write(pid, &plan.id_maps))
        .and_then(|()| {
            super::placeholders::Placeholders::create(
                &plan.placeholders,
                &plan.existing_protected(),
            )
        })
        .map_err(fail)?;
    // Read now: once the init has made itself non-dumpable (setup step 8), an
    // unprivileged supervisor may no longer read its /proc/PID/ns links.
    let mut namespaces = Report::new(crate::policy::Mode::Strong);
    if handshake {
        report::namespaces_of(pid, &mut namespaces);
    }
    sup_chan
        .send(&Msg::Go)
        .step(|| "starting the sandbox init".into())?;
    // The proxy (and with it the first extra thread) starts only now, after the clone.
    // With neither a proxy nor a report to check, nothing has to pass before the command
    // runs, so the supervisor goes straight to relaying and reads the init's verdict
    // (ready or failed) after it has exited: one wake-up fewer on the start path.
    let proxied = matches!(plan.network, crate::plan::NetworkPlan::Proxy { .. });
    let mut proxy = None;
    if proxied || handshake {
        loop {
            match sup_chan
                .recv()
                .step(|| "waiting for the sandbox init".into())?
            {
                Msg::Ready => break,
                Msg::Report(json) => {
                    let r = serde_json::from_slice::<Report>(&json)
                        .map_err(|e| Error::SetupMsg(format!("the sandbox init's report: {e}")))
                        .and_then(|mut r| {
                            r.merge(namespaces.clone());
                            proxy_report(&mut r, plan, proxy.as_ref());
                            opts.check_report(&r).map(|()| r)
                        })
                        .map_err(fail)?;
                    if let Some(o) = &opts.observer {
                        o.report(&r);
                    }
                    sup_chan
                        .send(&Msg::Go)
                        .step(|| "starting the command".into())?;
                    break;
                }
                Msg::Listeners(fds) => proxy = Some(start_proxy(plan, fds, opts).map_err(fail)?),
                Msg::Fail { code, message } => {
                    let _ = waitpid(child, None);
                    return Err(Error::Reported { code, message });
                }
                _ => {
                    let status = status_code(waitpid(child, None).ok());
                    return Err(Error::SetupMsg(format!(
                        "the sandbox init exited during setup (status {status})"
                    )));
                }
            }
        }
    }
    if let Some(o) = &opts.observer {
        o.started(&pidfd);
    }
    let code = relay(child, &pidfd, &sigfd, pty.as_ref())?;
    if !(proxied || handshake) {
        // The init has exited, so this never blocks: it returns what the init sent, then
        // end-of-file.
        match sup_chan
            .recv()
            .step(|| "reading the sandbox init's verdict".into())?
        {
            Msg::Ready => {}
            Msg::Fail { code, message } => return Err(Error::Reported { code, message }),
            _ => {
                return Err(Error::SetupMsg(format!(
                    "the sandbox init exited during setup (status {code})"
                )))
            }
        }
    }
    drop(sup_chan);
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
    if let Some(p) = proxy {
        p.shutdown();
    }
    placeholders.release();
    Ok(code)
}

/// The proxy's config for `settings`, with the caller's event sinks attached (shared by
/// strong mode, whose listeners come from the sandbox's netns, and weaker mode).
pub(super) fn proxy_config(
    plan: &Plan,
    settings: &crate::policy::NetworkSettings,
    opts: &RunOptions,
) -> Result<crate::proxy::ProxyConfig> {
    let mut config =
        crate::proxy::ProxyConfig::from_settings(settings).map_err(|e| Error::ConfigText {
            file: plan.origin.clone(),
            text: format!("sandbox.{e}"),
        })?;
    if let Some(path) = &opts.violations_log {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .step(|| format!("opening the violations log {}", path.display()))?;
        config.events = config.events.with_json_lines(f);
    }
    if let Some(tx) = &opts.events {
        config.events = config.events.with_channel(tx.clone());
    }
    if let Some(o) = &opts.observer {
        let o = o.clone();
        if let Some((hook, timeout)) = o.ask_hook() {
            config.ask = Some(hook);
            config.ask_timeout = timeout;
        }
        config.events = config
            .events
            .with_callback(std::sync::Arc::new(move |e| o.event(e)));
    }
    Ok(config)
}

/// The proxy's entry in the report.
pub(super) fn proxy_report(r: &mut Report, plan: &Plan, proxy: Option<&crate::proxy::ProxyHandle>) {
    let (status, detail) = match (&plan.network, proxy) {
        (crate::plan::NetworkPlan::Isolated, _) => (
            Status::Enforced,
            "no proxy: the sandbox has no network at all".to_string(),
        ),
        (crate::plan::NetworkPlan::Proxy { settings, .. }, Some(p)) => (
            Status::Enforced,
            format!(
                "HTTP+SOCKS5 on {} ({} allowed, {} denied patterns)",
                p.local_addrs()
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                settings.allowed_domains.len(),
                settings.denied_domains.len()
            ),
        ),
        (crate::plan::NetworkPlan::Proxy { .. }, None) => (
            Status::unavailable("the proxy did not start"),
            String::new(),
        ),
    };
    r.set(Layer::Proxy, status, detail);
}

/// Starts the host-side proxy on the listeners the init created in the sandbox's netns.
fn start_proxy(
    plan: &Plan,
    fds: Vec<OwnedFd>,
    opts: &RunOptions,
) -> Result<crate::proxy::ProxyHandle> {
    let crate::plan::NetworkPlan::Proxy { settings, .. } = &plan.network else {
        return Err(Error::SetupMsg(
            "proxy listeners received but the plan has no proxy".into(),
        ));
    };
    let config = proxy_config(plan, settings, opts)?;
    let listeners = fds.into_iter().map(std::net::TcpListener::from).collect();
    crate::proxy::spawn(listeners, config).step(|| "starting the proxy".into())
}

pub(super) fn clone_error(e: std::io::Error) -> Error {
    let cause = super::check::userns_cause(e.raw_os_error().unwrap_or(0));
    Error::SetupMsg(format!(
        "strong mode needs new namespaces, but {cause}; run with --weaker (or \"mode\": \"weaker\" / enableWeakerNestedSandbox) for Landlock+seccomp without namespaces, or see `srt-runc check`"
    ))
}

pub(super) fn status_code(s: Option<WaitStatus>) -> i32 {
    match s {
        Some(WaitStatus::Exited(_, c)) => c,
        Some(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
        _ => 125,
    }
}

/// Waits for the init (or, in weaker mode, the command) to exit while forwarding
/// signals and terminal traffic.
pub(super) fn relay(
    child: Pid,
    pidfd: &OwnedFd,
    sigfd: &SignalFd,
    pty: Option<&OwnedFd>,
) -> Result<i32> {
    let stdin_tty = pty.is_some() && unsafe { libc::isatty(0) } == 1;
    let saved = if stdin_tty { Some(raw_mode(0)) } else { None };
    if let Some(m) = pty {
        copy_winsize(0, m.as_raw_fd());
    }
    let mut stdin_open = pty.is_some();
    // Cleared when a master read fails for good (EIO: every slave fd is closed while the
    // process lives, e.g. it closed its terminal); polling it further would spin on POLLHUP.
    let mut master_open = pty.is_some();
    // Whether the last byte forwarded from stdin ended a line (see `send_eof`).
    let mut at_line_start = true;
    let mut buf = vec![0u8; 16384];
    let code = loop {
        let mut fds = vec![
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let mut poll_fd = |on: bool, fd: RawFd| {
            on.then(|| {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
                fds.len() - 1
            })
        };
        let master_at = pty.and_then(|m| poll_fd(master_open, m.as_raw_fd()));
        let stdin_at = poll_fd(stdin_open, 0);
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            continue;
        }
        if fds[1].revents & libc::POLLIN != 0 {
            while let Ok(Some(info)) = sigfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    continue;
                }
                if sig == libc::SIGWINCH {
                    if let Some(m) = pty {
                        copy_winsize(0, m.as_raw_fd());
                        continue;
                    }
                }
                let _ = sys::pidfd_send_signal(pidfd, sig);
            }
        }
        if let (Some(m), Some(i)) = (pty, master_at) {
            if fds[i].revents & libc::POLLNVAL != 0 {
                master_open = false;
            } else if fds[i].revents != 0 {
                match sys::read(m.as_raw_fd(), &mut buf) {
                    Ok(n) if n > 0 => sys::write_all(1, &buf[..n]),
                    Err(e) if transient(&e) => {}
                    _ => master_open = false,
                }
            }
        }
        if let (Some(m), Some(i)) = (pty, stdin_at) {
            let revents = fds[i].revents;
            if revents & (libc::POLLIN | libc::POLLHUP) != 0 {
                match sys::read(0, &mut buf) {
                    Ok(n) if n > 0 => {
                        sys::write_all(m.as_raw_fd(), &buf[..n]);
                        at_line_start = buf[n - 1] == b'\n';
                    }
                    Ok(_) => {
                        stdin_open = false;
                        // A piped stdin's end: the process reads the terminal, which
                        // has no end of its own, so type the terminal's EOF character.
                        if !stdin_tty {
                            send_eof(m, at_line_start);
                        }
                    }
                    // EINTR/EAGAIN leave stdin open, unless it also hung up with
                    // nothing to read (then it would be polled ready forever).
                    Err(e) if transient(&e) && revents & libc::POLLIN != 0 => {}
                    Err(_) => stdin_open = false,
                }
            } else if revents & (libc::POLLNVAL | libc::POLLERR) != 0 {
                // Closed or broken stdin (e.g. `<&-`): stop polling it rather than spin.
                stdin_open = false;
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let status = waitpid(child, None).ok();
            if let Some(m) = pty {
                // Drain what the command wrote before it exited.
                drain(m);
            }
            break status_code(status);
        }
    };
    if let Some(t) = saved.flatten() {
        let _ = nix::sys::termios::tcsetattr(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(0) },
            nix::sys::termios::SetArg::TCSANOW,
            &t,
        );
    }
    Ok(code)
}

/// An interrupted or would-block read: worth retrying later, not an end.
fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
    )
}

/// Writes the pty's EOF character (VEOF of its termios, normally ^D) to the master, so
/// that a process reading the terminal in canonical mode sees end-of-file. A pending
/// partial line takes one EOF character to be delivered, then a second one for the end.
fn send_eof(master: &OwnedFd, at_line_start: bool) {
    let eof = nix::sys::termios::tcgetattr(master)
        .ok()
        .map(|t| t.control_chars[nix::sys::termios::SpecialCharacterIndices::VEOF as usize])
        .filter(|&c| c != 0)
        .unwrap_or(0x04);
    let times = if at_line_start { 1 } else { 2 };
    for _ in 0..times {
        sys::write_all(master.as_raw_fd(), &[eof]);
    }
}

/// Copies what is buffered on the pty master to stdout without blocking: until EIO (no
/// slave left and nothing buffered) or EAGAIN (a slave is still open elsewhere).
pub(super) fn drain(master: &OwnedFd) {
    let _ = nix::fcntl::fcntl(
        master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut buf = vec![0u8; 16384];
    loop {
        match sys::read(master.as_raw_fd(), &mut buf) {
            Ok(n) if n > 0 => sys::write_all(1, &buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
}

fn raw_mode(fd: RawFd) -> Option<nix::sys::termios::Termios> {
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let saved = tcgetattr(b).ok()?;
    let mut raw = saved.clone();
    cfmakeraw(&mut raw);
    tcsetattr(b, SetArg::TCSANOW, &raw).ok()?;
    Some(saved)
}

fn copy_winsize(from: RawFd, to: RawFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) } == 0 {
        unsafe { libc::ioctl(to, libc::TIOCSWINSZ, &ws) };
    }
}

/// A pseudo-terminal pair for `process.terminal`.
pub(super) struct Pty {
    pub(super) master: OwnedFd,
    pub(super) slave: OwnedFd,
}

impl Pty {
    pub(super) fn open() -> Result<Pty> {
        let r = nix::pty::openpty(None, None).step(|| "allocating a pseudo-terminal".into())?;
        for fd in [&r.master, &r.slave] {
            let _ = nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
        }
        Ok(Pty {
            master: r.master,
            slave: r.slave,
        })
    }

    /// The slave's path in the devpts the pty came from, `/dev/pts/N` (from the master,
    /// so no `/proc` is needed, which a container root may lack).
    pub(super) fn slave_name(&self) -> Result<String> {
        let mut n: libc::c_uint = 0;
        if unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCGPTN, &mut n) } != 0 {
            return Err(Error::setup(
                "naming the pty slave (TIOCGPTN)",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(format!("/dev/pts/{n}"))
    }
}
