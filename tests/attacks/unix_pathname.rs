//! Connect to a host unix socket by its path (the docker.sock / ssh-agent class).
use super::*;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

pub fn run() -> Outcome {
    let path = target("UNIX_PATH");
    match UnixStream::connect(&path) {
        Err(e) => Outcome::Blocked(format!(
            "connect {path}: {}",
            errname(e.raw_os_error().unwrap_or(0))
        )),
        Ok(s) => match greeting(s.as_raw_fd()) {
            Some(g) if g.contains(HELLO) => {
                Outcome::Escaped(format!("talked to the host socket {path}"))
            }
            _ => Outcome::Blocked("connected, but not to the host's listener".into()),
        },
    }
}
