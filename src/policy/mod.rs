//! The typed, validated policy every front-end produces (DESIGN.md section 2).
//!
//! Nothing downstream knows whether the policy came from an OCI bundle, an srt settings
//! file or the library builder. Paths in a [`Policy`] are absolute; relative entries were
//! resolved by the front-end against its base directory.

pub mod glob;
pub mod mandatory;
pub mod oci;
pub mod settings;
pub mod srt;

#[cfg(test)]
mod scratch;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use settings::{
    FilesystemSettings, Mode, NetworkSettings, PathEntry, SandboxSettings, WeakerDenies,
};

/// Default `PATH` inside the sandbox when the process environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The whole sandbox policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// Where the policy came from (a file path), for messages.
    pub origin: String,
    /// Directory relative paths were resolved against.
    pub base_dir: PathBuf,
    /// Host directory that becomes `/` in the sandbox (`/` means "the host").
    pub root: PathBuf,
    /// Make the root, and every mount below it, read-only.
    pub root_readonly: bool,
    /// OCI mounts, in order.
    pub mounts: Vec<MountSpec>,
    pub process: ProcessSpec,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// An OCI seccomp profile to apply in addition to the built-in programs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<oci_spec::runtime::LinuxSeccomp>,
    /// The `"sandbox"` section (srt schema + additions), paths already absolute.
    pub sandbox: SandboxSettings,
    /// Namespaces to join instead of creating (`linux.namespaces[].path`): kind
    /// (`network`, `ipc`, `uts`) and the namespace file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_namespaces: Vec<(String, PathBuf)>,
    /// `linux.uidMappings` / `linux.gidMappings` as (container id, host id, size).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<(u32, u32, u32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<(u32, u32, u32)>,
    /// `linux.sysctl`, validated as namespaced (net.*, IPC and mqueue keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctl: BTreeMap<String, String>,
    /// `linux.devices`: container path → the host node with the same type and number,
    /// bound in (mknod is refused inside a user namespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<(PathBuf, PathBuf)>,
    /// `linux.cgroupsPath` and `linux.resources`, when either is given: the sandbox then
    /// runs in its own cgroup with those limits (a pids limit is what stops a fork bomb
    /// of a root-run sandbox, whose uid 0 `RLIMIT_NPROC` never binds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<CgroupSpec>,
}

/// The cgroup a sandbox asks for (OCI `linux.cgroupsPath` / `linux.resources`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CgroupSpec {
    /// As runc: absolute from each hierarchy's root; relative (or absent: the run's id)
    /// from the caller's own cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
}

/// One OCI mount, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountSpec {
    pub destination: PathBuf,
    pub kind: MountKind,
    pub source: Option<PathBuf>,
    pub options: Vec<String>,
}

/// The mount types srt-runc knows how to set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Tmpfs,
    Proc,
    Sysfs,
    Devpts,
    Mqueue,
    Cgroup,
}

impl MountKind {
    /// Parses an OCI mount `type` (with the `bind` option deciding for `none`/absent types).
    pub fn from_oci(typ: Option<&str>, options: &[String]) -> Option<MountKind> {
        let is_bind = options.iter().any(|o| o == "bind" || o == "rbind");
        match typ {
            Some("bind") | Some("rbind") => Some(MountKind::Bind),
            None | Some("none") | Some("") if is_bind => Some(MountKind::Bind),
            Some("tmpfs") => Some(MountKind::Tmpfs),
            Some("proc") => Some(MountKind::Proc),
            Some("sysfs") => Some(MountKind::Sysfs),
            Some("devpts") => Some(MountKind::Devpts),
            Some("mqueue") => Some(MountKind::Mqueue),
            Some("cgroup") | Some("cgroup2") => Some(MountKind::Cgroup),
            _ => None,
        }
    }
}

/// The process to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSpec {
    pub args: Vec<String>,
    /// `KEY=VALUE` entries, in order.
    pub env: Vec<String>,
    /// Absolute path inside the sandbox.
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub capabilities: CapabilitySets,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub terminal: bool,
    pub oom_score_adj: Option<i32>,
}

/// Capability sets by canonical name (`CAP_CHOWN`); all empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilitySets {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
}

/// One resource limit (`RLIMIT_NOFILE`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// Canonical name, e.g. `RLIMIT_NOFILE`.
    pub kind: String,
    pub soft: u64,
    pub hard: u64,
}

impl ProcessSpec {
    /// A process spec with srt-runc's defaults: root user, `/` as cwd, a basic PATH.
    pub fn new(args: Vec<String>) -> Self {
        ProcessSpec {
            args,
            env: vec![format!("PATH={DEFAULT_PATH}")],
            cwd: PathBuf::from("/"),
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            umask: None,
            capabilities: CapabilitySets::default(),
            rlimits: Vec::new(),
            no_new_privileges: true,
            terminal: false,
            oom_score_adj: None,
        }
    }

    /// The value of `key` in the process environment.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }
}

/// Expands `~` and resolves a relative path against `base`.
pub fn resolve_path(raw: &str, base: &Path, home: Option<&Path>) -> PathBuf {
    let expanded = if raw == "~" {
        home.map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(raw))
    } else if let Some(rest) = raw.strip_prefix("~/") {
        match home {
            Some(h) => h.join(rest),
            None => PathBuf::from(raw),
        }
    } else {
        PathBuf::from(raw)
    };
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    };
    normalize(&joined)
}

/// Lexically removes `.` and `..` components (no symlink resolution).
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

/// The I/O error means "nothing there" (vanished, or a path component is not a
/// directory) rather than "cannot tell"; shared by the glob expansion and the scan.
pub(crate) fn is_absent(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// Sorted map helper for JSON output.
pub type StringMap = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_home_and_relative() {
        let base = Path::new("/b/bundle");
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            resolve_path("~/.ssh", base, home),
            PathBuf::from("/home/u/.ssh")
        );
        assert_eq!(resolve_path("~", base, home), PathBuf::from("/home/u"));
        assert_eq!(
            resolve_path("out", base, home),
            PathBuf::from("/b/bundle/out")
        );
        assert_eq!(
            resolve_path("./a/../c", base, home),
            PathBuf::from("/b/bundle/c")
        );
        assert_eq!(
            resolve_path("/abs//x/", base, home),
            PathBuf::from("/abs/x")
        );
        assert_eq!(resolve_path("../../..", base, home), PathBuf::from("/"));
    }

    #[test]
    fn mount_kinds() {
        let bind = vec!["rbind".to_string()];
        assert_eq!(MountKind::from_oci(None, &bind), Some(MountKind::Bind));
        assert_eq!(
            MountKind::from_oci(Some("none"), &bind),
            Some(MountKind::Bind)
        );
        assert_eq!(
            MountKind::from_oci(Some("tmpfs"), &[]),
            Some(MountKind::Tmpfs)
        );
        assert_eq!(MountKind::from_oci(Some("ext4"), &[]), None);
        assert_eq!(MountKind::from_oci(None, &[]), None);
    }
}
