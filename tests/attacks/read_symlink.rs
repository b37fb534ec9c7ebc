//! Read the denied file through a symlink planted in the writable directory.
use super::*;

pub fn run() -> Outcome {
    let link = format!("{}/read-symlink", target("PROJ"));
    let _ = std::fs::remove_file(&link);
    if let Err(e) = std::os::unix::fs::symlink(target("SECRET"), &link) {
        return Outcome::Blocked(format!("symlink: {e}"));
    }
    read_secret_at(&link, "through a symlink")
}
