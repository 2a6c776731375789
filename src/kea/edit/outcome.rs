//! Finding out what became of a change whose answer was lost, and making the running
//! configuration and the file agree again (`spec/design.md` › the edit pipeline; the
//! journal of [`super::journal`]).
//!
//! The server is read again when it answers: if it runs the configuration from before the
//! change, that is written to the file (a lost `config-write` of the undo may have left the
//! new one there); if it runs the configuration sent, that is written (a lost `config-write`
//! of the change is done again — writing is idempotent); if it runs neither, someone else
//! changed it meanwhile and nothing more is touched.

use std::time::Duration;

use serde_json::Value;

use super::journal::{self, InFlight};
use crate::kea::config::Family;
use crate::kea::config::net::Range;
use crate::kea::{ErrorKind, KeaError, Service};

/// What the server was found running, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// It runs the change; the change was written to its file.
    Completed,
    /// It runs the configuration from before; that was written to its file.
    Reverted,
    /// It runs neither (someone else changed it): nothing was touched.
    Neither,
    /// It did not answer again: the record stays for the next change.
    Unreachable(String),
}

impl Resolution {
    pub fn describe(&self) -> String {
        match self {
            Self::Completed => "the server runs the change; it was written to its file".into(),
            Self::Reverted => {
                "the server runs the configuration from before the change; that was written to its file, the change was not made".into()
            }
            Self::Neither => {
                "the server runs neither the configuration from before nor the one sent (someone else changed it): nothing more was done, look at the server".into()
            }
            Self::Unreachable(e) => format!(
                "the server did not answer again ({e}); the next keascript change against it will finish or undo this one"
            ),
        }
    }
}

fn without_hash(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("hash");
    }
    v
}

/// Whether `running` carries everything `sent` says (Kea adds its defaults and echoes
/// inherited values, so `running` may say more). Strings are compared without spaces (Kea
/// writes `a - b` pools as `a-b`).
pub fn carries(running: &Value, sent: &Value) -> bool {
    match (running, sent) {
        (Value::Object(r), Value::Object(s)) => s
            .iter()
            .all(|(k, sv)| r.get(k).is_some_and(|rv| carries(rv, sv))),
        (Value::Array(r), Value::Array(s)) => {
            r.len() == s.len() && r.iter().zip(s).all(|(rv, sv)| carries(rv, sv))
        }
        (Value::String(r), Value::String(s)) => r == s || same_text(r, s),
        (Value::Number(r), Value::Number(s)) => r.as_f64() == s.as_f64(),
        (r, s) => r == s,
    }
}

/// Where `running` first fails to carry `sent` (a JSON path), for messages.
pub fn first_difference(running: &Value, sent: &Value, path: &str) -> Option<String> {
    match (running, sent) {
        (Value::Object(r), Value::Object(s)) => s.iter().find_map(|(k, sv)| match r.get(k) {
            None => Some(format!("{path}.{k} (missing)")),
            Some(rv) => first_difference(rv, sv, &format!("{path}.{k}")),
        }),
        (Value::Array(r), Value::Array(s)) if r.len() == s.len() => r
            .iter()
            .zip(s)
            .enumerate()
            .find_map(|(i, (rv, sv))| first_difference(rv, sv, &format!("{path}[{i}]"))),
        (r, s) if carries(r, s) => None,
        (r, s) => Some(format!("{path} (running {}, sent {})", short(r), short(s))),
    }
}

fn short(v: &Value) -> String {
    let t = v.to_string();
    if t.len() > 80 {
        format!(
            "{}…",
            &t[..t.char_indices().nth(80).map_or(t.len(), |(i, _)| i)]
        )
    } else {
        t
    }
}

/// Kea's way of writing what was sent: pools without spaces, a one-address range or a
/// range that is a whole prefix as `a/len`.
fn same_text(r: &str, s: &str) -> bool {
    let squeeze = |t: &str| t.split_whitespace().collect::<String>();
    if squeeze(r) == squeeze(s) {
        return true;
    }
    let range = |t: &str| {
        [Family::V4, Family::V6]
            .into_iter()
            .find_map(|f| Range::parse(t, f, "pool").ok())
    };
    (r.contains('-') || r.contains('/'))
        && (s.contains('-') || s.contains('/'))
        && range(r).is_some_and(|a| range(s) == Some(a))
}

/// What the running configuration is, against a change's record.
pub fn classify(running: &Value, entry: &InFlight) -> Resolution {
    let running = without_hash(running);
    if running == without_hash(&entry.before) {
        Resolution::Reverted
    } else if carries(&running, &entry.after) {
        Resolution::Completed
    } else {
        tracing::debug!(
            difference = ?first_difference(&running, &entry.after, ""),
            "the running configuration carries neither the old nor the new one"
        );
        Resolution::Neither
    }
}

/// Reads the server again (a few times, for at most about `patience`), makes its file
/// agree with what it runs, and clears the record unless the server stayed silent.
pub async fn resolve(svc: &Service, key: &str, entry: &InFlight, patience: Duration) -> Resolution {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    let running = loop {
        match svc.config().await {
            Ok(v) => break v,
            Err(e) => {
                if started.elapsed() + wait > patience {
                    return Resolution::Unreachable(e.message);
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    };
    let found = classify(&running, entry);
    match found {
        Resolution::Completed | Resolution::Reverted => {
            if let Err(e) = svc.write().await {
                return Resolution::Unreachable(format!("config-write: {}", e.message));
            }
            journal::clear(key);
        }
        Resolution::Neither => journal::clear(key),
        Resolution::Unreachable(_) => {}
    }
    found
}

/// The error for a change whose outcome stayed unknown or went wrong on the way.
pub fn unknown_error(
    svc: &Service,
    command: &str,
    cause: &KeaError,
    found: &Resolution,
) -> KeaError {
    let kind = match found {
        Resolution::Reverted => cause.kind,
        Resolution::Completed => ErrorKind::Transport,
        Resolution::Neither | Resolution::Unreachable(_) => ErrorKind::Partial,
    };
    KeaError {
        kind,
        message: format!(
            "the outcome of {command} was unknown ({}); {}",
            cause.message,
            found.describe()
        ),
        maybe_applied: false,
        ..cause.clone()
    }
    .with_server(svc.server.name())
    .with_service(Some(&svc.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(before: Value, after: Value) -> InFlight {
        InFlight {
            id: "x".into(),
            time: "t".into(),
            server: "s".into(),
            service: "dhcp4".into(),
            phase: "sent".into(),
            before,
            after,
            snapshot: None,
        }
    }

    #[test]
    fn the_running_configuration_is_told_apart() {
        let before = json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "client-class": "a"}]}, "hash": "h1"});
        let after = json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"},
            {"id": 2, "subnet": "10.1.0.0/24", "pools": [{"pool": "10.1.0.10 - 10.1.0.20"}]}]}});
        let e = entry(before.clone(), after);
        let mut b = before.clone();
        b["hash"] = json!("h2");
        assert_eq!(
            classify(&b, &e),
            Resolution::Reverted,
            "the hash does not count"
        );
        // What Kea answers after applying it: defaults added, pools without spaces.
        let running = json!({"Dhcp4": {"subnet4": [
            {"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 4000},
            {"id": 2, "subnet": "10.1.0.0/24", "valid-lifetime": 4000, "pools": [{"pool": "10.1.0.10-10.1.0.20", "option-data": []}]}]}});
        assert_eq!(classify(&running, &e), Resolution::Completed);
        assert!(carries(
            &json!({"pool": "10.0.0.5/32"}),
            &json!({"pool": "10.0.0.5 - 10.0.0.5"})
        ));
        assert!(carries(
            &json!({"pool": "10.0.0.0/30"}),
            &json!({"pool": "10.0.0.0-10.0.0.3"})
        ));
        assert!(!carries(
            &json!({"pool": "10.0.0.0/30"}),
            &json!({"pool": "10.0.0.0-10.0.0.4"})
        ));
        let other = json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}]}});
        assert_eq!(classify(&other, &e), Resolution::Neither);
    }
}
