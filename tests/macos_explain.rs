//! `srt-runc explain --platform macos BUNDLE` prints the Seatbelt profile on any OS.

mod macos_support;

use std::process::Command;

#[test]
fn explain_prints_a_valid_profile_with_its_parameters() {
    let dir = std::env::temp_dir().join(format!("srt-runc-macos-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"ociVersion":"1.0.2","root":{"path":"/"},
            "process":{"args":["/bin/sh"],"cwd":"/Users/u/proj","user":{"uid":501,"gid":20}},
            "sandbox":{"filesystem":{"denyRead":["/Users/u/.ssh"],"allowWrite":["/Users/u/proj"]},
                       "network":{"allowedDomains":["example.com"]}}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_srt-runc"))
        .args(["explain", "--platform", "macos"])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let params: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(";   -D "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(params.contains(&("READ_DENY_0".into(), "/Users/u/.ssh".into())));
    macos_support::check(
        &text,
        &macos_support::Expect {
            tag: "SRT_RUNC_EXPLAIN",
            params: &params,
            unrestricted_write: false,
        },
    )
    .unwrap();
    assert!(text.contains("(remote ip \"localhost:3128\")"));
}

#[test]
fn unknown_platform_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_srt-runc"))
        .args(["explain", "--platform", "windows", "."])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("windows"));
}
