//! The `"sandbox"` network policy through the OCI lifecycle: `create` forks the
//! filtering proxy, which serves the listeners made in the container's netns and lives
//! exactly as long as the container. Allowed requests reach a host server; others get
//! the proxy's 403. As root and rootless; and under podman through an annotation.
#![cfg(target_os = "linux")]

mod common;
use common::engines::Podman;
use common::oci::*;
use common::*;
use serde_json::json;

fn network(port: u16) -> serde_json::Value {
    json!({
        "allowedDomains": ["allowed.test", format!("127.0.0.1:{port}")],
        "resolve": {"allowed.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}
    })
}

fn script(port: u16) -> String {
    format!(
        "wget -q -O- http://allowed.test:{port}/; echo rc=$?; \
         wget -q -O- http://other.test:{port}/ 2>&1; echo rc=$?"
    )
}

#[test]
fn created_container_egress_goes_through_the_proxy() {
    let port = http_server("allowed-body\n");
    for user in users() {
        let s = Scratch::new("oci-proxy", user);
        let b = busybox_bundle_with(&s, user, &["sh", "-c", &script(port)], false, |c| {
            c["sandbox"] = json!({"network": network(port)});
        });
        let rt = Rt::new(&s, user);
        let out = s.join("out");
        let (code, err) = rt.create(&b, "p1", &[], &out);
        assert_eq!(code, 0, "{}: create: {err}", user.label());
        ok(&rt.run(&["start", "p1"]));
        let text = wait_for_text(&out, "rc=1");
        assert_eq!(
            text,
            "allowed-body\nrc=0\nwget: server returned error: HTTP/1.1 403 host is not on the allow list\nrc=1\n",
            "{}",
            user.label()
        );
        rt.wait_status("p1", "stopped");
        // The proxy went with the container: no srt-runc process serves p1 any more.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while proxy_alive(&b) {
            assert!(
                std::time::Instant::now() < deadline,
                "proxy outlived the container"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok(&rt.run(&["delete", "p1"]));
    }
}

/// Whether a `create` (the proxy keeps its command line) for `bundle` still runs.
fn proxy_alive(bundle: &std::path::Path) -> bool {
    let want = bundle.to_str().unwrap();
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(want))
            .unwrap_or(false)
    })
}

#[test]
fn podman_container_gets_an_allow_list_from_an_annotation() {
    let user = root_user();
    let port = http_server("allowed-body\n");
    let s = Scratch::new("podman-proxy", user);
    let p = Podman::new(&s);
    let settings = s.join("settings.json");
    std::fs::write(&settings, json!({"network": network(port)}).to_string()).unwrap();
    let ann = format!("run.srt.settings={}", settings.display());
    let o = p.run_rm(
        &["--network", "none", "--annotation", &ann],
        &["sh", "-c", &script(port)],
    );
    assert_eq!(
        ok(&o),
        "allowed-body\nrc=0\nwget: server returned error: HTTP/1.1 403 host is not on the allow list\nrc=1\n"
    );
}
