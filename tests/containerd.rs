//! containerd 1.6 with srt-runc behind the runc v2 shim (`ctr run --runc-binary`): a
//! private containerd (root, state and socket under the test's scratch directory),
//! the busybox image imported as an OCI archive, `run --rm` output and exit status, `run -t`
//! under a real terminal (the shim's console socket; `tty` must name the container's pty),
//! and a detached task with exec (also `-t`), ps, pause/resume, kill and delete. As root.
#![cfg(target_os = "linux")]

mod common;
use common::engines::{Podman, IMAGE};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A containerd of our own; killed (and its mounts undone) on drop.
struct Containerd {
    child: Child,
    dir: PathBuf,
    sock: PathBuf,
    runc_root: PathBuf,
}

impl Containerd {
    fn start(s: &Scratch) -> Containerd {
        let dir = s.join("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("c.sock");
        let cfg = format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
             [debug]\n  address = \"\"\n",
            d = dir.display(),
            s = sock.display()
        );
        std::fs::write(dir.join("config.toml"), cfg).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .unwrap();
        let c = Containerd {
            child,
            runc_root: dir.join("runc"),
            dir,
            sock,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.ctr(&["version"]).status.success() {
            assert!(Instant::now() < deadline, "containerd did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn ctr_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_cmd(args).output().unwrap()
    }

    /// `ctr run` with srt-runc behind the runc v2 shim.
    fn run(&self, extra: &[&str], id: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["run", "--runc-binary"];
        let bin = srt_runc();
        args.push(bin.to_str().unwrap());
        args.push("--runc-root");
        args.push(self.runc_root.to_str().unwrap());
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.push(id);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }

    /// `ctr ARGS` under a real pseudo-terminal: ctr insists that its stdin is a
    /// terminal for `-t`, so util-linux `script` gives it one (`-e` hands back the
    /// child's exit status, `-q` keeps script's own banner out). Returns what the
    /// terminal showed and the exit status.
    fn ctr_tty(&self, args: &[&str]) -> Output {
        let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut line = format!("ctr --address {}", q(self.sock.to_str().unwrap()));
        for a in args {
            line.push(' ');
            line.push_str(&q(a));
        }
        Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `ctr run -t --rm ... sh -c CMD` under a real pseudo-terminal.
    fn run_tty(&self, id: &str, cmd: &str) -> Output {
        let bin = srt_runc();
        self.ctr_tty(&[
            "run",
            "-t",
            "--rm",
            "--runc-binary",
            bin.to_str().unwrap(),
            "--runc-root",
            self.runc_root.to_str().unwrap(),
            IMAGE,
            id,
            "sh",
            "-c",
            cmd,
        ])
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Snapshot mounts under our root, deepest first.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| Path::new(m).starts_with(&self.dir))
            .collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

#[test]
fn ctr_run_detached_exec_ps_pause_kill_delete() {
    let s = Scratch::new("containerd", root_user());
    let archive = s.join("bb-oci.tar");
    {
        let p = Podman::new(&s);
        p.save_oci(&archive);
    }
    let c = Containerd::start(&s);
    ok(&c.ctr(&[
        "images",
        "import",
        "--base-name",
        "localhost/bb",
        archive.to_str().unwrap(),
    ]));

    // run --rm: output and exit status.
    let o = c.run(&["--rm"], "k1", &["echo", "hi"]);
    assert_eq!(ok(&o), "hi\n", "{}", stderr(&o));
    let o = c.run(&["--rm"], "k2", &["sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    // run -t --rm: the shim's console socket and a pty inside, exit status through both.
    let o = c.run_tty("kt", "test -t 0 && test -t 1 && echo tty-yes; tty; exit 3");
    let out = stdout(&o);
    assert!(out.contains("tty-yes"), "{out:?} {}", stderr(&o));
    assert!(out.contains("/dev/pts/"), "{out:?} {}", stderr(&o));
    assert_eq!(o.status.code(), Some(3), "{out:?} {}", stderr(&o));
    assert_task_gone(&c, "kt");

    // A detached task.
    ok(&c.run(&["-d"], "k3", &["sleep", "1000"]));
    let o = c.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        "k3",
        "sh",
        "-c",
        "echo in-exec; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(stdout(&o), "in-exec\n");
    // exec -t: the exec's own pty, also from the container's devpts.
    let o = c.ctr_tty(&[
        "task",
        "exec",
        "-t",
        "--exec-id",
        "e2",
        "k3",
        "sh",
        "-c",
        "test -t 0 && test -t 1 && echo tty-yes; tty; exit 4",
    ]);
    let out = stdout(&o);
    assert!(out.contains("tty-yes"), "{out:?} {}", stderr(&o));
    assert!(out.contains("/dev/pts/"), "{out:?} {}", stderr(&o));
    assert_eq!(o.status.code(), Some(4), "{out:?} {}", stderr(&o));
    let ps = ok(&c.ctr(&["task", "ps", "k3"]));
    let pid: i32 = ps
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // ctr's default cgroupsPath is /<namespace>/<id>.
    let cg = Path::new("/sys/fs/cgroup/pids/default/k3");
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap();
    assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
    ok(&c.ctr(&["task", "pause", "k3"]));
    assert!(ok(&c.ctr(&["task", "ls"])).contains("PAUSED"));
    ok(&c.ctr(&["task", "resume", "k3"]));
    assert!(ok(&c.ctr(&["task", "ls"])).contains("RUNNING"));
    ok(&c.ctr(&["task", "kill", "--all", "--signal", "SIGKILL", "k3"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok(&c.ctr(&["task", "ls"])).contains("STOPPED") {
        assert!(Instant::now() < deadline, "k3 did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(&c.ctr(&["task", "delete", "k3"]));
    ok(&c.ctr(&["container", "delete", "k3"]));
    assert_task_gone(&c, "k3");
    // The /default cgroup level created for the namespace goes with its last task.
    assert!(!Path::new("/sys/fs/cgroup/pids/default").exists());
}

/// Nothing of task `id` is left behind: its cgroup, srt-runc state, ctr container.
fn assert_task_gone(c: &Containerd, id: &str) {
    // ctr's default cgroupsPath is /<namespace>/<id>.
    let cg = Path::new("/sys/fs/cgroup/pids/default").join(id);
    assert!(!cg.exists(), "cgroup left behind: {}", cg.display());
    let state = c.runc_root.join("default");
    let left: Vec<_> = std::fs::read_dir(&state)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "state left behind in {}: {left:?}",
        state.display()
    );
    let ls = ok(&c.ctr(&["container", "ls", "-q"]));
    assert!(!ls.lines().any(|l| l == id), "container {id} left: {ls}");
}
