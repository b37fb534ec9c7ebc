//! The command line (clap). runc-compatible global flags are accepted everywhere.

use crate::error::Error;
use crate::{linux, plan, policy};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "srt-runc",
    version,
    about = "A low-level sandbox runtime: namespaces, Landlock, seccomp and a filtering egress proxy"
)]
struct Cli {
    /// State directory (default /run/srt-runc, or $XDG_RUNTIME_DIR/srt-runc when not root).
    #[arg(long, global = true, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write log messages to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    log_format: String,
    /// Verbose logging.
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for runc compatibility; srt-runc manages cgroups through cgroupfs.
    #[arg(long = "systemd-cgroup", global = true, hide = true)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility.
    #[arg(long, global = true, hide = true, num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long, global = true, hide = true)]
    criu: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a bundle in the foreground: `run [--bundle DIR] ID` or `run DIR`.
    Run {
        /// Bundle directory (holds config.json); default: the current directory.
        #[arg(short = 'b', long, value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// Container id, or a bundle directory when --bundle is not given.
        id: String,
        /// Append every network connection attempt (allowed and denied) to FILE as JSON lines.
        #[arg(long = "violations-log", value_name = "FILE")]
        violations_log: Option<PathBuf>,
    },
    /// Tunnel stdin/stdout to HOST:PORT through the sandbox proxy (an ssh ProxyCommand).
    Connect {
        host: String,
        port: u16,
        /// Proxy address (default: the in-sandbox endpoint 127.0.0.1:3128).
        #[arg(long, default_value = "127.0.0.1:3128")]
        proxy: std::net::SocketAddr,
    },
    /// Print the plan for a bundle: mounts, Landlock rules, seccomp programs, network, mode.
    Explain {
        /// Bundle directory (default: the current directory).
        bundle: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Which backend's plan to print: `linux` (mounts, Landlock, seccomp) or `macos`
        /// (the Seatbelt profile and its parameters). Works on any OS.
        #[arg(long, value_enum, default_value = "linux")]
        platform: Platform,
    },
}

/// The backend `explain` describes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Linux,
    Macos,
}

/// Runs the CLI and returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    init_logging(&cli);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("srt-runc: {e}");
            e.exit_code()
        }
    }
}

/// Logging is set up only when asked for (`--debug` or `SRT_RUNC_LOG`): the subscriber
/// allocates its registry up front, and start-up time is a feature.
fn init_logging(cli: &Cli) {
    let env = std::env::var("SRT_RUNC_LOG").ok();
    if !cli.debug && env.is_none() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::new(env.unwrap_or_else(|| "debug".into()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.cmd {
        Cmd::Run {
            bundle,
            id,
            violations_log,
        } => {
            let bundle = bundle_for(bundle, &id);
            let policy = policy::oci::load_bundle(&bundle)?;
            let plan = plan::build(&policy, plan::Caller::current())?;
            linux::run(&plan, &linux::RunOptions { violations_log })
        }
        Cmd::Connect { host, port, proxy } => match crate::proxy::connect_stdio(proxy, &host, port)
        {
            Ok(()) => Ok(0),
            Err(e) => {
                eprintln!("srt-runc connect {host}:{port}: {e}");
                Ok(1)
            }
        },
        Cmd::Explain {
            bundle,
            json,
            platform,
        } => {
            let bundle = bundle.unwrap_or_else(|| PathBuf::from("."));
            let policy = policy::oci::load_bundle(&bundle)?;
            if platform == Platform::Macos {
                print!("{}", crate::macos::profile::explain(&policy)?);
                return Ok(0);
            }
            let plan = plan::build(&policy, plan::Caller::current())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plan)
                        .map_err(|e| Error::SetupMsg(e.to_string()))?
                );
            } else {
                print!("{}", plan::render_text(&plan));
            }
            Ok(0)
        }
    }
}

/// `run DIR` with no `--bundle`: a directory holding config.json is the bundle.
fn bundle_for(bundle: Option<PathBuf>, id: &str) -> PathBuf {
    match bundle {
        Some(b) => b,
        None if Path::new(id).join("config.json").is_file() => PathBuf::from(id),
        None => PathBuf::from("."),
    }
}
