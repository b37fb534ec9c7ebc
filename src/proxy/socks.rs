//! SOCKS5 front-end (RFC 1928, no-auth, CONNECT only).
//!
//! BIND and UDP ASSOCIATE are refused: the sandbox has no route out, and
//! an inbound or UDP relay would bypass the per-host policy. SOCKS4 is
//! refused outright because it cannot carry hostnames reliably (4a is an
//! extension) and has no way to report why.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::events::Protocol;
use super::tunnel::relay;
use super::upstream::{open, Refusal};
use super::Shared;

const VERSION: u8 = 0x05;
const NO_AUTH: u8 = 0x00;
const NO_ACCEPTABLE: u8 = 0xFF;

/// SOCKS5 reply codes used here.
pub(crate) mod reply {
    pub const SUCCEEDED: u8 = 0x00;
    pub const GENERAL_FAILURE: u8 = 0x01;
    pub const NOT_ALLOWED: u8 = 0x02;
    pub const HOST_UNREACHABLE: u8 = 0x04;
    pub const CONNECTION_REFUSED: u8 = 0x05;
    pub const TTL_EXPIRED: u8 = 0x06;
    pub const COMMAND_NOT_SUPPORTED: u8 = 0x07;
    pub const ADDRESS_NOT_SUPPORTED: u8 = 0x08;
}

/// What the client asked for.
struct Request {
    command: u8,
    host: Result<String, ()>,
    port: u16,
}

pub(crate) async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let limit = shared.config.header_read_timeout;
    let request = match timeout(limit, handshake(&mut stream)).await {
        Ok(Ok(Some(r))) => r,
        // Garbage, timeout or a reply already sent: just close.
        _ => return,
    };
    if request.command != 0x01 {
        let _ = send_reply(&mut stream, reply::COMMAND_NOT_SUPPORTED, None).await;
        return;
    }
    let (Ok(host), true) = (request.host, request.port != 0) else {
        let _ = send_reply(&mut stream, reply::GENERAL_FAILURE, None).await;
        return;
    };
    match open(&shared, Protocol::Socks5, &host, request.port).await {
        Ok(opened) => {
            let bound = opened.stream.local_addr().ok();
            if send_reply(&mut stream, reply::SUCCEEDED, bound)
                .await
                .is_err()
            {
                return;
            }
            let n = relay(stream, opened.stream, &[]).await;
            opened.audit.add(n.up, n.down);
        }
        Err(refusal) => {
            let code = match refusal {
                Refusal::Invalid(_) => reply::GENERAL_FAILURE,
                Refusal::Denied(_) => reply::NOT_ALLOWED,
                Refusal::Refused(_) => reply::CONNECTION_REFUSED,
                Refusal::Unreachable(_) => reply::HOST_UNREACHABLE,
                Refusal::TimedOut(_) => reply::TTL_EXPIRED,
            };
            let _ = send_reply(&mut stream, code, None).await;
        }
    }
}

/// Method negotiation and the request. `Ok(None)` means the connection
/// is finished (a refusal was already sent); `Err` means garbage.
async fn handshake(s: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    if head[0] != VERSION || head[1] == 0 {
        return Err(bad("not a SOCKS5 greeting"));
    }
    let mut methods = vec![0u8; head[1] as usize];
    s.read_exact(&mut methods).await?;
    if !methods.contains(&NO_AUTH) {
        s.write_all(&[VERSION, NO_ACCEPTABLE]).await?;
        return Ok(None);
    }
    s.write_all(&[VERSION, NO_AUTH]).await?;
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    if req[0] != VERSION || req[2] != 0 {
        return Err(bad("malformed SOCKS5 request"));
    }
    let host = match req[3] {
        0x01 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await?;
            Ok(Ipv4Addr::from(a).to_string())
        }
        0x04 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await?;
            Ok(Ipv6Addr::from(a).to_string())
        }
        0x03 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            s.read_exact(&mut name).await?;
            String::from_utf8(name).map_err(|_| ())
        }
        _ => {
            send_reply(s, reply::ADDRESS_NOT_SUPPORTED, None).await?;
            return Ok(None);
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await?;
    Ok(Some(Request {
        command: req[1],
        host,
        port: u16::from_be_bytes(port),
    }))
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

async fn send_reply(s: &mut TcpStream, code: u8, bound: Option<SocketAddr>) -> std::io::Result<()> {
    let bound = bound.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    let mut out = Vec::with_capacity(22);
    out.extend_from_slice(&[VERSION, code, 0x00]);
    match bound.ip() {
        IpAddr::V4(v4) => {
            out.push(0x01);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(0x04);
            out.extend_from_slice(&v6.octets());
        }
    }
    out.extend_from_slice(&bound.port().to_be_bytes());
    s.write_all(&out).await
}

/// Refuse SOCKS4/4a with "request rejected" (0x5B) after taking in the
/// request, so the client reads a clean answer instead of a reset.
pub(crate) async fn refuse_socks4(mut s: TcpStream) {
    let mut buf = [0u8; 512];
    let _ = timeout(Duration::from_millis(200), s.read(&mut buf)).await;
    let _ = s.write_all(&[0x00, 0x5B, 0, 0, 0, 0, 0, 0]).await;
    let _ = s.shutdown().await;
    // Drain briefly so unread request bytes do not turn our close into RST.
    let _ = timeout(Duration::from_millis(500), async {
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}
