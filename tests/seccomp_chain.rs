//! The built-in programs chained into one filter answer exactly as the same programs
//! stacked as separate filters (the kernel's most-restrictive rule), for every syscall
//! number, x32 numbers, foreign architectures and the argument values the rules look at.
#![cfg(target_os = "linux")]

use srt_runc::seccomp::interp::{evaluate, run, SeccompData};
use srt_runc::seccomp::{builtin, chain, guard, Arch, BpfProgram};

const I386: u32 = 0x4000_0003;

fn stack(arch: Arch, nested: bool) -> Vec<BpfProgram> {
    let mut v = vec![
        guard(arch),
        builtin(arch, "default").unwrap(),
        builtin(arch, "clone3").unwrap(),
    ];
    if !nested {
        v.push(builtin(arch, "namespaces").unwrap());
    }
    v
}

fn arg_patterns() -> Vec<[u64; 6]> {
    let mut v = vec![[0; 6], [u64::MAX; 6]];
    // clone/unshare namespace bits, socket families, ioctl requests, with and without
    // garbage in the upper half.
    for x in [
        0x20000u64,
        0x10000000,
        0x40000000,
        0x80,
        0x0200_0000,
        0x11,
        40,
        1,
        2,
        10,
        16,
        17,
        0x5412,
        0x541c,
        0x5401,
    ] {
        for hi in [0u64, 0xdead_0000_0000_0000] {
            let a = x | hi;
            v.push([a, a, a, a, a, a]);
            v.push([a, 0, 0, 0, 0, 0]);
            v.push([0, a, 0, 0, 0, 0]);
        }
    }
    v
}

#[test]
fn chained_equals_stacked_on_both_architectures() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for nested in [false, true] {
            let progs = stack(arch, nested);
            let one = chain(&progs).unwrap();
            assert_eq!(one.len(), progs.iter().map(Vec::len).sum::<usize>());
            let mut checked = 0;
            for audit in [arch.audit_arch(), I386] {
                let nrs = (0..500)
                    .chain((0..500).map(|n| n | 0x4000_0000))
                    .chain([-1i32 as u32]);
                for nr in nrs {
                    for args in arg_patterns() {
                        let d = SeccompData::new(audit, nr as i32, &args);
                        assert_eq!(
                            run(&one, &d),
                            evaluate(&progs, &d),
                            "{arch:?} nested={nested} arch={audit:#x} nr={nr:#x} args={args:x?}"
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked > 100_000);
        }
    }
}

#[test]
fn chaining_refuses_programs_over_the_kernel_limit() {
    let g = guard(Arch::X86_64);
    let many: Vec<BpfProgram> = std::iter::repeat(g).take(500).collect();
    assert!(chain(&many).is_err());
}
