//! Network benchmark: the sandbox's egress proxy against direct loopback and against
//! srt (npm `@anthropic-ai/sandbox-runtime`, the anchor), in one run on the same
//! machine, rounds alternating (direct, srt-runc, srt, direct, ...) so load from other
//! processes skews every side alike. Run with `make bench` (or `cargo bench --bench net`).
//!
//! The client is this bench binary itself, re-executed *inside* the sandbox (the
//! bundle's root is the host's `/`, read-only) with `__client ...` arguments: it
//! tunnels through `$HTTPS_PROXY` with HTTP CONNECT (sending srt's proxy credentials
//! when the URL carries them), or connects directly for the baseline. The upstreams
//! run in this process on host 127.0.0.1: a bulk server that `sendfile`s 256 MiB per
//! connection (cheap on the CPU, so the proxy is what is measured on 2 cores) and a
//! 1-byte echo server.
//!
//! Measured: bulk throughput, added latency per new tunnel, supervisor peak RSS
//! (VmHWM of the `srt-runc` process, i.e. supervisor + proxy thread, polled from
//! /proc while it runs), `run` of `/bin/true` with a network policy against
//! `srt -c true`, and 1000 concurrent tunnels. A missing srt is reported in the
//! table, never silently skipped.

#[path = "support/report.rs"]
mod report;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report::Score;

const CLIENT: &str = "__client";
const TOTAL: u64 = 256 << 20;
const BLOB: u64 = 16 << 20;
const BULK_ROUNDS: usize = 5;
const RTT_N: usize = 200;
const RTT_ROUNDS: usize = 3;
const START_RUNS: usize = 20;
const CONC: usize = 1000;
const CONC_ROUNDS: usize = 3;
const SRT_DEFAULT: &str = "/opt/srt-anchor/node_modules/.bin/srt";
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// Client side (runs inside the sandbox, or directly for the baseline)
// ---------------------------------------------------------------------------

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `$HTTPS_PROXY` as (host:port, optional Basic credentials).
fn proxy_from_env() -> (String, Option<String>) {
    let url = std::env::var("HTTPS_PROXY").expect("HTTPS_PROXY not set in the sandbox");
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once('@') {
        Some((cred, hp)) => {
            let (u, p) = cred.split_once(':').unwrap_or((cred, ""));
            let plain = format!("{}:{}", percent_decode(u), percent_decode(p));
            (hp.to_string(), Some(b64(plain.as_bytes())))
        }
        None => (rest.to_string(), None),
    }
}

/// Open a stream to `target`, through the proxy (`Some`) or directly.
fn open(target: &str, proxy: &Option<(String, Option<String>)>) -> std::io::Result<TcpStream> {
    let Some((hp, cred)) = proxy else {
        let s = TcpStream::connect(target)?;
        s.set_nodelay(true)?;
        return Ok(s);
    };
    let mut s = TcpStream::connect(hp.as_str())?;
    s.set_nodelay(true)?;
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(c) = cred {
        head.push_str(&format!("Proxy-Authorization: Basic {c}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let mut got = Vec::with_capacity(128);
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 {
            return Err(std::io::Error::other("proxy closed during CONNECT"));
        }
        got.push(b[0]);
    }
    let line = String::from_utf8_lossy(&got);
    if !line.starts_with("HTTP/1.1 200") && !line.starts_with("HTTP/1.0 200") {
        return Err(std::io::Error::other(format!(
            "CONNECT refused: {}",
            line.lines().next().unwrap_or("")
        )));
    }
    Ok(s)
}

/// `__client MODE TARGET N proxy|direct`; prints one `RESULT ...` line.
fn client(args: &[String]) {
    let (mode, target, n, via) = (&args[0], &args[1], &args[2], &args[3]);
    let n: usize = n.parse().unwrap();
    let proxy = (via == "proxy").then(proxy_from_env);
    match mode.as_str() {
        "bulk" => {
            let mut s = open(target, &proxy).expect("bulk connect");
            let mut buf = vec![0u8; 256 << 10];
            let t = Instant::now();
            s.write_all(b"g").unwrap();
            let mut got = 0u64;
            loop {
                let k = s.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                got += k as u64;
            }
            println!("RESULT bulk {got} {}", t.elapsed().as_secs_f64());
        }
        "rtt" => {
            let mut out = String::from("RESULT rtt");
            for _ in 0..n {
                let t = Instant::now();
                let mut s = open(target, &proxy).expect("rtt connect");
                let mut b = [b'x'];
                s.write_all(&b).unwrap();
                s.read_exact(&mut b).unwrap();
                out.push_str(&format!(" {}", t.elapsed().as_secs_f64()));
            }
            println!("{out}");
        }
        "conc" => {
            // All tunnels open at once: each thread opens its tunnel, does one
            // round trip, then waits until every other one has done the same.
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
            let t = Instant::now();
            let threads: Vec<_> = (0..n)
                .map(|_| {
                    let (target, proxy, barrier) = (target.clone(), proxy.clone(), barrier.clone());
                    std::thread::Builder::new()
                        .stack_size(64 << 10)
                        .spawn(move || {
                            let ok = (|| -> std::io::Result<TcpStream> {
                                let mut s = open(&target, &proxy)?;
                                let mut b = [b'y'];
                                s.write_all(&b)?;
                                s.read_exact(&mut b)?;
                                Ok(s)
                            })();
                            barrier.wait();
                            ok.is_ok()
                        })
                        .unwrap()
                })
                .collect();
            let ok = threads
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|&o| o)
                .count();
            println!("RESULT conc {ok} {}", t.elapsed().as_secs_f64());
        }
        m => panic!("unknown client mode {m}"),
    }
}

// ---------------------------------------------------------------------------
// Host side: upstreams
// ---------------------------------------------------------------------------

/// Serve `TOTAL` bytes per connection, after one request byte, with sendfile from a
/// 16 MiB file in the page cache.
fn bulk_server(blob: PathBuf) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let blob = blob.clone();
            std::thread::spawn(move || {
                let f = std::fs::File::open(&blob).unwrap();
                let mut b = [0u8; 1];
                if s.read_exact(&mut b).is_err() {
                    return;
                }
                let mut sent = 0u64;
                while sent < TOTAL {
                    let mut off: libc::off_t = 0;
                    while (off as u64) < BLOB {
                        // SAFETY: valid fds and offset pointer for the call.
                        let n = unsafe {
                            libc::sendfile(
                                s.as_raw_fd(),
                                f.as_raw_fd(),
                                &mut off,
                                (BLOB - off as u64) as usize,
                            )
                        };
                        if n <= 0 {
                            return;
                        }
                        sent += n as u64;
                    }
                }
            });
        }
    });
    addr
}

/// Reference relay on the host, no sandbox, no policy: two blocking threads per
/// connection copying through user-space buffers — what a naive relay reaches on
/// this machine, to separate machine limits from proxy overhead.
fn reference_relay(target: SocketAddr) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            let Ok(u) = TcpStream::connect(target) else {
                continue;
            };
            let (mut c2, mut u2) = (c.try_clone().unwrap(), u.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut u2);
                let _ = u2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let (mut u, mut c) = (u, c);
                let _ = std::io::copy(&mut u, &mut c);
                let _ = c.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

/// 1-byte echo server (tokio: the concurrency case holds 1000 connections).
fn echo_server() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
    });
    addr
}

// ---------------------------------------------------------------------------
// Host side: runners
// ---------------------------------------------------------------------------

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

struct Outcome {
    /// The `RESULT` line's fields after the mode, or the failure.
    result: Result<Vec<f64>, String>,
    /// Peak RSS of the spawned process (supervisor / node), KiB.
    hwm_kib: u64,
    /// CPU time of the spawned process itself (threads included, children not).
    cpu: Duration,
}

/// Run `cmd`, polling its VmHWM until it exits; parse its `RESULT` line.
fn run(mut cmd: Command) -> Outcome {
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut hwm = 0;
    let mut ticks = 0;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if let Some(k) = vm_hwm_kib(pid) {
            hwm = hwm.max(k);
        }
        if let Some(k) = cpu_ticks(pid) {
            ticks = k;
        }
        if t.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut out = String::new();
    let mut err = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let result = match status {
        None => Err(format!("timed out after {RUN_TIMEOUT:?}")),
        Some(st) => match out.lines().find_map(|l| l.strip_prefix("RESULT ")) {
            Some(r) => Ok(r
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect()),
            None => Err(format!(
                "{st}: {}",
                err.lines().last().unwrap_or("(no output)").trim()
            )),
        },
    };
    Outcome {
        result,
        hwm_kib: hwm,
        // SAFETY: sysconf has no preconditions.
        cpu: Duration::from_secs_f64(
            ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64,
        ),
    }
}

/// The three ways of running the same client.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Direct,
    SrtRunc,
    Srt,
}

struct Env {
    exe: PathBuf,
    srt_runc: PathBuf,
    srt: Option<PathBuf>,
    bundle: PathBuf,
    settings: PathBuf,
    bulk: SocketAddr,
    echo: SocketAddr,
}

impl Env {
    fn write_bundle(&self, args: &[String]) {
        let cfg = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "/", "readonly": true},
            "process": {"args": args, "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/usr/bin:/bin"]},
            "sandbox": {"network": {
                "allowedDomains": ["bench.test", format!("127.0.0.1:{}", self.bulk.port()), format!("127.0.0.1:{}", self.echo.port())],
                "resolve": {"bench.test": ["127.0.0.1"]}
            }}
        });
        std::fs::create_dir_all(&self.bundle).unwrap();
        std::fs::write(
            self.bundle.join("config.json"),
            serde_json::to_vec_pretty(&cfg).unwrap(),
        )
        .unwrap();
    }

    /// The client run directly against another address (the reference relay).
    fn client_at(&self, mode: &str, addr: SocketAddr) -> Outcome {
        let mut c = Command::new(&self.exe);
        c.args([CLIENT, mode, &addr.to_string(), "0", "direct"]);
        run(c)
    }

    /// A command running `args` on `side` (args[0] is the program).
    fn command(&self, side: Side, args: &[String]) -> Command {
        match side {
            Side::Direct => {
                let mut c = Command::new(&args[0]);
                c.args(&args[1..]);
                c
            }
            Side::SrtRunc => {
                self.write_bundle(args);
                let mut c = Command::new(&self.srt_runc);
                c.arg("run").arg(&self.bundle);
                c
            }
            Side::Srt => {
                let mut c = Command::new(self.srt.as_ref().unwrap());
                c.arg("-s")
                    .arg(&self.settings)
                    .arg("-c")
                    .arg(args.join(" "));
                c
            }
        }
    }

    /// Run the client in `mode` on `side`.
    fn client(&self, side: Side, mode: &str, port: u16, n: usize) -> Outcome {
        // srt-runc: a name from the policy's `resolve` (a loopback answer, allowed
        // because the literal 127.0.0.1:PORT is allowed too); srt: the literal.
        let host = match side {
            Side::SrtRunc => "bench.test",
            _ => "127.0.0.1",
        };
        let args = vec![
            self.exe.display().to_string(),
            CLIENT.into(),
            mode.into(),
            format!("{host}:{port}"),
            n.to_string(),
            if side == Side::Direct {
                "direct"
            } else {
                "proxy"
            }
            .into(),
        ];
        run(self.command(side, &args))
    }
}

/// The client's numbers, or the failure recorded for the report.
fn note(failures: &mut Vec<String>, side: Side, what: &str, o: &Outcome) -> Option<Vec<f64>> {
    match &o.result {
        Ok(v) => Some(v.clone()),
        Err(e) => {
            let name = ["direct", "srt-runc", "srt"][side as usize];
            failures.push(format!("{name} {what}: {e}"));
            None
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        return f64::NAN;
    }
    s[s.len() / 2]
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        return f64::NAN;
    }
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn raise_nofile() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
    }
}

fn write_blob(path: &Path) {
    if std::fs::metadata(path).map(|m| m.len()).ok() == Some(BLOB) {
        return;
    }
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 + 13) as u8).collect();
    let mut f = std::fs::File::create(path).unwrap();
    for _ in 0..BLOB >> 20 {
        f.write_all(&chunk).unwrap();
    }
}

/// srt's version if it runs at all, else why not.
fn srt_check(srt: &Path) -> Result<String, String> {
    if !srt.exists() {
        return Err(format!(
            "{} missing (make bench-deps installs it: npm install --prefix /opt/srt-anchor @anthropic-ai/sandbox-runtime@0.0.83)",
            srt.display()
        ));
    }
    let out = Command::new(srt)
        .arg("--version")
        .output()
        .map_err(|e| format!("{}: {e}", srt.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CLIENT) {
        client(&args[2..]);
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` does not, and must not
    // spend minutes here.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    raise_nofile();
    let out = root_dir().join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let srt_runc = PathBuf::from(env!("CARGO_BIN_EXE_srt-runc"));
    let srt_path = PathBuf::from(std::env::var("SRT_BIN").unwrap_or(SRT_DEFAULT.into()));
    let srt_status = srt_check(&srt_path);
    let blob = out.join("net-blob");
    write_blob(&blob);
    let settings = out.join("net-srt-settings.json");
    std::fs::write(
        &settings,
        serde_json::to_vec_pretty(&serde_json::json!({
            "network": {"allowedDomains": ["localhost", "127.0.0.1"], "deniedDomains": []},
            "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}
        }))
        .unwrap(),
    )
    .unwrap();
    let env = Env {
        exe: std::env::current_exe().unwrap(),
        srt_runc,
        srt: srt_status.is_ok().then(|| srt_path.clone()),
        bundle: out.join("net-bundle"),
        settings,
        bulk: bulk_server(blob),
        echo: echo_server(),
    };
    let mut sides = vec![Side::Direct, Side::SrtRunc];
    if env.srt.is_some() {
        sides.push(Side::Srt);
    }
    let idx = |s: Side| sides.iter().position(|&x| x == s);
    let mut failures: Vec<String> = Vec::new();

    // 1 + 3. Bulk transfer, alternating; peak RSS of supervisor / node.
    eprintln!("net bench: bulk {BULK_ROUNDS} rounds x 256 MiB");
    let mut mibs: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    let mut hwm = vec![0u64; sides.len()];
    let relay = reference_relay(env.bulk);
    let mut relay_mibs = Vec::new();
    let mut sr_cpu = Duration::ZERO;
    let mut sr_busy = 0.0;
    env.client(Side::Direct, "bulk", env.bulk.port(), 0); // warm the page cache
    for _ in 0..BULK_ROUNDS {
        if let Ok(v) = env.client_at("bulk", relay).result {
            relay_mibs.push(v[0] / (1 << 20) as f64 / v[1]);
        }
        for (k, &side) in sides.iter().enumerate() {
            let o = env.client(side, "bulk", env.bulk.port(), 0);
            hwm[k] = hwm[k].max(o.hwm_kib);
            if let Some(v) = note(&mut failures, side, "bulk", &o) {
                if v.len() == 2 && v[0] as u64 == TOTAL {
                    mibs[k].push(v[0] / (1 << 20) as f64 / v[1]);
                    if side == Side::SrtRunc {
                        sr_cpu += o.cpu;
                        sr_busy += v[1];
                    }
                } else {
                    failures.push(format!(
                        "{} bulk: short transfer (bytes, seconds) {v:?}",
                        ["direct", "srt-runc", "srt"][side as usize]
                    ));
                }
            }
        }
    }

    // 2. Latency per new tunnel.
    eprintln!("net bench: {RTT_ROUNDS} rounds x {RTT_N} sequential tunnels");
    let mut rtt: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    for _ in 0..RTT_ROUNDS {
        for (k, &side) in sides.iter().enumerate() {
            let o = env.client(side, "rtt", env.echo.port(), RTT_N);
            if let Some(v) = note(&mut failures, side, "rtt", &o) {
                rtt[k].extend(v.iter().map(|s| s * 1e3));
            }
        }
    }

    // 5. Concurrent tunnels (srt once, for comparison: it is slow to start).
    eprintln!("net bench: {CONC} concurrent tunnels");
    let mut conc: Vec<Vec<(f64, f64)>> = vec![Vec::new(); sides.len()];
    let mut conc_hwm = 0;
    for round in 0..CONC_ROUNDS {
        for (k, &side) in sides.iter().enumerate() {
            if side == Side::Srt && round > 0 {
                continue;
            }
            let o = env.client(side, "conc", env.echo.port(), CONC);
            if side == Side::SrtRunc {
                conc_hwm = conc_hwm.max(o.hwm_kib);
            }
            if let Some(v) = note(&mut failures, side, "conc", &o) {
                conc[k].push((v[0], v[1]));
            }
        }
    }

    // 4. Start: /bin/true with a network policy.
    eprintln!("net bench: start of /bin/true with a network policy, {START_RUNS} runs each");
    let mut start: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    let true_args = vec!["/bin/true".to_string()];
    for i in 0..START_RUNS + 2 {
        for (k, &side) in sides.iter().enumerate() {
            if side == Side::Direct {
                continue;
            }
            let mut c = env.command(side, &true_args);
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let t = Instant::now();
            let st = c.status().expect("spawn");
            let d = t.elapsed().as_secs_f64() * 1e3;
            if !st.success() {
                failures.push(format!("start {k}: {st}"));
            } else if i >= 2 {
                start[k].push(d);
            }
        }
    }

    // Report.
    let sr = idx(Side::SrtRunc).unwrap();
    let srt = idx(Side::Srt);
    let srt_name = match &srt_status {
        Ok(v) => format!("srt {v}"),
        Err(_) => "srt".to_string(),
    };
    let na = |what: &str| match &srt_status {
        Ok(_) => format!("{what}: failed"),
        Err(_) => "**NOT MEASURED: srt missing**".to_string(),
    };
    let m_direct = median(&mibs[0]);
    let m_sr = median(&mibs[sr]);
    let m_srt = srt.map(|k| median(&mibs[k])).unwrap_or(f64::NAN);
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    let mut t = String::new();
    t.push_str(&format!(
        "network benchmarks on {}; client = this bench binary inside the sandbox; rounds alternate direct / srt-runc / {srt_name} (other builds may have been running)\n\n",
        report::machine()
    ));
    if let Err(e) = &srt_status {
        t.push_str(&format!("**srt NOT MEASURED: {e}**\n\n"));
    }
    t.push_str("| # | measure | srt-runc | direct | srt | ratio | target | met |\n|---|---|---|---|---|---|---|---|\n");
    let srt_cell = |v: f64, f: &dyn Fn(f64) -> String| {
        if srt.is_some() && v.is_finite() {
            f(v)
        } else {
            na("srt")
        }
    };
    // 1.
    t.push_str(&format!(
        "| 1a | 256 MiB through a CONNECT tunnel, median of {BULK_ROUNDS} | {m_sr:.0} MiB/s | {m_direct:.0} MiB/s | | {:.2}x direct | ≥ 0.8x | {} |\n",
        m_sr / m_direct,
        yes(m_sr / m_direct >= 0.8)
    ));
    t.push_str(&format!(
        "| 1b | same, against srt's proxy | {m_sr:.0} MiB/s | | {} | {} | ≥ 2x | {} |\n",
        srt_cell(m_srt, &|v| format!("{v:.0} MiB/s")),
        srt_cell(m_sr / m_srt, &|v| format!("{v:.1}x srt")),
        if m_srt.is_finite() {
            yes(m_sr / m_srt >= 2.0)
        } else {
            "**not measured**"
        }
    ));
    // 2.
    let (d50, d99) = (median(&rtt[0]), pct(&rtt[0], 0.99));
    let (s50, s99) = (median(&rtt[sr]), pct(&rtt[sr], 0.99));
    let (t50, t99) = srt
        .map(|k| (median(&rtt[k]), pct(&rtt[k], 0.99)))
        .unwrap_or((f64::NAN, f64::NAN));
    t.push_str(&format!(
        "| 2 | new tunnel + 1-byte round trip, {} x {RTT_N} sequential, p50 / p99 | {s50:.3} / {s99:.3} ms (+{:.3} / +{:.3}) | {d50:.3} / {d99:.3} ms | {} | added p50 {:.3} ms vs srt's {} | (report) | — |\n",
        RTT_ROUNDS,
        s50 - d50,
        s99 - d99,
        srt_cell(t50, &|v| format!("{v:.3} / {t99:.3} ms (+{:.3} / +{:.3})", v - d50, t99 - d99)),
        s50 - d50,
        srt_cell(t50 - d50, &|v| format!("{v:.3} ms")),
    ));
    // 3.
    let rss = hwm[sr] as f64 / 1024.0;
    let node_rss = srt.map(|k| hwm[k] as f64 / 1024.0).unwrap_or(f64::NAN);
    t.push_str(&format!(
        "| 3 | peak RSS during the transfer (VmHWM: srt-runc supervisor + proxy; srt: node) | {rss:.1} MiB | | {} | {} | ≤ 12 MiB | {} |\n",
        srt_cell(node_rss, &|v| format!("{v:.1} MiB")),
        srt_cell(node_rss / rss, &|v| format!("{v:.1}x smaller")),
        yes(rss <= 12.0)
    ));
    // 4.
    let st_sr = median(&start[sr]);
    let st_srt = srt.map(|k| median(&start[k])).unwrap_or(f64::NAN);
    t.push_str(&format!(
        "| 4 | run /bin/true with a network policy, median of {START_RUNS} | {st_sr:.2} ms | | {} | {} | ≥ 50x | {} |\n",
        srt_cell(st_srt, &|v| format!("{v:.1} ms")),
        srt_cell(st_srt / st_sr, &|v| format!("{v:.0}x faster")),
        if st_srt.is_finite() { yes(st_srt / st_sr >= 50.0) } else { "**not measured**" }
    ));
    // 5.
    let conc_cell = |k: usize| {
        let v = &conc[k];
        if v.is_empty() {
            return "failed".to_string();
        }
        let ok = v.iter().map(|x| x.0 as usize).min().unwrap();
        let times: Vec<f64> = v.iter().map(|x| x.1).collect();
        format!("{ok}/{CONC} ok, {:.2} s", median(&times))
    };
    let conc_ok = conc[sr].len() == CONC_ROUNDS && conc[sr].iter().all(|x| x.0 as usize == CONC);
    t.push_str(&format!(
        "| 5 | {CONC} concurrent tunnels, each open + 1-byte round trip, all held open at once (median of {CONC_ROUNDS}; srt once) | {} | {} | {} | | all succeed | {} |\n",
        conc_cell(sr),
        conc_cell(0),
        srt.map(conc_cell).unwrap_or_else(|| na("srt")),
        yes(conc_ok)
    ));
    t.push_str(&format!(
        "\nContext for 1a: a naive host-side relay (two blocking threads per connection, no sandbox, no policy) reaches {:.0} MiB/s ({:.2}x direct) here; the srt-runc supervisor (proxy thread included) used {:.0}% of one core while tunnelling (CPU time / transfer time). The upstream sends with sendfile, so on 2 cores the proxied path has three busy parties (upstream, proxy, client) against two for direct.\n",
        median(&relay_mibs),
        median(&relay_mibs) / m_direct,
        sr_cpu.as_secs_f64() / sr_busy * 100.0
    ));
    t.push_str(&format!(
        "\nsrt-runc supervisor peak RSS after the {CONC}-tunnel runs: {:.1} MiB.\n",
        conc_hwm as f64 / 1024.0
    ));
    t.push_str("\nper-round bulk throughput (MiB/s):\n\n| side | rounds |\n|---|---|\n");
    for (k, &side) in sides.iter().enumerate() {
        let name = ["direct", "srt-runc", "srt"][side as usize];
        let r: Vec<String> = mibs[k].iter().map(|v| format!("{v:.0}")).collect();
        t.push_str(&format!("| {name} | {} |\n", r.join(", ")));
    }
    let r: Vec<String> = relay_mibs.iter().map(|v| format!("{v:.0}")).collect();
    t.push_str(&format!("| naive host relay | {} |\n", r.join(", ")));
    if !failures.is_empty() {
        t.push_str("\n**failures:**\n\n");
        for f in &failures {
            t.push_str(&format!("- {f}\n"));
        }
    }
    print!("{t}");
    std::fs::write(out.join("net.md"), &t).unwrap();
    let mut scores = vec![
        Score {
            label: "net: tunnel / direct throughput".into(),
            value: m_sr / m_direct,
            target: 0.8,
            higher_is_better: true,
            unit: "x".into(),
        },
        Score {
            label: "net: peak RSS supervisor + proxy".into(),
            value: rss,
            target: 12.0,
            higher_is_better: false,
            unit: "MiB".into(),
        },
    ];
    if srt.is_some() {
        scores.insert(
            1,
            Score {
                label: "net: tunnel throughput / srt".into(),
                value: m_sr / m_srt,
                target: 2.0,
                higher_is_better: true,
                unit: "x".into(),
            },
        );
        scores.push(Score {
            label: "net: srt start / srt-runc start".into(),
            value: st_srt / st_sr,
            target: 50.0,
            higher_is_better: true,
            unit: "x".into(),
        });
    }
    report::write_scores(&out, "net", &scores);
    report::combine(&out);
    println!(
        "\nwritten to {}, {} and {}",
        out.join("net.md").display(),
        out.join("results.md").display(),
        out.join("chart.svg").display()
    );
}
