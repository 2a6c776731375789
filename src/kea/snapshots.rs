//! Snapshots: the running configuration of a service, kept in the state folder before
//! keascript replaces it (a config-set, hook commands, a restore), so that it can be put
//! back (`keascript restore`) and single changes undone.
//!
//! Layout under `<state>/snapshots/`:
//! - `objects/<sha256>.gz`: a configuration (its canonical JSON, secrets redacted by the
//!   one rule of [`super::redact`]) or a startup file's text, gzip-compressed and named by
//!   the SHA-256 of what it holds — the same configuration kept twice is stored once;
//! - `index.jsonl`: one line per snapshot (server, service, daemon, time, change id,
//!   size, the object, and the copy of the daemon's startup file when there is one),
//!   rewritten under a lock when retention drops old entries.
//!
//! Retention: the newest [`keep`] snapshots per server and service (50 unless the
//! inventory's `[snapshots] keep` says otherwise); objects no entry names are removed.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::edit::state_dir;
use super::{ErrorKind, KeaError, Service, redact};

/// How many snapshots are kept per server and service unless the inventory says otherwise.
pub const DEFAULT_KEEP: usize = 50;

static KEEP: AtomicUsize = AtomicUsize::new(DEFAULT_KEEP);

/// How many snapshots are kept per server and service.
pub fn keep() -> usize {
    KEEP.load(Ordering::Relaxed)
}

/// Sets the retention (the inventory's `[snapshots] keep`); at least 1.
pub fn set_keep(n: usize) {
    KEEP.store(n.max(1), Ordering::Relaxed);
}

/// A copy of a daemon's startup file, kept beside a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCopy {
    /// The file on this machine.
    pub path: String,
    /// The object holding its text.
    pub object: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One snapshot in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The object's name (SHA-256 of the redacted configuration, hex); commands take any
    /// unique prefix of it (12 characters are shown).
    pub id: String,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub server: String,
    pub service: String,
    /// Which daemon (see [`super::identity`]).
    pub daemon: String,
    /// The change it was taken before (`None` for a snapshot taken by hand).
    pub change: Option<String>,
    /// Size of the configuration's JSON, uncompressed, in bytes.
    pub size: u64,
    /// Size stored (compressed), in bytes.
    pub stored: u64,
    /// The daemon's startup file, copied, when it is on this machine and readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileCopy>,
}

impl Snapshot {
    /// The id as shown (12 hex digits).
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
}

/// The snapshot store in a state folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    keep: usize,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> KeaError {
    KeaError::invalid(format!("cannot {what} {}: {e}", p.display()))
}

impl Store {
    /// The store of this user's state folder.
    pub fn default_store() -> Self {
        Self::at(&state_dir())
    }

    /// The store in the state folder `state`.
    pub fn at(state: &Path) -> Self {
        Self {
            root: state.join("snapshots"),
            keep: keep(),
        }
    }

    /// The same store, keeping `n` snapshots per server and service.
    pub fn keeping(mut self, n: usize) -> Self {
        self.keep = n.max(1);
        self
    }

    fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }

    fn index(&self) -> PathBuf {
        self.root.join("index.jsonl")
    }

    /// Stores `bytes` compressed under their SHA-256; returns (hash, stored size).
    fn put(&self, bytes: &[u8]) -> Result<(String, u64), KeaError> {
        let hash = hex(&Sha256::digest(bytes));
        let dir = self.objects();
        crate::kea::edit::create_private_dir(&dir).map_err(|e| io_err("create", &dir, e))?;
        let path = dir.join(format!("{hash}.gz"));
        if let Ok(m) = std::fs::metadata(&path) {
            return Ok((hash, m.len()));
        }
        let tmp = dir.join(format!(".{hash}.{}.tmp", std::process::id()));
        let mut enc = flate2::write::GzEncoder::new(
            File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?,
            flate2::Compression::default(),
        );
        enc.write_all(bytes).map_err(|e| io_err("write", &tmp, e))?;
        let f = enc.finish().map_err(|e| io_err("write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("write", &tmp, e))?;
        let stored = f.metadata().map(|m| m.len()).unwrap_or(0);
        std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))?;
        Ok((hash, stored))
    }

    /// Stores a configuration, redacted, compressed, named by the SHA-256 of its
    /// canonical JSON (serde_json's maps are sorted by key), streamed: neither the redacted
    /// copy nor its text is held whole. Returns (hash, JSON size, stored size).
    fn put_config(&self, config: &Value) -> Result<(String, u64, u64), KeaError> {
        let dir = self.objects();
        crate::kea::edit::create_private_dir(&dir).map_err(|e| io_err("create", &dir, e))?;
        let tmp = dir.join(format!(
            ".config.{}.{}.tmp",
            std::process::id(),
            crate::kea::edit::journal::new_id()
        ));
        let file = File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?;
        let mut out = std::io::BufWriter::with_capacity(
            1 << 16,
            Tee {
                hasher: Sha256::new(),
                size: 0,
                inner: flate2::write::GzEncoder::new(file, flate2::Compression::fast()),
            },
        );
        let written = serde_json::to_writer(&mut out, &redact::serializable(config))
            .map_err(std::io::Error::from)
            .and_then(|()| out.flush());
        let result = written.and_then(|()| {
            let tee = out.into_inner().map_err(|e| e.into_error())?;
            let f = tee.inner.finish()?;
            f.sync_all()?;
            let stored = f.metadata()?.len();
            Ok((hex(&tee.hasher.finalize()), tee.size, stored))
        });
        let (hash, size, stored) = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_err("write", &tmp, e));
            }
        };
        let path = dir.join(format!("{hash}.gz"));
        if path.exists() {
            let _ = std::fs::remove_file(&tmp);
        } else {
            std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))?;
        }
        Ok((hash, size, stored))
    }

    /// The bytes of an object.
    fn get(&self, hash: &str) -> Result<Vec<u8>, KeaError> {
        let path = self.objects().join(format!("{hash}.gz"));
        let f = File::open(&path).map_err(|e| io_err("read", &path, e))?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(f)
            .read_to_end(&mut out)
            .map_err(|e| io_err("read", &path, e))?;
        Ok(out)
    }

    /// Keeps `config` (redacted) as the configuration of `server`/`service` before the
    /// change `change`, with a copy of the startup file `startup` when it can be read;
    /// then drops what retention no longer keeps.
    pub fn take(
        &self,
        server: &str,
        service: &str,
        daemon: &str,
        change: Option<&str>,
        config: &Value,
        startup: Option<&Path>,
    ) -> Result<Snapshot, KeaError> {
        let (id, size, stored) = self.put_config(config)?;
        let file = match startup.and_then(|p| std::fs::read(p).ok().map(|t| (p, t))) {
            Some((p, text)) => {
                let (object, _) = self.put(&text)?;
                Some(FileCopy {
                    path: p.display().to_string(),
                    object,
                    size: text.len() as u64,
                })
            }
            None => None,
        };
        let snap = Snapshot {
            id,
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            server: server.to_string(),
            service: service.to_string(),
            daemon: daemon.to_string(),
            change: change.map(str::to_string),
            size,
            stored,
            file,
        };
        self.append(&snap)?;
        Ok(snap)
    }

    fn lock(&self) -> Result<File, KeaError> {
        crate::kea::edit::create_private_dir(&self.root)
            .map_err(|e| io_err("create", &self.root, e))?;
        let p = self.root.join("index.lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| io_err("open", &p, e))?;
        f.lock().map_err(|e| io_err("lock", &p, e))?;
        Ok(f)
    }

    /// Adds an entry to the index and applies retention, under the index lock.
    fn append(&self, snap: &Snapshot) -> Result<(), KeaError> {
        let _lock = self.lock()?;
        let mut all = self.read_index()?;
        all.push(snap.clone());
        let keep = self.keep;
        let mut seen: std::collections::HashMap<(String, String), usize> = Default::default();
        let mut kept: Vec<Snapshot> = Vec::with_capacity(all.len());
        // Newest last in the file: count from the end.
        for s in all.into_iter().rev() {
            let n = seen
                .entry((s.server.clone(), s.service.clone()))
                .or_default();
            *n += 1;
            if *n <= keep {
                kept.push(s);
            }
        }
        kept.reverse();
        self.write_index(&kept)?;
        self.collect_garbage(&kept);
        Ok(())
    }

    fn write_index(&self, all: &[Snapshot]) -> Result<(), KeaError> {
        let path = self.index();
        let tmp = self.root.join(".index.jsonl.tmp");
        let mut text = Vec::new();
        for s in all {
            serde_json::to_writer(&mut text, s).expect("JSON");
            text.push(b'\n');
        }
        let mut f = File::create(&tmp).map_err(|e| io_err("write", &tmp, e))?;
        f.write_all(&text).map_err(|e| io_err("write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err("write", &path, e))
    }

    /// Removes the objects no entry names.
    fn collect_garbage(&self, kept: &[Snapshot]) {
        let named: std::collections::HashSet<&str> = kept
            .iter()
            .flat_map(|s| {
                std::iter::once(s.id.as_str()).chain(s.file.as_ref().map(|f| f.object.as_str()))
            })
            .collect();
        let Ok(dir) = std::fs::read_dir(self.objects()) else {
            return;
        };
        for e in dir.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if let Some(hash) = name.strip_suffix(".gz")
                && !named.contains(hash)
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn read_index(&self) -> Result<Vec<Snapshot>, KeaError> {
        let path = self.index();
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &path, e)),
        };
        Ok(BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect())
    }

    /// Every snapshot, oldest first, of `server` when given.
    pub fn list(&self, server: Option<&str>) -> Result<Vec<Snapshot>, KeaError> {
        let mut all = self.read_index()?;
        if let Some(s) = server {
            all.retain(|x| x.server == s);
        }
        Ok(all)
    }

    /// The newest snapshot of `server` (and `service` when given) whose id starts with
    /// `id`, or taken before the change `id`.
    pub fn find(
        &self,
        server: &str,
        service: Option<&str>,
        id: &str,
    ) -> Result<Snapshot, KeaError> {
        let all = self.list(Some(server))?;
        let matching: Vec<&Snapshot> = all
            .iter()
            .rev()
            .filter(|s| service.is_none_or(|v| v == s.service))
            .filter(|s| s.change.as_deref() == Some(id) || (id.len() >= 4 && s.id.starts_with(id)))
            .collect();
        let Some(first) = matching.first() else {
            return Err(KeaError::new(
                ErrorKind::NotFound,
                format!(
                    "no snapshot {id} of server {server}{} (see `keascript snapshots --server {server}`)",
                    service.map(|s| format!(" service {s}")).unwrap_or_default()
                ),
            ));
        };
        if matching
            .iter()
            .any(|s| s.service != first.service || s.id != first.id)
        {
            return Err(KeaError::invalid(format!(
                "snapshot {id} of server {server} is ambiguous: give more of its id, or --service"
            )));
        }
        Ok((*first).clone())
    }

    /// The snapshots of other servers taken before the same change (HA peers).
    pub fn same_change(&self, snap: &Snapshot) -> Result<Vec<Snapshot>, KeaError> {
        let Some(change) = &snap.change else {
            return Ok(Vec::new());
        };
        Ok(self
            .read_index()?
            .into_iter()
            .filter(|s| {
                s.change.as_ref() == Some(change)
                    && s.service == snap.service
                    && s.server != snap.server
            })
            .collect())
    }

    /// The configuration a snapshot holds (secrets redacted).
    pub fn config(&self, snap: &Snapshot) -> Result<Value, KeaError> {
        let bytes = self.get(&snap.id)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            KeaError::invalid(format!("snapshot {} cannot be read: {e}", snap.short_id()))
        })
    }

    /// The configuration the object `id` holds (secrets redacted).
    pub fn config_by_id(&self, id: &str) -> Result<Value, KeaError> {
        let bytes = self.get(id)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| KeaError::invalid(format!("snapshot {id} cannot be read: {e}")))
    }

    /// The text of a startup file copy.
    pub fn file_text(&self, copy: &FileCopy) -> Result<Vec<u8>, KeaError> {
        self.get(&copy.object)
    }
}

/// Hashes and counts what goes through on its way to `inner`.
struct Tee<W> {
    hasher: Sha256,
    size: u64,
    inner: W,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keeps the running configuration `config` of `svc`, read right before the change
/// `change` replaces it, with a copy of the daemon's startup file when it is on this
/// machine and readable. A snapshot that cannot be kept is a warning, not a failed change.
pub async fn take(svc: &Service, config: &Value, change: &str) -> Option<String> {
    let daemon = super::identity::daemon_id(svc).await;
    let startup = daemon
        .as_str()
        .strip_prefix("local:")
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, file)| PathBuf::from(file))
        .filter(|f| f.is_absolute());
    let started = std::time::Instant::now();
    let taken = Store::default_store().take(
        svc.server.name(),
        &svc.name,
        daemon.as_str(),
        Some(change),
        config,
        startup.as_deref(),
    );
    match taken {
        Ok(s) => {
            tracing::debug!(
                snapshot = s.short_id(),
                bytes = s.size,
                stored = s.stored,
                ms = started.elapsed().as_millis() as u64,
                "snapshot kept before change {change}"
            );
            Some(s.id)
        }
        Err(e) => {
            tracing::warn!("no snapshot was kept before change {change}: {}", e.message);
            None
        }
    }
}

/// `saved` (a snapshot, secrets redacted) with each redacted value filled back from
/// `live` at the same path; a `conflict` naming the path when `live` has nothing there.
pub fn fill_secrets(saved: &Value, live: &Value) -> Result<Value, KeaError> {
    let mut out = saved.clone();
    fill(&mut out, Some(live), &mut String::new())?;
    Ok(out)
}

fn fill(v: &mut Value, live: Option<&Value>, path: &mut String) -> Result<(), KeaError> {
    match v {
        Value::String(s) if s == redact::REDACTED || s == redact::REDACTED_CHANGED => match live {
            Some(l) if !l.is_null() && l.as_str().is_none_or(|t| t != redact::REDACTED) => {
                *v = l.clone();
                Ok(())
            }
            _ => Err(KeaError::new(
                ErrorKind::Conflict,
                format!(
                    "the secret at {path} cannot be filled back: the running configuration has nothing there any more (it was removed or moved since); nothing was changed"
                ),
            )),
        },
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let len = path.len();
                path.push('/');
                path.push_str(k);
                fill(x, live.and_then(|l| l.get(k)), path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                fill(x, live.and_then(|l| l.get(i)), path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `v` without its secret values (for "equal to the snapshot", which ignores them).
pub fn without_secrets(v: &Value) -> Value {
    redact::value(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_addressed_redacted_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::at(d.path());
        let cfg = json!({"Dhcp4": {"hosts-database": {"type": "mysql", "password": "hunter2"},
                                   "valid-lifetime": 100}});
        let a = store
            .take("lab", "dhcp4", "d", Some("c1"), &cfg, None)
            .unwrap();
        let b = store
            .take("lab", "dhcp4", "d", Some("c2"), &cfg, None)
            .unwrap();
        assert_eq!(a.id, b.id, "same content, same object");
        assert_eq!(
            std::fs::read_dir(d.path().join("snapshots/objects"))
                .unwrap()
                .count(),
            1
        );
        let back = store.config(&a).unwrap();
        assert_eq!(back["Dhcp4"]["hosts-database"]["password"], "[redacted]");
        assert!(
            !std::fs::read(d.path().join("snapshots/index.jsonl"))
                .unwrap()
                .windows(7)
                .any(|w| w == b"hunter2")
        );
        // Filled back from the live configuration; refused when the path is gone.
        let live = json!({"Dhcp4": {"hosts-database": {"type": "mysql", "password": "new"}}});
        let filled = fill_secrets(&back, &live).unwrap();
        assert_eq!(filled["Dhcp4"]["hosts-database"]["password"], "new");
        let e = fill_secrets(&back, &json!({"Dhcp4": {}})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(
            e.message.contains("/Dhcp4/hosts-database/password"),
            "{}",
            e.message
        );
        // Found by its id's prefix or by its change.
        assert_eq!(
            store.find("lab", None, "c2").unwrap().change.as_deref(),
            Some("c2")
        );
        assert_eq!(store.find("lab", None, &a.id[..8]).unwrap().id, a.id);
        // Retention: the newest N per server and service; unnamed objects removed.
        let store = store.keeping(3);
        for i in 0..6 {
            let c = json!({"Dhcp4": {"valid-lifetime": i}});
            store
                .take("lab", "dhcp4", "d", Some(&format!("n{i}")), &c, None)
                .unwrap();
        }
        store
            .take("other", "dhcp4", "e", None, &json!({"Dhcp4": {}}), None)
            .unwrap();
        let lab = store.list(Some("lab")).unwrap();
        assert_eq!(
            lab.iter()
                .map(|s| s.change.clone().unwrap())
                .collect::<Vec<_>>(),
            vec!["n3", "n4", "n5"]
        );
        assert_eq!(store.list(Some("other")).unwrap().len(), 1);
        assert_eq!(
            std::fs::read_dir(d.path().join("snapshots/objects"))
                .unwrap()
                .count(),
            4
        );
    }
}
