//! The supervisor ⇄ init channel: a `SOCK_SEQPACKET` socketpair (message boundaries
//! kept, fds passed with SCM_RIGHTS). It never touches the filesystem.
//!
//! Messages, first byte is the tag:
//! - `G` supervisor → init: the id maps are written, go on.
//! - `R` init → supervisor: setup done, the command is about to run.
//! - `F` init → supervisor: setup failed; byte 1 is the exit status, the rest the message.
//! - `L` init → supervisor: proxy listener fds created inside the sandbox's netns.
//! - `C` init → supervisor: the pty master opened in the container's own devpts; the
//!   rest is the slave's path as the container sees it.
//! - `P` init → supervisor: setup done (foreground run); the rest is the enforcement
//!   report as JSON. The init then waits for `G` before it starts the command, so a
//!   report that misses the caller's floor stops the run before anything runs.

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One end of the channel.
pub struct Channel(pub OwnedFd);

/// A decoded message.
#[derive(Debug)]
pub enum Msg {
    Go,
    Ready,
    Fail {
        code: i32,
        message: String,
    },
    Listeners(Vec<OwnedFd>),
    /// The pty master and the slave's path inside the container (`process.terminal`).
    Console(OwnedFd, String),
    /// The enforcement report, as JSON.
    Report(Vec<u8>),
    /// The peer closed the channel (exited or died).
    Closed,
}

/// Creates the pair: (supervisor end, init end). Both are close-on-exec.
pub fn pair() -> std::io::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    pub fn send(&self, msg: &Msg) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut fds: Vec<RawFd> = Vec::new();
        match msg {
            Msg::Go => buf.push(b'G'),
            Msg::Ready => buf.push(b'R'),
            Msg::Fail { code, message } => {
                buf.push(b'F');
                buf.push(*code as u8);
                buf.extend_from_slice(message.as_bytes());
            }
            Msg::Report(json) => {
                buf.push(b'P');
                buf.extend_from_slice(json);
            }
            Msg::Listeners(l) => {
                buf.push(b'L');
                fds.extend(l.iter().map(|f| f.as_raw_fd()));
            }
            Msg::Console(master, slave) => {
                buf.push(b'C');
                buf.extend_from_slice(slave.as_bytes());
                fds.push(master.as_raw_fd());
            }
            Msg::Closed => return Ok(()),
        }
        let iov = [IoSlice::new(&buf)];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(
                self.0.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => return r.map(|_| ()).map_err(Into::into),
            }
        }
    }

    pub fn recv(&self) -> std::io::Result<Msg> {
        let mut buf = vec![0u8; 16384];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 8]);
        let (n, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(m) => {
                    let mut fds = Vec::new();
                    for c in m.cmsgs()? {
                        if let ControlMessageOwned::ScmRights(v) = c {
                            fds.extend(v.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                        }
                    }
                    break (m.bytes, fds);
                }
            }
        };
        if n == 0 {
            return Ok(Msg::Closed);
        }
        Ok(match buf[0] {
            b'G' => Msg::Go,
            b'R' => Msg::Ready,
            b'F' => Msg::Fail {
                code: buf.get(1).copied().unwrap_or(125) as i32,
                message: String::from_utf8_lossy(&buf[2.min(n)..n]).into_owned(),
            },
            b'L' => Msg::Listeners(fds),
            b'C' => match fds.into_iter().next() {
                Some(master) => {
                    Msg::Console(master, String::from_utf8_lossy(&buf[1..n]).into_owned())
                }
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "console message without the pty master",
                    ))
                }
            },
            b'P' => Msg::Report(buf[1..n].to_vec()),
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unexpected sync message {other:#x}"),
                ))
            }
        })
    }
}
