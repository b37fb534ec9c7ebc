//! `srt-runc connect HOST PORT`: an ssh `ProxyCommand` that tunnels
//! through the sandbox proxy with HTTP CONNECT, so `git` over ssh works
//! inside the sandbox without `nc` or `socat`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use super::host::canonical_host;

/// Longest CONNECT response head accepted from the proxy.
const MAX_HEAD: usize = 16 * 1024;

/// Open a tunnel to `host:port` through the proxy at `proxy`, then relay
/// stdin → tunnel and tunnel → stdout until both directions are closed.
///
/// The host is validated first: a name carrying CR/LF could otherwise
/// inject headers into the CONNECT request.
pub fn connect_stdio(proxy: SocketAddr, host: &str, port: u16) -> io::Result<()> {
    connect_io(proxy, host, port, io::stdin(), &mut io::stdout().lock())
}

/// [`connect_stdio`] over any reader/writer pair (testable, embeddable):
/// `input` is sent into the tunnel on a helper thread, the tunnel's bytes
/// are written to `output`; returns when both directions are closed.
pub fn connect_io<R, W>(
    proxy: SocketAddr,
    host: &str,
    port: u16,
    mut input: R,
    output: &mut W,
) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    let host = canonical_host(host)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host:?}: {e}")))?;
    if port == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "port 0 is not connectable",
        ));
    }
    let mut sock = TcpStream::connect(proxy)?;
    sock.set_nodelay(true)?;
    let target = host.authority(port);
    write!(sock, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")?;
    let status = read_head(&mut sock)?;
    if status != 200 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("proxy refused CONNECT {target} with status {status}"),
        ));
    }
    let mut up_sock = sock.try_clone()?;
    let uploader = std::thread::spawn(move || -> io::Result<()> {
        io::copy(&mut input, &mut up_sock)?;
        up_sock.shutdown(Shutdown::Write)
    });
    let down = copy_flushing(&mut sock, output);
    // When the remote side is done, waiting for stdin EOF is still right:
    // ssh closes our stdin when it is finished.
    let up = uploader
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("stdin relay panicked")));
    down.and(up)
}

/// Copy until EOF, flushing after every chunk: stdout is line-buffered, so
/// with a plain `io::copy` binary bytes after the last `\n` would wait in
/// the buffer and the ssh handshake would stall.
fn copy_flushing<R: Read, W: Write>(from: &mut R, to: &mut W) -> io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return to.flush(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

/// Read the response head byte by byte (so no tunnel bytes are consumed)
/// and return the status code.
fn read_head(sock: &mut TcpStream) -> io::Result<u16> {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "proxy response head too large",
            ));
        }
        if sock.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "proxy closed before answering",
            ));
        }
        head.push(byte[0]);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|c| c.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad proxy response: {line}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `data` once, then fails like a tunnel that is still open but idle.
    struct ThenStall(Option<&'static [u8]>);

    impl Read for ThenStall {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.take() {
                Some(d) => {
                    buf[..d.len()].copy_from_slice(d);
                    Ok(d.len())
                }
                None => Err(io::Error::from(io::ErrorKind::TimedOut)),
            }
        }
    }

    #[test]
    fn bytes_after_the_last_newline_reach_a_line_buffered_output() {
        let mut out = io::LineWriter::new(Vec::new());
        let r = copy_flushing(
            &mut ThenStall(Some(b"SSH-2.0-x\r\n\x00\x01binary")),
            &mut out,
        );
        assert!(r.is_err());
        assert_eq!(out.get_ref().as_slice(), b"SSH-2.0-x\r\n\x00\x01binary");
    }
}
