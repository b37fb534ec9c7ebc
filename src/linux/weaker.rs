//! Weaker mode: a sandbox without namespaces, for hosts (nested containers) that
//! refuse them. Selected explicitly (`"mode": "weaker"`, `enableWeakerNestedSandbox`,
//! `--weaker`) or by `"mode": "auto"`, and always reported on stderr.
//!
//! What confines the command here, in setup order (in the forked child):
//! 1. PDEATHSIG and a new session (no TIOCSTI into the caller's terminal);
//! 2. rlimits, working directory, the program looked up (127/126 before anything runs);
//! 3. bounding set dropped, ids set, every capability dropped and verified;
//! 4. every fd but stdio closed;
//! 5. no_new_privs; Landlock: reads granted on the complement of the denied paths,
//!    writes beneath the writable paths, TCP connect only to the proxy's port on host
//!    loopback (ABI 4+), abstract unix sockets and signals scoped (ABI 6+);
//! 6. seccomp (the strong-mode programs plus `weaker-net`: no UDP, raw, packet,
//!    netlink other than route, vsock sockets), then exec.
//!
//! The supervisor forks the child *before* starting the proxy's thread (a fork after
//! threads exist could deadlock in the child), then hands it the proxy port over a
//! pipe. It is the child subreaper of everything the command starts, and kills what
//! is left when the command exits, so background processes die with the sandbox.
//!
//! Protected paths inside writable ones (`denyWrite`, srt's mandatory denies) are kept
//! by granting write on the complement: the directories on the way to them are frozen
//! (no entry created, removed or renamed there), since a Landlock grant on a directory
//! would cover everything beneath it.
//!
//! Residuals (not enforced here; listed in the report): host PIDs are visible; host
//! unix sockets are reachable by path (Landlock gains that control in ABI 9); a host
//! TCP service on exactly the proxy port would be reachable; listing a directory on the
//! way to a denied path fails.

use super::landlock::{self, WeakerRules};
use super::process::{self, wait_set};
use super::report::{Layer, Report, Status};
use super::supervisor::{seccomp_programs, RunOptions};
use super::{caps, sys};
use crate::error::{Context, Error, Result};
use crate::plan::{NetworkPlan, Plan};
use nix::sys::signal::SigmaskHow;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{fork, ForkResult, Pid};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The layers weaker mode cannot provide, for stderr.
pub const RESIDUALS: &str = "no namespaces: host PIDs visible, host unix sockets reachable by path";

/// What weaker mode does not enforce, one item each, for the enforcement report.
pub const NOT_ENFORCED: &[&str] = &[
    "host PIDs are visible (no PID namespace, the host's /proc)",
    "host unix sockets are reachable by path (Landlock controls them only from ABI 9)",
    "a host TCP service on exactly the proxy's port on 127.0.0.1 is reachable",
    "listing a directory on the way to a denied path fails",
    "the mode, owner, times and extended attributes of a protected path can still change (Landlock does not control chmod, chown, utimes or xattrs; e.g. chmod +x on an existing, disabled git hook)",
    "no mount, IPC, UTS or cgroup isolation",
];

/// The extra residual when the policy set `weakerMandatoryDenies` to `unenforced`.
pub const MANDATORY_UNENFORCED: &str =
    "srt's mandatory denies are not enforced inside writable paths (weakerMandatoryDenies: unenforced)";

/// Runs the plan without namespaces.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<i32> {
    if !opts.quiet {
        if plan.landlock.mandatory_unenforced {
            eprintln!("srt-runc: weaker mode ({RESIDUALS}, {MANDATORY_UNENFORCED})");
        } else {
            eprintln!("srt-runc: weaker mode ({RESIDUALS})");
        }
    }
    let programs = seccomp_programs(plan)?;
    process::enter_cwd(&plan.process, &plan.origin)?;
    let mut target = process::resolve(&plan.process)?;
    // Parent → child: the proxy port, then "go". Child → parent: the report.
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe".into())?;
    let (report_rd, report_wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).step(|| "pipe".into())?;
    let mask = wait_set();
    let mut old = nix::sys::signal::SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))
        .step(|| "blocking signals".into())?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .step(|| "signalfd".into())?;
    nix::sys::prctl::set_child_subreaper(true).step(|| "prctl(PR_SET_CHILD_SUBREAPER)".into())?;

    // Removed (its processes killed) after the child is gone: declared before it.
    let cgroup = super::cgroup::SandboxCgroup::create(plan)?;
    // SAFETY: single-threaded here; the proxy thread starts after the fork.
    let child = match unsafe { fork() }.step(|| "fork".into())? {
        ForkResult::Child => {
            drop(wr);
            drop(report_rd);
            drop(sigfd);
            let code = match child_setup(plan, opts, &rd, &report_wr, &programs, &mut target) {
                Ok(()) => {
                    let err =
                        nix::unistd::execve(&target.path, &target.argv, &target.envp).unwrap_err();
                    eprintln!("srt-runc: exec {:?}: {}", target.path, err.desc());
                    if err == nix::errno::Errno::ENOENT {
                        127
                    } else {
                        126
                    }
                }
                Err(e) => {
                    eprintln!("srt-runc: {e}");
                    e.exit_code()
                }
            };
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };
    // The child waits for the proxy port before its setup, so it is in its cgroup before
    // it runs anything of its own.
    if let Err(e) = cgroup.join(child.as_raw()) {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
        return Err(e);
    }
    drop(rd);
    drop(report_wr);
    let proxy = match &plan.network {
        NetworkPlan::Proxy { settings, .. } => {
            let config = super::supervisor::proxy_config(plan, settings, opts)?;
            let l = std::net::TcpListener::bind("127.0.0.1:0")
                .step(|| "binding the proxy on 127.0.0.1".into())?;
            Some(crate::proxy::spawn(vec![l], config).step(|| "starting the proxy".into())?)
        }
        NetworkPlan::Isolated => None,
    };
    let port = proxy
        .as_ref()
        .and_then(|p| p.local_addrs().first().map(|a| a.port()))
        .unwrap_or(0);
    sys::write_all(wr.as_raw_fd(), &port.to_le_bytes());
    let pidfd = pidfd_open(child)?;
    // The child's report arrives once its setup is done; no report means it failed
    // (its message is on stderr) and the relay below collects its exit status.
    if let Some(mut report) = read_report(&report_rd) {
        super::report::no_namespaces(&mut report);
        report.set(
            Layer::Procfs,
            Status::unavailable("weaker mode shares the host's /proc"),
            "",
        );
        super::supervisor::proxy_report(&mut report, plan, proxy.as_ref());
        if proxy.is_some() && !report.status(Layer::LandlockNetwork).is_enforced() {
            report.set(
                Layer::Proxy,
                Status::Degraded {
                    reason: "the proxy runs, but without Landlock TCP rules nothing forces traffic through it".into(),
                },
                format!("127.0.0.1:{port}"),
            );
        }
        report.not_enforced = NOT_ENFORCED.iter().map(|s| s.to_string()).collect();
        if plan.landlock.mandatory_unenforced {
            report.not_enforced.push(MANDATORY_UNENFORCED.into());
        }
        if let Err(e) = opts.check_report(&report) {
            let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
            let _ = nix::sys::wait::waitpid(child, None);
            kill_descendants();
            let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
            return Err(e);
        }
        if let Some(o) = &opts.observer {
            o.report(&report);
        }
        sys::write_all(wr.as_raw_fd(), b"g");
    }
    drop(wr);
    drop(report_rd);
    if let Some(o) = &opts.observer {
        o.started(&pidfd);
    }
    let code = super::supervisor::relay(child, &pidfd, &sigfd, None)?;
    kill_descendants();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    if let Some(p) = proxy {
        p.shutdown();
    }
    Ok(code)
}

fn pidfd_open(pid: Pid) -> Result<OwnedFd> {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Error::setup("pidfd_open", std::io::Error::last_os_error()));
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Reads the child's length-prefixed report; `None` when the child exited first.
fn read_report(fd: &OwnedFd) -> Option<Report> {
    let mut len = [0u8; 4];
    read_full(fd, &mut len)?;
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    read_full(fd, &mut buf)?;
    serde_json::from_slice(&buf).ok()
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> Option<()> {
    let mut got = 0;
    while got < buf.len() {
        match sys::read(fd.as_raw_fd(), &mut buf[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(())
}

/// The child's setup, in order (see the module docs).
fn child_setup(
    plan: &Plan,
    opts: &RunOptions,
    rd: &OwnedFd,
    report_wr: &OwnedFd,
    programs: &[crate::seccomp::BpfProgram],
    target: &mut process::ExecTarget,
) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "prctl(PR_SET_PDEATHSIG)".into())?;
    let mut port = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match sys::read(rd.as_raw_fd(), &mut port[got..]) {
            Ok(0) | Err(_) => unsafe { libc::_exit(125) }, // the supervisor is gone
            Ok(n) => got += n,
        }
    }
    let port = u16::from_le_bytes(port);
    nix::unistd::setsid().step(|| "setsid".into())?;
    process::set_rlimits(&plan.process)?;
    if let NetworkPlan::Proxy { .. } = plan.network {
        let helper = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "srt-runc".into());
        let helper = helper.replace('\'', r"'\''");
        let vars = crate::plan::proxy_env_vars(
            &format!("127.0.0.1:{port}"),
            &format!("'{helper} connect --proxy 127.0.0.1:{port} %h %p'"),
        );
        let mut env: Vec<String> = plan.process.env.clone();
        for (k, v) in vars {
            let prefix = format!("{k}=");
            env.retain(|e| !e.starts_with(&prefix));
            env.push(format!("{k}={v}"));
        }
        target.envp = env
            .into_iter()
            .filter_map(|e| std::ffi::CString::new(e).ok())
            .collect();
    }
    let bounding_dropped = caps::try_drop_bounding(&plan.process.capabilities)?;
    caps::keep_caps(true)?;
    let same_ids = nix::unistd::geteuid().as_raw() == plan.process.uid
        && nix::unistd::getegid().as_raw() == plan.process.gid;
    if same_ids && plan.process.additional_gids.is_empty() {
        // Drop root's supplementary groups where allowed; inside a user namespace whose
        // setgroups is denied this fails, and there is nothing to drop then.
        let _ = nix::unistd::setgroups(&[]);
    } else {
        process::set_ids(&plan.process, nix::unistd::geteuid().is_root())?;
    }
    caps::keep_caps(false)?;
    caps::apply_and_verify_with(&plan.process.capabilities, bounding_dropped)?;
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "prctl(PR_SET_PDEATHSIG)".into())?;
    if let Some(u) = plan.process.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(u));
    }
    super::init::close_fds_except(&[rd.as_raw_fd(), report_wr.as_raw_fd()])?;
    let mut report = Report::new(crate::policy::Mode::Weaker);
    let (st, detail) = super::report::capabilities_status(&plan.process.capabilities);
    report.set(Layer::Capabilities, st, detail);
    nix::sys::prctl::set_no_new_privs().step(|| "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
    report.set(Layer::NoNewPrivs, super::report::no_new_privs_status(), "");
    let rules = WeakerRules {
        deny_read: plan.landlock.deny_read.clone(),
        allow_read: plan.landlock.allow_read.clone(),
        writable: plan.landlock.writable.clone(),
        deny_write: plan.landlock.deny_write.clone(),
        connect_port: (port != 0).then_some(port),
        confine_tcp: true,
        allow_bind: matches!(&plan.network, NetworkPlan::Proxy { settings, .. } if settings.allow_local_binding == Some(true)),
        abi_max: opts.landlock_abi_max,
    };
    let outcome = landlock::restrict_weaker(&rules)?;
    landlock::report_weaker(&mut report, &outcome, rules.connect_port);
    if !outcome.frozen.is_empty() && !opts.quiet {
        eprintln!(
            "srt-runc: weaker mode: no new files directly in {} (a protected path lies beneath each — denyWrite, or srt's mandatory denies such as .bashrc and .git/hooks — and Landlock can keep it only this way; sandbox.weakerMandatoryDenies = \"unenforced\" lifts this for the mandatory denies and leaves them writable)",
            crate::plan::join_paths(&outcome.frozen)
        );
    }
    if !outcome.network && !opts.quiet {
        eprintln!(
            "srt-runc: weaker mode: Landlock ABI {} has no TCP rules; outbound TCP is not confined",
            outcome.abi
        );
    }
    crate::seccomp::install(programs).map_err(|e| Error::SetupMsg(format!("seccomp: {e}")))?;
    report.seccomp_programs = super::init::seccomp_names(plan);
    report.set(
        Layer::Seccomp,
        Status::Enforced,
        report.seccomp_programs.join(", "),
    );
    // Hand the report over, then wait for "go": the parent checks the floor first.
    let json = serde_json::to_vec(&report).unwrap_or_default();
    let mut framed = (json.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(&json);
    sys::write_all(report_wr.as_raw_fd(), &framed);
    let mut go = [0u8; 1];
    if read_full(rd, &mut go).is_none() {
        unsafe { libc::_exit(125) } // refused, or the supervisor is gone
    }
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let _ = nix::sys::signal::sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    Ok(())
}

/// Kills and reaps every remaining descendant. Orphans are re-parented to us (we are
/// their subreaper), so our own children lists name all of them, and `waitpid`
/// answering ECHILD proves that none is left — without reading every process of the
/// host, which made each run's exit cost grow with the host's process count.
fn kill_descendants() {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    for _ in 0..200 {
        for k in own_children() {
            let _ = nix::sys::signal::kill(Pid::from_raw(k), nix::sys::signal::Signal::SIGKILL);
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                // No child at all, living or dead: nothing the command started is left.
                Err(_) => return,
            }
        }
        // A child is still dying (or was re-parented while we listed): look again.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The pids of this process's children, from every thread's `children` list (a child
/// belongs to the thread that forked it; orphans go to a living thread, normally the
/// main one).
fn own_children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}
