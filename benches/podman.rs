//! Engine-level start: `podman run --rm` of `/bin/true` in a busybox image with srt-runc
//! as podman's OCI runtime against the same with runc, measured alternately in one run,
//! reporting medians and the ratio. Run with `make bench` (or `cargo bench --bench
//! podman`); needs root, podman, conmon, runc and busybox-static, and says which is
//! missing otherwise.
//!
//! podman keeps everything in a private storage under `target/bench/podman` (vfs
//! driver, so no overlay mounts) with a runroot of its own; the image is imported once
//! before timing and the whole storage is removed afterwards. Both runtimes run with
//! `--network none`, so the figure is the runtime's share, not netavark's or CNI's.
//! No target is set for this ratio: podman's own work (image and storage locking,
//! conmon, the exit cleanup) dominates, and the table reports it as measured.

#[path = "support/anchors.rs"]
#[allow(dead_code)] // the bwrap anchor is not used here
mod anchors;
#[path = "../tests/common/podman_env.rs"]
mod podman_env;
#[path = "support/report.rs"]
mod report;

use report::{median, pct};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// podman run is a tenth of a second or more: fewer samples than the start bench.
const ITERS: usize = 30;
const WARMUP: usize = 3;
const IMAGE: &str = "localhost/bb:latest";
const RUNC: &str = "/usr/sbin/runc";

/// podman bound to a private storage directory.
struct Podman {
    dir: PathBuf,
    /// A short path of its own: podman refuses a runroot over 50 bytes.
    runroot: PathBuf,
}

impl Podman {
    /// Writes the containers.conf this host needs and imports the busybox image.
    fn new(dir: PathBuf) -> Podman {
        let p = Podman {
            runroot: PathBuf::from(format!("/tmp/srtp-bench-{}", std::process::id())),
            dir,
        };
        p.remove_storage();
        std::fs::create_dir_all(&p.dir).unwrap();
        std::fs::write(p.dir.join("containers.conf"), podman_env::CONTAINERS_CONF).unwrap();
        assert!(anchors::busybox_rootfs(&p.dir), "busybox-static is missing");
        let tar = p.dir.join("rootfs.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(p.dir.join("rootfs"))
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success(), "tar of the busybox root failed");
        anchors::time(p.cmd(RUNC).args(["import", tar.to_str().unwrap(), IMAGE]));
        p
    }

    /// `podman` on the private storage with `runtime` as its OCI runtime.
    fn cmd(&self, runtime: &str) -> Command {
        podman_env::podman(&self.dir, &self.runroot, Path::new(runtime))
    }

    /// One timed sample: `podman run --rm --network none IMAGE /bin/true`.
    fn run_true(&self, runtime: &str) -> Command {
        let mut c = self.cmd(runtime);
        c.args(["run", "--rm", "--network", "none", IMAGE, "/bin/true"]);
        c
    }

    /// Removes any container left, waits for the cleanup processes conmon started on
    /// this storage, detaches whatever is still mounted under it and deletes it.
    fn remove_storage(&self) {
        if self.dir.join("storage").exists() {
            let _ = self
                .cmd(RUNC)
                .args(["rm", "--all", "--force", "--time", "0"])
                .output();
        }
        let roots = [
            self.dir.to_string_lossy().into_owned(),
            self.runroot.to_string_lossy().into_owned(),
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && roots.iter().any(|r| podman_env::podman_running_on(r)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for m in mounts_under(&roots) {
            let c = std::ffi::CString::new(m).unwrap();
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        for r in &roots {
            let _ = std::fs::remove_dir_all(r);
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.remove_storage();
    }
}

/// Mount points under any of `roots`, deepest first.
fn mounts_under(roots: &[String]) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut v: Vec<String> = table
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|m| roots.iter().any(|r| m.starts_with(r.as_str())))
        .map(str::to_string)
        .collect();
    v.sort_by_key(|m| std::cmp::Reverse(m.len()));
    v
}

fn missing() -> Option<&'static str> {
    if unsafe { libc::geteuid() } != 0 {
        return Some("podman run (needs root)");
    }
    let on_path = |b: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(b).exists()))
    };
    if !on_path("podman") || !on_path("conmon") {
        return Some("podman run (apt-get install podman)");
    }
    if !Path::new(RUNC).exists() {
        return Some("podman run with runc (apt-get install runc)");
    }
    if !Path::new("/usr/bin/busybox").exists() {
        return Some("podman run (apt-get install busybox-static)");
    }
    None
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and must not
    // spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let mut table = String::new();
    if let Some(why) = missing() {
        table.push_str(&format!("not measured: {why}\n"));
        print!("{table}");
        std::fs::write(out.join("podman.md"), &table).unwrap();
        report::write_scores(&out, "podman", &[]);
        report::combine(&out);
        return;
    }
    let srt = env!("CARGO_BIN_EXE_srt-runc");
    let cases = [
        ("podman run --rm, srt-runc", srt),
        ("podman run --rm, runc", RUNC),
    ];
    let p = Podman::new(out.join("podman"));
    for (_, rt) in &cases {
        for _ in 0..WARMUP {
            anchors::time(&mut p.run_true(rt));
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..ITERS {
        for (k, (_, rt)) in cases.iter().enumerate() {
            samples[k].push(anchors::time(&mut p.run_true(rt)));
        }
    }
    drop(p);
    let base = median(&samples[0]);
    table.push_str(&format!(
        "podman run --rm --network none of /bin/true in busybox, {ITERS} runs each, \
         alternating, on Linux {} ({} cores, load average {})\n\n",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or("?"),
    ));
    table.push_str("| runtime | median | p90 | srt-runc / this |\n|---|---|---|---|\n");
    for (k, (name, _)) in cases.iter().enumerate() {
        let m = median(&samples[k]);
        table.push_str(&format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2}x |\n",
            m.as_secs_f64() * 1e3,
            pct(&samples[k], 0.9).as_secs_f64() * 1e3,
            base.as_secs_f64() / m.as_secs_f64()
        ));
    }
    table.push_str("\nno target for this ratio (report only)\n");
    print!("{table}");
    std::fs::write(out.join("podman.md"), &table).unwrap();
    // No score against a target: an empty list, which also clears an older one.
    report::write_scores(&out, "podman", &[]);
    report::combine(&out);
    println!("\nwritten to {}", out.join("podman.md").display());
}
