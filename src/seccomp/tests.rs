//! Unit tests for the private helpers.

use super::*;

#[test]
fn embedded_programs_match_builtin_list() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut embedded = embedded::names(arch);
        embedded.sort_unstable();
        let mut listed = BUILTIN.to_vec();
        listed.sort_unstable();
        assert_eq!(
            embedded, listed,
            "bpf/*.json and BUILTIN disagree for {arch:?}"
        );
    }
}

#[test]
fn unknown_name_wording_is_recognised() {
    let json = br#"{"p":{"mismatch_action":"allow","match_action":"trap","filter":[{"syscall":"no_such_call"}]}}"#;
    let err = seccompiler::compile_from_json(&json[..], seccompiler::TargetArch::x86_64)
        .expect_err("unknown name must be refused");
    assert_eq!(
        unknown_name::unknown_syscall_name(&err).as_deref(),
        Some("no_such_call")
    );
}
