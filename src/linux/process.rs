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

/// The raising half of `p.rlimits`, done by the supervisor on the sandbox's init with
/// `prlimit(2)` right after the clone, as the caller: raising a hard limit needs
/// CAP_SYS_RESOURCE in the initial user namespace, which the init, in a user namespace of
/// its own, can never have. Lowering is left to the init ([`set_rlimits`], after its
/// mounts), so a small `RLIMIT_NOFILE` does not starve the init's own setup.
pub fn raise_rlimits_of(pid: i32, p: &ProcessSpec) -> Result<()> {
    for r in &p.rlimits {
        let Some(res) = crate::policy::oci::rlimit_resource(&r.kind) else {
            continue;
        };
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid pointers; a null new limit only reads.
        if unsafe { libc::prlimit(pid, res as _, std::ptr::null(), &mut old) } != 0 {
            return Err(Error::setup(
                format!("reading {} of the sandbox", r.kind),
                std::io::Error::last_os_error(),
            ));
        }
        let new = libc::rlimit {
            rlim_cur: old.rlim_cur.max(r.soft),
            rlim_max: old.rlim_max.max(r.hard),
        };
        if new.rlim_cur == old.rlim_cur && new.rlim_max == old.rlim_max {
            continue;
        }
        // SAFETY: a valid rlimit struct and a null old-limit pointer.
        if unsafe { libc::prlimit(pid, res as _, &new, std::ptr::null_mut()) } != 0 {
            return Err(Error::setup(
                format!(
                    "raising {} to {}/{} for the sandbox",
                    r.kind, r.soft, r.hard
                ),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// `chdir` to `p.cwd`; a missing directory is a config error of `origin`'s
/// `process.cwd` that says what to do.
pub fn enter_cwd(p: &ProcessSpec, origin: &str) -> Result<()> {
    std::env::set_current_dir(&p.cwd).map_err(|e| {
        Error::config(
            origin,
            "process.cwd",
            format!(
                "{}: {e}; set it to a directory that exists inside the sandbox",
                p.cwd.display()
            ),
        )
    })
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

/// Starts the command and stays behind as PID 1: reaps every orphan, forwards the
/// signals in [`FORWARDED`] to the command, and exits with the command's status (128+n
/// if it was killed by signal n). When PID 1 exits the kernel kills everything left in
/// the PID namespace, so background processes die with the sandbox.
///
/// Without a terminal the command is started with `posix_spawn`, which glibc implements
/// with `CLONE_VM | CLONE_VFORK`: no copy of the init's page tables and no copy-on-write
/// faults before the exec, and exec errors come back as a return value. With a terminal
/// the child must `setsid` and take the pty as its controlling terminal, which
/// posix_spawn cannot express, so it forks.
pub fn spawn_and_reap(target: &ExecTarget, terminal: bool) -> ! {
    if !terminal {
        match spawn(target) {
            Ok(child) => reap(child),
            Err(e) => {
                let code = if e == libc::ENOENT || e == libc::ENOTDIR {
                    127
                } else {
                    126
                };
                let msg = format!(
                    "srt-runc: exec {:?}: {}\n",
                    target.path,
                    std::io::Error::from_raw_os_error(e)
                );
                super::sys::write_all(2, msg.as_bytes());
                unsafe { libc::_exit(code) }
            }
        }
    }
    match unsafe { fork() } {
        Err(e) => {
            eprintln!("srt-runc: fork: {e}");
            unsafe { libc::_exit(125) }
        }
        Ok(ForkResult::Child) => exec_child(target, true),
        Ok(ForkResult::Parent { child }) => reap(child),
    }
}

/// `posix_spawn` with an empty signal mask and every signal at its default disposition
/// (Rust's runtime ignores SIGPIPE, and an ignored disposition would survive the exec).
fn spawn(t: &ExecTarget) -> Result<Pid, i32> {
    let mut argv: Vec<*mut libc::c_char> = t.argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv.push(std::ptr::null_mut());
    let mut envp: Vec<*mut libc::c_char> = t.envp.iter().map(|e| e.as_ptr() as *mut _).collect();
    envp.push(std::ptr::null_mut());
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        libc::posix_spawnattr_init(&mut attr);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::posix_spawnattr_setsigmask(&mut attr, &empty);
        libc::posix_spawnattr_setsigdefault(&mut attr, &all);
        libc::posix_spawnattr_setflags(
            &mut attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        );
        let mut pid: libc::pid_t = 0;
        let r = libc::posix_spawn(
            &mut pid,
            t.path.as_ptr(),
            std::ptr::null(),
            &attr,
            argv.as_ptr(),
            envp.as_ptr(),
        );
        libc::posix_spawnattr_destroy(&mut attr);
        if r == 0 {
            Ok(Pid::from_raw(pid))
        } else {
            Err(r)
        }
    }
}

/// Execs the command in place of the init (OCI lifecycle: the container process is
/// PID 1). The session and controlling terminal were set up by the init already.
pub fn exec_direct(t: &ExecTarget) -> ! {
    exec_child(t, false)
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
