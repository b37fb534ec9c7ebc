//! OCI hooks: programs the container's creator asks the runtime to run at lifecycle
//! points, each given the container's state as JSON on stdin.
//!
//! When and where they run here:
//! - `prestart` and `createRuntime`: by `create`, in the runtime's namespaces (which
//!   include those the config joins by path: `create` enters them before the clone),
//!   once the container's namespaces and cgroup exist and before the init sets anything
//!   up;
//! - `createContainer`: by the init itself, in all the container's namespaces, after the
//!   last mount of the new root and before `pivot_root` (so the path resolves in the
//!   runtime's filesystem; working directory: the container's root);
//! - `startContainer`: by the init, once `start` released it and right before the
//!   command's `execve`, confined like the command (see `linux::init::InitHooks`);
//! - `poststart`: by `start` after the command was released; `poststop`: by `delete`.
//!
//! A failing hook before the command runs fails `create` (which then cleans up) or, for
//! `startContainer`, `start` (the init exits instead of running the command); after, it
//! is a warning. The state's `pid` is always the init's pid as the caller sees it.

use super::OciError;
use oci_spec::runtime::Hook;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What of a failing hook's output goes into the error message.
const OUTPUT_LIMIT: usize = 4096;

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

/// Runs `hooks` in order; the first failure is returned.
pub fn run(kind: &str, hooks: &[Hook], state: &str) -> Result<(), OciError> {
    for h in hooks {
        run_one(kind, h, state)?;
    }
    Ok(())
}

/// Runs one hook: stdin is the state; stdout and stderr share one pipe that is drained
/// while it runs (so a chatty hook never blocks on a full pipe, and no file has to be
/// opened, which the init could no longer do once Landlock applies).
fn run_one(kind: &str, h: &Hook, state: &str) -> Result<(), OciError> {
    let path = h.path();
    let name = format!("{kind} hook {}", path.display());
    let io = |what: &str, e: std::io::Error| OciError::io(format!("{what} {name}"), e);
    // Only our end is non-blocking: the hook writes to a blocking pipe, so output
    // faster than we drain it waits instead of failing with EAGAIN.
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| io("creating the output pipe of", e.into()))?;
    nix::fcntl::fcntl(
        &out_r,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| io("creating the output pipe of", e.into()))?;
    let out_w2 = out_w
        .try_clone()
        .map_err(|e| io("creating the output pipe of", e))?;
    let mut cmd = Command::new(path);
    if let Some((argv0, rest)) = h.args().as_deref().unwrap_or_default().split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(out_w2));
    let spawned = cmd.spawn();
    // Our copies of the write end go with the command: EOF once the hook is done.
    drop(cmd);
    let mut child = spawned.map_err(|e| io("running", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(state.as_bytes());
    }
    let mut output = Vec::new();
    let mut out = std::fs::File::from(out_r);
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        drain(&mut out, &mut output);
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(io("waiting for", e)),
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
    drain(&mut out, &mut output);
    let text = String::from_utf8_lossy(&output);
    let text = text.trim();
    Err(OciError::Other(format!(
        "{name} failed: {status}{}{text}",
        if text.is_empty() { "" } else { ": " },
    )))
}

/// Reads what is in the (non-blocking) pipe now, keeping the first [`OUTPUT_LIMIT`]
/// bytes.
fn drain(out: &mut std::fs::File, keep: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = OUTPUT_LIMIT.saturating_sub(keep.len());
        keep.extend_from_slice(&buf[..n.min(room)]);
    }
}
