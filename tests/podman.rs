//! podman 4.3 (through conmon) with srt-runc as its OCI runtime: run, exit codes,
//! detached containers with exec/pause/stop/rm, a terminal through conmon's console
//! socket, the default bridge network (a netns joined by path) and `--network none`,
//! and a sandbox policy given as an annotation. Private storage per test; as root.
#![cfg(target_os = "linux")]

mod common;
use common::engines::{Podman, IMAGE};
use common::*;
use std::path::Path;

/// Deletes podman's default bridge on drop when the test created it.
struct RemoveBridge(bool);

impl Drop for RemoveBridge {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", "cni-podman0"])
                .status();
        }
    }
}

const NONE: &[&str] = &["--network", "none"];

#[test]
fn podman_run_prints_and_propagates_exit_codes() {
    let s = Scratch::new("podman-run", root_user());
    let p = Podman::new(&s);
    let o = p.run_rm(NONE, &["echo", "hi"]);
    assert_eq!(ok(&o), "hi\n", "{}", stderr(&o));
    let o = p.run_rm(NONE, &["sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    // Our error text is what podman maps to 127 ("no such file or directory").
    let o = p.run_rm(NONE, &["/no/such/bin"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    // A terminal through conmon's console socket.
    let o = p.run_rm(
        &["-t", "--network", "none"],
        &["sh", "-c", "test -t 1 && echo tty-yes"],
    );
    assert!(ok(&o).contains("tty-yes"), "{}", stdout(&o));
}

#[test]
fn podman_detached_exec_pause_stop_rm() {
    let s = Scratch::new("podman-detached", root_user());
    let p = Podman::new(&s);
    let id = ok(&p.run(&[
        "run",
        "-d",
        "--name",
        "d1",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]))
    .trim()
    .to_string();
    let ps = ok(&p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains("d1 Up"), "{ps}");
    let o = p.run(&["exec", "d1", "sh", "-c", "echo in-exec; exit 4"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(stdout(&o), "in-exec\n");
    // podman's cgroupfs parent; pids limit 2048 is podman's default.
    let cg = Path::new("/sys/fs/cgroup/pids/libpod_parent").join(format!("libpod-{id}"));
    assert_eq!(
        std::fs::read_to_string(cg.join("pids.max")).unwrap().trim(),
        "2048"
    );
    ok(&p.run(&["pause", "d1"]));
    let ps = ok(&p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains("d1 Paused"), "{ps}");
    let freezer = Path::new("/sys/fs/cgroup/freezer/libpod_parent").join(format!("libpod-{id}"));
    assert_eq!(
        std::fs::read_to_string(freezer.join("freezer.state"))
            .unwrap()
            .trim(),
        "FROZEN"
    );
    ok(&p.run(&["unpause", "d1"]));
    let top = ok(&p.run(&["top", "d1"]));
    assert!(top.contains("sleep 1000"), "{top}");
    // sleep as PID 1 ignores SIGTERM: podman escalates to SIGKILL after the timeout.
    ok(&p.run(&["stop", "-t", "1", "d1"]));
    let ps = ok(&p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains("d1 Exited (137)"), "{ps}");
    ok(&p.run(&["rm", "d1"]));
    assert!(!cg.exists() && !freezer.exists(), "cgroups left behind");
    assert!(!p.state.join(&id).exists(), "state left behind");
    let o = p.run(&["run", "-d", "--network", "none", IMAGE, "sleep", "1000"]);
    let id2 = ok(&o).trim().to_string();
    assert!(p.state.join(&id2).join("state.json").is_file());
    ok(&p.run(&["rm", "--force", "--time", "0", &id2]));
    assert!(
        !p.state.join(&id2).exists(),
        "state left behind by rm --force"
    );
}

#[test]
fn podman_networks_bridge_and_none() {
    // netavark creates podman's bridge on first use; one this test made is removed.
    let bridge = Path::new("/sys/class/net/cni-podman0");
    let _bridge = RemoveBridge(!bridge.exists());
    let s = Scratch::new("podman-net", root_user());
    let p = Podman::new(&s);
    let devs = |o: &std::process::Output| -> Vec<String> {
        ok(o)
            .lines()
            .filter_map(|l| l.split_once(':').map(|(d, _)| d.trim().to_string()))
            .filter(|d| !d.contains('|'))
            .collect()
    };
    let o = p.run_rm(NONE, &["cat", "/proc/net/dev"]);
    assert_eq!(devs(&o), vec!["lo"]);
    // The default bridge: podman's netns, joined by path, with its eth0.
    let o = p.run_rm(&[], &["cat", "/proc/net/dev"]);
    let d = devs(&o);
    assert!(
        d.contains(&"eth0".to_string()) && d.contains(&"lo".to_string()),
        "{d:?}"
    );
    let o = p.run_rm(&[], &["ip", "-4", "addr", "show", "eth0"]);
    assert!(ok(&o).contains("inet 10.88."), "{}", stdout(&o));
    // exec joins that netns too (as root, before the container's user namespace).
    ok(&p.run(&["run", "-d", "--name", "b1", IMAGE, "sleep", "1000"]));
    let o = p.run(&["exec", "b1", "cat", "/proc/net/dev"]);
    assert!(devs(&o).contains(&"eth0".to_string()), "{}", stdout(&o));
    ok(&p.run(&["rm", "--force", "--time", "0", "b1"]));
}

#[test]
fn podman_sandbox_policy_from_an_annotation() {
    let s = Scratch::new("podman-policy", root_user());
    let p = Podman::new(&s);
    let script = "touch /etc/x && echo wrote";
    let o = p.run_rm(NONE, &["sh", "-c", script]);
    assert_eq!(ok(&o), "wrote\n");
    let deny = [
        "--network",
        "none",
        "--annotation",
        "run.srt.filesystem.denyWrite=/etc",
    ];
    let o = p.run_rm(&deny, &["sh", "-c", script]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("wrote"));
    // A typo in an srt-runc annotation is refused, not ignored.
    let typo = [
        "--network",
        "none",
        "--annotation",
        "run.srt.filesystem.denyWrit=/data",
    ];
    let o = p.run_rm(&typo, &["true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("unknown srt-runc annotation"),
        "{}",
        stderr(&o)
    );
}
