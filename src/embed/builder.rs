//! The builder: [`Sandbox`] holds the policy and the caller's choices, [`Command`] one
//! program to run under it, in the shape of `std::process::Command`.

use super::child::{self, AsyncChild, Child, Output};
use super::error::SpawnError;
use super::protocol::RunRequest;
use crate::linux::report::Floor;
use crate::policy::{Mode, SandboxSettings};
use std::ffi::OsStr;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// The name of the helper binary the library looks for.
pub const HELPER_NAME: &str = "srt-runc";

/// A host the proxy asks about: no rule in the policy covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskRequest {
    pub host: String,
    pub port: u16,
}

/// The caller's answer to an [`AskRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskAnswer {
    /// Let this connection through.
    Allow,
    /// Refuse it; the reason appears in the denial event and the proxy's 403.
    Deny(String),
}

/// The future an ask callback returns.
pub type AskFuture = Pin<Box<dyn Future<Output = AskAnswer> + Send>>;
pub(super) type AskCallback = Arc<dyn Fn(AskRequest) -> AskFuture + Send + Sync>;

/// Where the helper binary comes from.
#[derive(Debug, Clone)]
enum Helper {
    /// `$SRT_RUNC_HELPER`, then `srt-runc` next to the current executable, then `PATH`.
    Search,
    Path(PathBuf),
    /// The current executable, which calls [`main_if_helper`](super::main_if_helper).
    CurrentExe,
}

/// A sandbox policy plus the caller's requirements; makes [`Command`]s.
///
/// Cheap to clone: every command made from it runs in its own sandbox.
#[derive(Clone)]
pub struct Sandbox {
    settings: SandboxSettings,
    floor: Vec<Floor>,
    helper: Helper,
    ask: Option<AskCallback>,
    ask_timeout: Duration,
    landlock_abi_max: Option<i32>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("settings", &self.settings)
            .field("floor", &self.floor)
            .field("helper", &self.helper)
            .field("ask", &self.ask.is_some())
            .field("ask_timeout", &self.ask_timeout)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox with `settings` — the same struct the CLI reads from an srt settings
    /// file or the `"sandbox"` key of `config.json`.
    pub fn new(settings: SandboxSettings) -> Sandbox {
        Sandbox {
            settings,
            floor: Vec::new(),
            helper: Helper::Search,
            ask: None,
            ask_timeout: Duration::from_secs(30),
            landlock_abi_max: None,
        }
    }

    /// A sandbox with the settings file the CLI's `-s FILE` would read, validated the
    /// same way.
    pub fn from_settings_file(path: impl AsRef<Path>) -> Result<Sandbox, SpawnError> {
        let (settings, _) = crate::policy::srt::load_settings(Some(path.as_ref()))
            .map_err(|e| SpawnError::Policy(e.to_string()))?;
        Ok(Sandbox::new(settings))
    }

    /// The policy.
    pub fn settings(&self) -> &SandboxSettings {
        &self.settings
    }

    /// Strong (namespaces, the default), weaker (no namespaces: Landlock and seccomp
    /// only, for nested containers) or auto. Weaker mode is reported as such: see
    /// [`Report::not_enforced`](super::Report::not_enforced).
    pub fn mode(mut self, mode: Mode) -> Sandbox {
        self.settings.mode = Some(mode);
        self
    }

    /// Shorthand for `.mode(Mode::Weaker)`.
    pub fn weaker(self) -> Sandbox {
        self.mode(Mode::Weaker)
    }

    /// Refuse to start the command unless `layer` is in force, as the sandbox reports
    /// it after setting up; `spawn` then fails with [`SpawnError::Floor`].
    pub fn require(mut self, layer: Floor) -> Sandbox {
        if !self.floor.contains(&layer) {
            self.floor.push(layer);
        }
        self
    }

    /// Use this helper binary.
    pub fn helper(mut self, path: impl Into<PathBuf>) -> Sandbox {
        self.helper = Helper::Path(path.into());
        self
    }

    /// Use the current executable as the helper; its `main` must call
    /// [`main_if_helper`](super::main_if_helper) first thing.
    pub fn helper_is_current_exe(mut self) -> Sandbox {
        self.helper = Helper::CurrentExe;
        self
    }

    /// Ask `callback` about hosts that no rule allows or denies (unless the policy sets
    /// `strictAllowlist`). An answer that takes longer than the
    /// [`ask_timeout`](Self::ask_timeout) counts as a denial.
    pub fn on_ask<F, Fut>(mut self, callback: F) -> Sandbox
    where
        F: Fn(AskRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AskAnswer> + Send + 'static,
    {
        self.ask = Some(Arc::new(move |r| Box::pin(callback(r)) as AskFuture));
        self
    }

    /// How long an ask callback may take (default 30 s).
    pub fn ask_timeout(mut self, timeout: Duration) -> Sandbox {
        self.ask_timeout = timeout;
        self
    }

    /// Use at most Landlock ABI `abi` in weaker mode, as on an older kernel: the report
    /// and the floor check then show what that kernel would give.
    pub fn limit_landlock_abi(mut self, abi: i32) -> Sandbox {
        self.landlock_abi_max = Some(abi);
        self
    }

    /// A command to run in a new sandbox with this policy.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        Command {
            sandbox: self.clone(),
            program: program.as_ref().to_string_lossy().into_owned(),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            timeout: None,
        }
    }

    /// Finds the helper binary, naming every place looked at when there is none.
    pub(super) fn locate_helper(&self) -> Result<PathBuf, SpawnError> {
        let candidates: Vec<PathBuf> = match &self.helper {
            Helper::Path(p) => vec![p.clone()],
            Helper::CurrentExe => vec![std::env::current_exe()?],
            Helper::Search => {
                let mut c = Vec::new();
                if let Some(p) = std::env::var_os("SRT_RUNC_HELPER") {
                    c.push(PathBuf::from(p));
                }
                if let Some(dir) = std::env::current_exe()
                    .ok()
                    .and_then(|e| e.parent().map(Path::to_path_buf))
                {
                    c.push(dir.join(HELPER_NAME));
                }
                if let Some(path) = std::env::var_os("PATH") {
                    c.extend(std::env::split_paths(&path).map(|d| d.join(HELPER_NAME)));
                }
                let mut seen = std::collections::HashSet::new();
                c.retain(|p| seen.insert(p.clone()));
                c
            }
        };
        candidates
            .iter()
            .find(|p| is_executable(p))
            .cloned()
            .ok_or(SpawnError::HelperNotFound {
                looked_for: candidates,
            })
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// One program to run in its own sandbox, configured like `std::process::Command`.
///
/// By default the command inherits the caller's environment, working directory and
/// stdio (as `std::process::Command` does); `output` pipes stdout and stderr.
pub struct Command {
    sandbox: Sandbox,
    program: String,
    args: Vec<String>,
    env_clear: bool,
    /// In order; `None` removes the variable.
    env: Vec<(String, Option<String>)>,
    cwd: Option<PathBuf>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Command {
    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets one environment variable of the command.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env.push((
            key.as_ref().to_string_lossy().into_owned(),
            Some(value.as_ref().to_string_lossy().into_owned()),
        ));
        self
    }

    /// Sets environment variables of the command.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes one variable from the command's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.env
            .push((key.as_ref().to_string_lossy().into_owned(), None));
        self
    }

    /// Start from an empty environment instead of the caller's.
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// The working directory inside the sandbox (default: the caller's).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The command's stdin (default: the caller's; `output` uses null).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdin = Some(cfg.into());
        self
    }

    /// The command's stdout (default: the caller's; `output` pipes it).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdout = Some(cfg.into());
        self
    }

    /// The command's stderr (default: the caller's; `output` pipes it).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stderr = Some(cfg.into());
        self
    }

    /// Kill the sandbox when the command runs longer than `limit`, counted from the
    /// moment it starts (after the sandbox's setup); `wait` then returns a status whose [`timed_out`](super::ExitStatus::timed_out) is true.
    pub fn timeout(&mut self, limit: Duration) -> &mut Command {
        self.timeout = Some(limit);
        self
    }

    /// Starts the sandbox and the command; returns once the sandbox is set up and its
    /// report checked against the floor (or with why not). Blocks the calling thread.
    /// The stdio settings are used up: a second `spawn` inherits the caller's stdio.
    pub fn spawn(&mut self) -> Result<Child, SpawnError> {
        child::spawn(self.prepare()?)
    }

    /// [`spawn`](Self::spawn) for tokio: the child's stdio are tokio handles and
    /// ask callbacks run on the current runtime. Must be called within a tokio runtime.
    pub async fn spawn_async(&mut self) -> Result<AsyncChild, SpawnError> {
        child::spawn_async(self.prepare()?).await
    }

    /// Runs the command with stdout and stderr piped (stdin null unless set) and
    /// collects everything.
    pub fn output(&mut self) -> Result<Output, SpawnError> {
        self.default_output_stdio();
        self.spawn()?.wait_with_output()
    }

    /// [`output`](Self::output) for tokio.
    pub async fn output_async(&mut self) -> Result<Output, SpawnError> {
        self.default_output_stdio();
        self.spawn_async().await?.wait_with_output().await
    }

    /// Runs the command and waits for its exit status.
    pub fn status(&mut self) -> Result<super::ExitStatus, SpawnError> {
        let mut c = self.spawn()?;
        Ok(c.wait()?)
    }

    fn default_output_stdio(&mut self) {
        self.stdin.get_or_insert_with(Stdio::null);
        self.stdout.get_or_insert_with(Stdio::piped);
        self.stderr.get_or_insert_with(Stdio::piped);
    }

    /// Everything a spawn needs, with the environment resolved now.
    fn prepare(&mut self) -> Result<child::Prepared, SpawnError> {
        let helper = self.sandbox.locate_helper()?;
        let mut env: Vec<(String, String)> = if self.env_clear {
            Vec::new()
        } else {
            std::env::vars().collect()
        };
        for (k, v) in &self.env {
            env.retain(|(key, _)| key != k);
            if let Some(v) = v {
                env.push((k.clone(), v.clone()));
            }
        }
        let cwd = match &self.cwd {
            Some(c) => c.clone(),
            None => std::env::current_dir()?,
        };
        let mut argv = vec![self.program.clone()];
        argv.extend(self.args.iter().cloned());
        let s = &self.sandbox;
        Ok(child::Prepared {
            helper,
            request: RunRequest {
                settings: s.settings.clone(),
                argv,
                env,
                cwd,
                floor: s.floor.clone(),
                ask_timeout_ms: s.ask.as_ref().map(|_| s.ask_timeout.as_millis() as u64),
                landlock_abi_max: s.landlock_abi_max,
            },
            ask: s.ask.clone(),
            stdin: self.stdin.take(),
            stdout: self.stdout.take(),
            stderr: self.stderr.take(),
            timeout: self.timeout,
        })
    }
}
