//! Commit-confirmed: the changes of a `keascript run --confirm` are pending until someone
//! confirms them; when the window ends (or a health check fails) they are reverted. Their
//! state is in the journal ([`crate::kea::edit::journal`]):
//!
//! - each change of the run keeps its record, phase `written`, with `confirmation` naming
//!   the run's pending revert; `keascript confirm` moves it to `confirmed`, a revert writes
//!   the id of the change that reverted it (`reverted_by`);
//! - the pending revert itself is `journal/confirm/<id>.json`: the change ids in the order
//!   they were made, the run's changes that cannot be reverted (lease, HA, `command()`), the
//!   deadline, the pid of the detached process that waits, its log beside it — so any
//!   terminal can confirm it, and a revert whose waiter died is found and offered to
//!   `keascript rollback`.
//!
//! Exactly one of confirm, the timer and rollback acts on a pending revert: each first
//! *claims* it by renaming its file (atomic), and only the one whose rename succeeded goes on.
//!
//! An older keascript kept pending reverts in `<state>/pending/`: they are moved into the
//! journal the first time the store is opened (their waiter, an older process, then stops,
//! so the next command says the change is pending with no revert timer running: `confirm`
//! or `rollback` it).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::edit::state_dir;
use super::{ErrorKind, KeaError};

/// One pending revert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Its id (the first change's id, or a new one).
    pub id: String,
    /// The OS user who ran the script.
    pub user: String,
    /// The script that made the changes.
    pub script: String,
    /// The changes (audit ids), in the order they were made.
    pub changes: Vec<String>,
    /// When the window ends, milliseconds since the epoch, and as text (RFC 3339).
    pub deadline_ms: u64,
    pub deadline: String,
    /// The detached process that waits for the window to end.
    pub pid: Option<u32>,
    /// The health check script and how often it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<PathBuf>,
    pub health_interval_ms: u64,
    /// The inventory file the changes were made with (the revert uses the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<PathBuf>,
    /// Changes of the run that no revert can take back (leases, HA, `command()`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_revertible: Vec<NotRevertible>,
}

/// A change of a `run --confirm` that cannot be reverted: what it was and its audit id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotRevertible {
    pub id: String,
    /// Its audit kind (`lease`, `ha`, `command`).
    pub kind: String,
    pub action: String,
    pub key: String,
    /// `server/service`.
    pub target: String,
}

impl NotRevertible {
    /// `lease add 10.0.0.5 on lab/dhcp4 (id …)`.
    pub fn describe(&self) -> String {
        let what = if self.key.is_empty() || self.key == self.action {
            format!("{} {}", self.kind, self.action)
        } else {
            format!("{} {} {}", self.kind, self.action, self.key)
        };
        format!("{what} on {} (id {})", self.target, self.id)
    }
}

impl Pending {
    /// Time left in the window (zero once it has ended).
    pub fn remaining(&self) -> Duration {
        Duration::from_millis(self.deadline_ms.saturating_sub(now_ms()))
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The OS user running this process.
pub fn this_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// The pending reverts of a state folder (in its journal).
#[derive(Debug, Clone)]
pub struct PendingStore {
    dir: PathBuf,
    state: PathBuf,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> KeaError {
    KeaError::invalid(format!("cannot {what} {}: {e}", p.display()))
}

impl PendingStore {
    pub fn default_store() -> Self {
        Self::at(&state_dir())
    }

    pub fn at(state: &Path) -> Self {
        let store = Self {
            dir: crate::kea::edit::journal::dir_in(state).join("confirm"),
            state: state.to_path_buf(),
        };
        store.migrate_old();
        store
    }

    /// The folder the pending reverts are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the pending reverts an older keascript kept in `<state>/pending/` into the
    /// journal, and marks their changes' records as waiting for them.
    fn migrate_old(&self) {
        let old = self.state.join("pending");
        let Ok(entries) = std::fs::read_dir(&old) else {
            return;
        };
        if crate::kea::edit::create_private_dir(&self.dir).is_err() {
            return;
        }
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if std::fs::rename(e.path(), self.dir.join(&name)).is_err() {
                continue;
            }
            if let Some(id) = name.strip_suffix(".json")
                && let Some(p) = self.load(id)
            {
                let _ = self.mark_waiting(&p);
            }
        }
        let _ = std::fs::remove_dir(&old);
    }

    /// Marks the records of `p`'s changes as waiting for its confirmation.
    pub fn mark_waiting(&self, p: &Pending) -> Result<(), KeaError> {
        crate::kea::edit::journal::mark_in(&self.state, &p.changes, |e| {
            e.confirmation = Some(p.id.clone());
        })
    }

    /// Marks the records of `p`'s changes `confirmed`.
    pub fn mark_confirmed(&self, p: &Pending) -> Result<(), KeaError> {
        crate::kea::edit::journal::mark_in(&self.state, &p.changes, |e| {
            e.phase = crate::kea::edit::journal::Phase::Confirmed;
            e.confirmation = Some(p.id.clone());
        })
    }

    /// Marks the record of `change` as one the revert could not undo, and why.
    pub fn mark_not_reverted(&self, change: &str, why: &str) -> Result<(), KeaError> {
        crate::kea::edit::journal::mark_in(&self.state, &[change.to_string()], |e| {
            e.not_reverted = Some(why.to_string());
        })
    }

    /// Marks the record of `change` as reverted by the change `by`.
    pub fn mark_reverted(&self, change: &str, by: &str) -> Result<(), KeaError> {
        crate::kea::edit::journal::mark_in(&self.state, &[change.to_string()], |e| {
            e.reverted_by = Some(by.to_string());
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Where the detached waiter writes what it did.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    /// Writes (or rewrites) a pending revert, atomically and durably.
    pub fn save(&self, p: &Pending) -> Result<(), KeaError> {
        use std::io::Write;
        crate::kea::edit::create_private_dir(&self.dir)
            .map_err(|e| io_err("create", &self.dir, e))?;
        let tmp = self.dir.join(format!(".{}.tmp", p.id));
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?;
        f.write_all(&serde_json::to_vec_pretty(p).expect("JSON"))
            .map_err(|e| io_err("write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("write", &tmp, e))?;
        let path = self.path(&p.id);
        std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))
    }

    /// The pending revert `id`, if it is still pending.
    pub fn load(&self, id: &str) -> Option<Pending> {
        let text = std::fs::read(self.path(id)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Every pending revert, oldest deadline first.
    pub fn list(&self) -> Vec<Pending> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Pending> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".json")?;
                if id.starts_with('.') {
                    return None;
                }
                self.load(id)
            })
            .collect();
        out.sort_by_key(|p| p.deadline_ms);
        out
    }

    /// Takes the pending revert `id` for one actor (confirm, rollback, the timer): the
    /// first to claim it gets it, the others `None`.
    pub fn claim(&self, id: &str, why: &str) -> Option<Pending> {
        let p = self.load(id)?;
        let claimed = self.dir.join(format!("{id}.{why}"));
        std::fs::rename(self.path(id), &claimed).ok()?;
        let _ = std::fs::remove_file(&claimed);
        Some(p)
    }
}

/// Whether `pid` is a live keascript waiter (not a reused pid of another program).
pub fn waiter_alive(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    // A zombie has an empty command line.
    let text = String::from_utf8_lossy(&cmdline);
    text.contains("revert-timer")
}

/// The pending reverts whose waiter is gone (it was killed, the machine rebooted).
pub fn orphans(store: &PendingStore) -> Vec<Pending> {
    store
        .list()
        .into_iter()
        .filter(|p| p.pid.is_none_or(|pid| !waiter_alive(pid)))
        .collect()
}

/// The pending revert `id`, or every one of this user when `id` is `None`; `not_found`
/// when there is none.
pub fn select(store: &PendingStore, id: Option<&str>) -> Result<Vec<Pending>, KeaError> {
    let me = this_user();
    let all = store.list();
    let picked: Vec<Pending> = match id {
        Some(id) => all
            .into_iter()
            .filter(|p| p.id == id || p.changes.iter().any(|c| c == id))
            .collect(),
        None => all.into_iter().filter(|p| p.user == me).collect(),
    };
    if picked.is_empty() {
        return Err(KeaError::new(
            ErrorKind::NotFound,
            match id {
                Some(id) => format!(
                    "nothing with id {id} is pending confirmation (it was confirmed, reverted, or never pending)"
                ),
                None => format!("no change of {me} is pending confirmation"),
            },
        ));
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_wins() {
        let d = tempfile::tempdir().unwrap();
        let store = PendingStore::at(d.path());
        let p = Pending {
            id: "a1".into(),
            user: this_user(),
            script: "s.rhai".into(),
            changes: vec!["a1".into(), "a2".into()],
            deadline_ms: now_ms() + 60_000,
            deadline: "t".into(),
            pid: Some(u32::MAX - 1),
            health: None,
            health_interval_ms: 10_000,
            inventory: None,
            not_revertible: Vec::new(),
        };
        store.save(&p).unwrap();
        assert_eq!(store.list(), vec![p.clone()]);
        assert_eq!(select(&store, Some("a2")).unwrap().len(), 1);
        assert_eq!(select(&store, None).unwrap().len(), 1);
        assert_eq!(orphans(&store).len(), 1, "no such waiter: an orphan");
        assert_eq!(store.claim("a1", "confirmed"), Some(p));
        assert_eq!(store.claim("a1", "reverting"), None);
        assert!(store.list().is_empty());
        assert_eq!(select(&store, None).unwrap_err().kind, ErrorKind::NotFound);
    }
}
