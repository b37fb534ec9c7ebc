//! A syscall through the x32 ABI (syscall number | 0x40000000), which a filter written
//! for x86-64 numbers alone would let through.
use super::*;

pub fn run() -> Outcome {
    let r = unsafe { libc::syscall(libc::SYS_getpid | 0x4000_0000) };
    if r == i64::from(unsafe { libc::getpid() }) {
        Outcome::Escaped("the x32 getpid answered".into())
    } else {
        blocked("x32 getpid")
    }
}
