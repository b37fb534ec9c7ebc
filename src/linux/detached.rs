//! The supervisor side of `create`: start a fully set-up init that waits for `start`,
//! then let it go.
//!
//! Process model (DESIGN.md 3.5): `srt-runc create` clones the init directly, as it does
//! for a foreground run, and then *exits*. The init is re-parented to the nearest
//! subreaper above `create` (conmon and the containerd shim are subreapers), so it stays
//! a descendant of the caller, which reaps it and reads its exit status. No daemon, no
//! double fork, no `setsid` escape from the caller's subtree.
//!
//! The init arms PDEATHSIG during setup (a `create` killed half-way takes its init with
//! it) and drops it only after this side has recorded the container and told it to go
//! ([`Created::detach`]), waiting for its acknowledgement before exiting.

use super::init::{self, Detached, InitArgs};
use super::placeholders::{Owner, Placeholders};
use super::supervisor::{clone_error, join_by_path, seccomp_programs, status_code, NS_FLAGS};
use super::sync::{self, Channel, Msg};
use super::{idmap, sys};
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Caller choices for a detached init.
pub struct CreateOptions<'a> {
    /// The exec fifo opened read-write; the init blocks reading it until `start`.
    pub start_fifo: OwnedFd,
    /// `--preserve-fds N`.
    pub preserve_fds: u32,
    /// The container's cgroup (already created): the init is moved into it before it
    /// starts its setup, and unshares its cgroup namespace only then, so that the
    /// namespace's root is the container's cgroup.
    pub cgroup: Option<&'a super::cgroup::Cgroup>,
    /// Runs with the init's pid once its namespaces and cgroup exist and before it
    /// sets anything up (the `prestart`/`createRuntime` hooks); an error kills it.
    pub before_setup: Option<&'a dyn Fn(i32) -> Result<()>>,
    /// The hooks the init runs inside the container (`createContainer`,
    /// `startContainer`).
    pub hooks: init::InitHooks<'a>,
    /// The start-status fifo opened read-write (see [`Detached::start_status`]); closed
    /// here right after the clone, so that the init holds the only writer.
    pub start_status: Option<OwnedFd>,
}

/// A set-up init blocked before "go"; drop it without [`Created::detach`] to kill it.
pub struct Created {
    pub pid: i32,
    pidfd: OwnedFd,
    chan: Option<Channel>,
    /// The pty master and the slave's path, when `process.terminal` is set; the caller
    /// sends them to the console socket.
    pub console: Option<(OwnedFd, PathBuf)>,
    /// Released ([`Created::detach`]) or already collected: nothing to kill on drop.
    done: bool,
    /// The proxy listeners the init created in its netns (a `"sandbox".network` policy).
    pub listeners: Vec<OwnedFd>,
    /// The placeholders for protected paths that do not exist yet, owned by the init.
    /// Declared after the fields above and released on drop, i.e. after [`Drop`] has
    /// killed the init: a failed `create` leaves none; [`Created::detach`] keeps them.
    placeholders: Option<Placeholders>,
}

/// Clones the init, writes its id maps and waits until its setup is complete.
pub fn create(plan: &Plan, opts: CreateOptions<'_>) -> Result<Created> {
    let programs = seccomp_programs(plan)?;
    let (sup_chan, init_chan) = sync::pair().step(|| "creating the sync socketpair".into())?;
    // SAFETY: `create` has started no threads.
    let flags = if opts.cgroup.is_some() {
        NS_FLAGS & !(libc::CLONE_NEWCGROUP as u64)
    } else {
        NS_FLAGS
    };
    let flags = join_by_path(plan, flags)?;
    let forked = unsafe { sys::clone_pidfd(flags) }.map_err(clone_error)?;
    let (pid, pidfd) = match forked {
        sys::Forked::Child => {
            drop(sup_chan);
            init::main(InitArgs {
                plan,
                chan: init_chan,
                seccomp: &programs,
                pty_slave: None,
                may_setgroups: !plan.id_maps.deny_setgroups,
                detached: Some(Detached {
                    start_fifo: opts.start_fifo.as_raw_fd(),
                    preserve_fds: opts.preserve_fds,
                    // A joined cgroup namespace is kept as it is.
                    unshare_cgroup: opts.cgroup.is_some()
                        && !plan.join_namespaces.iter().any(|(k, _)| k == "cgroup"),
                    start_status: opts.start_status.as_ref().map(|f| f.as_raw_fd()),
                    console: plan.process.terminal,
                }),
                handshake: false,
                hooks: opts.hooks,
            })
        }
        sys::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(init_chan);
    drop(opts.start_fifo);
    drop(opts.start_status);
    let mut created = Created {
        pid,
        pidfd,
        chan: Some(sup_chan),
        console: None,
        done: false,
        listeners: Vec::new(),
        placeholders: None,
    };
    super::process::raise_rlimits_of(pid, &plan.process)?;
    idmap::write(pid, &plan.id_maps)?;
    if let Some(cg) = opts.cgroup {
        cg.join(pid)
            .map_err(|e| Error::SetupMsg(format!("moving the container into its cgroup: {e}")))?;
    }
    // Before the init builds its mounts (it waits for "go"). The init owns them, not
    // this short-lived process: they stay until `delete`, or until a later run finds
    // the init dead.
    created.placeholders = Some(Placeholders::create_for(
        &plan.placeholders,
        &plan.existing_protected(),
        Owner::of(pid),
    )?);
    if let Some(f) = opts.before_setup {
        f(pid)?;
    }
    let chan = created.chan.as_ref().expect("channel present");
    chan.send(&Msg::Go)
        .step(|| "starting the sandbox init".into())?;
    loop {
        match chan.recv().step(|| "waiting for the sandbox init".into())? {
            Msg::Ready => return Ok(created),
            Msg::Listeners(fds) => created.listeners = fds,
            Msg::Console(master, slave) => created.console = Some((master, slave.into())),
            Msg::Fail { code, message } => {
                created.reap();
                return Err(Error::Reported { code, message });
            }
            _ => {
                let status = created.reap();
                return Err(Error::SetupMsg(format!(
                    "the sandbox init exited during setup (status {status})"
                )));
            }
        }
    }
}

/// Forks the container's filtering proxy: it serves the listeners the init created in
/// the container's netns, stays in the host's, and lives exactly as long as the init
/// (it watches the init's pidfd). It is a child of `create`, so it stays below the
/// caller's subreaper, and it holds none of the caller's stdio (an engine waits for EOF
/// on the container's output pipes). Returns its pid.
pub fn spawn_proxy(plan: &Plan, created: &mut Created) -> Result<i32> {
    let crate::plan::NetworkPlan::Proxy { settings, .. } = &plan.network else {
        return Ok(0);
    };
    let config = super::supervisor::proxy_config(plan, settings, &Default::default())?;
    let listeners = std::mem::take(&mut created.listeners);
    // SAFETY: `create` is single-threaded; the child starts its threads after the fork.
    match unsafe { nix::unistd::fork() }.step(|| "forking the proxy".into())? {
        nix::unistd::ForkResult::Parent { child } => Ok(child.as_raw()),
        nix::unistd::ForkResult::Child => {
            let code = proxy_main(listeners, config, &created.pidfd);
            unsafe { libc::_exit(code) }
        }
    }
}

fn proxy_main(listeners: Vec<OwnedFd>, config: crate::proxy::ProxyConfig, init: &OwnedFd) -> i32 {
    let null = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        Ok(f) => f,
        Err(_) => return 1,
    };
    for fd in 0..3 {
        let _ = sys::dup2(null.as_raw_fd(), fd);
    }
    drop(null);
    let mut keep: Vec<i32> = listeners.iter().map(|l| l.as_raw_fd()).collect();
    keep.push(init.as_raw_fd());
    if super::init::close_fds_except(&keep).is_err() {
        return 1;
    }
    let _ = nix::unistd::setsid();
    let listeners = listeners
        .into_iter()
        .map(std::net::TcpListener::from)
        .collect();
    let Ok(proxy) = crate::proxy::spawn(listeners, config) else {
        return 1;
    };
    let mut pfd = libc::pollfd {
        fd: init.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    while unsafe { libc::poll(&mut pfd, 1, -1) } <= 0 {}
    proxy.shutdown();
    0
}

impl Created {
    /// The init's pidfd (for signalling without pid-reuse races).
    pub fn pidfd(&self) -> &OwnedFd {
        &self.pidfd
    }

    /// The placeholder registry holding the init's placeholders (for `delete`), if the
    /// container uses any.
    pub fn placeholder_registry(&self) -> Option<PathBuf> {
        self.placeholders.as_ref()?.registry().map(PathBuf::from)
    }

    /// Tells the init to outlive us and waits until it has disarmed PDEATHSIG; its
    /// placeholders stay registered to it.
    pub fn detach(mut self) -> Result<()> {
        let chan = self.chan.take().expect("channel present");
        chan.send(&Msg::Go)
            .step(|| "releasing the container init".into())?;
        match chan.recv().step(|| "releasing the container init".into())? {
            Msg::Ready => {
                self.done = true;
                if let Some(p) = self.placeholders.take() {
                    p.keep();
                }
                Ok(())
            }
            other => Err(Error::SetupMsg(format!(
                "the container init did not acknowledge its release ({other:?})"
            ))),
        }
    }

    /// Kills the init and collects it; returns its status code.
    fn reap(&mut self) -> i32 {
        self.chan = None;
        self.done = true;
        let _ = sys::pidfd_send_signal(&self.pidfd, libc::SIGKILL);
        status_code(waitpid(Pid::from_raw(self.pid), None).ok())
    }
}

impl Drop for Created {
    /// A `create` that fails after the clone leaves nothing running.
    fn drop(&mut self) {
        if !self.done {
            self.reap();
        }
    }
}
