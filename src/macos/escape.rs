//! Quoting text for SBPL and for the POSIX-style regexes Seatbelt evaluates.
//!
//! Seatbelt profiles are Scheme (TinyScheme) source: a string literal is `"..."` in
//! which `\` and `"` must be escaped. A path spliced into a profile unescaped could
//! close the string and inject rules, so every string we emit goes through
//! [`sbpl_string`], and control characters (which have no business in a path and
//! would make the profile hard to audit) are refused outright.

use super::MacosError;

/// Characters that have a meaning in a Seatbelt (AppleMatch, POSIX ERE-like) regex
/// outside a bracket expression. Escaping `]` and `}` as well is harmless and saves
/// the reader from knowing when they are special.
const REGEX_META: &[char] = &[
    '.', '^', '$', '+', '*', '?', '{', '}', '(', ')', '[', ']', '|', '\\',
];

/// Quotes `s` as an SBPL string literal (with the surrounding `"`).
pub fn sbpl_string(s: &str) -> Result<String, MacosError> {
    check_text(s)?;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// Escapes `s` so that a regex matches it literally.
pub fn regex_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if REGEX_META.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Like [`regex_literal`], but every ASCII letter matches either case (`.git` →
/// `\.[gG][iI][tT]`). The default macOS file systems are case-insensitive, so a
/// rule protecting `.bashrc` must also catch a file created as `.BashRC`.
pub fn regex_literal_ci(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 4);
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            out.push('[');
            out.push(c.to_ascii_lowercase());
            out.push(c.to_ascii_uppercase());
            out.push(']');
        } else {
            out.push_str(&regex_literal(&c.to_string()));
        }
    }
    out
}

/// Refuses text that cannot safely appear in a profile or a `-D` parameter.
pub fn check_text(s: &str) -> Result<(), MacosError> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(MacosError::ControlCharacter {
            text: s.escape_debug().to_string(),
            code: c as u32,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(sbpl_string(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert_eq!(sbpl_string("/plain/path").unwrap(), "\"/plain/path\"");
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(sbpl_string("a\nb").is_err());
        assert!(sbpl_string("a\0b").is_err());
    }

    #[test]
    fn regex_escapes() {
        assert_eq!(regex_literal("/a.b+c(d)$^|"), r"/a\.b\+c\(d\)\$\^\|");
        assert_eq!(regex_literal_ci(".Git-1"), r"\.[gG][iI][tT]-1");
    }
}
