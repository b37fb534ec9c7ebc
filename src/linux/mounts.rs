//! Building the sandbox's filesystem view (runs in the init, inside the new user and
//! mount namespaces, while the host's root is still attached).
//!
//! Order, and why:
//! 1. Every host path we will bind is opened (`O_PATH`) first, before anything is
//!    covered, so a later mount can never change what a source refers to.
//! 2. `/` becomes recursively *slave*: nothing we mount propagates back to the host, while
//!    host unmounts still reach us (we do not pin a device the host wants to release).
//! 3. The root is cloned as a detached tree (`open_tree`), made read-only on every
//!    submount *before* it is attached (`mount_setattr(AT_RECURSIVE)`), so there is no
//!    window in which it is writable. Every bind source is cloned the same way, now,
//!    before anything is mounted in our view: a recursive clone taken later would carry
//!    along whatever we attach below it (the new root on `/tmp`, or the staging tmpfs), so
//!    a writable `/tmp` or `/` would show our own scaffolding instead of the host's files.
//! 4. When stubs are needed, a private tmpfs is mounted at `/tmp` of our view only; it holds the new root's
//!    mount point and the unreadable stubs used for denied paths. It vanishes with the
//!    old root.
//! 5. Plan steps are applied below the new root; destinations are resolved with
//!    `openat2(RESOLVE_IN_ROOT)` so symlinks in the tree cannot point a mount elsewhere.
//!    procfs is mounted here, *before* the old root is detached, because the kernel
//!    refuses a fresh procfs in a user namespace unless a fully visible one exists in the
//!    mount namespace.
//! 6. With every mount in place and the new root as working directory, the caller's
//!    `before_pivot` runs (the OCI `createContainer` hooks: still the host's `/`, so
//!    their paths resolve there, but the container's namespaces and finished mounts).
//! 7. `pivot_root(".", ".")` stacks the old root on the new one; `umount2(MNT_DETACH)`
//!    drops it.

use super::sys;
use crate::error::{Context, Error, Result};
use crate::plan::{MountStep, Plan, StepKind};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

const STAGING: &str = "/tmp";
const NEWROOT: &str = "/tmp/root";
const DENY_FILE: &str = "/tmp/deny-file";
const DENY_DIR: &str = "/tmp/deny-dir";
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Builds the new root, runs `before_pivot` (working directory: the new root) and
/// pivots into it.
pub fn setup_root(plan: &Plan, before_pivot: Option<&dyn Fn() -> Result<()>>) -> Result<()> {
    let sources = open_sources(plan)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .step(|| "making / a recursive slave mount".into())?;

    let root_fd = open_path(&plan.root).step(|| format!("opening root {}", plan.root.display()))?;
    let tree = sys::clone_tree(root_fd.as_raw_fd(), true)
        .step(|| format!("cloning root {}", plan.root.display()))?;
    if plan.root_readonly {
        set_attrs(tree.as_raw_fd(), true, true, &[])
            .step(|| "making the root read-only on every submount".into())?;
    }
    let bind_trees = clone_bind_sources(plan, &sources)?;

    // The staging tmpfs is only needed when there are stubs to keep in it; otherwise the
    // new root is attached straight onto /tmp of our (private) view, one mount fewer.
    let needs_stubs = plan
        .mounts
        .iter()
        .any(|m| matches!(m.kind, StepKind::DenyRead { .. } | StepKind::MaskSocket));
    let newroot_path = if needs_stubs { NEWROOT } else { STAGING };
    if needs_stubs {
        mount(
            Some("tmpfs"),
            STAGING,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0700,size=64k"),
        )
        .step(|| format!("mounting the staging tmpfs on {STAGING}"))?;
        std::fs::create_dir(NEWROOT).step(|| format!("creating {NEWROOT}"))?;
        std::fs::write(DENY_FILE, b"").step(|| "creating the deny stub".into())?;
        std::fs::create_dir(DENY_DIR).step(|| "creating the deny stub".into())?;
        for p in [DENY_FILE, DENY_DIR] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o0))
                .step(|| format!("chmod 000 {p}"))?;
        }
    }
    let newroot = open_path(Path::new(newroot_path)).step(|| format!("opening {newroot_path}"))?;
    sys::move_mount_fd(tree.as_raw_fd(), newroot.as_raw_fd())
        .step(|| "attaching the root".into())?;
    drop(newroot);
    let newroot = open_path(Path::new(newroot_path)).step(|| format!("opening {newroot_path}"))?;

    let mut ctx = Ctx {
        root: newroot,
        sources,
        bind_trees,
        own_tmpfs: Vec::new(),
        host_root: plan.root == Path::new("/"),
        stubs: 0,
    };
    for (i, step) in plan.mounts.iter().enumerate() {
        ctx.apply(i, step).map_err(|e| match e {
            Error::Setup { step: s, source } => Error::setup(
                format!("{} ({}): {s}", step.dest.display(), step.origin),
                source,
            ),
            other => other,
        })?;
    }
    drop(ctx);

    std::env::set_current_dir(newroot_path).step(|| format!("chdir {newroot_path}"))?;
    if let Some(f) = before_pivot {
        f()?;
    }
    sys::pivot_root(Path::new("."), Path::new(".")).step(|| "pivot_root".into())?;
    umount2(".", MntFlags::MNT_DETACH).step(|| "detaching the old root".into())?;
    std::env::set_current_dir("/").step(|| "chdir /".into())?;
    Ok(())
}

/// Host objects opened before anything is mounted, keyed by host path.
fn open_sources(plan: &Plan) -> Result<HashMap<PathBuf, OwnedFd>> {
    let mut out = HashMap::new();
    let mut want: Vec<PathBuf> = Vec::new();
    for s in &plan.mounts {
        match &s.kind {
            StepKind::Bind { source, .. } => want.push(source.clone()),
            StepKind::DevNodes => want.extend(DEVICES.iter().map(|d| Path::new("/dev").join(d))),
            StepKind::Mask { dir: false } => want.push(PathBuf::from("/dev/null")),
            // The fallback when sysfs cannot be mounted (a joined netns, see `apply`).
            StepKind::Sysfs { .. } => want.push(PathBuf::from("/sys")),
            _ => {}
        }
    }
    for p in want {
        if out.contains_key(&p) {
            continue;
        }
        match open_path(&p) {
            Ok(fd) => {
                out.insert(p, fd);
            }
            // /dev/tty is absent when the caller has no terminal; skip it like other runtimes.
            Err(_) if p == Path::new("/dev/tty") || p == Path::new("/sys") => {}
            Err(e) => {
                return Err(Error::setup(
                    format!("opening mount source {}", p.display()),
                    e,
                ))
            }
        }
    }
    Ok(out)
}

/// A detached clone of each bind step's source, keyed by the step's index, taken before
/// anything is mounted in our view (see the module docs, step 3).
fn clone_bind_sources(
    plan: &Plan,
    sources: &HashMap<PathBuf, OwnedFd>,
) -> Result<HashMap<usize, OwnedFd>> {
    let mut out = HashMap::new();
    for (i, step) in plan.mounts.iter().enumerate() {
        if let StepKind::Bind {
            source, recursive, ..
        } = &step.kind
        {
            let src = sources.get(source).ok_or_else(|| {
                Error::SetupMsg(format!("bind source {} was not opened", source.display()))
            })?;
            let tree = sys::clone_tree(src.as_raw_fd(), *recursive)
                .step(|| format!("cloning bind source {}", source.display()))?;
            out.insert(i, tree);
        }
    }
    Ok(out)
}

fn open_path(p: &Path) -> std::io::Result<OwnedFd> {
    sys::open_path(p)
}

fn is_symlink_at(dirfd: i32, name: &std::ffi::OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(name.as_bytes()) else {
        return false;
    };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::fstatat(dirfd, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    r == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// Sets read-only and per-mount flags on the mount at `fd`.
fn set_attrs(fd: i32, recursive: bool, readonly: bool, flags: &[String]) -> std::io::Result<()> {
    let mut set = if readonly { sys::MOUNT_ATTR_RDONLY } else { 0 };
    let mut clr = 0;
    for f in flags {
        match f.as_str() {
            "nosuid" => set |= sys::MOUNT_ATTR_NOSUID,
            "nodev" => set |= sys::MOUNT_ATTR_NODEV,
            "noexec" => set |= sys::MOUNT_ATTR_NOEXEC,
            "nodiratime" => set |= sys::MOUNT_ATTR_NODIRATIME,
            "nosymfollow" => set |= sys::MOUNT_ATTR_NOSYMFOLLOW,
            "noatime" => {
                clr |= sys::MOUNT_ATTR__ATIME;
                set |= sys::MOUNT_ATTR_NOATIME
            }
            "strictatime" => {
                clr |= sys::MOUNT_ATTR__ATIME;
                set |= sys::MOUNT_ATTR_STRICTATIME
            }
            "relatime" => clr |= sys::MOUNT_ATTR__ATIME,
            _ => {}
        }
    }
    if set == 0 && clr == 0 {
        return Ok(());
    }
    sys::mount_setattr(fd, recursive, set, clr, 0)
}

fn ms_flags(readonly: bool, flags: &[String]) -> MsFlags {
    let mut f = MsFlags::empty();
    if readonly {
        f |= MsFlags::MS_RDONLY;
    }
    for s in flags {
        f |= match s.as_str() {
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "noatime" => MsFlags::MS_NOATIME,
            "nodiratime" => MsFlags::MS_NODIRATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            "sync" => MsFlags::MS_SYNCHRONOUS,
            "dirsync" => MsFlags::MS_DIRSYNC,
            _ => MsFlags::empty(),
        };
    }
    f
}

struct Ctx {
    root: OwnedFd,
    sources: HashMap<PathBuf, OwnedFd>,
    /// Detached clones of the bind sources, by step index, taken before any mount.
    bind_trees: HashMap<usize, OwnedFd>,
    /// tmpfs destinations mounted in this run: creating mount points below them is safe.
    own_tmpfs: Vec<PathBuf>,
    host_root: bool,
    /// Stub directories made so far (for unique names).
    stubs: usize,
}

enum Node {
    Dir,
    File,
}

impl Ctx {
    /// Opens `dest` inside the new root, creating it when that cannot touch the host.
    fn target(&self, dest: &Path, node: Node) -> Result<OwnedFd> {
        let rel = dest.strip_prefix("/").unwrap_or(dest);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        match sys::open_in_root(self.root.as_raw_fd(), rel, libc::O_PATH, 0) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => {
                return Err(Error::setup(
                    format!("resolving mount destination {}", dest.display()),
                    e,
                ))
            }
        }
        let ours = self
            .own_tmpfs
            .iter()
            .any(|t| dest.starts_with(t) && dest != t);
        if self.host_root && !ours {
            return Err(Error::SetupMsg(format!(
                "mount destination {} does not exist in the host root; srt-runc does not create directories on the host — create it first or choose an existing path",
                dest.display()
            )));
        }
        // Create each missing component, resolving in-root at every level.
        let mut cur = PathBuf::new();
        let comps: Vec<_> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            cur.push(c.as_os_str());
            let last = i + 1 == comps.len();
            if sys::open_in_root(self.root.as_raw_fd(), &cur, libc::O_PATH, 0).is_ok() {
                continue;
            }
            let parent = cur
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let pfd = sys::open_in_root(
                self.root.as_raw_fd(),
                parent,
                libc::O_PATH | libc::O_DIRECTORY,
                0,
            )
            .step(|| format!("opening parent of {}", dest.display()))?;
            let name = c.as_os_str();
            if is_symlink_at(pfd.as_raw_fd(), name) {
                // The component exists but resolves (inside the root) to nothing: it is a
                // symlink pointing out of the tree or at a missing path. Creating its
                // target could land anywhere, so refuse.
                return Err(Error::SetupMsg(format!(
                    "mount destination {}: {} is a symlink that does not resolve to an existing path inside the root; refusing to follow it (symlink escape)",
                    dest.display(),
                    cur.display()
                )));
            }
            if last && matches!(node, Node::File) {
                sys::create_file_at(pfd.as_raw_fd(), name, 0o644)
                    .step(|| format!("creating mount point {}", dest.display()))?;
            } else {
                sys::mkdirat(pfd.as_raw_fd(), name, 0o755)
                    .step(|| format!("creating mount point {}", dest.display()))?;
            }
        }
        sys::open_in_root(self.root.as_raw_fd(), rel, libc::O_PATH, 0)
            .step(|| format!("opening mount point {}", dest.display()))
    }

    fn bind_fd(
        &self,
        src: &OwnedFd,
        dest: &Path,
        recursive: bool,
        readonly: bool,
        flags: &[String],
        node: Node,
    ) -> Result<()> {
        let tree = sys::clone_tree(src.as_raw_fd(), recursive)
            .step(|| format!("cloning bind source for {}", dest.display()))?;
        self.attach(tree, dest, recursive, readonly, flags, node)
    }

    /// Sets the flags on a detached tree, then attaches it at `dest` in the new root.
    fn attach(
        &self,
        tree: OwnedFd,
        dest: &Path,
        recursive: bool,
        readonly: bool,
        flags: &[String],
        node: Node,
    ) -> Result<()> {
        set_attrs(tree.as_raw_fd(), recursive, readonly, flags)
            .step(|| format!("setting flags on {}", dest.display()))?;
        let target = self.target(dest, node)?;
        sys::move_mount_fd(tree.as_raw_fd(), target.as_raw_fd())
            .step(|| format!("bind mounting onto {}", dest.display()))
    }

    fn fs_mount(&self, fstype: &str, dest: &Path, flags: MsFlags, data: &str) -> Result<()> {
        self.try_fs_mount(fstype, dest, flags, data)?
            .step(|| format!("mounting {fstype} on {}", dest.display()))
    }

    /// The mount(2) itself; the outer error is about the target, the inner the mount's.
    fn try_fs_mount(
        &self,
        fstype: &str,
        dest: &Path,
        flags: MsFlags,
        data: &str,
    ) -> Result<nix::Result<()>> {
        let target = self.target(dest, Node::Dir)?;
        let data = if data.is_empty() { None } else { Some(data) };
        Ok(mount(
            Some(fstype),
            &sys::fd_path(target.as_raw_fd()),
            Some(fstype),
            flags,
            data,
        ))
    }

    fn apply(&mut self, index: usize, step: &MountStep) -> Result<()> {
        let dest = &step.dest;
        match &step.kind {
            StepKind::Bind {
                source,
                recursive,
                readonly,
                flags,
                propagation,
            } => {
                let tree = self.bind_trees.remove(&index).ok_or_else(|| {
                    Error::SetupMsg(format!("bind source {} was not cloned", source.display()))
                })?;
                let is_dir = sys::fd_type(tree.as_raw_fd())
                    .map(|t| t == libc::S_IFDIR)
                    .unwrap_or(true);
                let node = if is_dir { Node::Dir } else { Node::File };
                self.attach(tree, dest, *recursive, *readonly, flags, node)?;
                if let Some(p) = propagation {
                    let t = self.target(dest, Node::Dir)?;
                    let f = match p.as_str() {
                        "private" => MsFlags::MS_PRIVATE,
                        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                        "shared" => MsFlags::MS_SHARED,
                        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
                        "slave" => MsFlags::MS_SLAVE,
                        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
                        "unbindable" => MsFlags::MS_UNBINDABLE,
                        _ => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
                    };
                    mount(
                        None::<&str>,
                        &sys::fd_path(t.as_raw_fd()),
                        None::<&str>,
                        f,
                        None::<&str>,
                    )
                    .step(|| format!("setting propagation {p} on {}", dest.display()))?;
                }
            }
            StepKind::Tmpfs {
                readonly,
                flags,
                data,
            } => {
                self.fs_mount("tmpfs", dest, ms_flags(*readonly, flags), data)?;
                self.own_tmpfs.push(dest.clone());
            }
            StepKind::Proc => self.fs_mount(
                "proc",
                dest,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                "",
            )?,
            StepKind::Sysfs { readonly } => {
                let f = MsFlags::MS_NOSUID
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_NOEXEC
                    | ms_flags(*readonly, &[]);
                match (
                    self.try_fs_mount("sysfs", dest, f, "")?,
                    self.sources.get(Path::new("/sys")),
                ) {
                    (Ok(()), _) => {}
                    // sysfs may only be mounted by the owner of the current netns; in a
                    // netns joined by path (podman's bridge network) the host's /sys,
                    // bound read-only, stands in, as other runtimes do when rootless.
                    (Err(nix::errno::Errno::EPERM), Some(host)) => {
                        let flags = ["nosuid", "nodev", "noexec"].map(String::from);
                        self.bind_fd(host, dest, true, true, &flags, Node::Dir)?
                    }
                    (Err(e), _) => {
                        return Err(Error::setup(
                            format!("mounting sysfs on {}", dest.display()),
                            e,
                        ))
                    }
                }
            }
            StepKind::Devpts { data } => self.fs_mount(
                "devpts",
                dest,
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                data,
            )?,
            StepKind::Mqueue => self.fs_mount(
                "mqueue",
                dest,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                "",
            )?,
            StepKind::Cgroup { readonly } => {
                let f = MsFlags::MS_NOSUID
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_NOEXEC
                    | ms_flags(*readonly, &[]);
                self.fs_mount("cgroup2", dest, f, "")?
            }
            StepKind::DevNodes => self.dev_nodes(dest)?,
            StepKind::DenyRead { dir, keep } => {
                let stub = if keep.is_empty() {
                    open_path(Path::new(if *dir { DENY_DIR } else { DENY_FILE }))
                        .step(|| "opening deny stub".into())?
                } else {
                    self.keep_stub(keep)?
                };
                let flags = [
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "noexec".to_string(),
                ];
                self.bind_fd(
                    &stub,
                    dest,
                    false,
                    true,
                    &flags,
                    if *dir { Node::Dir } else { Node::File },
                )?;
            }
            StepKind::MaskSocket => {
                let rel = dest.strip_prefix("/").unwrap_or(dest);
                if sys::open_in_root(
                    self.root.as_raw_fd(),
                    rel,
                    libc::O_PATH | libc::O_NOFOLLOW,
                    0,
                )
                .is_err()
                {
                    return Ok(());
                }
                let stub = open_path(Path::new(DENY_FILE)).step(|| "opening deny stub".into())?;
                let flags = [
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "noexec".to_string(),
                ];
                if let Err(e) = self.bind_fd(&stub, dest, false, true, &flags, Node::File) {
                    // Gone meanwhile: nothing left to reach.
                    if sys::open_in_root(
                        self.root.as_raw_fd(),
                        rel,
                        libc::O_PATH | libc::O_NOFOLLOW,
                        0,
                    )
                    .is_ok()
                    {
                        return Err(e);
                    }
                }
            }
            StepKind::Mask { dir } => {
                // The planner sees the host view; a path under the fresh /proc (e.g.
                // /proc/acpi with a separate rootfs) is only known to be a directory now.
                let rel = dest.strip_prefix("/").unwrap_or(dest);
                let is_dir = *dir
                    || sys::open_in_root(self.root.as_raw_fd(), rel, libc::O_PATH, 0)
                        .ok()
                        .and_then(|fd| nix::sys::stat::fstat(&fd).ok())
                        .is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
                if is_dir {
                    self.fs_mount(
                        "tmpfs",
                        dest,
                        MsFlags::MS_RDONLY
                            | MsFlags::MS_NOSUID
                            | MsFlags::MS_NODEV
                            | MsFlags::MS_NOEXEC,
                        "size=0",
                    )?;
                } else {
                    let null = self
                        .sources
                        .get(Path::new("/dev/null"))
                        .ok_or_else(|| Error::SetupMsg("/dev/null was not opened".into()))?;
                    // Masked /proc files may not exist in this kernel's procfs: skip like runc.
                    let rel = dest.strip_prefix("/").unwrap_or(dest);
                    if sys::open_in_root(self.root.as_raw_fd(), rel, libc::O_PATH, 0).is_err() {
                        return Ok(());
                    }
                    self.bind_fd(null, dest, false, false, &[], Node::File)?;
                }
            }
            StepKind::ReadOnly => {
                let rel = dest.strip_prefix("/").unwrap_or(dest);
                let Ok(cur) = sys::open_in_root(self.root.as_raw_fd(), rel, libc::O_PATH, 0) else {
                    return Ok(()); // nothing there to protect
                };
                let tree = sys::clone_tree(cur.as_raw_fd(), true)
                    .step(|| format!("cloning {}", dest.display()))?;
                set_attrs(tree.as_raw_fd(), true, true, &[])
                    .step(|| format!("making {} read-only", dest.display()))?;
                sys::move_mount_fd(tree.as_raw_fd(), cur.as_raw_fd())
                    .step(|| format!("re-binding {} read-only", dest.display()))?;
            }
        }
        Ok(())
    }

    /// A denied directory with `allowRead` holes: search-only (0111) directories down to
    /// empty mount points for the re-allowed paths, so `ls` of the denied directory fails
    /// but the re-allowed paths can be bound back and reached.
    fn keep_stub(&mut self, keep: &[(PathBuf, bool)]) -> Result<OwnedFd> {
        use std::os::unix::fs::PermissionsExt;
        self.stubs += 1;
        let top = PathBuf::from(format!("{STAGING}/keep-{}", self.stubs));
        let mut dirs = vec![top.clone()];
        std::fs::create_dir(&top).step(|| format!("creating {}", top.display()))?;
        for (rel, is_dir) in keep {
            let leaf = top.join(rel);
            if let Some(parent) = leaf.parent() {
                std::fs::create_dir_all(parent)
                    .step(|| format!("creating {}", parent.display()))?;
                let mut p = parent.to_path_buf();
                while p != top && p.starts_with(&top) {
                    dirs.push(p.clone());
                    p.pop();
                }
            }
            if *is_dir {
                std::fs::create_dir_all(&leaf).step(|| format!("creating {}", leaf.display()))?;
            } else {
                std::fs::write(&leaf, b"").step(|| format!("creating {}", leaf.display()))?;
            }
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        dirs.dedup();
        for d in &dirs {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o111))
                .step(|| format!("chmod {}", d.display()))?;
        }
        open_path(&top).step(|| format!("opening {}", top.display()))
    }

    /// Device nodes cannot be created in a user namespace, so the host's are bound onto
    /// empty files; the rest are symlinks into the sandbox's own procfs and devpts.
    fn dev_nodes(&mut self, dev: &Path) -> Result<()> {
        let devfd = self.target(dev, Node::Dir)?;
        // An O_PATH fd cannot serve as the dirfd of symlinkat or openat(O_CREAT);
        // reopen as a directory. The directory is the /dev tmpfs mounted in this run, so
        // names in it cannot be redirected, and the files and binds are made directly
        // against it (three syscalls a device instead of a path walk each).
        let dirfd =
            sys::reopen_dir(devfd.as_raw_fd()).step(|| format!("opening {}", dev.display()))?;
        for d in DEVICES {
            let Some(src) = self.sources.get(&Path::new("/dev").join(d)) else {
                continue;
            };
            let name = std::ffi::OsStr::new(d);
            match sys::create_file_at(dirfd.as_raw_fd(), name, 0o644) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                    return Err(Error::setup(format!("creating {}/{d}", dev.display()), e))
                }
                _ => {}
            }
            let target = format!("/proc/self/fd/{}/{d}", dirfd.as_raw_fd());
            mount(
                Some(&sys::fd_path(src.as_raw_fd())),
                target.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .step(|| format!("binding /dev/{d}"))?;
        }
        let links = [
            ("ptmx", "pts/ptmx"),
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ];
        for (name, to) in links {
            match sys::symlinkat(to, dirfd.as_raw_fd(), name) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                    return Err(Error::setup(
                        format!("creating {}/{name}", dev.display()),
                        e,
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}
