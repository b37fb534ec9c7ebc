//! The sandbox init: every setup step, in order, in one place.
//!
//! This runs in the child of `clone3`, inside fresh user, mount, PID, network, IPC, UTS
//! and cgroup namespaces, holding all capabilities *of the new user namespace only*.
//! Each step's reason for being where it is:
//!
//! 1. die with the supervisor (PDEATHSIG), then wait for "go": the supervisor writes
//!    our id maps, and until then we have no usable uid;
//! 2. filesystem: build the new root and pivot into it (mounts need CAP_SYS_ADMIN, and
//!    Landlock forbids mount changes once applied, so this comes early); a detached init
//!    runs the OCI `createContainer` hooks between the last mount and `pivot_root`;
//! 3. network: `lo` up (needs CAP_NET_ADMIN in our netns), then the proxy listeners,
//!    bound inside the netns and passed to the supervisor (SCM_RIGHTS);
//! 4. hostname / domain name (CAP_SYS_ADMIN in our UTS namespace);
//! 5. rlimits and oom_score_adj: lowering needs no capability; a raise above the
//!    caller's limits was already made by the supervisor with `prlimit` right after the
//!    clone, as the caller (this process can never hold CAP_SYS_RESOURCE of the host);
//! 6. find the program inside the new root, `chdir` to the working directory;
//! 7. `setsid`: no controlling terminal, so the command cannot TIOCSTI into the caller's;
//! 8. identity and capabilities: bounding set first (needs CAP_SETPCAP), then
//!    uid/gid with KEEPCAPS, then the final sets, verified with `capget`; the uid change
//!    resets PDEATHSIG and dumpable, so both are set again right after;
//! 9. close every fd except stdio and our channel (runc CVE-2024-21626 class);
//! 10. no_new_privs — before Landlock, because without capabilities the kernel only
//!     accepts a Landlock domain from a no_new_privs task;
//! 11. Landlock;
//! 12. seccomp, last, so the filters never get in the way of our own setup;
//! 13. report "ready" — in a foreground run, with the enforcement report of what steps
//!     2–12 achieved, then wait for "go" (the supervisor checks the caller's floor
//!     against the report first);
//! 14. foreground (`run`): close the channel, fork the command and stay PID 1 as its
//!     reaper. Detached (`create`): wait until the supervisor has recorded the container
//!     and says "go", stop dying with it (it exits now; we must survive that), then block
//!     on the exec fifo until `start`, run the OCI `startContainer` hooks (see
//!     [`InitHooks`]) and exec the command as PID 1 itself, as runc does.

use super::process::{self, ExecTarget};
use super::report::{self, Layer, Report, Status};
use super::sync::{Channel, Msg};
use super::{caps, landlock, mounts, net};
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::seccomp::BpfProgram;
use std::os::fd::{AsRawFd, RawFd};

/// What the supervisor hands over besides the plan.
pub struct InitArgs<'a> {
    pub plan: &'a Plan,
    pub chan: Channel,
    pub seccomp: &'a [BpfProgram],
    /// The pty slave to use as stdio when `process.terminal` is set.
    pub pty_slave: Option<RawFd>,
    /// Whether the id maps allow `setgroups` (root caller).
    pub may_setgroups: bool,
    /// Set for the OCI lifecycle (`create`/`start`); `None` for a foreground run.
    pub detached: Option<Detached>,
    /// Foreground only: send the enforcement report and wait for the supervisor's "go"
    /// (it checks floors and hands the report to an embedding caller) instead of just
    /// saying "ready" and starting the command.
    pub handshake: bool,
    /// The OCI hooks this init runs itself (detached only; none for a foreground run).
    pub hooks: InitHooks<'a>,
}

/// An OCI hook list run by the init: called with the init's pid as the runtime's caller
/// sees it (the state's `pid`); the error is the message for the caller.
pub type HookFn<'a> = &'a dyn Fn(i32) -> std::result::Result<(), String>;

/// The OCI hooks that must run inside the container, so the init runs them itself.
///
/// - `create_container`: after every mount of the new root is in place and before
///   `pivot_root`, in all the container's namespaces with the init's full capabilities
///   there, working directory the new root. `/` is still the host's, so the hook's path
///   resolves in the runtime's filesystem, as the spec asks; only the host's `/tmp` is
///   hidden then (the new root is staged on it). The hostname is set after it, as in
///   runc. A failure fails `create`.
/// - `start_container`: once `start` has released the init and right before the
///   command's `execve`, so the hook runs with exactly the command's confinement:
///   identity, capabilities, no_new_privs, Landlock and seccomp. Its path resolves in the
///   container's root. It is not run earlier, outside those layers, on purpose: its
///   binary comes from the container's filesystem and whatever it starts stays in the
///   container, so running it less confined would let an image leave unconfined
///   processes behind; the price is that the hook must be allowed what the command is
///   allowed (runc also runs it after its seccomp filter and capability drop). A failure
///   is written to [`Detached::start_status`] and the init exits (status 125) without
///   running the command.
#[derive(Default, Clone, Copy)]
pub struct InitHooks<'a> {
    pub create_container: Option<HookFn<'a>>,
    pub start_container: Option<HookFn<'a>>,
}

/// What a detached (`create`) init needs beyond a foreground one.
#[derive(Debug, Clone, Copy)]
pub struct Detached {
    /// The exec fifo, opened read-write by the supervisor before the clone (so the open
    /// never blocks and needs no path inside our root). Reading it blocks until `start`
    /// writes a byte; it is opened before Landlock, which could refuse a later open.
    pub start_fifo: RawFd,
    /// `--preserve-fds N`: fds 3..3+N stay open (without close-on-exec) in the command.
    pub preserve_fds: u32,
    /// Cloned without a cgroup namespace: the supervisor moved us into the container's
    /// cgroup before "go", and the namespace is unshared after it, rooted there.
    pub unshare_cgroup: bool,
    /// Write end of the start-status fifo (close-on-exec), when there are `startContainer`
    /// hooks: `start` reads it until EOF (the command's `execve` closes it): one NUL byte
    /// written right before that `execve` means the hooks passed, a message that one
    /// failed, and nothing at all that the init died first.
    pub start_status: Option<RawFd>,
    /// `process.terminal`: the init opens the pty itself once the new root is in place,
    /// from the container's own `/dev/ptmx` (its `newinstance` devpts), and sends the
    /// master to the supervisor. A pty from the host's devpts would not be found under
    /// the container's `/dev/pts`, so `ttyname` (`tty`) failed inside.
    pub console: bool,
}

/// Entry point of the init; never returns.
pub fn main(args: InitArgs) -> ! {
    match setup(&args) {
        Ok((target, report, pid)) => match args.detached {
            None if args.handshake => {
                let json = serde_json::to_vec(&report).unwrap_or_default();
                if args.chan.send(&Msg::Report(json)).is_err() {
                    unsafe { libc::_exit(125) }
                }
                match args.chan.recv() {
                    Ok(Msg::Go) => {}
                    // Refused (floor not met) or the supervisor is gone.
                    _ => unsafe { libc::_exit(125) },
                }
                drop(args.chan);
                process::spawn_and_reap(&target, args.pty_slave.is_some())
            }
            None => {
                let _ = args.chan.send(&Msg::Ready);
                drop(args.chan);
                process::spawn_and_reap(&target, args.pty_slave.is_some())
            }
            Some(d) => {
                let _ = args.chan.send(&Msg::Ready);
                wait_for_start(args.chan, d);
                if let Some(hooks) = args.hooks.start_container {
                    if let Err(message) = hooks(pid) {
                        if let Some(fd) = d.start_status {
                            super::sys::write_all(fd, message.as_bytes());
                        }
                        eprintln!("srt-runc: {message}");
                        unsafe { libc::_exit(125) }
                    }
                }
                // One NUL byte: the hooks passed and the command is being exec'd. A
                // bare EOF then means the init died first (killed during its hooks).
                if let Some(fd) = d.start_status {
                    super::sys::write_all(fd, b"\0");
                }
                process::exec_direct(&target)
            }
        },
        Err(e) => {
            let code = e.exit_code();
            let _ = args.chan.send(&Msg::Fail {
                code,
                message: e.to_string(),
            });
            unsafe { libc::_exit(code) }
        }
    }
}

/// Sets everything up; returns the command, the enforcement report and our pid as the
/// caller sees it (0 when no hook needs it).
fn setup(a: &InitArgs) -> Result<(ExecTarget, Report, i32)> {
    let plan = a.plan;

    // 1. Die with the supervisor; an EOF here means it is already gone.
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "prctl(PR_SET_PDEATHSIG)".into())?;
    match a.chan.recv().step(|| "waiting for the supervisor".into())? {
        Msg::Go => {}
        _ => unsafe { libc::_exit(125) },
    }
    if let Some((uid, gid)) = plan.id_maps.become_ids {
        if a.may_setgroups {
            nix::unistd::setgroups(&[]).step(|| "clearing supplementary groups".into())?;
        }
        let (u, g) = (
            nix::unistd::Uid::from_raw(uid),
            nix::unistd::Gid::from_raw(gid),
        );
        nix::unistd::setresgid(g, g, g)
            .step(|| format!("setresgid({gid}) in the user namespace"))?;
        nix::unistd::setresuid(u, u, u)
            .step(|| format!("setresuid({uid}) in the user namespace"))?;
    }
    let pid = if a.hooks.create_container.is_some() || a.hooks.start_container.is_some() {
        callers_pid()?
    } else {
        0
    };
    if a.detached.is_some_and(|d| d.unshare_cgroup) {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .step(|| "unshare(CLONE_NEWCGROUP)".into())?;
    }
    // Sysctls through the host's /proc, before the new root (whose /proc/sys may be
    // read-only): net.* and the IPC keys resolve to the namespaces of the writer, ours.
    for (k, v) in &plan.sysctl {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).step(|| format!("setting sysctl {k} = {v:?} ({path})"))?;
    }
    if let Some(slave) = a.pty_slave {
        for fd in 0..3 {
            super::sys::dup2(slave, fd).step(|| "attaching the terminal".into())?;
        }
    }

    // 2. Filesystem, with the createContainer hooks right before pivot_root.
    let create_hooks = a
        .hooks
        .create_container
        .map(|h| move || h(pid).map_err(Error::SetupMsg));
    mounts::setup_root(
        plan,
        create_hooks.as_ref().map(|f| f as &dyn Fn() -> Result<()>),
    )?;
    if a.detached.is_some_and(|d| d.console) {
        open_console(&a.chan)?;
    }

    // 3. Network: loopback, then the proxy listeners, created here so that they live in
    //    the sandbox's netns; their fds go to the supervisor's proxy over the channel.
    // A network namespace joined by path belongs to whoever prepared it (podman's
    // netavark has configured it, and we hold no capability over it).
    if !plan.join_namespaces.iter().any(|(k, _)| k == "network") {
        net::loopback_up()?;
    }
    if let crate::plan::NetworkPlan::Proxy { listen, .. } = &plan.network {
        let fds = net::create_listeners(listen)?;
        a.chan
            .send(&Msg::Listeners(fds))
            .step(|| "handing the proxy listeners to the supervisor".into())?;
    }

    // 4. Names.
    if let Some(h) = &plan.hostname {
        // A UTS namespace joined by path (a pod's) belongs to another user namespace:
        // the name is its owner's to set, and asking for the name it already has is fine.
        let same = || nix::unistd::gethostname().is_ok_and(|cur| cur == h.as_str());
        if let Err(e) = nix::unistd::sethostname(h) {
            if !(e == nix::errno::Errno::EPERM && same()) {
                let joined = plan.join_namespaces.iter().any(|(k, _)| k == "uts");
                return Err(e).step(|| {
                    if joined {
                        format!("setting hostname {h:?} in the UTS namespace joined by path (only its owner may change the name; drop \"hostname\" or give the name it has)")
                    } else {
                        format!("setting hostname {h:?}")
                    }
                });
            }
        }
    }
    if let Some(d) = &plan.domainname {
        let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
        if r != 0 {
            let err = std::io::Error::last_os_error();
            // As for the hostname: a joined UTS namespace may already have this name.
            let same = nix::sys::utsname::uname().is_ok_and(|u| u.domainname() == d.as_str());
            if !(err.raw_os_error() == Some(libc::EPERM) && same) {
                return Err(Error::setup(format!("setting domainname {d:?}"), err));
            }
        }
    }

    // 5. Limits: lowered to their final values here, after the mounts (the supervisor
    //    made any raise, as the caller, right after the clone).
    process::set_rlimits(&plan.process)?;
    if let Some(adj) = plan.process.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .step(|| format!("setting oom_score_adj {adj}"))?;
    }

    // 6. The program and its working directory.
    process::enter_cwd(&plan.process, &plan.origin)?;
    let target = process::resolve(&plan.process)?;

    // 7. New session. A detached init execs the command itself, so it also takes the
    //    pty as its controlling terminal here (a foreground run's reaper leaves that to
    //    the forked command).
    nix::unistd::setsid().step(|| "setsid".into())?;
    if a.detached.is_some_and(|d| d.console) && unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::setup(
            "making the pty the controlling terminal",
            std::io::Error::last_os_error(),
        ));
    }

    // 8. Identity and capabilities.
    caps::drop_bounding(&plan.process.capabilities)?;
    caps::keep_caps(true)?;
    process::set_ids(&plan.process, a.may_setgroups)?;
    caps::keep_caps(false)?;
    caps::apply_and_verify(&plan.process.capabilities)?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "prctl(PR_SET_PDEATHSIG)".into())?;
    // Not dumpable: the command (same uid) must not ptrace or read the memory of PID 1,
    // which holds the channel to the supervisor.
    nix::sys::prctl::set_dumpable(false).step(|| "prctl(PR_SET_DUMPABLE)".into())?;
    if supervisor_gone(&a.chan) {
        // The uid change cleared PDEATHSIG; if the supervisor died before it was
        // re-armed, its end of the channel is closed and we must not go on.
        unsafe { libc::_exit(125) }
    }
    if let Some(u) = plan.process.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(u));
    }

    // 9. No stray fds (a detached init keeps the exec fifo and `--preserve-fds`).
    let mut keep = vec![a.chan.0.as_raw_fd()];
    if let Some(d) = &a.detached {
        keep.push(d.start_fifo);
        keep.extend(d.start_status);
        for fd in 3..3 + d.preserve_fds as RawFd {
            keep.push(fd);
            // The caller's fds may be close-on-exec; preserved means they reach the command.
            unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        }
    }
    close_fds_except(&keep)?;

    // 10–12. no_new_privs, Landlock, seccomp.
    let mut report = Report::new(crate::policy::Mode::Strong);
    report.set(Layer::Procfs, own_procfs(), "/proc");
    let (st, detail) = report::capabilities_status(&plan.process.capabilities);
    report.set(Layer::Capabilities, st, detail);
    nix::sys::prctl::set_no_new_privs().step(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
    report.set(Layer::NoNewPrivs, report::no_new_privs_status(), "");
    let outcome = landlock::restrict(&plan.landlock)?;
    tracing::debug!(?outcome, "landlock applied");
    landlock::report(&mut report, &outcome, plan.landlock.writable.len());
    crate::seccomp::install(a.seccomp).map_err(|e| Error::SetupMsg(format!("seccomp: {e}")))?;
    report.seccomp_programs = seccomp_names(plan);
    report.set(
        Layer::Seccomp,
        Status::Enforced,
        report.seccomp_programs.join(", "),
    );

    Ok((target, report, pid))
}

/// Our pid as the runtime's caller sees it (OCI hooks get it in the state): `/proc` is
/// still the caller's procfs until the new root is in place, and its `self` link names
/// us in the caller's pid namespace.
fn callers_pid() -> Result<i32> {
    let link = std::fs::read_link("/proc/self").step(|| "reading /proc/self".into())?;
    link.to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::SetupMsg(format!("/proc/self is {}, not a pid", link.display())))
}

/// The names of the installed seccomp programs, in order, for the report.
pub(super) fn seccomp_names(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if plan.seccomp.oci_profile.is_some() {
        names.push("linux.seccomp (OCI profile)".into());
    }
    names.extend(plan.seccomp.builtin.iter().map(|n| n.to_string()));
    names
}

/// Whether `/proc` is a procfs of our own PID namespace: there, we are PID 1.
fn own_procfs() -> Status {
    match std::fs::read_link("/proc/self") {
        Ok(p) if p.as_os_str() == "1" => Status::Enforced,
        Ok(p) => Status::Degraded {
            reason: format!(
                "/proc/self is {} here, not 1: this /proc is not the sandbox's",
                p.display()
            ),
        },
        Err(e) => Status::Unavailable {
            errno: e.raw_os_error(),
            reason: format!("/proc/self: {e}"),
        },
    }
}

/// Detached mode, after "ready": the supervisor records the container, then says "go".
/// Only then do we drop PDEATHSIG (the supervisor is about to exit and we must outlive
/// it) and acknowledge, so the supervisor never exits while PDEATHSIG is still armed.
/// Then we block until `start` writes a byte into the exec fifo.
fn wait_for_start(chan: Channel, d: Detached) {
    match chan.recv() {
        Ok(Msg::Go) => {}
        _ => unsafe { libc::_exit(125) },
    }
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) } != 0 {
        unsafe { libc::_exit(125) }
    }
    if chan.send(&Msg::Ready).is_err() {
        unsafe { libc::_exit(125) }
    }
    drop(chan);
    let mut byte = [0u8; 1];
    loop {
        match super::sys::read(d.start_fifo, &mut byte) {
            Ok(1) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => unsafe { libc::_exit(125) },
        }
    }
    unsafe { libc::close(d.start_fifo) };
}

/// True when the supervisor's end of the channel is closed.
fn supervisor_gone(chan: &Channel) -> bool {
    let mut pfd = libc::pollfd {
        fd: chan.0.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0 && pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

/// Closes every fd above stderr except `keep`.
pub(super) fn close_fds_except(keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<u32> = keep.iter().map(|k| *k as u32).filter(|k| *k > 2).collect();
    keep.sort_unstable();
    let mut first = 3u32;
    for k in keep {
        if k > first {
            super::sys::close_range(first, k - 1).step(|| "closing inherited fds".into())?;
        }
        first = k + 1;
    }
    super::sys::close_range(first, u32::MAX).step(|| "closing inherited fds".into())
}

/// Opens a pty from the new root's `/dev/ptmx`, makes the slave our stdio and sends the
/// master, with the slave's path as seen in here, to the supervisor.
fn open_console(chan: &Channel) -> Result<()> {
    let pty = super::supervisor::Pty::open()?;
    let name = pty.slave_name()?;
    for fd in 0..3 {
        super::sys::dup2(pty.slave.as_raw_fd(), fd).step(|| "attaching the terminal".into())?;
    }
    chan.send(&Msg::Console(pty.master, name))
        .step(|| "handing the pty master to the supervisor".into())
}
