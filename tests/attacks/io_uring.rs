//! Set up an io_uring (its operations bypass seccomp's view of syscalls).
use super::*;

pub fn run() -> Outcome {
    let params = [0u8; 120];
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 4, params.as_ptr()) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        Outcome::Escaped("set up an io_uring".into())
    } else {
        blocked("io_uring_setup")
    }
}
