//! A small classic-BPF interpreter with the kernel's seccomp semantics, for tests and `explain`.
//!
//! Why: a deny-list is only as good as its edge cases (x32 numbers, upper-half garbage in
//! 32-bit arguments, flag combinations), and running the real kernel for each vector is slow
//! and can only check the host architecture. This runs any program over any `seccomp_data`.

use super::{ret, sock_filter};

/// The kernel's `struct seccomp_data` (little endian, 64 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the calling convention.
    pub arch: u32,
    /// Address of the syscall instruction.
    pub instruction_pointer: u64,
    /// The six syscall arguments, as the kernel sees them (full 64-bit registers).
    pub args: [u64; 6],
}

impl SeccompData {
    /// A syscall `nr` with `args` for the given `AUDIT_ARCH`.
    pub fn new(arch: u32, nr: i32, args: &[u64]) -> SeccompData {
        let mut data = SeccompData {
            nr,
            arch,
            ..SeccompData::default()
        };
        data.args[..args.len()].copy_from_slice(args);
        data
    }

    /// The 32-bit word at byte `offset`, as `BPF_LD|BPF_W|BPF_ABS` reads it.
    fn word(&self, offset: u32) -> Option<u32> {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.instruction_pointer.to_le_bytes());
        for (i, arg) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_le_bytes());
        }
        let o = offset as usize;
        // The kernel's checker only allows aligned loads inside the struct.
        if o % 4 != 0 || o + 4 > bytes.len() {
            return None;
        }
        Some(u32::from_le_bytes([
            bytes[o],
            bytes[o + 1],
            bytes[o + 2],
            bytes[o + 3],
        ]))
    }
}

// Instruction classes and fields (linux/bpf_common.h).
const CLASS: u16 = 0x07;
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const SIZE_MODE: u16 = 0xf8; // size | mode bits of LD/LDX
const W_ABS: u16 = 0x20;
const W_LEN: u16 = 0x80;
const IMM: u16 = 0x00;
const MEM: u16 = 0x60;
const OP: u16 = 0xf0;
const SRC_X: u16 = 0x08;
const RVAL: u16 = 0x18; // BPF_RET source: K 0x00, A 0x10

/// Checks what the kernel's `bpf_check_classic` + seccomp checker would: a non-empty program of
/// at most 4096 instructions, known opcodes, jumps in range, aligned loads inside
/// `seccomp_data`, and a final return.
pub fn validate(prog: &[sock_filter]) -> Result<(), String> {
    if prog.is_empty() || prog.len() > 4096 {
        return Err(format!("length {} outside 1..=4096", prog.len()));
    }
    for (pc, insn) in prog.iter().enumerate() {
        let remaining = prog.len() - pc - 1;
        match insn.code & CLASS {
            LD if insn.code == LD | W_ABS && (insn.k % 4 != 0 || insn.k > 60) => {
                return Err(format!(
                    "{pc}: load at offset {} outside seccomp_data",
                    insn.k
                ));
            }
            JMP => {
                let far = if insn.code & OP == 0 {
                    insn.k as usize
                } else {
                    insn.jt.max(insn.jf) as usize
                };
                if far >= remaining {
                    return Err(format!("{pc}: jump past the end"));
                }
            }
            LD | LDX if insn.code & SIZE_MODE == MEM && insn.k >= 16 => {
                return Err(format!("{pc}: scratch slot {} out of range", insn.k));
            }
            ST | STX if insn.k >= 16 => {
                return Err(format!("{pc}: scratch slot {} out of range", insn.k));
            }
            _ => {}
        }
    }
    if prog.last().unwrap().code & CLASS != RET {
        return Err("the program does not end with a return".into());
    }
    Ok(())
}

/// Runs one program over `data` and returns its `SECCOMP_RET_*` value.
///
/// An instruction the interpreter does not model, or falling off the end, yields
/// `SECCOMP_RET_KILL_PROCESS`; [`validate`] catches those statically.
pub fn run(prog: &[sock_filter], data: &SeccompData) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    while let Some(insn) = prog.get(pc) {
        pc += 1;
        let k = insn.k;
        let src = if insn.code & SRC_X != 0 { x } else { k };
        match insn.code & CLASS {
            LD => match insn.code & SIZE_MODE {
                W_ABS => match data.word(k) {
                    Some(w) => a = w,
                    None => return ret::KILL_PROCESS,
                },
                W_LEN => a = 64,
                IMM => a = k,
                MEM => a = mem[(k & 15) as usize],
                _ => return ret::KILL_PROCESS,
            },
            LDX => match insn.code & SIZE_MODE {
                W_LEN => x = 64,
                IMM => x = k,
                MEM => x = mem[(k & 15) as usize],
                _ => return ret::KILL_PROCESS,
            },
            ST => mem[(k & 15) as usize] = a,
            STX => mem[(k & 15) as usize] = x,
            ALU => {
                a = match insn.code & OP {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x30 | 0x90 if src == 0 => return ret::KILL_PROCESS,
                    0x30 => a / src,
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a % src,
                    0xa0 => a ^ src,
                    _ => return ret::KILL_PROCESS,
                }
            }
            JMP => {
                let taken = match insn.code & OP {
                    0x00 => {
                        pc += k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    _ => return ret::KILL_PROCESS,
                };
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
            RET => return if insn.code & RVAL == 0x10 { a } else { k },
            MISC => {
                if insn.code & 0xf8 == 0 {
                    x = a; // TAX
                } else {
                    a = x; // TXA
                }
            }
            _ => unreachable!("CLASS has three bits"),
        }
    }
    ret::KILL_PROCESS
}

/// The action part of a return value, signed as the kernel compares it (KILL_PROCESS is
/// negative, so it sorts as the most restrictive).
fn action_rank(value: u32) -> i32 {
    (value & ret::ACTION_FULL) as i32
}

/// Runs a stack of programs (in installation order) the way the kernel does: every program
/// runs, the most restrictive action wins, and between equal actions the program installed
/// *last* wins (the kernel walks from the newest filter to the oldest and only replaces on a
/// strictly more restrictive action).
pub fn evaluate<P: AsRef<[sock_filter]>>(progs: &[P], data: &SeccompData) -> u32 {
    let mut result = ret::ALLOW;
    for prog in progs.iter().rev() {
        let value = run(prog.as_ref(), data);
        if action_rank(value) < action_rank(result) {
            result = value;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> sock_filter {
        sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn returns(value: u32) -> Vec<sock_filter> {
        vec![stmt(RET, value)]
    }

    #[test]
    fn stacked_programs_keep_the_most_restrictive_action() {
        let data = SeccompData::default();
        let order = [
            ret::KILL_PROCESS,
            ret::KILL_THREAD,
            ret::TRAP,
            ret::errno(1),
            ret::USER_NOTIF,
            ret::TRACE,
            ret::LOG,
            ret::ALLOW,
        ];
        for (i, &strict) in order.iter().enumerate() {
            for &lax in &order[i..] {
                for progs in [
                    [returns(strict), returns(lax)],
                    [returns(lax), returns(strict)],
                ] {
                    assert_eq!(evaluate(&progs, &data), strict, "{strict:#x} vs {lax:#x}");
                }
            }
        }
        // Same action kind: the program installed last wins.
        let progs = [returns(ret::errno(1)), returns(ret::errno(38))];
        assert_eq!(evaluate(&progs, &data), ret::errno(38));
        assert_eq!(evaluate::<Vec<sock_filter>>(&[], &data), ret::ALLOW);
    }

    #[test]
    fn loads_alu_and_jumps() {
        let data = SeccompData::new(0xc000_003e, 7, &[0x1234_5678_9abc_def0]);
        // A = args[0].hi (offset 20); A &= 0xffff; A += 1; X = A; A = nr; A = X - ... ; ret A
        let prog = vec![
            stmt(LD | W_ABS, 20),
            stmt(ALU | 0x50, 0xffff),
            stmt(ALU, 1),
            stmt(MISC, 0), // TAX
            stmt(LD | W_ABS, 0),
            stmt(ALU | 0x20 | SRC_X, 0), // A *= X
            stmt(RET | 0x10, 0),
        ];
        validate(&prog).unwrap();
        assert_eq!(run(&prog, &data), 7 * (0x5678 + 1));
        // jset / jgt / jge on the low word of args[0].
        let prog = vec![
            stmt(LD | W_ABS, 16),
            sock_filter {
                code: JMP | 0x40,
                jt: 0,
                jf: 2,
                k: 0x10,
            }, // jset
            sock_filter {
                code: JMP | 0x20,
                jt: 1,
                jf: 0,
                k: 0x9abc_def0,
            }, // jgt
            stmt(RET, 1),
            stmt(RET, 2),
        ];
        validate(&prog).unwrap();
        assert_eq!(run(&prog, &data), 1);
        let data = SeccompData::new(0, 0, &[0x9abc_def1]);
        assert_eq!(run(&prog, &data), 2);
    }

    #[test]
    fn validate_rejects_what_the_kernel_rejects() {
        assert!(validate(&[]).is_err());
        assert!(validate(&[stmt(LD | W_ABS, 2), stmt(RET, 0)]).is_err());
        assert!(validate(&[stmt(LD | W_ABS, 64), stmt(RET, 0)]).is_err());
        assert!(validate(&[stmt(JMP, 5), stmt(RET, 0)]).is_err());
        assert!(validate(&[stmt(LD | W_ABS, 0)]).is_err());
        assert!(validate(&vec![stmt(RET, 0); 4097]).is_err());
        assert!(validate(&[stmt(RET, 0)]).is_ok());
    }
}
