//! Connect to a host abstract unix socket (no file: only the network namespace or a
//! Landlock scope keeps it apart).
use super::*;

pub fn run() -> Outcome {
    let name = target("UNIX_ABSTRACT");
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return blocked("socket(AF_UNIX)");
    }
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as u16;
    for (i, b) in name.bytes().enumerate() {
        sa.sun_path[i + 1] = b as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + name.len()) as u32;
    if unsafe { libc::connect(fd, (&sa as *const libc::sockaddr_un).cast(), len) } != 0 {
        return blocked(&format!("connect @{name}"));
    }
    match greeting(fd) {
        Some(g) if g.contains(HELLO) => Outcome::Escaped(format!("talked to the host's @{name}")),
        _ => Outcome::Blocked("connected, but not to the host's listener".into()),
    }
}
