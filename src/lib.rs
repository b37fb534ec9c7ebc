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

pub mod cli;
pub mod embed;
pub mod error;
pub mod linux;
pub mod macos;
pub mod oci;
pub mod plan;
pub mod policy;
pub mod proxy;
pub mod seccomp;
