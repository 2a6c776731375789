//! Kea's JSON on the wire: how Kea writes strings, and what it can read back.
//!
//! Kea keeps every string as bytes and writes each byte ≥ 0x80 of a string *value* as its
//! own `\u00XX` escape (`StringElement::toJSON`, the same in 2.2 and 3.x), while map *keys*
//! are written raw and unescaped (`MapElement::toJSON`). Its parser reads `\u00XX` as one
//! byte and refuses any other `\u` escape. Read naively, `"B\u00c3\u00bcro"` is `BÃ¼ro`,
//! and sent back it doubles its bytes on every change.
//!
//! - [`parse`] turns each run of such escapes back into the UTF-8 text it encodes. Bytes
//!   that are not UTF-8 (a value someone wrote as `"\u00fc"`) become the private-use
//!   characters U+F780–U+F7FF, and [`encode`] writes those back as the same `\u00XX`: every
//!   string Kea holds round-trips byte for byte. Raw UTF-8 (keys, hand-written files) is
//!   left as it is. Answers are read however deep they are nested (up to
//!   [`MAX_READ_DEPTH`]), without growing the thread's stack.
//! - [`check_sendable`] refuses what Kea cannot give back: a key with `"`, `\` or a control
//!   character (Kea would write JSON nobody can parse, its own restart included), nesting
//!   deeper than [`MAX_SEND_DEPTH`], a string longer than [`MAX_SEND_STRING`] bytes.

use std::borrow::Cow;
use std::io;

use serde::Deserialize;
use serde_json::Value;

/// The deepest nesting read from Kea (a real Kea 2.2 holds a user-context 3,000 deep).
pub const MAX_READ_DEPTH: usize = 10_000;
/// The deepest nesting keascript sends to Kea, counted from the command's `arguments`.
pub const MAX_SEND_DEPTH: usize = 64;
/// The longest string (value or key) keascript sends to Kea, in bytes.
pub const MAX_SEND_STRING: usize = 64 * 1024;

/// The first private-use character that stands for a byte that is not UTF-8 (U+F780 for
/// 0x80, up to U+F7FF for 0xFF).
const RAW_BYTE_BASE: u32 = 0xF700;

/// Why Kea's text could not be read; `line` and `column` are 0 when it has no position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<serde_json::Error> for ReadError {
    fn from(e: serde_json::Error) -> Self {
        Self {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Reads Kea's JSON text (an answer, or a file Kea wrote), decoding its byte escapes.
pub fn parse(bytes: &[u8]) -> Result<Value, ReadError> {
    let (text, depth) = rewrite(bytes);
    if depth > MAX_READ_DEPTH {
        return Err(ReadError {
            message: format!(
                "the JSON is nested {depth} levels deep; keascript reads at most {MAX_READ_DEPTH}"
            ),
            line: 0,
            column: 0,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&text);
    de.disable_recursion_limit();
    let value = {
        let stacked = serde_stacker::Deserializer::new(&mut de);
        Value::deserialize(stacked)?
    };
    de.end()?;
    Ok(value)
}

/// Writes `value` as Kea reads it: UTF-8 text raw, stand-ins for raw bytes as `\u00XX`.
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, KeaFormatter);
    serde::Serialize::serialize(value, &mut ser).expect("writing JSON to memory");
    out
}

/// A digest of bytes (64-bit FNV-1a): cheap, stable across runs and builds, for telling
/// whether two answers are the same bytes without keeping either (not for secrets).
pub fn digest(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Drops a value without recursing on the thread's stack (a deep answer would overflow it).
pub fn drop_deep(value: Value) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => stack.extend(m.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Where and why a value cannot be sent to Kea.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable {
    /// The JSON path, e.g. `Dhcp4.client-classes[0].user-context`.
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for Unsendable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Checks that Kea can hold `value` and write it back as JSON that can be read again.
pub fn check_sendable(value: &Value) -> Result<(), Unsendable> {
    let mut path = Vec::new();
    check(value, 0, &mut path)
}

fn check<'a>(value: &'a Value, depth: usize, path: &mut Vec<Seg<'a>>) -> Result<(), Unsendable> {
    let fail = |path: &[Seg], reason: String| Unsendable {
        path: render(path),
        reason,
    };
    match value {
        Value::String(s) if s.len() > MAX_SEND_STRING => Err(fail(
            path,
            format!(
                "a string of {} bytes; keascript sends at most {MAX_SEND_STRING} bytes in one string",
                s.len()
            ),
        )),
        Value::Array(_) | Value::Object(_) if depth >= MAX_SEND_DEPTH && !is_empty(value) => {
            Err(fail(
                path,
                format!(
                    "nested more than {MAX_SEND_DEPTH} levels deep; keascript sends at most {MAX_SEND_DEPTH} levels"
                ),
            ))
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                check(v, depth + 1, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, v) in m {
                if let Some(why) = bad_key(k) {
                    return Err(fail(path, format!("the key {} {why}", printable_key(k))));
                }
                path.push(Seg::Key(k));
                check(v, depth + 1, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => true,
    }
}

/// Why Kea could not write `key` back as JSON, if it could not.
fn bad_key(key: &str) -> Option<String> {
    if key.len() > MAX_SEND_STRING {
        return Some(format!(
            "is {} bytes long; keascript sends at most {MAX_SEND_STRING}",
            key.len()
        ));
    }
    let c = key
        .chars()
        .find(|c| *c == '"' || *c == '\\' || c.is_control())?;
    let what = match c {
        '"' => "a double quote".to_string(),
        '\\' => "a backslash".to_string(),
        c => format!("the control character U+{:04X}", c as u32),
    };
    Some(format!(
        "contains {what}: Kea writes keys without escaping them, so it could not read its own configuration back"
    ))
}

fn printable_key(key: &str) -> String {
    let shown: String = key.chars().take(40).collect();
    let more = if shown.len() < key.len() { "…" } else { "" };
    format!("{:?}{more}", shown)
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                if bad_key(k).is_some() || k.is_empty() {
                    s.push_str(&printable_key(k));
                } else {
                    s.push_str(k);
                }
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Rewrites runs of `\u0080`–`\u00ff` escapes inside strings into the text they encode, and
/// measures the deepest nesting. Borrows the input when there is nothing to rewrite.
fn rewrite(input: &[u8]) -> (Cow<'_, [u8]>, usize) {
    let n = input.len();
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let (mut i, mut depth, mut max) = (0, 0usize, 0usize);
    let mut in_string = false;
    while i < n {
        let b = input[i];
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => {
                    if high_escape(input, i).is_some() {
                        let start = i;
                        let mut bytes = Vec::new();
                        while let Some(v) = high_escape(input, i) {
                            bytes.push(v);
                            i += 6;
                        }
                        let o = out.get_or_insert_with(|| Vec::with_capacity(n));
                        o.extend_from_slice(&input[copied..start]);
                        push_decoded(o, &bytes);
                        copied = i;
                        continue;
                    }
                    // Any other escape: skip the escaped character (a `\uXXXX` then reads
                    // its four hex digits as plain characters).
                    i += 1;
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.extend_from_slice(&input[copied..]);
            (Cow::Owned(o), max)
        }
        None => (Cow::Borrowed(input), max),
    }
}

/// The byte of a `\u0080`–`\u00ff` escape at `i`, if there is one.
fn high_escape(input: &[u8], i: usize) -> Option<u8> {
    let e = input.get(i..i + 6)?;
    if e[0] != b'\\' || e[1] != b'u' || e[2] != b'0' || e[3] != b'0' {
        return None;
    }
    let hex = std::str::from_utf8(&e[4..6]).ok()?;
    let v = u8::from_str_radix(hex, 16).ok()?;
    (v >= 0x80).then_some(v)
}

/// Writes the UTF-8 text `bytes` encode; each byte that is not part of UTF-8 as the escape
/// of its private-use stand-in.
fn push_decoded(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\u{:04x}", RAW_BYTE_BASE + u32::from(*b)).as_bytes());
        }
    }
}

/// serde_json's compact output, with the raw-byte stand-ins written as `\u00XX`.
struct KeaFormatter;

impl serde_json::ser::Formatter for KeaFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut last = 0;
        for (at, c) in fragment.char_indices() {
            let code = c as u32;
            if (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xFF).contains(&code) {
                writer.write_all(&fragment.as_bytes()[last..at])?;
                write!(writer, "\\u00{:02x}", code - RAW_BYTE_BASE)?;
                last = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[last..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn byte_escapes_of_values_become_the_text_they_encode() {
        // As Kea 2.2 and 3.0 write "Büro", "å", "😀" and "中文".
        let kea = r#"{"name": "B\u00c3\u00bcro", "a": "\u00c3\u00a5", "e": "\u00f0\u009f\u0098\u0080", "cjk": "\u00e4\u00b8\u00ad\u00e6\u0096\u0087", "raw-küy": 1}"#;
        let v = parse(kea.as_bytes()).unwrap();
        assert_eq!(v["name"], "Büro");
        assert_eq!(v["a"], "å");
        assert_eq!(v["e"], "😀");
        assert_eq!(v["cjk"], "中文");
        assert_eq!(v["raw-küy"], 1, "keys come raw and stay as they are");
    }

    #[test]
    fn raw_utf8_and_other_escapes_are_left_alone() {
        let text = "{\"a\": \"Büro \\\" \\\\u00c3 \\u0041 \\n\", \"b\": [\"\\u20ac\"]}";
        let v = parse(text.as_bytes()).unwrap();
        assert_eq!(v["a"], "Büro \" \\u00c3 A \n");
        assert_eq!(v["b"][0], "€");
    }

    #[test]
    fn bytes_that_are_not_utf8_round_trip_byte_for_byte() {
        let kea = br#"{"x": "caf\u00e9", "y": "\u00c3\u00bc\u00ff"}"#;
        let v = parse(kea).unwrap();
        let sent = String::from_utf8(encode(&v)).unwrap();
        assert_eq!(sent, r#"{"x":"caf\u00e9","y":"ü\u00ff"}"#);
        // And what Kea would answer for that again reads the same.
        let again = parse(br#"{"x": "caf\u00e9", "y": "\u00c3\u00bc\u00ff"}"#).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn text_is_sent_as_raw_utf8() {
        let v = json!({"name": "Büro 😀 中文", "k\u{e9}y": "å"});
        let sent = String::from_utf8(encode(&v)).unwrap();
        assert_eq!(sent, r#"{"kéy":"å","name":"Büro 😀 中文"}"#);
    }

    #[test]
    fn deep_answers_are_read_and_dropped_without_overflowing() {
        let depth = 5_000;
        let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let v = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let v = parse(text.as_bytes()).unwrap();
                let mut d = 0;
                let mut cur = &v;
                while let Value::Array(a) = cur {
                    d += 1;
                    cur = &a[0];
                }
                drop_deep(v);
                d
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(v, depth);
        let too_deep = "[".repeat(MAX_READ_DEPTH + 1);
        assert!(
            parse(too_deep.as_bytes())
                .unwrap_err()
                .message
                .contains("10000")
        );
    }

    #[test]
    fn what_kea_cannot_give_back_is_refused_with_its_path() {
        let v = json!({"Dhcp4": {"client-classes": [{"name": "a", "user-context": {"a\"b": 1}}]}});
        let e = check_sendable(&v).unwrap_err();
        assert_eq!(e.path, "Dhcp4.client-classes[0].user-context");
        assert!(e.reason.contains("\"a\\\"b\""), "{e}");
        assert!(e.reason.contains("double quote"), "{e}");
        let e = check_sendable(&json!({"x": {"back\\slash": 1}})).unwrap_err();
        assert!(e.reason.contains("backslash"), "{e}");
        let e = check_sendable(&json!({"x": {"tab\there": 1}})).unwrap_err();
        assert!(e.reason.contains("U+0009"), "{e}");

        let big = "x".repeat(MAX_SEND_STRING + 1);
        let e = check_sendable(
            &json!({"Dhcp4": {"subnet4": [{"user-context": {"description": big}}]}}),
        )
        .unwrap_err();
        assert_eq!(e.path, "Dhcp4.subnet4[0].user-context.description");
        assert!(e.reason.contains("65537 bytes"), "{e}");
        assert!(check_sendable(&json!({"d": "x".repeat(MAX_SEND_STRING)})).is_ok());

        let mut deep = json!(1);
        for _ in 0..MAX_SEND_DEPTH {
            deep = json!([deep]);
        }
        assert!(check_sendable(&deep).is_ok(), "64 levels are fine");
        let e = check_sendable(&json!({ "uc": deep })).unwrap_err();
        assert!(e.reason.contains("64 levels"), "{e}");
        assert!(e.path.starts_with("uc[0][0]"), "{e}");

        assert!(
            check_sendable(&json!({"Büro 😀": {"ok key": "\"quotes\" in values are fine"}}))
                .is_ok()
        );
    }
}
