//! Rename an ancestor of the protected tree (the outside directory, the project's
//! parent) to move it from under its rule; a successful rename is undone at once.
//! Only the host's own directories count (identified by device and inode from the
//! runner): renaming a container's private copy of a path moves nothing on the host.
use super::*;
use std::os::unix::fs::MetadataExt;

pub fn run() -> Outcome {
    let host_ids = target("HOST_DIR_IDS");
    let proj = target("PROJ");
    let parent = std::path::Path::new(&proj)
        .parent()
        .unwrap()
        .display()
        .to_string();
    let mut why = Vec::new();
    for (from, to) in [
        (target("OUTSIDE"), format!("{proj}/moved-outside")),
        (parent.clone(), format!("{parent}.renamed")),
    ] {
        match std::fs::symlink_metadata(&from) {
            Err(e) => {
                why.push(format!("{from}: {e}"));
                continue;
            }
            Ok(m)
                if !host_ids
                    .split(',')
                    .any(|id| id == format!("{}:{}", m.dev(), m.ino())) =>
            {
                why.push(format!("{from} here is not the host's directory"));
                continue;
            }
            Ok(_) => {}
        }
        if unsafe { libc::rename(cstr(&from).as_ptr(), cstr(&to).as_ptr()) } == 0 {
            unsafe { libc::rename(cstr(&to).as_ptr(), cstr(&from).as_ptr()) };
            return Outcome::Escaped(format!("renamed {from} to {to}"));
        }
        why.push(format!("rename {from}: {}", errno()));
    }
    Outcome::Blocked(why.join("; "))
}
