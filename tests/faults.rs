//! Faults, end to end through real sandboxes, as root and as the unprivileged user:
//! upstreams that refuse, reset or stall (the proxy answers 502/504 and keeps serving),
//! the command SIGKILLed in the middle of a write, the supervisor SIGKILLed, and a
//! writable path that runs out of space. After each, nothing is left on the host that
//! the next run does not clean.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Held by the tests that compare the host mount table (one of them mounts a tmpfs).
static MOUNTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    MOUNTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a host-side upstream on 127.0.0.1 does with a request.
#[derive(Clone, Copy)]
enum Upstream {
    /// Answers 200 with a short body.
    Good,
    /// Reads the request and resets the connection before any reply.
    ResetBeforeReply,
    /// Sends a head announcing 100000 bytes, 4096 of them, then resets.
    ResetMidBody,
    /// Reads the request and never answers.
    Stall,
}

const GOOD_BODY: &str = "upstream-ok\n";

/// Starts an upstream on 127.0.0.1 and returns its port.
fn upstream(kind: Upstream) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut stalled = Vec::new();
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            match kind {
                Upstream::Good => {
                    let _ = write!(
                        c,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{GOOD_BODY}",
                        GOOD_BODY.len()
                    );
                }
                Upstream::ResetBeforeReply => reset(c),
                Upstream::ResetMidBody => {
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                    let _ = c.write_all(&[b'x'; 4096]);
                    let _ = c.flush();
                    std::thread::sleep(Duration::from_millis(100));
                    reset(c);
                }
                Upstream::Stall => stalled.push(c),
            }
        }
    });
    port
}

/// Closes with SO_LINGER 0: the peer gets a RST, not a FIN.
fn reset(c: TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
}

/// A listener whose accept queue is full: a new connection's SYN is dropped, so the
/// dial hangs until the proxy's connect timeout. The returned values must be kept.
fn full_backlog() -> (TcpListener, Vec<TcpStream>, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // std listens with a big backlog; shrink it to the minimum.
    unsafe { libc::listen(l.as_raw_fd(), 0) };
    let fillers = (0..4)
        .filter_map(|_| {
            TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200),
            )
            .ok()
        })
        .collect();
    (l, fillers, port)
}

/// Parses `key=value` words of one transcript line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

#[test]
fn upstream_refuses_resets_or_stalls_and_the_proxy_answers_and_stays_up() {
    let good = upstream(Upstream::Good);
    let reset_early = upstream(Upstream::ResetBeforeReply);
    let reset_mid = upstream(Upstream::ResetMidBody);
    let stall = upstream(Upstream::Stall);
    let (_l, _fill, backlog) = full_backlog();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // One line per case: name, HTTP status, bytes received, curl's exit status.
    let curl = "curl -s --noproxy '' -o /dev/null -w 'code=%{http_code} size=%{size_download}'";
    let cases = [
        (
            "refused",
            format!("{curl} --max-time 5 http://127.0.0.1:{closed}/"),
        ),
        (
            "refused-connect",
            format!(
                "{curl} --max-time 5 -p -w ' connect=%{{http_connect}}' http://127.0.0.1:{closed}/"
            ),
        ),
        (
            "good-1",
            format!("{curl} --max-time 5 http://127.0.0.1:{good}/"),
        ),
        (
            "reset-early",
            format!("{curl} --max-time 5 http://127.0.0.1:{reset_early}/"),
        ),
        (
            "reset-mid",
            format!("{curl} --max-time 5 http://127.0.0.1:{reset_mid}/"),
        ),
        (
            "good-2",
            format!("{curl} --max-time 5 http://127.0.0.1:{good}/"),
        ),
        (
            "stall",
            format!("{curl} --max-time 1 http://127.0.0.1:{stall}/"),
        ),
        (
            "connect-timeout",
            format!("{curl} --max-time 5 http://127.0.0.1:{backlog}/"),
        ),
        (
            "good-3",
            format!("curl -s --max-time 5 --noproxy '' http://127.0.0.1:{good}/"),
        ),
    ];
    let script: String = cases
        .iter()
        .map(|(name, cmd)| format!("printf '{name} '; {cmd}; echo \" rc=$?\"\n"))
        .collect();
    for user in users() {
        let s = Scratch::new("faults-net", user);
        let mut cfg = config(&["/bin/sh", "-c", &script]);
        cfg["sandbox"] = json!({
            "network": {"allowedDomains": ["127.0.0.1"], "connectTimeoutMs": 300},
        });
        write_bundle(&s.path, &cfg);
        let out = run_bundle(user, &s.path);
        let text = ok(&out);
        let line = |name: &str| -> String {
            text.lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{}: no {name} in {text}", user.label()))
                .to_string()
        };
        let who = user.label();
        assert_eq!(field(&line("refused"), "code"), "502", "{who}: {text}");
        assert_eq!(
            field(&line("refused-connect"), "connect"),
            "502",
            "{who}: {text}"
        );
        assert_eq!(field(&line("reset-early"), "code"), "502", "{who}: {text}");
        // The head was already forwarded: the client sees the truncation as an error.
        let mid = line("reset-mid");
        assert_eq!(field(&mid, "code"), "200", "{who}: {text}");
        let size: u64 = field(&mid, "size").parse().unwrap();
        assert!(size < 100_000, "{who}: {mid}");
        assert_ne!(
            field(&mid, "rc"),
            "0",
            "{who}: truncated body reported as success: {mid}"
        );
        // A stalled upstream holds only its own connection (curl gives up: 28).
        assert_eq!(field(&line("stall"), "rc"), "28", "{who}: {text}");
        assert_eq!(
            field(&line("connect-timeout"), "code"),
            "504",
            "{who}: {text}"
        );
        for g in ["good-1", "good-2"] {
            let l = line(g);
            assert_eq!(
                (field(&l, "code"), field(&l, "rc")),
                ("200", "0"),
                "{who}: {text}"
            );
        }
        assert!(
            text.contains(&format!("good-3 {GOOD_BODY} rc=0")),
            "{who}: the proxy stopped serving after the faults: {text}"
        );
    }
}

fn gone(pid: i32) -> bool {
    // A zombie still has /proc/PID; its state is Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s[s.rfind(')').unwrap() + 2..].starts_with('Z'),
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every path below `dir` with its size and mode.
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let m = e.path().symlink_metadata().unwrap();
            out.insert(format!(
                "{} {:o} {}",
                e.path().display(),
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()),
                if m.is_dir() { 0 } else { m.len() }
            ));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// A git project without hooks (so the run makes placeholders in it) owned by `user`.
fn project(s: &Scratch, user: User) -> PathBuf {
    let p = s.join("project");
    std::fs::create_dir_all(p.join(".git/refs")).unwrap();
    std::fs::write(p.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(p.join("README"), "project\n").unwrap();
    for e in [
        p.clone(),
        p.join(".git"),
        p.join(".git/refs"),
        p.join(".git/HEAD"),
        p.join("README"),
    ] {
        chown(&e, user);
    }
    p
}

/// Spawns `sh -c script` in a sandbox with `project` writable and as cwd, and waits
/// until `tag` appears in the process table.
fn start_tagged(user: User, s: &Scratch, project: &Path, script: &str, tag: &str) -> Child {
    let mut cfg = config(&["/bin/sh", "-c", script]);
    cfg["process"]["cwd"] = json!(project);
    cfg["sandbox"] = json!({
        "filesystem": {"allowWrite": [project]},
        "network": {"allowedDomains": ["example.com"]},
    });
    let bundle = s.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    write_bundle(&bundle, &cfg);
    let child = srt_cmd(user, &["run", bundle.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(&format!("{tag} to start"), || !pids_with(tag).is_empty());
    child
}

#[test]
fn command_sigkilled_mid_write_leaves_a_prefix_and_nothing_else() {
    let _serial = serial();
    for user in users() {
        let s = Scratch::new("faults-kill-cmd", user);
        let p = project(&s, user);
        let outside = tree(&p);
        let mounts = host_mount_table();
        let tag = format!("writer-{}-{}", std::process::id(), user.uid);
        // One write(2) of one numbered 9-byte line per iteration, forever.
        let script = format!(
            ": {tag}; exec 3>>out; i=0; while :; do printf '%08d\\n' $i >&3; i=$((i+1)); done"
        );
        let mut child = start_tagged(user, &s, &p, &script, &tag);
        wait_until("the writer to write", || {
            std::fs::metadata(p.join("out"))
                .map(|m| m.len() > 9000)
                .unwrap_or(false)
        });
        let pids = pids_with(&tag);
        assert_eq!(pids.len(), 1, "{}: {pids:?}", user.label());
        unsafe { libc::kill(pids[0], libc::SIGKILL) };
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(137), "{}: {err}", user.label());

        // The file is exactly the lines written, in order, possibly ending mid-line.
        let data = std::fs::read(p.join("out")).unwrap();
        let lines = data.len() / 9;
        let expect: Vec<u8> = (0..=lines)
            .flat_map(|i| format!("{i:08}\n").into_bytes())
            .collect();
        assert_eq!(
            &data[..],
            &expect[..data.len()],
            "{}: not a prefix",
            user.label()
        );

        // Nothing else changed: the only new path is the output file.
        std::fs::remove_file(p.join("out")).unwrap();
        assert_eq!(tree(&p), outside, "{}: project tree changed", user.label());
        assert_eq!(host_mount_table(), mounts, "{}: mounts left", user.label());
        assert!(
            pids_with(&tag).is_empty(),
            "{}: processes left",
            user.label()
        );
    }
}

#[test]
fn supervisor_sigkilled_takes_the_sandbox_down_and_the_next_run_cleans_up() {
    let _serial = serial();
    for user in users() {
        let s = Scratch::new("faults-kill-sup", user);
        let p = project(&s, user);
        let before = tree(&p);
        let mounts = host_mount_table();
        let tag = format!("sleeper-{}-{}", std::process::id(), user.uid);
        let mut child = start_tagged(user, &s, &p, &format!(": {tag}; sleep 600; :"), &tag);
        // The sandbox: its init (the supervisor's child) and the command.
        let init: Vec<i32> =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
                .unwrap()
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
        let mut sandbox = pids_with(&tag);
        sandbox.extend(&init);
        assert!(sandbox.len() >= 2, "{}: {sandbox:?}", user.label());
        // While it runs, its placeholders are on the host.
        assert!(p.join(".bashrc").exists(), "{}", user.label());

        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        for pid in &sandbox {
            wait_until(&format!("sandbox pid {pid} to die"), || gone(*pid));
        }
        assert_eq!(host_mount_table(), mounts, "{}: mounts left", user.label());

        // The next run of the same user (any sandbox) removes what the killed one left.
        let other = Scratch::new("faults-kill-sup-next", user);
        let out = run_in(user, &other, &["/bin/true"], |_| {});
        ok(&out);
        assert_eq!(tree(&p), before, "{}: placeholders left", user.label());
        assert_eq!(host_mount_table(), mounts, "{}: mounts left", user.label());
    }
}

/// A tmpfs of `size` mounted at `at` for `user`; unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(at: &Path, user: User, opts: &str) -> SmallFs {
        std::fs::create_dir_all(at).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!(
                "{opts},uid={},gid={},mode=0755",
                user.uid, user.gid
            ))
            .arg("srt-runc-test-full")
            .arg(at)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs at {}", at.display());
        SmallFs(at.to_path_buf())
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_writable_path_gives_enospc_and_corrupts_nothing() {
    let _serial = serial();
    // Mounting needs root; the sandboxes run as root and as the unprivileged user.
    if unsafe { libc::geteuid() } != 0 {
        panic!("this test mounts a tmpfs and must run as root (make test runs as root)");
    }
    for user in users() {
        let s = Scratch::new("faults-full", user);
        std::fs::write(s.join("outside.txt"), "outside, untouched\n").unwrap();
        let small = s.join("small");
        let fs = SmallFs::mount(&small, user, "size=1m");
        std::fs::write(small.join("keep.txt"), "written before\n").unwrap();
        chown(&small.join("keep.txt"), user);
        let before_outside = std::fs::read(s.join("outside.txt")).unwrap();
        let mounts = host_mount_table();

        let script = "head -c 4000000 /dev/zero > big; echo \"rc=$?\"; cat keep.txt";
        let mut cfg = config(&["/bin/sh", "-c", script]);
        cfg["process"]["cwd"] = json!(small);
        cfg["sandbox"] = json!({"filesystem": {"allowWrite": [small]}});
        let bundle = s.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        write_bundle(&bundle, &cfg);
        let out = run_bundle(user, &bundle);
        let who = user.label();
        assert_eq!(
            stdout(&out),
            "rc=1\nwritten before\n",
            "{who}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("No space left on device"),
            "{who}: {}",
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{who}");
        // The writer got what fit; the file written before and everything outside
        // are intact, and no placeholder remains in the full directory.
        let big = std::fs::metadata(small.join("big")).unwrap().len();
        assert!(big > 0 && big <= 1 << 20, "{who}: {big}");
        assert_eq!(
            std::fs::read_to_string(small.join("keep.txt")).unwrap(),
            "written before\n"
        );
        assert_eq!(
            std::fs::read(s.join("outside.txt")).unwrap(),
            before_outside
        );
        let mut names: Vec<String> = std::fs::read_dir(&small)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["big", "keep.txt"], "{who}");
        assert_eq!(host_mount_table(), mounts, "{who}: mounts left");
        drop(fs);

        // No inodes left for the placeholders: the run is refused in one clear line,
        // and the placeholders it made before running out are removed.
        let fs = SmallFs::mount(&small, user, "size=1m,nr_inodes=4");
        std::fs::write(small.join("keep.txt"), "written before\n").unwrap();
        let out = run_bundle(user, &bundle);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{who}: {err}");
        assert_eq!(err.lines().count(), 1, "{who}: {err}");
        assert!(
            err.contains("placeholder") && err.contains("No space left on device"),
            "{who}: {err}"
        );
        let names: Vec<String> = std::fs::read_dir(&small)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["keep.txt"], "{who}: placeholders left behind");
        drop(fs);
    }
}
