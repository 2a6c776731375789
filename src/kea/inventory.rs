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
use crate::transport::{Secret, TransportOptions};

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
}

/// The servers keascript knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// The file it came from; `None` for the built-in default.
    pub path: Option<PathBuf>,
    pub default: String,
    pub servers: BTreeMap<String, ServerEntry>,
    pub ha: BTreeMap<String, HaEntry>,
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
    pub fn load(path: &Path) -> Result<Self, KeaError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            KeaError::invalid(format!("cannot read inventory {}: {e}", path.display()))
        })?;
        Self::parse(&text, Some(path))
    }

    /// Parses inventory text; `path` anchors relative file names.
    pub fn parse(text: &str, path: Option<&Path>) -> Result<Self, KeaError> {
        let shown = path.map_or("inventory".to_string(), |p| p.display().to_string());
        let file: File = toml::from_str(text)
            .map_err(|e| KeaError::invalid(format!("{shown}: {}", e.to_string().trim())))?;
        let base = path.and_then(Path::parent).map(Path::to_path_buf);
        let mut servers = file.servers;
        for (name, s) in &mut servers {
            if s.url.is_none() && s.dhcp4.is_none() && s.dhcp6.is_none() {
                return Err(KeaError::invalid(format!(
                    "{shown}: server \"{name}\" needs `url` (a Control Agent) or `dhcp4`/`dhcp6` endpoints"
                )));
            }
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

impl ServerEntry {
    /// Transport options for this server, with the password read from its file or variable.
    pub fn transport_options(&self, name: &str) -> Result<TransportOptions, KeaError> {
        let mut o = TransportOptions::default();
        if let Some(ms) = self.timeout_ms {
            o.timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.connect_timeout_ms {
            o.connect_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = self.max_answer_bytes {
            o.max_answer_bytes = n;
        }
        o.user = self.user.clone();
        o.password = self.password(name)?;
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

    fn password(&self, name: &str) -> Result<Option<Secret>, KeaError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
