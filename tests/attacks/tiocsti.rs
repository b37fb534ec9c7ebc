//! Push a character into the caller's terminal input with TIOCSTI (stdin is a pty the
//! runner owns, standing in for the user's terminal).
use super::*;

pub fn run() -> Outcome {
    if unsafe { libc::isatty(0) } != 1 {
        return Outcome::Blocked(format!("stdin is not the caller's terminal: {}", errno()));
    }
    let c = b'#';
    if unsafe { libc::ioctl(0, libc::TIOCSTI, &c as *const u8) } == 0 {
        Outcome::Escaped("injected input into the caller's terminal".into())
    } else {
        blocked("ioctl(TIOCSTI)")
    }
}
