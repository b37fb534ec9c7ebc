//! A real client: /usr/bin/curl through the proxy with `-x http://` (both
//! absolute-form and CONNECT via `-p`) and `--socks5-hostname`.

mod proxy_support;

use std::process::Command;

use proxy_support::*;

const CURL: &str = "/usr/bin/curl";

fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(CURL)
        .args(["-sS", "--max-time", "10", "--noproxy", ""])
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// curl is a test dependency (`make deps` installs it): its absence fails the test
/// rather than letting it pass without running.
fn need_curl() {
    assert!(
        std::path::Path::new(CURL).exists(),
        "{CURL} is missing: run `make deps` (apt-get install curl)"
    );
}

#[test]
fn curl_http_proxy_forward_connect_and_deny() {
    need_curl();
    let web = http_server();
    let p = start(&["web.test", "127.0.0.1"], &[], |_| {});
    let proxy = format!("http://{}", p.addr);
    let url = format!("http://web.test:{}/hello", web.port());

    let (code, body, err) = curl(&["-x", &proxy, &url]);
    assert_eq!(code, 0, "{err}");
    assert!(body.starts_with("GET /hello HTTP/1.1"), "{body}");

    // -p: tunnel through CONNECT even for http://
    let (code, body, err) = curl(&["-p", "-x", &proxy, &url]);
    assert_eq!(code, 0, "{err}");
    assert!(body.starts_with("GET /hello HTTP/1.1"), "{body}");

    let (code, body, _) = curl(&[
        "-x",
        &proxy,
        "-w",
        "\n%{http_code}",
        "http://denied.example/",
    ]);
    assert_eq!(code, 0);
    assert_eq!(body, "Connection blocked by network allowlist\n403");

    let (code, _, err) = curl(&["-p", "-x", &proxy, "http://denied.example/"]);
    assert_ne!(code, 0);
    assert!(err.contains("403"), "{err}");
}

#[test]
fn curl_socks5_hostname() {
    need_curl();
    let web = http_server();
    let p = start(&["web.test", "127.0.0.1"], &[], |_| {});
    let socks = p.addr.to_string();
    let url = format!("http://web.test:{}/via-socks", web.port());
    let (code, body, err) = curl(&["--socks5-hostname", &socks, &url]);
    assert_eq!(code, 0, "{err}");
    assert!(body.starts_with("GET /via-socks HTTP/1.1"), "{body}");
    assert!(body
        .to_ascii_lowercase()
        .contains(&format!("host: web.test:{}", web.port())));

    let (code, _, err) = curl(&["--socks5-hostname", &socks, "http://denied.example/"]);
    // curl 97 is a SOCKS failure; the proxy's reply code 2 is "connection not allowed
    // by ruleset" (RFC 1928), which curl prints in parentheses.
    assert_eq!(code, 97, "{err}");
    assert!(err.trim_end().ends_with("(2)"), "{err}");
}
