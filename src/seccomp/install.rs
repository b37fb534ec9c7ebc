//! Installing programs with seccomp(2).
//!
//! We call seccomp(2) ourselves rather than seccompiler's `apply_filter` because OCI profiles
//! may ask for filter flags (`SECCOMP_FILTER_FLAG_LOG`, `..._SPEC_ALLOW`) that it cannot pass.
//! No TSYNC: the sandbox init is single-threaded when it installs its filters.

use super::{BpfProgram, SeccompError};

/// `SECCOMP_FILTER_FLAG_LOG`: log every action except ALLOW.
pub const FILTER_FLAG_LOG: u32 = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep speculative store bypass mitigation off.
pub const FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;

/// Installs `programs` in order with seccomp(2) (`SECCOMP_SET_MODE_FILTER`, no flags).
///
/// The caller must have set no_new_privs (or hold CAP_SYS_ADMIN). Programs are only added,
/// never removed, so a failure part-way leaves the earlier ones in force: callers treat any
/// error as fatal for the sandbox.
pub fn install(programs: &[BpfProgram]) -> Result<(), SeccompError> {
    install_with_flags(programs, 0)
}

/// Like [`install`], passing `flags` (`SECCOMP_FILTER_FLAG_*`) with every program.
pub fn install_with_flags(programs: &[BpfProgram], flags: u32) -> Result<(), SeccompError> {
    if cfg!(not(target_os = "linux")) {
        return Err(SeccompError::Unsupported);
    }
    for (index, program) in programs.iter().enumerate() {
        if program.is_empty() || program.len() > 4096 {
            return Err(SeccompError::BadProgramLength {
                index,
                len: program.len(),
            });
        }
    }
    for (index, program) in programs.iter().enumerate() {
        install_one(program, flags).map_err(|source| SeccompError::Install {
            index,
            count: programs.len(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn install_one(program: &BpfProgram, flags: u32) -> std::io::Result<()> {
    // seccompiler's sock_filter has the kernel's layout (repr(C): u16, u8, u8, u32).
    let fprog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `program`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn install_one(_program: &BpfProgram, _flags: u32) -> std::io::Result<()> {
    unreachable!("install_with_flags returns SeccompError::Unsupported first")
}
