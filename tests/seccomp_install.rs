//! Installs the real programs in a forked child and makes real syscalls.
//!
//! The child sets no_new_privs, installs the stack, runs each probe with raw `syscall(2)`, and
//! writes `(return value, errno)` pairs to a pipe; the parent compares them with what the
//! interpreter predicts and with the expected outcome. Every probe uses arguments that make the
//! call harmless even if a filter failed to apply (bad magic, bad fd, null pointers), because
//! this runs as root on the host. Filters only affect the child, which then exits.
#![cfg(target_os = "linux")]

mod common;

use srt_runc::seccomp::interp::{evaluate, SeccompData};
use srt_runc::seccomp::{
    builtin, guard, install, ret, syscall_number, translate_oci, Arch, BpfProgram,
};

/// What a probe must produce in the kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Not blocked: returns this errno from the kernel itself (or success when `None`).
    Allowed(Option<i32>),
    /// Blocked by a filter with this errno.
    Denied(i32),
}

struct Probe {
    what: &'static str,
    nr: i64,
    args: [u64; 6],
    expect: Outcome,
}

fn nr(name: &str) -> i64 {
    syscall_number(Arch::native(), name).unwrap_or_else(|| panic!("{name}")) as i64
}

fn probes(weaker: bool) -> Vec<Probe> {
    use Outcome::*;
    let bad_fd = u64::MAX; // -1
    let mut list = vec![
        Probe {
            what: "getpid",
            nr: nr("getpid"),
            args: [0; 6],
            expect: Allowed(None),
        },
        Probe {
            what: "socket(AF_UNIX, SOCK_STREAM)",
            nr: nr("socket"),
            args: [1, 1, 0, 0, 0, 0],
            expect: Allowed(None),
        },
        Probe {
            what: "socket(AF_INET, SOCK_STREAM)",
            nr: nr("socket"),
            args: [2, 1, 0, 0, 0, 0],
            expect: Allowed(None),
        },
        Probe {
            what: "ioctl(-1, TCGETS)",
            nr: nr("ioctl"),
            args: [bad_fd, 0x5401, 0, 0, 0, 0],
            expect: Allowed(Some(libc::EBADF)),
        },
        Probe {
            what: "keyctl(GET_KEYRING_ID, SESSION)",
            nr: nr("keyctl"),
            args: [0, (-3i64) as u64, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "socket(AF_VSOCK)",
            nr: nr("socket"),
            args: [40, 1, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "ioctl(-1, TIOCSTI | 1<<32)",
            nr: nr("ioctl"),
            args: [bad_fd, 0x1_0000_5412, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "clone3(NULL, 0)",
            nr: nr("clone3"),
            args: [0; 6],
            expect: Denied(libc::ENOSYS),
        },
        Probe {
            what: "unshare(CLONE_NEWUSER)",
            nr: nr("unshare"),
            args: [0x1000_0000, 0, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "mount(NULL...)",
            nr: nr("mount"),
            args: [0; 6],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "perf_event_open(NULL)",
            nr: nr("perf_event_open"),
            args: [0, 0, u64::MAX, u64::MAX, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "bpf(-1)",
            nr: nr("bpf"),
            args: [u64::MAX, 0, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "io_uring_setup(0, NULL)",
            nr: nr("io_uring_setup"),
            args: [0; 6],
            expect: Denied(libc::EPERM),
        },
        Probe {
            what: "open_tree_attr(-1, NULL)",
            nr: 467,
            args: [bad_fd, 0, 0, 0, 0, 0],
            expect: Denied(libc::ENOSYS),
        },
    ];
    if Arch::native() == Arch::X86_64 {
        list.push(Probe {
            what: "x32 read(-1)",
            nr: 0x4000_0000 | nr("read"),
            args: [bad_fd, 0, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        });
        list.push(Probe {
            what: "x32 keyctl",
            nr: 0x4000_0000 | nr("keyctl"),
            args: [0; 6],
            expect: Denied(libc::EPERM),
        });
    }
    if weaker {
        list.push(Probe {
            what: "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC)",
            nr: nr("socket"),
            args: [2, 2 | 0x80000, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        });
        list.push(Probe {
            what: "socket(AF_PACKET, SOCK_RAW)",
            nr: nr("socket"),
            args: [17, 3, 0, 0, 0, 0],
            expect: Denied(libc::EPERM),
        });
    } else {
        list.push(Probe {
            what: "socket(AF_INET, SOCK_DGRAM)",
            nr: nr("socket"),
            args: [2, 2, 0, 0, 0, 0],
            expect: Allowed(None),
        });
    }
    list
}

fn stack(weaker: bool) -> Vec<BpfProgram> {
    let arch = Arch::native();
    let mut names = vec!["default", "clone3", "namespaces"];
    if weaker {
        names.push("weaker-net");
    }
    names
        .iter()
        .map(|n| builtin(arch, n).unwrap())
        .chain(std::iter::once(guard(arch)))
        .collect()
}

/// Exit codes of the child besides 0.
const EXIT_NNP: i32 = 90;
const EXIT_INSTALL: i32 = 91;
const EXIT_FORK: i32 = 92;
const EXIT_THREAD: i32 = 93;

extern "C" fn thread_body(_: *mut libc::c_void) -> *mut libc::c_void {
    std::ptr::null_mut()
}

/// Runs in the forked child: only raw syscalls and libc calls that do not allocate.
fn child(programs: &[BpfProgram], probes: &[Probe], out: libc::c_int) -> i32 {
    // SAFETY: plain prctl/syscall/fork/wait calls on values we own.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return EXIT_NNP;
        }
        if install(programs).is_err() {
            return EXIT_INSTALL;
        }
        for p in probes {
            let a = p.args;
            *libc::__errno_location() = 0;
            let rc = libc::syscall(p.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            let errno = if rc < 0 {
                *libc::__errno_location() as i64
            } else {
                0
            };
            if rc >= 0 && p.what.starts_with("socket") {
                libc::close(rc as libc::c_int);
            }
            let record = [rc as i64, errno];
            libc::write(out, record.as_ptr().cast(), 16);
        }
        // fork() goes through clone(SIGCHLD|CHILD_SETTID|CHILD_CLEARTID): must still work.
        let pid = libc::fork();
        if pid == 0 {
            libc::_exit(0);
        }
        let mut status = 0;
        if pid < 0 || libc::waitpid(pid, &mut status, 0) != pid || status != 0 {
            return EXIT_FORK;
        }
        // pthread_create tries clone3, gets ENOSYS and falls back to clone with thread flags.
        let mut thread: libc::pthread_t = 0;
        if libc::pthread_create(
            &mut thread,
            std::ptr::null(),
            thread_body,
            std::ptr::null_mut(),
        ) != 0
            || libc::pthread_join(thread, std::ptr::null_mut()) != 0
        {
            return EXIT_THREAD;
        }
    }
    0
}

fn run_in_child(programs: &[BpfProgram], probes: &[Probe]) {
    let arch = Arch::native();
    // The interpreter must agree with the expectations before the kernel is asked.
    for p in probes {
        let data = SeccompData::new(arch.audit_arch(), p.nr as i32, &p.args);
        let predicted = evaluate(programs, &data);
        let expected = match p.expect {
            Outcome::Allowed(_) => ret::ALLOW,
            Outcome::Denied(e) => ret::errno(e as u32),
        };
        assert_eq!(predicted, expected, "interpreter disagrees on {}", p.what);
    }

    let mut fds = [0; 2];
    // SAFETY: pipe() fills the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes raw syscalls and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe {
            libc::close(fds[0]);
            libc::_exit(child(programs, probes, fds[1]));
        }
    }
    // SAFETY: closing our copy of the write end, reading plain bytes, reaping our own child.
    let (status, bytes) = unsafe {
        libc::close(fds[1]);
        let mut bytes = vec![0u8; probes.len() * 16];
        let mut got = 0;
        while got < bytes.len() {
            let n = libc::read(fds[0], bytes[got..].as_mut_ptr().cast(), bytes.len() - got);
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        bytes.truncate(got);
        libc::close(fds[0]);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        (status, bytes)
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status:#x} (90 nnp, 91 install, 92 fork, 93 pthread)"
    );
    assert_eq!(
        bytes.len(),
        probes.len() * 16,
        "child reported too few probes"
    );
    let mut failures = Vec::new();
    for (p, rec) in probes.iter().zip(bytes.chunks_exact(16)) {
        let rc = i64::from_ne_bytes(rec[..8].try_into().unwrap());
        let errno = i64::from_ne_bytes(rec[8..].try_into().unwrap()) as i32;
        let ok = match p.expect {
            Outcome::Allowed(None) => rc >= 0,
            Outcome::Allowed(Some(e)) => rc == -1 && errno == e,
            Outcome::Denied(e) => rc == -1 && errno == e,
        };
        if !ok {
            failures.push(format!(
                "{}: rc {rc} errno {errno}, expected {:?}",
                p.what, p.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "kernel disagrees:\n{}",
        failures.join("\n")
    );
}

#[test]
fn strong_stack_in_a_real_child() {
    run_in_child(&stack(false), &probes(false));
}

#[test]
fn weaker_stack_in_a_real_child() {
    run_in_child(&stack(true), &probes(true));
}

/// podman's default profile, translated, alone and under the built-ins, in the real kernel.
#[test]
fn podman_profile_in_a_real_child() {
    use Outcome::*;
    let arch = Arch::native();
    let podman = translate_oci(&common::podman::podman_profile(arch), arch).unwrap();
    let bad_fd = u64::MAX;
    let probe = |what, name: &str, args: [u64; 6], expect| Probe {
        what,
        nr: nr(name),
        args,
        expect,
    };
    let alone = [
        probe("getpid", "getpid", [0; 6], Allowed(None)),
        probe(
            "read(-1)",
            "read",
            [bad_fd, 0, 0, 0, 0, 0],
            Allowed(Some(libc::EBADF)),
        ),
        probe(
            "add_key (not listed)",
            "add_key",
            [0; 6],
            Denied(libc::ENOSYS),
        ),
        probe(
            "io_uring_setup (not listed)",
            "io_uring_setup",
            [0; 6],
            Denied(libc::ENOSYS),
        ),
        probe(
            "kexec_load (errnoRet 1)",
            "kexec_load",
            [0, 0, 0, u64::MAX, 0, 0],
            Denied(libc::EPERM),
        ),
        probe(
            "bpf (needs CAP_SYS_ADMIN)",
            "bpf",
            [u64::MAX, 0, 0, 0, 0, 0],
            Denied(libc::EPERM),
        ),
        probe(
            "socket(NETLINK_AUDIT)",
            "socket",
            [16, 3, 9, 0, 0, 0],
            Denied(libc::EINVAL),
        ),
        probe(
            "socket(AF_UNIX)",
            "socket",
            [1, 1, 0, 0, 0, 0],
            Allowed(None),
        ),
        probe(
            "personality(0xffffffff)",
            "personality",
            [0xffff_ffff, 0, 0, 0, 0, 0],
            Allowed(None),
        ),
        probe(
            "personality(READ_IMPLIES_EXEC)",
            "personality",
            [0x40_0000, 0, 0, 0, 0, 0],
            Denied(libc::ENOSYS),
        ),
    ];
    run_in_child(&podman, &alone);

    let mut stacked = stack(false);
    let guard = stacked.pop().unwrap();
    stacked.extend(podman);
    stacked.push(guard);
    let mut probes = probes(false);
    for p in &mut probes {
        // Both deny; between two ERRNOs the kernel keeps the newer filter's, here the profile's.
        if p.what.starts_with("io_uring_setup") {
            p.expect = Denied(libc::ENOSYS);
        }
    }
    probes.push(probe("add_key", "add_key", [0; 6], Denied(libc::ENOSYS)));
    run_in_child(&stacked, &probes);
}
