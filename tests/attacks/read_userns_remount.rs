//! Make a new user + mount namespace (full capabilities there), then lift the deny:
//! unmount whatever covers the secret and bind the host directory elsewhere.
use super::*;

/// Enters a new user and mount namespace mapped to the caller's ids.
pub fn enter_userns() -> Result<(), String> {
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) } != 0 {
        return Err(format!("unshare(CLONE_NEWUSER|CLONE_NEWNS): {}", errno()));
    }
    let _ = std::fs::write("/proc/self/setgroups", "deny");
    let _ = std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"));
    let _ = std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"));
    Ok(())
}

pub fn run() -> Outcome {
    if let Err(e) = enter_userns() {
        return Outcome::Blocked(e);
    }
    let (dir, name) = secret_dir_and_name();
    // Whatever is mounted over the secret or its directory, take it away.
    for p in [format!("{dir}/{name}"), dir.clone()] {
        unsafe { libc::umount2(cstr(&p).as_ptr(), libc::MNT_DETACH) };
    }
    let at = proj_dir("read-userns-remount");
    if let Err(e) = bind(&dir, &at) {
        return Outcome::Blocked(format!("in the new namespace: {e}"));
    }
    read_secret_at(
        &format!("{at}/{name}"),
        "after remounting in a new user namespace",
    )
}
