//! Capability drop, verified.
//!
//! Order matters: the bounding set can only be shrunk while CAP_SETPCAP is effective,
//! so it is dropped first; then ids change (with KEEPCAPS so permitted survives the
//! uid switch); then inheritable, effective and permitted are set to exactly the
//! configured sets (default: none) in one `capset`, and ambient is cleared/raised.
//! `capget` (and `PR_CAPBSET_READ`) must then report exactly those sets, or the run is
//! aborted. Raw syscalls are used instead of per-capability helpers: one capset instead
//! of ~200 prctl calls keeps start-up fast.

use crate::error::{Context, Error, Result};
use crate::policy::CapabilitySets;
use caps::Capability;
use std::str::FromStr;

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// A capability set as a 64-bit mask.
fn mask(names: &[String]) -> Result<u64> {
    names.iter().try_fold(0u64, |m, n| {
        Capability::from_str(n)
            .map(|c| m | c.bitmask())
            .map_err(|_| Error::SetupMsg(format!("process.capabilities: unknown capability {n:?}")))
    })
}

/// The highest capability number this kernel knows.
/// The highest capability this kernel knows, read once per process (the drop and the
/// verification both need it, on the start path).
fn last_cap() -> u8 {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
    })
}

fn prctl(op: i32, a: u64, b: u64) -> std::io::Result<i32> {
    let r = unsafe { libc::prctl(op, a, b, 0, 0) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Shrinks the bounding set to `sets.bounding` if this process may (CAP_SETPCAP); returns
/// whether it did. Weaker mode run by an unprivileged user cannot, and needs not:
/// no_new_privs already stops the command gaining capabilities through exec.
pub fn try_drop_bounding(sets: &CapabilitySets) -> Result<bool> {
    let has_setpcap = capget()
        .map(|(eff, _, _)| eff & (1 << 8) != 0 /* CAP_SETPCAP */)
        .unwrap_or(false);
    if !has_setpcap {
        return Ok(false);
    }
    drop_bounding(sets)?;
    Ok(true)
}

/// Shrinks the bounding set to `sets.bounding`. Call before changing uid.
pub fn drop_bounding(sets: &CapabilitySets) -> Result<()> {
    let keep = mask(&sets.bounding)?;
    for cap in 0..=last_cap() {
        if keep & (1 << cap) == 0 {
            match prctl(libc::PR_CAPBSET_DROP, cap as u64, 0) {
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {} // unknown to this kernel
                r => {
                    r.step(|| format!("dropping capability {cap} from the bounding set"))?;
                }
            }
        }
    }
    Ok(())
}

fn capget() -> Result<(u64, u64, u64)> {
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    if unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) } != 0 {
        return Err(Error::setup("capget", std::io::Error::last_os_error()));
    }
    let join = |f: fn(&Data) -> u32| (f(&d[0]) as u64) | ((f(&d[1]) as u64) << 32);
    Ok((
        join(|x| x.effective),
        join(|x| x.permitted),
        join(|x| x.inheritable),
    ))
}

/// Sets inheritable, effective, permitted and ambient to the configured sets and
/// verifies the result.
pub fn apply_and_verify(sets: &CapabilitySets) -> Result<()> {
    apply_and_verify_with(sets, true)
}

/// [`apply_and_verify`], optionally without checking the bounding set (see
/// [`try_drop_bounding`]).
pub fn apply_and_verify_with(sets: &CapabilitySets, check_bounding: bool) -> Result<()> {
    let (eff, perm, inh, amb, bnd) = (
        mask(&sets.effective)?,
        mask(&sets.permitted)?,
        mask(&sets.inheritable)?,
        mask(&sets.ambient)?,
        mask(&sets.bounding)?,
    );
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
        0,
    )
    .step(|| "clearing ambient capabilities".into())?;
    let mut h = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = |m: u64| m as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let d = [
        Data {
            effective: lo(eff),
            permitted: lo(perm),
            inheritable: lo(inh),
        },
        Data {
            effective: hi(eff),
            permitted: hi(perm),
            inheritable: hi(inh),
        },
    ];
    if unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) } != 0 {
        return Err(Error::setup("capset", std::io::Error::last_os_error()));
    }
    for cap in 0..64u64 {
        if amb & (1 << cap) != 0 {
            prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE as u64, cap)
                .step(|| format!("raising ambient capability {cap}"))?;
        }
    }
    // Verify.
    let got = capget()?;
    if got != (eff, perm, inh) {
        return Err(Error::SetupMsg(format!(
            "capability drop did not take: effective/permitted/inheritable are {:#x}/{:#x}/{:#x}, expected {eff:#x}/{perm:#x}/{inh:#x}",
            got.0, got.1, got.2
        )));
    }
    for cap in 0..=last_cap() {
        let want_b = bnd & (1 << cap) != 0;
        let want_a = amb & (1 << cap) != 0;
        let b = prctl(libc::PR_CAPBSET_READ, cap as u64, 0).unwrap_or(0) == 1;
        let a = prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_IS_SET as u64,
            cap as u64,
        )
        .unwrap_or(0)
            == 1;
        if (check_bounding && b != want_b) || a != want_a {
            return Err(Error::SetupMsg(format!(
                "capability drop did not take: capability {cap} bounding={b} ambient={a}"
            )));
        }
    }
    Ok(())
}

/// `PR_SET_KEEPCAPS`: keep permitted capabilities across the uid change.
pub fn keep_caps(on: bool) -> Result<()> {
    nix::sys::prctl::set_keepcaps(on).step(|| "prctl(PR_SET_KEEPCAPS)".into())
}
