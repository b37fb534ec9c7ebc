//! OCI hooks through the lifecycle: order, the state on stdin, env, a failing and a
//! timed-out hook failing `create` with nothing left behind. As root and rootless.
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// A hook that appends its name to `order` and saves its stdin as `NAME.json`, both in
/// `dir` (a path the hook sees: on the host, or bound into the container).
fn hook(dir: &str, name: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > {dir}/{name}.json; echo {name} $HOOKVAR >> {dir}/order")],
        "env": ["HOOKVAR=v1", "PATH=/bin:/usr/bin"]
    })
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
        let b = busybox_bundle_with(&s, user, &["sleep", "1000"], false, |c| {
            c["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/tmp", "type": "bind", "source": l, "options": ["rbind"]}),
            );
            c["hooks"] = json!({
                "prestart": [hook(&l, "prestart")],
                "createRuntime": [hook(&l, "createRuntime")],
                // Runs in the container's mount namespace: /bin/sh is busybox, and the
                // log directory is bound at /tmp there.
                "createContainer": [hook("/tmp", "createContainer")],
                "poststart": [hook(&l, "poststart")],
                "poststop": [hook(&l, "poststop")]
            });
        });
        let rt = Rt::new(&s, user);
        let (code, err) = rt.create(&b, "h1", &[], &s.join("out"));
        assert_eq!(code, 0, "{}: create: {err}", user.label());
        let pid = rt.state("h1")["pid"].as_i64().unwrap();
        let order = |()| std::fs::read_to_string(log.join("order")).unwrap();
        assert_eq!(
            order(()),
            "prestart v1\ncreateRuntime v1\ncreateContainer v1\n"
        );
        ok(&rt.run(&["start", "h1"]));
        assert!(order(()).ends_with("poststart v1\n"));
        ok(&rt.run(&["delete", "--force", "h1"]));
        assert_eq!(
            order(()),
            "prestart v1\ncreateRuntime v1\ncreateContainer v1\npoststart v1\npoststop v1\n"
        );
        let state = |n: &str| -> Value {
            serde_json::from_slice(&std::fs::read(log.join(format!("{n}.json"))).unwrap()).unwrap()
        };
        for (name, status, want_pid) in [
            ("prestart", "creating", pid),
            ("createRuntime", "creating", pid),
            ("createContainer", "creating", pid),
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
        assert_eq!(ok(&rt.run(&["list", "-q"])), "");

        c["hooks"] = json!({"startContainer": [{"path": "/bin/true"}]});
        std::fs::write(&cfg, c.to_string()).unwrap();
        let (code, err) = rt.create(&b, "h4", &[], &s.join("out"));
        assert_eq!(code, 1);
        assert!(
            err.contains("hooks.startContainer is not supported"),
            "{err}"
        );
        assert!(!Path::new(&rt.root.join("h4")).exists());
    }
}
