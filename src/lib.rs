//! srt-runc: a low-level sandbox runtime.
//!
//! Policy → Plan → engine: front-ends (`policy::oci`) produce a [`policy::Policy`],
//! [`plan::build`] turns it into a side-effect-free [`plan::Plan`], and the Linux engine
//! ([`linux`]) applies it.

pub mod cli;
pub mod error;
pub mod linux;
pub mod macos;
pub mod oci;
pub mod plan;
pub mod policy;
pub mod proxy;
pub mod seccomp;
