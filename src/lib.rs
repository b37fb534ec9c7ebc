//! srt-runc: a low-level sandbox runtime.
//!
//! Policy → Plan → engine: front-ends (`policy::oci`) produce a [`policy::Policy`],
//! [`plan::build`] turns it into a side-effect-free [`plan::Plan`], and the Linux engine
//! ([`linux`]) applies it.

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!("srt-runc runs on Linux (namespaces, Landlock, seccomp) and macOS (Seatbelt)");

pub mod cli;
pub mod error;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod macos;
pub mod oci;
pub mod plan;
pub mod policy;
pub mod proxy;
#[cfg(target_os = "linux")]
pub mod seccomp;
