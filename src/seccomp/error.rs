//! Errors of the seccomp module.
//!
//! Messages name the config field at fault and what to do, because they end up as the one line
//! a user sees when a bundle is refused.

use thiserror::Error;

/// Everything that can go wrong while translating or installing seccomp programs.
#[derive(Debug, Error)]
pub enum SeccompError {
    /// Programs that cannot be joined into one.
    #[error("cannot chain seccomp programs: {0}")]
    Chain(String),

    /// An action seccompiler (and so srt-runc) cannot express.
    #[error("{field}: {action} is not supported by srt-runc; use SCMP_ACT_ERRNO")]
    UnsupportedAction {
        /// e.g. `linux.seccomp.syscalls[3].action`.
        field: String,
        /// The OCI spelling of the action.
        action: String,
    },
    /// `errnoRet` given for an action that returns no errno.
    #[error("{field}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}")]
    ErrnoRetNotAllowed {
        /// e.g. `linux.seccomp.syscalls[3].errnoRet`.
        field: String,
        /// The OCI spelling of the action.
        action: String,
    },
    /// An errno the kernel cannot return.
    #[error("{field}: {value} is not an errno; use a value from 0 to 4095")]
    BadErrno {
        /// The field holding the value.
        field: String,
        /// The value found.
        value: u32,
    },
    /// A syscall rule without names.
    #[error("{field}: the list of syscall names is empty; name at least one syscall")]
    NoNames {
        /// e.g. `linux.seccomp.syscalls[3].names`.
        field: String,
    },
    /// An argument index outside 0..=5.
    #[error("{field}: {index} is out of range; syscall arguments are numbered 0 to 5")]
    ArgIndex {
        /// e.g. `linux.seccomp.syscalls[3].args[0].index`.
        field: String,
        /// The index found.
        index: usize,
    },
    /// seccompiler refused a translated filter (for example it grew past 4096 instructions).
    #[error("linux.seccomp: the filter for {what} could not be compiled: {source}")]
    Compile {
        /// Which translated filter (e.g. `SCMP_ACT_ERRNO(1) rules`).
        what: String,
        /// seccompiler's error.
        #[source]
        source: seccompiler::Error,
    },
    /// An empty or oversized program handed to `install`.
    #[error("seccomp program {index} has {len} instructions; the kernel accepts 1 to 4096")]
    BadProgramLength {
        /// Position in the list given to `install`.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// seccomp(2) failed.
    #[error("installing seccomp program {index} of {count} failed: {source} (is no_new_privs set, and does the kernel have CONFIG_SECCOMP_FILTER?)")]
    Install {
        /// Position in the list given to `install`.
        index: usize,
        /// Number of programs given to `install`.
        count: usize,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// seccomp is not available on this platform at all.
    #[error("seccomp is only available on Linux")]
    Unsupported,
}
