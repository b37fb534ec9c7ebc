//! Translating an OCI `linux.seccomp` profile into seccompiler programs.
//!
//! OCI (libseccomp) semantics: the first rule matching a syscall decides, otherwise
//! `defaultAction`. A seccompiler filter has exactly one match action and one mismatch action,
//! so a profile is decomposed into a *stack* of filters, relying on the kernel running them all
//! and keeping the most restrictive answer:
//!
//! * for each distinct non-default action A other than ALLOW: one filter returning A for A's
//!   rules and ALLOW otherwise;
//! * if `defaultAction` is not ALLOW: one filter returning ALLOW for every rule whose action is
//!   not the default, and the default action otherwise.
//!
//! A syscall matching no rule gets the default; one matching rules gets the most restrictive of
//! their actions. That equals first-match whenever rules do not overlap (real profiles keep
//! them disjoint); where they overlap, the stricter rule wins, which errs on the safe side.
//! Between equal kinds (two different errnos) the kernel prefers the filter installed last, so
//! filters are emitted in reverse order of first appearance to let the earlier rule win.
//!
//! Syscall names: seccompiler's name table is private, so the profile is rendered as
//! seccompiler JSON and compiled with `compile_from_json`; names it reports as unknown for the
//! architecture are dropped and the compile retried, as libseccomp ignores names an
//! architecture does not have.

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde_json::{json, Value};

use super::install::{FILTER_FLAG_LOG, FILTER_FLAG_SPEC_ALLOW};
use super::unknown_name::unknown_syscall_name;
use super::{Arch, BpfProgram, SeccompError};

const EPERM: u32 = 1;

/// A resolved action, kept as the seccompiler JSON value it compiles to.
#[derive(Debug, Clone, PartialEq)]
struct Action {
    json: Value,
    label: String,
}

impl Action {
    fn allow() -> Action {
        Action {
            json: json!("allow"),
            label: "SCMP_ACT_ALLOW".into(),
        }
    }
    fn is_allow(&self) -> bool {
        self.json == json!("allow")
    }
}

/// One OCI rule after validation: its names and its conditions as OR-ed AND-groups
/// (`None` = unconditional).
struct Rule {
    names: Vec<String>,
    action: Action,
    groups: Option<Vec<Vec<Value>>>,
}

/// Translates `profile` into programs for `arch`, to be installed after the built-in programs
/// and before [`super::guard`] (see the module docs of [`super`] for the order).
///
/// `architectures` is not consulted: native syscalls are always filtered, and syscalls of any
/// other ABI (i386, x32, arm32) are refused outright by the architecture checks, which is
/// stricter than libseccomp adding those architectures to the filter.
/// `listenerPath`/`listenerMetadata` are ignored unless SCMP_ACT_NOTIFY is used, which is refused.
pub fn translate_oci(profile: &LinuxSeccomp, arch: Arch) -> Result<Vec<BpfProgram>, SeccompError> {
    let default = resolve_action(
        profile.default_action(),
        profile.default_errno_ret(),
        "linux.seccomp.defaultAction",
        "linux.seccomp.defaultErrnoRet",
    )?;
    let mut rules = Vec::new();
    for (i, syscall) in profile.syscalls().iter().flatten().enumerate() {
        let rule = convert_rule(i, syscall)?;
        // A rule repeating the default changes nothing (libseccomp refuses to add it).
        if rule.action != default {
            rules.push(rule);
        }
    }

    let unknown = unknown_names(&rules, arch);
    let known = |name: &String| !unknown.contains(name);

    // Distinct non-default actions, in order of first appearance.
    let mut actions: Vec<Action> = Vec::new();
    for rule in &rules {
        if !actions.contains(&rule.action) {
            actions.push(rule.action.clone());
        }
    }

    let mut programs = Vec::new();
    if !default.is_allow() {
        let all: Vec<&Rule> = rules.iter().collect();
        let what = format!("{} default", default.label);
        programs.push(compile(
            &all,
            &Action::allow(),
            &default,
            arch,
            &known,
            &what,
        )?);
    }
    for action in actions.iter().rev().filter(|a| !a.is_allow()) {
        let mine: Vec<&Rule> = rules.iter().filter(|r| r.action == *action).collect();
        let what = format!("{} rules", action.label);
        programs.push(compile(
            &mine,
            action,
            &Action::allow(),
            arch,
            &known,
            &what,
        )?);
    }
    Ok(programs.into_iter().flatten().collect())
}

/// The `SECCOMP_FILTER_FLAG_*` bits for the profile's `flags`, for [`super::install_with_flags`].
///
/// LOG and SPEC_ALLOW are honoured. TSYNC is accepted and needs nothing: the init installs its
/// filters while single-threaded. WAIT_KILLABLE_RECV only matters for SCMP_ACT_NOTIFY, which is
/// refused, so it is accepted and ignored.
pub fn oci_filter_flags(profile: &LinuxSeccomp) -> u32 {
    profile
        .flags()
        .iter()
        .flatten()
        .map(|flag| match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FILTER_FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync
            | LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        })
        .fold(0, |acc, bit| acc | bit)
}

fn convert_rule(i: usize, syscall: &LinuxSyscall) -> Result<Rule, SeccompError> {
    let field = format!("linux.seccomp.syscalls[{i}]");
    if syscall.names().is_empty() {
        return Err(SeccompError::NoNames {
            field: format!("{field}.names"),
        });
    }
    let action = resolve_action(
        syscall.action(),
        syscall.errno_ret(),
        &format!("{field}.action"),
        &format!("{field}.errnoRet"),
    )?;
    let args = syscall.args().as_deref().unwrap_or_default();
    let mut conditions = Vec::with_capacity(args.len());
    let mut seen = [0u8; 6];
    for (j, arg) in args.iter().enumerate() {
        if arg.index() > 5 {
            return Err(SeccompError::ArgIndex {
                field: format!("{field}.args[{j}].index"),
                index: arg.index(),
            });
        }
        seen[arg.index()] += 1;
        let (op, val) = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => (json!("ne"), arg.value()),
            LinuxSeccompOperator::ScmpCmpLt => (json!("lt"), arg.value()),
            LinuxSeccompOperator::ScmpCmpLe => (json!("le"), arg.value()),
            LinuxSeccompOperator::ScmpCmpEq => (json!("eq"), arg.value()),
            LinuxSeccompOperator::ScmpCmpGe => (json!("ge"), arg.value()),
            LinuxSeccompOperator::ScmpCmpGt => (json!("gt"), arg.value()),
            // OCI: value is the mask, valueTwo the datum compared with the masked argument.
            LinuxSeccompOperator::ScmpCmpMaskedEq => (
                json!({ "masked_eq": arg.value() }),
                arg.value_two().unwrap_or(0),
            ),
        };
        // libseccomp compares full 64-bit arguments.
        conditions.push(json!({ "index": arg.index(), "type": "qword", "op": op, "val": val }));
    }
    let groups = if conditions.is_empty() {
        None
    } else if seen.iter().any(|&n| n > 1) {
        // Several conditions on one argument are OR-ed, one rule each, as runc does: that is
        // how profiles list alternative values for the same argument.
        Some(conditions.into_iter().map(|c| vec![c]).collect())
    } else {
        Some(vec![conditions])
    };
    Ok(Rule {
        names: syscall.names().clone(),
        action,
        groups,
    })
}

fn resolve_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    action_field: &str,
    errno_field: &str,
) -> Result<Action, SeccompError> {
    let label = action.to_string();
    if errno_ret.is_some()
        && !matches!(
            action,
            LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
        )
    {
        return Err(SeccompError::ErrnoRetNotAllowed {
            field: errno_field.into(),
            action: label,
        });
    }
    // Without errnoRet, OCI and runc use EPERM (and 1 as the trace message).
    let data = errno_ret.unwrap_or(EPERM);
    if data > 4095 {
        return Err(SeccompError::BadErrno {
            field: errno_field.into(),
            value: data,
        });
    }
    let json = match action {
        LinuxSeccompAction::ScmpActAllow => json!("allow"),
        LinuxSeccompAction::ScmpActErrno => json!({ "errno": data }),
        LinuxSeccompAction::ScmpActTrace => json!({ "trace": data }),
        // libseccomp's SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            json!("kill_thread")
        }
        LinuxSeccompAction::ScmpActKillProcess => json!("kill_process"),
        LinuxSeccompAction::ScmpActTrap => json!("trap"),
        LinuxSeccompAction::ScmpActLog => json!("log"),
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::UnsupportedAction {
                field: action_field.into(),
                action: label,
            })
        }
    };
    let label = match action {
        LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace => {
            format!("{label}({data})")
        }
        _ => label,
    };
    Ok(Action { json, label })
}

/// Names used by `rules` that seccompiler does not know on `arch`.
///
/// Names are probed in chunks of [`PROBE_CHUNK`]. seccompiler resolves rules in order and stops
/// at the first unknown name, so after a `SyscallName` error only the names after it are probed
/// again. Each compile rebuilds seccompiler's name table (about 13 µs), so the cost is roughly
/// one compile per chunk plus one per unknown name; podman's profile has about a hundred
/// (32-bit and other-architecture names) and probes in a few milliseconds. Should that
/// ordering ever change, [`compile`] still drops unknown names itself, so this stays an
/// optimisation.
fn unknown_names(rules: &[Rule], arch: Arch) -> Vec<String> {
    let mut names: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut unknown = Vec::new();
    for chunk in names.chunks(PROBE_CHUNK) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match probe(rest, arch) {
                Some(at) => {
                    unknown.push(rest[at].to_string());
                    rest = &rest[at + 1..];
                }
                None => break,
            }
        }
    }
    unknown
}

/// How many names one probe compile checks.
const PROBE_CHUNK: usize = 32;

/// Position in `names` of the first name seccompiler does not know on `arch`, if any. Errors
/// other than an unknown name resurface, with context, when the real filters compile.
fn probe(names: &[&str], arch: Arch) -> Option<usize> {
    let filter: Vec<Value> = names.iter().map(|n| json!({ "syscall": n })).collect();
    let probe = json!({ "probe": {
        "mismatch_action": "allow", "match_action": "kill_process", "filter": filter } });
    let bytes = serde_json::to_vec(&probe).expect("JSON value serialises");
    let err = seccompiler::compile_from_json(bytes.as_slice(), arch.target()).err()?;
    let name = unknown_syscall_name(&err)?;
    names.iter().position(|n| *n == name)
}

/// Compiles one filter over `rules`; `None` when it would have no effect (no rules on this
/// architecture and a mismatch of ALLOW).
fn compile(
    rules: &[&Rule],
    on_match: &Action,
    on_mismatch: &Action,
    arch: Arch,
    known: &dyn Fn(&String) -> bool,
    what: &str,
) -> Result<Option<BpfProgram>, SeccompError> {
    let mut filter = Vec::new();
    for rule in rules {
        for name in rule.names.iter().filter(|n| known(n)) {
            match &rule.groups {
                None => filter.push(json!({ "syscall": name })),
                Some(groups) => {
                    for group in groups {
                        filter.push(json!({ "syscall": name, "args": group }));
                    }
                }
            }
        }
    }
    if filter.is_empty() && on_mismatch.is_allow() {
        return Ok(None);
    }
    let mut dropped: Vec<String> = Vec::new();
    loop {
        let kept: Vec<&Value> = filter
            .iter()
            .filter(|rule| !dropped.iter().any(|d| rule["syscall"] == d.as_str()))
            .collect();
        let source = json!({ "oci": {
            "mismatch_action": on_mismatch.json,
            "match_action": on_match.json,
            "filter": kept,
        } });
        let bytes = serde_json::to_vec(&source).expect("JSON value serialises");
        match seccompiler::compile_from_json(bytes.as_slice(), arch.target()) {
            Ok(mut map) => return Ok(map.remove("oci")),
            Err(source) => match unknown_syscall_name(&source) {
                Some(name) if !dropped.contains(&name) => dropped.push(name),
                _ => {
                    return Err(SeccompError::Compile {
                        what: what.into(),
                        source,
                    })
                }
            },
        }
    }
}
