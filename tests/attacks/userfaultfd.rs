//! Create a userfaultfd (the classic tool for winning kernel races).
use super::*;

pub fn run() -> Outcome {
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        Outcome::Escaped("created a userfaultfd".into())
    } else {
        blocked("userfaultfd")
    }
}
