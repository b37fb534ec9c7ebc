//! How podman is pointed at a private storage on this host, shared by the engine tests
//! (`engines.rs`) and the podman bench (`benches/podman.rs` includes this file): std
//! only, so that both can compile it.

use std::path::Path;
use std::process::Command;

/// containers.conf for this host (root and rootless podman alike; these limits are within
/// the test user's hard limits too): no CAP_SYS_RESOURCE here, so podman's default
/// rlimits cannot be set; cgroupfs and a file event log as there is no systemd.
pub const CONTAINERS_CONF: &str = "[containers]\n\
     default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
     [engine]\n\
     cgroup_manager = \"cgroupfs\"\n\
     events_logger = \"file\"\n\
     runtime_supports_json = [\"crun\", \"runc\", \"srt-runc\"]\n";

/// `podman` with its storage, tmpdir and networks under `dir` (vfs driver: no overlay
/// mounts), `dir/containers.conf` as its configuration, `runroot` (podman refuses one
/// over 50 bytes) and `runtime` as the OCI runtime.
pub fn podman(dir: &Path, runroot: &Path, runtime: &Path) -> Command {
    let mut c = Command::new("podman");
    c.env("CONTAINERS_CONF", dir.join("containers.conf"))
        .arg("--root")
        .arg(dir.join("storage"))
        .arg("--runroot")
        .arg(runroot)
        .arg("--tmpdir")
        .arg(dir.join("tmp"))
        .arg("--storage-driver")
        .arg("vfs")
        .arg("--network-config-dir")
        .arg(dir.join("networks"))
        .arg("--runtime")
        .arg(runtime);
    c
}

/// Whether a podman or conmon process (other than this one) works on a path under
/// `dir`: conmon starts `podman container cleanup` on its own when a container exits,
/// and the storage must not go while those run.
pub fn podman_running_on(dir: &str) -> bool {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            e.file_name() != me.as_str()
                && std::fs::read(e.path().join("cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains(dir))
                    .unwrap_or(false)
        })
}
