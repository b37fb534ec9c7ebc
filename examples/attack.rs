//! The attack binary of the attack suite (`tests/attack.rs`): `attack TECHNIQUE` runs
//! one technique from `tests/attacks/` and prints exactly one line, `ESCAPED <how>` or
//! `BLOCKED <what stopped it>`, exiting 1 or 0 accordingly.
//!
//! The technique runs in a forked child, so a technique the seccomp filter answers by
//! killing the process reads as `BLOCKED killed by signal N` instead of as silence.
//!
//! Helper roles for the runner: `attack --list` (name and control user per technique),
//! `attack victim` (a host process to attack: prints the address of a buffer, then
//! waits), `attack handle PATH` (a file handle for open_by_handle_at), and
//! `attack priv-check` (the exec'd side of the setuid and file-capability techniques).

// The techniques are Linux syscalls; elsewhere the example is an empty program.
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("attack: Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
#[path = "../tests/attacks/mod.rs"]
mod attacks;

#[cfg(target_os = "linux")]
mod linux {
    use super::attacks::{self, Control, Outcome};
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;

    /// The buffer the victim role publishes for the memory-write techniques.
    static mut VICTIM_BUF: [u8; 64] =
        *b"untouched-victim-buffer-untouched-victim-buffer-untouched-victim";

    fn print(o: Outcome) -> ! {
        match o {
            Outcome::Escaped(d) => {
                println!("ESCAPED {d}");
                std::process::exit(1)
            }
            Outcome::Blocked(d) => {
                println!("BLOCKED {d}");
                std::process::exit(0)
            }
        }
    }

    fn victim() -> ! {
        let addr = std::ptr::addr_of!(VICTIM_BUF) as usize;
        println!("{addr:#x}");
        std::io::stdout().flush().unwrap();
        unsafe {
            libc::signal(libc::SIGURG, libc::SIG_IGN);
            loop {
                libc::pause();
            }
        }
    }

    fn handle(path: &str) {
        let mut buf = [0u8; 8 + 128];
        buf[0..4].copy_from_slice(&128u32.to_ne_bytes());
        let mut mount_id = 0i32;
        let p = attacks::cstr(path);
        let r = unsafe {
            libc::syscall(
                libc::SYS_name_to_handle_at,
                libc::AT_FDCWD,
                p.as_ptr(),
                buf.as_mut_ptr(),
                &mut mount_id as *mut i32,
                0,
            )
        };
        if r != 0 {
            eprintln!("name_to_handle_at {path}: {}", attacks::errno());
            std::process::exit(2);
        }
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        let ty = i32::from_ne_bytes(buf[4..8].try_into().unwrap());
        let hex: String = buf[8..8 + len].iter().map(|b| format!("{b:02x}")).collect();
        println!("{ty}:{hex}");
    }

    /// Runs `f` in a child and reports its verdict, or the signal that killed it.
    fn isolated(f: fn() -> Outcome) -> Outcome {
        let mut fds = [0i32; 2];
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe { libc::close(fds[0]) };
            let line = match f() {
                Outcome::Escaped(d) => format!("ESCAPED {d}"),
                Outcome::Blocked(d) => format!("BLOCKED {d}"),
            };
            let mut w = unsafe { std::fs::File::from_raw_fd(fds[1]) };
            let _ = w.write_all(line.as_bytes());
            unsafe { libc::_exit(0) };
        }
        unsafe { libc::close(fds[1]) };
        let mut text = String::new();
        let _ = unsafe { std::fs::File::from_raw_fd(fds[0]) }.read_to_string(&mut text);
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if let Some(d) = text.strip_prefix("ESCAPED ") {
            return Outcome::Escaped(d.to_string());
        }
        if let Some(d) = text.strip_prefix("BLOCKED ") {
            return Outcome::Blocked(d.to_string());
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            let name = if sig == libc::SIGSYS {
                " (SIGSYS: seccomp)"
            } else {
                ""
            };
            return Outcome::Blocked(format!("killed by signal {sig}{name}"));
        }
        println!("ERROR the technique ended without a verdict (status {status:#x})");
        std::process::exit(2)
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let op = args.get(1).map(String::as_str).unwrap_or("");
        match op {
            "--list" => {
                for t in attacks::ALL {
                    let c = match t.control {
                        Control::Root => "root",
                        Control::Unprivileged => "unprivileged",
                    };
                    println!("{}\t{c}", attacks::display_name(t.name));
                }
            }
            "victim" => victim(),
            "handle" => handle(args.get(2).map(String::as_str).unwrap_or("")),
            "priv-check" => print(attacks::setuid::priv_check()),
            _ => {
                let Some(t) = attacks::ALL
                    .iter()
                    .find(|t| attacks::display_name(t.name) == op)
                else {
                    eprintln!(
                    "usage: attack (--list | TECHNIQUE [TAG] | victim | handle PATH | priv-check)"
                );
                    std::process::exit(2);
                };
                print(isolated(t.run))
            }
        }
    }
}
