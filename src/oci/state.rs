//! The state directory: `ROOT/<id>/state.json` (+ `exec.fifo` while the container is
//! created), and the status derived from it.
//!
//! Only srt-runc reads `state.json`; callers see the runc-shaped JSON of
//! [`StateView`]. The status is never stored as the truth: it is derived, as runc does,
//! from whether the init pid is still the process we started (its start time, field 22 of
//! `/proc/PID/stat`, guards against pid reuse) and whether the exec fifo still exists.

use super::OciError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The spec version reported in `state` and `--version`.
pub use super::OCI_VERSION;
/// The fifo the created init waits on; `start` writes one byte and removes it.
pub const EXEC_FIFO: &str = "exec.fifo";
/// The fifo a created init reports a failed `startContainer` hook on (only with such hooks).
pub const START_STATUS: &str = "start-status.fifo";
const STATE_FILE: &str = "state.json";

/// What `state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub id: String,
    /// Host pid of the container process (PID 1 of its pid namespace).
    pub pid: i32,
    /// Field 22 of `/proc/PID/stat` when the container was created.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, UTC.
    pub created: String,
    /// User name (or uid) that created the container.
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Created by an unprivileged user (user namespace mapped to the caller only).
    pub rootless: bool,
    /// Set by `start` after it released the init; the fifo is the primary signal.
    #[serde(default)]
    pub started: bool,
    /// The container's cgroup directories (none for a rootless container without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::linux::cgroup::Cgroup>,
    /// config.json's hooks, kept for `start` (poststart) and `delete` (poststop), which
    /// may run after the bundle is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The placeholder registry where the init is recorded as the owner of placeholders
    /// for protected paths that did not exist (see `linux::placeholders`); `delete`
    /// releases them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholders: Option<PathBuf>,
}

/// The lifecycle status, as runc reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The JSON printed by `state` and `list --format json` (runc's `containerState`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateView {
    pub oci_version: &'static str,
    pub id: String,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The state root (`--root`).
#[derive(Debug, Clone)]
pub struct Root {
    pub path: PathBuf,
}

impl Root {
    /// `--root`, else `/run/srt-runc` for root, else `$XDG_RUNTIME_DIR/srt-runc`.
    ///
    /// A root shell may still carry `XDG_RUNTIME_DIR=/run/user/0`; like runc we ignore it
    /// for real root so that every root caller sees the same containers. Root of a user
    /// namespace (rootless podman runs its runtime so) is not host root: `/run` is not
    /// its to write, and it keeps its state in the user's `$XDG_RUNTIME_DIR`.
    pub fn resolve(flag: Option<&Path>) -> Result<Root, OciError> {
        if let Some(p) = flag {
            return Ok(Root {
                path: std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
            });
        }
        if crate::linux::idmap::host_root() {
            return Ok(Root {
                path: PathBuf::from("/run/srt-runc"),
            });
        }
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => Ok(Root {
                path: PathBuf::from(d).join("srt-runc"),
            }),
            _ => Err(OciError::Other(
                "no state directory: XDG_RUNTIME_DIR is not set; pass --root DIR".into(),
            )),
        }
    }

    /// The directory of container `id` (validated).
    pub fn container_dir(&self, id: &str) -> Result<PathBuf, OciError> {
        validate_id(id)?;
        Ok(self.path.join(id))
    }

    /// Creates the root (0700) and the container directory (0711); an existing
    /// container directory means the id is taken.
    pub fn create_container_dir(&self, id: &str) -> Result<PathBuf, OciError> {
        let dir = self.container_dir(id)?;
        if !self.path.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.path)
                .map_err(|e| OciError::io(format!("creating {}", self.path.display()), e))?;
        }
        match std::fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(OciError::AlreadyExists),
            Err(e) => Err(OciError::io(format!("creating {}", dir.display()), e)),
        }
    }

    /// Loads the state of `id`; a missing directory or state file is "does not exist".
    pub fn load(&self, id: &str) -> Result<(PathBuf, State), OciError> {
        let dir = self.container_dir(id)?;
        let text = match std::fs::read(dir.join(STATE_FILE)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::NotExist),
            Err(e) => return Err(OciError::io(format!("reading state of {id}"), e)),
        };
        let state = serde_json::from_slice(&text).map_err(|e| {
            OciError::Other(format!(
                "{}: corrupt state ({e}); remove it with delete --force",
                dir.join(STATE_FILE).display()
            ))
        })?;
        Ok((dir, state))
    }

    /// Ids of every container directory holding a state file, sorted.
    pub fn ids(&self) -> Result<Vec<String>, OciError> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(OciError::io(format!("listing {}", self.path.display()), e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// runc's rule: `[A-Za-z0-9_.+-]+`, and never `.` or `..` (they would name the root or
/// its parent).
pub fn validate_id(id: &str) -> Result<(), OciError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(OciError::InvalidId(id.to_string()))
    }
}

impl State {
    /// Writes `DIR/state.json` atomically (temp file + rename), mode 0600.
    pub fn save(&self, dir: &Path) -> Result<(), OciError> {
        let data = serde_json::to_vec(self).map_err(|e| OciError::Other(e.to_string()))?;
        write_atomic(&dir.join(STATE_FILE), &data, 0o600)
            .map_err(|e| OciError::io(format!("writing state of {}", self.id), e))
    }

    /// The status right now.
    pub fn status(&self, dir: &Path) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if self.cgroup.as_ref().is_some_and(|c| c.is_frozen()) {
            return Status::Paused;
        }
        if dir.join(EXEC_FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// True while `pid` is still the process we started and not a zombie.
    pub fn alive(&self) -> bool {
        self.pid > 0
            && matches!(proc_stat(self.pid), Some((st, start)) if start == self.pid_start_time && st != 'Z' && st != 'X')
    }

    /// The runc-shaped view; `owner` is left empty by `state`, as runc does.
    pub fn view(&self, status: Status, with_owner: bool) -> StateView {
        StateView {
            oci_version: OCI_VERSION,
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            owner: if with_owner {
                self.owner.clone()
            } else {
                String::new()
            },
            annotations: self.annotations.clone(),
        }
    }
}

/// (state letter, start time) from `/proc/PID/stat`. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted after the *last* `)`.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let fields = proc_stat_fields(pid)?;
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// The fields of `/proc/PID/stat` from field 3 (state) on: `[0]` is field 3, so field
/// N is `[N - 3]` (ppid `[1]`, starttime `[19]`).
pub fn proc_stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

/// Writes `path` atomically: `.NAME.tmp-PID` in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        // The mode given to open is filtered by the umask; set it exactly.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The name of `uid` from the password database, or the number.
pub fn owner_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["a", "t1", "abc.def-1_2+3", "A"] {
            assert!(validate_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "/", "../x", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn own_stat_parses() {
        let (st, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!(st == 'R' || st == 'S', "{st}");
        assert!(start > 0);
    }
}
