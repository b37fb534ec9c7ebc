//! Shared by the benches: each bench writes its Markdown table (`NAME.md`) and its
//! ratios against targets (`NAME.tsv`) into `target/bench/`; whichever bench runs
//! last combines what is there into `results.md` and a small bar chart
//! `chart.svg` (hand-written SVG, no dependencies).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// The machine a table was measured on, as the tables head it: `Linux <release> (<n> cores)`.
#[allow(dead_code)] // not every bench heads its table this way
pub fn machine() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("Linux {} ({cores} cores)", release.trim())
}

/// The median of timing samples.
#[allow(dead_code)] // not every bench times with Durations
pub fn median(v: &[Duration]) -> Duration {
    pct(v, 0.5)
}

/// The `p` quantile (0..=1) of timing samples, nearest rank below.
#[allow(dead_code)]
pub fn pct(v: &[Duration], p: f64) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s[((s.len() as f64 - 1.0) * p) as usize]
}

/// One measured ratio against its target.
pub struct Score {
    pub label: String,
    /// Measured value, in the unit of `target`.
    pub value: f64,
    pub target: f64,
    /// `true` when bigger is better (throughput ratio), `false` when smaller is
    /// better (time ratio, memory).
    pub higher_is_better: bool,
    /// How to print the value and the target, e.g. "{:.2}x".
    pub unit: String,
}

impl Score {
    /// `>= 1` means the target is met.
    fn margin(&self) -> f64 {
        if self.higher_is_better {
            self.value / self.target
        } else {
            self.target / self.value
        }
    }
}

pub fn write_scores(dir: &Path, bench: &str, scores: &[Score]) {
    let mut s = String::new();
    for c in scores {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t{}",
            c.label,
            c.value,
            c.target,
            if c.higher_is_better {
                "higher"
            } else {
                "lower"
            },
            c.unit
        );
    }
    std::fs::write(dir.join(format!("{bench}.tsv")), s).unwrap();
}

fn read_scores(path: &Path) -> Vec<Score> {
    let Ok(s) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() != 5 {
                return None;
            }
            Some(Score {
                label: f[0].to_string(),
                value: f[1].parse().ok()?,
                target: f[2].parse().ok()?,
                higher_is_better: f[3] == "higher",
                unit: f[4].to_string(),
            })
        })
        .filter(|s| s.value.is_finite() && s.value > 0.0)
        .collect()
}

fn fmt_unit(unit: &str, v: f64) -> String {
    // unit is "x" (ratio) or "MiB"
    match unit {
        "MiB" => format!("{v:.1} MiB"),
        _ => format!("{v:.2}x"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Combine `start.md`/`podman.md`/`net.md`/`api.md`/`scaling.md` and their scores into `results.md` and `chart.svg`.
pub fn combine(dir: &Path) {
    let mut md = String::from("# srt-runc benchmark results\n\n");
    let mut scores = Vec::new();
    for bench in ["start", "podman", "net", "api", "scaling"] {
        match std::fs::read_to_string(dir.join(format!("{bench}.md"))) {
            Ok(t) => {
                let _ = writeln!(md, "## {bench}\n\n{t}");
            }
            Err(_) => {
                let _ = writeln!(
                    md,
                    "## {bench}\n\n**not run** (`cargo bench --bench {bench}`)\n"
                );
            }
        }
        scores.extend(read_scores(&dir.join(format!("{bench}.tsv"))));
    }
    md.push_str(
        "## ratios against targets\n\n| measure | value | target | met |\n|---|---|---|---|\n",
    );
    for s in &scores {
        let _ = writeln!(
            md,
            "| {} | {} | {} {} | {} |",
            s.label,
            fmt_unit(&s.unit, s.value),
            if s.higher_is_better { "≥" } else { "≤" },
            fmt_unit(&s.unit, s.target),
            if s.margin() >= 1.0 { "yes" } else { "**no**" }
        );
    }
    md.push_str("\n![ratios against targets](chart.svg)\n");
    std::fs::write(dir.join("results.md"), md).unwrap();
    std::fs::write(dir.join("chart.svg"), chart(&scores)).unwrap();
}

/// Horizontal bars of value/target (or target/value when smaller is better) on a
/// log scale from 0.1 to 100; the line at 1 is the target.
fn chart(scores: &[Score]) -> String {
    let (left, width, row) = (330.0, 420.0, 28.0);
    let h = 60.0 + row * scores.len() as f64;
    let x = |m: f64| left + width * ((m.clamp(0.1, 100.0).log10() + 1.0) / 3.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#,
        w = left + width + 120.0
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="18" font-weight="bold">srt-runc: margin over target (value/target, log scale; right of the line = met)</text>"#
    );
    for (i, sc) in scores.iter().enumerate() {
        let y = 34.0 + row * i as f64;
        let m = sc.margin();
        let color = if m >= 1.0 { "#2e7d32" } else { "#c62828" };
        let _ = writeln!(
            s,
            r#"<text x="{tx}" y="{ty}" text-anchor="end">{label}</text><rect x="{left}" y="{y}" width="{bw:.1}" height="18" fill="{color}"/><text x="{vx:.1}" y="{ty}">{val} ({cmp} {tgt})</text>"#,
            tx = left - 6.0,
            ty = y + 13.0,
            label = esc(&sc.label),
            bw = (x(m) - left).max(1.0),
            vx = x(m) + 4.0,
            val = esc(&fmt_unit(&sc.unit, sc.value)),
            cmp = if sc.higher_is_better { "≥" } else { "≤" },
            tgt = esc(&fmt_unit(&sc.unit, sc.target)),
        );
    }
    let bottom = 34.0 + row * scores.len() as f64;
    for (m, label) in [
        (0.1, "0.1"),
        (1.0, "1 = target"),
        (10.0, "10"),
        (100.0, "100"),
    ] {
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="28" x2="{x:.1}" y2="{bottom}" stroke="{c}" stroke-dasharray="{d}"/><text x="{x:.1}" y="{ly}" text-anchor="middle">{label}</text>"##,
            x = x(m),
            c = if m == 1.0 { "#000" } else { "#bbb" },
            d = if m == 1.0 { "0" } else { "3,3" },
            ly = bottom + 16.0
        );
    }
    s.push_str("</svg>\n");
    s
}
