//! Policy → Plan: everything the engine will do, computed without side effects.
//!
//! A [`Plan`] is printable (`srt-runc explain`) and is what unit tests assert on. The
//! engine in `crate::linux` only applies it. Building a plan may *look* at the host
//! (whether a path exists, the caller's uid) but never changes anything.

mod explain;
mod mounts;

pub use explain::{join_paths, render_text};
pub use mounts::{MountStep, StepKind};

use crate::error::{Error, Result};
use crate::policy::{Mode, NetworkSettings, Policy, ProcessSpec};
use serde::Serialize;
use std::path::PathBuf;

/// The namespaces a strong-mode sandbox always gets.
pub const STRONG_NAMESPACES: &[&str] = &["user", "mount", "pid", "network", "ipc", "uts", "cgroup"];

/// The full plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub origin: String,
    pub mode: Mode,
    pub namespaces: Vec<&'static str>,
    pub id_maps: IdMaps,
    /// Host directory bound as the new root.
    pub root: PathBuf,
    pub root_readonly: bool,
    /// Mount steps applied in order below the new root, before `pivot_root`.
    pub mounts: Vec<MountStep>,
    /// Protected paths that do not exist yet (`true` = directory): the supervisor creates
    /// placeholders for them before the sandbox starts and removes them afterwards.
    pub placeholders: Vec<(PathBuf, bool)>,
    pub landlock: LandlockPlan,
    pub seccomp: SeccompPlan,
    pub process: ProcessSpec,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub network: NetworkPlan,
    /// Namespaces joined by path (kind, file) before the clone instead of created.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub join_namespaces: Vec<(String, PathBuf)>,
    /// Namespaced sysctls written by the init (key → value).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sysctl: std::collections::BTreeMap<String, String>,
    /// The sandbox's own cgroup (`linux.cgroupsPath` / `linux.resources`), strong mode;
    /// created by the supervisor before the clone and removed when the sandbox ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::policy::CgroupSpec>,
}

impl Plan {
    /// Mandatory-deny paths the plan mounts onto that already existed (`true` =
    /// directory). Another live sandbox of the same user may have created any of them
    /// as a placeholder and would remove it when it ends, so the supervisor registers
    /// as a user of each (see `linux::placeholders`).
    pub fn existing_protected(&self) -> Vec<(PathBuf, bool)> {
        mounts::existing_protected(&self.mounts, &self.placeholders)
    }
}

/// uid/gid maps written by the supervisor into `/proc/PID/{uid,gid}_map`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMaps {
    pub uid: Vec<IdMap>,
    pub gid: Vec<IdMap>,
    /// Write `deny` to `/proc/PID/setgroups` (required for unprivileged gid maps).
    pub deny_setgroups: bool,
    /// The caller's own ids are not mapped (root caller, `linux.uidMappings` elsewhere):
    /// the init takes these ids inside the namespace before anything else, or it would
    /// be the unmapped overflow user for its whole setup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub become_ids: Option<(u32, u32)>,
}

/// One line of an id map: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Landlock rules: write access is granted only beneath these paths (inside the sandbox).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LandlockPlan {
    pub writable: Vec<PathBuf>,
    /// Weaker mode only: paths made unreadable by granting read on their complement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_read: Vec<PathBuf>,
    /// Weaker mode only: paths inside `deny_read` that stay readable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_read: Vec<PathBuf>,
    /// Weaker mode only: paths inside writable ones that stay unwritable (`denyWrite`,
    /// and srt's mandatory denies unless `weakerMandatoryDenies` is `unenforced`),
    /// kept so by granting write on the complement; they may not exist yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_write: Vec<PathBuf>,
    /// Weaker mode only: srt's mandatory denies were left out of `deny_write` on request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mandatory_unenforced: bool,
    /// Also grant write to regular files open as stdin/stdout/stderr, so that
    /// `echo >/dev/stderr` keeps working when the caller redirected stderr to a file.
    pub stdio_files: bool,
}

/// Seccomp programs, installed in this order after no_new_privs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompPlan {
    /// Built-in programs (`guard` plus `bpf/` programs), chained in this order into one
    /// filter that is installed last — after an OCI profile, so that between two ERRNO
    /// answers ours (the newest filter's) is the one the caller sees.
    pub builtin: Vec<&'static str>,
    /// The OCI `linux.seccomp` profile, translated at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_profile: Option<oci_spec::runtime::LinuxSeccomp>,
}

/// Network confinement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum NetworkPlan {
    /// A private network namespace with only loopback: nothing leaves.
    Isolated,
    /// A private network namespace whose only way out is the host-side filtering proxy.
    Proxy {
        /// Listener addresses created inside the sandbox's netns.
        listen: Vec<String>,
        /// The validated network settings the proxy enforces.
        settings: Box<NetworkSettings>,
    },
}

/// The proxy endpoint inside the sandbox (DESIGN.md section 5).
pub const PROXY_PORT: u16 = 3128;
/// Where srt-runc's own binary is bound inside the sandbox, for `srt-runc connect`
/// (ssh's ProxyCommand). Read-only, so the sandbox cannot overwrite the runtime.
pub const CONNECT_HELPER: &str = "/dev/srt-runc";

/// The caller's identity, needed to compute id maps.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub euid: u32,
    pub egid: u32,
}

impl Caller {
    /// The current process's effective ids.
    pub fn current() -> Self {
        Caller {
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
        }
    }
}

/// Builds the plan for `policy` as run by `caller`.
pub fn build(policy: &Policy, caller: Caller) -> Result<Plan> {
    let mode = match policy.sandbox.mode() {
        // Auto asks the host (a forked probe); the choice is reported on stderr.
        Mode::Auto => {
            #[cfg(target_os = "linux")]
            let strong = crate::linux::check::strong_possible();
            // Elsewhere there are no namespaces to probe; the plan is only explained.
            #[cfg(not(target_os = "linux"))]
            let strong = true;
            if strong {
                Mode::Strong
            } else {
                eprintln!("srt-runc: mode auto: this host refuses new namespaces; running in weaker mode (see `srt-runc check`)");
                Mode::Weaker
            }
        }
        m => m,
    };
    let id_maps = id_maps(policy, caller)?;
    let mounts::MountPlan {
        steps: mounts,
        writable,
        placeholders,
    } = mounts::plan_mounts(policy)?;
    let allow_nested = policy.sandbox.allow_nested_user_namespaces.unwrap_or(false);
    // The built-ins are chained into one program (one filter to attach instead of
    // four), guard first: a foreign architecture is killed before anything else.
    let mut builtin = vec!["guard", "default", "clone3"];
    if !allow_nested {
        builtin.push("namespaces");
    }
    let mut process = policy.process.clone();
    let mut mounts = mounts;
    let network = match &policy.sandbox.network {
        None => NetworkPlan::Isolated,
        Some(_) if policy.join_namespaces.iter().any(|(k, _)| k == "network") => {
            return Err(Error::config(
                &policy.origin,
                "sandbox.network",
                "the filtering proxy needs the sandbox's own network namespace, but linux.namespaces joins one by path; remove one of them",
            ))
        }
        Some(n) => {
            validate_network(policy, n)?;
            proxy_env(&mut process);
            if let Ok(exe) = std::env::current_exe() {
                mounts.push(MountStep {
                    dest: PathBuf::from(CONNECT_HELPER),
                    kind: StepKind::Bind {
                        source: exe,
                        recursive: false,
                        readonly: true,
                        flags: vec!["nosuid".into(), "nodev".into()],
                        propagation: None,
                    },
                    origin: "network (ssh ProxyCommand helper)".into(),
                });
            }
            NetworkPlan::Proxy {
                listen: vec![
                    format!("127.0.0.1:{PROXY_PORT}"),
                    format!("[::1]:{PROXY_PORT}"),
                ],
                settings: Box::new(n.clone()),
            }
        }
    };
    for (dest, source) in &policy.devices {
        mounts.push(MountStep {
            dest: dest.clone(),
            kind: StepKind::Bind {
                source: source.clone(),
                recursive: false,
                readonly: false,
                flags: vec!["nosuid".into(), "noexec".into()],
                propagation: None,
            },
            origin: "linux.devices".into(),
        });
    }
    set_env(&mut process, "SANDBOX_RUNTIME", "1");
    if process.env_var("PATH").is_none() {
        set_env(&mut process, "PATH", crate::policy::DEFAULT_PATH);
    }
    let mut landlock = LandlockPlan {
        writable,
        stdio_files: true,
        deny_read: Vec::new(),
        allow_read: Vec::new(),
        deny_write: Vec::new(),
        mandatory_unenforced: false,
    };
    let (mut mounts, mut placeholders, mut namespaces) =
        (mounts, placeholders, STRONG_NAMESPACES.to_vec());
    if mode == Mode::Weaker {
        if policy.root != std::path::Path::new("/") || !policy.mounts.is_empty() {
            return Err(Error::config(
                &policy.origin,
                "sandbox.mode",
                "weaker mode runs on the host filesystem: root.path must be \"/\" and there can be no mounts",
            ));
        }
        builtin.push("weaker-net");
        landlock = weaker_landlock(
            &mounts,
            policy.sandbox.weaker_mandatory_denies.unwrap_or_default(),
        );
        mounts.clear();
        placeholders.clear();
        namespaces.clear();
    }
    Ok(Plan {
        origin: policy.origin.clone(),
        mode,
        namespaces,
        id_maps,
        root: policy.root.clone(),
        root_readonly: policy.root_readonly,
        mounts,
        placeholders,
        landlock,
        seccomp: SeccompPlan {
            builtin,
            oci_profile: policy.seccomp_profile.clone(),
        },
        process,
        hostname: policy.hostname.clone(),
        domainname: policy.domainname.clone(),
        network,
        join_namespaces: policy.join_namespaces.clone(),
        sysctl: policy.sysctl.clone(),
        cgroup: policy.cgroup.clone(),
    })
}

/// Weaker mode's Landlock rules, derived from the mount plan strong mode would use:
/// writable binds stay writable, unreadable stubs become read denials, and `/dev` is
/// denied except the ordinary device files (the host's /dev is not replaced here, and a
/// root caller could otherwise read raw disks around every other rule). Read-only steps
/// inside writable paths (`denyWrite`, mandatory denies) become write denials.
fn weaker_landlock(mounts: &[MountStep], mandatory: crate::policy::WeakerDenies) -> LandlockPlan {
    let mut writable: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| {
            matches!(
                m.kind,
                StepKind::Bind {
                    readonly: false,
                    ..
                }
            ) && m.origin.starts_with("sandbox.")
        })
        .map(|m| m.dest.clone())
        .collect();
    let dev: Vec<PathBuf> = [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
    ]
    .iter()
    .map(|d| PathBuf::from("/dev").join(d))
    .collect();
    writable.extend(
        ["null", "zero", "full", "tty", "ptmx", "pts", "shm"]
            .iter()
            .map(|d| PathBuf::from("/dev").join(d)),
    );
    let mut deny_read: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| matches!(m.kind, StepKind::DenyRead { .. }))
        .map(|m| m.dest.clone())
        .collect();
    deny_read.push(PathBuf::from("/dev"));
    let mut allow_read: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.origin == "sandbox.filesystem.allowRead")
        .map(|m| m.dest.clone())
        .collect();
    allow_read.extend(dev);
    let mandatory_unenforced = mandatory == crate::policy::WeakerDenies::Unenforced;
    let mut deny_write: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| matches!(m.kind, StepKind::ReadOnly))
        .filter(|m| {
            m.origin == "sandbox.filesystem.denyWrite"
                || (m.origin == mounts::PROTECT_ORIGIN && !mandatory_unenforced)
        })
        .filter(|m| writable.iter().any(|w| m.dest.starts_with(w)))
        .map(|m| m.dest.clone())
        .collect();
    // Landlock checks a write against the inode it reaches. The plan already protects
    // where a symlinked protected path leads; the links on the way (`sub/link` in
    // `.bashrc -> sub/link/bashrc`) are denied too, which freezes the directories
    // holding them, so that no link can be re-pointed.
    let links: Vec<PathBuf> = deny_write
        .iter()
        .flat_map(|p| {
            // The writable roots are canonical: only what lies below one is resolved.
            let base = writable
                .iter()
                .find(|w| p.starts_with(w))
                .map_or(std::path::Path::new("/"), PathBuf::as_path);
            crate::policy::mandatory::resolve_lenient(base, p).1
        })
        .filter(|l| writable.iter().any(|w| l.starts_with(w)))
        .collect();
    deny_write.extend(links);
    deny_write.sort();
    deny_write.dedup();
    LandlockPlan {
        writable,
        stdio_files: true,
        deny_read,
        allow_read,
        deny_write,
        mandatory_unenforced,
    }
}

/// Checks every domain pattern and option now, so a bad entry is a load-time error.
fn validate_network(policy: &Policy, n: &NetworkSettings) -> Result<()> {
    let file = &policy.origin;
    crate::proxy::NetworkPolicy::new(&n.allowed_domains, &n.denied_domains).map_err(|e| {
        Error::ConfigText {
            file: file.clone(),
            text: format!("sandbox.{e}"),
        }
    })?;
    for (field, set) in [
        ("httpProxyPort", n.http_proxy_port.is_some()),
        ("socksProxyPort", n.socks_proxy_port.is_some()),
    ] {
        if set {
            return Err(Error::config(file, format!("sandbox.network.{field}"), "an external proxy is not supported by srt-runc yet; remove it to use srt-runc's own proxy"));
        }
    }
    for (name, addrs) in &n.resolve {
        for (i, a) in addrs.iter().enumerate() {
            if a.parse::<std::net::IpAddr>().is_err() {
                return Err(Error::config(
                    file,
                    format!("sandbox.network.resolve.{name}[{i}]"),
                    format!("{a:?} is not an IP address"),
                ));
            }
        }
    }
    Ok(())
}

/// The proxy variables every common client reads (DESIGN.md section 5). One port
/// serves HTTP and SOCKS5, so the HTTP URL works for ALL_PROXY too (clients without
/// SOCKS support then still work).
fn proxy_env(p: &mut ProcessSpec) {
    for (k, v) in proxy_env_vars(
        &format!("127.0.0.1:{PROXY_PORT}"),
        &format!("'{CONNECT_HELPER} connect %h %p'"),
    ) {
        set_env(p, &k, &v);
    }
}

/// The proxy variables for a proxy at `addr` (`host:port`); `proxy_command` is ssh's
/// ProxyCommand, already quoted for the shell. Shared by the Linux plan and macOS.
pub fn proxy_env_vars(addr: &str, proxy_command: &str) -> Vec<(String, String)> {
    let http = format!("http://{addr}");
    let socks = format!("socks5h://{addr}");
    let mut out = Vec::new();
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "GRPC_PROXY",
        "DOCKER_HTTP_PROXY",
        "DOCKER_HTTPS_PROXY",
    ] {
        out.push((k.to_string(), http.clone()));
        if !k.starts_with("DOCKER") {
            out.push((k.to_ascii_lowercase(), http.clone()));
        }
    }
    out.push(("FTP_PROXY".into(), socks.clone()));
    out.push(("ftp_proxy".into(), socks));
    out.push(("RSYNC_PROXY".into(), addr.to_string()));
    out.push(("NO_PROXY".into(), "localhost,127.0.0.1,::1".into()));
    out.push(("no_proxy".into(), "localhost,127.0.0.1,::1".into()));
    out.push((
        "GIT_SSH_COMMAND".into(),
        format!("ssh -o ControlMaster=no -o ControlPath=none -o ProxyCommand={proxy_command}"),
    ));
    out
}

/// Sets `key=value` in the process environment, replacing an earlier value.
pub fn set_env(p: &mut ProcessSpec, key: &str, value: &str) {
    let prefix = format!("{key}=");
    p.env.retain(|kv| !kv.starts_with(&prefix));
    p.env.push(format!("{key}={value}"));
}

/// Root maps the whole id range onto itself, so host files keep their owners; anyone
/// else can map only their own uid and gid (one line each, setgroups denied), which is
/// all the kernel allows without a setuid helper.
fn id_maps(policy: &Policy, caller: Caller) -> Result<IdMaps> {
    let p = &policy.process;
    if !policy.uid_mappings.is_empty() || !policy.gid_mappings.is_empty() {
        return configured_id_maps(policy, caller);
    }
    if caller.euid == 0 {
        let full = IdMap {
            inside: 0,
            outside: 0,
            count: u32::MAX,
        };
        return Ok(IdMaps {
            uid: vec![full],
            gid: vec![full],
            deny_setgroups: false,
            become_ids: None,
        });
    }
    if !p.additional_gids.is_empty() {
        return Err(Error::config(
            &policy.origin,
            "process.user.additionalGids",
            "an unprivileged user namespace maps only your own group; remove additionalGids or run as root",
        ));
    }
    Ok(IdMaps {
        uid: vec![IdMap {
            inside: p.uid,
            outside: caller.euid,
            count: 1,
        }],
        gid: vec![IdMap {
            inside: p.gid,
            outside: caller.egid,
            count: 1,
        }],
        deny_setgroups: true,
        become_ids: None,
    })
}

/// `linux.uidMappings`/`gidMappings` (podman `--userns`, user-namespaced containers):
/// written as given by a root caller. An unprivileged caller can only map its own ids
/// (the kernel allows nothing more without a setuid helper such as newuidmap).
fn configured_id_maps(policy: &Policy, caller: Caller) -> Result<IdMaps> {
    let file = &policy.origin;
    let conv = |field: &str, v: &[(u32, u32, u32)], own: u32| -> Result<Vec<IdMap>> {
        if v.is_empty() {
            return Err(Error::config(
                file,
                format!("linux.{field}"),
                "missing: give uidMappings and gidMappings together",
            ));
        }
        if v.len() > 340 {
            return Err(Error::config(
                file,
                format!("linux.{field}"),
                "more than 340 entries; the kernel accepts at most 340",
            ));
        }
        let maps: Vec<IdMap> = v
            .iter()
            .map(|&(inside, outside, count)| IdMap {
                inside,
                outside,
                count,
            })
            .collect();
        if caller.euid != 0 && (maps.len() != 1 || maps[0].outside != own || maps[0].count != 1) {
            return Err(Error::config(
                file,
                format!("linux.{field}"),
                format!("an unprivileged caller can map only its own id ({{\"hostID\": {own}, \"size\": 1}}); remove the mappings or run as root"),
            ));
        }
        Ok(maps)
    };
    let uid = conv("uidMappings", &policy.uid_mappings, caller.euid)?;
    let gid = conv("gidMappings", &policy.gid_mappings, caller.egid)?;
    let mapped = |maps: &[IdMap], id: u32| {
        maps.iter()
            .any(|m| id >= m.inside && (id - m.inside) < m.count)
    };
    let p = &policy.process;
    if !mapped(&uid, p.uid) || !mapped(&gid, p.gid) {
        return Err(Error::config(
            file,
            "process.user",
            format!("uid {} / gid {} is not mapped by linux.uidMappings/gidMappings; map it or change the user", p.uid, p.gid),
        ));
    }
    let outside = |maps: &[IdMap], id: u32| {
        maps.iter()
            .any(|m| id >= m.outside && id - m.outside < m.count)
    };
    let pick = |maps: &[IdMap]| {
        if mapped(maps, 0) {
            0
        } else {
            maps[0].inside
        }
    };
    let become_ids = (!outside(&uid, caller.euid) || !outside(&gid, caller.egid))
        .then(|| (pick(&uid), pick(&gid)));
    Ok(IdMaps {
        uid,
        gid,
        deny_setgroups: caller.euid != 0,
        become_ids,
    })
}

#[cfg(test)]
mod tests;
