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

/// The whole-range identity map a root caller asks for (`0 0 4294967295`), narrowed to
/// the ids that exist in this process's own namespace (`own`, its `/proc/self/*_map`):
/// root of a user namespace (the runtime under rootless podman) holds only the user's
/// id and subordinate ranges, and the kernel refuses a map naming any other id. In the
/// initial namespace this is the same whole range.
fn narrow_identity(maps: &[IdMap], own: &str) -> Vec<IdMap> {
    let whole = [IdMap {
        inside: 0,
        outside: 0,
        count: u32::MAX,
    }];
    if maps != whole {
        return maps.to_vec();
    }
    let ranges: Vec<IdMap> = own
        .lines()
        .filter_map(|l| {
            let v: Vec<u32> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (v.len() == 3).then(|| IdMap {
                inside: v[0],
                outside: v[0],
                count: v[2],
            })
        })
        .collect();
    if ranges.is_empty() {
        maps.to_vec()
    } else {
        ranges
    }
}

/// Whether this process is root in the host's user namespace: uid 0 with the identity
/// map. Under rootless podman the runtime runs as uid 0 of podman's user namespace
/// (mapped to the unprivileged user), where euid 0 alone would wrongly mean host root:
/// the state root under `/run`, cgroups that must exist, device programs.
pub fn host_root() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
            .unwrap_or(false)
}

/// Writes `/proc/PID/{setgroups,uid_map,gid_map}`.
pub fn write(pid: libc::pid_t, maps: &IdMaps) -> Result<()> {
    let base = format!("/proc/{pid}");
    if maps.deny_setgroups {
        std::fs::write(format!("{base}/setgroups"), "deny")
            .step(|| format!("writing {base}/setgroups"))?;
    }
    let own = |f: &str| std::fs::read_to_string(format!("/proc/self/{f}")).unwrap_or_default();
    let uid = narrow_identity(&maps.uid, &own("uid_map"));
    let gid = narrow_identity(&maps.gid, &own("gid_map"));
    std::fs::write(format!("{base}/uid_map"), render(&uid))
        .step(|| format!("writing {base}/uid_map"))?;
    std::fs::write(format!("{base}/gid_map"), render(&gid))
        .step(|| format!("writing {base}/gid_map"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(inside: u32, outside: u32, count: u32) -> IdMap {
        IdMap {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn the_whole_range_narrows_to_the_ids_this_namespace_has() {
        let whole = [m(0, 0, u32::MAX)];
        // Initial namespace: unchanged.
        let host = "         0          0 4294967295\n";
        assert_eq!(narrow_identity(&whole, host), whole.to_vec());
        // Rootless podman's namespace: the user's id and its subordinate range.
        let podman = "         0        999          1\n         1     200000      65536\n";
        assert_eq!(
            narrow_identity(&whole, podman),
            vec![m(0, 0, 1), m(1, 1, 65536)]
        );
        // Any other map is written as given.
        let own = [m(0, 999, 1)];
        assert_eq!(narrow_identity(&own, podman), own.to_vec());
    }
}
