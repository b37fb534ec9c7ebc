//! Loopback inside the sandbox's network namespace.

use crate::error::{Context, Result};
use std::os::fd::AsRawFd;

nix::ioctl_readwrite_bad!(siocgifflags, libc::SIOCGIFFLAGS, libc::ifreq);
nix::ioctl_write_ptr_bad!(siocsifflags, libc::SIOCSIFFLAGS, libc::ifreq);

/// Brings `lo` up with a plain `IFF_UP` (the kernel then assigns 127.0.0.1/8 and ::1
/// itself). No RTM_NEWADDR netlink message is sent: that is the call some LSM policies
/// refuse, and it is not needed.
pub fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .step(|| "creating a socket to configure lo".into())?;
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo\0".iter().enumerate() {
        req.ifr_name[i] = *b as libc::c_char;
    }
    unsafe { siocgifflags(sock.as_raw_fd(), &mut req) }.step(|| "reading lo flags".into())?;
    unsafe {
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
    }
    unsafe { siocsifflags(sock.as_raw_fd(), &req) }.step(|| "bringing lo up".into())?;
    Ok(())
}

/// Creates the proxy listeners inside the sandbox's network namespace. IPv4 loopback is
/// required; IPv6 loopback is best effort (IPv6 may be disabled on the host).
pub fn create_listeners(addrs: &[String]) -> Result<Vec<std::os::fd::OwnedFd>> {
    let mut out = Vec::new();
    for a in addrs {
        match std::net::TcpListener::bind(a.as_str()) {
            Ok(l) => out.push(std::os::fd::OwnedFd::from(l)),
            Err(e) if a.starts_with('[') => {
                tracing::debug!(addr = %a, error = %e, "no IPv6 proxy listener")
            }
            Err(e) => {
                return Err(crate::error::Error::setup(
                    format!("creating the proxy listener on {a}"),
                    e,
                ))
            }
        }
    }
    Ok(out)
}
