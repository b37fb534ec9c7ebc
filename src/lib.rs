//! srt-runc: a low-level sandbox runtime.
//!
//! This crate confines a process with Linux namespaces, Landlock and seccomp (and Seatbelt on
//! macOS). Each concern lives in its own module so the setup order stays easy to follow.

pub mod seccomp;
