//! Front-end: srt's settings file and command line → [`Policy`].
//!
//! `srt-runc sandbox` (and the `srt` multicall name) run a command on the host
//! filesystem, read-only except the writable paths, exactly as srt's Linux path does —
//! through srt-runc's engine and proxy. Settings errors behave like srt v0.0.83: only a
//! *missing default* file means "built-in defaults"; an empty, unreadable or invalid
//! file, or a missing file named by `-s`, is refused (exit 1) with the field named.

use super::oci::resolve_sandbox_paths;
use super::{FilesystemSettings, NetworkSettings, PathEntry, Policy, ProcessSpec, SandboxSettings};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// `TMPDIR` inside srt sandboxes (srt's default private temp directory).
pub const SANDBOX_TMPDIR: &str = "/tmp/claude";

/// The command to run: `-c STRING` verbatim, or argv words shell-quoted (as srt v0.0.83).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Shell(String),
    Argv(Vec<String>),
}

impl CommandLine {
    /// The shell source srt would run.
    pub fn script(&self) -> String {
        match self {
            CommandLine::Shell(s) => s.clone(),
            CommandLine::Argv(v) => v
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Quotes one word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The default settings path: `~/.srt-settings.json`.
pub fn default_settings_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".srt-settings.json"))
}

/// Built-in defaults: no network (the proxy still answers, with denials); writes only to
/// the default write paths; reads unrestricted.
pub fn default_settings() -> SandboxSettings {
    SandboxSettings {
        network: Some(NetworkSettings::default()),
        filesystem: Some(FilesystemSettings::default()),
        ..Default::default()
    }
}

/// Keys srt's schema requires, checked on the raw JSON so the message can name them.
const REQUIRED: &[(&str, &str, &str)] = &[
    (
        "network",
        "",
        "add \"network\": {\"allowedDomains\": [], \"deniedDomains\": []}",
    ),
    (
        "filesystem",
        "",
        "add \"filesystem\": {\"denyRead\": [], \"allowWrite\": [], \"denyWrite\": []}",
    ),
    (
        "network",
        "allowedDomains",
        "add \"allowedDomains\": [] (an empty list means no network)",
    ),
    ("network", "deniedDomains", "add \"deniedDomains\": []"),
    ("filesystem", "denyRead", "add \"denyRead\": []"),
    ("filesystem", "allowWrite", "add \"allowWrite\": []"),
    ("filesystem", "denyWrite", "add \"denyWrite\": []"),
];

/// Loads the settings: `explicit` (from `-s`) must exist; the default path may be missing.
pub fn load_settings(explicit: Option<&Path>) -> Result<(SandboxSettings, String)> {
    let (path, named) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_settings_path() {
            Some(p) => (p, false),
            None => return Ok((default_settings(), "(built-in defaults)".into())),
        },
    };
    let shown = path.display().to_string();
    let refuse = |text: String| Error::Settings {
        file: shown.clone(),
        text,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
            return Ok((default_settings(), "(built-in defaults)".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse("settings file not found; check the -s path".into()))
        }
        Err(e) => return Err(refuse(format!("cannot read the settings file: {e}; refusing to run with the built-in defaults, which would drop this file's rules"))),
    };
    if text.trim().is_empty() {
        return Err(refuse("the settings file is empty; refusing to run with the built-in defaults, which would drop this file's rules".into()));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        refuse(format!(
            "line {} column {}: malformed JSON: {}; fix the syntax",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ))
    })?;
    let Some(obj) = value.as_object() else {
        return Err(refuse("expected a JSON object at the top level".into()));
    };
    for (section, key, fix) in REQUIRED {
        let present = match obj.get(*section) {
            None => false,
            Some(v) if key.is_empty() => v.is_object(),
            Some(v) => v.get(*key).is_some(),
        };
        if !present {
            let field = if key.is_empty() {
                section.to_string()
            } else {
                format!("{section}.{key}")
            };
            return Err(refuse(format!("{field}: required; {fix}")));
        }
    }
    let settings = super::oci::parse_sandbox(value, &shown, "").map_err(|e| match e {
        Error::Config { field, message, .. } => refuse(format!("{field}: {message}")),
        other => refuse(other.to_string()),
    })?;
    validate_paths(&settings).map_err(refuse)?;
    Ok((settings, shown))
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Path entries must be non-empty, and deny globs must not end in `/` (srt v0.0.83).
fn validate_paths(s: &SandboxSettings) -> std::result::Result<(), String> {
    let Some(fs) = &s.filesystem else {
        return Ok(());
    };
    for (name, list) in [
        ("denyRead", &fs.deny_read),
        ("allowRead", &fs.allow_read),
        ("allowWrite", &fs.allow_write),
        ("denyWrite", &fs.deny_write),
    ] {
        for (i, e) in list.iter().enumerate() {
            if e.path().trim().is_empty() {
                return Err(format!(
                    "filesystem.{name}[{i}]: empty path; remove the entry"
                ));
            }
            if name.starts_with("deny")
                && !e.literal()
                && has_glob(e.path())
                && e.path().ends_with('/')
            {
                return Err(format!("filesystem.{name}[{i}] {:?}: a glob must not end in '/'; drop the trailing slash", e.path()));
            }
        }
    }
    Ok(())
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// What the caller runs and from where.
pub struct Invocation {
    pub command: CommandLine,
    pub cwd: PathBuf,
    /// The environment the command inherits (srt passes the caller's environment on).
    pub env: Vec<(String, String)>,
    pub uid: u32,
    pub gid: u32,
}

/// Builds the policy for `srt-runc sandbox` / `srt`.
pub fn sandbox_policy(
    mut settings: SandboxSettings,
    origin: &str,
    inv: Invocation,
) -> Result<Policy> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if settings.network.is_none() {
        settings.network = Some(NetworkSettings::default());
    }
    let fs_disabled = settings.filesystem.as_ref().and_then(|f| f.disabled) == Some(true);
    if !fs_disabled {
        let fs = settings
            .filesystem
            .get_or_insert_with(FilesystemSettings::default);
        // srt's default write paths; the /dev ones are covered by our own /dev.
        for p in [SANDBOX_TMPDIR, "~/.npm/_logs", "~/.claude/debug"] {
            fs.allow_write.push(PathEntry::Plain(p.into()));
        }
        for list in [&mut fs.allow_write, &mut fs.deny_write] {
            for e in list.iter_mut() {
                if !e.literal() {
                    if let Some(stripped) = e.path().strip_suffix("/**") {
                        *e = PathEntry::Plain(stripped.to_string());
                    }
                }
            }
        }
    }
    resolve_sandbox_paths(&mut settings, &inv.cwd, home.as_deref());
    let shell = ["/bin/bash", "/usr/bin/bash", "/bin/sh"]
        .iter()
        .find(|p| Path::new(p).exists())
        .copied()
        .unwrap_or("/bin/sh");
    let mut process = ProcessSpec::new(vec![shell.to_string(), "-c".into(), inv.command.script()]);
    process.env = inv
        .env
        .iter()
        .filter(|(k, _)| k != "TMPDIR")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !fs_disabled {
        process.env.push(format!("TMPDIR={SANDBOX_TMPDIR}"));
    }
    process.cwd = inv.cwd.clone();
    process.uid = inv.uid;
    process.gid = inv.gid;
    Ok(Policy {
        origin: origin.to_string(),
        base_dir: inv.cwd,
        root: PathBuf::from("/"),
        root_readonly: true,
        mounts: Vec::new(),
        process,
        hostname: None,
        domainname: None,
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        seccomp_profile: None,
        sandbox: settings,
        join_namespaces: Vec::new(),
        uid_mappings: Vec::new(),
        gid_mappings: Vec::new(),
        sysctl: Default::default(),
        devices: Vec::new(),
        cgroup: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_a_posix_shell() {
        assert_eq!(shell_quote("plain-word_1.txt"), "plain-word_1.txt");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        let argv = CommandLine::Argv(vec!["echo".into(), "a b".into(), "$X".into()]);
        assert_eq!(argv.script(), "echo 'a b' '$X'");
        assert_eq!(
            CommandLine::Shell("echo $X | wc".into()).script(),
            "echo $X | wc"
        );
    }
}
