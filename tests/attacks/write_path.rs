//! Create a file in the outside directory by its plain path.
use super::*;

pub fn run() -> Outcome {
    create_outside_at(&outside_file("write-path"), "by its path")
}
