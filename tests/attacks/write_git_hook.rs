//! Plant a git hook in a writable repository: `.git/hooks` is one of srt's mandatory
//! denies, kept read-only inside writable paths (a bind in strong and OCI mode, the
//! frozen complement of Landlock grants in weaker mode), since git would run whatever
//! lands there outside the sandbox.
use super::*;

pub fn run() -> Outcome {
    create_outside_at(
        &format!("{}/.git/hooks/pre-commit", target("REPO")),
        "by planting a git hook in a writable repository",
    )
}
