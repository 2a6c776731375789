//! The journal: one record per change in the state folder (`journal/<id>.json`, written
//! atomically: temporary file, fsync, rename), from the moment its first mutating command is
//! sent.
//!
//! A record names the change (its audit `id`, the snapshot taken before it, when there is
//! one) and every daemon it changes — by [`DaemonId`], so the two inventory names of one
//! daemon (`lab` over its agent, `lab-unix` over its socket) find the same records — with the
//! URL and inventory name it was reached by. Its phase says how far it got:
//!
//! - `sent`: a mutating command is on its way (or its answer was lost). The record holds each
//!   target's configuration before (or names the snapshot that holds it, when one was kept)
//!   and after the change, **secrets redacted** by the one rule
//!   of [`crate::kea::redact`], so that the next change against any of its daemons can finish
//!   it (every target runs the new configuration: write it) or put it back (see
//!   [`super::outcome`], which fills each redacted value back from the running configuration
//!   at the same place).
//!   A change to a hosts database (reservations kept there) holds its commands instead,
//!   each with the host before and after.
//! - `written`: every target runs the change and has written it to its file. The
//!   configurations are dropped; the record stays (what the change reached, its snapshot).
//!   A change of a `run --confirm` stays `written` with `confirmation` naming the run's
//!   pending revert (`journal/confirm/<id>.json`, see [`crate::kea::confirm`]) until it is
//!   confirmed or reverted; a reverted change's record names the change that reverted it
//!   (`reverted_by`).
//! - `confirmed`: a commit-confirmed change kept by `keascript confirm`.
//!
//! A change that was refused before anything was sent, or undone, leaves no record. A counter
//! of changes in flight in this process lets a cancelled script wait until its change is
//! written or undone instead of leaving it half-made.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state_dir;
use crate::kea::KeaError;
use crate::kea::hosts::HostChange;
use crate::kea::identity::DaemonId;

/// How far a change got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// A mutating command was sent; the outcome is not known yet (or was lost).
    Sent,
    /// Running and written on every target.
    Written,
    /// Confirmed by the admin (commit-confirmed).
    Confirmed,
}

/// One daemon a change reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The daemon ([`DaemonId`]).
    pub daemon: String,
    /// Where it was reached (its Control Agent, or its own endpoint).
    pub url: String,
    /// The inventory (or connection) name it was reached by.
    pub server: String,
    pub service: String,
    /// While `sent`: its configuration before the change, as keascript read it (inherited
    /// values left out), secrets redacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted"
    )]
    pub before: Option<Value>,
    /// While `sent`, instead of `before`: the snapshot that holds it (as Kea showed it,
    /// secrets redacted), when one was kept before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_snapshot: Option<String>,
    /// While `sent`: the configuration sent, secrets redacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted"
    )]
    pub after: Option<Value>,
}

/// One command of a change to a hosts database (reservations kept there): the target
/// (an index into the record's targets) it is sent to, and the host before and after, so
/// that a change whose answer was lost can be settled or put back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostStep {
    pub target: usize,
    #[serde(flatten)]
    pub change: HostChange,
}

/// A configuration written into the journal: secrets redacted as it is written (no redacted
/// copy is built first).
fn redacted<S: serde::Serializer, V: std::borrow::Borrow<Value>>(
    v: &Option<V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => serde::Serialize::serialize(&crate::kea::redact::serializable(v.borrow()), s),
        None => s.serialize_none(),
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique, sortable id of the change (also in its audit entries).
    pub id: String,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The snapshot taken before the change (`None` until snapshots are kept).
    #[serde(default)]
    pub snapshot: Option<String>,
    pub phase: Phase,
    pub targets: Vec<Target>,
    /// While `sent`, for a change to a hosts database: its commands, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostStep>,
    /// The commit-confirmed run (its pending revert's id) this change belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<String>,
    /// The change (audit id) that reverted this one (a commit-confirmed revert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_by: Option<String>,
    /// Why a commit-confirmed revert could not undo this change (it stays as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_reverted: Option<String>,
}

impl Entry {
    /// A new record in phase `sent`, stamped now.
    pub fn new(targets: Vec<Target>) -> Self {
        Self {
            id: new_id(),
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            snapshot: None,
            phase: Phase::Sent,
            targets,
            hosts: Vec::new(),
            confirmation: None,
            reverted_by: None,
            not_reverted: None,
        }
    }

    /// Whether the change reaches `daemon`.
    pub fn reaches(&self, daemon: &DaemonId) -> bool {
        self.targets.iter().any(|t| t.daemon == daemon.as_str())
    }

    /// The targets, named `server/service` and joined for messages.
    pub fn names(&self) -> String {
        self.targets
            .iter()
            .map(|t| format!("{}/{}", t.server, t.service))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A record being written: the configurations are borrowed, not copied (a configuration of
/// 10,000 subnets is megabytes).
#[derive(Serialize)]
pub struct EntryRef<'a> {
    pub id: &'a str,
    pub time: &'a str,
    pub snapshot: Option<&'a str>,
    pub phase: Phase,
    pub targets: Vec<TargetRef<'a>>,
    #[serde(skip_serializing_if = "<[HostStep]>::is_empty")]
    pub hosts: &'a [HostStep],
}

#[derive(Serialize)]
pub struct TargetRef<'a> {
    pub daemon: &'a str,
    pub url: &'a str,
    pub server: &'a str,
    pub service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redacted")]
    pub before: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_snapshot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "redacted")]
    pub after: Option<&'a Value>,
}

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// How many changes of this process have a mutating command on its way.
pub fn changes_in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// Counts one change in flight while it lives.
pub struct InFlightGuard(());

impl InFlightGuard {
    pub fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Default for InFlightGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A short, sortable, unique id: milliseconds since the epoch and a random suffix.
pub fn new_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut b = [0u8; 3];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    format!(
        "{ms:x}-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

/// The journal's folder in the state folder `state`.
pub fn dir_in(state: &Path) -> PathBuf {
    state.join("journal")
}

fn file_in(state: &Path, id: &str) -> PathBuf {
    dir_in(state).join(format!("{}.json", super::lock::safe_name(id)))
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> KeaError {
    KeaError::invalid(format!("cannot {what} {}: {e}", p.display()))
}

/// Writes a record, durably, before its first command is sent (or when its phase moves).
pub fn record(entry: &EntryRef<'_>) -> Result<(), KeaError> {
    record_in(&state_dir(), entry)
}

pub fn record_in(state: &Path, entry: &EntryRef<'_>) -> Result<(), KeaError> {
    write_in(state, entry.id, entry)
}

/// Writes the record `id` atomically and durably: temporary file, fsync, rename.
fn write_in(state: &Path, id: &str, entry: &impl Serialize) -> Result<(), KeaError> {
    use std::io::Write;
    let dir = dir_in(state);
    super::lock::create_private_dir(&dir).map_err(|e| io_err("create", &dir, e))?;
    let path = file_in(state, id);
    let tmp = dir.join(format!(".{}.tmp", super::lock::safe_name(id)));
    let f = std::fs::File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
    serde_json::to_writer(&mut w, entry)
        .map_err(|e| io_err("write", &tmp, std::io::Error::other(e)))?;
    w.flush().map_err(|e| io_err("write", &tmp, e))?;
    let f = w
        .into_inner()
        .map_err(|e| io_err("write", &tmp, e.into_error()))?;
    f.sync_all().map_err(|e| io_err("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes an owned record (see [`record`]).
pub fn save_in(state: &Path, entry: &Entry) -> Result<(), KeaError> {
    write_in(state, &entry.id, entry)
}

pub fn save(entry: &Entry) -> Result<(), KeaError> {
    save_in(&state_dir(), entry)
}

/// Moves a record to `written`: its configurations are no longer needed and are dropped.
pub fn written(id: &str) -> Result<(), KeaError> {
    written_in(&state_dir(), id)
}

pub fn written_in(state: &Path, id: &str) -> Result<(), KeaError> {
    let Some(mut e) = read_in(state, id) else {
        return Ok(());
    };
    e.phase = Phase::Written;
    e.hosts.clear();
    for t in &mut e.targets {
        t.before = None;
        t.before_snapshot = None;
        t.after = None;
    }
    save_in(state, &e)
}

/// Changes the records `ids` (those that exist) with `f`, each rewritten atomically.
pub fn mark_in(state: &Path, ids: &[String], f: impl Fn(&mut Entry)) -> Result<(), KeaError> {
    for id in ids {
        if let Some(mut e) = read_in(state, id) {
            f(&mut e);
            save_in(state, &e)?;
        }
    }
    Ok(())
}

/// Removes the record of a change that was not made (refused before sending, or undone).
pub fn forget(id: &str) {
    forget_in(&state_dir(), id);
}

pub fn forget_in(state: &Path, id: &str) {
    let _ = std::fs::remove_file(file_in(state, id));
}

/// One record.
pub fn read_in(state: &Path, id: &str) -> Option<Entry> {
    let text = std::fs::read(file_in(state, id)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Every readable record, oldest first (records of an older format are skipped).
pub fn entries_in(state: &Path) -> Vec<Entry> {
    let Ok(dir) = std::fs::read_dir(dir_in(state)) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    names.sort();
    names
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|t| serde_json::from_slice::<Entry>(&t).ok())
        .collect()
}

/// The changes left in flight (phase `sent`) that reach `daemon`, oldest first.
pub fn pending(daemon: &DaemonId) -> Vec<Entry> {
    pending_in(&state_dir(), daemon)
}

pub fn pending_in(state: &Path, daemon: &DaemonId) -> Vec<Entry> {
    entries_in(state)
        .into_iter()
        .filter(|e| e.phase == Phase::Sent && e.reaches(daemon))
        .collect()
}

/// Every change left in flight (phase `sent`), oldest first.
pub fn in_flight() -> Vec<Entry> {
    entries_in(&state_dir())
        .into_iter()
        .filter(|e| e.phase == Phase::Sent)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(daemon: &str) -> Target {
        Target {
            daemon: daemon.into(),
            url: "http://127.0.0.1:8000/".into(),
            server: "lab".into(),
            service: "dhcp4".into(),
            before: Some(json!({"Dhcp4": {}})),
            before_snapshot: None,
            after: Some(json!({"Dhcp4": {"valid-lifetime": 5}})),
        }
    }

    #[test]
    fn records_are_found_by_daemon_and_move_to_written() {
        let d = tempfile::tempdir().unwrap();
        let a = DaemonId::from_text("local:dhcp4:/a.json");
        let b = DaemonId::from_text("local:dhcp4:/b.json");
        let e = Entry::new(vec![target(a.as_str()), target(b.as_str())]);
        assert!(pending_in(d.path(), &a).is_empty());
        save_in(d.path(), &e).unwrap();
        assert_eq!(pending_in(d.path(), &a), vec![e.clone()]);
        assert_eq!(pending_in(d.path(), &b), vec![e.clone()]);
        assert!(pending_in(d.path(), &DaemonId::from_text("other")).is_empty());
        written_in(d.path(), &e.id).unwrap();
        assert!(
            pending_in(d.path(), &a).is_empty(),
            "written is no longer pending"
        );
        let w = read_in(d.path(), &e.id).unwrap();
        assert_eq!(w.phase, Phase::Written);
        assert!(
            w.targets
                .iter()
                .all(|t| t.before.is_none() && t.after.is_none())
        );
        assert_eq!(w.targets.len(), 2);
        forget_in(d.path(), &e.id);
        assert!(read_in(d.path(), &e.id).is_none());
        assert_ne!(new_id(), new_id());
        // A record of the first format (keyed by URL) is not read as a change.
        std::fs::write(
            dir_in(d.path()).join("http___x_1_-dhcp4.json"),
            r#"{"id":"x","time":"t","server":"lab","service":"dhcp4","phase":"sent","before":{},"after":{}}"#,
        )
        .unwrap();
        assert!(entries_in(d.path()).is_empty());
    }

    #[test]
    fn secrets_are_written_redacted_and_marks_keep_the_record() {
        let d = tempfile::tempdir().unwrap();
        let mut t = target("local:dhcp4:/a.json");
        t.before = Some(
            json!({"Dhcp4": {"hosts-database": {"type": "postgresql", "password": "Hunter-2-Secret"}}}),
        );
        t.after = Some(
            json!({"Dhcp4": {"hosts-database": {"type": "postgresql", "password": "Hunter-3-Secret"}, "valid-lifetime": 5}}),
        );
        let e = Entry::new(vec![t]);
        save_in(d.path(), &e).unwrap();
        let text = std::fs::read_to_string(file_in(d.path(), &e.id)).unwrap();
        assert!(!text.contains("Hunter-"), "{text}");
        let back = read_in(d.path(), &e.id).unwrap();
        assert_eq!(
            back.targets[0].before.as_ref().unwrap()["Dhcp4"]["hosts-database"]["password"],
            "[redacted]"
        );
        mark_in(d.path(), std::slice::from_ref(&e.id), |e| {
            e.confirmation = Some("run1".into())
        })
        .unwrap();
        let back = read_in(d.path(), &e.id).unwrap();
        assert_eq!(back.confirmation.as_deref(), Some("run1"));
        assert_eq!(back.phase, Phase::Sent);
    }
}
