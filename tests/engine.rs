//! End-to-end tests of the strong-mode Linux engine: each test spawns real sandboxes,
//! as root and as the unprivileged test user, and asserts what the kernel did.
#![cfg(target_os = "linux")]

mod common;
use common::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into()]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn identity_namespaces_pids_hostname_caps_nnp_seccomp() {
    for user in users() {
        let s = Scratch::new("identity", user);
        let script = "id -u; hostname; for n in user mnt pid net ipc uts cgroup; do readlink /proc/self/ns/$n; done; \
                      ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status";
        let out = ok(&run_in(user, &s, &args(&sh(script)), |c| {
            c["process"]["user"]["uid"] = json!(0)
        }));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "0", "{}: uid inside", user.label());
        assert_eq!(lines[1], "srt-test");
        for (i, ns) in ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"]
            .iter()
            .enumerate()
        {
            let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
            assert_ne!(
                lines[2 + i],
                host.to_str().unwrap(),
                "{}: {ns} namespace must differ from the host's",
                user.label()
            );
        }
        // Only the sandbox's own processes: init (1), sh, ls, grep, tr — all small pids.
        let pids: Vec<u32> = lines[9]
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert!(
            pids.contains(&1) && pids.len() <= 6 && pids.iter().all(|p| *p < 50),
            "{}: pids {pids:?}",
            user.label()
        );
        assert!(!pids.contains(&std::process::id()) || std::process::id() < 50);
        for want in [
            "CapEff:\t0000000000000000",
            "CapPrm:\t0000000000000000",
            "CapBnd:\t0000000000000000",
            "CapAmb:\t0000000000000000",
            "NoNewPrivs:\t1",
            "Seccomp:\t2",
        ] {
            assert!(
                out.contains(want),
                "{}: missing {want:?} in\n{out}",
                user.label()
            );
        }
    }
}

#[test]
fn unprivileged_user_is_mapped_to_the_caller() {
    let user = unprivileged();
    let s = Scratch::new("mapping", user);
    let out = ok(&run_in(
        user,
        &s,
        &args(&sh(
            "cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups",
        )),
        |c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000}),
    ));
    assert!(
        !user.is_root(),
        "users() always includes an unprivileged user"
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&words[0..3], &["1000", &user.uid.to_string(), "1"]);
    assert_eq!(&words[3..6], &["1000", &user.gid.to_string(), "1"]);
    assert_eq!(words[6], "deny");
}

#[test]
fn writes_only_beneath_writable_paths() {
    for user in users() {
        let s = Scratch::new("writes", user);
        let proj = s.join("proj");
        let outside = s.join("outside");
        std::fs::create_dir_all(&proj).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("victim"), "original").unwrap();
        for p in [&proj, &outside, &outside.join("victim")] {
            chown(p, user);
        }
        // A symlink and a hard link inside the writable dir pointing outside it.
        std::os::unix::fs::symlink(outside.join("victim"), proj.join("link")).unwrap();
        let o = proj.display().to_string();
        let x = outside.display().to_string();
        let script = format!(
            "set +e; \
             echo inside > {o}/new.txt && echo W-inside-ok; \
             echo evil > {o}/link 2>/dev/null && echo W-symlink-ESCAPED || echo W-symlink-blocked; \
             echo evil > {o}/../outside/victim 2>/dev/null && echo W-dotdot-ESCAPED || echo W-dotdot-blocked; \
             echo evil > /proc/self/root{x}/victim 2>/dev/null && echo W-procroot-ESCAPED || echo W-procroot-blocked; \
             echo evil > {x}/victim 2>/dev/null && echo W-direct-ESCAPED || echo W-direct-blocked; \
             echo evil > {x}/created 2>/dev/null && echo W-create-ESCAPED || echo W-create-blocked; \
             mv {x} {x}.moved 2>/dev/null && echo W-rename-ESCAPED || echo W-rename-blocked; \
             mv {o}/.. {o}/../../moved 2>/dev/null && echo W-renameparent-ESCAPED || echo W-renameparent-blocked; \
             echo evil > /etc/srt-runc-test 2>/dev/null && echo W-etc-ESCAPED || echo W-etc-blocked; \
             ln {x}/victim {o}/hard 2>/dev/null && echo evil > {o}/hard && echo W-hardlink-ESCAPED || echo W-hardlink-blocked; \
             {probe} open-write {x}/victim; \
             true"
            ,
            probe = probe().display()
        );
        let out = run_in(user, &s, &args(&sh(&script)), |c| {
            c["sandbox"] = json!({"filesystem": {"allowWrite": [o.clone()]}});
        });
        let text = ok(&out);
        assert!(text.contains("W-inside-ok"), "{}: {text}", user.label());
        assert!(!text.contains("ESCAPED"), "{}: {text}", user.label());
        assert_eq!(
            text.matches("-blocked").count(),
            9,
            "{}: every route was tried: {text}",
            user.label()
        );
        // The direct write fails with EROFS from the read-only mount.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("errno=") || *l == "ok")
            .collect();
        assert!(
            lines[0].starts_with("errno=30"),
            "{}: open-write outside: {text}",
            user.label()
        );
        assert_eq!(
            std::fs::read_to_string(proj.join("new.txt")).unwrap(),
            "inside\n",
            "write landed on the host"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).unwrap(),
            "original"
        );
        assert!(
            !proj.join("hard").exists(),
            "no hard link to an outside file may be created"
        );
        assert!(!outside.join("created").exists());
        assert!(!std::path::Path::new("/etc/srt-runc-test").exists());
        assert!(outside.exists(), "rename of the outside dir must fail");
    }
}

/// A writable `/tmp` (or `/`) is the host's `/tmp`, not the runtime's own scaffolding
/// (the new root is attached on `/tmp` of the init's view while it is built; a bind
/// source cloned after that would carry it along). With and without deny stubs.
#[test]
fn a_writable_tmp_is_the_hosts_tmp() {
    for user in users() {
        for stubs in [false, true] {
            let s = Scratch::new(&format!("tmpbind-{stubs}"), user);
            std::fs::write(s.join("host.txt"), "from the host\n").unwrap();
            std::fs::write(s.join("secret"), "s3cret\n").unwrap();
            chown(&s.join("host.txt"), user);
            let d = s.path.display().to_string();
            let script = format!(
                "cat {d}/host.txt; echo from-sandbox > {d}/written && echo wrote; \
                 cat {d}/secret 2>/dev/null || echo secret-blocked"
            );
            let out = run_in(user, &s, &args(&sh(&script)), |c| {
                let mut fs = json!({"allowWrite": ["/tmp"]});
                if stubs {
                    fs["denyRead"] = json!([format!("{d}/secret")]);
                }
                c["sandbox"] = json!({ "filesystem": fs });
            });
            let text = ok(&out);
            let who = format!("{} stubs={stubs}", user.label());
            assert!(text.contains("from the host"), "{who}: {text}");
            assert!(text.contains("wrote"), "{who}: {text}");
            assert_eq!(
                std::fs::read_to_string(s.join("written")).unwrap(),
                "from-sandbox\n",
                "{who}: the write must land in the host's /tmp"
            );
            if stubs {
                assert!(text.contains("secret-blocked"), "{who}: {text}");
            }
        }
    }
}

#[test]
fn denied_reads_fail_and_nothing_is_created_on_the_host() {
    for user in users() {
        let s = Scratch::new("reads", user);
        let secret_dir = s.join("ssh");
        std::fs::create_dir_all(&secret_dir).unwrap();
        std::fs::write(secret_dir.join("id_rsa"), "KEY").unwrap();
        std::fs::write(s.join("token"), "TOKEN").unwrap();
        for p in [&secret_dir, &secret_dir.join("id_rsa"), &s.join("token")] {
            chown(p, user);
        }
        std::fs::set_permissions(
            &secret_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let before: Vec<_> = std::fs::read_dir(&s.path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let d = secret_dir.display();
        let t = s.join("token");
        let t = t.display();
        let script = format!(
            "cat {d}/id_rsa 2>&1; ls {d} 2>&1; cat {t} 2>&1; cat /proc/self/root{t} 2>&1; ln -s {t} /tmp/l 2>&1; {probe} open-read {t}; echo done",
            probe = probe().display()
        );
        let out = run_in(user, &s, &args(&sh(&script)), |c| {
            c["sandbox"] = json!({"filesystem": {"denyRead": [d.to_string(), t.to_string()]}});
        });
        let text = ok(&out);
        assert!(
            !text.contains("KEY") && !text.contains("TOKEN"),
            "{}: secret leaked: {text}",
            user.label()
        );
        assert!(
            text.contains("Permission denied"),
            "{}: {text}",
            user.label()
        );
        assert!(text.contains("errno=13"), "{}: {text}", user.label());
        let after: Vec<_> = std::fs::read_dir(&s.path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let mut b = before.clone();
        b.push("config.json".into());
        b.sort();
        b.dedup();
        let mut a = after.clone();
        a.sort();
        assert_eq!(a, b, "nothing may be created on the host");
    }
}

#[test]
fn privileged_operations_are_refused_with_the_expected_errno() {
    for user in users() {
        let s = Scratch::new("syscalls", user);
        let p = probe().display().to_string();
        let cases: &[(&str, &str)] = &[
            ("mount-tmpfs /tmp", "errno=1 "),
            ("unshare-user", "errno=1 "),
            ("clone-newuser", "errno=1 "),
            ("pivot_root", "errno=1 "),
            ("ptrace-attach 1", "errno=1 "),
            ("keyctl", "errno=1 "),
            ("add_key", "errno=1 "),
            ("bpf", "errno=1 "),
            ("perf_event_open", "errno=1 "),
            ("userfaultfd", "errno=1 "),
            ("io_uring_setup", "errno=1 "),
            ("tiocsti", "errno=1 "),
            ("tiocsti-hi", "errno=1 "),
            ("x32-getpid", "errno=1 "),
            ("clone3", "errno=38 "),
            ("socket 40 1", "errno=1 "),
            ("kexec_load", "errno=1 "),
            ("init_module", "errno=1 "),
            ("open_by_handle_at", "errno=1 "),
            ("mknod-char /dev/shm/n", "errno=1 "),
            ("setuid0", "ok"),
        ];
        let script: String = cases
            .iter()
            .map(|(c, _)| format!("echo \"{c}: $({p} {c} 2>&1)\";"))
            .collect();
        let text = ok(&run_in(user, &s, &args(&sh(&script)), |c| {
            c["process"]["terminal"] = json!(false);
        }));
        for (case, want) in cases {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{case}:")))
                .unwrap_or("");
            assert!(
                line.contains(want),
                "{}: {case}: want {want:?}, got {line:?}\n{text}",
                user.label()
            );
        }
        // Ordinary work is unaffected.
        let text = ok(&run_in(
            user,
            &s,
            &args(&sh(&format!(
                "{p} socket 1 1; {p} socket 2 1; {p} unshare-files"
            ))),
            |_| {},
        ));
        assert_eq!(text, "ok\nok\nok\n", "{}", user.label());
    }
}

#[test]
fn inherited_fds_are_not_visible_inside() {
    use std::os::unix::process::CommandExt;
    for user in users() {
        let s = Scratch::new("fds", user);
        write_bundle(&s.path, &config(&[probe().to_str().unwrap(), "fds"]));
        // An fd on a host directory, deliberately without CLOEXEC.
        let fd = unsafe { libc::open(c"/etc".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        assert!(fd > 2);
        let mut cmd = srt_cmd(user, &["run", s.path.to_str().unwrap()]);
        unsafe {
            cmd.pre_exec(move || {
                // keep `fd` open across exec
                let flags = libc::fcntl(fd, libc::F_GETFD);
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                Ok(())
            });
        }
        let out = cmd.output().unwrap();
        unsafe { libc::close(fd) };
        let text = ok(&out);
        // 0 1 2 and the probe's own directory handle (3).
        assert_eq!(
            text.trim(),
            "0 1 2 3",
            "{}: fds inside: {text}",
            user.label()
        );
    }
}

#[test]
fn exit_codes() {
    for user in users() {
        let s = Scratch::new("exit", user);
        let cases: &[(&[&str], i32)] = &[
            (&["/bin/true"], 0),
            (&["/bin/false"], 1),
            (&["/bin/sh", "-c", "exit 42"], 42),
            (&["/bin/sh", "-c", "kill -9 $$"], 137),
            (&["/bin/sh", "-c", "kill -15 $$"], 143),
            (&["no-such-command-xyz"], 127),
            (&["/no/such/path"], 127),
            (&["/etc/hostname"], 126),
        ];
        for (argv, want) in cases {
            let out = run_in(user, &s, argv, |_| {});
            assert_eq!(
                out.status.code(),
                Some(*want),
                "{}: {argv:?}: {}",
                user.label(),
                stderr(&out)
            );
        }
        let out = run_in(user, &s, &["no-such-command-xyz"], |_| {});
        let err = stderr(&out);
        assert!(
            err.contains("no-such-command-xyz") && err.contains("not found"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

/// Whether a process matches; a missing or failing pgrep fails the test instead of
/// reading as "no such process" (which would make every survivor check pass).
fn pgrep(pattern: &str) -> bool {
    let out = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(pattern)
        .output()
        .expect("pgrep (procps) is needed: run `make deps`");
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("pgrep -f {pattern:?}: {other:?} {}", stderr(&out)),
    }
}

fn wait_gone(pattern: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if !pgrep(pattern) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn signals_are_forwarded_and_nothing_survives() {
    for user in users() {
        let s = Scratch::new("signals", user);
        let mounts_before = host_mounts().lines().count();
        // SIGTERM to the supervisor reaches the command, whose trap decides the status.
        write_bundle(
            &s.path,
            &config(&[
                "/bin/sh",
                "-c",
                "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done",
            ]),
        );
        let mut child = srt_cmd(user, &["run", s.path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 6];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert_eq!(child.wait().unwrap().code(), Some(7), "{}", user.label());

        // Background processes die with the sandbox.
        let tag = format!("sleep 3{}1", std::process::id() % 10000);
        let out = run_in(
            user,
            &s,
            &[
                "/bin/sh",
                "-c",
                &format!(
                    "{tag} & {tag} & sleep 0.1; tr '\\0' ' ' < /proc/$!/cmdline; echo started"
                ),
            ],
            |_| {},
        );
        // The background job was running when the command ended (so its absence below
        // is the sandbox's doing).
        assert_eq!(ok(&out), format!("{tag} started\n"));
        assert!(
            wait_gone(&tag),
            "{}: background process survived the sandbox",
            user.label()
        );

        // SIGKILL of the supervisor kills the sandbox.
        let tag = format!("sleep 3{}2", std::process::id() % 10000);
        write_bundle(
            &s.path,
            &config(&["/bin/sh", "-c", &format!("echo ready; {tag}")]),
        );
        let mut child = srt_cmd(user, &["run", s.path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        assert!(pgrep(&tag));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        assert!(
            wait_gone(&tag),
            "{}: sandbox survived its supervisor",
            user.label()
        );
        assert_eq!(
            host_mounts().lines().count(),
            mounts_before,
            "mounts left behind"
        );
    }
}

#[test]
fn bad_input_is_one_line_exit_125_and_nothing_runs() {
    let user = unprivileged();
    let s = Scratch::new("badinput", user);
    let marker = s.join("ran");
    let m = marker.display().to_string();
    let good = config(&["/bin/sh", "-c", &format!("touch {m}")]);
    let mut cases: Vec<(String, &str)> = Vec::new();
    cases.push((
        "{\"ociVersion\": \"1.0.2\", \"root\": ".into(),
        "malformed JSON",
    ));
    let mut c = good.clone();
    c["sandbox"] = json!({"filesystem": {"allowWirte": ["."]}});
    cases.push((c.to_string(), "sandbox.filesystem.allowWirte"));
    let mut c = good.clone();
    c["root"] = json!({"path": "rootfs-that-does-not-exist"});
    cases.push((c.to_string(), "root.path"));
    let mut c = good.clone();
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_FROBS", "soft": 1, "hard": 1}]);
    cases.push((c.to_string(), "process.rlimits[0].type"));
    let mut c = good.clone();
    c["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": u64::MAX - 1}]);
    cases.push((c.to_string(), "CAP_SYS_RESOURCE"));
    let mut c = good.clone();
    c["mounts"] = json!([{"destination": "/mnt", "type": "ext4", "source": "/dev/vda"}]);
    cases.push((c.to_string(), "mounts[0].type"));
    // Schema errors carry the fix, not only serde's description.
    let mut c = good.clone();
    c["process"].as_object_mut().unwrap().remove("user");
    cases.push((
        c.to_string(),
        "process: missing field `user`; add it (`srt-runc spec` prints a complete config.json)",
    ));
    let mut c = good.clone();
    c["sandbox"] = json!({"network": {"allowedDomains": "example.com"}});
    cases.push((
        c.to_string(),
        "sandbox.network.allowedDomains: invalid type: string \"example.com\", expected a sequence; change the value",
    ));
    // An empty path would resolve to the bundle directory and quietly make it writable.
    let mut c = good.clone();
    c["sandbox"] = json!({"filesystem": {"allowWrite": [""]}});
    cases.push((
        c.to_string(),
        "sandbox.filesystem.allowWrite[0]: empty path; remove the entry",
    ));
    let mut c = good.clone();
    c["process"]["cwd"] = json!("/nonexistent-cwd");
    cases.push((
        c.to_string(),
        "process.cwd: /nonexistent-cwd: No such file or directory (os error 2); set it to a directory",
    ));
    let mut c = good.clone();
    c["annotations"] = json!({"run.srt.settings": "/nonexistent/settings.json"});
    cases.push((
        c.to_string(),
        "annotations.run.srt.settings: cannot read settings file /nonexistent/settings.json: No such file or directory (os error 2); fix the path",
    ));
    let mut c = good.clone();
    c["annotations"] = json!({"run.srt.network.allowedDomains": "example.com,*.com"});
    cases.push((
        c.to_string(),
        "annotations.run.srt.network.allowedDomains[1] \"*.com\": overly broad pattern",
    ));
    for (text, want) in cases {
        std::fs::write(s.join("config.json"), &text).unwrap();
        let out = run_bundle(user, &s.path);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{want}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(want) && err.contains("config.json"),
            "{err} should name {want}"
        );
        assert!(!marker.exists(), "the command must not have run");
    }
}

#[test]
fn rlimits_umask_cwd_and_env_apply() {
    for user in users() {
        let s = Scratch::new("process", user);
        let out = ok(&run_in(
            user,
            &s,
            &[
                "/bin/sh",
                "-c",
                "ulimit -n; ulimit -Hn; umask; pwd; echo $FOO; echo $SANDBOX_RUNTIME; cat /proc/self/oom_score_adj",
            ],
            |c| {
                c["process"]["oomScoreAdj"] = json!(500);
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]);
                c["process"]["user"]["umask"] = json!(0o027);
                c["process"]["cwd"] = json!("/usr");
                c["process"]["env"] = json!(["PATH=/usr/bin:/bin", "FOO=bar"]);
            },
        ));
        assert_eq!(
            out,
            "123\n456\n0027\n/usr\nbar\n1\n500\n",
            "{}",
            user.label()
        );
    }
}

/// rlimits above the caller's current soft limits are raised by the supervisor (with
/// `prlimit`, as the caller) and lowered to the final values by the init after its own
/// setup, so a tiny RLIMIT_NOFILE does not break that setup.
#[test]
fn rlimits_are_raised_by_the_supervisor_and_lowered_after_setup() {
    use std::os::unix::process::CommandExt;
    for user in users() {
        let s = Scratch::new("rlimit-raise", user);
        let mut cfg = config(&[
            "/bin/sh",
            "-c",
            "ulimit -n; ulimit -Hn; awk '/Max processes/ {print $3, $4}' /proc/self/limits",
        ]);
        cfg["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 900, "hard": 1000},
            {"type": "RLIMIT_NPROC", "soft": 700, "hard": 800}
        ]);
        write_bundle(&s.path, &cfg);
        // The caller's own limits are below the requested soft limits (hard limits
        // stay above: raising those needs CAP_SYS_RESOURCE, which this host lacks).
        let mut c = srt_cmd(user, &["run", s.path.to_str().unwrap()]);
        unsafe {
            c.pre_exec(|| {
                let nofile = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: 1000,
                };
                let nproc = libc::rlimit {
                    rlim_cur: 200,
                    rlim_max: 800,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &nofile) != 0
                    || libc::setrlimit(libc::RLIMIT_NPROC, &nproc) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = c.output().unwrap();
        assert_eq!(ok(&out), "900\n1000\n700 800\n", "{}", user.label());

        let mut cfg = config(&["/bin/sh", "-c", "ulimit -n; ulimit -Hn"]);
        cfg["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 16, "hard": 16}]);
        cfg["sandbox"] = json!({"filesystem": {"allowWrite": [s.path], "denyRead": ["~/.ssh"]}});
        write_bundle(&s.path, &cfg);
        assert_eq!(
            ok(&run_bundle(user, &s.path)),
            "16\n16\n",
            "{}",
            user.label()
        );
    }
}

#[test]
fn oci_mounts_masked_and_readonly_paths() {
    for user in users() {
        let s = Scratch::new("mounts", user);
        let data = s.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("f"), "hello").unwrap();
        chown(&data, user);
        let d = data.display().to_string();
        let out = ok(&run_in(
            user,
            &s,
            &["/bin/sh", "-c", &format!("cat {d}/f; echo; echo x > /tmp/t && cat /tmp/t; echo y > {d}/g 2>&1 || echo ro-data; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo z > /proc/sys/kernel/hostname 2>/dev/null || echo ro-proc")],
            |c| {
                c["mounts"] = json!([
                    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m"]},
                    {"destination": d, "type": "bind", "source": d, "options": ["rbind", "ro"]}
                ]);
                c["linux"] = json!({"maskedPaths": ["/proc/timer_list", "/proc/kcore", "/sys/firmware"], "readonlyPaths": ["/proc/sys"]});
            },
        ));
        assert_eq!(
            out,
            "hello\nx\nro-data\n0\n0\nro-proc\n",
            "{}",
            user.label()
        );
    }
}

#[test]
fn symlinked_mount_destination_stays_inside_the_root() {
    let user = unprivileged();
    let s = Scratch::new("symlinkdest", user);
    // A tiny rootfs whose /evil is an absolute symlink pointing at a host directory.
    let rootfs = s.join("rootfs");
    let target = s.join("host-target");
    for d in ["bin", "proc", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink(&target, rootfs.join("evil")).unwrap();
    for p in walk(&s.path) {
        let _ = std::os::unix::fs::lchown(&p, Some(user.uid), Some(user.gid));
    }
    let mut cfg = config(&[
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox touch /evil/inside && echo ok",
    ]);
    cfg["root"] = json!({"path": "rootfs", "readonly": false});
    cfg["mounts"] = json!([{"destination": "/evil", "type": "tmpfs", "source": "tmpfs"}]);
    write_bundle(&s.path, &cfg);
    // The symlink points at a path that does not exist inside the root: refused.
    let out = run_bundle(user, &s.path);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("symlink escape"), "{}", stderr(&out));
    assert!(
        std::fs::read_dir(&target).unwrap().next().is_none(),
        "mount escaped through the symlink"
    );
    // When the same absolute path exists inside the root, the mount lands there.
    let inside = rootfs.join(target.strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    for p in walk(&rootfs) {
        let _ = std::os::unix::fs::lchown(&p, Some(user.uid), Some(user.gid));
    }
    let out = run_bundle(user, &s.path);
    assert_eq!(ok(&out), "ok\n");
    assert!(
        std::fs::read_dir(&target).unwrap().next().is_none(),
        "mount escaped through the symlink"
    );
    assert!(target.metadata().unwrap().ino() > 0);
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            v.extend(walk(&e.unwrap().path()));
        }
    }
    v
}

#[test]
fn terminal_gets_a_pty_and_configured_capabilities_apply() {
    for user in users() {
        let s = Scratch::new("tty", user);
        let script = "test -t 0 && test -t 1 && echo tty-ok; grep CapEff /proc/self/status";
        let out = ok(&run_in(user, &s, &["/bin/sh", "-c", script], |c| {
            c["process"]["terminal"] = json!(true);
            let caps = json!(["CAP_NET_BIND_SERVICE"]);
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps,
                "permitted": caps, "inheritable": caps, "ambient": caps});
        }));
        // The pty turns \n into \r\n.
        let out = out.replace('\r', "");
        assert!(out.contains("tty-ok"), "{}: {out}", user.label());
        assert!(
            out.contains("CapEff:\t0000000000000400"),
            "{}: {out}",
            user.label()
        );
    }
}

#[test]
fn podman_default_seccomp_profile_loads_and_works() {
    let profile = serde_json::to_value(common::podman::podman_profile(
        srt_runc::seccomp::Arch::native(),
    ))
    .unwrap();
    for user in users() {
        let s = Scratch::new("podmanseccomp", user);
        let p = probe().display().to_string();
        let script = format!("echo \"$({p} keyctl)\"; echo \"$({p} socket 2 1)\"; echo \"$({p} x32-getpid)\"; /bin/true && echo true-ok");
        let out = ok(&run_in(user, &s, &["/bin/sh", "-c", &script], |c| {
            c["linux"] = json!({"seccomp": profile.clone()});
        }));
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("errno=1 "),
            "{}: keyctl: {out}",
            user.label()
        );
        assert_eq!(lines[1], "ok", "{}: socket(AF_INET): {out}", user.label());
        assert!(
            lines[2].starts_with("errno=1 "),
            "{}: x32: {out}",
            user.label()
        );
        assert_eq!(lines[3], "true-ok");
    }
}

#[test]
fn supplementary_groups_sysfs_and_mqueue_mounts() {
    let root = users()[0];
    if root.is_root() {
        let s = Scratch::new("groups", root);
        let out = ok(&run_in(root, &s, &["/bin/sh", "-c", "id -G"], |c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]});
        }));
        assert_eq!(out, "1000 10 20\n");
    }
    for user in users() {
        let s = Scratch::new("sysfs", user);
        let out = ok(&run_in(
            user,
            &s,
            &["/bin/sh", "-c", "grep -E ' /sys | /dev/mqueue ' /proc/self/mountinfo | awk '{print $5, $6, $9}' | sort; ls /sys/class/net"],
            |c| {
                c["mounts"] = json!([
                    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
                    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}
                ]);
            },
        ));
        assert!(
            out.contains("/dev/mqueue rw,nosuid,nodev,noexec") && out.contains(" mqueue"),
            "{}: {out}",
            user.label()
        );
        assert!(
            out.contains("/sys ro,nosuid,nodev,noexec") && out.contains(" sysfs"),
            "{}: {out}",
            user.label()
        );
        // A fresh sysfs shows the sandbox's own network namespace: only lo.
        assert!(out.trim_end().ends_with("\nlo"), "{}: {out}", user.label());
    }
}
