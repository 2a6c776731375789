//! Changes in flight: a record in the state folder for every change from the moment its
//! first mutating command is sent until its configuration is written (or undone), so that a
//! change whose answer was lost — a timeout, a dropped connection, keascript killed — is
//! finished or reverted by the next change against the same server.
//!
//! One file per daemon (`journal/<key>.json`, written atomically: temporary file, fsync,
//! rename), holding the configuration before (as Kea answered it) and the one sent. A
//! counter of changes in flight in this process lets a cancelled script wait until its
//! change is written or undone instead of leaving it half-made.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state_dir;
use crate::kea::KeaError;

/// A change whose first mutating command has been sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// Unique id of the change (also in its audit entries).
    pub id: String,
    pub time: String,
    pub server: String,
    pub service: String,
    /// `sent` (config-set or hook commands on their way), `written` (persisted; only the
    /// record was left behind).
    pub phase: String,
    /// The running configuration before the change, as `config-get` answered it.
    pub before: Value,
    /// The configuration sent.
    pub after: Value,
    /// The snapshot kept of `before` (see [`crate::kea::snapshots`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
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

fn dir_in(state: &Path) -> PathBuf {
    state.join("journal")
}

fn file_name(key: &str) -> String {
    format!("{}.json", super::lock::safe_name(key))
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> KeaError {
    KeaError::invalid(format!("cannot {what} {}: {e}", p.display()))
}

/// Records `entry` for the daemon `key`, durably, before its command is sent.
pub fn record(key: &str, entry: &InFlight) -> Result<(), KeaError> {
    record_in(&state_dir(), key, entry)
}

pub fn record_in(state: &Path, key: &str, entry: &InFlight) -> Result<(), KeaError> {
    use std::io::Write;
    let dir = dir_in(state);
    std::fs::create_dir_all(&dir).map_err(|e| io_err("create", &dir, e))?;
    let path = dir.join(file_name(key));
    let tmp = dir.join(format!(".{}.tmp", file_name(key)));
    let text = serde_json::to_vec(entry).expect("JSON");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?;
    f.write_all(&text).map_err(|e| io_err("write", &tmp, e))?;
    f.sync_all().map_err(|e| io_err("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The change left in flight for the daemon `key`, if any.
pub fn pending(key: &str) -> Option<InFlight> {
    pending_in(&state_dir(), key)
}

pub fn pending_in(state: &Path, key: &str) -> Option<InFlight> {
    let path = dir_in(state).join(file_name(key));
    let text = std::fs::read(&path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The changes left in flight on any service of `server` (for a warning on reads).
pub fn pending_for(server: &crate::kea::Server) -> Vec<InFlight> {
    crate::kea::SERVICES
        .iter()
        .filter_map(|s| pending(&format!("{}-{s}", server.url())))
        .collect()
}

/// Removes the record of the daemon `key` (the change is written, undone or resolved).
pub fn clear(key: &str) {
    clear_in(&state_dir(), key);
}

pub fn clear_in(state: &Path, key: &str) {
    let _ = std::fs::remove_file(dir_in(state).join(file_name(key)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_survive_and_clear() {
        let d = tempfile::tempdir().unwrap();
        let e = InFlight {
            id: new_id(),
            time: "t".into(),
            server: "lab".into(),
            service: "dhcp4".into(),
            phase: "sent".into(),
            before: json!({"Dhcp4": {}}),
            after: json!({"Dhcp4": {"valid-lifetime": 5}}),
            snapshot: None,
        };
        assert_eq!(pending_in(d.path(), "http://x:1/-dhcp4"), None);
        record_in(d.path(), "http://x:1/-dhcp4", &e).unwrap();
        assert_eq!(pending_in(d.path(), "http://x:1/-dhcp4"), Some(e));
        clear_in(d.path(), "http://x:1/-dhcp4");
        assert_eq!(pending_in(d.path(), "http://x:1/-dhcp4"), None);
        assert_ne!(new_id(), new_id());
    }
}
