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
//! The library front-end (a builder embedding the runtime) does not exist yet; when it
//! does, it gets the same soak.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SEQUENTIAL: usize = 2000;
const CONCURRENT: usize = 200;
/// Runs at each end of the sequential soak whose peak RSS is compared.
const RSS_WINDOW: usize = 200;

/// Everything on the host a run could leave behind.
#[derive(Debug, PartialEq, Eq)]
struct HostState {
    fds: BTreeSet<String>,
    mounts: BTreeSet<String>,
    state_dirs: BTreeSet<String>,
    tmp: BTreeSet<String>,
    trees: BTreeSet<String>,
    cgroups: BTreeSet<String>,
    children: Vec<String>,
    runtime_procs: Vec<String>,
}

/// Every path beneath `dir` (relative, with a type marker), `max` levels deep.
fn tree(dir: &Path, max: usize, out: &mut BTreeSet<String>, prefix: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = format!("{prefix}/{}", e.file_name().to_string_lossy());
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.insert(format!("{name}{}", if is_dir { "/" } else { "" }));
        if is_dir && max > 1 {
            tree(&e.path(), max - 1, out, &name);
        }
    }
}

/// Processes whose parent is this test process, as `pid state comm`.
fn children() -> Vec<String> {
    let me = std::process::id().to_string();
    procs()
        .filter_map(|(pid, stat)| {
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after ')'.
            let after = &stat[stat.rfind(')')? + 2..];
            let mut f = after.split(' ');
            let state = f.next()?;
            (f.next()? == me).then(|| format!("{pid} {state} {stat}"))
        })
        .collect()
}

fn procs() -> impl Iterator<Item = (String, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            pid.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            Some((pid, stat))
        })
}

/// Processes still executing the runtime binary this test runs.
fn runtime_procs() -> Vec<String> {
    let bin = srt_runc();
    procs()
        .filter(|(pid, _)| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == Some(bin.clone()))
        .map(|(pid, stat)| format!("{pid} {stat}"))
        .collect()
}

fn snapshot(users: &[User], projects: &[PathBuf]) -> HostState {
    let mut fds = BTreeSet::new();
    for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        fds.insert(format!(
            "{} -> {}",
            e.file_name().to_string_lossy(),
            target.display()
        ));
    }
    // The handle of this very listing.
    let own = format!("/proc/{}/fd", std::process::id());
    fds.retain(|f| !f.ends_with(&own));
    let mut state_dirs = BTreeSet::new();
    let mut roots = vec![
        PathBuf::from("/run/srt-runc"),
        PathBuf::from("/run/srt-runc-placeholders"),
    ];
    for u in users {
        roots.push(PathBuf::from(format!(
            "/tmp/srt-runc-placeholders-{}",
            u.uid
        )));
        roots.push(PathBuf::from(format!("/run/user/{}/srt-runc", u.uid)));
        roots.push(PathBuf::from(format!(
            "/run/user/{}/srt-runc-placeholders",
            u.uid
        )));
    }
    for r in &roots {
        // Only the contents: an empty root may come and go (the runtime removes its
        // registry directory when nothing uses it).
        if r.exists() {
            tree(r, 4, &mut state_dirs, &r.display().to_string());
        }
    }
    // Containers of other tests (the OCI lifecycle under podman/containerd) come and
    // go in the same state root; a `run` keeps no state there, so only entries naming
    // this test's paths, or not belonging to a container, count.
    let foreign: Vec<String> = state_dirs
        .iter()
        .filter(|e| e.ends_with("/state.json"))
        .filter(|e| {
            let text = std::fs::read_to_string(e).unwrap_or_default();
            !projects
                .iter()
                .any(|p| text.contains(&*p.to_string_lossy()))
        })
        .map(|e| e.trim_end_matches("state.json").to_string())
        .collect();
    state_dirs.retain(|e| !foreign.iter().any(|f| e.starts_with(f)));
    // The placeholder registry may list other tests' placeholders; ours must be gone.
    for r in &roots {
        let text = std::fs::read_to_string(r.join("placeholders.json")).unwrap_or_default();
        state_dirs.retain(|e| !e.ends_with("/placeholders.json"));
        for p in projects {
            if text.contains(&*p.to_string_lossy()) {
                state_dirs.insert(format!("{} lists {}", r.display(), p.display()));
            }
        }
    }
    // The runtime's own names in /tmp (other tests' scratch and binary copies aside;
    // the users' registry directories are state roots, compared above by content).
    let state_names: Vec<String> = users
        .iter()
        .map(|u| format!("srt-runc-placeholders-{}", u.uid))
        .collect();
    let tmp = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            (n.contains("srt") || n.contains("claude") || n.starts_with(".tmp"))
                && !n.starts_with("srt-runc-test-bin-")
                && n != "srt-runc-tests"
                && !state_names.contains(n)
        })
        .collect();
    let mut trees = BTreeSet::new();
    for p in projects {
        tree(p, 6, &mut trees, &p.display().to_string());
    }
    // The runtime makes no cgroups for `run`: the test's own membership must not
    // change and no group of the runtime's may appear. (Container engines, the host's
    // job control and other tests create and remove groups of their own meanwhile, so
    // the whole hierarchy cannot be compared.)
    let mut cgroups = BTreeSet::new();
    tree(Path::new("/sys/fs/cgroup"), 4, &mut cgroups, "");
    cgroups.retain(|c| {
        c.ends_with('/')
            && c.split('/')
                .any(|n| n.starts_with("srt-runc") && !n.starts_with("srt-runc-test-"))
    });
    cgroups.extend(
        std::fs::read_to_string("/proc/self/cgroup")
            .unwrap()
            .lines()
            .map(|l| format!("self: {l}")),
    );
    HostState {
        fds,
        mounts: host_mount_table(),
        state_dirs,
        tmp,
        trees,
        cgroups,
        children: children(),
        runtime_procs: runtime_procs(),
    }
}

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

/// A project an agent works in: a git repository without hooks, some sources.
fn project(s: &Scratch, user: User) -> PathBuf {
    let p = s.join("project");
    for d in ["src", ".git/objects", ".git/refs"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
    }
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(p.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::create_dir_all(s.join("secret")).unwrap();
    std::fs::write(s.join("secret/key"), "k").unwrap();
    for e in walk(&s.path) {
        chown(&e, user);
    }
    p
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            v.extend(walk(&e.path()));
        }
    }
    v
}

/// One user's way in: a bundle and an srt settings file with the same policy.
struct Target {
    bundle: PathBuf,
    settings: PathBuf,
    project: PathBuf,
}

fn target(s: &Scratch, project: &Path, user: User) -> Target {
    let policy = json!({
        "filesystem": {
            "allowWrite": [project],
            "denyRead": [s.join("secret")],
            "denyWrite": [],
        },
        "network": {"allowedDomains": ["example.com", "*.crates.io"], "deniedDomains": []},
    });
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

fn assert_unchanged(before: &HostState, after: &HostState, phase: &str) {
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
        (
            b.difference(a).cloned().collect::<Vec<_>>(),
            a.difference(b).cloned().collect::<Vec<_>>(),
        )
    };
    let sets = [
        ("open fds of the test process", &before.fds, &after.fds),
        (
            "runtime state directories",
            &before.state_dirs,
            &after.state_dirs,
        ),
        ("runtime entries in /tmp", &before.tmp, &after.tmp),
        ("project trees", &before.trees, &after.trees),
        ("cgroup hierarchies", &before.cgroups, &after.cgroups),
    ];
    for (what, a, b) in sets {
        let (added, removed) = diff(a, b);
        assert!(
            added.is_empty() && removed.is_empty(),
            "{phase}: {what} changed: added {added:#?}, removed {removed:#?}"
        );
    }
    let (added, removed) = diff(&before.mounts, &after.mounts);
    assert!(
        added.is_empty() && removed.is_empty(),
        "{phase}: host mount table changed: added {added:#?}, removed {removed:#?}"
    );
    assert!(
        after.children.is_empty(),
        "{phase}: children (zombies) left: {:#?}",
        after.children
    );
    assert!(
        after.runtime_procs.is_empty(),
        "{phase}: runtime processes left: {:#?}",
        after.runtime_procs
    );
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
    // Supervisors that have exited may still be in the kernel's teardown of their
    // namespaces; nothing they own is on the host by then, but give /proc a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut after = snapshot(&users, &projects);
    while after != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after = snapshot(&users, &projects);
    }
    assert_unchanged(&before, &after, "after the concurrent runs");
    eprintln!(
        "soak: {SEQUENTIAL} sequential runs in {sequential:.1?}, {CONCURRENT} concurrent in {concurrent:.1?}; supervisor peak RSS median {early} KiB early, {late} KiB late"
    );
}
