//! Connect straight to a host TCP listener (on loopback and on the host's address).
use super::*;

pub fn run() -> Outcome {
    tcp_first_reached(
        &["127.0.0.1".into(), target("HOST_IP")],
        &target("TCP_PORT"),
        |h, p| format!("{h}:{p}"),
    )
}
