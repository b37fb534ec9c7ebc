//! Read the denied file through pid 1's root: the sandbox's own init in strong and OCI
//! mode, the host's init in weaker mode. The control runs in a private pid namespace
//! whose pid 1 is the unconfined attack itself, so it never probes the host's init.
use super::*;

pub fn run() -> Outcome {
    read_secret_at(
        &format!("/proc/1/root{}", target("SECRET")),
        "via /proc/1/root",
    )
}
