//! The REPL's history file: in the user's state directory, mode 0600, without the lines
//! that hold a secret.

use std::path::PathBuf;

/// `$KEASCRIPT_STATE_DIR/repl_history`, else `~/.local/state/keascript/repl_history`.
pub fn path() -> PathBuf {
    crate::kea::edit::state_dir().join("repl_history")
}

/// Words that mark a line as holding a secret: such a line is never written to the
/// history file (nor kept in the session's history).
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token"];

/// Should this line stay out of the history?
pub fn is_secret(line: &str) -> bool {
    let lower = line.to_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_passwords_are_secret() {
        assert!(is_secret("let password = \"hunter2\";"));
        assert!(is_secret(
            "connect(url, #{ user: \"a\", Password_file: \"/x\" })"
        ));
        assert!(is_secret("let api_token = env(\"X\");"));
        assert!(!is_secret("kea().dhcp4.subnets()"));
    }
}
