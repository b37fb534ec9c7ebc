//! The checks behind the `cargo fuzz` targets of srt-runc.
//!
//! Each public function takes one fuzz input and panics only when srt-runc misbehaves
//! (a panic inside srt-runc, or a broken invariant). The fuzz targets in `fuzz_targets/`
//! are one-line wrappers; `tests/fuzz_regressions.rs` in the main crate includes this file
//! with `#[path]` and replays the committed corpora and crash inputs on stable Rust.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use srt_runc::macos::glob::{glob_to_regex, Extent};
use srt_runc::policy::glob::{is_glob, strip_trailing_globstar};
use srt_runc::policy::oci::{parse_config, parse_sandbox};
use srt_runc::proxy::{canonical_host, Host, NetworkPolicy, ProxyConfig, ProxyHandle};

/// Target 1: config.json text with its `"sandbox"` section.
pub fn oci_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The `run.srt.settings` annotation names a file to read; a fuzzer that finds
    // `/dev/zero` would only measure memory. That path is file-based like
    // `load_settings` and is covered through `srt_settings` instead.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if v.pointer("/annotations/run.srt.settings").is_some() {
            return;
        }
    }
    if let Err(e) = parse_config(text, "config.json", Path::new("/tmp")) {
        let _ = e.to_string();
    }
}

/// Target 2: an srt settings document (or `"sandbox"` value) as JSON, then the proxy
/// config built from its network section.
pub fn srt_settings(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match parse_sandbox(v, "settings.json", "") {
        Ok(mut s) => {
            srt_runc::policy::oci::resolve_sandbox_paths(
                &mut s,
                Path::new("/work/project"),
                Some(Path::new("/home/user")),
            );
            if let Some(n) = &s.network {
                if let Ok(cfg) = ProxyConfig::from_settings(n) {
                    let _ = cfg.policy.decide("example.com", 443);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Target 3: domain patterns, host canonicalisation and decisions.
///
/// Input: two bytes of port, then `pattern\nhost` (no newline: the same text is both).
pub fn domain_host(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let port = u16::from_be_bytes([data[0], data[1]]);
    let Ok(text) = std::str::from_utf8(&data[2..]) else {
        return;
    };
    let (pattern, host) = text.split_once('\n').unwrap_or((text, text));

    for s in [pattern, host] {
        if let Ok(h) = canonical_host(s) {
            check_canonical(&h);
        }
    }

    let one = [pattern.to_string()];
    let policies = [
        NetworkPolicy::new(&one, &[]),
        NetworkPolicy::new(&[], &one),
        NetworkPolicy::new(&one, &one),
    ];
    for policy in policies.into_iter().flatten() {
        let raw = policy.decide(host, port);
        let _ = policy.decide(pattern, port);
        // Deciding on the canonical spelling must give the same answer as the raw one.
        if let Ok(h) = canonical_host(host) {
            let canon = policy.decide(&h.to_string(), port);
            assert_eq!(
                raw.allowed, canon.allowed,
                "pattern {pattern:?}: host {host:?} and its canonical form {h} decide differently"
            );
            if let Host::Ip(std::net::IpAddr::V6(_)) = h {
                let bracketed = policy.decide(&format!("[{h}]"), port);
                assert_eq!(raw.allowed, bracketed.allowed, "bracketed [{h}] differs");
            }
        }
    }
}

fn check_canonical(h: &Host) {
    let shown = h.to_string();
    let again = canonical_host(&shown).unwrap_or_else(|e| {
        panic!("canonical host {shown:?} is refused when canonicalised again: {e}")
    });
    assert_eq!(&again, h, "canonicalising {shown:?} again changed it");
    assert_eq!(again.to_string(), shown);
}

/// Target 6: glob → Seatbelt regex, and the policy glob helpers.
pub fn glob_regex(data: &[u8]) {
    let Ok(glob) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_glob(glob);
    let stripped = strip_trailing_globstar(glob);
    assert!(
        !stripped.ends_with("/**"),
        "strip_trailing_globstar({glob:?}) left {stripped:?}"
    );
    assert_eq!(
        strip_trailing_globstar(stripped),
        stripped,
        "not idempotent for {glob:?}"
    );
    assert!(
        glob.starts_with(stripped) || stripped == "/",
        "strip_trailing_globstar({glob:?}) = {stripped:?} is not a prefix"
    );

    for extent in [Extent::Exact, Extent::Subtree] {
        let re = glob_to_regex(glob, extent);
        // Syntax (with Unicode classes, as the regex crate checks them) through
        // regex-syntax: compiling a full Unicode `Regex` per input costs milliseconds.
        if let Err(e) = regex_syntax::ParserBuilder::new().build().parse(&re) {
            panic!("glob {glob:?} ({extent:?}) gave a regex that does not parse: {re:?}: {e}");
        }
        if srt_runc::macos::glob::is_glob(glob) {
            continue;
        }
        // No wildcard: the regex must match the glob's own text (and, for a subtree, what
        // lies below it). Byte-oriented matching, like Seatbelt's.
        let compiled = match regex::bytes::RegexBuilder::new(&re)
            .unicode(false)
            .size_limit(1 << 24)
            .build()
        {
            Ok(r) => r,
            Err(regex::Error::CompiledTooBig(_)) => continue,
            Err(e) => {
                panic!("glob {glob:?} ({extent:?}) gave a regex that does not compile: {re:?}: {e}")
            }
        };
        assert!(
            compiled.is_match(glob.as_bytes()),
            "glob {glob:?} has no wildcard, but its regex {re:?} does not match it"
        );
        if extent == Extent::Subtree {
            let below = format!("{glob}/x");
            assert!(
                compiled.is_match(below.as_bytes()),
                "{re:?} does not match {below:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Targets 4 and 5: a real proxy, fed the input as a client's bytes.

/// The one allowed upstream (a tiny HTTP server on loopback). A fixed port lets the
/// seed corpora reach it; if it is taken, any free port is used (less coverage only).
pub const UPSTREAM_PORT: u16 = 31871;
/// Answer of a well-behaved proxy to [`LIVENESS_REQUEST`].
const LIVENESS_REQUEST: &[u8] =
    b"CONNECT denied.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n";

struct TestProxy {
    addr: SocketAddr,
    // Kept (not leaked) so LeakSanitizer stays quiet; runs for the life of the process.
    _handle: Mutex<ProxyHandle>,
}

fn proxy() -> &'static TestProxy {
    static PROXY: OnceLock<TestProxy> = OnceLock::new();
    PROXY.get_or_init(|| {
        // libFuzzer's main() does not ignore SIGPIPE the way a Rust main does; the proxy
        // writes (and splices) into sockets the client may have closed.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
        let upstream = TcpListener::bind(("127.0.0.1", UPSTREAM_PORT))
            .or_else(|_| TcpListener::bind("127.0.0.1:0"))
            .expect("bind the upstream");
        let port = upstream.local_addr().unwrap().port();
        std::thread::spawn(move || serve_upstream(upstream));

        let allowed = vec![format!("up.test:{port}"), format!("127.0.0.1:{port}")];
        let denied = vec!["denied.test".to_string()];
        let policy = NetworkPolicy::new(&allowed, &denied)
            .expect("policy")
            .with_strict_allowlist(true);
        let mut cfg = ProxyConfig::new(policy);
        cfg.resolve_overrides
            .insert("up.test".into(), vec!["127.0.0.1".parse().unwrap()]);
        cfg.connect_timeout = Duration::from_secs(1);
        cfg.first_byte_timeout = Duration::from_secs(1);
        cfg.header_read_timeout = Duration::from_secs(1);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let handle = srt_runc::proxy::spawn(vec![listener], cfg).expect("spawn the proxy");
        TestProxy {
            addr,
            _handle: Mutex::new(handle),
        }
    })
}

/// Reads a request (up to a blank line, EOF or 100 ms of silence) and answers it.
fn serve_upstream(l: TcpListener) {
    for s in l.incoming() {
        let Ok(mut s) = s else { continue };
        std::thread::spawn(move || {
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while let Ok(n @ 1..) = s.read(&mut buf) {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 65536 {
                    break;
                }
            }
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\nX-Up: 1\r\n\r\nok\n",
            );
        });
    }
}

/// Send `bytes` and read what comes back within `limit`. With `half_close` the write
/// side is shut after the bytes, so the proxy sees the end of the input at once (hyper
/// may then drop the connection without answering, which is fine for fuzz inputs);
/// without it, reading stops at the end of the first response head.
/// `None`: the exchange could not even start (no local ports left and the like).
fn exchange(addr: SocketAddr, bytes: &[u8], limit: Duration, half_close: bool) -> Option<Vec<u8>> {
    let mut s = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => return None,
        Err(e) => panic!("cannot connect to the proxy at {addr}: {e}"),
    };
    let _ = s.set_write_timeout(Some(limit));
    // The proxy may close early (garbage, refusals): write errors are expected.
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if !half_close && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    Some(out)
}

/// After any input, the proxy must still answer a well-formed request: a CONNECT to a
/// denied host gets the 403 denial.
fn assert_proxy_alive(p: &TestProxy, after: &[u8]) {
    let Some(answer) = exchange(p.addr, LIVENESS_REQUEST, Duration::from_secs(5), false) else {
        return;
    };
    assert!(
        answer.starts_with(b"HTTP/1.1 403"),
        "after the input {:?} the proxy answered a denied CONNECT with {:?}",
        String::from_utf8_lossy(after),
        String::from_utf8_lossy(&answer)
    );
}

/// Target 4: the bytes of an HTTP client (request head and whatever follows).
pub fn proxy_http(data: &[u8]) {
    let p = proxy();
    let _ = exchange(p.addr, data, Duration::from_secs(2), true);
    assert_proxy_alive(p, data);
}

/// Target 5: the bytes of a SOCKS5 client (greeting, request, payload). A leading 0x05
/// is added when missing, so every input reaches the SOCKS5 front-end.
pub fn proxy_socks(data: &[u8]) {
    let p = proxy();
    let mut bytes = Vec::with_capacity(data.len() + 1);
    if data.first() != Some(&0x05) {
        bytes.push(0x05);
    }
    bytes.extend_from_slice(data);
    let _ = exchange(p.addr, &bytes, Duration::from_secs(2), true);
    assert_proxy_alive(p, data);
}
