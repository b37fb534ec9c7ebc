//! Request-time host validation and canonicalisation.
//!
//! Every host name that reaches the policy is first validated and then put
//! into one canonical spelling, so that `127.1`, `2130706433`, `0x7f.1`,
//! `LOCALHOST.` or `[::ffff:127.0.0.1]` cannot slip past a rule written as
//! `127.0.0.1` or `localhost`. The IPv4 rules follow the WHATWG URL host
//! parser, because that is what browsers, Node and curl-alikes use when they
//! turn a spelled host into an address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest host name accepted at request time (DNS names are at most 253
/// octets; 255 leaves room for a trailing dot and matches srt).
pub const MAX_HOST_LEN: usize = 255;

/// A validated, canonical host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lowercase, no trailing dot, only `[a-z0-9._-]`.
    Name(String),
    /// An IP literal; IPv4-mapped IPv6 is stored as IPv4.
    Ip(IpAddr),
}

impl Host {
    /// The host as it goes into an authority (`host:port`): IPv6 bracketed.
    pub fn authority(&self, port: u16) -> String {
        match self {
            Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
            other => format!("{other}:{port}"),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Why a requested host was refused before any rule was consulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("empty host")]
    Empty,
    #[error("host longer than {MAX_HOST_LEN} characters")]
    TooLong,
    #[error("host contains a control character")]
    Control,
    #[error("host contains a zone id ('%'), which cannot be policed")]
    ZoneId,
    #[error("host contains characters outside [A-Za-z0-9._-]")]
    BadChars,
    #[error("host has an empty label")]
    EmptyLabel,
    #[error("host looks like an IPv4 address but is not a valid one")]
    BadIpv4,
    #[error("host is not a valid IPv6 address")]
    BadIpv6,
}

/// Validate and canonicalise a host as received in a request.
///
/// Accepts a bare name, an IPv4 literal in any WHATWG form, or an IPv6
/// literal with or without brackets (SOCKS5 and CONNECT differ there).
pub fn canonical_host(raw: &str) -> Result<Host, HostError> {
    if raw.is_empty() {
        return Err(HostError::Empty);
    }
    if raw.len() > MAX_HOST_LEN {
        return Err(HostError::TooLong);
    }
    if raw.chars().any(|c| c.is_control()) {
        return Err(HostError::Control);
    }
    if raw.contains('%') {
        return Err(HostError::ZoneId);
    }
    let unbracketed = match raw.strip_prefix('[') {
        Some(rest) => Some(rest.strip_suffix(']').ok_or(HostError::BadIpv6)?),
        None if raw.contains(':') => Some(raw),
        None => None,
    };
    if let Some(v6) = unbracketed {
        let addr: Ipv6Addr = v6.parse().map_err(|_| HostError::BadIpv6)?;
        return Ok(Host::Ip(canonical_ip(IpAddr::V6(addr))));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(HostError::BadChars);
    }
    let lower = raw.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(HostError::EmptyLabel);
    }
    if ends_in_number(name) {
        return parse_whatwg_ipv4(name)
            .map(|v4| Host::Ip(IpAddr::V4(v4)))
            .ok_or(HostError::BadIpv4);
    }
    Ok(Host::Name(name.to_string()))
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is the same endpoint as the IPv4
/// address, so it must match the same rules.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// WHATWG "ends in a number": the last label is all digits or parses as an
/// IPv4 number (hex `0x..`). Such hosts must be IPv4 or are invalid, which
/// stops `1.2.3.0x4` from being treated as a DNS name.
pub(crate) fn ends_in_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or("");
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    parse_ipv4_number(last).is_some()
}

/// The WHATWG IPv4 parser (decimal, `0x` hex, leading-zero octal, and the
/// short forms where the last part fills the remaining bytes).
pub(crate) fn parse_whatwg_ipv4(name: &str) -> Option<Ipv4Addr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let parts: Vec<&str> = name.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        numbers.push(parse_ipv4_number(part)?);
    }
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (5 - numbers.len() as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut value: u64 = *last;
    for (i, n) in init.iter().enumerate() {
        value += n << (8 * (3 - i as u32));
    }
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// One WHATWG IPv4 part: `0x` prefix is hex, a leading `0` is octal.
fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Host {
        Host::Ip(IpAddr::V4(s.parse().unwrap()))
    }

    #[test]
    fn ipv4_forms() {
        for raw in [
            "127.0.0.1",
            "127.1",
            "2130706433",
            "0x7f.1",
            "0177.0.0.1",
            "0x7F000001",
            "127.0.1",
            "127.0.0.1.",
        ] {
            assert_eq!(canonical_host(raw), Ok(v4("127.0.0.1")), "{raw}");
        }
        assert_eq!(canonical_host("256.0.0.1"), Err(HostError::BadIpv4));
        assert_eq!(canonical_host("1.2.3.4.5"), Err(HostError::BadIpv4));
        assert_eq!(canonical_host("4294967296"), Err(HostError::BadIpv4));
        assert_eq!(canonical_host("1.2.3.09"), Err(HostError::BadIpv4));
        assert_eq!(canonical_host("4294967295"), Ok(v4("255.255.255.255")));
    }

    #[test]
    fn names_and_v6() {
        assert_eq!(
            canonical_host("Example.COM."),
            Ok(Host::Name("example.com".into()))
        );
        assert_eq!(canonical_host("[::ffff:127.0.0.1]"), Ok(v4("127.0.0.1")));
        assert_eq!(
            canonical_host("0:0:0:0:0:0:0:1"),
            Ok(Host::Ip("::1".parse().unwrap()))
        );
        assert_eq!(canonical_host("fe80::1%eth0"), Err(HostError::ZoneId));
        assert_eq!(canonical_host("a..b"), Err(HostError::EmptyLabel));
        assert_eq!(canonical_host("a\r\nb"), Err(HostError::Control));
        assert_eq!(canonical_host("a\0b"), Err(HostError::Control));
        assert_eq!(canonical_host("a b"), Err(HostError::BadChars));
        assert_eq!(canonical_host(&"a".repeat(256)), Err(HostError::TooLong));
        assert_eq!(canonical_host("[::1"), Err(HostError::BadIpv6));
    }
}
