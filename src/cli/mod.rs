//! The command line (clap). runc-compatible global flags are accepted everywhere.

use crate::error::Error;
#[cfg(target_os = "linux")]
use crate::linux;
use crate::{plan, policy};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "srt-runc",
    disable_version_flag = true,
    about = "A low-level sandbox runtime: namespaces, Landlock, seccomp and a filtering egress proxy"
)]
struct Cli {
    /// Print the version (runc's three-line format: version, commit, spec).
    #[arg(short = 'v', long = "version")]
    version: bool,
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
    cmd: Option<Cmd>,
}

/// Engine choices shared by `run` and `sandbox`/`srt`.
#[derive(clap::Args, Debug)]
struct EngineFlags {
    /// Append every network connection attempt (allowed and denied) to FILE as JSON lines.
    #[arg(long = "violations-log", value_name = "FILE")]
    violations_log: Option<PathBuf>,
    /// Weaker mode: no namespaces (Landlock + seccomp only), for nested containers.
    #[arg(long)]
    weaker: bool,
    /// Refuse to run unless these layers are enforced (network, filesystem, pid, namespaces).
    #[arg(long, value_delimiter = ',', value_name = "LAYER")]
    require: Vec<String>,
}

impl EngineFlags {
    /// `--weaker` overrides the policy's mode.
    fn apply(&self, policy: &mut policy::Policy) {
        if self.weaker {
            policy.sandbox.mode = Some(policy::Mode::Weaker);
        }
    }

    /// Seatbelt confines files and network but has no namespaces: a floor asking for
    /// `pid` or `namespaces` refuses the run (exit 125) rather than running weaker.
    #[cfg(target_os = "macos")]
    fn macos_options(&self) -> Result<crate::macos::RunOptions, Error> {
        if let Some(layer) = self
            .require
            .iter()
            .find(|l| !matches!(l.as_str(), "network" | "filesystem"))
        {
            return Err(Error::SetupMsg(format!(
                "--require {layer}: macOS sandboxing (Seatbelt) enforces only network and filesystem"
            )));
        }
        Ok(crate::macos::RunOptions {
            violations_log: self.violations_log.clone(),
        })
    }

    #[cfg(target_os = "linux")]
    fn run_options(
        self,
        events: Option<tokio::sync::mpsc::UnboundedSender<crate::proxy::Event>>,
    ) -> linux::RunOptions {
        linux::RunOptions {
            violations_log: self.violations_log,
            events,
            require: self.require,
            ..Default::default()
        }
    }
}

/// `srt-runc sandbox` and the `srt` multicall name share these arguments.
#[derive(clap::Args, Debug)]
struct SandboxArgs {
    /// srt settings file (default: ~/.srt-settings.json).
    #[arg(short = 's', long = "settings", value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Run STRING with the shell, verbatim (like `sh -c`).
    #[arg(short = 'c', value_name = "STRING")]
    command: Option<String>,
    /// Append the sandbox's denials to stderr as <sandbox_violations>…</sandbox_violations>.
    #[arg(long = "report-violations")]
    report_violations: bool,
    #[command(flatten)]
    engine: EngineFlags,
    /// The command and its arguments (each shell-quoted).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    args: Vec<String>,
}

/// The `srt` command line: `srt [-d] [-s SETTINGS] (-c STRING | CMD ARGS...)`.
#[derive(Parser, Debug)]
#[command(name = "srt", version, about = "srt-compatible sandbox (srt-runc)")]
struct SrtCli {
    /// Debug output on stderr.
    #[arg(short = 'd', long)]
    debug: bool,
    #[command(flatten)]
    sandbox: SandboxArgs,
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
        #[command(flatten)]
        engine: EngineFlags,
    },
    /// Create a container: set it up completely and leave it waiting for `start`.
    Create {
        /// Bundle directory (holds config.json); default: the current directory.
        #[arg(short = 'b', long, value_name = "DIR", default_value = ".")]
        bundle: PathBuf,
        /// Write the container process's host pid to FILE (no newline).
        #[arg(long = "pid-file", value_name = "FILE")]
        pid_file: Option<PathBuf>,
        /// Unix socket that receives the pty master when process.terminal is set.
        #[arg(long = "console-socket", value_name = "PATH")]
        console_socket: Option<PathBuf>,
        /// Pass N additional fds (3..3+N) to the container process.
        #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
        preserve_fds: u32,
        /// Accepted for runc compatibility (the root is always pivoted).
        #[arg(long = "no-pivot")]
        no_pivot: bool,
        /// Accepted for runc compatibility (no session keyring is created).
        #[arg(long = "no-new-keyring")]
        no_new_keyring: bool,
        id: String,
    },
    /// Start a created container.
    Start { id: String },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal (number, name or SIG-name; default SIGTERM) to a container.
    Kill {
        /// Signal every process of the container, not only its init.
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a container (a running one only with --force, which kills it).
    Delete {
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// List containers.
    List {
        /// table or json.
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        /// Print only the ids.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Run another process in a running container, confined like its command.
    #[cfg(target_os = "linux")]
    Exec(crate::oci::exec_cmd::ExecArgs),
    /// Freeze every process of the container (cgroup freezer).
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// The container's processes: `--format json` prints host pids, `table` runs `ps`.
    Ps {
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        id: String,
        /// Arguments for `ps` (table format; default `-ef`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Change the container's cgroup resources.
    #[cfg(target_os = "linux")]
    Update {
        #[command(flatten)]
        flags: crate::oci::cgroup_cmds::UpdateFlags,
        id: String,
    },
    /// Write a starter config.json (`--rootless` for an unprivileged user).
    Spec {
        /// Directory to write config.json into (default: the current directory).
        #[arg(short = 'b', long, value_name = "DIR", default_value = ".")]
        bundle: PathBuf,
    },
    /// Print what this runtime implements (OCI features document).
    Features,
    /// Tunnel stdin/stdout to HOST:PORT through the sandbox proxy (an ssh ProxyCommand).
    Connect {
        host: String,
        port: u16,
        /// Proxy address (default: the in-sandbox endpoint 127.0.0.1:3128).
        #[arg(long, default_value = "127.0.0.1:3128")]
        proxy: std::net::SocketAddr,
    },
    /// Print the plan for a bundle (or srt settings): mounts, Landlock, seccomp, network, mode.
    Explain {
        /// Bundle directory (default: the current directory).
        bundle: Option<PathBuf>,
        /// Explain `srt-runc sandbox` with this srt settings file instead of a bundle.
        #[arg(
            short = 's',
            long = "settings",
            value_name = "FILE",
            conflicts_with = "bundle"
        )]
        settings: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Which backend's plan to print: `linux` (mounts, Landlock, seccomp) or `macos`
        /// (the Seatbelt profile and its parameters). Works on any OS; default: this one.
        #[arg(long, value_enum)]
        platform: Option<Platform>,
    },
    /// srt-compatible: run a command on the host filesystem under an srt settings file.
    Sandbox(SandboxArgs),
    /// What this host supports (namespaces, Landlock, seccomp, cgroups, container) and
    /// which mode a run would use.
    Check {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
    #[cfg(target_os = "linux")]
    if let Some(code) = crate::embed::helper_entry() {
        return code;
    }
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if Path::new(&argv0).file_name().is_some_and(|n| n == "srt") {
        return srt_main();
    }
    let mut cli = match parse::<Cli>() {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_logging(cli.debug);
    if cli.version {
        print!("{}", version_text());
        return 0;
    }
    let log = ErrorLog {
        file: cli.log.clone(),
        json: cli.log_format == "json",
    };
    let Some(cmd) = cli.cmd.take() else {
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return 1;
    };
    #[cfg(target_os = "linux")]
    if let Cmd::Exec(args) = &cmd {
        return match exec(&cli, args) {
            Ok(code) => code,
            Err(e) => {
                log.error(&e.to_string());
                if matches!(e, crate::oci::OciError::ExecStopped) {
                    255
                } else {
                    1
                }
            }
        };
    }
    if is_lifecycle(&cmd) {
        return match lifecycle(&cli, cmd) {
            Ok(()) => 0,
            Err(e) => {
                log.error(&e.to_string());
                1
            }
        };
    }
    match dispatch(cmd) {
        Ok(code) => code,
        Err(e) => {
            log.error(&e.to_string());
            e.exit_code()
        }
    }
}

/// Parses the command line; on a usage error (or `--help`) prints clap's text and gives
/// the exit status: 1 for an error, 0 for help.
fn parse<P: Parser>() -> Result<P, i32> {
    P::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            1
        } else {
            0
        }
    })
}

/// `--version`, in the shape go-runc's `parseVersion` and podman's `info` read.
fn version_text() -> String {
    format!(
        "srt-runc version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("SRT_RUNC_COMMIT").unwrap_or("unknown"),
        crate::oci::OCI_VERSION
    )
}

/// Where errors go: always one plain line on stderr; with `--log FILE` also appended to
/// FILE, as one JSON object per line with `--log-format json` (containerd decodes every
/// line and keeps the last error; podman reads the file with one `json.Unmarshal`, so
/// each error must be a single line). Without `--log`, JSON format prints the JSON line
/// on stderr instead, as runc does.
struct ErrorLog {
    file: Option<PathBuf>,
    json: bool,
}

impl ErrorLog {
    fn line(&self, msg: &str) -> String {
        let now = std::time::SystemTime::now();
        if self.json {
            serde_json::json!({
                "level": "error",
                "msg": msg,
                "time": crate::oci::time::rfc3339_secs(now),
            })
            .to_string()
        } else {
            format!(
                "time={:?} level=error msg={:?}",
                crate::oci::time::rfc3339_secs(now),
                msg
            )
        }
    }

    fn error(&self, msg: &str) {
        match &self.file {
            Some(path) => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o644)
                    .custom_flags(libc::O_SYNC)
                    .open(path);
                if let Ok(mut f) = f {
                    let _ = writeln!(f, "{}", self.line(msg));
                }
                eprintln!("srt-runc: {msg}");
            }
            None if self.json => eprintln!("{}", self.line(msg)),
            None => eprintln!("srt-runc: {msg}"),
        }
    }
}

fn is_lifecycle(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Create { .. }
            | Cmd::Start { .. }
            | Cmd::State { .. }
            | Cmd::Kill { .. }
            | Cmd::Delete { .. }
            | Cmd::List { .. }
            | Cmd::Spec { .. }
            | Cmd::Features
            | Cmd::Pause { .. }
            | Cmd::Resume { .. }
            | Cmd::Ps { .. }
    ) || is_linux_only(cmd)
}

#[cfg(target_os = "linux")]
fn is_linux_only(cmd: &Cmd) -> bool {
    matches!(cmd, Cmd::Update { .. })
}

#[cfg(not(target_os = "linux"))]
fn is_linux_only(_cmd: &Cmd) -> bool {
    false
}

/// The runc-compatible lifecycle needs Linux namespaces; elsewhere it says so (exit 1).
#[cfg(not(target_os = "linux"))]
fn lifecycle(_cli: &Cli, _cmd: Cmd) -> Result<(), crate::oci::OciError> {
    Err(crate::oci::OciError::Other(
        "the runc-compatible lifecycle (create, start, state, kill, delete, list, spec, features) needs Linux; on this OS use `srt-runc run BUNDLE` or `srt-runc sandbox`".into(),
    ))
}

/// The runc-compatible subcommands; every error exits 1.
#[cfg(target_os = "linux")]
fn lifecycle(cli: &Cli, cmd: Cmd) -> Result<(), crate::oci::OciError> {
    use crate::oci::{cgroup_cmds, lifecycle as lc, spec_cmd, state::Root};
    let root = || Root::resolve(cli.root.as_deref());
    match cmd {
        Cmd::Create {
            bundle,
            pid_file,
            console_socket,
            preserve_fds,
            no_pivot: _,
            no_new_keyring: _,
            id,
        } => lc::create(
            &root()?,
            &id,
            &lc::CreateArgs {
                bundle,
                pid_file,
                console_socket,
                preserve_fds,
            },
        ),
        Cmd::Start { id } => lc::start(&root()?, &id),
        Cmd::State { id } => {
            println!("{}", lc::state_json(&root()?, &id)?);
            Ok(())
        }
        Cmd::Kill { all, id, signal } => {
            let sig = lc::parse_signal(signal.as_deref().unwrap_or("SIGTERM"))?;
            lc::kill(&root()?, &id, sig, all)
        }
        Cmd::Delete { force, id } => lc::delete(&root()?, &id, force),
        Cmd::Pause { id } => cgroup_cmds::pause(&root()?, &id),
        Cmd::Resume { id } => cgroup_cmds::resume(&root()?, &id),
        Cmd::Ps {
            format,
            id,
            ps_args,
        } => {
            print!("{}", cgroup_cmds::ps(&root()?, &id, &format, &ps_args)?);
            Ok(())
        }
        Cmd::Update { flags, id } => cgroup_cmds::update(&root()?, &id, &flags),
        Cmd::List { format, quiet } => {
            print!("{}", lc::list(&root()?, &format, quiet)?);
            Ok(())
        }
        Cmd::Spec { bundle } => {
            // `--rootless` is parsed by the global runc flag of the same name.
            let rootless = cli.rootless.as_deref().is_some_and(|v| v != "false");
            spec_cmd::write_spec(&bundle, rootless)
        }
        Cmd::Features => {
            let text = serde_json::to_string_pretty(&spec_cmd::features())
                .map_err(|e| crate::oci::OciError::Other(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
        _ => unreachable!("not a lifecycle command"),
    }
}

/// `exec`: like the other lifecycle commands, but its status is the process's.
#[cfg(target_os = "linux")]
fn exec(cli: &Cli, args: &crate::oci::exec_cmd::ExecArgs) -> Result<i32, crate::oci::OciError> {
    let root = crate::oci::state::Root::resolve(cli.root.as_deref())?;
    crate::oci::exec_cmd::exec(&root, args)
}

/// Logging is set up only when asked for (`--debug` or `SRT_RUNC_LOG`): the subscriber
/// allocates its registry up front, and start-up time is a feature.
fn init_logging(debug: bool) {
    let env = std::env::var("SRT_RUNC_LOG").ok();
    if !debug && env.is_none() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::new(env.unwrap_or_else(|| "debug".into()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn dispatch(cmd: Cmd) -> Result<i32, Error> {
    match cmd {
        #[cfg(not(target_os = "linux"))]
        Cmd::Check { .. } => {
            eprintln!("srt-runc check: the host probe is for Linux; on macOS every run uses sandbox-exec with the Seatbelt profile `srt-runc explain --platform macos` prints");
            Ok(1)
        }
        #[cfg(target_os = "linux")]
        Cmd::Check { json } => {
            let r = crate::linux::check::run();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(|e| Error::SetupMsg(e.to_string()))?
                );
            } else {
                print!("{}", crate::linux::check::render(&r));
            }
            Ok(0)
        }
        Cmd::Run { bundle, id, engine } => {
            let bundle = bundle_for(bundle, &id);
            let mut policy = policy::oci::load_bundle(&bundle)?;
            engine.apply(&mut policy);
            #[cfg(target_os = "linux")]
            {
                let plan = plan::build(&policy, plan::Caller::current())?;
                linux::run(&plan, &engine.run_options(None))
            }
            #[cfg(target_os = "macos")]
            crate::macos::run(&policy, &engine.macos_options()?)
        }
        Cmd::Connect { host, port, proxy } => match crate::proxy::connect_stdio(proxy, &host, port)
        {
            Ok(()) => Ok(0),
            Err(e) => {
                eprintln!("srt-runc connect {host}:{port}: {e}");
                Ok(1)
            }
        },
        Cmd::Sandbox(args) => run_sandbox(args),
        Cmd::Explain {
            bundle,
            settings,
            json,
            platform,
        } => {
            let policy = match settings {
                Some(s) => {
                    let (settings, origin) = policy::srt::load_settings(Some(&s))?;
                    policy::srt::sandbox_policy(
                        settings,
                        &origin,
                        invocation(policy::srt::CommandLine::Shell("true".into()))?,
                    )?
                }
                None => policy::oci::load_bundle(&bundle.unwrap_or_else(|| PathBuf::from(".")))?,
            };
            let native = if cfg!(target_os = "macos") {
                Platform::Macos
            } else {
                Platform::Linux
            };
            if platform.unwrap_or(native) == Platform::Macos {
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
        _ => unreachable!("lifecycle commands are dispatched by `lifecycle`"),
    }
}

/// `run DIR` with no `--bundle`: a directory holding config.json is the bundle.
fn bundle_for(bundle: Option<PathBuf>, id: &str) -> PathBuf {
    match bundle {
        Some(b) => b,
        None if Path::new(id).join("config.json").is_file() => PathBuf::from(id),
        // A path, not an id: the bundle the caller meant, so an error names its file.
        None if id.contains('/') || Path::new(id).is_dir() => PathBuf::from(id),
        None => PathBuf::from("."),
    }
}

/// Entry point for the `srt` multicall name.
fn srt_main() -> i32 {
    let cli = match parse::<SrtCli>() {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_logging(cli.debug);
    match run_sandbox(cli.sandbox) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("srt-runc: {e}");
            e.exit_code()
        }
    }
}

fn invocation(command: policy::srt::CommandLine) -> Result<policy::srt::Invocation, Error> {
    let cwd =
        std::env::current_dir().map_err(|e| Error::SetupMsg(format!("current directory: {e}")))?;
    Ok(policy::srt::Invocation {
        command,
        cwd,
        env: std::env::vars().collect(),
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    })
}

/// `srt-runc sandbox` / `srt`: settings first (a broken file exits 1 before anything
/// runs), then the command.
fn run_sandbox(args: SandboxArgs) -> Result<i32, Error> {
    let (settings, origin) = policy::srt::load_settings(args.settings.as_deref())?;
    let command = match (args.command, args.args.is_empty()) {
        (Some(c), true) => policy::srt::CommandLine::Shell(c),
        (None, false) => policy::srt::CommandLine::Argv(args.args),
        (Some(_), false) => {
            return Err(Error::Settings {
                file: "command line".into(),
                text: "give either -c STRING or a command, not both".into(),
            })
        }
        (None, true) => {
            return Err(Error::Settings {
                file: "command line".into(),
                text: "no command specified; use -c 'STRING' or give a command and its arguments"
                    .into(),
            })
        }
    };
    let ignore = settings.ignore_violations.clone().unwrap_or_default();
    let script = command.script();
    let mut policy = policy::srt::sandbox_policy(settings, &origin, invocation(command)?)?;
    args.engine.apply(&mut policy);
    // sandbox-exec reports its own denials (from the unified log) on stderr.
    #[cfg(target_os = "macos")]
    {
        let _ = (ignore, script);
        crate::macos::run(&policy, &args.engine.macos_options()?)
    }
    #[cfg(target_os = "linux")]
    run_sandbox_linux(
        args.engine,
        args.report_violations,
        policy,
        &ignore,
        &script,
    )
}

/// The Linux half of [`run_sandbox`]: plan, run, then the violations report.
#[cfg(target_os = "linux")]
fn run_sandbox_linux(
    engine: EngineFlags,
    report_violations: bool,
    policy: policy::Policy,
    ignore: &std::collections::BTreeMap<String, Vec<String>>,
    script: &str,
) -> Result<i32, Error> {
    // In srt mode a bad value in the settings file is a settings error (exit 1), named
    // as the settings file names it.
    let plan = plan::build(&policy, plan::Caller::current()).map_err(|e| match e {
        Error::ConfigText { file, text } => Error::Settings {
            file,
            text: text.trim_start_matches("sandbox.").to_string(),
        },
        Error::Config {
            file,
            field,
            message,
        } => Error::Settings {
            file,
            text: format!("{}: {message}", field.trim_start_matches("sandbox.")),
        },
        other => other,
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = engine.run_options(report_violations.then_some(tx));
    let code = linux::run(&plan, &opts)?;
    if report_violations {
        let mut lines = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            if ev.decision == crate::proxy::Verdict::Deny {
                lines.push(format!(
                    "deny network-outbound {}:{} ({})",
                    ev.host, ev.port, ev.reason
                ));
            }
        }
        lines.retain(|l| !ignored(ignore, script, l));
        if !lines.is_empty() {
            eprintln!(
                "<sandbox_violations>\n{}\n</sandbox_violations>",
                lines.join("\n")
            );
        }
    }
    Ok(code)
}

#[cfg(target_os = "linux")]
/// srt's `ignoreViolations`: command pattern (`*` for all) → substrings whose lines are dropped.
fn ignored(
    map: &std::collections::BTreeMap<String, Vec<String>>,
    script: &str,
    line: &str,
) -> bool {
    map.iter()
        .filter(|(pat, _)| pat.as_str() == "*" || script.contains(pat.as_str()))
        .any(|(_, subs)| subs.iter().any(|s| line.contains(s.as_str())))
}
