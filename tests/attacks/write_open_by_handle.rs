//! Open the outside directory by a file handle taken on the host and create a file in it.
use super::*;

pub fn run() -> Outcome {
    let dfd = match open_by_handle(
        &target("HANDLE_OUTSIDE"),
        libc::O_RDONLY | libc::O_DIRECTORY,
    ) {
        Ok(fd) => fd,
        Err(e) => return Outcome::Blocked(e),
    };
    let fd = unsafe {
        libc::openat(
            dfd,
            cstr("write-open-by-handle").as_ptr(),
            libc::O_WRONLY | libc::O_CREAT,
            0o644,
        )
    };
    if fd < 0 {
        return blocked("openat(handle dir, O_CREAT)");
    }
    let n = unsafe { libc::write(fd, b"escaped\n".as_ptr().cast(), 8) };
    if n == 8 {
        Outcome::Escaped("created a file outside by handle".into())
    } else {
        blocked("write")
    }
}
