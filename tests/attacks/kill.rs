//! Signal a host process (SIGURG: permission-checked like any signal, ignored by the
//! victim, so a success harms nothing).
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM_PID");
    if unsafe { libc::kill(pid, libc::SIGURG) } == 0 {
        Outcome::Escaped(format!("signalled host process {pid}"))
    } else {
        blocked(&format!("kill {pid}"))
    }
}
