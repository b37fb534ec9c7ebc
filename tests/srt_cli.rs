//! srt drop-in: `srt-runc sandbox` and the `srt` multicall name, with srt's settings
//! format. Re-states srt's own Linux integration tests (srt.md section 9) against
//! srt-runc, plus mandatory denies, unix sockets and settings errors. Every scenario
//! runs as root and as the unprivileged test user.
#![cfg(target_os = "linux")]

mod common;
use common::*;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `srt-runc sandbox -s SETTINGS -c SCRIPT` in `cwd` as `user`.
fn sandbox(user: User, cwd: &Path, settings: &Value, script: &str) -> Output {
    let sfile = cwd.join(".srt-settings-test.json");
    std::fs::write(&sfile, serde_json::to_vec(settings).unwrap()).unwrap();
    chown(&sfile, user);
    let mut c = srt_cmd(
        user,
        &["sandbox", "-s", sfile.to_str().unwrap(), "-c", script],
    );
    c.current_dir(cwd);
    let out = c.output().unwrap();
    let _ = std::fs::remove_file(&sfile);
    out
}

fn settings(allow_write: &[&str]) -> Value {
    json!({
        "network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": [], "allowWrite": allow_write, "denyWrite": []}
    })
}

/// A listing of every path below `dir` with its content (files) or kind, to compare the
/// host tree before and after a run byte for byte.
fn manifest(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    fn walk(base: &Path, p: &Path, out: &mut Vec<(PathBuf, String)>) {
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap().to_path_buf();
            let m = std::fs::symlink_metadata(&path).unwrap();
            if m.is_dir() {
                out.push((rel, "dir".into()));
                walk(base, &path, out);
            } else if m.file_type().is_symlink() {
                out.push((
                    rel,
                    format!("link {:?}", std::fs::read_link(&path).unwrap()),
                ));
            } else {
                out.push((
                    rel,
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned(),
                ));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn project(user: User, name: &str) -> Scratch {
    let s = Scratch::new(name, user);
    let p = &s.path;
    for d in [
        ".git/objects",
        ".git/refs/heads",
        ".git/hooks",
        "src",
        "sub/deeper",
    ] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    for (f, c) in [
        (".git/config", "[core]\n"),
        (".git/index", "idx"),
        (".git/hooks/pre-commit.sample", "#!/bin/sh\n"),
        ("src/main.rs", "fn main() {}\n"),
        (".bashrc", "# rc\n"),
        ("sub/deeper/.mcp.json", "{}"),
    ] {
        std::fs::write(p.join(f), c).unwrap();
    }
    for e in walk_all(p) {
        let _ = std::os::unix::fs::lchown(&e, Some(user.uid), Some(user.gid));
    }
    s
}

fn walk_all(p: &Path) -> Vec<PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            v.extend(walk_all(&e.unwrap().path()));
        }
    }
    v
}

#[test]
fn mandatory_denies_existing_and_missing_and_nothing_left_behind() {
    for user in users() {
        let s = project(user, "mandatory");
        let before = manifest(&s.path);
        let blocked = [
            ".bashrc",
            ".gitconfig",
            ".gitmodules",
            ".bash_profile",
            ".zshrc",
            ".zprofile",
            ".profile",
            ".ripgreprc",
            ".mcp.json",
            ".git/config",
            ".git/hooks/pre-commit",
            ".vscode/settings.json",
            ".idea/workspace.xml",
            ".claude/commands/x.md",
            ".claude/agents/a.md",
            "sub/deeper/.mcp.json",
        ];
        let allowed = [
            ".git/objects/ab",
            ".git/refs/heads/main",
            ".git/index",
            "src/new.rs",
            ".claude/notes.md",
            "plain.txt",
        ];
        let mut script = String::from("set +e; ");
        for f in blocked {
            script.push_str(&format!("mkdir -p \"$(dirname {f})\" 2>/dev/null; (echo x >> {f}) 2>/dev/null && echo 'ESCAPED {f}' || echo 'blocked {f}'; "));
        }
        for f in allowed {
            script.push_str(&format!("mkdir -p \"$(dirname {f})\" 2>/dev/null; (echo ok > {f}) 2>/dev/null && echo 'wrote {f}' || echo 'FAILED {f}'; "));
        }
        // Moving an ancestor away to recreate .git/hooks must not work either.
        script.push_str("(mv .git .git-aside) 2>/dev/null && echo 'ESCAPED mv .git' || echo 'blocked mv .git'; ");
        let out = sandbox(user, &s.path, &settings(&["."]), &script);
        let text = ok(&out);
        assert!(!text.contains("ESCAPED"), "{}: {text}", user.label());
        assert!(!text.contains("FAILED"), "{}: {text}", user.label());
        assert_eq!(
            text.matches("blocked ").count(),
            blocked.len() + 1,
            "{}: {text}",
            user.label()
        );
        // The host tree is exactly what the command was allowed to change.
        let mut expected = before.clone();
        for f in allowed {
            expected.retain(|(p, _)| p != Path::new(f));
            expected.push((PathBuf::from(f), "ok\n".into()));
        }
        expected.push((PathBuf::from(".claude"), "dir".into()));
        expected.sort();
        expected.dedup();
        let after = manifest(&s.path);
        assert_eq!(
            after,
            expected,
            "{}: host tree differs (placeholders left behind?)",
            user.label()
        );
        let registry = if user.is_root() {
            PathBuf::from("/run/srt-runc-placeholders/placeholders.json")
        } else {
            PathBuf::from(format!(
                "/tmp/srt-runc-placeholders-{}/placeholders.json",
                user.uid
            ))
        };
        // Other tests may hold placeholders concurrently; none may be ours.
        let reg = std::fs::read_to_string(&registry).unwrap_or_default();
        assert!(
            !reg.contains(s.path.to_str().unwrap()),
            "{}: registry still lists our placeholders: {reg}",
            user.label()
        );
    }
}

#[test]
fn allow_git_config_lifts_config_but_not_hooks() {
    for user in users() {
        let s = project(user, "gitconfig");
        let mut st = settings(&["."]);
        st["filesystem"]["allowGitConfig"] = json!(true);
        let out = sandbox(user, &s.path, &st, "(echo '[x]' >> .git/config) && echo config-ok; (echo x > .git/hooks/pre-commit) 2>/dev/null || echo hooks-blocked");
        assert_eq!(ok(&out), "config-ok\nhooks-blocked\n", "{}", user.label());
    }
}

#[test]
fn placeholders_are_removed_after_the_command_is_sigkilled() {
    for user in users() {
        let s = project(user, "killed");
        let before = manifest(&s.path);
        let sfile = s.join("settings.json");
        std::fs::write(&sfile, serde_json::to_vec(&settings(&["."])).unwrap()).unwrap();
        // A sleep length of this run's own, so only our sleeper is found and killed.
        let nap = format!("3{}{}", std::process::id(), user.uid % 10);
        let mut c = srt_cmd(
            user,
            &[
                "sandbox",
                "-s",
                sfile.to_str().unwrap(),
                "-c",
                &format!("echo ready; exec sleep {nap}"),
            ],
        );
        c.current_dir(&s.path).stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut buf = [0u8; 6];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut buf).unwrap();
        // While it runs, the placeholders exist on the host ...
        assert!(
            s.path.join(".gitconfig").exists(),
            "{}: placeholder missing while running",
            user.label()
        );
        // ... and after the sandboxed command is SIGKILLed they are gone.
        // "ready" comes before the exec: wait for the sleep itself.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut pids = pids_with(&format!("sleep\0{nap}"));
        while pids.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            pids = pids_with(&format!("sleep\0{nap}"));
        }
        assert_eq!(pids.len(), 1, "{}: {pids:?}", user.label());
        assert_eq!(unsafe { libc::kill(pids[0], libc::SIGKILL) }, 0);
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(137), "{}", user.label());
        std::fs::remove_file(&sfile).unwrap();
        assert_eq!(
            manifest(&s.path),
            before,
            "{}: host tree changed",
            user.label()
        );
    }
}

#[test]
fn host_unix_sockets_are_unreachable_unless_allowed() {
    use std::os::unix::net::{UnixListener, UnixStream};
    for user in users() {
        let s = Scratch::new("unixsock", user);
        // A host service socket under /run when root (the usual place), else in scratch.
        let run_dir = if user.is_root() && unsafe { libc::geteuid() } == 0 {
            PathBuf::from(format!("/run/srt-runc-tests-{}", std::process::id()))
        } else {
            s.join("run")
        };
        std::fs::create_dir_all(&run_dir).unwrap();
        let sock = run_dir.join("service.sock");
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).unwrap();
        std::fs::set_permissions(&sock, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        std::fs::set_permissions(
            &run_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        // A host abstract socket.
        let abs_name = format!("srt-runc-test-{}", std::process::id());
        let abs = std::os::unix::net::UnixListener::bind_addr(
            &<std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(abs_name.as_bytes()).unwrap(),
        )
        .unwrap();
        let py = format!(
            "import socket\nfor addr in ['{}', '\\0{}']:\n  s=socket.socket(socket.AF_UNIX)\n  try:\n    s.connect(addr); print('CONNECTED')\n  except OSError as e: print('refused', e.errno)\na,b=socket.socketpair(); a.send(b'x'); print('pair', b.recv(1).decode())\nl=socket.socket(socket.AF_UNIX); l.bind('own.sock'); l.listen(); c=socket.socket(socket.AF_UNIX); c.connect('own.sock'); print('own ok')\n",
            sock.display(),
            abs_name
        );
        std::fs::write(s.join("t.py"), &py).unwrap();
        chown(&s.path.join("t.py"), user);
        let out = sandbox(user, &s.path, &settings(&["."]), "python3 t.py");
        let text = ok(&out);
        assert_eq!(
            text.matches("refused").count(),
            2,
            "{}: {text}",
            user.label()
        );
        assert!(
            text.contains("pair x") && text.contains("own ok"),
            "{}: {text}",
            user.label()
        );
        // allowUnixSockets makes exactly that path reachable.
        let mut st = settings(&["."]);
        st["network"]["allowUnixSockets"] = json!([sock.display().to_string()]);
        let accept = std::thread::spawn(move || listener.accept().map(|_| ()));
        let out = sandbox(user, &s.path, &st, &format!("python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{}'); print('allowed ok')\"", sock.display()));
        assert_eq!(ok(&out), "allowed ok\n", "{}", user.label());
        accept.join().unwrap().unwrap();
        drop(abs);
        let _ = std::fs::remove_dir_all(&run_dir);
        let _ = UnixStream::pair();
    }
}

#[test]
fn srt_integration_behaviours() {
    for user in users() {
        let s = Scratch::new("srtint", user);
        let cwd = &s.path;
        let outside = Scratch::new("srtint-outside", user);
        let o = outside.path.display().to_string();
        // Writes outside the cwd fail, inside succeed; reads work anywhere.
        let out = sandbox(user, cwd, &settings(&["."]), &format!("echo in > inside.txt && echo W-in; (echo out > {o}/x) 2>&1 | grep -q 'Read-only' && echo W-out-blocked; head -c 4 /etc/os-release"));
        assert_eq!(ok(&out), "W-in\nW-out-blocked\nPRET", "{}", user.label());
        assert!(!outside.path.join("x").exists());
        // Symlink escape: "read-only file system" and no file outside.
        let out = sandbox(
            user,
            cwd,
            &settings(&["."]),
            &format!("ln -s {o}/target link && (echo x > link) 2>&1"),
        );
        assert!(
            stdout(&out).contains("Read-only file system"),
            "{}: {}",
            user.label(),
            stdout(&out)
        );
        assert!(!outside.path.join("target").exists());
        // PID namespace: fewer than 30 PIDs.
        let out = sandbox(user, cwd, &settings(&["."]), "ls /proc | grep -c '^[0-9]'");
        assert!(ok(&out).trim().parse::<u32>().unwrap() < 30);
        // mkfifo allowed in a writable dir; mknod of a device refused.
        let out = sandbox(user, cwd, &settings(&["."]), "mkfifo ff && echo fifo-ok; mknod dev c 1 3 2>/dev/null && echo MKNOD || echo mknod-refused");
        assert_eq!(ok(&out), "fifo-ok\nmknod-refused\n", "{}", user.label());
        // A setuid copy of a shell gains nothing (copy and chmod u+s inside the sandbox).
        let out = sandbox(user, cwd, &settings(&["."]), "cp /bin/bash ./sbash && chmod u+s ./sbash; ./sbash -p -c 'id -u; grep CapEff /proc/self/status'");
        let t = ok(&out);
        assert!(
            t.contains("CapEff:\t0000000000000000"),
            "{}: {t}",
            user.label()
        );
        // Empty allow list: HTTP, HTTPS, DNS all blocked (the proxy answers 403).
        let out = sandbox(user, cwd, &settings(&["."]), "curl -s -o /dev/null -w '%{http_code}\\n' http://example.com/; curl -s -o /dev/null -w '%{http_code}\\n' https://example.com/; getent hosts example.com || echo dns-blocked");
        assert_eq!(ok(&out), "403\n000\ndns-blocked\n", "{}", user.label());
        // The denial message, and srt's wildcard matrix: `*.github.com` allows subdomains
        // (the proxy then fails to resolve them offline: not a 403), never the apex or
        // look-alikes.
        let mut st = settings(&["."]);
        st["network"]["allowedDomains"] = json!(["*.github.com"]);
        let out = sandbox(user, cwd, &st, "curl -s http://github.com/; echo; for h in api.github.com github.com malicious-github.com raw.githubusercontent.com; do echo \"$h $(curl -s -o /dev/null -w '%{http_code}' http://$h/)\"; done");
        let t = ok(&out);
        assert!(
            t.starts_with("Connection blocked by network allowlist\n"),
            "{}: {t}",
            user.label()
        );
        for (h, denied) in [
            ("api.github.com", false),
            ("github.com", true),
            ("malicious-github.com", true),
            ("raw.githubusercontent.com", true),
        ] {
            let line = t.lines().find(|l| l.starts_with(&format!("{h} "))).unwrap();
            assert_eq!(line.ends_with(" 403"), denied, "{}: {line}", user.label());
        }
        // Exit codes and signals.
        for (script, code) in [
            ("exit 0", 0),
            ("exit 1", 1),
            ("exit 42", 42),
            ("no-such-cmd-xyz", 127),
            ("kill -TERM $$", 143),
            ("kill -KILL $$", 137),
        ] {
            let out = sandbox(user, cwd, &settings(&["."]), script);
            assert_eq!(out.status.code(), Some(code), "{}: {script}", user.label());
        }
        // timeout kills the children (exit 124) quickly.
        let t0 = std::time::Instant::now();
        let out = sandbox(
            user,
            cwd,
            &settings(&["."]),
            "timeout 1 sh -c 'sleep 100 & sleep 100'",
        );
        assert_eq!(out.status.code(), Some(124));
        assert!(t0.elapsed() < std::time::Duration::from_secs(20));
    }
}

#[test]
fn cli_forms() {
    let user = unprivileged();
    let s = Scratch::new("srtcli", user);
    let link_dir = Scratch::new("srtcli-bin", user);
    let srt = link_dir.join("srt");
    std::os::unix::fs::symlink(srt_runc(), &srt).unwrap();
    let sfile = s.join("settings.json");
    std::fs::write(&sfile, serde_json::to_vec(&settings(&["."])).unwrap()).unwrap();
    chown(&sfile, user);
    let run = |args: &[&str]| -> Output {
        let mut c = Command::new(&srt);
        c.args(args).current_dir(&s.path).stdin(Stdio::null());
        if user.uid != unsafe { libc::geteuid() } {
            c.uid(user.uid).gid(user.gid);
        }
        c.output().unwrap()
    };
    let sf = sfile.to_str().unwrap();
    // -c is verbatim shell source: $ expansion, pipes, command substitution, JSON args.
    let out = run(&[
        "-s",
        sf,
        "-c",
        "X=1; echo \"$X $(echo sub)\" | tr a-z A-Z; echo '{\"a\": [1, {\"b\": 2}]}'",
    ]);
    assert_eq!(ok(&out), "1 SUB\n{\"a\": [1, {\"b\": 2}]}\n");
    // Positional arguments are shell-quoted each (spaces and $ survive).
    let out = run(&["-s", sf, "printf", "[%s]", "a b", "$HOME", "--flag"]);
    assert_eq!(ok(&out), "[a b][$HOME][--flag]");
    // No command: error, exit 1.
    let out = run(&["-s", sf]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no command specified"));
    // --version.
    let out = run(&["--version"]);
    assert!(ok(&out).starts_with("srt "));
}

#[test]
fn settings_errors_name_the_field_and_exit_1() {
    let user = unprivileged();
    let s = Scratch::new("srtsettings", user);
    let base = settings(&["."]);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v.to_string()
    };
    let rows: Vec<(String, &str)> = vec![
        ("".into(), "the settings file is empty; refusing to run with the built-in defaults, which would drop this file's rules"),
        ("{\"network\": ".into(), "line 1 column 12: malformed JSON: EOF while parsing a value; fix the syntax"),
        ("[]".into(), "expected a JSON object at the top level"),
        ("{\"filesystem\": {\"denyRead\": [], \"allowWrite\": [], \"denyWrite\": []}}".into(), "network: required; add \"network\": {\"allowedDomains\": [], \"deniedDomains\": []}"),
        (with(&|v| { v["network"].as_object_mut().unwrap().remove("allowedDomains"); }), "network.allowedDomains: required; add \"allowedDomains\": [] (an empty list means no network)"),
        (with(&|v| { v["filesystem"].as_object_mut().unwrap().remove("denyWrite"); }), "filesystem.denyWrite: required; add \"denyWrite\": []"),
        (with(&|v| v["network"]["allowedDomains"] = json!(["*.com"])), "network.allowedDomains[0] \"*.com\": overly broad pattern; name a registrable domain such as *.example.com"),
        (with(&|v| v["network"]["allowedDomains"] = json!(["*"])), "network.allowedDomains[0] \"*\": overly broad pattern; name a registrable domain such as *.example.com"),
        (with(&|v| v["network"]["allowedDomains"] = json!(["https://example.com"])), "network.allowedDomains[0] \"https://example.com\": looks like a URL; give only the host, e.g. example.com instead of https://example.com/"),
        (with(&|v| v["filesystem"]["allowWrite"] = json!([""])), "filesystem.allowWrite[0]: empty path; remove the entry"),
        (with(&|v| v["filesystem"]["denyRead"] = json!(["/tmp/*/"])), "filesystem.denyRead[0] \"/tmp/*/\": a glob must not end in '/'; drop the trailing slash"),
        (with(&|v| v["filesystem"]["denyRaed"] = json!([])), "filesystem.denyRaed: unknown field `denyRaed`"),
        (with(&|v| v["network"]["tlsTerminate"] = json!({})), "network.tlsTerminate: not supported by srt-runc; remove it"),
        (with(&|v| v["mandatoryDenySearchDepth"] = json!(11)), "mandatoryDenySearchDepth: 11 is out of range; use a number from 1 to 10"),
    ];
    for (text, want) in rows {
        let f = s.join("s.json");
        std::fs::write(&f, &text).unwrap();
        let out = srt_cmd(
            user,
            &["sandbox", "-s", f.to_str().unwrap(), "-c", "touch ran"],
        )
        .current_dir(&s.path)
        .output()
        .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(want), "{text}:\n got: {err}\nwant: {want}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!s.path.join("ran").exists());
    }
    // A missing file named by -s is fatal; a missing default file means defaults.
    let out = srt_cmd(
        user,
        &["sandbox", "-s", "/nonexistent/s.json", "-c", "true"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("settings file not found"));
    let out = srt_cmd(
        user,
        &[
            "sandbox",
            "-c",
            "echo defaults; (echo x > /tmp/srt-default-test) 2>/dev/null || echo ro",
        ],
    )
    .env("HOME", s.path.to_str().unwrap())
    .current_dir(&s.path)
    .output()
    .unwrap();
    assert_eq!(ok(&out), "defaults\nro\n");
}

#[test]
fn report_violations_lists_denials_and_honours_ignore() {
    let user = unprivileged();
    let s = Scratch::new("violations", user);
    let f = s.join("s.json");
    let mut st = settings(&["."]);
    st["ignoreViolations"] = json!({"*": ["ignored.example.com"]});
    std::fs::write(&f, st.to_string()).unwrap();
    chown(&f, user);
    let out = srt_cmd(user, &["sandbox", "--report-violations", "-s", f.to_str().unwrap(), "-c", "curl -s -o /dev/null http://blocked.example.com/; curl -s -o /dev/null http://ignored.example.com/; true"]).current_dir(&s.path).output().unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("<sandbox_violations>\ndeny network-outbound blocked.example.com:80"),
        "{err}"
    );
    assert!(err.trim_end().ends_with("</sandbox_violations>"), "{err}");
    assert!(!err.contains("ignored.example.com"), "{err}");
}

/// Protected names that are symlinks, in strong and weaker mode: writing through
/// `.bashrc -> dotfiles/bashrc` and to its target is refused, so is moving the target's
/// directory aside, and a dangling `.mcp.json -> cfg/mcp.json` cannot be made to exist.
/// Weaker mode also keeps a link on the way (`.profile -> sub/link/profile`) from being
/// re-pointed. The host tree ends as it began, placeholders included.
#[test]
fn symlinked_protected_paths_are_kept() {
    for user in users() {
        for weaker in [false, true] {
            let s = Scratch::new(&format!("mandatory-links-{weaker}"), user);
            let p = |x: &str| s.path.join(x);
            for d in ["dotfiles", "cfg", "sub"] {
                std::fs::create_dir_all(p(d)).unwrap();
                chown(&p(d), user);
            }
            for (f, body) in [("dotfiles/bashrc", "B"), ("dotfiles/profile", "P")] {
                std::fs::write(p(f), body).unwrap();
                chown(&p(f), user);
            }
            for (link, target) in [
                (".bashrc", "dotfiles/bashrc"),
                (".mcp.json", "cfg/mcp.json"),
                (".profile", "sub/link/profile"),
                ("sub/link", "../dotfiles"),
            ] {
                std::os::unix::fs::symlink(target, p(link)).unwrap();
                std::os::unix::fs::lchown(p(link), Some(user.uid), Some(user.gid)).unwrap();
            }
            let before = manifest(&s.path);
            let mut attempts = vec![
                ("append-link", "echo x >> .bashrc"),
                ("append-target", "echo x >> dotfiles/bashrc"),
                ("dangling", "echo '{}' > .mcp.json"),
                ("dangling-target", "echo '{}' > cfg/mcp.json"),
                ("mv-target-dir", "mv dotfiles d2"),
                ("append-profile", "echo x >> .profile"),
            ];
            if weaker {
                attempts.push(("repoint-link", "ln -sfn ../cfg sub/link"));
                attempts.push(("replace-link", "rm -f .bashrc && echo evil > .bashrc"));
            }
            let mut script = String::from("set +e; ");
            for (name, cmd) in &attempts {
                script.push_str(&format!(
                    "({cmd}) 2>/dev/null && echo 'ESCAPED {name}' || echo 'blocked {name}'; "
                ));
            }
            let mut st = settings(&["."]);
            if weaker {
                st["mode"] = json!("weaker");
            }
            let out = sandbox(user, &s.path, &st, &script);
            let text = ok(&out);
            let label = format!("{} weaker={weaker}", user.label());
            assert!(!text.contains("ESCAPED"), "{label}: {text}");
            assert_eq!(
                text.matches("blocked ").count(),
                attempts.len(),
                "{label}: {text}"
            );
            assert_eq!(manifest(&s.path), before, "{label}: the tree changed");
        }
    }
}
