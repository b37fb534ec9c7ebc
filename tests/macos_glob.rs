//! Glob → Seatbelt regex (srt v0.0.83 rules, srt.md 7.3): the exact regex for each
//! pattern, and — run through a real regex engine — which paths it does and does not
//! match. The generated syntax (groups, `?`, `*`, bracket expressions, escapes) has
//! the same meaning in Seatbelt's POSIX-style matcher and in the `regex` crate.

use srt_runc::macos::glob::{glob_to_regex, is_glob, static_prefix, Extent};

/// (glob, subtree?, expected regex, paths that match, paths that must not)
type Row = (
    &'static str,
    bool,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const ROWS: &[Row] = &[
    (
        "/a/*.txt",
        false,
        r"^/a/[^/]*\.txt$",
        &["/a/x.txt", "/a/.txt"],
        &["/a/b/x.txt", "/a/xtxt"],
    ),
    (
        "/a/**/b",
        false,
        r"^/a/(.*/)?b$",
        &["/a/b", "/a/x/y/b"],
        &["/a/xb", "/a/b/c"],
    ),
    (
        "/**/x",
        false,
        r"^/(.*/)?x$",
        &["/x", "/a/b/x"],
        &["/ax", "/x/y"],
    ),
    (
        "/a/**",
        false,
        r"^/a/.*$",
        &["/a/", "/a/b/c"],
        &["/ab", "/b/a"],
    ),
    ("/a/**", true, r"^/a/.*$", &["/a/b"], &["/ab"]),
    (
        "/a/b?c",
        false,
        r"^/a/b[^/]c$",
        &["/a/bxc"],
        &["/a/b/c", "/a/bc", "/a/bxxc"],
    ),
    (
        "/a/[abc].txt",
        false,
        r"^/a/[abc]\.txt$",
        &["/a/b.txt"],
        &["/a/d.txt", "/a/bxtxt"],
    ),
    (
        "/a/[a-z]x",
        false,
        r"^/a/[a-z]x$",
        &["/a/qx"],
        &["/a/Qx", "/a/-x"],
    ),
    // Not a valid set (backwards range r-i): literal text, as srt does.
    (
        "/home/[user-id]/x",
        false,
        r"^/home/\[user-id\]/x$",
        &["/home/[user-id]/x"],
        &["/home/u/x"],
    ),
    (
        "/a/[unclosed",
        false,
        r"^/a/\[unclosed$",
        &["/a/[unclosed"],
        &["/a/u"],
    ),
    ("/a/[]x", false, r"^/a/\[\]x$", &["/a/[]x"], &["/a/x"]),
    (
        "/a/***/b",
        false,
        r"^/a/(.*/)?b$",
        &["/a/b", "/a/1/2/b"],
        &["/a/xb"],
    ),
    (
        "/a/**/**/b",
        false,
        r"^/a/(.*/)?b$",
        &["/a/b", "/a/1/b"],
        &["/a/1b"],
    ),
    (
        "/a/x**y",
        false,
        r"^/a/x.*y$",
        &["/a/xy", "/a/x/q/y"],
        &["/a/xq"],
    ),
    (
        "/a/f.o+o(1)$^|",
        false,
        r"^/a/f\.o\+o\(1\)\$\^\|$",
        &["/a/f.o+o(1)$^|"],
        &["/a/fxo+o(1)$^|", "/a/foo1"],
    ),
    ("/a/{x,y}", false, r"^/a/\{x,y\}$", &["/a/{x,y}"], &["/a/x"]),
    // `!` and `^` do not negate.
    ("/a/[!x]", false, r"^/a/[!x]$", &["/a/!", "/a/x"], &["/a/y"]),
    ("/a/[^x]", false, r"^/a/[x^]$", &["/a/^", "/a/x"], &["/a/y"]),
    ("/a/[^]", false, r"^/a/\^$", &["/a/^"], &["/a/x", "/a/[^]"]),
    ("/a/[a-]", false, r"^/a/[a-]$", &["/a/a", "/a/-"], &["/a/b"]),
    ("/a/[z-a]", false, r"^/a/\[z-a\]$", &["/a/[z-a]"], &["/a/m"]),
    ("/a/[a/b]", false, r"^/a/\[a/b\]$", &["/a/[a/b]"], &["/a/a"]),
    (
        "/a/*",
        true,
        r"^/a/[^/]*(/.*)?$",
        &["/a/x", "/a/x/y/z", "/a/"],
        &["/b", "/ab"],
    ),
    (
        "/a/b.txt",
        true,
        r"^/a/b\.txt(/.*)?$",
        &["/a/b.txt", "/a/b.txt/c"],
        &["/a/bxtxt", "/a/b.txt2"],
    ),
    ("/a/?", false, r"^/a/[^/]$", &["/a/x"], &["/a/xy", "/a//"]),
    (
        "/a/**/*.pem",
        false,
        r"^/a/(.*/)?[^/]*\.pem$",
        &["/a/k.pem", "/a/b/c/k.pem"],
        &["/a/k.pem.bak", "/b/k.pem"],
    ),
    ("**/x", false, r"^(.*/)?x$", &["x", "a/x", "/a/x"], &["ax"]),
    (
        "/a/b/**/",
        false,
        r"^/a/b/(.*/)?$",
        &["/a/b/", "/a/b/c/"],
        &["/a/b/c"],
    ),
    ("/a/*/c", false, r"^/a/[^/]*/c$", &["/a/b/c"], &["/a/b/b/c"]),
    (
        "/a/[0-9][0-9]",
        false,
        r"^/a/[0-9][0-9]$",
        &["/a/42"],
        &["/a/4", "/a/4x"],
    ),
    (
        "/a/back\\slash",
        false,
        r"^/a/back\\slash$",
        &["/a/back\\slash"],
        &["/a/backslash"],
    ),
    ("/a/x]y", false, r"^/a/x\]y$", &["/a/x]y"], &["/a/xy"]),
    (
        "/a/**.js",
        false,
        r"^/a/.*\.js$",
        &["/a/b/c.js", "/a/.js"],
        &["/a/b/c.jsx"],
    ),
    ("/a/[[]", false, r"^/a/\[\[\]$", &["/a/[[]"], &["/a/["]),
    (
        "/a/[ab]*",
        true,
        r"^/a/[ab][^/]*(/.*)?$",
        &["/a/ax", "/a/b/c"],
        &["/a/cx"],
    ),
    ("/a/*****", false, r"^/a/.*$", &["/a/x/y"], &["/b"]),
    (
        "/a/*?",
        false,
        r"^/a/[^/]*[^/]$",
        &["/a/x", "/a/xyz"],
        &["/a/", "/a/x/y"],
    ),
];

#[test]
fn glob_rows() {
    assert!(ROWS.len() >= 30);
    for (glob, subtree, want, yes, no) in ROWS {
        let extent = if *subtree {
            Extent::Subtree
        } else {
            Extent::Exact
        };
        let got = glob_to_regex(glob, extent);
        assert_eq!(&got, want, "glob {glob:?}");
        assert!(
            got.starts_with('^') && got.ends_with('$'),
            "{got} not anchored"
        );
        let re = regex::Regex::new(&got).unwrap_or_else(|e| panic!("{glob:?} → {got}: {e}"));
        for p in *yes {
            assert!(re.is_match(p), "{glob:?} ({got}) should match {p:?}");
        }
        for p in *no {
            assert!(!re.is_match(p), "{glob:?} ({got}) must not match {p:?}");
        }
    }
}

#[test]
fn glob_detection_and_static_prefix() {
    assert!(is_glob("/a/*.pem"));
    assert!(is_glob("/a/b?"));
    assert!(is_glob("/a/[x]"));
    assert!(!is_glob("/a/b.c"));
    assert!(!is_glob("/a/{b,c}"));
    assert_eq!(static_prefix("/a/b/*.pem"), "/a/b");
    assert_eq!(static_prefix("/a/b/**/x"), "/a/b");
    assert_eq!(static_prefix("/*.pem"), "/");
    assert_eq!(static_prefix("/a/b"), "/a/b");
    assert_eq!(static_prefix("/a/x*y/z"), "/a");
}

#[test]
fn long_runs_of_wildcards_stay_linear() {
    // A pathological pattern must not turn into nested quantifiers.
    let re = glob_to_regex(&format!("/a/{}", "**/".repeat(50)), Extent::Exact);
    assert_eq!(re, r"^/a/(.*/)?$");
    let re = glob_to_regex(&format!("/a/{}x", "*".repeat(200)), Extent::Exact);
    assert_eq!(re, r"^/a/.*x$");
}
