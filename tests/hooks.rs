//! OCI hooks through the lifecycle: order, the state on stdin, env, where
//! `createContainer` and `startContainer` run (inside the container, before pivot_root
//! and before the command's execve), and failing or timed-out hooks failing `create` or
//! `start` with nothing left behind. As root and rootless.
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// A hook that appends its name to `order` and saves its stdin as `NAME.json`, both in
/// `dir` (a path the hook sees: on the host, or bound into the container).
fn hook(dir: &str, name: &str) -> Value {
    hook_then(&["/bin/sh", "sh"], dir, name, "")
}

/// [`hook`] run as `cmd[0]` with argv `cmd[1..] -c SCRIPT` (a shell last), with `more`
/// shell commands after.
fn hook_then(cmd: &[&str], dir: &str, name: &str, more: &str) -> Value {
    let script = format!("cat > {dir}/{name}.json; echo {name} $HOOKVAR >> {dir}/order; {more}");
    let mut args: Vec<String> = cmd[1..].iter().map(|a| a.to_string()).collect();
    args.extend(["-c".to_string(), script]);
    json!({"path": cmd[0], "args": args, "env": ["HOOKVAR=v1", "PATH=/bin:/usr/bin"]})
}

/// Shell commands recording the hook's namespaces (its own `/proc/self/ns` links, one a
/// line) in `FILE`.
fn record_namespaces(file: &str) -> String {
    format!("for n in mnt uts net ipc pid user; do readlink /proc/self/ns/$n; done > {file}")
}

/// The namespaces of host pid `pid`, as [`record_namespaces`] writes them.
fn namespaces_of(pid: i64) -> String {
    ["mnt", "uts", "net", "ipc", "pid", "user"]
        .iter()
        .map(|n| {
            let l = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
            format!("{}\n", l.display())
        })
        .collect()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Polls `state` until the container is stopped.
fn wait_stopped(rt: &Rt, id: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rt.state(id)["status"] != "stopped" {
        assert!(std::time::Instant::now() < deadline, "{id} never stopped");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn log_dir(s: &Scratch, user: User) -> std::path::PathBuf {
    let d = s.join("hooklog");
    std::fs::create_dir_all(&d).unwrap();
    chown(&d, user);
    d
}

#[test]
fn hooks_run_in_order_with_the_state() {
    for user in users() {
        let s = Scratch::new("hooks", user);
        let log = log_dir(&s, user);
        let l = log.to_str().unwrap().to_string();
        // The command records how many startContainer hooks ran before it.
        let cmd = [
            "sh",
            "-c",
            "grep -c startContainer /tmp/order > /tmp/command-saw; exec sleep 1000",
        ];
        let b = busybox_bundle_with(&s, user, &cmd, false, |c| {
            c["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/tmp", "type": "bind", "source": l, "options": ["rbind"]}),
            );
            c["hooks"] = json!({
                "prestart": [hook(&l, "prestart")],
                "createRuntime": [hook(&l, "createRuntime")],
                // Before pivot_root: the path resolves on the host (the container has no
                // /usr/bin/env), `/` is still the host's and the working directory is the
                // container's root with its mounts in place (the log directory at tmp).
                "createContainer": [hook_then(&["/usr/bin/env", "env", "sh"], "tmp", "createContainer", &format!(
                    "[ -x /usr/bin/env ] && [ -x bin/busybox ] && echo host-root-cwd-container > tmp/createContainer.view; {}",
                    record_namespaces("tmp/createContainer.ns")
                ))],
                // Inside the container, right before the command: busybox's sh, the
                // container's root, hostname and namespaces.
                "startContainer": [hook_then(&["/bin/sh", "sh"], "/tmp", "startContainer", &format!(
                    "[ -x /bin/busybox ] && [ ! -e /usr ] && echo container-root $(hostname) > /tmp/startContainer.view; {}",
                    record_namespaces("/tmp/startContainer.ns")
                ))],
                "poststart": [hook(&l, "poststart")],
                "poststop": [hook(&l, "poststop")]
            });
        });
        let rt = Rt::new(&s, user);
        let (code, err) = rt.create(&b, "h1", &[], &s.join("out"));
        assert_eq!(code, 0, "{}: create: {err}", user.label());
        let pid = rt.state("h1")["pid"].as_i64().unwrap();
        assert_eq!(
            read(&log, "order"),
            "prestart v1\ncreateRuntime v1\ncreateContainer v1\n"
        );
        assert_eq!(
            read(&log, "createContainer.view"),
            "host-root-cwd-container\n"
        );
        assert!(!log.join("startContainer.json").exists());
        ok(&rt.run(&["start", "h1"]));
        // `start` returns once the startContainer hooks are done.
        assert!(
            read(&log, "order").ends_with("createContainer v1\nstartContainer v1\npoststart v1\n"),
            "{}",
            read(&log, "order")
        );
        assert_eq!(wait_for_text(&log.join("command-saw"), "\n"), "1\n");
        assert_eq!(
            read(&log, "startContainer.view"),
            "container-root lifecycle\n"
        );
        // Both ran in every namespace of the container (read now that the command, not
        // the non-dumpable init, is the process).
        let ns = namespaces_of(pid);
        assert_eq!(read(&log, "createContainer.ns"), ns, "{}", user.label());
        assert_eq!(read(&log, "startContainer.ns"), ns, "{}", user.label());
        ok(&rt.run(&["delete", "--force", "h1"]));
        assert_eq!(
            read(&log, "order"),
            "prestart v1\ncreateRuntime v1\ncreateContainer v1\nstartContainer v1\npoststart v1\npoststop v1\n"
        );
        let state = |n: &str| -> Value {
            serde_json::from_slice(&std::fs::read(log.join(format!("{n}.json"))).unwrap()).unwrap()
        };
        for (name, status, want_pid) in [
            ("prestart", "creating", pid),
            ("createRuntime", "creating", pid),
            ("createContainer", "creating", pid),
            ("startContainer", "created", pid),
            ("poststart", "running", pid),
            ("poststop", "stopped", 0),
        ] {
            let st = state(name);
            assert_eq!(st["id"], "h1", "{name}: {st}");
            assert_eq!(st["status"], status, "{name}: {st}");
            assert_eq!(st["pid"], want_pid, "{name}: {st}");
            assert_eq!(st["bundle"], b.to_str().unwrap(), "{name}");
            assert_eq!(st["annotations"]["org.example.test"], "yes", "{name}");
        }
    }
}

#[test]
fn failing_and_slow_hooks_fail_create_and_leave_nothing() {
    for user in users() {
        let s = Scratch::new("hooks-fail", user);
        let b = busybox_bundle_with(&s, user, &["sleep", "1000"], false, |c| {
            c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]});
        });
        let rt = Rt::new(&s, user);
        let (code, err) = rt.create(&b, "h2", &[], &s.join("out"));
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("prestart hook /bin/sh failed: exit status: 3: nope"),
            "{err}"
        );
        assert!(!rt.root.join("h2").exists());

        let cfg = b.join("config.json");
        let mut c: Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
        std::fs::write(&cfg, c.to_string()).unwrap();
        let started = std::time::Instant::now();
        let (code, err) = rt.create(&b, "h3", &[], &s.join("out"));
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("createRuntime hook /bin/sleep timed out after 1s"),
            "{err}"
        );
        assert!(started.elapsed().as_secs() < 10);
        assert!(!rt.root.join("h3").exists());

        // createContainer runs in the init: its failure is the init's, reported by create.
        c["hooks"] = json!({"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo inside >&2; exit 5"]}]});
        std::fs::write(&cfg, c.to_string()).unwrap();
        let (code, err) = rt.create(&b, "h4", &[], &s.join("out"));
        assert_ne!(code, 0, "{err}");
        assert!(
            err.contains("createContainer hook /bin/sh failed: exit status: 5: inside"),
            "{err}"
        );
        assert!(!rt.root.join("h4").exists());
        assert_eq!(ok(&rt.run(&["list", "-q"])), "");
    }
}

#[test]
fn a_failing_start_container_hook_stops_the_container_before_its_command() {
    for user in users() {
        let s = Scratch::new("hooks-start-fail", user);
        let log = log_dir(&s, user);
        let l = log.to_str().unwrap().to_string();
        let b = busybox_bundle_with(
            &s,
            user,
            &["sh", "-c", "touch /tmp/command-ran; exec sleep 1000"],
            false,
            |c| {
                c["mounts"].as_array_mut().unwrap().push(
                    json!({"destination": "/tmp", "type": "bind", "source": l, "options": ["rbind"]}),
                );
            },
        );
        let cfg = b.join("config.json");
        let mut c: Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
        let rt = Rt::new(&s, user);
        for (id, hook, want) in [
            (
                "h5",
                json!({"path": "/bin/sh", "args": ["sh", "-c", "echo broken >&2; exit 4"]}),
                "startContainer hook /bin/sh failed: exit status: 4: broken",
            ),
            (
                "h6",
                json!({"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}),
                "startContainer hook /bin/sleep timed out after 1s",
            ),
        ] {
            c["hooks"] = json!({"startContainer": [hook], "poststart": [hook_then(&["/bin/sh", "sh"], &l, "poststart", "")], "poststop": [hook_then(&["/bin/sh", "sh"], &l, "poststop", "")]});
            std::fs::write(&cfg, c.to_string()).unwrap();
            let (code, err) = rt.create(&b, id, &[], &s.join("out"));
            assert_eq!(code, 0, "{}: create: {err}", user.label());
            let started = std::time::Instant::now();
            let o = rt.run(&["start", id]);
            assert_eq!(o.status.code(), Some(1), "{}: {}", user.label(), stderr(&o));
            assert!(
                stderr(&o).contains(want),
                "{}: {}",
                user.label(),
                stderr(&o)
            );
            assert!(started.elapsed().as_secs() < 10);
            wait_stopped(&rt, id);
            assert!(
                !log.join("command-ran").exists(),
                "{}: the command ran",
                user.label()
            );
            assert!(
                !log.join("order").exists(),
                "poststart ran after a failed start"
            );
            ok(&rt.run(&["delete", id]));
            assert!(!rt.root.join(id).exists());
            assert_eq!(read(&log, "order"), "poststop v1\n");
            std::fs::remove_file(log.join("order")).unwrap();
        }
        assert_eq!(ok(&rt.run(&["list", "-q"])), "");
    }
}
