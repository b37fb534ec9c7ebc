//! podman 4.3 (through conmon) with srt-runc as its OCI runtime: run, exit codes,
//! detached containers with exec/pause/stop/rm, a terminal through conmon's console
//! socket, the default bridge network (a netns joined by path) and `--network none`,
//! and a sandbox policy given as an annotation. Private storage per test; as root, and
//! rootless podman as the unprivileged test user (run, exit codes, exec, stop, rm).
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

/// `podman run -d --name NAME --network none bb sleep 1000`, checked `Up`; its id.
fn run_detached(p: &Podman, name: &str) -> String {
    let id = ok(&p.run(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]))
    .trim()
    .to_string();
    let ps = ok(&p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains(&format!("{name} Up")), "{ps}");
    id
}

#[test]
fn podman_detached_exec_pause_stop_rm() {
    let s = Scratch::new("podman-detached", root_user());
    let p = Podman::new(&s);
    let id = run_detached(&p, "d1");
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

/// Processes of `user` (or its subordinate ids) that belong to the podman under `dir`:
/// their command line names the directory or a container id (conmon, podman's
/// cleanup), their root is in the storage there (container processes), or they are in
/// podman's user namespace `userns` (its pause process, conmon).
fn user_processes_of(user: User, dir: &Path, ids: &[&str], userns: &Path) -> Vec<String> {
    let (sub_start, sub_count) = subuid_range(user);
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        // The real uid in the host's namespace; container processes run as the user's
        // subordinate ids too.
        let uid: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok())
            .unwrap_or(0);
        if uid != user.uid && !(sub_start..sub_start + sub_count).contains(&uid) {
            continue;
        }
        let cmd =
            String::from_utf8_lossy(&std::fs::read(e.path().join("cmdline")).unwrap_or_default())
                .replace('\0', " ");
        let root = std::fs::read_link(e.path().join("root")).unwrap_or_default();
        let ns = std::fs::read_link(e.path().join("ns/user")).unwrap_or_default();
        if cmd.contains(dir.to_str().unwrap())
            || ids.iter().any(|id| cmd.contains(id))
            || root.starts_with(dir)
            || ns == userns
        {
            found.push(format!("{pid} (uid {uid}): {cmd}"));
        }
    }
    found
}

/// The first subordinate uid range (start, count) of `user` in /etc/subuid, by name or
/// uid. Read rather than assumed: `make deps` picks the first free range on the machine,
/// and an entry that already existed is kept as it is.
fn subuid_range(user: User) -> (u32, u32) {
    let text = std::fs::read_to_string("/etc/subuid").expect("read /etc/subuid");
    let uid = user.uid.to_string();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let (who, start, count) = (f.next()?, f.next()?, f.next()?);
            (who == TEST_USER || who == uid)
                .then(|| Some((start.parse().ok()?, count.parse().ok()?)))?
        })
        .next()
        .unwrap_or_else(|| panic!("{TEST_USER} has no /etc/subuid entry: run `make deps` as root"))
}

#[test]
fn rootless_podman_run_exec_stop_rm() {
    let user = unprivileged();
    assert!(
        !user.is_root(),
        "run as root: this test runs podman as {TEST_USER}"
    );
    let s = Scratch::new("podman-rootless", user);
    let p = Podman::rootless(&s, user);
    // srt-runc runs as uid 0 of podman's user namespace: the container's own user
    // namespace maps exactly the ids podman's has (the user's own and its /etc/subuid range).
    let o = p.run_rm(NONE, &["echo", "hi"]);
    assert_eq!(ok(&o), "hi\n", "{}", stderr(&o));
    let o = p.run_rm(NONE, &["cat", "/proc/self/uid_map"]);
    let map: Vec<Vec<String>> = ok(&o)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    let count = subuid_range(user).1.to_string();
    assert_eq!(
        map,
        [["0", "0", "1"], ["1", "1", count.as_str()]],
        "{}",
        stdout(&o)
    );
    let o = p.run_rm(NONE, &["sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let o = p.run_rm(NONE, &["/no/such/bin"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    // A file written in the container belongs to the user on the host.
    let o = p.run_rm(
        &[
            "--network",
            "none",
            "-v",
            &format!("{}:/data", s.path.display()),
        ],
        &["sh", "-c", "echo x > /data/out && stat -c %u /data/out"],
    );
    assert_eq!(ok(&o), "0\n", "{}", stderr(&o));
    let meta = std::fs::metadata(s.join("out")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), user.uid);
    // The container's own network namespace: loopback only.
    let o = p.run_rm(NONE, &["cat", "/proc/net/dev"]);
    let out = stdout(&o);
    let devs: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(':').map(|(d, _)| d.trim()))
        .filter(|d| !d.contains('|'))
        .collect();
    assert_eq!(devs, ["lo"], "{}", stderr(&o));

    let id = run_detached(&p, "r1");
    assert!(p.state.join(&id).join("state.json").is_file());
    let o = p.run(&["exec", "r1", "sh", "-c", "echo in-exec; exit 4"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(stdout(&o), "in-exec\n");
    // The container's processes run as the user on the host.
    let o = p.run(&["exec", "r1", "cat", "/proc/1/status"]);
    assert!(ok(&o).contains("Uid:\t0\t0\t0\t0"), "{}", stdout(&o));
    let init = ok(&p.run(&["inspect", "--format", "{{.State.Pid}}", "r1"]));
    let status = std::fs::read_to_string(format!("/proc/{}/status", init.trim())).unwrap();
    let host_uid = format!("Uid:\t{0}\t{0}\t{0}\t{0}", user.uid);
    assert!(status.contains(&host_uid), "{status}");
    let top = ok(&p.run(&["top", "r1"]));
    assert!(top.contains("sleep 1000"), "{top}");
    // sleep as PID 1 ignores SIGTERM: podman escalates to SIGKILL after the timeout.
    ok(&p.run(&["stop", "-t", "1", "r1"]));
    let ps = ok(&p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains("r1 Exited (137)"), "{ps}");
    ok(&p.run(&["rm", "r1"]));
    assert!(!p.state.join(&id).exists(), "state left behind");
    let left: Vec<_> = std::fs::read_dir(&p.state)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", p.state.display());
    // podman's pause process is podman's own (it outlives every command by design):
    // stopped here, after which nothing may be left in podman's user namespace.
    let pause = std::fs::read_to_string(p.dir.join("tmp/pause.pid")).unwrap();
    let userns = std::fs::read_link(format!("/proc/{}/ns/user", pause.trim())).unwrap();
    assert_ne!(
        userns,
        std::fs::read_link("/proc/self/ns/user").unwrap(),
        "rootless podman runs in a user namespace of its own"
    );
    p.stop_pause_process();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut procs = user_processes_of(user, &s.path, &[&id], &userns);
    while !procs.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        procs = user_processes_of(user, &s.path, &[&id], &userns);
    }
    assert!(procs.is_empty(), "left running: {procs:?}");
}
