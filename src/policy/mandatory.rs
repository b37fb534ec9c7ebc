//! The mandatory deny scan: files and directories a sandboxed command must never write
//! even inside a writable directory (srt's "dangerous files"), found without ripgrep.
//!
//! A write to `.bashrc`, `.git/hooks/pre-commit` or `.vscode/settings.json` becomes code
//! that the *host* runs later, outside the sandbox. srt therefore denies writes to these
//! names below the working directory and every writable directory, however the policy
//! reads. srt 0.0.83 finds them with one `rg --files --hidden --no-ignore` call; this
//! module walks the tree itself with the same reach.
//!
//! # Semantics (and where they differ from srt 0.0.83)
//!
//! - **Depth.** An entry directly inside a root has depth 1. Dangerous files *and*
//!   dangerous directories are found down to `depth` (srt's `mandatoryDenySearchDepth`,
//!   default 3). srt gets the same reach by running rg with `--max-depth depth + 1` and
//!   counting a directory from the files inside it, so a directory "counts one level
//!   shallower" than a file. Unlike rg, the walk also finds an *empty* dangerous
//!   directory, which is exactly the one a command would fill next.
//! - **`.git`.** A `.git` directory found at depth ≤ `depth` yields `.git/hooks` (always)
//!   and `.git/config` (unless `allowGitConfig`), when they exist. srt only sees them one
//!   level shallower (they are one level below `.git`); protecting a `.git` at the last
//!   level too costs a mount and closes a gap. A `.git` that is not a directory (the
//!   `gitdir:` file of a worktree or submodule, or a dangling link) is denied itself, at
//!   any depth. `.git` is listed once to find `hooks` and `config` (compared
//!   case-insensitively, like every name here) but not walked further: nothing else in
//!   it is a file the host runs.
//! - **Names** compare ASCII-case-insensitively (rg's `--iglob`), so `.BashRC` and
//!   `.VSCode` count. `.claude/commands` matches on the entry and its parent's name,
//!   which may be the root's own name (a writable `.claude` directory counts). A dangerous name is denied whatever its type, symlinks included
//!   (a write through a `.bashrc` link lands on the host file it names).
//! - **Not walked:** directories named `node_modules` (exact case, as srt's `-g`),
//!   symlinked directories, and the inside of anything already denied. `.gitignore` is
//!   not honoured (honouring it was srt 0.0.21's bypass).
//! - **Fail closed:** a directory the walk cannot list is denied whole. When the entry
//!   budget runs out, [`Scan::truncated`] is set and the directories not yet listed are
//!   in [`Scan::unscanned`]; the caller must deny those or refuse to run.
//!
//! # Missing paths
//!
//! A deny on a path that does not exist yet must still stop the command from creating
//! it. At each root (not below it) [`Scan::missing`] lists every dangerous file name,
//! every dangerous directory and, when `root/.git` is a directory, its absent `hooks`
//! and `config`. When an intermediate component is missing too (`.claude` for
//! `.claude/commands`), the *first missing component* is listed, once: that is where
//! srt 0.0.83 puts its empty read-only directory, so this blocks exactly what srt
//! blocks (all of `.claude`) and no more, and the planner needs no host directories
//! created to protect the deeper path. A component that exists but is not a directory
//! ends the path: nothing can be created beneath it.

use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsStr;
use std::fs::{self, FileType};
use std::io;
use std::path::{Path, PathBuf};

/// Files whose contents the host runs or trusts (shell start-up, git, ripgrep, MCP).
pub const DANGEROUS_FILES: &[&str] = &[
    ".gitconfig",
    ".gitmodules",
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".zprofile",
    ".profile",
    ".ripgreprc",
    ".mcp.json",
];

/// Directories whose contents the host runs or trusts (editor tasks, agent commands).
/// Entries with a `/` match the trailing components of a path.
pub const DANGEROUS_DIRS: &[&str] = &[".vscode", ".idea", ".claude/commands", ".claude/agents"];

/// srt's default `mandatoryDenySearchDepth`.
pub const DEFAULT_DEPTH: u32 = 3;

/// How many directory entries one scan may look at before it stops.
pub const DEFAULT_MAX_ENTRIES: usize = 200_000;

/// What the scan found; every path is absolute and every list sorted and deduplicated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Existing paths to make read-only: dangerous files and directories, `.git/hooks`,
    /// `.git/config`, `.git` files, and directories that could not be listed.
    pub existing: Vec<PathBuf>,
    /// Paths at the roots that do not exist and must not become creatable.
    pub missing: Vec<PathBuf>,
    /// The entry budget ran out before the walk finished.
    pub truncated: bool,
    /// Directories left unlisted because of the budget (empty unless `truncated`).
    pub unscanned: Vec<PathBuf>,
}

/// Scans every root (the working directory and each writable directory) to `depth`
/// levels with the default entry budget. Roots that are not directories are skipped.
pub fn scan(roots: &[PathBuf], depth: u32, allow_git_config: bool) -> Scan {
    scan_with_budget(roots, depth, allow_git_config, DEFAULT_MAX_ENTRIES)
}

/// [`scan`] with an explicit budget of directory entries.
pub fn scan_with_budget(
    roots: &[PathBuf],
    depth: u32,
    allow_git_config: bool,
    max_entries: usize,
) -> Scan {
    scan_inner(roots, depth, allow_git_config, max_entries, true, true)
}

/// Only the walk: existing dangerous paths beneath `roots` (no `missing` list, which
/// costs a stat per protected name per root).
pub fn scan_existing(roots: &[PathBuf], depth: u32, allow_git_config: bool) -> Scan {
    scan_inner(
        roots,
        depth,
        allow_git_config,
        DEFAULT_MAX_ENTRIES,
        false,
        true,
    )
}

/// Only the protected paths missing directly at `root` (no walk).
pub fn scan_missing(root: &Path, allow_git_config: bool) -> Vec<PathBuf> {
    scan_inner(
        &[root.to_path_buf()],
        1,
        allow_git_config,
        DEFAULT_MAX_ENTRIES,
        true,
        false,
    )
    .missing
}

fn scan_inner(
    roots: &[PathBuf],
    depth: u32,
    allow_git_config: bool,
    max_entries: usize,
    want_missing: bool,
    want_walk: bool,
) -> Scan {
    let mut scanner = Scanner {
        depth: depth.max(1),
        allow_git_config,
        budget: max_entries,
        seen: 0,
        existing: BTreeSet::new(),
        missing: BTreeSet::new(),
        unscanned: BTreeSet::new(),
        truncated: false,
    };
    for root in roots {
        if is_dir(root) {
            if want_missing {
                scanner.missing_at_root(root);
            }
            if want_walk {
                scanner.walk(root);
            }
        }
    }
    Scan {
        existing: scanner.existing.into_iter().collect(),
        missing: scanner.missing.into_iter().collect(),
        truncated: scanner.truncated,
        unscanned: scanner.unscanned.into_iter().collect(),
    }
}

struct Scanner {
    depth: u32,
    allow_git_config: bool,
    budget: usize,
    seen: usize,
    existing: BTreeSet<PathBuf>,
    missing: BTreeSet<PathBuf>,
    unscanned: BTreeSet<PathBuf>,
    truncated: bool,
}

impl Scanner {
    /// Breadth first, so that a budget overrun leaves the shallow levels complete.
    fn walk(&mut self, root: &Path) {
        let mut queue = VecDeque::from([(root.to_path_buf(), 0u32)]);
        while let Some((dir, level)) = queue.pop_front() {
            if self.truncated {
                self.unscanned.insert(dir);
                continue;
            }
            let Some(entries) = self.list(&dir) else {
                continue;
            };
            for (name, file_type) in entries {
                if let Some(child) = self.classify(&dir, &name, file_type, level + 1) {
                    queue.push_back((child, level + 1));
                }
            }
        }
    }

    /// Records what `parent/name` (at `level`) means; returns its path when the walk
    /// goes into it. The path is built only then or when recorded: most entries of a
    /// big project are plain files that cost a few comparisons and no allocation.
    fn classify(
        &mut self,
        parent: &Path,
        name: &OsStr,
        file_type: FileType,
        level: u32,
    ) -> Option<PathBuf> {
        if name_is(name, ".git") {
            self.git_entry(&parent.join(name));
            return None;
        }
        if is_dangerous_file(name) || is_dangerous_dir(parent, name) {
            self.existing.insert(parent.join(name));
            return None;
        }
        (file_type.is_dir() && name != "node_modules" && level < self.depth)
            .then(|| parent.join(name))
    }

    /// A `.git` directory yields its hooks and config (names compared case-insensitively,
    /// as rg's `--iglob` does); anything else named `.git` is denied itself, since a
    /// `gitdir:` file can point git at hooks anywhere. A `.git` that cannot be listed is
    /// denied whole by [`Scanner::list`].
    fn git_entry(&mut self, git: &Path) {
        if !is_dir(git) {
            self.existing.insert(git.to_path_buf());
            return;
        }
        let Some(entries) = self.list(git) else {
            return;
        };
        for (name, _) in entries {
            if name_is(&name, "hooks") || (!self.allow_git_config && name_is(&name, "config")) {
                self.existing.insert(git.join(name));
            }
        }
    }

    /// The protected paths at `root` that do not exist yet.
    fn missing_at_root(&mut self, root: &Path) {
        for name in DANGEROUS_FILES.iter().chain(DANGEROUS_DIRS) {
            if let Some(path) = first_missing(root, name) {
                self.missing.insert(path);
            }
        }
        let git = root.join(".git");
        if !is_dir(&git) {
            return;
        }
        for (name, deny) in [("hooks", true), ("config", !self.allow_git_config)] {
            let path = git.join(name);
            if deny && presence(&path) == Presence::Absent {
                self.missing.insert(path);
            }
        }
    }

    /// Lists `dir` sorted by name, or records why it cannot: unreadable directories are
    /// denied whole, and an overrun budget marks the scan truncated.
    fn list(&mut self, dir: &Path) -> Option<Vec<(std::ffi::OsString, FileType)>> {
        let reader = match fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if crate::policy::is_absent(&e) => return None,
            Err(_) => {
                self.existing.insert(dir.to_path_buf());
                return None;
            }
        };
        let mut entries = Vec::new();
        for item in reader {
            self.seen += 1;
            if self.seen > self.budget {
                self.truncated = true;
                self.unscanned.insert(dir.to_path_buf());
                return None;
            }
            match item.and_then(|i| Ok((i.file_name(), i.file_type()?))) {
                Ok(entry) => entries.push(entry),
                Err(_) => {
                    self.existing.insert(dir.to_path_buf());
                    return None;
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Some(entries)
    }
}

/// ASCII-case-insensitive name comparison (what rg's `--iglob` does).
fn name_is(name: &OsStr, wanted: &str) -> bool {
    name.as_encoded_bytes()
        .eq_ignore_ascii_case(wanted.as_bytes())
}

fn is_dangerous_file(name: &OsStr) -> bool {
    DANGEROUS_FILES.iter().any(|f| name_is(name, f))
}

/// Whether `parent/name` ends with one of [`DANGEROUS_DIRS`], component by component.
/// `name` is compared with the last component in place (no splitting), since nearly
/// every entry of a walk fails right there.
fn is_dangerous_dir(parent: &Path, name: &OsStr) -> bool {
    let name = name.as_encoded_bytes();
    DANGEROUS_DIRS.iter().any(|dir| {
        let Some(at) = dir.len().checked_sub(name.len()) else {
            return false;
        };
        let bytes = dir.as_bytes();
        if !bytes[at..].eq_ignore_ascii_case(name) || (at > 0 && bytes[at - 1] != b'/') {
            return false;
        }
        let mut ancestors = parent.iter().rev();
        at == 0
            || dir[..at - 1]
                .rsplit('/')
                .all(|w| ancestors.next().is_some_and(|a| name_is(a, w)))
    })
}

/// The first component of `root/rel` that does not exist, if the rest could then be
/// created; `None` when the whole path exists or a component is not a directory.
fn first_missing(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let mut components = rel.split('/').peekable();
    while let Some(component) = components.next() {
        path.push(component);
        match presence(&path) {
            Presence::Absent => return Some(path),
            Presence::Unknown => return None,
            Presence::Present if components.peek().is_some() && !is_dir(&path) => return None,
            Presence::Present => {}
        }
    }
    None
}

/// Whether a path exists, without following a final symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Present,
    Absent,
    /// The lookup failed for another reason (permissions).
    Unknown,
}

fn presence(path: &Path) -> Presence {
    match fs::symlink_metadata(path) {
        Ok(_) => Presence::Present,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Presence::Absent,
        Err(_) => Presence::Unknown,
    }
}

/// Is a directory, following symlinks.
fn is_dir(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
}

/// Follows the symlinks in `path` as the kernel would when opening it, but lets any
/// component be missing (like `realpath -m`): returns where it leads and every symlink
/// passed on the way (the path itself first, if it is one). A protected name that is a
/// symlink protects nothing by itself; what it leads to must be kept too, and so must
/// the links, which could otherwise be re-pointed.
///
/// `base` is an ancestor of `path` known to hold no symlink (a canonical writable root,
/// or `/`): the walk starts there, so only the components below it cost a `readlink`.
pub fn resolve_lenient(base: &Path, path: &Path) -> (PathBuf, Vec<PathBuf>) {
    use std::path::Component;
    let (start, rest) = match path.strip_prefix(base) {
        Ok(rest) => (base, rest),
        Err(_) => (Path::new("/"), path),
    };
    let mut links = Vec::new();
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = rest
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut cur = start.to_path_buf();
    let mut hops = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        match std::fs::read_link(&next) {
            // The kernel's own limit on links followed in one lookup.
            Ok(target) if hops < 40 => {
                hops += 1;
                links.push(next);
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => todo.push_front(n.to_os_string()),
                        Component::ParentDir => todo.push_front("..".into()),
                        _ => {}
                    }
                }
            }
            _ => cur = next,
        }
    }
    (cur, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::policy::scratch::{without_dac_override, Scratch};

    /// A project with dangerous names at depths 1 to 4.
    fn project() -> Scratch {
        let t = Scratch::new();
        for f in [
            "p/.bashrc",
            "p/.git/HEAD",
            "p/.git/config",
            "p/.git/hooks/pre-commit",
            "p/.git/objects/ab/cdef",
            "p/.vscode/settings.json",
            "p/a/.ZSHRC",
            "p/a/b/.profile",
            "p/a/b/c/.gitconfig",
            "p/a/b/c/.vscode/tasks.json",
            "p/a/.claude/commands/x.md",
            "p/a/.claude/settings.json",
            "p/a/b/.claude/agents/y.md",
            "p/node_modules/pkg/.bashrc",
            "p/node_modules/.mcp.json",
            "p/sub/.git",
            "p/nested/.git/config",
            "p/nested/.git/HEAD",
            "p/deep/x/.git/hooks/post-merge",
            "p/src/main.rs",
            "outside/.bashrc",
            "outside/.vscode/settings.json",
        ] {
            t.file(f);
        }
        t.dir("p/a/b/.idea");
        t.link("p/linked", "a/b");
        t.link("p/ext", "../outside");
        t.link("p/.mcp.json", "/nonexistent-srt-scan-target");
        t
    }

    #[test]
    fn finds_dangerous_paths_to_the_depth_limit() {
        let t = project();
        let got = scan(&[t.root("p")], DEFAULT_DEPTH, false);
        assert_eq!(
            t.rel(&got.existing),
            [
                "p/.bashrc",
                "p/.git/config",
                "p/.git/hooks",
                "p/.mcp.json",
                "p/.vscode",
                "p/a/.ZSHRC",
                "p/a/.claude/commands",
                "p/a/b/.idea",
                "p/a/b/.profile",
                "p/deep/x/.git/hooks",
                "p/nested/.git/config",
                "p/sub/.git",
            ]
        );
        assert_eq!(
            t.rel(&got.missing),
            [
                "p/.bash_profile",
                "p/.claude",
                "p/.gitconfig",
                "p/.gitmodules",
                "p/.idea",
                "p/.profile",
                "p/.ripgreprc",
                "p/.zprofile",
                "p/.zshrc",
            ]
        );
        assert!(!got.truncated);
        assert!(got.unscanned.is_empty());
    }

    #[test]
    fn depth_parameter_moves_the_limit() {
        let t = project();
        let deep = scan(&[t.root("p")], 4, false);
        for want in [
            "p/a/b/c/.gitconfig",
            "p/a/b/c/.vscode",
            "p/a/b/.claude/agents",
        ] {
            assert!(deep.existing.contains(&t.root(want)), "{want}");
        }
        let shallow = scan(&[t.root("p")], 1, false);
        assert_eq!(
            t.rel(&shallow.existing),
            [
                "p/.bashrc",
                "p/.git/config",
                "p/.git/hooks",
                "p/.mcp.json",
                "p/.vscode",
            ]
        );
        // Depth 0 is treated as 1: the root's own entries are always checked.
        assert_eq!(scan(&[t.root("p")], 0, false).existing, shallow.existing);
    }

    #[test]
    fn allow_git_config_keeps_hooks_denied() {
        let t = project();
        let got = scan(&[t.root("p")], DEFAULT_DEPTH, true);
        let existing = t.rel(&got.existing);
        assert!(existing.contains(&"p/.git/hooks".to_string()));
        assert!(existing.contains(&"p/deep/x/.git/hooks".to_string()));
        assert!(!existing.iter().any(|p| p.ends_with(".git/config")));
    }

    #[test]
    fn git_directory_without_hooks_or_config() {
        let t = Scratch::new();
        t.file("r/.git/HEAD");
        let got = scan(&[t.root("r")], DEFAULT_DEPTH, false);
        assert!(got.existing.is_empty(), "{:?}", got.existing);
        let git: Vec<String> = t
            .rel(&got.missing)
            .into_iter()
            .filter(|p| p.contains(".git/"))
            .collect();
        assert_eq!(git, ["r/.git/config", "r/.git/hooks"]);

        let allowed = scan(&[t.root("r")], DEFAULT_DEPTH, true);
        assert!(allowed.missing.contains(&t.root("r/.git/hooks")));
        assert!(!allowed.missing.contains(&t.root("r/.git/config")));
    }

    #[test]
    fn git_file_is_denied_itself() {
        let t = Scratch::new();
        fs::create_dir_all(t.root("w")).unwrap();
        fs::write(t.root("w/.git"), b"gitdir: /elsewhere/.git/worktrees/w\n").unwrap();
        let got = scan(&[t.root("w")], DEFAULT_DEPTH, false);
        assert_eq!(t.rel(&got.existing), ["w/.git"]);
        assert!(!got.missing.iter().any(|p| p.starts_with(t.root("w/.git"))));
    }

    #[test]
    fn missing_paths_stop_at_the_first_missing_component() {
        let t = Scratch::new();
        t.dir("r/.claude");
        t.file("s/.claude");
        t.file("s/.vscode");
        let got = scan(&[t.root("r"), t.root("s")], DEFAULT_DEPTH, false);
        let claude = |root: &str| -> Vec<String> {
            t.rel(&got.missing)
                .into_iter()
                .filter(|p| p.starts_with(root) && p.contains("claude"))
                .collect()
        };
        // `.claude` exists: the two directories themselves are protected.
        assert_eq!(claude("r/"), ["r/.claude/agents", "r/.claude/commands"]);
        // `.claude` is a file: nothing can be created below it.
        assert!(claude("s/").is_empty());
        // Names that exist, whatever their type, are never "missing".
        assert!(!got.missing.contains(&t.root("s/.vscode")));
        assert!(got.existing.contains(&t.root("s/.vscode")));
    }

    #[test]
    fn empty_root_lists_every_protected_name_as_missing() {
        let t = Scratch::new();
        t.dir("e");
        let got = scan(&[t.root("e")], DEFAULT_DEPTH, false);
        assert!(got.existing.is_empty());
        let mut want: Vec<String> = DANGEROUS_FILES
            .iter()
            .chain(&[".vscode", ".idea", ".claude"])
            .map(|n| format!("e/{n}"))
            .collect();
        want.sort();
        assert_eq!(t.rel(&got.missing), want);
    }

    #[test]
    fn symlinked_directories_and_node_modules_are_not_walked() {
        let t = project();
        let got = scan(&[t.root("p")], 5, false);
        for path in &got.existing {
            let rel = path.strip_prefix(&t.0).unwrap();
            assert!(
                !rel.starts_with("p/linked")
                    && !rel.starts_with("p/ext")
                    && !rel.starts_with("p/node_modules")
                    && !rel.starts_with("outside"),
                "{}",
                rel.display()
            );
        }
        // A root given through a symlink is scanned (the caller chose it).
        let via_link = scan(&[t.root("p/linked")], DEFAULT_DEPTH, false);
        assert!(via_link.existing.contains(&t.root("p/linked/.profile")));
    }

    #[test]
    fn case_variants_count() {
        let t = Scratch::new();
        t.file("r/.BashRC");
        t.file("r/x/.VSCode/settings.json");
        t.file("r/x/.CLAUDE/Commands/a.md");
        t.file("r/y/.GIT/HOOKS/pre-push");
        let got = scan(&[t.root("r")], DEFAULT_DEPTH, false);
        assert_eq!(
            t.rel(&got.existing),
            [
                "r/.BashRC",
                "r/x/.CLAUDE/Commands",
                "r/x/.VSCode",
                "r/y/.GIT/HOOKS"
            ]
        );
        // `.bashrc` in lower case does not exist on a case-sensitive filesystem.
        assert!(got.missing.contains(&t.root("r/.bashrc")));
        // Nor does `.git/hooks` beside `.GIT/HOOKS`, but only the root's `.git` counts.
        assert!(!got.missing.iter().any(|p| p.starts_with(t.root("r/y"))));
    }

    #[test]
    fn roots_that_are_not_directories_are_skipped_and_overlaps_merge() {
        let t = project();
        t.file("plain");
        let roots = [
            t.root("p"),
            t.root("p/a"),
            t.root("p"),
            t.root("plain"),
            t.root("nonexistent"),
        ];
        let got = scan(&roots, DEFAULT_DEPTH, false);
        let once = scan(&[t.root("p"), t.root("p/a")], DEFAULT_DEPTH, false);
        assert_eq!(got, once);
        // Rooted at p/a, the walk reaches one level deeper below it.
        assert!(got.existing.contains(&t.root("p/a/b/c/.gitconfig")));
        assert!(got.missing.contains(&t.root("p/a/.bashrc")));
    }

    #[test]
    fn budget_overrun_is_reported() {
        let t = project();
        let got = scan_with_budget(&[t.root("p")], DEFAULT_DEPTH, false, 12);
        assert!(got.truncated);
        assert!(!got.unscanned.is_empty());
        // What was found before the budget ran out is kept.
        assert!(got.existing.contains(&t.root("p/.bashrc")));
    }

    #[test]
    fn unreadable_directories_are_denied_whole() {
        use std::os::unix::fs::PermissionsExt;
        let t = Scratch::new();
        t.file("r/locked/.bashrc");
        t.file("r/open/.zshrc");
        let locked = t.root("r/locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let root = t.root("r");
        let got = without_dac_override(|| scan(&[root], DEFAULT_DEPTH, false));
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(t.rel(&got.existing), ["r/locked", "r/open/.zshrc"]);
    }
}
