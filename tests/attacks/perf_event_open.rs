//! Open a perf event (kernel attack surface and a side channel).
use super::*;

pub fn run() -> Outcome {
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&1u32.to_ne_bytes()); // PERF_TYPE_SOFTWARE
    attr[4..8].copy_from_slice(&128u32.to_ne_bytes()); // size
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, 0) };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        Outcome::Escaped("opened a perf event".into())
    } else {
        blocked("perf_event_open")
    }
}
