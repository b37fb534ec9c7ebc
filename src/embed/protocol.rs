//! The library ⇄ helper protocol: one JSON object per line over a unix socketpair the
//! library hands to the helper (its fd number is the argument after [`EMBED_ARG`]).
//!
//! Order: the helper says [`FromHelper::Hello`] first, so a binary that is not a
//! compatible helper is recognised before it is sent anything; the library then sends
//! one [`ToHelper::Run`]; the helper answers with [`FromHelper::Started`] (the
//! enforcement report, after the floor check) or [`FromHelper::Failed`], then streams
//! events and ask requests, and ends with [`FromHelper::Exit`].
//!
//! [`EMBED_ARG`]: super::EMBED_ARG

use crate::linux::report::{Floor, Report};
use crate::policy::SandboxSettings;
use crate::proxy::Event;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Bumped whenever a message changes shape.
pub const PROTOCOL: u32 = 1;

/// Library → helper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToHelper {
    /// What to run and under which policy.
    Run(Box<RunRequest>),
    /// The answer to [`FromHelper::Ask`] number `id`.
    Answer {
        id: u64,
        allow: bool,
        reason: String,
    },
    /// Kill the sandbox now.
    Kill,
}

/// The one request of a helper's life.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    pub settings: SandboxSettings,
    /// `argv[0]` is the program (looked up on the sandbox's `PATH` when it has no `/`).
    pub argv: Vec<String>,
    /// The command's whole environment, in order.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub floor: Vec<Floor>,
    /// Whether the library answers ask requests, and how long an answer may take.
    pub ask_timeout_ms: Option<u64>,
    /// Use at most this Landlock ABI (weaker mode).
    pub landlock_abi_max: Option<i32>,
}

/// Helper → library.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromHelper {
    Hello {
        protocol: u32,
        version: String,
    },
    /// The sandbox is set up, the floor holds, and the command starts now.
    Started {
        report: Box<Report>,
    },
    /// The sandbox could not be set up; nothing ran.
    Failed {
        kind: FailureKind,
        /// The required layer that was not in force (`kind` = `floor`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<Floor>,
        message: String,
        code: i32,
    },
    Event(Box<Event>),
    /// The proxy asks about a host no rule covers.
    Ask {
        id: u64,
        host: String,
        port: u16,
    },
    /// The command's exit status (128+n when killed by signal n).
    Exit {
        code: i32,
    },
}

/// Why a sandbox could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The policy or request is invalid.
    Policy,
    /// A required layer is not in force.
    Floor,
    /// The program was not found in the sandbox (127).
    NotFound,
    /// The program cannot be executed (126).
    NotExecutable,
    /// The host refused a setup step (125).
    Setup,
}
