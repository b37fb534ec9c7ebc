//! The runc-compatible OCI lifecycle (`create`/`start`/`state`/`kill`/`delete`/`list`,
//! `spec`, `features`, `--version`, `--log`), driven on a busybox bundle built at test
//! time, as root and as the unprivileged test user (rootless, `--root` in a scratch dir).
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::{json, Value};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn create_start_kill_delete() {
    for user in users() {
        let s = Scratch::new("lc-basic", user);
        let b = busybox_bundle(
            &s,
            user,
            &["sh", "-c", "echo started; exec sleep 1000"],
            false,
        );
        let rt = Rt::new(&s, user);
        let pid_file = s.join("init.pid");
        let out = s.join("out");
        let (code, err) = rt.create(&b, "c1", &["--pid-file", pid_file.to_str().unwrap()], &out);
        assert_eq!(code, 0, "{}: create: {err}", user.label());

        // pid-file: the host pid, no newline; the same pid as in the state.
        let pid_text = std::fs::read_to_string(&pid_file).unwrap();
        assert!(pid_text.bytes().all(|b| b.is_ascii_digit()), "{pid_text:?}");
        let pid: i64 = pid_text.parse().unwrap();
        let st = rt.state("c1");
        assert_eq!(st["status"], "created", "{st}");
        assert_eq!(st["pid"], pid);
        assert_eq!(st["id"], "c1");
        assert_eq!(st["ociVersion"], "1.0.2");
        assert_eq!(st["bundle"], b.to_str().unwrap());
        assert_eq!(st["rootfs"], b.join("rootfs").to_str().unwrap());
        assert_eq!(st["annotations"]["org.example.test"], "yes");
        assert!(st["created"].as_str().unwrap().ends_with('Z'));
        assert!(!pid_gone(pid), "init must be alive while created");
        assert!(rt.root.join("c1/exec.fifo").exists());
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "",
            "nothing runs before start"
        );

        ok(&rt.run(&["start", "c1"]));
        assert_eq!(wait_for_text(&out, "started"), "started\n");
        let st = rt.state("c1");
        assert_eq!(st["status"], "running");
        assert_eq!(st["pid"], pid, "the container process is the init itself");
        assert!(!rt.root.join("c1/exec.fifo").exists());
        // The command is PID 1 itself: its host pid is what the pid file says.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_eq!(comm.trim(), "sleep");
        fails_with(
            &rt.run(&["start", "c1"]),
            "cannot start an already running container",
        );

        // SIGTERM to a PID 1 without a handler is ignored (as in any container);
        // SIGKILL by name stops it.
        ok(&rt.run(&["kill", "c1", "KILL"]));
        let st = rt.wait_status("c1", "stopped");
        assert_eq!(st["pid"], 0);
        fails_with(
            &rt.run(&["start", "c1"]),
            "cannot start a container that has stopped",
        );
        fails_with(&rt.run(&["kill", "c1", "9"]), "container not running");
        ok(&rt.run(&["kill", "--all", "c1", "9"]));

        ok(&rt.run(&["delete", "c1"]));
        assert!(!rt.root.join("c1").exists(), "state dir left behind");
        fails_with(&rt.run(&["state", "c1"]), "container does not exist");
        wait_gone(pid);
    }
}

#[test]
fn delete_created_and_force_delete_running() {
    for user in users() {
        let s = Scratch::new("lc-delete", user);
        let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
        let rt = Rt::new(&s, user);
        let pf = s.join("pid");
        let pfs = pf.to_str().unwrap();

        // A created container is deleted without --force (containerd relies on it).
        let (code, err) = rt.create(&b, "created", &["--pid-file", pfs], &s.join("o1"));
        assert_eq!(code, 0, "{err}");
        let pid: i64 = std::fs::read_to_string(&pf).unwrap().parse().unwrap();
        ok(&rt.run(&["delete", "created"]));
        assert!(pid_gone(pid), "created init survived delete");
        assert!(!rt.root.join("created").exists());

        // A running one needs --force, which kills it.
        let (code, err) = rt.create(&b, "running", &["--pid-file", pfs], &s.join("o2"));
        assert_eq!(code, 0, "{err}");
        let pid: i64 = std::fs::read_to_string(&pf).unwrap().parse().unwrap();
        ok(&rt.run(&["start", "running"]));
        rt.wait_status("running", "running");
        fails_with(
            &rt.run(&["delete", "running"]),
            "cannot delete container running that is not stopped: running",
        );
        ok(&rt.run(&["delete", "--force", "running"]));
        assert!(pid_gone(pid), "running init survived delete --force");
        assert!(!rt.root.join("running").exists());
        // Nothing left in the state root.
        assert_eq!(std::fs::read_dir(&rt.root).unwrap().count(), 0);
    }
}

#[test]
fn kill_all_and_default_signal() {
    let user = unprivileged();
    let s = Scratch::new("lc-killall", user);
    // The shell traps TERM (the default signal) and reports it.
    let b = busybox_bundle(
        &s,
        user,
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 3' TERM; sleep 1000 & echo ready; wait",
        ],
        false,
    );
    let rt = Rt::new(&s, user);
    let out = s.join("out");
    assert_eq!(rt.create(&b, "k", &[], &out).0, 0);
    ok(&rt.run(&["start", "k"]));
    wait_for_text(&out, "ready");
    ok(&rt.run(&["kill", "k"]));
    wait_for_text(&out, "got-term");
    rt.wait_status("k", "stopped");
    ok(&rt.run(&["delete", "k"]));
}

#[test]
fn unknown_and_invalid_ids() {
    let user = unprivileged();
    let s = Scratch::new("lc-unknown", user);
    let rt = Rt::new(&s, user);
    for args in [
        vec!["state", "nope"],
        vec!["start", "nope"],
        vec!["kill", "nope", "KILL"],
        vec!["delete", "nope"],
    ] {
        fails_with(&rt.run(&args), "container does not exist");
    }
    let o = rt.run(&["delete", "--force", "nope"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");

    let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
    for bad in ["..", "a/b", "."] {
        let (code, err) = rt.create(&b, bad, &[], &s.join("o"));
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("invalid container id"), "{err}");
    }
    assert_eq!(rt.create(&b, "dup", &[], &s.join("o")).0, 0);
    let (code, err) = rt.create(&b, "dup", &[], &s.join("o2"));
    assert_eq!(code, 1);
    assert!(
        err.contains("container with given ID already exists"),
        "{err}"
    );
    fails_with(&rt.run(&["kill", "dup", "NOSUCHSIG"]), "unknown signal");
    ok(&rt.run(&["delete", "dup"]));
}

#[test]
fn create_failures_leave_nothing_behind() {
    for user in users() {
        let s = Scratch::new("lc-fail", user);
        let b = busybox_bundle(&s, user, &["/no/such/program"], false);
        let rt = Rt::new(&s, user);
        let log = s.join("log.json");
        let (code, err) = rt.create(
            &b,
            "f",
            &[],
            &s.join("o"), // global flags go before the subcommand; see below for --log
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("no such file or directory"), "{err}");
        assert!(
            !rt.root.join("f").exists(),
            "state dir left after a failed create"
        );

        // The filtering proxy with a network namespace joined by path: refused, clearly.
        let mut cfg: Value =
            serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
        cfg["process"]["args"] = json!(["sleep", "1"]);
        cfg["sandbox"] = json!({"network": {"allowedDomains": ["example.com"]}});
        cfg["linux"]["namespaces"][1] = json!({"type": "network", "path": "/proc/self/ns/net"});
        write_bundle(&b, &cfg);
        let o = rt
            .cmd(&[
                "--log",
                log.to_str().unwrap(),
                "--log-format",
                "json",
                "create",
                "--bundle",
                b.to_str().unwrap(),
                "p",
            ])
            .output()
            .unwrap();
        fails_with(&o, "needs the sandbox's own network namespace");
        assert!(!rt.root.join("p").exists());
        let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim())
            .expect("one JSON line");
        assert_eq!(line["level"], "error");
        assert!(line["msg"]
            .as_str()
            .unwrap()
            .contains("needs the sandbox's own network namespace"));

        // terminal without a console socket: runc's error.
        cfg["sandbox"] = json!({});
        cfg["linux"]["namespaces"][1] = json!({"type": "network"});
        cfg["process"]["terminal"] = json!(true);
        write_bundle(&b, &cfg);
        let (code, err) = rt.create(&b, "t", &[], &s.join("o3"));
        assert_eq!(code, 1);
        assert!(err.contains("cannot allocate tty"), "{err}");
        assert!(!rt.root.join("t").exists());
    }
}

#[test]
fn log_json_format() {
    let user = unprivileged();
    let s = Scratch::new("lc-log", user);
    let rt = Rt::new(&s, user);
    let log = s.join("oci-log");
    for _ in 0..2 {
        let o = rt.run(&[
            "--log",
            log.to_str().unwrap(),
            "--log-format=json",
            "state",
            "ghost",
        ]);
        fails_with(&o, "container does not exist");
        assert!(
            !stderr(&o).starts_with('{'),
            "plain text on stderr: {}",
            stderr(&o)
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "appended, one object per line: {text}");
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        let t = v["time"].as_str().unwrap();
        // RFC 3339: 2006-01-02T15:04:05Z
        assert_eq!(t.len(), 20, "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], "T");
        assert!(t.ends_with('Z'));
    }
    // Without --log, JSON format puts the JSON line on stderr (as runc does).
    let o = rt.run(&["--log-format", "json", "state", "ghost"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["msg"], "container does not exist");
}

#[test]
fn console_socket_receives_the_pty_master() {
    for user in users() {
        let s = Scratch::new("lc-console", user);
        let b = busybox_bundle(&s, user, &["sh"], true);
        let rt = Rt::new(&s, user);
        let sock_path = s.join("console.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
        chown(&sock_path, user);
        let (code, err) = rt.create(
            &b,
            "tty",
            &["--console-socket", sock_path.to_str().unwrap()],
            &s.join("o"),
        );
        assert_eq!(code, 0, "{}: {err}", user.label());
        let (conn, _) = listener.accept().unwrap();
        let (name, master) = recv_fd(&conn);
        assert!(name.starts_with("/dev/pts/"), "slave name {name:?}");
        ok(&rt.run(&["start", "tty"]));
        let mut m = File::from(master);
        use std::io::{Read, Write};
        m.write_all(b"test -t 0 && test -t 1 && echo tty-$((6*7)); exit 5\n")
            .unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).contains("tty-42") {
            assert!(
                Instant::now() < deadline,
                "{}",
                String::from_utf8_lossy(&got)
            );
            let mut pfd = libc::pollfd {
                fd: m.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            if unsafe { libc::poll(&mut pfd, 1, 200) } > 0 {
                match m.read(&mut buf) {
                    Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        }
        assert!(String::from_utf8_lossy(&got).contains("tty-42"));
        rt.wait_status("tty", "stopped");
        ok(&rt.run(&["delete", "tty"]));
        assert!(!rt.root.join("tty").exists());
    }
}

#[test]
fn list_formats() {
    let user = unprivileged();
    let s = Scratch::new("lc-list", user);
    let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
    let rt = Rt::new(&s, user);
    assert_eq!(ok(&rt.run(&["list", "-q"])), "");
    assert_eq!(rt.create(&b, "b-two", &[], &s.join("o1")).0, 0);
    assert_eq!(rt.create(&b, "a-one", &[], &s.join("o2")).0, 0);
    ok(&rt.run(&["start", "b-two"]));
    assert_eq!(ok(&rt.run(&["list", "-q"])), "a-one\nb-two\n");
    let v: Value = serde_json::from_str(&ok(&rt.run(&["list", "--format", "json"]))).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], "a-one");
    assert_eq!(arr[0]["status"], "created");
    assert_eq!(arr[1]["status"], "running");
    assert_eq!(arr[1]["bundle"], b.to_str().unwrap());
    assert!(!arr[0]["owner"].as_str().unwrap().is_empty());
    let table = ok(&rt.run(&["list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].ends_with("OWNER"),
        "{table}"
    );
    assert!(lines[1].starts_with("a-one ") && lines[1].contains(" created "));
    assert!(lines[2].starts_with("b-two ") && lines[2].contains(" running "));
    for id in ["a-one", "b-two"] {
        ok(&rt.run(&["delete", "--force", id]));
    }
    assert_eq!(ok(&rt.run(&["list", "-q"])), "");
}

#[test]
fn create_leaves_the_init_with_the_callers_subreaper() {
    let user = unprivileged();
    let s = Scratch::new("lc-reaper", user);
    let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
    let root = s.join("state");
    let pf = s.join("pid");
    let script = format!(
        "{bin} --root {root} create --bundle {b} --pid-file {pf} r >/dev/null 2>&1 || exit 9; \
         echo $$; grep PPid /proc/$(cat {pf})/status; {bin} --root {root} delete --force r",
        bin = srt_runc().display(),
        root = root.display(),
        b = b.display(),
        pf = pf.display()
    );
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&script).stdin(Stdio::null());
    if user.uid != unsafe { libc::geteuid() } {
        c.uid(user.uid).gid(user.gid);
    }
    // Like conmon and the containerd shim: the caller is a subreaper.
    unsafe {
        c.pre_exec(|| {
            if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = ok(&c.output().unwrap());
    let mut lines = out.lines();
    let shell = lines.next().unwrap().trim().to_string();
    let ppid = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    assert_eq!(
        ppid, shell,
        "the init must be re-parented to the subreaper caller"
    );
}

#[test]
fn preserve_fds_reach_the_container() {
    let user = unprivileged();
    let s = Scratch::new("lc-fds", user);
    let b = busybox_bundle(&s, user, &["sh", "-c", "echo via-fd3 >&3"], false);
    let rt = Rt::new(&s, user);
    let extra = s.join("fd3");
    // The shell opens fd 3 (no close-on-exec) for `create`, as conmon does for
    // `--preserve-fds`.
    let script = format!(
        "exec {bin} --root {root} create --bundle {b} --preserve-fds 1 p 3>{extra} >/dev/null 2>&1",
        bin = srt_runc().display(),
        root = rt.root.display(),
        b = b.display(),
        extra = extra.display()
    );
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&script).stdin(Stdio::null());
    if !user.is_root() || unsafe { libc::geteuid() } != user.uid {
        c.uid(user.uid).gid(user.gid);
    }
    ok(&c.output().unwrap());
    ok(&rt.run(&["start", "p"]));
    assert_eq!(wait_for_text(&extra, "via-fd3"), "via-fd3\n");
    rt.wait_status("p", "stopped");
    ok(&rt.run(&["delete", "p"]));
}

#[test]
fn spec_output_runs_via_run() {
    for user in users() {
        let s = Scratch::new("lc-spec", user);
        // Reuse the busybox rootfs; replace its config with `spec`'s.
        let b = busybox_bundle(&s, user, &["true"], false);
        std::fs::remove_file(b.join("config.json")).unwrap();
        let rootless = !user.is_root();
        let mut args = vec!["spec", "--bundle", b.to_str().unwrap()];
        if rootless {
            args.insert(1, "--rootless");
        }
        ok(&srt_cmd(user, &args).output().unwrap());
        let mut cfg: Value =
            serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["root"]["path"], "rootfs");
        assert_eq!(cfg["process"]["terminal"], true);
        let ns: Vec<&str> = cfg["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(ns.contains(&"user"), rootless, "{ns:?}");
        assert_eq!(ns.contains(&"network"), !rootless, "{ns:?}");
        // Never over an existing config.
        let o = srt_cmd(user, &args).output().unwrap();
        fails_with(&o, "File config.json exists");

        cfg["process"]["args"] = json!(["sh", "-c", "echo spec-$((40+2))"]);
        write_bundle(&b, &cfg);
        chown_tree(&b, user);
        let o = srt_cmd(user, &["run", "--bundle", b.to_str().unwrap(), "specrun"])
            .output()
            .unwrap();
        assert!(
            ok(&o).contains("spec-42"),
            "{}: {} {}",
            user.label(),
            stdout(&o),
            stderr(&o)
        );
    }
}

#[test]
fn features_and_version() {
    let user = unprivileged();
    let v: Value =
        serde_json::from_str(&ok(&srt_cmd(user, &["features"]).output().unwrap())).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert!(v["ociVersionMax"].as_str().unwrap().starts_with("1."));
    let ns = v["linux"]["namespaces"].as_array().unwrap();
    for want in ["user", "mount", "pid", "network", "ipc", "uts", "cgroup"] {
        assert!(ns.contains(&json!(want)), "{want}");
    }
    assert!(v["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("CAP_SYS_ADMIN")));
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    assert_eq!(v["linux"]["cgroup"]["v1"], true);
    assert_eq!(v["linux"]["cgroup"]["v2"], true);
    assert_eq!(v["linux"]["cgroup"]["systemd"], false);
    assert_eq!(
        v["hooks"],
        json!([
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ])
    );

    let out = ok(&srt_cmd(user, &["--version"]).output().unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("srt-runc version "), "{out}");
    assert!(lines[1].starts_with("commit: "), "{out}");
    assert_eq!(lines[2], "spec: 1.0.2");
}

/// The project tree: relative path and content ("dir" for directories, "mode000" for a
/// file nobody can open: a placeholder).
fn project_tree(p: &std::path::Path) -> Vec<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(p).unwrap().display().to_string();
            if m.is_dir() {
                out.push((rel, "dir".into()));
                stack.push(e.path());
            } else if m.permissions().mode() & 0o777 == 0 {
                out.push((rel, "mode000".into()));
            } else {
                out.push((rel, std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A bundle in `s/NAME` running `script` on the host's root, read-only except the
/// writable `project`, which is also the working directory (so protected names missing
/// there get placeholders).
fn project_bundle(
    s: &Scratch,
    user: User,
    name: &str,
    project: &std::path::Path,
    script: &str,
    tweak: impl FnOnce(&mut Value),
) -> std::path::PathBuf {
    let b = s.join(name);
    std::fs::create_dir_all(&b).unwrap();
    let mut cfg = config(&["/bin/sh", "-c", script]);
    cfg["process"]["cwd"] = json!(project);
    cfg["sandbox"] = json!({"filesystem": {"allowWrite": [project]}});
    tweak(&mut cfg);
    write_bundle(&b, &cfg);
    chown_tree(&b, user);
    b
}

/// The registry of `user`'s placeholders (see `linux::placeholders::registry_dir`).
fn placeholder_registry(user: User) -> String {
    let path = if user.is_root() {
        std::path::PathBuf::from("/run/srt-runc-placeholders/placeholders.json")
    } else {
        std::path::PathBuf::from(format!(
            "/tmp/srt-runc-placeholders-{}/placeholders.json",
            user.uid
        ))
    };
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn create_mode_keeps_placeholders_until_delete() {
    for user in users() {
        let who = user.label();
        let s = Scratch::new("lc-placeholders", user);
        let project = s.join("project");
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(project.join("README"), "project\n").unwrap();
        chown_tree(&project, user);
        let before = project_tree(&project);
        let ours = project.to_str().unwrap().to_string();
        let rt = Rt::new(&s, user);
        // Waits for FLAG (outside the project), then tries the protected names and
        // writes NAME.txt; EROFS/EACCES is what a protected name must give.
        let script = |name: &str, flag: &std::path::Path, tail: &str| {
            format!(
                "while [ ! -e {flag} ]; do sleep 0.05; done; \
                 for f in .mcp.json .bashrc; do \
                   if err=$( (echo x > $f) 2>&1 ); then echo ESCAPED $f; else echo blocked $f: $err; fi; \
                 done; echo {name} > {name}.txt && echo wrote; {tail}",
                flag = flag.display()
            )
        };
        let check_out = |out: &std::path::Path| {
            let text = std::fs::read_to_string(out).unwrap();
            assert!(!text.contains("ESCAPED"), "{who}: {text}");
            assert_eq!(text.matches("blocked ").count(), 2, "{who}: {text}");
            for line in text.lines().filter(|l| l.starts_with("blocked")) {
                assert!(
                    line.contains("Read-only file system") || line.contains("Permission denied"),
                    "{who}: {line}"
                );
            }
            assert!(text.ends_with("wrote\n"), "{who}: {text}");
        };
        let exists = |n: &str| std::fs::symlink_metadata(project.join(n)).is_ok();

        // Two containers share the project: created, both hold the placeholders.
        let (fa, fb) = (s.join("flag-a"), s.join("flag-b"));
        let ba = project_bundle(&s, user, "a", &project, &script("a", &fa, ""), |_| {});
        let bb = project_bundle(&s, user, "b", &project, &script("b", &fb, ""), |_| {});
        let (code, err) = rt.create(&ba, "a", &[], &s.join("out-a"));
        assert_eq!(code, 0, "{who}: create a: {err}");
        assert!(
            exists(".mcp.json") && exists(".bashrc"),
            "{who}: no placeholders after create"
        );
        assert!(placeholder_registry(user).contains(&ours), "{who}");
        let (code, err) = rt.create(&bb, "b", &[], &s.join("out-b"));
        assert_eq!(code, 0, "{who}: create b: {err}");

        // a runs to its end and is deleted: b still relies on the placeholders.
        ok(&rt.run(&["start", "a"]));
        std::fs::write(&fa, "").unwrap();
        rt.wait_status("a", "stopped");
        check_out(&s.join("out-a"));
        ok(&rt.run(&["delete", "a"]));
        assert!(
            exists(".mcp.json") && exists(".bashrc"),
            "{who}: a's delete removed b's placeholders"
        );

        // b, started only now, is still protected; its delete removes them.
        ok(&rt.run(&["start", "b"]));
        std::fs::write(&fb, "").unwrap();
        rt.wait_status("b", "stopped");
        check_out(&s.join("out-b"));
        ok(&rt.run(&["delete", "b"]));
        let mut want = before.clone();
        want.push(("a.txt".into(), "a\n".into()));
        want.push(("b.txt".into(), "b\n".into()));
        want.sort();
        assert_eq!(
            project_tree(&project),
            want,
            "{who}: placeholders left after delete"
        );
        assert!(!placeholder_registry(user).contains(&ours), "{who}");
        for f in ["a.txt", "b.txt"] {
            std::fs::remove_file(project.join(f)).unwrap();
        }

        // `delete --force` of a running container removes them too.
        let bc = project_bundle(
            &s,
            user,
            "c",
            &project,
            &script("c", &fa, "exec sleep 1000"),
            |_| {},
        );
        let (code, err) = rt.create(&bc, "c", &[], &s.join("out-c"));
        assert_eq!(code, 0, "{who}: create c: {err}");
        ok(&rt.run(&["start", "c"]));
        wait_for_text(&s.join("out-c"), "wrote");
        assert_eq!(rt.state("c")["status"], "running");
        assert!(exists(".mcp.json"), "{who}: placeholder gone while running");
        ok(&rt.run(&["delete", "--force", "c"]));
        check_out(&s.join("out-c"));
        let mut want = before.clone();
        want.push(("c.txt".into(), "c\n".into()));
        want.sort();
        assert_eq!(
            project_tree(&project),
            want,
            "{who}: placeholders left after delete --force"
        );
        std::fs::remove_file(project.join("c.txt")).unwrap();

        // A container killed and never deleted: the next run of the user sweeps its
        // placeholders (its init is dead), and the late delete still succeeds.
        let (code, err) = rt.create(&bc, "d", &[], &s.join("out-d"));
        assert_eq!(code, 0, "{who}: create d: {err}");
        ok(&rt.run(&["start", "d"]));
        wait_for_text(&s.join("out-d"), "wrote");
        ok(&rt.run(&["kill", "d", "KILL"]));
        rt.wait_status("d", "stopped");
        // (Any run of this user may sweep them from now on — other tests of this binary
        // run in parallel — so only their absence after our own run is asserted.)
        let other = Scratch::new("lc-placeholders-sweep", user);
        let o = run_in(user, &other, &["true"], |_| {});
        ok(&o);
        assert_eq!(
            project_tree(&project),
            want,
            "{who}: the dead container's placeholders were not swept"
        );
        ok(&rt.run(&["delete", "d"]));
        std::fs::remove_file(project.join("c.txt")).unwrap();
        assert_eq!(project_tree(&project), before, "{who}");

        // A create that fails after the placeholders were made leaves none: in a
        // prestart hook (before the init's setup) and in a createContainer hook (after).
        for (id, hooks) in [
            ("e", json!({"prestart": [{"path": "/bin/false"}]})),
            ("f", json!({"createContainer": [{"path": "/bin/false"}]})),
        ] {
            let be = project_bundle(&s, user, id, &project, "true", |c| c["hooks"] = hooks);
            let (code, err) = rt.create(&be, id, &[], &s.join("out-e"));
            assert_eq!(code, 1, "{who}: {id}: {err}");
            assert!(err.contains("hook /bin/false failed"), "{who}: {id}: {err}");
            assert!(!rt.root.join(id).exists(), "{who}: {id}");
            assert_eq!(
                project_tree(&project),
                before,
                "{who}: {id}: placeholders left by a failed create"
            );
            assert!(!placeholder_registry(user).contains(&ours), "{who}: {id}");
        }
    }
}
