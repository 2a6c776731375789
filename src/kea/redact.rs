//! keascript's one redaction rule. Everything that shows or keeps a configuration, an
//! answer or a message — errors, logs, the audit trail, dry-run diffs and plans, drift
//! snapshots and reports, values shown by the REPL, the REPL's history — goes through here.
//!
//! - **Keys**: the value of a key that names a secret is replaced by `[redacted]`:
//!   `password`, `passwd`, `pass`, `secret`, `token`, `api_token` and any key made of them
//!   (`basic-auth-password`, `db_pass`, `api-token`, `client_secret`…), in any case, with
//!   `-` or `_`; and `key` inside a basic-auth or database entry (`control-socket(s)`,
//!   `authentication`/`clients`, HA `peers`, `lease-database`, `hosts-database(s)`,
//!   `config-control`/`config-databases`). Keys that name where a secret is kept
//!   (`password-file`, `password_env`, `secret-file`…) are not secrets.
//! - **Values**: any secret loaded by this process (from a `password_file` or a
//!   `password_env`) and the `user:password@` part of any URL are removed from every
//!   string, wherever it is (`transport::scrub`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

pub use crate::transport::secret::{REDACTED, contains_secret};

/// Words that make a key a secret.
const SECRET_WORDS: &[&str] = &["password", "passwd", "pass", "secret", "token", "pw", "psk"];

/// Last words that make a key name where a secret is kept, not the secret.
const WHERE_WORDS: &[&str] = &["file", "env", "path", "dir", "directory", "var"];

/// Keys whose value is (or holds) basic-auth or database entries: there, `key` is a secret.
const CREDENTIAL_CONTAINERS: &[&str] = &[
    "control-socket",
    "control-sockets",
    "authentication",
    "clients",
    "peers",
    "lease-database",
    "hosts-database",
    "hosts-databases",
    "config-control",
    "config-databases",
];

/// The words of a key: lower case, split at `-`, `_`, `.`, blanks and camelCase humps.
fn words(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '-' || c == '_' || c == '.' || c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Does a key (of a configuration, an answer, a script map) name a secret anywhere?
/// `password`, `basic-auth-password`, `api_token`, `dbPassword`, `ClientSecret`: yes;
/// `password-file`, `password_env`, `secret-file`, `key`: no (see [`is_secret_key_in`]).
pub fn is_secret_key(key: &str) -> bool {
    // Most keys of a configuration hold none of the letters a secret's name needs: they
    // are answered without splitting them into words (a 10,000-subnet configuration has
    // hundreds of thousands of keys).
    if key.is_ascii() && !SECRET_PARTS.iter().any(|p| contains_ci(key, p)) {
        return false;
    }
    let w = words(key);
    let Some(last) = w.last() else { return false };
    if w.len() > 1 && WHERE_WORDS.contains(&last.as_str()) {
        return false;
    }
    w.iter().any(|w| {
        SECRET_WORDS.contains(&w.as_str())
            || w.contains("password")
            || w.contains("passwd")
            || w.contains("secret")
            || w.ends_with("token")
            || w == "apikey"
            || w == "privkey"
    })
}

/// Does a key name a secret, inside a basic-auth or database entry when `credentials`?
/// There `key` is one too.
pub fn is_secret_key_in(key: &str, credentials: bool) -> bool {
    is_secret_key(key)
        || (credentials && (!key.is_ascii() || contains_ci(key, "key")) && words(key) == ["key"])
}

/// What every secret key (of [`is_secret_key`]) contains, in ASCII lower case.
const SECRET_PARTS: &[&str] = &["pass", "secret", "token", "pw", "psk", "apikey", "privkey"];

/// Whether ASCII `hay` contains `needle` (lower case), ignoring case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Does a name in a script (a variable, a map key) look like it holds a secret? Every
/// secret key ([`is_secret_key`]), and names with a word `key` (`key`, `api_key`,
/// `tsigKey`) but those that name a subnet or scope key.
pub fn is_secret_name(name: &str) -> bool {
    if is_secret_key(name) {
        return true;
    }
    let w = words(name);
    w.iter().any(|w| w == "key" || w == "privkey")
        && !w.iter().any(|w| {
            ["subnet", "scope", "pool", "sort", "map", "lookup", "lease"].contains(&w.as_str())
        })
}

/// Does this key hold basic-auth or database entries (where `key` is a secret too)?
pub fn is_credential_container(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('_', "-");
    CREDENTIAL_CONTAINERS.contains(&k.as_str())
}

/// `v` with every secret replaced by `[redacted]` (see the module's rule).
pub fn value(v: &Value) -> Value {
    redact_value(v, false)
}

fn redact_value(v: &Value, credentials: bool) -> Value {
    match v {
        Value::Object(m) => Value::Object(redact_map(m, credentials)),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_value(x, credentials)).collect()),
        Value::String(s) => match text(s) {
            Cow::Borrowed(_) => v.clone(),
            Cow::Owned(s) => Value::String(s),
        },
        other => other.clone(),
    }
}

fn redact_map(m: &Map<String, Value>, credentials: bool) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), field(k, v, credentials)))
        .collect()
}

/// The value of one field named `key`, redacted.
fn field(key: &str, v: &Value, credentials: bool) -> Value {
    if !v.is_null() && is_secret_key_in(key, credentials) {
        return Value::String(REDACTED.into());
    }
    redact_value(v, credentials || is_credential_container(key))
}

/// The value of the field `key` (of a map that is not itself a credential entry),
/// redacted: `[redacted]` when the key names a secret, else `v` redacted inside.
pub fn field_value(key: &str, v: &Value) -> Value {
    field(key, v, false)
}

/// What a secret that a change replaces shows as on the new side of a diff.
pub const REDACTED_CHANGED: &str = "[redacted, changed]";

/// Two versions of one value, redacted for a diff: a secret that differs between them is
/// `[redacted]` before and `[redacted, changed]` after, so the diff shows that it changed
/// without showing it. A side that is already `[redacted]` (a saved snapshot) counts as
/// unchanged.
pub fn pair(old: &Value, new: &Value) -> (Value, Value) {
    pair_in(old, new, false)
}

fn pair_in(old: &Value, new: &Value, credentials: bool) -> (Value, Value) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut ra = Map::new();
            let mut rb = Map::new();
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => {
                        let (x, y) = pair_field(k, va, vb, credentials);
                        ra.insert(k.clone(), x);
                        rb.insert(k.clone(), y);
                    }
                    None => {
                        ra.insert(k.clone(), field(k, va, credentials));
                    }
                }
            }
            // Keys only in the new map, in the new map's order.
            let mut out = Map::new();
            for (k, vb) in b {
                match rb.remove(k) {
                    Some(v) => out.insert(k.clone(), v),
                    None => out.insert(k.clone(), field(k, vb, credentials)),
                };
            }
            (Value::Object(ra), Value::Object(out))
        }
        (Value::Array(a), Value::Array(b)) if identity(a, b).is_some() => {
            // Objects with an identity (subnets, classes, peers…) pair up by it, so that one
            // removed from the middle does not make the secrets after it look changed.
            let id = identity(a, b).expect("identity");
            let index = |list: &[Value]| -> HashMap<String, usize> {
                let mut m = HashMap::with_capacity(list.len());
                for (i, v) in list.iter().enumerate() {
                    m.entry(v[id].to_string()).or_insert(i);
                }
                m
            };
            let (ia, ib) = (index(a), index(b));
            let ra = a
                .iter()
                .map(|x| match ib.get(&x[id].to_string()) {
                    Some(&j) => pair_in(x, &b[j], credentials).0,
                    None => redact_value(x, credentials),
                })
                .collect();
            let rb = b
                .iter()
                .map(|y| match ia.get(&y[id].to_string()) {
                    Some(&i) => pair_in(&a[i], y, credentials).1,
                    None => redact_value(y, credentials),
                })
                .collect();
            (Value::Array(ra), Value::Array(rb))
        }
        (Value::Array(a), Value::Array(b)) => {
            let n = a.len().max(b.len());
            let (mut ra, mut rb) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
            for i in 0..n {
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => {
                        let (x, y) = pair_in(x, y, credentials);
                        ra.push(x);
                        rb.push(y);
                    }
                    (Some(x), None) => ra.push(redact_value(x, credentials)),
                    (None, Some(y)) => rb.push(redact_value(y, credentials)),
                    (None, None) => {}
                }
            }
            (Value::Array(ra), Value::Array(rb))
        }
        _ => (
            redact_value(old, credentials),
            redact_value(new, credentials),
        ),
    }
}

/// The key that identifies every object of both arrays, when there is one.
fn identity(a: &[Value], b: &[Value]) -> Option<&'static str> {
    ["id", "name", "subnet", "prefix", "pool", "user", "url"]
        .into_iter()
        .find(|k| {
            !(a.is_empty() && b.is_empty())
                && a.iter()
                    .chain(b)
                    .all(|v| v.get(k).is_some_and(|x| !x.is_null()))
        })
}

fn pair_field(key: &str, old: &Value, new: &Value, credentials: bool) -> (Value, Value) {
    if is_secret_key_in(key, credentials) && !(old.is_null() && new.is_null()) {
        let shown = |v: &Value| {
            if v.is_null() {
                Value::Null
            } else {
                Value::String(REDACTED.into())
            }
        };
        // A side already redacted (a saved snapshot) cannot tell: not a change.
        let known = |v: &Value| !v.is_null() && v.as_str() != Some(REDACTED);
        let after = if old != new && known(old) && known(new) {
            Value::String(REDACTED_CHANGED.into())
        } else {
            shown(new)
        };
        return (shown(old), after);
    }
    pair_in(old, new, credentials || is_credential_container(key))
}

/// Where `v` holds a value this rule wrote (`[redacted]`, `[redacted, changed]`), as a
/// path (`Dhcp4/lease-database/password`): such a value comes from a redacted copy (a
/// drift snapshot, the audit trail, a diff) and must never be sent to Kea as if it were
/// the secret.
pub fn redacted_at(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s == REDACTED || s == REDACTED_CHANGED => Some(String::new()),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            redacted_at(x).map(|p| {
                if p.is_empty() {
                    k.clone()
                } else {
                    format!("{k}/{p}")
                }
            })
        }),
        Value::Array(a) => a.iter().enumerate().find_map(|(i, x)| {
            redacted_at(x).map(|p| {
                if p.is_empty() {
                    i.to_string()
                } else {
                    format!("{i}/{p}")
                }
            })
        }),
        _ => None,
    }
}

/// `v` redacted exactly as [`value`] redacts it, as something to serialize: written out
/// without building the redacted copy first (a snapshot of a 10,000-subnet configuration
/// would otherwise copy it whole).
pub fn serializable(v: &Value) -> impl serde::Serialize + '_ {
    Redacted(v, false)
}

struct Redacted<'a>(&'a Value, bool);

impl serde::Serialize for Redacted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let credentials = self.1;
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, x) in m {
                    // As `field`: a secret key's value goes, the rest is redacted inside.
                    if !x.is_null() && is_secret_key_in(k, credentials) {
                        map.serialize_entry(k, REDACTED)?;
                    } else {
                        map.serialize_entry(
                            k,
                            &Redacted(x, credentials || is_credential_container(k)),
                        )?;
                    }
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&Redacted(x, credentials))?;
                }
                seq.end()
            }
            Value::String(t) => s.serialize_str(&text(t)),
            other => other.serialize(s),
        }
    }
}

/// `text` without any secret loaded by this process and without URL passwords.
pub fn text(s: &str) -> Cow<'_, str> {
    crate::transport::scrub(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializable_writes_what_value_gives() {
        let v = json!({"Dhcp4": {"lease-database": {"type": "mysql", "password": "p1", "key": "k1"},
            "user-context": {"api_token": "t", "key": "not-a-secret-here", "n": [1, "x", null]},
            "control-sockets": [{"authentication": {"clients": [{"user": "u", "password": "p2"}]}}],
            "password": null}});
        assert_eq!(
            serde_json::to_string(&serializable(&v)).unwrap(),
            serde_json::to_string(&value(&v)).unwrap()
        );
    }

    #[test]
    fn secret_keys_in_every_spelling() {
        for k in [
            "password",
            "Password",
            "PASSWD",
            "pass",
            "db_pass",
            "secret",
            "client-secret",
            "ClientSecret",
            "token",
            "api_token",
            "api-token",
            "API_TOKEN",
            "apiToken",
            "accessToken",
            "basic-auth-password",
            "basic_auth_password",
            "dbPassword",
            "pw",
            "apikey",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "password-file",
            "password_file",
            "password_env",
            "basic-auth-password-file",
            "secret-file",
            "user",
            "key",
            "keys",
            "name",
            "bypass",
            "passive",
            "tokens-issued",
            "valid-lifetime",
            "",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn key_is_a_secret_only_in_credential_entries() {
        let v = json!({
            "Dhcp4": {
                "lease-database": {"type": "postgresql", "user": "kea", "password": "db-pw-1", "key": "k1"},
                "hosts-databases": [{"name": "h", "passwd": "db-pw-2", "key": "k2"}],
                "config-control": {"config-databases": [{"pass": "db-pw-3", "key": "k3"}]},
                "control-socket": {"socket-type": "http", "authentication": {
                    "type": "basic", "clients": [{"user": "a", "password": "auth-pw", "password-file": "/etc/p", "key": "k4"}]}},
                "hooks-libraries": [{"library": "ha.so", "parameters": {"high-availability": [{"peers": [
                    {"name": "p", "basic-auth-password": "peer-pw", "basic-auth-password-file": "/etc/pp"}]}]}}],
                "client-classes": [{"name": "c", "user-context": {"key": "not-secret", "api_token": "tok-1", "Secret": {"a": 1}}}]
            }
        });
        let r = value(&v);
        let s = r.to_string();
        for secret in [
            "db-pw-1", "db-pw-2", "db-pw-3", "auth-pw", "peer-pw", "tok-1", "k1", "k2", "k3", "k4",
            "\"a\":1",
        ] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        let d = &r["Dhcp4"];
        assert_eq!(d["lease-database"]["user"], "kea");
        assert_eq!(d["lease-database"]["password"], REDACTED);
        assert_eq!(
            d["control-socket"]["authentication"]["clients"][0]["password-file"],
            "/etc/p"
        );
        assert_eq!(d["client-classes"][0]["user-context"]["key"], "not-secret");
        // Null stays null: nothing is hidden, and a dry run can still show it being set.
        assert_eq!(value(&json!({"password": null})), json!({"password": null}));
    }

    #[test]
    fn a_pair_shows_that_a_secret_changed_but_not_what_it_is() {
        let old = json!({"Dhcp4": {"lease-database": {"user": "kea", "password": "old-pw-1"},
                                   "client-classes": [{"name": "a", "user-context": {"token": "same-tok"}}],
                                   "valid-lifetime": 4000}});
        let new = json!({"Dhcp4": {"lease-database": {"user": "kea", "password": "new-pw-2"},
                                   "client-classes": [{"name": "a", "user-context": {"token": "same-tok"}},
                                                      {"name": "b", "user-context": {"secret": "added-s"}}],
                                   "valid-lifetime": 7200}});
        let (a, b) = pair(&old, &new);
        let text = format!("{a}{b}");
        for secret in ["old-pw-1", "new-pw-2", "same-tok", "added-s"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(a["Dhcp4"]["lease-database"]["password"], REDACTED);
        assert_eq!(b["Dhcp4"]["lease-database"]["password"], REDACTED_CHANGED);
        assert_eq!(
            b["Dhcp4"]["client-classes"][0]["user-context"]["token"],
            REDACTED
        );
        assert_eq!(
            b["Dhcp4"]["client-classes"][1]["user-context"]["secret"],
            REDACTED
        );
        assert_eq!(b["Dhcp4"]["valid-lifetime"], 7200);
        // Objects pair up by identity, not position.
        let (a, b) = pair(
            &json!([{"name": "x", "secret": "s-x"}, {"name": "y", "secret": "s-y"}]),
            &json!([{"name": "y", "secret": "s-y"}]),
        );
        assert_eq!(
            a,
            json!([{"name": "x", "secret": REDACTED}, {"name": "y", "secret": REDACTED}])
        );
        assert_eq!(b, json!([{"name": "y", "secret": REDACTED}]));
        let b = &pair(&old, &new).1;
        // Key order of the new side is kept (a diff compares lines).
        let keys: Vec<&String> = b["Dhcp4"].as_object().unwrap().keys().collect();
        let want: Vec<&String> = new["Dhcp4"].as_object().unwrap().keys().collect();
        assert_eq!(keys, want);
    }

    #[test]
    fn redacted_values_are_found() {
        let v = json!({"Dhcp4": {"hosts-databases": [{"name": "h"}, {"password": REDACTED}]}});
        assert_eq!(
            redacted_at(&v).as_deref(),
            Some("Dhcp4/hosts-databases/1/password")
        );
        assert_eq!(redacted_at(&json!({"a": ["[redacted] or not"]})), None);
        assert_eq!(
            redacted_at(&value(&json!({"token": "t"}))).as_deref(),
            Some("token")
        );
    }

    #[test]
    fn loaded_secrets_and_url_passwords_go_from_every_string() {
        let _s = crate::transport::Secret::new("redact-test-loaded-value");
        let v = json!({"comment": "was redact-test-loaded-value", "url": "http://u:p@h:1/",
                       "n": [1, "redact-test-loaded-value"]});
        assert_eq!(
            value(&v),
            json!({"comment": "was [redacted]", "url": "http://[redacted]@h:1/", "n": [1, "[redacted]"]})
        );
        assert_eq!(field_value("token", &json!(5)), json!(REDACTED));
        assert_eq!(
            field_value("lease-database", &json!({"key": "x"})),
            json!({"key": REDACTED})
        );
    }
}
