//! Placeholders for protected paths that do not exist yet.
//!
//! A sandboxed command must not be able to *create* `.bashrc` or `.git/hooks/pre-commit`
//! in a writable project. Mounts can only cover names that exist, and no kernel
//! mechanism available here denies creating one name in a writable directory, so the
//! supervisor creates an empty placeholder (file mode 000, or an empty directory) on the
//! host before the sandbox starts; the plan re-binds it read-only inside the sandbox,
//! where it can be neither written, removed nor renamed (it is a mount point).
//!
//! Nothing may stay behind: the supervisor removes the placeholders after the command
//! exits, also when the command was SIGKILLed. Concurrent sandboxes of the same user may
//! share a placeholder — removing it while another sandbox still has it mounted would
//! silently drop that sandbox's protection (the kernel detaches mounts on an unlinked
//! dentry) — so a registry under the user's runtime directory, guarded by `flock`,
//! records which live supervisors use each placeholder. The last one removes it. If a
//! supervisor is SIGKILLed, the next run of the same user finds its dead pid in the
//! registry and removes what it left.
//!
//! A detached container (`create`/`start`) outlives the `create` process, so its
//! placeholders are owned by the container's init instead ([`Placeholders::keep`]):
//! `delete` releases that owner ([`release_owner`]), and if the container died without
//! a `delete`, the next run of the same user sweeps it like a dead supervisor. Owners
//! are recorded with their start time (field 22 of `/proc/PID/stat`), so a reused pid
//! never keeps a placeholder alive.
//!
//! A placeholder is removed only if it is still the very inode we created and still
//! empty, so a file the user created meanwhile is never deleted.

use crate::error::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    dir: bool,
    dev: u64,
    ino: u64,
    owners: Vec<i32>,
    /// Start times of the owners that have one recorded. Kept beside `owners` (not in
    /// it) so that a registry written by an older srt-runc still parses, and an older
    /// srt-runc still parses ours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    starts: BTreeMap<i32, u64>,
}

impl Entry {
    /// `o` is listed: same pid, and the same start time unless none was recorded.
    fn has(&self, o: Owner) -> bool {
        self.owners.contains(&o.pid)
            && self
                .starts
                .get(&o.pid)
                .map_or(true, |t| Some(*t) == o.start)
    }

    fn add(&mut self, o: Owner) {
        self.owners.retain(|p| *p != o.pid);
        self.starts.remove(&o.pid);
        self.owners.push(o.pid);
        if let Some(t) = o.start {
            self.starts.insert(o.pid, t);
        }
    }

    fn remove(&mut self, o: Owner) {
        if self.has(o) {
            self.owners.retain(|p| *p != o.pid);
            self.starts.remove(&o.pid);
        }
    }
}

/// A process that uses placeholders: a foreground supervisor, or a detached
/// container's init. The start time tells a live owner from a reused pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub pid: i32,
    pub start: Option<u64>,
}

impl Owner {
    /// This process.
    pub fn current() -> Owner {
        Owner::of(std::process::id() as i32)
    }

    /// Process `pid`, with its start time if `/proc` shows it.
    pub fn of(pid: i32) -> Owner {
        Owner {
            pid,
            start: crate::oci::state::proc_stat(pid).map(|(_, t)| t),
        }
    }

    /// Whether this owner still runs: same pid, same start time, not a zombie (an
    /// exited process has already left its mount namespace).
    fn alive(self) -> bool {
        match self.start {
            Some(t) => matches!(
                crate::oci::state::proc_stat(self.pid),
                Some((st, start)) if start == t && st != 'Z' && st != 'X'
            ),
            // Recorded without a start time (an older srt-runc, or no /proc).
            None => {
                self.pid == std::process::id() as i32
                    || nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid), None).is_ok()
            }
        }
    }
}

type Registry = BTreeMap<PathBuf, Entry>;

/// The placeholders this run uses; call [`Placeholders::release`] when the sandbox ends.
#[derive(Debug)]
pub struct Placeholders {
    paths: Vec<PathBuf>,
    dir: Option<PathBuf>,
    /// Placeholders kept without a registry (no writable runtime directory).
    local: Option<Registry>,
    owner: Owner,
}

/// The per-user directory holding the registry: `/run/srt-runc-placeholders` for root
/// where it can be created, else `$XDG_RUNTIME_DIR/srt-runc-placeholders`, else
/// `/tmp/srt-runc-placeholders-UID` (nested sandboxes and user namespaces often see a
/// read-only or foreign `/run`). It is removed when the registry empties, so it must not
/// be the OCI state root (`/run/srt-runc`), which containers share with it otherwise.
pub fn registry_dir() -> PathBuf {
    let uid = nix::unistd::geteuid();
    let mut candidates = Vec::new();
    if uid.is_root() {
        candidates.push(PathBuf::from("/run/srt-runc-placeholders"));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(d).join("srt-runc-placeholders"));
    }
    let fallback = PathBuf::from(format!("/tmp/srt-runc-placeholders-{uid}"));
    candidates
        .into_iter()
        .find(|d| {
            // Usable if it exists and is writable, or could be created (nothing is
            // created here: the registry directory appears only while in use).
            let probe = if d.exists() {
                d.as_path()
            } else {
                d.parent().unwrap_or(d)
            };
            nix::unistd::access(probe, nix::unistd::AccessFlags::W_OK).is_ok()
        })
        .unwrap_or(fallback)
}

/// Runs `f` on the registry with an exclusive lock held. When the registry ends up
/// empty, the file (and its directory, if empty) is removed, so no state is left once
/// nothing is in use.
fn with_registry<T>(dir: &Path, f: impl FnOnce(&mut Registry) -> T) -> Result<T> {
    let path = dir.join("placeholders.json");
    let (mut file, guard) = loop {
        std::fs::create_dir_all(dir).step(|| format!("creating {}", dir.display()))?;
        let _ = std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            // The last holder removed the emptied registry and its directory between
            // our mkdir and our open: make the directory again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).step(|| format!("opening {}", path.display())),
        };
        let guard = nix::fcntl::Flock::lock(
            file.try_clone().step(|| "dup registry".into())?,
            nix::fcntl::FlockArg::LockExclusive,
        )
        .map_err(|(_, e)| e)
        .step(|| format!("locking {}", path.display()))?;
        // The previous holder may have removed the file while we waited for the lock.
        if file.metadata().map(|m| m.nlink() > 0).unwrap_or(false) {
            break (file, guard);
        }
    };
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let mut reg: Registry = serde_json::from_str(&text).unwrap_or_default();
    let out = f(&mut reg);
    if reg.is_empty() {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(dir);
    } else {
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = file.write_all(serde_json::to_string(&reg).unwrap_or_default().as_bytes());
    }
    drop(guard);
    Ok(out)
}

/// Removes `path` if it is still our empty placeholder.
fn remove_if_ours(path: &Path, e: &Entry) {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return;
    };
    if m.dev() != e.dev || m.ino() != e.ino {
        return;
    }
    if e.dir {
        let _ = std::fs::remove_dir(path); // fails, as it should, if no longer empty
    } else if m.len() == 0 && m.file_type().is_file() {
        let _ = std::fs::remove_file(path);
    }
}

/// Drops dead owners; removes placeholders nobody alive uses, deepest first so that a
/// placeholder parent directory can go once its placeholder children are gone.
fn sweep(reg: &mut Registry) {
    let mut dead: Vec<PathBuf> = Vec::new();
    for (path, e) in reg.iter_mut() {
        let starts = e.starts.clone();
        e.owners.retain(|p| {
            Owner {
                pid: *p,
                start: starts.get(p).copied(),
            }
            .alive()
        });
        e.starts.retain(|p, _| e.owners.contains(p));
        if e.owners.is_empty() {
            dead.push(path.clone());
        }
    }
    dead.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in dead {
        if let Some(e) = reg.remove(&path) {
            remove_if_ours(&path, &e);
        }
    }
}

/// Creates (or joins) each wanted placeholder in `reg`, then joins the registered
/// placeholders among `shared` and makes again those of them that vanished (a
/// placeholder of another sandbox, removed since the plan saw it); returns the paths
/// in use.
fn create_all(
    reg: &mut Registry,
    wanted: &[(PathBuf, bool)],
    shared: &[(PathBuf, bool)],
    me: Owner,
) -> Result<Vec<PathBuf>> {
    sweep(reg);
    let mut used = Vec::new();
    // Parents first, whichever list they are in: a placeholder directory of another
    // sandbox (`.claude`) must be joined or made again before a placeholder is made
    // inside it (`.claude/agents`).
    let mut all: Vec<(&(PathBuf, bool), bool)> = wanted
        .iter()
        .map(|w| (w, true))
        .chain(shared.iter().map(|s| (s, false)))
        .collect();
    all.sort_by_key(|((p, _), _)| p.components().count());
    for ((path, is_dir), required) in all {
        if let Some(e) = reg.get_mut(path) {
            if !e.has(me) {
                e.add(me);
                used.push(path.clone());
            }
            continue;
        }
        if !required && std::fs::symlink_metadata(path).is_ok() {
            continue; // the user's own file: it stays, and is protected as it is
        }
        let made = if *is_dir {
            std::fs::create_dir(path)
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_000()
                .open(path)
                .map(|_| ())
        };
        match made {
            Ok(()) => {
                let m =
                    std::fs::symlink_metadata(path).step(|| format!("stat {}", path.display()))?;
                let mut entry = Entry {
                    dir: *is_dir,
                    dev: m.dev(),
                    ino: m.ino(),
                    owners: Vec::new(),
                    starts: BTreeMap::new(),
                };
                entry.add(me);
                reg.insert(path.clone(), entry);
                used.push(path.clone());
            }
            // Created meanwhile by someone else: it exists now and is protected as an
            // existing path would be.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // Its parent went too; the mount reports the missing path.
            Err(_) if !required => {}
            Err(e) => {
                // The run is refused: give back what this run took (a full disk must
                // not leave placeholders behind until the next run).
                for p in &used {
                    if let Some(entry) = reg.get_mut(p) {
                        entry.remove(me);
                    }
                }
                sweep(reg);
                return Err(crate::error::Error::setup(
                    format!(
                        "creating the placeholder {} (a protected path that does not exist yet)",
                        path.display()
                    ),
                    e,
                ));
            }
        }
    }
    Ok(used)
}

impl Placeholders {
    /// Creates (or joins) placeholders for `wanted` paths (`(path, is_dir)`), shares
    /// those among the `shared` paths (protected paths the plan found existing, see
    /// [`crate::plan::Plan::existing_protected`]) that are another sandbox's, and cleans
    /// up after dead supervisors of the same user first. This process owns them.
    pub fn create(wanted: &[(PathBuf, bool)], shared: &[(PathBuf, bool)]) -> Result<Placeholders> {
        Self::create_inner(wanted, shared, Owner::current(), false)
    }

    /// [`Placeholders::create`] for a detached container whose init (`owner`) outlives
    /// this process: the placeholders must be in the registry, which is the only place
    /// `delete` and the dead-owner sweep can find them, so having none is an error.
    pub fn create_for(
        wanted: &[(PathBuf, bool)],
        shared: &[(PathBuf, bool)],
        owner: Owner,
    ) -> Result<Placeholders> {
        Self::create_inner(wanted, shared, owner, true)
    }

    fn create_inner(
        wanted: &[(PathBuf, bool)],
        shared: &[(PathBuf, bool)],
        me: Owner,
        need_registry: bool,
    ) -> Result<Placeholders> {
        let dir = registry_dir();
        let mut out = Placeholders {
            paths: Vec::new(),
            dir: None,
            local: None,
            owner: me,
        };
        if wanted.is_empty() && shared.is_empty() {
            // Still sweep leftovers of a killed supervisor, cheaply, if a registry exists.
            if dir.join("placeholders.json").exists() {
                with_registry(&dir, sweep)?;
            }
            return Ok(out);
        }
        if let Err(e) = std::fs::create_dir_all(&dir) {
            if need_registry {
                return Err(crate::error::Error::setup(
                    format!(
                        "creating the placeholder registry {} (a container's placeholders for protected paths that do not exist yet must be recorded there; set XDG_RUNTIME_DIR to a writable directory)",
                        dir.display()
                    ),
                    e,
                ));
            }
            // Nowhere to keep a registry (a read-only host inside an outer sandbox):
            // still protect the paths, and remove what this run made when it ends.
            let mut local = Registry::new();
            out.paths = create_all(&mut local, wanted, &[], me)?;
            out.local = Some(local);
            return Ok(out);
        }
        out.paths = with_registry(&dir, |reg| create_all(reg, wanted, shared, me))??;
        out.dir = Some(dir);
        Ok(out)
    }

    /// The placeholder paths in use by this run.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The registry directory this run's placeholders are recorded in, if it uses any.
    pub fn registry(&self) -> Option<&Path> {
        self.dir.as_deref().filter(|_| !self.paths.is_empty())
    }

    /// Gives up this run's use of its placeholders, removing those nobody else uses.
    pub fn release(mut self) {
        self.release_inner();
    }

    /// Leaves the placeholders registered to their owner (a detached container's init)
    /// after this process exits; returns the registry directory to pass to
    /// [`release_owner`] later, or `None` if this run uses no placeholder.
    pub fn keep(mut self) -> Option<PathBuf> {
        let dir = self.registry().map(PathBuf::from);
        self.local = None;
        self.dir = None;
        self.paths.clear();
        dir
    }

    fn release_inner(&mut self) {
        if let Some(mut local) = self.local.take() {
            for e in local.values_mut() {
                e.owners.clear();
            }
            sweep(&mut local);
        }
        let Some(dir) = self.dir.take() else { return };
        let me = self.owner;
        let paths = std::mem::take(&mut self.paths);
        let _ = with_registry(&dir, |reg| {
            for p in &paths {
                if let Some(e) = reg.get_mut(p) {
                    e.remove(me);
                }
            }
            sweep(reg);
        });
    }
}

/// Gives up every placeholder `owner` uses in the registry at `dir` (a deleted
/// container's init), removing those nobody else uses, and sweeps dead owners.
pub fn release_owner(dir: &Path, owner: Owner) -> Result<()> {
    if !dir.join("placeholders.json").exists() {
        return Ok(()); // already swept, and the registry emptied
    }
    with_registry(dir, |reg| {
        for e in reg.values_mut() {
            e.remove(owner);
        }
        sweep(reg);
    })
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        self.release_inner();
    }
}

trait Mode000 {
    fn mode_000(&mut self) -> &mut Self;
}

impl Mode000 for std::fs::OpenOptions {
    /// Mode 000: nobody, the sandbox included, can open the placeholder itself.
    fn mode_000(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_pid_is_not_its_old_owner() {
        let me = Owner::current();
        assert!(me.start.is_some(), "/proc shows our start time");
        assert!(me.alive());
        let earlier = Owner {
            start: me.start.map(|t| t.wrapping_sub(1)),
            ..me
        };
        assert!(!earlier.alive(), "same pid, other start time: a dead owner");
    }

    #[test]
    fn registries_without_start_times_still_parse() {
        let old = r#"{"/p/.bashrc":{"dir":false,"dev":1,"ino":2,"owners":[7]}}"#;
        let reg: Registry = serde_json::from_str(old).unwrap();
        let e = &reg[Path::new("/p/.bashrc")];
        assert!(e.has(Owner {
            pid: 7,
            start: None
        }));
        assert!(e.has(Owner {
            pid: 7,
            start: Some(5)
        }));
        let mut e = e.clone();
        e.add(Owner {
            pid: 8,
            start: Some(9),
        });
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains(r#""starts":{"8":9}"#), "{text}");
        let back: Entry = serde_json::from_str(&text).unwrap();
        assert!(back.has(Owner {
            pid: 8,
            start: Some(9)
        }));
        assert!(!back.has(Owner {
            pid: 8,
            start: Some(10)
        }));
    }
}
