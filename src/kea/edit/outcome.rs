//! Finding out what became of a change whose answer was lost, and making the running
//! configuration and the file agree again (`spec/design.md` › the edit pipeline; the
//! journal of [`super::journal`]).
//!
//! A target is read again when it answers, and what it runs is compared with its record: the
//! configuration from before the change (compared the way keascript read it, inherited values
//! left out), or the one sent (Kea adds its defaults, so "carries everything that was sent").
//!
//! Within a change ([`resolve`]), the target that did not answer is settled on its own and
//! the pipeline decides about the others. A change left in flight by an earlier keascript
//! ([`settle`]) is settled over all its targets, as one: if every target runs the new
//! configuration, each writes it to its file; else every target is put back to the old one
//! (and writes it); if a target runs neither, someone else changed it and nothing is touched.
//!
//! The journal keeps secrets redacted: a redacted value in a record matches whatever the
//! running configuration has at that place (but nothing), and a target put back gets each
//! redacted value from its running configuration at the same path — refused as `conflict`,
//! nothing touched, when the running configuration has nothing there. So a change that
//! replaced only a secret cannot be told apart from the configuration before it once its
//! answer is lost: it is settled as "runs the configuration from before" (written as it runs).

use std::time::Duration;

use serde_json::Value;

use super::journal::{self, Entry, Target};
use crate::kea::config::net::Range;
use crate::kea::config::{ConfigDoc, Family, normalize_inherited};
use crate::kea::estate::Estate;
use crate::kea::{ErrorKind, KeaError, KeaVersion, Service};

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
    /// A target must be put back, but a secret of its record cannot be filled back from
    /// what it runs (removed or moved since): nothing was touched, the record goes.
    Conflict(String),
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
            Self::Conflict(e) => format!(
                "it had to be put back, but {e}; nothing more was done, look at the server"
            ),
        }
    }
}

/// What one target runs, against its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The configuration sent.
    New,
    /// The configuration from before.
    Old,
    /// Something else.
    Neither,
}

/// Whether `running` carries everything `sent` says (Kea adds its defaults and echoes
/// inherited values, so `running` may say more). Strings are compared without spaces (Kea
/// writes `a - b` pools as `a-b`).
pub fn carries(running: &Value, sent: &Value) -> bool {
    match (running, sent) {
        // A secret the journal kept redacted: whatever runs there.
        (r, Value::String(s)) if is_redacted(s) => !r.is_null(),
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

/// A value the one redaction rule wrote (the journal keeps secrets so).
fn is_redacted(s: &str) -> bool {
    s == crate::kea::redact::REDACTED || s == crate::kea::redact::REDACTED_CHANGED
}

/// `running` equals `recorded`, where a redacted value in `recorded` stands for whatever
/// (but nothing) runs there.
pub fn same_but_secrets(running: &Value, recorded: &Value) -> bool {
    match (running, recorded) {
        (r, Value::String(s)) if is_redacted(s) => !r.is_null(),
        (Value::Object(r), Value::Object(s)) => {
            r.len() == s.len()
                && s.iter()
                    .all(|(k, sv)| r.get(k).is_some_and(|rv| same_but_secrets(rv, sv)))
        }
        (Value::Array(r), Value::Array(s)) => {
            r.len() == s.len() && r.iter().zip(s).all(|(rv, sv)| same_but_secrets(rv, sv))
        }
        (r, s) => r == s,
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

/// What `running` (a configuration as `config-get` answers it, on Kea `version`) is against
/// a target's `before` (as keascript read it, inherited values left out) and `after` (sent).
pub fn classify(
    running: Value,
    version: KeaVersion,
    family: Family,
    before: &Value,
    after: &Value,
) -> Found {
    let Ok(doc) = ConfigDoc::new(family, running) else {
        return Found::Neither;
    };
    // Kea echoes inherited values and adds its defaults: the new configuration is carried,
    // the old one is equal once read the way keascript reads it.
    let carries_new = carries(&doc.value, after);
    let mut norm = doc.with_version(version);
    normalize_inherited(&mut norm);
    if same_but_secrets(&norm.value, before) {
        Found::Old
    } else if carries_new || same_but_secrets(&norm.value, after) {
        Found::New
    } else {
        tracing::debug!(
            difference = ?first_difference(&norm.value, after, ""),
            "the running configuration carries neither the old nor the new one"
        );
        Found::Neither
    }
}

/// Reads a service again, retrying for at most about `patience`.
async fn read_again(svc: &Service, patience: Duration) -> Result<Value, String> {
    let started = std::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        match svc.config().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                if started.elapsed() + wait > patience {
                    return Err(e.message);
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// What one target runs now (read again with `patience`) and the secrets it runs (the
/// running configuration when it has any, to fill a redacted record back from), or why it
/// could not be read.
async fn found_on(
    svc: &Service,
    before: &Value,
    after: &Value,
    patience: Duration,
) -> Result<(Found, Option<Value>), String> {
    let running = read_again(svc, patience).await?;
    let version = svc
        .kea_version_cached()
        .await
        .map_err(|e| format!("version-get: {}", e.message))?;
    let live = crate::kea::redact::redacted_at(before)
        .is_some()
        .then(|| running.clone());
    let found = classify(
        running,
        version,
        Family::of_service(&svc.name),
        before,
        after,
    );
    Ok((found, live))
}

/// After a command of a change went unanswered on one target: reads it again, and makes its
/// file agree with what it runs (writing is idempotent).
pub async fn resolve(
    svc: &Service,
    before: &Value,
    after: &Value,
    patience: Duration,
) -> Resolution {
    match found_on(svc, before, after, patience).await.map(|(f, _)| f) {
        Err(e) => Resolution::Unreachable(e),
        Ok(Found::Neither) => Resolution::Neither,
        Ok(found) => {
            if let Err(e) = svc.write().await {
                return Resolution::Unreachable(format!("config-write: {}", e.message));
            }
            if found == Found::New {
                Resolution::Completed
            } else {
                Resolution::Reverted
            }
        }
    }
}

/// Settles a change an earlier keascript left in flight, over all its targets (issue 11's
/// rule): every target runs the new configuration → each writes it (`Completed`, the record
/// moves to `written`); else every target is put back to the old one and writes it
/// (`Reverted`, the record goes); a target running neither → nothing is touched (`Neither`,
/// the record goes: someone else has changed the server since); a target that does not
/// answer → nothing is touched and the record stays (`Unreachable`).
pub async fn settle(estate: &Estate, entry: &Entry, patience: Duration) -> Resolution {
    if !entry.hosts.is_empty() {
        return super::database::settle(estate, entry).await;
    }
    let mut found = Vec::with_capacity(entry.targets.len());
    for t in &entry.targets {
        let Some(svc) = estate.find(&t.server, &t.service, &t.url) else {
            return Resolution::Unreachable(format!(
                "{}/{} at {} is not in the inventory",
                t.server, t.service, t.url
            ));
        };
        let Some(after) = &t.after else {
            return Resolution::Unreachable(format!(
                "the record of {}/{} has no configurations",
                t.server, t.service
            ));
        };
        let before = match before_of(&svc, t).await {
            Ok(b) => b,
            Err(Resolution::Conflict(e)) => {
                journal::forget(&entry.id);
                return Resolution::Conflict(format!(
                    "the configuration from before the change on {} cannot be read ({e})",
                    t.server
                ));
            }
            Err(other) => return other,
        };
        match found_on(&svc, &before, after, patience).await {
            Ok((f, live)) => found.push((svc, t, f, live, before)),
            Err(e) => return Resolution::Unreachable(format!("{}: {e}", t.server)),
        }
    }
    if found.iter().any(|(_, _, f, _, _)| *f == Found::Neither) {
        journal::forget(&entry.id);
        return Resolution::Neither;
    }
    let all_new = found.iter().all(|(_, _, f, _, _)| *f == Found::New);
    // Every configuration to put back is made whole (its secrets filled back from what
    // the target runs) before anything is sent: every target or none.
    let mut backs: Vec<Option<Value>> = Vec::with_capacity(found.len());
    for (_, t, f, live, before) in &found {
        backs.push(if !all_new && *f == Found::New {
            match live {
                Some(live) => match crate::kea::snapshots::fill_secrets(before, live) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        journal::forget(&entry.id);
                        return Resolution::Conflict(format!("on {}: {}", t.server, e.message));
                    }
                },
                None => Some(before.clone()),
            }
        } else {
            None
        });
    }
    for ((svc, t, _, _, _), back) in found.iter().zip(&backs) {
        let r = async {
            if let Some(back) = back {
                svc.set(back).await?;
            }
            svc.write().await
        }
        .await;
        if let Err(e) = r {
            return Resolution::Unreachable(format!("{}: {}", t.server, e.message));
        }
    }
    if all_new {
        let _ = journal::written(&entry.id);
        Resolution::Completed
    } else {
        journal::forget(&entry.id);
        Resolution::Reverted
    }
}

/// A target's configuration from before the change, as the record keeps it: in the record,
/// or in the snapshot it names (as Kea showed it: read the way keascript reads it, inherited
/// values left out, in that Kea's spelling).
async fn before_of(svc: &Service, t: &Target) -> Result<Value, Resolution> {
    if let Some(b) = &t.before {
        return Ok(b.clone());
    }
    let Some(snap) = &t.before_snapshot else {
        return Err(Resolution::Conflict("the record keeps none".into()));
    };
    let shown = crate::kea::snapshots::Store::default_store()
        .config_by_id(snap)
        .map_err(|e| Resolution::Conflict(e.message))?;
    let version = svc.kea_version_cached().await.map_err(|e| {
        Resolution::Unreachable(format!("{}: version-get: {}", t.server, e.message))
    })?;
    let mut doc = ConfigDoc::new(Family::of_service(&svc.name), shown)
        .map_err(|e| Resolution::Conflict(e.message))?
        .with_version(version);
    normalize_inherited(&mut doc);
    Ok(doc.value)
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
        Resolution::Conflict(_) => ErrorKind::Conflict,
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

/// A record's target for messages.
pub fn target_name(t: &Target) -> String {
    format!("{}/{}", t.server, t.service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEA2: KeaVersion = KeaVersion::new(2, 2, 0);

    fn norm(v: Value) -> Value {
        let mut d = ConfigDoc::new(Family::V4, v).unwrap().with_version(KEA2);
        normalize_inherited(&mut d);
        d.value
    }

    #[test]
    fn the_running_configuration_is_told_apart() {
        // As Kea answers: the global valid-lifetime echoed into the subnet.
        let live = json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [
            {"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 4000, "client-class": "a"}]}});
        let before = norm(live.clone());
        assert!(
            before["Dhcp4"]["subnet4"][0]
                .get("valid-lifetime")
                .is_none()
        );
        let after = json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [{"id": 1, "subnet": "10.0.0.0/24"},
            {"id": 2, "subnet": "10.1.0.0/24", "pools": [{"pool": "10.1.0.10 - 10.1.0.20"}]}]}});
        let mut hashed = live.clone();
        hashed["hash"] = json!("h2");
        let f = |running: Value| classify(running, KEA2, Family::V4, &before, &after);
        assert_eq!(f(hashed), Found::Old, "the hash does not count");
        assert_eq!(f(live.clone()), Found::Old, "echoes do not count");
        // What Kea answers after applying it: defaults added, pools without spaces.
        let running = json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [
            {"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 4000},
            {"id": 2, "subnet": "10.1.0.0/24", "valid-lifetime": 4000, "pools": [{"pool": "10.1.0.10-10.1.0.20", "option-data": []}]}]}});
        assert_eq!(f(running), Found::New);
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
        assert_eq!(f(other), Found::Neither);
        // A change that only removes a subnet's own value: the old configuration still
        // carries everything the new one says, and is told apart all the same.
        let before = norm(live.clone());
        let mut after = before.clone();
        after["Dhcp4"]["subnet4"][0]
            .as_object_mut()
            .unwrap()
            .remove("client-class");
        assert_eq!(
            classify(live.clone(), KEA2, Family::V4, &before, &after),
            Found::Old
        );
        let mut new_running = live;
        new_running["Dhcp4"]["subnet4"][0]
            .as_object_mut()
            .unwrap()
            .remove("client-class");
        assert_eq!(
            classify(new_running, KEA2, Family::V4, &before, &after),
            Found::New
        );
        // A record whose secrets were redacted: they match whatever runs there.
        let live = json!({"Dhcp4": {"valid-lifetime": 10, "hosts-database": {"type": "postgresql", "password": "real"}}});
        let before = crate::kea::redact::value(&norm(live.clone()));
        let mut after = before.clone();
        after["Dhcp4"]["valid-lifetime"] = json!(20);
        assert_eq!(
            classify(live.clone(), KEA2, Family::V4, &before, &after),
            Found::Old
        );
        let mut new_running = live.clone();
        new_running["Dhcp4"]["valid-lifetime"] = json!(20);
        assert_eq!(
            classify(new_running, KEA2, Family::V4, &before, &after),
            Found::New
        );
        let mut gone = live;
        gone["Dhcp4"]["hosts-database"]
            .as_object_mut()
            .unwrap()
            .remove("password");
        assert_eq!(
            classify(gone, KEA2, Family::V4, &before, &after),
            Found::Neither
        );
    }
}
