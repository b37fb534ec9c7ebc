//! The network policy and its decision order.
//!
//! Order (srt v0.0.83): invalid host → deny; a `deniedDomains` match → deny
//! (deny always wins, so a broad allow can never override a specific deny);
//! an `allowedDomains` match → allow; otherwise the host is *unlisted*,
//! which is a deny unless an ask hook is configured and the allowlist is not
//! strict. [`NetworkPolicy::decide`] is pure (no DNS, no hook) so it can be
//! unit-tested and printed by `srt-runc explain`.

use std::collections::HashMap;
use std::net::IpAddr;

use super::domain::{Pattern, PatternError, PatternList};
use super::host::{canonical_host, Host};

/// The outcome for one connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the connection may proceed.
    pub allowed: bool,
    /// Human-readable reason, shown in events and in the 403 status line.
    pub reason: String,
    /// The pattern (as written) that decided, if a rule did.
    pub rule: Option<String>,
}

impl Decision {
    /// An allow without a rule (e.g. from an ask hook).
    pub fn allow(reason: impl Into<String>) -> Self {
        Decision {
            allowed: true,
            reason: reason.into(),
            rule: None,
        }
    }

    /// A deny without a rule.
    pub fn deny(reason: impl Into<String>) -> Self {
        Decision {
            allowed: false,
            reason: reason.into(),
            rule: None,
        }
    }
}

/// Reason used when nothing matched and nobody could be asked.
pub const NOT_ON_ALLOWLIST: &str = "host is not on the allow list";

/// What the rules say before an ask hook gets involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The host was invalid or a rule decided.
    Decided(Decision),
    /// No rule matched; an ask hook may decide.
    Unlisted,
}

/// The loaded, validated domain policy.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    allowed: Vec<Pattern>,
    denied: Vec<Pattern>,
    denied_reasons: HashMap<String, String>,
    strict_allowlist: bool,
}

impl NetworkPolicy {
    /// Load `allowedDomains` and `deniedDomains`. An empty allow list is
    /// valid and means nothing is allowed.
    pub fn new(allowed: &[String], denied: &[String]) -> Result<Self, PatternError> {
        let load = |list: &[String], which| {
            list.iter()
                .enumerate()
                .map(|(i, e)| Pattern::parse(e, which, i))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(NetworkPolicy {
            allowed: load(allowed, PatternList::Allowed)?,
            denied: load(denied, PatternList::Denied)?,
            denied_reasons: HashMap::new(),
            strict_allowlist: false,
        })
    }

    /// `deniedDomainReasons`: reason text keyed by the exact deniedDomains
    /// entry. Keys that name no entry are ignored (they cannot weaken
    /// anything).
    pub fn with_denied_reasons(mut self, reasons: HashMap<String, String>) -> Self {
        self.denied_reasons = reasons;
        self
    }

    /// `strictAllowlist`: never consult the ask hook for unlisted hosts.
    pub fn with_strict_allowlist(mut self, strict: bool) -> Self {
        self.strict_allowlist = strict;
        self
    }

    /// Whether unlisted hosts are denied without asking.
    pub fn strict_allowlist(&self) -> bool {
        self.strict_allowlist
    }

    /// The loaded allow patterns.
    pub fn allowed(&self) -> &[Pattern] {
        &self.allowed
    }

    /// The loaded deny patterns.
    pub fn denied(&self) -> &[Pattern] {
        &self.denied
    }

    /// Decide `host:port` with the rules alone (no DNS, no ask hook): an
    /// unlisted host is denied.
    pub fn decide(&self, host: &str, port: u16) -> Decision {
        match self.evaluate(host, port).1 {
            Verdict::Decided(d) => d,
            Verdict::Unlisted => Decision::deny(NOT_ON_ALLOWLIST),
        }
    }

    /// Validate and canonicalise `host`, then apply the rules.
    pub(crate) fn evaluate(&self, host: &str, port: u16) -> (Option<Host>, Verdict) {
        match canonical_host(host) {
            Err(e) => (
                None,
                Verdict::Decided(Decision::deny(format!("invalid host: {e}"))),
            ),
            Ok(h) => {
                let v = self.evaluate_host(&h, port);
                (Some(h), v)
            }
        }
    }

    pub(crate) fn evaluate_host(&self, host: &Host, port: u16) -> Verdict {
        if let Some(p) = self.denied.iter().find(|p| p.matches(host, port)) {
            let reason = self
                .denied_reasons
                .get(p.source())
                .cloned()
                .unwrap_or_else(|| format!("denied by rule {}", p.source()));
            return Verdict::Decided(Decision {
                allowed: false,
                reason,
                rule: Some(p.source().to_string()),
            });
        }
        if let Some(p) = self.allowed.iter().find(|p| p.matches(host, port)) {
            return Verdict::Decided(Decision {
                allowed: true,
                reason: format!("allowed by rule {}", p.source()),
                rule: Some(p.source().to_string()),
            });
        }
        if self.strict_allowlist {
            return Verdict::Decided(Decision::deny(format!(
                "{NOT_ON_ALLOWLIST} (strict allowlist)"
            )));
        }
        Verdict::Unlisted
    }

    /// Is `ip` itself an allowed literal for `port`? Used by the
    /// resolved-address guard: naming an address explicitly is consent to
    /// reach it even if it is loopback or private.
    pub fn allows_literal(&self, ip: IpAddr, port: u16) -> bool {
        let host = Host::Ip(ip);
        self.allowed
            .iter()
            .any(|p| p.literal_ip() == Some(ip) && p.matches(&host, port))
    }

    /// Is `ip` an IP literal in `deniedDomains` (any port)? A hostname must
    /// not be a way to reach an address the user denied by number.
    pub fn denies_literal(&self, ip: IpAddr, port: u16) -> bool {
        let host = Host::Ip(ip);
        self.denied
            .iter()
            .any(|p| p.literal_ip() == Some(ip) && p.matches(&host, port))
    }
}
