//! The attack techniques of the attack suite, one file per technique.
//!
//! Each technique is a function run *inside* a sandbox (or unsandboxed, as the control)
//! by the `attack` example binary. It takes its targets from `ATK_*` environment
//! variables prepared by the runner (`tests/attack.rs`) and returns [`Outcome::Escaped`]
//! only when it demonstrably reached the target (read the secret's bytes, created a file
//! outside, got an answer from a host listener, gained a capability...). Anything else
//! is [`Outcome::Blocked`], with the errno or detail that stopped it.
//!
//! The techniques do no harm to the host: files are created only under the runner's
//! scratch directories, mounts happen in private mount namespaces (or are undone), the
//! victim processes are the runner's own, and no kernel setting is written.

use std::ffi::CString;
use std::io::Read;

pub mod bpf;
pub mod file_caps;
pub mod fork_bomb;
pub mod ia32;
pub mod inherited_fd;
pub mod io_uring;
pub mod keyctl;
pub mod kill;
pub mod net_dns;
pub mod net_icmp;
pub mod net_ipv6;
pub mod net_raw;
pub mod net_tcp;
pub mod net_udp;
pub mod netlink;
pub mod perf_event_open;
pub mod proc_pid_mem;
pub mod process_vm_writev;
pub mod ptrace;
pub mod read_bind_mount;
pub mod read_hardlink;
pub mod read_open_by_handle;
pub mod read_path;
pub mod read_proc_1_root;
pub mod read_proc_pid_cwd;
pub mod read_proc_self_root;
pub mod read_symlink;
pub mod read_userns_remount;
pub mod runtime_exe_overwrite;
pub mod setuid;
pub mod tiocsti;
pub mod unix_abstract;
pub mod unix_pathname;
pub mod userfaultfd;
pub mod write_bind_mount;
pub mod write_git_hook;
pub mod write_hardlink;
pub mod write_open_by_handle;
pub mod write_path;
pub mod write_proc_1_root;
pub mod write_proc_pid_cwd;
pub mod write_proc_self_root;
pub mod write_rename_ancestor;
pub mod write_symlink;
pub mod write_tmpfile_linkat;
pub mod write_userns_remount;
pub mod x32;

/// What a technique achieved.
pub enum Outcome {
    /// The target was reached; the string says how.
    Escaped(String),
    /// The technique was stopped; the string says by what.
    Blocked(String),
}

/// Who runs a technique's unsandboxed control: root for techniques that need privilege
/// on a plain host (bind mounts, open_by_handle_at, ...), the unprivileged test user
/// for privilege *gain* (a setuid or file-capability binary means nothing to root).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Root,
    Unprivileged,
}

/// One technique: its name (the file name with `-`), the control's user, and the
/// function run inside the sandbox.
pub struct Technique {
    pub name: &'static str,
    pub control: Control,
    pub run: fn() -> Outcome,
}

macro_rules! t {
    ($m:ident, $c:ident) => {
        Technique {
            name: stringify!($m),
            control: Control::$c,
            run: $m::run,
        }
    };
}

/// Every technique, in table order.
pub const ALL: &[Technique] = &[
    t!(read_path, Root),
    t!(read_symlink, Root),
    t!(read_hardlink, Root),
    t!(read_proc_self_root, Root),
    t!(read_proc_1_root, Root),
    t!(read_proc_pid_cwd, Root),
    t!(read_open_by_handle, Root),
    t!(read_bind_mount, Root),
    t!(read_userns_remount, Root),
    t!(write_path, Root),
    t!(write_symlink, Root),
    t!(write_hardlink, Root),
    t!(write_proc_self_root, Root),
    t!(write_proc_1_root, Root),
    t!(write_proc_pid_cwd, Root),
    t!(write_open_by_handle, Root),
    t!(write_bind_mount, Root),
    t!(write_userns_remount, Root),
    t!(write_rename_ancestor, Root),
    t!(write_tmpfile_linkat, Root),
    t!(write_git_hook, Root),
    t!(net_tcp, Root),
    t!(net_udp, Root),
    t!(net_icmp, Root),
    t!(net_raw, Root),
    t!(net_ipv6, Root),
    t!(net_dns, Root),
    t!(unix_abstract, Root),
    t!(unix_pathname, Root),
    t!(netlink, Root),
    t!(ptrace, Root),
    t!(process_vm_writev, Root),
    t!(proc_pid_mem, Root),
    t!(kill, Root),
    t!(tiocsti, Root),
    t!(keyctl, Root),
    t!(bpf, Root),
    t!(perf_event_open, Root),
    t!(userfaultfd, Root),
    t!(io_uring, Root),
    t!(x32, Root),
    t!(ia32, Root),
    t!(setuid, Unprivileged),
    t!(file_caps, Unprivileged),
    t!(inherited_fd, Root),
    t!(runtime_exe_overwrite, Root),
    t!(fork_bomb, Root),
];

/// The technique's name as the runner and the table spell it.
pub fn display_name(module: &str) -> String {
    module.replace('_', "-")
}

/// A target from the runner (`ATK_<key>`); empty when the runner did not set it.
pub fn target(key: &str) -> String {
    std::env::var(format!("ATK_{key}")).unwrap_or_default()
}

pub fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// The last OS error as `ENAME (n)`.
pub fn errno() -> String {
    let e = std::io::Error::last_os_error();
    errname(e.raw_os_error().unwrap_or(0))
}

pub fn errname(n: i32) -> String {
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EINVAL => "EINVAL",
        libc::ETXTBSY => "ETXTBSY",
        libc::EROFS => "EROFS",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTTY => "ENOTTY",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOKEY => "ENOKEY",
        libc::ESTALE => "ESTALE",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOMEM => "ENOMEM",
        _ => "",
    };
    if name.is_empty() {
        format!("errno {n}")
    } else {
        format!("{name} ({n})")
    }
}

/// `Blocked("<what>: <errno>")` for a failed syscall.
pub fn blocked(what: &str) -> Outcome {
    Outcome::Blocked(format!("{what}: {}", errno()))
}

/// Reads an open fd to the end and says whether it holds the runner's secret marker.
pub fn fd_has_marker(fd: i32) -> bool {
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut buf = String::new();
    let _ = f.read_to_string(&mut buf);
    let marker = target("MARKER");
    !marker.is_empty() && buf.contains(&marker)
}

/// Opens `path` for reading and checks for the marker: the common end of every read
/// technique.
pub fn read_secret_at(path: &str, how: &str) -> Outcome {
    let fd = unsafe { libc::open(cstr(path).as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return blocked(&format!("open {path}"));
    }
    if fd_has_marker(fd) {
        Outcome::Escaped(format!("read the secret {how}"))
    } else {
        Outcome::Blocked(format!("{path} opened but holds no secret (a placeholder)"))
    }
}

/// Creates `path` and writes to it: the common end of every write technique.
pub fn create_outside_at(path: &str, how: &str) -> Outcome {
    let fd = unsafe {
        libc::open(
            cstr(path).as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return blocked(&format!("create {path}"));
    }
    let n = unsafe { libc::write(fd, b"escaped\n".as_ptr().cast(), 8) };
    unsafe { libc::close(fd) };
    if n == 8 {
        Outcome::Escaped(format!("wrote {path} {how}"))
    } else {
        blocked(&format!("write {path}"))
    }
}

/// The file a write technique tries to create in the outside directory.
pub fn outside_file(name: &str) -> String {
    format!("{}/{}", target("OUTSIDE"), name)
}

/// A fresh directory beneath the writable project directory.
pub fn proj_dir(name: &str) -> String {
    let d = format!("{}/{}", target("PROJ"), name);
    unsafe { libc::mkdir(cstr(&d).as_ptr(), 0o755) };
    d
}

/// A file handle (`struct file_handle`) from its hex form `TYPE:BYTES`, as printed by
/// `attack handle PATH` on the host.
pub fn parse_handle(hex: &str) -> Option<Vec<u8>> {
    let (ty, bytes) = hex.split_once(':')?;
    let ty: i32 = ty.parse().ok()?;
    let raw: Vec<u8> = (0..bytes.len() / 2)
        .map(|i| u8::from_str_radix(&bytes[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let mut h = Vec::new();
    h.extend_from_slice(&(raw.len() as u32).to_ne_bytes());
    h.extend_from_slice(&ty.to_ne_bytes());
    h.extend_from_slice(&raw);
    Some(h)
}

/// `open_by_handle_at` against every plausible mount fd (the root and the project
/// directory, which in a container sits on the host's filesystem).
pub fn open_by_handle(hex: &str, flags: i32) -> Result<i32, String> {
    let Some(h) = parse_handle(hex) else {
        return Err("no handle from the runner".into());
    };
    let mut errs = Vec::new();
    for m in ["/".to_string(), target("PROJ")] {
        let mfd = unsafe { libc::open(cstr(&m).as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        if mfd < 0 {
            errs.push(format!("open {m}: {}", errno()));
            continue;
        }
        let fd = unsafe { libc::syscall(libc::SYS_open_by_handle_at, mfd, h.as_ptr(), flags) };
        let e = errno();
        unsafe { libc::close(mfd) };
        if fd >= 0 {
            return Ok(fd as i32);
        }
        errs.push(format!("open_by_handle_at via {m}: {e}"));
    }
    Err(errs.join("; "))
}

/// Sets a socket's receive timeout.
pub fn recv_timeout(fd: i32, micros: i64) {
    let tv = libc::timeval {
        tv_sec: micros / 1_000_000,
        tv_usec: micros % 1_000_000,
    };
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
}

/// Reads a line-oriented greeting from a connected stream socket (with a timeout).
pub fn greeting(fd: i32) -> Option<String> {
    recv_timeout(fd, 1_000_000);
    let mut buf = [0u8; 64];
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    (n > 0).then(|| String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// Tries `host:port` for each host in turn; the first that greets is the escape.
pub fn tcp_first_reached(hosts: &[String], port: &str, fmt: fn(&str, &str) -> String) -> Outcome {
    let mut why = Vec::new();
    for host in hosts {
        let addr = fmt(host, port);
        match tcp_reaches(&addr) {
            Ok(()) => return Outcome::Escaped(format!("talked to the host listener at {addr}")),
            Err(e) => why.push(e),
        }
    }
    Outcome::Blocked(why.join("; "))
}

/// The denied file's directory and its name in it.
pub fn secret_dir_and_name() -> (String, String) {
    let secret = target("SECRET");
    let p = std::path::Path::new(&secret);
    (
        p.parent().unwrap().display().to_string(),
        p.file_name().unwrap().to_string_lossy().into_owned(),
    )
}

/// Enters a private mount namespace (mount events stay out of the caller's); false
/// where that is refused (inside a sandbox), and the caller then mounts in place.
pub fn private_mount_ns() -> bool {
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return false;
    }
    unsafe {
        libc::mount(
            std::ptr::null(),
            cstr("/").as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    true
}

/// `mount --rbind from at`.
pub fn bind(from: &str, at: &str) -> Result<(), String> {
    let r = unsafe {
        libc::mount(
            cstr(from).as_ptr(),
            cstr(at).as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(format!("mount --bind {from}: {}", errno()))
    }
}

/// Runs `f` on a bind of `from` at a fresh directory in the writable one, in a private
/// mount namespace when possible; an in-place mount is undone afterwards.
pub fn through_bind(from: &str, name: &str, f: impl FnOnce(&str) -> Outcome) -> Outcome {
    let at = proj_dir(name);
    let private = private_mount_ns();
    if let Err(e) = bind(from, &at) {
        return Outcome::Blocked(e);
    }
    let out = f(&at);
    if !private {
        unsafe { libc::umount2(cstr(&at).as_ptr(), libc::MNT_DETACH) };
    }
    out
}

/// The greeting every host listener of the runner sends.
pub const HELLO: &str = "srt-attack-hello";

/// Connects a TCP socket to `addr` (with a short timeout) and waits for the runner's
/// greeting.
pub fn tcp_reaches(addr: &str) -> Result<(), String> {
    use std::net::{SocketAddr, TcpStream};
    let sa: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&sa, std::time::Duration::from_millis(700))
        .map_err(|e| format!("connect {addr}: {}", errname(e.raw_os_error().unwrap_or(0))))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .ok();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).map_err(|e| format!("read {addr}: {e}"))?;
    if String::from_utf8_lossy(&buf[..n]).contains(HELLO) {
        Ok(())
    } else {
        Err(format!("{addr}: connected to something else (no greeting)"))
    }
}

/// The victim's process id from the runner.
pub fn victim_pid(key: &str) -> i32 {
    target(key).parse().unwrap_or(-1)
}
