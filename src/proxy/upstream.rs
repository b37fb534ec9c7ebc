//! The protocol-independent part of handling a request: decide, ask,
//! resolve through the guard, dial. HTTP and SOCKS5 only translate the
//! outcome into their own wire replies.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::audit::Audit;
use super::decision::{Decision, Verdict, NOT_ON_ALLOWLIST};
use super::events::Protocol;
use super::guard::{resolve_checked, GuardError};
use super::host::Host;
use super::Shared;

/// Why a request did not get a tunnel, in the terms replies need.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The host was malformed (HTTP 400, SOCKS general failure).
    Invalid(String),
    /// Policy or guard said no (HTTP 403, SOCKS 0x02).
    Denied(String),
    /// The upstream refused the connection (HTTP 502, SOCKS 0x05).
    Refused(String),
    /// Name resolution or routing failed (HTTP 502, SOCKS 0x04).
    Unreachable(String),
    /// Dialling took longer than `connect_timeout` (HTTP 504, SOCKS 0x06).
    TimedOut(String),
}

/// An allowed, connected upstream plus the audit record to finish.
pub(crate) struct Opened {
    pub(crate) stream: TcpStream,
    pub(crate) audit: Audit,
}

/// Run the whole decision pipeline and dial. The returned audit (inside
/// `Opened` or dropped on refusal) reports the attempt.
pub(crate) async fn open(
    shared: &Arc<Shared>,
    protocol: Protocol,
    raw_host: &str,
    port: u16,
) -> Result<Opened, Refusal> {
    let sink = &shared.config.events;
    let policy = shared.policy();
    let (host, verdict) = policy.evaluate(raw_host, port);
    let shown = host
        .as_ref()
        .map_or_else(|| raw_host.escape_debug().to_string(), |h| h.to_string());
    let Some(host) = host else {
        let Verdict::Decided(d) = verdict else {
            unreachable!("invalid hosts are decided")
        };
        let reason = d.reason.clone();
        drop(Audit::new(sink, protocol, shown, port, d));
        return Err(Refusal::Invalid(reason));
    };
    let decision = match verdict {
        Verdict::Decided(d) => d,
        Verdict::Unlisted => ask(shared, &host, port).await,
    };
    let allowed = decision.allowed;
    let audit = Audit::new(sink, protocol, shown, port, decision);
    if !allowed {
        let reason = audit_reason(&audit);
        return Err(Refusal::Denied(reason));
    }
    let cfg = &shared.config;
    let addrs = match resolve_checked(&host, port, &cfg.resolve_overrides, &policy).await {
        Ok(a) => a,
        Err(e @ GuardError::Blocked { .. }) => {
            let reason = e.to_string();
            audit.update(|d| {
                d.allowed = false;
                d.reason = reason.clone();
            });
            return Err(Refusal::Denied(reason));
        }
        Err(e) => {
            let reason = e.to_string();
            audit.update(|d| d.reason = format!("{}; {reason}", d.reason));
            return Err(Refusal::Unreachable(reason));
        }
    };
    match dial(&addrs, cfg.connect_timeout).await {
        Ok(stream) => Ok(Opened { stream, audit }),
        Err(refusal) => {
            let text = match &refusal {
                Refusal::Refused(t) | Refusal::Unreachable(t) | Refusal::TimedOut(t) => t.clone(),
                Refusal::Invalid(t) | Refusal::Denied(t) => t.clone(),
            };
            audit.update(|d| d.reason = format!("{}; upstream: {text}", d.reason));
            Err(refusal)
        }
    }
}

fn audit_reason(audit: &Audit) -> String {
    let mut out = String::new();
    audit.update(|d| out = d.reason.clone());
    out
}

/// Consult the ask hook, if any; no hook, a panic-free timeout or a hook
/// that never answers all mean deny.
async fn ask(shared: &Arc<Shared>, host: &Host, port: u16) -> Decision {
    let Some(hook) = shared.config.ask.clone() else {
        return Decision::deny(NOT_ON_ALLOWLIST);
    };
    match timeout(shared.config.ask_timeout, hook(host.to_string(), port)).await {
        Ok(d) => d,
        Err(_) => Decision::deny(format!("{NOT_ON_ALLOWLIST} (ask hook timed out)")),
    }
}

/// Dial the checked addresses in order within one overall deadline.
async fn dial(addrs: &[SocketAddr], limit: Duration) -> Result<TcpStream, Refusal> {
    let deadline = Instant::now() + limit;
    let mut last: Option<io::Error> = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => {
                return Err(Refusal::TimedOut(format!(
                    "connecting to {addr} timed out after {} ms",
                    limit.as_millis()
                )))
            }
        }
    }
    let e = last.unwrap_or_else(|| io::Error::other("no address to dial"));
    let text = format!(
        "connecting to {} failed: {e}",
        addrs.last().map_or(String::new(), |a| a.to_string())
    );
    Err(match e.kind() {
        io::ErrorKind::ConnectionRefused => Refusal::Refused(text),
        io::ErrorKind::TimedOut => Refusal::TimedOut(text),
        _ => Refusal::Unreachable(text),
    })
}
