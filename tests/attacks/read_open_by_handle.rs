//! Read the denied file by a file handle taken on the host (`open_by_handle_at`,
//! the "shocker" container escape).
use super::*;

pub fn run() -> Outcome {
    match open_by_handle(&target("HANDLE_SECRET"), libc::O_RDONLY) {
        Err(e) => Outcome::Blocked(e),
        Ok(fd) if fd_has_marker(fd) => Outcome::Escaped("read the secret by handle".into()),
        Ok(_) => Outcome::Blocked("handle opened but holds no secret".into()),
    }
}
