//! Attach to a host process with ptrace (the tracer's exit detaches it again).
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM_PID");
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) };
    if r == 0 {
        Outcome::Escaped(format!("seized host process {pid}"))
    } else {
        blocked(&format!("PTRACE_SEIZE {pid}"))
    }
}
