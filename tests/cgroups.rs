//! Container cgroups through cgroupfs: resources written and enforced, the freezer
//! (`pause`/`resume`, status `paused`), `ps`, `update`, `kill --all`, and nothing left
//! behind after `delete` or a failed `create`. v1 is exercised through the lifecycle
//! commands on this host's v1 hierarchies; v2 through the library on the host's cgroup2
//! mount (which carries the freezer and hugetlb here), and its device rules (an eBPF
//! program) also through the lifecycle commands run where that mount is the only one.
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::json;
use srt_runc::linux::cgroup::{self, Version};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const V1: &str = "/sys/fs/cgroup";

/// A cgroup parent unique to this test run, e.g. `/srt-runc-test-123-res`.
fn parent(tag: &str) -> String {
    format!("/srt-runc-test-{}-{tag}", std::process::id())
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
        .trim()
        .to_string()
}

/// Every place a cgroup named `rel` could exist on this host.
fn all_hierarchies(rel: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd",
        "unified",
    ]
    .iter()
    .map(|h| Path::new(V1).join(h).join(rel.trim_start_matches('/')))
    .collect();
    v.sort();
    v
}

/// Removes, even when a test failed half-way, what it may have left: its containers
/// (`delete --force`) and then its cgroup parent in every hierarchy.
struct Cleanup<'a> {
    rt: &'a Rt,
    ids: &'a [&'a str],
    top: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in self.ids {
            let _ = self.rt.run(&["delete", "--force", id]);
        }
        for d in all_hierarchies(&self.top) {
            if let Ok(entries) = std::fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.path().is_dir() {
                        let _ = std::fs::remove_dir(e.path());
                    }
                }
            }
            let _ = std::fs::remove_dir(&d);
        }
    }
}

fn nothing_left(rel: &str) {
    for d in all_hierarchies(rel) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn resources_freezer_ps_update_and_cleanup() {
    let user = root_user();
    let s = Scratch::new("cg-res", user);
    let top = parent("res");
    let path = format!("{top}/c1");
    let b = busybox_bundle_with(
        &s,
        user,
        &["sh", "-c", "sleep 1000 & echo started; exec sleep 1000"],
        false,
        |c| {
            c["linux"]["cgroupsPath"] = json!(path);
            c["linux"]["resources"] = json!({
                "memory": {"limit": 67108864},
                "pids": {"limit": 50},
                "cpu": {"shares": 512, "quota": 20000, "period": 100000},
                "devices": [{"allow": false, "access": "rwm"}]
            });
        },
    );
    let rt = Rt::new(&s, user);
    let _cleanup = Cleanup {
        rt: &rt,
        ids: &["c1"],
        top: top.clone(),
    };
    let out = s.join("out");
    let (code, err) = rt.create(&b, "c1", &[], &out);
    assert_eq!(code, 0, "create: {err}");
    let pid = rt.state("c1")["pid"].as_i64().unwrap();
    let dir = |h: &str| Path::new(V1).join(h).join(path.trim_start_matches('/'));

    // The resources are in the files, and the init is in every hierarchy (incl. the
    // unified mirror) before it runs.
    assert_eq!(read(dir("pids").join("pids.max")), "50");
    assert_eq!(
        read(dir("memory").join("memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(dir("cpu").join("cpu.shares")), "512");
    assert_eq!(read(dir("cpu").join("cpu.cfs_quota_us")), "20000");
    let devices = read(dir("devices").join("devices.list"));
    assert!(devices.contains("c 1:3 rwm"), "{devices}");
    assert!(
        !devices.contains("a *:* rwm"),
        "deny-all applied: {devices}"
    );
    for h in ["pids", "memory", "freezer", "cpuset", "unified"] {
        let procs = read(dir(h).join("cgroup.procs"));
        assert!(procs.lines().any(|l| l == pid.to_string()), "{h}: {procs}");
    }

    ok(&rt.run(&["start", "c1"]));
    wait_for_text(&out, "started");
    // Inside, the cgroup namespace is rooted at the container's cgroup.
    let inside = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(inside.contains(&format!(":pids:{path}")), "{inside}");

    // ps: both sleeps, by host pid.
    let pids: Vec<i64> =
        serde_json::from_str(&ok(&rt.run(&["ps", "--format", "json", "c1"]))).unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid));
    let table = ok(&rt.run(&["ps", "c1"]));
    assert!(table.starts_with("UID"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.contains("sleep 1000")).count(),
        2,
        "{table}"
    );

    // pause/resume through the v1 freezer.
    ok(&rt.run(&["pause", "c1"]));
    assert_eq!(rt.state("c1")["status"], "paused");
    assert_eq!(read(dir("freezer").join("freezer.state")), "FROZEN");
    fails_with(&rt.run(&["delete", "c1"]), "that is not stopped: paused");
    ok(&rt.run(&["resume", "c1"]));
    assert_eq!(rt.state("c1")["status"], "running");
    assert_eq!(read(dir("freezer").join("freezer.state")), "THAWED");
    fails_with(&rt.run(&["resume", "c1"]), "container not paused");

    // update: from a file, from stdin, and by flag.
    let res = s.join("res.json");
    std::fs::write(&res, r#"{"pids": {"limit": 20}}"#).unwrap();
    ok(&rt.run(&["update", "--resources", res.to_str().unwrap(), "c1"]));
    assert_eq!(read(dir("pids").join("pids.max")), "20");
    let mut child = rt
        .cmd(&["update", "--resources", "-", "c1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory": {"limit": 33554432}}"#)
        .unwrap();
    ok(&child.wait_with_output().unwrap());
    assert_eq!(
        read(dir("memory").join("memory.limit_in_bytes")),
        "33554432"
    );
    ok(&rt.run(&["update", "--pids-limit", "30", "--cpu-shares", "256", "c1"]));
    assert_eq!(read(dir("pids").join("pids.max")), "30");
    assert_eq!(read(dir("cpu").join("cpu.shares")), "256");
    fails_with(
        &rt.run(&["update", "--resources", "/nonexistent.json", "c1"]),
        "no such file or directory",
    );

    // Paused containers are deleted with --force too; everything goes, also the
    // parent level this container created.
    ok(&rt.run(&["pause", "c1"]));
    ok(&rt.run(&["delete", "--force", "c1"]));
    for p in pids {
        wait_gone(p);
    }
    nothing_left(&top);
    fails_with(&rt.run(&["pause", "c1"]), "container does not exist");
}

#[test]
fn pids_limit_is_enforced_and_kill_all_uses_the_cgroup() {
    let user = root_user();
    let s = Scratch::new("cg-pids", user);
    let top = parent("pids");
    // The inner shell forks until the limit refuses (it then fails with "can't fork");
    // the outer one goes on.
    let script = "sh -c 'i=0; while [ $i -lt 8 ]; do sleep 1000 & i=$((i+1)); done' 2>&1; \
                  echo forks-done; exec sleep 1000";
    let b = busybox_bundle_with(&s, user, &["sh", "-c", script], false, |c| {
        c["linux"]["cgroupsPath"] = json!(format!("{top}/c2"));
        c["linux"]["resources"] = json!({"pids": {"limit": 4}});
    });
    let rt = Rt::new(&s, user);
    let _cleanup = Cleanup {
        rt: &rt,
        ids: &["c2"],
        top: top.clone(),
    };
    let out = s.join("out");
    let (code, err) = rt.create(&b, "c2", &[], &out);
    assert_eq!(code, 0, "create: {err}");
    ok(&rt.run(&["start", "c2"]));
    let text = wait_for_text(&out, "forks-done");
    assert!(
        text.contains("can't fork"),
        "the shell must hit the pids limit: {text}"
    );
    let pids: Vec<i64> = serde_json::from_str(&ok(&rt.run(&["ps", "-f", "json", "c2"]))).unwrap();
    // The init and the two sleeps that fit beside the inner shell.
    assert_eq!(pids.len(), 3, "{pids:?}");
    let events = read(
        Path::new(V1)
            .join("pids")
            .join(top.trim_start_matches('/'))
            .join("c2/pids.events"),
    );
    assert!(
        events.starts_with("max ") && !events.ends_with(" 0"),
        "pids.events counts refused forks: {events}"
    );

    ok(&rt.run(&["kill", "--all", "c2", "KILL"]));
    for p in &pids {
        wait_gone(*p);
    }
    rt.wait_status("c2", "stopped");
    fails_with(&rt.run(&["pause", "c2"]), "container not running");
    ok(&rt.run(&["delete", "c2"]));
    nothing_left(&top);
}

/// Without `cgroupsPath` the cgroup is the id under the caller's own cgroup in each
/// hierarchy (this host puts the test's memory cgroup below `/process_api/…`).
#[test]
fn default_path_is_relative_to_the_callers_cgroup() {
    let user = root_user();
    let s = Scratch::new("cg-rel", user);
    let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
    let rt = Rt::new(&s, user);
    let id = format!("srt-runc-rel-{}", std::process::id());
    let (code, err) = rt.create(&b, &id, &[], &s.join("out"));
    assert_eq!(code, 0, "create: {err}");
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mut checked = 0;
    for line in own.lines() {
        let parts: Vec<&str> = line.splitn(3, ':').collect();
        if parts[1] != "memory" && parts[1] != "pids" {
            continue;
        }
        let d = Path::new(V1)
            .join(parts[1])
            .join(parts[2].trim_start_matches('/'))
            .join(&id);
        assert!(d.is_dir(), "{}", d.display());
        checked += 1;
    }
    assert_eq!(checked, 2);
    ok(&rt.run(&["delete", &id]));
    for line in own.lines() {
        let parts: Vec<&str> = line.splitn(3, ':').collect();
        if let Some(h) = ["memory", "pids", "freezer"]
            .iter()
            .find(|h| **h == parts[1])
        {
            let d = Path::new(V1)
                .join(h)
                .join(parts[2].trim_start_matches('/'))
                .join(&id);
            assert!(!d.exists(), "{} left behind", d.display());
        }
    }
}

#[test]
fn failed_create_removes_its_cgroups() {
    let user = root_user();
    let s = Scratch::new("cg-fail", user);
    let top = parent("fail");
    let rt = Rt::new(&s, user);
    let _cleanup = Cleanup {
        rt: &rt,
        ids: &["c3", "c4", "c5"],
        top: top.clone(),
    };
    // hugetlb has no v1 hierarchy on this host: asking for it is an error that names
    // the field; a controller that is absent but not asked for is fine (above).
    let b = busybox_bundle_with(&s, user, &["true"], false, |c| {
        c["linux"]["cgroupsPath"] = json!(format!("{top}/c3"));
        c["linux"]["resources"] = json!({
            "pids": {"limit": 10},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]
        });
    });
    let (code, err) = rt.create(&b, "c3", &[], &s.join("out"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("linux.resources.hugepageLimits[0]"), "{err}");
    nothing_left(&top);
    assert!(!rt.root.join("c3").exists());

    // A setup failure after the init was moved into its cgroup: same.
    rewrite(&b, |c| {
        c["process"]["args"] = json!(["/no/such/program"]);
        c["linux"]["cgroupsPath"] = json!(format!("{top}/c4"));
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
    });
    let (code, err) = rt.create(&b, "c4", &[], &s.join("out"));
    assert_eq!(code, 1, "{err}");
    nothing_left(&top);

    // A systemd slice path is refused with what to use instead.
    rewrite(&b, |c| {
        c["process"]["args"] = json!(["true"]);
        c["linux"]["cgroupsPath"] = json!("system.slice:srt:c5");
    });
    let (code, err) = rt.create(&b, "c5", &[], &s.join("out"));
    assert_eq!(code, 1);
    assert!(err.contains("cgroupfs"), "{err}");
}

/// A rootless container has no cgroup (it may not create one here): it still runs,
/// and the cgroup commands say why they cannot act.
#[test]
fn rootless_runs_without_a_cgroup() {
    let user = unprivileged();
    let s = Scratch::new("cg-rootless", user);
    let b = busybox_bundle(&s, user, &["sleep", "1000"], false);
    let rt = Rt::new(&s, user);
    let (code, err) = rt.create(&b, "r1", &[], &s.join("out"));
    assert_eq!(code, 0, "create: {err}");
    fails_with(&rt.run(&["pause", "r1"]), "has no cgroup");
    let pids: Vec<i64> = serde_json::from_str(&ok(&rt.run(&["ps", "-f", "json", "r1"]))).unwrap();
    assert_eq!(pids, vec![rt.state("r1")["pid"].as_i64().unwrap()]);
    ok(&rt.run(&["delete", "r1"]));

    rewrite(&b, |c| {
        c["linux"]["resources"] = json!({"pids": {"limit": 10}});
    });
    let (code, err) = rt.create(&b, "r2", &[], &s.join("out"));
    assert_eq!(code, 1);
    assert!(err.contains("remove linux.resources"), "{err}");
}

/// `srt-runc run` (strong and weaker mode) honours `linux.cgroupsPath` and
/// `linux.resources` like `create`: the sandbox's processes sit in that cgroup, a pids
/// limit stops forks (a root-run sandbox's uid 0 is host uid 0, which RLIMIT_NPROC never
/// binds), and the cgroup is gone afterwards. An unprivileged caller asking for
/// resources it cannot have is refused before anything runs.
#[test]
fn foreground_run_gets_its_own_cgroup_with_limits() {
    let s = Scratch::new("cg-run", root_user());
    for weaker in [false, true] {
        let top = parent(if weaker { "run-weaker" } else { "run" });
        let rel = format!("{top}/sb");
        let _cleanup = Cleanup {
            rt: &Rt::new(&s, root_user()),
            ids: &[],
            top: top.clone(),
        };
        // Forks until refused (a shell would abort at the first refused fork).
        let script = "import os, time\n\
                      print(open('/proc/self/cgroup').read().strip().replace(chr(10), ' '))\n\
                      n = 0\n\
                      for i in range(20):\n\
                      \x20   try:\n\
                      \x20       pid = os.fork()\n\
                      \x20   except OSError as e:\n\
                      \x20       print('refused errno', e.errno)\n\
                      \x20       break\n\
                      \x20   if pid == 0:\n\
                      \x20       time.sleep(5)\n\
                      \x20       os._exit(0)\n\
                      \x20   n += 1\n\
                      print('started', n, flush=True)\n";
        let mut cfg = config(&["python3", "-c", script]);
        cfg["linux"] = json!({"cgroupsPath": rel, "resources": {"pids": {"limit": 6}}});
        if weaker {
            cfg["sandbox"] = json!({"mode": "weaker"});
        }
        write_bundle(&s.path, &cfg);
        let out = run_bundle(root_user(), &s.path);
        let text = ok(&out);
        assert!(
            text.contains(&format!("pids:{rel}")),
            "weaker={weaker}: {text}"
        );
        let started: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("started "))
            .unwrap_or_else(|| panic!("weaker={weaker}: {text}"))
            .trim()
            .parse()
            .unwrap();
        assert!(
            started < 6 && text.contains("refused errno 11"),
            "weaker={weaker}: the pids limit let {started} children start: {text}"
        );
        nothing_left(&rel);
    }

    let user = unprivileged();
    let s = Scratch::new("cg-run-rootless", user);
    let mut cfg = config(&["sh", "-c", "echo ran > ran.txt"]);
    cfg["process"]["cwd"] = json!(s.path);
    cfg["process"]["user"] = json!({"uid": 0, "gid": 0});
    cfg["linux"] = json!({"resources": {"pids": {"limit": 6}}});
    write_bundle(&s.path, &cfg);
    let out = run_bundle(user, &s.path);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("remove linux.resources"),
        "{}",
        stderr(&out)
    );
    assert!(!s.join("ran.txt").exists(), "nothing may run");
}

/// cgroup v2 through the library on the host's cgroup2 mount: directory creation with
/// controller delegation, a resource write (hugetlb is the controller v2 holds here),
/// the v2 freezer, and removal.
#[test]
fn cgroup_v2_freezer_and_resources() {
    root_user();
    let hs: Vec<_> = cgroup::hierarchies().into_iter().filter(|h| h.v2).collect();
    assert_eq!(hs.len(), 1, "one cgroup2 mount: {hs:?}");
    let top = parent("v2");
    let mut cg = cgroup::resolve(&hs, Some(Path::new(&format!("{top}/c6"))), "c6").unwrap();
    assert_eq!(cg.version, Version::V2);
    cg.create().unwrap();
    let dir = cg.dirs[""].clone();
    assert!(dir.is_dir());
    let res: oci_spec::runtime::LinuxResources =
        serde_json::from_value(json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}))
            .unwrap();
    cg.apply(&res).unwrap();
    assert_eq!(read(dir.join("hugetlb.2MB.max")), "4194304");

    let mut child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    cg.join(pid).unwrap();
    assert_eq!(cg.pids(), vec![pid]);
    cg.freeze(true).unwrap();
    assert!(cg.is_frozen());
    assert!(read(dir.join("cgroup.events")).contains("frozen 1"));
    cg.freeze(false).unwrap();
    assert!(!cg.is_frozen());
    assert!(read(dir.join("cgroup.events")).contains("frozen 0"));
    cg.freeze(true).unwrap();
    // destroy kills a frozen cgroup's processes, then removes what it created.
    cg.destroy().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(!Path::new("/sys/fs/cgroup/unified")
        .join(top.trim_start_matches('/'))
        .exists());
}

/// EPERM, as the kernel answers an open or mknod a device program refuses.
const EPERM: &str = "1";

/// A child process killed and reaped on drop (so that a failed test's cgroup can go).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host process that, for every line it reads, tries each device access and prints
/// one line `PATH:MODE=RESULT ...` (RESULT: `ok` or the errno). `mknod` makes a node
/// with those numbers in `scratch`.
fn device_prober(scratch: &Path) -> Reaped {
    let script = r#"
import os, stat, sys
tries = [("/dev/null", "rw"), ("/dev/fuse", "r"), ("/dev/fuse", "rw"),
         ("/dev/loop-control", "r"), ("/dev/kmsg", "r"), ("mknod", "1:3"),
         ("mknod", "10:237")]
for n, _ in enumerate(sys.stdin):
    out = []
    for path, mode in tries:
        try:
            if path == "mknod":
                ma, mi = mode.split(":")
                node = os.path.join(sys.argv[1], "node%d-%s-%s" % (n, ma, mi))
                os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(int(ma), int(mi)))
            else:
                flags = os.O_RDWR if mode == "rw" else os.O_RDONLY
                os.close(os.open(path, flags | os.O_NONBLOCK))
            out.append("%s:%s=ok" % (path, mode))
        except OSError as e:
            out.append("%s:%s=%d" % (path, mode, e.errno))
    print(" ".join(out), flush=True)
"#;
    Reaped(
        std::process::Command::new("/usr/bin/python3")
            .args(["-c", script, scratch.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// One round of [`device_prober`]: access → result.
fn probe_devices(
    child: &mut Reaped,
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> std::collections::BTreeMap<String, String> {
    let stdin = child.0.stdin.as_mut().unwrap();
    stdin.write_all(b"go\n").unwrap();
    stdin.flush().unwrap();
    let line = lines.next().expect("the prober answers").unwrap();
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.rsplit_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn wait_program_freed(id: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while srt_runc::linux::bpf::program_exists(id) {
        assert!(
            std::time::Instant::now() < deadline,
            "device program {id} is still loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// cgroup v2 device rules through the library on the host's cgroup2 mount: the kernel
/// refuses what the rules do not allow (open per access mode, and mknod) for a real
/// process in the cgroup; an update replaces the program instead of stacking a second
/// one; an update without device rules leaves it; removal frees it.
#[test]
fn cgroup_v2_device_rules_are_enforced() {
    let user = root_user();
    let s = Scratch::new("cg-v2dev", user);
    let hs: Vec<_> = cgroup::hierarchies().into_iter().filter(|h| h.v2).collect();
    let top = parent("v2dev");
    let _cleanup = Cleanup {
        rt: &Rt::new(&s, user),
        ids: &[],
        top: top.clone(),
    };
    let mut cg = cgroup::resolve(&hs, Some(Path::new(&format!("{top}/c7"))), "c7").unwrap();
    assert_eq!(cg.version, Version::V2);
    cg.create().unwrap();
    let dir = cg.dirs[""].clone();

    let mut child = device_prober(&s.path);
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(child.0.stdout.take().unwrap()));
    cg.join(child.0.id() as i32).unwrap();
    // Without rules everything opens: the refusals below come from the program.
    let before = probe_devices(&mut child, &mut lines);
    assert!(before.values().all(|v| v == "ok"), "{before:?}");
    assert_eq!(
        srt_runc::linux::bpf::device_programs(&dir).unwrap(),
        Vec::<u32>::new()
    );

    let apply = |devices: serde_json::Value| {
        let res: oci_spec::runtime::LinuxResources =
            serde_json::from_value(json!({ "devices": devices })).unwrap();
        cg.apply(&res).unwrap();
    };
    apply(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"}
    ]));
    let ids = srt_runc::linux::bpf::device_programs(&dir).unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let got = probe_devices(&mut child, &mut lines);
    let want = [
        ("/dev/null:rw", "ok"), // a default
        ("/dev/fuse:r", "ok"),
        ("/dev/fuse:rw", EPERM),
        ("/dev/loop-control:r", EPERM),
        ("/dev/kmsg:r", EPERM),
        ("mknod:1:3", "ok"), // a default, rwm
        ("mknod:10:237", EPERM),
    ];
    for (k, v) in want {
        assert_eq!(got[k], v, "{k}: {got:?}");
    }

    // update: the new rules replace the old ones (one program, a new one).
    apply(json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
        {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}
    ]));
    let after = srt_runc::linux::bpf::device_programs(&dir).unwrap();
    assert_eq!(after.len(), 1, "programs stacked: {after:?}");
    assert_ne!(after, ids);
    wait_program_freed(ids[0]);
    let got = probe_devices(&mut child, &mut lines);
    for (k, v) in [
        ("/dev/fuse:rw", "ok"),
        ("/dev/kmsg:r", "ok"),
        ("/dev/loop-control:r", EPERM),
        ("mknod:10:237", EPERM),
    ] {
        assert_eq!(got[k], v, "{k}: {got:?}");
    }
    // An update without device rules keeps the program.
    let res: oci_spec::runtime::LinuxResources =
        serde_json::from_value(json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}))
            .unwrap();
    cg.apply(&res).unwrap();
    assert_eq!(srt_runc::linux::bpf::device_programs(&dir).unwrap(), after);

    // A program the verifier refuses (exit without setting r0) says why in one line.
    let exit = srt_runc::linux::devfilter::Insn {
        code: srt_runc::linux::devfilter::op::EXIT,
        regs: 0,
        off: 0,
        imm: 0,
    };
    let e = srt_runc::linux::bpf::load_device_program(&[exit])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("the kernel refused the device program")
            && e.contains("R0")
            && !e.contains('\n'),
        "{e}"
    );

    cg.destroy().unwrap();
    child.0.wait().unwrap();
    assert!(!dir.exists());
    nothing_left(&top);
    wait_program_freed(after[0]);
}

/// `srt-runc --root ROOT ARGS` in a private mount namespace whose `/sys/fs/cgroup` is
/// the host's cgroup2 hierarchy alone: the runtime sees a pure cgroup v2 host (as it
/// would on one), while its cgroups are the host's real v2 directories.
fn on_v2(rt: &Rt, args: &[&str]) -> std::process::Command {
    on_v2_then(rt, "exec", args)
}

/// [`on_v2`] with the runtime started by `launch` (a shell prefix ending in `exec …`).
fn on_v2_then(rt: &Rt, launch: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new("unshare");
    c.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &format!(
            "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && {launch} \"$@\""
        ),
        "sh",
    ])
    .arg(srt_runc())
    .arg("--root")
    .arg(&rt.root)
    .args(args)
    .stdin(Stdio::null());
    c
}

/// Deletes the container through the v2 view (its state names v2 paths) before the
/// [`Cleanup`] of its parent.
struct V2Container<'a>(&'a Rt, &'a str);

impl Drop for V2Container<'_> {
    fn drop(&mut self) {
        let _ = on_v2(self.0, &["delete", "--force", self.1]).output();
    }
}

/// Device rules end to end on (a view of) a pure cgroup v2 host: `create` attaches the
/// program before the container runs, processes `exec`'d into it are refused what the
/// rules do not allow (nodes bound in by `linux.devices`, so they exist), `update`
/// replaces the program, and `delete` leaves neither the cgroup nor the program.
#[test]
fn v2_device_rules_through_create_update_and_delete() {
    let user = root_user();
    let s = Scratch::new("cg-v2dev-oci", user);
    let top = parent("v2dev-oci");
    let path = format!("{top}/c8");
    let b = busybox_bundle_with(&s, user, &["sleep", "1000"], false, |c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
            {"path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237}
        ]);
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"}
        ]});
    });
    let rt = Rt::new(&s, user);
    let _cleanup = Cleanup {
        rt: &rt,
        ids: &[],
        top: top.clone(),
    };
    let _container = V2Container(&rt, "c8");
    let out = std::fs::File::create(s.join("out")).unwrap();
    let created = on_v2(&rt, &["create", "--bundle", b.to_str().unwrap(), "c8"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    assert!(
        created.success(),
        "create: {}",
        std::fs::read_to_string(s.join("out")).unwrap()
    );
    let host_dir = Path::new(V1)
        .join("unified")
        .join(path.trim_start_matches('/'));
    let pid = rt.state("c8")["pid"].as_i64().unwrap();
    let procs = read(host_dir.join("cgroup.procs"));
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "the init is in the v2 cgroup: {procs}"
    );
    let first = srt_runc::linux::bpf::device_programs(&host_dir).unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    ok(&on_v2(&rt, &["start", "c8"]).output().unwrap());

    // Each access in a subshell: `ok`, or the shell's message with the errno text.
    let script = "for spec in '</dev/fuse' '<>/dev/fuse' '</dev/loop-control' '<>/dev/null'; do \
                  if err=$(eval \": $spec\" 2>&1); then echo \"$spec ok\"; \
                  else echo \"$spec $err\"; fi; done";
    let probe = || {
        let text = ok(&on_v2(&rt, &["exec", "c8", "sh", "-c", script])
            .output()
            .unwrap());
        text.lines()
            .map(|l| {
                let (k, v) = l.split_once(' ').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let refused = "Operation not permitted";
    let got = probe();
    assert_eq!(got["</dev/fuse"], "ok", "{got:?}");
    assert!(got["<>/dev/fuse"].contains(refused), "{got:?}");
    assert!(got["</dev/loop-control"].contains(refused), "{got:?}");
    assert_eq!(got["<>/dev/null"], "ok", "{got:?}");

    let res = s.join("res.json");
    std::fs::write(
        &res,
        json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "access": "rw"}
        ]})
        .to_string(),
    )
    .unwrap();
    ok(
        &on_v2(&rt, &["update", "--resources", res.to_str().unwrap(), "c8"])
            .output()
            .unwrap(),
    );
    let second = srt_runc::linux::bpf::device_programs(&host_dir).unwrap();
    assert_eq!(second.len(), 1, "programs stacked: {second:?}");
    assert_ne!(second, first);
    let got = probe();
    for k in [
        "</dev/fuse",
        "<>/dev/fuse",
        "</dev/loop-control",
        "<>/dev/null",
    ] {
        assert_eq!(got[k], "ok", "{k}: {got:?}");
    }

    ok(&on_v2(&rt, &["delete", "--force", "c8"]).output().unwrap());
    wait_gone(pid);
    assert!(!host_dir.exists());
    nothing_left(&top);
    wait_program_freed(second[0]);
    wait_program_freed(first[0]);
}

/// A rootless container on a delegated v2 subtree (owned by the unprivileged user, the
/// caller's own process moved into it, as a systemd user session delegates) with device
/// rules: loading the program is refused to it, so the rules are skipped with a warning
/// on stderr instead of failing the container, which runs in its own v2 cgroup.
#[test]
fn v2_device_rules_skipped_with_a_warning_when_rootless() {
    root_user();
    let user = unprivileged();
    let s = Scratch::new("cg-v2dev-rootless", user);
    let top = parent("v2dev-rootless");
    let host_top = Path::new(V1)
        .join("unified")
        .join(top.trim_start_matches('/'));
    let deleg = host_top.join("deleg");
    std::fs::create_dir_all(&deleg).unwrap();
    for f in [
        "",
        "cgroup.procs",
        "cgroup.subtree_control",
        "cgroup.threads",
    ] {
        chown(&deleg.join(f), user);
    }
    struct RemoveTree(PathBuf);
    impl Drop for RemoveTree {
        fn drop(&mut self) {
            for d in ["deleg/c9", "deleg", ""] {
                let _ = std::fs::remove_dir(self.0.join(d));
            }
        }
    }
    let _remove = RemoveTree(host_top.clone());
    let path = format!("{top}/deleg/c9");
    let b = busybox_bundle_with(&s, user, &["sleep", "1000"], false, |c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["resources"] = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]});
    });
    let rt = Rt::new(&s, user);
    // The pure v2 view, the caller moved into its delegated cgroup, then privileges
    // dropped to the unprivileged user for the runtime itself.
    let as_user = |args: &[&str]| {
        let mut c = on_v2_then(
            &rt,
            "echo $$ > \"$DELEG/cgroup.procs\" && exec setpriv --reuid=\"$U\" --regid=\"$G\" --clear-groups",
            args,
        );
        c.env(
            "DELEG",
            Path::new("/sys/fs/cgroup")
                .join(top.trim_start_matches('/'))
                .join("deleg"),
        )
        .env("U", user.uid.to_string())
        .env("G", user.gid.to_string())
        .env("XDG_RUNTIME_DIR", "");
        c
    };
    // The container keeps create's stdout and stderr: files, not pipes to wait on.
    let out = std::fs::File::create(s.join("out")).unwrap();
    let status = as_user(&["create", "--bundle", b.to_str().unwrap(), "c9"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap();
    let err = std::fs::read_to_string(s.join("out")).unwrap();
    assert!(status.success(), "create: {err}");
    assert!(
        err.contains("linux.resources.devices not applied: an unprivileged caller"),
        "{err}"
    );
    let dir = deleg.join("c9");
    let pid = rt.state("c9")["pid"].as_i64().unwrap();
    assert!(
        read(dir.join("cgroup.procs"))
            .lines()
            .any(|l| l == pid.to_string()),
        "the init is in its delegated v2 cgroup"
    );
    assert!(srt_runc::linux::bpf::device_programs(&dir)
        .unwrap()
        .is_empty());
    ok(&as_user(&["start", "c9"]).output().unwrap());
    assert_eq!(rt.state("c9")["status"], "running");
    ok(&as_user(&["delete", "--force", "c9"]).output().unwrap());
    assert!(!dir.exists(), "delete removes the cgroup");
}
