//! Start-latency benchmark: `srt-runc run` of `/bin/true` against the anchors, measured
//! alternately (A, B, A, B, ...) in one run on the same machine, reporting medians and
//! ratios. Run with `make bench` (or `cargo bench --bench start`).
//!
//! Anchors: `bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true` and, as root,
//! `runc run` of a busybox bundle. Missing anchors are reported, not silently skipped.

#[path = "support/anchors.rs"]
mod anchors;
#[path = "support/report.rs"]
mod report;

use report::{median, pct};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ITERS: usize = 200;
const WARMUP: usize = 10;

struct Case {
    name: &'static str,
    cmd: Box<dyn Fn(usize) -> Command>,
}

fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write_bundle(dir: &Path, cfg: serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&cfg).unwrap(),
    )
    .unwrap();
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and must not
    // spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // The binary cargo built for this bench (honours CARGO_TARGET_DIR).
    let srt = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"));
    let out = root_dir().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let is_root = unsafe { libc::geteuid() } == 0;

    let strong = out.join("strong");
    write_bundle(
        &strong,
        serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/", "readonly": true},
            "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/usr/bin:/bin"]},
            "sandbox": {"filesystem": {"allowWrite": [out.join("strong").display().to_string()], "denyRead": ["~/.ssh"]}}
        }),
    );

    let mut cases: Vec<Case> = Vec::new();
    let s = srt.clone();
    let b = strong.clone();
    cases.push(Case {
        name: "srt-runc run (strong)",
        cmd: Box::new(move |_| {
            let mut c = Command::new(&s);
            c.arg("run").arg(&b);
            c
        }),
    });
    let mut missing = Vec::new();
    if Path::new(anchors::BWRAP).exists() {
        cases.push(Case {
            name: "bwrap --unshare-all",
            cmd: Box::new(|_| anchors::bwrap_true()),
        });
    } else {
        missing.push("bwrap (apt-get install bubblewrap)");
    }
    let runc_bundle = out.join("runc");
    if is_root && Path::new("/usr/sbin/runc").exists() && anchors::busybox_rootfs(&runc_bundle) {
        write_bundle(
            &runc_bundle,
            serde_json::json!({
                "ociVersion": "1.0.2",
                "root": {"path": "rootfs", "readonly": true},
                "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"], "terminal": false},
                "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]},
                "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]
            }),
        );
        let rb = runc_bundle.clone();
        cases.push(Case {
            name: "runc run",
            cmd: Box::new(move |i| {
                let mut c = Command::new("/usr/sbin/runc");
                c.args(["--root", "/run/srt-runc-bench-runc", "run", "--bundle"])
                    .arg(&rb)
                    .arg(format!("bench-{}-{i}", std::process::id()));
                c
            }),
        });
        // The OCI lifecycle as engines drive it, create + start + delete -f, on the
        // same bundle for both runtimes (one shell per sample on both sides).
        for (name, bin, root) in [
            (
                "srt-runc create+start+delete",
                srt.display().to_string(),
                "/run/srt-runc-bench-srt",
            ),
            (
                "runc create+start+delete",
                "/usr/sbin/runc".to_string(),
                "/run/srt-runc-bench-runc",
            ),
        ] {
            let rb = runc_bundle.clone();
            cases.push(Case {
                name,
                cmd: Box::new(move |i| {
                    let id = format!("bench-lc-{}-{i}", std::process::id());
                    let r = format!("{bin} --root {root}");
                    let mut c = Command::new("/bin/sh");
                    c.arg("-c").arg(format!(
                        "{r} create --bundle {b} {id} && {r} start {id} && {r} delete -f {id}",
                        b = rb.display()
                    ));
                    c
                }),
            });
        }
    } else {
        missing.push("runc (needs root, runc and busybox-static)");
    }

    for c in &cases {
        for i in 0..WARMUP {
            anchors::time(&mut (c.cmd)(i + 1_000_000));
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for i in 0..ITERS {
        for (k, c) in cases.iter().enumerate() {
            samples[k].push(anchors::time(&mut (c.cmd)(i)));
        }
    }
    let base = median(&samples[0]);
    let mut scores = Vec::new();
    for (k, c) in cases.iter().enumerate().skip(1) {
        let target = match c.name {
            "bwrap --unshare-all" => 1.0,
            "runc run" => 0.2,
            _ => continue,
        };
        scores.push(report::Score {
            label: format!("start: srt-runc / {}", c.name),
            value: base.as_secs_f64() / median(&samples[k]).as_secs_f64(),
            target,
            higher_is_better: false,
            unit: "x".into(),
        });
    }
    let lifecycle = |n: &str| cases.iter().position(|c| c.name == n);
    if let (Some(a), Some(b)) = (
        lifecycle("srt-runc create+start+delete"),
        lifecycle("runc create+start+delete"),
    ) {
        scores.push(report::Score {
            label: "OCI create+start+delete: srt-runc / runc".into(),
            value: median(&samples[a]).as_secs_f64() / median(&samples[b]).as_secs_f64(),
            target: 0.5,
            higher_is_better: false,
            unit: "x".into(),
        });
    }
    let mut table = String::new();
    table.push_str(&format!(
        "start latency of /bin/true, {ITERS} runs each, alternating, on {}\n\n",
        report::machine()
    ));
    table.push_str("| runtime | median | p90 | srt-runc / this |\n|---|---|---|---|\n");
    for (k, c) in cases.iter().enumerate() {
        let m = median(&samples[k]);
        table.push_str(&format!(
            "| {} | {:.2} ms | {:.2} ms | {:.2}x |\n",
            c.name,
            m.as_secs_f64() * 1e3,
            pct(&samples[k], 0.9).as_secs_f64() * 1e3,
            base.as_secs_f64() / m.as_secs_f64()
        ));
    }
    for m in &missing {
        table.push_str(&format!("\nnot measured: {m}\n"));
    }
    print!("{table}");
    std::fs::write(out.join("start.md"), &table).unwrap();
    report::write_scores(&out, "start", &scores);
    report::combine(&out);
    println!("\nwritten to {}", out.join("start.md").display());
}
