//! Recognising seccompiler's "unknown syscall name" error.
//!
//! seccompiler 0.5 reports a name missing from its per-arch table as
//! `Error::JsonFrontend(SyscallName(name, arch))`, but the inner error type is private, so the
//! only stable handle on the name is the `Display` text. This file is shared by `build.rs`
//! (through `#[path]`) and the OCI translator; a unit test pins the wording, so a seccompiler
//! upgrade that changes it fails loudly instead of silently.

/// Returns the syscall name if `err` says that name is unknown for the target architecture.
pub fn unknown_syscall_name(err: &seccompiler::Error) -> Option<String> {
    if !matches!(err, seccompiler::Error::JsonFrontend(_)) {
        return None;
    }
    let text = err.to_string();
    const MARK: &str = "Invalid syscall name: ";
    let rest = &text[text.find(MARK)? + MARK.len()..];
    let end = rest.rfind(" for given arch: ")?;
    Some(rest[..end].to_string())
}
