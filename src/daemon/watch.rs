//! File watching for `on_change`. Editors save by writing a temporary file and renaming it
//! over the original, which replaces the inode, so the **parent directory** is watched,
//! not the file (`reference/reliability-ux.md` §4.9). notify-debouncer-full collapses a
//! burst of events per path (the debounce); only events naming a watched file pass, so
//! editor swap and backup files never fire a trigger. When a trigger is about to run, the
//! file is read: a content that did not change (a `touch`, a save without edits, Kea
//! reading the file) runs nothing, and whether the file appeared, changed or disappeared
//! gives the event's `kind`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use super::policy::Fire;

/// Editor swap, backup and probe files (vim `.x.swp` / `4913` / `x~`, emacs `.#x` / `#x#`,
/// others' `.tmp`, `.bak`). They never fire a trigger; this names them in debug logs.
pub fn is_editor_temp(name: &str) -> bool {
    name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".swx", ".tmp", ".bak", ".orig", ".kate-swp"]
            .iter()
            .any(|s| name.ends_with(s))
        || name.starts_with(".goutputstream-")
}

/// The watched directories and who to tell about which file.
pub struct Watch {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    dirs: Vec<PathBuf>,
}

impl Watch {
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
}

/// The directory to watch for `path`, and the file's name in it. The directory is
/// canonical (symlinks resolved) because that is how notify reports paths.
pub fn split(path: &Path) -> Result<(PathBuf, OsString), String> {
    let parent = path
        .parent()
        .ok_or_else(|| format!("{} has no directory", path.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    let dir = parent
        .canonicalize()
        .map_err(|e| format!("cannot watch {}: {e}", parent.display()))?;
    Ok((dir, name.to_os_string()))
}

/// Starts watching: each `(path, sender)` gets [`Fire::Changed`] once per debounced burst
/// of events that name `path`.
pub fn start(
    files: Vec<(PathBuf, mpsc::UnboundedSender<Fire>)>,
    debounce: Duration,
    dispatch: tracing::Dispatch,
) -> Result<Watch, String> {
    let mut table: HashMap<(PathBuf, OsString), Vec<mpsc::UnboundedSender<Fire>>> = HashMap::new();
    for (path, tx) in files {
        table.entry(split(&path)?).or_default().push(tx);
    }
    let mut dirs: Vec<PathBuf> = table.keys().map(|(d, _)| d.clone()).collect();
    dirs.sort();
    dirs.dedup();
    let handler = move |result: DebounceEventResult| {
        tracing::dispatcher::with_default(&dispatch, || match result {
            Ok(events) => {
                let mut hit: Vec<&(PathBuf, OsString)> = Vec::new();
                for ev in &events {
                    // Opening and reading (Kea loading the file, our own hashing) is no change.
                    if matches!(ev.kind, EventKind::Access(_) | EventKind::Other) {
                        continue;
                    }
                    for p in &ev.paths {
                        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
                            continue;
                        };
                        match table.get_key_value(&(dir.to_path_buf(), name.to_os_string())) {
                            Some((k, _)) if !hit.contains(&k) => hit.push(k),
                            Some(_) => {}
                            None if is_editor_temp(&name.to_string_lossy()) => {
                                tracing::trace!(path = %p.display(), "editor file ignored");
                            }
                            None => {}
                        }
                    }
                }
                for k in hit {
                    tracing::debug!(path = %k.0.join(&k.1).display(), "change seen");
                    for tx in &table[k] {
                        let _ = tx.send(Fire::Changed);
                    }
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!("file watching: {e}");
                }
            }
        })
    };
    // Look at the pending events often: with the default tick (debounce/4) a burst is
    // handled up to a quarter of the debounce late.
    let tick = (debounce / 20)
        .max(std::time::Duration::from_millis(5))
        .min(debounce);
    let mut debouncer = new_debouncer(debounce, Some(tick), handler).map_err(watch_error)?;
    for d in &dirs {
        debouncer
            .watch(d, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {}", d.display(), watch_error(e)))?;
    }
    Ok(Watch {
        _debouncer: debouncer,
        dirs,
    })
}

fn watch_error(e: notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the system's limit of inotify watches is reached (raise fs.inotify.max_user_watches)"
                .into()
        }
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(24) => {
            "too many open files (raise the limit, e.g. LimitNOFILE= in the unit)".into()
        }
        _ => e.to_string(),
    }
}

/// What a watched file looked like when its trigger last ran.
#[derive(Debug, Clone)]
pub struct FileState {
    path: PathBuf,
    /// A hash of the content; `None` while the file does not exist.
    last: Option<u64>,
}

impl FileState {
    /// Remembers the file as it is now.
    pub async fn new(path: PathBuf) -> Self {
        let last = fingerprint(&path).await;
        Self { path, last }
    }

    /// Looks at the file again: `Some("created" | "modified" | "removed")` when it differs
    /// from last time (and remembers it), `None` when nothing changed.
    pub async fn observe(&mut self) -> Option<&'static str> {
        let now = fingerprint(&self.path).await;
        let kind = match (self.last, now) {
            (None, None) => None,
            (None, Some(_)) => Some("created"),
            (Some(_), None) => Some("removed"),
            (Some(a), Some(b)) if a == b => None,
            (Some(_), Some(_)) => Some("modified"),
        };
        self.last = now;
        kind
    }
}

async fn fingerprint(path: &Path) -> Option<u64> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_files_are_recognised() {
        for n in [
            ".kea-dhcp4.conf.swp",
            ".kea-dhcp4.conf.swx",
            "kea-dhcp4.conf~",
            "4913",
            ".#kea-dhcp4.conf",
            "#kea-dhcp4.conf#",
            "kea-dhcp4.conf.tmp",
            ".goutputstream-ABC123",
        ] {
            assert!(is_editor_temp(n), "{n}");
        }
        for n in ["kea-dhcp4.conf", "kea-dhcp4.json", "4914", "swp"] {
            assert!(!is_editor_temp(n), "{n}");
        }
    }

    #[tokio::test]
    async fn the_kind_comes_from_what_the_file_became() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kea.conf");
        let mut st = FileState::new(p.clone()).await;
        assert_eq!(st.observe().await, None);
        std::fs::write(&p, "a").unwrap();
        assert_eq!(st.observe().await, Some("created"));
        assert_eq!(st.observe().await, None, "same content: nothing to run");
        std::fs::write(&p, "b").unwrap();
        assert_eq!(st.observe().await, Some("modified"));
        std::fs::write(&p, "b").unwrap();
        assert_eq!(st.observe().await, None);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(st.observe().await, Some("removed"));
    }

    /// Real files, real inotify: a burst of writes, a save by rename and editor files.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bursts_and_renames_fire_once_and_editor_files_never() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kea.conf");
        std::fs::write(&p, "0").unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _w = start(
            vec![(p.clone(), tx)],
            Duration::from_millis(200),
            tracing::Dispatch::none(),
        )
        .unwrap();
        // 50 writes in place.
        for i in 0..50 {
            std::fs::write(&p, format!("{i}")).unwrap();
        }
        let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert_eq!(first.unwrap(), Some(Fire::Changed));
        // On a loaded machine the burst can outlast one debounce window and fire once more
        // (the runner's content check makes that a no-op): let it settle first.
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(800), rx.recv()).await {}
        // Editor files only: nothing.
        for n in [".kea.conf.swp", "kea.conf~", "4913", ".#kea.conf"] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let none = tokio::time::timeout(Duration::from_millis(1000), rx.recv()).await;
        assert!(none.is_err(), "editor files fired: {none:?}");
        // Save by rename.
        let tmp = dir.path().join(".kea.conf.tmp");
        std::fs::write(&tmp, "renamed").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        let renamed = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert_eq!(renamed.unwrap(), Some(Fire::Changed));
        // Delete, then re-create: still watched.
        std::fs::remove_file(&p).unwrap();
        let removed = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert_eq!(removed.unwrap(), Some(Fire::Changed));
        std::fs::write(&p, "back").unwrap();
        let back = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        assert_eq!(back.unwrap(), Some(Fire::Changed));
    }
}
