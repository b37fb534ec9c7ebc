//! 1000 concurrent tunnels all succeed and every fd is released afterwards.
//! Kept alone in its own test binary so no other test disturbs the fd count.

mod proxy_support;

use std::time::Duration;

use proxy_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TUNNELS: usize = 1000;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Each tunnel costs the test process several fds (client, proxy's two
/// sockets, upstream's accepted socket, pipes), so lift the soft limit.
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

/// Tokio echo server (threads would be too many for 1000 connections).
async fn tokio_echo() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    (addr, task)
}

async fn one_tunnel(proxy: std::net::SocketAddr, target: std::net::SocketAddr, i: usize) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(proxy).await else {
        return false;
    };
    let head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    if s.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if s.read_exact(&mut b).await.is_err() {
            return false;
        }
        got.push(b[0]);
    }
    if !got.starts_with(b"HTTP/1.1 200") {
        return false;
    }
    let msg = format!("tunnel {i} payload");
    if s.write_all(msg.as_bytes()).await.is_err() {
        return false;
    }
    let mut back = vec![0u8; msg.len()];
    if s.read_exact(&mut back).await.is_err() {
        return false;
    }
    // Hold the tunnel open a moment so they really are concurrent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    back == msg.as_bytes()
}

#[test]
fn thousand_concurrent_tunnels_and_fds_return_to_baseline() {
    raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (echo, echo_task) = rt.block_on(tokio_echo());
    let before_proxy = open_fds();
    let p = start(&["127.0.0.1"], &[], |_| {});
    // Warm up once so lazily created runtime fds are in the baseline.
    assert!(rt.block_on(one_tunnel(p.addr, echo, 0)));
    std::thread::sleep(Duration::from_millis(300));
    let baseline = open_fds();

    let ok = rt.block_on(async {
        let tasks: Vec<_> = (0..TUNNELS)
            .map(|i| tokio::spawn(one_tunnel(p.addr, echo, i)))
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap());
        }
        ok
    });
    assert_eq!(ok, TUNNELS, "not every tunnel succeeded");

    // Client sockets are closed; the proxy and echo server notice EOF.
    // The proxy may keep up to POOL_MAX idle splice pipes (2 fds each).
    let allowance = 2 * srt_runc::proxy::tunnel::POOL_MAX;
    let mut now = open_fds();
    for _ in 0..100 {
        if now <= baseline + allowance {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        now = open_fds();
    }
    assert!(
        now <= baseline + allowance,
        "fd leak: baseline {baseline}, now {now}"
    );
    p.handle.shutdown();
    let after = open_fds();
    assert!(
        after <= before_proxy,
        "fds after shutdown {after} > before the proxy {before_proxy}"
    );
    echo_task.abort();
}
