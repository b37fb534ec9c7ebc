//! Sandbox denials from the unified log, as events.
//!
//! Seatbelt reports each denial to the system log as
//! `Sandbox: PROCESS(PID) deny(N) OPERATION TARGET` followed by the rule's message,
//! which for srt-runc is the run's log tag. `log stream --style ndjson` gives one JSON
//! object per line; the predicate keeps only this run's denials, and [`parse_line`]
//! turns a line into a [`Violation`].

use super::profile::LogTag;
use serde::Serialize;
use std::collections::BTreeMap;

/// Absolute path of the log tool (never looked up on PATH).
pub const LOG: &str = "/usr/bin/log";

/// Denials that are noise for every command (system daemons probing, telemetry).
const NOISE: &[&str] = &[
    "mDNSResponder",
    "mach-lookup com.apple.diagnosticd",
    "mach-lookup com.apple.analyticsd",
];

/// One denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The log's timestamp, as printed.
    pub timestamp: String,
    pub process: String,
    pub pid: u32,
    /// The Seatbelt operation, e.g. `file-write-create`.
    pub operation: String,
    /// The path, address or name the operation was about (may be empty).
    pub target: String,
    /// The whole message, for anything the fields miss.
    pub message: String,
}

/// Arguments for `/usr/bin/log` that stream this run's denials as ndjson.
pub fn log_stream_args(tag: &LogTag) -> Vec<String> {
    vec![
        "stream".into(),
        "--style".into(),
        "ndjson".into(),
        "--predicate".into(),
        // The tag is [A-Za-z0-9_] only (LogTag::new), so it needs no quoting.
        format!("eventMessage CONTAINS \"{}\"", tag.as_str()),
    ]
}

/// Parses one ndjson line; `None` for anything that is not this run's denial.
pub fn parse_line(line: &str, tag: &LogTag) -> Option<Violation> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let msg = v.get("eventMessage")?.as_str()?;
    if !msg.contains(tag.as_str()) || NOISE.iter().any(|n| msg.contains(n)) {
        return None;
    }
    let rest = &msg[msg.find("Sandbox: ")? + "Sandbox: ".len()..];
    // `NAME(PID) deny`: the name itself may contain parentheses, so take the pid
    // group right before " deny".
    let close = rest.find(") deny")?;
    let open = rest[..close].rfind('(')?;
    let process = rest[..open].to_string();
    let pid = rest[open + 1..close].parse().ok()?;
    let after = rest[close + 1..].trim_start();
    let after = after.strip_prefix("deny")?;
    // `deny(1)`: the count in parentheses is optional in older releases.
    let after = match after.strip_prefix('(') {
        Some(a) => &a[a.find(')')? + 1..],
        None => after,
    }
    .trim_start();
    let (operation, target) = after.split_once(' ').unwrap_or((after, ""));
    let target = target.replace(tag.as_str(), "").trim().to_string();
    Some(Violation {
        timestamp: v
            .get("timestamp")
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string(),
        process,
        pid,
        operation: operation.to_string(),
        target,
        message: msg.to_string(),
    })
}

/// srt's `ignoreViolations`: entries under `"*"` apply to every command, others when
/// the command line contains the key; a violation is dropped when its message
/// contains one of the listed substrings.
pub fn ignored(v: &Violation, rules: &BTreeMap<String, Vec<String>>, command: &str) -> bool {
    rules.iter().any(|(key, subs)| {
        (key == "*" || command.contains(key.as_str()))
            && subs.iter().any(|s| v.message.contains(s.as_str()))
    })
}
