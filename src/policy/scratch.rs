//! A scratch directory for the policy unit tests (glob expansion, the mandatory scan),
//! removed on drop; the project has no tempfile dependency.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("srt-policy-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(fs::canonicalize(&dir).unwrap())
    }
    pub fn file(&self, rel: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }
    pub fn dir(&self, rel: &str) {
        fs::create_dir_all(self.0.join(rel)).unwrap();
    }
    pub fn link(&self, rel: &str, target: &str) {
        symlink(target, self.0.join(rel)).unwrap();
    }
    /// The absolute path of `rel`.
    pub fn root(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    /// `rel` as an absolute pattern string.
    pub fn pat(&self, rel: &str) -> String {
        format!("{}/{rel}", self.0.display())
    }
    /// `paths` relative to the scratch directory, for readable assertions.
    pub fn rel(&self, paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.strip_prefix(&self.0).unwrap().display().to_string())
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on a thread without the capabilities that let root read any directory.
/// Capabilities are per thread on Linux, so the rest of the test run keeps them.
#[cfg(target_os = "linux")]
pub(crate) fn without_dac_override<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            for cap in [
                caps::Capability::CAP_DAC_OVERRIDE,
                caps::Capability::CAP_DAC_READ_SEARCH,
            ] {
                caps::drop(None, caps::CapSet::Effective, cap).unwrap();
            }
            f()
        })
        .join()
        .unwrap()
    })
}

/// Elsewhere the tests run unprivileged, where unreadable means unreadable.
#[cfg(not(target_os = "linux"))]
pub(crate) fn without_dac_override<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    f()
}
