//! Glob → anchored regex, following srt v0.0.83's `glob-pattern.ts` rules (srt.md 7.3).
//!
//! Seatbelt has no glob filter, only `(regex ...)`, so every glob in a policy becomes a
//! regex matched against the whole path. The conversion is a small tokeniser rather than
//! a chain of string replacements, so that escaping cannot interfere with wildcards:
//!
//! - `**/` → `(.*/)?` (zero or more whole directories), `**` elsewhere → `.*`;
//!   runs of three or more `*` count as `**`, and `**/**/` collapses to one `(.*/)?`,
//!   so a pattern cannot produce an exponential regex;
//! - `*` → `[^/]*`, `?` → `[^/]` (never crossing a `/`);
//! - `[set]` runs to the first following `]` and stays a bracket expression; `!` and `^`
//!   do not negate. A set that is empty, has a backwards range (`[user-id]`: `r-i`), or
//!   holds `/`, `\` or `[` is not a set: the `[` is literal text, as is an unclosed `[`;
//! - every other regex metacharacter is escaped;
//! - the result is anchored `^...$`; a deny gets a `(/.*)?` tail so it covers the subtree.

use super::escape::regex_literal;

/// Whether a regex must match the path exactly or the path and everything beneath it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// `^...$`: allow rules and exact matches.
    Exact,
    /// `^...(/.*)?$`: deny rules, which must also cover what lies under a match.
    Subtree,
}

/// Whether `s` contains glob syntax (srt's test: `*`, `?` or `[`).
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The directory part of `glob` before its first wildcard (`/a/b` for `/a/b/*.pem`).
/// Paths without glob syntax are their own prefix.
pub fn static_prefix(glob: &str) -> &str {
    let Some(first) = glob.find(['*', '?', '[']) else {
        return glob;
    };
    match glob[..first].rfind('/') {
        Some(0) => "/",
        Some(i) => &glob[..i],
        None => "",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(char),
    Star,
    DoubleStar,
    Any,
    Set(String),
}

fn tokenize(glob: &str) -> Vec<Token> {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                let run = chars[i..].iter().take_while(|&&c| c == '*').count();
                out.push(if run >= 2 {
                    Token::DoubleStar
                } else {
                    Token::Star
                });
                i += run;
            }
            '?' => {
                out.push(Token::Any);
                i += 1;
            }
            '[' => {
                let close = chars[i + 1..].iter().position(|&c| c == ']');
                match close.and_then(|n| bracket_class(&chars[i + 1..i + 1 + n]).map(|s| (n, s))) {
                    Some((n, class)) => {
                        out.push(Token::Set(class));
                        i += n + 2;
                    }
                    None => {
                        out.push(Token::Lit('['));
                        i += 1;
                    }
                }
            }
            c => {
                out.push(Token::Lit(c));
                i += 1;
            }
        }
    }
    out
}

/// The regex bracket expression for a glob set body, or `None` when the body is not a
/// valid set (and the `[` is then taken literally).
fn bracket_class(body: &[char]) -> Option<String> {
    if body.is_empty() || body.iter().any(|c| matches!(c, '/' | '\\' | '[')) {
        return None;
    }
    let (mut items, mut caret, mut dash) = (String::new(), false, false);
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        let is_range = i + 2 < body.len() && body[i + 1] == '-';
        if is_range {
            let end = body[i + 2];
            if end < c {
                return None;
            }
            items.push(c);
            items.push('-');
            items.push(end);
            i += 3;
            continue;
        }
        match c {
            // `^` first would negate and `-` in the middle would make a range: both are
            // placed where a bracket expression takes them literally.
            '^' => caret = true,
            '-' => dash = true,
            c => items.push(c),
        }
        i += 1;
    }
    if items.is_empty() && !dash {
        // `[^]` is not a valid bracket expression; a lone caret is just a caret.
        return Some(r"\^".to_string());
    }
    let mut class = String::from("[");
    class.push_str(&items);
    if caret {
        class.push('^');
    }
    if dash {
        class.push('-');
    }
    class.push(']');
    Some(class)
}

/// The regex body (no anchors) for `glob`.
fn body(glob: &str) -> String {
    let tokens = tokenize(glob);
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::DoubleStar if tokens.get(i + 1) == Some(&Token::Lit('/')) => {
                out.push_str("(.*/)?");
                i += 2;
                // `**/**/` means the same as `**/`.
                while tokens.get(i) == Some(&Token::DoubleStar)
                    && tokens.get(i + 1) == Some(&Token::Lit('/'))
                {
                    i += 2;
                }
                continue;
            }
            Token::DoubleStar => out.push_str(".*"),
            Token::Star => out.push_str("[^/]*"),
            Token::Any => out.push_str("[^/]"),
            Token::Set(class) => out.push_str(class),
            Token::Lit(c) => out.push_str(&regex_literal(&c.to_string())),
        }
        i += 1;
    }
    out
}

/// Converts `glob` into an anchored regex.
pub fn glob_to_regex(glob: &str, extent: Extent) -> String {
    let body = body(glob);
    match extent {
        Extent::Exact => format!("^{body}$"),
        // A trailing `.*` already covers the subtree.
        Extent::Subtree if body.ends_with(".*") && !body.ends_with("\\.*") => {
            format!("^{body}$")
        }
        Extent::Subtree => format!("^{body}(/.*)?$"),
    }
}

/// An anchored regex matching `path` itself (and its subtree for [`Extent::Subtree`]).
pub fn literal_to_regex(path: &str, extent: Extent) -> String {
    let body = regex_literal(path);
    match extent {
        Extent::Exact => format!("^{body}$"),
        Extent::Subtree => format!("^{body}(/.*)?$"),
    }
}
