//! Embedding: run each tool call of a Rust agent in a sandbox, with a few lines.
//!
//! ```no_run
//! use srt_runc::embed::{Floor, Sandbox};
//! use srt_runc::policy::SandboxSettings;
//!
//! let policy: SandboxSettings = serde_json::from_str(
//!     r#"{"network": {"allowedDomains": ["example.com"]},
//!         "filesystem": {"allowWrite": ["."], "denyRead": ["~/.ssh"]}}"#,
//! )?;
//! let out = Sandbox::new(policy)
//!     .require(Floor::Network)
//!     .command("sh")
//!     .args(["-c", "echo hello; curl -s https://example.com >/dev/null"])
//!     .output()?;
//! println!("{} {:?}", out.status, String::from_utf8_lossy(&out.stdout));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How it works
//!
//! The library never forks the (possibly multi-threaded) caller to build a sandbox. It
//! starts the `srt-runc` binary as a helper — named with [`Sandbox::helper`], found
//! through `$SRT_RUNC_HELPER`, next to the current executable or on `PATH`, or the
//! current executable itself when its `main` calls [`main_if_helper`] — and talks to it
//! over a socketpair (see [`protocol`]). The helper plans and runs the command exactly
//! as `srt-runc sandbox` would, with the command's stdio being the helper's own, so
//! `Stdio::piped()` gives the sandboxed process's real pipes.
//!
//! [`Command::spawn`] returns once the sandbox is set up: the child's [`Report`] says
//! what is in force, layer by layer, and a floor set with [`Sandbox::require`] that
//! does not hold makes the spawn fail before the command runs. Network events (and the
//! answers of an [`Sandbox::on_ask`] callback) arrive live on [`Child::events`].
//! Filesystem denials are not in the stream: Landlock and the read-only mounts answer
//! them with an errno to the process and tell no one else.
//!
//! # Multicall
//!
//! One binary can serve as both the agent and its own helper:
//!
//! ```no_run
//! // First thing in `main`, before any thread exists: when this process was started
//! // as the helper, this runs the sandbox and exits.
//! srt_runc::embed::main_if_helper();
//! let sandbox = srt_runc::embed::Sandbox::new(Default::default()).helper_is_current_exe();
//! let status = sandbox.command("true").status().unwrap();
//! assert!(status.success());
//! ```
//!
//! In multicall mode `/dev/srt-runc connect` inside the sandbox (ssh's ProxyCommand)
//! runs the embedding binary, which does not know `connect`; use the `srt-runc` binary
//! as the helper where git over ssh must work.

mod builder;
mod child;
mod error;
mod helper;
pub mod protocol;

pub use crate::linux::report::{Floor, Layer, LayerReport, Report, Status};
pub use crate::policy::Mode;
pub use crate::proxy::Event as ConnectionEvent;
pub use builder::{AskAnswer, AskFuture, AskRequest, Command, Sandbox, HELPER_NAME};
pub use child::{AsyncChild, Child, ExitStatus, Output, SandboxEvent};
pub use error::SpawnError;

/// The argument that makes `srt-runc` (or a multicall binary) the library's helper;
/// the next argument is the control socket's fd.
pub const EMBED_ARG: &str = "__srt-runc-embed";

/// If this process was started as a sandbox helper, runs the sandbox and exits;
/// otherwise returns at once. Call it first thing in `main`, before starting threads
/// or a tokio runtime: the helper creates the sandbox with `clone3`, which must not
/// happen in a multi-threaded process.
pub fn main_if_helper() {
    if let Some(code) = helper_entry() {
        std::process::exit(code);
    }
}

/// Runs the helper when the arguments ask for it; its exit status, or `None`.
pub(crate) fn helper_entry() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != EMBED_ARG {
        return None;
    }
    let fd = args
        .next()
        .and_then(|a| a.into_string().ok())
        .unwrap_or_default();
    Some(helper::main(&fd))
}
