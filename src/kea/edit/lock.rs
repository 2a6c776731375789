//! One editor per daemon on a host: a lock file per daemon ([`DaemonId`]) in the state
//! directory, so two keascript processes — or two inventory names of one daemon — never
//! interleave their read-check-write of the same configuration.
//!
//! [`DaemonId`]: crate::kea::identity::DaemonId

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::kea::{ErrorKind, KeaError};

/// Where keascript keeps its state: `$KEASCRIPT_STATE_DIR`, else the user's state directory
/// (`~/.local/state/keascript`), else `/var/lib/keascript`.
/// Creates `dir` and any missing parents readable by this user only (0700): the state folder
/// holds configurations (the journal's, snapshots, pending reverts).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KEASCRIPT_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
        .map(|d| d.join("keascript"))
        .unwrap_or_else(|| PathBuf::from("/var/lib/keascript"))
}

/// The lock file of the daemon `key` in the state folder `state`.
pub fn lock_file(state: &Path, key: &str) -> PathBuf {
    state.join("locks").join(format!("{}.lock", safe_name(key)))
}

/// An exclusive lock on one daemon (named by its identity, so two inventory entries of one
/// daemon wait on each other and two inventories that call different servers by the same
/// name do not); released when dropped.
pub struct ServerLock {
    file: File,
}

impl ServerLock {
    fn open(server: &str) -> Result<(File, PathBuf), KeaError> {
        let path = lock_file(&state_dir(), server);
        let dir = path.parent().expect("a folder").to_path_buf();
        create_private_dir(&dir).map_err(|e| {
            KeaError::invalid(format!(
                "cannot create the lock directory {}: {e}",
                dir.display()
            ))
        })?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| KeaError::invalid(format!("cannot open {}: {e}", path.display())))?;
        Ok((file, path))
    }

    /// The lock of `server` if nobody holds it now; `None` when somebody does.
    pub fn try_acquire(server: &str) -> Result<Option<Self>, KeaError> {
        let (file, path) = Self::open(server)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(KeaError::invalid(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }

    /// Waits (up to `wait`) for the lock of `server`.
    pub async fn acquire(server: &str, wait: Duration) -> Result<Self, KeaError> {
        let (file, path) = Self::open(server)?;
        let until = tokio::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { file }),
                Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                _ => {
                    return Err(KeaError::new(
                        ErrorKind::Conflict,
                        format!(
                            "another keascript is changing {server} (lock {}); try again",
                            path.display()
                        ),
                    ));
                }
            }
        }
    }
}

impl Drop for ServerLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// A daemon's key as a file name: letters, digits, `-` and `.` kept, the rest `_`.
pub(super) fn safe_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_state_folders_are_readable_by_this_user_only() {
        let d = tempfile::tempdir().unwrap();
        let nested = d.path().join("state").join("snapshots");
        super::create_private_dir(&nested).unwrap();
        for p in [d.path().join("state"), nested.clone()] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", p.display());
        }
        // Again: an existing folder is fine.
        super::create_private_dir(&nested).unwrap();
    }
}
