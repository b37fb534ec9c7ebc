//! The Linux engine: applies a [`Plan`](crate::plan::Plan).
//!
//! `supervisor` is the parent side (clone, id maps, signal forwarding, exit status);
//! `init` is the child side, where the whole setup order is written out in one function.

pub mod bpf;
pub mod caps;
pub mod cgroup;
pub mod check;
pub mod detached;
pub mod devfilter;
pub mod exec;
pub mod idmap;
pub mod init;
pub mod landlock;
pub mod mounts;
pub mod net;
pub mod placeholders;
pub mod process;
pub mod report;
pub mod supervisor;
pub mod sync;
pub mod sys;
pub mod weaker;

pub use supervisor::{run, Observer, RunOptions};
