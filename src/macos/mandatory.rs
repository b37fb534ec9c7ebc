//! The mandatory write denies (srt.md 4.5): files and directories that would let a
//! sandboxed command run code *outside* the sandbox later — shell start-up files,
//! git hooks and config, editor and agent settings.
//!
//! Linux has to find them on disk; Seatbelt can match names, so on macOS they are
//! regexes that match the name at any depth, which also covers files created after
//! the sandbox started. A deny that matches outside the writable paths changes
//! nothing (writes there are denied already), so one global rule is equivalent to one
//! rule per writable path and much shorter. The names are matched case-insensitively
//! because the default macOS file systems are.

use super::escape::regex_literal_ci;

/// Files that are never writable: the same list as on Linux.
pub const FILES: &[&str] = crate::policy::mandatory::DANGEROUS_FILES;

/// Directories whose whole subtree is never writable: Linux's list plus `.git/hooks`
/// (which Linux finds per `.git` directory during its walk).
pub const DIRECTORIES: &[&str] = &[
    ".vscode",
    ".idea",
    ".claude/commands",
    ".claude/agents",
    ".git/hooks",
];

/// Denied unless the policy sets `allowGitConfig`.
pub const GIT_CONFIG: &str = ".git/config";

/// Anchored regexes for the write denies.
pub fn regexes(allow_git_config: bool) -> Vec<String> {
    let alt = |names: &[&str]| {
        names
            .iter()
            .map(|n| regex_literal_ci(n))
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut out = vec![
        format!("^/(.*/)?({})$", alt(FILES)),
        format!("^/(.*/)?({})(/.*)?$", alt(DIRECTORIES)),
    ];
    if !allow_git_config {
        out.push(format!("^/(.*/)?{}$", regex_literal_ci(GIT_CONFIG)));
    }
    out
}

/// The protected paths directly under `root`, whose ancestors (`root/.git`,
/// `root/.claude`, `root`, ...) must not be renamed: `mv .git x; mkdir -p
/// x/hooks; ...; mv x .git` would otherwise get around the name match.
pub fn under(root: &str, allow_git_config: bool) -> Vec<String> {
    let base = root.trim_end_matches('/');
    let mut out: Vec<String> = FILES
        .iter()
        .chain(DIRECTORIES)
        .map(|n| format!("{base}/{n}"))
        .collect();
    if !allow_git_config {
        out.push(format!("{base}/{GIT_CONFIG}"));
    }
    out
}
