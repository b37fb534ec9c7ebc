//! `srt-runc check`: what this host lets a sandbox use, and which mode a run gets.
//!
//! Every probe is read-only or happens in a short-lived forked child, so `check`
//! changes nothing on the host.

use serde::Serialize;

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    /// `strong` or `weaker`: what `"mode": "auto"` would choose.
    pub mode: &'static str,
}

fn read(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Forks a child that tries to create all of strong mode's namespaces; returns the
/// errno it saw (0 on success). The child exits at once; nothing is mounted.
fn probe_namespaces() -> i32 {
    let flags = super::supervisor::NS_FLAGS;
    // SAFETY: the child only calls _exit.
    match unsafe { super::sys::clone_pidfd(flags) } {
        Ok(super::sys::Forked::Child) => unsafe { libc::_exit(0) },
        Ok(super::sys::Forked::Parent { pid, .. }) => {
            let mut st = 0;
            unsafe { libc::waitpid(pid, &mut st, 0) };
            0
        }
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// Whether strong mode can create its namespaces here (used by `"mode": "auto"`).
pub fn strong_possible() -> bool {
    probe_namespaces() == 0
}

/// Why user namespaces fail, as one phrase with a fix.
pub fn userns_cause(errno: i32) -> String {
    let max = read("/proc/sys/user/max_user_namespaces");
    let apparmor = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
    let seccomp = read("/proc/self/status").and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("Seccomp:"))
            .map(|l| l[8..].trim().to_string())
    });
    if max.as_deref() == Some("0") {
        return "user.max_user_namespaces is 0 here".into();
    }
    if errno == libc::ENOSPC {
        return "the user-namespace limit (user.max_user_namespaces) is reached here".into();
    }
    if apparmor.as_deref() == Some("1") && !nix::unistd::geteuid().is_root() {
        return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)".into();
    }
    if seccomp.as_deref() == Some("2") {
        return "a seccomp filter around this process (an outer container or sandbox) refuses namespace creation".into();
    }
    format!(
        "clone3 with new namespaces failed: {}",
        std::io::Error::from_raw_os_error(errno)
    )
}

fn in_container() -> Option<String> {
    if std::path::Path::new("/.dockerenv").exists() {
        return Some("docker (/.dockerenv)".into());
    }
    if std::path::Path::new("/run/.containerenv").exists() {
        return Some("podman (/run/.containerenv)".into());
    }
    if let Some(c) = read("/proc/1/environ").filter(|e| e.contains("container=")) {
        let v = c
            .split('\0')
            .find(|kv| kv.starts_with("container="))
            .unwrap_or_default()
            .to_string();
        return Some(v);
    }
    if read("/proc/self/status")
        .map(|s| s.lines().any(|l| l == "Seccomp:\t2"))
        .unwrap_or(false)
    {
        return Some("inside a seccomp sandbox".into());
    }
    None
}

/// Runs every probe.
pub fn run() -> Report {
    let mut items = Vec::new();
    let errno = probe_namespaces();
    items.push(Item {
        name: "namespaces",
        ok: errno == 0,
        detail: if errno == 0 {
            "user, mount, pid, network, ipc, uts and cgroup namespaces can be created".into()
        } else {
            userns_cause(errno)
        },
    });
    let max = read("/proc/sys/user/max_user_namespaces").unwrap_or_else(|| "unknown".into());
    items.push(Item {
        name: "user.max_user_namespaces",
        ok: max != "0",
        detail: max,
    });
    if let Some(a) = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") {
        items.push(Item {
            name: "apparmor_restrict_unprivileged_userns",
            ok: a == "0",
            detail: a,
        });
    }
    let abi = super::landlock::current_abi();
    let lsm = read("/sys/kernel/security/lsm");
    items.push(Item {
        name: "landlock",
        ok: abi >= 1,
        detail: match (abi, &lsm) {
            (0, Some(l)) => format!("unavailable (LSM list: {l}; add landlock to lsm=)"),
            (0, None) => "unavailable (kernel without Landlock or not in the LSM list)".into(),
            (n, _) => format!(
                "ABI {n}{}",
                if n >= 4 { " (TCP rules available)" } else { "" }
            ),
        },
    });
    let seccomp_mode = read("/proc/self/status")
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Seccomp:"))
                .map(|l| l[8..].trim().to_string())
        })
        .unwrap_or_default();
    items.push(Item {
        name: "seccomp",
        ok: std::path::Path::new("/proc/sys/kernel/seccomp/actions_avail").exists(),
        detail: format!(
            "available{}",
            if seccomp_mode == "2" {
                "; this process already runs under a filter (nested)"
            } else {
                ""
            }
        ),
    });
    let v2_root = read("/proc/self/mountinfo")
        .map(|m| {
            m.lines()
                .any(|l| l.contains(" - cgroup2 ") && l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        })
        .unwrap_or(false);
    let v1 = read("/proc/self/mountinfo")
        .map(|m| m.lines().any(|l| l.contains(" - cgroup ")))
        .unwrap_or(false);
    items.push(Item {
        name: "cgroups",
        ok: true,
        detail: match (v2_root, v1) {
            (true, _) => "cgroup v2 (unified) at /sys/fs/cgroup".into(),
            (false, true) => "cgroup v1 controllers (a cgroup2 mount may exist alongside)".into(),
            _ => "no cgroup mounts found".into(),
        },
    });
    items.push(Item {
        name: "container",
        ok: true,
        detail: in_container().unwrap_or_else(|| "not detected".into()),
    });
    let mode = if errno == 0 && abi >= 1 {
        "strong"
    } else {
        "weaker"
    };
    Report { items, mode }
}

/// Text rendering.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    for i in &r.items {
        s.push_str(&format!(
            "{:<40} {:<4} {}\n",
            i.name,
            if i.ok { "ok" } else { "no" },
            i.detail
        ));
    }
    s.push_str(&format!("{:<40} {}\n", "mode (\"auto\" would use)", r.mode));
    s
}
