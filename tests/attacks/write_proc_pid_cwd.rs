//! Create a file outside through the cwd of a host process sitting in that directory.
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM2_PID");
    create_outside_at(
        &format!("/proc/{pid}/cwd/write-proc-pid-cwd"),
        "via a host process's /proc/PID/cwd",
    )
}
