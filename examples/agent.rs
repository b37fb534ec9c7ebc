//! A tiny agent loop: three "tool calls", each in a sandbox with its own policy, printing
//! what each printed, what the sandbox denied, and what was in force.
//!
//! Usage: `agent [WORKDIR]` (default: a fresh directory under the temp dir). The binary
//! is its own sandbox helper (multicall): `main_if_helper` comes first in `main`.

// The embedding API is Linux-only for now; elsewhere the example is an empty program.
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("agent: the embedding API runs on Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use srt_runc::embed::{AskAnswer, Output, Sandbox, SandboxEvent, Status};
    use srt_runc::policy::SandboxSettings;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    pub fn main() {
        srt_runc::embed::main_if_helper();
        let work = std::env::args()
            .nth(1)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("srt-agent-{}", std::process::id()))
            });
        std::fs::create_dir_all(&work).expect("creating the work directory");
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let code = rt.block_on(agent(&work));
        std::process::exit(code);
    }

    /// A sandbox with this policy, served by this very binary.
    fn sandbox(json: serde_json::Value) -> Sandbox {
        let settings: SandboxSettings = serde_json::from_value(json).expect("policy");
        Sandbox::new(settings).helper_is_current_exe()
    }

    async fn agent(work: &Path) -> i32 {
        let w = work.display().to_string();
        let calls: Vec<(&str, Sandbox, Vec<String>)> = vec![
            (
                "edit a file in the workspace, then try to write outside it",
                sandbox(serde_json::json!({
                    "filesystem": {"allowWrite": [w]}
                })),
                vec![format!(
                    "echo notes > {w}/notes.txt && cat {w}/notes.txt; \
                 echo x > /etc/agent-was-here 2>/dev/null || echo 'writing /etc refused'"
                )],
            ),
            (
                "fetch from a denied host and from an unlisted one (the agent is asked)",
                sandbox(serde_json::json!({
                    "network": {"allowedDomains": [], "deniedDomains": ["blocked.example"]}
                }))
                .on_ask(|req| async move {
                    AskAnswer::Deny(format!("the agent does not know {}", req.host))
                })
                .ask_timeout(Duration::from_secs(5)),
                vec!["for h in blocked.example unknown.example; do \
                 curl -s -o /dev/null -w \"$h %{http_code}\\n\" --max-time 10 http://$h/; done"
                    .to_string()],
            ),
            (
                "the same inside a nested container: weaker mode",
                sandbox(serde_json::json!({
                    "filesystem": {"allowWrite": [w]}
                }))
                .weaker(),
                // Without namespaces, Landlock alone keeps srt's protected paths (a
                // workspace .bashrc) unwritable; existing files stay editable.
                vec![format!(
                    "echo weaker > {w}/notes.txt && cat {w}/notes.txt; \
                 echo evil >> {w}/.bashrc 2>/dev/null || echo 'writing .bashrc refused'"
                )],
            ),
        ];
        let mut failures = 0;
        for (i, (what, sandbox, script)) in calls.into_iter().enumerate() {
            println!("== tool call {}: {what}", i + 1);
            let mut cmd = sandbox.command("/bin/sh");
            cmd.arg("-c").args(&script).current_dir(work);
            match cmd.output_async().await {
                Ok(out) => show(&out),
                Err(e) => {
                    println!("spawn failed: {e}");
                    failures += 1;
                }
            }
        }
        i32::from(failures > 0)
    }

    fn show(out: &Output) {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            println!("stdout: {line}");
        }
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            println!("stderr: {line}");
        }
        println!("exit: {}", out.status.code());
        for e in &out.events {
            match e {
                SandboxEvent::Connection(c) => println!(
                    "network: {:?} {}:{} ({})",
                    c.decision, c.host, c.port, c.reason
                ),
                SandboxEvent::Asked { host, port } => println!("asked: {host}:{port}"),
                SandboxEvent::Answered {
                    host,
                    allow,
                    reason,
                    ..
                } => {
                    println!("answered: {host} allow={allow} ({reason})")
                }
                other => println!("event: {other:?}"),
            }
        }
        println!("mode: {:?}", out.report.mode);
        for l in &out.report.layers {
            let status = match &l.status {
                Status::Enforced => "enforced".to_string(),
                Status::Degraded { reason } => format!("degraded: {reason}"),
                Status::Unavailable { reason, .. } => format!("unavailable: {reason}"),
            };
            println!("layer {:?}: {status}", l.layer);
        }
        for n in &out.report.not_enforced {
            println!("not enforced: {n}");
        }
    }
}
