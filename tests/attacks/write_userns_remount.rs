//! In a new user + mount namespace, remount the outside directory read-write (or bind
//! it into the writable directory) and create a file in it.
use super::*;

pub fn run() -> Outcome {
    if let Err(e) = super::read_userns_remount::enter_userns() {
        return Outcome::Blocked(e);
    }
    let outside = target("OUTSIDE");
    let mut why = Vec::new();
    // Lift a read-only bind over the directory...
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            cstr(&outside).as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if r != 0 {
        why.push(format!("remount rw: {}", errno()));
    }
    if let Outcome::Escaped(s) =
        create_outside_at(&outside_file("write-userns-remount"), "after a remount")
    {
        return Outcome::Escaped(s);
    }
    // ...or bind it somewhere writable.
    let at = proj_dir("write-userns-remount");
    if let Err(e) = bind(&outside, &at) {
        why.push(e);
        return Outcome::Blocked(why.join("; "));
    }
    create_outside_at(
        &format!("{at}/write-userns-remount"),
        "through a bind in a new user namespace",
    )
}
