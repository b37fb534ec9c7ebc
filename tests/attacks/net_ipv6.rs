//! Connect to a host TCP listener over IPv6 (loopback and the host's address).
use super::*;

pub fn run() -> Outcome {
    tcp_first_reached(
        &["::1".into(), target("HOST_IP6")],
        &target("TCP6_PORT"),
        |h, p| format!("[{h}]:{p}"),
    )
}
