//! Create a BPF map (the first step of loading BPF programs into the kernel).
use super::*;

pub fn run() -> Outcome {
    let mut attr = [0u32; 32];
    attr[0] = 2; // BPF_MAP_TYPE_ARRAY
    attr[1] = 4; // key_size
    attr[2] = 4; // value_size
    attr[3] = 1; // max_entries
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            0,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if fd >= 0 {
        unsafe { libc::close(fd as i32) };
        Outcome::Escaped("created a BPF map".into())
    } else {
        blocked("bpf(BPF_MAP_CREATE)")
    }
}
