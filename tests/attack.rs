//! The attack suite: every technique in `tests/attacks/` (built into the `attack`
//! example) is run once unsandboxed as a control, then inside strong mode (as root and
//! unprivileged), weaker mode (as root and unprivileged) and OCI mode (a bundle with its
//! own root filesystem, through `run` and through `create`/`start`, as root and
//! unprivileged), and the outcomes are printed as one table (technique × mode).
//!
//! The rules the table must satisfy:
//! - every control ESCAPES (so every BLOCKED below it is a real block), except where the
//!   host kernel itself lacks the technique, which [`CONTROL_UNAVAILABLE`] names with a
//!   reason the test checks on this host;
//! - nothing ESCAPES in a sandbox, except the weaker-mode residuals in [`RESIDUALS`] and
//!   the engine gaps in [`KNOWN_GAPS`], which must still ESCAPE (so both lists, and the
//!   README's security section that repeats them, stay honest);
//! - afterwards the outside directory and the secret are untouched on disk and no
//!   process of the run is left.
//!
//! The targets (a secret, an outside directory, victim processes, host listeners, a
//! setuid and a file-capability binary, a pty, a leaked fd, a decoy runtime) are the
//! runner's own, in its scratch directories; see `tests/attacks/mod.rs`.
#![cfg(target_os = "linux")]

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Weaker-mode techniques that escape by design (no namespaces), with the reason. The
/// README's security section lists the same rows.
const RESIDUALS: &[(&str, &str)] = &[
    (
        "unix-pathname",
        "no mount namespace, and Landlock controls connecting to pathname unix sockets only from ABI 9 (this kernel has 7): a host socket whose file the sandbox can read is reachable",
    ),
    (
        "netlink",
        "no network namespace, and NETLINK_ROUTE stays allowed (name resolution and interface listing use it): the host's interfaces and addresses are visible, read-only (CAP_NET_ADMIN is dropped)",
    ),
];

/// Engine gaps: a technique that escapes in a mode where it must not, pending a fix
/// (mode label, technique, why and what fixes it). Printed as `ESCAPED (gap)`; the test
/// fails when one stops escaping, so the entry is removed with the fix.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// A technique the host kernel itself does not offer, so its control cannot escape.
struct Unavailable {
    technique: &'static str,
    reason: &'static str,
    /// Checks the reason on this host.
    holds: fn() -> bool,
}

const CONTROL_UNAVAILABLE: &[Unavailable] = &[Unavailable {
    technique: "x32",
    reason: "host kernel built without CONFIG_X86_X32_ABI (x32 syscalls answer ENOSYS everywhere)",
    holds: kernel_lacks_x32,
}];

fn kernel_lacks_x32() -> bool {
    let out = Command::new("sh")
        .args([
            "-c",
            "zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r)",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("# CONFIG_X86_X32_ABI is not set")
}

/// The process limit every sandbox runs under, and the fork bomb's cap.
const NPROC: u64 = 64;
const FORK_MAX: u64 = 200;
const MARKER: &str = "srt-attack-secret-5f3c";
const HELLO: &str = "srt-attack-hello";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Control,
    Strong,
    Weaker,
    Oci,
    /// The OCI bundle through `create`, `start`, `state` and `delete`.
    OciCreate,
}

#[derive(Clone, Copy)]
struct Mode {
    kind: Kind,
    user: User,
}

impl Mode {
    fn label(&self) -> String {
        match self.kind {
            Kind::Control => "control".into(),
            Kind::Strong => format!("strong-{}", short(self.user)),
            Kind::Weaker => format!("weaker-{}", short(self.user)),
            Kind::Oci => format!("oci-{}", short(self.user)),
            Kind::OciCreate => format!("oci-create-{}", short(self.user)),
        }
    }
}

fn short(u: User) -> &'static str {
    if u.is_root() {
        "root"
    } else {
        "unpriv"
    }
}

/// The host-side listeners every mode tries to reach.
struct Listeners {
    tcp: u16,
    tcp6: u16,
    udp: u16,
    unix_path: PathBuf,
    abstract_name: String,
    _dir: Scratch,
}

fn greet_forever(l: std::net::TcpListener) {
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(HELLO.as_bytes());
        }
    });
}

fn listeners() -> Listeners {
    let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let tcp6 = std::net::TcpListener::bind("[::]:0").unwrap();
    let udp = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let ports = (
        tcp.local_addr().unwrap().port(),
        tcp6.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    greet_forever(tcp);
    greet_forever(tcp6);
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((_, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(HELLO.as_bytes(), from);
        }
    });
    let dir = Scratch::new("attack-sockets", users()[0]);
    std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let unix_path = dir.join("host.sock");
    let ul = std::os::unix::net::UnixListener::bind(&unix_path).unwrap();
    std::fs::set_permissions(&unix_path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let abstract_name = format!("srt-attack-{}", std::process::id());
    let al = abstract_listener(&abstract_name);
    for l in [ul, al] {
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let _ = s.write_all(HELLO.as_bytes());
            }
        });
    }
    Listeners {
        tcp: ports.0,
        tcp6: ports.1,
        udp: ports.2,
        unix_path,
        abstract_name,
        _dir: dir,
    }
}

fn abstract_listener(name: &str) -> std::os::unix::net::UnixListener {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    std::os::unix::net::UnixListener::bind_addr(&addr).unwrap()
}

/// The host's first non-loopback interface with its IPv4 and global IPv6 address.
fn host_addresses() -> (String, String, String) {
    let out = Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut ifname = String::new();
    let (mut v4, mut v6) = (String::new(), String::new());
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() < 4 || w[1] == "lo" {
            continue;
        }
        let addr = w[3].split('/').next().unwrap();
        if w[2] == "inet" && v4.is_empty() {
            v4 = addr.into();
            ifname = w[1].into();
        }
        if w[2] == "inet6" && v6.is_empty() && !addr.starts_with("fe80") && w[1] == ifname {
            v6 = addr.into();
        }
    }
    assert!(
        !v4.is_empty(),
        "the host needs a non-loopback IPv4 address:\n{text}"
    );
    (ifname, v4, v6)
}

fn dns_server() -> String {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("nameserver").map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "127.0.0.53".into())
}

/// One mode's targets, in its own scratch directory owned by the mode's user.
struct Stage {
    mode: Mode,
    s: Scratch,
    secret: PathBuf,
    proj: PathBuf,
    /// A writable git work tree: its `.git/hooks` is one of srt's mandatory denies.
    repo: PathBuf,
    outside: PathBuf,
    victims: Vec<Child>,
    env: Vec<(String, String)>,
    decoy: PathBuf,
    tag: String,
}

fn copy_exec(from: &Path, to: &Path, mode: u32) {
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn dev_ino(p: &Path) -> String {
    let m = std::fs::metadata(p).unwrap();
    format!("{}:{}", m.dev(), m.ino())
}

/// `security.capability` granting CAP_DAC_READ_SEARCH, permitted and effective.
fn set_file_caps(p: &Path) {
    let mut v = Vec::new();
    v.extend_from_slice(&(0x0200_0000u32 | 1).to_le_bytes()); // revision 2, effective
    v.extend_from_slice(&(1u32 << 2).to_le_bytes()); // permitted[0]
    v.extend_from_slice(&0u32.to_le_bytes()); // inheritable[0]
    v.extend_from_slice(&0u32.to_le_bytes()); // permitted[1]
    v.extend_from_slice(&0u32.to_le_bytes()); // inheritable[1]
    let path = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            v.as_ptr().cast(),
            v.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr security.capability on {}", p.display());
}

fn spawn_victim(user: User, cwd: &Path) -> (Child, String) {
    let mut c = Command::new(attack());
    c.arg("victim")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if !user.is_root() {
        c.uid(user.uid).gid(user.gid);
    }
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

impl Stage {
    fn new(mode: Mode, net: &Listeners, host: &(String, String, String)) -> Stage {
        let user = mode.user;
        let s = Scratch::new(&format!("attack-{}", mode.label()), user);
        let secret_dir = s.join("secret");
        let proj = s.join("proj");
        let repo = s.join("repo");
        let outside = s.join("outside");
        let bin = s.join("bin");
        for d in [&secret_dir, &proj, &outside, &bin, &repo.join(".git/hooks")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let secret = secret_dir.join("key");
        std::fs::write(&secret, MARKER).unwrap();
        std::fs::write(outside.join("victim"), "original").unwrap();
        for p in [
            &secret_dir,
            &secret,
            &proj,
            &repo,
            &repo.join(".git"),
            &repo.join(".git/hooks"),
            &outside,
            &outside.join("victim"),
        ] {
            chown(p, user);
        }
        std::fs::set_permissions(&secret_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        // The privilege-gain binaries: root-owned copies of the attack binary.
        let suid = bin.join("attack-suid");
        let fcap = bin.join("attack-fcap");
        copy_exec(&attack(), &suid, 0o4755);
        copy_exec(&attack(), &fcap, 0o755);
        set_file_caps(&fcap);
        // The decoy runtime: a copy of srt-runc the mode's user owns (so only the
        // sandbox stands between the attack and a write to it).
        let decoy = bin.join("decoy-runtime");
        copy_exec(&srt_runc(), &decoy, 0o755);
        chown(&decoy, user);
        let decoy_bundle = s.join("decoy");
        std::fs::create_dir_all(&decoy_bundle).unwrap();
        write_bundle(&decoy_bundle, &config(&["/bin/sleep", "1"]));
        chown(&decoy_bundle, user);
        let (v1, addr) = spawn_victim(user, &secret_dir);
        let (v2, _) = spawn_victim(user, &outside);
        let handle = |p: &Path| {
            let o = Command::new(attack())
                .arg("handle")
                .arg(p)
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        };
        let tag = format!("srt-attack-tag-{}-{}", std::process::id(), mode.label());
        let mut env: Vec<(String, String)> = vec![
            ("MARKER", MARKER.to_string()),
            ("SECRET", secret.display().to_string()),
            ("PROJ", proj.display().to_string()),
            ("REPO", repo.display().to_string()),
            ("OUTSIDE", outside.display().to_string()),
            ("VICTIM_PID", v1.id().to_string()),
            ("VICTIM2_PID", v2.id().to_string()),
            ("VICTIM_ADDR", addr),
            ("HANDLE_SECRET", handle(&secret)),
            ("HANDLE_OUTSIDE", handle(&outside)),
            ("TCP_PORT", net.tcp.to_string()),
            ("TCP6_PORT", net.tcp6.to_string()),
            ("UDP_PORT", net.udp.to_string()),
            ("HOST_IF", host.0.clone()),
            ("HOST_IP", host.1.clone()),
            ("HOST_IP6", host.2.clone()),
            ("DNS_SERVER", dns_server()),
            ("UNIX_PATH", net.unix_path.display().to_string()),
            ("UNIX_ABSTRACT", net.abstract_name.clone()),
            ("SUID_BIN", suid.display().to_string()),
            ("FCAP_BIN", fcap.display().to_string()),
            ("LEAK_REL", "secret/key".to_string()),
            (
                "RUNTIME_IDS",
                format!("{},{}", dev_ino(&decoy), dev_ino(&srt_runc())),
            ),
            ("FORK_MAX", FORK_MAX.to_string()),
            ("RUNNER_PID", std::process::id().to_string()),
            (
                "HOST_DIR_IDS",
                format!("{},{}", dev_ino(&outside), dev_ino(&s.path)),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (format!("ATK_{k}"), v))
        .collect();
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        if matches!(mode.kind, Kind::Strong | Kind::Oci | Kind::OciCreate) {
            // pid 1 is the sandbox's own init there, a fair target.
            env.push(("ATK_OWN_PID1".into(), "1".into()));
        }
        let mut stage = Stage {
            mode,
            s,
            secret,
            proj,
            repo,
            outside,
            victims: vec![v1, v2],
            env,
            decoy,
            tag,
        };
        if matches!(mode.kind, Kind::Oci | Kind::OciCreate) {
            stage.build_rootfs();
        }
        stage
    }

    /// OCI mode: a root filesystem holding only the attack binary, its libraries and
    /// the privilege-gain copies; the project directory bound read-write and the
    /// outside directory read-only at their host paths.
    fn build_rootfs(&mut self) {
        let rootfs = self.s.join("oci/rootfs");
        for d in ["proc", "dev", "tmp", "bin", "etc"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        copy_exec(&attack(), &rootfs.join("bin/attack"), 0o755);
        copy_exec(&attack(), &rootfs.join("bin/attack-suid"), 0o4755);
        copy_exec(&attack(), &rootfs.join("bin/attack-fcap"), 0o755);
        set_file_caps(&rootfs.join("bin/attack-fcap"));
        let ldd = Command::new("ldd").arg(attack()).output().unwrap();
        for lib in String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
        {
            let to = rootfs.join(lib.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(lib, &to).unwrap();
        }
        for p in [&self.proj, &self.repo, &self.outside] {
            std::fs::create_dir_all(rootfs.join(p.strip_prefix("/").unwrap())).unwrap();
        }
        if !self.mode.user.is_root() {
            for d in walk(&self.s.join("oci")) {
                if !d.ends_with("attack-suid") && !d.ends_with("attack-fcap") {
                    let _ = std::os::unix::fs::lchown(
                        &d,
                        Some(self.mode.user.uid),
                        Some(self.mode.user.gid),
                    );
                }
            }
        }
        for (k, v) in &mut self.env {
            match k.as_str() {
                "ATK_SUID_BIN" => *v = "/bin/attack-suid".into(),
                "ATK_FCAP_BIN" => *v = "/bin/attack-fcap".into(),
                _ => {}
            }
        }
    }

    fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The config.json of one technique's run in this mode.
    fn bundle(&self, technique: &str) -> PathBuf {
        let dir = self.s.join("bundle");
        std::fs::create_dir_all(&dir).unwrap();
        chown(&dir, self.mode.user);
        let rlimits = json!([{"type": "RLIMIT_NPROC", "soft": NPROC, "hard": NPROC}]);
        let policy = json!({
            "filesystem": {
                "denyRead": [self.secret.parent().unwrap().display().to_string()],
                "allowWrite": [self.proj.display().to_string(), self.repo.display().to_string()]
            },
            "network": {"allowedDomains": []}
        });
        let cfg: Value = match self.mode.kind {
            Kind::Oci | Kind::OciCreate => {
                let mut c = config(&["/bin/attack", technique, &self.tag]);
                c["root"] = json!({"path": self.s.join("oci/rootfs"), "readonly": true});
                c["mounts"] = json!([
                    {"destination": "/proc", "type": "proc", "source": "proc"},
                    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
                    {"destination": self.proj, "type": "bind", "source": self.proj, "options": ["rbind", "rw"]},
                    {"destination": self.repo, "type": "bind", "source": self.repo, "options": ["rbind", "rw"]},
                    {"destination": self.outside, "type": "bind", "source": self.outside, "options": ["rbind", "ro"]}
                ]);
                c["linux"] = json!({"namespaces": [
                    {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
                ]});
                // The same sandbox policy: its writable paths are the project and the
                // repository bound above, so srt's mandatory denies hold there too.
                c["sandbox"] = policy;
                c
            }
            Kind::Strong | Kind::Weaker => {
                let mut c = config(&[attack().to_str().unwrap(), technique, &self.tag]);
                let mut p = policy;
                if self.mode.kind == Kind::Weaker {
                    p["mode"] = json!("weaker");
                }
                c["sandbox"] = p;
                c
            }
            Kind::Control => unreachable!(),
        };
        let mut cfg = cfg;
        cfg["process"]["env"] = json!(self.env_list());
        if self.mode.kind == Kind::Weaker {
            // Without a user namespace the command keeps the caller's own ids.
            cfg["process"]["user"] = json!({"uid": self.mode.user.uid, "gid": self.mode.user.gid});
        }
        cfg["process"]["rlimits"] = rlimits;
        if self.mode.user.is_root() {
            // RLIMIT_NPROC never binds host uid 0, which a root-run sandbox's uid 0 is:
            // there the limit is a pids cgroup (an unprivileged caller cannot create one
            // on this cgroup v1 host, and its RLIMIT_NPROC does bind).
            if cfg.get("linux").is_none() {
                cfg["linux"] = json!({});
            }
            cfg["linux"]["resources"] = json!({"pids": {"limit": NPROC}});
        }
        write_bundle(&dir, &cfg);
        dir
    }

    /// Runs one technique in this mode; the verdict line and the run's stderr.
    fn run(&self, technique: &str, control_user: &str, pty: &OwnedFd) -> (String, String) {
        let mut decoy = None;
        if technique == "runtime-exe-overwrite" {
            let mut d = Command::new(&self.decoy);
            d.args(["run", self.s.join("decoy").to_str().unwrap()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if !self.mode.user.is_root() {
                d.uid(self.mode.user.uid).gid(self.mode.user.gid);
            }
            let child = d.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            decoy = Some(child);
        }
        let mut cmd = match self.mode.kind {
            Kind::Control if technique.contains("proc-1-root") => {
                // pid 1 of the host is not ours to probe: the control gets a private pid
                // namespace whose pid 1 is the unconfined attack process itself.
                let mut c = Command::new("/usr/bin/unshare");
                c.args(["--pid", "--fork", "--mount-proc"])
                    .arg(attack())
                    .args([technique, &self.tag]);
                c.env_clear().envs(self.env.iter().cloned());
                c
            }
            Kind::Control => {
                let mut c = Command::new(attack());
                c.args([technique, &self.tag]);
                c.env_clear().envs(self.env.iter().cloned());
                if let Some(d) = &decoy {
                    c.env("ATK_DECOY_PID", d.id().to_string());
                }
                if control_user == "unprivileged" {
                    let u = unprivileged();
                    c.uid(u.uid).gid(u.gid);
                }
                c
            }
            _ => {
                let dir = self.bundle(technique);
                if let Some(d) = &decoy {
                    let f = dir.join("config.json");
                    let mut cfg: Value =
                        serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
                    cfg["process"]["env"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!(format!("ATK_DECOY_PID={}", d.id())));
                    write_bundle(&dir, &cfg);
                }
                if self.mode.kind == Kind::OciCreate {
                    let id = format!("atk-{technique}");
                    let state = self.s.join("state");
                    srt_cmd(
                        self.mode.user,
                        &[
                            "--root",
                            state.to_str().unwrap(),
                            "create",
                            "--bundle",
                            dir.to_str().unwrap(),
                            &id,
                        ],
                    )
                } else {
                    srt_cmd(self.mode.user, &["run", dir.to_str().unwrap()])
                }
            }
        };
        let (out, err) = if self.mode.kind == Kind::OciCreate {
            self.create_start(cmd, technique, pty)
        } else {
            let _leak = self.attach(&mut cmd, pty);
            let o = output_within(cmd, Duration::from_secs(30));
            (stdout(&o), stderr(&o))
        };
        if let Some(mut d) = decoy {
            let _ = d.wait();
        }
        let line = out
            .lines()
            .rev()
            .find(|l| l.starts_with("ESCAPED") || l.starts_with("BLOCKED"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("NO VERDICT stdout: {} stderr: {}", out.trim(), err.trim()));
        (line, err)
    }

    /// Gives `cmd` the pty as stdin and a host directory fd leaked as fd 9, as a careless
    /// caller would; the returned fd is the parent's copy, to be dropped after the run.
    fn attach(&self, cmd: &mut Command, pty: &OwnedFd) -> OwnedFd {
        cmd.stdin(Stdio::from(pty.try_clone().unwrap()));
        let leak: OwnedFd = std::fs::File::open(&self.s.path).unwrap().into();
        let raw = leak.as_raw_fd();
        unsafe {
            cmd.pre_exec(move || {
                // dup2 leaves the new fd without FD_CLOEXEC: it survives the exec.
                if libc::dup2(raw, 9) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        leak
    }

    /// `create` (the container keeps create's stdio, so it goes to files), `start`,
    /// `state` until stopped, `delete`; the container's output and every step's errors.
    fn create_start(
        &self,
        mut create: Command,
        technique: &str,
        pty: &OwnedFd,
    ) -> (String, String) {
        let id = format!("atk-{technique}");
        let state = self.s.join("state");
        let (out_f, err_f) = (self.s.join("create.out"), self.s.join("create.err"));
        create
            .stdout(std::fs::File::create(&out_f).unwrap())
            .stderr(std::fs::File::create(&err_f).unwrap());
        let _leak = self.attach(&mut create, pty);
        let status = create.status().unwrap();
        let rt = |args: &[&str]| {
            let mut all = vec!["--root", state.to_str().unwrap()];
            all.extend_from_slice(args);
            srt_cmd(self.mode.user, &all).output().unwrap()
        };
        let mut errs = vec![format!("create: {status:?}")];
        if status.success() {
            let o = rt(&["start", &id]);
            errs.push(format!("start: {:?} {}", o.status, stderr(&o).trim()));
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let o = rt(&["state", &id]);
                let st: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
                if st["status"] == "stopped" || !o.status.success() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: {technique} did not stop: {st}",
                    self.mode.label()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            let o = rt(&["delete", "--force", &id]);
            errs.push(format!("delete: {:?} {}", o.status, stderr(&o).trim()));
        }
        errs.push(std::fs::read_to_string(&err_f).unwrap_or_default());
        (
            std::fs::read_to_string(&out_f).unwrap_or_default(),
            errs.join("\n"),
        )
    }

    /// Nothing outside changed and nothing of the run survives.
    fn check_host(&self, failures: &mut Vec<String>) {
        let label = self.mode.label();
        if self.mode.kind != Kind::Control {
            let mut names: Vec<String> = std::fs::read_dir(&self.outside)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            if names != ["victim"] {
                failures.push(format!("{label}: files appeared outside: {names:?}"));
            }
            let v = std::fs::read_to_string(self.outside.join("victim")).unwrap();
            if v != "original" {
                failures.push(format!("{label}: the outside victim file changed: {v:?}"));
            }
        }
        if std::fs::read_to_string(&self.secret).unwrap() != MARKER {
            failures.push(format!("{label}: the secret changed"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !tagged_processes(&self.tag).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let left = tagged_processes(&self.tag);
        if !left.is_empty() {
            failures.push(format!("{label}: processes left behind: {left:?}"));
        }
        let ok = Command::new("/bin/true").status().map(|s| s.success());
        if !matches!(ok, Ok(true)) {
            failures.push(format!(
                "{label}: the host cannot start a process afterwards"
            ));
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        for v in &mut self.victims {
            let _ = v.kill();
            let _ = v.wait();
        }
    }
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut v = vec![p.to_path_buf()];
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            v.extend(walk(&e.unwrap().path()));
        }
    }
    v
}

fn tagged_processes(tag: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            if c.split(|b| *b == 0).any(|w| w == tag.as_bytes()) {
                v.push(name);
            }
        }
    }
    v
}

fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty");
    unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

fn techniques() -> Vec<(String, String)> {
    let out = Command::new(attack()).arg("--list").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn modes() -> Vec<Mode> {
    let mut v = vec![Mode {
        kind: Kind::Control,
        user: users()[0],
    }];
    for kind in [Kind::Strong, Kind::Weaker, Kind::Oci, Kind::OciCreate] {
        for user in users() {
            v.push(Mode { kind, user });
        }
    }
    v
}

/// Why `technique` may escape in `mode`: a weaker-mode residual or a known engine gap.
fn residual(mode: &Mode, technique: &str) -> Option<&'static str> {
    if let Some((_, _, why)) = KNOWN_GAPS
        .iter()
        .find(|(m, t, _)| *m == mode.label() && *t == technique)
    {
        return Some(why);
    }
    if mode.kind != Kind::Weaker {
        return None;
    }
    RESIDUALS
        .iter()
        .find(|(t, why)| *t == technique && (!why.starts_with("as root") || mode.user.is_root()))
        .map(|(_, why)| *why)
}

#[test]
fn attack_suite() {
    assert!(
        users()[0].is_root(),
        "the attack suite runs as root (it makes setuid-root and file-capability binaries and runs every mode as root and as {TEST_USER}): run `make attack` or `make test` as root"
    );
    let started = Instant::now();
    let net = listeners();
    let host = host_addresses();
    let techniques = techniques();
    assert!(
        techniques.len() >= 40,
        "the attack binary lists {techniques:?}"
    );
    let modes = modes();
    let (_master, slave) = open_pty();
    let mut results: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut failures = Vec::new();
    for mode in &modes {
        let stage = Stage::new(*mode, &net, &host);
        for (t, control_user) in &techniques {
            let (line, err) = stage.run(t, control_user, &slave);
            let escaped = line.starts_with("ESCAPED");
            let label = mode.label();
            if line.starts_with("NO VERDICT") {
                failures.push(format!("{label}: {t}: {line}"));
                results.insert((t.clone(), label), line);
                continue;
            }
            match mode.kind {
                Kind::Control => {
                    let unavailable = CONTROL_UNAVAILABLE.iter().find(|u| u.technique == t);
                    match (escaped, unavailable) {
                        (true, None) => {}
                        (true, Some(_)) => failures.push(format!(
                            "control: {t} escaped although listed as unavailable on this host: {line}"
                        )),
                        (false, Some(u)) => {
                            if !(u.holds)() {
                                let why = u.reason;
                                failures.push(format!("control: {t}: the stated reason does not hold here ({why}): {line}"));
                            }
                        }
                        (false, None) => failures.push(format!(
                            "control: {t} did not escape unsandboxed, so its BLOCKED rows prove nothing: {line}"
                        )),
                    }
                }
                _ => match (escaped, residual(mode, t)) {
                    (false, None) | (true, Some(_)) => {}
                    (true, None) => {
                        failures.push(format!("{label}: {t} ESCAPED: {line}\n  stderr: {}", err.trim()))
                    }
                    (false, Some(why)) => failures.push(format!(
                        "{label}: {t} is listed as escaping ({why}) but no longer escapes: {line}; remove its row from {} and the README's security section",
                        if KNOWN_GAPS.iter().any(|(m, g, _)| *m == label && g == t) { "KNOWN_GAPS" } else { "RESIDUALS" }
                    )),
                },
            }
            results.insert((t.clone(), label), line);
        }
        stage.check_host(&mut failures);
    }
    print_table(&techniques, &modes, &results);
    eprintln!(
        "attack suite: {} techniques x {} modes in {:.1}s",
        techniques.len(),
        modes.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "attack suite failures:\n{}",
        failures.join("\n")
    );
}

fn print_table(
    techniques: &[(String, String)],
    modes: &[Mode],
    results: &BTreeMap<(String, String), String>,
) {
    let labels: Vec<String> = modes.iter().map(Mode::label).collect();
    let mut s = format!(
        "\n| technique | {} |\n|---|{}\n",
        labels.join(" | "),
        "---|".repeat(labels.len())
    );
    let mut notes = Vec::new();
    for (t, _) in techniques {
        let mut cells = Vec::new();
        for (m, l) in modes.iter().zip(&labels) {
            let line = results
                .get(&(t.clone(), l.clone()))
                .map(String::as_str)
                .unwrap_or("");
            let cell = if line.starts_with("NO VERDICT") {
                "NO VERDICT".to_string()
            } else if line.starts_with("ESCAPED") {
                if KNOWN_GAPS.iter().any(|(ml, tt, _)| *ml == l && tt == t) {
                    "ESCAPED (gap)".to_string()
                } else if residual(m, t).is_some() {
                    "ESCAPED (residual)".to_string()
                } else {
                    "ESCAPED".to_string()
                }
            } else if m.kind == Kind::Control {
                "BLOCKED (host)".to_string()
            } else {
                "BLOCKED".to_string()
            };
            cells.push(cell);
            notes.push(format!("{t} [{l}]: {line}"));
        }
        s.push_str(&format!("| {t} | {} |\n", cells.join(" | ")));
    }
    eprintln!("{s}");
    for u in CONTROL_UNAVAILABLE {
        eprintln!("control of {}: {}", u.technique, u.reason);
    }
    for (t, why) in RESIDUALS {
        eprintln!("weaker-mode residual {t}: {why}");
    }
    for (m, t, why) in KNOWN_GAPS {
        eprintln!("KNOWN ENGINE GAP {t} in {m}: {why}");
    }
    eprintln!("\ndetails:\n{}", notes.join("\n"));
}
