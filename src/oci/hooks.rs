//! OCI hooks: programs the container's creator asks the runtime to run at lifecycle
//! points, each given the container's state as JSON on stdin.
//!
//! When they run here: `prestart` and `createRuntime` in the runtime's namespaces once
//! the container's namespaces and cgroup exist and before its root is set up;
//! `createContainer` in the container's mount namespace (entered from the host side)
//! once its root is in place and before its command can start; `poststart` by `start`
//! after the command was released; `poststop` by `delete`. A failing hook before the
//! command starts fails `create` (which then cleans up); after, it is a warning.
//! `startContainer` would have to run inside the confined init and is refused.

use super::OciError;
use oci_spec::runtime::{Hook, Hooks};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The state a hook reads on stdin (the OCI `state` object).
pub fn state_json(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &std::path::Path,
    annotations: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut v = serde_json::json!({
        "ociVersion": super::state::OCI_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::json!(annotations);
    }
    v.to_string()
}

/// Refuses hooks srt-runc cannot run where the spec says they run.
pub fn check_supported(hooks: &Hooks, origin: &str) -> Result<(), OciError> {
    if hooks
        .start_container()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
    {
        return Err(OciError::Other(format!(
            "{origin}: hooks.startContainer is not supported by srt-runc (it would run inside the confined container); use createContainer or poststart"
        )));
    }
    Ok(())
}

/// Runs `hooks` in order; the first failure is returned. `enter` are namespaces
/// (opened fds and setns flags) the hook joins before it execs, in order.
pub fn run(
    kind: &str,
    hooks: &[Hook],
    state: &str,
    enter: &[(OwnedFd, libc::c_int)],
) -> Result<(), OciError> {
    for h in hooks {
        run_one(kind, h, state, enter)?;
    }
    Ok(())
}

fn run_one(
    kind: &str,
    h: &Hook,
    state: &str,
    enter: &[(OwnedFd, libc::c_int)],
) -> Result<(), OciError> {
    let path = h.path();
    let name = format!("{kind} hook {}", path.display());
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = Command::new(path);
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !enter.is_empty() {
        let fds: Vec<(i32, libc::c_int)> = enter.iter().map(|(f, n)| (f.as_raw_fd(), *n)).collect();
        // SAFETY: only async-signal-safe calls (setns, chdir) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for (fd, flag) in &fds {
                    if libc::setns(*fd, *flag) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::chdir(c"/".as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| OciError::io(format!("running {name}"), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(OciError::io(format!("waiting for {name}"), e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(OciError::Other(format!(
                "{name} timed out after {}s",
                h.timeout().unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    Err(OciError::Other(format!(
        "{name} failed: {status}{}{}",
        if err.trim().is_empty() { "" } else { ": " },
        err.trim()
    )))
}

/// The namespaces a `createContainer` hook enters: the init's mount namespace (and, for
/// an unprivileged caller, its user namespace first, which grants the right to).
pub fn container_mount_ns(pid: i32) -> Result<Vec<(OwnedFd, libc::c_int)>, OciError> {
    let open = |n: &str| -> Result<OwnedFd, OciError> {
        let p = format!("/proc/{pid}/ns/{n}");
        std::fs::File::open(&p)
            .map(OwnedFd::from)
            .map_err(|e| OciError::io(format!("opening {p}"), e))
    };
    let mut v = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        v.push((open("user")?, libc::CLONE_NEWUSER));
    }
    v.push((open("mnt")?, libc::CLONE_NEWNS));
    Ok(v)
}
