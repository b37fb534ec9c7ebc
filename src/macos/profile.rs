//! Policy → SBPL profile text plus `-D` parameters, as a pure function.
//!
//! Rule order (last match wins in Seatbelt): `(deny default)` with the run's log tag,
//! the fixed allowances ([`super::base`]), files ([`super::fs`]), network
//! ([`super::net`]). Paths from the policy are passed as parameters wherever Seatbelt
//! takes a path filter; globs, mandatory names and grouped lists are escaped regexes.

use super::fs::FsContext;
use super::sbpl::Writer;
use super::{base, fs, net, MacosError};
use crate::policy::Policy;
use std::hash::{BuildHasher, Hasher};

/// A per-run string carried in every deny's `(with message ...)`, so that the log
/// monitor picks out this run's denials from the system log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTag(String);

impl LogTag {
    /// Validates `tag`: ASCII letters, digits and `_` only (it goes into log predicates).
    pub fn new(tag: &str) -> Result<Self, MacosError> {
        let ok = !tag.is_empty()
            && tag.len() <= 64
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(LogTag(tag.to_string()))
        } else {
            Err(MacosError::BadLogTag(tag.to_string()))
        }
    }

    /// A fresh tag, `SRT_RUNC_<16 hex digits>`. Uniqueness, not secrecy, is the point:
    /// std's randomly keyed hasher plus the pid and time is enough.
    pub fn random() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(d.as_nanos());
        }
        LogTag(format!("SRT_RUNC_{:016x}", h.finish()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a profile depends on besides the policy.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    pub log_tag: LogTag,
    /// The proxy's port on 127.0.0.1; required when the policy has a network section.
    pub proxy_port: Option<u16>,
    /// The run's private temp dir (`TMPDIR`), writable.
    pub tmp_dir: Option<String>,
}

/// A generated profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// SBPL source for `sandbox-exec -p`.
    pub text: String,
    /// `(NAME, VALUE)` pairs for `sandbox-exec -D NAME=VALUE`, in order of first use.
    pub params: Vec<(String, String)>,
}

impl Profile {
    /// `-p TEXT -D NAME=VALUE ...` (without the command).
    pub fn sandbox_exec_args(&self) -> Vec<String> {
        let mut a = vec!["-p".to_string(), self.text.clone()];
        for (k, v) in &self.params {
            a.push("-D".to_string());
            a.push(format!("{k}={v}"));
        }
        a
    }

    /// The parameters as comments followed by the profile, for `srt-runc explain`.
    pub fn render(&self) -> String {
        let mut s = String::from("; sandbox-exec parameters:\n");
        for (k, v) in &self.params {
            s.push_str(&format!(";   -D {k}={v}\n"));
        }
        s.push_str(&self.text);
        s
    }
}

/// Generates the Seatbelt profile for `policy`.
pub fn generate(policy: &Policy, opts: &ProfileOptions) -> Result<Profile, MacosError> {
    let sb = &policy.sandbox;
    let mut w = Writer::new(opts.log_tag.as_str())?;
    w.line("(version 1)");
    w.line(&format!(
        "; srt-runc Seatbelt profile for {}",
        policy.origin.escape_debug()
    ));
    w.line("; Rule order matters: the last matching rule wins.");
    w.deny_default();

    let extra_mach = sb
        .network
        .as_ref()
        .map(|n| n.allow_mach_lookup.clone())
        .unwrap_or_default();
    base::write(&mut w, sb.allow_pty != Some(false), &extra_mach)?;

    let cwd = policy.process.cwd.to_string_lossy();
    fs::write(
        &mut w,
        sb.filesystem.as_ref(),
        FsContext {
            cwd: &cwd,
            tmp_dir: opts.tmp_dir.as_deref(),
        },
    )?;
    net::write(&mut w, sb.network.as_ref(), opts.proxy_port)?;

    let (text, params) = w.finish();
    Ok(Profile { text, params })
}

/// The profile `srt-runc explain --platform macos` prints: a fixed tag and the
/// proxy's default port stand in for the per-run random values.
pub fn explain(policy: &Policy) -> Result<String, MacosError> {
    let opts = ProfileOptions {
        log_tag: LogTag::new("SRT_RUNC_EXPLAIN")?,
        proxy_port: policy
            .sandbox
            .network
            .as_ref()
            .map(|_| crate::plan::PROXY_PORT),
        tmp_dir: Some("/private/tmp/srt-runc-RUN".to_string()),
    };
    let mut s = String::from(
        "; srt-runc explain --platform macos: the log tag, proxy port and temp dir are\n\
         ; placeholders; each run uses its own.\n",
    );
    s.push_str(&generate(policy, &opts)?.render());
    Ok(s)
}
