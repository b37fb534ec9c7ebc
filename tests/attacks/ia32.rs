//! A 32-bit syscall through `int 0x80` (the i386 ABI, another foreign architecture).
use super::*;

pub fn run() -> Outcome {
    let mut ret: i64 = 20; // __NR_getpid on i386
    unsafe {
        std::arch::asm!(
            "int 0x80",
            inout("rax") ret,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
        );
    }
    let ret = ret as i32;
    if ret == unsafe { libc::getpid() } {
        Outcome::Escaped("the i386 getpid answered".into())
    } else {
        Outcome::Blocked(format!("int 0x80 getpid: {}", errname(-ret)))
    }
}
