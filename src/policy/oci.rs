//! Front-end: an OCI bundle (`config.json`, with the `"sandbox"` extension) → [`Policy`].
//!
//! Errors name the file and the JSON path of the offending field, and say what to do.
//! The OCI part is parsed with `oci-spec`'s types; the `"sandbox"` key is taken out first
//! and parsed strictly (unknown keys are errors) with [`SandboxSettings`].

use super::{
    resolve_path, CapabilitySets, MountKind, MountSpec, PathEntry, Policy, ProcessSpec, Rlimit,
    SandboxSettings,
};
use crate::error::{Error, Result};
use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

/// Annotations that carry sandbox policy for callers that generate config.json themselves.
pub const ANNOTATION_PREFIX: &str = "run.srt.";

/// Loads `BUNDLE/config.json`.
pub fn load_bundle(bundle: &Path) -> Result<Policy> {
    let bundle = std::path::absolute(bundle)
        .map_err(|e| Error::config(bundle.display().to_string(), "bundle", e.to_string()))?;
    let file = bundle.join("config.json");
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(&file).map_err(|e| {
        Error::config(
            &shown,
            "file",
            format!("cannot read: {e}; pass the bundle directory that holds config.json"),
        )
    })?;
    parse_config(&text, &shown, &bundle)
}

/// Parses config.json text. `file` is used in messages; `bundle` resolves relative paths.
pub fn parse_config(text: &str, file: &str, bundle: &Path) -> Result<Policy> {
    // Fast path: typed parses straight from the text. Only when one fails is the text
    // parsed again through a JSON value and serde_path_to_error, to name the field.
    #[derive(serde::Deserialize)]
    struct Ext {
        #[serde(default)]
        sandbox: Option<serde_json::Value>,
    }
    let fast = serde_json::from_str::<Spec>(text)
        .ok()
        .zip(serde_json::from_str::<Ext>(text).ok());
    let (spec, sandbox_value) = match fast {
        Some((spec, ext)) => (spec, ext.sandbox),
        None => slow_parse(text, file)?,
    };
    let mut sandbox = match sandbox_value {
        None => SandboxSettings::default(),
        Some(v) => parse_sandbox(v, file, "sandbox.")?,
    };
    if let Some(annotations) = spec.annotations() {
        apply_annotations(&mut sandbox, annotations, file)?;
    }
    build_policy(spec, sandbox, file, bundle)
}

/// The error path of [`parse_config`]: names the line and column of malformed JSON or
/// the JSON path of the field that does not fit.
fn slow_parse(text: &str, file: &str) -> Result<(Spec, Option<serde_json::Value>)> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::config(
            file,
            format!("line {} column {}", e.line(), e.column()),
            format!(
                "malformed JSON: {}; fix the syntax",
                strip_position(&e.to_string())
            ),
        )
    })?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| Error::config(file, "(top level)", "expected a JSON object"))?;
    let sandbox_value = obj.remove("sandbox");
    let spec: Spec = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = field_path("", e.path());
        let inner = e.into_inner().to_string();
        let hint = match fix_hint(&inner) {
            "; add it" => "; add it (`srt-runc spec` prints a complete config.json)",
            h => h,
        };
        Error::config(file, path, format!("{inner}{hint}"))
    })?;
    Ok((spec, sandbox_value))
}

/// Parses a `"sandbox"` value strictly; `prefix` is prepended to field paths.
pub fn parse_sandbox(v: serde_json::Value, file: &str, prefix: &str) -> Result<SandboxSettings> {
    let s: SandboxSettings = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = field_path(prefix, e.path());
        let inner = e.into_inner().to_string();
        let hint = fix_hint(&inner);
        Error::config(file, path, format!("{inner}{hint}"))
    })?;
    if let Some(field) = s.unsupported().first() {
        return Err(Error::config(
            file,
            format!("{prefix}{field}"),
            "not supported by srt-runc; remove it",
        ));
    }
    // An empty entry (a template variable that expanded to nothing, say) would resolve
    // to the bundle directory and silently make it writable or unreadable.
    if let Some(fs) = &s.filesystem {
        for (name, list) in [
            ("denyRead", &fs.deny_read),
            ("allowRead", &fs.allow_read),
            ("allowWrite", &fs.allow_write),
            ("denyWrite", &fs.deny_write),
        ] {
            if let Some(i) = list.iter().position(|e| e.path().trim().is_empty()) {
                return Err(Error::config(
                    file,
                    format!("{prefix}filesystem.{name}[{i}]"),
                    "empty path; remove the entry",
                ));
            }
        }
    }
    if let Some(d) = s.mandatory_deny_search_depth {
        if !(1..=10).contains(&d) {
            return Err(Error::config(
                file,
                format!("{prefix}mandatoryDenySearchDepth"),
                format!("{d} is out of range; use a number from 1 to 10"),
            ));
        }
    }
    Ok(s)
}

/// What to do about a schema error, so serde's description is never the whole message
/// (the standard for bad input is one line naming the file, the field and the fix).
fn fix_hint(serde_msg: &str) -> &'static str {
    if serde_msg.starts_with("unknown field") {
        "; remove it or fix its spelling (unknown keys are refused so a typo cannot weaken the policy)"
    } else if serde_msg.starts_with("missing field") {
        "; add it"
    } else if serde_msg.starts_with("invalid")
        || serde_msg.starts_with("unknown variant")
        || serde_msg.contains("expected")
    {
        "; change the value to what is expected"
    } else {
        ""
    }
}

fn field_path(prefix: &str, p: &serde_path_to_error::Path) -> String {
    let s = p.to_string();
    if s == "." || s.is_empty() {
        format!("{prefix}(top level)").replace(".(top level)", "")
    } else {
        format!("{prefix}{s}")
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// `run.srt.*` annotations: a settings file path, or comma-separated lists.
fn apply_annotations(
    sandbox: &mut SandboxSettings,
    annotations: &std::collections::HashMap<String, String>,
    file: &str,
) -> Result<()> {
    let mut keys: Vec<&String> = annotations
        .keys()
        .filter(|k| k.starts_with(ANNOTATION_PREFIX))
        .collect();
    keys.sort();
    for key in keys {
        let val = &annotations[key];
        let list = || -> Vec<String> {
            val.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        let field = format!("annotations.{key}");
        match &key[ANNOTATION_PREFIX.len()..] {
            "settings" => {
                let text = std::fs::read_to_string(val).map_err(|e| {
                    Error::config(
                        file,
                        &field,
                        format!("cannot read settings file {val}: {e}; fix the path or create the file"),
                    )
                })?;
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    Error::config(val.as_str(), format!("line {} column {}", e.line(), e.column()), format!("malformed JSON: {}; fix the syntax", strip_position(&e.to_string())))
                })?;
                *sandbox = parse_sandbox(v, val, "")?;
            }
            which @ ("network.allowedDomains" | "network.deniedDomains") => {
                let domains = list();
                // Checked here so a bad entry is named by the annotation it came from,
                // not by a "sandbox" field the config does not have.
                let (allowed, denied) = if which == "network.allowedDomains" {
                    (domains.as_slice(), &[][..])
                } else {
                    (&[][..], domains.as_slice())
                };
                if let Err(e) = crate::proxy::NetworkPolicy::new(allowed, denied) {
                    return Err(Error::ConfigText {
                        file: file.to_string(),
                        text: e.to_string().replacen(which, &field, 1),
                    });
                }
                let n = sandbox.network.get_or_insert_with(Default::default);
                if which == "network.allowedDomains" {
                    n.allowed_domains = domains;
                } else {
                    n.denied_domains = domains;
                }
            }
            "filesystem.allowWrite" => {
                sandbox.filesystem.get_or_insert_with(Default::default).allow_write =
                    list().into_iter().map(PathEntry::Plain).collect()
            }
            "filesystem.denyRead" => {
                sandbox.filesystem.get_or_insert_with(Default::default).deny_read =
                    list().into_iter().map(PathEntry::Plain).collect()
            }
            "filesystem.denyWrite" => {
                sandbox.filesystem.get_or_insert_with(Default::default).deny_write =
                    list().into_iter().map(PathEntry::Plain).collect()
            }
            other => {
                return Err(Error::config(
                    file,
                    field,
                    format!("unknown srt-runc annotation {other:?}; use run.srt.settings, run.srt.network.allowedDomains, run.srt.network.deniedDomains, run.srt.filesystem.allowWrite, run.srt.filesystem.denyRead or run.srt.filesystem.denyWrite"),
                ))
            }
        }
    }
    Ok(())
}

fn build_policy(
    spec: Spec,
    mut sandbox: SandboxSettings,
    file: &str,
    bundle: &Path,
) -> Result<Policy> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let root = spec.root().as_ref().ok_or_else(|| {
        Error::config(file, "root", "missing; set root.path to the root filesystem directory (\"/\" for the host, read-only)")
    })?;
    let root_path = resolve_path(&root.path().to_string_lossy(), bundle, None);
    if root.path().as_os_str().is_empty() {
        return Err(Error::config(
            file,
            "root.path",
            "empty; set it to the root filesystem directory",
        ));
    }
    match std::fs::metadata(&root_path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::config(
                file,
                "root.path",
                format!("{} is not a directory", root_path.display()),
            ))
        }
        Err(e) => {
            return Err(Error::config(
                file,
                "root.path",
                format!(
                    "{}: {e}; create the root filesystem there or fix the path",
                    root_path.display()
                ),
            ))
        }
    }
    let host_root = root_path == Path::new("/");

    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let options: Vec<String> = m.options().clone().unwrap_or_default();
        let kind = MountKind::from_oci(m.typ().as_deref(), &options).ok_or_else(|| {
            Error::config(
                file,
                format!("mounts[{i}].type"),
                format!(
                    "unsupported mount type {:?} for {}; use bind (with the bind/rbind option), tmpfs, proc, sysfs, devpts, mqueue or cgroup",
                    m.typ().clone().unwrap_or_default(),
                    m.destination().display()
                ),
            )
        })?;
        let dest = m.destination();
        if !dest.is_absolute() {
            return Err(Error::config(
                file,
                format!("mounts[{i}].destination"),
                format!(
                    "{} is not absolute; mount destinations are paths inside the container",
                    dest.display()
                ),
            ));
        }
        let source = match (kind, m.source()) {
            (MountKind::Bind, None) => {
                return Err(Error::config(
                    file,
                    format!("mounts[{i}].source"),
                    "a bind mount needs a source path",
                ))
            }
            (MountKind::Bind, Some(s)) => {
                let p = resolve_path(&s.to_string_lossy(), bundle, None);
                if let Err(e) = std::fs::symlink_metadata(&p) {
                    return Err(Error::config(
                        file,
                        format!("mounts[{i}].source"),
                        format!("{}: {e}", p.display()),
                    ));
                }
                Some(p)
            }
            (_, s) => s.clone(),
        };
        for o in &options {
            if !known_mount_option(o) {
                return Err(Error::config(
                    file,
                    format!("mounts[{i}].options"),
                    format!("unknown mount option {o:?}"),
                ));
            }
        }
        mounts.push(MountSpec {
            destination: super::normalize(dest),
            kind,
            source,
            options,
        });
    }

    let p = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config(file, "process", "missing; add a process with args"))?;
    let process = process_spec(p, file, bundle, host_root)?;

    let linux = spec.linux().as_ref();
    let paths = |v: Option<&Vec<String>>| -> Vec<PathBuf> {
        v.into_iter().flatten().map(PathBuf::from).collect()
    };
    let masked_paths = paths(linux.and_then(|l| l.masked_paths().as_ref()));
    let readonly_paths = paths(linux.and_then(|l| l.readonly_paths().as_ref()));
    let seccomp_profile = linux.and_then(|l| l.seccomp().clone());
    let join_namespaces = join_namespaces(linux, file)?;
    let maps = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<(u32, u32, u32)> {
        m.into_iter()
            .flatten()
            .map(|m| (m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    let sysctl = sysctls(linux, &join_namespaces, file)?;
    let devices = devices(linux, file)?;
    let uid_mappings = maps(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid_mappings = maps(linux.and_then(|l| l.gid_mappings().as_ref()));
    let cgroup = linux.and_then(|l| {
        let spec = super::CgroupSpec {
            path: l.cgroups_path().clone(),
            resources: l.resources().clone(),
        };
        (spec.path.is_some() || spec.resources.is_some()).then_some(spec)
    });

    resolve_sandbox_paths(&mut sandbox, bundle, home.as_deref());

    Ok(Policy {
        origin: file.to_string(),
        base_dir: bundle.to_path_buf(),
        root: root_path,
        root_readonly: root.readonly().unwrap_or(false),
        mounts,
        process,
        hostname: spec.hostname().clone(),
        domainname: spec.domainname().clone(),
        masked_paths,
        readonly_paths,
        seccomp_profile,
        sandbox,
        join_namespaces,
        uid_mappings,
        gid_mappings,
        sysctl,
        devices,
        cgroup,
    })
}

/// `linux.devices`: each must exist on the host as the same kind of node with the same
/// numbers (at the same path, or found under /dev), since it is bound in, not created.
fn devices(
    linux: Option<&oci_spec::runtime::Linux>,
    file: &str,
) -> Result<Vec<(PathBuf, PathBuf)>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut out = Vec::new();
    for (i, d) in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = format!("linux.devices[{i}]");
        let dest = d.path();
        if !dest.is_absolute() {
            return Err(Error::config(
                file,
                format!("{field}.path"),
                format!("{} is not absolute", dest.display()),
            ));
        }
        let kind = d.typ().as_str().to_string();
        let want = libc::makedev(d.major() as _, d.minor() as _);
        let matches = |p: &Path| {
            std::fs::metadata(p).is_ok_and(|m| {
                let ft = m.file_type();
                let same_kind = match kind.as_str() {
                    "c" | "u" => ft.is_char_device(),
                    "b" => ft.is_block_device(),
                    "p" => ft.is_fifo(),
                    _ => false,
                };
                same_kind && (kind == "p" || m.rdev() as i64 == want as i64)
            })
        };
        let source = if matches(dest) {
            Some(dest.to_path_buf())
        } else {
            std::fs::read_dir("/dev")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .find(|p| matches(p))
        };
        let Some(source) = source else {
            return Err(Error::config(
                file,
                field,
                format!(
                    "{} ({kind} {}:{}) has no node on the host; srt-runc binds host device nodes (mknod is refused in a user namespace)",
                    dest.display(),
                    d.major(),
                    d.minor()
                ),
            ));
        };
        out.push((super::normalize(dest), source));
    }
    Ok(out)
}

/// `linux.sysctl`: only keys that belong to the container's own namespaces (its
/// network, IPC and mqueue namespaces) can be set without changing the host's.
fn sysctls(
    linux: Option<&oci_spec::runtime::Linux>,
    joined: &[(String, PathBuf)],
    file: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flatten()
    {
        let field = format!("linux.sysctl.{k}");
        let ns = if k.starts_with("net.") {
            "network"
        } else if k.starts_with("kernel.shm")
            || k.starts_with("kernel.msg")
            || k == "kernel.sem"
            || k.starts_with("fs.mqueue.")
        {
            "ipc"
        } else {
            return Err(Error::config(file, field, "not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*): it would change the host; remove it"));
        };
        if joined.iter().any(|(j, _)| j == ns) {
            return Err(Error::config(file, field, format!("the {ns} namespace is joined by path and belongs to its creator; set the sysctl there")));
        }
        if k.contains("..") || k.contains('/') || v.contains('\n') {
            return Err(Error::config(file, field, "malformed key or value"));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// `linux.namespaces` entries with a `path`: joined instead of created. srt-runc
/// always creates the user, mount and pid namespaces itself (the init needs full rights
/// over them to build its root and mount a fresh procfs); those a container engine
/// prepares or shares between containers (network by podman, ipc/uts/cgroup in a pod)
/// may be joined.
fn join_namespaces(
    linux: Option<&oci_spec::runtime::Linux>,
    file: &str,
) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for (i, ns) in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(path) = ns.path() else { continue };
        let kind = serde_json::to_value(ns.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        if !matches!(kind.as_str(), "network" | "ipc" | "uts" | "cgroup") {
            return Err(Error::config(
                file,
                format!("linux.namespaces[{i}].path"),
                format!("joining an existing {kind} namespace is not supported by srt-runc (only network, ipc, uts and cgroup); remove the path to get a new one"),
            ));
        }
        if let Err(e) = std::fs::metadata(path) {
            return Err(Error::config(
                file,
                format!("linux.namespaces[{i}].path"),
                format!("{}: {e}", path.display()),
            ));
        }
        out.push((kind, path.clone()));
    }
    Ok(out)
}

/// `process` of config.json (or of `exec --process FILE`) → [`ProcessSpec`]: args
/// present, cwd absolute (relative only with the host as root), rlimits within what can
/// be set, capability names canonical.
pub fn process_spec(
    p: &oci_spec::runtime::Process,
    file: &str,
    bundle: &Path,
    host_root: bool,
) -> Result<ProcessSpec> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(Error::config(
            file,
            "process.args",
            "empty; give the command to run, e.g. [\"sh\", \"-c\", \"echo hi\"]",
        ));
    }
    let cwd_raw = p.cwd().to_string_lossy().to_string();
    let cwd = if p.cwd().is_absolute() {
        super::normalize(p.cwd())
    } else if host_root {
        // srt-runc extension: with the host as root, a relative cwd names a host
        // directory relative to the bundle (the project the demo bundle works on).
        resolve_path(&cwd_raw, bundle, home.as_deref())
    } else {
        return Err(Error::config(
            file,
            "process.cwd",
            format!("{cwd_raw:?} is not absolute; use a path inside the container such as \"/\""),
        ));
    };
    let user = p.user();
    let mut rlimits = Vec::new();
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        let kind = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let (soft, hard) = (r.soft(), r.hard());
        if soft > hard {
            return Err(Error::config(
                file,
                format!("process.rlimits[{i}]"),
                format!("{kind}: soft limit {soft} is above hard limit {hard}; lower soft"),
            ));
        }
        if let Some(res) = rlimit_resource(&kind) {
            if let Ok((_, cur_hard)) = nix::sys::resource::getrlimit(res) {
                if hard > cur_hard {
                    return Err(Error::config(
                        file,
                        format!("process.rlimits[{i}]"),
                        format!("{kind}: hard limit {hard} is above the current hard limit {cur_hard}, which cannot be raised without CAP_SYS_RESOURCE; use at most {cur_hard}"),
                    ));
                }
            }
        }
        rlimits.push(Rlimit { kind, soft, hard });
    }
    let capabilities = match p.capabilities() {
        None => CapabilitySets::default(),
        Some(c) => {
            let names = |set: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
                let mut v: Vec<String> = set
                    .iter()
                    .flatten()
                    .filter_map(|c| {
                        serde_json::to_value(c)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                    })
                    .collect();
                v.sort();
                v
            };
            CapabilitySets {
                bounding: names(c.bounding()),
                effective: names(c.effective()),
                permitted: names(c.permitted()),
                inheritable: names(c.inheritable()),
                ambient: names(c.ambient()),
            }
        }
    };
    let process = ProcessSpec {
        args,
        env: p.env().clone().unwrap_or_default(),
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        capabilities,
        rlimits,
        no_new_privileges: p.no_new_privileges().unwrap_or(true),
        terminal: p.terminal().unwrap_or(false),
        oom_score_adj: p.oom_score_adj(),
    };
    if !process.no_new_privileges {
        // no_new_privs keeps setuid gains away from untrusted code, and Landlock needs it
        // once capabilities are gone: srt-runc always sets it.
        tracing::warn!(
            "process.noNewPrivileges=false is ignored: srt-runc always sets no_new_privs"
        );
    }
    Ok(process)
}

/// Makes every filesystem entry of the sandbox section absolute (`~` → `$HOME`,
/// relative → `base`), keeping the literal flag.
pub fn resolve_sandbox_paths(sandbox: &mut SandboxSettings, base: &Path, home: Option<&Path>) {
    if let Some(fs) = sandbox.filesystem.as_mut() {
        for list in [
            &mut fs.allow_write,
            &mut fs.deny_write,
            &mut fs.deny_read,
            &mut fs.allow_read,
        ] {
            for e in list.iter_mut() {
                let abs = resolve_path(e.path(), base, home)
                    .to_string_lossy()
                    .to_string();
                *e = match e {
                    PathEntry::Plain(_) => PathEntry::Plain(abs),
                    PathEntry::Object(o) => PathEntry::Object(super::settings::LiteralPath {
                        path: abs,
                        literal: o.literal,
                    }),
                };
            }
        }
    }
}

fn known_mount_option(o: &str) -> bool {
    const FLAGS: &[&str] = &[
        "bind",
        "rbind",
        "ro",
        "rw",
        "nosuid",
        "suid",
        "nodev",
        "dev",
        "noexec",
        "exec",
        "sync",
        "async",
        "dirsync",
        "remount",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
        "rro",
        "rrw",
        "rnosuid",
        "rnodev",
        "rnoexec",
        "idmap",
        "ridmap",
        "tmpcopyup",
        "nosymfollow",
        "lazytime",
        "nolazytime",
        "silent",
        "loud",
        "z",
        "Z",
        "copy",
        "nocopy",
        "U",
        "notmpcopyup",
    ];
    // key=value data options (size=, mode=, newinstance, ptmxmode=, gid=, ...) go to the filesystem.
    FLAGS.contains(&o) || o.contains('=') || o == "newinstance"
}

/// Maps an OCI rlimit name to nix's resource.
pub fn rlimit_resource(kind: &str) -> Option<nix::sys::resource::Resource> {
    use nix::sys::resource::Resource as R;
    Some(match kind {
        "RLIMIT_AS" => R::RLIMIT_AS,
        "RLIMIT_CORE" => R::RLIMIT_CORE,
        "RLIMIT_CPU" => R::RLIMIT_CPU,
        "RLIMIT_DATA" => R::RLIMIT_DATA,
        "RLIMIT_FSIZE" => R::RLIMIT_FSIZE,
        "RLIMIT_NOFILE" => R::RLIMIT_NOFILE,
        "RLIMIT_STACK" => R::RLIMIT_STACK,
        // Resources the engine applies on Linux only.
        #[cfg(target_os = "linux")]
        "RLIMIT_MEMLOCK" => R::RLIMIT_MEMLOCK,
        #[cfg(target_os = "linux")]
        "RLIMIT_NPROC" => R::RLIMIT_NPROC,
        #[cfg(target_os = "linux")]
        "RLIMIT_RSS" => R::RLIMIT_RSS,
        #[cfg(target_os = "linux")]
        "RLIMIT_LOCKS" => R::RLIMIT_LOCKS,
        #[cfg(target_os = "linux")]
        "RLIMIT_MSGQUEUE" => R::RLIMIT_MSGQUEUE,
        #[cfg(target_os = "linux")]
        "RLIMIT_NICE" => R::RLIMIT_NICE,
        #[cfg(target_os = "linux")]
        "RLIMIT_RTPRIO" => R::RLIMIT_RTPRIO,
        #[cfg(target_os = "linux")]
        "RLIMIT_RTTIME" => R::RLIMIT_RTTIME,
        #[cfg(target_os = "linux")]
        "RLIMIT_SIGPENDING" => R::RLIMIT_SIGPENDING,
        _ => return None,
    })
}
