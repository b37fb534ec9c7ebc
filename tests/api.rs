//! The library API end to end: real sandboxes started through the `srt-runc` helper from
//! std and from a multi-threaded tokio program, the enforcement report, floors, the ask
//! callback and its events, typed errors for a missing or foreign helper, timeouts and
//! kill, and the multicall agent example run as root and as the unprivileged user.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use serde_json::json;
use srt_runc::embed::{AskAnswer, Floor, Layer, Sandbox, SandboxEvent, SpawnError, Status};
use srt_runc::policy::SandboxSettings;
use srt_runc::proxy::Verdict;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The tests count this process's children and fds, so they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn settings(v: serde_json::Value) -> SandboxSettings {
    serde_json::from_value(v).unwrap()
}

fn sandbox(v: serde_json::Value) -> Sandbox {
    Sandbox::new(settings(v)).helper(env!("CARGO_BIN_EXE_srt-runc"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn connections(events: &[SandboxEvent]) -> Vec<&srt_runc::proxy::Event> {
    events
        .iter()
        .filter_map(|e| match e {
            SandboxEvent::Connection(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn std_output_runs_the_command_confined_and_reports_every_layer() {
    let _serial = serial();
    let s = Scratch::new("api-std", users()[0]);
    let w = s.path.display().to_string();
    let out = sandbox(json!({"filesystem": {"allowWrite": [w]}}))
        .command("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo in > {w}/in.txt; echo out > {w}/../api-escape.txt; echo \"pid=$$\"; cat /proc/1/comm"
        ))
        .current_dir(&s.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), 0, "{}", text(&out.stderr));
    // The shell is PID 2 under the sandbox's init (its own PID namespace).
    assert_eq!(text(&out.stdout), "pid=2\nsrt-runc\n");
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(s.join("in.txt")).unwrap(), "in\n");
    assert!(!s.path.parent().unwrap().join("api-escape.txt").exists());
    let r = &out.report;
    assert_eq!(r.mode, srt_runc::policy::Mode::Strong);
    for layer in [
        Layer::UserNamespace,
        Layer::MountNamespace,
        Layer::PidNamespace,
        Layer::NetworkNamespace,
        Layer::IpcNamespace,
        Layer::UtsNamespace,
        Layer::CgroupNamespace,
        Layer::Procfs,
        Layer::Landlock,
        Layer::LandlockScopes,
        Layer::Seccomp,
        Layer::NoNewPrivs,
        Layer::Capabilities,
        Layer::Proxy,
    ] {
        assert_eq!(r.status(layer), Status::Enforced, "{layer:?} in {r:#?}");
    }
    // The report gives the ABI the kernel offers (asked here directly), not a guess.
    let kernel_abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    assert!(kernel_abi >= 4, "this host has Landlock ABI {kernel_abi}");
    assert_eq!(i64::from(r.landlock_abi), kernel_abi, "{r:?}");
    assert!(
        r.seccomp_programs.contains(&"namespaces".to_string()),
        "{r:?}"
    );
    assert!(r.not_enforced.is_empty());
}

#[test]
fn piped_stdio_is_the_sandboxed_process_own() {
    let _serial = serial();
    let mut child = sandbox(json!({}))
        .command("tr")
        .args(["a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello through the sandbox\n").unwrap();
    drop(stdin);
    let mut got = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut got)
        .unwrap();
    assert_eq!(got, "HELLO THROUGH THE SANDBOX\n");
    let st = child.wait().unwrap();
    assert!(st.success(), "{st}");
    // Exit codes pass through; a missing program is a typed error before anything runs.
    let st = sandbox(json!({}))
        .command("sh")
        .args(["-c", "exit 7"])
        .status()
        .unwrap();
    assert_eq!(st.code(), 7);
    match sandbox(json!({})).command("no-such-program-here").status() {
        Err(SpawnError::NotFound(m)) => assert!(m.contains("no-such-program-here"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn environment_directory_and_policy_errors_behave_like_the_cli() {
    let _serial = serial();
    let s = Scratch::new("api-env", users()[0]);
    let out = sandbox(json!({}))
        .command("/bin/sh")
        .args([
            "-c",
            "echo \"$GREETING ${HOME-unset} $SANDBOX_RUNTIME\"; pwd",
        ])
        .env_clear()
        .env("GREETING", "hi")
        .current_dir(&s.path)
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        format!("hi unset 1\n{}\n", s.path.display())
    );
    // A settings file is read and validated as `srt-runc sandbox -s FILE` does.
    let file = s.join("settings.json");
    std::fs::write(
        &file,
        r#"{"network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": [], "denyRaed": []}}"#,
    )
    .unwrap();
    let err = Sandbox::from_settings_file(&file).unwrap_err();
    assert!(matches!(err, SpawnError::Policy(_)), "{err:?}");
    assert!(err.to_string().contains("filesystem.denyRaed"), "{err}");
    // A bad pattern is refused by the helper's planning, before anything runs.
    let err = sandbox(json!({"network": {"allowedDomains": ["exa mple.com"]}}))
        .command("true")
        .status()
        .unwrap_err();
    match &err {
        SpawnError::Policy(m) => assert!(m.contains("allowedDomains[0]"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// Open fds of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Children of this process, and how many of them are zombies.
fn children() -> (usize, usize) {
    let me = std::process::id().to_string();
    let mut total = 0;
    let mut zombies = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit(')').next() else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(1) == Some(&me.as_str()) {
            total += 1;
            if f[0] == "Z" {
                zombies += 1;
            }
        }
    }
    (total, zombies)
}

#[test]
fn fifty_concurrent_sandboxes_from_a_multithreaded_tokio_program() {
    let _serial = serial();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // One warm-up run: tokio's child-reaping machinery opens its fds lazily.
        let warm = sandbox(json!({})).command("true").output_async().await.unwrap();
        assert!(warm.status.success());
        let (fds_before, kids_before) = (fd_count(), children());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..50 {
            tasks.push(tokio::spawn(async move {
                let host = format!("host{i}.test");
                let out = sandbox(json!({"network": {"allowedDomains": [], "deniedDomains": [host]}}))
                    .command("/bin/sh")
                    .arg("-c")
                    .arg(format!(
                        "echo task {i}; curl -s -o /dev/null -w '%{{http_code}}' --max-time 20 http://{host}/"
                    ))
                    .output_async()
                    .await
                    .unwrap();
                (i, host, out)
            }));
        }
        for t in tasks {
            let (i, host, out) = t.await.unwrap();
            assert_eq!(text(&out.stdout), format!("task {i}\n403"), "{}", text(&out.stderr));
            assert!(out.status.success());
            let conns = connections(&out.events);
            assert_eq!(conns.len(), 1, "sandbox {i} got {:?}", out.events);
            assert_eq!(conns[0].host, host, "cross-talk: {:?}", out.events);
            assert_eq!(conns[0].decision, Verdict::Deny);
            assert_eq!(conns[0].rule.as_deref(), Some(host.as_str()));
        }
        eprintln!("50 concurrent sandboxes in {:?}", started.elapsed());
        assert_eq!(fd_count(), fds_before, "fd leak");
        assert_eq!(children(), kids_before, "process/zombie leak");
        assert_eq!(children().1, 0);
    });
}

#[test]
fn a_network_floor_refuses_a_sandbox_that_cannot_confine_the_network() {
    let _serial = serial();
    let s = Scratch::new("api-floor", users()[0]);
    let w = s.path.display().to_string();
    let marker = s.join("ran");
    let base = sandbox(json!({"filesystem": {"allowWrite": [w]}}))
        .weaker()
        .require(Floor::Network);
    // Landlock ABI 3 has no TCP rules: weaker mode cannot confine the network then.
    let err = base
        .clone()
        .limit_landlock_abi(3)
        .command("touch")
        .arg(&marker)
        .status()
        .unwrap_err();
    match &err {
        SpawnError::Floor { layer, reason } => {
            assert_eq!(*layer, Floor::Network);
            assert!(
                reason.contains("Landlock ABI 3 has no TCP rules"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "required layer 'network' cannot be enforced: NetworkNamespace is unavailable: weaker mode runs without namespaces; LandlockNetwork is unavailable: Landlock ABI 3 has no TCP rules (ABI 4): outbound TCP is not confined; the command was not started"
    );
    assert!(!marker.exists(), "the command must not run");
    // Without the limit this kernel (ABI >= 4) confines TCP and the command runs; the
    // report lists what weaker mode leaves open.
    let out = base.command("touch").arg(&marker).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(marker.exists());
    assert_eq!(out.report.status(Layer::LandlockNetwork), Status::Enforced);
    assert!(matches!(
        out.report.status(Layer::PidNamespace),
        Status::Unavailable { .. }
    ));
    assert!(
        out.report
            .not_enforced
            .iter()
            .any(|n| n.contains("host PIDs are visible")),
        "{:?}",
        out.report.not_enforced
    );
    // Nothing about weaker mode leaks onto the command's stderr: it is in the report.
    assert_eq!(text(&out.stderr), "");
    // A pid floor fails in weaker mode whatever the kernel.
    let err = sandbox(json!({}))
        .weaker()
        .require(Floor::Pid)
        .command("true")
        .status();
    assert!(
        matches!(
            err,
            Err(SpawnError::Floor {
                layer: Floor::Pid,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn the_ask_callback_allows_denies_and_times_out_into_a_denial() {
    let _serial = serial();
    let port = http_server("upstream says hi");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The hosts are on no list; they resolve to host loopback, which the address
        // guard lets through only because 127.0.0.1 on this port is itself allowed.
        let policy = json!({"network": {
            "allowedDomains": [format!("127.0.0.1:{port}")],
            "deniedDomains": [],
            "resolve": {"yes.test": ["127.0.0.1"], "no.test": ["127.0.0.1"], "slow.test": ["127.0.0.1"]}
        }});
        let out = sandbox(policy)
            .on_ask(|req| async move {
                match req.host.as_str() {
                    "yes.test" => AskAnswer::Allow,
                    "slow.test" => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        AskAnswer::Allow
                    }
                    _ => AskAnswer::Deny(format!("{}:{} is not for this task", req.host, req.port)),
                }
            })
            .ask_timeout(Duration::from_millis(500))
            .command("/bin/sh")
            .arg("-c")
            .arg(format!(
                "for h in yes no slow; do curl -s -w \" $h=%{{http_code}}\\n\" --max-time 20 http://$h.test:{port}/; done"
            ))
            .output_async()
            .await
            .unwrap();
        let stdout = text(&out.stdout);
        assert!(stdout.contains("upstream says hi yes=200\n"), "{stdout}");
        assert!(stdout.contains(" no=403\n"), "{stdout}");
        assert!(stdout.contains(" slow=403\n"), "{stdout}");
        let conns = connections(&out.events);
        let by_host = |h: &str| {
            conns
                .iter()
                .find(|c| c.host == h)
                .unwrap_or_else(|| panic!("no event for {h}: {:?}", out.events))
        };
        assert_eq!(by_host("yes.test").decision, Verdict::Allow);
        let no = by_host("no.test");
        assert_eq!(no.decision, Verdict::Deny);
        assert_eq!(no.reason, format!("no.test:{port} is not for this task"));
        let slow = by_host("slow.test");
        assert_eq!(slow.decision, Verdict::Deny);
        assert!(slow.reason.contains("ask hook timed out"), "{}", slow.reason);
        let asked: Vec<&str> = out
            .events
            .iter()
            .filter_map(|e| match e {
                SandboxEvent::Asked { host, .. } => Some(host.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(asked, ["yes.test", "no.test", "slow.test"]);
    });
    drop(rt);
    // The std flavour runs the (async) callback without the caller having a runtime.
    let out = sandbox(json!({"network": {
        "allowedDomains": [format!("127.0.0.1:{port}")],
        "deniedDomains": [],
        "resolve": {"yes.test": ["127.0.0.1"]}
    }}))
    .on_ask(|req| async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if req.host == "yes.test" {
            AskAnswer::Allow
        } else {
            AskAnswer::Deny("no".into())
        }
    })
    .command("curl")
    .args([
        "-s",
        "--max-time",
        "20",
        &format!("http://yes.test:{port}/"),
    ])
    .output()
    .unwrap();
    assert_eq!(text(&out.stdout), "upstream says hi");
    assert!(
        out.events.contains(&SandboxEvent::Answered {
            host: "yes.test".into(),
            port,
            allow: true,
            reason: "allowed by the ask callback".into()
        }),
        "{:?}",
        out.events
    );
}

#[test]
fn events_arrive_live_while_the_command_runs() {
    let _serial = serial();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut child =
            sandbox(json!({"network": {"allowedDomains": [], "deniedDomains": ["live.test"]}}))
                .command("/bin/sh")
                .args([
                    "-c",
                    "curl -s -o /dev/null --max-time 20 http://live.test/; sleep 30",
                ])
                .spawn_async()
                .await
                .unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(20), child.events().recv())
            .await
            .expect("no event while the command runs")
            .unwrap();
        match ev {
            SandboxEvent::Connection(c) => {
                assert_eq!(
                    (c.host.as_str(), c.port, c.decision),
                    ("live.test", 80, Verdict::Deny)
                );
                assert_eq!(c.rule.as_deref(), Some("live.test"));
            }
            other => panic!("{other:?}"),
        }
        // The command is still sleeping: the event came live, not at exit.
        child.kill().unwrap();
        let st = child.wait().await.unwrap();
        assert_eq!(st.code(), 128 + libc::SIGKILL);
        assert!(
            child.events().recv().await.is_none(),
            "the stream ends with the sandbox"
        );
    });
}

#[test]
fn a_missing_or_foreign_helper_is_a_typed_error_naming_it() {
    let _serial = serial();
    let missing = PathBuf::from("/nonexistent/srt-runc");
    match Sandbox::new(settings(json!({})))
        .helper(&missing)
        .command("true")
        .status()
    {
        Err(SpawnError::HelperNotFound { looked_for }) => assert_eq!(looked_for, vec![missing]),
        other => panic!("{other:?}"),
    }
    // A binary that never says hello.
    match Sandbox::new(settings(json!({})))
        .helper("/bin/true")
        .command("true")
        .status()
    {
        Err(e @ SpawnError::HelperMismatch { .. }) => {
            assert!(
                e.to_string()
                    .starts_with("/bin/true: not a compatible srt-runc helper"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A helper of another version.
    let s = Scratch::new("api-helper", unprivileged());
    let fake = s.join("srt-runc");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf '{\"type\":\"hello\",\"protocol\":1,\"version\":\"0.0.0-other\"}\\n' >&\"$2\"\nsleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = Instant::now();
    match Sandbox::new(settings(json!({})))
        .helper(&fake)
        .command("true")
        .status()
    {
        Err(SpawnError::HelperMismatch { path, found, .. }) => {
            assert_eq!(path, fake);
            assert_eq!(found, "protocol 1 version 0.0.0-other");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the stranger is killed, not waited for"
    );
}

#[test]
fn timeouts_and_kill_end_the_whole_sandbox() {
    let _serial = serial();
    // In both modes the background process dies with the command.
    for (sb, marker) in [
        (sandbox(json!({})), "31.25"),
        (sandbox(json!({})).weaker(), "31.75"),
    ] {
        let t = Instant::now();
        let st = sb
            .command("/bin/sh")
            .args(["-c", &format!("sleep {marker} & sleep {marker}")])
            .timeout(Duration::from_millis(300))
            .status()
            .unwrap();
        assert!(st.timed_out(), "{st}");
        assert_eq!(st.code(), 128 + libc::SIGKILL);
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(
            processes_running(&format!("sleep\0{marker}")),
            0,
            "sleep {marker} survived"
        );
    }
    // Also while the output is being collected, in both flavours: the background
    // sleep holds stdout open until the sandbox is killed.
    let t = Instant::now();
    let out = sandbox(json!({}))
        .command("/bin/sh")
        .args(["-c", "echo started; sleep 30 & sleep 30"])
        .timeout(Duration::from_millis(300))
        .output()
        .unwrap();
    assert!(out.status.timed_out(), "{}", out.status);
    assert_eq!(text(&out.stdout), "started\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt
        .block_on(
            sandbox(json!({}))
                .command("/bin/sh")
                .args(["-c", "echo started; sleep 30 & sleep 30"])
                .timeout(Duration::from_millis(300))
                .output_async(),
        )
        .unwrap();
    assert!(out.status.timed_out(), "{}", out.status);
    assert_eq!(text(&out.stdout), "started\n");
    drop(rt);
    assert!(t.elapsed() < Duration::from_secs(10));
    let mut c = sandbox(json!({}))
        .command("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    assert!(c.try_wait().unwrap().is_none());
    c.kill().unwrap();
    let st = c.wait().unwrap();
    assert_eq!(st.code(), 128 + libc::SIGKILL);
    assert!(!st.timed_out());
    assert_eq!(children().0, 0, "no helper or sandbox process left");
}

/// How many processes on the host have `needle` in their command line (NUL-separated).
fn processes_running(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

/// The example agent, copied where the unprivileged user can run it.
fn agent_binary(dir: &Path) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"))
        .parent()
        .unwrap()
        .join("examples/agent");
    assert!(
        src.exists(),
        "{} missing: cargo test builds examples",
        src.display()
    );
    let to = dir.join("agent");
    std::fs::copy(&src, &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    to
}

#[test]
fn the_example_agent_runs_three_tool_calls_as_root_and_unprivileged() {
    let _serial = serial();
    for user in users() {
        let s = Scratch::new("api-agent", user);
        std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = agent_binary(&s.path);
        let work = s.join("work");
        std::fs::create_dir(&work).unwrap();
        chown(&work, user);
        let mut cmd = std::process::Command::new(&bin);
        cmd.arg(&work).current_dir(&work).stdin(Stdio::null());
        if !user.is_root() {
            use std::os::unix::process::CommandExt;
            cmd.uid(user.uid).gid(user.gid).env("HOME", "/nonexistent");
        }
        let out = cmd.output().unwrap();
        let o = text(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {o}\n{}",
            user.label(),
            text(&out.stderr)
        );
        for want in [
            "stdout: notes\n",
            "stdout: writing /etc refused\n",
            "stdout: blocked.example 403\n",
            "stdout: unknown.example 403\n",
            "network: Deny blocked.example:80 (denied by rule blocked.example)\n",
            "asked: unknown.example:80\n",
            "network: Deny unknown.example:80 (the agent does not know unknown.example)\n",
            "stdout: weaker\n",
            "stdout: writing .bashrc refused\n",
            "mode: Weaker\n",
            "layer PidNamespace: unavailable: weaker mode runs without namespaces\n",
            "not enforced: host PIDs are visible",
        ] {
            assert!(
                o.contains(want),
                "{}: missing {want:?} in\n{o}",
                user.label()
            );
        }
        assert_eq!(
            o.matches("layer NetworkNamespace: enforced\n").count(),
            2,
            "{o}"
        );
        // Call 1 wrote notes.txt; call 3 (weaker mode) rewrote it but not .bashrc.
        assert_eq!(
            std::fs::read_to_string(work.join("notes.txt")).unwrap(),
            "weaker\n"
        );
        assert!(!work.join(".bashrc").exists());
        assert!(!Path::new("/etc/agent-was-here").exists());
    }
}

#[test]
fn wait_timeout_env_remove_and_the_helper_variable() {
    let _serial = serial();
    // wait_timeout: None while the command runs, its status once it ends.
    let mut c = sandbox(json!({}))
        .command("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let t = Instant::now();
    assert!(c
        .wait_timeout(Duration::from_millis(300))
        .unwrap()
        .is_none());
    assert!(t.elapsed() >= Duration::from_millis(300));
    c.kill().unwrap();
    let st = c
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("the killed sandbox ends");
    assert_eq!(st.code(), 128 + libc::SIGKILL);
    let mut c = sandbox(json!({}))
        .command("sh")
        .args(["-c", "exit 4"])
        .spawn()
        .unwrap();
    let st = c.wait_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(st.map(|s| s.code()), Some(4));
    // env_remove drops a variable the caller has and one set on the builder.
    assert!(
        std::env::var_os("HOME").is_some(),
        "the test needs HOME set"
    );
    let out = sandbox(json!({}))
        .command("/bin/sh")
        .args(["-c", "echo ${HOME-unset} ${EXTRA-unset} $KEPT"])
        .env("EXTRA", "x")
        .env("KEPT", "kept")
        .env_remove("EXTRA")
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "unset unset kept\n",
        "{}",
        text(&out.stderr)
    );
    // Without .helper(), $SRT_RUNC_HELPER is the first place looked: pointed at a
    // stranger, the spawn names that stranger.
    let s = Scratch::new("api-helper-var", users()[0]);
    let fake = s.join("srt-runc");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("SRT_RUNC_HELPER", &fake);
    let r = Sandbox::new(settings(json!({}))).command("true").status();
    std::env::remove_var("SRT_RUNC_HELPER");
    match r {
        Err(SpawnError::HelperMismatch { path, .. }) => assert_eq!(path, fake),
        other => panic!("{other:?}"),
    }
}
