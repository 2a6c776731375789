//! Secrets: a password that never shows up in logs, errors or debug output, and the
//! process-wide registry of every secret value loaded, so that any text about to be shown
//! can be scrubbed of them ([`scrub`]).
//!
//! This is the text half of keascript's one redaction rule; the half that knows which keys
//! of a Kea configuration hold secrets is `kea::redact`, built on this one.

use std::borrow::Cow;
use std::fmt;
use std::sync::{LazyLock, RwLock};

/// What a secret is replaced with wherever it would be shown.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed from free text: replacing every `ab` in every
/// message would destroy the messages and hide nothing (such a password is guessed anyway).
const MIN_SCRUBBED_LEN: usize = 4;

/// Every secret value loaded by this process (from a `password_file`, a `password_env`…).
static LOADED: LazyLock<RwLock<Vec<String>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// A secret string. `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] reads
/// it. Making one registers its value: [`scrub`] removes it from any text from then on.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        register(&s);
        Self(s)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Remembers `value` as a secret of this process (see [`scrub`]). Empty and very short
/// values are not remembered.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SCRUBBED_LEN {
        return;
    }
    let mut loaded = LOADED.write().unwrap_or_else(|e| e.into_inner());
    if !loaded.iter().any(|v| v == value) {
        loaded.push(value.to_string());
        // Longest first, so that a secret containing another one is replaced whole.
        loaded.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// True when `text` contains a registered secret value or a URL with a password in it.
pub fn contains_secret(text: &str) -> bool {
    matches!(scrub(text), Cow::Owned(_))
}

/// `text` without any registered secret value and without the `user:password@` part of
/// any URL in it. Borrowed when there was nothing to remove.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let loaded = LOADED.read().unwrap_or_else(|e| e.into_inner());
        for secret in loaded.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
    }
    match scrub_userinfo(&out) {
        Some(s) => Cow::Owned(s),
        None => out,
    }
}

/// Replaces the userinfo of every `scheme://user[:password]@host` in `text` by
/// `[redacted]`; `None` when there is none.
fn scrub_userinfo(text: &str) -> Option<String> {
    if !text.contains("://") || !text.contains('@') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?`, `#`, blank or quote.
        let end = tail
            .find(|c: char| "/?#\"'`<>".contains(c) || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// True when a URL carries a user or a password (`http://user:pass@host`).
pub fn has_userinfo(url: &url::Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn loaded_secrets_are_scrubbed_from_any_text() {
        let text = "connect failed: Zq9-loaded-secret-value was refused";
        assert_eq!(scrub(text), text);
        let _s = Secret::new("Zq9-loaded-secret-value\n");
        assert_eq!(scrub(text), "connect failed: [redacted] was refused");
        assert!(contains_secret("x Zq9-loaded-secret-value y"));
        assert!(!contains_secret("nothing here"));
        // Very short values would wreck every message: not scrubbed.
        register("ab");
        assert_eq!(scrub("a tab"), "a tab");
    }

    #[test]
    fn url_passwords_are_scrubbed() {
        assert_eq!(
            scrub("cannot connect to http://admin:pw1@10.0.0.1:8000/: refused"),
            "cannot connect to http://[redacted]@10.0.0.1:8000/: refused"
        );
        assert_eq!(
            scrub("\"https://u@h\" and https://v:w@h2?x"),
            "\"https://[redacted]@h\" and https://[redacted]@h2?x"
        );
        let plain = "mail me@example.net, see http://h/a@b";
        assert!(matches!(scrub(plain), Cow::Borrowed(_)));
        assert!(contains_secret("http://a:b@h"));
        let u = url::Url::parse("http://a:b@h").unwrap();
        assert!(has_userinfo(&u));
        assert!(!has_userinfo(&url::Url::parse("http://h").unwrap()));
    }
}
