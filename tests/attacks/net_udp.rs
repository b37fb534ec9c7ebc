//! Send a UDP datagram to a host echo service and wait for its answer.
use super::*;
use std::net::UdpSocket;
use std::time::Duration;

pub fn run() -> Outcome {
    let port = target("UDP_PORT");
    let s = match UdpSocket::bind("0.0.0.0:0") {
        Ok(s) => s,
        Err(e) => return Outcome::Blocked(format!("socket: {e}")),
    };
    s.set_read_timeout(Some(Duration::from_millis(700))).ok();
    let mut why = Vec::new();
    for host in ["127.0.0.1".to_string(), target("HOST_IP")] {
        let to = format!("{host}:{port}");
        if let Err(e) = s.send_to(b"ping", &to) {
            why.push(format!("sendto {to}: {e}"));
            continue;
        }
        let mut buf = [0u8; 64];
        match s.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains(HELLO) => {
                return Outcome::Escaped(format!("the host echo at {to} answered"))
            }
            Ok(_) => why.push(format!("{to}: a stranger answered")),
            Err(e) => why.push(format!("{to}: no answer ({e})")),
        }
    }
    Outcome::Blocked(why.join("; "))
}
