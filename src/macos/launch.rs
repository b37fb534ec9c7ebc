//! The `sandbox-exec` command line and the command's environment, computed without
//! side effects so that they can be tested anywhere.

use super::profile::Profile;
use crate::policy::ProcessSpec;

/// Absolute path: `sandbox-exec` is never looked up on `PATH`, which the caller (or a
/// previous sandboxed command writing into a PATH directory) could control.
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// A process to start: program, argv (without argv\[0\]), full environment, cwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
}

/// `sandbox-exec -p PROFILE -D... -- ARGS...` with the process environment plus the
/// proxy variables (when `proxy_port` is set), `SANDBOX_RUNTIME=1` and `TMPDIR`.
/// `connect_helper` is the srt-runc binary used as ssh's ProxyCommand.
pub fn launch(
    profile: &Profile,
    process: &ProcessSpec,
    proxy_port: Option<u16>,
    tmp_dir: Option<&str>,
    connect_helper: &str,
) -> Launch {
    let mut args = profile.sandbox_exec_args();
    args.push("--".to_string());
    args.extend(process.args.iter().cloned());
    let mut env: Vec<(String, String)> = process
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(port) = proxy_port {
        for (k, v) in proxy_env(port, connect_helper) {
            set(&mut env, &k, &v);
        }
    }
    set(&mut env, "SANDBOX_RUNTIME", "1");
    if let Some(t) = tmp_dir {
        set(&mut env, "TMPDIR", t);
    }
    Launch {
        program: SANDBOX_EXEC.to_string(),
        args,
        env,
        cwd: process.cwd.to_string_lossy().into_owned(),
    }
}

/// The same variable set as the Linux plan, pointing at the proxy's random port on
/// 127.0.0.1 instead of the fixed in-namespace port 3128.
pub fn proxy_env(port: u16, connect_helper: &str) -> Vec<(String, String)> {
    let helper = connect_helper.replace('\'', r"'\''");
    crate::plan::proxy_env_vars(
        &format!("127.0.0.1:{port}"),
        &format!("'{helper} connect --proxy 127.0.0.1:{port} %h %p'"),
    )
}

fn set(env: &mut Vec<(String, String)>, k: &str, v: &str) {
    env.retain(|(key, _)| key != k);
    env.push((k.to_string(), v.to_string()));
}
