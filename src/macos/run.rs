//! Running a command under `sandbox-exec` (macOS). Deliberately thin: the profile,
//! argv, environment and log parsing all come from platform-independent siblings.
//! The module is type-checked on every Unix, but only exported on macOS.

use super::launch::launch;
use super::monitor::{ignored, log_stream_args, parse_line, LOG};
use super::profile::{generate, LogTag, ProfileOptions};
use super::MacosError;
use crate::error::Error;
use crate::policy::{NetworkSettings, Policy};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Options for [`run`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Append proxy events and sandbox denials to this file as JSON lines
    /// (otherwise denials are reported on stderr).
    pub violations_log: Option<PathBuf>,
}

fn io(step: &str) -> impl FnOnce(std::io::Error) -> MacosError + '_ {
    move |source| MacosError::Io {
        step: step.to_string(),
        source,
    }
}

/// Runs `policy.process` sandboxed and returns its exit status (128+n on signal n).
pub fn run(policy: &Policy, opts: &RunOptions) -> Result<i32, Error> {
    // Seatbelt confines a process on the host file system; there is no new root and
    // there are no mounts, so a bundle that needs them cannot be honoured.
    if policy.root != std::path::Path::new("/") || !policy.mounts.is_empty() {
        return Err(MacosError::Unsupported(format!(
            "{}: on macOS the sandbox runs on the host file system; set root.path to \"/\" and remove mounts",
            policy.origin
        ))
        .into());
    }
    let tag = LogTag::random();
    let tmp = std::env::temp_dir().join(tag.as_str());
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&tmp)
        .map_err(io("creating the run's temp dir"))?;
    let result = run_in(policy, opts, &tag, &tmp.to_string_lossy());
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn run_in(policy: &Policy, opts: &RunOptions, tag: &LogTag, tmp: &str) -> Result<i32, Error> {
    let proxy = match &policy.sandbox.network {
        Some(n) => Some(start_proxy(n, opts)?),
        None => None,
    };
    let port = proxy.as_ref().map(|p| p.local_addrs()[0].port());
    let profile = generate(
        policy,
        &ProfileOptions {
            log_tag: tag.clone(),
            proxy_port: port,
            tmp_dir: Some(tmp.to_string()),
        },
    )?;
    let helper = std::env::current_exe()
        .map_err(io("finding the srt-runc binary"))?
        .to_string_lossy()
        .into_owned();
    let l = launch(&profile, &policy.process, port, Some(tmp), &helper);

    // The log stream starts before the command so that no early denial is missed.
    let mut log = Command::new(LOG)
        .args(log_stream_args(tag))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io("starting `log stream` for sandbox denials"))?;
    let reader = log.stdout.take().map(|out| {
        let (tag, opts) = (tag.clone(), opts.clone());
        let rules = policy.sandbox.ignore_violations.clone().unwrap_or_default();
        let command = policy.process.args.join(" ");
        std::thread::spawn(move || report(out, &tag, &opts, &rules, &command))
    });

    let status = Command::new(&l.program)
        .args(&l.args)
        .env_clear()
        .envs(l.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&l.cwd)
        .status()
        .map_err(io("starting /usr/bin/sandbox-exec"));
    // The log lags the kernel by a moment; give the last denials time to arrive.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = log.kill();
    let _ = log.wait();
    if let Some(r) = reader {
        let _ = r.join();
    }
    if let Some(p) = proxy {
        p.shutdown();
    }
    let status = status?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

fn report(
    out: std::process::ChildStdout,
    tag: &LogTag,
    opts: &RunOptions,
    rules: &std::collections::BTreeMap<String, Vec<String>>,
    command: &str,
) {
    let mut file = opts.violations_log.as_ref().and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        let Some(v) = parse_line(&line, tag) else {
            continue;
        };
        if ignored(&v, rules, command) {
            continue;
        }
        match &mut file {
            Some(f) => {
                if let Ok(j) = serde_json::to_string(&v) {
                    let _ = writeln!(f, "{j}");
                }
            }
            None => eprintln!(
                "srt-runc: sandbox denied {} {} ({}[{}])",
                v.operation, v.target, v.process, v.pid
            ),
        }
    }
}

/// The proxy on 127.0.0.1 at a random port, enforcing the policy's domain rules.
fn start_proxy(n: &NetworkSettings, opts: &RunOptions) -> Result<crate::proxy::ProxyHandle, Error> {
    let mut config = crate::proxy::ProxyConfig::from_settings(n)
        .map_err(|e| Error::SetupMsg(format!("sandbox.{e}")))?;
    if let Some(path) = &opts.violations_log {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io("opening the violations log"))?;
        config.events = config.events.with_json_lines(f);
    }
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io("binding the proxy on 127.0.0.1"))?;
    Ok(crate::proxy::spawn(vec![listener], config).map_err(io("starting the proxy"))?)
}
