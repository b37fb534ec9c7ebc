//! srt-runc: a low-level sandbox runtime, usable as the spawn backend of a Rust agent.
//!
//! ```no_run
//! use srt_runc::embed::{Floor, Sandbox};
//!
//! let policy = serde_json::from_str(r#"{"network": {"allowedDomains": ["github.com"]}}"#)?;
//! let out = Sandbox::new(policy)
//!     .require(Floor::Network)
//!     .command("git")
//!     .args(["ls-remote", "https://github.com/rust-lang/rust"])
//!     .output()?;
//! print!("{}", String::from_utf8_lossy(&out.stdout));
//! println!("{:#?}\n{:#?}", out.report, out.events); // what was enforced, what was denied
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The library side is [`embed`]: a `std::process::Command`-like builder that starts
//! each command in its own sandbox through the `srt-runc` helper binary, with std and
//! tokio flavours, the enforcement report, floors, live network events and an ask
//! callback for unlisted hosts.
//!
//! Policy → Plan → engine: front-ends (`policy::oci`) produce a [`policy::Policy`],
//! [`plan::build`] turns it into a side-effect-free [`plan::Plan`], and the Linux engine
//! ([`linux`]) applies it.

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
compile_error!("srt-runc runs on Linux (namespaces, Landlock, seccomp) and macOS (Seatbelt)");

pub mod cli;
// The embedding API drives the Linux engine's helper protocol and report; Linux only for now.
#[cfg(target_os = "linux")]
pub mod embed;
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
