//! Read the denied file through the cwd of a host process sitting in its directory.
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM_PID");
    let name = std::path::Path::new(&target("SECRET"))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    read_secret_at(
        &format!("/proc/{pid}/cwd/{name}"),
        "via a host process's /proc/PID/cwd",
    )
}
