//! Every attempt yields one structured event with the right fields, on the
//! channel and as JSON lines.

mod proxy_support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use proxy_support::*;
use srt_runc::proxy::{EventSink, Protocol, Verdict};

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn events_have_the_right_fields() {
    let echo = echo_server();
    let web = http_server();
    let buf = SharedBuf::default();
    let lines = buf.clone();
    let mut p = start(&["127.0.0.1", "web.test"], &["*.tracker.io"], move |c| {
        c.events = c.events.clone().with_json_lines(lines);
    });

    let (mut s, r) = http_connect(p.addr, &echo.to_string());
    assert_eq!(r.status, 200);
    echo_roundtrip(&mut s, b"12345");
    half_close(&s);
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    drop(s);
    let ev = p.take_events(1).pop().expect("connect event");
    assert_eq!(ev.protocol, Protocol::HttpConnect);
    assert_eq!(ev.decision, Verdict::Allow);
    assert_eq!(ev.host, "127.0.0.1");
    assert_eq!(ev.port, echo.port());
    assert_eq!(ev.rule.as_deref(), Some("127.0.0.1"));
    assert_eq!(ev.bytes_up, 5);
    assert_eq!(ev.bytes_down, 8); // echo + "EOF"
    assert!(ev.time.ends_with('Z') && ev.time.len() == 24, "{}", ev.time);

    let (_, r) = http_connect(p.addr, "x.tracker.io:443");
    assert_eq!(r.status, 403);
    let ev = p.take_events(1).pop().expect("deny event");
    assert_eq!(ev.decision, Verdict::Deny);
    assert_eq!(ev.rule.as_deref(), Some("*.tracker.io"));
    assert_eq!(ev.reason, "denied by rule *.tracker.io");
    assert_eq!((ev.bytes_up, ev.bytes_down), (0, 0));

    let (_, code) = socks5(p.addr, 1, "NOT.listed.example", 80);
    assert_eq!(code, 2);
    let ev = p.take_events(1).pop().expect("socks event");
    assert_eq!(ev.protocol, Protocol::Socks5);
    assert_eq!(ev.host, "not.listed.example");
    assert_eq!(ev.reason, "host is not on the allow list");

    let mut s = connect(p.addr);
    write!(
        s,
        "POST http://web.test:{}/up HTTP/1.1\r\nHost: web.test\r\nContent-Length: 4\r\n\r\nabcd",
        web.port()
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200);
    drop(s);
    let ev = p.take_events(1).pop().expect("forward event");
    assert_eq!(ev.protocol, Protocol::HttpForward);
    assert_eq!(ev.decision, Verdict::Allow);
    assert_eq!(ev.bytes_up, 4);
    assert_eq!(ev.bytes_down, r.body.len() as u64);

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 4, "{text}");
    let first = &parsed[0];
    for key in [
        "time",
        "host",
        "port",
        "protocol",
        "decision",
        "reason",
        "rule",
        "bytes_up",
        "bytes_down",
        "duration_ms",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["protocol"], "http-connect");
    assert_eq!(parsed[1]["decision"], "deny");
    assert_eq!(parsed[2]["protocol"], "socks5");
    assert_eq!(parsed[3]["protocol"], "http-forward");
    let _ = EventSink::none();
}
