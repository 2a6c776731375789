//! The journal: one record per change in the state folder, written atomically (temporary
//! file, fsync, rename, fsync of the folder), from the moment its first mutating command is
//! sent. A record in flight is `journal/inflight/<id>.json`; a finished one
//! `journal/<id>.json`. Finding the changes in flight (each change's settling step, a
//! script's first read of a server) lists `inflight/` only: its cost follows what is in
//! flight, not the history. Retention keeps the newest [`keep`] finished records (500 unless
//! the inventory's `[journal] keep` says otherwise), oldest dropped first, never one waiting
//! for a confirmation; nothing else reads finished records (undo and restore use the audit
//! trail and the snapshots).
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
//!   configurations are dropped; the record stays (what the change reached, its snapshot)
//!   until retention drops it.
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

/// How many finished records are kept unless the inventory says otherwise.
pub const DEFAULT_KEEP: usize = 500;

static KEEP: AtomicUsize = AtomicUsize::new(DEFAULT_KEEP);

/// How many finished records are kept (the newest).
pub fn keep() -> usize {
    KEEP.load(Ordering::Relaxed)
}

/// Sets the retention (the inventory's `[journal] keep`); at least 1.
pub fn set_keep(n: usize) {
    KEEP.store(n.max(1), Ordering::Relaxed);
}

/// The journal's folder in the state folder `state`: the finished records.
pub fn dir_in(state: &Path) -> PathBuf {
    state.join("journal")
}

/// The folder of the records in flight (phase `sent`): what settling and the read warning
/// list, without reading the finished records.
pub fn inflight_dir_in(state: &Path) -> PathBuf {
    dir_in(state).join("inflight")
}

fn file_in(state: &Path, id: &str) -> PathBuf {
    dir_in(state).join(format!("{}.json", super::lock::safe_name(id)))
}

fn inflight_file_in(state: &Path, id: &str) -> PathBuf {
    inflight_dir_in(state).join(format!("{}.json", super::lock::safe_name(id)))
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> KeaError {
    KeaError::invalid(format!("cannot {what} {}: {e}", p.display()))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes a record, durably, before its first command is sent (or when its phase moves).
pub fn record(entry: &EntryRef<'_>) -> Result<(), KeaError> {
    record_in(&state_dir(), entry)
}

pub fn record_in(state: &Path, entry: &EntryRef<'_>) -> Result<(), KeaError> {
    write_in(state, entry.id, entry.phase, entry)
}

/// Writes the record `id` atomically and durably (temporary file, fsync, rename, fsync of
/// the folder): a `sent` record into `inflight/`, any other into the journal's folder. A
/// record that leaves `inflight/` is written in its new place first and only then removed
/// from `inflight/` (a crash in between leaves both; the scan of `inflight/` drops the copy
/// whose finished record exists). Then the finished records beyond [`keep`] are pruned.
fn write_in(state: &Path, id: &str, phase: Phase, entry: &impl Serialize) -> Result<(), KeaError> {
    use std::io::Write;
    migrate_in(state);
    let sent = phase == Phase::Sent;
    let dir = if sent {
        inflight_dir_in(state)
    } else {
        dir_in(state)
    };
    super::lock::create_private_dir(&dir).map_err(|e| io_err("create", &dir, e))?;
    let path = if sent {
        inflight_file_in(state, id)
    } else {
        file_in(state, id)
    };
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
    sync_dir(&dir);
    if !sent {
        if std::fs::remove_file(inflight_file_in(state, id)).is_ok() {
            sync_dir(&inflight_dir_in(state));
        }
        prune_in(state, keep());
    }
    Ok(())
}

/// Moves the `sent` records an older keascript kept among the others into `inflight/`,
/// once: a staging folder is filled and renamed to `inflight/` (its existence says the move
/// was made).
fn migrate_in(state: &Path) {
    let inflight = inflight_dir_in(state);
    let dir = dir_in(state);
    if inflight.is_dir() || !dir.is_dir() {
        return;
    }
    let staging = dir.join(".inflight.new");
    if super::lock::create_private_dir(&staging).is_err() {
        return;
    }
    for p in record_files(&dir) {
        let sent = std::fs::read(&p)
            .ok()
            .and_then(|t| serde_json::from_slice::<Entry>(&t).ok())
            .is_some_and(|e| e.phase == Phase::Sent);
        if sent && let Some(name) = p.file_name() {
            let _ = std::fs::rename(&p, staging.join(name));
        }
    }
    sync_dir(&staging);
    if std::fs::rename(&staging, &inflight).is_err() {
        // Another keascript made the move meanwhile.
        let _ = std::fs::remove_dir(&staging);
    }
    sync_dir(&dir);
}

/// The record files of `dir` (`*.json`, not temporary), sorted by name: by id, oldest first.
fn record_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = rd
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
}

/// Whether a file name is a record made by [`new_id`] (`HEX-HEX.json`); older formats are
/// neither counted nor pruned.
fn is_record_name(name: &str) -> bool {
    name.strip_suffix(".json")
        .and_then(|id| id.split_once('-'))
        .is_some_and(|(ms, r)| {
            !ms.is_empty()
                && !r.is_empty()
                && ms.bytes().all(|b| b.is_ascii_hexdigit())
                && r.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Whether a record is finished, so that retention may drop it: `written` and not waiting
/// for a confirmation (none asked, or its pending revert is gone — confirmed, reverted — or
/// it was reverted or could not be), or `confirmed`. A `sent` record never is.
pub fn finished_in(state: &Path, e: &Entry) -> bool {
    match e.phase {
        Phase::Sent => false,
        Phase::Confirmed => true,
        Phase::Written => match &e.confirmation {
            None => true,
            Some(_) if e.reverted_by.is_some() || e.not_reverted.is_some() => true,
            Some(run) => !dir_in(state)
                .join("confirm")
                .join(format!("{}.json", super::lock::safe_name(run)))
                .exists(),
        },
    }
}

/// Drops finished records, oldest first, until at most `keep` records are left in the
/// journal's folder; a record waiting for a confirmation is never dropped (the folder holds
/// more than `keep` only while more than `keep` are waiting), and records in flight are in
/// `inflight/`, out of reach. Costs a listing of the folder (about `keep` names) and a read
/// of each record it considers dropping. Returns how many were dropped.
pub fn prune_in(state: &Path, keep: usize) -> usize {
    let dir = dir_in(state);
    // Counted first (names only, nothing sorted or read): below the bound, that is all.
    let count = std::fs::read_dir(&dir).map_or(0, |rd| {
        rd.flatten()
            .filter(|e| is_record_name(&e.file_name().to_string_lossy()))
            .count()
    });
    if count <= keep {
        return 0;
    }
    let names: Vec<PathBuf> = record_files(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| is_record_name(&n.to_string_lossy()))
        })
        .collect();
    let Some(excess) = names.len().checked_sub(keep).filter(|n| *n > 0) else {
        return 0;
    };
    let mut dropped = 0;
    for p in &names {
        if dropped == excess {
            break;
        }
        let Some(e) = std::fs::read(p)
            .ok()
            .and_then(|t| serde_json::from_slice::<Entry>(&t).ok())
        else {
            continue;
        };
        if finished_in(state, &e) && std::fs::remove_file(p).is_ok() {
            dropped += 1;
        }
    }
    if dropped > 0 {
        sync_dir(&dir);
    }
    dropped
}

/// Writes an owned record (see [`record`]).
pub fn save_in(state: &Path, entry: &Entry) -> Result<(), KeaError> {
    write_in(state, &entry.id, entry.phase, entry)
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
    let _ = std::fs::remove_file(inflight_file_in(state, id));
    let _ = std::fs::remove_file(file_in(state, id));
}

/// One record, in flight or finished.
pub fn read_in(state: &Path, id: &str) -> Option<Entry> {
    migrate_in(state);
    let text = std::fs::read(inflight_file_in(state, id))
        .or_else(|_| std::fs::read(file_in(state, id)))
        .ok()?;
    serde_json::from_slice(&text).ok()
}

fn read_all(files: &[PathBuf]) -> Vec<Entry> {
    files
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|t| serde_json::from_slice::<Entry>(&t).ok())
        .collect()
}

/// Every readable record, in flight and finished, oldest first (records of an older format
/// are skipped). Reads the whole journal: not for the paths every change takes.
pub fn entries_in(state: &Path) -> Vec<Entry> {
    migrate_in(state);
    let mut all = read_all(&record_files(&inflight_dir_in(state)));
    all.extend(read_all(&record_files(&dir_in(state))));
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// The changes left in flight (phase `sent`), oldest first: a listing of `inflight/` and a
/// read of each record there, nothing else.
pub fn in_flight_in(state: &Path) -> Vec<Entry> {
    migrate_in(state);
    let mut out = Vec::new();
    for p in record_files(&inflight_dir_in(state)) {
        // Written meanwhile, and the crash came before its copy here was removed.
        if let Some(name) = p.file_name()
            && dir_in(state).join(name).exists()
        {
            let _ = std::fs::remove_file(&p);
            continue;
        }
        if let Some(e) = std::fs::read(&p)
            .ok()
            .and_then(|t| serde_json::from_slice::<Entry>(&t).ok())
            .filter(|e| e.phase == Phase::Sent)
        {
            out.push(e);
        }
    }
    out
}

/// The changes left in flight (phase `sent`) that reach `daemon`, oldest first.
pub fn pending(daemon: &DaemonId) -> Vec<Entry> {
    pending_in(&state_dir(), daemon)
}

pub fn pending_in(state: &Path, daemon: &DaemonId) -> Vec<Entry> {
    in_flight_in(state)
        .into_iter()
        .filter(|e| e.reaches(daemon))
        .collect()
}

/// Every change left in flight (phase `sent`), oldest first.
pub fn in_flight() -> Vec<Entry> {
    in_flight_in(&state_dir())
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
        let text = std::fs::read_to_string(inflight_file_in(d.path(), &e.id)).unwrap();
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

    /// A record with a chosen id (`n` orders them), in `phase`.
    fn numbered(n: u64, phase: Phase) -> Entry {
        let mut e = Entry::new(vec![target("local:dhcp4:/a.json")]);
        e.id = format!("{:011x}-00{n:04x}", 0x19000000000u64 + n);
        e.phase = phase;
        if phase != Phase::Sent {
            for t in &mut e.targets {
                t.before = None;
                t.after = None;
            }
        }
        e
    }

    fn finished_ids(state: &Path) -> Vec<String> {
        record_files(&dir_in(state))
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn retention_drops_the_oldest_finished_records_first() {
        let d = tempfile::tempdir().unwrap();
        let all: Vec<Entry> = (0..8).map(|n| numbered(n, Phase::Written)).collect();
        for e in &all {
            save_in(d.path(), e).unwrap();
        }
        // A record of an older format is neither counted nor dropped.
        std::fs::write(dir_in(d.path()).join("http___x_1_-dhcp4.json"), "{}").unwrap();
        assert_eq!(prune_in(d.path(), 3), 5);
        let ids: Vec<String> = all[5..].iter().map(|e| e.id.clone()).collect();
        let mut left = finished_ids(d.path());
        left.retain(|n| n != "http___x_1_-dhcp4");
        assert_eq!(left, ids, "the newest three stay");
        assert!(dir_in(d.path()).join("http___x_1_-dhcp4.json").exists());
        assert_eq!(prune_in(d.path(), 3), 0, "nothing more to drop");
        // A confirmed record, a reverted one and one not reverted are finished too.
        let mut c = numbered(20, Phase::Confirmed);
        c.confirmation = Some("run".into());
        let mut r = numbered(21, Phase::Written);
        r.confirmation = Some("run".into());
        r.reverted_by = Some("x".into());
        let mut nr = numbered(22, Phase::Written);
        nr.confirmation = Some("run".into());
        nr.not_reverted = Some("changed since".into());
        // (a pending revert `run` exists: only the marks make them finished)
        std::fs::create_dir_all(dir_in(d.path()).join("confirm")).unwrap();
        std::fs::write(dir_in(d.path()).join("confirm/run.json"), "{}").unwrap();
        for e in [&c, &r, &nr] {
            assert!(finished_in(d.path(), e), "{e:?}");
            save_in(d.path(), e).unwrap();
        }
        assert_eq!(prune_in(d.path(), 3), 3);
        assert_eq!(
            finished_ids(d.path())
                .into_iter()
                .filter(|n| n.starts_with("19"))
                .collect::<Vec<_>>(),
            vec![c.id.clone(), r.id.clone(), nr.id.clone()]
        );
    }

    #[test]
    fn retention_never_drops_a_change_in_flight_or_waiting_for_confirmation() {
        let d = tempfile::tempdir().unwrap();
        let a = DaemonId::from_text("local:dhcp4:/a.json");
        // The oldest change is still in flight, the next waits for a confirmation.
        let sent = numbered(0, Phase::Sent);
        save_in(d.path(), &sent).unwrap();
        let mut waiting = numbered(1, Phase::Written);
        waiting.confirmation = Some("run1".into());
        std::fs::create_dir_all(dir_in(d.path()).join("confirm")).unwrap();
        std::fs::write(dir_in(d.path()).join("confirm/run1.json"), "{}").unwrap();
        save_in(d.path(), &waiting).unwrap();
        for n in 2..12 {
            save_in(d.path(), &numbered(n, Phase::Written)).unwrap();
        }
        assert!(!finished_in(d.path(), &sent));
        assert!(!finished_in(d.path(), &waiting));
        prune_in(d.path(), 2);
        let left = finished_ids(d.path());
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(left[0], waiting.id, "the waiting record stays");
        assert_eq!(left[1], numbered(11, Phase::Written).id);
        assert_eq!(
            pending_in(d.path(), &a),
            vec![sent.clone()],
            "in flight stays"
        );
        // Its pending revert gone (confirmed or reverted by an older keascript that did not
        // mark it): nothing waits any more, it goes.
        std::fs::remove_file(dir_in(d.path()).join("confirm/run1.json")).unwrap();
        assert_eq!(prune_in(d.path(), 1), 1);
        assert!(read_in(d.path(), &waiting.id).is_none());
        assert_eq!(
            finished_ids(d.path()),
            vec![numbered(11, Phase::Written).id]
        );
        // The change in flight, once written, is a finished record like the others.
        written_in(d.path(), &sent.id).unwrap();
        assert!(pending_in(d.path(), &a).is_empty());
        assert!(!inflight_file_in(d.path(), &sent.id).exists());
        assert_eq!(read_in(d.path(), &sent.id).unwrap().phase, Phase::Written);
    }

    #[test]
    fn records_in_flight_are_found_without_reading_the_finished_ones() {
        let d = tempfile::tempdir().unwrap();
        let a = DaemonId::from_text("local:dhcp4:/a.json");
        // An older keascript kept every record in one folder: its record in flight is moved
        // to `inflight/` once.
        let old_sent = numbered(1, Phase::Sent);
        let old_done = numbered(2, Phase::Written);
        std::fs::create_dir_all(dir_in(d.path())).unwrap();
        for e in [&old_sent, &old_done] {
            std::fs::write(file_in(d.path(), &e.id), serde_json::to_vec(e).unwrap()).unwrap();
        }
        assert_eq!(pending_in(d.path(), &a), vec![old_sent.clone()]);
        assert!(inflight_file_in(d.path(), &old_sent.id).exists());
        assert!(!file_in(d.path(), &old_sent.id).exists());
        // A finished record that cannot even be read does not disturb the scan: it is never
        // opened.
        std::fs::write(file_in(d.path(), "19000000003-000003"), "not json").unwrap();
        assert_eq!(in_flight_in(d.path()), vec![old_sent.clone()]);
        // A crash between writing the finished record and removing the copy in flight: the
        // scan drops the copy.
        let mut done = old_sent.clone();
        done.phase = Phase::Written;
        std::fs::write(
            file_in(d.path(), &done.id),
            serde_json::to_vec(&done).unwrap(),
        )
        .unwrap();
        assert!(in_flight_in(d.path()).is_empty());
        assert!(!inflight_file_in(d.path(), &old_sent.id).exists());
        assert_eq!(entries_in(d.path()).len(), 2);
    }
}
