use super::*;
use crate::policy::oci::parse_config;
use std::path::Path;

fn policy(json: &str) -> Policy {
    parse_config(json, "config.json", Path::new("/tmp")).unwrap()
}

const BASE: &str = r#"{"ociVersion":"1.0.2","root":{"path":"/","readonly":true},
  "process":{"args":["/bin/true"],"cwd":"/","user":{"uid":0,"gid":0}}"#;

#[test]
fn default_plan_has_all_namespaces_proc_and_dev() {
    let p = policy(&format!("{BASE}}}"));
    let plan = build(
        &p,
        Caller {
            euid: 1000,
            egid: 1000,
        },
    )
    .unwrap();
    assert_eq!(plan.namespaces, STRONG_NAMESPACES);
    assert_eq!(plan.mounts[0].dest, PathBuf::from("/proc"));
    assert!(matches!(plan.mounts[0].kind, StepKind::Proc));
    assert!(plan.mounts.iter().any(|m| m.kind == StepKind::DevNodes));
    assert_eq!(
        plan.seccomp.builtin,
        vec!["guard", "default", "clone3", "namespaces"]
    );
    assert!(matches!(plan.network, NetworkPlan::Isolated));
    // Root read-only: only /dev-ish mounts are writable.
    assert!(!plan.landlock.writable.contains(&PathBuf::from("/")));
    assert!(plan.landlock.writable.contains(&PathBuf::from("/dev")));
}

#[test]
fn unprivileged_maps_single_ids_and_denies_setgroups() {
    let p = policy(&format!("{BASE}}}"));
    let plan = build(
        &p,
        Caller {
            euid: 1000,
            egid: 1001,
        },
    )
    .unwrap();
    assert_eq!(
        plan.id_maps.uid,
        vec![IdMap {
            inside: 0,
            outside: 1000,
            count: 1
        }]
    );
    assert_eq!(
        plan.id_maps.gid,
        vec![IdMap {
            inside: 0,
            outside: 1001,
            count: 1
        }]
    );
    assert!(plan.id_maps.deny_setgroups);
    let root = build(&p, Caller { euid: 0, egid: 0 }).unwrap();
    assert!(!root.id_maps.deny_setgroups);
    assert_eq!(root.id_maps.uid[0].count, u32::MAX);
}

#[test]
fn sandbox_order_write_then_denywrite_then_denyread() {
    let dir = std::env::temp_dir().join(format!("srt-plan-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("proj/.git")).unwrap();
    std::fs::create_dir_all(dir.join("secret")).unwrap();
    let json = format!(
        r#"{BASE},"sandbox":{{"filesystem":{{"allowWrite":["{d}/proj","{d}/missing"],"denyWrite":["{d}/proj/.git"],"denyRead":["{d}/secret"]}}}}}}"#,
        d = dir.display()
    );
    let p = policy(&json);
    let plan = build(&p, Caller { euid: 0, egid: 0 }).unwrap();
    let origins: Vec<&str> = plan
        .mounts
        .iter()
        .map(|m| m.origin.as_str())
        .filter(|o| o.starts_with("sandbox"))
        .collect();
    assert_eq!(
        origins,
        vec![
            "sandbox.filesystem.allowWrite",
            "sandbox.filesystem.denyWrite",
            "sandbox.filesystem.denyRead"
        ]
    );
    assert!(plan.landlock.writable.contains(&dir.join("proj")));
    assert!(!plan
        .landlock
        .writable
        .iter()
        .any(|p| p.ends_with("missing")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_inputs_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"root":{"path":"/"},"process":{"args":["x"],"cwd":"/"}"#,
            "malformed JSON",
        ),
        (
            &format!(r#"{BASE},"sandbox":{{"filesystem":{{"denyRaed":[]}}}}}}"#),
            "sandbox.filesystem.denyRaed",
        ),
        (
            r#"{"root":{"path":"no-such-rootfs"},"process":{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0}}}"#,
            "root.path",
        ),
        (
            r#"{"root":{"path":"/"},"process":{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0},"rlimits":[{"type":"RLIMIT_BOGUS","soft":1,"hard":1}]}}"#,
            "process.rlimits[0].type",
        ),
        (
            r#"{"root":{"path":"/"},"mounts":[{"destination":"/x","type":"ext4","source":"/dev/sda"}],"process":{"args":["x"],"cwd":"/","user":{"uid":0,"gid":0}}}"#,
            "mounts[0].type",
        ),
        (r#"{"root":{"path":"/"}}"#, "process"),
        (
            &format!(r#"{BASE},"sandbox":{{"network":{{"tlsTerminate":{{}}}}}}}}"#),
            "not supported by srt-runc",
        ),
    ];
    for (json, want) in cases {
        let err = parse_config(json, "config.json", Path::new("/tmp"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
        assert!(err.starts_with("config.json: "), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn explain_mentions_every_layer() {
    let p = policy(&format!("{BASE}}}"));
    let plan = build(&p, Caller { euid: 0, egid: 0 }).unwrap();
    let text = render_text(&plan);
    for w in [
        "namespaces:",
        "landlock:",
        "seccomp:",
        "network:",
        "/proc",
        "/dev/pts",
    ] {
        assert!(text.contains(w), "{w} missing in\n{text}");
    }
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["mode"], "strong");
}
