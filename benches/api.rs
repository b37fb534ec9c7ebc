//! Library overhead: `Sandbox::…command("/bin/true").status()` (spawn + wait through
//! the `srt-runc` helper) next to a plain `std::process::Command` spawn + wait of the
//! same program, and next to the CLI doing the same sandbox (`srt-runc sandbox`),
//! measured alternately in one run. Run with `make bench` (or `cargo bench --bench api`).

#[path = "support/report.rs"]
mod report;

use report::{median, pct};
use srt_runc::embed::Sandbox;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ITERS: usize = 200;
const WARMUP: usize = 10;

type Case = (&'static str, Box<dyn Fn() -> Duration>);

/// One timed `Sandbox` spawn + wait of /bin/true.
fn in_sandbox(sandbox: Sandbox) -> Box<dyn Fn() -> Duration> {
    Box::new(move || {
        let t = Instant::now();
        let st = sandbox
            .command("/bin/true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "{st}");
        t.elapsed()
    })
}

fn main() {
    // `cargo test --all-targets` runs benches without --bench; it must not spend time here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"));
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let settings_file = out.join("api-settings.json");
    let settings = r#"{"network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": ["~/.ssh"], "allowWrite": [], "denyWrite": []}}"#;
    std::fs::write(&settings_file, settings).unwrap();
    let strong = Sandbox::new(serde_json::from_str(settings).unwrap()).helper(&helper);
    let weaker = strong.clone().weaker();

    let quiet = |c: &mut Command| {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let timed = |f: &dyn Fn() -> bool| {
        let t = Instant::now();
        assert!(f(), "run failed");
        t.elapsed()
    };
    let (h, sf) = (helper.clone(), settings_file.clone());
    let cases: Vec<Case> = vec![
        (
            "std::process::Command /bin/true",
            Box::new(move || {
                timed(&|| {
                    let mut c = Command::new("/bin/true");
                    quiet(&mut c);
                    c.status().unwrap().success()
                })
            }),
        ),
        ("Sandbox (strong) /bin/true", in_sandbox(strong)),
        ("Sandbox (weaker) /bin/true", in_sandbox(weaker)),
        (
            "srt-runc sandbox (CLI, strong) /bin/true",
            Box::new(move || {
                timed(&|| {
                    let mut c = Command::new(&h);
                    c.arg("sandbox")
                        .arg("-s")
                        .arg(&sf)
                        .args(["--", "/bin/true"]);
                    quiet(&mut c);
                    c.status().unwrap().success()
                })
            }),
        ),
    ];
    for (_, run) in &cases {
        for _ in 0..WARMUP {
            run();
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..ITERS {
        for (k, (_, run)) in cases.iter().enumerate() {
            samples[k].push(run());
        }
    }
    let base = median(&samples[0]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut table =
        format!(
        "spawn + wait of /bin/true, {ITERS} runs each, alternating; {} cores, load average {}\n\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    table.push_str("| how | median | p90 | / std::process::Command |\n|---|---|---|---|\n");
    for (k, (name, _)) in cases.iter().enumerate() {
        let m = median(&samples[k]);
        table.push_str(&format!(
            "| {name} | {:.2} ms | {:.2} ms | {:.1}x |\n",
            m.as_secs_f64() * 1e3,
            pct(&samples[k], 0.9).as_secs_f64() * 1e3,
            m.as_secs_f64() / base.as_secs_f64()
        ));
    }
    let lib = median(&samples[1]).as_secs_f64();
    let cli = median(&samples[3]).as_secs_f64();
    table.push_str(&format!(
        "\nlibrary overhead over the CLI running the same sandbox: {:.2} ms ({:.2}x)\n",
        (lib - cli) * 1e3,
        lib / cli
    ));
    print!("{table}");
    std::fs::write(out.join("api.md"), &table).unwrap();
    // The library should cost little over the CLI it drives (a socketpair, a handshake
    // and the report): target at most 1.2x.
    report::write_scores(
        &out,
        "api",
        &[report::Score {
            label: "api: Sandbox spawn+wait / srt-runc sandbox CLI".into(),
            value: lib / cli,
            target: 1.2,
            higher_is_better: false,
            unit: "x".into(),
        }],
    );
    report::combine(&out);
    println!("\nwritten to {}", out.join("api.md").display());
}
