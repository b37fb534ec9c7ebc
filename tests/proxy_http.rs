//! End-to-end HTTP front-end tests: CONNECT and absolute-form forwarding,
//! denials, the resolved-address guard and upstream failures.

mod proxy_support;

use std::io::{Read, Write};

use proxy_support::*;

const BODY: &str = "Connection blocked by network allowlist";

fn assert_blocked(r: &Resp) {
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("x-proxy-error"), Some("blocked-by-allowlist"));
    assert_eq!(r.body_str(), BODY);
}

#[test]
fn connect_allowed_echoes_bytes() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status_line, "HTTP/1.1 200 Connection Established");
    echo_roundtrip(&mut s, b"hello through the tunnel");
    echo_roundtrip(&mut s, &vec![7u8; 1 << 20]);
}

#[test]
fn connect_denied_is_exact_403() {
    let p = start(&["*.example.com"], &[], |_| {});
    let (_, r) = http_connect(p.addr, "blocked.example.org:443");
    assert_blocked(&r);
    assert!(
        r.status_line.starts_with("HTTP/1.1 403 "),
        "{}",
        r.status_line
    );
    let (_, r) = http_connect(p.addr, "example.com:443");
    assert_blocked(&r);
    // An empty allow list still answers, with denials.
    let p = start(&[], &[], |_| {});
    let (_, r) = http_connect(p.addr, "example.com:443");
    assert_blocked(&r);
    assert!(
        r.status_line.contains("not on the allow list"),
        "{}",
        r.status_line
    );
}

#[test]
fn connect_bad_port_or_host_is_400() {
    let p = start(&["*.example.com"], &[], |_| {});
    let (_, r) = http_connect(p.addr, "a.example.com");
    assert_eq!(r.status, 400, "{r:?}");
    let (_, r) = http_connect(p.addr, "a.example.com:0");
    assert_eq!(r.status, 400, "{r:?}");
    let (_, r) = http_connect(p.addr, "a..example.com:443");
    assert_eq!(r.status, 400, "{r:?}");
}

#[test]
fn connect_by_name_passes_guard_only_with_literal_allowed() {
    let echo = echo_server();
    // Allowed by name, but the name resolves to loopback: refused.
    let p = start(&["echo.test"], &[], |_| {});
    let (_, r) = http_connect(p.addr, &format!("echo.test:{}", echo.port()));
    assert_blocked(&r);
    assert!(r.status_line.contains("loopback"), "{}", r.status_line);
    // Allowing the literal address lets the name through.
    let p = start(&["echo.test", "127.0.0.1"], &[], |_| {});
    let (mut s, r) = http_connect(p.addr, &format!("echo.test:{}", echo.port()));
    assert_eq!(r.status, 200);
    echo_roundtrip(&mut s, b"named");
}

#[test]
fn denied_literal_blocks_names_resolving_to_it() {
    let echo = echo_server();
    let p = start(&["echo.test", "127.0.0.1"], &["127.0.0.1"], |_| {});
    let (_, r) = http_connect(p.addr, &format!("echo.test:{}", echo.port()));
    assert_blocked(&r);
}

#[test]
fn connect_upstream_refused_is_502() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (_, r) = http_connect(p.addr, &format!("127.0.0.1:{}", closed_port()));
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body_str().contains("refused"), "{}", r.body_str());
}

#[test]
fn connect_timeout_is_504() {
    // A listener with a full accept queue drops further SYNs, so the dial
    // hangs until the proxy's connect timeout.
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    };
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::new(127, 0, 0, 1, 0),
    )
    .unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let port = nix::sys::socket::getsockname::<SockaddrIn>(std::os::fd::AsRawFd::as_raw_fd(&fd))
        .unwrap()
        .port();
    let _fillers: Vec<_> = (0..4)
        .filter_map(|_| {
            let a = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_millis(200)).ok()
        })
        .collect();
    let p = start(&["127.0.0.1"], &[], |c| {
        c.connect_timeout = std::time::Duration::from_millis(300)
    });
    let (_, r) = http_connect(p.addr, &format!("127.0.0.1:{port}"));
    assert_eq!(r.status, 504, "{r:?}");
}

#[test]
fn absolute_form_get_allowed_is_forwarded_clean() {
    let web = http_server();
    let p = start(&["web.test", "127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    write!(
        s,
        "GET http://web.test:{}/path?q=1 HTTP/1.1\r\nHost: web.test:{}\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\nConnection: x-private\r\nX-Private: 1\r\nUser-Agent: t\r\n\r\n",
        web.port(),
        web.port()
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("x-upstream"), Some("yes"));
    assert_eq!(
        r.header("keep-alive"),
        None,
        "hop-by-hop response header leaked"
    );
    let seen = r.body_str().to_ascii_lowercase();
    assert!(seen.starts_with("get /path?q=1 http/1.1\r\n"), "{seen}");
    assert!(
        seen.contains(&format!("host: web.test:{}", web.port())),
        "{seen}"
    );
    assert!(seen.contains("user-agent: t"), "{seen}");
    for leaked in [
        "proxy-authorization",
        "proxy-connection",
        "x-private",
        "secret",
    ] {
        assert!(!seen.contains(leaked), "{leaked} leaked: {seen}");
    }
}

#[test]
fn absolute_form_get_denied_is_exact_403() {
    let p = start(&["web.test"], &[], |_| {});
    let mut s = connect(p.addr);
    s.write_all(b"GET http://other.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n")
        .unwrap();
    assert_blocked(&read_response(&mut s, false));
}

#[test]
fn absolute_form_upstream_refused_is_502() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    write!(
        s,
        "GET http://127.0.0.1:{}/ HTTP/1.1\r\nHost: x\r\n\r\n",
        closed_port()
    )
    .unwrap();
    assert_eq!(read_response(&mut s, false).status, 502);
}

#[test]
fn origin_form_is_400() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 400);
}

#[test]
fn malformed_request_is_400_and_proxy_keeps_serving() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    s.write_all(b"THIS IS NOT HTTP\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 400"), "{out:?}");
    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    echo_roundtrip(&mut s, b"still alive");
}

#[test]
fn huge_headers_are_bounded() {
    let p = start(&["127.0.0.1"], &[], |c| c.max_header_bytes = 16 * 1024);
    let mut s = connect(p.addr);
    let _ = s.write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: x\r\n");
    let filler = format!("X-Fill: {}\r\n", "a".repeat(1000));
    for _ in 0..64 {
        if s.write_all(filler.as_bytes()).is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    // A bare close would pass for a crashed proxy too: the answer must be the 431, and
    // the proxy must serve the next client.
    assert!(out.starts_with("HTTP/1.1 431"), "{out:?}");
    let mut s = connect(p.addr);
    s.write_all(b"GET http://denied.example/ HTTP/1.1\r\nHost: denied.example\r\n\r\n")
        .unwrap();
    let mut b = [0u8; 12];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"HTTP/1.1 403");
}

#[test]
fn slowloris_is_closed_after_header_timeout() {
    let p = start(&["127.0.0.1"], &[], |c| {
        c.header_read_timeout = std::time::Duration::from_millis(400)
    });
    let mut s = connect(p.addr);
    let t0 = std::time::Instant::now();
    s.write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\n").unwrap();
    let mut closed = false;
    for i in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if s.write_all(format!("X-{i}: y\r\n").as_bytes()).is_err() {
            closed = true;
            break;
        }
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 512];
        let r = s.read(&mut b);
        s.set_nonblocking(false).unwrap();
        if matches!(r, Ok(0) | Ok(_))
            || matches!(&r, Err(e) if e.kind() != std::io::ErrorKind::WouldBlock)
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "slow client was not cut off");
    assert!(t0.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn silent_client_is_closed_after_first_byte_timeout() {
    let p = start(&[], &[], |c| {
        c.first_byte_timeout = std::time::Duration::from_millis(200)
    });
    let mut s = connect(p.addr);
    assert!(closed_by_peer(&mut s));
}

#[test]
fn half_closed_tunnel_propagates_eof() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    s.write_all(b"last words").unwrap();
    half_close(&s);
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"last wordsEOF");
}

#[test]
fn pipelined_bytes_after_connect_head_reach_upstream() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    // Head and first tunnel bytes in one write: hyper may read both.
    write!(
        s,
        "CONNECT {echo} HTTP/1.1\r\nHost: {echo}\r\n\r\nearly-bytes"
    )
    .unwrap();
    let r = read_response(&mut s, true);
    assert_eq!(r.status, 200);
    let mut back = [0u8; 11];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"early-bytes");
}

#[test]
fn connect_io_helper_tunnels() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut out = Vec::new();
    let input = std::io::Cursor::new(b"ssh-ish payload".to_vec());
    srt_runc::proxy::connect_io(p.addr, "127.0.0.1", echo.port(), input, &mut out).unwrap();
    assert_eq!(out, b"ssh-ish payloadEOF");
    let err =
        srt_runc::proxy::connect_io(p.addr, "10.9.9.9", 22, std::io::empty(), &mut Vec::new())
            .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let err = srt_runc::proxy::connect_io(p.addr, "a\r\nb", 22, std::io::empty(), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn ask_hook_decides_unlisted_hosts_with_timeout() {
    use srt_runc::proxy::{AskHook, Decision};
    use std::sync::Arc;
    let echo = echo_server();
    let hook: AskHook = Arc::new(|host: String, _port: u16| {
        Box::pin(async move {
            if host == "127.0.0.1" {
                Decision::allow("user said yes")
            } else {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                Decision::allow("too late")
            }
        })
    });
    let mut p = start(&[], &[], |c| {
        c.ask = Some(hook);
        c.ask_timeout = std::time::Duration::from_millis(200);
    });
    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    echo_roundtrip(&mut s, b"asked");
    drop(s);
    let (_, r) = http_connect(p.addr, "slow.example.com:443");
    assert_blocked(&r);
    let ev = p.take_events(2);
    assert!(ev.iter().any(|e| e.reason == "user said yes"), "{ev:?}");
    assert!(ev.iter().any(|e| e.reason.contains("timed out")), "{ev:?}");
}

#[test]
fn shutdown_closes_listener() {
    let p = start(&[], &[], |_| {});
    let addr = p.addr;
    p.handle.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn chunk_sized_reply_is_not_delayed() {
    // A reply that exactly fills the splice pipe must still arrive promptly
    // (no segments held back waiting for more data).
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    // A held-back segment would cost the kernel's ~200 ms cork timer on
    // every try; taking the best of several keeps machine load out of it.
    for size in [256 * 1024, 64 * 1024, 1] {
        let best = (0..5)
            .map(|_| {
                let t0 = std::time::Instant::now();
                echo_roundtrip(&mut s, &vec![1u8; size]);
                t0.elapsed()
            })
            .min()
            .unwrap();
        assert!(
            best < std::time::Duration::from_millis(150),
            "{size}: {best:?}"
        );
    }
}
