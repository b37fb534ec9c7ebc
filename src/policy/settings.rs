//! The `"sandbox"` policy section: srt's settings schema plus srt-runc's additions.
//!
//! The same struct reads the `"sandbox"` key of an OCI `config.json` and an srt settings
//! file (`~/.srt-settings.json`). Unknown keys are an error, because a typo such as
//! `"denyRaed"` must never silently weaken a policy. srt fields that srt-runc does not
//! implement are accepted by the parser only so that they can be refused with a message
//! saying so, instead of "unknown field".

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which engine flavour a run uses (DESIGN.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Namespaces + Landlock + seccomp; fail if any layer cannot be applied.
    #[default]
    Strong,
    /// No namespaces: Landlock + seccomp only (for nested containers).
    Weaker,
    /// Strong where the host allows it, weaker otherwise (reported on stderr).
    Auto,
}

/// How weaker mode keeps srt's mandatory denies (`.bashrc`, `.git/hooks`, ...) that lie
/// inside a writable path. Without a mount namespace only Landlock is left, and Landlock
/// can only grant: a grant on a directory covers everything beneath it. So the only way
/// to keep a protected path unwritable inside a writable tree is to grant less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeakerDenies {
    /// Every directory between a writable path and a protected path is *frozen*: its
    /// entries other than the protected ones keep their write rights, but nothing can
    /// be created, removed or renamed directly in it, so a protected path can be
    /// neither written, nor replaced, nor created (its mode, times and extended
    /// attributes are outside Landlock's reach, and truncation needs Landlock ABI 3).
    /// The cost: no new files directly in such a directory (often the project root,
    /// and `.git`, which git needs for its lock files).
    #[default]
    Freeze,
    /// Writable paths are writable whole, protected paths included; the run says so on
    /// stderr and in the enforcement report.
    Unenforced,
}

/// A path entry: a plain string (may be a glob where the field allows it) or
/// `{"path": "...", "literal": true}`, which is never treated as a glob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathEntry {
    Plain(String),
    Object(LiteralPath),
}

/// The object form of a [`PathEntry`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiteralPath {
    pub path: String,
    #[serde(default)]
    pub literal: bool,
}

impl PathEntry {
    /// The path text as written.
    pub fn path(&self) -> &str {
        match self {
            PathEntry::Plain(p) => p,
            PathEntry::Object(o) => &o.path,
        }
    }
    /// Whether glob characters in the entry are to be taken literally.
    pub fn literal(&self) -> bool {
        matches!(self, PathEntry::Object(LiteralPath { literal: true, .. }))
    }
}

impl From<&str> for PathEntry {
    fn from(s: &str) -> Self {
        PathEntry::Plain(s.to_string())
    }
}

/// `"sandbox"` / srt settings, top level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SandboxSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemSettings>,
    /// Command pattern → path substrings whose violations are not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_violations: Option<BTreeMap<String, Vec<String>>>,
    /// srt's switch for nested containers; the same as `"mode": "weaker"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_weaker_nested_sandbox: Option<bool>,
    /// How deep the mandatory-deny scan looks below each writable directory (1..10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory_deny_search_depth: Option<u32>,
    /// Let the command create user namespaces (and so mount inside them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_nested_user_namespaces: Option<bool>,
    /// macOS only in srt; accepted and ignored on Linux (ptys always work here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_pty: Option<bool>,
    /// srt's ripgrep override. srt-runc walks the tree itself, so this is accepted and unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ripgrep: Option<serde_json::Value>,
    /// srt-runc: strong (default), weaker, or auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// srt-runc, weaker mode only: how srt's mandatory denies inside writable paths are
    /// kept (default `freeze`; see [`WeakerDenies`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weaker_mandatory_denies: Option<WeakerDenies>,

    // srt fields refused with "not supported by srt-runc" (see `unsupported`).
    #[serde(default, skip_serializing)]
    pub credentials: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub enable_weaker_network_isolation: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub allow_apple_events: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub seccomp: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub bwrap_path: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub socat_path: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub java_agent_jar_path: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub git: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub windows: Option<serde_json::Value>,
}

/// `network` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSettings {
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    pub denied_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denied_domain_reasons: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_allowlist: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_resolved_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_sockets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_all_unix_sockets: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_local_binding: Option<bool>,
    /// macOS XPC services; accepted, meaningless on Linux.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_mach_lookup: Vec<String>,
    /// Use an external HTTP proxy on localhost:PORT instead of srt-runc's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_proxy_port: Option<u16>,
    /// Use an external SOCKS proxy on localhost:PORT instead of srt-runc's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socks_proxy_port: Option<u16>,
    /// srt-runc: static name → addresses map used by the proxy instead of DNS
    /// (like curl's `--resolve`), e.g. `{"git.internal": ["198.18.0.2"]}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolve: BTreeMap<String, Vec<String>>,
    /// srt-runc: upstream connect timeout in milliseconds (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,

    #[serde(default, skip_serializing)]
    pub mitm_proxy: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub parent_proxy: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub tls_terminate: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub allow_plaintext_header_set: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub strip_response_headers: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub refuse_opaque_tunnels: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub require_host_match: Option<serde_json::Value>,
    #[serde(default, skip_serializing)]
    pub ambiguous_request_target: Option<serde_json::Value>,
}

/// `filesystem` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilesystemSettings {
    #[serde(default)]
    pub deny_read: Vec<PathEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_read: Vec<PathEntry>,
    #[serde(default)]
    pub allow_write: Vec<PathEntry>,
    #[serde(default)]
    pub deny_write: Vec<PathEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_git_config: Option<bool>,
    /// No filesystem rules at all (and no mandatory denies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

impl SandboxSettings {
    /// Fields srt has that srt-runc refuses, as `(field path, name)`.
    pub fn unsupported(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let top: [(&'static str, bool); 9] = [
            ("credentials", self.credentials.is_some()),
            (
                "enableWeakerNetworkIsolation",
                self.enable_weaker_network_isolation.is_some(),
            ),
            ("allowAppleEvents", self.allow_apple_events.is_some()),
            ("seccomp", self.seccomp.is_some()),
            ("bwrapPath", self.bwrap_path.is_some()),
            ("socatPath", self.socat_path.is_some()),
            ("javaAgentJarPath", self.java_agent_jar_path.is_some()),
            ("git", self.git.is_some()),
            ("windows", self.windows.is_some()),
        ];
        out.extend(top.iter().filter(|(_, set)| *set).map(|(n, _)| *n));
        if let Some(n) = &self.network {
            let net: [(&'static str, bool); 8] = [
                ("network.mitmProxy", n.mitm_proxy.is_some()),
                ("network.parentProxy", n.parent_proxy.is_some()),
                ("network.tlsTerminate", n.tls_terminate.is_some()),
                (
                    "network.allowPlaintextHeaderSet",
                    n.allow_plaintext_header_set.is_some(),
                ),
                (
                    "network.stripResponseHeaders",
                    n.strip_response_headers.is_some(),
                ),
                (
                    "network.refuseOpaqueTunnels",
                    n.refuse_opaque_tunnels.is_some(),
                ),
                ("network.requireHostMatch", n.require_host_match.is_some()),
                (
                    "network.ambiguousRequestTarget",
                    n.ambiguous_request_target.is_some(),
                ),
            ];
            out.extend(net.iter().filter(|(_, set)| *set).map(|(n, _)| *n));
        }
        out
    }

    /// The mode this policy asks for, folding srt's `enableWeakerNestedSandbox` in.
    pub fn mode(&self) -> Mode {
        match (self.mode, self.enable_weaker_nested_sandbox) {
            (Some(m), _) => m,
            (None, Some(true)) => Mode::Weaker,
            _ => Mode::Strong,
        }
    }
}
