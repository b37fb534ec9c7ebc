//! `exec`: start another process inside a running container.
//!
//! Process model: the `srt-runc exec` process forks a joiner, which enters the
//! container's cgroup and namespaces (`setns` on `/proc/PID/ns/*` of the container
//! init) and forks the process itself, so that it is born inside the container's pid
//! namespace. That process then applies the container's confinement exactly as the init
//! did for the container's own command — capabilities, ids, no_new_privs, the same
//! Landlock rules and the same seccomp programs — and execs. The joiner passes its pid
//! back and either exits (`--detach`: the process is re-parented to the caller's
//! subreaper, conmon or the containerd shim) or waits and passes its exit status on.
//!
//! Signals: a waiting `srt-runc exec` is what its caller signals, so it forwards the
//! signals the foreground `run` supervisor forwards (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
//! SIGUSR1, SIGUSR2, SIGWINCH) to the process, through a pidfd, and exits with the
//! process's status (128+n on signal n). They are blocked from before the fork, so none
//! is lost or kills us early; the joiner keeps them blocked (a terminal's Ctrl-C reaches
//! the whole process group, and must not take the joiner down with the process still
//! running), and the process unblocks them right before its `execve`.
//!
//! Namespace order: a root caller joins every namespace first and the user namespace
//! last (it may join namespaces owned by the host's user namespace, like a netns given
//! by path, only while it still holds its host capabilities); an unprivileged caller
//! joins the user namespace first, which gives it the capabilities the others need.
//!
//! Terminal: the joiner opens the pty once it is in the container's mount namespace, so
//! the slave lives in the container's own devpts (`tty` inside names it), and sends the
//! master back over a socketpair before it forks the process.

use super::supervisor::{drain, relay, seccomp_programs, status_code, Pty};
use super::sync::{Channel, Msg};
use super::{caps, landlock, process, sys};
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The namespaces an exec joins, with their `setns` flag.
const NAMESPACES: &[(&str, libc::c_int)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
];

/// What to exec and where.
pub struct ExecRequest<'a> {
    /// Host pid of the container init.
    pub init_pid: i32,
    /// The container's plan, with `process` replaced by the exec'd process.
    pub plan: &'a Plan,
    pub cgroup: Option<&'a super::cgroup::Cgroup>,
    /// Connected console socket, for `process.terminal`.
    pub console: Option<&'a std::os::unix::net::UnixStream>,
    pub detach: bool,
    pub preserve_fds: u32,
}

/// How the exec ended for the caller.
pub enum ExecOutcome {
    /// `--detach`: the process runs; its host pid.
    Detached(i32),
    /// Waited for: its exit status (128+n on signal n).
    Exited(i32),
}

struct Joined {
    ns: Vec<(OwnedFd, libc::c_int, &'static str)>,
}

/// Opens the init's namespaces that differ from ours (joining one's own is an error
/// for the user namespace and pointless for the rest).
fn open_namespaces(pid: i32) -> Result<Joined> {
    let mut ns = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = format!("/proc/{pid}/ns/{name}");
        let ours = format!("/proc/self/ns/{name}");
        let (a, b) = (std::fs::metadata(&theirs), std::fs::metadata(&ours));
        if let (Ok(a), Ok(b)) = (&a, &b) {
            use std::os::unix::fs::MetadataExt;
            if a.ino() == b.ino() && a.dev() == b.dev() {
                continue;
            }
        }
        let f = std::fs::File::open(&theirs).step(|| format!("opening {theirs}"))?;
        ns.push((OwnedFd::from(f), *flag, *name));
    }
    Ok(Joined { ns })
}

fn setns(fd: &OwnedFd, flag: libc::c_int, name: &str) -> Result<()> {
    if unsafe { libc::setns(fd.as_raw_fd(), flag) } != 0 {
        return Err(Error::setup(
            format!("joining the container's {name} namespace"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Runs the exec. Must be called while single-threaded.
pub fn exec(req: ExecRequest) -> Result<ExecOutcome> {
    let plan = req.plan;
    let programs = seccomp_programs(plan)?;
    let joined = open_namespaces(req.init_pid)?;
    // The joiner → us channel for the pty master (`process.terminal`).
    let console_chan = if plan.process.terminal {
        Some(super::sync::pair().step(|| "creating the console socketpair".into())?)
    } else {
        None
    };
    // The grandchild's host pid, from the joiner.
    let (pid_r, pid_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe".into())?;
    // Setup errors of the process, as text; closed by a successful execve.
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe".into())?;
    let root = nix::unistd::geteuid().is_root();
    let forwarding = if req.detach {
        None
    } else {
        Some(Forwarding::start()?)
    };

    // SAFETY: `exec` runs single-threaded (the CLI starts no threads before it).
    let joiner = match unsafe { fork() }.step(|| "fork".into())? {
        ForkResult::Child => {
            drop(pid_r);
            drop(err_r);
            let console = console_chan.map(|(_, joiner_end)| joiner_end);
            // The signal mask stays as it is (see the module doc); the joiner ends in
            // `_exit`, so `forwarding` is never dropped here.
            let code = match join_and_fork(&req, &joined, root, &programs, console.as_ref(), &err_w)
            {
                Ok(child) => {
                    let _ = nix::unistd::write(&pid_w, &child.as_raw().to_ne_bytes());
                    drop(pid_w);
                    drop(err_w);
                    if req.detach {
                        0
                    } else {
                        status_code(waitpid(child, None).ok())
                    }
                }
                Err(e) => {
                    report(&err_w, &e);
                    e.exit_code()
                }
            };
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };
    drop(pid_w);
    drop(err_w);
    drop(joined);
    // The joiner sends the master or exits (its error then comes through `err_r`).
    let slave = match console_chan {
        Some((ours, joiner_end)) => {
            drop(joiner_end);
            match ours.recv() {
                Ok(Msg::Console(master, name)) => Some((master, name)),
                _ => None,
            }
        }
        None => None,
    };
    let mut buf = [0u8; 4];
    let got = read_full(pid_r.as_raw_fd(), &mut buf);
    let message = read_all(err_r.as_raw_fd());
    if !message.is_empty() || got != 4 {
        let status = status_code(waitpid(joiner, None).ok());
        let message = if message.is_empty() {
            format!("the exec'd process failed to start (status {status})")
        } else {
            message
        };
        return Err(Error::SetupMsg(message));
    }
    let pid = i32::from_ne_bytes(buf);
    if plan.process.terminal && slave.is_none() {
        let _ = waitpid(joiner, None);
        return Err(Error::SetupMsg(
            "the exec'd process started without its terminal".into(),
        ));
    }
    // The pty master goes to the console socket when there is one; otherwise (a
    // waiting `exec -t`) we keep it and relay it to our own stdin and stdout.
    let master = match (req.console, slave) {
        (Some(sock), Some((master, name))) => {
            crate::oci::console::send_master(sock, &master, std::path::Path::new(&name))
                .map_err(|e| Error::SetupMsg(e.to_string()))?;
            None
        }
        (None, Some((master, _))) if !req.detach => Some(master),
        _ => None,
    };
    let Some(forwarding) = forwarding else {
        let _ = waitpid(joiner, None);
        return Ok(ExecOutcome::Detached(pid));
    };
    let code = match process_pidfd(pid, joiner) {
        Some(pidfd) => relay(joiner, &pidfd, &forwarding.sigfd, master.as_ref())?,
        // Already gone (and collected by the joiner): nothing to signal, but what it
        // wrote may still be buffered on the terminal.
        None => {
            if let Some(m) = &master {
                drain(m);
            }
            status_code(waitpid(joiner, None).ok())
        }
    };
    drop(forwarding);
    Ok(ExecOutcome::Exited(code))
}

/// The forwarded signals, blocked and read from a signalfd while the exec is waited for;
/// the old mask comes back on drop.
struct Forwarding {
    sigfd: SignalFd,
    old: SigSet,
}

impl Forwarding {
    fn start() -> Result<Forwarding> {
        let mask = process::wait_set();
        let mut old = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))
            .step(|| "blocking signals".into())?;
        let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK);
        match sigfd {
            Ok(sigfd) => Ok(Forwarding { sigfd, old }),
            Err(e) => {
                let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
                Err(Error::setup("signalfd", std::io::Error::from(e)))
            }
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

/// A pidfd for the exec'd process, whose host pid the joiner sent: checked after opening
/// to be the joiner's child still, so that a pid recycled after the joiner collected
/// the process is never signalled (the joiner, our unreaped child, keeps its own pid).
fn process_pidfd(pid: i32, joiner: Pid) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(pid).ok()?;
    (parent_of(pid) == Some(joiner.as_raw())).then_some(fd)
}

/// Field 4 (ppid) of `/proc/PID/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    crate::oci::state::proc_stat_fields(pid)?
        .get(1)?
        .parse()
        .ok()
}

/// In the joiner: cgroup, namespaces, then fork the process (born in the pid ns).
fn join_and_fork(
    req: &ExecRequest,
    joined: &Joined,
    root: bool,
    programs: &[crate::seccomp::BpfProgram],
    console: Option<&Channel>,
    err_w: &OwnedFd,
) -> Result<Pid> {
    if let Some(cg) = req.cgroup {
        cg.join(std::process::id() as i32)
            .map_err(|e| Error::SetupMsg(format!("joining the container's cgroup: {e}")))?;
    }
    let (user, rest): (Vec<_>, Vec<_>) = joined
        .ns
        .iter()
        .partition(|(_, f, _)| *f == libc::CLONE_NEWUSER);
    let order: Vec<_> = if root {
        rest.into_iter().chain(user).collect()
    } else {
        user.into_iter().chain(rest).collect()
    };
    for (fd, flag, name) in order {
        setns(fd, *flag, name)?;
    }
    // In the container's mount namespace now: its /dev/ptmx is its own devpts.
    let pty = match console {
        Some(chan) => {
            let pty = Pty::open()?;
            let name = pty.slave_name()?;
            let master = pty
                .master
                .try_clone()
                .step(|| "dup of the pty master".into())?;
            chan.send(&Msg::Console(master, name))
                .step(|| "handing the pty master to srt-runc exec".into())?;
            // Only the slave stays here (until the fork below returns): a master copy
            // kept by the joiner would hold the terminal open if `srt-runc exec` died.
            Some(pty.slave)
        }
        None => None,
    };
    // SAFETY: the joiner is single-threaded.
    match unsafe { fork() }.step(|| "fork".into())? {
        ForkResult::Child => {
            let Err(e) = confine_and_exec(req, programs, pty.as_ref(), err_w.as_raw_fd());
            report(err_w, &e);
            unsafe { libc::_exit(e.exit_code()) }
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// In the process: the container's confinement, in the init's order, then execve.
fn confine_and_exec(
    req: &ExecRequest,
    programs: &[crate::seccomp::BpfProgram],
    slave: Option<&OwnedFd>,
    err_fd: RawFd,
) -> Result<std::convert::Infallible> {
    let p = &req.plan.process;
    std::env::set_current_dir("/").step(|| "chdir /".into())?;
    nix::unistd::setsid().step(|| "setsid".into())?;
    if let Some(slave) = slave {
        for fd in 0..3 {
            sys::dup2(slave.as_raw_fd(), fd).step(|| "attaching the terminal".into())?;
        }
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
            return Err(Error::setup(
                "making the pty the controlling terminal",
                std::io::Error::last_os_error(),
            ));
        }
    }
    process::set_rlimits(p)?;
    process::enter_cwd(p, &req.plan.origin)?;
    let target = process::resolve(p)?;
    caps::drop_bounding(&p.capabilities)?;
    caps::keep_caps(true)?;
    process::set_ids(p, !req.plan.id_maps.deny_setgroups)?;
    caps::keep_caps(false)?;
    caps::apply_and_verify(&p.capabilities)?;
    if let Some(u) = p.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(u));
    }
    let mut keep = vec![err_fd];
    for fd in 3..3 + req.preserve_fds as RawFd {
        keep.push(fd);
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
    super::init::close_fds_except(&keep)?;
    nix::sys::prctl::set_no_new_privs().step(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
    landlock::restrict(&req.plan.landlock)?;
    crate::seccomp::install(programs).map_err(|e| Error::SetupMsg(format!("seccomp: {e}")))?;
    process::exec_direct(&target)
}

fn report(fd: &OwnedFd, e: &Error) {
    sys::write_all(fd.as_raw_fd(), e.to_string().as_bytes());
}

fn read_full(fd: RawFd, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match sys::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    n
}

fn read_all(fd: RawFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sys::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
