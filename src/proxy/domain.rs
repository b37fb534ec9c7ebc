//! Domain patterns from `allowedDomains` / `deniedDomains`: parsing,
//! load-time validation and matching against canonical hosts.
//!
//! Validation is strict on purpose: a pattern that silently matched more
//! (or less) than the user meant would weaken the sandbox without anyone
//! noticing, so every rejected entry gets a one-line error naming the entry
//! and how to fix it.

use std::net::IpAddr;

use super::host::{canonical_ip, ends_in_number, parse_whatwg_ipv4, Host};
use super::public_suffix::MULTI_LABEL_PUBLIC_SUFFIXES;

/// Which list an entry came from; error messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternList {
    Allowed,
    Denied,
}

impl PatternList {
    fn key(self) -> &'static str {
        match self {
            PatternList::Allowed => "allowedDomains",
            PatternList::Denied => "deniedDomains",
        }
    }
}

/// A domain-pattern entry that cannot be loaded. The message names the
/// settings key, the index and the entry, then says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("network.{list}[{index}] {entry:?}: empty entry; remove it or name a host such as example.com")]
    Empty {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: looks like a URL; give only the host, e.g. example.com instead of https://example.com/")]
    Url {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: contains a path; give only the host (and optional :port)")]
    Path {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: overly broad pattern; name a registrable domain such as *.example.com")]
    OverlyBroad {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: {suffix:?} is a public suffix shared by unrelated owners; name a registrable domain such as *.example.{suffix}")]
    PublicSuffix {
        list: &'static str,
        index: usize,
        entry: String,
        suffix: String,
    },
    #[error("network.{list}[{index}] {entry:?}: '*' is only allowed as a leading \"*.\" label, e.g. *.example.com")]
    BadWildcard {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: a wildcard cannot cover IP addresses; list each address literally")]
    WildcardIp {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: invalid port; use a number 1..65535 without leading zeros, e.g. example.com:443")]
    BadPort {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: ambiguous unbracketed IPv6 address; write it as [2001:db8::1] or [2001:db8::1]:443")]
    UnbracketedIpv6 {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: invalid bracketed IPv6 address (zone ids are not allowed); write e.g. [2001:db8::1]")]
    BadIpv6 {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: invalid IPv4 address; write four decimal octets such as 192.0.2.1")]
    BadIpv4 {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: contains characters outside [A-Za-z0-9._-]; give a plain host name")]
    BadChars {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: empty label (leading, trailing or doubled dot); write e.g. example.com")]
    EmptyLabel {
        list: &'static str,
        index: usize,
        entry: String,
    },
    #[error("network.{list}[{index}] {entry:?}: single-label name; use a fully-qualified name such as host.example.com (only localhost is accepted bare)")]
    SingleLabel {
        list: &'static str,
        index: usize,
        entry: String,
    },
}

/// The host part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternHost {
    /// `*` (deniedDomains only): every host, names and IPs alike.
    Any,
    /// `*.base`, stored as `.base`: any-depth subdomain, never the apex.
    Subdomains(String),
    /// An exact, lowercase DNS name.
    Name(String),
    /// An exact IP literal (canonical).
    Ip(IpAddr),
}

/// One loaded pattern, keeping its original spelling for events and
/// `deniedDomainReasons` lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub(crate) source: String,
    pub(crate) host: PatternHost,
    pub(crate) port: Option<u16>,
}

impl Pattern {
    /// The entry exactly as written in the settings.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parse one entry of `list` at position `index`.
    pub fn parse(entry: &str, list: PatternList, index: usize) -> Result<Self, PatternError> {
        parse(entry, list, index)
    }

    /// Does this pattern cover `host:port`? Wildcards never match IP
    /// literals: `*.example.com` must not be satisfied by an address that
    /// merely reverse-resolves somewhere.
    pub fn matches(&self, host: &Host, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.host, host) {
            (PatternHost::Any, _) => true,
            (PatternHost::Subdomains(base), Host::Name(name)) => name
                .strip_suffix(base.as_str())
                .is_some_and(|head| !head.is_empty()),
            (PatternHost::Name(want), Host::Name(name)) => want == name,
            (PatternHost::Ip(want), Host::Ip(ip)) => want == ip,
            _ => false,
        }
    }

    /// The IP this pattern names literally, if any.
    pub(crate) fn literal_ip(&self) -> Option<IpAddr> {
        match self.host {
            PatternHost::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

fn parse(entry: &str, list: PatternList, index: usize) -> Result<Pattern, PatternError> {
    let (l, i, e) = (list.key(), index, entry.to_string());
    macro_rules! fail {
        ($variant:ident) => {
            return Err(PatternError::$variant {
                list: l,
                index: i,
                entry: e,
            })
        };
    }
    if entry.is_empty() {
        fail!(Empty);
    }
    if entry.contains("://") {
        fail!(Url);
    }
    if entry.contains('/') {
        fail!(Path);
    }
    let (host_part, port) = split_port(entry).map_err(|kind| match kind {
        SplitError::Port => PatternError::BadPort {
            list: l,
            index: i,
            entry: e.clone(),
        },
        SplitError::Unbracketed => PatternError::UnbracketedIpv6 {
            list: l,
            index: i,
            entry: e.clone(),
        },
        SplitError::Ipv6 => PatternError::BadIpv6 {
            list: l,
            index: i,
            entry: e.clone(),
        },
    })?;
    let host = match host_part {
        HostPart::V6(ip) => PatternHost::Ip(canonical_ip(IpAddr::V6(ip))),
        HostPart::Text(text) => parse_host_text(&text.to_ascii_lowercase(), list, l, i, &e)?,
    };
    Ok(Pattern {
        source: e,
        host,
        port,
    })
}

fn parse_host_text(
    text: &str,
    list: PatternList,
    l: &'static str,
    i: usize,
    e: &str,
) -> Result<PatternHost, PatternError> {
    let e = e.to_string();
    macro_rules! fail {
        ($variant:ident) => {
            return Err(PatternError::$variant {
                list: l,
                index: i,
                entry: e,
            })
        };
    }
    if text == "*" {
        if list == PatternList::Denied {
            return Ok(PatternHost::Any);
        }
        fail!(OverlyBroad);
    }
    let (wildcard, name) = match text.strip_prefix("*.") {
        Some(base) => (true, base),
        None => (false, text),
    };
    if name.contains('*') {
        fail!(BadWildcard);
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        fail!(BadChars);
    }
    if name.is_empty() || name.split('.').any(str::is_empty) {
        fail!(EmptyLabel);
    }
    if ends_in_number(name) {
        if wildcard {
            fail!(WildcardIp);
        }
        return match parse_whatwg_ipv4(name) {
            Some(v4) => Ok(PatternHost::Ip(IpAddr::V4(v4))),
            None => fail!(BadIpv4),
        };
    }
    if !wildcard {
        if name != "localhost" && !name.contains('.') {
            fail!(SingleLabel);
        }
        return Ok(PatternHost::Name(name.to_string()));
    }
    // Broad wildcards are refused only where they would *grant* access; a
    // deny of `*.com` is coherent and harmless.
    if list == PatternList::Allowed {
        if !name.contains('.') {
            fail!(OverlyBroad);
        }
        if let Some(suffix) = MULTI_LABEL_PUBLIC_SUFFIXES.iter().find(|s| **s == name) {
            return Err(PatternError::PublicSuffix {
                list: l,
                index: i,
                entry: e,
                suffix: suffix.to_string(),
            });
        }
    }
    Ok(PatternHost::Subdomains(format!(".{name}")))
}

enum HostPart<'a> {
    Text(&'a str),
    V6(std::net::Ipv6Addr),
}

enum SplitError {
    Port,
    Unbracketed,
    Ipv6,
}

/// Split `host[:port]` / `[v6][:port]`.
fn split_port(entry: &str) -> Result<(HostPart<'_>, Option<u16>), SplitError> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(SplitError::Ipv6)?;
        if inside.contains('%') {
            return Err(SplitError::Ipv6);
        }
        let ip = inside.parse().map_err(|_| SplitError::Ipv6)?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or(SplitError::Ipv6)?,
            )?),
        };
        return Ok((HostPart::V6(ip), port));
    }
    match entry.matches(':').count() {
        0 => Ok((HostPart::Text(entry), None)),
        1 => {
            let (host, port) = entry.split_once(':').unwrap_or((entry, ""));
            Ok((HostPart::Text(host), Some(parse_port(port)?)))
        }
        _ => Err(SplitError::Unbracketed),
    }
}

/// Ports in patterns: 1..65535, decimal, no leading zeros (so `:0443` can't
/// be mistaken for octal or for a different rule).
fn parse_port(s: &str) -> Result<u16, SplitError> {
    if s.is_empty() || s.len() > 5 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SplitError::Port);
    }
    match s.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err(SplitError::Port),
    }
}
