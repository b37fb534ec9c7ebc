//! Write into a host process's memory through /proc/PID/mem.
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM_PID");
    let addr = i64::from_str_radix(target("VICTIM_ADDR").trim_start_matches("0x"), 16).unwrap_or(0);
    let path = format!("/proc/{pid}/mem");
    let fd = unsafe { libc::open(cstr(&path).as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return blocked(&format!("open {path}"));
    }
    let data = b"pwned-by-proc-mem";
    let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), addr) };
    let e = errno();
    unsafe { libc::close(fd) };
    if n == data.len() as isize {
        Outcome::Escaped(format!("wrote {n} bytes through {path}"))
    } else {
        Outcome::Blocked(format!("pwrite {path}: {e}"))
    }
}
