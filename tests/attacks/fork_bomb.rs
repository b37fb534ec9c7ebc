//! Fork until refused (capped at ATK_FORK_MAX children, all killed afterwards): the
//! process limit must stop it well before the cap.
use super::*;

pub fn run() -> Outcome {
    let max: usize = target("FORK_MAX").parse().unwrap_or(256);
    let mut kids = Vec::new();
    let mut stop = String::new();
    for _ in 0..max {
        let p = unsafe { libc::fork() };
        if p == 0 {
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                loop {
                    libc::pause();
                }
            }
        }
        if p < 0 {
            stop = errno();
            break;
        }
        kids.push(p);
    }
    let n = kids.len();
    for k in kids {
        unsafe {
            libc::kill(k, libc::SIGKILL);
            libc::waitpid(k, std::ptr::null_mut(), 0);
        }
    }
    if n == max {
        Outcome::Escaped(format!("forked {n} processes without hitting a limit"))
    } else {
        Outcome::Blocked(format!("fork #{} refused: {stop}", n + 1))
    }
}
