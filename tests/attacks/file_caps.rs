//! Execute a binary carrying file capabilities (security.capability set by the runner)
//! and see whether the capabilities arrive.
use super::*;

pub fn run() -> Outcome {
    super::setuid::exec_priv_check(&target("FCAP_BIN"))
}
