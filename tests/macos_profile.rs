//! Seatbelt profiles generated from policies: golden files for a table of policies
//! (`UPDATE_GOLDEN=1 cargo test --test macos_profile` rewrites them), a syntax and
//! sanity check of every generated profile, and what the key rules match.

mod macos_support;

use macos_support::{check, Expect, Rule, Sx};
use srt_runc::macos::{generate, LogTag, Profile, ProfileOptions};
use srt_runc::policy::oci::parse_config;
use srt_runc::policy::Policy;
use std::path::{Path, PathBuf};

const TAG: &str = "SRT_RUNC_TEST";
const PORT: u16 = 40000;
const TMP: &str = "/private/var/folders/xy/T/srt-runc-TEST";

fn policy(sandbox: &str) -> Policy {
    let sandbox = if sandbox.is_empty() {
        String::new()
    } else {
        format!(r#","sandbox":{sandbox}"#)
    };
    let json = format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"/"}},
        "process":{{"args":["/bin/sh","-c","make"],"cwd":"/Users/u/proj","user":{{"uid":501,"gid":20}}}}{sandbox}}}"#
    );
    parse_config(&json, "config.json", Path::new("/Users/u/bundle")).unwrap()
}

fn profile_for(p: &Policy) -> Profile {
    let opts = ProfileOptions {
        log_tag: LogTag::new(TAG).unwrap(),
        proxy_port: p.sandbox.network.as_ref().map(|_| PORT),
        tmp_dir: Some(TMP.to_string()),
    };
    generate(p, &opts).unwrap()
}

fn checked(p: &Policy) -> (Profile, Vec<Rule>) {
    let prof = profile_for(p);
    let disabled = p
        .sandbox
        .filesystem
        .as_ref()
        .and_then(|f| f.disabled)
        .unwrap_or(false);
    let rules = check(
        &prof.text,
        &Expect {
            tag: TAG,
            params: &prof.params,
            unrestricted_write: disabled,
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", prof.text));
    (prof, rules)
}

fn many_paths(n: usize) -> String {
    let v: Vec<String> = (0..n)
        .map(|i| format!("\"/Users/u/secret-{i:03}.d\""))
        .collect();
    format!(r#"{{"filesystem":{{"denyRead":[{}]}}}}"#, v.join(","))
}

/// (golden name, `"sandbox"` JSON or "" for none)
fn table() -> Vec<(&'static str, String)> {
    let s = |x: &str| x.to_string();
    vec![
        ("empty", s("")),
        (
            "read_deny",
            s(r#"{"filesystem":{"denyRead":["/Users/u/.ssh","/Users/u/.aws/credentials"]}}"#),
        ),
        (
            "read_allow",
            s(
                r#"{"filesystem":{"denyRead":["/Users/u","/Users/u/proj/.env"],"allowRead":["/Users/u/proj"]}}"#,
            ),
        ),
        (
            "write_allow",
            s(r#"{"filesystem":{"allowWrite":["/Users/u/proj","/tmp/build"]}}"#),
        ),
        (
            "write_deny",
            s(
                r#"{"filesystem":{"allowWrite":["/Users/u/proj"],"denyWrite":["/Users/u/proj/secrets","/Users/u/proj/ci.yml"]}}"#,
            ),
        ),
        (
            "globs",
            s(
                r#"{"filesystem":{"denyRead":["/Users/u/**/*.pem","/Users/u/[user-id]/x",{"path":"/Users/u/a[1]","literal":true}],"allowWrite":["/Users/u/proj/out-*"],"denyWrite":["/Users/u/proj/**/*.lock"]}}"#,
            ),
        ),
        (
            "mandatory_allow_git_config",
            s(r#"{"filesystem":{"allowWrite":["/Users/u/proj"],"allowGitConfig":true}}"#),
        ),
        (
            "network_allow_list",
            s(
                r#"{"network":{"allowedDomains":["example.com","*.github.com"],"deniedDomains":["evil.example.com"]}}"#,
            ),
        ),
        (
            "unix_sockets",
            s(
                r#"{"network":{"allowedDomains":[],"allowUnixSockets":["/var/run/docker.sock","/Users/u/.ssh/agent.sock"]}}"#,
            ),
        ),
        (
            "all_unix_sockets",
            s(r#"{"network":{"allowedDomains":[],"allowAllUnixSockets":true}}"#),
        ),
        (
            "local_binding",
            s(r#"{"network":{"allowedDomains":["example.com"],"allowLocalBinding":true}}"#),
        ),
        (
            "mach_lookup_no_pty",
            s(
                r#"{"allowPty":false,"network":{"allowedDomains":[],"allowMachLookup":["com.example.svc","com.example.prefix.*"]}}"#,
            ),
        ),
        ("disabled", s(r#"{"filesystem":{"disabled":true}}"#)),
        ("many_paths", many_paths(60)),
    ]
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/macos")
}

#[test]
fn golden_profiles() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, sandbox) in table() {
        let p = policy(&sandbox);
        let (prof, _) = checked(&p);
        let got = prof.render();
        let path = golden_dir().join(format!("{name}.sb"));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(_) => failures.push(format!("{name}: differs from {}", path.display())),
            Err(e) => failures.push(format!("{name}: {}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(re-run with UPDATE_GOLDEN=1 to accept the new output)",
        failures.join("\n")
    );
}

/// The (action, ops) positions of rules, for ordering asserts.
fn position(rules: &[Rule], action: &str, op: &str) -> Vec<usize> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, (a, ops, _))| a == action && ops.iter().any(|o| o == op))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn rule_order_makes_denies_win() {
    let p = policy(
        r#"{"filesystem":{"denyRead":["/Users/u/.ssh"],"allowWrite":["/Users/u/proj"],"denyWrite":["/Users/u/proj/x"]}}"#,
    );
    let (_, rules) = checked(&p);
    let read_allow = position(&rules, "allow", "file-read*");
    let read_deny = position(&rules, "deny", "file-read*");
    let write_allow = position(&rules, "allow", "file-write*");
    let write_deny = position(&rules, "deny", "file-write*");
    let unlink = position(&rules, "deny", "file-write-unlink");
    assert!(read_allow.iter().min() < read_deny.iter().min());
    assert!(write_allow.iter().max() < write_deny.iter().min());
    assert!(write_allow.iter().max() < unlink.iter().min());
}

#[test]
fn no_network_section_means_no_network_rules() {
    let (prof, rules) = checked(&policy(""));
    assert!(position(&rules, "allow", "network-outbound").is_empty());
    assert!(position(&rules, "allow", "network-bind").is_empty());
    assert!(!prof.text.contains("remote ip"));
}

#[test]
fn network_allows_only_the_proxy_port() {
    let (prof, _) = checked(&policy(r#"{"network":{"allowedDomains":["example.com"]}}"#));
    assert!(prof
        .text
        .contains(&format!("(remote ip \"localhost:{PORT}\")")));
    assert_eq!(prof.text.matches("(remote ip").count(), 1);
    assert!(!prof.text.contains("(local ip"));
}

#[test]
fn network_without_a_port_is_an_error() {
    let p = policy(r#"{"network":{"allowedDomains":["example.com"]}}"#);
    let opts = ProfileOptions {
        log_tag: LogTag::new(TAG).unwrap(),
        proxy_port: None,
        tmp_dir: None,
    };
    assert!(generate(&p, &opts).is_err());
}

#[test]
fn paths_travel_as_parameters_not_profile_text() {
    let weird = r#"/Users/u/we\"ird (dir) \\ x"#;
    let p = policy(&format!(
        r#"{{"filesystem":{{"denyRead":["{weird}"],"allowWrite":["/Users/u/proj"]}}}}"#
    ));
    let (prof, _) = checked(&p);
    let decoded: String = serde_json::from_str(&format!("\"{weird}\"")).unwrap();
    assert!(prof.params.iter().any(|(_, v)| v == &decoded));
    assert!(!prof.text.contains("we\"ird"));
    assert!(!prof.text.contains("/Users/u/proj\""));
    let args = prof.sandbox_exec_args();
    assert_eq!(args[0], "-p");
    assert!(args.contains(&format!("READ_DENY_0={decoded}")));
}

#[test]
fn globs_with_quotes_are_escaped_in_regex_strings() {
    let p = policy(r#"{"filesystem":{"denyRead":["/Users/u/\"q\"/*.key"]}}"#);
    let (prof, rules) = checked(&p);
    let regexes: Vec<String> = rules
        .iter()
        .flat_map(|(_, _, f)| f.iter())
        .filter_map(|f| match f {
            Sx::List(v) if v.first() == Some(&Sx::Sym("regex".into())) => match &v[1] {
                Sx::Str(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let re = regex::Regex::new(
        regexes
            .iter()
            .find(|r| r.contains("key"))
            .expect("glob regex present"),
    )
    .unwrap();
    assert!(re.is_match("/Users/u/\"q\"/id.key"));
    assert!(re.is_match("/Users/u/\"q\"/id.key/sub"));
    assert!(!re.is_match("/Users/u/q/id.key"));
    assert!(prof.text.contains(r#"/\"q\"/"#));
}

#[test]
fn control_characters_are_refused() {
    let p = policy(r#"{"filesystem":{"denyRead":["/Users/u/a\nb"]}}"#);
    let opts = ProfileOptions {
        log_tag: LogTag::new(TAG).unwrap(),
        proxy_port: None,
        tmp_dir: None,
    };
    assert!(generate(&p, &opts).is_err());
}

#[test]
fn long_lists_are_grouped_into_short_regexes() {
    let p = policy(&many_paths(300));
    let (prof, rules) = checked(&p);
    assert!(
        prof.params.len() < 40,
        "300 paths must not become 300 params"
    );
    let regexes: Vec<regex::Regex> = rules
        .iter()
        .filter(|(a, ops, _)| a == "deny" && ops == &["file-read*".to_string()])
        .flat_map(|(_, _, f)| f.iter())
        .filter_map(|f| match f {
            Sx::List(v) if v.first() == Some(&Sx::Sym("regex".into())) => match &v[1] {
                Sx::Str(s) => Some(regex::Regex::new(s).unwrap()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(regexes.len() > 1, "split into several strings");
    for i in [0usize, 150, 299] {
        let path = format!("/Users/u/secret-{i:03}.d");
        assert!(regexes.iter().any(|r| r.is_match(&path)), "{path}");
        assert!(regexes.iter().any(|r| r.is_match(&format!("{path}/k"))));
    }
    assert!(!regexes.iter().any(|r| r.is_match("/Users/u/secret-000xd")));
    assert!(!regexes.iter().any(|r| r.is_match("/Users/u/other")));
}

#[test]
fn mandatory_denies_match_at_any_depth_case_insensitively() {
    let (_, rules) = checked(&policy(
        r#"{"filesystem":{"allowWrite":["/Users/u/proj"]}}"#,
    ));
    let res: Vec<regex::Regex> = rules
        .iter()
        .filter(|(a, ops, _)| a == "deny" && ops == &["file-write*".to_string()])
        .flat_map(|(_, _, f)| f.iter())
        .filter_map(|f| match f {
            Sx::List(v) if v.first() == Some(&Sx::Sym("regex".into())) => match &v[1] {
                Sx::Str(s) => Some(regex::Regex::new(s).unwrap()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let denied = |p: &str| res.iter().any(|r| r.is_match(p));
    for p in [
        "/Users/u/proj/.bashrc",
        "/Users/u/proj/sub/dir/.zshrc",
        "/Users/u/proj/.BashRC",
        "/Users/u/proj/.gitconfig",
        "/Users/u/proj/.gitmodules",
        "/Users/u/proj/.mcp.json",
        "/Users/u/proj/.ripgreprc",
        "/Users/u/proj/.git/hooks",
        "/Users/u/proj/.git/hooks/pre-commit",
        "/Users/u/proj/vendor/x/.GIT/Hooks/post-checkout",
        "/Users/u/proj/.git/config",
        "/Users/u/proj/.vscode/settings.json",
        "/Users/u/proj/.idea/workspace.xml",
        "/Users/u/proj/.claude/commands/x.md",
        "/Users/u/proj/.claude/agents",
    ] {
        assert!(denied(p), "{p} must be denied");
    }
    for p in [
        "/Users/u/proj/src/main.rs",
        "/Users/u/proj/bashrc",
        "/Users/u/proj/.bashrc.bak",
        "/Users/u/proj/.git/configx",
        "/Users/u/proj/.git/HEAD",
        "/Users/u/proj/.claude/settings.json",
        "/Users/u/proj/x.vscode",
    ] {
        assert!(!denied(p), "{p} must stay writable");
    }
    // allowGitConfig lifts only .git/config.
    let (_, rules) = checked(&policy(
        r#"{"filesystem":{"allowWrite":["/Users/u/proj"],"allowGitConfig":true}}"#,
    ));
    let text: Vec<String> = rules
        .iter()
        .flat_map(|(_, _, f)| f.iter())
        .map(|f| format!("{f:?}"))
        .collect();
    assert!(!text
        .iter()
        .any(|t| t.contains(r"[cC][oO][nN][fF][iI][gG]$")));
}

#[test]
fn ancestors_of_protected_paths_cannot_be_renamed() {
    let (prof, rules) = checked(&policy(
        r#"{"filesystem":{"denyRead":["/Users/u/proj/keys/id"],"allowWrite":["/Users/u/proj"]}}"#,
    ));
    let unlink = &rules[*position(&rules, "deny", "file-write-unlink")
        .last()
        .unwrap()]
    .2;
    let params: Vec<&str> = unlink
        .iter()
        .filter_map(|f| match f {
            Sx::List(v) => match v.as_slice() {
                [Sx::Sym(h), Sx::List(p)] if h == "literal" => match p.as_slice() {
                    [_, Sx::Str(name)] => prof
                        .params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect();
    for a in [
        "/Users/u/proj/keys",
        "/Users/u/proj",
        "/Users/u",
        "/Users",
        "/Users/u/proj/.git",
        "/Users/u/proj/.claude",
    ] {
        assert!(params.contains(&a), "{a} missing from {params:?}");
    }
    // The unlink rule is the last file rule, after the writable paths are allowed.
    assert!(
        position(&rules, "allow", "file-write*").iter().max()
            < position(&rules, "deny", "file-write-unlink").iter().max()
    );
}

#[test]
fn read_denies_inside_an_allow_read_win_again() {
    let (prof, rules) = checked(&policy(
        r#"{"filesystem":{"denyRead":["/Users/u","/Users/u/proj/.env"],"allowRead":["/Users/u/proj"]}}"#,
    ));
    let denies = position(&rules, "deny", "file-read*");
    let allows = position(&rules, "allow", "file-read*");
    assert_eq!(denies.len(), 2);
    let last = &rules[denies[1]].2;
    assert!(denies[1] > *allows.iter().max().unwrap());
    // Only the .env deny is repeated: /Users/u is overridden by the allowRead inside it.
    let env = prof
        .params
        .iter()
        .find(|(_, v)| v == "/Users/u/proj/.env")
        .unwrap();
    let rendered = format!("{last:?}");
    assert!(rendered.contains(&env.0));
    let home = prof.params.iter().find(|(_, v)| v == "/Users/u").unwrap();
    assert!(!rendered.contains(&format!("\"{}\"", home.0)));
}

#[test]
fn private_spellings_are_both_covered() {
    let (prof, _) = checked(&policy(r#"{"filesystem":{"allowWrite":["/tmp/build"]}}"#));
    let vals: Vec<&str> = prof.params.iter().map(|(_, v)| v.as_str()).collect();
    assert!(vals.contains(&"/tmp/build") && vals.contains(&"/private/tmp/build"));
    assert!(vals.contains(&TMP) && vals.contains(&"/var/folders/xy/T/srt-runc-TEST"));
}

#[test]
fn log_tags_are_validated_and_unique() {
    assert!(LogTag::new("ok_TAG_1").is_ok());
    for bad in ["", "a b", "a\"b", "x)", &"a".repeat(65)] {
        assert!(LogTag::new(bad).is_err(), "{bad:?}");
    }
    let (a, b) = (LogTag::random(), LogTag::random());
    assert_ne!(a, b);
    assert!(LogTag::new(a.as_str()).is_ok());
}
