//! A packet socket bound to the host's network interface (raw frames on the wire).
use super::*;

pub fn run() -> Outcome {
    let ifname = target("HOST_IF");
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        )
    };
    if fd < 0 {
        return blocked("socket(AF_PACKET, SOCK_RAW)");
    }
    let idx = unsafe { libc::if_nametoindex(cstr(&ifname).as_ptr()) };
    if idx == 0 {
        unsafe { libc::close(fd) };
        return Outcome::Blocked(format!("no interface {ifname} here: {}", errno()));
    }
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = idx as i32;
    let r = unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    let e = errno();
    unsafe { libc::close(fd) };
    if r == 0 {
        Outcome::Escaped(format!("a packet socket is bound to the host's {ifname}"))
    } else {
        Outcome::Blocked(format!("bind to {ifname}: {e}"))
    }
}
