//! Create an anonymous O_TMPFILE (in the writable directory, and outside) and give it
//! a name outside with linkat.
use super::*;

pub fn run() -> Outcome {
    let dest = outside_file("write-tmpfile-linkat");
    let mut why = Vec::new();
    for dir in [target("PROJ"), target("OUTSIDE")] {
        let fd =
            unsafe { libc::open(cstr(&dir).as_ptr(), libc::O_TMPFILE | libc::O_WRONLY, 0o644) };
        if fd < 0 {
            why.push(format!("O_TMPFILE in {dir}: {}", errno()));
            continue;
        }
        unsafe { libc::write(fd, b"escaped\n".as_ptr().cast(), 8) };
        let via = format!("/proc/self/fd/{fd}");
        let r = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                cstr(&via).as_ptr(),
                libc::AT_FDCWD,
                cstr(&dest).as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        let e = errno();
        unsafe { libc::close(fd) };
        if r == 0 {
            return Outcome::Escaped(format!("linked a tmpfile from {dir} as {dest}"));
        }
        why.push(format!("linkat from {dir}: {e}"));
    }
    Outcome::Blocked(why.join("; "))
}
