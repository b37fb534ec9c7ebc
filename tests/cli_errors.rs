//! Bad input at every CLI entry point: one line on stderr naming what is wrong (and,
//! where there is one, the fix), the documented exit status (125 for `run`/`explain`
//! setup errors, 1 for the runc-compatible commands and srt settings), and nothing left
//! in the state root or the bundle.
#![cfg(target_os = "linux")]

mod common;
use common::*;

#[test]
fn every_entry_point_rejects_bad_input_in_one_line() {
    let s = Scratch::new("cli-errors", root_user());
    let bad = s.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("config.json"), "{\"ociVersion\": \"1.0.2\", ").unwrap();
    let none = s.join("none");
    let root = s.join("state");
    std::fs::create_dir_all(&root).unwrap();
    let (b, n) = (bad.display().to_string(), none.display().to_string());
    let malformed = "malformed JSON: EOF while parsing a value; fix the syntax";
    let missing_settings = format!("{n}.json");
    let spec_dir = format!("{n}/x");
    let bad_settings = format!("{b}/config.json");
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec!["run", &b],
            125,
            format!("{b}/config.json: line 1 column 24: {malformed}"),
        ),
        (
            vec!["run", &n],
            125,
            format!("{n}/config.json: file: cannot read"),
        ),
        (
            vec!["explain", &b],
            125,
            format!("{b}/config.json: line 1 column 24"),
        ),
        (
            vec!["create", "--bundle", &b, "c1"],
            1,
            malformed.to_string(),
        ),
        (
            vec!["start", "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (
            vec!["state", "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (vec!["kill", "nosuch"], 1, "container does not exist".into()),
        (
            vec!["kill", "nosuch", "SIGBOGUS"],
            1,
            "unknown signal \"SIGBOGUS\"".into(),
        ),
        (
            vec!["delete", "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (
            vec!["exec", "nosuch", "true"],
            1,
            "container does not exist".into(),
        ),
        (vec!["ps", "nosuch"], 1, "container does not exist".into()),
        (
            vec!["pause", "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (
            vec!["resume", "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (
            vec!["update", "--resources", &n, "nosuch"],
            1,
            "container does not exist".into(),
        ),
        (
            vec!["spec", "--bundle", &spec_dir],
            1,
            "no such file or directory".into(),
        ),
        (
            vec!["list", "--format", "bogus"],
            1,
            "invalid format option \"bogus\"; use table or json".into(),
        ),
        (
            vec!["sandbox", "-s", &missing_settings, "-c", "true"],
            1,
            format!("{missing_settings}: settings file not found; check the -s path"),
        ),
        (
            vec!["sandbox", "-s", &bad_settings, "-c", "true"],
            1,
            malformed.to_string(),
        ),
        (
            vec!["connect", "example.com", "80", "--proxy", "127.0.0.1:1"],
            1,
            "Connection refused".into(),
        ),
    ];
    for (args, code, want) in cases {
        let mut full = vec!["--root", root.to_str().unwrap()];
        full.extend(args.iter().copied());
        let out = srt_cmd(root_user(), &full).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line expected: {err}");
        assert!(err.starts_with("srt-runc"), "{args:?}: {err}");
        assert!(err.contains(&want), "{args:?}: expected {want:?} in: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}: nothing on stdout");
    }
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "state left behind: {left:?}");
    let mut bundle: Vec<_> = std::fs::read_dir(&bad)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    bundle.sort();
    assert_eq!(
        bundle,
        vec![std::ffi::OsString::from("config.json")],
        "the bundle gained files"
    );
    assert!(!none.exists(), "a missing bundle must not be created");
}
