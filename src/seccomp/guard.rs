//! The hand-assembled guard program, installed after every other program (see the module docs
//! for why last).
//!
//! seccompiler's programs check the architecture (and kill on a mismatch) but then compare the
//! syscall number directly. On x86_64 that misses the x32 ABI: the same kernel entry point
//! accepts `nr | 0x40000000` with `AUDIT_ARCH_X86_64`, so a deny-list keyed on 64-bit numbers
//! would not see `keyctl` called as x32 `keyctl`. The guard refuses every x32 number with EPERM
//! (x32 is practically unused, and EPERM is an answer programs handle).
//!
//! It also answers ENOSYS for syscalls newer than seccompiler's table (Linux 6.12) that must not
//! slip past a name-based deny-list: `open_tree_attr` (467, Linux 6.15) clones mount trees like
//! `open_tree`. ENOSYS rather than EPERM because callers (libmount) treat it as "old kernel"
//! and fall back to `open_tree`, which the `namespaces` program governs.

use super::{ret, sock_filter, Arch, BpfProgram};

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

// Offsets in struct seccomp_data.
const NR: u32 = 0;
const ARCH: u32 = 4;

/// First x32 syscall number (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `open_tree_attr`, the same number on every architecture.
pub const NR_OPEN_TREE_ATTR: u32 = 467;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// Wrong `AUDIT_ARCH` ⇒ `SECCOMP_RET_KILL_PROCESS`; on x86_64 any nr ≥ 0x40000000 (x32) ⇒
/// `ERRNO(EPERM)`; `open_tree_attr` ⇒ `ERRNO(ENOSYS)`; everything else is allowed.
///
/// On x86_64, nr −1 (0xffffffff) is let through: a ptrace tracer sets it to skip a syscall,
/// and the kernel answers ENOSYS for it anyway.
pub fn guard(arch: Arch) -> BpfProgram {
    let mut prog = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ_K, arch.audit_arch(), 1, 0),
        stmt(RET_K, ret::KILL_PROCESS),
        stmt(LD_W_ABS, NR),
    ];
    if arch == Arch::X86_64 {
        prog.extend([
            jump(JEQ_K, u32::MAX, 2, 0), // nr == -1: on to the open_tree_attr check
            jump(JGE_K, X32_SYSCALL_BIT, 0, 1), // x32?
            stmt(RET_K, ret::errno(EPERM)),
        ]);
    }
    prog.extend([
        jump(JEQ_K, NR_OPEN_TREE_ATTR, 0, 1),
        stmt(RET_K, ret::errno(ENOSYS)),
        stmt(RET_K, ret::ALLOW),
    ]);
    prog
}
