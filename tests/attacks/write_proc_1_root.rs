//! Create a file outside through pid 1's root (see `read_proc_1_root`).
use super::*;

pub fn run() -> Outcome {
    create_outside_at(
        &format!("/proc/1/root{}", outside_file("write-proc-1-root")),
        "via /proc/1/root",
    )
}
