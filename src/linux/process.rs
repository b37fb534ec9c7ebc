//! The command: finding it, preparing its environment, and running it under a tiny
//! PID-1 reaper.

use crate::error::{Context, Error, Result};
use crate::policy::{ProcessSpec, DEFAULT_PATH};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Signals the supervisor forwards to the init, and the init to the command.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// The signal set the supervisor and init block and wait on.
pub fn wait_set() -> SigSet {
    let mut s = SigSet::empty();
    for sig in FORWARDED {
        s.add(*sig);
    }
    s.add(Signal::SIGCHLD);
    s
}

/// Everything `execve` needs, prepared before forking.
pub struct ExecTarget {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::SetupMsg(format!("{what} contains a NUL byte: {s:?}")))
}

/// Resolves `args[0]` against `PATH` *inside* the sandbox (after pivot_root), so a
/// missing program fails with 127 and a clear message before anything runs.
pub fn resolve(p: &ProcessSpec) -> Result<ExecTarget> {
    let prog = &p.args[0];
    let path = if prog.contains('/') {
        let candidate = if Path::new(prog).is_absolute() {
            PathBuf::from(prog)
        } else {
            p.cwd.join(prog)
        };
        check_executable(&candidate, prog)?;
        candidate
    } else {
        let search = p.env_var("PATH").unwrap_or(DEFAULT_PATH);
        let mut denied = None;
        let mut found = None;
        for dir in search.split(':').filter(|d| !d.is_empty()) {
            let c = Path::new(dir).join(prog);
            match check_executable(&c, prog) {
                Ok(()) => {
                    found = Some(c);
                    break;
                }
                Err(e @ Error::NotExecutable { .. }) => denied = denied.or(Some(e)),
                Err(_) => {}
            }
        }
        match (found, denied) {
            (Some(c), _) => c,
            (None, Some(e)) => return Err(e),
            (None, None) => {
                return Err(Error::NotFound {
                    program: prog.clone(),
                    reason: "executable file not found in $PATH inside the sandbox".into(),
                })
            }
        }
    };
    Ok(ExecTarget {
        path: CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::SetupMsg("program path contains NUL".into()))?,
        argv: p
            .args
            .iter()
            .map(|a| cstring(a, "process.args"))
            .collect::<Result<_>>()?,
        envp: p
            .env
            .iter()
            .map(|e| cstring(e, "process.env"))
            .collect::<Result<_>>()?,
    })
}

fn check_executable(path: &Path, prog: &str) -> Result<()> {
    match std::fs::metadata(path) {
        Err(e)
            if e.raw_os_error() == Some(libc::ENOENT)
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            Err(Error::NotFound {
                program: prog.into(),
                reason: format!(
                    "{}: no such file or directory inside the sandbox",
                    path.display()
                ),
            })
        }
        Err(e) => Err(Error::NotExecutable {
            program: prog.into(),
            reason: format!("{}: {e}", path.display()),
        }),
        Ok(m) if m.is_dir() => Err(Error::NotExecutable {
            program: prog.into(),
            reason: format!("{}: is a directory", path.display()),
        }),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => Err(Error::NotExecutable {
            program: prog.into(),
            reason: format!("{}: permission denied (not executable)", path.display()),
        }),
        Ok(_) => match nix::unistd::access(path, nix::unistd::AccessFlags::X_OK) {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::NotExecutable {
                program: prog.into(),
                reason: format!("{}: {}", path.display(), e.desc()),
            }),
        },
    }
}

/// Applies `process.rlimits` (validated against the hard limits at load time).
pub fn set_rlimits(p: &ProcessSpec) -> Result<()> {
    for r in &p.rlimits {
        if let Some(res) = crate::policy::oci::rlimit_resource(&r.kind) {
            nix::sys::resource::setrlimit(res, r.soft, r.hard)
                .step(|| format!("setting {} to {}/{}", r.kind, r.soft, r.hard))?;
        }
    }
    Ok(())
}

/// Switches to the configured uid/gid and supplementary groups.
pub fn set_ids(p: &ProcessSpec, may_setgroups: bool) -> Result<()> {
    if may_setgroups {
        let groups: Vec<nix::unistd::Gid> = p
            .additional_gids
            .iter()
            .map(|g| nix::unistd::Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups).step(|| "setgroups".into())?;
    }
    let gid = nix::unistd::Gid::from_raw(p.gid);
    nix::unistd::setresgid(gid, gid, gid).step(|| format!("setting gid {}", p.gid))?;
    let uid = nix::unistd::Uid::from_raw(p.uid);
    nix::unistd::setresuid(uid, uid, uid).step(|| format!("setting uid {}", p.uid))?;
    Ok(())
}

/// Forks the command and stays behind as PID 1: reaps every orphan, forwards the
/// signals in [`FORWARDED`] to the command, and exits with the command's status (128+n
/// if it was killed by signal n). When PID 1 exits the kernel kills everything left in
/// the PID namespace, so background processes die with the sandbox.
pub fn spawn_and_reap(target: &ExecTarget, new_session_for_child: bool) -> ! {
    match unsafe { fork() } {
        Err(e) => {
            eprintln!("srt-runc: fork: {e}");
            unsafe { libc::_exit(125) }
        }
        Ok(ForkResult::Child) => exec_child(target, new_session_for_child),
        Ok(ForkResult::Parent { child }) => reap(child),
    }
}

fn exec_child(t: &ExecTarget, new_session: bool) -> ! {
    // Rust's runtime ignores SIGPIPE; an ignored disposition survives execve, so restore
    // the default or `yes | head` would spin instead of dying.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if new_session {
        let _ = nix::unistd::setsid();
        unsafe {
            libc::ioctl(0, libc::TIOCSCTTY, 0);
        }
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let err = nix::unistd::execve(&t.path, &t.argv, &t.envp).unwrap_err();
    let code = if err == nix::errno::Errno::ENOENT {
        127
    } else {
        126
    };
    eprintln!("srt-runc: exec {:?}: {}", t.path, err.desc());
    unsafe { libc::_exit(code) }
}

fn reap(child: Pid) -> ! {
    let set = wait_set();
    loop {
        let sig = match set.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => unsafe { libc::_exit(code) },
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == child => unsafe {
                    libc::_exit(128 + s as i32)
                },
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
