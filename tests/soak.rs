//! Soak: thousands of real sandboxes, one after another and many at once, as root and as
//! the unprivileged test user, through `srt-runc run` and (every fourth run) the
//! srt-compatible `srt-runc sandbox`, must leave the host exactly as they found it.
//!
//! Each run uses the policy an agent would: a writable git project (with no
//! `.git/hooks`, so every run creates and removes its placeholders), a denied secret
//! directory and a network allow list (so every run starts the host proxy). Before and
//! after, the test compares everything a leak would show in: its own open fds, the
//! host mount table, the runtime's state directories and `/tmp` entries, the projects'
//! trees, the cgroup hierarchies, its child processes (zombies), any process still
//! running the runtime binary, and the supervisors' peak RSS early vs late.
//!
//! The library front-end gets the same soak in `tests/soak_library.rs`.
#![cfg(target_os = "linux")]

mod common;

use common::leaks::*;
use common::*;
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Instant;

const SEQUENTIAL: usize = 2000;
const CONCURRENT: usize = 200;
/// Runs at each end of the sequential soak whose peak RSS is compared.
const RSS_WINDOW: usize = 200;

/// Spawns run number `i` as `user`, all output discarded: `srt-runc run BUNDLE`, and
/// every fourth run the srt-compatible `srt-runc sandbox -s SETTINGS -- /bin/true` in
/// the project with the same policy.
fn spawn_run(user: User, t: &Target, i: usize) -> Child {
    let mut c = if i % 4 == 3 {
        let mut c = srt_cmd(
            user,
            &[
                "sandbox",
                "-s",
                t.settings.to_str().unwrap(),
                "--",
                "/bin/true",
            ],
        );
        c.current_dir(&t.project);
        c
    } else {
        srt_cmd(user, &["run", t.bundle.to_str().unwrap()])
    };
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    // Its own process group, so a stray signal to the test's group cannot matter.
    c.process_group(0);
    c.spawn().unwrap()
}

/// Waits for `child` with wait4, returning its exit code and peak RSS in KiB.
fn wait_rusage(mut child: Child) -> (i32, i64, String) {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(
        r,
        child.id() as i32,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, ru.ru_maxrss, err)
}

/// One user's way in: a bundle and an srt settings file with the same policy.
struct Target {
    bundle: PathBuf,
    settings: PathBuf,
    project: PathBuf,
}

fn target(s: &Scratch, project: &Path, user: User) -> Target {
    let policy = agent_policy(s, project);
    let mut cfg = config(&["/bin/true"]);
    cfg["process"]["cwd"] = json!(project);
    cfg["sandbox"] = policy.clone();
    let bundle = s.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    write_bundle(&bundle, &cfg);
    let settings = s.join("srt-settings.json");
    std::fs::write(&settings, policy.to_string()).unwrap();
    chown(&settings, user);
    Target {
        bundle,
        settings,
        project: project.to_path_buf(),
    }
}

fn median(v: &mut [i64]) -> i64 {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn thousands_of_runs_sequential_and_concurrent_leave_nothing_behind() {
    let users = users();
    // Copy the binaries before the first snapshot; their directory is the test's own.
    let _ = srt_runc();
    let scratches: Vec<Scratch> = users.iter().map(|u| Scratch::new("soak", *u)).collect();
    let projects: Vec<PathBuf> = scratches
        .iter()
        .zip(&users)
        .map(|(s, u)| project(s, *u))
        .collect();
    let targets: Vec<Target> = (0..users.len())
        .map(|k| target(&scratches[k], &projects[k], users[k]))
        .collect();
    let before = snapshot(&users, &projects);

    // Sequential: users alternate, one run at a time.
    let t = Instant::now();
    let mut rss: Vec<i64> = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let k = i % users.len();
        let (code, maxrss, err) = wait_rusage(spawn_run(users[k], &targets[k], i));
        assert_eq!(code, 0, "run {i} as {}: {err}", users[k].label());
        rss.push(maxrss);
    }
    let sequential = t.elapsed();
    let after = snapshot(&users, &projects);
    assert_unchanged(&before, &after, "after the sequential runs");
    let early = median(&mut rss[..RSS_WINDOW].to_vec());
    let late = median(&mut rss[SEQUENTIAL - RSS_WINDOW..].to_vec());
    // Each supervisor is a fresh process; a late peak above the early one by more
    // than noise means state the runtime accumulates across runs (a growing registry,
    // say) is being loaded.
    assert!(
        late <= early + early / 10 + 512,
        "supervisor peak RSS grew: median of the first {RSS_WINDOW} runs {early} KiB, of the last {late} KiB"
    );

    // Concurrent: all at once, users mixed, sharing each user's placeholders.
    let t = Instant::now();
    let running: Vec<(usize, Child)> = (0..CONCURRENT)
        .map(|i| {
            let k = i % users.len();
            (k, spawn_run(users[k], &targets[k], i))
        })
        .collect();
    for (i, (k, child)) in running.into_iter().enumerate() {
        let (code, _, err) = wait_rusage(child);
        assert_eq!(code, 0, "concurrent run {i} as {}: {err}", users[k].label());
    }
    let concurrent = t.elapsed();
    let after = settle(&before, &users, &projects);
    assert_unchanged(&before, &after, "after the concurrent runs");
    eprintln!(
        "soak: {SEQUENTIAL} sequential runs in {sequential:.1?}, {CONCURRENT} concurrent in {concurrent:.1?}; supervisor peak RSS median {early} KiB early, {late} KiB late"
    );
}
