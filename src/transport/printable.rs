//! Text a server sent, made safe for a terminal or a log.
//!
//! A Kea server (or anything answering in its place) chooses the bytes of its error bodies,
//! of its non-JSON answers and of Kea's `text`. Written raw to a terminal, `ESC ] 0 ; … BEL`
//! retitles it, `ESC [ 2 J` clears it, a bidi override reorders what the admin reads. Every
//! such text goes through [`printable`] where it enters the program.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0 but tab and line feed, DEL, C1), every bidi
/// control and every other invisible format character written as a visible escape:
/// `\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`. Borrowed when the text is already printable.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            if (c as u32) < 0x80 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        c if c.is_control() => true, // C0, DEL, C1 (U+0080–U+009F)
        // Bidi embeddings, overrides and isolates; marks.
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => true,
        // Zero-width and other invisible format characters, line/paragraph separators.
        '\u{200b}'..='\u{200d}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{2060}'..='\u{2064}'
        | '\u{feff}' => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_become_visible_escapes() {
        assert_eq!(
            printable("\x1b]0;pwned\x07\x1b[2J"),
            "\\x1b]0;pwned\\x07\\x1b[2J"
        );
        assert_eq!(printable("a\rb\x7fc\u{9b}2J"), "a\\x0db\\x7fc\\u{9b}2J");
        assert_eq!(printable("txt\u{202e}cod.exe"), "txt\\u{202e}cod.exe");
        assert_eq!(printable("\u{2066}x\u{200b}"), "\\u{2066}x\\u{200b}");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for s in [
            "subnet 10.0.0.0/24 \"Büro\" 😀 中文",
            "line one\nline two\tand a tab",
            "",
        ] {
            assert!(matches!(printable(s), Cow::Borrowed(_)), "{s}");
        }
    }
}
