//! The `sandbox-exec` command line, the command's environment, and the parsing of
//! sandbox denials from `log stream --style ndjson`.

use srt_runc::macos::monitor::{ignored, log_stream_args, parse_line, LOG};
use srt_runc::macos::{launch, LogTag, Profile, SANDBOX_EXEC};
use srt_runc::policy::ProcessSpec;
use std::collections::BTreeMap;

fn profile() -> Profile {
    Profile {
        text: "(version 1)\n(deny default)\n".into(),
        params: vec![("READ_DENY_0".into(), "/Users/u/.ssh".into())],
    }
}

fn env<'a>(l: &'a srt_runc::macos::Launch, k: &str) -> Option<&'a str> {
    l.env
        .iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
}

#[test]
fn sandbox_exec_argv_is_absolute_and_ends_options_before_the_command() {
    let mut p = ProcessSpec::new(vec!["-rf".into(), "x".into()]);
    p.cwd = "/Users/u/proj".into();
    let l = launch(
        &profile(),
        &p,
        None,
        Some("/private/tmp/t"),
        "/opt/srt-runc",
    );
    assert_eq!(l.program, "/usr/bin/sandbox-exec");
    assert_eq!(SANDBOX_EXEC, l.program);
    assert_eq!(
        l.args,
        vec![
            "-p",
            "(version 1)\n(deny default)\n",
            "-D",
            "READ_DENY_0=/Users/u/.ssh",
            "--",
            "-rf",
            "x"
        ]
    );
    assert_eq!(l.cwd, "/Users/u/proj");
    assert_eq!(env(&l, "SANDBOX_RUNTIME"), Some("1"));
    assert_eq!(env(&l, "TMPDIR"), Some("/private/tmp/t"));
    assert_eq!(
        env(&l, "HTTP_PROXY"),
        None,
        "no proxy without a network policy"
    );
}

#[test]
fn proxy_environment_points_at_the_random_port() {
    let mut p = ProcessSpec::new(vec!["curl".into()]);
    p.env.push("HTTP_PROXY=http://evil:1".into());
    p.env.push("KEEP=me".into());
    let l = launch(&profile(), &p, Some(49152), None, "/opt/srt-runc");
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "GRPC_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "grpc_proxy",
        "DOCKER_HTTP_PROXY",
        "DOCKER_HTTPS_PROXY",
    ] {
        assert_eq!(env(&l, k), Some("http://127.0.0.1:49152"), "{k}");
    }
    assert_eq!(env(&l, "FTP_PROXY"), Some("socks5h://127.0.0.1:49152"));
    assert_eq!(env(&l, "RSYNC_PROXY"), Some("127.0.0.1:49152"));
    assert_eq!(env(&l, "NO_PROXY"), Some("localhost,127.0.0.1,::1"));
    assert_eq!(env(&l, "KEEP"), Some("me"));
    assert_eq!(l.env.iter().filter(|(k, _)| k == "HTTP_PROXY").count(), 1);
    let ssh = env(&l, "GIT_SSH_COMMAND").unwrap();
    assert!(ssh.contains("ProxyCommand='/opt/srt-runc connect --proxy 127.0.0.1:49152 %h %p'"));
}

fn tag() -> LogTag {
    LogTag::new("SRT_RUNC_abc123").unwrap()
}

#[test]
fn log_stream_is_absolute_ndjson_and_filtered_by_tag() {
    assert_eq!(LOG, "/usr/bin/log");
    let a = log_stream_args(&tag());
    assert_eq!(a[..3], ["stream", "--style", "ndjson"]);
    assert_eq!(a[3], "--predicate");
    assert_eq!(a[4], "eventMessage CONTAINS \"SRT_RUNC_abc123\"");
}

fn line(msg: &str) -> String {
    serde_json::json!({
        "timestamp": "2025-01-02 03:04:05.678901+0000",
        "eventMessage": msg,
        "processID": 0,
    })
    .to_string()
}

#[test]
fn denials_are_parsed_into_events() {
    let v = parse_line(
        &line("Sandbox: cat(4242) deny(1) file-read-data /Users/u/.ssh/id_ed25519 SRT_RUNC_abc123"),
        &tag(),
    )
    .unwrap();
    assert_eq!(v.process, "cat");
    assert_eq!(v.pid, 4242);
    assert_eq!(v.operation, "file-read-data");
    assert_eq!(v.target, "/Users/u/.ssh/id_ed25519");
    assert_eq!(v.timestamp, "2025-01-02 03:04:05.678901+0000");

    let v = parse_line(
        &line("Sandbox: curl(7) deny(1) network-outbound 93.184.216.34:443 SRT_RUNC_abc123"),
        &tag(),
    )
    .unwrap();
    assert_eq!(v.operation, "network-outbound");
    assert_eq!(v.target, "93.184.216.34:443");

    // A process name with spaces and parentheses-free older format without a count.
    let v = parse_line(
        &line("Sandbox: Python Helper(9) deny mach-lookup com.apple.x SRT_RUNC_abc123"),
        &tag(),
    )
    .unwrap();
    assert_eq!(v.process, "Python Helper");
    assert_eq!(v.operation, "mach-lookup");

    let v = parse_line(
        &line("Sandbox: Helper (GPU)(12) deny(1) iokit-open AGXDevice SRT_RUNC_abc123"),
        &tag(),
    )
    .unwrap();
    assert_eq!((v.process.as_str(), v.pid), ("Helper (GPU)", 12));
}

#[test]
fn other_runs_noise_and_junk_are_dropped() {
    let t = tag();
    assert!(parse_line(
        &line("Sandbox: cat(1) deny(1) file-read-data /x SRT_RUNC_other"),
        &t
    )
    .is_none());
    assert!(parse_line(
        &line("Sandbox: mDNSResponder(1) deny(1) network-outbound /x SRT_RUNC_abc123"),
        &t
    )
    .is_none());
    assert!(parse_line(
        &line("Sandbox: x(1) deny(1) mach-lookup com.apple.diagnosticd SRT_RUNC_abc123"),
        &t
    )
    .is_none());
    assert!(parse_line("not json", &t).is_none());
    assert!(parse_line("{\"eventMessage\": 5}", &t).is_none());
    assert!(parse_line(&line("SRT_RUNC_abc123 but no sandbox prefix"), &t).is_none());
    assert!(parse_line(&line("Sandbox: x(notapid) deny(1) op SRT_RUNC_abc123"), &t).is_none());
}

#[test]
fn ignore_violations_follows_srt() {
    let v = parse_line(
        &line(
            "Sandbox: node(3) deny(1) file-write-create /Users/u/.npm/_cacache/x SRT_RUNC_abc123",
        ),
        &tag(),
    )
    .unwrap();
    let mut rules = BTreeMap::new();
    rules.insert("*".to_string(), vec!["/.npm/".to_string()]);
    assert!(ignored(&v, &rules, "anything"));
    let mut rules = BTreeMap::new();
    rules.insert("npm install".to_string(), vec!["_cacache".to_string()]);
    assert!(ignored(&v, &rules, "npm install left-pad"));
    assert!(!ignored(&v, &rules, "cargo build"));
    assert!(!ignored(&v, &BTreeMap::new(), "npm install"));
}
