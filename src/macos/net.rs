//! The network part of the profile: by default nothing; with a network policy, only
//! the host-side proxy on `localhost:PORT`, which enforces the domain rules. Seatbelt
//! cannot filter by domain, so everything except the proxy port stays denied and
//! programs reach the internet only through the proxy variables.

use super::sbpl::Writer;
use super::MacosError;
use crate::policy::NetworkSettings;

/// Emits the network rules. `proxy_port` is where the run's proxy listens on 127.0.0.1.
pub fn write(
    w: &mut Writer,
    net: Option<&NetworkSettings>,
    proxy_port: Option<u16>,
) -> Result<(), MacosError> {
    let Some(net) = net else {
        w.section("Network: none (the policy has no network section).");
        return Ok(());
    };
    let port = proxy_port.ok_or(MacosError::MissingProxyPort)?;
    w.section(
        "Network: only the filtering proxy on localhost. `remote ip` names the peer, so\n\
         this cannot be widened into \"any connection from a local address\" (srt #131).",
    );
    w.allow(
        &["network-outbound"],
        &[format!("(remote ip \"localhost:{port}\")")],
    );

    if net.allow_local_binding == Some(true) {
        w.section(
            "allowLocalBinding: servers may listen (on any interface, as dev servers do) and\n\
             the command may connect to any port on this machine, but nowhere else.",
        );
        w.allow(
            &["network-bind", "network-inbound"],
            &["(local ip \"*:*\")".to_string()],
        );
        w.allow(
            &["network-outbound"],
            &["(remote ip \"localhost:*\")".to_string()],
        );
    }

    let all_unix = net.allow_all_unix_sockets == Some(true);
    if all_unix || !net.allow_unix_sockets.is_empty() {
        w.section(
            "Unix sockets: creating AF_UNIX sockets, and binding/connecting only to the\n\
             allowed socket paths (docker.sock, ssh-agent, ... are otherwise unreachable).",
        );
        w.allow(&["system-socket"], &["(socket-domain AF_UNIX)".to_string()]);
        let (local, remote) = if all_unix {
            (
                vec!["(local unix-socket (path-regex \"^/.*$\"))".to_string()],
                vec!["(remote unix-socket (path-regex \"^/.*$\"))".to_string()],
            )
        } else {
            let mut local = Vec::new();
            let mut remote = Vec::new();
            for p in &net.allow_unix_sockets {
                for s in super::paths::spellings(p) {
                    let param = w.param("UNIX_SOCKET", &s)?;
                    local.push(format!("(local unix-socket (subpath {param}))"));
                    remote.push(format!("(remote unix-socket (subpath {param}))"));
                }
            }
            (local, remote)
        };
        w.allow(&["network-bind"], &local);
        w.allow(&["network-outbound"], &remote);
    }
    Ok(())
}
