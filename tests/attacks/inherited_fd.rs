//! Look for a host directory fd leaked into the sandbox and read the secret relative to
//! it (the runc CVE-2024-21626 class).
use super::*;

pub fn run() -> Outcome {
    let rel = target("LEAK_REL");
    let mut dirs = Vec::new();
    for fd in 3..1024 {
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            continue;
        }
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            continue;
        }
        dirs.push(fd);
        let f = unsafe { libc::openat(fd, cstr(&rel).as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if f >= 0 && fd_has_marker(f) {
            return Outcome::Escaped(format!("read the secret relative to leaked fd {fd}"));
        }
    }
    if dirs.is_empty() {
        Outcome::Blocked("no inherited directory fd".into())
    } else {
        Outcome::Blocked(format!("directory fds {dirs:?} lead nowhere: {}", errno()))
    }
}
