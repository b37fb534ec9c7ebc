//! Write into a host process's memory with process_vm_writev (the runner's victim,
//! at the address of a buffer it published).
use super::*;

pub fn run() -> Outcome {
    let pid = victim_pid("VICTIM_PID");
    let addr =
        usize::from_str_radix(target("VICTIM_ADDR").trim_start_matches("0x"), 16).unwrap_or(0);
    let data = *b"pwned-by-vm-writev";
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut _,
        iov_len: data.len(),
    };
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if n == data.len() as isize {
        Outcome::Escaped(format!("wrote {n} bytes into host process {pid}"))
    } else {
        blocked(&format!("process_vm_writev {pid}"))
    }
}
