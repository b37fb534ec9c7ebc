//! Create a file outside through a symlink planted in the writable directory.
use super::*;

pub fn run() -> Outcome {
    let link = format!("{}/write-symlink", target("PROJ"));
    let _ = std::fs::remove_file(&link);
    if let Err(e) = std::os::unix::fs::symlink(outside_file("write-symlink"), &link) {
        return Outcome::Blocked(format!("symlink: {e}"));
    }
    create_outside_at(&link, "through a symlink")
}
