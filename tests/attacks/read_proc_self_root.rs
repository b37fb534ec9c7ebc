//! Read the denied file through the `/proc/self/root` magic link.
use super::*;

pub fn run() -> Outcome {
    read_secret_at(
        &format!("/proc/self/root{}", target("SECRET")),
        "via /proc/self/root",
    )
}
