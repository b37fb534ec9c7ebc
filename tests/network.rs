//! End-to-end network tests: real clients inside real sandboxes, as root and as the
//! unprivileged test user, reaching real servers (HTTP, HTTPS, sshd) in a network
//! namespace of their own (see `net_support`), only through srt-runc's host-side
//! filtering proxy.
//!
//! Each sandbox runs a list of [`Case`]s in one shell script; every case prints a
//! header, its output and its exit status, and the whole transcript is compared with
//! what the policy says must happen.
#![cfg(target_os = "linux")]

mod common;
mod net_support;

use common::*;
use net_support::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;

const DENIED_BODY: &str = "Connection blocked by network allowlist";
/// curl with a bound on every transfer; stderr goes to the sandbox's stderr.
const CURL: &str = "curl -sS --max-time 10";
/// curl printing the status and the proxy's denial marker after the body.
const CURL_STATUS: &str =
    "curl -s --max-time 10 -w '\\ncode=%{http_code} x-proxy-error=%header{x-proxy-error}\\n'";

/// One command run inside the sandbox and the exact output it must produce, ending
/// with `rc=STATUS`.
struct Case {
    name: &'static str,
    cmd: String,
    want: String,
}

fn case(name: &'static str, cmd: impl Into<String>, want: impl Into<String>) -> Case {
    Case {
        name,
        cmd: cmd.into(),
        want: want.into(),
    }
}

fn script(cases: &[Case]) -> String {
    cases
        .iter()
        .map(|c| {
            let name = c.name.replace('\'', "'\\''");
            format!("echo '== {name}'\n{}\necho \"rc=$?\"\n", c.cmd)
        })
        .collect()
}

/// Splits a transcript into its cases.
fn sections(out: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in out.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("== ") {
            if let Some((n, body)) = current.take() {
                map.insert(n, body);
            }
            current = Some((name.trim_end().to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    if let Some((n, body)) = current {
        map.insert(n, body);
    }
    map
}

/// The network section of a policy: the given lists and every test name resolved
/// to the upstream.
fn network(allowed: &[&str], denied: &[&str]) -> Value {
    json!({
        "allowedDomains": allowed,
        "deniedDomains": denied,
        "resolve": upstream().resolve(),
    })
}

/// A bundle config running `script` under `net`, with `writable` as the only
/// writable host path.
fn bundle(script: &str, net: Value, writable: &Scratch) -> Value {
    let mut c = config(&["/bin/sh", "-c", script]);
    c["process"]["env"] = json!(["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]);
    c["sandbox"] = json!({
        "network": net,
        "filesystem": {"allowWrite": [writable.path.to_str().unwrap()]},
    });
    c
}

/// Runs `cases` in one sandbox as `user` and asserts every transcript section.
fn run_cases(user: User, s: &Scratch, cfg: Value, extra: &[&str], cases: &[Case]) -> String {
    write_bundle(&s.path, &cfg);
    let out = run_bundle_within(user, &s.path, extra);
    let text = stdout(&out);
    let got = sections(&text);
    let mut bad = Vec::new();
    for c in cases {
        let g = got.get(c.name).map(String::as_str).unwrap_or("<missing>\n");
        if g != c.want {
            bad.push(format!(
                "  {}: `{}`\n    want {:?}\n    got  {:?}",
                c.name, c.cmd, c.want, g
            ));
        }
    }
    assert!(
        bad.is_empty() && out.status.success(),
        "{}: {} of {} cases differ (status {:?}):\n{}\nstderr:\n{}",
        user.label(),
        bad.len(),
        cases.len(),
        out.status,
        bad.join("\n"),
        stderr(&out)
    );
    text
}

fn cfg_with(s: &Scratch, cases: &[Case], net: Value) -> Value {
    bundle(&script(cases), net, s)
}

#[test]
fn allowed_requests_reach_the_upstream_from_every_client() {
    let up = upstream();
    let ca = up.ca().display().to_string();
    let np = up.netprobe();
    let hello = &up.hello;
    let body = serde_json::to_string(hello).unwrap();
    let cases = [
        case(
            "curl http (absolute-form)",
            format!("{CURL} http://web.test/hello.txt"),
            format!("{hello}rc=0\n"),
        ),
        case(
            "curl https (CONNECT)",
            format!("{CURL} --cacert {ca} https://git.test/hello.txt"),
            format!("{hello}rc=0\n"),
        ),
        case(
            "curl http via CONNECT (-p)",
            format!("{CURL} -p http://web.test/hello.txt"),
            format!("{hello}rc=0\n"),
        ),
        case(
            "curl --socks5-hostname http",
            format!("{CURL} --socks5-hostname 127.0.0.1:3128 http://web.test/hello.txt"),
            format!("{hello}rc=0\n"),
        ),
        case(
            "curl --socks5-hostname https",
            format!(
                "{CURL} --socks5-hostname 127.0.0.1:3128 --cacert {ca} https://git.test/hello.txt"
            ),
            format!("{hello}rc=0\n"),
        ),
        case(
            "curl over [::1]:3128",
            format!("{CURL} -x 'http://[::1]:3128' http://web.test/hello.txt"),
            format!("{hello}rc=0\n"),
        ),
        case(
            "wget http",
            "wget -q --no-hsts -T 10 -t 1 -O - http://web.test/hello.txt",
            format!("{hello}rc=0\n"),
        ),
        case(
            "wget https",
            format!(
                "wget -q --no-hsts -T 10 -t 1 --ca-certificate={ca} -O - https://git.test/hello.txt"
            ),
            format!("{hello}rc=0\n"),
        ),
        case(
            "python urllib http",
            format!("{np} urllib http://web.test/hello.txt"),
            format!("status=200 body={body}\nrc=0\n"),
        ),
        case(
            "python urllib https",
            format!("{np} urllib https://git.test/hello.txt {ca}"),
            format!("status=200 body={body}\nrc=0\n"),
        ),
        case(
            "raw SOCKS5 by name",
            format!("{np} socks web.test 80 hello.txt"),
            format!("reply=00 body={body}\nrc=0\n"),
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-allowed", user);
        let cfg = cfg_with(&s, &cases, network(&["web.test", "git.test"], &[]));
        run_cases(user, &s, cfg, &[], &cases);
    }
}

#[test]
fn denied_requests_get_403_or_socks_0x02_from_every_client() {
    let up = upstream();
    let ca = up.ca().display().to_string();
    let np = up.netprobe();
    let ip = up.ip;
    let http_403 = format!("{DENIED_BODY}\ncode=403 x-proxy-error=blocked-by-allowlist\nrc=0\n");
    let py_403 = format!(
        "status=403 x-proxy-error=blocked-by-allowlist body={}\nrc=0\n",
        serde_json::to_string(DENIED_BODY).unwrap()
    );
    let cases = [
        case(
            "curl http, not allowed",
            format!("{CURL_STATUS} http://denied.test/hello.txt"),
            http_403.clone(),
        ),
        case(
            "curl http, deny wins over allow",
            format!("{CURL_STATUS} http://blocked.test/hello.txt"),
            http_403.clone(),
        ),
        case(
            "curl http, name allowed only on port 80",
            format!("{CURL_STATUS} http://web.test:8080/hello.txt"),
            http_403.clone(),
        ),
        case(
            "curl http, the upstream's IP literal",
            format!("{CURL_STATUS} http://{ip}/hello.txt"),
            http_403.clone(),
        ),
        case(
            "curl https CONNECT, not allowed",
            format!(
                "curl -s --max-time 10 --cacert {ca} -w 'connect=%{{http_connect}}\\n' https://denied.test/hello.txt"
            ),
            // 56: failure receiving the CONNECT answer (the proxy said 403).
            "connect=403\nrc=56\n",
        ),
        case(
            "curl --socks5-hostname, not allowed",
            "curl -s --max-time 10 --socks5-hostname 127.0.0.1:3128 http://denied.test/hello.txt",
            // 97: the SOCKS proxy refused the connection.
            "rc=97\n",
        ),
        case(
            "raw SOCKS5, not allowed",
            format!("{np} socks denied.test 80 hello.txt"),
            "reply=02\nrc=0\n",
        ),
        case(
            "raw SOCKS5, deny wins",
            format!("{np} socks blocked.test 443 hello.txt"),
            "reply=02\nrc=0\n",
        ),
        case(
            "wget http, not allowed",
            "wget -q --no-hsts -T 10 -t 1 -O - http://denied.test/hello.txt",
            // 8: the server answered with an error status.
            "rc=8\n",
        ),
        case(
            "python urllib http, not allowed",
            format!("{np} urllib http://denied.test/hello.txt"),
            py_403,
        ),
        case(
            "python urllib https, not allowed",
            format!("{np} urllib https://denied.test/hello.txt {ca} | cut -d' ' -f1-5"),
            "failed Tunnel connection failed: 403\nrc=0\n",
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-denied", user);
        let cfg = cfg_with(
            &s,
            &cases,
            network(
                &["web.test:80", "git.test", "blocked.test"],
                &["blocked.test"],
            ),
        );
        run_cases(user, &s, cfg, &[], &cases);
    }
}

#[test]
fn git_clones_over_http_https_and_ssh() {
    let up = upstream();
    let ca = up.ca().display().to_string();
    let repo = up.repo().display().to_string();
    let commit = &up.commit;
    let readme = &up.readme;
    for user in users() {
        let s = Scratch::new("net-git", user);
        // ssh reads /root/.ssh (the home of uid 0 inside); a scratch home owned by the
        // caller is bound over /root, holding the identity and a config that disables
        // host-key prompts.
        let home = s.join("home");
        let ssh = home.join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::copy(up.ssh_key(), ssh.join("id")).unwrap();
        std::fs::write(
            ssh.join("config"),
            "Host *\n  IdentityFile /root/.ssh/id\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n",
        )
        .unwrap();
        for (p, mode) in [(&home, 0o700), (&ssh, 0o700), (&ssh.join("id"), 0o600)] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        }
        for p in [&home, &ssh, &ssh.join("id"), &ssh.join("config")] {
            chown(p, user);
        }
        let d = s.path.display();
        let show = |dir: &str| format!("git -C {d}/{dir} rev-parse HEAD && cat {d}/{dir}/README");
        let cases = [
            case(
                "git clone http (dumb)",
                format!("timeout 20 git clone -q http://git.test/repo.git {d}/http && {}", show("http")),
                format!("{commit}\n{readme}rc=0\n"),
            ),
            case(
                "git clone https",
                format!(
                    "GIT_SSL_CAINFO={ca} timeout 20 git clone -q https://git.test/repo.git {d}/https && {}",
                    show("https")
                ),
                format!("{commit}\n{readme}rc=0\n"),
            ),
            case(
                "git clone ssh via GIT_SSH_COMMAND",
                format!(
                    "echo \"$GIT_SSH_COMMAND\"; timeout 20 git clone -q root@git.test:{repo} {d}/ssh && {}",
                    show("ssh")
                ),
                format!(
                    "ssh -o ControlMaster=no -o ControlPath=none -o ProxyCommand='/dev/srt-runc connect %h %p'\n{commit}\n{readme}rc=0\n"
                ),
            ),
            case(
                "git clone http, not allowed",
                format!("timeout 20 git clone -q http://denied.test/repo.git {d}/no-http 2>/dev/null; echo $?; test -e {d}/no-http && echo created || echo absent"),
                "128\nabsent\nrc=0\n",
            ),
            case(
                "git clone ssh, not allowed",
                format!("timeout 20 git clone -q root@denied.test:{repo} {d}/no-ssh 2>/dev/null; echo $?; test -e {d}/no-ssh && echo created || echo absent"),
                "128\nabsent\nrc=0\n",
            ),
        ];
        let mut cfg = cfg_with(&s, &cases, network(&["git.test"], &[]));
        cfg["mounts"] = json!([{"destination": "/root", "type": "bind",
            "source": home.to_str().unwrap(), "options": ["rbind"]}]);
        run_cases(user, &s, cfg, &[], &cases);
    }
}

/// The first nameserver of the host's /etc/resolv.conf.
fn host_resolver() -> String {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("nameserver").map(|a| a.trim().to_string()))
        .expect("a nameserver in /etc/resolv.conf")
}

#[test]
fn nothing_leaves_the_sandbox_except_through_the_proxy() {
    let up = upstream();
    let np = up.netprobe();
    let ip = up.ip;
    // The upstream answers all of these from the host, so failing inside is the sandbox's
    // doing, not the upstream's.
    let host = Command::new("ping")
        .args(["-c1", "-W2", &ip.to_string()])
        .output()
        .unwrap();
    assert!(host.status.success(), "the host must reach {ip} by ICMP");
    let host_udp = Command::new(PYTHON)
        .args(["-c", &format!("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.sendto(b'x', ('{ip}', 53)); print(s.recv(9))")])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&host_udp),
        "b'x'\n",
        "the host gets a UDP echo from {ip}:53"
    );
    let resolver = host_resolver();
    let resolver_errno = if resolver.starts_with("127.") || resolver == "::1" {
        "ECONNREFUSED" // the sandbox's own loopback has no resolver
    } else {
        "ENETUNREACH"
    };
    let cases = [
        case(
            "interfaces",
            "ip -o link | cut -d: -f2 | tr -d ' '",
            "lo\nrc=0\n",
        ),
        case(
            "IPv4 routes outside the local table",
            "ip -4 route show table main; ip -4 route show default",
            "rc=0\n",
        ),
        case("IPv6 default route", "ip -6 route show default", "rc=0\n"),
        case(
            "TCP connect to the upstream",
            format!("{np} tcp {ip} 80"),
            "errno=ENETUNREACH\nrc=0\n",
        ),
        case(
            "curl --noproxy '*' to the upstream's address",
            format!("{CURL} --noproxy '*' http://{ip}/hello.txt 2>/dev/null"),
            "rc=7\n",
        ),
        case(
            "curl --noproxy '*' by name (no DNS)",
            format!("{CURL} --noproxy '*' http://web.test/hello.txt 2>/dev/null"),
            "rc=6\n",
        ),
        case(
            "UDP to the upstream's echo",
            format!("{np} udp {ip} 53"),
            "errno=ENETUNREACH\nrc=0\n",
        ),
        case(
            "DNS query to the upstream",
            format!("{np} dns {ip}"),
            "errno=ENETUNREACH\nrc=0\n",
        ),
        case(
            "DNS query to the host's resolver",
            format!("{np} dns {resolver}"),
            format!("errno={resolver_errno}\nrc=0\n"),
        ),
        case(
            "getent hosts (libc resolver)",
            "getent hosts deb.debian.org",
            "rc=2\n",
        ),
        case(
            "ping",
            format!("ping -c1 -W1 {ip} >/dev/null 2>&1 && echo reached || echo failed"),
            "failed\nrc=0\n",
        ),
        case(
            "raw and ICMP sockets",
            format!("{np} raw {ip}"),
            "errno=EPERM errno=EACCES\nrc=0\n",
        ),
        case(
            "IPv6 has no route",
            format!("{np} udp6-route 2001:db8::1"),
            "errno=ENETUNREACH\nrc=0\n",
        ),
        case(
            "the proxy still works",
            format!("{CURL} http://web.test/hello.txt"),
            format!("{}rc=0\n", up.hello),
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-direct", user);
        let cfg = cfg_with(&s, &cases, network(&["web.test"], &[]));
        run_cases(user, &s, cfg, &[], &cases);
    }
}

#[test]
fn host_loopback_is_reachable_only_as_an_allowed_literal_through_the_proxy() {
    let up = upstream();
    let np = up.netprobe();
    let port = http_server("host-loopback-service\n");
    let other = http_server("other-host-service\n");
    let http_403 = format!("{DENIED_BODY}\ncode=403 x-proxy-error=blocked-by-allowlist\nrc=0\n");
    let direct = [
        case(
            "direct TCP to 127.0.0.1 (the sandbox's own loopback)",
            format!("{np} tcp 127.0.0.1 {port}"),
            "errno=ECONNREFUSED\nrc=0\n",
        ),
        case(
            "curl honouring NO_PROXY goes direct and is refused",
            format!("{CURL} http://127.0.0.1:{port}/ 2>/dev/null"),
            "rc=7\n",
        ),
    ];
    let not_allowed = [case(
        "through the proxy, not allowed",
        format!("{CURL_STATUS} --noproxy '' http://127.0.0.1:{port}/"),
        http_403.clone(),
    )];
    let allowed = [
        case(
            "through the proxy, allowed literal",
            format!("{CURL} --noproxy '' http://127.0.0.1:{port}/"),
            "host-loopback-service\nrc=0\n",
        ),
        case(
            "through the proxy, another port",
            format!("{CURL_STATUS} --noproxy '' http://127.0.0.1:{other}/"),
            http_403.clone(),
        ),
        case(
            "an allowed name resolving to the allowed literal",
            format!("{CURL} http://loopy.test:{port}/"),
            "host-loopback-service\nrc=0\n",
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-hostlo", user);
        let cases: Vec<Case> = direct
            .iter()
            .chain(&not_allowed)
            .map(|c| case(c.name, c.cmd.clone(), c.want.clone()))
            .collect();
        let cfg = cfg_with(&s, &cases, network(&["web.test"], &[]));
        run_cases(user, &s, cfg, &[], &cases);

        let cases: Vec<Case> = direct
            .iter()
            .chain(&allowed)
            .map(|c| case(c.name, c.cmd.clone(), c.want.clone()))
            .collect();
        let mut net = network(&[&format!("127.0.0.1:{port}"), "loopy.test"], &[]);
        net["resolve"]["loopy.test"] = json!(["127.0.0.1"]);
        let cfg = cfg_with(&s, &cases, net);
        run_cases(user, &s, cfg, &[], &cases);
    }
}

#[test]
fn an_allowed_name_resolving_to_loopback_is_refused() {
    let up = upstream();
    let port = http_server("must-not-be-reached\n");
    let http_403 = format!("{DENIED_BODY}\ncode=403 x-proxy-error=blocked-by-allowlist\nrc=0\n");
    let cases = [
        case(
            "allowed name -> 127.0.0.1, absolute-form",
            format!("{CURL_STATUS} http://loopy.test:{port}/"),
            http_403.clone(),
        ),
        case(
            "allowed name -> 127.0.0.1, CONNECT",
            format!(
                "curl -s --max-time 10 -p -w 'connect=%{{http_connect}}\\n' http://loopy.test:{port}/"
            ),
            "connect=403\nrc=56\n",
        ),
        case(
            "allowed name -> 127.0.0.1, SOCKS5",
            format!("{} socks loopy.test {port} x", up.netprobe()),
            "reply=02\nrc=0\n",
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-guard", user);
        let mut net = network(&["loopy.test"], &[]);
        net["resolve"]["loopy.test"] = json!(["127.0.0.1"]);
        let cfg = cfg_with(&s, &cases, net);
        run_cases(user, &s, cfg, &[], &cases);
    }
}

#[test]
fn the_violations_log_records_allowed_and_denied_attempts() {
    let up = upstream();
    let ca = up.ca().display().to_string();
    let cases = [
        case(
            "allowed http",
            format!("{CURL} http://web.test/hello.txt"),
            format!("{}rc=0\n", up.hello),
        ),
        case(
            "allowed https",
            format!("{CURL} --cacert {ca} https://git.test/hello.txt"),
            format!("{}rc=0\n", up.hello),
        ),
        case(
            "denied http",
            format!("{CURL} -o /dev/null -w '%{{http_code}}\\n' http://denied.test/x"),
            "403\nrc=0\n",
        ),
        case(
            "denied socks",
            format!("{} socks denied.test 8443 x", up.netprobe()),
            "reply=02\nrc=0\n",
        ),
    ];
    for user in users() {
        let s = Scratch::new("net-log", user);
        let log = s.join("violations.jsonl");
        let cfg = cfg_with(&s, &cases, network(&["web.test", "git.test"], &[]));
        run_cases(
            user,
            &s,
            cfg,
            &["--violations-log", log.to_str().unwrap()],
            &cases,
        );
        let text = std::fs::read_to_string(&log).unwrap();
        let events: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let find = |host: &str, port: u16| {
            events
                .iter()
                .find(|e| e["host"] == host && e["port"] == port)
                .unwrap_or_else(|| {
                    panic!("{}: no event for {host}:{port} in\n{text}", user.label())
                })
        };
        let want = [
            ("web.test", 80, "allow", "http-forward"),
            ("git.test", 443, "allow", "http-connect"),
            ("denied.test", 80, "deny", "http-forward"),
            ("denied.test", 8443, "deny", "socks5"),
        ];
        for (host, port, decision, protocol) in want {
            let e = find(host, port);
            assert_eq!(e["decision"], decision, "{}: {e}", user.label());
            assert_eq!(e["protocol"], protocol, "{}: {e}", user.label());
            if decision == "allow" {
                assert!(
                    e["bytes_down"].as_u64().unwrap() >= up.hello.len() as u64,
                    "{e}"
                );
            } else {
                assert_eq!(e["bytes_down"], 0, "{e}");
            }
        }
        assert_eq!(events.len(), want.len(), "one event per attempt:\n{text}");
    }
}

#[test]
fn concurrent_sandboxes_each_see_only_their_own_policy() {
    let up = upstream();
    let http_403 = format!("{DENIED_BODY}\ncode=403 x-proxy-error=blocked-by-allowlist\nrc=0\n");
    let hello = format!("{}rc=0\n", up.hello);
    for user in users() {
        let s = Scratch::new("net-two", user);
        let d = s.path.display().to_string();
        // Each sandbox announces itself and waits for the other before and after its
        // requests, so both proxies serve at the same time.
        let meet = |me: &str, other: &str, step: &str| {
            format!(
                "touch {d}/{step}-{me}; i=0; while [ ! -e {d}/{step}-{other} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e {d}/{step}-{other} ] && echo met"
            )
        };
        let sandbox = |me: &'static str, other: &'static str, mine: &str, theirs: &str| {
            vec![
                case("start", meet(me, other, "start"), "met\nrc=0\n"),
                case(
                    "own allowed name",
                    format!("{CURL} http://{mine}/hello.txt"),
                    hello.clone(),
                ),
                case(
                    "the other sandbox's name",
                    format!("{CURL_STATUS} http://{theirs}/hello.txt"),
                    http_403.clone(),
                ),
                case("end", meet(me, other, "end"), "met\nrc=0\n"),
            ]
        };
        let a = sandbox("a", "b", "web.test", "git.test");
        let b = sandbox("b", "a", "git.test", "web.test");
        let sa = Scratch::new("net-two-a", user);
        let sb = Scratch::new("net-two-b", user);
        let cfg_a = bundle(&script(&a), network(&["web.test"], &[]), &s);
        let cfg_b = bundle(&script(&b), network(&["git.test"], &[]), &s);
        let ta = std::thread::spawn(move || run_cases(user, &sa, cfg_a, &[], &a));
        let tb = std::thread::spawn(move || run_cases(user, &sb, cfg_b, &[], &b));
        ta.join().unwrap();
        tb.join().unwrap();
    }
}
