//! `create`, `start`, `state`, `kill`, `delete`, `list` with runc's semantics.
//!
//! The exec fifo: `create` makes `ROOT/<id>/exec.fifo` and opens it read-write before
//! the clone; the init inherits that fd and, fully set up, blocks reading one byte.
//! `start` opens the fifo write-only *non-blocking* (ENXIO = no reader = the init is
//! gone), removes it and writes the byte. So "created" == "the fifo exists", and the init
//! never has to open a host path after Landlock is applied.
//!
//! With `startContainer` hooks, which the init runs after that byte, `create` also makes
//! `ROOT/<id>/start-status.fifo`, whose only writer is the init (close-on-exec): `start`
//! reads it to EOF, so it returns once the command is exec'd, or with the failing hook's
//! message.

use super::state::{self, Root, State, Status, EXEC_FIFO, START_STATUS};
use super::{console, hooks, OciError};
use crate::linux::cgroup::{self, Cgroup};
use crate::linux::{detached, init, sys};
use crate::{plan, policy};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `create` flags.
#[derive(Debug, Default)]
pub struct CreateArgs {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
}

/// Removes a half-created container directory unless disarmed.
struct DirGuard(Option<PathBuf>);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// `create`: set the container up completely, leave its init blocked on the exec fifo,
/// record it, write the pid file, and return (the init outlives us).
pub fn create(root: &Root, id: &str, a: &CreateArgs) -> Result<(), OciError> {
    state::validate_id(id)?;
    let bundle = std::path::absolute(&a.bundle)
        .map_err(|e| OciError::io(format!("bundle {}", a.bundle.display()), e))?;
    let raw = read_raw_config(&bundle)?;
    let policy = policy::oci::load_bundle(&bundle)?;
    let plan = plan::build(&policy, plan::Caller::current())?;
    let socket = match (&a.console_socket, plan.process.terminal) {
        (Some(p), true) => Some(console::connect(p)?),
        (None, true) => {
            return Err(OciError::Other(
                "cannot allocate tty if srt-runc will detach without setting console socket".into(),
            ))
        }
        (Some(_), false) => {
            return Err(OciError::Other(
                "cannot use console socket if srt-runc will not detach or allocate tty".into(),
            ))
        }
        (None, false) => None,
    };

    let hooks: Option<oci_spec::runtime::Hooks> = raw
        .get("hooks")
        .map(|h| {
            serde_json::from_value(h.clone())
                .map_err(|e| OciError::Other(format!("{}: hooks: {e}", plan.origin)))
        })
        .transpose()?;
    // Non-empty lists only: an empty one changes nothing.
    let listed = |f: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>| {
        hooks
            .as_ref()
            .and_then(|h| f(h).clone())
            .filter(|l| !l.is_empty())
    };
    let create_hooks = listed(|h| h.create_container());
    let start_hooks = listed(|h| h.start_container());
    let annotations = annotations(&raw);
    let dir = root.create_container_dir(id)?;
    let mut guard = DirGuard(Some(dir.clone()));
    // Declared before the init (`created`), so on failure the init dies first.
    let mut cgroup = CgroupGuard(container_cgroup(id, &raw)?);
    // Read-write: the open never blocks, and the init's own write end keeps its read
    // blocking (instead of seeing EOF) until `start` writes.
    let fifo = open_fifo_rw(&dir.join(EXEC_FIFO))?;
    let start_status = match start_hooks {
        Some(_) => Some(open_fifo_rw(&dir.join(START_STATUS))?),
        None => None,
    };
    // Called by the init, in the container (see `init::InitHooks`).
    let run_in_init = |kind: &'static str, list: &Option<Vec<oci_spec::runtime::Hook>>, status| {
        let list = list.clone();
        let (bundle, annotations) = (&bundle, &annotations);
        move |pid: i32| -> Result<(), String> {
            let state = hooks::state_json(id, status, pid, bundle, annotations);
            hooks::run(kind, list.as_deref().unwrap_or_default(), &state).map_err(|e| e.to_string())
        }
    };
    let create_container = run_in_init("createContainer", &create_hooks, "creating");
    let start_container = run_in_init("startContainer", &start_hooks, "created");

    let mut created = detached::create(
        &plan,
        detached::CreateOptions {
            start_fifo: fifo,
            preserve_fds: a.preserve_fds,
            cgroup: cgroup.0.as_ref(),
            before_setup: Some(&|pid| {
                let Some(h) = &hooks else { return Ok(()) };
                let state = hooks::state_json(id, "creating", pid, &bundle, &annotations);
                for (kind, list) in [
                    ("prestart", h.prestart()),
                    ("createRuntime", h.create_runtime()),
                ] {
                    hooks::run(kind, list.as_deref().unwrap_or_default(), &state)
                        .map_err(|e| crate::error::Error::SetupMsg(e.to_string()))?;
                }
                Ok(())
            }),
            hooks: init::InitHooks {
                create_container: create_hooks
                    .is_some()
                    .then_some(&create_container as init::HookFn),
                start_container: start_hooks
                    .is_some()
                    .then_some(&start_container as init::HookFn),
            },
            start_status,
        },
    )?;
    let (_, start_time) = state::proc_stat(created.pid)
        .ok_or_else(|| OciError::Other("the container init exited right after its setup".into()))?;
    detached::spawn_proxy(&plan, &mut created)?;
    if let (Some(sock), Some((master, slave))) = (&socket, created.console.take()) {
        console::send_master(sock, &master, &slave)?;
    }
    drop(socket);

    let uid = nix::unistd::geteuid().as_raw();
    let st = State {
        id: id.to_string(),
        pid: created.pid,
        pid_start_time: start_time,
        bundle,
        rootfs: plan.root.clone(),
        created: super::time::rfc3339_nanos(std::time::SystemTime::now()),
        owner: state::owner_name(uid),
        annotations,
        // Root of a user namespace (under rootless podman) is rootless too.
        rootless: !crate::linux::idmap::host_root(),
        started: false,
        cgroup: cgroup.0.clone(),
        hooks,
        placeholders: created.placeholder_registry(),
    };
    st.save(&dir)?;
    if let Some(p) = &a.pid_file {
        // runc: the pid, no newline (go-runc's Atoi rejects "123\n"), renamed into place.
        state::write_atomic(p, created.pid.to_string().as_bytes(), 0o644)
            .map_err(|e| OciError::io(format!("writing pid file {}", p.display()), e))?;
    }
    created.detach()?;
    guard.0 = None;
    cgroup.0 = None;
    tracing::debug!(id, pid = st.pid, "container created");
    Ok(())
}

/// Makes the fifo `path` and opens it read-write and close-on-exec (the open never
/// blocks, and the holder counts as a writer).
fn open_fifo_rw(path: &Path) -> Result<OwnedFd, OciError> {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| OciError::io(format!("creating {}", path.display()), e))?;
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| OciError::io(format!("opening {}", path.display()), e))?
        .into())
}

/// Removes a half-created container's cgroup unless disarmed.
struct CgroupGuard(Option<Cgroup>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            let _ = c.destroy();
        }
    }
}

/// The container's cgroup from `linux.cgroupsPath` / `linux.resources` (see
/// [`cgroup::create_for`]).
fn container_cgroup(id: &str, raw: &serde_json::Value) -> Result<Option<Cgroup>, OciError> {
    let linux: Option<oci_spec::runtime::Linux> = raw
        .get("linux")
        .and_then(|l| serde_json::from_value(l.clone()).ok());
    let resources = linux.as_ref().and_then(|l| l.resources().clone());
    let path = linux.as_ref().and_then(|l| l.cgroups_path().clone());
    cgroup::create_for(id, path.as_deref(), resources.as_ref())
        .map_err(|e| OciError::Other(e.to_string()))
}

fn read_raw_config(bundle: &Path) -> Result<serde_json::Value, OciError> {
    let file = bundle.join("config.json");
    // Errors in the file itself are reported by the policy loader with field paths;
    // here an unreadable or malformed file just yields an empty object.
    Ok(std::fs::read(&file)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or(serde_json::Value::Null))
}

fn annotations(raw: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    raw.get("annotations")
        .and_then(|a| a.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// An exclusive `flock` on the container directory: `start`, `kill` and `delete` of one
/// container never interleave.
pub(crate) fn lock(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, OciError> {
    let f = std::fs::File::open(dir).map_err(|e| OciError::io("locking the container", e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| OciError::io("locking the container", e))
}

/// `start`: release a created init.
pub fn start(root: &Root, id: &str) -> Result<(), OciError> {
    let (dir, mut st) = root.load(id)?;
    let lock = lock(&dir)?;
    match st.status(&dir) {
        Status::Stopped => return Err(OciError::StartStopped),
        Status::Running | Status::Paused => return Err(OciError::AlreadyRunning),
        Status::Created => {}
    }
    let fifo_path = dir.join(EXEC_FIFO);
    let mut fifo = match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(OciError::Other("container process is already dead".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::AlreadyRunning),
        Err(e) => return Err(OciError::io(format!("opening {}", fifo_path.display()), e)),
    };
    let start_status = open_start_status(&dir)?;
    // Removed first, so that once the init runs nobody can see it as "created".
    std::fs::remove_file(&fifo_path)
        .map_err(|e| OciError::io(format!("removing {}", fifo_path.display()), e))?;
    fifo.write_all(b"0")
        .map_err(|e| OciError::io("releasing the container init", e))?;
    st.started = true;
    st.save(&dir)?;
    // startContainer hooks may take their time: `kill` and `delete` must not wait for them.
    drop(lock);
    if let Some(f) = start_status {
        wait_for_exec(f, id)?;
    }
    if let Some(list) = st.hooks.as_ref().and_then(|h| h.poststart().as_ref()) {
        let state = hooks::state_json(id, "running", st.pid, &st.bundle, &st.annotations);
        if let Err(e) = hooks::run("poststart", list, &state) {
            warn(&e);
        }
    }
    Ok(())
}

/// Opens the start-status fifo for reading (there is one only with `startContainer`
/// hooks) and removes it: the open fd is all `start` needs.
fn open_start_status(dir: &Path) -> Result<Option<std::fs::File>, OciError> {
    let path = dir.join(START_STATUS);
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(OciError::io(format!("opening {}", path.display()), e)),
    };
    let _ = std::fs::remove_file(&path);
    // Blocking from now on: a read waits for the init's message or its last close.
    nix::fcntl::fcntl(
        &f,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
    )
    .map_err(|e| OciError::io(format!("opening {}", path.display()), e))?;
    Ok(Some(f))
}

/// Reads the start-status fifo to EOF: that comes when the init's `execve` closes its
/// end (or it dies); a message before it is a failed `startContainer` hook.
fn wait_for_exec(mut f: std::fs::File, id: &str) -> Result<(), OciError> {
    let mut message = String::new();
    std::io::Read::read_to_string(&mut f, &mut message)
        .map_err(|e| OciError::io("waiting for the startContainer hooks", e))?;
    // The init writes one NUL byte right before its execve; nothing at all means it
    // died before (killed while its hooks ran, e.g. by `delete --force`).
    match message.as_str() {
        "\0" => Ok(()),
        "" => Err(OciError::Other(format!(
            "the container init ended before running its command; `srt-runc delete {id}` removes it"
        ))),
        _ => Err(OciError::Other(format!(
            "{}; the container's command did not run (`srt-runc delete {id}` removes it)",
            message.trim_end_matches('\0')
        ))),
    }
}

/// Hook failures after the command started do not undo anything: they are reported.
fn warn(e: &OciError) {
    tracing::warn!("{e}");
    eprintln!("srt-runc: warning: {e}");
}

/// `state`: runc's JSON, pretty-printed.
pub fn state_json(root: &Root, id: &str) -> Result<String, OciError> {
    let (dir, st) = root.load(id)?;
    let view = st.view(st.status(&dir), false);
    serde_json::to_string_pretty(&view).map_err(|e| OciError::Other(e.to_string()))
}

/// Parses a signal as runc does: a number, or a name with or without `SIG`, any case.
pub fn parse_signal(s: &str) -> Result<i32, OciError> {
    let bad = || OciError::Other(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| bad())
}

/// A pidfd for the container init, opened only if the pid is still the process we
/// started (checked *after* opening, so a reused pid cannot slip in between).
fn init_pidfd(st: &State) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(st.pid).ok()?;
    st.alive().then_some(fd)
}

/// `kill [--all] ID SIGNAL`.
pub fn kill(root: &Root, id: &str, signal: i32, all: bool) -> Result<(), OciError> {
    let (dir, st) = root.load(id)?;
    let _lock = lock(&dir)?;
    let Some(pidfd) = init_pidfd(&st) else {
        // runc 1.1.5: `kill --all` of a stopped container succeeds.
        return if all {
            Ok(())
        } else {
            Err(OciError::NotRunning)
        };
    };
    if all {
        for pid in container_pids(&st) {
            if pid != st.pid {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::try_from(signal).ok(),
                );
            }
        }
    }
    match sys::pidfd_send_signal(&pidfd, signal) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(OciError::NotRunning),
        Err(e) => Err(OciError::io(format!("sending signal {signal} to {id}"), e)),
    }
}

/// Host pids of the container's processes: its cgroup's, or without one, those in its
/// pid namespace.
pub(crate) fn container_pids(st: &State) -> Vec<i32> {
    match &st.cgroup {
        Some(cg) => cg.pids(),
        // The namespace link of a not yet started (non-dumpable) init is unreadable to
        // an unprivileged caller: then the init is all there is.
        None if st.alive() => {
            let pids = pids_in_namespace_of(st.pid);
            if pids.is_empty() {
                vec![st.pid]
            } else {
                pids
            }
        }
        None => Vec::new(),
    }
}

/// Host pids whose pid namespace is `pid`'s (which is the container's own).
fn pids_in_namespace_of(pid: i32) -> Vec<i32> {
    let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|l| l == ns))
        .collect()
}

/// SIGKILLs the init and waits until it has exited (its pid namespace dies with it).
fn kill_and_wait(st: &State) -> Result<(), OciError> {
    let Some(pidfd) = init_pidfd(st) else {
        return Ok(());
    };
    let _ = sys::pidfd_send_signal(&pidfd, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut pfd = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
        if n > 0 {
            return Ok(());
        }
        if n == 0 || Instant::now() >= deadline {
            return Err(OciError::Other(format!(
                "container init {} did not exit after SIGKILL",
                st.pid
            )));
        }
    }
}

/// `delete [--force] ID`.
pub fn delete(root: &Root, id: &str, force: bool) -> Result<(), OciError> {
    let (dir, st) = match root.load(id) {
        Ok(x) => x,
        // containerd's shim deletes again after cleanup: an unknown id is fine then.
        // (A directory without state.json may be a create in progress: left alone.)
        Err(OciError::NotExist) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let _lock = lock(&dir)?;
    match st.status(&dir) {
        s @ (Status::Running | Status::Paused) if !force => {
            return Err(OciError::DeleteNotStopped(id.to_string(), s.as_str()))
        }
        // runc deletes a created container without --force (containerd relies on it).
        Status::Paused => {
            if let Some(cg) = &st.cgroup {
                // A frozen init cannot die: kill, then thaw so the kill is delivered.
                if let Some(fd) = init_pidfd(&st) {
                    let _ = sys::pidfd_send_signal(&fd, libc::SIGKILL);
                }
                let _ = cg.freeze(false);
            }
            kill_and_wait(&st)?
        }
        Status::Running | Status::Created => kill_and_wait(&st)?,
        Status::Stopped => {}
    }
    if let Some(cg) = &st.cgroup {
        // Also kills what is left (exec'd processes, daemons of the container).
        cg.destroy().map_err(|e| OciError::Other(e.to_string()))?;
    }
    if let Some(list) = st.hooks.as_ref().and_then(|h| h.poststop().as_ref()) {
        let state = hooks::state_json(id, "stopped", 0, &st.bundle, &st.annotations);
        if let Err(e) = hooks::run("poststop", list, &state) {
            warn(&e);
        }
    }
    if let Some(reg) = &st.placeholders {
        // The init is gone: its placeholders go, unless another sandbox still uses them.
        let owner = crate::linux::placeholders::Owner {
            pid: st.pid,
            start: Some(st.pid_start_time),
        };
        // A registry that cannot be updated must not keep the state: the next run of
        // this user sweeps placeholders whose owner is dead.
        if let Err(e) = crate::linux::placeholders::release_owner(reg, owner) {
            warn(&OciError::Other(e.to_string()));
        }
    }
    std::fs::remove_dir_all(&dir)
        .map_err(|e| OciError::io(format!("removing {}", dir.display()), e))
}

/// `list`: runc's table (or JSON array, or ids with `-q`).
pub fn list(root: &Root, format: &str, quiet: bool) -> Result<String, OciError> {
    let mut views = Vec::new();
    for id in root.ids()? {
        if let Ok((dir, st)) = root.load(&id) {
            views.push(st.view(st.status(&dir), true));
        }
    }
    if quiet {
        return Ok(views.iter().map(|v| format!("{}\n", v.id)).collect());
    }
    match format {
        "json" => serde_json::to_string(&views)
            .map(|s| s + "\n")
            .map_err(|e| OciError::Other(e.to_string())),
        "table" => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for v in &views {
                rows.push(vec![
                    v.id.clone(),
                    v.pid.to_string(),
                    v.status.to_string(),
                    v.bundle.display().to_string(),
                    v.created.clone(),
                    v.owner.clone(),
                ]);
            }
            Ok(table(&rows))
        }
        other => Err(OciError::Other(format!(
            "invalid format option {other:?}; use table or json"
        ))),
    }
}

/// Go's `tabwriter` with runc's settings (minwidth 12, padding 3, spaces).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("SIGUSR1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("usr2").unwrap(), libc::SIGUSR2);
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn table_aligns_like_tabwriter() {
        let t = table(&[
            vec!["ID".into(), "PID".into(), "OWNER".into()],
            vec!["a-long-container-id".into(), "1".into(), "root".into()],
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], format!("{:<22}{:<12}OWNER", "ID", "PID"));
        assert_eq!(
            lines[1],
            format!("{:<22}{:<12}root", "a-long-container-id", "1")
        );
    }
}
