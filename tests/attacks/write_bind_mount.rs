//! Bind-mount the outside directory into the writable one and create a file there.
use super::*;

pub fn run() -> Outcome {
    through_bind(&target("OUTSIDE"), "write-bind-mount", |at| {
        create_outside_at(&format!("{at}/write-bind-mount"), "through a bind mount")
    })
}
