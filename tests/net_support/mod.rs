//! The upstream side of the network tests: a private network namespace joined to the
//! host by a veth pair with addresses from 198.18.0.0/15, running an HTTP server, an
//! HTTPS server (certificate from a CA generated with `openssl` at start), a UDP echo
//! on port 53, and a real `sshd` serving a bare git repository.
//!
//! It is started once per test binary ([`upstream`]) and torn down by an `atexit`
//! handler when the test binary exits: servers killed, namespace and veth deleted,
//! files removed. Namespaces left by a test binary that was killed are removed the
//! next time a test binary starts. Names carry the process id, so concurrent test
//! binaries do not collide.

#![allow(dead_code)]

use crate::common;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Names the upstream resolves in the proxy's `resolve` map.
pub const NAMES: &[&str] = &["web.test", "git.test", "denied.test", "blocked.test"];

/// The system Python (not a pyenv shim, which the unprivileged user cannot read).
pub const PYTHON: &str = "/usr/bin/python3";

/// The running upstream.
pub struct Upstream {
    /// Network namespace name.
    pub ns: String,
    /// Host-side veth name.
    pub host_if: String,
    pub host_ip: Ipv4Addr,
    /// The upstream's address (inside its namespace).
    pub ip: Ipv4Addr,
    /// World-readable directory with the served files, the CA, scripts, keys.
    pub dir: PathBuf,
    /// Body of `/hello.txt` on the HTTP and HTTPS servers.
    pub hello: String,
    /// Commit of `main` in the served bare repository.
    pub commit: String,
    /// Content of `README` in that commit.
    pub readme: String,
}

impl Upstream {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// The client helper script (see `NETPROBE`).
    pub fn netprobe(&self) -> String {
        format!("{PYTHON} {}", self.dir.join("netprobe.py").display())
    }
    /// Absolute path of the bare repository (the same on the sshd side).
    pub fn repo(&self) -> PathBuf {
        self.dir.join("www/repo.git")
    }
    /// Private key accepted by the sshd for root.
    pub fn ssh_key(&self) -> PathBuf {
        self.dir.join("ssh/id_ed25519")
    }
    /// `resolve` map pointing every test name at the upstream.
    pub fn resolve(&self) -> serde_json::Value {
        let ip = self.ip.to_string();
        NAMES
            .iter()
            .map(|n| (n.to_string(), serde_json::json!([ip])))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

static UPSTREAM: OnceLock<Upstream> = OnceLock::new();
static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());
/// What teardown removes; set before anything is created.
static CREATED: Mutex<Option<(String, String, PathBuf)>> = Mutex::new(None);

/// Starts the upstream on first use and returns it.
pub fn upstream() -> &'static Upstream {
    UPSTREAM.get_or_init(|| {
        remove_stale();
        let pid = std::process::id();
        let up = Upstream {
            ns: format!("srtnet-{pid}"),
            host_if: format!("srtn{pid}h"),
            host_ip: subnet_addr(pid, 1),
            ip: subnet_addr(pid, 2),
            dir: PathBuf::from(format!("/tmp/srt-runc-tests/net-upstream-{pid}")),
            hello: format!("hello from the upstream {pid}\n"),
            commit: String::new(),
            readme: format!("served by the upstream of test run {pid}\n"),
        };
        *CREATED.lock().unwrap() = Some((up.ns.clone(), up.host_if.clone(), up.dir.clone()));
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(teardown_at_exit) };
        let commit = start(&up);
        Upstream { commit, ..up }
    })
}

/// A /30 inside 198.18.0.0/15 derived from the pid, so concurrent test binaries get
/// distinct subnets: `.1` is the host side, `.2` the upstream.
fn subnet_addr(pid: u32, host: u32) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let index = pid % 32_767 + 1;
    Ipv4Addr::from(base + index * 4 + host)
}

fn sh(script: &str) {
    let out = Command::new("/bin/sh")
        .arg("-ec")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "upstream setup failed: {script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start(up: &Upstream) -> String {
    let d = &up.dir;
    let _ = std::fs::remove_dir_all(d);
    std::fs::create_dir_all(d.join("www")).unwrap();
    std::fs::create_dir_all(d.join("ssh")).unwrap();
    for p in ["/tmp/srt-runc-tests", d.to_str().unwrap()] {
        let mode = if p == "/tmp/srt-runc-tests" {
            0o1777
        } else {
            0o755
        };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::write(d.join("www/hello.txt"), &up.hello).unwrap();
    std::fs::write(d.join("netprobe.py"), NETPROBE).unwrap();
    std::fs::write(d.join("servers.py"), SERVERS).unwrap();

    // The network: veth pair, host side .1, upstream side .2, nothing routed beyond.
    let (ns, hif, hip, ip) = (&up.ns, &up.host_if, up.host_ip, up.ip);
    sh(&format!(
        "ip netns add {ns}
         ip link add {hif} type veth peer name eth-up netns {ns}
         ip addr add {hip}/30 dev {hif}
         ip link set {hif} up
         ip -n {ns} link set lo up
         ip -n {ns} addr add {ip}/30 dev eth-up
         ip -n {ns} link set eth-up up"
    ));

    // TLS: a throwaway CA and a server certificate for the test names.
    let dd = d.display();
    sh(&format!(
        "cd {dd}
         openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
           -keyout ca.key -out ca.pem -subj /CN=srt-runc-test-ca \
           -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
         openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
           -keyout server.key -out server.csr -subj /CN=web.test 2>/dev/null
         printf 'subjectAltName=DNS:web.test,DNS:git.test,DNS:denied.test,DNS:blocked.test\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\nsubjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid\\n' > server.ext
         openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
           -extfile server.ext -out server.pem 2>/dev/null
         chmod 644 ca.pem"
    ));

    // A bare repository served by the dumb HTTP protocol and over ssh.
    let repo = up.repo();
    let work = d.join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("README"), &up.readme).unwrap();
    sh(&format!(
        "export GIT_CONFIG_NOSYSTEM=1 HOME={dd}
         git init -q -b main {w}
         git -C {w} add README
         git -C {w} -c user.name=t -c user.email=t@example.test commit -q -m upstream
         git clone -q --bare {w} {r}
         git -C {r} update-server-info",
        w = work.display(),
        r = repo.display()
    ));
    let commit = String::from_utf8(
        Command::new("git")
            .args(["-C", repo.to_str().unwrap(), "rev-parse", "refs/heads/main"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert_eq!(commit.len(), 40, "rev-parse: {commit:?}");

    // sshd: temporary host key, root logs in with a generated key only.
    let s = d.join("ssh");
    sh(&format!(
        "cd {s}
         ssh-keygen -q -t ed25519 -N '' -f host_key
         ssh-keygen -q -t ed25519 -N '' -f id_ed25519
         cp id_ed25519.pub authorized_keys",
        s = s.display()
    ));
    std::fs::write(
        s.join("sshd_config"),
        format!(
            "ListenAddress {ip}:22\nHostKey {s}/host_key\nAuthorizedKeysFile {s}/authorized_keys\n\
             PidFile none\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nLoginGraceTime 20\n",
            s = s.display()
        ),
    )
    .unwrap();

    // Servers run inside the namespace. sshd needs its privilege-separation directory
    // /run/sshd: it gets a private tmpfs /run in its own mount namespace, so nothing is
    // created on the host.
    let mut py = Command::new("ip");
    py.args(["netns", "exec", ns, PYTHON])
        .arg(d.join("servers.py"))
        .arg(ip.to_string())
        .arg(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut py = py.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(py.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    CHILDREN.lock().unwrap().push(py);
    assert_eq!(line, "ready\n", "servers.py did not start");
    let sshd = Command::new("ip")
        .args(["netns", "exec", ns, "unshare", "--mount", "/bin/sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -f {}",
            s.join("sshd_config").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    CHILDREN.lock().unwrap().push(sshd);
    for port in [22, 80, 443] {
        wait_port(SocketAddr::from((ip, port)));
    }
    commit
}

fn wait_port(addr: SocketAddr) {
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "upstream {addr} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

extern "C" fn teardown_at_exit() {
    teardown();
}

/// Kills every process in the namespace, deletes it and the veth, removes the files.
fn teardown() {
    let Some((ns, hif, dir)) = CREATED.lock().ok().and_then(|mut c| c.take()) else {
        return;
    };
    if let Ok(mut children) = CHILDREN.lock() {
        for c in children.iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    remove_netns(&ns, &hif);
    let _ = std::fs::remove_dir_all(&dir);
    // The harness's world-readable copy of the binaries belongs to this process too.
    let _ = std::fs::remove_dir_all(format!("/tmp/srt-runc-test-bin-{}", std::process::id()));
}

fn remove_netns(ns: &str, hif: &str) {
    let quiet = |args: &[&str]| {
        let _ = Command::new("ip")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output();
    };
    // sshd's per-connection children and anything else still inside.
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    quiet(&["netns", "del", ns]);
    quiet(&["link", "del", hif]);
}

/// Removes the namespaces, veths and directories of network test binaries that died
/// without running their teardown (found by their namespace).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name.strip_prefix("srtnet-") else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        remove_netns(name, &format!("srtn{pid}h"));
        // The upstream's files and the scratch dirs of this file's tests (`net-…-PID`).
        let suffix = format!("-{pid}");
        if let Ok(dir) = std::fs::read_dir("/tmp/srt-runc-tests") {
            for e in dir.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("net-") && n.ends_with(&suffix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(format!("/tmp/srt-runc-test-bin-{pid}"));
    }
}

/// Runs the bundle in `dir` as `user` (with extra `srt-runc run` options) with a
/// deadline of 30 s.
pub fn run_bundle_within(user: common::User, dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    common::output_within(common::srt_cmd(user, &args), Duration::from_secs(30))
}

/// Upstream servers, run with the system python inside the namespace:
/// HTTP on 80 and HTTPS on 443 serving `DIR/www`, a UDP echo on 53.
const SERVERS: &str = r#"
import functools, http.server, os, socket, ssl, sys, threading
ip, d = sys.argv[1], sys.argv[2]

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

handler = functools.partial(Quiet, directory=os.path.join(d, "www"))
plain = http.server.ThreadingHTTPServer((ip, 80), handler)
tls = http.server.ThreadingHTTPServer((ip, 443), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((ip, 53))

def echo():
    while True:
        data, peer = udp.recvfrom(4096)
        udp.sendto(data, peer)

for target in (plain.serve_forever, tls.serve_forever, echo):
    threading.Thread(target=target, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// Client helper run inside the sandbox. Every subcommand prints one line.
const NETPROBE: &str = r#"
import errno, json, socket, ssl, sys, urllib.error, urllib.request

def err(e):
    return "errno=%s" % (errno.errorcode.get(e.errno, e.errno) if e.errno else type(e).__name__)

def main(cmd, *a):
    if cmd == "tcp":  # direct TCP connect
        s = socket.socket(socket.AF_INET6 if ":" in a[0] else socket.AF_INET)
        s.settimeout(3)
        try:
            s.connect((a[0], int(a[1])))
            return "connected"
        except OSError as e:
            return err(e)
    if cmd == "udp":  # datagram to HOST PORT; a reply proves it got through
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.sendto(b"ping", (a[0], int(a[1])))
            return "reply=%r" % s.recvfrom(100)[0]
        except OSError as e:
            return err(e)
    if cmd == "dns":  # an A query for example.com to HOST:53
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        try:
            s.connect((a[0], 53))
            s.send(q)
            return "answer=%d bytes" % len(s.recv(512))
        except OSError as e:
            return err(e)
    if cmd == "udp6-route":  # connect() on UDP sends nothing, it only needs a route
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.connect((a[0], 53))
            return "routed"
        except OSError as e:
            return err(e)
    if cmd == "raw":  # raw and ICMP datagram sockets, then a send
        out = []
        for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
            try:
                s = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
                s.sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", (a[0], 0))
                out.append("sent")
            except OSError as e:
                out.append(err(e))
        return " ".join(out)
    if cmd == "socks":  # SOCKS5 CONNECT by name through the sandbox proxy, then GET /PATH
        host, port, path = a[0], int(a[1]), a[2]
        s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return "bad method reply"
        s.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host.encode() + port.to_bytes(2, "big"))
        rep = s.recv(4)
        if len(rep) < 2 or rep[1] != 0:
            return "reply=%s" % rep[1:2].hex()
        atyp = rep[3]
        s.recv({1: 4, 4: 16}.get(atyp, 0) + 2)
        s.sendall(("GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return "reply=00 body=" + json.dumps(data.split(b"\r\n\r\n", 1)[1].decode())
    if cmd == "urllib":  # urllib with the environment's proxies; URL [CAFILE]
        ctx = ssl.create_default_context(cafile=a[1]) if len(a) > 1 else None
        try:
            r = urllib.request.urlopen(a[0], timeout=10, context=ctx)
            return "status=%d body=%s" % (r.status, json.dumps(r.read().decode()))
        except urllib.error.HTTPError as e:
            return "status=%d x-proxy-error=%s body=%s" % (e.code, e.headers.get("X-Proxy-Error"), json.dumps(e.read().decode()))
        except (urllib.error.URLError, OSError) as e:
            return "failed %s" % (e.reason if hasattr(e, "reason") else e)
    return "unknown command"

print(main(*sys.argv[1:]), flush=True)
"#;
