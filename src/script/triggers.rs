//! Trigger registrations made by a script (`on_change`, `every`, `cron`), kept for the
//! daemon (`spec/script-api.md` › Triggers).
//!
//! A script registers its triggers when it runs top to bottom; the daemon then takes them
//! out of the [`Registry`] and runs each callback on its own schedule. A callback is a Rhai
//! [`FnPtr`]: a name in the script's `AST` plus the values a closure captured, so the daemon
//! keeps the `AST` too (`reference/rust-anchors.md` §1.9), and the modules the script had
//! imported where it registered the trigger, so `reload::apply(…)` inside a closure still
//! finds `reload`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use rhai::{FnPtr, Module, Shared};

/// What makes a trigger fire.
#[derive(Debug, Clone)]
pub enum TriggerKind {
    /// A file changed (created, written, replaced by rename, removed). `path` is absolute;
    /// the daemon watches its parent directory.
    Change { path: PathBuf },
    /// Every `period`, the first time one period after the daemon started.
    Every { period: Duration, text: String },
    /// A five-field crontab line, in local time.
    Cron { schedule: Box<Cron>, text: String },
}

impl TriggerKind {
    /// How logs name it: `on_change(/etc/kea/kea-dhcp4.conf)`, `every(15m)`, `cron(*/15 * * * *)`.
    pub fn describe(&self) -> String {
        match self {
            Self::Change { path } => format!("on_change({})", path.display()),
            Self::Every { text, .. } => format!("every({text})"),
            Self::Cron { text, .. } => format!("cron({text})"),
        }
    }
}

/// One registered trigger.
#[derive(Clone)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The function to run (`|event| …` for `on_change`, `|| …` for timers).
    pub callback: FnPtr,
    /// The modules imported where the trigger was registered, by alias.
    pub imports: Vec<(String, Shared<Module>)>,
    /// The function libraries in force where it was registered when that was inside an
    /// imported module (a closure defined there lives in the module, not the script).
    pub namespaces: Vec<Shared<Module>>,
    /// Where the script registered it (`file:line`).
    pub origin: String,
}

impl Trigger {
    /// `on_change(/etc/kea/kea-dhcp4.conf) at watch.rhai:7`.
    pub fn label(&self) -> String {
        format!("{} at {}", self.kind.describe(), self.origin)
    }
}

impl std::fmt::Debug for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trigger")
            .field("kind", &self.kind)
            .field("callback", &self.callback)
            .field(
                "imports",
                &self.imports.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("origin", &self.origin)
            .finish()
    }
}

/// In which situation a script registers triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// `keascript run` (and the REPL): triggers are recorded but nothing runs them.
    Run = 0,
    /// `keascript daemon` is running the script top to bottom: triggers are taken.
    Daemon = 1,
    /// Inside a trigger's run: registering another trigger is an error.
    InTrigger = 2,
}

/// The triggers a script registered.
#[derive(Debug, Default)]
pub struct Registry {
    triggers: Mutex<Vec<Trigger>>,
    mode: AtomicU8,
}

impl Registry {
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::SeqCst) {
            1 => Mode::Daemon,
            2 => Mode::InTrigger,
            _ => Mode::Run,
        }
    }

    /// Records a trigger.
    pub fn add(&self, trigger: Trigger) {
        self.triggers.lock().expect("triggers lock").push(trigger);
    }

    /// Takes every trigger registered so far.
    pub fn take(&self) -> Vec<Trigger> {
        std::mem::take(&mut *self.triggers.lock().expect("triggers lock"))
    }

    pub fn len(&self) -> usize {
        self.triggers.lock().expect("triggers lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the period of `every`: `"30s"`, `"15m"`, `"1h"`, `"1h 30m"`, `"500ms"`.
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("every(): \"{text}\" is not a duration ({e}); write e.g. \"30s\", \"15m\", \"1h\"")
    })?;
    if d < Duration::from_millis(100) {
        return Err(format!(
            "every(): \"{text}\" is too short; the shortest period is 100ms"
        ));
    }
    Ok(d)
}

/// Reads a five-field crontab line (minute hour day-of-month month day-of-week), as in
/// `crontab(5)`: lists, ranges, steps, names (`mon`, `jan`), `@hourly`-style nicknames.
pub fn parse_cron(text: &str) -> Result<Cron, String> {
    let t = text.trim();
    let fields = t.split_whitespace().count();
    if !t.starts_with('@') && fields != 5 {
        return Err(format!(
            "cron(): \"{text}\" has {fields} fields; write the five fields of a crontab line: minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\""
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(t)
        .or_else(|_| Cron::from_str(t))
        .map_err(|e| format!("cron(): \"{text}\" is not a valid crontab line: {e}"))
}

/// Makes an `on_change` path absolute (relative to the working directory) and checks
/// that its directory exists; the file itself may come later.
pub fn watch_path(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("on_change(): the path is empty".into());
    }
    let p = Path::new(text);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("on_change(): cannot resolve \"{text}\": {e}"))?
            .join(p)
    };
    let abs = normalize(&abs);
    if abs.is_dir() {
        return Err(format!(
            "on_change(): {} is a directory; name the file to watch",
            abs.display()
        ));
    }
    let Some(parent) = abs.parent() else {
        return Err(format!("on_change(): {} has no directory", abs.display()));
    };
    if !parent.is_dir() {
        return Err(format!(
            "on_change(): directory {} does not exist",
            parent.display()
        ));
    }
    if abs.file_name().is_none() {
        return Err(format!("on_change(): {} names no file", abs.display()));
    }
    Ok(abs)
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Local, TimeZone};

    #[test]
    fn every_reads_the_usual_durations() {
        assert_eq!(parse_every("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_every("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_every("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_every(" 1h 30m ").unwrap(), Duration::from_secs(5400));
        assert!(parse_every("soon").unwrap_err().contains("\"15m\""));
        assert!(parse_every("0s").unwrap_err().contains("too short"));
    }

    #[test]
    fn cron_takes_five_fields_in_local_time() {
        let c = parse_cron("*/15 * * * *").unwrap();
        let t = Local.with_ymd_and_hms(2026, 3, 4, 10, 7, 12).unwrap();
        let next = c.find_next_occurrence(&t, false).unwrap();
        assert_eq!(next, Local.with_ymd_and_hms(2026, 3, 4, 10, 15, 0).unwrap());
        let c = parse_cron("30 2 * * mon").unwrap();
        let next = c.find_next_occurrence(&t, false).unwrap();
        assert_eq!(next, Local.with_ymd_and_hms(2026, 3, 9, 2, 30, 0).unwrap());
        assert!(parse_cron("@hourly").is_ok());
        // Six fields would silently mean seconds elsewhere: refused.
        assert!(
            parse_cron("0 */15 * * * *")
                .unwrap_err()
                .contains("6 fields")
        );
        assert!(parse_cron("* * *").unwrap_err().contains("3 fields"));
        assert!(
            parse_cron("61 * * * *")
                .unwrap_err()
                .contains("not a valid")
        );
    }

    #[test]
    fn watch_paths_are_absolute_files_in_existing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("kea-dhcp4.conf");
        assert_eq!(watch_path(f.to_str().unwrap()).unwrap(), f);
        let dotted = format!("{}/./sub/../kea-dhcp4.conf", dir.path().display());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(watch_path(&dotted).unwrap(), f);
        assert!(
            watch_path(dir.path().to_str().unwrap())
                .unwrap_err()
                .contains("is a directory")
        );
        assert!(
            watch_path("/nonexistent-dir/x.conf")
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(watch_path("").is_err());
    }
}
