//! Bidirectional byte relaying for established tunnels.
//!
//! On Linux the bytes move socket → pipe → socket with `splice(2)`, so they
//! never enter user space: that keeps throughput close to a direct loopback
//! connection and memory flat no matter how many tunnels are open (no
//! per-tunnel user buffers). Where splice is unavailable it falls back to a
//! small buffered copy. EOF in one direction is propagated as a write
//! shutdown of the other side (TCP half-close), so request/response
//! protocols that signal "done" by closing keep working.

use std::io;
use std::os::fd::AsRawFd;
#[cfg(target_os = "linux")]
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(target_os = "linux")]
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Pipe size asked for per direction. Larger pipes mean fewer syscalls;
/// the kernel may refuse (per-user pipe page limits) and then the default
/// size is used.
#[cfg(target_os = "linux")]
const PIPE_SIZE: i32 = 1024 * 1024;

/// Fallback copy buffer, kept small because it is per tunnel direction.
const COPY_BUF: usize = 16 * 1024;

/// Byte counts of a finished relay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Relayed {
    /// Client → upstream.
    pub up: u64,
    /// Upstream → client.
    pub down: u64,
}

/// Relay between `client` and `upstream` until both directions have seen
/// EOF or either side fails. `preface` (bytes the client sent before the
/// tunnel was set up, e.g. read along with the CONNECT head) goes upstream
/// first.
pub async fn relay(client: TcpStream, upstream: TcpStream, preface: &[u8]) -> Relayed {
    let up = AtomicU64::new(0);
    let down = AtomicU64::new(0);
    if !preface.is_empty() {
        if write_all(&upstream, preface).await.is_err() {
            return Relayed::default();
        }
        up.store(preface.len() as u64, Ordering::Relaxed);
    }
    let a = pump(&client, &upstream, &up);
    let b = pump(&upstream, &client, &down);
    tokio::pin!(a, b);
    let (mut a_done, mut b_done) = (false, false);
    while !(a_done && b_done) {
        let failed = tokio::select! {
            r = &mut a, if !a_done => { a_done = true; r.is_err() }
            r = &mut b, if !b_done => { b_done = true; r.is_err() }
        };
        if failed {
            break;
        }
    }
    Relayed {
        up: up.load(Ordering::Relaxed),
        down: down.load(Ordering::Relaxed),
    }
}

/// Move bytes from `src` to `dst` until EOF, then half-close `dst`.
async fn pump(src: &TcpStream, dst: &TcpStream, count: &AtomicU64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    splice_loop(src, dst, count).await?;
    #[cfg(not(target_os = "linux"))]
    copy_loop(src, dst, count).await?;
    shutdown_write(dst);
    Ok(())
}

/// A pipe used as the in-kernel buffer between two sockets.
#[cfg(target_os = "linux")]
struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
}

#[cfg(target_os = "linux")]
thread_local! {
    /// Idle pipes, reused across bursts and tunnels. A tunnel holds a pipe
    /// only while bytes are in flight, so thousands of idle tunnels cost no
    /// pipes (pipe pages count against a per-user kernel limit shared with
    /// every other process of the same user).
    static POOL: std::cell::RefCell<Vec<Pipe>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most idle pipes kept per thread.
pub const POOL_MAX: usize = 8;

#[cfg(target_os = "linux")]
fn take_pipe() -> Option<Pipe> {
    if let Some(p) = POOL.with(|p| p.borrow_mut().pop()) {
        return Some(p);
    }
    use nix::fcntl::OFlag;
    let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).ok()?;
    // SAFETY: plain fcntl on an fd we own; refusal (per-user pipe page
    // limits) leaves the default size, which is fine.
    unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    Some(Pipe { r, w })
}

/// Return an *empty* pipe to the pool.
#[cfg(target_os = "linux")]
fn put_pipe(p: Pipe) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_MAX {
            pool.push(p);
        }
    });
}

#[cfg(target_os = "linux")]
fn splice(from: RawFd, to: RawFd, len: usize, more: bool) -> io::Result<usize> {
    let mut flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    if more {
        flags |= libc::SPLICE_F_MORE;
    }
    // SAFETY: both fds are open for the duration of the call; null offsets
    // are required for pipes and sockets.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            flags,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(target_os = "linux")]
/// Result of one burst of splicing.
enum Burst {
    /// Source has no more data for now.
    Drained,
    /// Source reached EOF.
    Eof,
    /// splice is not usable for these fds.
    Unsupported,
}

#[cfg(target_os = "linux")]
async fn splice_loop(src: &TcpStream, dst: &TcpStream, count: &AtomicU64) -> io::Result<()> {
    loop {
        src.readable().await?;
        let Some(pipe) = take_pipe() else {
            return copy_loop(src, dst, count).await;
        };
        let burst = splice_burst(src, dst, &pipe, count).await;
        // The pipe is empty unless the burst failed mid-way; only empty
        // pipes go back to the pool.
        match burst {
            Ok(Burst::Drained) => put_pipe(pipe),
            Ok(Burst::Eof) => {
                put_pipe(pipe);
                return Ok(());
            }
            Ok(Burst::Unsupported) => return copy_loop(src, dst, count).await,
            Err(e) => return Err(e),
        }
    }
}

/// Splice while the source has data; the pipe is empty on `Ok` return.
#[cfg(target_os = "linux")]
async fn splice_burst(
    src: &TcpStream,
    dst: &TcpStream,
    pipe: &Pipe,
    count: &AtomicU64,
) -> io::Result<Burst> {
    let chunk = PIPE_SIZE as usize;
    let mut corked = false;
    loop {
        // The pipe is empty here, so EAGAIN can only mean "socket empty".
        let n = src.try_io(Interest::READABLE, || {
            splice(src.as_raw_fd(), pipe.w.as_raw_fd(), chunk, false)
        });
        let mut in_pipe = match n {
            Ok(0) => return Ok(Burst::Eof),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if corked {
                    push_pending(dst);
                }
                return Ok(Burst::Drained);
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(Burst::Unsupported),
            Err(e) => return Err(e),
        };
        // A full chunk suggests more is queued: let TCP coalesce segments.
        let more = in_pipe == chunk;
        corked = more;
        // The pipe holds data here, so EAGAIN can only mean "socket full".
        while in_pipe > 0 {
            let n = dst
                .async_io(Interest::WRITABLE, || {
                    splice(pipe.r.as_raw_fd(), dst.as_raw_fd(), in_pipe, more)
                })
                .await?;
            in_pipe -= n;
            count.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

async fn copy_loop(src: &TcpStream, dst: &TcpStream, count: &AtomicU64) -> io::Result<()> {
    let mut buf = vec![0u8; COPY_BUF];
    loop {
        src.readable().await?;
        let n = match src.try_read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        write_all(dst, &buf[..n]).await?;
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
}

async fn write_all(dst: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        dst.writable().await?;
        match dst.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Flush segments held back by `SPLICE_F_MORE` once the burst is over, so
/// request/response traffic never waits for the kernel's cork timer:
/// (re)setting TCP_NODELAY pushes pending frames.
#[cfg(target_os = "linux")]
fn push_pending(s: &TcpStream) {
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a valid pointer and length on a live socket.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

fn shutdown_write(s: &TcpStream) {
    // SAFETY: shutdown on a socket we borrow; errors (already closed) are
    // irrelevant at this point.
    unsafe { libc::shutdown(s.as_raw_fd(), libc::SHUT_WR) };
}
