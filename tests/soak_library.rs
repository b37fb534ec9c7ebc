//! Soak of the library front-end: thousands of real sandboxes started through
//! `srt_runc::embed`, one after another from std code and many at once from a
//! multi-threaded tokio program, must leave the host and the embedding process exactly
//! as they found them.
//!
//! Every run uses the agent policy of the CLI soak (`tests/soak.rs`): a writable git
//! project without `.git/hooks` (so every run makes and removes placeholders), a denied
//! secret directory and a network allow list (so every run starts the host proxy).
//! Before and after, the same snapshot is compared: this process's fds, the host mount
//! table, the runtime's state directories and `/tmp` names, the project's tree, the
//! cgroups, this process's children (zombies) and any process still running the
//! helper binary. Memory must stay flat: this process's own RSS after the first
//! [`WINDOW`] runs against after the last, and the helpers' peak RSS over the same
//! spans.
//!
//! Root only: the API starts the helper as the calling process's own user and offers
//! no way to start it as another, so an unprivileged embedding is an unprivileged
//! process; the rootless path of the same helper is soaked through the CLI.
#![cfg(target_os = "linux")]

mod common;

use common::leaks::*;
use common::*;
use srt_runc::embed::{Layer, Sandbox, Status};
use srt_runc::policy::SandboxSettings;
use std::io::Read;
use std::process::Stdio;
use std::time::Instant;

const SEQUENTIAL: usize = 2000;
const CONCURRENT: usize = 200;
/// Runs after which the early memory figures are taken.
const WINDOW: usize = 200;
/// How much this process's RSS may grow between run 200 and run 2000. The library
/// keeps nothing per finished child (the helper, its socket, pipes and event thread
/// are gone once `wait` returns), so a leak of even one buffer per run would add
/// 1800 of them; what remains is the allocator's noise (freed memory kept in arenas
/// and the thread stacks it caches), measured well under this.
const OWN_RSS_SLACK_KIB: i64 = 1024;

/// This process's resident set (VmRSS), in KiB.
fn own_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The largest peak RSS, in KiB, of any child this process has reaped (the helpers)
/// and of their reaped descendants (the sandboxes' processes). The API does not hand
/// out a helper's own rusage (it reaps the helper inside `wait`), so growth shows as a
/// higher maximum late than early.
fn helpers_peak_rss_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) },
        0
    );
    ru.ru_maxrss
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Sequential run `i` through one of the std entry points, its output checked:
/// `status()` of `/bin/true`, `output()` of an echo, or `spawn()` with a piped stdout
/// of a shell that writes, reads back and removes a file in the project.
fn std_run(sandbox: &Sandbox, project: &std::path::Path, i: usize) {
    match i % 3 {
        0 => {
            let st = sandbox
                .command("/bin/true")
                .current_dir(project)
                .status()
                .unwrap();
            assert!(st.success(), "run {i}: {st}");
        }
        1 => {
            let out = sandbox
                .command("/bin/echo")
                .arg(format!("run {i}"))
                .current_dir(project)
                .output()
                .unwrap();
            assert!(out.status.success(), "run {i}: {}", text(&out.stderr));
            assert_eq!(text(&out.stdout), format!("run {i}\n"));
            assert_eq!(out.report.status(Layer::Proxy), Status::Enforced);
        }
        _ => {
            let f = format!("soak-{i}.txt");
            let mut child = sandbox
                .command("/bin/sh")
                .arg("-c")
                .arg(format!("echo {i} > {f} && cat {f} && rm {f}"))
                .current_dir(project)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut pipe = child.stdout.take().unwrap();
            let mut got = String::new();
            pipe.read_to_string(&mut got).unwrap();
            drop(pipe);
            let st = child.wait().unwrap();
            assert!(st.success(), "run {i}: {st}");
            assert_eq!(got, format!("{i}\n"));
        }
    }
}

/// Concurrent run `i`: `output_async()`, or `spawn_async()` then `wait_with_output()`.
async fn async_run(sandbox: Sandbox, project: std::path::PathBuf, i: usize) {
    let mut cmd = sandbox.command("/bin/echo");
    cmd.arg(format!("task {i}")).current_dir(&project);
    let out = if i % 2 == 0 {
        cmd.output_async().await.unwrap()
    } else {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn_async()
            .await
            .unwrap();
        child.wait_with_output().await.unwrap()
    };
    assert!(out.status.success(), "task {i}: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("task {i}\n"));
}

#[test]
fn thousands_of_library_sandboxes_leave_nothing_behind_and_memory_flat() {
    let users = users();
    let me = users[0];
    // The helper is the world-executable copy, so a helper left running shows up
    // among the runtime's processes in the snapshot.
    let helper = srt_runc();
    let scratch = Scratch::new("soak-lib", me);
    let project = project(&scratch, me);
    let policy: SandboxSettings = serde_json::from_value(agent_policy(&scratch, &project)).unwrap();
    let sandbox = Sandbox::new(policy).helper(&helper);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Warm up both flavours before the baseline: tokio opens its child-reaping fds
    // on the first spawn.
    std_run(&sandbox, &project, 1);
    rt.block_on(async_run(sandbox.clone(), project.clone(), 0));
    let projects = [project.clone()];
    let before = snapshot(&users, &projects);

    let t = Instant::now();
    let (mut own_early, mut helper_early) = (0, 0);
    for i in 0..SEQUENTIAL {
        std_run(&sandbox, &project, i);
        if i + 1 == WINDOW {
            (own_early, helper_early) = (own_rss_kib(), helpers_peak_rss_kib());
        }
    }
    let sequential = t.elapsed();
    let (own_late, helper_late) = (own_rss_kib(), helpers_peak_rss_kib());
    let after = settle(&before, &users, &projects);
    assert_unchanged(&before, &after, "after the sequential library runs");
    assert!(
        own_late <= own_early + OWN_RSS_SLACK_KIB,
        "the embedding process grew: RSS {own_early} KiB after {WINDOW} runs, {own_late} KiB after {SEQUENTIAL}"
    );
    // Each helper is a fresh process; a later one peaking above every early one by
    // more than noise means something accumulates across runs and is being loaded.
    assert!(
        helper_late <= helper_early + helper_early / 10 + 512,
        "helper peak RSS grew: at most {helper_early} KiB in the first {WINDOW} runs, {helper_late} KiB over all {SEQUENTIAL}"
    );

    let t = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..CONCURRENT)
            .map(|i| tokio::spawn(async_run(sandbox.clone(), project.clone(), i)))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let concurrent = t.elapsed();
    let after = settle(&before, &users, &projects);
    assert_unchanged(&before, &after, "after the concurrent library runs");
    eprintln!(
        "library soak: {SEQUENTIAL} sequential runs in {sequential:.1?}, {CONCURRENT} concurrent in {concurrent:.1?}; own RSS {own_early} KiB after {WINDOW} runs, {own_late} KiB after {SEQUENTIAL}; helper peak RSS {helper_early} KiB early, {helper_late} KiB overall"
    );
}
