//! A small SBPL reader and checker for generated Seatbelt profiles.
//!
//! It does not run Seatbelt; it proves the properties a Mac would otherwise only
//! reveal at run time: balanced forms, string escapes that round-trip, only the
//! operations and filters we mean to emit, anchored regexes that compile, every
//! `(param ...)` defined, every deny tagged for the log monitor, and no accidental
//! unconditional allow of writes or network.

#![allow(dead_code)]

use std::collections::BTreeSet;

/// Every operation srt-runc emits. A typo (`file-writes*`) would make sandbox-exec
/// refuse the profile on a Mac; here it fails the test.
pub const KNOWN_OPS: &[&str] = &[
    "default",
    "file-read*",
    "file-read-metadata",
    "file-write*",
    "file-write-data",
    "file-write-unlink",
    "file-ioctl",
    "process-exec",
    "process-fork",
    "process-info*",
    "signal",
    "mach-priv-task-port",
    "mach-lookup",
    "user-preference-read",
    "ipc-posix-shm*",
    "ipc-posix-sem",
    "iokit-open",
    "sysctl-read",
    "sysctl-write",
    "pseudo-tty",
    "network-outbound",
    "network-inbound",
    "network-bind",
    "system-socket",
];

/// Operations that may be allowed without a filter.
const UNCONDITIONAL: &[&str] = &[
    "process-exec",
    "process-fork",
    "user-preference-read",
    "ipc-posix-shm*",
    "ipc-posix-sem",
    "pseudo-tty",
    "file-read*",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sx {
    Sym(String),
    Str(String),
    List(Vec<Sx>),
}

/// Reads all top-level forms.
pub fn parse(text: &str) -> Result<Vec<Sx>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut stack: Vec<Vec<Sx>> = vec![Vec::new()];
    while i < chars.len() {
        let c = chars[i];
        match c {
            ';' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            c if c.is_whitespace() => i += 1,
            '(' => {
                stack.push(Vec::new());
                i += 1;
            }
            ')' => {
                let done = stack.pop().ok_or("unbalanced )")?;
                stack
                    .last_mut()
                    .ok_or_else(|| format!("unbalanced ) at char {i}"))?
                    .push(Sx::List(done));
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let c = *chars.get(i).ok_or("unterminated string")?;
                    match c {
                        '"' => break,
                        '\\' => {
                            let n = *chars.get(i + 1).ok_or("dangling backslash")?;
                            if n != '"' && n != '\\' {
                                return Err(format!("unknown escape \\{n} in string"));
                            }
                            s.push(n);
                            i += 2;
                        }
                        c if c.is_control() => return Err("control character in string".into()),
                        c => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                if s.len() > 1025 {
                    return Err(format!("string longer than 1025 bytes: {}", s.len()));
                }
                stack.last_mut().unwrap().push(Sx::Str(s));
            }
            '#' => return Err(format!("unexpected # at char {i}")),
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"' | ';')
                {
                    i += 1;
                }
                let sym: String = chars[start..i].iter().collect();
                stack.last_mut().unwrap().push(Sx::Sym(sym));
            }
        }
    }
    if stack.len() != 1 {
        return Err(format!("{} unclosed (", stack.len() - 1));
    }
    Ok(stack.pop().unwrap())
}

/// One rule: action (`allow`/`deny`), operations, filters (without the tag).
pub type Rule = (String, Vec<String>, Vec<Sx>);

/// What [`check`] needs to know about the profile.
pub struct Expect<'a> {
    pub tag: &'a str,
    pub params: &'a [(String, String)],
    /// `filesystem.disabled`: unconditional `file-write*` is then expected.
    pub unrestricted_write: bool,
}

/// Checks a whole profile; returns the rules as (action, ops, filters) for further asserts.
pub fn check(text: &str, exp: &Expect) -> Result<Vec<Rule>, String> {
    let forms = parse(text)?;
    let mut it = forms.iter();
    if it.next() != Some(&list(vec![sym("version"), sym("1")])) {
        return Err("first form must be (version 1)".into());
    }
    let with_tag = list(vec![sym("with"), sym("message"), Sx::Str(exp.tag.into())]);
    if it.next() != Some(&list(vec![sym("deny"), sym("default"), with_tag.clone()])) {
        return Err("second form must be (deny default (with message TAG))".into());
    }
    let mut used = BTreeSet::new();
    let mut rules = Vec::new();
    for f in it {
        let Sx::List(items) = f else {
            return Err(format!("top-level atom {f:?}"));
        };
        let action = match items.first() {
            Some(Sx::Sym(a)) if a == "allow" || a == "deny" => a.clone(),
            other => return Err(format!("top-level form must be allow/deny, got {other:?}")),
        };
        let mut ops = Vec::new();
        let mut filters = Vec::new();
        for x in &items[1..] {
            match x {
                Sx::Sym(op) if filters.is_empty() => {
                    if !KNOWN_OPS.contains(&op.as_str()) {
                        return Err(format!("unknown operation {op}"));
                    }
                    ops.push(op.clone());
                }
                Sx::List(_) => filters.push(x.clone()),
                other => return Err(format!("unexpected {other:?} in {action} rule")),
            }
        }
        if ops.is_empty() {
            return Err(format!("{action} rule without operations"));
        }
        let tagged = filters.last() == Some(&with_tag);
        if action == "deny" {
            if !tagged {
                return Err(format!("deny {ops:?} lacks the log tag"));
            }
            filters.pop();
            if filters.is_empty() {
                return Err(format!("unconditional deny {ops:?}"));
            }
        } else if tagged {
            return Err("allow rules carry no message".into());
        }
        for flt in &filters {
            check_filter(flt, exp, &mut used)?;
        }
        if action == "allow" && filters.is_empty() {
            for op in &ops {
                let ok = UNCONDITIONAL.contains(&op.as_str())
                    || (op == "file-write*" && exp.unrestricted_write);
                if !ok {
                    return Err(format!("unconditional allow of {op}"));
                }
            }
        }
        rules.push((action, ops, filters));
    }
    let defined: BTreeSet<String> = exp.params.iter().map(|(k, _)| k.clone()).collect();
    if defined != used {
        return Err(format!("params defined {defined:?} but used {used:?}"));
    }
    Ok(rules)
}

fn sym(s: &str) -> Sx {
    Sx::Sym(s.into())
}

fn list(v: Vec<Sx>) -> Sx {
    Sx::List(v)
}

fn one_str(args: &[Sx], what: &str) -> Result<String, String> {
    match args {
        [Sx::Str(s)] => Ok(s.clone()),
        _ => Err(format!("{what} takes one string, got {args:?}")),
    }
}

fn check_regex(re: &str) -> Result<(), String> {
    if !re.starts_with('^') || !re.ends_with('$') {
        return Err(format!("regex not anchored: {re}"));
    }
    regex::Regex::new(re).map_err(|e| format!("bad regex {re}: {e}"))?;
    Ok(())
}

fn check_path_arg(args: &[Sx], exp: &Expect, used: &mut BTreeSet<String>) -> Result<(), String> {
    match args {
        [Sx::Str(p)] if p.starts_with('/') => Ok(()),
        [Sx::List(inner)] => match inner.as_slice() {
            [Sx::Sym(h), Sx::Str(name)] if h == "param" => {
                let v = exp
                    .params
                    .iter()
                    .find(|(k, _)| k == name)
                    .ok_or_else(|| format!("undefined param {name}"))?;
                if !v.1.starts_with('/') {
                    return Err(format!("param {name} is not absolute: {}", v.1));
                }
                used.insert(name.clone());
                Ok(())
            }
            _ => Err(format!("bad path argument {inner:?}")),
        },
        _ => Err(format!("bad path argument {args:?}")),
    }
}

fn check_filter(f: &Sx, exp: &Expect, used: &mut BTreeSet<String>) -> Result<(), String> {
    let Sx::List(items) = f else {
        return Err(format!("filter must be a list: {f:?}"));
    };
    let Some(Sx::Sym(head)) = items.first() else {
        return Err(format!("filter without a name: {f:?}"));
    };
    let args = &items[1..];
    match head.as_str() {
        "literal" | "subpath" => check_path_arg(args, exp, used),
        "regex" | "path-regex" => check_regex(&one_str(args, head)?),
        "global-name"
        | "global-name-prefix"
        | "iokit-registry-entry-class"
        | "sysctl-name"
        | "sysctl-name-prefix" => one_str(args, head).map(|_| ()),
        "target" if args == [sym("same-sandbox")] => Ok(()),
        "vnode-type" if args == [sym("DIRECTORY")] => Ok(()),
        "socket-domain" if args == [sym("AF_UNIX")] => Ok(()),
        "remote" | "local" => match args {
            [Sx::Sym(k), Sx::Str(addr)] if k == "ip" => {
                let ok = regex::Regex::new(r"^(localhost|\*):([0-9]{1,5}|\*)$").unwrap();
                if ok.is_match(addr) {
                    Ok(())
                } else {
                    Err(format!("bad ip filter {addr}"))
                }
            }
            [Sx::Sym(k), inner] if k == "unix-socket" => check_filter(inner, exp, used),
            _ => Err(format!("bad {head} filter {args:?}")),
        },
        _ => Err(format!("unknown filter {f:?}")),
    }
}
