//! The ordered mount list.
//!
//! Order matters and is fixed here, top to bottom:
//! 1. fresh `/proc` and a minimal `/dev` (unless the config mounts its own), first so
//!    that the config's own mounts can still be layered over them (e.g. `/dev/shm`);
//! 2. the OCI `mounts`, in the config's order;
//! 3. the `"sandbox"` filesystem policy: writable binds (shallow before deep), then
//!    read-only re-binds for `denyWrite` inside them, then unreadable stubs for
//!    `denyRead` — later steps cover earlier ones, so denials always win;
//! 4. OCI `maskedPaths`, then `readonlyPaths`.
//!
//! The root itself is bound (and made read-only recursively) before step 1.

use crate::error::{Error, Result};
use crate::policy::{MountKind, PathEntry, Policy};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One mount step, applied below the new root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MountStep {
    /// Destination inside the sandbox (absolute).
    pub dest: PathBuf,
    pub kind: StepKind,
    /// Where the step comes from, for `explain` and error messages.
    pub origin: String,
}

/// What a mount step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum StepKind {
    /// Bind a host path. `flags` are per-mount flags such as `nosuid`, `nodev`, `noexec`.
    Bind {
        source: PathBuf,
        recursive: bool,
        readonly: bool,
        flags: Vec<String>,
        propagation: Option<String>,
    },
    Tmpfs {
        readonly: bool,
        flags: Vec<String>,
        data: String,
    },
    Proc,
    Sysfs {
        readonly: bool,
    },
    Devpts {
        data: String,
    },
    Mqueue,
    Cgroup {
        readonly: bool,
    },
    /// Populate a `/dev` tmpfs: null, zero, full, random, urandom, tty bound from the
    /// host; `ptmx`, `fd`, `stdin`, `stdout`, `stderr`, `core` links.
    DevNodes,
    /// Cover a path with an unreadable, read-only stub (mode 000) so reads fail with EACCES.
    /// `keep` lists paths inside a denied directory that `allowRead` re-allows (relative,
    /// with whether each is a directory): the stub gets search-only (0111) directories
    /// down to them so they can be bound back.
    DenyRead {
        dir: bool,
        keep: Vec<(PathBuf, bool)>,
    },
    /// Cover a host unix socket with the unreadable stub; skipped if the socket went away
    /// between planning and mounting (sockets come and go).
    MaskSocket,
    /// OCI `maskedPaths`: `/dev/null` over files, an empty read-only tmpfs over directories.
    Mask {
        dir: bool,
    },
    /// Re-bind a path onto itself read-only, submounts included.
    ReadOnly,
}

const DEV_FLAGS: &[&str] = &["nosuid", "noexec"];

/// The mount part of a plan.
#[derive(Debug, Default)]
pub struct MountPlan {
    pub steps: Vec<MountStep>,
    /// Landlock-writable destinations.
    pub writable: Vec<PathBuf>,
    /// Protected paths that do not exist yet: the supervisor creates a placeholder for
    /// each (`true` = directory) before the sandbox starts and removes it afterwards.
    pub placeholders: Vec<(PathBuf, bool)>,
}

/// Returns the ordered steps, the Landlock-writable destinations and the placeholders.
pub fn plan_mounts(policy: &Policy) -> Result<MountPlan> {
    let mut steps = Vec::new();
    let mut placeholders = Vec::new();
    let has = |d: &str| policy.mounts.iter().any(|m| m.destination == Path::new(d));
    let step = |dest: &str, kind: StepKind, origin: &str| MountStep {
        dest: PathBuf::from(dest),
        kind,
        origin: origin.to_string(),
    };

    // 1. Defaults: a fresh procfs is a design invariant (host PIDs must be invisible).
    if !has("/proc") {
        steps.push(step("/proc", StepKind::Proc, "default"));
    }
    if !has("/dev") {
        let dev_data = "mode=755,size=65536k".to_string();
        steps.push(step(
            "/dev",
            StepKind::Tmpfs {
                readonly: false,
                flags: strs(DEV_FLAGS),
                data: dev_data,
            },
            "default",
        ));
        steps.push(step("/dev", StepKind::DevNodes, "default"));
        steps.push(step(
            "/dev/pts",
            StepKind::Devpts {
                data: "newinstance,ptmxmode=0666,mode=620".into(),
            },
            "default",
        ));
        steps.push(step(
            "/dev/shm",
            StepKind::Tmpfs {
                readonly: false,
                flags: strs(&["nosuid", "nodev"]),
                data: "mode=1777,size=65536k".into(),
            },
            "default",
        ));
    }

    // 2. OCI mounts.
    for (i, m) in policy.mounts.iter().enumerate() {
        let origin = format!("mounts[{i}]");
        let opts = MountOptions::parse(&m.options);
        let kind = match m.kind {
            MountKind::Bind => StepKind::Bind {
                source: m.source.clone().unwrap_or_default(),
                recursive: opts.recursive,
                readonly: opts.readonly,
                flags: opts.flags.clone(),
                propagation: opts.propagation.clone(),
            },
            MountKind::Tmpfs => StepKind::Tmpfs {
                readonly: opts.readonly,
                flags: opts.flags.clone(),
                data: opts.data.join(","),
            },
            MountKind::Proc => StepKind::Proc,
            MountKind::Sysfs => StepKind::Sysfs {
                readonly: opts.readonly,
            },
            MountKind::Devpts => StepKind::Devpts {
                data: devpts_data(&opts.data),
            },
            MountKind::Mqueue => StepKind::Mqueue,
            MountKind::Cgroup => StepKind::Cgroup {
                readonly: opts.readonly,
            },
        };
        let is_dev_tmpfs = m.destination == Path::new("/dev") && m.kind == MountKind::Tmpfs;
        steps.push(MountStep {
            dest: m.destination.clone(),
            kind,
            origin: origin.clone(),
        });
        if is_dev_tmpfs {
            steps.push(MountStep {
                dest: m.destination.clone(),
                kind: StepKind::DevNodes,
                origin,
            });
        }
    }

    // 3. The sandbox filesystem policy. Entries whose host path does not exist are
    // skipped: there is nothing to bind or to hide (creating it would litter the host).
    if let Some(fs) = policy
        .sandbox
        .filesystem
        .as_ref()
        .filter(|f| f.disabled != Some(true))
    {
        let existing = |list: &[PathEntry], field: &str| -> Result<Vec<PathBuf>> {
            let mut out = Vec::new();
            for (i, e) in list.iter().enumerate() {
                if e.path().is_empty() {
                    return Err(Error::config(
                        &policy.origin,
                        format!("sandbox.filesystem.{field}[{i}]"),
                        "empty path; remove the entry",
                    ));
                }
                if (field == "denyRead" || field == "allowRead")
                    && crate::policy::glob::is_glob_entry(e)
                {
                    // srt v0.0.83: read globs are expanded at plan time by walking the tree.
                    let opts = crate::policy::glob::ExpandOptions {
                        field: &format!("filesystem.{field}[{i}]"),
                        max_entries: crate::policy::glob::DEFAULT_MAX_ENTRIES,
                    };
                    let exp = crate::policy::glob::expand_with(e.path(), &opts).map_err(|err| {
                        Error::ConfigText {
                            file: policy.origin.clone(),
                            text: format!("sandbox.{err}"),
                        }
                    })?;
                    out.extend(exp.matches);
                    if field == "denyRead" {
                        out.extend(exp.unlistable); // fail closed
                    }
                    continue;
                }
                let raw = if field == "allowWrite" || field == "denyWrite" {
                    crate::policy::glob::strip_trailing_globstar(e.path())
                } else {
                    e.path()
                };
                let p = PathBuf::from(raw);
                if std::fs::symlink_metadata(&p).is_ok() {
                    out.push(p);
                } else {
                    tracing::debug!(path = %p.display(), field, "skipping a path that does not exist");
                }
            }
            out.sort_by_key(|p| p.components().count());
            out.dedup();
            Ok(out)
        };
        for p in existing(&fs.allow_write, "allowWrite")? {
            // Resolve symlinks on the host side so that the bind lands where the
            // user's path really points (srt resolves symlinked paths the same way).
            let source = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            steps.push(MountStep {
                dest: source.clone(),
                kind: StepKind::Bind {
                    source,
                    recursive: true,
                    readonly: false,
                    flags: strs(&["nosuid", "nodev"]),
                    propagation: None,
                },
                origin: "sandbox.filesystem.allowWrite".into(),
            });
        }
        // srt's mandatory denies (dangerous files) beneath the writable paths.
        let roots: Vec<PathBuf> = steps
            .iter()
            .filter(|s| s.origin == "sandbox.filesystem.allowWrite")
            .map(|s| s.dest.clone())
            .collect();
        if !roots.is_empty() {
            let depth = policy.sandbox.mandatory_deny_search_depth.unwrap_or(3);
            let allow_git_config = fs.allow_git_config.unwrap_or(false);
            let found = crate::policy::mandatory::scan_existing(&roots, depth, allow_git_config);
            // Directories the walk had no budget for are protected whole (fail closed).
            let mut protected = found.existing;
            protected.extend(found.unscanned);
            // Paths that do not exist yet are protected where the command works: its cwd.
            let cwd = std::fs::canonicalize(&policy.process.cwd)
                .unwrap_or_else(|_| policy.process.cwd.clone());
            // A missing protected path gets a placeholder (`dir`: a directory); its missing
            // parents (`.claude` for `.claude/commands`) get plain placeholder
            // directories: created for the mount point, writable, removed afterwards if
            // the command left them empty.
            let mut add_missing = |m: PathBuf, base: &Path, dir: bool| {
                let mut parents: Vec<PathBuf> = m
                    .ancestors()
                    .skip(1)
                    .take_while(|a| a.starts_with(base) && *a != base)
                    .filter(|a| std::fs::symlink_metadata(a).is_err())
                    .map(Path::to_path_buf)
                    .collect();
                parents.reverse();
                for a in parents {
                    if !placeholders.iter().any(|(p, _)| *p == a) {
                        placeholders.push((a, true));
                    }
                }
                if !placeholders.iter().any(|(p, _)| *p == m) {
                    placeholders.push((m.clone(), dir));
                }
                m
            };
            if roots.iter().any(|r| cwd.starts_with(r)) {
                for m in missing_protected(&cwd, allow_git_config) {
                    let dir = placeholder_is_dir(&m);
                    protected.push(add_missing(m, &cwd, dir));
                }
            }
            // A protected name that is a symlink (`.bashrc -> dotfiles/bashrc`): the
            // read-only bind follows it, but what it leads to must also be pinned like a
            // protected path, and get a placeholder if it does not exist (a dangling
            // `.mcp.json -> cfg/mcp.json` would otherwise let the command create it).
            let mut targets = Vec::new();
            for p in &protected {
                let base = roots
                    .iter()
                    .find(|r| p.starts_with(r))
                    .map_or(Path::new("/"), PathBuf::as_path);
                let (real, links) = crate::policy::mandatory::resolve_lenient(base, p);
                if links.is_empty() || real == *p {
                    continue;
                }
                let Some(root) = roots.iter().find(|r| real.starts_with(r)) else {
                    continue;
                };
                if std::fs::symlink_metadata(&real).is_ok() {
                    targets.push(real);
                } else {
                    targets.push(add_missing(real, root, placeholder_is_dir(p)));
                }
            }
            protected.extend(targets);
            protected.sort();
            protected.dedup();
            // Pin every directory between a protected path and its writable root as a
            // mount point, so `mv .git aside && mkdir .git` fails with EBUSY instead of
            // making a fresh, unprotected .git/hooks.
            let mut pins: Vec<PathBuf> = Vec::new();
            for p in &protected {
                let Some(root) = roots
                    .iter()
                    .filter(|r| p.starts_with(r))
                    .max_by_key(|r| r.components().count())
                else {
                    continue;
                };
                let mut a = p.parent().map(Path::to_path_buf);
                while let Some(dir) = a {
                    if !dir.starts_with(root) || dir == *root {
                        break;
                    }
                    pins.push(dir.clone());
                    a = dir.parent().map(Path::to_path_buf);
                }
            }
            pins.sort_by_key(|p| p.components().count());
            pins.dedup();
            for dir in pins {
                steps.push(MountStep {
                    dest: dir.clone(),
                    kind: StepKind::Bind {
                        source: dir,
                        recursive: true,
                        readonly: false,
                        flags: strs(&["nosuid", "nodev"]),
                        propagation: None,
                    },
                    origin: PIN_ORIGIN.into(),
                });
            }
            for p in protected {
                steps.push(MountStep {
                    dest: p,
                    kind: StepKind::ReadOnly,
                    origin: PROTECT_ORIGIN.into(),
                });
            }
        }
        for p in existing(&fs.deny_write, "denyWrite")? {
            let dest = std::fs::canonicalize(&p).unwrap_or(p);
            steps.push(MountStep {
                dest,
                kind: StepKind::ReadOnly,
                origin: "sandbox.filesystem.denyWrite".into(),
            });
        }
        let allow_read: Vec<PathBuf> = existing(&fs.allow_read, "allowRead")?
            .into_iter()
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
            .collect();
        let writable: Vec<PathBuf> = steps
            .iter()
            .filter(|s| {
                matches!(
                    s.kind,
                    StepKind::Bind {
                        readonly: false,
                        ..
                    }
                )
            })
            .map(|s| s.dest.clone())
            .collect();
        let mut reallowed = Vec::new();
        for p in existing(&fs.deny_read, "denyRead")? {
            let dir = std::fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false);
            let dest = std::fs::canonicalize(&p).unwrap_or(p);
            // A denied file is lifted only by an allowRead entry naming exactly it (srt).
            if !dir && allow_read.contains(&dest) {
                continue;
            }
            let keep: Vec<(PathBuf, bool)> = allow_read
                .iter()
                .filter(|a| dir && a.starts_with(&dest) && **a != dest)
                .map(|a| (a.strip_prefix(&dest).unwrap().to_path_buf(), a.is_dir()))
                .collect();
            if dir && allow_read.contains(&dest) {
                continue; // the whole directory is re-allowed
            }
            reallowed.extend(keep.iter().map(|(rel, _)| dest.join(rel)));
            steps.push(MountStep {
                dest,
                kind: StepKind::DenyRead { dir, keep },
                origin: "sandbox.filesystem.denyRead".into(),
            });
        }
        // allowRead wins over denyRead inside denied directories: bind the paths back,
        // writable when they lie in a writable path.
        for p in reallowed {
            let readonly = !writable.iter().any(|w| p.starts_with(w));
            steps.push(MountStep {
                dest: p.clone(),
                kind: StepKind::Bind {
                    source: p,
                    recursive: true,
                    readonly,
                    flags: strs(&["nosuid", "nodev"]),
                    propagation: None,
                },
                origin: "sandbox.filesystem.allowRead".into(),
            });
        }
    }

    // Host unix sockets: with the host as root, every listening pathname socket the host
    // has (docker.sock, dbus, ssh-agent, X11 …) is covered by an unreadable stub, so
    // connect() finds a regular file and fails. Sockets the sandbox creates itself are
    // unaffected, and abstract sockets are per network namespace already.
    if policy.root == Path::new("/") {
        let net = policy.sandbox.network.as_ref();
        if net.and_then(|n| n.allow_all_unix_sockets) != Some(true) {
            let allowed: Vec<PathBuf> = net
                .map(|n| n.allow_unix_sockets.iter().map(PathBuf::from).collect())
                .unwrap_or_default();
            let planned: std::collections::HashSet<&Path> =
                steps.iter().map(|s| s.dest.as_path()).collect();
            let sockets: Vec<PathBuf> = host_unix_sockets()
                .into_iter()
                .filter(|sock| {
                    !allowed.iter().any(|a| sock.starts_with(a))
                        && !planned.contains(sock.as_path())
                })
                .collect();
            for sock in sockets {
                steps.push(MountStep {
                    dest: sock,
                    kind: StepKind::MaskSocket,
                    origin: "host unix socket".into(),
                });
            }
        }
    }

    // 4. OCI masked and read-only paths; missing ones are skipped, as runc does.
    for p in &policy.masked_paths {
        let host = host_view(&policy.root, p);
        if let Ok(m) = std::fs::symlink_metadata(&host) {
            steps.push(MountStep {
                dest: p.clone(),
                kind: StepKind::Mask { dir: m.is_dir() },
                origin: "linux.maskedPaths".into(),
            });
        } else if !policy.root.starts_with("/proc") && p.starts_with("/proc") {
            // /proc entries exist in the fresh procfs even if the host view differs.
            steps.push(MountStep {
                dest: p.clone(),
                kind: StepKind::Mask { dir: false },
                origin: "linux.maskedPaths".into(),
            });
        }
    }
    for p in &policy.readonly_paths {
        steps.push(MountStep {
            dest: p.clone(),
            kind: StepKind::ReadOnly,
            origin: "linux.readonlyPaths".into(),
        });
    }

    let mut writable: Vec<PathBuf> = Vec::new();
    if !policy.root_readonly {
        writable.push(PathBuf::from("/"));
    }
    // A set beside the ordered list: with thousands of writable paths a linear
    // `contains` per step made planning quadratic.
    let mut seen: std::collections::HashSet<PathBuf> = writable.iter().cloned().collect();
    for s in &steps {
        let w = match &s.kind {
            StepKind::Bind { readonly, .. } | StepKind::Tmpfs { readonly, .. } => !readonly,
            StepKind::Devpts { .. } | StepKind::Mqueue => true,
            _ => false,
        };
        if w && seen.insert(s.dest.clone()) {
            writable.push(s.dest.clone());
        }
    }
    Ok(MountPlan {
        steps,
        writable,
        placeholders,
    })
}

/// Protected paths below `cwd` that do not exist yet, each named in full. The scan
/// reports only the first missing component (`.claude` for `.claude/commands`);
/// protecting that whole directory would also block `.claude/notes.md`, which srt
/// allows, so it is expanded back to the dangerous paths beneath it.
fn missing_protected(cwd: &Path, allow_git_config: bool) -> Vec<PathBuf> {
    use crate::policy::mandatory::{scan_missing, DANGEROUS_DIRS, DANGEROUS_FILES};
    let mut full: Vec<PathBuf> = DANGEROUS_FILES
        .iter()
        .chain(DANGEROUS_DIRS)
        .map(|n| cwd.join(n))
        .collect();
    full.push(cwd.join(".git/hooks"));
    if !allow_git_config {
        full.push(cwd.join(".git/config"));
    }
    let mut out = Vec::new();
    for m in scan_missing(cwd, allow_git_config) {
        let under: Vec<&PathBuf> = full
            .iter()
            .filter(|f| f.starts_with(&m) && std::fs::symlink_metadata(f).is_err())
            .collect();
        if under.is_empty() {
            out.push(m);
        } else {
            out.extend(under.into_iter().cloned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Origin of the read-only step over a mandatory-deny path.
pub(super) const PROTECT_ORIGIN: &str = "mandatory deny";
/// Origin of the bind that pins a directory between a protected path and its root.
const PIN_ORIGIN: &str = "mandatory deny (ancestor pin)";

/// The mandatory-deny destinations that existed when the plan was made (`true` =
/// directory). Any of them may be a placeholder another live sandbox of the same user
/// created, which that sandbox removes when it ends; the supervisor must share it (or
/// make it again) before this sandbox mounts onto it.
pub(super) fn existing_protected(
    steps: &[MountStep],
    placeholders: &[(PathBuf, bool)],
) -> Vec<(PathBuf, bool)> {
    let mut out: Vec<(PathBuf, bool)> = steps
        .iter()
        .filter(|s| s.origin == PROTECT_ORIGIN || s.origin == PIN_ORIGIN)
        .filter(|s| !placeholders.iter().any(|(p, _)| *p == s.dest))
        .map(|s| {
            let dir = s.origin == PIN_ORIGIN
                || std::fs::symlink_metadata(&s.dest)
                    .map(|m| m.is_dir())
                    .unwrap_or_else(|_| placeholder_is_dir(&s.dest));
            (s.dest.clone(), dir)
        })
        .collect();
    // Parents before children, so a directory is there before what goes in it.
    out.sort_by_key(|(p, _)| p.components().count());
    out.dedup();
    out
}

/// Whether a missing protected path gets a directory placeholder (dangerous
/// directories, `.git/hooks`) or a file (dotfiles, `.git/config`).
fn placeholder_is_dir(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    !(crate::policy::mandatory::DANGEROUS_FILES
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
        || p.ends_with(".git/config")
        || p.ends_with(".git"))
}

/// Listening pathname unix sockets of the host's network namespace that exist in the
/// caller's view (`/proc/net/unix`, path column; abstract names start with `@`).
fn host_unix_sockets() -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(text) = std::fs::read_to_string("/proc/net/unix") else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(7))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .filter(|p| {
            std::fs::symlink_metadata(p)
                .map(|m| m.file_type().is_socket())
                .unwrap_or(false)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Where an in-sandbox path lives on the host before any mounts (for existence checks).
fn host_view(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The gid= option names a group that may not be mapped in an unprivileged user
/// namespace; devpts then refuses to mount. Dropping it keeps ptys working and the
/// files owned by the mapped group.
fn devpts_data(data: &[String]) -> String {
    let mut v: Vec<String> = data
        .iter()
        .filter(|o| !o.starts_with("gid="))
        .cloned()
        .collect();
    if !v.iter().any(|o| o == "newinstance") {
        v.insert(0, "newinstance".into());
    }
    v.join(",")
}

/// OCI mount options split into what the engine needs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MountOptions {
    pub readonly: bool,
    pub recursive: bool,
    /// Per-mount flags: nosuid, nodev, noexec, noatime, relatime, ...
    pub flags: Vec<String>,
    pub propagation: Option<String>,
    /// Filesystem data (`size=`, `mode=`, ...).
    pub data: Vec<String>,
}

impl MountOptions {
    pub fn parse(options: &[String]) -> Self {
        let mut o = MountOptions::default();
        for opt in options {
            match opt.as_str() {
                "ro" | "rro" => o.readonly = true,
                "rw" | "rrw" => o.readonly = false,
                "rbind" => o.recursive = true,
                "bind" => {}
                "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
                | "unbindable" | "runbindable" => o.propagation = Some(opt.clone()),
                "nosuid" | "nodev" | "noexec" | "noatime" | "relatime" | "strictatime"
                | "nodiratime" | "nosymfollow" | "rnosuid" | "rnodev" | "rnoexec" | "sync"
                | "dirsync" => {
                    let f = opt.trim_start_matches('r').to_string();
                    let f = if opt == "relatime" {
                        "relatime".to_string()
                    } else {
                        f
                    };
                    if !o.flags.contains(&f) {
                        o.flags.push(f)
                    }
                }
                // Positive flags are the defaults; tmpcopyup and SELinux relabels do not apply here.
                "suid" | "dev" | "exec" | "async" | "atime" | "diratime" | "tmpcopyup"
                | "notmpcopyup" | "z" | "Z" => {}
                s if s.contains('=') || s == "newinstance" => o.data.push(s.to_string()),
                _ => {}
            }
        }
        o
    }
}
