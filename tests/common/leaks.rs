//! "Nothing left behind" for the soak tests: a snapshot of everything on the host a
//! sandbox run could leak (the test's fds, the mount table, the runtime's state
//! directories and `/tmp` names, the projects' trees, cgroups, child and runtime
//! processes), the agent project the runs work in, and the before/after comparison.

use super::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything on the host a run could leave behind.
#[derive(Debug, PartialEq, Eq)]
pub struct HostState {
    pub fds: BTreeSet<String>,
    pub mounts: BTreeSet<String>,
    pub state_dirs: BTreeSet<String>,
    pub tmp: BTreeSet<String>,
    pub trees: BTreeSet<String>,
    pub cgroups: BTreeSet<String>,
    pub children: Vec<String>,
    pub runtime_procs: Vec<String>,
}

/// Every path beneath `dir` (relative, with a type marker), `max` levels deep.
pub fn tree(dir: &Path, max: usize, out: &mut BTreeSet<String>, prefix: &str) {
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
pub fn children() -> Vec<String> {
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

pub fn procs() -> impl Iterator<Item = (String, String)> {
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
pub fn runtime_procs() -> Vec<String> {
    let bin = srt_runc();
    procs()
        .filter(|(pid, _)| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == Some(bin.clone()))
        .map(|(pid, stat)| format!("{pid} {stat}"))
        .collect()
}

pub fn snapshot(users: &[User], projects: &[PathBuf]) -> HostState {
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

/// The policy an agent runs its tool calls under, in srt's settings format: the
/// project writable, the secret directory next to it denied, a network allow list
/// (so every run starts the host proxy).
pub fn agent_policy(s: &Scratch, project: &Path) -> Value {
    json!({
        "filesystem": {
            "allowWrite": [project],
            "denyRead": [s.join("secret")],
            "denyWrite": [],
        },
        "network": {"allowedDomains": ["example.com", "*.crates.io"], "deniedDomains": []},
    })
}

/// A project an agent works in: a git repository without hooks, some sources.
pub fn project(s: &Scratch, user: User) -> PathBuf {
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

pub fn walk(p: &Path) -> Vec<PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            v.extend(walk(&e.path()));
        }
    }
    v
}

pub fn assert_unchanged(before: &HostState, after: &HostState, phase: &str) {
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

/// The host state once it equals `before`, or after 5 s. Supervisors that have exited
/// may still be in the kernel's teardown of their namespaces; nothing they own is on
/// the host by then, but give /proc a moment.
pub fn settle(before: &HostState, users: &[User], projects: &[PathBuf]) -> HostState {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut after = snapshot(users, projects);
    while after != *before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after = snapshot(users, projects);
    }
    after
}
