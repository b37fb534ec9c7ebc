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
}

type Registry = BTreeMap<PathBuf, Entry>;

/// The placeholders this run uses; call [`Placeholders::release`] when the sandbox ends.
#[derive(Debug, Default)]
pub struct Placeholders {
    paths: Vec<PathBuf>,
    dir: Option<PathBuf>,
    /// Placeholders kept without a registry (no writable runtime directory).
    local: Option<Registry>,
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

fn alive(pid: i32) -> bool {
    pid == std::process::id() as i32
        || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
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
        e.owners.retain(|p| alive(*p));
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
    me: i32,
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
            if !e.owners.contains(&me) {
                e.owners.push(me);
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
                reg.insert(
                    path.clone(),
                    Entry {
                        dir: *is_dir,
                        dev: m.dev(),
                        ino: m.ino(),
                        owners: vec![me],
                    },
                );
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
                        entry.owners.retain(|o| *o != me);
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
    /// up after dead supervisors of the same user first.
    pub fn create(wanted: &[(PathBuf, bool)], shared: &[(PathBuf, bool)]) -> Result<Placeholders> {
        let dir = registry_dir();
        if wanted.is_empty() && shared.is_empty() {
            // Still sweep leftovers of a killed supervisor, cheaply, if a registry exists.
            if dir.join("placeholders.json").exists() {
                with_registry(&dir, sweep)?;
            }
            return Ok(Placeholders::default());
        }
        let me = std::process::id() as i32;
        if std::fs::create_dir_all(&dir).is_err() {
            // Nowhere to keep a registry (a read-only host inside an outer sandbox):
            // still protect the paths, and remove what this run made when it ends.
            let mut local = Registry::new();
            let used = create_all(&mut local, wanted, &[], me)?;
            return Ok(Placeholders {
                paths: used,
                dir: None,
                local: Some(local),
            });
        }
        let used = with_registry(&dir, |reg| create_all(reg, wanted, shared, me))??;
        Ok(Placeholders {
            paths: used,
            dir: Some(dir),
            local: None,
        })
    }

    /// The placeholder paths in use by this run.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Gives up this run's use of its placeholders, removing those nobody else uses.
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
        if let Some(mut local) = self.local.take() {
            for e in local.values_mut() {
                e.owners.clear();
            }
            sweep(&mut local);
        }
        let Some(dir) = self.dir.take() else { return };
        let me = std::process::id() as i32;
        let paths = std::mem::take(&mut self.paths);
        let _ = with_registry(&dir, |reg| {
            for p in &paths {
                if let Some(e) = reg.get_mut(p) {
                    e.owners.retain(|o| *o != me);
                }
            }
            sweep(reg);
        });
    }
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
