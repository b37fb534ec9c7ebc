//! Path helpers that do not touch the file system (generation must be pure).

use super::glob::is_glob;
use crate::policy::PathEntry;

/// Top-level directories that are symlinks into `/private` on macOS. Seatbelt checks
/// the resolved path, so a rule must name `/private/tmp/x` to catch `/tmp/x`; both
/// spellings are emitted so that a policy works whichever one it was written with.
const PRIVATE_LINKS: &[&str] = &["/tmp", "/var", "/etc"];

/// `p` and its other spelling (`/tmp/x` ↔ `/private/tmp/x`), when it has one.
pub fn spellings(p: &str) -> Vec<String> {
    let mut out = vec![p.to_string()];
    for l in PRIVATE_LINKS {
        if within(p, l) {
            out.push(format!("/private{p}"));
        } else if let Some(rest) = p.strip_prefix("/private") {
            if within(rest, l) {
                out.push(rest.to_string());
            }
        }
    }
    out
}

/// Whether `p` is `parent` or lies beneath it (by components, not by string prefix).
pub fn within(p: &str, parent: &str) -> bool {
    let parent = parent.trim_end_matches('/');
    parent.is_empty()
        || p == parent
        || p.strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The proper ancestors of `p`, nearest first, without `/` (which cannot be renamed).
pub fn ancestors(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = p.trim_end_matches('/');
    while let Some(i) = cur.rfind('/') {
        cur = &cur[..i];
        if cur.is_empty() {
            break;
        }
        out.push(cur.to_string());
    }
    out
}

/// Policy path entries split into literal paths and globs, both with every spelling.
#[derive(Debug, Default, Clone)]
pub struct Entries {
    pub literals: Vec<String>,
    pub globs: Vec<String>,
}

impl Entries {
    /// Splits `entries`; `{"path": ..., "literal": true}` is never a glob.
    pub fn from_policy(entries: &[PathEntry]) -> Self {
        let mut e = Entries::default();
        for entry in entries {
            let raw = entry.path();
            let target = if !entry.literal() && is_glob(raw) {
                &mut e.globs
            } else {
                &mut e.literals
            };
            for s in spellings(trim(raw)) {
                if !target.contains(&s) {
                    target.push(s);
                }
            }
        }
        e
    }

    /// Adds literal paths (with their spellings).
    pub fn push_literal(&mut self, p: &str) {
        for s in spellings(trim(p)) {
            if !self.literals.contains(&s) {
                self.literals.push(s);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.literals.is_empty() && self.globs.is_empty()
    }
}

/// `/a/b/` → `/a/b`, but `/` stays `/`.
fn trim(p: &str) -> &str {
    match p.trim_end_matches('/') {
        "" => "/",
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_cover_private_links() {
        assert_eq!(spellings("/tmp/x"), vec!["/tmp/x", "/private/tmp/x"]);
        assert_eq!(
            spellings("/private/var/f"),
            vec!["/private/var/f", "/var/f"]
        );
        assert_eq!(spellings("/tmpfoo"), vec!["/tmpfoo"]);
        assert_eq!(spellings("/Users/u"), vec!["/Users/u"]);
    }

    #[test]
    fn within_is_by_component() {
        assert!(within("/a/b", "/a"));
        assert!(within("/a", "/a"));
        assert!(!within("/ab", "/a"));
        assert!(within("/anything", "/"));
    }

    #[test]
    fn ancestors_nearest_first() {
        assert_eq!(ancestors("/a/b/c"), vec!["/a/b", "/a"]);
        assert!(ancestors("/a").is_empty());
    }
}
