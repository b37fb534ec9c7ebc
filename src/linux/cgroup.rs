//! Container cgroups through cgroupfs, v1 and v2, without systemd.
//!
//! `linux.cgroupsPath` follows runc: an absolute path is taken from the root of every
//! hierarchy, a relative one (or the container id when empty) from the caller's own cgroup
//! in that hierarchy. On a v1 host every mounted hierarchy gets the directory, and a
//! cgroup2 mount beside them (hybrid hosts) mirrors it, as runc does. Resources are first
//! turned into plain file writes ([`writes`], pure and unit-tested), then written.
//!
//! The container's processes are exactly `cgroup.procs` of its cgroup, which is what
//! `ps`, `kill --all` and `delete` use; `pause`/`resume` are the freezer (`freezer.state`
//! on v1, `cgroup.freeze` on v2). Device rules are `devices.allow`/`devices.deny` on v1
//! and an eBPF program attached to the directory on v2 ([`device_program`]).

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Cgroup errors carry the file and what to do; the lifecycle prints them as they are.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("linux.resources.{field}: {why}")]
    Unsupported { field: String, why: String },
    #[error("{0}")]
    Other(String),
}

type Result<T> = std::result::Result<T, CgroupError>;

fn io(path: &Path, source: std::io::Error) -> CgroupError {
    CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Which cgroup layout a container's directories live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    V1,
    V2,
}

/// Creates a container's or sandbox's cgroup (`path`, default: `id` under the caller's
/// own cgroup) and applies `resources`. A rootless caller usually may not create cgroups:
/// then it runs without one (`None`), unless it asked for resources, which is an error
/// saying so.
pub fn create_for(
    id: &str,
    path: Option<&Path>,
    resources: Option<&LinuxResources>,
) -> Result<Option<Cgroup>> {
    let mut cg = resolve(&hierarchies(), path, id)?;
    // Rootless podman writes `"resources": {}`: nothing to enforce, so no cgroup needed.
    let resources = resources.filter(|r| asks_for_limits(r, cg.version));
    // Root of a user namespace (a runtime under rootless podman) may not create cgroups
    // either: treat it as the unprivileged user it is on the host.
    let rootless = !crate::linux::idmap::host_root();
    match cg.create() {
        Ok(()) => {}
        Err(CgroupError::Io { source, .. })
            if rootless
                && resources.is_none()
                && matches!(
                    source.raw_os_error(),
                    Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
                ) =>
        {
            let _ = cg.destroy();
            tracing::debug!("rootless container without a cgroup: {source}");
            return Ok(None);
        }
        Err(e) => {
            let _ = cg.destroy();
            let hint = if rootless {
                "; an unprivileged caller cannot create cgroups here: remove linux.resources"
            } else {
                ""
            };
            return Err(CgroupError::Other(format!(
                "creating the container cgroup: {e}{hint}"
            )));
        }
    }
    if let Some(r) = resources {
        if let Err(e) = cg.apply(r) {
            let _ = cg.destroy();
            return Err(e);
        }
    }
    Ok(Some(cg))
}

/// Whether `res` sets anything a cgroup must enforce (an invalid setting counts, so that
/// applying it reports the error).
fn asks_for_limits(res: &LinuxResources, version: Version) -> bool {
    writes(res, version).map_or(true, |w| !w.is_empty())
        || device_program(res, version).map_or(true, |p| p.is_some())
}

/// The cgroup of a foreground sandbox (`srt-runc run`, `sandbox`, the library): made
/// from the plan before anything starts, joined by the sandbox's first process before it
/// does anything, and removed — its processes killed first — when this is dropped.
#[derive(Debug, Default)]
pub struct SandboxCgroup(Option<Cgroup>);

impl SandboxCgroup {
    /// Creates the cgroup `plan.cgroup` asks for (none: nothing to do), named after this
    /// supervisor when `linux.cgroupsPath` is not given.
    pub fn create(plan: &crate::plan::Plan) -> crate::error::Result<SandboxCgroup> {
        let Some(spec) = &plan.cgroup else {
            return Ok(SandboxCgroup(None));
        };
        let id = format!("srt-runc-{}", std::process::id());
        create_for(&id, spec.path.as_deref(), spec.resources.as_ref())
            .map(SandboxCgroup)
            .map_err(|e| crate::error::Error::SetupMsg(format!("{}: {e}", plan.origin)))
    }

    /// Moves `pid` into the cgroup (before it has started anything of its own).
    pub fn join(&self, pid: i32) -> crate::error::Result<()> {
        match &self.0 {
            Some(cg) => cg.join(pid).map_err(|e| {
                crate::error::Error::SetupMsg(format!("moving the sandbox into its cgroup: {e}"))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for SandboxCgroup {
    fn drop(&mut self) {
        if let Some(cg) = self.0.take() {
            if let Err(e) = cg.destroy() {
                tracing::warn!("removing the sandbox's cgroup: {e}");
            }
        }
    }
}

/// One mounted hierarchy: its mount point, and the controllers bound to it (`""` for
/// cgroup2, `name=systemd` for named v1 hierarchies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mount: PathBuf,
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// The host's cgroup mounts, from `/proc/self/mountinfo`.
pub fn hierarchies() -> Vec<Hierarchy> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
}

fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 || pre[3] != "/" {
            continue;
        }
        let mount = PathBuf::from(pre[4]);
        match post[0] {
            "cgroup2" => out.push(Hierarchy {
                mount,
                controllers: Vec::new(),
                v2: true,
            }),
            "cgroup" => {
                let controllers = post[2]
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("clone_children"))
                    .filter(|o| !o.contains('=') || o.starts_with("name="))
                    .map(String::from)
                    .collect();
                out.push(Hierarchy {
                    mount,
                    controllers,
                    v2: false,
                })
            }
            _ => {}
        }
    }
    out
}

/// The caller's own cgroup per hierarchy key (`""` for v2), from `/proc/self/cgroup`.
fn own_cgroups() -> BTreeMap<String, PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next(), parts.next());
        if let (Some(c), Some(p)) = (ctrls, path) {
            for c in c.split(',') {
                out.insert(c.to_string(), PathBuf::from(p));
            }
        }
    }
    out
}

/// A container's cgroup directories, as recorded in its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    pub version: Version,
    /// Controller name (`""` for the v2 / unified directory) → the container's directory.
    pub dirs: BTreeMap<String, PathBuf>,
    /// Directories this container created, parents first (removed in reverse on delete).
    pub created: Vec<PathBuf>,
}

/// Where the container's cgroup goes, per hierarchy, for `cgroups_path` and `id`.
pub fn resolve(hs: &[Hierarchy], cgroups_path: Option<&Path>, id: &str) -> Result<Cgroup> {
    let own = own_cgroups();
    let rel = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    if rel.to_string_lossy().contains(':') && !rel.is_absolute() {
        return Err(CgroupError::Other(format!(
            "linux.cgroupsPath {:?} is a systemd slice path; srt-runc manages cgroups through cgroupfs: use a path such as /mygroup/{id}",
            rel.display()
        )));
    }
    if rel
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(CgroupError::Other(format!(
            "linux.cgroupsPath {:?} contains \"..\"; use a plain path",
            rel.display()
        )));
    }
    let unified_only = hs
        .iter()
        .any(|h| h.v2 && h.mount == Path::new("/sys/fs/cgroup"));
    let version = if unified_only || !hs.iter().any(|h| !h.v2) {
        Version::V2
    } else {
        Version::V1
    };
    let mut dirs = BTreeMap::new();
    for h in hs {
        if version == Version::V2 && !h.v2 {
            continue;
        }
        let key = if h.v2 {
            String::new()
        } else {
            h.controllers.join(",")
        };
        if key.is_empty() && dirs.contains_key("") {
            continue;
        }
        let base = if rel.is_absolute() {
            PathBuf::from("/")
        } else {
            let own_key = h.controllers.first().cloned().unwrap_or_default();
            own.get(&own_key)
                .cloned()
                .unwrap_or_else(|| PathBuf::from("/"))
        };
        let inner = base.join(&rel);
        let inner = inner.strip_prefix("/").unwrap_or(&inner);
        let dir = h.mount.join(inner);
        if key.is_empty() {
            dirs.insert(String::new(), dir);
        } else {
            for c in &h.controllers {
                dirs.insert(c.clone(), dir.clone());
            }
        }
    }
    if dirs.is_empty() {
        return Err(CgroupError::Other(
            "no cgroup hierarchy is mounted; mount cgroupfs under /sys/fs/cgroup".into(),
        ));
    }
    Ok(Cgroup {
        version,
        dirs,
        created: Vec::new(),
    })
}

/// One file write that applies a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Controller whose directory holds the file (`""` = the v2 directory).
    pub controller: &'static str,
    pub file: String,
    pub value: String,
    /// The config field, for messages.
    pub field: String,
}

fn w(controller: &'static str, file: &str, value: impl ToString, field: &str) -> Write {
    Write {
        controller,
        file: file.to_string(),
        value: value.to_string(),
        field: field.to_string(),
    }
}

/// The devices every container may use even under a deny-all rule (runc's defaults):
/// null, zero, full, tty, random, urandom, the pty multiplexer and the pty slaves.
const DEFAULT_DEVICES: &[&str] = &[
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

/// Turns `resources` into file writes for `version`. Pure: the caller applies them.
pub fn writes(res: &LinuxResources, version: Version) -> Result<Vec<Write>> {
    let v2 = version == Version::V2;
    let mut out = Vec::new();
    let unsupported = |field: &str, why: &str| CgroupError::Unsupported {
        field: field.into(),
        why: why.into(),
    };
    if let Some(m) = res.memory() {
        let mem = if v2 { "" } else { "memory" };
        let limit = |v: i64| {
            if v < 0 {
                if v2 {
                    "max".to_string()
                } else {
                    "-1".to_string()
                }
            } else {
                v.to_string()
            }
        };
        if let Some(l) = m.limit() {
            out.push(w(
                mem,
                if v2 {
                    "memory.max"
                } else {
                    "memory.limit_in_bytes"
                },
                limit(l),
                "memory.limit",
            ));
        }
        if let Some(r) = m.reservation() {
            out.push(w(
                mem,
                if v2 {
                    "memory.low"
                } else {
                    "memory.soft_limit_in_bytes"
                },
                limit(r),
                "memory.reservation",
            ));
        }
        if let Some(s) = m.swap() {
            if v2 {
                // OCI's swap is memory+swap; v2's swap.max is swap alone.
                let v = match (s, m.limit()) {
                    (s, _) if s < 0 => "max".to_string(),
                    (s, Some(l)) if l >= 0 => (s - l).max(0).to_string(),
                    (s, _) => s.to_string(),
                };
                out.push(w("", "memory.swap.max", v, "memory.swap"));
            } else {
                out.push(w(
                    "memory",
                    "memory.memsw.limit_in_bytes",
                    limit(s),
                    "memory.swap",
                ));
            }
        }
        if let Some(sw) = m.swappiness() {
            if v2 {
                return Err(unsupported(
                    "memory.swappiness",
                    "cgroup v2 has no swappiness; remove it",
                ));
            }
            out.push(w("memory", "memory.swappiness", sw, "memory.swappiness"));
        }
        if m.disable_oom_killer() == Some(true) {
            if v2 {
                return Err(unsupported(
                    "memory.disableOOMKiller",
                    "cgroup v2 cannot disable the OOM killer; remove it",
                ));
            }
            out.push(w(
                "memory",
                "memory.oom_control",
                1,
                "memory.disableOOMKiller",
            ));
        }
    }
    if let Some(p) = res.pids() {
        let v = if p.limit() <= 0 {
            "max".to_string()
        } else {
            p.limit().to_string()
        };
        out.push(w(if v2 { "" } else { "pids" }, "pids.max", v, "pids.limit"));
    }
    if let Some(c) = res.cpu() {
        if v2 {
            if let Some(s) = c.shares() {
                // The kernel's mapping of v1 shares [2, 262144] onto v2 weight [1, 10000].
                let weight = 1 + ((s.clamp(2, 262144) - 2) * 9999) / 262142;
                out.push(w("", "cpu.weight", weight, "cpu.shares"));
            }
            if c.quota().is_some() || c.period().is_some() {
                let quota = match c.quota() {
                    Some(q) if q > 0 => q.to_string(),
                    _ => "max".to_string(),
                };
                let period = c.period().unwrap_or(100_000);
                out.push(w("", "cpu.max", format!("{quota} {period}"), "cpu.quota"));
            }
        } else {
            if let Some(s) = c.shares() {
                out.push(w("cpu", "cpu.shares", s, "cpu.shares"));
            }
            if let Some(p) = c.period() {
                out.push(w("cpu", "cpu.cfs_period_us", p, "cpu.period"));
            }
            if let Some(q) = c.quota() {
                out.push(w("cpu", "cpu.cfs_quota_us", q, "cpu.quota"));
            }
        }
        let cs = if v2 { "" } else { "cpuset" };
        if let Some(cpus) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
            out.push(w(cs, "cpuset.cpus", cpus, "cpu.cpus"));
        }
        if let Some(mems) = c.mems().as_ref().filter(|s| !s.is_empty()) {
            out.push(w(cs, "cpuset.mems", mems, "cpu.mems"));
        }
    }
    if let Some(b) = res.block_io() {
        if let Some(wt) = b.weight() {
            if v2 {
                out.push(w(
                    "",
                    "io.weight",
                    format!("default {wt}"),
                    "blockIO.weight",
                ));
            } else {
                out.push(w("blkio", "blkio.weight", wt, "blockIO.weight"));
            }
        }
        let throttles = [
            (
                b.throttle_read_bps_device(),
                "blkio.throttle.read_bps_device",
                "rbps",
                "blockIO.throttleReadBpsDevice",
            ),
            (
                b.throttle_write_bps_device(),
                "blkio.throttle.write_bps_device",
                "wbps",
                "blockIO.throttleWriteBpsDevice",
            ),
            (
                b.throttle_read_iops_device(),
                "blkio.throttle.read_iops_device",
                "riops",
                "blockIO.throttleReadIOPSDevice",
            ),
            (
                b.throttle_write_iops_device(),
                "blkio.throttle.write_iops_device",
                "wiops",
                "blockIO.throttleWriteIOPSDevice",
            ),
        ];
        for (list, v1file, v2key, field) in throttles {
            for d in list.iter().flatten() {
                if v2 {
                    out.push(w(
                        "",
                        "io.max",
                        format!("{}:{} {v2key}={}", d.major(), d.minor(), d.rate()),
                        field,
                    ));
                } else {
                    out.push(w(
                        "blkio",
                        v1file,
                        format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                        field,
                    ));
                }
            }
        }
    }
    for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
        out.push(w(
            if v2 { "" } else { "hugetlb" },
            &format!(
                "hugetlb.{}.{}",
                h.page_size(),
                if v2 { "max" } else { "limit_in_bytes" }
            ),
            h.limit(),
            &format!("hugepageLimits[{i}]"),
        ));
    }
    if let Some(n) = res.network() {
        if v2 {
            return Err(unsupported(
                "network",
                "cgroup v2 has no net_cls/net_prio; remove it",
            ));
        }
        if let Some(id) = n.class_id() {
            out.push(w("net_cls", "net_cls.classid", id, "network.classID"));
        }
        for p in n.priorities().iter().flatten() {
            out.push(w(
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
                "network.priorities",
            ));
        }
    }
    if let Some(devices) = res.devices() {
        // v2 has no device files: its rules are a program, see [`device_program`].
        if !v2 {
            out.extend(device_writes(devices));
        }
    }
    if let Some(u) = res.unified() {
        let mut keys: Vec<_> = u.keys().collect();
        keys.sort();
        for k in keys {
            if k.contains('/') {
                return Err(unsupported(
                    &format!("unified.{k}"),
                    "not a cgroup file name",
                ));
            }
            out.push(w("", k, &u[k], &format!("unified.{k}")));
        }
    }
    Ok(out)
}

/// v1 `devices.allow`/`devices.deny` lines: the config's rules in order, then the
/// defaults every container needs.
fn device_writes(rules: &[oci_spec::runtime::LinuxDeviceCgroup]) -> Vec<Write> {
    let mut out = Vec::new();
    for r in rules {
        let typ = r
            .typ()
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "a".into());
        let num = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "*".into());
        let access = r.access().clone().unwrap_or_else(|| "rwm".into());
        let line = if typ == "a" && r.major().is_none() && r.minor().is_none() {
            "a".to_string()
        } else {
            format!("{typ} {}:{} {access}", num(r.major()), num(r.minor()))
        };
        let file = if r.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(w("devices", file, line, "devices"));
    }
    if !rules.is_empty() {
        for d in DEFAULT_DEVICES {
            out.push(w("devices", "devices.allow", d, "devices"));
        }
    }
    out
}

/// The cgroup v2 device program for `res` (`None` on v1, or when `res` has no device
/// rules): the config's rules in order, then the defaults, as on v1. Unlike a fresh v1
/// cgroup (which inherits allow-all), a device not named by any rule is refused, so
/// allow-only rules on v2 are a complete list. Pure: [`Cgroup::apply`] loads it.
pub fn device_program(
    res: &LinuxResources,
    version: Version,
) -> Result<Option<Vec<super::devfilter::Insn>>> {
    use super::devfilter;
    let rules = match res.devices() {
        Some(r) if version == Version::V2 && !r.is_empty() => r,
        _ => return Ok(None),
    };
    let mut all = devfilter::from_oci(rules).map_err(|e| CgroupError::Unsupported {
        field: format!("devices[{}]", e.index),
        why: e.why,
    })?;
    for d in DEFAULT_DEVICES {
        all.push(devfilter::allow_line(d).map_err(CgroupError::Other)?);
    }
    Ok(Some(devfilter::program(&all)))
}

impl Cgroup {
    /// The directory holding `controller`'s files (`""` = the v2 directory).
    fn dir_for(&self, controller: &str) -> Option<&PathBuf> {
        if self.version == Version::V2 {
            return self.dirs.get("");
        }
        self.dirs.get(controller)
    }

    /// Distinct directories (one per hierarchy).
    pub fn all_dirs(&self) -> Vec<&PathBuf> {
        let mut v: Vec<&PathBuf> = self.dirs.values().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Creates every directory (recording the ones that did not exist), copying the
    /// parent's cpus/mems into new v1 cpuset levels and enabling v2 controllers.
    pub fn create(&mut self) -> Result<()> {
        for dir in self.all_dirs().into_iter().cloned().collect::<Vec<_>>() {
            let mut missing = Vec::new();
            let mut p = dir.as_path();
            while !p.exists() {
                missing.push(p.to_path_buf());
                match p.parent() {
                    Some(parent) => p = parent,
                    None => break,
                }
            }
            let is_cpuset = self.dirs.get("cpuset") == Some(&dir);
            let delegate = self.version == Version::V2;
            for m in missing.into_iter().rev() {
                if delegate {
                    enable_controllers(m.parent().unwrap_or(&m));
                }
                match std::fs::create_dir(&m) {
                    Ok(()) => self.created.push(m.clone()),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io(&m, e)),
                }
                if is_cpuset {
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        let own = std::fs::read_to_string(m.join(f)).unwrap_or_default();
                        if own.trim().is_empty() {
                            let parent = m.parent().unwrap_or(&m);
                            let v = std::fs::read_to_string(parent.join(f))
                                .map_err(|e| io(&parent.join(f), e))?;
                            write_file(&m.join(f), v.trim())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies `res`; a controller the host lacks is an error only when `res` uses it.
    pub fn apply(&self, res: &LinuxResources) -> Result<()> {
        let ws = writes(res, self.version)?;
        let devices = device_program(res, self.version)?;
        // v1 memsw must stay >= the memory limit: when both change, write in the order
        // that keeps that true (retry the other order if the kernel refuses).
        for wr in &ws {
            let Some(dir) = self.dir_for(wr.controller) else {
                return Err(CgroupError::Unsupported {
                    field: wr.field.clone(),
                    why: format!(
                        "the {} controller is not mounted on this host; remove the setting",
                        wr.controller
                    ),
                });
            };
            let path = dir.join(&wr.file);
            if !path.exists() {
                return Err(CgroupError::Unsupported {
                    field: wr.field.clone(),
                    why: format!(
                        "{} does not exist on this host; remove the setting",
                        path.display()
                    ),
                });
            }
            match write_file(&path, &wr.value) {
                Ok(()) => {}
                Err(CgroupError::Io { source, .. })
                    if wr.file == "memory.limit_in_bytes"
                        && source.raw_os_error() == Some(libc::EINVAL) =>
                {
                    // Raising the limit above memsw: raise memsw first, then retry.
                    if let Some(s) = ws.iter().find(|x| x.file == "memory.memsw.limit_in_bytes") {
                        write_file(&dir.join(&s.file), &s.value)?;
                    }
                    write_file(&path, &wr.value)?;
                }
                Err(e) => {
                    return Err(CgroupError::Other(format!(
                        "linux.resources.{} = {}: {e}",
                        wr.field, wr.value
                    )))
                }
            }
        }
        if let (Some(insns), Some(dir)) = (devices, self.dirs.get("")) {
            // Replaces the program an earlier apply attached, so `update` does not stack.
            match super::bpf::set_device_program(dir, &insns) {
                Ok(_) => {}
                // A rootless caller (on a delegated v2 hierarchy) may not load programs.
                // Its container is in a user namespace that cannot mknod real devices,
                // and the nodes bound into it are ones the caller could open anyway, so
                // the rules add nothing there: skip them, loudly, rather than refuse.
                Err(super::bpf::BpfError::Sys { source, .. })
                    if source.raw_os_error() == Some(libc::EPERM)
                        && !crate::linux::idmap::host_root() =>
                {
                    let msg = "linux.resources.devices not applied: an unprivileged caller cannot attach cgroup device programs (the container's user namespace still cannot mknod)";
                    tracing::warn!("{msg}");
                    eprintln!("srt-runc: warning: {msg}");
                }
                Err(e) => return Err(CgroupError::Other(format!("linux.resources.devices: {e}"))),
            }
        }
        Ok(())
    }

    /// Moves `pid` into every directory.
    pub fn join(&self, pid: i32) -> Result<()> {
        for dir in self.all_dirs() {
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Host pids of every process in the container's cgroup.
    pub fn pids(&self) -> Vec<i32> {
        let dir = ["freezer", "pids", "memory", ""]
            .iter()
            .find_map(|c| self.dirs.get(*c))
            .or_else(|| self.dirs.values().next());
        let Some(dir) = dir else { return Vec::new() };
        std::fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// The freezer: v1 `freezer.state` when that hierarchy exists, else v2 `cgroup.freeze`.
    fn freezer(&self) -> Option<(PathBuf, bool)> {
        if self.version == Version::V1 {
            if let Some(d) = self.dirs.get("freezer") {
                return Some((d.clone(), false));
            }
        }
        self.dirs.get("").map(|d| (d.clone(), true))
    }

    /// Whether the freezer says frozen.
    pub fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some((d, false)) => {
                std::fs::read_to_string(d.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
            }
            Some((d, true)) => {
                std::fs::read_to_string(d.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
            }
            None => false,
        }
    }

    /// Freezes (`true`) or thaws every process and waits until the kernel confirms.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let Some((dir, v2)) = self.freezer() else {
            return Err(CgroupError::Other(
                "no freezer: neither a v1 freezer hierarchy nor cgroup2 is mounted".into(),
            ));
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        if v2 {
            write_file(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            loop {
                let ev = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
                if ev.lines().any(|l| l.trim() == want) {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(CgroupError::Other(format!(
                        "{}: the freezer did not settle",
                        dir.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let (word, path) = (
            if frozen { "FROZEN" } else { "THAWED" },
            dir.join("freezer.state"),
        );
        loop {
            write_file(&path, word)?;
            let now = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            if now.trim() == word {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = write_file(&path, "THAWED");
                return Err(CgroupError::Other(format!(
                    "{}: the freezer did not settle ({})",
                    path.display(),
                    now.trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// SIGKILLs every process (thawing a frozen cgroup so they can die), waits until the
    /// cgroup is empty, and removes the directories this container created.
    pub fn destroy(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for p in &pids {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if self.is_frozen() {
                let _ = self.freeze(false);
            }
            if Instant::now() > deadline {
                return Err(CgroupError::Other(format!(
                    "processes {pids:?} did not exit after SIGKILL; the cgroup is kept"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut dirs: Vec<PathBuf> = self.all_dirs().into_iter().cloned().collect();
        for c in self.created.iter().rev() {
            if !dirs.contains(c) {
                dirs.push(c.clone());
            }
        }
        // Deepest first: a leaf before the parents this container created for it.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            if !self.created.contains(&d) && !self.all_dirs().contains(&&d) {
                continue;
            }
            rmdir_retry(&d, deadline)?;
        }
        Ok(())
    }
}

/// `rmdir` a cgroup, retrying EBUSY while exiting tasks are still being released.
fn rmdir_retry(d: &Path, deadline: Instant) -> Result<()> {
    loop {
        match std::fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // A parent another container still uses: not ours to remove.
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                // Shared parents stay busy while siblings exist; leaves only briefly.
                if std::fs::read_dir(d)
                    .is_ok_and(|mut r| r.any(|e| e.is_ok_and(|e| e.path().is_dir())))
                {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(io(d, e)),
        }
    }
}

/// Enables in `level` every controller it offers, so that its children get the
/// resource files. Best effort: a controller that cannot be delegated shows up later as
/// a missing file, with the config field named.
fn enable_controllers(level: &Path) {
    let avail = std::fs::read_to_string(level.join("cgroup.controllers")).unwrap_or_default();
    let enable: Vec<String> = avail.split_whitespace().map(|c| format!("+{c}")).collect();
    if !enable.is_empty() {
        let _ = write_file(&level.join("cgroup.subtree_control"), &enable.join(" "));
    }
}

fn write_file(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|e| io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mountinfo_hybrid() {
        let text = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
            50 31 0:39 /sub /mnt/x rw - cgroup cgroup rw,pids\n";
        let hs = parse_mountinfo(text);
        assert_eq!(hs.len(), 3);
        assert_eq!(hs[0].controllers, vec!["cpu"]);
        assert_eq!(hs[1].controllers, vec!["name=systemd"]);
        assert!(hs[2].v2);
        let cg = resolve(&hs, Some(Path::new("/a/b")), "x").unwrap();
        assert_eq!(cg.version, Version::V1);
        assert_eq!(cg.dirs["cpu"], PathBuf::from("/sys/fs/cgroup/cpu/a/b"));
        assert_eq!(cg.dirs[""], PathBuf::from("/sys/fs/cgroup/unified/a/b"));
    }

    #[test]
    fn v1_and_v2_writes() {
        let r = res(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 2097152},
            "pids": {"limit": 10},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
            "devices": [{"allow": false, "access": "rwm"}]
        }));
        let v1 = writes(&r, Version::V1).unwrap();
        let has = |ws: &[Write], f: &str, v: &str| ws.iter().any(|w| w.file == f && w.value == v);
        assert!(has(&v1, "memory.limit_in_bytes", "1048576"));
        assert!(has(&v1, "memory.memsw.limit_in_bytes", "2097152"));
        assert!(has(&v1, "pids.max", "10"));
        assert!(has(&v1, "cpu.cfs_quota_us", "50000"));
        assert!(has(&v1, "devices.deny", "a"));
        assert!(has(&v1, "devices.allow", "c 1:3 rwm"));
        let v2 = writes(&r, Version::V2).unwrap();
        assert!(has(&v2, "memory.max", "1048576"));
        assert!(has(&v2, "memory.swap.max", "1048576"));
        assert!(has(&v2, "cpu.weight", "39"));
        assert!(has(&v2, "cpu.max", "50000 100000"));
        assert!(!v2.iter().any(|w| w.file.starts_with("devices")));
        let bad = res(serde_json::json!({"memory": {"swappiness": 10}}));
        assert!(writes(&bad, Version::V2)
            .unwrap_err()
            .to_string()
            .contains("memory.swappiness"));
    }

    #[test]
    fn v2_device_rules_are_a_program_with_the_defaults_last() {
        use crate::linux::devfilter::{eval, ACC_READ, ACC_WRITE, DEV_CHAR};
        let r = res(serde_json::json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]}));
        assert_eq!(device_program(&r, Version::V1).unwrap(), None);
        let p = device_program(&r, Version::V2).unwrap().unwrap();
        let rw = ACC_READ | ACC_WRITE;
        assert!(eval(&p, DEV_CHAR, ACC_READ, 10, 229));
        assert!(!eval(&p, DEV_CHAR, rw, 10, 229));
        assert!(!eval(&p, DEV_CHAR, ACC_READ, 10, 237));
        // The defaults come after the config's rules, as on v1: /dev/null stays usable.
        assert!(eval(&p, DEV_CHAR, rw, 1, 3));
        assert!(eval(&p, DEV_CHAR, rw, 136, 4));

        let none = res(serde_json::json!({"devices": [], "pids": {"limit": 3}}));
        assert_eq!(device_program(&none, Version::V2).unwrap(), None);
        let bad = res(serde_json::json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "p", "access": "rwm"}
        ]}));
        let e = device_program(&bad, Version::V2).unwrap_err().to_string();
        assert!(e.starts_with("linux.resources.devices[1]: type p"), "{e}");
    }

    #[test]
    fn refuses_dotdot_and_systemd_paths() {
        let hs = vec![Hierarchy {
            mount: "/sys/fs/cgroup".into(),
            controllers: vec![],
            v2: true,
        }];
        assert!(resolve(&hs, Some(Path::new("/a/../b")), "x").is_err());
        assert!(resolve(&hs, Some(Path::new("system.slice:p:n")), "x").is_err());
        let cg = resolve(&hs, Some(Path::new("/a/b")), "x").unwrap();
        assert_eq!(cg.version, Version::V2);
        assert_eq!(cg.dirs[""], PathBuf::from("/sys/fs/cgroup/a/b"));
    }
}
