//! Shared helpers for the proxy integration tests: a proxy on
//! 127.0.0.1:0, small local upstream servers, and raw protocol clients.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use srt_runc::proxy::{spawn, Event, EventSink, NetworkPolicy, ProxyConfig, ProxyHandle};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub struct Proxy {
    pub handle: ProxyHandle,
    pub addr: SocketAddr,
    pub events: UnboundedReceiver<Event>,
}

impl Proxy {
    /// Collect events until `n` arrived or a second passed.
    pub fn take_events(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while out.len() < n && std::time::Instant::now() < deadline {
            match self.events.try_recv() {
                Ok(e) => out.push(e),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        out
    }
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Start a proxy; `tweak` may adjust the config (timeouts, overrides…).
/// Names ending in `.test` resolve to 127.0.0.1 through the override map.
pub fn start(allowed: &[&str], denied: &[&str], tweak: impl FnOnce(&mut ProxyConfig)) -> Proxy {
    let policy = NetworkPolicy::new(&strings(allowed), &strings(denied)).expect("policy");
    let (tx, rx) = unbounded_channel();
    let mut cfg = ProxyConfig::new(policy);
    cfg.events = EventSink::none().with_channel(tx);
    cfg.connect_timeout = Duration::from_secs(2);
    let mut overrides = HashMap::new();
    for name in ["echo.test", "web.test", "evil.test"] {
        overrides.insert(name.to_string(), vec![LOCAL]);
    }
    cfg.resolve_overrides = overrides;
    tweak(&mut cfg);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = spawn(vec![listener], cfg).expect("spawn proxy");
    Proxy {
        handle,
        addr,
        events: rx,
    }
}

/// Echo server: echoes every byte; after the client's EOF it writes
/// `EOF` and closes (proves half-close reached it and it can still reply).
pub fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = s.write_all(b"EOF");
            });
        }
    });
    addr
}

/// HTTP server that answers every request with its own request head as
/// the body (so tests can see what the proxy forwarded).
pub fn http_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let head = read_head(&mut s);
                let body = String::from_utf8_lossy(&head).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Upstream: yes\r\nKeep-Alive: timeout=5\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = s.write_all(resp.as_bytes());
            });
        }
    });
    addr
}

/// A port on 127.0.0.1 that refuses connections.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn connect(proxy: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(proxy).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Read up to and including the blank line that ends an HTTP head.
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    head
}

/// A parsed HTTP response (head lower-cased header names).
#[derive(Debug)]
pub struct Resp {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// Read one response; the body by Content-Length (none for 200 to
/// CONNECT), otherwise until EOF.
pub fn read_response(s: &mut TcpStream, connect: bool) -> Resp {
    let head = String::from_utf8(read_head(s)).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = Vec::new();
    if !(connect && status == 200) {
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        match len {
            Some(n) => {
                body.resize(n, 0);
                s.read_exact(&mut body).unwrap();
            }
            None => {
                let _ = s.read_to_end(&mut body);
            }
        }
    }
    Resp {
        status_line,
        status,
        headers,
        body,
    }
}

/// Send `CONNECT target` and read the answer.
pub fn http_connect(proxy: SocketAddr, target: &str) -> (TcpStream, Resp) {
    let mut s = connect(proxy);
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").unwrap();
    let r = read_response(&mut s, true);
    (s, r)
}

/// Complete a SOCKS5 no-auth handshake and send `cmd` to a domain name.
/// Returns the stream and the reply code.
pub fn socks5(proxy: SocketAddr, cmd: u8, host: &str, port: u16) -> (TcpStream, u8) {
    let mut s = connect(proxy);
    s.write_all(&[5, 1, 0]).unwrap();
    let mut m = [0u8; 2];
    s.read_exact(&mut m).unwrap();
    assert_eq!(m, [5, 0]);
    let mut req = vec![5, cmd, 0, 3, host.len() as u8];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).unwrap();
    let mut rep = [0u8; 10];
    s.read_exact(&mut rep).unwrap();
    assert_eq!(rep[0], 5);
    (s, rep[1])
}

/// Round-trip `msg` through an established tunnel to the echo server.
pub fn echo_roundtrip(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

/// Is the peer closed (EOF or reset) within the read timeout?
pub fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

pub fn half_close(s: &TcpStream) {
    s.shutdown(Shutdown::Write).unwrap();
}
