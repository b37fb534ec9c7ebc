//! The host-side egress proxy and its domain policy.
//!
//! The sandbox has only loopback; its proxy listener sockets are created
//! inside the sandbox network namespace and handed to the supervisor, which
//! calls [`spawn`] with them. One port serves HTTP (CONNECT and
//! absolute-form requests) and SOCKS5, told apart by the first byte. Every
//! request is checked against a [`NetworkPolicy`]; allowed hostnames pass
//! the resolved-address guard before they are dialled.
//!
//! Submodules are small and single-purpose: [`host`] (request-time host
//! canonicalisation), [`domain`] (patterns), [`decision`] (the decision
//! order), [`guard`] (resolved-address checks), [`tunnel`] (byte relay),
//! [`events`], and the protocol front-ends.

pub mod decision;
pub mod domain;
pub mod events;
pub mod guard;
pub mod host;
pub mod public_suffix;
pub mod tunnel;

mod audit;
mod connect;
mod http;
mod server;
mod socks;
mod upstream;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

pub use connect::{connect_io, connect_stdio};
pub use decision::{Decision, NetworkPolicy};
pub use domain::{Pattern, PatternError, PatternList};
pub use events::{Event, EventCallback, EventSink, Protocol, Verdict};
pub use host::{canonical_host, Host, HostError};

/// Future returned by an [`AskHook`].
pub type AskFuture = Pin<Box<dyn Future<Output = Decision> + Send>>;

/// Asked about hosts that no rule covers (unless `strictAllowlist`), with
/// the canonical host and the port. Called once per connection; cache in
/// the hook if prompting the user is expensive.
pub type AskHook = Arc<dyn Fn(String, u16) -> AskFuture + Send + Sync>;

/// Everything the proxy needs to run.
#[derive(Clone)]
pub struct ProxyConfig {
    pub policy: NetworkPolicy,
    /// Static name → addresses map consulted before DNS, like curl's
    /// `--resolve`. Lets callers pin names (and tests reach local servers)
    /// without touching `/etc/hosts`. Addresses still pass the guard.
    pub resolve_overrides: HashMap<String, Vec<IpAddr>>,
    /// Upper bound for dialling the upstream (all candidate addresses).
    pub connect_timeout: Duration,
    /// How long a new connection may stay silent before its first byte.
    pub first_byte_timeout: Duration,
    /// Time allowed to send a complete HTTP request head or SOCKS
    /// handshake; defeats slowloris clients.
    pub header_read_timeout: Duration,
    /// Bound on an HTTP request head (hyper's buffer; at least 8192).
    pub max_header_bytes: usize,
    pub events: EventSink,
    pub ask: Option<AskHook>,
    /// An ask hook that does not answer within this time means deny.
    pub ask_timeout: Duration,
    /// Connections served at once; further ones are closed on accept, so
    /// a sandboxed process cannot exhaust the supervisor's fds.
    pub max_connections: usize,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("policy", &self.policy)
            .field("resolve_overrides", &self.resolve_overrides)
            .field("connect_timeout", &self.connect_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("events", &self.events)
            .field("ask", &self.ask.is_some())
            .field("ask_timeout", &self.ask_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl ProxyConfig {
    /// The config for a `"sandbox".network` / srt `network` section: its domain
    /// policy, static `resolve` map and connect timeout (events are the caller's).
    pub fn from_settings(n: &crate::policy::NetworkSettings) -> Result<Self, PatternError> {
        let policy = NetworkPolicy::new(&n.allowed_domains, &n.denied_domains)?
            .with_denied_reasons(n.denied_domain_reasons.clone().into_iter().collect())
            .with_strict_allowlist(n.strict_allowlist.unwrap_or(false));
        let mut config = ProxyConfig::new(policy);
        for (name, addrs) in &n.resolve {
            let ips = addrs.iter().filter_map(|a| a.parse().ok()).collect();
            config.resolve_overrides.insert(name.clone(), ips);
        }
        if let Some(ms) = n.connect_timeout_ms {
            config.connect_timeout = Duration::from_millis(ms);
        }
        Ok(config)
    }

    /// A config with the given policy and conservative defaults.
    pub fn new(policy: NetworkPolicy) -> Self {
        ProxyConfig {
            policy,
            resolve_overrides: HashMap::new(),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            events: EventSink::none(),
            ask: None,
            ask_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Immutable per-proxy state shared by all connections; the policy alone
/// can be swapped at run time (srt re-reads network rules live).
pub(crate) struct Shared {
    policy: RwLock<Arc<NetworkPolicy>>,
    pub(crate) config: ProxyConfig,
    pub(crate) active: std::sync::atomic::AtomicUsize,
}

impl Shared {
    pub(crate) fn policy(&self) -> Arc<NetworkPolicy> {
        self.policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A running proxy. Dropping it also stops the proxy (without waiting).
pub struct ProxyHandle {
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProxyHandle {
    /// Local addresses of the listeners being served.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Replace the policy for new connections; open tunnels are unaffected.
    pub fn set_policy(&self, policy: NetworkPolicy) {
        *self
            .shared
            .policy
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
    }

    /// Close the listeners, drop every open connection and wait for the
    /// proxy thread to exit.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Start serving on already-bound listeners (they may come from another
/// network namespace via SCM_RIGHTS).
///
/// The proxy gets its own current-thread tokio runtime on one background
/// thread: the supervisor stays free of async machinery and the proxy's
/// memory stays small (tunnels splice in the kernel, so one thread is
/// enough for throughput).
pub fn spawn(
    listeners: Vec<std::net::TcpListener>,
    mut config: ProxyConfig,
) -> io::Result<ProxyHandle> {
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "proxy: no listeners given",
        ));
    }
    config.resolve_overrides = config
        .resolve_overrides
        .into_iter()
        .map(|(k, v)| (k.trim_end_matches('.').to_ascii_lowercase(), v))
        .collect();
    let mut addrs = Vec::with_capacity(listeners.len());
    for l in &listeners {
        l.set_nonblocking(true)?;
        addrs.push(l.local_addr()?);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .thread_name("srt-proxy")
        .build()?;
    let shared = Arc::new(Shared {
        policy: RwLock::new(Arc::new(config.policy.clone())),
        config,
        active: std::sync::atomic::AtomicUsize::new(0),
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let for_thread = shared.clone();
    let thread = std::thread::Builder::new()
        .name("srt-proxy".into())
        .spawn(move || {
            runtime.block_on(async move {
                for l in listeners {
                    match tokio::net::TcpListener::from_std(l) {
                        Ok(l) => {
                            tokio::spawn(server::accept_loop(l, for_thread.clone()));
                        }
                        Err(e) => tracing::error!("proxy: cannot register listener: {e}"),
                    }
                }
                let _ = stop_rx.await;
            });
            // Dropping the runtime drops every connection task and so closes
            // every socket; the timeout bounds waiting for DNS lookups.
            runtime.shutdown_timeout(Duration::from_millis(500));
        })?;
    Ok(ProxyHandle {
        addrs,
        shared,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}
