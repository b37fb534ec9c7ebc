//! `--console-socket`: hand the pty master to the caller (runc's protocol).
//!
//! One `sendmsg` on the connected `SOCK_STREAM` socket whose data is the slave's path and
//! whose only control message is `SCM_RIGHTS` with exactly one fd: conmon's `recvfd()`
//! checks `cmsg_len == CMSG_LEN(sizeof(int))` and go-runc's `recvFd` checks for exactly
//! one fd in one message, so nothing else may travel with it.

use super::OciError;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Connects to the caller's console socket (before anything is set up, so a bad path
/// fails `create` early). The peer need not have called `accept` yet.
pub fn connect(path: &Path) -> Result<UnixStream, OciError> {
    UnixStream::connect(path).map_err(|e| {
        OciError::io(
            format!("connecting to console socket {}", path.display()),
            e,
        )
    })
}

/// Sends `master` with the slave's path as the message data.
pub fn send_master(sock: &UnixStream, master: &OwnedFd, slave: &Path) -> Result<(), OciError> {
    let data = slave.as_os_str().as_bytes();
    let iov = [IoSlice::new(data)];
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(OciError::io(
                    "sending the pty master to the console socket",
                    e,
                ))
            }
            Ok(_) => return Ok(()),
        }
    }
}
