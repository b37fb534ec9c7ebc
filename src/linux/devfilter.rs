//! cgroup v2 device rules as an eBPF program (`BPF_PROG_TYPE_CGROUP_DEVICE`).
//!
//! cgroup v2 has no devices controller: the kernel instead runs a program attached to
//! the cgroup on every device open and `mknod`, with `struct bpf_cgroup_dev_ctx`
//! (access and type, major, minor) as its context, and refuses with EPERM when it
//! returns 0. This module is pure: OCI rules in, instructions out; [`super::bpf`] loads
//! and attaches them.
//!
//! Semantics: the rules are read in order and, for each requested access bit (read,
//! write, mknod), the last rule that matches the device and names that bit decides it;
//! an access is allowed when every bit it asks for is allowed. Nothing matching means
//! deny. That is the v1 controller's "later rules override earlier ones" without its
//! quirk that a deny cannot carve a device out of an earlier wildcard allow (here it
//! can, so v2 is never looser than the rules read). The program walks the rules from
//! the last one back, keeping the bits still undecided in r6: a deny naming one of them
//! refuses at once, an allow clears the bits it names and accepts once none are left.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// `BPF_DEVCG_ACC_*`: the access bits in the upper half of `access_type`.
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// `BPF_DEVCG_DEV_*`: the device type in the lower half of `access_type`.
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;

/// A rule the program cannot express, with the index of the OCI rule (or the default
/// line) it came from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("devices[{index}]: {why}")]
pub struct RuleError {
    pub index: usize,
    pub why: String,
}

/// One device rule, normalised: `None` is a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    /// [`DEV_BLOCK`] or [`DEV_CHAR`].
    pub dev_type: Option<u32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `ACC_*` bits.
    pub access: u32,
}

fn access_bits(s: &str) -> Result<u32, String> {
    s.chars().try_fold(0, |acc, c| match c {
        'r' => Ok(acc | ACC_READ),
        'w' => Ok(acc | ACC_WRITE),
        'm' => Ok(acc | ACC_MKNOD),
        other => Err(format!(
            "access {s:?} has {other:?}; use a combination of r, w and m"
        )),
    })
}

fn number(n: Option<i64>, what: &str) -> Result<Option<u32>, String> {
    match n {
        // runc writes -1 for "any"; so do some engines.
        None | Some(-1) => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| format!("{what} {n} is not a device number; omit it for any")),
    }
}

/// Normalises the OCI rules of `linux.resources.devices`.
pub fn from_oci(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>, RuleError> {
    rules
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let err = |why: String| RuleError { index, why };
            let dev_type = match r.typ() {
                None | Some(LinuxDeviceType::A) => None,
                Some(LinuxDeviceType::B) => Some(DEV_BLOCK),
                Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(DEV_CHAR),
                Some(LinuxDeviceType::P) => {
                    return Err(err(
                        "type p (a FIFO) is not a device the cgroup controls; remove the rule"
                            .into(),
                    ))
                }
            };
            Ok(Rule {
                allow: r.allow(),
                dev_type,
                major: number(r.major(), "major").map_err(err)?,
                minor: number(r.minor(), "minor").map_err(err)?,
                access: access_bits(r.access().as_deref().unwrap_or("rwm")).map_err(err)?,
            })
        })
        .collect()
}

/// An allow rule from a v1-style line such as `c 1:3 rwm` or `c 136:* rwm`.
pub fn allow_line(line: &str) -> Result<Rule, String> {
    let bad = || format!("device rule {line:?} is not \"TYPE MAJOR:MINOR ACCESS\"");
    let mut parts = line.split_whitespace();
    let (Some(t), Some(nums), Some(acc), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let dev_type = match t {
        "a" => None,
        "b" => Some(DEV_BLOCK),
        "c" => Some(DEV_CHAR),
        _ => return Err(bad()),
    };
    let (ma, mi) = nums.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| match s {
        "*" => Ok(None),
        s => s.parse().map(Some).map_err(|_| bad()),
    };
    Ok(Rule {
        allow: true,
        dev_type,
        major: num(ma)?,
        minor: num(mi)?,
        access: access_bits(acc)?,
    })
}

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg and src_reg, 4 bits each (dst in the low nibble on little-endian).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        #[cfg(target_endian = "little")]
        let regs = dst | (src << 4);
        #[cfg(target_endian = "big")]
        let regs = (dst << 4) | src;
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }
    pub fn dst(&self) -> u8 {
        #[cfg(target_endian = "little")]
        return self.regs & 0xf;
        #[cfg(target_endian = "big")]
        return self.regs >> 4;
    }
    pub fn src(&self) -> u8 {
        #[cfg(target_endian = "little")]
        return self.regs >> 4;
        #[cfg(target_endian = "big")]
        return self.regs & 0xf;
    }
}

/// The opcodes the program uses (class | op | source).
pub mod op {
    /// `BPF_LDX | BPF_MEM | BPF_W`: 32-bit load from `src + off`.
    pub const LDX_W: u8 = 0x61;
    /// `BPF_ALU | BPF_MOV | BPF_X` / `BPF_K`: 32-bit moves.
    pub const MOV32_REG: u8 = 0xbc;
    pub const MOV32_IMM: u8 = 0xb4;
    /// `BPF_ALU | BPF_AND | BPF_K`, `BPF_ALU | BPF_RSH | BPF_K`.
    pub const AND32_IMM: u8 = 0x54;
    pub const RSH32_IMM: u8 = 0x74;
    /// `BPF_JMP32 | BPF_JEQ / BPF_JNE | BPF_K`: compare the low 32 bits with `imm`,
    /// so device numbers above `i32::MAX` compare as unsigned.
    pub const JEQ32_IMM: u8 = 0x16;
    pub const JNE32_IMM: u8 = 0x56;
    /// `BPF_JMP | BPF_EXIT`.
    pub const EXIT: u8 = 0x95;
}

/// Offsets in `struct bpf_cgroup_dev_ctx`.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;

// Registers: r1 holds the context on entry and is a scratch register afterwards.
const R0: u8 = 0;
const R1: u8 = 1;
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;
const R_UNDECIDED: u8 = 6;

/// One rule's instructions; `to_next` marks the jumps that leave the block when the
/// rule does not decide, patched once the block's length is known.
struct Block {
    insns: Vec<Insn>,
    to_next: Vec<usize>,
}

impl Block {
    fn push(&mut self, i: Insn) {
        self.insns.push(i);
    }
    fn jump_next(&mut self, code: u8, dst: u8, imm: i32) {
        self.to_next.push(self.insns.len());
        self.push(Insn::new(code, dst, 0, 0, imm));
    }
    fn ret(&mut self, v: i32) {
        self.push(Insn::new(op::MOV32_IMM, R0, 0, 0, v));
        self.push(Insn::new(op::EXIT, 0, 0, 0, 0));
    }
    fn finish(mut self) -> Vec<Insn> {
        let len = self.insns.len();
        for at in self.to_next {
            // Relative to the instruction after the jump; the next block starts at `len`.
            self.insns[at].off = (len - at - 1) as i16;
        }
        self.insns
    }
}

fn block(r: &Rule) -> Vec<Insn> {
    let mut b = Block {
        insns: Vec::new(),
        to_next: Vec::new(),
    };
    if let Some(t) = r.dev_type {
        b.jump_next(op::JNE32_IMM, R_TYPE, t as i32);
    }
    if let Some(m) = r.major {
        b.jump_next(op::JNE32_IMM, R_MAJOR, m as i32);
    }
    if let Some(m) = r.minor {
        b.jump_next(op::JNE32_IMM, R_MINOR, m as i32);
    }
    if r.allow {
        b.push(Insn::new(
            op::AND32_IMM,
            R_UNDECIDED,
            0,
            0,
            !r.access as i32,
        ));
        b.jump_next(op::JNE32_IMM, R_UNDECIDED, 0);
        b.ret(1);
    } else {
        b.push(Insn::new(op::MOV32_REG, R1, R_UNDECIDED, 0, 0));
        b.push(Insn::new(op::AND32_IMM, R1, 0, 0, r.access as i32));
        b.jump_next(op::JEQ32_IMM, R1, 0);
        b.ret(0);
    }
    b.finish()
}

/// The program for `rules` (in config order): returns 1 to allow, 0 to refuse.
///
/// Every rule block ends in a jump to the next block, so no instruction is unreachable
/// (the verifier refuses those), and jumps only go forward by a few instructions.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut out = vec![
        Insn::new(op::LDX_W, R_TYPE, R1, CTX_ACCESS_TYPE, 0),
        Insn::new(op::MOV32_REG, R_ACCESS, R_TYPE, 0, 0),
        Insn::new(op::RSH32_IMM, R_ACCESS, 0, 0, 16),
        Insn::new(op::AND32_IMM, R_TYPE, 0, 0, 0xffff),
        Insn::new(op::LDX_W, R_MAJOR, R1, CTX_MAJOR, 0),
        Insn::new(op::LDX_W, R_MINOR, R1, CTX_MINOR, 0),
        Insn::new(op::MOV32_REG, R_UNDECIDED, R_ACCESS, 0, 0),
    ];
    for r in rules.iter().rev().filter(|r| r.access & ACC_ALL != 0) {
        out.extend(block(r));
    }
    out.push(Insn::new(op::MOV32_IMM, R0, 0, 0, 0));
    out.push(Insn::new(op::EXIT, 0, 0, 0, 0));
    out
}

#[cfg(test)]
/// Runs `prog` as the kernel would for one device access: an interpreter for the
/// instructions [`program`] emits (anything else fails the test).
pub(crate) fn eval(prog: &[Insn], dev_type: u32, access: u32, major: u32, minor: u32) -> bool {
    let ctx = [(access << 16) | dev_type, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 10_000, "runaway program");
        let i = prog[pc];
        let (d, s) = (i.dst() as usize, i.src() as usize);
        let imm = i.imm as u32;
        let jump = |cond: bool| if cond { i.off as isize } else { 0 };
        let mut next = pc as isize + 1;
        match i.code {
            op::LDX_W => {
                assert_eq!(s, 1, "loads come from the context");
                r[d] = ctx[(i.off / 4) as usize] as u64;
            }
            op::MOV32_REG => r[d] = r[s] as u32 as u64,
            op::MOV32_IMM => r[d] = imm as u64,
            op::AND32_IMM => r[d] = (r[d] as u32 & imm) as u64,
            op::RSH32_IMM => r[d] = ((r[d] as u32) >> imm) as u64,
            op::JEQ32_IMM => next += jump(r[d] as u32 == imm),
            op::JNE32_IMM => next += jump(r[d] as u32 != imm),
            op::EXIT => return r[0] == 1,
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
        assert!(
            next >= 0 && (next as usize) < prog.len(),
            "jump out of range"
        );
        pc = next as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval as run;

    fn rules(lines: &[(bool, &str)]) -> Vec<Rule> {
        lines
            .iter()
            .map(|(allow, l)| Rule {
                allow: *allow,
                ..allow_line(l).unwrap()
            })
            .collect()
    }

    const RW: u32 = ACC_READ | ACC_WRITE;

    #[test]
    fn nothing_matching_is_denied() {
        let p = program(&[]);
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 3));
        let p = program(&rules(&[(true, "c 1:3 rwm")]));
        assert!(run(&p, DEV_CHAR, RW, 1, 3));
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 5));
        assert!(!run(&p, DEV_BLOCK, ACC_READ, 1, 3), "type must match");
    }

    #[test]
    fn deny_all_then_allows_then_defaults() {
        let p = program(&rules(&[
            (false, "a *:* rwm"),
            (true, "c 10:229 r"),
            (true, "c 136:* rwm"),
            (true, "c 1:3 rwm"),
        ]));
        assert!(run(&p, DEV_CHAR, RW, 1, 3));
        assert!(run(&p, DEV_CHAR, ACC_READ, 10, 229));
        assert!(!run(&p, DEV_CHAR, RW, 10, 229), "write not granted");
        assert!(!run(&p, DEV_CHAR, ACC_MKNOD, 10, 229));
        assert!(run(&p, DEV_CHAR, RW, 136, 7), "minor wildcard");
        assert!(!run(&p, DEV_CHAR, RW, 137, 7));
        assert!(!run(&p, DEV_BLOCK, ACC_READ, 8, 0));
    }

    #[test]
    fn later_rules_override_earlier_ones_per_access_bit() {
        // A deny after an allow wins for the bits it names only.
        let p = program(&rules(&[(true, "c 1:3 rwm"), (false, "c 1:3 w")]));
        assert!(run(&p, DEV_CHAR, ACC_READ, 1, 3));
        assert!(!run(&p, DEV_CHAR, ACC_WRITE, 1, 3));
        assert!(!run(&p, DEV_CHAR, RW, 1, 3));
        assert!(run(&p, DEV_CHAR, ACC_MKNOD, 1, 3));
        // A specific deny carves a device out of an earlier wildcard allow.
        let p = program(&rules(&[(true, "a *:* rwm"), (false, "c 1:5 rwm")]));
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 5));
        assert!(run(&p, DEV_CHAR, ACC_READ, 1, 7));
        assert!(run(&p, DEV_BLOCK, RW, 8, 1));
        // ...and a later allow puts it back.
        let p = program(&rules(&[
            (true, "a *:* rwm"),
            (false, "c 1:5 rwm"),
            (true, "c 1:5 r"),
        ]));
        assert!(run(&p, DEV_CHAR, ACC_READ, 1, 5));
        assert!(!run(&p, DEV_CHAR, RW, 1, 5));
        // Read and write granted by two different rules add up.
        let p = program(&rules(&[(true, "c 4:* r"), (true, "c *:1 w")]));
        assert!(run(&p, DEV_CHAR, RW, 4, 1));
        assert!(!run(&p, DEV_CHAR, RW, 4, 2));
        // A deny-all at the end wins over everything before it.
        let p = program(&rules(&[(true, "c 1:3 rwm"), (false, "a *:* rwm")]));
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 3));
    }

    #[test]
    fn large_device_numbers_compare_unsigned() {
        let r = Rule {
            allow: true,
            dev_type: Some(DEV_CHAR),
            major: Some(0x8000_0001),
            minor: None,
            access: ACC_ALL,
        };
        let p = program(&[r]);
        assert!(run(&p, DEV_CHAR, ACC_READ, 0x8000_0001, 0));
        assert!(!run(&p, DEV_CHAR, ACC_READ, 1, 0));
    }

    #[test]
    fn every_jump_lands_inside_and_nothing_is_unreachable() {
        let p = program(&rules(&[
            (false, "a *:* rwm"),
            (true, "b 8:* r"),
            (false, "c *:* m"),
            (true, "a *:* rwm"),
        ]));
        let mut reached = vec![false; p.len()];
        reached[0] = true;
        for (pc, i) in p.iter().enumerate() {
            if i.code != op::EXIT && reached[pc] {
                reached[pc + 1] = true;
            }
            if matches!(i.code, op::JEQ32_IMM | op::JNE32_IMM) {
                let to = pc as isize + 1 + i.off as isize;
                assert!(to > pc as isize && (to as usize) < p.len(), "{pc}: {i:?}");
                reached[to as usize] = true;
            }
        }
        assert!(reached.iter().all(|r| *r), "{reached:?}");
        assert_eq!(p.last().unwrap().code, op::EXIT);
    }

    #[test]
    fn oci_rules_normalise() {
        let oci: Vec<LinuxDeviceCgroup> = serde_json::from_value(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"},
            {"allow": true, "type": "b", "major": -1, "minor": -1},
            {"allow": true, "type": "u", "major": 4}
        ]))
        .unwrap();
        let r = from_oci(&oci).unwrap();
        assert_eq!(r[0], rules(&[(false, "a *:* rwm")])[0]);
        assert_eq!(r[1], allow_line("c 10:229 r").unwrap());
        assert_eq!(r[2], allow_line("b *:* rwm").unwrap());
        assert_eq!(r[3], allow_line("c 4:* rwm").unwrap());

        let bad = |v: serde_json::Value| {
            let oci: Vec<LinuxDeviceCgroup> = serde_json::from_value(v).unwrap();
            from_oci(&oci).unwrap_err()
        };
        let e = bad(serde_json::json!([{"allow": true}, {"allow": true, "access": "rx"}]));
        assert_eq!(e.index, 1);
        assert!(e.to_string().contains("r, w and m"), "{e}");
        assert!(bad(serde_json::json!([{"allow": true, "type": "p"}]))
            .why
            .contains("FIFO"));
        assert!(
            bad(serde_json::json!([{"allow": true, "major": 1i64 << 33}]))
                .why
                .contains("not a device number")
        );
        assert!(allow_line("c 1:3").is_err());
        assert!(allow_line("x 1:3 r").is_err());
        assert!(allow_line("c 1-3 r").is_err());
    }

    #[test]
    fn rules_without_access_change_nothing() {
        let oci: Vec<LinuxDeviceCgroup> =
            serde_json::from_value(serde_json::json!([{"allow": true, "access": ""}])).unwrap();
        let r = from_oci(&oci).unwrap();
        assert_eq!(program(&r), program(&[]));
    }
}
