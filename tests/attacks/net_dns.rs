//! Ask the host's DNS resolver (from the host's resolv.conf) a question over UDP.
use super::*;
use std::net::UdpSocket;
use std::time::Duration;

pub fn run() -> Outcome {
    let server = format!("{}:53", target("DNS_SERVER"));
    let s = match UdpSocket::bind("0.0.0.0:0") {
        Ok(s) => s,
        Err(e) => return Outcome::Blocked(format!("socket: {e}")),
    };
    s.set_read_timeout(Some(Duration::from_millis(1500))).ok();
    // A standard query for example.com A, id 0x5a7c.
    let mut q = vec![0x5a, 0x7c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
    if let Err(e) = s.send_to(&q, &server) {
        return Outcome::Blocked(format!("sendto {server}: {e}"));
    }
    let mut buf = [0u8; 512];
    match s.recv(&mut buf) {
        Ok(n) if n >= 12 && buf[0] == 0x5a && buf[1] == 0x7c && buf[2] & 0x80 != 0 => {
            Outcome::Escaped(format!("the resolver {server} answered ({n} bytes)"))
        }
        Ok(_) => Outcome::Blocked("a non-DNS answer".into()),
        Err(e) => Outcome::Blocked(format!("no answer from {server}: {e}")),
    }
}
