//! config.json fields through the lifecycle: uid/gid mappings and sysctls.
#![cfg(target_os = "linux")]

mod common;
use common::oci::*;
use common::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;

fn run_to_end(rt: &Rt, b: &std::path::Path, id: &str, s: &Scratch) -> String {
    let out = s.join(&format!("{id}.out"));
    let (code, err) = rt.create(b, id, &[], &out);
    assert_eq!(code, 0, "create: {err}");
    ok(&rt.run(&["start", id]));
    rt.wait_status(id, "stopped");
    ok(&rt.run(&["delete", id]));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn uid_and_gid_mappings_from_the_config() {
    for user in users() {
        let s = Scratch::new("oci-idmap", user);
        let shared = s.join("shared");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let (host_uid, host_gid, size) = if user.is_root() {
            (100000, 100000, 65536)
        } else {
            (user.uid, user.gid, 1)
        };
        let b = busybox_bundle_with(
            &s,
            user,
            &[
                "sh",
                "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/made",
            ],
            false,
            |c| {
                c["linux"]["uidMappings"] =
                    json!([{"containerID": 0, "hostID": host_uid, "size": size}]);
                c["linux"]["gidMappings"] =
                    json!([{"containerID": 0, "hostID": host_gid, "size": size}]);
                c["mounts"].as_array_mut().unwrap().push(json!({
                    "destination": "/tmp", "type": "bind", "source": shared, "options": ["rbind"]
                }));
            },
        );
        let rt = Rt::new(&s, user);
        let out = run_to_end(&rt, &b, "m1", &s);
        let lines: Vec<Vec<String>> = out
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect();
        assert_eq!(
            lines[0],
            ["0", &host_uid.to_string(), &size.to_string()],
            "{out}"
        );
        assert_eq!(
            lines[1],
            ["0", &host_gid.to_string(), &size.to_string()],
            "{out}"
        );
        assert_eq!(lines[2], ["0"]);
        let meta = std::fs::metadata(shared.join("made")).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (host_uid, host_gid),
            "{}",
            user.label()
        );

        // The process user must be mapped; an unprivileged caller maps only itself.
        rewrite(&b, |c| {
            c["process"]["user"] = json!({"uid": 70000, "gid": 0});
        });
        let (code, err) = rt.create(&b, "m2", &[], &s.join("o2"));
        assert_eq!(code, 1);
        assert!(err.contains("is not mapped by linux.uidMappings"), "{err}");
        if !user.is_root() {
            rewrite(&b, |c| {
                c["process"]["user"] = json!({"uid": 0, "gid": 0});
                c["linux"]["uidMappings"] =
                    json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            });
            let (code, err) = rt.create(&b, "m3", &[], &s.join("o3"));
            assert_eq!(code, 1);
            assert!(err.contains("can map only its own id"), "{err}");
        }
    }
}

#[test]
fn namespaced_sysctls_are_set_inside_only() {
    let host = |k: &str| std::fs::read_to_string(format!("/proc/sys/{k}")).unwrap();
    let (ping, shm) = (host("net/ipv4/ping_group_range"), host("kernel/shmmax"));
    for user in users() {
        let s = Scratch::new("oci-sysctl", user);
        let b = busybox_bundle_with(
            &s,
            user,
            &[
                "cat",
                "/proc/sys/net/ipv4/ping_group_range",
                "/proc/sys/kernel/shmmax",
            ],
            false,
            |c| {
                c["linux"]["sysctl"] = json!({
                    "net.ipv4.ping_group_range": "0 0",
                    "kernel.shmmax": "123456789"
                });
                // runc's default: /proc/sys is read-only in the container.
                c["linux"]["readonlyPaths"] = json!(["/proc/sys"]);
            },
        );
        let rt = Rt::new(&s, user);
        let out = run_to_end(&rt, &b, "s1", &s);
        assert_eq!(out, "0\t0\n123456789\n", "{}", user.label());
        assert_eq!(host("net/ipv4/ping_group_range"), ping, "host untouched");
        assert_eq!(host("kernel/shmmax"), shm, "host untouched");

        rewrite(&b, |c| {
            c["linux"]["sysctl"] = json!({"kernel.panic": "0"});
        });
        let (code, err) = rt.create(&b, "s2", &[], &s.join("o2"));
        assert_eq!(code, 1);
        assert!(
            err.contains("linux.sysctl.kernel.panic") && err.contains("not a namespaced sysctl"),
            "{err}"
        );
    }
}

#[test]
fn devices_are_bound_from_the_host() {
    for user in users() {
        let s = Scratch::new("oci-devices", user);
        let b = busybox_bundle_with(
            &s,
            user,
            &["ls", "-l", "/dev/fuse", "/dev/xfuse"],
            false,
            |c| {
                c["linux"]["devices"] = json!([
                    {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
                    // Another name for the same node: found under the host's /dev.
                    {"path": "/dev/xfuse", "type": "c", "major": 10, "minor": 229}
                ]);
            },
        );
        let rt = Rt::new(&s, user);
        let out = run_to_end(&rt, &b, "d1", &s);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        for l in lines {
            assert!(
                l.starts_with('c') && l.contains("10,") && l.contains("229"),
                "{l}"
            );
        }
        rewrite(&b, |c| {
            c["linux"]["devices"] =
                json!([{"path": "/dev/nothere", "type": "c", "major": 250, "minor": 250}]);
        });
        let (code, err) = rt.create(&b, "d2", &[], &s.join("o2"));
        assert_eq!(code, 1);
        assert!(
            err.contains("linux.devices[0]") && err.contains("has no node on the host"),
            "{err}"
        );
    }
}

/// `linux.namespaces[].path` for network, ipc, uts and cgroup: a second container joins
/// the first one's namespaces (as containers of a pod do) and sees the same ones, with
/// pid, mount and user namespaces of its own; asking to join a pid namespace is refused
/// with the field named.
#[test]
fn namespace_paths_are_joined() {
    let user = root_user();
    let s = Scratch::new("oci-nspath", user);
    let rt = Rt::new(&s, user);
    let sa = Scratch::new("oci-nspath-a", user);
    let ba = busybox_bundle_with(&sa, user, &["sleep", "60"], false, |_| {});
    // Removed (its process and cgroups) whatever the test's outcome.
    struct Delete<'a>(&'a Rt);
    impl Drop for Delete<'_> {
        fn drop(&mut self) {
            let _ = self.0.run(&["delete", "--force", "a"]);
        }
    }
    let _a = Delete(&rt);
    let (code, err) = rt.create(&ba, "a", &[], &s.join("a.out"));
    assert_eq!(code, 0, "create a: {err}");
    ok(&rt.run(&["start", "a"]));
    let pid = rt.state("a")["pid"].as_i64().unwrap();
    let ns = |p: i64, k: &str| std::fs::read_link(format!("/proc/{p}/ns/{k}")).unwrap();
    let kinds = ["net", "ipc", "uts", "cgroup", "pid", "mnt", "user"];
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let bb = busybox_bundle_with(&s, user, &["sh", "-c", &script], false, |c| {
        let joined = [
            ("network", "net"),
            ("ipc", "ipc"),
            ("uts", "uts"),
            ("cgroup", "cgroup"),
        ];
        let mut list: Vec<serde_json::Value> = joined
            .iter()
            .map(|(t, k)| json!({"type": t, "path": format!("/proc/{pid}/ns/{k}")}))
            .collect();
        list.extend([json!({"type": "pid"}), json!({"type": "mount"})]);
        c["linux"]["namespaces"] = json!(list);
    });
    let out = run_to_end(&rt, &bb, "b", &s);
    let seen: Vec<&str> = out.lines().collect();
    assert_eq!(seen.len(), kinds.len(), "{out}");
    for (k, line) in kinds.iter().zip(&seen) {
        let a_ns = ns(pid, k).display().to_string();
        if ["net", "ipc", "uts", "cgroup"].contains(k) {
            assert_eq!(*line, a_ns, "{k} namespace not joined");
        } else {
            assert_ne!(*line, a_ns, "{k} namespace shared");
        }
    }

    // The joined UTS namespace keeps its owner's name: another one is refused, clearly.
    rewrite(&bb, |c| c["hostname"] = json!("other"));
    let (code, err) = rt.create(&bb, "d", &[], &s.join("d.out"));
    assert_eq!(code, 1);
    assert!(err.contains("only its owner may change the name"), "{err}");
    assert!(!rt.root.join("d").exists());

    // A pid namespace by path: refused before anything runs, naming the field.
    rewrite(&bb, |c| {
        c["linux"]["namespaces"] =
            json!([{"type": "pid", "path": format!("/proc/{pid}/ns/pid")}, {"type": "mount"}]);
    });
    let (code, err) = rt.create(&bb, "c", &[], &s.join("c.out"));
    assert_eq!(code, 1);
    assert!(
        err.contains("linux.namespaces[0].path") && err.contains("pid"),
        "{err}"
    );
    assert!(!rt.root.join("c").exists());
}
