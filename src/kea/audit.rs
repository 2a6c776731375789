//! The audit trail: one JSON line per change made through keascript, appended to a file in
//! the state directory (or `$KEASCRIPT_AUDIT_FILE`), flushed to disk before the change is
//! reported done. Concurrent keascript processes append whole lines under a file lock, so
//! entries never interleave. Secrets never enter it: entries go through keascript's one
//! redaction rule ([`super::redact`]) on their way in.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::{
    ConfigDoc, Family, OptionScope, SubnetKey, classes, networks, options, reservations, settings,
};
use super::edit::{Edit, state_dir};
use super::{KeaError, redact};

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The OS user who ran keascript.
    pub user: String,
    pub server: String,
    pub service: Option<String>,
    /// `subnet`, `pool`, `class`, `option`, `option_def`, `settings`, `config`, `lease`,
    /// `ha`, `command`.
    pub kind: String,
    pub key: String,
    /// `add`, `update`, `delete`, `set`, `apply`, `wipe`, or the command's name.
    pub action: String,
    pub before: Value,
    pub after: Value,
    /// The script that made the change (`repl` for the REPL).
    pub script: Option<String>,
    /// In the daemon: the trigger whose run made the change (`every 30s`, `on_change …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// `ok`, `error`, `partial`, or `unknown` (no answer came; a later entry with
    /// `resolves` says what was found).
    pub outcome: String,
    pub error: Option<String>,
    /// Other HA peers that got the same change, and peers skipped under `single_peer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The change's id (the journal's): entries of one change share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// On an entry that settles a change whose outcome was `unknown`: that change's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolves: Option<String>,
    /// On an entry made by `undo`, `restore` or a commit-confirmed revert: the change (or
    /// `snapshot ID`) it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl AuditEntry {
    /// A new entry stamped with the time and the OS user.
    pub fn new(server: &str, service: Option<&str>, kind: &str, key: &str, action: &str) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            user: os_user(),
            server: server.to_string(),
            service: service.map(str::to_string),
            kind: kind.to_string(),
            key: key.to_string(),
            action: action.to_string(),
            before: Value::Null,
            after: Value::Null,
            script: None,
            trigger: None,
            outcome: "ok".into(),
            error: None,
            peers: Vec::new(),
            skipped: Vec::new(),
            id: None,
            resolves: None,
            undoes: None,
        }
    }
}

fn os_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// The append-only audit file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pub path: PathBuf,
}

impl AuditLog {
    /// `$KEASCRIPT_AUDIT_FILE`, else `audit.jsonl` in the state directory.
    pub fn default_log() -> Self {
        let path = std::env::var_os("KEASCRIPT_AUDIT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| state_dir().join("audit.jsonl"));
        Self { path }
    }

    pub fn at(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Appends one entry (redacted) as one line, under an exclusive lock, and flushes it to
    /// disk before returning.
    pub fn append(&self, entry: &AuditEntry) -> Result<(), KeaError> {
        let fail = |e: std::io::Error| {
            KeaError::invalid(format!(
                "cannot write the audit trail {}: {e}",
                self.path.display()
            ))
        };
        if let Some(dir) = self.path.parent() {
            crate::kea::edit::create_private_dir(dir).map_err(fail)?;
        }
        let mut entry = entry.clone();
        entry.before = redact::value(&entry.before);
        entry.after = redact::value(&entry.after);
        if let Some(e) = &mut entry.error {
            *e = redact::text(e).into_owned();
        }
        entry.key = redact::text(&entry.key).into_owned();
        let mut line = serde_json::to_vec(&entry).expect("JSON");
        line.push(b'\n');
        let mut file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        file.lock().map_err(fail)?;
        let r = file.write_all(&line).and_then(|()| file.sync_data());
        let _ = file.unlock();
        r.map_err(fail)
    }

    /// Entries, newest first, that match the filter. Lines that cannot be read (not JSON,
    /// not an entry, not UTF-8) are skipped; [`AuditLog::read_all`] says which.
    pub fn read(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, KeaError> {
        Ok(self.read_all(filter)?.entries)
    }

    /// Entries, newest first, that match the filter, and the numbers of the lines that
    /// could not be read. Every readable entry is returned whatever the others hold.
    pub fn read_all(&self, filter: &AuditFilter) -> Result<AuditRead, KeaError> {
        let fail = |e: std::io::Error| {
            KeaError::invalid(format!(
                "cannot read the audit trail {}: {e}",
                self.path.display()
            ))
        };
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AuditRead::default());
            }
            Err(e) => return Err(fail(e)),
        };
        let mut read = AuditRead::default();
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(fail)? == 0 {
                break;
            }
            number += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<AuditEntry>(text) {
                Ok(e) => {
                    if filter.matches(&e) {
                        read.entries.push(e);
                    }
                }
                Err(_) => read.unreadable.push(number),
            }
        }
        read.entries.reverse();
        Ok(read)
    }
}

/// What [`AuditLog::read_all`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditRead {
    /// Matching entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Numbers (from 1) of the lines that are not entries.
    pub unreadable: Vec<usize>,
}

impl AuditRead {
    /// The warning to show when some lines could not be read: the file and the lines.
    pub fn warning(&self, path: &Path) -> Option<String> {
        if self.unreadable.is_empty() {
            return None;
        }
        const SHOWN: usize = 20;
        let mut lines: Vec<String> = self
            .unreadable
            .iter()
            .take(SHOWN)
            .map(usize::to_string)
            .collect();
        if self.unreadable.len() > SHOWN {
            lines.push(format!("… ({} more)", self.unreadable.len() - SHOWN));
        }
        let n = self.unreadable.len();
        Some(format!(
            "{n} line{} of the audit trail {} could not be read and {} left out (line{} {})",
            if n == 1 { "" } else { "s" },
            path.display(),
            if n == 1 { "is" } else { "are" },
            if n == 1 { "" } else { "s" },
            lines.join(", ")
        ))
    }
}

/// The kinds of change the audit trail records: the one table `history --kind` and
/// `history(kind, key)` are checked against ([`check_kind`]). Every kind an edit is audited
/// under ([`Edit::target`]) is here — a test holds them together — and `config` also marks
/// the entry that settles a change in flight; `lease`, `ha` and `command` are the other
/// commands a script sends. A new kind of object adds its kind here.
pub const KINDS: &[&str] = &[
    "subnet",
    "reservation",
    "shared_network",
    "pd_pool",
    "pool",
    "class",
    "option",
    "option_def",
    "settings",
    "config",
    "lease",
    "ha",
    "command",
];

/// `kind` when it is one of [`KINDS`]; else an `invalid` error that lists them.
pub fn check_kind(kind: &str) -> Result<(), KeaError> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(KeaError::invalid(format!(
            "\"{kind}\" is not a kind of change; the kinds are {}",
            KINDS.join(", ")
        )))
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub key: Option<String>,
    /// Entries at or after this time.
    pub since: Option<SystemTime>,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        if self.kind.as_ref().is_some_and(|k| *k != e.kind) {
            return false;
        }
        if self.key.as_ref().is_some_and(|k| *k != e.key) {
            return false;
        }
        if let Some(since) = self.since {
            match humantime::parse_rfc3339_weak(&e.time) {
                Ok(t) if t >= since => {}
                _ => return false,
            }
        }
        true
    }
}

/// True for commands that only read (never recorded when sent with `command()`).
pub fn is_read_only(command: &str) -> bool {
    const EXACT: &[&str] = &[
        "build-report",
        "config-get",
        "config-hash-get",
        "config-test",
        "list-commands",
        "status-get",
        "version-get",
        "server-tag-get",
        "ha-heartbeat",
        "class-get",
        "class-list",
        "interface-list",
    ];
    EXACT.contains(&command)
        || command.starts_with("stat-")
        || (command.starts_with("statistic-") && command.contains("-get"))
        || (command.starts_with("lease") && command.contains("-get"))
        || ((command.starts_with("subnet") || command.starts_with("network"))
            && (command.ends_with("-get") || command.ends_with("-list")))
        || command.starts_with("sflq-pool") && command.contains("-get")
}

/// What the object an edit is about looked like before and after it.
pub fn snapshot(
    edit: &Edit,
    family: Family,
    before: Option<&ConfigDoc>,
    after: Option<&ConfigDoc>,
    result: &Value,
) -> (Value, Value) {
    let (b, a) = (before, after);
    let whole = |d: Option<&ConfigDoc>| d.map_or(Value::Null, |d| d.value.clone());
    let subnet = |d: Option<&ConfigDoc>, key: &SubnetKey| {
        d.and_then(|d| {
            d.find_subnet(key)
                .ok()
                .map(|l| Value::Object(d.subnet(l).clone()))
        })
        .unwrap_or(Value::Null)
    };
    let class = |d: Option<&ConfigDoc>, name: &str| {
        d.and_then(|d| {
            classes::find_class(d, name).map(|i| d.root_array("client-classes")[i].clone())
        })
        .unwrap_or(Value::Null)
    };
    let opts_at = |d: Option<&ConfigDoc>, scope: &OptionScope| {
        d.and_then(|d| options::options_at(d, scope).ok())
            .map(Value::Array)
            .unwrap_or(Value::Null)
    };
    let pool = |d: Option<&ConfigDoc>, key: &SubnetKey, range: &str| {
        d.and_then(|d| {
            let loc = d.find_subnet(key).ok()?;
            let i = super::config::subnets::find_pool(d, loc, range).ok()?;
            Some(d.subnet(loc)["pools"][i].clone())
        })
        .unwrap_or(Value::Null)
    };
    let def = |d: Option<&ConfigDoc>, code: u64, space: &str| {
        d.and_then(|d| {
            d.root_array("option-def")
                .iter()
                .find(|x| {
                    x.get("code").and_then(Value::as_u64) == Some(code)
                        && x.get("space")
                            .and_then(Value::as_str)
                            .unwrap_or(family.option_space())
                            == space
                })
                .cloned()
        })
        .unwrap_or(Value::Null)
    };
    let settings_of = |d: Option<&ConfigDoc>, keys: &Map<String, Value>| {
        d.map(|d| {
            let all = settings::settings(d);
            Value::Object(
                keys.keys()
                    .filter_map(|k| all.get(k).map(|v| (k.clone(), v.clone())))
                    .collect(),
            )
        })
        .unwrap_or(Value::Null)
    };
    let network = |d: Option<&ConfigDoc>, name: &str| {
        d.and_then(|d| networks::find(d, name).map(|i| d.root_array("shared-networks")[i].clone()))
            .unwrap_or(Value::Null)
    };
    match edit {
        Edit::Apply { .. } => (whole(b), whole(a)),
        Edit::AddSubnet(_) => {
            let id = result.get("id").and_then(Value::as_u64).unwrap_or(0);
            (Value::Null, subnet(a, &SubnetKey::Id(id)))
        }
        Edit::UpdateSubnet(k, _) | Edit::AssignClass(k, None, _) | Edit::UnassignClass(k, None) => {
            (subnet(b, k), subnet(a, k))
        }
        Edit::DeleteSubnet(k) => (subnet(b, k), Value::Null),
        Edit::AddPool(k, r, _) => (Value::Null, pool(a, k, r)),
        Edit::DeletePool(k, r) => (pool(b, k, r), Value::Null),
        Edit::AssignClass(k, Some(r), _) | Edit::UnassignClass(k, Some(r)) => {
            (pool(b, k, r), pool(a, k, r))
        }
        Edit::AddClass(m) => {
            let n = m.get("name").and_then(Value::as_str).unwrap_or("");
            (Value::Null, class(a, n))
        }
        Edit::UpdateClass(n, _) => (class(b, n), class(a, n)),
        Edit::DeleteClass(n) => (class(b, n), Value::Null),
        Edit::SetOption(s, _) | Edit::DeleteOption(s, ..) => (opts_at(b, s), opts_at(a, s)),
        Edit::DefineOption(m) => {
            let code = m.get("code").and_then(Value::as_u64).unwrap_or(0);
            let space = m
                .get("space")
                .and_then(Value::as_str)
                .unwrap_or(family.option_space());
            (Value::Null, def(a, code, space))
        }
        Edit::UpdateOptionDef(code, space, _) => {
            let new_code = result
                .get("code")
                .and_then(Value::as_u64)
                .unwrap_or(*code as u64);
            let new_space = result.get("space").and_then(Value::as_str).unwrap_or(space);
            (def(b, *code as u64, space), def(a, new_code, new_space))
        }
        Edit::DeleteOptionDef(code, space) => (def(b, *code as u64, space), Value::Null),
        Edit::Set(m) => (settings_of(b, m), settings_of(a, m)),
        Edit::AddReservation(..) | Edit::AddPdPool(..) | Edit::ImportReservations { .. } => {
            (Value::Null, result.clone())
        }
        Edit::UpdateReservation(scope, k, _) => {
            let found = b.and_then(|d| {
                let at = reservations::find(d, scope.as_ref(), k).ok()??;
                Some(reservations::view(d, at))
            });
            (found.unwrap_or(Value::Null), result.clone())
        }
        Edit::DeleteReservation(..) | Edit::DeletePdPool(..) => (result.clone(), Value::Null),
        Edit::RestoreReservation { expect, back } => (expect.clone(), back.clone()),
        Edit::AddSharedNetwork(_) => (Value::Null, result.clone()),
        Edit::UpdateSharedNetwork(n, _) => (network(b, n), network(a, n)),
        Edit::DeleteSharedNetwork(n) => (network(b, n), Value::Null),
        Edit::MoveSubnet(k, _) => (subnet(b, k), subnet(a, k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_commands() {
        for c in [
            "config-get",
            "lease4-get-page",
            "stat-lease4-get",
            "subnet4-list",
            "ha-heartbeat",
            "statistic-get-all",
        ] {
            assert!(is_read_only(c), "{c}");
        }
        for c in [
            "config-set",
            "config-write",
            "config-reload",
            "lease4-add",
            "lease4-wipe",
            "ha-maintenance-start",
            "subnet4-add",
            "statistic-reset",
            "shutdown",
            "dhcp-disable",
        ] {
            assert!(!is_read_only(c), "{c}");
        }
    }

    #[test]
    fn secrets_are_redacted_paths_are_not() {
        let v = json!({"lease-database": {"password": "hunter2", "user": "kea"},
                       "peers": [{"basic-auth-password": "s3", "basic-auth-password-file": "/etc/p"}],
                       "user_context": {"api_secret": "x"}});
        let r = redact::value(&v);
        let s = r.to_string();
        assert!(
            !s.contains("hunter2") && !s.contains("\"s3\"") && !s.contains("\"x\""),
            "{s}"
        );
        assert_eq!(r["peers"][0]["basic-auth-password-file"], "/etc/p");
        assert_eq!(r["lease-database"]["user"], "kea");
    }

    #[test]
    fn the_trail_never_holds_a_secret_in_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(&dir.path().join("audit.jsonl"));
        let mut e = AuditEntry::new("lab", Some("dhcp4"), "class", "c", "add");
        e.before = json!({"user-context": {"api_token": "tok-abc-1", "passwd": "pw-abc-2"}});
        e.after = json!({"hosts-databases": [{"pass": "pw-abc-3", "key": "key-abc-4"}],
                         "user_context": {"Api-Token": "tok-abc-5", "comment": "see http://u:pw-abc-6@h/"}});
        e.outcome = "error".into();
        e.error = Some("cannot reach http://u:pw-abc-7@h/".into());
        log.append(&e).unwrap();
        let text = std::fs::read_to_string(&log.path).unwrap();
        for secret in [
            "tok-abc-1",
            "pw-abc-2",
            "pw-abc-3",
            "key-abc-4",
            "tok-abc-5",
            "pw-abc-6",
            "pw-abc-7",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn unreadable_lines_are_counted_not_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(&dir.path().join("audit.jsonl"));
        log.append(&AuditEntry::new("lab", None, "subnet", "k1", "add"))
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(&log.path).unwrap();
        f.write_all(b"{\"truncated\": \n\xff\xfe not utf-8\n\n[1, 2]\n")
            .unwrap();
        drop(f);
        log.append(&AuditEntry::new("lab", None, "class", "k2", "add"))
            .unwrap();
        let r = log.read_all(&AuditFilter::default()).unwrap();
        assert_eq!(
            r.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            vec!["k2", "k1"]
        );
        assert_eq!(r.unreadable, vec![2, 3, 5]);
        let w = r.warning(&log.path).unwrap();
        assert!(w.contains("3 lines") && w.contains("lines 2, 3, 5"), "{w}");
        assert!(w.contains(&log.path.display().to_string()), "{w}");
        assert_eq!(log.read(&AuditFilter::default()).unwrap().len(), 2);
        assert!(check_kind("option_def").is_ok());
        let e = check_kind("nonsense").unwrap_err();
        assert!(e.message.contains("option_def") && e.message.contains("nonsense"));
    }

    #[test]
    fn append_and_read_newest_first_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::at(&dir.path().join("a/audit.jsonl"));
        for (i, kind) in ["subnet", "class", "subnet"].iter().enumerate() {
            let mut e = AuditEntry::new("lab", Some("dhcp4"), kind, &format!("k{i}"), "add");
            e.after = json!({"password": "p", "n": i});
            log.append(&e).unwrap();
        }
        let all = log.read(&AuditFilter::default()).unwrap();
        assert_eq!(
            all.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            vec!["k2", "k1", "k0"]
        );
        assert_eq!(all[0].after["password"], "[redacted]");
        let subnets = log
            .read(&AuditFilter {
                kind: Some("subnet".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(subnets.len(), 2);
        let later = log
            .read(&AuditFilter {
                since: Some(SystemTime::now() + std::time::Duration::from_secs(60)),
                ..Default::default()
            })
            .unwrap();
        assert!(later.is_empty());
        assert!(!all[0].user.is_empty());
    }
}
