//! OCI lifecycle helpers: a busybox bundle built at test time and `srt-runc --root`.

use super::*;
use serde_json::{json, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A busybox root filesystem and a config.json running `args` in it.
pub fn busybox_bundle(s: &Scratch, user: User, args: &[&str], terminal: bool) -> PathBuf {
    busybox_bundle_with(s, user, args, terminal, |_| {})
}

/// [`busybox_bundle`] with `tweak` applied to config.json.
pub fn busybox_bundle_with(
    s: &Scratch,
    user: User,
    args: &[&str],
    terminal: bool,
    tweak: impl FnOnce(&mut Value),
) -> PathBuf {
    let bundle = s.join("bundle");
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "echo", "sleep", "cat", "tty", "test", "ls", "id", "kill", "grep", "wc", "head",
        "touch", "ip", "ps", "hostname", "true",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let mut cfg = json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "lifecycle",
        "annotations": {"org.example.test": "yes"},
        "process": {
            "terminal": terminal,
            "args": args,
            "cwd": "/",
            "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/bin", "TERM=xterm"]
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}
        ],
        "linux": {"namespaces": [
            {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
        ]}
    });
    tweak(&mut cfg);
    write_bundle(&bundle, &cfg);
    chown_tree(&s.path, user);
    bundle
}

pub fn chown_tree(p: &Path, user: User) {
    let _ = std::os::unix::fs::lchown(p, Some(user.uid), Some(user.gid));
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), user);
        }
    }
}

/// `srt-runc --root ROOT ...` as one user.
pub struct Rt {
    pub user: User,
    pub root: PathBuf,
}

impl Rt {
    pub fn new(s: &Scratch, user: User) -> Rt {
        Rt {
            user,
            root: s.join("state"),
        }
    }
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut all = vec!["--root", self.root.to_str().unwrap()];
        all.extend_from_slice(args);
        srt_cmd(self.user, &all)
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    /// `create`, with the container's stdio going to `out` (the container keeps the
    /// runtime's stdout, so `create` is never run with a pipe a test waits on).
    pub fn create(&self, bundle: &Path, id: &str, extra: &[&str], out: &Path) -> (i32, String) {
        let mut args = vec!["create", "--bundle", bundle.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(id);
        let err_path = out.with_extension("err");
        let status = self
            .cmd(&args)
            .stdout(File::create(out).unwrap())
            .stderr(File::create(&err_path).unwrap())
            .status()
            .unwrap();
        (
            status.code().unwrap_or(-1),
            std::fs::read_to_string(err_path).unwrap(),
        )
    }
    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&ok(&self.run(&["state", id]))).unwrap()
    }
    pub fn wait_status(&self, id: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = self.state(id);
            if st["status"] == want {
                return st;
            }
            assert!(Instant::now() < deadline, "{id} never became {want}: {st}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Exit status 1 and `phrase` on stderr.
pub fn fails_with(o: &Output, phrase: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    assert!(
        stderr(o).contains(phrase),
        "want {phrase:?}, got {}",
        stderr(o)
    );
}

pub fn pid_gone(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => {
            let st = s[s.rfind(')').unwrap() + 2..].chars().next().unwrap();
            st == 'Z' || st == 'X'
        }
    }
}

pub fn wait_gone(pid: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pid_gone(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn wait_for_text(path: &Path, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(want) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {want:?} in {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Receives one fd with SCM_RIGHTS, as conmon's `recvfd` and go-runc's `recvFd` do.
pub fn recv_fd(sock: &std::os::unix::net::UnixStream) -> (String, std::os::fd::OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(v) = c {
            fds.extend(v);
        }
    }
    assert_eq!(fds.len(), 1, "exactly one fd");
    let n = msg.bytes;
    let name = String::from_utf8(buf[..n].to_vec()).unwrap();
    (name, unsafe { OwnedFd::from_raw_fd(fds[0]) })
}

/// Edits `bundle/config.json` in place.
pub fn rewrite(bundle: &Path, tweak: impl FnOnce(&mut Value)) {
    let p = bundle.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    tweak(&mut c);
    std::fs::write(&p, serde_json::to_vec(&c).unwrap()).unwrap();
}
