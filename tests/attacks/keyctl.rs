//! Reach the kernel keyring shared with the user's host processes.
use super::*;

pub fn run() -> Outcome {
    // KEYCTL_GET_KEYRING_ID (0) of KEY_SPEC_USER_KEYRING (-4), without creating it.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, 0, -4i64, 0) };
    if r > 0 {
        Outcome::Escaped(format!("the user keyring is reachable (id {r})"))
    } else {
        blocked("keyctl(KEYCTL_GET_KEYRING_ID)")
    }
}
