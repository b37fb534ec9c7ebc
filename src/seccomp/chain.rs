//! Joining several programs into one.
//!
//! Every installed filter costs the kernel an allocation, a conversion and a JIT pass
//! with its own executable mapping; for the built-in stack that was most of the
//! seccomp setup time. [`chain`] turns programs `[p1, p2, ...]` into one program that
//! runs `p1`, and wherever `p1` would answer ALLOW, jumps to the start of `p2`, and so
//! on: the first answer that is not ALLOW wins.
//!
//! That equals the kernel's stacking rule (most restrictive answer wins) as long as no
//! call gets two *different* non-ALLOW answers from two programs, or the earlier one is
//! the more restrictive. The built-in programs are disjoint except where they agree
//! (EPERM), and the guard (KILL_PROCESS for a foreign architecture, the strictest
//! answer) comes first; `tests/seccomp_chain.rs` checks the equivalence over syscall
//! vectors for both architectures.

use super::{ret, sock_filter, BpfProgram, SeccompError};

const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_A: u16 = 0x16; // BPF_RET | BPF_A
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
/// The kernel's limit on one program (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

/// Joins `programs` in order; see the module docs for when this equals stacking them.
pub fn chain(programs: &[BpfProgram]) -> Result<BpfProgram, SeccompError> {
    let total: usize = programs.iter().map(Vec::len).sum();
    if total > MAX_INSNS {
        return Err(SeccompError::Chain(format!(
            "{total} instructions exceed the kernel's limit of {MAX_INSNS}"
        )));
    }
    let mut out = Vec::with_capacity(total);
    let mut start = 0usize;
    for (i, prog) in programs.iter().enumerate() {
        let next = start + prog.len();
        let last = i + 1 == programs.len();
        for (j, ins) in prog.iter().enumerate() {
            if ins.code == RET_A {
                return Err(SeccompError::Chain(
                    "a program returns the accumulator; it cannot be chained".into(),
                ));
            }
            if !last && ins.code == RET_K && ins.k == ret::ALLOW {
                let here = start + j;
                out.push(sock_filter {
                    code: JA,
                    jt: 0,
                    jf: 0,
                    k: (next - here - 1) as u32,
                });
            } else {
                out.push(sock_filter {
                    code: ins.code,
                    jt: ins.jt,
                    jf: ins.jf,
                    k: ins.k,
                });
            }
        }
        start = next;
    }
    Ok(out)
}
