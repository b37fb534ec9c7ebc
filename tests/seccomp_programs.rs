//! The built-in programs and the guard, run through the BPF interpreter over syscall vectors
//! for both architectures.
#![cfg(target_os = "linux")]

use srt_runc::seccomp::interp::{evaluate, validate, SeccompData};
use srt_runc::seccomp::{builtin, guard, ret, syscall_number, Arch, BpfProgram, BUILTIN};

const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];
const EPERM: u32 = ret::ERRNO | 1;
const ENOSYS: u32 = ret::ERRNO | 38;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const AF_NETLINK: u64 = 16;
const AF_PACKET: u64 = 17;
const AF_BLUETOOTH: u64 = 31;
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;
const SOCK_STREAM: u64 = 1;
const SOCK_DGRAM: u64 = 2;
const SOCK_RAW: u64 = 3;
const SOCK_SEQPACKET: u64 = 5;
const SOCK_NONBLOCK: u64 = 0x800;
const SOCK_CLOEXEC: u64 = 0x80000;
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541c;
const TCGETS: u64 = 0x5401;
const SIGCHLD: u64 = 17;

/// (name, flag) for every namespace bit the namespaces program must refuse.
const NS_BITS: [(&str, u64); 8] = [
    ("CLONE_NEWNS", 0x0002_0000),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
    ("CLONE_NEWTIME", 0x0000_0080),
];

fn nr(arch: Arch, name: &str) -> i32 {
    syscall_number(arch, name).unwrap_or_else(|| panic!("{name} unknown on {arch:?}")) as i32
}

fn program(arch: Arch, name: &str) -> BpfProgram {
    builtin(arch, name).unwrap_or_else(|| panic!("no built-in {name}"))
}

/// The strong-mode stack: default, clone3, namespaces, then the guard.
fn strong(arch: Arch) -> Vec<BpfProgram> {
    vec![
        program(arch, "default"),
        program(arch, "clone3"),
        program(arch, "namespaces"),
        guard(arch),
    ]
}

/// The weaker-mode stack: strong with weaker-net before the guard.
fn weaker(arch: Arch) -> Vec<BpfProgram> {
    let mut stack = strong(arch);
    stack.insert(3, program(arch, "weaker-net"));
    stack
}

fn call(stack: &[BpfProgram], arch: Arch, name: &str, args: &[u64]) -> u32 {
    evaluate(
        stack,
        &SeccompData::new(arch.audit_arch(), nr(arch, name), args),
    )
}

fn show(v: u32) -> String {
    format!("{v:#010x}")
}

#[test]
fn every_program_passes_the_kernel_checks() {
    for arch in ARCHES {
        validate(&guard(arch)).unwrap();
        for name in BUILTIN {
            let prog = program(arch, name);
            validate(&prog).unwrap_or_else(|e| panic!("{name} on {arch:?}: {e}"));
        }
    }
}

#[test]
fn syscall_numbers_agree_with_independent_tables() {
    #[cfg(target_arch = "x86_64")]
    for (name, n) in [
        ("read", libc::SYS_read),
        ("keyctl", libc::SYS_keyctl),
        ("clone", libc::SYS_clone),
        ("clone3", libc::SYS_clone3),
        ("socket", libc::SYS_socket),
        ("ioctl", libc::SYS_ioctl),
        ("unshare", libc::SYS_unshare),
    ] {
        assert_eq!(nr(Arch::X86_64, name), n as i32, "{name}");
    }
    // asm-generic numbers (include/uapi/asm-generic/unistd.h).
    for (name, n) in [
        ("read", 63),
        ("write", 64),
        ("openat", 56),
        ("ioctl", 29),
        ("unshare", 97),
        ("kexec_load", 104),
        ("reboot", 142),
        ("socket", 198),
        ("keyctl", 219),
        ("clone", 220),
        ("mmap", 222),
        ("clone3", 435),
    ] {
        assert_eq!(nr(Arch::Aarch64, name), n, "{name}");
    }
}

#[test]
fn ordinary_syscalls_are_allowed() {
    for arch in ARCHES {
        for stack in [strong(arch), weaker(arch)] {
            for (name, args) in [
                ("read", vec![0, 0, 16]),
                ("write", vec![1, 0, 16]),
                ("openat", vec![u64::MAX - 99, 0, 0]),
                ("mmap", vec![0, 4096, 3, 0x22]),
                ("clone", vec![SIGCHLD]),
                ("socket", vec![AF_UNIX, SOCK_STREAM, 0]),
                ("socket", vec![AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0]),
                ("socket", vec![AF_INET, SOCK_STREAM, 0]),
                ("socket", vec![AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 6]),
                ("ioctl", vec![0, TCGETS]),
                ("name_to_handle_at", vec![0, 0, 0, 0, 0]),
                ("unshare", vec![0x0000_0400]), // CLONE_FILES
            ] {
                let got = call(&stack, arch, name, &args);
                assert_eq!(got, ret::ALLOW, "{arch:?} {name}{args:x?} => {}", show(got));
            }
        }
    }
}

/// Names the default program must refuse on every architecture where they exist; kept here
/// independently of bpf/default.json so deleting a rule there fails this test.
const MUST_DENY: &[&str] = &[
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "add_key",
    "request_key",
    "keyctl",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "quotactl",
    "lookup_dcookie",
];
const MUST_DENY_X86_64: &[&str] = &["iopl", "ioperm", "uselib", "_sysctl"];
const MUST_DENY_NAMESPACES: &[&str] = &[
    "mount",
    "umount2",
    "pivot_root",
    "setns",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
];

#[test]
fn dangerous_syscalls_get_eperm() {
    for arch in ARCHES {
        let stack = strong(arch);
        let extra: &[&str] = if arch == Arch::X86_64 {
            MUST_DENY_X86_64
        } else {
            &[]
        };
        for name in MUST_DENY.iter().chain(extra).chain(MUST_DENY_NAMESPACES) {
            let got = call(&stack, arch, name, &[0; 6]);
            assert_eq!(got, EPERM, "{arch:?} {name} => {}", show(got));
        }
    }
}

#[test]
fn every_rule_in_the_policy_sources_is_enforced() {
    // Cross-check from the other side: each unconditional rule in bpf/*.json denies its call.
    for file in ["default", "namespaces"] {
        let path = format!("{}/bpf/{file}.json", env!("CARGO_MANIFEST_DIR"));
        let source: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for rule in source[file]["filter"].as_array().unwrap() {
            if rule.get("args").is_some() {
                continue;
            }
            let name = rule["syscall"].as_str().unwrap();
            for arch in ARCHES {
                if syscall_number(arch, name).is_none() {
                    continue;
                }
                let got = call(&strong(arch), arch, name, &[]);
                assert_eq!(got, EPERM, "{arch:?} {name} => {}", show(got));
            }
        }
    }
}

#[test]
fn clone3_answers_enosys() {
    for arch in ARCHES {
        assert_eq!(call(&strong(arch), arch, "clone3", &[0, 88]), ENOSYS);
    }
}

#[test]
fn open_tree_attr_answers_enosys() {
    for arch in ARCHES {
        let data = SeccompData::new(arch.audit_arch(), 467, &[]);
        assert_eq!(evaluate(&strong(arch), &data), ENOSYS, "{arch:?}");
    }
}

#[test]
fn x32_syscalls_get_eperm_from_the_guard() {
    let arch = Arch::X86_64;
    for name in ["read", "write", "keyctl", "socket", "clone", "mount"] {
        let data = SeccompData::new(arch.audit_arch(), nr(arch, name) | 0x4000_0000, &[]);
        assert_eq!(evaluate(&strong(arch), &data), EPERM, "x32 {name}");
        // The guard alone is enough: seccompiler's programs would let it through.
        assert_eq!(
            evaluate(&[guard(arch)], &data),
            EPERM,
            "guard alone, x32 {name}"
        );
    }
    // The highest x32 number and a value far above it.
    for n in [0x4000_0000u32, 0x4000_0220, 0x7fff_ffff, 0x8000_0000] {
        let data = SeccompData::new(arch.audit_arch(), n as i32, &[]);
        assert_eq!(evaluate(&strong(arch), &data), EPERM, "nr {n:#x}");
    }
    // nr -1 (a tracer skipping a syscall) is let through; the kernel answers ENOSYS itself.
    let skip = SeccompData::new(arch.audit_arch(), -1, &[]);
    assert_eq!(evaluate(&strong(arch), &skip), ret::ALLOW);
}

#[test]
fn foreign_architectures_are_killed() {
    for arch in ARCHES {
        for foreign in [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, 0xc000_00f3] {
            for n in [0, 3, 11, 102] {
                let data = SeccompData::new(foreign, n, &[]);
                assert_eq!(evaluate(&[guard(arch)], &data), ret::KILL_PROCESS);
                assert_eq!(evaluate(&strong(arch), &data), ret::KILL_PROCESS);
                for name in BUILTIN {
                    assert_eq!(
                        evaluate(&[program(arch, name)], &data),
                        ret::KILL_PROCESS,
                        "{name} on {arch:?} lets arch {foreign:#x} through"
                    );
                }
            }
        }
    }
    // A program built for one of our architectures kills on the other.
    let data = SeccompData::new(Arch::Aarch64.audit_arch(), 0, &[]);
    assert_eq!(evaluate(&strong(Arch::X86_64), &data), ret::KILL_PROCESS);
}

#[test]
fn vsock_is_refused_even_with_upper_garbage() {
    for arch in ARCHES {
        for stack in [strong(arch), weaker(arch)] {
            for family in [AF_VSOCK, AF_VSOCK | 0xdead_beef_0000_0000] {
                let got = call(&stack, arch, "socket", &[family, SOCK_STREAM, 0]);
                assert_eq!(got, EPERM, "{arch:?} socket({family:#x})");
            }
        }
    }
}

#[test]
fn terminal_injection_ioctls_are_refused_even_with_upper_garbage() {
    for arch in ARCHES {
        let stack = strong(arch);
        for request in [TIOCSTI, TIOCLINUX] {
            for high in [0, 0xffff_ffff_0000_0000, 0x1_0000_0000] {
                let got = call(&stack, arch, "ioctl", &[0, request | high, 0]);
                assert_eq!(got, EPERM, "{arch:?} ioctl({:#x})", request | high);
            }
        }
        // A neighbouring request is untouched.
        assert_eq!(call(&stack, arch, "ioctl", &[0, TIOCSTI + 1]), ret::ALLOW);
    }
}

#[test]
fn clone_and_unshare_namespace_flags_are_refused() {
    for arch in ARCHES {
        let stack = strong(arch);
        for (name, bit) in NS_BITS {
            let got = call(&stack, arch, "unshare", &[bit]);
            assert_eq!(got, EPERM, "{arch:?} unshare({name})");
            if name != "CLONE_NEWTIME" {
                // For clone(), 0x80 lies in the exit-signal byte, not a namespace flag.
                let got = call(&stack, arch, "clone", &[bit | SIGCHLD]);
                assert_eq!(got, EPERM, "{arch:?} clone({name}|SIGCHLD)");
                // Upper 32 bits carry nothing for the kernel; a namespace bit still counts.
                let got = call(&stack, arch, "clone", &[bit | 0xffff_ffff_0000_0000]);
                assert_eq!(got, EPERM, "{arch:?} clone({name}|garbage)");
            }
        }
        // Combinations, as container runtimes and `unshare -r` would pass them.
        for combo in [
            0x1000_0000 | 0x0002_0000,                             // user+mount
            0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x0002_0000, // userns sandbox
            0x7e02_0000,                                           // every clone ns bit
            0x0800_0000 | 0x0400_0000,                             // ipc+uts
        ] {
            assert_eq!(call(&stack, arch, "clone", &[combo | SIGCHLD]), EPERM);
            assert_eq!(call(&stack, arch, "unshare", &[combo]), EPERM);
        }
        // pthread_create, fork and vfork flags stay allowed.
        let pthread = 0x0000_0100 | 0x0000_0200 | 0x0000_0400 | 0x0000_0800 // VM FS FILES SIGHAND
            | 0x0001_0000 | 0x0004_0000 | 0x0008_0000 | 0x0010_0000 | 0x0020_0000; // THREAD SYSVSEM SETTLS PARENT_SETTID CHILD_CLEARTID
        let fork = 0x0120_0000 | SIGCHLD; // CHILD_SETTID | CHILD_CLEARTID
        let vfork = 0x0000_4000 | 0x0000_0100 | SIGCHLD; // VFORK | VM
        for flags in [pthread, fork, vfork, SIGCHLD, 0] {
            let got = call(&stack, arch, "clone", &[flags]);
            assert_eq!(got, ret::ALLOW, "{arch:?} clone({flags:#x})");
        }
        assert_eq!(call(&stack, arch, "unshare", &[0x0000_0200]), ret::ALLOW); // CLONE_FS
    }
}

#[test]
fn weaker_net_refuses_everything_but_tcp_unix_route_and_alg() {
    let refused = [
        (AF_INET, SOCK_DGRAM, 0),
        (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 17),
        (AF_INET, SOCK_DGRAM, 1), // ping socket (ICMP)
        (AF_INET, SOCK_RAW, 255),
        (AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0),
        (AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 58),
        (AF_INET, SOCK_SEQPACKET, 132),              // SCTP
        (AF_INET, SOCK_STREAM, 132),                 // SCTP one-to-one
        (AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 262), // MPTCP
        (AF_PACKET, SOCK_RAW, 0x0300),
        (AF_PACKET, SOCK_DGRAM, 0),
        (AF_NETLINK, SOCK_RAW, 4),   // NETLINK_SOCK_DIAG
        (AF_NETLINK, SOCK_DGRAM, 9), // NETLINK_AUDIT
        (AF_NETLINK, SOCK_RAW, 15),  // NETLINK_KOBJECT_UEVENT
        (AF_BLUETOOTH, SOCK_STREAM, 0),
        (AF_VSOCK, SOCK_STREAM, 0),
        (29, SOCK_RAW, 1),    // AF_CAN
        (44, SOCK_RAW, 0),    // AF_XDP
        (46, SOCK_STREAM, 0), // a family newer than this policy
    ];
    let allowed = [
        (AF_UNIX, SOCK_STREAM, 0),
        (AF_UNIX, SOCK_DGRAM, 0),
        (AF_INET, SOCK_STREAM, 0),
        (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 6),
        (AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0),
        (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0), // NETLINK_ROUTE for getifaddrs()
        (AF_ALG, 5, 0),
    ];
    for arch in ARCHES {
        let stack = weaker(arch);
        for (family, ty, proto) in refused {
            let got = call(&stack, arch, "socket", &[family, ty, proto]);
            assert_eq!(got, EPERM, "{arch:?} socket({family}, {ty:#x}, {proto})");
        }
        for (family, ty, proto) in allowed {
            let got = call(&stack, arch, "socket", &[family, ty, proto]);
            assert_eq!(
                got,
                ret::ALLOW,
                "{arch:?} socket({family}, {ty:#x}, {proto})"
            );
        }
        // The strong stack relies on the network namespace and leaves UDP alone.
        assert_eq!(
            call(&strong(arch), arch, "socket", &[AF_INET, SOCK_DGRAM, 0]),
            ret::ALLOW
        );
        for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            assert_eq!(call(&[program(arch, "weaker-net")], arch, name, &[]), EPERM);
        }
    }
}

#[test]
fn builtin_lookup_and_dropped_names() {
    use srt_runc::seccomp::builtin_dropped_names;
    assert!(builtin(Arch::X86_64, "no-such-program").is_none());
    assert_eq!(
        builtin_dropped_names(Arch::X86_64, "default"),
        Some(&[][..])
    );
    let arm = builtin_dropped_names(Arch::Aarch64, "default").unwrap();
    for name in ["iopl", "ioperm", "uselib", "_sysctl"] {
        assert!(
            arm.contains(&name),
            "{name} should be recorded as absent on aarch64"
        );
    }
    // Programs differ per architecture (different numbers), so they must not be swapped.
    assert_ne!(
        program(Arch::X86_64, "default"),
        program(Arch::Aarch64, "default")
    );
}
