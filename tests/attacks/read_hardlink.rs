//! Read the denied file through a hard link made in the writable directory.
use super::*;

pub fn run() -> Outcome {
    let link = format!("{}/read-hardlink", target("PROJ"));
    let _ = std::fs::remove_file(&link);
    let r = unsafe { libc::link(cstr(&target("SECRET")).as_ptr(), cstr(&link).as_ptr()) };
    if r != 0 {
        return blocked("link");
    }
    read_secret_at(&link, "through a hard link")
}
