//! The enforcement report: what each protection layer actually achieved in one run.
//!
//! The init (strong mode) or the forked child (weaker mode) fills in what only it can
//! observe — procfs, Landlock, seccomp, no_new_privs, capabilities — after applying
//! them, and sends the report to the supervisor, which adds what only it can see (the
//! namespaces, compared with its own, and the proxy). A caller's floor is checked
//! against this report, not against a prediction, and the command runs only after the
//! check passed.

use crate::policy::Mode;
use serde::{Deserialize, Serialize};

/// One protection layer (reports list them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    UserNamespace,
    MountNamespace,
    PidNamespace,
    NetworkNamespace,
    IpcNamespace,
    UtsNamespace,
    CgroupNamespace,
    /// A procfs of the sandbox's own PID namespace (host PIDs invisible).
    Procfs,
    /// Landlock filesystem rules.
    Landlock,
    /// Landlock TCP rules (weaker mode's network confinement).
    LandlockNetwork,
    /// Landlock scopes: abstract unix sockets and signals.
    LandlockScopes,
    Seccomp,
    NoNewPrivs,
    Capabilities,
    /// The host-side filtering proxy, the sandbox's only way out.
    Proxy,
}

impl Layer {
    /// The namespace layers with the `/proc/PID/ns` name of each.
    pub const NAMESPACES: [(Layer, &'static str); 7] = [
        (Layer::UserNamespace, "user"),
        (Layer::MountNamespace, "mnt"),
        (Layer::PidNamespace, "pid"),
        (Layer::NetworkNamespace, "net"),
        (Layer::IpcNamespace, "ipc"),
        (Layer::UtsNamespace, "uts"),
        (Layer::CgroupNamespace, "cgroup"),
    ];
}

/// How far one layer is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// Fully in force.
    Enforced,
    /// In force with gaps, named in `reason`.
    Degraded { reason: String },
    /// Not in force; `errno` when the kernel refused it.
    Unavailable {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        reason: String,
    },
}

impl Status {
    /// A layer missing for a reason other than an errno.
    pub fn unavailable(reason: impl Into<String>) -> Status {
        Status::Unavailable {
            errno: None,
            reason: reason.into(),
        }
    }

    /// Whether the layer is fully enforced.
    pub fn is_enforced(&self) -> bool {
        matches!(self, Status::Enforced)
    }
}

/// One layer's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    pub layer: Layer,
    pub status: Status,
    /// What was applied (ABI, program names, listener addresses...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The whole report for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `strong` or `weaker` (never `auto`: the choice has been made).
    pub mode: Mode,
    /// The Landlock ABI used (0 when Landlock is unavailable).
    pub landlock_abi: i32,
    /// The seccomp programs installed, in order.
    pub seccomp_programs: Vec<String>,
    pub layers: Vec<LayerReport>,
    /// What this mode does not enforce at all (weaker mode's residuals).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_enforced: Vec<String>,
}

/// A layer a caller can require ("refuse to run unless ...").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Floor {
    /// No network except through the filtering proxy.
    Network,
    /// Landlock filesystem rules in force.
    Filesystem,
    /// A PID namespace of its own.
    Pid,
    /// Every namespace of strong mode.
    Namespaces,
}

impl Floor {
    pub const ALL: [Floor; 4] = [
        Floor::Network,
        Floor::Filesystem,
        Floor::Pid,
        Floor::Namespaces,
    ];

    /// The name used by `--require` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Floor::Network => "network",
            Floor::Filesystem => "filesystem",
            Floor::Pid => "pid",
            Floor::Namespaces => "namespaces",
        }
    }

    /// Parses a `--require` name.
    pub fn parse(s: &str) -> Option<Floor> {
        Floor::ALL.into_iter().find(|f| f.name() == s)
    }
}

impl Report {
    /// An empty report for `mode`; layers are added as they are applied.
    pub fn new(mode: Mode) -> Report {
        Report {
            mode,
            landlock_abi: 0,
            seccomp_programs: Vec::new(),
            layers: Vec::new(),
            not_enforced: Vec::new(),
        }
    }

    /// Records (or replaces) one layer's outcome.
    pub fn set(&mut self, layer: Layer, status: Status, detail: impl Into<String>) {
        self.layers.retain(|l| l.layer != layer);
        self.layers.push(LayerReport {
            layer,
            status,
            detail: detail.into(),
        });
        self.layers.sort_by_key(|l| l.layer);
    }

    /// Takes over every layer `other` recorded.
    pub fn merge(&mut self, other: Report) {
        for l in other.layers {
            self.set(l.layer, l.status, l.detail);
        }
    }

    /// The outcome of `layer`; a layer never recorded is unavailable.
    pub fn status(&self, layer: Layer) -> Status {
        self.layers
            .iter()
            .find(|l| l.layer == layer)
            .map(|l| l.status.clone())
            .unwrap_or_else(|| Status::unavailable("not applied in this run"))
    }

    fn enforced(&self, layer: Layer) -> bool {
        self.status(layer).is_enforced()
    }

    /// Whether `floor` holds in this run; `Err` carries why not.
    pub fn meets(&self, floor: Floor) -> Result<(), String> {
        let why = |layer: Layer| match self.status(layer) {
            Status::Enforced => String::new(),
            Status::Degraded { reason } => format!("{layer:?} is degraded: {reason}"),
            Status::Unavailable { reason, .. } => format!("{layer:?} is unavailable: {reason}"),
        };
        let ok = match floor {
            // Strong mode: a network namespace with only loopback. Weaker mode: Landlock
            // TCP rules that leave only the proxy's port.
            Floor::Network => {
                self.enforced(Layer::NetworkNamespace) || self.enforced(Layer::LandlockNetwork)
            }
            Floor::Filesystem => {
                !matches!(self.status(Layer::Landlock), Status::Unavailable { .. })
            }
            Floor::Pid => self.enforced(Layer::PidNamespace),
            Floor::Namespaces => Layer::NAMESPACES
                .iter()
                .all(|(layer, _)| self.enforced(*layer)),
        };
        if ok {
            return Ok(());
        }
        let reasons: Vec<String> = match floor {
            Floor::Network => vec![why(Layer::NetworkNamespace), why(Layer::LandlockNetwork)],
            Floor::Filesystem => vec![why(Layer::Landlock)],
            Floor::Pid => vec![why(Layer::PidNamespace)],
            Floor::Namespaces => Layer::NAMESPACES
                .iter()
                .map(|(l, _)| why(*l))
                .filter(|w| !w.is_empty())
                .collect(),
        };
        Err(reasons.join("; "))
    }

    /// Checks every floor; the first one that does not hold is returned with its reason.
    pub fn check(&self, floors: &[Floor]) -> Result<(), (Floor, String)> {
        for f in floors {
            self.meets(*f).map_err(|why| (*f, why))?;
        }
        Ok(())
    }
}

/// Compares the namespaces of `pid` with the caller's own: a namespace is enforced when
/// its inode differs. Read by the supervisor, which still sees the host's `/proc`.
pub fn namespaces_of(pid: i32, report: &mut Report) {
    for (layer, name) in Layer::NAMESPACES {
        let mine = std::fs::read_link(format!("/proc/self/ns/{name}"));
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{name}"));
        let (status, detail) = match (mine, theirs) {
            (Ok(a), Ok(b)) if a != b => (Status::Enforced, b.display().to_string()),
            (Ok(_), Ok(b)) => (
                Status::unavailable("the sandbox shares the caller's namespace"),
                b.display().to_string(),
            ),
            (_, Err(e)) | (Err(e), _) => (
                Status::Unavailable {
                    errno: e.raw_os_error(),
                    reason: format!("cannot read /proc/{pid}/ns/{name}: {e}"),
                },
                String::new(),
            ),
        };
        report.set(layer, status, detail);
    }
}

/// Marks every namespace as absent (weaker mode).
pub fn no_namespaces(report: &mut Report) {
    for (layer, _) in Layer::NAMESPACES {
        report.set(
            layer,
            Status::unavailable("weaker mode runs without namespaces"),
            "",
        );
    }
}

/// no_new_privs as the kernel reports it for the calling process.
pub fn no_new_privs_status() -> Status {
    match unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } {
        1 => Status::Enforced,
        0 => Status::unavailable("PR_GET_NO_NEW_PRIVS reads 0"),
        _ => Status::Unavailable {
            errno: std::io::Error::last_os_error().raw_os_error(),
            reason: "PR_GET_NO_NEW_PRIVS failed".into(),
        },
    }
}

/// The capability layer: verified empty (or exactly the configured sets).
pub fn capabilities_status(sets: &crate::policy::CapabilitySets) -> (Status, String) {
    if sets.effective.is_empty() && sets.permitted.is_empty() && sets.ambient.is_empty() {
        (
            Status::Enforced,
            "all sets empty (verified with capget)".into(),
        )
    } else {
        (
            Status::Degraded {
                reason: "the policy keeps some capabilities".into(),
            },
            format!("effective {:?}", sets.effective),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_follow_the_layers() {
        let mut r = Report::new(Mode::Weaker);
        no_namespaces(&mut r);
        r.set(Layer::Landlock, Status::Enforced, "");
        r.set(Layer::LandlockNetwork, Status::unavailable("ABI 3"), "");
        assert!(r.meets(Floor::Filesystem).is_ok());
        let err = r.meets(Floor::Network).unwrap_err();
        assert!(
            err.contains("LandlockNetwork is unavailable: ABI 3"),
            "{err}"
        );
        assert!(r.meets(Floor::Pid).is_err());
        r.set(Layer::LandlockNetwork, Status::Enforced, "");
        assert!(r.meets(Floor::Network).is_ok());
        assert_eq!(
            r.check(&[Floor::Network, Floor::Pid]).unwrap_err().0,
            Floor::Pid
        );
    }

    #[test]
    fn report_round_trips_as_json() {
        let mut r = Report::new(Mode::Strong);
        r.set(
            Layer::Proxy,
            Status::Unavailable {
                errno: Some(1),
                reason: "x".into(),
            },
            "d",
        );
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            text.contains(r#""layer":"proxy","status":{"status":"unavailable","errno":1"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), r);
    }
}
