//! `exec`: run another process in a running container, confined like its command.
//!
//! The process comes from `--process FILE` (a JSON OCI `process`, as conmon and the
//! containerd shim write it) or from the container's own `process` with the command
//! line's args and flags applied, as runc does. The container's plan is rebuilt from
//! its bundle, so the exec'd process gets the same Landlock rules and seccomp programs.

use super::state::{Root, Status};
use super::{console, OciError};
use crate::linux::exec::{self, ExecOutcome, ExecRequest};
use crate::{plan, policy};
use std::path::PathBuf;

/// `exec` flags (runc's names), parsed by the CLI.
#[derive(Debug, Default, clap::Args)]
pub struct ExecArgs {
    /// JSON OCI process to run (instead of COMMAND).
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Return once the process runs (its pid goes to --pid-file).
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// KEY=VALUE added to the environment (repeatable).
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// UID or UID:GID inside the container.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container.
    pub id: String,
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub args: Vec<String>,
}

/// Runs the exec; returns the exit status to use (0 when detached).
pub fn exec(root: &Root, a: &ExecArgs) -> Result<i32, OciError> {
    let (dir, st) = root.load(&a.id)?;
    match st.status(&dir) {
        Status::Running | Status::Created => {}
        Status::Paused => return Err(OciError::Other("cannot exec in a paused container".into())),
        Status::Stopped => return Err(OciError::ExecStopped),
    }
    let mut policy = policy::oci::load_bundle(&st.bundle)?;
    match &a.process {
        Some(file) => {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(file)
                .map_err(|e| OciError::io(format!("reading process file {shown}"), e))?;
            let p: oci_spec::runtime::Process = serde_json::from_str(&text)
                .map_err(|e| OciError::Other(format!("{shown}: not a JSON OCI process: {e}")))?;
            policy.process = policy::oci::process_spec(
                &p,
                &shown,
                &st.bundle,
                policy.root == std::path::Path::new("/"),
            )?;
        }
        None => {
            if a.args.is_empty() {
                return Err(OciError::Other(
                    "exec needs a command: srt-runc exec ID COMMAND [ARGS...] or --process FILE"
                        .into(),
                ));
            }
            let p = &mut policy.process;
            p.args = a.args.clone();
            p.terminal = a.tty;
            if let Some(c) = &a.cwd {
                p.cwd = c.clone();
            }
            for kv in &a.env {
                let key = kv.split('=').next().unwrap_or_default();
                crate::plan::set_env(p, key, kv.get(key.len() + 1..).unwrap_or_default());
            }
            if let Some(u) = &a.user {
                let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
                let bad = || OciError::Other(format!("--user {u:?}: use numeric uid[:gid]"));
                p.uid = uid.parse().map_err(|_| bad())?;
                p.gid = gid.parse().map_err(|_| bad())?;
            }
        }
    }
    let plan = plan::build(&policy, plan::Caller::current())?;
    let socket = match (&a.console_socket, plan.process.terminal) {
        (Some(p), true) => Some(console::connect(p)?),
        (None, true) if a.detach => {
            return Err(OciError::Other(
                "cannot allocate tty if srt-runc will detach without setting console socket".into(),
            ))
        }
        (Some(_), false) => {
            return Err(OciError::Other(
                "cannot use console socket if srt-runc will not detach or allocate tty".into(),
            ))
        }
        _ => None,
    };
    let outcome = exec::exec(ExecRequest {
        init_pid: st.pid,
        plan: &plan,
        cgroup: st.cgroup.as_ref(),
        console: socket.as_ref(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
    })?;
    match outcome {
        ExecOutcome::Detached(pid) => {
            if let Some(p) = &a.pid_file {
                super::state::write_atomic(p, pid.to_string().as_bytes(), 0o644)
                    .map_err(|e| OciError::io(format!("writing pid file {}", p.display()), e))?;
            }
            Ok(0)
        }
        ExecOutcome::Exited(code) => Ok(code),
    }
}
