//! Shared harness for integration tests that spawn real sandboxes.
//!
//! Tests run each scenario as root and, when the suite runs as root, again as the
//! unprivileged user `srt-runc-test` (created by `make test`), so both the rootful and
//! the rootless paths are exercised on every run. Binaries are copied to a
//! world-readable directory so the unprivileged user can execute them wherever the
//! checkout lives.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const TEST_USER: &str = "srt-runc-test";

/// Who runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

impl User {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
    pub fn label(&self) -> &'static str {
        if self.uid == 0 {
            "root"
        } else {
            "unprivileged"
        }
    }
}

fn lookup_user(name: &str) -> Option<User> {
    let out = Command::new("id").arg("-u").arg(name).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id").arg("-g").arg(name).output().ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(User { uid, gid })
}

/// Root and the unprivileged test user when running as root; otherwise the caller only.
pub fn users() -> Vec<User> {
    let me = User {
        uid: unsafe { libc::geteuid() },
        gid: unsafe { libc::getegid() },
    };
    if me.uid != 0 {
        return vec![me];
    }
    let other = lookup_user(TEST_USER)
        .unwrap_or_else(|| panic!("user {TEST_USER} is missing: run `make test`, which creates it (useradd --system {TEST_USER})"));
    vec![me, other]
}

/// The unprivileged user (or the caller when not root).
pub fn unprivileged() -> User {
    *users().last().unwrap()
}

struct Bins {
    dir: PathBuf,
}

fn bins() -> &'static Bins {
    static B: OnceLock<Bins> = OnceLock::new();
    B.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"));
        let probe = src.parent().unwrap().join("examples/probe");
        let attack = src.parent().unwrap().join("examples/attack");
        for p in [&probe, &attack] {
            assert!(
                p.exists(),
                "{} missing: `cargo test` builds examples; run `cargo build --examples`",
                p.display()
            );
        }
        let dir = PathBuf::from(format!("/tmp/srt-runc-test-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (from, name) in [(&src, "srt-runc"), (&probe, "probe"), (&attack, "attack")] {
            let to = dir.join(name);
            std::fs::copy(from, &to).unwrap();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Remove the copies when the test binary exits (statics are never dropped).
        extern "C" fn cleanup() {
            let _ =
                std::fs::remove_dir_all(format!("/tmp/srt-runc-test-bin-{}", std::process::id()));
        }
        unsafe { libc::atexit(cleanup) };
        Bins { dir }
    })
}

/// Path of the srt-runc binary (world-executable copy).
pub fn srt_runc() -> PathBuf {
    bins().dir.join("srt-runc")
}

/// Path of the probe helper (world-executable copy).
pub fn probe() -> PathBuf {
    bins().dir.join("probe")
}

/// Path of the attack-suite binary (world-executable copy).
pub fn attack() -> PathBuf {
    bins().dir.join("attack")
}

/// A per-test scratch directory owned by `user`, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str, user: User) -> Scratch {
        let path = PathBuf::from(format!(
            "/tmp/srt-runc-tests/{name}-{}-{}",
            user.label(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(
            "/tmp/srt-runc-tests",
            std::fs::Permissions::from_mode(0o1777),
        )
        .ok();
        chown(&path, user);
        Scratch { path }
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn chown(p: &Path, user: User) {
    std::os::unix::fs::chown(p, Some(user.uid), Some(user.gid)).unwrap();
}

/// A minimal strong-mode config: host root read-only, the given command.
pub fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": "/", "readonly": true},
        "hostname": "srt-test",
        "process": {
            "args": args,
            "cwd": "/",
            "user": {"uid": 0, "gid": 0},
            "env": ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
        }
    })
}

/// Writes `cfg` as `dir/config.json`.
pub fn write_bundle(dir: &Path, cfg: &Value) {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(cfg).unwrap(),
    )
    .unwrap();
}

/// `srt-runc ARGS...` as `user`, stdin closed.
pub fn srt_cmd(user: User, args: &[&str]) -> Command {
    let mut c = Command::new(srt_runc());
    c.args(args).stdin(Stdio::null());
    if user.uid != unsafe { libc::geteuid() } {
        c.uid(user.uid).gid(user.gid);
        c.env("HOME", "/nonexistent");
    }
    c
}

/// Runs the bundle in `dir` as `user` and returns its output.
pub fn run_bundle(user: User, dir: &Path) -> Output {
    srt_cmd(user, &["run", dir.to_str().unwrap()])
        .output()
        .unwrap()
}

/// Runs `args` in a default sandbox (plus `tweak`) as `user`.
pub fn run_in(
    user: User,
    scratch: &Scratch,
    args: &[&str],
    tweak: impl FnOnce(&mut Value),
) -> Output {
    let mut cfg = config(args);
    tweak(&mut cfg);
    write_bundle(&scratch.path, &cfg);
    run_bundle(user, &scratch.path)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `cmd` with a deadline; on expiry the supervisor is killed (the sandbox dies
/// with it) and the test fails instead of hanging.
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let status = child.wait().unwrap();
            let (o, e) = (t1.join().unwrap(), t2.join().unwrap());
            panic!(
                "timed out after {limit:?} ({status:?})\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// The suite's root user; tests of host-wide machinery (cgroups, podman, containerd)
/// run as root, as `make test` does.
pub fn root_user() -> User {
    let u = users()[0];
    assert!(
        u.is_root(),
        "this test runs as root (make test runs as root)"
    );
    u
}

/// A host-side HTTP server on 127.0.0.1 answering every request with `body`; its port.
pub fn http_server(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// The host's mount table, for "nothing left behind" checks.
pub fn host_mounts() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}
/// Host pids of processes whose command line contains `tag`.
pub fn pids_with(tag: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            (pid != std::process::id() as i32 && String::from_utf8_lossy(&cmd).contains(tag))
                .then_some(pid)
        })
        .collect()
}

/// Where podman and containerd mount for containers that other tests run meanwhile.
const FOREIGN_MOUNTS: &[&str] = &[
    "/var/lib/containers/",
    "/run/containers/",
    "/run/netns/",
    "/var/run/netns/",
    "/run/user/",
    "/var/lib/containerd/",
    "/run/containerd/",
];

/// The host's mount table as a set of lines, without the container engines' own
/// mounts (which concurrent container tests make and remove), for exact before/after
/// comparisons.
pub fn host_mount_table() -> std::collections::BTreeSet<String> {
    host_mounts()
        .lines()
        .filter(|l| {
            let point = l.split(' ').nth(4).unwrap_or_default();
            !FOREIGN_MOUNTS.iter().any(|f| point.starts_with(f))
        })
        .map(str::to_string)
        .collect()
}

#[allow(dead_code)]
pub mod engines;
#[allow(dead_code)]
pub mod oci;
#[allow(dead_code)]
pub mod podman;
#[allow(dead_code)]
pub mod podman_env;

pub mod leaks;
