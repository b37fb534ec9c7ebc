//! End-to-end SOCKS5 (and refused SOCKS4) tests on the shared port.

mod proxy_support;

use std::io::{Read, Write};

use proxy_support::*;

#[test]
fn socks5_domain_connect_allowed() {
    let echo = echo_server();
    let p = start(&["echo.test", "127.0.0.1"], &[], |_| {});
    let (mut s, code) = socks5(p.addr, 1, "echo.test", echo.port());
    assert_eq!(code, 0x00);
    echo_roundtrip(&mut s, b"socks hello");
    half_close(&s);
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"EOF");
}

#[test]
fn socks5_ipv4_and_ipv6_address_types() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &["[::1]"], |_| {});
    let mut s = connect(p.addr);
    s.write_all(&[5, 1, 0]).unwrap();
    let mut m = [0u8; 2];
    s.read_exact(&mut m).unwrap();
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&echo.port().to_be_bytes());
    s.write_all(&req).unwrap();
    let mut rep = [0u8; 10];
    s.read_exact(&mut rep).unwrap();
    assert_eq!(rep[1], 0x00);
    echo_roundtrip(&mut s, b"v4");

    let mut s = connect(p.addr);
    s.write_all(&[5, 1, 0]).unwrap();
    s.read_exact(&mut m).unwrap();
    let mut req = vec![5, 1, 0, 4];
    req.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    req.extend_from_slice(&echo.port().to_be_bytes());
    s.write_all(&req).unwrap();
    s.read_exact(&mut rep).unwrap();
    assert_eq!(rep[1], 0x02, "denied [::1] must answer 0x02");
}

#[test]
fn socks5_denied_is_0x02() {
    let p = start(&["*.example.com"], &[], |_| {});
    let (_, code) = socks5(p.addr, 1, "blocked.org", 443);
    assert_eq!(code, 0x02);
}

#[test]
fn socks5_guard_refuses_name_resolving_to_loopback() {
    let echo = echo_server();
    let p = start(&["echo.test"], &[], |_| {});
    let (_, code) = socks5(p.addr, 1, "echo.test", echo.port());
    assert_eq!(code, 0x02);
}

#[test]
fn socks5_invalid_host_is_general_failure() {
    let p = start(&["*.example.com"], &[], |_| {});
    let (_, code) = socks5(p.addr, 1, "a\r\nb.example.com", 443);
    assert_eq!(code, 0x01);
    let (_, code) = socks5(p.addr, 1, "a%eth0.example.com", 443);
    assert_eq!(code, 0x01);
}

#[test]
fn socks5_upstream_refused_is_0x05() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (_, code) = socks5(p.addr, 1, "127.0.0.1", closed_port());
    assert_eq!(code, 0x05);
}

#[test]
fn socks5_bind_and_udp_associate_refused() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let (_, code) = socks5(p.addr, 2, "127.0.0.1", 80);
    assert_eq!(code, 0x07);
    let (_, code) = socks5(p.addr, 3, "127.0.0.1", 80);
    assert_eq!(code, 0x07);
}

#[test]
fn socks5_requires_no_auth_method() {
    let p = start(&[], &[], |_| {});
    let mut s = connect(p.addr);
    s.write_all(&[5, 1, 2]).unwrap(); // only user/pass offered
    let mut m = [0u8; 2];
    s.read_exact(&mut m).unwrap();
    assert_eq!(m, [5, 0xFF]);
    assert!(closed_by_peer(&mut s));
}

#[test]
fn socks4_is_refused_cleanly() {
    let p = start(&["127.0.0.1"], &[], |_| {});
    let mut s = connect(p.addr);
    s.write_all(&[4, 1, 0, 80, 127, 0, 0, 1, b'u', 0]).unwrap();
    let mut rep = [0u8; 8];
    s.read_exact(&mut rep).unwrap();
    assert_eq!(rep[0], 0x00);
    assert_eq!(rep[1], 0x5B);
    assert!(closed_by_peer(&mut s));
}

#[test]
fn socks_garbage_closes_without_harm() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |c| {
        c.header_read_timeout = std::time::Duration::from_millis(500)
    });
    let junk: [&[u8]; 5] = [
        &[5, 0],
        &[5, 1, 0, 9, 9, 9, 9, 9, 9, 9],
        &[5, 1, 0, 5, 1, 0, 7, 1, 2],
        &[5, 255],
        &[5, 1, 0, 5, 1, 0, 3, 0, 0, 80],
    ];
    for j in junk {
        let mut s = connect(p.addr);
        let _ = s.write_all(j);
        assert!(closed_by_peer(&mut s), "{j:?} left the connection open");
    }
    // Truncated handshake: cut off by the handshake timeout.
    let mut s = connect(p.addr);
    s.write_all(&[5, 1]).unwrap();
    assert!(closed_by_peer(&mut s));
    let (mut s, code) = socks5(p.addr, 1, "127.0.0.1", echo.port());
    assert_eq!(code, 0);
    echo_roundtrip(&mut s, b"fine");
}

#[test]
fn connection_limit_closes_excess_clients() {
    let echo = echo_server();
    let p = start(&["127.0.0.1"], &[], |c| c.max_connections = 2);
    let (mut a, code) = socks5(p.addr, 1, "127.0.0.1", echo.port());
    assert_eq!(code, 0);
    let (mut b, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    let mut c = connect(p.addr);
    assert!(closed_by_peer(&mut c), "third connection should be closed");
    echo_roundtrip(&mut a, b"a");
    echo_roundtrip(&mut b, b"b");
    drop((a, b));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (mut d, code) = socks5(p.addr, 1, "127.0.0.1", echo.port());
    assert_eq!(code, 0, "slots must be released after tunnels close");
    echo_roundtrip(&mut d, b"d");
}

#[test]
fn policy_can_be_replaced_live() {
    let echo = echo_server();
    let p = start(&[], &[], |_| {});
    let (_, code) = socks5(p.addr, 1, "127.0.0.1", echo.port());
    assert_eq!(code, 0x02);
    let allowed = srt_runc::proxy::NetworkPolicy::new(&strings(&["127.0.0.1"]), &[]).unwrap();
    p.handle.set_policy(allowed);
    let (mut s, code) = socks5(p.addr, 1, "127.0.0.1", echo.port());
    assert_eq!(code, 0x00);
    echo_roundtrip(&mut s, b"live");
}
