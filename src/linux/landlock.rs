//! Landlock, layered under the mount namespace from the same policy.
//!
//! Writes are allowed only beneath the plan's writable paths. ABI V1 is required (the
//! run aborts without it); rights from newer ABIs (refer, truncate, ioctl on devices)
//! and the V6 scopes (abstract unix sockets, signals) are added where the kernel has
//! them, and the outcome is returned for the enforcement report.

use crate::error::{Error, Result};
use crate::plan::LandlockPlan;
use landlock::{
    AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, RestrictionStatus, Ruleset,
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
