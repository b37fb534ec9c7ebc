//! podman with srt-runc as its runtime, in a private storage under a test's scratch
//! directory (never the host's default storage), and a busybox image imported there;
//! as root, or rootless as the unprivileged test user.

use super::podman_env::{self, podman_running_on};
use super::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The image every engine test runs: busybox-static with its applets.
pub const IMAGE: &str = "localhost/bb:latest";

/// `podman` bound to one scratch directory.
pub struct Podman {
    pub dir: PathBuf,
    /// srt-runc's state root: its default, as podman passes no `--root` (and does not
    /// repeat `--runtime-flag`s in the cleanup process conmon starts). Rootless, that is
    /// `$XDG_RUNTIME_DIR/srt-runc`.
    pub state: PathBuf,
    /// podman's runroot: a short path of its own (podman refuses one over 50 bytes).
    runroot: PathBuf,
    /// Who runs podman: root, or the unprivileged user (rootless podman).
    pub user: User,
}

impl Podman {
    /// Writes the containers.conf this host needs and imports the busybox image.
    pub fn new(s: &Scratch) -> Podman {
        Podman::as_user(s, root_user())
    }

    /// Rootless podman as `user` (its subordinate ids in /etc/subuid and /etc/subgid,
    /// which `make deps` adds): `XDG_RUNTIME_DIR` is `dir/run`, owned by the user, so
    /// srt-runc keeps its state in `dir/run/srt-runc`.
    pub fn rootless(s: &Scratch, user: User) -> Podman {
        assert!(!user.is_root());
        Podman::as_user(s, user)
    }

    fn as_user(s: &Scratch, user: User) -> Podman {
        let dir = s.join("podman");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("containers.conf"), podman_env::CONTAINERS_CONF).unwrap();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = if user.is_root() {
            PathBuf::from("/run/srt-runc")
        } else {
            let run = dir.join("run");
            std::fs::create_dir_all(&run).unwrap();
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
            chown(&run, user);
            chown(&dir, user);
            run.join("srt-runc")
        };
        let p = Podman {
            state,
            runroot: PathBuf::from(format!("/tmp/srtp-{}-{n}", std::process::id())),
            dir,
            user,
        };
        let rootfs = p.dir.join("rootfs");
        for d in ["bin", "proc", "dev", "sys", "tmp", "etc", "data"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        let list = Command::new("/usr/bin/busybox")
            .arg("--list")
            .output()
            .unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
            }
        }
        let tar = p.dir.join("rootfs.tar");
        let o = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .unwrap();
        assert!(o.status.success(), "tar: {}", stderr(&o));
        ok(&p.run(&["import", tar.to_str().unwrap(), IMAGE]));
        p
    }

    /// `podman` with the private storage and srt-runc as the runtime.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = podman_env::podman(&self.dir, &self.runroot, &srt_runc());
        c.args(args).stdin(std::process::Stdio::null());
        if !self.user.is_root() {
            c.uid(self.user.uid)
                .gid(self.user.gid)
                .current_dir(&self.dir)
                .env("HOME", &self.dir)
                .env("XDG_RUNTIME_DIR", self.dir.join("run"));
        }
        c
    }

    /// Rootless podman keeps a pause process (catatonit) holding its user namespace
    /// after every command; stops it so that nothing of the user is left running.
    pub fn stop_pause_process(&self) {
        let pidfile = self.dir.join("tmp/pause.pid");
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = std::fs::remove_file(&pidfile);
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `podman run --rm EXTRA… IMAGE CMD…`; also checks that srt-runc's state and the
    /// cgroups of the container (its id from `--cidfile`) are gone afterwards.
    pub fn run_rm(&self, extra: &[&str], cmd: &[&str]) -> Output {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cidfile = self.dir.join(format!("cid-{n}"));
        let mut args = vec!["run", "--rm", "--cidfile", cidfile.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        let o = self.run(&args);
        if let Ok(id) = std::fs::read_to_string(&cidfile) {
            let id = id.trim();
            assert!(
                !self.state.join(id).exists(),
                "srt-runc state of {id} left behind"
            );
            for h in ["pids", "memory", "freezer", "unified"] {
                let cg = Path::new("/sys/fs/cgroup")
                    .join(h)
                    .join(format!("libpod_parent/libpod-{id}"));
                assert!(!cg.exists(), "{} left behind", cg.display());
            }
        }
        o
    }

    /// Saves the image as an OCI archive (for containerd).
    pub fn save_oci(&self, to: &Path) {
        ok(&self.run(&[
            "save",
            "--format",
            "oci-archive",
            "-o",
            to.to_str().unwrap(),
            IMAGE,
        ]));
    }
}

impl Drop for Podman {
    /// Removes every container; the storage (vfs layers are plain directories) goes
    /// with the scratch directory.
    fn drop(&mut self) {
        let _ = self.run(&["rm", "--all", "--force", "--time", "0"]);
        if !self.user.is_root() {
            self.stop_pause_process();
        }
        // conmon starts `podman container cleanup` on its own when a container exits;
        // let those finish before the storage goes, or they write into it again.
        let ours = self.dir.to_string_lossy().into_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline && podman_running_on(&ours) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir_all(&self.runroot);
    }
}
