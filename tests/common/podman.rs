//! Helpers shared by the seccomp integration tests.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::{json, Value};
use srt_runc::seccomp::Arch;

/// podman's default capability set (containers.conf `default_capabilities`).
const PODMAN_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Resolves the containers/common profile format (includes/excludes by capability and
/// architecture, `archMap`) into the OCI form podman writes into config.json.
pub fn podman_profile(arch: Arch) -> LinuxSeccomp {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vendor/seccomp/podman-default.json"
    );
    let src: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (go_arch, scmp_arch) = match arch {
        Arch::X86_64 => ("amd64", "SCMP_ARCH_X86_64"),
        Arch::Aarch64 => ("arm64", "SCMP_ARCH_AARCH64"),
    };
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut syscalls = Vec::new();
    for s in src["syscalls"].as_array().unwrap() {
        let inc_arches = strs(&s["includes"]["arches"]);
        let inc_caps = strs(&s["includes"]["caps"]);
        let exc_arches = strs(&s["excludes"]["arches"]);
        let exc_caps = strs(&s["excludes"]["caps"]);
        let has = |c: &String| PODMAN_CAPS.contains(&c.as_str());
        if (!inc_arches.is_empty() && !inc_arches.iter().any(|a| a == go_arch))
            || !inc_caps.iter().all(has)
            || exc_arches.iter().any(|a| a == go_arch)
            || (!exc_caps.is_empty() && exc_caps.iter().any(has))
        {
            continue;
        }
        let mut entry = json!({ "names": s["names"], "action": s["action"] });
        if let Some(e) = s.get("errnoRet") {
            entry["errnoRet"] = e.clone();
        }
        if let Some(a) = s.get("args").filter(|a| !a.is_null()) {
            entry["args"] = a.clone();
        }
        syscalls.push(entry);
    }
    let mut architectures = vec![json!(scmp_arch)];
    for m in src["archMap"].as_array().unwrap() {
        if m["architecture"] == scmp_arch {
            architectures.extend(m["subArchitectures"].as_array().unwrap().iter().cloned());
        }
    }
    serde_json::from_value(json!({
        "defaultAction": src["defaultAction"],
        "defaultErrnoRet": src["defaultErrnoRet"],
        "architectures": architectures,
        "syscalls": syscalls,
    }))
    .expect("valid OCI seccomp JSON")
}
