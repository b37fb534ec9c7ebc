//! seccomp-BPF for the sandbox: built-in programs, a guard, OCI profile translation,
//! installation, and a classic-BPF interpreter to test all of it.
//!
//! # Why several small programs instead of one
//!
//! The kernel runs *every* installed program on each syscall and keeps the most restrictive
//! answer. That lets each concern stay a small, auditable deny-list that is switched on or off
//! on its own (`namespaces` is skipped when nested user namespaces are allowed, `weaker-net`
//! only exists in weaker mode), instead of one generated program nobody can read.
//!
//! The intended stack, installed last in the sandbox init after no_new_privs, in this order:
//! `default`, `clone3`, `namespaces` (unless nested user namespaces are allowed), `weaker-net`
//! (weaker mode only), any OCI profile from [`translate_oci`], and [`guard`] *last*. The order
//! only matters between answers of the same kind: the kernel keeps the most restrictive action,
//! and between two ERRNOs the one of the newest filter. With the guard last, x32 syscalls get
//! its EPERM even when a profile's default would answer ENOSYS. A profile installed after the
//! built-ins likewise picks the errno for calls both deny (podman answers ENOSYS for
//! `io_uring_setup` where `default` says EPERM); it can never turn a denial into an allow.
//!
//! The built-in programs are compiled from `bpf/*.json` by `build.rs` with seccompiler, for
//! x86_64 and aarch64, and embedded as bytes: nothing is compiled at run time.

mod chain;
mod embedded;
mod error;
mod guard;
mod install;
pub mod interp;
mod oci;
mod unknown_name;

pub use chain::chain;
pub use error::SeccompError;
pub use guard::guard;
pub use install::{install, install_with_flags};
pub use oci::{oci_filter_flags, translate_oci};
pub use seccompiler::{sock_filter, BpfProgram};

/// `SECCOMP_RET_*` action values, as the kernel defines them.
pub mod ret {
    /// Kill the whole process (most restrictive).
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Kill the calling thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// Send SIGSYS.
    pub const TRAP: u32 = 0x0003_0000;
    /// Fail the syscall with the errno in the low 16 bits.
    pub const ERRNO: u32 = 0x0005_0000;
    /// Hand the syscall to a user-space supervisor.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Notify a ptrace tracer.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// Allow after logging.
    pub const LOG: u32 = 0x7ffc_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// Mask of the action part of a return value.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// Mask of the data part (errno, trace value).
    pub const DATA: u32 = 0x0000_ffff;

    /// The return value for "fail with `errno`".
    pub const fn errno(errno: u32) -> u32 {
        ERRNO | (errno & DATA)
    }
}

/// The architectures srt-runc builds seccomp programs for.
///
/// Programs check `seccomp_data.arch` first, so a program for the wrong architecture kills the
/// process on its first syscall; this type keeps the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (`AUDIT_ARCH_X86_64`); x32 and i386 syscalls are refused by [`guard`].
    X86_64,
    /// aarch64 (`AUDIT_ARCH_AARCH64`); 32-bit ARM syscalls are refused by the arch check.
    Aarch64,
}

impl Arch {
    /// The architecture this binary was built for.
    #[cfg(target_arch = "x86_64")]
    pub fn native() -> Arch {
        Arch::X86_64
    }

    /// The architecture this binary was built for.
    #[cfg(target_arch = "aarch64")]
    pub fn native() -> Arch {
        Arch::Aarch64
    }

    /// The `AUDIT_ARCH_*` value the kernel puts in `seccomp_data.arch` for native syscalls.
    pub fn audit_arch(self) -> u32 {
        match self {
            // EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::X86_64 => 0xc000_003e,
            // EM_AARCH64 (183) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::Aarch64 => 0xc000_00b7,
        }
    }

    /// The name used for this architecture by Rust, seccompiler and `bpf/` outputs.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    pub(crate) fn target(self) -> seccompiler::TargetArch {
        match self {
            Arch::X86_64 => seccompiler::TargetArch::x86_64,
            Arch::Aarch64 => seccompiler::TargetArch::aarch64,
        }
    }
}

/// Names of the built-in programs (from `bpf/*.json`).
pub const BUILTIN: &[&str] = &["default", "namespaces", "clone3", "weaker-net"];

/// A built-in program for `arch`, decoded from the bytes embedded at build time.
///
/// Returns `None` for a name not in [`BUILTIN`].
pub fn builtin(arch: Arch, name: &str) -> Option<BpfProgram> {
    embedded::find(arch, name).map(|entry| embedded::decode(entry.bytes))
}

/// Syscall names of a built-in program that do not exist on `arch` and so were left out of
/// its compiled form (for example `iopl` on aarch64). `None` for an unknown program.
pub fn builtin_dropped_names(arch: Arch, name: &str) -> Option<&'static [&'static str]> {
    embedded::find(arch, name).map(|entry| entry.dropped)
}

/// The number of syscall `name` on `arch`, as seccompiler's table (Linux 6.12) knows it.
///
/// seccompiler keeps its table private; asking it to compile a one-rule filter and reading the
/// number back from the comparison is the only way to share its numbering, which keeps tests
/// and `explain` output consistent with the programs it generates.
pub fn syscall_number(arch: Arch, name: &str) -> Option<u32> {
    let json = serde_json::json!({
        "probe": {
            "mismatch_action": "allow",
            "match_action": "kill_process",
            "filter": [{ "syscall": name }],
        }
    });
    let bytes = serde_json::to_vec(&json).ok()?;
    let programs = seccompiler::compile_from_json(bytes.as_slice(), arch.target()).ok()?;
    // Layout: [0..3) arch check, [3] load nr, [4] jeq nr.
    programs.get("probe")?.get(4).map(|insn| insn.k)
}

#[cfg(test)]
mod tests;
