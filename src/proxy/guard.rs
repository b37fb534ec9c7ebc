//! Resolved-address guard (SSRF / DNS-rebinding defence).
//!
//! An allowed *hostname* is resolved exactly once here; addresses that point
//! back at the host or at cloud metadata services are dropped, and the
//! caller dials one of the survivors — the very address that was checked, so
//! a second DNS answer cannot swap in a forbidden one.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::decision::NetworkPolicy;
use super::host::{canonical_ip, Host};

/// Why an address may not be reached through an allowed hostname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrClass {
    Loopback,
    Unspecified,
    LinkLocal,
    Multicast,
    Broadcast,
    CloudMetadata,
    HostInterface,
    DeniedLiteral,
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrClass::Loopback => "loopback",
            AddrClass::Unspecified => "unspecified/this-network",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Multicast => "multicast",
            AddrClass::Broadcast => "broadcast",
            AddrClass::CloudMetadata => "cloud metadata",
            AddrClass::HostInterface => "this host's own interface address",
            AddrClass::DeniedLiteral => "denied IP literal",
        })
    }
}

/// Failure to turn an allowed host into dialable addresses.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("could not resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{host} did not resolve to any address")]
    NoAddress { host: String },
    #[error("{host} resolves only to blocked addresses: {list}")]
    Blocked { host: String, list: String },
}

/// Classify an address by itself (without the host-interface set).
pub fn classify(ip: IpAddr) -> Option<AddrClass> {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddrClass> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some(AddrClass::Loopback)
    } else if o[0] == 0 {
        Some(AddrClass::Unspecified)
    } else if ip == Ipv4Addr::new(169, 254, 169, 254)
        || ip == Ipv4Addr::new(100, 100, 100, 200)
        || ip == Ipv4Addr::new(168, 63, 129, 16)
        || ip == Ipv4Addr::new(192, 0, 0, 192)
    {
        Some(AddrClass::CloudMetadata)
    } else if ip.is_link_local() {
        Some(AddrClass::LinkLocal)
    } else if ip.is_multicast() {
        Some(AddrClass::Multicast)
    } else if ip.is_broadcast() {
        Some(AddrClass::Broadcast)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddrClass> {
    let s = ip.segments();
    let metadata: [Ipv6Addr; 3] = [
        Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
        Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0xa9fe, 0xa9fe),
        Ipv6Addr::new(0xfd00, 0x42, 0, 0, 0, 0, 0, 0x42),
    ];
    if ip.is_loopback() {
        Some(AddrClass::Loopback)
    } else if ip.is_unspecified() {
        Some(AddrClass::Unspecified)
    } else if (s[0] == 0xfd00 && s[1] == 0x0ec2) || metadata.contains(&ip) {
        Some(AddrClass::CloudMetadata)
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some(AddrClass::LinkLocal)
    } else if ip.is_multicast() {
        Some(AddrClass::Multicast)
    } else {
        None
    }
}

/// IPv4 carried inside IPv6 (mapped, compatible, NAT64 64:ff9b::/96, 6to4
/// 2002::/16): the IPv4 rules must apply to these too.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = ip.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        Some(tail)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

/// This host's own interface addresses. Read on every use (interfaces can
/// change); failures yield an empty set rather than blocking everything.
pub fn host_addresses() -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter_map(|a| {
            let sa = a.address?;
            if let Some(v4) = sa.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                sa.as_sockaddr_in6()
                    .map(|v6| canonical_ip(IpAddr::V6(v6.ip())))
            }
        })
        .collect()
}

/// Resolve an allowed host to the addresses that may be dialled.
///
/// IP literals are returned as they are: the policy already matched the
/// exact address. Names consult `overrides` first (like curl's
/// `--resolve`), `localhost` maps to loopback without DNS, anything else
/// goes through the system resolver once.
pub async fn resolve_checked(
    host: &Host,
    port: u16,
    overrides: &HashMap<String, Vec<IpAddr>>,
    policy: &NetworkPolicy,
) -> Result<Vec<SocketAddr>, GuardError> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    let candidates: Vec<IpAddr> = if let Some(ips) = overrides.get(name) {
        ips.clone()
    } else if name == "localhost" {
        vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
    } else {
        tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|source| GuardError::Resolve {
                host: name.clone(),
                source,
            })?
            .map(|sa| sa.ip())
            .collect()
    };
    if candidates.is_empty() {
        return Err(GuardError::NoAddress { host: name.clone() });
    }
    let own = host_addresses();
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for ip in candidates.into_iter().map(canonical_ip) {
        let class = if policy.denies_literal(ip, port) {
            Some(AddrClass::DeniedLiteral)
        } else {
            classify(ip).or_else(|| own.contains(&ip).then_some(AddrClass::HostInterface))
        };
        match class {
            Some(c) if c == AddrClass::DeniedLiteral || !policy.allows_literal(ip, port) => {
                dropped.push(format!("{ip} ({c})"))
            }
            _ => kept.push(SocketAddr::new(ip, port)),
        }
    }
    if kept.is_empty() {
        return Err(GuardError::Blocked {
            host: name.clone(),
            list: dropped.join(", "),
        });
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let c = |s: &str| classify(s.parse().unwrap());
        assert_eq!(c("127.0.0.5"), Some(AddrClass::Loopback));
        assert_eq!(c("::1"), Some(AddrClass::Loopback));
        assert_eq!(c("::ffff:127.0.0.1"), Some(AddrClass::Loopback));
        assert_eq!(c("64:ff9b::7f00:1"), Some(AddrClass::Loopback));
        assert_eq!(c("2002:a9fe:a9fe::"), Some(AddrClass::CloudMetadata));
        assert_eq!(c("0.0.0.0"), Some(AddrClass::Unspecified));
        assert_eq!(c("::"), Some(AddrClass::Unspecified));
        assert_eq!(c("169.254.169.254"), Some(AddrClass::CloudMetadata));
        assert_eq!(c("169.254.1.1"), Some(AddrClass::LinkLocal));
        assert_eq!(c("fe80::1"), Some(AddrClass::LinkLocal));
        assert_eq!(c("fd00:ec2::254"), Some(AddrClass::CloudMetadata));
        assert_eq!(c("100.100.100.200"), Some(AddrClass::CloudMetadata));
        assert_eq!(c("224.0.0.1"), Some(AddrClass::Multicast));
        assert_eq!(c("ff02::1"), Some(AddrClass::Multicast));
        assert_eq!(c("255.255.255.255"), Some(AddrClass::Broadcast));
        assert_eq!(c("93.184.216.34"), None);
        assert_eq!(c("2606:4700::1111"), None);
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn policy(allowed: &[&str], denied: &[&str]) -> NetworkPolicy {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        NetworkPolicy::new(&s(allowed), &s(denied)).unwrap()
    }

    #[test]
    fn drops_forbidden_keeps_public_and_dials_checked_address() {
        let mut o = HashMap::new();
        let ips = [
            "127.0.0.1",
            "169.254.169.254",
            "fd00:ec2::254",
            "198.51.100.7",
        ];
        o.insert(
            "mixed.example".to_string(),
            ips.iter().map(|i| i.parse().unwrap()).collect(),
        );
        let p = policy(&["mixed.example"], &[]);
        let host = Host::Name("mixed.example".into());
        let got = run(resolve_checked(&host, 443, &o, &p)).unwrap();
        assert_eq!(got, vec!["198.51.100.7:443".parse().unwrap()]);
    }

    #[test]
    fn blocked_error_names_the_class_and_literals_exempt() {
        let mut o = HashMap::new();
        o.insert(
            "meta.example".to_string(),
            vec!["169.254.169.254".parse().unwrap()],
        );
        let host = Host::Name("meta.example".into());
        let err = run(resolve_checked(
            &host,
            80,
            &o,
            &policy(&["meta.example"], &[]),
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "meta.example resolves only to blocked addresses: 169.254.169.254 (cloud metadata)"
        );
        let p = policy(&["meta.example", "169.254.169.254:80"], &[]);
        assert!(run(resolve_checked(&host, 80, &o, &p)).is_ok());
        // The literal exemption is per port.
        assert!(run(resolve_checked(&host, 81, &o, &p)).is_err());
        // A denied literal is never reachable through a name.
        let p = policy(&["meta.example", "169.254.169.254"], &["169.254.169.254"]);
        assert!(run(resolve_checked(&host, 80, &o, &p)).is_err());
    }

    #[test]
    fn localhost_is_loopback_without_dns_and_host_addresses_are_blocked() {
        let host = Host::Name("localhost".into());
        let err = run(resolve_checked(
            &host,
            80,
            &HashMap::new(),
            &policy(&["localhost"], &[]),
        ));
        assert!(err.unwrap_err().to_string().contains("loopback"));
        if let Some(own) = host_addresses()
            .into_iter()
            .find(|ip| classify(*ip).is_none())
        {
            let mut o = HashMap::new();
            o.insert("me.example".to_string(), vec![own]);
            let host = Host::Name("me.example".into());
            let err = run(resolve_checked(
                &host,
                80,
                &o,
                &policy(&["me.example"], &[]),
            ));
            assert!(err.unwrap_err().to_string().contains("own interface"));
        }
    }
}
