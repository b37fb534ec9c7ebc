//! The built-in programs, embedded by `build.rs` as raw little-endian BPF.

use super::{sock_filter, Arch, BpfProgram};

include!(concat!(env!("OUT_DIR"), "/seccomp_builtin.rs"));

/// One embedded program.
pub(crate) struct Entry {
    pub bytes: &'static [u8],
    pub dropped: &'static [&'static str],
}

pub(crate) fn find(arch: Arch, name: &str) -> Option<Entry> {
    EMBEDDED
        .iter()
        .find(|(n, a, _, _)| *n == name && *a == arch.name())
        .map(|&(_, _, bytes, dropped)| Entry { bytes, dropped })
}

/// All program names embedded for `arch`, in file order.
#[cfg(test)]
pub(crate) fn names(arch: Arch) -> Vec<&'static str> {
    EMBEDDED
        .iter()
        .filter(|(_, a, _, _)| *a == arch.name())
        .map(|(n, _, _, _)| *n)
        .collect()
}

/// Decodes `code u16, jt u8, jf u8, k u32` little-endian records.
pub(crate) fn decode(bytes: &[u8]) -> BpfProgram {
    bytes
        .chunks_exact(8)
        .map(|c| sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}
