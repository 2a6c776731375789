//! The REPL's history file: in the user's state directory, mode 0600, without the lines
//! that hold a secret.

use std::path::PathBuf;

/// `$KEASCRIPT_STATE_DIR/repl_history`, else `~/.local/state/keascript/repl_history`.
pub fn path() -> PathBuf {
    crate::kea::edit::state_dir().join("repl_history")
}

use crate::kea::redact;

/// Words that mark a line as holding a secret wherever they are (in a string too).
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token"];

/// Should this line stay out of the history (the file, and the session's own)? Yes when
/// it holds one of [`SECRET_WORDS`], a name that looks like a secret's (`pw`, `pass`,
/// `api_token`, `key`…: `kea::redact::is_secret_name`), a secret loaded by this process
/// or a URL with a password.
pub fn is_secret(line: &str) -> bool {
    let lower = line.to_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
        || line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(redact::is_secret_name)
        || redact::contains_secret(line)
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

    #[test]
    fn secret_like_names_and_loaded_secrets_stay_out() {
        for line in [
            "let pw = \"hunter2\";",
            "let PW = \"hunter2\";",
            "let db_pass = \"x\";",
            "let pass = \"x\";",
            "let passwd = \"x\"",
            "let api_key = \"abc\";",
            "let key = \"abc\";",
            "let tsig_key = \"abc\";",
            "let apiKey = \"abc\";",
            "let myToken = \"abc\";",
            "let s = #{ Secret: 1 };",
            "connect(\"http://admin:hunter2@10.0.0.1:8000\")",
        ] {
            assert!(is_secret(line), "{line}");
        }
        let _s = crate::transport::Secret::new("repl-loaded-secret-9");
        assert!(is_secret("let x = \"repl-loaded-secret-9\";"));
        for line in [
            "v4.subnet(\"10.0.0.0/24\")",
            "v4.leases(subnet_key)",
            "history(\"subnet\", \"10.0.0.0/24\")",
            "m.keys()",
            "let passive = true;",
            "let bypass_count = 3;",
            "let people = 3;",
        ] {
            assert!(!is_secret(line), "{line}");
        }
    }
}
