//! Create a file outside through the `/proc/self/root` magic link.
use super::*;

pub fn run() -> Outcome {
    create_outside_at(
        &format!("/proc/self/root{}", outside_file("write-proc-self-root")),
        "via /proc/self/root",
    )
}
