//! Replays the fuzzing corpora (and any crash inputs) through the checks behind the
//! `cargo fuzz` targets, on stable Rust, as part of `make test`.
//!
//! The checks are `fuzz/src/lib.rs`, included here verbatim, so a corpus file exercises
//! exactly what it exercises under libFuzzer: no panic inside srt-runc, plus each
//! target's invariants (canonical hosts are fixed points, glob regexes compile and match
//! wildcard-free paths, the proxy still answers after any client bytes).

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    for (path, data) in corpus(target) {
        eprintln!("replaying {}", path.display());
        check(&data);
    }
}

#[test]
fn corpus_oci_config() {
    replay("oci_config", harness::oci_config);
}

#[test]
fn corpus_srt_settings() {
    replay("srt_settings", harness::srt_settings);
}

#[test]
fn corpus_domain_host() {
    replay("domain_host", harness::domain_host);
}

#[test]
fn corpus_glob_regex() {
    replay("glob_regex", harness::glob_regex);
}

#[test]
fn corpus_proxy_http() {
    replay("proxy_http", harness::proxy_http);
}

#[test]
fn corpus_proxy_socks() {
    replay("proxy_socks", harness::proxy_socks);
}

/// The config seeds start the fuzzer from inputs that get past the parser.
#[test]
fn seeds_are_valid_inputs() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus/oci_config/seed-config-example.json"),
    )
    .unwrap();
    srt_runc::policy::oci::parse_config(&text, "config.json", Path::new("/tmp")).unwrap();
}
