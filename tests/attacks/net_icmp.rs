//! ICMP echo to the host's address, as ping does: an ICMP datagram socket, else a raw
//! one.
use super::*;
use std::time::{Duration, Instant};

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub fn run() -> Outcome {
    let host: std::net::Ipv4Addr = match target("HOST_IP").parse() {
        Ok(a) => a,
        Err(_) => return Outcome::Blocked("no host address from the runner".into()),
    };
    let mut why = Vec::new();
    for ty in [libc::SOCK_DGRAM, libc::SOCK_RAW] {
        let fd = unsafe { libc::socket(libc::AF_INET, ty, libc::IPPROTO_ICMP) };
        if fd < 0 {
            why.push(format!(
                "socket({}): {}",
                if ty == libc::SOCK_RAW { "raw" } else { "dgram" },
                errno()
            ));
            continue;
        }
        let mut pkt = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
        pkt.extend_from_slice(b"srt-attack-icmp");
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(host).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = unsafe {
            libc::sendto(
                fd,
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            )
        };
        if r < 0 {
            why.push(format!("sendto {host}: {}", errno()));
            unsafe { libc::close(fd) };
            continue;
        }
        recv_timeout(fd, 300_000);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            let mut buf = [0u8; 256];
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n <= 0 {
                continue;
            }
            let b = &buf[..n as usize];
            // A raw socket hands over the IP header too.
            let icmp = if ty == libc::SOCK_RAW {
                &b[((b[0] & 0xf) as usize * 4).min(b.len())..]
            } else {
                b
            };
            if icmp.first() == Some(&0) && b.windows(15).any(|w| w == b"srt-attack-icmp") {
                unsafe { libc::close(fd) };
                return Outcome::Escaped(format!("{host} answered an ICMP echo"));
            }
        }
        why.push(format!("no echo reply from {host}"));
        unsafe { libc::close(fd) };
    }
    Outcome::Blocked(why.join("; "))
}
