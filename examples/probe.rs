//! A test probe run *inside* sandboxes by the integration tests: it attempts one
//! operation and prints `ok` or `errno=N NAME`, so tests can assert the exact errno.
//!
//! Usage: `probe OPERATION [ARGS...]`. Exit status 0 when the attempt was made (whatever
//! its outcome), 2 for bad usage.

// The probes are Linux syscalls; elsewhere the example is an empty program.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("probe: Linux only");
    std::process::exit(2);
}

use std::ffi::CString;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn report(ret: i64) {
    if ret < 0 {
        let e = errno();
        println!("errno={e} {}", std::io::Error::from_raw_os_error(e));
    } else {
        println!("ok");
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[cfg(target_os = "linux")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(op) = args.first() else {
        eprintln!("usage: probe OPERATION [ARGS...]");
        std::process::exit(2);
    };
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    unsafe {
        let r: i64 = match op.as_str() {
            "mount-tmpfs" => libc::mount(
                c("none").as_ptr(),
                c(&arg(1)).as_ptr(),
                c("tmpfs").as_ptr(),
                0,
                std::ptr::null(),
            ) as i64,
            "bind-mount" => libc::mount(
                c(&arg(1)).as_ptr(),
                c(&arg(2)).as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ) as i64,
            "umount" => libc::umount2(c(&arg(1)).as_ptr(), libc::MNT_DETACH) as i64,
            "unshare-user" => libc::unshare(libc::CLONE_NEWUSER) as i64,
            "unshare-ns" => libc::unshare(libc::CLONE_NEWNS) as i64,
            "unshare-files" => libc::unshare(libc::CLONE_FILES) as i64,
            "clone-newuser" => {
                let r = libc::syscall(
                    libc::SYS_clone,
                    (libc::CLONE_NEWUSER | libc::SIGCHLD) as u64,
                    0,
                    0,
                    0,
                    0,
                );
                if r == 0 {
                    libc::_exit(0);
                }
                if r > 0 {
                    libc::waitpid(r as i32, std::ptr::null_mut(), 0);
                }
                r
            }
            "clone3" => {
                #[repr(C)]
                struct A([u64; 11]);
                let mut a = A([0; 11]);
                a.0[4] = libc::SIGCHLD as u64;
                let r = libc::syscall(libc::SYS_clone3, &a as *const A, std::mem::size_of::<A>());
                if r == 0 {
                    libc::_exit(0);
                }
                if r > 0 {
                    libc::waitpid(r as i32, std::ptr::null_mut(), 0);
                }
                r
            }
            "pivot_root" => libc::syscall(libc::SYS_pivot_root, c("/").as_ptr(), c("/").as_ptr()),
            "ptrace-attach" => libc::ptrace(
                libc::PTRACE_ATTACH,
                arg(1).parse::<i32>().unwrap_or(1),
                0,
                0,
            ),
            "kill" => libc::kill(
                arg(1).parse::<i32>().unwrap_or(1),
                arg(2).parse::<i32>().unwrap_or(0),
            ) as i64,
            "keyctl" => libc::syscall(
                libc::SYS_keyctl,
                0,  /* KEYCTL_GET_KEYRING_ID */
                -3, /* session */
                1,
            ),
            "add_key" => libc::syscall(
                libc::SYS_add_key,
                c("user").as_ptr(),
                c("k").as_ptr(),
                c("v").as_ptr(),
                1,
                -3,
            ),
            "bpf" => {
                let attr = [0u8; 128];
                libc::syscall(
                    libc::SYS_bpf,
                    0, /* BPF_MAP_CREATE */
                    attr.as_ptr(),
                    attr.len(),
                )
            }
            "perf_event_open" => {
                let mut attr = [0u8; 128];
                attr[4..8].copy_from_slice(&128u32.to_ne_bytes()); // size
                attr[0..4].copy_from_slice(&1u32.to_ne_bytes()); // PERF_TYPE_SOFTWARE
                libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, 0)
            }
            "userfaultfd" => libc::syscall(libc::SYS_userfaultfd, 0),
            "io_uring_setup" => {
                let params = [0u8; 120];
                libc::syscall(libc::SYS_io_uring_setup, 4, params.as_ptr())
            }
            "tiocsti" => {
                let ch: u8 = b'x';
                libc::ioctl(0, libc::TIOCSTI, &ch as *const u8) as i64
            }
            "tiocsti-hi" => {
                // The same ioctl with garbage in the upper 32 bits of the request.
                let ch: u8 = b'x';
                libc::syscall(
                    libc::SYS_ioctl,
                    0,
                    libc::TIOCSTI | 0xdead_0000_0000_0000,
                    &ch as *const u8,
                )
            }
            "x32-getpid" => libc::syscall(libc::SYS_getpid | 0x4000_0000),
            "socket" => {
                let fam = arg(1).parse::<i32>().unwrap_or(libc::AF_INET);
                let ty = arg(2).parse::<i32>().unwrap_or(libc::SOCK_STREAM);
                let proto = arg(3).parse::<i32>().unwrap_or(0);
                libc::socket(fam, ty, proto) as i64
            }
            "open-read" => libc::open(c(&arg(1)).as_ptr(), libc::O_RDONLY) as i64,
            "open-write" => {
                libc::open(c(&arg(1)).as_ptr(), libc::O_WRONLY | libc::O_CREAT, 0o644) as i64
            }
            "mknod-char" => libc::mknod(
                c(&arg(1)).as_ptr(),
                libc::S_IFCHR | 0o666,
                libc::makedev(1, 3),
            ) as i64,
            "chroot" => libc::chroot(c(&arg(1)).as_ptr()) as i64,
            "sethostname" => libc::sethostname(c("evil").as_ptr(), 4) as i64,
            "setuid0" => libc::setuid(0) as i64,
            "open_by_handle_at" => {
                let mut h = [0u8; 136];
                h[0..4].copy_from_slice(&128u32.to_ne_bytes());
                libc::syscall(
                    libc::SYS_open_by_handle_at,
                    libc::AT_FDCWD,
                    h.as_ptr(),
                    libc::O_RDONLY,
                )
            }
            "kexec_load" => libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0),
            "init_module" => libc::syscall(libc::SYS_init_module, 0, 0, c("").as_ptr()),
            "fds" => {
                // List open fds (excluding the directory fd used to read the list).
                let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
                    .map(|d| {
                        d.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                v.sort();
                println!("{}", v.join(" "));
                return;
            }
            _ => {
                eprintln!("probe: unknown operation {op}");
                std::process::exit(2);
            }
        };
        report(r);
    }
}
