//! Read the denied file by its plain path.
use super::*;

pub fn run() -> Outcome {
    read_secret_at(&target("SECRET"), "by its path")
}
