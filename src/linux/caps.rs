//! Capability drop, verified.
//!
//! Order matters: the bounding set can only be shrunk while CAP_SETPCAP is effective,
//! so it is dropped first; then ids change (with KEEPCAPS so permitted survives the
//! uid switch); then inheritable, effective and permitted are set to exactly the
//! configured sets (default: none) and ambient is cleared/raised. `capget` must then
//! report exactly those sets, or the run is aborted.

use crate::error::{Context, Error, Result};
use crate::policy::CapabilitySets;
use caps::{CapSet, Capability, CapsHashSet};
use std::str::FromStr;

fn parse(names: &[String]) -> Result<CapsHashSet> {
    names
        .iter()
        .map(|n| {
            Capability::from_str(n).map_err(|_| {
                Error::SetupMsg(format!("process.capabilities: unknown capability {n:?}"))
            })
        })
        .collect()
}

fn caps_err(step: &'static str) -> impl Fn(caps::errors::CapsError) -> Error {
    move |e| Error::SetupMsg(format!("{step}: {e}"))
}

/// Shrinks the bounding set to `sets.bounding`. Call before changing uid.
pub fn drop_bounding(sets: &CapabilitySets) -> Result<()> {
    let keep = parse(&sets.bounding)?;
    for cap in caps::all() {
        if !keep.contains(&cap) && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(caps_err("dropping the capability bounding set"))?;
        }
    }
    Ok(())
}

/// Sets inheritable, effective, permitted and ambient to the configured sets and
/// verifies the result with `capget`.
pub fn apply_and_verify(sets: &CapabilitySets) -> Result<()> {
    let inh = parse(&sets.inheritable)?;
    let eff = parse(&sets.effective)?;
    let perm = parse(&sets.permitted)?;
    let amb = parse(&sets.ambient)?;
    caps::clear(None, CapSet::Ambient).map_err(caps_err("clearing ambient capabilities"))?;
    caps::set(None, CapSet::Inheritable, &inh)
        .map_err(caps_err("setting inheritable capabilities"))?;
    caps::set(None, CapSet::Effective, &eff).map_err(caps_err("setting effective capabilities"))?;
    caps::set(None, CapSet::Permitted, &perm)
        .map_err(caps_err("setting permitted capabilities"))?;
    for c in &amb {
        caps::raise(None, CapSet::Ambient, *c).map_err(caps_err("raising ambient capabilities"))?;
    }
    for (set, want, name) in [
        (CapSet::Effective, &eff, "effective"),
        (CapSet::Permitted, &perm, "permitted"),
        (CapSet::Inheritable, &inh, "inheritable"),
        (CapSet::Ambient, &amb, "ambient"),
        (CapSet::Bounding, &parse(&sets.bounding)?, "bounding"),
    ] {
        let got = caps::read(None, set).map_err(caps_err("reading capabilities back"))?;
        if &got != want {
            return Err(Error::SetupMsg(format!(
                "capability drop did not take: {name} set is {got:?}, expected {want:?}"
            )));
        }
    }
    Ok(())
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across the uid change.
pub fn keep_caps(on: bool) -> Result<()> {
    nix::sys::prctl::set_keepcaps(on).step(|| "prctl(PR_SET_KEEPCAPS)".into())
}
