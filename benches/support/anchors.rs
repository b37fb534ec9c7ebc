//! The anchors' command lines, shared so that every bench compares against the same
//! invocation, and how one run of a command is timed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion with no stdio and returns how long it took; a failing run
/// aborts the bench (a number for a run that did not work means nothing).
pub fn time(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    let d = t.elapsed();
    assert!(st.success(), "{cmd:?} failed: {st}");
    d
}

pub const BWRAP: &str = "/usr/bin/bwrap";

/// `bwrap` with every namespace, the host root read-only and a fresh `/dev` and
/// `/proc`, running `true`: the closest bubblewrap equivalent of a strong-mode run.
pub fn bwrap_true() -> Command {
    let mut c = Command::new(BWRAP);
    c.args([
        "--unshare-all",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "true",
    ]);
    c
}

/// A minimal busybox root under `dir/rootfs` (`/bin/sh`, `/bin/true` and the usual
/// mount points), the root the runc and podman anchors run in; `false` without
/// busybox-static.
#[allow(dead_code)] // not every bench runs a container root
pub fn busybox_rootfs(dir: &std::path::Path) -> bool {
    if std::fs::metadata("/usr/bin/busybox").is_err() {
        return false;
    }
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(dir.join("rootfs").join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", bin.join("busybox")).unwrap();
    for app in ["sh", "true"] {
        let _ = std::os::unix::fs::symlink("busybox", bin.join(app));
    }
    true
}
