//! Hard-link an outside file into the writable directory and write through the link.
use super::*;

pub fn run() -> Outcome {
    let victim = outside_file("victim");
    let link = format!("{}/write-hardlink", target("PROJ"));
    let _ = std::fs::remove_file(&link);
    if unsafe { libc::link(cstr(&victim).as_ptr(), cstr(&link).as_ptr()) } != 0 {
        return blocked("link");
    }
    let fd = unsafe { libc::open(cstr(&link).as_ptr(), libc::O_WRONLY | libc::O_APPEND) };
    if fd < 0 {
        return blocked("open the link for writing");
    }
    let n = unsafe { libc::write(fd, b"escaped\n".as_ptr().cast(), 8) };
    unsafe { libc::close(fd) };
    if n == 8 {
        Outcome::Escaped(format!("appended to {victim} through a hard link"))
    } else {
        blocked("write")
    }
}
