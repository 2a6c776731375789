//! The inventory file: named Kea servers, how to reach them, and their credentials.
//!
//! Looked up from `--config`, then `$KEASCRIPT_CONFIG`, then the user's config directory
//! (`~/.config/keascript/keascript.toml`), then `/etc/keascript/keascript.toml`. Without any,
//! the inventory holds one server, `default`, the Control Agent at `http://127.0.0.1:8000`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::KeaError;
use crate::transport::{Endpoint, Secret, TransportError, TransportOptions};

/// The Control Agent address used when there is no inventory.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// One server of the inventory, as written in the file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// A Control Agent URL.
    pub url: Option<String>,
    /// Per-service endpoints (Kea ≥ 2.7 daemon HTTP sockets, or `unix:/path`).
    pub dhcp4: Option<String>,
    pub dhcp6: Option<String>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Never use the subnet/class hooks, even when the server has them.
    #[serde(default)]
    pub config_path_only: bool,
    /// Total time for one command, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Time to connect, in milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// Answers larger than this many bytes are refused.
    pub max_answer_bytes: Option<usize>,
    /// Labels that select this server in a fleet run (`keascript run --tag TAG`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A named HA relationship, for when peer URLs are not the management endpoints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HaEntry {
    pub peers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, ServerEntry>,
    #[serde(default)]
    ha: BTreeMap<String, HaEntry>,
    #[serde(default)]
    snapshots: SnapshotSettings,
    #[serde(default)]
    journal: JournalSettings,
}

/// `[snapshots]`: how many configurations are kept per server and service.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSettings {
    /// Snapshots kept per server and service (default 50; at least 1).
    pub keep: Option<usize>,
}

/// `[journal]`: how many finished change records are kept in the state folder.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JournalSettings {
    /// Finished records kept (default 500; at least 1). Changes in flight or waiting for a
    /// confirmation are always kept.
    pub keep: Option<usize>,
}

/// The servers keascript knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The file it came from; `None` for the built-in default.
    pub path: Option<PathBuf>,
    pub default: String,
    pub servers: BTreeMap<String, ServerEntry>,
    pub ha: BTreeMap<String, HaEntry>,
    pub snapshots: SnapshotSettings,
    pub journal: JournalSettings,
}

impl Inventory {
    /// The inventory used when no file exists: one Control Agent on localhost.
    pub fn builtin() -> Self {
        let mut servers = BTreeMap::new();
        servers.insert(
            "default".to_string(),
            ServerEntry {
                url: Some(DEFAULT_URL.to_string()),
                ..Default::default()
            },
        );
        Self {
            path: None,
            default: "default".into(),
            servers,
            ha: BTreeMap::new(),
            snapshots: SnapshotSettings::default(),
            journal: JournalSettings::default(),
        }
    }

    /// Finds and reads the inventory: `explicit` (from `--config`) must exist; the other
    /// places are tried in order and skipped when absent.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, KeaError> {
        if let Some(p) = explicit {
            return Self::load(p);
        }
        if let Some(p) = std::env::var_os("KEASCRIPT_CONFIG").filter(|v| !v.is_empty()) {
            return Self::load(Path::new(&p));
        }
        for candidate in Self::search_path() {
            if candidate.is_file() {
                return Self::load(&candidate);
            }
        }
        Ok(Self::builtin())
    }

    /// The places looked at after `--config` and `$KEASCRIPT_CONFIG`.
    pub fn search_path() -> Vec<PathBuf> {
        let mut v = Vec::new();
        if let Some(d) = dirs::config_dir() {
            v.push(d.join("keascript").join("keascript.toml"));
        }
        v.push(PathBuf::from("/etc/keascript/keascript.toml"));
        v
    }

    /// Reads one inventory file. Relative file paths inside it are taken relative to it.
    ///
    /// Every error here is the inventory's (syntax, unknown keys, bad URLs): the command
    /// line stops with status 2 before any script starts. Credential files are not read
    /// for use until a server is first used ([`ServerEntry::transport_options`]); the
    /// passwords that can be read now are only remembered as secrets, so that they are
    /// scrubbed from anything shown from the start (`transport::secret`).
    pub fn load(path: &Path) -> Result<Self, KeaError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            KeaError::invalid(format!("cannot read inventory {}: {e}", path.display()))
        })?;
        let inventory = Self::parse(&text, Some(path))?;
        inventory.remember_secrets();
        if let Some(n) = inventory.snapshots.keep {
            super::snapshots::set_keep(n);
        }
        if let Some(n) = inventory.journal.keep {
            super::edit::journal::set_keep(n);
        }
        Ok(inventory)
    }

    /// Registers every password the inventory's entries can read now as a secret of this
    /// process; an entry whose password cannot be read is left for its first use to report.
    pub fn remember_secrets(&self) {
        for entry in self.servers.values() {
            let _ = entry.read_password("");
        }
    }

    /// Parses inventory text; `path` anchors relative file names.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, KeaError> {
        let shown = path.map_or("inventory".to_string(), |p| p.display().to_string());
        let file: File = toml::from_str(text).map_err(|e| syntax_error(&shown, text, &e))?;
        let base = path.and_then(Path::parent).map(Path::to_path_buf);
        let mut servers = file.servers;
        for (name, s) in &mut servers {
            s.check(name).map_err(|e| {
                KeaError::invalid(format!("{shown}: server \"{name}\": {}", e.message))
            })?;
            if let Some(base) = &base {
                for p in [
                    &mut s.password_file,
                    &mut s.ca_file,
                    &mut s.cert_file,
                    &mut s.key_file,
                ]
                .into_iter()
                .flatten()
                {
                    if p.is_relative() {
                        *p = base.join(&*p);
                    }
                }
            }
        }
        let default = match file.default {
            Some(d) => {
                if !servers.contains_key(&d) {
                    return Err(KeaError::invalid(format!(
                        "{shown}: default = \"{d}\" names no server of the inventory"
                    )));
                }
                d
            }
            None => match servers.keys().next() {
                Some(first) if servers.len() == 1 => first.clone(),
                Some(_) => {
                    return Err(KeaError::invalid(format!(
                        "{shown}: several servers and no `default = \"…\"`"
                    )));
                }
                None => {
                    return Err(KeaError::invalid(format!(
                        "{shown}: no [servers.NAME] entry"
                    )));
                }
            },
        };
        if file.snapshots.keep == Some(0) {
            return Err(KeaError::invalid(format!(
                "{shown}: [snapshots] keep = 0: keep at least 1 snapshot per server and service"
            )));
        }
        if file.journal.keep == Some(0) {
            return Err(KeaError::invalid(format!(
                "{shown}: [journal] keep = 0: keep at least 1 finished change record"
            )));
        }
        for (name, ha) in &file.ha {
            for p in &ha.peers {
                if !servers.contains_key(p) {
                    return Err(KeaError::invalid(format!(
                        "{shown}: [ha.{name}] peer \"{p}\" is not a server of the inventory"
                    )));
                }
            }
        }
        Ok(Self {
            path: path.map(Path::to_path_buf),
            default,
            servers,
            ha: file.ha,
            snapshots: file.snapshots,
            journal: file.journal,
        })
    }

    /// The entry of a named server, or a `not_found` error that lists the known names.
    pub fn get(&self, name: &str) -> Result<&ServerEntry, KeaError> {
        self.servers.get(name).ok_or_else(|| {
            KeaError::new(
                super::ErrorKind::NotFound,
                format!(
                    "no server \"{name}\" in the inventory{} (known: {})",
                    self.path
                        .as_ref()
                        .map(|p| format!(" {}", p.display()))
                        .unwrap_or_default(),
                    self.servers.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }
}

/// A TOML error as the admin needs it: where, and what — never the offending line, which
/// may hold a password.
fn syntax_error(shown: &str, text: &str, e: &toml::de::Error) -> KeaError {
    let mut at = String::new();
    let mut line_text = "";
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        line_text = text[line_start..].lines().next().unwrap_or("");
        at = format!(":{line}:{column}");
    }
    let mut message = e.message().trim().to_string();
    // A type error quotes the value (`invalid type: string "…"`): not when the key on that
    // line names a secret.
    let key = line_text.split('=').next().unwrap_or("").trim();
    if super::redact::is_secret_key(key) || super::redact::contains_secret(line_text) {
        message = hide_quoted(&message);
    }
    if message.contains("unknown field `password`") || message.contains("unknown field `pass") {
        message.push_str(
            "; a password never goes in the inventory: use `password_file` (a file only you can read) or `password_env` (a variable)",
        );
    }
    KeaError::invalid(format!("{shown}{at}: {message}"))
}

/// `s` with every `"…"` replaced by `"[redacted]"`.
fn hide_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut parts = s.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if i % 2 == 0 { "[redacted]" } else { part });
    }
    out
}

/// A transport setting in milliseconds; `0` means none (as `--timeout 0` does).
fn millis_or_none(ms: u64) -> Duration {
    if ms == 0 {
        TransportOptions::NO_TIMEOUT
    } else {
        Duration::from_millis(ms)
    }
}

impl ServerEntry {
    /// What can be checked without reading any file or variable: endpoints parse (`http`,
    /// `https` or `unix:`, no `user:password@` in them), credentials are complete and never
    /// go over plain HTTP to a host that is not loopback.
    pub fn check(&self, _name: &str) -> Result<(), KeaError> {
        if self.url.is_none() && self.dhcp4.is_none() && self.dhcp6.is_none() {
            return Err(KeaError::invalid(
                "needs `url` (a Control Agent) or `dhcp4`/`dhcp6` endpoints",
            ));
        }
        if let Some(t) = self
            .tags
            .iter()
            .find(|t| t.is_empty() || t.chars().any(|c| c.is_whitespace() || c == ','))
        {
            return Err(KeaError::invalid(format!(
                "tags: {t:?} is not a tag (a non-empty word without spaces or commas, e.g. \"site-a\")"
            )));
        }
        if self.password_file.is_some() && self.password_env.is_some() {
            return Err(KeaError::invalid(
                "give password_file or password_env, not both",
            ));
        }
        if (self.password_file.is_some() || self.password_env.is_some()) && self.user.is_none() {
            return Err(KeaError::invalid("a password is given but no `user`"));
        }
        for (key, address, daemon) in [
            ("url", &self.url, false),
            ("dhcp4", &self.dhcp4, true),
            ("dhcp6", &self.dhcp6, true),
        ] {
            let Some(address) = address else { continue };
            let ep = Endpoint::parse(address, daemon)
                .map_err(|e| KeaError::invalid(format!("{key}: {}", strip_kind(&e))))?;
            if self.user.is_some() && ep.refuses_credentials() {
                return Err(KeaError::from_transport(
                    &TransportError::InsecureCredentials(ep.to_string()),
                ));
            }
        }
        Ok(())
    }

    /// Transport options for this server, with the password read from its file or variable
    /// (on the server's first use: an unreadable file or an unset variable is an `invalid`
    /// error that names it). `timeout_ms = 0` and `connect_timeout_ms = 0` mean none.
    pub fn transport_options(&self, name: &str) -> Result<TransportOptions, KeaError> {
        let mut o = TransportOptions::default();
        if let Some(ms) = self.timeout_ms {
            o.timeout = millis_or_none(ms);
        }
        if let Some(ms) = self.connect_timeout_ms {
            o.connect_timeout = millis_or_none(ms);
        }
        if let Some(n) = self.max_answer_bytes {
            o.max_answer_bytes = n;
        }
        o.user = self.user.clone();
        o.password = self.read_password(name)?;
        if o.password.is_some() && o.user.is_none() {
            return Err(KeaError::invalid(format!(
                "server \"{name}\": a password is given but no `user`"
            )));
        }
        o.ca_file = self.ca_file.clone();
        o.cert_file = self.cert_file.clone();
        o.key_file = self.key_file.clone();
        Ok(o)
    }

    /// The password from `password_file` or `password_env`, registered as a secret.
    fn read_password(&self, name: &str) -> Result<Option<Secret>, KeaError> {
        match (&self.password_file, &self.password_env) {
            (Some(_), Some(_)) => Err(KeaError::invalid(format!(
                "server \"{name}\": give password_file or password_env, not both"
            ))),
            (Some(file), None) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    KeaError::invalid(format!(
                        "server \"{name}\": cannot read password_file {}: {e}",
                        file.display()
                    ))
                })?;
                Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
            }
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
                _ => Err(KeaError::invalid(format!(
                    "server \"{name}\": password_env {var} is not set"
                ))),
            },
            (None, None) => Ok(None),
        }
    }
}

/// A transport error's text without its `bad endpoint` prefix.
fn strip_kind(e: &TransportError) -> String {
    match e {
        TransportError::BadEndpoint(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_retention_is_read_and_checked() {
        let base = "[servers.a]\nurl = \"http://127.0.0.1:8000\"\n";
        let i = Inventory::parse(&format!("{base}[snapshots]\nkeep = 7\n"), None).unwrap();
        assert_eq!(i.snapshots.keep, Some(7));
        assert_eq!(Inventory::parse(base, None).unwrap().snapshots.keep, None);
        let e = Inventory::parse(&format!("{base}[snapshots]\nkeep = 0\n"), None).unwrap_err();
        assert!(e.message.contains("keep = 0"), "{}", e.message);
        assert!(Inventory::parse(&format!("{base}[snapshots]\nkept = 3\n"), None).is_err());
    }

    #[test]
    fn journal_retention_is_read_and_checked() {
        let base = "[servers.a]\nurl = \"http://127.0.0.1:8000\"\n";
        let i = Inventory::parse(&format!("{base}[journal]\nkeep = 20\n"), None).unwrap();
        assert_eq!(i.journal.keep, Some(20));
        assert_eq!(Inventory::parse(base, None).unwrap().journal.keep, None);
        let e = Inventory::parse(&format!("{base}[journal]\nkeep = 0\n"), None).unwrap_err();
        assert!(e.message.contains("[journal] keep = 0"), "{}", e.message);
        assert!(Inventory::parse(&format!("{base}[journal]\nkept = 3\n"), None).is_err());
    }

    const EXAMPLE: &str = r#"
default = "edge-1"

[servers.edge-1]
url = "https://kea-edge-1.example.net:8000"
user = "keascript"
password_file = "edge-1.pass"
ca_file = "/etc/keascript/ca.pem"
config_path_only = false

[servers.edge-2]
dhcp4 = "http://127.0.0.1:8004"
dhcp6 = "unix:/run/kea/kea6-ctrl-socket"
user = "keascript"
password_env = "KEA_EDGE2_PASSWORD"

[ha.edge]
peers = ["edge-1", "edge-2"]
"#;

    #[test]
    fn reads_the_documented_example() {
        let inv =
            Inventory::parse(EXAMPLE, Some(Path::new("/etc/keascript/keascript.toml"))).unwrap();
        assert_eq!(inv.default, "edge-1");
        let e1 = inv.get("edge-1").unwrap();
        assert_eq!(
            e1.password_file.as_deref(),
            Some(Path::new("/etc/keascript/edge-1.pass"))
        );
        let e2 = inv.get("edge-2").unwrap();
        assert_eq!(e2.dhcp6.as_deref(), Some("unix:/run/kea/kea6-ctrl-socket"));
        assert_eq!(inv.ha["edge"].peers, vec!["edge-1", "edge-2"]);
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = Inventory::parse("default = \"x\"\n[servers.a]\nurl = \"http://h\"\n", None)
            .unwrap_err();
        assert!(e.message.contains("\"x\""), "{}", e.message);
        let e = Inventory::parse("[servers.a]\n", None).unwrap_err();
        assert!(e.message.contains("\"a\""), "{}", e.message);
        let e = Inventory::parse("[servers.a]\nurl=\"http://h\"\nbogus=1\n", None).unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
        let inv = Inventory::builtin();
        let e = inv.get("nope").unwrap_err();
        assert_eq!(e.kind, super::super::ErrorKind::NotFound);
    }

    #[test]
    fn syntax_errors_say_where_but_never_echo_the_line() {
        for text in [
            // A password where none belongs, and one on a line with a syntax error.
            "[servers.a]\nurl = \"http://127.0.0.1:8000\"\nuser = \"kea\"\npassword = \"Inv-Secret-1\"\n",
            "[servers.a]\nurl = \"http://127.0.0.1:8000\"\npassword = \"Inv-Secret-1\" x\n",
            "[servers.a]\nurl = \"http://127.0.0.1:8000\"\ntimeout_ms = \"Inv-Secret-1\"\npasswd = 1\n",
            "[servers.a]\npassword_env = \"Inv-Secret-1\nurl = 1\n",
        ] {
            let e = Inventory::parse(text, Some(Path::new("/etc/k.toml"))).unwrap_err();
            assert!(!e.message.contains("Inv-Secret"), "{}", e.message);
            assert!(e.message.starts_with("/etc/k.toml:"), "{}", e.message);
            assert!(e.message.contains(':'), "{}", e.message);
        }
        let e = Inventory::parse(
            "[servers.a]\nurl = \"http://127.0.0.1:8000\"\nuser = \"k\"\npassword = \"Inv-Secret-1\"\n",
            None,
        )
        .unwrap_err();
        assert!(e.message.starts_with("inventory:4:1:"), "{}", e.message);
        assert!(e.message.contains("password_file"), "{}", e.message);
        // A type error still names what was expected.
        let e = Inventory::parse(
            "[servers.a]\nurl = \"http://h\"\ntimeout_ms = \"x\"\n",
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("inventory:3:"), "{}", e.message);
    }

    #[test]
    fn addresses_are_checked_when_the_inventory_is_read() {
        let bad = |entry: &str| {
            Inventory::parse(&format!("[servers.edge-9]\n{entry}\n"), None)
                .expect_err(entry)
                .message
        };
        let m = bad("url = \"http://admin:Url-Secret-2@127.0.0.1:8000\"");
        assert!(
            m.contains("\"edge-9\"") && m.contains("password_file"),
            "{m}"
        );
        assert!(!m.contains("Url-Secret-2"), "{m}");
        let m = bad("dhcp4 = \"https://admin@kea.example.net:8004\"");
        assert!(m.contains("dhcp4") && m.contains("password_env"), "{m}");
        let m = bad("url = \"ftp://h:8000\"");
        assert!(m.contains("ftp") && m.contains("edge-9"), "{m}");
        let m = bad("dhcp6 = \"unix:\"");
        assert!(m.contains("dhcp6"), "{m}");
        let m = bad("url = \"http://192.0.2.1:8000\"\nuser = \"k\"\npassword_env = \"X\"");
        assert!(m.contains("plain HTTP"), "{m}");
        let m = bad("url = \"http://127.0.0.1:8000\"\npassword_env = \"X\"");
        assert!(m.contains("`user`"), "{m}");
    }

    #[test]
    fn credentials_are_read_on_first_use_and_zero_means_no_timeout() {
        let inv = Inventory::parse(
            "default = \"ok\"\n[servers.ok]\nurl = \"http://127.0.0.1:8000\"\ntimeout_ms = 0\nconnect_timeout_ms = 0\n\
             [servers.gone]\nurl = \"http://127.0.0.1:8000\"\nuser = \"k\"\npassword_file = \"/nonexistent/keascript/p\"\n",
            None,
        )
        .expect("a missing password file is not the inventory's error");
        let o = inv.get("ok").unwrap().transport_options("ok").unwrap();
        assert_eq!(o.timeout, TransportOptions::NO_TIMEOUT);
        assert_eq!(o.connect_timeout, TransportOptions::NO_TIMEOUT);
        let e = inv
            .get("gone")
            .unwrap()
            .transport_options("gone")
            .unwrap_err();
        assert_eq!(e.kind, super::super::ErrorKind::Invalid);
        assert!(
            e.message.contains("/nonexistent/keascript/p"),
            "{}",
            e.message
        );
    }

    #[test]
    fn password_from_file_and_env_never_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pass = dir.path().join("p");
        std::fs::write(&pass, "s3cret-pass\n").unwrap();
        let entry = ServerEntry {
            url: Some("http://127.0.0.1:8000".into()),
            user: Some("u".into()),
            password_file: Some(pass),
            ..Default::default()
        };
        let o = entry.transport_options("a").unwrap();
        assert_eq!(o.password.as_ref().unwrap().expose(), "s3cret-pass");
        assert!(!format!("{o:?}").contains("s3cret"));
        let entry = ServerEntry {
            url: Some("http://127.0.0.1:8000".into()),
            user: Some("u".into()),
            password_env: Some("KEASCRIPT_TEST_UNSET_VARIABLE".into()),
            ..Default::default()
        };
        let e = entry.transport_options("a").unwrap_err();
        assert!(e.message.contains("KEASCRIPT_TEST_UNSET_VARIABLE"));
    }
}
