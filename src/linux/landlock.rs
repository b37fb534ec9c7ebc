//! Landlock, layered under the mount namespace from the same policy.
//!
//! Writes are allowed only beneath the plan's writable paths. ABI V1 is required (the
//! run aborts without it); rights from newer ABIs (refer, truncate, ioctl on devices)
//! and the V6 scopes (abstract unix sockets, signals) are added where the kernel has
//! them, and the outcome is returned for the enforcement report.

use super::report::{Layer, Report, Status};
use crate::error::{Error, Result};
use crate::plan::LandlockPlan;
use landlock::{
    Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, RestrictionStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

/// Newest ABI whose rights we ask for (best effort beyond V1).
const TARGET: ABI = ABI::V6;

/// What Landlock ended up enforcing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Full,
    Partial,
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::SetupMsg(format!("landlock: {e}"))
}

/// Applies the write rules to the calling process (and its future children).
/// no_new_privs must already be set: we hold no capabilities by now.
pub fn restrict(plan: &LandlockPlan) -> Result<Outcome> {
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_write(ABI::V1))
        .map_err(err)?
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_write(TARGET))
        .map_err(err)?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(err)?;
    let mut created = ruleset.create().map_err(err)?;
    for p in &plan.writable {
        let fd = PathFd::new(p).map_err(|e| {
            Error::SetupMsg(format!(
                "landlock: opening writable path {}: {e}",
                p.display()
            ))
        })?;
        created = created
            .add_rule(PathBeneath::new(fd, AccessFs::from_write(TARGET)))
            .map_err(err)?;
    }
    if plan.stdio_files {
        for fd in 0..3 {
            let is_file = super::sys::fd_type(fd) == Some(libc::S_IFREG);
            if !is_file {
                continue;
            }
            // Re-opening /proc/self/fd/N with O_PATH yields the very file the caller
            // handed us; granting write on it keeps `>/dev/stderr` working.
            if let Ok(pfd) = PathFd::new(format!("/proc/self/fd/{fd}")) {
                let rights = AccessFs::from_file(TARGET) & AccessFs::from_write(TARGET);
                created = created
                    .add_rule(PathBeneath::new(pfd, rights))
                    .map_err(err)?;
            }
        }
    }
    let status: RestrictionStatus = created.restrict_self().map_err(err)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(Outcome::Full),
        RulesetStatus::PartiallyEnforced => Ok(Outcome::Partial),
        RulesetStatus::NotEnforced => Err(Error::SetupMsg(
            "landlock is not enforced by this kernel (needs Linux 5.13+ with landlock in the LSM list); use weaker mode or enable it".into(),
        )),
    }
}

/// Weaker mode (no mount namespace): everything Landlock must do by itself.
#[derive(Debug, Clone, Default)]
pub struct WeakerRules {
    /// Paths to make unreadable inside an otherwise readable host.
    pub deny_read: Vec<std::path::PathBuf>,
    /// Paths inside denied ones that stay readable (`allowRead`).
    pub allow_read: Vec<std::path::PathBuf>,
    /// Paths beneath which writing is allowed.
    pub writable: Vec<std::path::PathBuf>,
    /// Paths inside writable ones that stay unwritable (they may not exist yet).
    pub deny_write: Vec<std::path::PathBuf>,
    /// The only TCP port the sandbox may connect to (the proxy on host loopback);
    /// `None` with `confine_tcp` means no TCP connect at all.
    pub connect_port: Option<u16>,
    /// Handle TCP connect (and bind unless `allow_bind`).
    pub confine_tcp: bool,
    pub allow_bind: bool,
    /// Use at most this ABI even if the kernel has a newer one (to reproduce an older
    /// kernel's outcome, and to test floors against it).
    pub abi_max: Option<i32>,
}

/// What each weaker-mode Landlock layer ended up as, for the report.
#[derive(Debug, Clone)]
pub struct WeakerOutcome {
    pub abi: i32,
    pub filesystem: Outcome,
    pub network: bool,
    pub scopes: bool,
    /// Directories on the way from a writable path to a `deny_write` path: nothing can
    /// be created, removed or renamed directly in them.
    pub frozen: Vec<std::path::PathBuf>,
}

/// Applies weaker mode's rules: read granted on the *complement* of the denied paths
/// (Landlock can only allow, so a deny inside a readable tree is expressed by granting
/// every sibling subtree on the way down, and nothing on the denied path), writes
/// beneath the writable paths, TCP connect only to the proxy port.
pub fn restrict_weaker(r: &WeakerRules) -> Result<WeakerOutcome> {
    use landlock::{AccessNet, NetPort};
    let kernel = current_abi();
    let (abi, target) = match r.abi_max {
        Some(max) if max < kernel => (max, ABI::from(max)),
        _ => (kernel, TARGET),
    };
    let read = AccessFs::from_read(target);
    let write = AccessFs::from_write(target);
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .map_err(err)?
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(target))
        .map_err(err)?;
    let network = r.confine_tcp && abi >= 4;
    if network {
        let mut net: landlock::BitFlags<AccessNet> = AccessNet::ConnectTcp.into();
        if !r.allow_bind {
            net |= AccessNet::BindTcp;
        }
        ruleset = ruleset.handle_access(net).map_err(err)?;
    }
    if abi >= 6 {
        ruleset = ruleset
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    let mut grants: Vec<(std::path::PathBuf, bool)> = Vec::new();
    complement(
        std::path::Path::new("/"),
        &r.deny_read,
        &r.allow_read,
        &mut grants,
        &mut Vec::new(),
    );
    for (p, is_dir) in grants {
        // Symlinks are skipped: access through one is checked against its target, and
        // some (/dev/stdout → /proc/self/fd/1 → a pipe) lead to files Landlock refuses.
        if std::fs::symlink_metadata(&p)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(true)
        {
            continue;
        }
        created = grant(created, &p, is_dir, read, target, "read")?;
    }
    // Writes: each writable path whole, or — when protected paths lie inside it — its
    // complement, so that the directories on the way to them stay frozen.
    let mut frozen = Vec::new();
    for w in &r.writable {
        let inside: Vec<std::path::PathBuf> = r
            .deny_write
            .iter()
            .filter(|d| d.starts_with(w))
            .cloned()
            .collect();
        let mut grants = Vec::new();
        if inside.is_empty() {
            grants.push((w.clone(), w.is_dir()));
        } else if !inside.contains(w) {
            complement(w, &inside, &[], &mut grants, &mut frozen);
        }
        for (p, is_dir) in grants {
            created = grant(created, &p, is_dir, write, target, "write")?;
        }
    }
    frozen.sort();
    frozen.dedup();
    if let (true, Some(port)) = (network, r.connect_port) {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(err)?;
    }
    let status = created.restrict_self().map_err(err)?;
    let filesystem = match status.ruleset {
        RulesetStatus::FullyEnforced => Outcome::Full,
        RulesetStatus::PartiallyEnforced => Outcome::Partial,
        RulesetStatus::NotEnforced => {
            return Err(Error::SetupMsg("landlock is not enforced by this kernel; weaker mode has nothing left to confine the filesystem with".into()))
        }
    };
    Ok(WeakerOutcome {
        abi,
        filesystem,
        network,
        scopes: abi >= 6,
        frozen,
    })
}

/// Adds one rule: `rights` beneath a directory, their file subset on anything else
/// (Landlock refuses directory rights on a file). A path that cannot be opened (gone
/// since it was listed) gets no rule, which grants nothing.
fn grant(
    created: landlock::RulesetCreated,
    p: &std::path::Path,
    is_dir: bool,
    rights: landlock::BitFlags<AccessFs>,
    target: ABI,
    what: &str,
) -> Result<landlock::RulesetCreated> {
    let Ok(fd) = PathFd::new(p) else {
        return Ok(created);
    };
    let rights = if is_dir {
        rights
    } else {
        rights & AccessFs::from_file(target)
    };
    created
        .add_rule(PathBeneath::new(fd, rights))
        .map_err(|e| err(format!("{e} (while granting {what} on {})", p.display())))
}

fn fs_status(outcome: &Outcome, abi: i32) -> Status {
    match outcome {
        Outcome::Full => Status::Enforced,
        Outcome::Partial => Status::Degraded {
            reason: format!(
                "Landlock ABI {abi} lacks some of the rights srt-runc restricts (refer, truncate, device ioctl need ABI 2–5)"
            ),
        },
    }
}

fn scopes_status(abi: i32) -> Status {
    if abi >= 6 {
        Status::Enforced
    } else {
        Status::unavailable(format!(
            "Landlock ABI {abi} has no scopes (ABI 6): abstract unix sockets and signals to outside processes are not confined by Landlock"
        ))
    }
}

/// Records strong mode's Landlock outcome in the report.
pub fn report(r: &mut Report, outcome: &Outcome, writable: usize) {
    let abi = current_abi();
    r.landlock_abi = abi;
    r.set(
        Layer::Landlock,
        fs_status(outcome, abi),
        format!("ABI {abi}: writes only beneath {writable} path(s)"),
    );
    r.set(
        Layer::LandlockScopes,
        scopes_status(abi),
        "abstract unix sockets, signals",
    );
}

/// Records weaker mode's Landlock outcome in the report.
pub fn report_weaker(r: &mut Report, o: &WeakerOutcome, port: Option<u16>) {
    r.landlock_abi = o.abi;
    let mut detail = format!(
        "ABI {}: reads on the complement of denied paths, writes beneath allowed ones",
        o.abi
    );
    if !o.frozen.is_empty() {
        detail.push_str(&format!(
            "; frozen (no new entries): {}",
            crate::plan::join_paths(&o.frozen)
        ));
    }
    r.set(Layer::Landlock, fs_status(&o.filesystem, o.abi), detail);
    let net = if o.network {
        Status::Enforced
    } else {
        Status::unavailable(format!(
            "Landlock ABI {} has no TCP rules (ABI 4): outbound TCP is not confined",
            o.abi
        ))
    };
    let detail = match port {
        Some(p) if o.network => format!("TCP connect only to 127.0.0.1:{p} (the proxy)"),
        None if o.network => "no TCP connect at all".into(),
        _ => String::new(),
    };
    r.set(Layer::LandlockNetwork, net, detail);
    r.set(
        Layer::LandlockScopes,
        scopes_status(o.abi),
        "abstract unix sockets, signals",
    );
}

/// The kernel's Landlock ABI version (0 when unavailable).
pub fn current_abi() -> i32 {
    const CREATE_RULESET_VERSION: u32 = 1;
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if r < 0 {
        0
    } else {
        r as i32
    }
}

/// Collects `(path, is_dir)` grants covering everything readable: every subtree that
/// holds no denied path is granted whole; directories on the way to a denied path are
/// descended instead; denied paths are skipped except for `allowRead` paths inside them.
/// Landlock does not restrict path traversal, so deep grants need no grant on their
/// ancestors (listing such an ancestor directory itself is what is lost).
/// The directories descended into, which get no grant of their own, go to `descended`.
/// A denied path that does not exist keeps its parent from being granted, so it cannot
/// be created either.
fn complement(
    dir: &std::path::Path,
    deny: &[std::path::PathBuf],
    allow: &[std::path::PathBuf],
    out: &mut Vec<(std::path::PathBuf, bool)>,
    descended: &mut Vec<std::path::PathBuf>,
) {
    if deny.is_empty() {
        out.push((dir.to_path_buf(), true));
        return;
    }
    descended.push(dir.to_path_buf());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let child = e.path();
        let Ok(ft) = e.file_type() else { continue };
        // Access through a symlink is checked against its target's own grant.
        if ft.is_symlink() {
            continue;
        }
        let is_dir = ft.is_dir();
        if deny.contains(&child) {
            for a in allow.iter().filter(|a| a.starts_with(&child)) {
                out.push((a.clone(), a.is_dir()));
            }
        } else if is_dir && deny.iter().any(|d| d.starts_with(&child)) {
            complement(&child, deny, allow, out, descended);
        } else {
            out.push((child, is_dir));
        }
    }
}
