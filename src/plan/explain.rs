//! Human-readable rendering of a [`Plan`] for `srt-runc explain`.

use super::{NetworkPlan, Plan, StepKind};
use std::fmt::Write;

/// Renders the plan as indented text, in the order the engine applies it.
pub fn render_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "policy:      {}", plan.origin);
    let _ = writeln!(s, "mode:        {:?}", plan.mode);
    let _ = writeln!(s, "namespaces:  {}", plan.namespaces.join(", "));
    let maps = |m: &[super::IdMap]| {
        m.iter()
            .map(|m| format!("{} -> {} (x{})", m.inside, m.outside, m.count))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(s, "uid map:     {}", maps(&plan.id_maps.uid));
    let _ = writeln!(
        s,
        "gid map:     {}{}",
        maps(&plan.id_maps.gid),
        if plan.id_maps.deny_setgroups {
            " (setgroups denied)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "root:        {} ({})",
        plan.root.display(),
        if plan.root_readonly {
            "read-only, every submount"
        } else {
            "read-write"
        }
    );
    let _ = writeln!(s, "mounts (in order):");
    for m in &plan.mounts {
        let what = match &m.kind {
            StepKind::Bind {
                source,
                recursive,
                readonly,
                flags,
                propagation,
            } => {
                let mut f = vec![if *readonly { "ro" } else { "rw" }.to_string()];
                if *recursive {
                    f.push("rbind".into());
                }
                f.extend(flags.iter().cloned());
                f.extend(propagation.iter().cloned());
                format!("bind {} [{}]", source.display(), f.join(","))
            }
            StepKind::Tmpfs {
                readonly,
                flags,
                data,
            } => {
                format!(
                    "tmpfs [{}{}{}{}]",
                    if *readonly { "ro" } else { "rw" },
                    if flags.is_empty() { "" } else { "," },
                    flags.join(","),
                    if data.is_empty() {
                        String::new()
                    } else {
                        format!(",{data}")
                    }
                )
            }
            StepKind::Proc => "proc (fresh, mounted before the old root is detached)".into(),
            StepKind::Sysfs { readonly } => {
                format!("sysfs [{}]", if *readonly { "ro" } else { "rw" })
            }
            StepKind::Devpts { data } => format!("devpts [{data}]"),
            StepKind::Mqueue => "mqueue".into(),
            StepKind::Cgroup { readonly } => {
                format!("cgroup [{}]", if *readonly { "ro" } else { "rw" })
            }
            StepKind::DevNodes => {
                "device nodes: null zero full random urandom tty; links ptmx fd stdin stdout stderr"
                    .into()
            }
            StepKind::DenyRead { dir, .. } => format!(
                "deny read: unreadable {} stub",
                if *dir { "directory" } else { "file" }
            ),
            StepKind::Mask { dir } => format!(
                "mask: {}",
                if *dir {
                    "empty read-only tmpfs"
                } else {
                    "/dev/null"
                }
            ),
            StepKind::MaskSocket => "unix socket: unreadable stub (connect fails)".into(),
            StepKind::ReadOnly => "read-only re-bind (submounts too)".into(),
        };
        let _ = writeln!(s, "  {:<28} {}   <- {}", m.dest.display(), what, m.origin);
    }
    let _ = writeln!(
        s,
        "landlock:    writes only beneath: {}",
        join_paths(&plan.landlock.writable)
    );
    if !plan.landlock.deny_write.is_empty() {
        let _ = writeln!(
            s,
            "             except (write granted on the complement; the directories on the way are frozen): {}",
            join_paths(&plan.landlock.deny_write)
        );
    }
    if plan.landlock.mandatory_unenforced {
        let _ = writeln!(
            s,
            "             srt's mandatory denies not enforced (weakerMandatoryDenies: unenforced)"
        );
    }
    let _ = writeln!(
        s,
        "seccomp:     {}{}",
        plan.seccomp.builtin.join(", "),
        if plan.seccomp.oci_profile.is_some() {
            ", OCI linux.seccomp profile"
        } else {
            ""
        }
    );
    match &plan.network {
        NetworkPlan::Isolated => {
            let _ = writeln!(
                s,
                "network:     private namespace, loopback only (no egress)"
            );
        }
        NetworkPlan::Proxy { listen, settings } => {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "(none)".to_string()
                } else {
                    v.join(", ")
                }
            };
            let _ = writeln!(
                s,
                "network:     private namespace; egress only via proxy on {}",
                listen.join(", ")
            );
            let _ = writeln!(s, "  allowed:   {}", list(&settings.allowed_domains));
            let _ = writeln!(s, "  denied:    {}", list(&settings.denied_domains));
        }
    }
    let p = &plan.process;
    let _ = writeln!(
        s,
        "process:     {:?} as uid {} gid {} in {}",
        p.args,
        p.uid,
        p.gid,
        p.cwd.display()
    );
    let _ = writeln!(
        s,
        "  capabilities: {}",
        if p.capabilities.bounding.is_empty() && p.capabilities.effective.is_empty() {
            "none".to_string()
        } else {
            format!("{:?}", p.capabilities)
        }
    );
    let _ = writeln!(
        s,
        "  no_new_privs: yes; new session; fds beyond stdio closed; dies with the supervisor"
    );
    if let Some(h) = &plan.hostname {
        let _ = writeln!(s, "hostname:    {h}");
    }
    s
}

/// `a, b, c`, for the plan's text and for messages that list paths.
pub fn join_paths(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
