//! Throughput and memory benchmark (not a timed test: run it explicitly
//! with `cargo test --release --test proxy_bench -- --ignored --nocapture`).
//!
//! Moves 256 MiB over direct loopback and through a CONNECT tunnel and
//! prints the ratio (target ≥ 0.8), then reports the proxy process's peak
//! RSS (target ≤ 12 MiB) — the proxy runs in a child process (this test
//! binary re-executed) so the client's buffers are not counted.

mod proxy_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proxy_support::*;

const TOTAL: usize = 256 << 20;
const CHILD_ENV: &str = "SRT_PROXY_BENCH_CHILD";

/// Sink: read everything, then answer one byte.
fn sink() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                let mut got = 0;
                while got < TOTAL {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                let _ = s.write_all(b"k");
            });
        }
    });
    addr
}

fn blast(mut s: TcpStream) -> Duration {
    let chunk = vec![0x5au8; 1 << 20];
    let t0 = Instant::now();
    for _ in 0..TOTAL / chunk.len() {
        s.write_all(&chunk).unwrap();
    }
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).unwrap();
    t0.elapsed()
}

fn mib_s(d: Duration) -> f64 {
    (TOTAL as f64 / (1 << 20) as f64) / d.as_secs_f64()
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Reference relay: two blocking threads per connection (what a naive
/// relay achieves here), to separate machine limits from proxy overhead.
fn reference_relay(target: SocketAddr) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            let u = TcpStream::connect(target).unwrap();
            let (mut c2, mut u2) = (c.try_clone().unwrap(), u.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut u2);
                let _ = u2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let (mut u, mut c) = (u, c);
                let _ = std::io::copy(&mut u, &mut c);
            });
        }
    });
    addr
}

/// utime + stime of a process, in clock ticks (100 Hz on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// Child mode: serve a proxy, print its address, exit when stdin closes.
#[test]
#[ignore]
fn bench_child_proxy() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let p = start(&["127.0.0.1"], &[], |_| {});
    println!("ADDR {}", p.addr);
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
    p.handle.shutdown();
}

#[test]
#[ignore]
fn bench_connect_tunnel_throughput_and_rss() {
    let target = sink();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bench_child_proxy",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let addr: SocketAddr = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited");
        // The harness may print "test name ... " on the same line first.
        if let Some((_, a)) = line.trim().split_once("ADDR ") {
            break a.trim().parse().unwrap();
        }
    };
    let idle_kib = vm_hwm_kib(child.id());

    // Interleave rounds and keep each path's best, so load from other
    // processes on the machine skews both sides alike.
    let reference_addr = reference_relay(target);
    let (mut direct, mut tunnel, mut reference) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut busy = Duration::ZERO;
    let mut cpu = 0;
    for _ in 0..5 {
        direct = direct.min(blast(TcpStream::connect(target).unwrap()));
        let (s, r) = http_connect(addr, &target.to_string());
        assert_eq!(r.status, 200);
        let cpu0 = cpu_ticks(child.id());
        let t = blast(s);
        cpu += cpu_ticks(child.id()) - cpu0;
        busy += t;
        tunnel = tunnel.min(t);
        reference = reference.min(blast(TcpStream::connect(reference_addr).unwrap()));
    }
    let cpu_pct = cpu as f64 / 100.0 / busy.as_secs_f64() * 100.0;
    // 200 concurrent idle tunnels to see per-tunnel memory.
    let held: Vec<_> = (0..200)
        .map(|_| http_connect(addr, &target.to_string()).0)
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let peak_kib = vm_hwm_kib(child.id());
    drop(held);

    println!(
        "direct {:.0} MiB/s, tunnel {:.0} MiB/s, ratio {:.2} (target >= 0.80)",
        mib_s(direct),
        mib_s(tunnel),
        direct.as_secs_f64() / tunnel.as_secs_f64()
    );
    println!(
        "reference blocking relay {:.0} MiB/s, ratio {:.2}",
        mib_s(reference),
        direct.as_secs_f64() / reference.as_secs_f64()
    );
    println!("proxy CPU while tunnelling: {cpu_pct:.0}% of one core");
    println!(
        "proxy child peak RSS: idle {:.1} MiB, after 256 MiB x3 + 200 tunnels {:.1} MiB (target <= 12; includes the test harness)",
        idle_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
