//! Bind-mount the denied directory into the writable one and read it there (in a
//! private mount namespace where that is possible, so the host's table is untouched).
use super::*;

pub fn run() -> Outcome {
    let (dir, name) = secret_dir_and_name();
    through_bind(&dir, "read-bind-mount", |at| {
        read_secret_at(&format!("{at}/{name}"), "through a bind mount")
    })
}
