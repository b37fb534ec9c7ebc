//! Scaling benchmark: how start-up grows with the policy and the project, and what the
//! weaker mode costs. Run with `make bench` (or `cargo bench --bench scaling`).
//!
//! - **Weaker mode**: `srt-runc run --weaker` of `/bin/true` against strong mode and
//!   `bwrap --unshare-all`, alternating.
//! - **Policy size**: `run` of `/bin/true` with 10, 100 and 1000 writable paths, and
//!   with 10, 100 and 1000 `denyRead` entries (all real paths under a scratch
//!   directory), alternating over the counts. Reported: the median per count, the
//!   marginal cost per path between the counts, and whether the cost per path from
//!   100 to 1000 stays within 1.5× of that from 10 to 100 (no worse than linear).
//! - **Project tree**: the mandatory-deny scan of 1k-, 10k- and 100k-file projects
//!   (generated once under `target/bench/tree*`, with `.git/hooks`, `.vscode`,
//!   `.claude/commands` and nested repositories spread through them): `run` with the
//!   project as working directory and writable path, against the exact ripgrep call
//!   srt 0.0.83 makes for its scan, in the same tree; the cost per file must not grow
//!   from 10k to 100k (the same 1.5× check); and (when installed) srt's whole
//!   `srt -c true` in the 100k tree.

#[path = "support/anchors.rs"]
mod anchors;
#[path = "support/report.rs"]
mod report;

use srt_runc::policy::mandatory::{DANGEROUS_DIRS, DANGEROUS_FILES};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const START_ITERS: usize = 100;
const SCALE_ITERS: usize = 50;
const TREE_ITERS: usize = 20;
const SRT_ITERS: usize = 5;
const COUNTS: [usize; 3] = [10, 100, 1000];
/// Project trees: name, top-level directories, directories of 100 files in each.
const TREES: [(&str, usize, usize); 3] = [
    ("tree1k", 1, 10),
    ("tree10k", 1, 100),
    ("tree100k", 10, 100),
];
const SRT: &str = "/opt/srt-anchor/node_modules/.bin/srt";
/// srt 0.0.83's default `mandatoryDenySearchDepth`.
const SRT_DEPTH: usize = 3;

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[s.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn write_bundle(dir: &Path, cfg: &serde_json::Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(cfg).unwrap(),
    )
    .unwrap();
}

/// A bundle running `/bin/true` on the host root with `sandbox` as its policy.
fn bundle(dir: &Path, cwd: &Path, sandbox: serde_json::Value) -> PathBuf {
    write_bundle(
        dir,
        &serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/", "readonly": true},
            "process": {"args": ["/bin/true"], "cwd": cwd, "user": {"uid": 0, "gid": 0}, "env": ["PATH=/usr/bin:/bin"]},
            "sandbox": sandbox,
        }),
    );
    dir.to_path_buf()
}

fn run_cmd(srt: &Path, bundle: &Path, weaker: bool) -> Command {
    let mut c = Command::new(srt);
    c.arg("run");
    if weaker {
        c.arg("--weaker");
    }
    c.arg(bundle);
    c
}

/// A time ratio against its target (smaller is better).
fn time_ratio(label: &str, value: f64, target: f64) -> report::Score {
    report::Score {
        label: label.into(),
        value,
        target,
        higher_is_better: false,
        unit: "x".into(),
    }
}

/// A named measurement: one call, one sample.
type Case = (String, Box<dyn FnMut() -> Duration>);

/// Runs every case `iters` times, alternating, after one warm-up each.
fn alternate(cases: &mut [Case], iters: usize) -> Vec<Duration> {
    for (_, f) in cases.iter_mut() {
        f();
    }
    let mut samples = vec![Vec::new(); cases.len()];
    for _ in 0..iters {
        for (k, (_, f)) in cases.iter_mut().enumerate() {
            samples[k].push(f());
        }
    }
    samples.iter().map(|s| median(s)).collect()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let srt = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"));
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let scratch = out.join("scaling");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut md = format!(
        "start-up scaling, medians, alternating, on {}\n\n",
        report::machine()
    );
    let mut scores = Vec::new();

    // --- weaker mode -------------------------------------------------------------
    let project = scratch.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let policy =
        serde_json::json!({"filesystem": {"allowWrite": [project], "denyRead": ["~/.ssh"]}});
    let b = bundle(&scratch.join("start"), Path::new("/"), policy);
    let mut cases: Vec<Case> = Vec::new();
    for (name, weaker) in [
        ("srt-runc run (strong)", false),
        ("srt-runc run --weaker", true),
    ] {
        let (s, b) = (srt.clone(), b.clone());
        cases.push((
            name.into(),
            Box::new(move || anchors::time(&mut run_cmd(&s, &b, weaker))),
        ));
    }
    let have_bwrap = Path::new(anchors::BWRAP).exists();
    if have_bwrap {
        cases.push((
            "bwrap --unshare-all".into(),
            Box::new(|| anchors::time(&mut anchors::bwrap_true())),
        ));
    }
    let m = alternate(&mut cases, START_ITERS);
    md.push_str(&format!(
        "### weaker mode\n\nstart latency of /bin/true, {START_ITERS} runs each\n\n| runtime | median | weaker / this |\n|---|---|---|\n"
    ));
    for (k, (name, _)) in cases.iter().enumerate() {
        md.push_str(&format!(
            "| {name} | {:.2} ms | {:.2}x |\n",
            ms(m[k]),
            m[1].as_secs_f64() / m[k].as_secs_f64()
        ));
    }
    if !have_bwrap {
        md.push_str("\nnot measured: bwrap (apt-get install bubblewrap)\n");
    } else {
        scores.push(time_ratio(
            "start: srt-runc --weaker / bwrap",
            m[1].as_secs_f64() / m[2].as_secs_f64(),
            1.0,
        ));
    }

    // --- policy size ---------------------------------------------------------------
    for (kind, field) in [
        ("writable paths", "allowWrite"),
        ("denyRead rules", "denyRead"),
    ] {
        let mut cases: Vec<Case> = Vec::new();
        for n in COUNTS {
            let dir = scratch.join(format!("{field}-{n}"));
            let paths: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("p{i:04}"))).collect();
            for p in &paths {
                std::fs::create_dir_all(p).unwrap();
                std::fs::write(p.join("file"), "x").unwrap();
            }
            let policy = serde_json::json!({"filesystem": {field: paths}});
            let b = bundle(&dir.join("bundle"), Path::new("/"), policy);
            let s = srt.clone();
            cases.push((
                n.to_string(),
                Box::new(move || anchors::time(&mut run_cmd(&s, &b, false))),
            ));
        }
        let m = alternate(&mut cases, SCALE_ITERS);
        let slope = |a: usize, b: usize| (ms(m[b]) - ms(m[a])) / (COUNTS[b] - COUNTS[a]) as f64;
        let (lo, hi) = (slope(0, 1), slope(1, 2));
        // Below 2 µs per path the difference is noise, not growth.
        let ratio = hi.max(0.002) / lo.max(0.002);
        let linear = ratio <= 1.5;
        md.push_str(&format!(
            "\n### {kind}\n\nstart latency of /bin/true with N {field} entries, {SCALE_ITERS} runs each\n\n| N | median | per path since previous N |\n|---|---|---|\n"
        ));
        for (k, n) in COUNTS.iter().enumerate() {
            let per = if k == 0 {
                "".to_string()
            } else {
                format!("{:.1} µs", slope(k - 1, k) * 1e3)
            };
            md.push_str(&format!("| {n} | {:.2} ms | {per} |\n", ms(m[k])));
        }
        md.push_str(&format!(
            "\ngrowth: {} (cost per path 100→1000 is {ratio:.2}x that of 10→100; linear or better means ≤ 1.5x)\n",
            if linear { "linear or better" } else { "**worse than linear**" }
        ));
        scores.push(time_ratio(
            &format!("scaling: per-path cost 1000 vs 100 {kind}"),
            ratio,
            1.5,
        ));
    }

    // --- project trees: 1k, 10k and 100k files --------------------------------------
    let have_rg = Command::new("rg").arg("--version").output().is_ok();
    let mut cases: Vec<Case> = Vec::new();
    let mut sizes = Vec::new();
    for (name, tops, dirs) in TREES {
        let tree = out.join(name);
        sizes.push(make_tree(&tree, tops, dirs));
        let b = bundle(
            &scratch.join(format!("{name}-bundle")),
            &tree,
            serde_json::json!({"filesystem": {"allowWrite": [tree]}}),
        );
        let s = srt.clone();
        cases.push((
            "srt-runc".into(),
            Box::new(move || anchors::time(&mut run_cmd(&s, &b, false))),
        ));
        if have_rg {
            // Exit 0: every tree has matches (1 would mean none).
            cases.push((
                "rg".into(),
                Box::new(move || anchors::time(rg_scan().current_dir(&tree))),
            ));
        }
    }
    let m = alternate(&mut cases, TREE_ITERS);
    let per = if have_rg { 2 } else { 1 };
    let ours: Vec<Duration> = m.iter().step_by(per).copied().collect();
    md.push_str(&format!(
        "\n### mandatory-deny scan of a project tree\n\n{TREE_ITERS} runs each; `srt-runc run` of /bin/true with the tree as cwd and writable path (scan, mounts, placeholders, sandbox) against the ripgrep call srt 0.0.83 makes (depth {SRT_DEPTH}) before every command, in the same tree\n\n| files | srt-runc run | srt's rg scan alone | srt-runc / rg | srt-runc per file since previous |\n|---|---|---|---|---|\n"
    ));
    for (k, files) in sizes.iter().enumerate() {
        let rg = if have_rg {
            format!(
                "{:.2} ms | {:.2}x",
                ms(m[k * 2 + 1]),
                ours[k].as_secs_f64() / m[k * 2 + 1].as_secs_f64()
            )
        } else {
            "not measured | ".into()
        };
        let slope = if k == 0 {
            String::new()
        } else {
            format!(
                "{:.2} µs",
                (ms(ours[k]) - ms(ours[k - 1])) * 1e3 / (files - sizes[k - 1]) as f64
            )
        };
        md.push_str(&format!(
            "| {files} | {:.2} ms | {rg} | {slope} |\n",
            ms(ours[k])
        ));
    }
    let slope = |a: usize, b: usize| (ms(ours[b]) - ms(ours[a])) / (sizes[b] - sizes[a]) as f64;
    // Below 0.05 µs per file the difference is noise, not growth.
    let ratio = slope(1, 2).max(0.000_05) / slope(0, 1).max(0.000_05);
    md.push_str(&format!(
        "\ngrowth: {} (cost per file 10k→100k is {ratio:.2}x that of 1k→10k; linear or better means ≤ 1.5x)\n",
        if ratio <= 1.5 { "linear or better" } else { "**worse than linear**" }
    ));
    scores.push(time_ratio(
        "scaling: per-file cost 100k vs 10k project",
        ratio,
        1.5,
    ));
    if have_rg {
        let last = sizes.len() - 1;
        scores.push(time_ratio(
            "100k-file project: srt-runc run / srt's rg scan",
            ours[last].as_secs_f64() / m[last * 2 + 1].as_secs_f64(),
            1.0,
        ));
    } else {
        md.push_str("\nnot measured: ripgrep (apt-get install ripgrep)\n");
    }
    let tree = out.join(TREES[TREES.len() - 1].0);
    let ours_100k = ours[ours.len() - 1];
    if Path::new(SRT).exists() {
        // srt's whole start in the same tree (Node start-up, proxies, bwrap, the scan).
        let settings = scratch.join("srt-settings.json");
        std::fs::write(
            &settings,
            serde_json::to_vec(&serde_json::json!({
                "network": {"allowedDomains": [], "deniedDomains": []},
                "filesystem": {"denyRead": [], "allowWrite": [tree], "denyWrite": []},
            }))
            .unwrap(),
        )
        .unwrap();
        let mut srt_cmd = Command::new(SRT);
        srt_cmd
            .arg("-s")
            .arg(&settings)
            .args(["-c", "true"])
            .current_dir(&tree);
        let samples: Vec<Duration> = (0..SRT_ITERS)
            .map(|_| anchors::time(&mut srt_cmd))
            .collect();
        let whole = median(&samples);
        md.push_str(&format!(
            "\nsrt's whole `srt -c true` in the {}-file tree, {SRT_ITERS} runs: {:.2} ms median; srt-runc / srt = {:.2}x\n",
            sizes[sizes.len() - 1],
            ms(whole),
            ours_100k.as_secs_f64() / whole.as_secs_f64()
        ));
    } else {
        md.push_str("\nnot measured: srt itself (make bench-deps installs it)\n");
    }

    print!("{md}");
    std::fs::write(out.join("scaling.md"), &md).unwrap();
    report::write_scores(&out, "scaling", &scores);
    report::combine(&out);
    let _ = std::fs::remove_dir_all(&scratch);
    println!("\nwritten to {}", out.join("scaling.md").display());
}

/// The ripgrep call srt 0.0.83 makes for its mandatory-deny scan (allowGitConfig
/// false), run in the working directory. The names are srt's lists, which the crate's
/// own scan shares.
fn rg_scan() -> Command {
    let mut c = Command::new("rg");
    c.args([
        "--files",
        "--hidden",
        "--no-ignore",
        "--no-config",
        "--line-buffered",
        "--max-depth",
    ]);
    c.arg((SRT_DEPTH + 1).to_string());
    for f in DANGEROUS_FILES {
        c.args(["--iglob", f]);
    }
    for d in DANGEROUS_DIRS {
        c.arg("--iglob").arg(format!("**/{d}/**"));
    }
    c.args([
        "--iglob",
        "**/.git/hooks/**",
        "--iglob",
        "**/.git/HEAD",
        "--iglob",
        "**/.git/config",
        "-g",
        "!**/node_modules/**",
    ]);
    c
}

/// `tops` × `dirs` directories of 100 files each (depth 3, within srt's scan depth),
/// a top-level repository, and in every tenth directory a dotfile, a nested
/// repository, editor settings or agent commands. Made once; returns the number of
/// files.
fn make_tree(tree: &Path, tops: usize, dirs: usize) -> usize {
    let marker = tree.join(".complete");
    let count = |t: &Path| -> usize {
        std::fs::read_to_string(t.join(".complete"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    if marker.exists() {
        return count(tree);
    }
    let _ = std::fs::remove_dir_all(tree);
    let mut n = 0;
    let mut file = |p: PathBuf, body: &str| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
        n += 1;
    };
    file(tree.join(".git/HEAD"), "ref: refs/heads/main\n");
    file(tree.join(".git/config"), "[core]\n");
    file(tree.join(".git/hooks/pre-commit.sample"), "#!/bin/sh\n");
    file(tree.join(".vscode/settings.json"), "{}\n");
    for a in 0..tops {
        for b in 0..dirs {
            let d = tree.join(format!("a{a}/b{b:02}"));
            for f in 0..100 {
                file(d.join(format!("f{f:02}.rs")), "fn main() {}\n");
            }
            match (a * 100 + b) % 40 {
                0 => file(d.join(".bashrc"), "\n"),
                10 => file(d.join(".git/HEAD"), "ref: refs/heads/main\n"),
                20 => file(d.join(".vscode/tasks.json"), "{}\n"),
                30 => file(d.join(".claude/commands/x.md"), "\n"),
                _ => {}
            }
        }
    }
    std::fs::write(&marker, format!("{n}\n")).unwrap();
    n
}
