//! Writing the user namespace's id maps from the supervisor (the parent side).
//!
//! The parent writes them because an unprivileged process may map only its own ids
//! and only from outside the namespace; `setgroups` must be denied before an
//! unprivileged gid map is accepted.

use crate::error::{Context, Result};
use crate::plan::{IdMap, IdMaps};

fn render(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

/// Writes `/proc/PID/{setgroups,uid_map,gid_map}`.
pub fn write(pid: libc::pid_t, maps: &IdMaps) -> Result<()> {
    let base = format!("/proc/{pid}");
    if maps.deny_setgroups {
        std::fs::write(format!("{base}/setgroups"), "deny")
            .step(|| format!("writing {base}/setgroups"))?;
    }
    std::fs::write(format!("{base}/uid_map"), render(&maps.uid))
        .step(|| format!("writing {base}/uid_map"))?;
    std::fs::write(format!("{base}/gid_map"), render(&maps.gid))
        .step(|| format!("writing {base}/gid_map"))?;
    Ok(())
}
