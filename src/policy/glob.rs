//! Expanding `denyRead` / `allowRead` globs on Linux, the way srt 0.0.83 does.
//!
//! Mounts and Landlock rules name concrete paths, so a glob such as `~/.ssh/id_*` or
//! `~/src/**/*.pem` has to be turned into the paths it matches *when the sandbox is
//! planned*. Files created later are not covered; srt documents the same limit.
//!
//! # Pattern language
//!
//! A pattern is an absolute path whose components are matched one at a time:
//!
//! - `*` matches any run of characters inside one component (never `/`);
//! - `?` matches one character;
//! - `[abc]`, `[a-z]` match one character of a set; `[!a-z]` and `[^a-z]` negate it.
//!   A `[` runs to the first following `]`. A `[` with no `]`, an empty set (`[]`,
//!   `[!]`) and a backwards range (`[user-id]`: `r-i`) are not sets: the whole bracket
//!   is literal text, as in srt, so directory names like `[user-id]` keep working;
//! - `**` as a whole component matches any number of components, including none.
//!   Glued to other text (`a**b`) it is an ordinary `*`: it never crosses a `/`;
//! - a component with glob characters also matches an entry whose name is exactly the
//!   component's text, since srt also tries such entries as literal paths.
//!
//! Dotfiles are matched by `*`, `?` and `**` like any other name. srt turns `*` into
//! the regex `[^/]*` and never special-cases a leading dot, and for a deny list that is
//! the safe reading: `~/.config/*` must hide `~/.config/.secret` too.
//!
//! **Divergence from srt:** srt 0.0.83's parser does not treat `!`/`^` as negation
//! (`[!a]` is the set of `!` and `a`). srt-runc follows the shell convention and
//! negates, because that is what people who write `[!a]` mean.
//!
//! # Walk
//!
//! The pattern must start with a literal directory (`/home/*` is fine, `/*/x` and
//! `/**/*.pem` are refused): anything else means listing the whole filesystem at every
//! start. Literal components are joined and checked directly, so only the parts below
//! the first wildcard are listed. Each directory is listed at most once per pattern
//! position (keyed by device and inode, which also stops bind-mount loops). Symlinked
//! directories met through a wildcard are followed only after the real tree has been
//! walked, so a match is reported under its real spelling when it has one, and never
//! when they point at the directory holding them or one of its ancestors. Paths are
//! returned as spelled through the walk, not canonicalised; the planner resolves them.
//! A budget on listed entries turns a runaway pattern into an error instead of a hang.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::ffi::OsString;
use std::fs::{self, FileType};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::settings::PathEntry;

/// How many directory entries one expansion may list before it gives up.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Why a glob could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// Relative and `~` patterns must be resolved by the caller first.
    #[error("{field} \"{pattern}\": a glob must be an absolute path (resolve ~ and relative paths first)")]
    NotAbsolute { field: String, pattern: String },
    /// The first component has glob syntax, or the pattern is `/**`.
    #[error("{field} \"{pattern}\": a glob needs a literal first directory (it would scan the whole filesystem); start it with a directory such as ~/ or /home")]
    NoLiteralBase { field: String, pattern: String },
    /// The walk listed more entries than the budget allows.
    #[error("{field} \"{pattern}\": expanding it listed more than {limit} directory entries; narrow the pattern or deny the enclosing directory instead")]
    TooManyEntries {
        field: String,
        pattern: String,
        limit: usize,
    },
}

/// Knobs for [`expand_with`].
#[derive(Debug, Clone, Copy)]
pub struct ExpandOptions<'a> {
    /// The settings field the pattern came from, for messages (`filesystem.denyRead`).
    pub field: &'a str,
    /// The most directory entries the walk may list.
    pub max_entries: usize,
}

impl Default for ExpandOptions<'_> {
    fn default() -> Self {
        ExpandOptions {
            field: "glob",
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// What an expansion found, kept apart so that allow lists and deny lists can treat
/// unlistable directories differently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Existing paths the pattern matches, sorted. For a pattern ending in `/**`: the
    /// matched directories that are not empty (one deny each), not their contents.
    pub matches: Vec<PathBuf>,
    /// Directories the walk needed to list and could not, sorted. What they hold is
    /// unknown, so a deny list should cover them whole (fail closed).
    pub unlistable: Vec<PathBuf>,
}

/// True when the entry has glob syntax that makes it match more than its own text:
/// `*`, `?`, or a valid `[set]`. A `[` that forms no set (`/home/[user-id]`) is literal
/// text, so such an entry is a plain path.
pub fn is_glob(entry: &str) -> bool {
    entry
        .split('/')
        .any(|component| NamePattern::parse(component).has_wildcard())
}

/// [`is_glob`] for a settings entry: `{"path": ..., "literal": true}` is never a glob.
pub fn is_glob_entry(entry: &PathEntry) -> bool {
    !entry.literal() && is_glob(entry.path())
}

/// Strips a trailing `/**` (repeatedly), which write lists accept and treat as the
/// directory itself, because they take no other globs. `/**` becomes `/`.
pub fn strip_trailing_globstar(entry: &str) -> &str {
    let mut out = entry;
    while let Some(rest) = out.strip_suffix("/**") {
        out = rest;
    }
    if out.is_empty() && !entry.is_empty() {
        "/"
    } else {
        out
    }
}

/// Expands an absolute glob against the filesystem as it is now, with default options.
///
/// Returns the matching paths plus the directories the walk could not list (those
/// are denied whole, as srt does), sorted and deduplicated. This is the deny-list
/// reading; callers expanding an allow list should use [`expand_with`] and take only
/// [`Expansion::matches`].
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, GlobError> {
    let found = expand_with(pattern, &ExpandOptions::default())?;
    let all: BTreeSet<PathBuf> = found.matches.into_iter().chain(found.unlistable).collect();
    Ok(all.into_iter().collect())
}

/// Expands an absolute glob, keeping matches and unlistable directories apart.
pub fn expand_with(pattern: &str, opts: &ExpandOptions<'_>) -> Result<Expansion, GlobError> {
    let parsed = Parsed::parse(pattern).map_err(|kind| kind.into_error(opts.field, pattern))?;
    let mut walker = Walker::new(&parsed, opts.max_entries);
    walker
        .run()
        .map_err(|Exhausted| GlobError::TooManyEntries {
            field: opts.field.to_string(),
            pattern: pattern.to_string(),
            limit: opts.max_entries,
        })?;
    Ok(Expansion {
        matches: walker.matches.into_iter().collect(),
        unlistable: walker.unlistable.into_iter().collect(),
    })
}

// ---------------------------------------------------------------------------------------
// One path component.

/// One token of a component pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    AnyChar,
    /// `*` (runs collapsed, so matching stays linear-ish)
    Star,
    /// `[...]`: inclusive ranges; single characters are `(c, c)`.
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches_char(&self, c: char) -> bool {
        match self {
            Token::Char(x) => *x == c,
            Token::AnyChar => true,
            Token::Star => false,
            Token::Set { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A single component (`id_*`, `[a-c]?.pem`) compiled to tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NamePattern {
    raw: String,
    tokens: Vec<Token>,
}

impl NamePattern {
    fn parse(raw: &str) -> NamePattern {
        let chars: Vec<char> = raw.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::AnyChar);
                    i += 1;
                }
                '[' => i = parse_bracket(&chars, i, &mut tokens),
                c => {
                    tokens.push(Token::Char(c));
                    i += 1;
                }
            }
        }
        NamePattern {
            raw: raw.to_string(),
            tokens,
        }
    }

    fn has_wildcard(&self) -> bool {
        self.tokens.iter().any(|t| !matches!(t, Token::Char(_)))
    }

    /// Wildcard match with single-star backtracking: on a mismatch, let the most
    /// recent `*` swallow one more character and retry from there.
    fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let (mut t, mut s) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while s < name.len() {
            match self.tokens.get(t) {
                Some(Token::Star) => {
                    backtrack = Some((t, s));
                    t += 1;
                    continue;
                }
                Some(tok) if tok.matches_char(name[s]) => {
                    t += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
            match backtrack {
                Some((star_t, star_s)) => {
                    t = star_t + 1;
                    s = star_s + 1;
                    backtrack = Some((star_t, star_s + 1));
                }
                None => return false,
            }
        }
        self.tokens[t..].iter().all(|tok| *tok == Token::Star)
    }
}

/// Parses the bracket starting at `chars[start] == '['`, pushes its token(s) and
/// returns the index after it. Anything that is not a valid set is pushed as literal
/// characters, so `[user-id]` and an unclosed `[` keep meaning themselves.
fn parse_bracket(chars: &[char], start: usize, tokens: &mut Vec<Token>) -> usize {
    let Some(close) = chars[start + 1..].iter().position(|&c| c == ']') else {
        tokens.push(Token::Char('['));
        return start + 1;
    };
    let close = start + 1 + close;
    match parse_set(&chars[start + 1..close]) {
        Some(set) => tokens.push(set),
        None => tokens.extend(chars[start..=close].iter().map(|&c| Token::Char(c))),
    }
    close + 1
}

/// The body of a bracket (between `[` and `]`) as a set, or `None` when it is not one.
fn parse_set(body: &[char]) -> Option<Token> {
    let (negated, items) = match body.first() {
        Some('!') | Some('^') => (true, &body[1..]),
        _ => (false, body),
    };
    if items.is_empty() {
        return None;
    }
    let mut ranges = Vec::new();
    let mut j = 0;
    while j < items.len() {
        if j + 2 < items.len() && items[j + 1] == '-' {
            let (lo, hi) = (items[j], items[j + 2]);
            if lo > hi {
                return None;
            }
            ranges.push((lo, hi));
            j += 3;
        } else {
            ranges.push((items[j], items[j]));
            j += 1;
        }
    }
    Some(Token::Set { negated, ranges })
}

// ---------------------------------------------------------------------------------------
// The whole pattern.

/// One path component of a pattern.
#[derive(Debug, Clone)]
enum Segment {
    /// No glob syntax: joined and checked, never listed.
    Literal(String),
    Wild(NamePattern),
    /// `**` as a whole component.
    GlobStar,
}

/// A pattern split into components.
#[derive(Debug)]
struct Parsed {
    segments: Vec<Segment>,
    /// The pattern ended in `/**`: match the directories, meaning their whole subtree.
    subtree: bool,
}

/// Why a pattern was refused before walking (the message is built by the caller).
enum ParseError {
    NotAbsolute,
    NoLiteralBase,
}

impl ParseError {
    fn into_error(self, field: &str, pattern: &str) -> GlobError {
        let (field, pattern) = (field.to_string(), pattern.to_string());
        match self {
            ParseError::NotAbsolute => GlobError::NotAbsolute { field, pattern },
            ParseError::NoLiteralBase => GlobError::NoLiteralBase { field, pattern },
        }
    }
}

impl Parsed {
    fn parse(pattern: &str) -> Result<Parsed, ParseError> {
        if !pattern.starts_with('/') {
            return Err(ParseError::NotAbsolute);
        }
        let body = pattern.trim_end_matches('/');
        let stripped = strip_trailing_globstar(body);
        let subtree = stripped.len() != body.len();
        let mut segments: Vec<Segment> = Vec::new();
        for component in stripped.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let segment = if component == "**" {
                Segment::GlobStar
            } else {
                let name = NamePattern::parse(component);
                if name.has_wildcard() {
                    Segment::Wild(name)
                } else {
                    Segment::Literal(component.to_string())
                }
            };
            let repeated_globstar = matches!(
                (segments.last(), &segment),
                (Some(Segment::GlobStar), Segment::GlobStar)
            );
            if !repeated_globstar {
                segments.push(segment);
            }
        }
        let literal_base = matches!(segments.first(), Some(Segment::Literal(_)));
        let has_glob = subtree || segments.iter().any(|s| !matches!(s, Segment::Literal(_)));
        if has_glob && !literal_base {
            return Err(ParseError::NoLiteralBase);
        }
        Ok(Parsed { segments, subtree })
    }
}

// ---------------------------------------------------------------------------------------
// The filesystem walk.

/// The entry budget ran out.
struct Exhausted;

/// One directory entry as listed (the type is the entry's own, not a link target's).
struct Entry {
    name: OsString,
    file_type: FileType,
}

struct Walker<'a> {
    segments: &'a [Segment],
    subtree: bool,
    budget: usize,
    listed: usize,
    /// Directories already listed, by (device, inode, pattern position).
    listed_dirs: HashSet<(u64, u64, usize)>,
    /// Symlinked directories to walk once the real tree is done: (path, position).
    deferred: VecDeque<(PathBuf, usize)>,
    matches: BTreeSet<PathBuf>,
    unlistable: BTreeSet<PathBuf>,
}

impl<'a> Walker<'a> {
    fn new(parsed: &'a Parsed, budget: usize) -> Self {
        Walker {
            segments: &parsed.segments,
            subtree: parsed.subtree,
            budget,
            listed: 0,
            listed_dirs: HashSet::new(),
            deferred: VecDeque::new(),
            matches: BTreeSet::new(),
            unlistable: BTreeSet::new(),
        }
    }

    /// Walks the real tree from `/`, then the symlinked directories it met (which may
    /// lead to more).
    fn run(&mut self) -> Result<(), Exhausted> {
        self.visit(Path::new("/"), 0)?;
        while let Some((path, idx)) = self.deferred.pop_front() {
            self.visit(&path, idx)?;
        }
        Ok(())
    }

    /// `path` exists and matched the first `idx` segments; match the rest below it.
    fn visit(&mut self, path: &Path, idx: usize) -> Result<(), Exhausted> {
        let Some(segment) = self.segments.get(idx) else {
            self.accept(path);
            return Ok(());
        };
        match segment {
            Segment::Literal(name) => {
                let child = path.join(name);
                if self.is_last(idx) {
                    if fs::metadata(&child).is_ok() {
                        self.accept(&child);
                    }
                } else if is_dir(&child) {
                    self.visit(&child, idx + 1)?;
                }
            }
            Segment::Wild(name) => {
                let name = name.clone();
                let Some(entries) = self.list(path, idx)? else {
                    return Ok(());
                };
                for entry in entries {
                    let text = entry.name.to_string_lossy();
                    if name.matches(&text) || text == name.raw {
                        self.step(path, &entry, idx + 1)?;
                    }
                }
            }
            Segment::GlobStar => {
                // Listed first, so that a directory seen again (through a link) is
                // skipped whole, its zero-component match included.
                let Some(entries) = self.list(path, idx)? else {
                    return Ok(());
                };
                self.visit(path, idx + 1)?;
                for entry in entries {
                    self.descend(path, &entry, idx)?;
                }
            }
        }
        Ok(())
    }

    /// Continues from a listed entry that matched a wildcard segment.
    fn step(&mut self, parent: &Path, entry: &Entry, next: usize) -> Result<(), Exhausted> {
        let child = parent.join(&entry.name);
        if next == self.segments.len() {
            // A link that leads nowhere (or loops) has nothing to read through it.
            if !entry.file_type.is_symlink() || fs::metadata(&child).is_ok() {
                self.accept(&child);
            }
            return Ok(());
        }
        self.descend(parent, entry, next)
    }

    fn is_last(&self, idx: usize) -> bool {
        idx + 1 == self.segments.len()
    }

    /// Goes into `entry` at pattern position `idx`: a real directory now, a symlinked
    /// one later (see [`Walker::run`]) and only when it leads to a directory that is
    /// neither the one holding it nor above it.
    fn descend(&mut self, parent: &Path, entry: &Entry, idx: usize) -> Result<(), Exhausted> {
        let child = parent.join(&entry.name);
        if entry.file_type.is_dir() {
            return self.visit(&child, idx);
        }
        if entry.file_type.is_symlink() && is_dir(&child) && !points_up(parent, &child) {
            self.deferred.push_back((child, idx));
        }
        Ok(())
    }

    /// Records a path that matched the whole pattern.
    fn accept(&mut self, path: &Path) {
        if !self.subtree {
            self.matches.insert(path.to_path_buf());
            return;
        }
        // A `/**` pattern denies the directory's subtree. An empty directory has nothing
        // to deny (and as a tmpfs would swallow later writes); a file has no subtree.
        match fs::read_dir(path) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    self.matches.insert(path.to_path_buf());
                }
            }
            Err(e) if crate::policy::is_absent(&e) => {}
            Err(_) => {
                self.matches.insert(path.to_path_buf());
            }
        }
    }

    /// Lists `dir` sorted by name, or `None` when it was already listed at this pattern
    /// position. A directory that cannot be listed is recorded as unlistable and
    /// yields nothing.
    fn list(&mut self, dir: &Path, idx: usize) -> Result<Option<Vec<Entry>>, Exhausted> {
        let key = match fs::metadata(dir) {
            Ok(m) => (m.dev(), m.ino(), idx),
            Err(e) if crate::policy::is_absent(&e) => return Ok(None),
            Err(_) => {
                self.unlistable.insert(dir.to_path_buf());
                return Ok(None);
            }
        };
        if !self.listed_dirs.insert(key) {
            return Ok(None);
        }
        let reader = match fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if crate::policy::is_absent(&e) => return Ok(None),
            Err(_) => {
                self.unlistable.insert(dir.to_path_buf());
                return Ok(None);
            }
        };
        let mut entries = Vec::new();
        for item in reader {
            self.listed += 1;
            if self.listed > self.budget {
                return Err(Exhausted);
            }
            let Ok(item) = item else {
                self.unlistable.insert(dir.to_path_buf());
                continue;
            };
            match item.file_type() {
                Ok(file_type) => entries.push(Entry {
                    name: item.file_name(),
                    file_type,
                }),
                Err(_) => {
                    self.unlistable.insert(dir.to_path_buf());
                }
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(entries))
    }
}

/// Whether `link` leads to the directory holding it or one of its ancestors (a loop).
/// A link that cannot be resolved counts as one: there is nothing to walk through it.
fn points_up(parent: &Path, link: &Path) -> bool {
    match (fs::canonicalize(link), fs::canonicalize(parent)) {
        (Ok(target), Ok(here)) => here.starts_with(target),
        _ => true,
    }
}

/// Is a directory, following symlinks.
fn is_dir(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::policy::scratch::{without_dac_override, Scratch};

    /// The test tree; every pattern below is relative to its root.
    fn tree() -> Scratch {
        let t = Scratch::new();
        for f in [
            "u/.ssh/id_rsa",
            "u/.ssh/id_rsa.pub",
            "u/.ssh/id_ed25519",
            "u/.ssh/known_hosts",
            "u/.ssh/config",
            "u/.env",
            "u/notes.txt",
            "u/f1.txt",
            "u/f2.txt",
            "u/f10.txt",
            "u/fa.txt",
            "u/unclosed[x",
            "u/[user-id]/data.txt",
            "u/br/a",
            "u/br/b",
            "u/br/c",
            "u/br/[ab]",
            "u/proj/key.pem",
            "u/proj/.hidden.pem",
            "u/proj/src/main.rs",
            "u/proj/src/deep/x.pem",
            "u/proj/src/deep/deeper/y.pem",
            "u/proj/build/out.o",
            "u/proj/sub/build/art.o",
            "u/cyc/d1/z",
        ] {
            t.file(f);
        }
        t.dir("u/proj/empty");
        t.dir("u/loop");
        t.link("u/link-proj", "proj");
        t.link("u/loop/self", "..");
        t.link("u/loop/up", "../loop");
        t.link("u/cyc/d1/to2", "../d2");
        t.dir("u/cyc/d2");
        t.link("u/cyc/d2/to1", "../d1");
        t.link("u/dangling", "/nonexistent-srt-glob-target");
        t
    }

    /// The matches of `rel` under the tree, relative to its root.
    fn run(t: &Scratch, rel: &str) -> Vec<String> {
        expand(&t.pat(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .iter()
            .map(|p| {
                p.strip_prefix(&t.0)
                    .unwrap_or_else(|_| panic!("{} outside the tree", p.display()))
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn expansion_table() {
        let t = tree();
        let rows: &[(&str, &[&str])] = &[
            // `*` within one component, dotfiles included.
            (
                "u/.ssh/id_*",
                &["u/.ssh/id_ed25519", "u/.ssh/id_rsa", "u/.ssh/id_rsa.pub"],
            ),
            (
                "u/.ssh/*",
                &[
                    "u/.ssh/config",
                    "u/.ssh/id_ed25519",
                    "u/.ssh/id_rsa",
                    "u/.ssh/id_rsa.pub",
                    "u/.ssh/known_hosts",
                ],
            ),
            ("u/*env", &["u/.env"]),
            ("u/.e*", &["u/.env"]),
            (
                "u/*.txt",
                &[
                    "u/f1.txt",
                    "u/f10.txt",
                    "u/f2.txt",
                    "u/fa.txt",
                    "u/notes.txt",
                ],
            ),
            // `**` glued to text is a plain `*`: it does not cross `/`.
            (
                "u/f**.txt",
                &["u/f1.txt", "u/f10.txt", "u/f2.txt", "u/fa.txt"],
            ),
            // `?` is exactly one character.
            ("u/.ssh/id_???", &["u/.ssh/id_rsa"]),
            ("u/f?.txt", &["u/f1.txt", "u/f2.txt", "u/fa.txt"]),
            // Sets, ranges and negated sets (both spellings).
            ("u/f[0-9].txt", &["u/f1.txt", "u/f2.txt"]),
            ("u/f[12]*.txt", &["u/f1.txt", "u/f10.txt", "u/f2.txt"]),
            ("u/f[!0-9].txt", &["u/fa.txt"]),
            ("u/f[^0-9].txt", &["u/fa.txt"]),
            // A set also matches an entry literally named like the pattern.
            ("u/br/[ab]", &["u/br/[ab]", "u/br/a", "u/br/b"]),
            // An unclosed `[` is literal.
            ("u/unclosed[x", &["u/unclosed[x"]),
            ("u/unclosed[*", &["u/unclosed[x"]),
            // `[user-id]` is a backwards range, so literal text.
            ("u/[user-id]/*", &["u/[user-id]/data.txt"]),
            // Directories match as well as files.
            ("u/proj/src/*", &["u/proj/src/deep", "u/proj/src/main.rs"]),
            // `**` in the middle, including zero components.
            (
                "u/proj/**/*.pem",
                &[
                    "u/proj/.hidden.pem",
                    "u/proj/key.pem",
                    "u/proj/src/deep/deeper/y.pem",
                    "u/proj/src/deep/x.pem",
                ],
            ),
            ("u/proj/**/src", &["u/proj/src"]),
            ("u/proj/src/**/y.pem", &["u/proj/src/deep/deeper/y.pem"]),
            // `**` right after the base; the symlinked copy of proj adds nothing.
            (
                "u/**/*.pem",
                &[
                    "u/proj/.hidden.pem",
                    "u/proj/key.pem",
                    "u/proj/src/deep/deeper/y.pem",
                    "u/proj/src/deep/x.pem",
                ],
            ),
            ("u/**/deeper", &["u/proj/src/deep/deeper"]),
            // A literal component through a symlinked directory is followed.
            (
                "u/link-proj/*.pem",
                &["u/link-proj/.hidden.pem", "u/link-proj/key.pem"],
            ),
            ("u/*/key.pem", &["u/link-proj/key.pem", "u/proj/key.pem"]),
            // Trailing `/**`: the non-empty directories themselves.
            ("u/proj/**", &["u/proj"]),
            ("u/proj/*/**", &["u/proj/build", "u/proj/src", "u/proj/sub"]),
            ("u/proj/**/build/**", &["u/proj/build", "u/proj/sub/build"]),
            ("u/proj/empty/**", &[]),
            ("u/proj/key.pem/**", &[]),
            // Links back up the tree are matched but never walked through.
            ("u/loop/**/*", &["u/loop/self", "u/loop/up"]),
            // Two directories linking to each other: each walked once.
            ("u/cyc/**/z", &["u/cyc/d1/z"]),
            // A dangling link matches nothing.
            ("u/dangl*", &[]),
            ("u/nomatch*", &[]),
            // A plain path expands to itself when it exists.
            ("u/.ssh/id_rsa", &["u/.ssh/id_rsa"]),
            ("u/.ssh/missing", &[]),
        ];
        let mut failures = Vec::new();
        for (pattern, want) in rows {
            let got = run(&t, pattern);
            if got != *want {
                failures.push(format!("{pattern}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn missing_base_matches_nothing() {
        assert_eq!(
            expand("/nonexistent-srt-glob-base/*").unwrap(),
            Vec::<PathBuf>::new()
        );
    }

    #[test]
    fn needs_a_literal_first_directory() {
        for pattern in ["/**/*.pem", "/*/x", "/**", "/[a-z]*/etc"] {
            let err = expand(pattern).unwrap_err();
            assert!(
                matches!(err, GlobError::NoLiteralBase { .. }),
                "{pattern}: {err}"
            );
        }
        let opts = ExpandOptions {
            field: "filesystem.denyRead",
            ..ExpandOptions::default()
        };
        assert_eq!(
            expand_with("/**/*.pem", &opts).unwrap_err().to_string(),
            "filesystem.denyRead \"/**/*.pem\": a glob needs a literal first directory \
             (it would scan the whole filesystem); start it with a directory such as ~/ or /home"
        );
    }

    #[test]
    fn relative_patterns_are_refused() {
        for pattern in ["src/*.pem", "~/.ssh/*", ""] {
            assert!(matches!(
                expand(pattern),
                Err(GlobError::NotAbsolute { .. })
            ));
        }
    }

    #[test]
    fn budget_turns_a_huge_walk_into_an_error() {
        let t = tree();
        let opts = ExpandOptions {
            field: "filesystem.denyRead",
            max_entries: 5,
        };
        let err = expand_with(&t.pat("u/**/*"), &opts).unwrap_err();
        assert!(matches!(err, GlobError::TooManyEntries { limit: 5, .. }));
        assert!(err.to_string().contains("more than 5"), "{err}");
        // The same pattern fits the default budget.
        assert!(expand(&t.pat("u/**/*")).is_ok());
    }

    #[test]
    fn unlistable_directories_are_kept_apart() {
        use std::os::unix::fs::PermissionsExt;
        let t = Scratch::new();
        t.file("locked/secret.pem");
        t.file("open/a.pem");
        let locked = t.0.join("locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let pattern = t.pat("*/*.pem");
        let found =
            without_dac_override(|| expand_with(&pattern, &ExpandOptions::default()).unwrap());
        let all = without_dac_override(|| expand(&pattern).unwrap());
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(found.matches, vec![t.0.join("open/a.pem")]);
        assert_eq!(found.unlistable, vec![locked.clone()]);
        // The deny-list reading covers the unlistable directory whole.
        assert_eq!(all, vec![locked, t.0.join("open/a.pem")]);
    }

    #[test]
    fn glob_detection() {
        let rows = [
            ("/a/*", true),
            ("/a/?.txt", true),
            ("/a/[ab]", true),
            ("/a/[!a]", true),
            ("/a/**", true),
            ("/a/b", false),
            ("/home/[user-id]", false),
            ("/a/unclosed[", false),
            ("/a/[]", false),
            ("/a/[!]", false),
        ];
        for (entry, want) in rows {
            assert_eq!(is_glob(entry), want, "{entry}");
        }
        assert!(is_glob_entry(&PathEntry::from("/a/*")));
        let literal: PathEntry =
            serde_json::from_str(r#"{"path": "/a/*", "literal": true}"#).unwrap();
        assert!(!is_glob_entry(&literal));
    }

    #[test]
    fn trailing_globstar_is_stripped() {
        let rows = [
            ("/a/b/**", "/a/b"),
            ("/a/**/**", "/a"),
            ("/**", "/"),
            ("/a/b", "/a/b"),
            ("/a/**/x", "/a/**/x"),
            ("", ""),
        ];
        for (entry, want) in rows {
            assert_eq!(strip_trailing_globstar(entry), want, "{entry}");
        }
    }

    #[test]
    fn component_matching() {
        let rows = [
            ("*", ".hidden", true),
            ("*.pem", "a.pem", true),
            ("*.pem", "a.pem.bak", false),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "acb", false),
            ("?", "", false),
            ("[a-c]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("[!a-c]x", "dx", true),
            ("[-a]", "-", true),
            ("[a-]", "-", true),
            ("[z-a]", "[z-a]", true),
            ("[z-a]", "z", false),
            ("x[", "x[", true),
            ("é?", "éa", true),
        ];
        for (pattern, name, want) in rows {
            assert_eq!(
                NamePattern::parse(pattern).matches(name),
                want,
                "{pattern} vs {name}"
            );
        }
    }
}
