//! Pins srt v0.0.83's domain rules: matching, canonicalisation, decision
//! order, and the exact load-time error messages.

use std::collections::HashMap;

use srt_runc::proxy::NetworkPolicy;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// (allowed, denied, host, port, expected allow)
type Row = (
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
    u16,
    bool,
);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // apex vs wildcard
    (&["*.example.com"], &[], "api.example.com", 443, true),
    (&["*.example.com"], &[], "a.b.c.example.com", 443, true),
    (&["*.example.com"], &[], "example.com", 443, false),
    (&["*.example.com"], &[], "evilexample.com", 443, false),
    (&["*.example.com"], &[], "example.com.evil.com", 443, false),
    (&["*.evil.com"], &[], "example.com.evil.com", 443, true),
    (&["example.com"], &[], "example.com", 80, true),
    (&["example.com"], &[], "www.example.com", 80, false),
    (&["example.com", "*.example.com"], &[], "example.com", 1, true),
    // case and trailing dot
    (&["example.com"], &[], "EXAMPLE.com", 443, true),
    (&["Example.COM"], &[], "example.com", 443, true),
    (&["example.com"], &[], "example.com.", 443, true),
    (&["*.example.com"], &[], "WWW.Example.Com.", 443, true),
    // ports
    (&["example.com:443"], &[], "example.com", 443, true),
    (&["example.com:443"], &[], "example.com", 80, false),
    (&["*.example.com:8443"], &[], "a.example.com", 8443, true),
    (&["*.example.com:8443"], &[], "a.example.com", 443, false),
    // deny wins
    (&["*.example.com"], &["bad.example.com"], "bad.example.com", 443, false),
    (&["*.example.com"], &["bad.example.com"], "good.example.com", 443, true),
    (&["example.com"], &["example.com"], "example.com", 443, false),
    (&["example.com"], &["example.com:22"], "example.com", 22, false),
    (&["example.com"], &["example.com:22"], "example.com", 443, true),
    (&["*.example.com"], &["*.internal.example.com"], "x.internal.example.com", 443, false),
    (&["example.com"], &["*"], "example.com", 443, false),
    (&["example.com"], &["*:80"], "example.com", 80, false),
    (&["example.com"], &["*:80"], "example.com", 443, true),
    (&["127.0.0.1"], &["*"], "127.0.0.1", 443, false),
    // IP literals, canonical IPv4 forms
    (&["127.0.0.1"], &[], "127.0.0.1", 80, true),
    (&["127.0.0.1"], &[], "127.1", 80, true),
    (&["127.0.0.1"], &[], "2130706433", 80, true),
    (&["127.0.0.1"], &[], "0x7f.1", 80, true),
    (&["127.0.0.1"], &[], "0177.0.0.1", 80, true),
    (&["127.0.0.1"], &[], "127.0.0.2", 80, false),
    (&[], &["127.0.0.1"], "0x7f000001", 80, false),
    (&["10.0.0.1:8080"], &[], "10.0.0.1", 8080, true),
    (&["10.0.0.1:8080"], &[], "10.0.0.1", 8081, false),
    // IPv6, brackets, mapped
    (&["[::1]"], &[], "::1", 80, true),
    (&["[::1]"], &[], "[::1]", 80, true),
    (&["[::1]"], &[], "0:0:0:0:0:0:0:1", 80, true),
    (&["[2001:db8::1]:443"], &[], "2001:DB8:0:0::1", 443, true),
    (&["[2001:db8::1]:443"], &[], "2001:db8::1", 80, false),
    (&["127.0.0.1"], &[], "::ffff:127.0.0.1", 80, true),
    (&["127.0.0.1"], &[], "[::ffff:7f00:1]", 80, true),
    (&["[::ffff:127.0.0.1]"], &[], "127.0.0.1", 80, true),
    // wildcards never match IP literals
    (&["*.example.com"], &[], "93.184.216.34", 443, false),
    (&["*.1.168.192.in-addr.arpa"], &[], "192.168.1.1", 443, false),
    // localhost
    (&["localhost"], &[], "localhost", 3000, true),
    (&["localhost"], &[], "LOCALHOST.", 3000, true),
    (&["localhost"], &[], "127.0.0.1", 3000, false),
    // empty allow list: nothing allowed
    (&[], &[], "example.com", 443, false),
    (&[], &[], "127.0.0.1", 443, false),
    // invalid hosts are denied even under a matching rule
    (&["*.example.com"], &[], "a\0.example.com", 443, false),
    (&["*.example.com"], &[], "a\r\n.example.com", 443, false),
    (&["[fe80::1]"], &[], "fe80::1%eth0", 443, false),
    (&["*.example.com"], &[], "a b.example.com", 443, false),
    (&["*.example.com"], &[], "a..example.com", 443, false),
    (&["*.example.com"], &[], "", 443, false),
    (&["*.example.com"], &[], "1.2.3.0x100", 443, false),
];

#[test]
fn matching_table() {
    assert!(TABLE.len() >= 40);
    for (i, (allowed, denied, host, port, want)) in TABLE.iter().enumerate() {
        let p =
            NetworkPolicy::new(&s(allowed), &s(denied)).unwrap_or_else(|e| panic!("row {i}: {e}"));
        let d = p.decide(host, *port);
        assert_eq!(
            d.allowed, *want,
            "row {i}: allowed={allowed:?} denied={denied:?} host={host:?}:{port} -> {d:?}"
        );
    }
}

#[test]
fn long_host_rejected() {
    let p = NetworkPolicy::new(&s(&["*.example.com"]), &[]).unwrap();
    let host = format!("{}.example.com", "a".repeat(250));
    let d = p.decide(&host, 443);
    assert!(!d.allowed);
    assert!(d.reason.starts_with("invalid host"), "{}", d.reason);
}

#[test]
fn decisions_carry_rule_and_reason() {
    let mut reasons = HashMap::new();
    reasons.insert(
        "*.tracker.io".to_string(),
        "telemetry is not allowed".to_string(),
    );
    let p = NetworkPolicy::new(&s(&["*.example.com"]), &s(&["*.tracker.io"]))
        .unwrap()
        .with_denied_reasons(reasons);
    let d = p.decide("x.tracker.io", 443);
    assert!(!d.allowed);
    assert_eq!(d.reason, "telemetry is not allowed");
    assert_eq!(d.rule.as_deref(), Some("*.tracker.io"));
    let d = p.decide("a.example.com", 443);
    assert!(d.allowed);
    assert_eq!(d.rule.as_deref(), Some("*.example.com"));
    let d = p.decide("other.org", 443);
    assert!(!d.allowed);
    assert_eq!(d.rule, None);
    assert_eq!(d.reason, "host is not on the allow list");
    let strict = p.clone().with_strict_allowlist(true);
    assert!(strict.decide("other.org", 443).reason.contains("strict"));
}

/// (allowed, denied, expected error message)
#[rustfmt::skip]
const REJECTED: &[(&[&str], &[&str], &str)] = &[
    (&["ok.com", "ok2.com", "*.com"], &[], r#"network.allowedDomains[2] "*.com": overly broad pattern; name a registrable domain such as *.example.com"#),
    (&["*"], &[], r#"network.allowedDomains[0] "*": overly broad pattern; name a registrable domain such as *.example.com"#),
    (&["*:443"], &[], r#"network.allowedDomains[0] "*:443": overly broad pattern; name a registrable domain such as *.example.com"#),
    (&["*.co.uk"], &[], r#"network.allowedDomains[0] "*.co.uk": "co.uk" is a public suffix shared by unrelated owners; name a registrable domain such as *.example.co.uk"#),
    (&["*.com.au"], &[], r#"network.allowedDomains[0] "*.com.au": "com.au" is a public suffix shared by unrelated owners; name a registrable domain such as *.example.com.au"#),
    (&["*.github.io"], &[], r#"network.allowedDomains[0] "*.github.io": "github.io" is a public suffix shared by unrelated owners; name a registrable domain such as *.example.github.io"#),
    (&["https://example.com"], &[], r#"network.allowedDomains[0] "https://example.com": looks like a URL; give only the host, e.g. example.com instead of https://example.com/"#),
    (&["example.com/path"], &[], r#"network.allowedDomains[0] "example.com/path": contains a path; give only the host (and optional :port)"#),
    (&[""], &[], r#"network.allowedDomains[0] "": empty entry; remove it or name a host such as example.com"#),
    (&[], &[""], r#"network.deniedDomains[0] "": empty entry; remove it or name a host such as example.com"#),
    (&["a.*.com"], &[], r#"network.allowedDomains[0] "a.*.com": '*' is only allowed as a leading "*." label, e.g. *.example.com"#),
    (&["*example.com"], &[], r#"network.allowedDomains[0] "*example.com": '*' is only allowed as a leading "*." label, e.g. *.example.com"#),
    (&["*.1.2.3"], &[], r#"network.allowedDomains[0] "*.1.2.3": a wildcard cannot cover IP addresses; list each address literally"#),
    (&["example.com:0"], &[], r#"network.allowedDomains[0] "example.com:0": invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443"#),
    (&["example.com:65536"], &[], r#"network.allowedDomains[0] "example.com:65536": invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443"#),
    (&["example.com:0443"], &[], r#"network.allowedDomains[0] "example.com:0443": invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443"#),
    (&["example.com:"], &[], r#"network.allowedDomains[0] "example.com:": invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443"#),
    (&["example.com:https"], &[], r#"network.allowedDomains[0] "example.com:https": invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443"#),
    (&["2001:db8::1"], &[], r#"network.allowedDomains[0] "2001:db8::1": ambiguous unbracketed IPv6 address; write it as [2001:db8::1] or [2001:db8::1]:443"#),
    (&["[fe80::1%eth0]"], &[], r#"network.allowedDomains[0] "[fe80::1%eth0]": invalid bracketed IPv6 address (zone ids are not allowed); write e.g. [2001:db8::1]"#),
    (&["[example.com]"], &[], r#"network.allowedDomains[0] "[example.com]": invalid bracketed IPv6 address (zone ids are not allowed); write e.g. [2001:db8::1]"#),
    (&["256.1.1.1"], &[], r#"network.allowedDomains[0] "256.1.1.1": invalid IPv4 address; write four decimal octets such as 192.0.2.1"#),
    (&["exa mple.com"], &[], r#"network.allowedDomains[0] "exa mple.com": contains characters outside [A-Za-z0-9._-]; give a plain host name"#),
    (&[".example.com"], &[], r#"network.allowedDomains[0] ".example.com": empty label (leading, trailing or doubled dot); write e.g. example.com"#),
    (&["example.com."], &[], r#"network.allowedDomains[0] "example.com.": empty label (leading, trailing or doubled dot); write e.g. example.com"#),
    (&["intranet"], &[], r#"network.allowedDomains[0] "intranet": single-label name; use a fully-qualified name such as host.example.com (only localhost is accepted bare)"#),
];

#[test]
fn rejected_patterns() {
    for (allowed, denied, want) in REJECTED {
        let err = NetworkPolicy::new(&s(allowed), &s(denied)).expect_err(want);
        assert_eq!(err.to_string(), *want);
    }
}

#[test]
fn deny_list_accepts_broad_entries() {
    for entry in ["*", "*:22", "*.com", "*.co.uk"] {
        NetworkPolicy::new(&[], &s(&[entry])).unwrap_or_else(|e| panic!("{entry}: {e}"));
    }
}
