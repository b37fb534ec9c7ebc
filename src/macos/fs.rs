//! The file-system part of the profile. Seatbelt applies the *last* matching rule,
//! so the order below is the policy:
//!
//! 1. reads: allow all, deny `denyRead`, re-allow `allowRead`, then repeat the denies
//!    that must still win (those not overridden by a more specific `allowRead`);
//! 2. writes: allow the writable paths, then deny `denyWrite` and the mandatory names;
//! 3. moves: deny `file-write-unlink` on protected paths and on every ancestor of
//!    them, so that a denied path cannot be renamed away (or its parent renamed and
//!    recreated) to get around a rule that matches by path (srt.md 7.2 item 11).

use super::glob::{glob_to_regex, static_prefix, Extent};
use super::paths::{ancestors, within, Entries};
use super::sbpl::Writer;
use super::{mandatory, MacosError};
use crate::policy::FilesystemSettings;
use std::collections::BTreeSet;

/// Write paths every run gets besides `allowWrite` and its temp dir: the standard
/// output streams by name (`echo >/dev/stderr`). `/dev/null` & co. are in `base`.
pub const DEFAULT_WRITE_FILES: &[&str] = &["/dev/stdout", "/dev/stderr"];

/// What the file rules depend on besides the policy.
#[derive(Debug, Clone, Copy)]
pub struct FsContext<'a> {
    /// The command's working directory: mandatory denies are pinned below it too.
    pub cwd: &'a str,
    /// The run's private temp dir (`TMPDIR`), always writable.
    pub tmp_dir: Option<&'a str>,
}

/// Emits the file rules for `fs` (`None`: srt's defaults, i.e. no extra paths).
pub fn write(
    w: &mut Writer,
    fs: Option<&FilesystemSettings>,
    ctx: FsContext<'_>,
) -> Result<(), MacosError> {
    let default = FilesystemSettings::default();
    let fs = fs.unwrap_or(&default);
    if fs.disabled == Some(true) {
        w.section("filesystem.disabled: no file rules at all.");
        w.allow_all(&["file-read*", "file-write*"]);
        return Ok(());
    }
    let deny_read = Entries::from_policy(&fs.deny_read);
    let allow_read = Entries::from_policy(&fs.allow_read);
    let deny_write = Entries::from_policy(&fs.deny_write);
    let mut allow_write = Entries::from_policy(&fs.allow_write);
    let user_write_roots = allow_write.literals.clone();
    if let Some(t) = ctx.tmp_dir {
        allow_write.push_literal(t);
    }
    let allow_git_config = fs.allow_git_config == Some(true);

    reads(w, &deny_read, &allow_read)?;

    w.section("Writes: only the writable paths (allowWrite, the run's temp dir, stdout/stderr).");
    let mut f = filters(w, "WRITE_ALLOW", &allow_write, Extent::Subtree)?;
    let files: Vec<String> = DEFAULT_WRITE_FILES.iter().map(|s| s.to_string()).collect();
    f.extend(w.path_filters("WRITE_FILE", &files, Extent::Exact)?);
    w.allow(&["file-write*"], &f);

    w.section(
        "Write denies win over the writable paths: denyWrite, then the mandatory names\n\
         (shell rc files, git hooks and config, editor and agent settings) at any depth.",
    );
    let mut f = filters(w, "WRITE_DENY", &deny_write, Extent::Subtree)?;
    for re in mandatory::regexes(allow_git_config) {
        f.push(w.regex(&re)?);
    }
    w.deny(&["file-write*"], &f);

    // Move protection. Read denies need their own unlink deny when a writable path
    // would otherwise allow it; write denies are covered by `file-write*` above.
    let roots_with_nested_write = |d: &str| {
        allow_write
            .literals
            .iter()
            .any(|wr| wr != d && within(wr, d))
    };
    let read_protected: Vec<String> = deny_read
        .literals
        .iter()
        .filter(|d| !roots_with_nested_write(d))
        .cloned()
        .collect();
    let mut protected: BTreeSet<String> = BTreeSet::new();
    protected.extend(deny_read.literals.iter().cloned());
    protected.extend(deny_write.literals.iter().cloned());
    for g in deny_read.globs.iter().chain(&deny_write.globs) {
        protected.insert(static_prefix(g).to_string());
    }
    let mut roots = user_write_roots;
    roots.push(ctx.cwd.to_string());
    for r in &roots {
        protected.extend(mandatory::under(r, allow_git_config));
    }
    let mut anc: BTreeSet<String> = BTreeSet::new();
    for p in &protected {
        anc.extend(ancestors(p));
    }
    let anc: Vec<String> = anc.into_iter().collect();

    w.section(
        "Moves: a read-denied path may not be unlinked or renamed even inside a writable\n\
         path, and no ancestor of a protected path may be, so a rule cannot be sidestepped\n\
         by renaming (`mv ~/.ssh x`, `mv .git x; ...; mv x .git`).",
    );
    let mut f = w.path_filters("READ_DENY", &read_protected, Extent::Subtree)?;
    for g in &deny_read.globs {
        f.push(w.regex(&glob_to_regex(g, Extent::Subtree))?);
    }
    f.extend(w.path_filters("ANCESTOR", &anc, Extent::Exact)?);
    w.deny(&["file-write-unlink"], &f);
    Ok(())
}

fn reads(w: &mut Writer, deny: &Entries, allow: &Entries) -> Result<(), MacosError> {
    w.section("Reads: everything, except denyRead (allowRead re-allows inside it).");
    w.allow_all(&["file-read*"]);
    let f = filters(w, "READ_DENY", deny, Extent::Subtree)?;
    w.deny(&["file-read*"], &f);
    if allow.is_empty() || deny.is_empty() {
        return Ok(());
    }
    let f = filters(w, "READ_ALLOW", allow, Extent::Subtree)?;
    w.allow(&["file-read*"], &f);
    w.section(
        "Directory metadata stays readable so that realpath() and `cd` work on the way\n\
         down to a re-allowed path; contents stay denied.",
    );
    w.allow(
        &["file-read-metadata"],
        &["(vnode-type DIRECTORY)".to_string()],
    );
    // A deny wins again unless an allowRead entry is the same path or lies inside it
    // (the allow is then the more specific rule). For a glob deny the test uses its
    // static prefix, the only part known without walking the disk.
    let overridden = |d: &str| {
        allow
            .literals
            .iter()
            .chain(allow.globs.iter())
            .any(|a| within(static_prefix(a), d))
    };
    let again = Entries {
        literals: deny
            .literals
            .iter()
            .filter(|d| !overridden(d))
            .cloned()
            .collect(),
        globs: deny
            .globs
            .iter()
            .filter(|g| !overridden(static_prefix(g)))
            .cloned()
            .collect(),
    };
    w.section("Denies more specific than every allowRead win again.");
    let f = filters(w, "READ_DENY", &again, Extent::Subtree)?;
    w.deny(&["file-read*"], &f);
    Ok(())
}

/// Filters for literal paths (parameters or grouped regexes) and globs (regexes).
fn filters(
    w: &mut Writer,
    prefix: &str,
    e: &Entries,
    extent: Extent,
) -> Result<Vec<String>, MacosError> {
    let mut f = w.path_filters(prefix, &e.literals, extent)?;
    for g in &e.globs {
        f.push(w.regex(&glob_to_regex(g, extent))?);
    }
    Ok(f)
}
