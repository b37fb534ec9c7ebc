//! Execute a setuid-root binary (a copy of this program the runner made setuid) and
//! see whether it gained root or capabilities.
use super::*;

pub fn run() -> Outcome {
    exec_priv_check(&target("SUID_BIN"))
}

/// Runs `bin priv-check` and takes its verdict.
pub fn exec_priv_check(bin: &str) -> Outcome {
    match std::process::Command::new(bin).arg("priv-check").output() {
        Err(e) => Outcome::Blocked(format!("exec {bin}: {e}")),
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
            match text.split_once(' ') {
                Some(("ESCAPED", d)) => Outcome::Escaped(d.to_string()),
                Some(("BLOCKED", d)) => Outcome::Blocked(d.to_string()),
                _ => Outcome::Blocked(format!(
                    "{bin} did not run: {:?} {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
            }
        }
    }
}

/// The exec'd side: privilege gained means an effective uid other than the real one or
/// any effective capability.
pub fn priv_check() -> Outcome {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let capeff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap_or(0))
        .unwrap_or(0);
    let (ruid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    if euid != ruid || capeff != 0 {
        Outcome::Escaped(format!(
            "uid {ruid} ran with euid {euid}, CapEff {capeff:#x}"
        ))
    } else {
        Outcome::Blocked(format!("no gain: euid {euid}, CapEff 0"))
    }
}
