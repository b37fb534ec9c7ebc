//! OCI `linux.seccomp` translation: semantics on small profiles, errors, and podman's real
//! default profile (vendor/seccomp/podman-default.json).
#![cfg(target_os = "linux")]

mod common;

use common::podman::podman_profile;
use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Value};
use srt_runc::seccomp::interp::{evaluate, validate, SeccompData};
use srt_runc::seccomp::{
    builtin, guard, oci_filter_flags, ret, syscall_number, translate_oci, Arch, BpfProgram,
};

const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

fn profile(v: Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("valid OCI seccomp JSON")
}

fn translate(v: Value, arch: Arch) -> Vec<BpfProgram> {
    let progs = translate_oci(&profile(v), arch).expect("translates");
    for p in &progs {
        validate(p).unwrap();
    }
    progs
}

fn call(progs: &[BpfProgram], arch: Arch, name: &str, args: &[u64]) -> u32 {
    let nr = syscall_number(arch, name).unwrap_or_else(|| panic!("{name} on {arch:?}"));
    evaluate(progs, &SeccompData::new(arch.audit_arch(), nr as i32, args))
}

#[test]
fn allow_default_with_errno_rules() {
    for arch in ARCHES {
        let progs = translate(
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    { "names": ["keyctl", "add_key"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
                    { "names": ["getpid"], "action": "SCMP_ACT_ALLOW" },
                    { "names": ["bpf"], "action": "SCMP_ACT_ERRNO" }
                ]
            }),
            arch,
        );
        assert_eq!(
            progs.len(),
            2,
            "one filter per distinct errno, no default filter"
        );
        assert_eq!(call(&progs, arch, "keyctl", &[]), ret::errno(13));
        assert_eq!(call(&progs, arch, "add_key", &[]), ret::errno(13));
        // Without errnoRet a rule answers EPERM (OCI runtime spec, runc).
        assert_eq!(call(&progs, arch, "bpf", &[]), ret::errno(1));
        assert_eq!(call(&progs, arch, "getpid", &[]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "read", &[]), ret::ALLOW);
    }
}

#[test]
fn errno_default_allow_list_with_arguments() {
    for arch in ARCHES {
        let progs = translate(
            json!({
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 38,
                "syscalls": [
                    { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
                    { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] },
                    { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 0, "value": 0x7e020000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }] },
                    { "names": ["socket"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 0, "value": 1, "op": "SCMP_CMP_EQ" },
                               { "index": 1, "value": 1, "op": "SCMP_CMP_EQ" }] },
                    { "names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 2, "value": 1, "op": "SCMP_CMP_EQ" },
                               { "index": 2, "value": 3, "op": "SCMP_CMP_EQ" }] },
                    { "names": ["lseek"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 2, "value": 2, "op": "SCMP_CMP_LE" }] },
                    { "names": ["kill"], "action": "SCMP_ACT_ALLOW",
                      "args": [{ "index": 0, "value": 0, "op": "SCMP_CMP_NE" },
                               { "index": 1, "value": 64, "op": "SCMP_CMP_LT" }] }
                ]
            }),
            arch,
        );
        let enosys = ret::errno(38);
        assert_eq!(call(&progs, arch, "read", &[]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "getpid", &[]), enosys);
        assert_eq!(call(&progs, arch, "personality", &[8]), ret::ALLOW);
        // 64-bit comparison: the upper half counts.
        assert_eq!(call(&progs, arch, "personality", &[0x1_0000_0008]), enosys);
        assert_eq!(call(&progs, arch, "clone", &[17]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "clone", &[0x1000_0000 | 17]), enosys);
        // Different argument indexes are AND-ed.
        assert_eq!(call(&progs, arch, "socket", &[1, 1]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "socket", &[1, 2]), enosys);
        assert_eq!(call(&progs, arch, "socket", &[2, 1]), enosys);
        // The same index twice is OR-ed, as runc does.
        assert_eq!(call(&progs, arch, "mmap", &[0, 0, 1]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "mmap", &[0, 0, 3]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "mmap", &[0, 0, 7]), enosys);
        assert_eq!(call(&progs, arch, "lseek", &[0, 0, 2]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "lseek", &[0, 0, 3]), enosys);
        assert_eq!(call(&progs, arch, "kill", &[1, 9]), ret::ALLOW);
        assert_eq!(call(&progs, arch, "kill", &[0, 9]), enosys);
        assert_eq!(call(&progs, arch, "kill", &[1, 64]), enosys);
    }
}

#[test]
fn default_errno_without_value_is_eperm_and_actions_map() {
    let arch = Arch::X86_64;
    let progs = translate(
        json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["getpid"], "action": "SCMP_ACT_LOG" },
                { "names": ["getppid"], "action": "SCMP_ACT_TRAP" },
                { "names": ["getuid"], "action": "SCMP_ACT_KILL" },
                { "names": ["getgid"], "action": "SCMP_ACT_KILL_THREAD" },
                { "names": ["geteuid"], "action": "SCMP_ACT_KILL_PROCESS" },
                { "names": ["getegid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7 }
            ]
        }),
        arch,
    );
    assert_eq!(call(&progs, arch, "write", &[]), ret::errno(1));
    assert_eq!(call(&progs, arch, "read", &[]), ret::ALLOW);
    assert_eq!(call(&progs, arch, "getpid", &[]), ret::LOG);
    assert_eq!(call(&progs, arch, "getppid", &[]), ret::TRAP);
    assert_eq!(call(&progs, arch, "getuid", &[]), ret::KILL_THREAD);
    assert_eq!(call(&progs, arch, "getgid", &[]), ret::KILL_THREAD);
    assert_eq!(call(&progs, arch, "geteuid", &[]), ret::KILL_PROCESS);
    assert_eq!(call(&progs, arch, "getegid", &[]), ret::TRACE | 7);
}

#[test]
fn overlapping_rules_prefer_the_earlier_one_among_errnos_and_the_stricter_otherwise() {
    let arch = Arch::X86_64;
    let progs = translate(
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                { "names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                  "args": [{ "index": 1, "value": 1, "op": "SCMP_CMP_EQ" }] },
                { "names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6 },
                { "names": ["ioctl"], "action": "SCMP_ACT_KILL_PROCESS",
                  "args": [{ "index": 1, "value": 2, "op": "SCMP_CMP_EQ" }] }
            ]
        }),
        arch,
    );
    assert_eq!(call(&progs, arch, "ioctl", &[0, 1]), ret::errno(5));
    assert_eq!(call(&progs, arch, "ioctl", &[0, 3]), ret::errno(6));
    assert_eq!(call(&progs, arch, "ioctl", &[0, 2]), ret::KILL_PROCESS);
}

#[test]
fn names_unknown_on_an_architecture_are_dropped() {
    let v = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            { "names": ["arch_prctl", "iopl", "read", "no_such_syscall", "set_tls"],
              "action": "SCMP_ACT_ALLOW" }
        ]
    });
    let x86 = translate(v.clone(), Arch::X86_64);
    assert_eq!(call(&x86, Arch::X86_64, "arch_prctl", &[]), ret::ALLOW);
    assert_eq!(call(&x86, Arch::X86_64, "read", &[]), ret::ALLOW);
    let arm = translate(v, Arch::Aarch64);
    assert_eq!(call(&arm, Arch::Aarch64, "read", &[]), ret::ALLOW);
    assert_eq!(call(&arm, Arch::Aarch64, "write", &[]), ret::errno(1));
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ERRNO" },
                { "names": ["write"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["open"], "action": "SCMP_ACT_ERRNO" },
                { "names": ["openat"], "action": "SCMP_ACT_NOTIFY" } ] }),
            "linux.seccomp.syscalls[3].action: SCMP_ACT_NOTIFY is not supported by srt-runc; use SCMP_ACT_ERRNO",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_NOTIFY" }),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported by srt-runc; use SCMP_ACT_ERRNO",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1 } ] }),
            "linux.seccomp.syscalls[0].errnoRet: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                { "names": ["read"], "action": "SCMP_ACT_ALLOW",
                  "args": [{ "index": 6, "value": 1, "op": "SCMP_CMP_EQ" }] } ] }),
            "linux.seccomp.syscalls[0].args[0].index: 6 is out of range; syscall arguments are numbered 0 to 5",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                { "names": [], "action": "SCMP_ACT_ALLOW" } ] }),
            "linux.seccomp.syscalls[0].names: the list of syscall names is empty; name at least one syscall",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000 }),
            "linux.seccomp.defaultErrnoRet: 70000 is not an errno; use a value from 0 to 4095",
        ),
    ];
    for (v, message) in cases {
        let err = translate_oci(&profile(v), Arch::X86_64).expect_err(message);
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn filter_flags() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC",
                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    }));
    assert_eq!(oci_filter_flags(&p), 2 | 4);
    assert!(translate_oci(&p, Arch::X86_64).unwrap().is_empty());
}

// ---- podman's default profile --------------------------------------------------------------

#[test]
fn podman_default_profile_translates_and_behaves() {
    for arch in ARCHES {
        let progs = translate_oci(&podman_profile(arch), arch).expect("podman profile translates");
        assert!(!progs.is_empty());
        for p in &progs {
            validate(p).unwrap();
        }
        let c = |name: &str, args: &[u64]| call(&progs, arch, name, args);
        let (eperm, einval, enosys) = (ret::errno(1), ret::errno(22), ret::errno(38));
        for name in [
            "read",
            "write",
            "openat",
            "mmap",
            "execve",
            "exit_group",
            "clone3",
        ] {
            assert_eq!(c(name, &[]), ret::ALLOW, "{arch:?} {name}");
        }
        // Listed with SCMP_ACT_ERRNO / errnoRet 1.
        for name in [
            "kexec_load",
            "kexec_file_load",
            "userfaultfd",
            "swapon",
            "move_pages",
        ] {
            assert_eq!(c(name, &[]), eperm, "{arch:?} {name}");
        }
        // Denied because podman's default capabilities lack the one that includes them.
        for name in [
            "bpf",
            "perf_event_open",
            "init_module",
            "acct",
            "settimeofday",
        ] {
            assert_eq!(c(name, &[]), eperm, "{arch:?} {name}");
        }
        // Not listed at all: the default action, ENOSYS.
        for name in ["add_key", "request_key", "io_uring_setup", "io_uring_enter"] {
            assert_eq!(c(name, &[]), enosys, "{arch:?} {name}");
        }
        // Argument rules: personality values and netlink audit sockets.
        assert_eq!(c("personality", &[0]), ret::ALLOW);
        assert_eq!(c("personality", &[0xffff_ffff]), ret::ALLOW);
        assert_eq!(c("personality", &[0x0040_0000]), enosys); // READ_IMPLIES_EXEC
        assert_eq!(c("socket", &[2, 1, 0]), ret::ALLOW);
        assert_eq!(c("socket", &[16, 3, 0]), ret::ALLOW);
        assert_eq!(c("socket", &[16, 3, 9]), einval); // NETLINK_AUDIT without CAP_AUDIT_WRITE
                                                      // This profile version allows reboot, keyctl, the mount API, unshare and namespace
                                                      // flags on clone outright, relying on dropped capabilities and the user namespace.
        for name in ["reboot", "keyctl", "open_tree", "fsopen", "unshare"] {
            assert_eq!(c(name, &[0x1000_0000]), ret::ALLOW, "{arch:?} {name}");
        }
        assert_eq!(c("clone", &[0x1000_0000 | 17]), ret::ALLOW);
    }
}

#[test]
fn podman_profile_stacked_on_the_builtins() {
    for arch in ARCHES {
        let mut stack: Vec<BpfProgram> = ["default", "clone3", "namespaces"]
            .iter()
            .map(|name| builtin(arch, name).unwrap())
            .collect();
        stack.extend(translate_oci(&podman_profile(arch), arch).unwrap());
        // The guard goes last so that its EPERM for x32 wins the tie with the profile's
        // default ERRNO(ENOSYS): between equal actions the kernel keeps the newest filter's.
        stack.push(guard(arch));
        let c = |name: &str, args: &[u64]| call(&stack, arch, name, args);
        assert_eq!(c("read", &[]), ret::ALLOW);
        assert_eq!(c("kexec_load", &[]), ret::errno(1));
        assert_eq!(c("reboot", &[]), ret::errno(1));
        assert_eq!(c("keyctl", &[]), ret::errno(1));
        assert_eq!(c("open_tree", &[]), ret::errno(1));
        assert_eq!(c("unshare", &[0x1000_0000]), ret::errno(1));
        // ERRNO vs ERRNO: the profile (installed last) wins, as in the kernel.
        assert_eq!(c("add_key", &[]), ret::errno(38));
        assert_eq!(c("clone", &[0x1000_0000 | 17]), ret::errno(1));
        assert_eq!(c("clone", &[17]), ret::ALLOW);
        assert_eq!(c("clone3", &[]), ret::errno(38));
        let x32 = SeccompData::new(arch.audit_arch(), 0x4000_0000, &[]);
        if arch == Arch::X86_64 {
            assert_eq!(evaluate(&stack, &x32), ret::errno(1));
        }
        let i386 = SeccompData::new(0x4000_0003, 3, &[]);
        assert_eq!(evaluate(&stack, &i386), ret::KILL_PROCESS);
    }
}
