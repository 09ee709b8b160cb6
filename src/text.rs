//! Untrusted text (process names, paths, memory contents): turning bytes into strings and
//! escaping what must not reach a terminal raw. A leaf module: it imports nothing of ours, so
//! every layer (source, render, errors, the command line) can use it without reaching into
//! another layer.

/// Whether a character must not reach a terminal raw: C0 and C1 controls, DEL, and the
/// bidirectional overrides and isolates that can make text display as something else.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Escape every unsafe character: `\n`, `\t`, `\e`, `\xNN` for other controls, `\u{NNNN}` for
/// the rest. Backslash itself is left alone (paths are shown as users typed them).
pub fn escape(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// JSON text with every unsafe character that serde_json leaves raw (C1 controls, DEL, bidi
/// overrides and isolates, line separators) spelled `\uXXXX`. Such characters occur only inside
/// JSON strings, and the escape means the same character, so the document's values do not
/// change; only a terminal showing it is spared (U+009B is CSI on xterm).
pub fn json_safe(json: &str) -> std::borrow::Cow<'_, str> {
    // C0 controls are escaped by serde_json inside strings; outside them they are the
    // document's own whitespace. The rest (DEL and up) it leaves raw.
    let raw = |c: char| c >= '\u{7f}' && is_unsafe(c);
    // Every such character has a byte >= 0x7f: ASCII without DEL is settled by word-wide
    // scans (a char-by-char test was a tenth of `trace --json`'s CPU).
    if (json.is_ascii() && !json.as_bytes().contains(&0x7f)) || !json.chars().any(raw) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            // All of them are in the Basic Multilingual Plane: one \u escape each.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Bytes to a string for display and JSON: valid UTF-8 stays as is (control characters
/// included; renderers escape them), each invalid byte becomes `\xNN`.
pub fn bytes_to_string(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for byte in &bad[..n] {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
}

#[cfg(test)]
mod json_tests {
    #[test]
    fn json_keeps_its_values_and_loses_its_raw_controls() {
        let v = serde_json::json!({"p": "a\u{202e}b\u{9b}c\u{7f}d\n"});
        let raw = serde_json::to_string_pretty(&v).unwrap();
        let safe = super::json_safe(&raw);
        assert!(safe.contains("{\n  \"p\""), "{safe}");
        assert!(!safe.contains('\u{202e}') && !safe.contains('\u{9b}') && !safe.contains('\u{7f}'));
        assert!(
            safe.contains("\\u202e") && safe.contains("\\u009b"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn plain_ascii_passes_and_del_alone_is_caught() {
        let plain = r#"{"p":"/dev/shm/x"}"#;
        assert!(matches!(
            super::json_safe(plain),
            std::borrow::Cow::Borrowed(_)
        ));
        let del = serde_json::to_string(&serde_json::json!({"p": "a\u{7f}b"})).unwrap();
        assert!(super::json_safe(&del).contains("\\u007f"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_escaped() {
        assert_eq!(bytes_to_string(b"a\xffb"), "a\\xffb");
        assert_eq!(bytes_to_string("é\n".as_bytes()), "é\n");
        assert_eq!(bytes_to_string(b"\xe2\x82"), "\\xe2\\x82");
    }

    #[test]
    fn escapes_controls_and_bidi() {
        assert_eq!(escape("plain /dev/shm/x"), "plain /dev/shm/x");
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("\u{1b}[31mred"), "\\e[31mred");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape("\u{7f}\u{9b}"), "\\x7f\\x9b");
        assert!(!escape("\u{1b}\u{9b}\u{7}").chars().any(is_unsafe));
    }
}
