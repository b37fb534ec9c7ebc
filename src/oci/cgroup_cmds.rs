//! The lifecycle commands that act on a container's cgroup: `pause`, `resume`, `ps`
//! and `update`.

use super::lifecycle::lock;
use super::state::{Root, State, Status};
use super::OciError;
use crate::linux::cgroup::Cgroup;
use std::io::Read;
use std::path::Path;

fn cgroup_of<'a>(st: &'a State, id: &str) -> Result<&'a Cgroup, OciError> {
    st.cgroup.as_ref().ok_or_else(|| {
        OciError::Other(format!(
            "container {id} has no cgroup (created rootless without one); this needs a cgroup"
        ))
    })
}

/// `pause`: freeze every process of a created or running container.
pub fn pause(root: &Root, id: &str) -> Result<(), OciError> {
    let (dir, st) = root.load(id)?;
    let _lock = lock(&dir)?;
    match st.status(&dir) {
        Status::Running | Status::Created => {}
        Status::Paused => return Err(OciError::Other("container already paused".into())),
        Status::Stopped => return Err(OciError::NotRunning),
    }
    cgroup_of(&st, id)?
        .freeze(true)
        .map_err(|e| OciError::Other(e.to_string()))
}

/// `resume`: thaw a paused container.
pub fn resume(root: &Root, id: &str) -> Result<(), OciError> {
    let (dir, st) = root.load(id)?;
    let _lock = lock(&dir)?;
    if st.status(&dir) != Status::Paused {
        return Err(OciError::Other("container not paused".into()));
    }
    cgroup_of(&st, id)?
        .freeze(false)
        .map_err(|e| OciError::Other(e.to_string()))
}

/// `ps`: the container's host pids as a JSON array, or `ps ARGS` (default `-ef`)
/// filtered to the container's processes.
pub fn ps(root: &Root, id: &str, format: &str, ps_args: &[String]) -> Result<String, OciError> {
    let (_, st) = root.load(id)?;
    let pids = match &st.cgroup {
        Some(cg) => cg.pids(),
        None => super::lifecycle::container_pids(&st),
    };
    match format {
        "json" => {
            Ok(serde_json::to_string(&pids).map_err(|e| OciError::Other(e.to_string()))? + "\n")
        }
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let out = std::process::Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| OciError::io("running ps", e))?;
            if !out.status.success() {
                return Err(OciError::Other(format!(
                    "ps {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)
        }
        other => Err(OciError::Other(format!(
            "invalid format option {other:?}; use table or json"
        ))),
    }
}

/// Keeps `ps`'s header and the lines whose PID column is one of `pids`.
fn filter_ps(text: &str, pids: &[i32]) -> Result<String, OciError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| {
            OciError::Other("ps output has no PID column; pass ps arguments that show it".into())
        })?;
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

/// `update` flags (runc's names); the per-field ones override the `--resources` file.
#[derive(Debug, Default, clap::Args)]
pub struct UpdateFlags {
    /// JSON LinuxResources from FILE, or `-` for stdin.
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Memory limit in bytes.
    #[arg(long)]
    pub memory: Option<i64>,
    /// Maximum number of processes.
    #[arg(long = "pids-limit")]
    pub pids_limit: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// CPU CFS quota in microseconds per period.
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
}

/// `update`: rewrite the cgroup files of a live container.
pub fn update(root: &Root, id: &str, f: &UpdateFlags) -> Result<(), OciError> {
    let (dir, st) = root.load(id)?;
    let _lock = lock(&dir)?;
    if st.status(&dir) == Status::Stopped {
        return Err(OciError::NotRunning);
    }
    let mut res: serde_json::Value = match f.resources.as_deref() {
        None => serde_json::json!({}),
        Some(src) => {
            let (text, name) = if src == "-" {
                let mut t = String::new();
                std::io::stdin()
                    .read_to_string(&mut t)
                    .map_err(|e| OciError::io("reading resources from stdin", e))?;
                (t, "stdin".to_string())
            } else {
                let t = std::fs::read_to_string(Path::new(src))
                    .map_err(|e| OciError::io(format!("reading {src}"), e))?;
                (t, src.to_string())
            };
            serde_json::from_str(&text).map_err(|e| {
                OciError::Other(format!("{name}: not a JSON LinuxResources object: {e}"))
            })?
        }
    };
    let mut set = |path: &[&str], v: serde_json::Value| {
        let mut cur = &mut res;
        for p in &path[..path.len() - 1] {
            cur = cur
                .as_object_mut()
                .expect("object")
                .entry(p.to_string())
                .or_insert_with(|| serde_json::json!({}));
        }
        cur[path[path.len() - 1]] = v;
    };
    if let Some(m) = f.memory {
        set(&["memory", "limit"], m.into());
    }
    if let Some(p) = f.pids_limit {
        set(&["pids", "limit"], p.into());
    }
    if let Some(s) = f.cpu_shares {
        set(&["cpu", "shares"], s.into());
    }
    if let Some(q) = f.cpu_quota {
        set(&["cpu", "quota"], q.into());
    }
    if let Some(p) = f.cpu_period {
        set(&["cpu", "period"], p.into());
    }
    let parsed: oci_spec::runtime::LinuxResources =
        serde_json::from_value(res).map_err(|e| OciError::Other(format!("resources: {e}")))?;
    cgroup_of(&st, id)?
        .apply(&parsed)
        .map_err(|e| OciError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_ps_by_pid_column() {
        let text = "UID   PID  PPID CMD\nroot    1     0 init\nroot   42     1 sleep\n";
        let out = super::filter_ps(text, &[42]).unwrap();
        assert_eq!(out, "UID   PID  PPID CMD\nroot   42     1 sleep\n");
    }
}
