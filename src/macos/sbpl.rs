//! A tiny SBPL writer: rules, the per-run log tag, `-D` parameters and path grouping.
//!
//! Keeping the text generation in one place means every deny carries the log tag,
//! every string is escaped, and an allow rule can never lose its filters by accident
//! (an empty filter list would otherwise turn `(allow file-write* ...)` into "allow
//! all writes").

use super::escape::{regex_literal, sbpl_string};
use super::glob::Extent;
use super::MacosError;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Lists longer than this are grouped into regexes instead of one `-D` parameter per
/// path, so that huge policies compile quickly and stay within sandbox-exec's limits.
pub const GROUP_LIMIT: usize = 16;

/// sandbox-exec rejects string literals longer than 1025 bytes (srt.md 7.2); grouped
/// regexes are cut into chunks below this.
pub const MAX_STRING: usize = 1000;

/// Profile text under construction plus its parameters.
#[derive(Debug)]
pub struct Writer {
    text: String,
    tag: String,
    params: Vec<(String, String)>,
    by_value: BTreeMap<(String, String), String>,
}

impl Writer {
    /// Starts a profile whose denies carry `tag` (already validated by the caller).
    pub fn new(tag: &str) -> Result<Self, MacosError> {
        Ok(Writer {
            text: String::new(),
            tag: sbpl_string(tag)?,
            params: Vec::new(),
            by_value: BTreeMap::new(),
        })
    }

    /// Raw text (headers such as `(version 1)`).
    pub fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    /// A blank line and `; why` comment lines before a group of rules.
    pub fn section(&mut self, why: &str) {
        self.text.push('\n');
        for l in why.lines() {
            let _ = writeln!(self.text, "; {l}");
        }
    }

    /// `(deny default (with message TAG))`.
    pub fn deny_default(&mut self) {
        let _ = writeln!(self.text, "(deny default (with message {}))", self.tag);
    }

    /// An unconditional allow. Separate from [`Writer::allow`] on purpose.
    pub fn allow_all(&mut self, ops: &[&str]) {
        let _ = writeln!(self.text, "(allow {})", ops.join(" "));
    }

    /// `(allow OPS FILTER...)`; nothing at all when `filters` is empty.
    pub fn allow(&mut self, ops: &[&str], filters: &[String]) {
        self.rule("allow", ops, filters, false);
    }

    /// `(deny OPS FILTER... (with message TAG))`; nothing when `filters` is empty.
    pub fn deny(&mut self, ops: &[&str], filters: &[String]) {
        self.rule("deny", ops, filters, true);
    }

    fn rule(&mut self, action: &str, ops: &[&str], filters: &[String], tagged: bool) {
        if filters.is_empty() {
            return;
        }
        let _ = write!(self.text, "({action} {}", ops.join(" "));
        for f in filters {
            let _ = write!(self.text, "\n  {f}");
        }
        if tagged {
            let _ = write!(self.text, "\n  (with message {})", self.tag);
        }
        self.text.push_str(")\n");
    }

    /// `(param "NAME")` for `value`, registering `-D NAME=value` (one name per value).
    pub fn param(&mut self, prefix: &str, value: &str) -> Result<String, MacosError> {
        super::escape::check_text(value)?;
        let key = (prefix.to_string(), value.to_string());
        if let Some(name) = self.by_value.get(&key) {
            return Ok(format!("(param \"{name}\")"));
        }
        let n = self.by_value.keys().filter(|(p, _)| p == prefix).count();
        let name = format!("{prefix}_{n}");
        self.by_value.insert(key, name.clone());
        self.params.push((name.clone(), value.to_string()));
        Ok(format!("(param \"{name}\")"))
    }

    /// `(regex "R")`.
    pub fn regex(&self, re: &str) -> Result<String, MacosError> {
        Ok(format!("(regex {})", sbpl_string(re)?))
    }

    /// Filters matching each of `paths` (and, for [`Extent::Subtree`], what lies below):
    /// `(literal|subpath (param ...))` per path, or grouped regexes for long lists.
    pub fn path_filters(
        &mut self,
        prefix: &str,
        paths: &[String],
        extent: Extent,
    ) -> Result<Vec<String>, MacosError> {
        if paths.len() <= GROUP_LIMIT {
            let kind = match extent {
                Extent::Exact => "literal",
                Extent::Subtree => "subpath",
            };
            return paths
                .iter()
                .map(|p| Ok(format!("({kind} {})", self.param(prefix, p)?)))
                .collect();
        }
        group_regexes(paths, extent)
            .iter()
            .map(|re| self.regex(re))
            .collect()
    }

    /// The finished profile text and its parameters, in order of first use.
    pub fn finish(self) -> (String, Vec<(String, String)>) {
        (self.text, self.params)
    }
}

/// `^(a|b|c)$` (or with a `(/.*)?` tail) over escaped paths, in chunks whose quoted
/// form stays under [`MAX_STRING`]. A single over-long path gets a chunk of its own.
pub fn group_regexes(paths: &[String], extent: Extent) -> Vec<String> {
    let tail = match extent {
        Extent::Exact => "$",
        Extent::Subtree => "(/.*)?$",
    };
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut len = 0;
    let close = |cur: &mut Vec<String>, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(format!("^({}){tail}", cur.join("|")));
            cur.clear();
        }
    };
    for p in paths {
        let e = regex_literal(p);
        // Quoting doubles every backslash; count the quoted size.
        let quoted = e.len() + e.matches('\\').count() + 1;
        if len + quoted + 16 > MAX_STRING {
            close(&mut cur, &mut out);
            len = 0;
        }
        len += quoted;
        cur.push(e);
    }
    close(&mut cur, &mut out);
    out
}
