//! Configuration files on disk and drift (the check Micetro runs every 15 minutes):
//! reading a Kea configuration file as Kea does (comments allowed), what changed between
//! two running configurations, and whether a file's subnets, pools, classes, options and
//! option definitions differ from the running ones, ignoring the defaults Kea echoes.
//! Snapshots of the running configuration are kept in the state directory.
//!
//! Used by the stdlib modules `kea/reload` and `kea/drift` through the script API.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::class_keys::canonical_form;
use super::edit::state_dir;
use super::{ErrorKind, KeaError, redact};

// ---------------------------------------------------------------------------------------
// Reading configuration files
// ---------------------------------------------------------------------------------------

/// Removes the comments Kea accepts in its files (`// …`, `# …` to the end of the line,
/// `/* … */`) outside strings. Line breaks are kept, so JSON errors keep their line
/// numbers; a block comment becomes spaces.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '#' => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str("  ");
                let mut prev = '\0';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        out.push(' ');
                        break;
                    }
                    out.push(if n == '\n' { '\n' } else { ' ' });
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    for n in chars.by_ref() {
        if n == '\n' {
            out.push('\n');
            return;
        }
    }
}

/// Parses the text of a Kea configuration file (JSON with comments). `name` is how errors
/// refer to it (`file:line:column`).
pub fn parse_config_text(text: &str, name: &str) -> Result<Value, KeaError> {
    if text.contains("<?include") {
        return Err(KeaError::invalid(format!(
            "{name} uses <?include ?>, which keascript cannot read; test it with `kea-dhcp4 -t {name}`"
        )));
    }
    let clean = strip_comments(text);
    // Kea writes its files as it answers: byte escapes decoded as on the wire.
    crate::transport::wire::parse(clean.as_bytes()).map_err(|e| {
        KeaError::invalid(format!(
            "{name}:{}:{}: not valid JSON: {}",
            e.line,
            e.column,
            strip_position(&e.message)
        ))
    })
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Reads a file as text; errors name the file.
pub fn read_text(path: &Path) -> Result<String, KeaError> {
    std::fs::read_to_string(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Invalid
        };
        KeaError::new(kind, format!("cannot read {}: {e}", path.display()))
    })
}

/// Reads and parses a Kea configuration file.
pub fn read_config_file(path: &Path) -> Result<Value, KeaError> {
    parse_config_text(&read_text(path)?, &path.display().to_string())
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

/// Where the snapshot called `name` lives: `<state dir>/drift/<name>.json`.
pub fn snapshot_path(name: &str) -> PathBuf {
    snapshot_path_in(&state_dir(), name)
}

fn snapshot_path_in(state: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    state.join("drift").join(format!("{safe}.json"))
}

/// The snapshot called `name`, if one was saved.
pub fn load_snapshot(name: &str) -> Result<Option<Value>, KeaError> {
    load_snapshot_in(&state_dir(), name)
}

fn load_snapshot_in(state: &Path, name: &str) -> Result<Option<Value>, KeaError> {
    let p = snapshot_path_in(state, name);
    match std::fs::read_to_string(&p) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| KeaError::invalid(format!("snapshot {} is damaged: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeaError::invalid(format!(
            "cannot read snapshot {}: {e}",
            p.display()
        ))),
    }
}

/// Saves `value` as the snapshot called `name` (written to a temporary file, then renamed),
/// secrets redacted (`kea::redact`): a snapshot is kept in the state folder for a long
/// time, and a change of a secret alone is therefore not seen by the next comparison.
pub fn save_snapshot(name: &str, value: &Value) -> Result<PathBuf, KeaError> {
    save_snapshot_in(&state_dir(), name, value)
}

fn save_snapshot_in(state: &Path, name: &str, value: &Value) -> Result<PathBuf, KeaError> {
    let p = snapshot_path_in(state, name);
    let fail = |e: std::io::Error| {
        KeaError::invalid(format!("cannot write snapshot {}: {e}", p.display()))
    };
    let dir = p.parent().expect("snapshot dir");
    std::fs::create_dir_all(dir).map_err(fail)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        p.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(&redact::value(value)).unwrap_or_default(),
    )
    .map_err(fail)?;
    std::fs::rename(&tmp, &p).map_err(fail)?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// Comparing configurations
// ---------------------------------------------------------------------------------------

/// One difference between two configurations.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `subnet`, `pool`, `shared_network`, `class`, `option`, `option_def`, `setting`.
    pub kind: &'static str,
    /// Which one: `192.0.2.0/24`, `192.0.2.10-192.0.2.200 in 192.0.2.0/24`,
    /// `routers (subnet 192.0.2.0/24)`, `pxe`, `224 in dhcp4`, `valid-lifetime`.
    pub key: String,
    /// `added`, `removed` or `changed` (going from the first configuration to the second).
    pub change: &'static str,
    /// For `changed`: which fields, `field: old → new`, `; `-separated.
    pub detail: String,
}

impl Change {
    /// One line for a report: `subnet 10.1.0.0/24 changed: valid-lifetime: 4000 → 7200`.
    pub fn line(&self) -> String {
        let kind = self.kind.replace('_', " ");
        if self.detail.is_empty() {
            format!("{kind} {} {}", self.key, self.change)
        } else {
            format!("{kind} {} {}: {}", self.key, self.change, self.detail)
        }
    }
}

impl Change {
    /// One line for a file-against-running difference:
    /// `subnet 10.9.0.0/24: only in the file`,
    /// `class pxe: only in the running configuration`,
    /// `subnet 192.0.2.0/24 differs (running → file): valid-lifetime: 4000 → 7200`.
    pub fn file_line(&self) -> String {
        let kind = self.kind.replace('_', " ");
        match self.change {
            "added" => format!("{kind} {}: only in the file", self.key),
            "removed" => format!("{kind} {}: only in the running configuration", self.key),
            _ => format!(
                "{kind} {} differs (running → file): {}",
                self.key, self.detail
            ),
        }
    }
}

/// How values missing on one side are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Two running configurations: every key counts.
    Exact,
    /// A file against the running configuration: keys the file does not set count only
    /// when the running value is not a default (empty, or inherited, or Kea's default).
    FileVsRunning,
}

/// What changed from `before` to `after`, two running configurations (`{"Dhcp4": …}`):
/// subnets, pools, shared networks, classes, options, option definitions and every other
/// setting.
///
/// Secrets never show (`kea::redact`): a secret that changed reads `[redacted, changed]`,
/// and one compared with a snapshot (where it is kept redacted) does not count.
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let (a, b) = redact::pair(before, after);
    compare(&a, &b, Mode::Exact)
}

/// How the configuration in a file differs from the running one, in the terms of what
/// loading the file would do (`added`: only in the file, `removed`: only running). Only
/// subnets, pools, classes, options and option definitions are compared, and the
/// defaults Kea fills in (empty values, inherited lifetimes and timers, Kea's option
/// defaults) are not differences.
pub fn differences(running: &Value, file: &Value) -> Vec<Change> {
    let (a, b) = redact::pair(running, file);
    compare(&a, &b, Mode::FileVsRunning)
}

/// The `Dhcp4`/`Dhcp6` map of a configuration and its family's names.
struct Root<'a> {
    map: &'a Map<String, Value>,
    v6: bool,
}

fn root(v: &Value) -> Option<Root<'_>> {
    if let Some(m) = v.get("Dhcp4").and_then(Value::as_object) {
        return Some(Root { map: m, v6: false });
    }
    v.get("Dhcp6")
        .and_then(Value::as_object)
        .map(|m| Root { map: m, v6: true })
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

fn compare(a: &Value, b: &Value, mode: Mode) -> Vec<Change> {
    let (Some(ra), Some(rb)) = (root(a), root(b)) else {
        return vec![Change {
            kind: "setting",
            key: "Dhcp4/Dhcp6".into(),
            change: "changed",
            detail: "one of the configurations has no Dhcp4 or Dhcp6 map".into(),
        }];
    };
    let v6 = ra.v6 || rb.v6;
    let subnet_key = if v6 { "subnet6" } else { "subnet4" };
    let space = if v6 { "dhcp6" } else { "dhcp4" };
    let mut out = Vec::new();

    // Global settings: only between two running configurations.
    if mode == Mode::Exact {
        let skip = [
            subnet_key,
            "shared-networks",
            "option-data",
            "option-def",
            "client-classes",
        ];
        let mut keys: Vec<&String> = ra.map.keys().chain(rb.map.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            if skip.contains(&k.as_str()) {
                continue;
            }
            match (ra.map.get(k), rb.map.get(k)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => out.push(Change {
                    kind: "setting",
                    key: k.clone(),
                    change: match (x, y) {
                        (None, _) => "added",
                        (_, None) => "removed",
                        _ => "changed",
                    },
                    detail: format!("{} → {}", show(x), show(y)),
                }),
            }
        }
    }

    let ctx = Ctx {
        mode,
        space,
        global_a: ra.map,
    };
    ctx.options(&mut out, "global", ra.map, rb.map);
    ctx.option_defs(&mut out, ra.map, rb.map);
    ctx.classes(&mut out, ra.map, rb.map);
    ctx.networks(&mut out, ra.map, rb.map, subnet_key);
    ctx.subnets(&mut out, ra.map, rb.map, subnet_key, v6);
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(not set)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 80 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(77).map_or(s.len(), |(i, _)| i)]
                )
            } else {
                s
            }
        }
    }
}

/// A subnet by its canonical prefix, with the shared network it sits in.
type Located<'v> = (String, &'v Value, Option<&'v Map<String, Value>>);

struct Ctx<'a> {
    mode: Mode,
    space: &'static str,
    global_a: &'a Map<String, Value>,
}

/// A value Kea fills in when nothing is configured.
fn is_empty_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty() || s == "0.0.0.0" || s == "::",
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty_default),
        Value::Number(_) => false,
    }
}

/// Kea's own defaults per kind of object (besides empty values).
fn kea_default(kind: &str, key: &str, v: &Value) -> bool {
    matches!(
        (kind, key, v),
        ("option", "csv-format", Value::Bool(true))
            | ("option", "always-send", Value::Bool(false))
            | ("option", "never-send", Value::Bool(false))
            | ("option_def", "array", Value::Bool(false))
    )
}

fn list<'a>(m: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    m.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn obj(v: &Value) -> &Map<String, Value> {
    v.as_object().unwrap_or(&EMPTY)
}

/// Canonical text of a prefix (`2001:DB8::/64` → `2001:db8::/64`).
fn canonical_prefix(s: &str) -> String {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    t.parse::<ipnet::IpNet>()
        .map(|n| n.to_string())
        .unwrap_or(t)
}

/// Canonical text of a pool (`10.0.0.1 - 10.0.0.9` → `10.0.0.1-10.0.0.9`).
fn canonical_pool(s: &str) -> String {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some((a, b)) = t.split_once('-')
        && let (Ok(a), Ok(b)) = (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>())
    {
        return format!("{a}-{b}");
    }
    canonical_prefix(&t)
}

impl Ctx<'_> {
    /// Compares the fields of two versions of one object. `skip`: keys compared elsewhere
    /// or that identify the object. `inherit_a`/`inherit_b`: what the object inherits.
    #[allow(clippy::too_many_arguments)]
    fn fields(
        &self,
        kind: &str,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        skip: &[&str],
        inherit_a: &[&Map<String, Value>],
    ) -> Vec<String> {
        // Kea 3 reports `client-classes` where a file for Kea 2 says `client-class`: the
        // same limit, in the other generation's spelling.
        let (a, b) = if matches!(kind, "subnet" | "pool" | "shared_network" | "class") {
            (canonical_form(a), canonical_form(b))
        } else {
            (Cow::Borrowed(a), Cow::Borrowed(b))
        };
        let (a, b) = (a.as_ref(), b.as_ref());
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut out = Vec::new();
        for k in keys {
            if skip.contains(&k.as_str()) {
                continue;
            }
            let (x, y) = (a.get(k), b.get(k));
            let differs = match self.mode {
                Mode::Exact => x != y,
                Mode::FileVsRunning => match (x, y) {
                    (_, Some(y)) => !self.same_in_file(kind, k, x, y),
                    (Some(x), None) => !self.defaulted(kind, k, x, a, inherit_a),
                    (None, None) => false,
                },
            };
            if differs {
                out.push(format!("{k}: {} → {}", show(x), show(y)));
            }
        }
        out
    }

    /// A value the file sets against the running one.
    fn same_in_file(&self, kind: &str, key: &str, running: Option<&Value>, file: &Value) -> bool {
        match running {
            Some(r) if r == file => true,
            Some(Value::String(r)) if key == "pool" || key == "prefix" => {
                file.as_str().map(canonical_pool) == Some(canonical_pool(r))
            }
            Some(_) => false,
            // Set in the file to what Kea would have anyway.
            None => is_empty_default(file) || kea_default(kind, key, file),
        }
    }

    /// A running value the file does not set: a default, or inherited?
    fn defaulted(
        &self,
        kind: &str,
        key: &str,
        running: &Value,
        own: &Map<String, Value>,
        inherit: &[&Map<String, Value>],
    ) -> bool {
        if is_empty_default(running) || kea_default(kind, key, running) {
            return true;
        }
        if inherit.iter().any(|m| m.get(key) == Some(running)) {
            return true;
        }
        // Kea echoes min/max lifetimes equal to the lifetime itself.
        for (bound, base) in [
            ("min-valid-lifetime", "valid-lifetime"),
            ("max-valid-lifetime", "valid-lifetime"),
            ("min-preferred-lifetime", "preferred-lifetime"),
            ("max-preferred-lifetime", "preferred-lifetime"),
        ] {
            if key == bound
                && (own.get(base) == Some(running)
                    || inherit.iter().any(|m| m.get(base) == Some(running)))
            {
                return true;
            }
        }
        // Kea's default DHCPv4 T1/T2 percentages.
        matches!(
            (key, running.as_f64()),
            ("t1-percent", Some(0.5)) | ("t2-percent", Some(0.875))
        ) || (kind == "option" && key == "space" && running.as_str() == Some(self.space))
    }

    /// Pairs up two lists of objects by key; reports added and removed ones and calls
    /// `both` for the pairs.
    fn pair<'v>(
        &self,
        out: &mut Vec<Change>,
        kind: &'static str,
        a: impl Iterator<Item = (String, &'v Value)>,
        b: impl Iterator<Item = (String, &'v Value)>,
        mut both: impl FnMut(&mut Vec<Change>, &str, &'v Value, &'v Value),
    ) {
        let a: BTreeMap<String, &Value> = a.collect();
        let b: BTreeMap<String, &Value> = b.collect();
        for (k, x) in &a {
            match b.get(k) {
                Some(y) => both(out, k, x, y),
                None => out.push(Change {
                    kind,
                    key: k.clone(),
                    change: "removed",
                    detail: String::new(),
                }),
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            out.push(Change {
                kind,
                key: k.clone(),
                change: "added",
                detail: String::new(),
            });
        }
    }

    fn push_changed(out: &mut Vec<Change>, kind: &'static str, key: &str, fields: Vec<String>) {
        if !fields.is_empty() {
            out.push(Change {
                kind,
                key: key.to_string(),
                change: "changed",
                detail: fields.join("; "),
            });
        }
    }

    /// Option data at one scope (`where_`: `global`, `subnet 10.0.0.0/24`, …).
    fn options(
        &self,
        out: &mut Vec<Change>,
        where_: &str,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
    ) {
        let a = list(a, "option-data");
        let b = list(b, "option-data");
        // Match by name where both sides name it, else by code.
        let names: BTreeMap<String, String> = a
            .iter()
            .chain(b.iter())
            .filter_map(|o| {
                let o = obj(o);
                Some((
                    o.get("code")?.to_string(),
                    o.get("name")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let key = |o: &Value| {
            let o = obj(o);
            let space = o.get("space").and_then(Value::as_str).unwrap_or(self.space);
            let id = match (o.get("name").and_then(Value::as_str), o.get("code")) {
                (Some(n), _) => n.to_string(),
                (None, Some(c)) => names.get(&c.to_string()).cloned().unwrap_or(c.to_string()),
                (None, None) => "?".into(),
            };
            if space == self.space {
                format!("{id} ({where_})")
            } else {
                format!("{id} in {space} ({where_})")
            }
        };
        self.pair(
            out,
            "option",
            a.iter().map(|o| (key(o), o)),
            b.iter().map(|o| (key(o), o)),
            |out, k, x, y| {
                let f = self.fields("option", obj(x), obj(y), &["name", "code", "space"], &[]);
                Self::push_changed(out, "option", k, f);
            },
        );
    }

    fn option_defs(&self, out: &mut Vec<Change>, a: &Map<String, Value>, b: &Map<String, Value>) {
        let key = |d: &Value| {
            let d = obj(d);
            format!(
                "{} in {}",
                d.get("code").map(|c| c.to_string()).unwrap_or("?".into()),
                d.get("space").and_then(Value::as_str).unwrap_or(self.space)
            )
        };
        self.pair(
            out,
            "option_def",
            list(a, "option-def").iter().map(|d| (key(d), d)),
            list(b, "option-def").iter().map(|d| (key(d), d)),
            |out, k, x, y| {
                let f = self.fields("option_def", obj(x), obj(y), &["code", "space"], &[]);
                Self::push_changed(out, "option_def", k, f);
            },
        );
    }

    fn classes(&self, out: &mut Vec<Change>, a: &Map<String, Value>, b: &Map<String, Value>) {
        let key = |c: &Value| {
            obj(c)
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let mut inner = Vec::new();
        self.pair(
            out,
            "class",
            list(a, "client-classes").iter().map(|c| (key(c), c)),
            list(b, "client-classes").iter().map(|c| (key(c), c)),
            |out, k, x, y| {
                let f = self.fields("class", obj(x), obj(y), &["name", "option-data"], &[]);
                Self::push_changed(out, "class", k, f);
                inner.push((format!("class {k}"), x, y));
            },
        );
        for (w, x, y) in inner {
            self.options(out, &w, obj(x), obj(y));
        }
    }

    fn networks(
        &self,
        out: &mut Vec<Change>,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        subnet_key: &str,
    ) {
        let key = |n: &Value| {
            obj(n)
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let mut inner = Vec::new();
        let globals = [self.global_a];
        self.pair(
            out,
            "shared_network",
            list(a, "shared-networks").iter().map(|n| (key(n), n)),
            list(b, "shared-networks").iter().map(|n| (key(n), n)),
            |out, k, x, y| {
                let f = self.fields(
                    "shared_network",
                    obj(x),
                    obj(y),
                    &["name", subnet_key, "option-data"],
                    &globals,
                );
                Self::push_changed(out, "shared_network", k, f);
                inner.push((format!("shared network {k}"), x, y));
            },
        );
        for (w, x, y) in inner {
            self.options(out, &w, obj(x), obj(y));
        }
    }

    /// Every subnet, at the top level or in a shared network, with what it inherits.
    fn all_subnets<'v>(m: &'v Map<String, Value>, subnet_key: &str) -> Vec<Located<'v>> {
        let mut out: Vec<_> = list(m, subnet_key)
            .iter()
            .map(|s| (Self::subnet_name(s), s, None))
            .collect();
        for n in list(m, "shared-networks") {
            for s in list(obj(n), subnet_key) {
                out.push((Self::subnet_name(s), s, Some(obj(n))));
            }
        }
        out
    }

    fn subnet_name(s: &Value) -> String {
        obj(s)
            .get("subnet")
            .and_then(Value::as_str)
            .map(canonical_prefix)
            .unwrap_or_else(|| "?".into())
    }

    fn subnets(
        &self,
        out: &mut Vec<Change>,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        subnet_key: &str,
        v6: bool,
    ) {
        let sa = Self::all_subnets(a, subnet_key);
        let sb = Self::all_subnets(b, subnet_key);
        let net_a: BTreeMap<&str, Option<&Map<String, Value>>> =
            sa.iter().map(|(k, _, n)| (k.as_str(), *n)).collect();
        let mut inner = Vec::new();
        self.pair(
            out,
            "subnet",
            sa.iter().map(|(k, s, _)| (k.clone(), *s)),
            sb.iter().map(|(k, s, _)| (k.clone(), *s)),
            |out, k, x, y| {
                let mut inherit: Vec<&Map<String, Value>> = Vec::new();
                if let Some(Some(n)) = net_a.get(k) {
                    inherit.push(n);
                }
                inherit.push(self.global_a);
                let mut skip = vec!["subnet", "pools", "pd-pools", "option-data"];
                // An id the file leaves out is Kea's to pick.
                if self.mode == Mode::FileVsRunning && !obj(y).contains_key("id") {
                    skip.push("id");
                }
                let f = self.fields("subnet", obj(x), obj(y), &skip, &inherit);
                Self::push_changed(out, "subnet", k, f);
                inner.push((k.to_string(), x, y));
            },
        );
        for (subnet, x, y) in inner {
            self.options(out, &format!("subnet {subnet}"), obj(x), obj(y));
            let pools = |s: &'_ Value, field: &'static str| -> Vec<(String, Value)> {
                list(obj(s), field)
                    .iter()
                    .map(|p| {
                        let p = obj(p);
                        let k = if field == "pd-pools" {
                            format!(
                                "{}/{} in {subnet}",
                                p.get("prefix").and_then(Value::as_str).unwrap_or("?"),
                                p.get("prefix-len")
                                    .map(|l| l.to_string())
                                    .unwrap_or_default()
                            )
                        } else {
                            format!(
                                "{} in {subnet}",
                                canonical_pool(
                                    p.get("pool").and_then(Value::as_str).unwrap_or("?")
                                )
                            )
                        };
                        (k, Value::Object(p.clone()))
                    })
                    .collect()
            };
            let fields: &[&'static str] = if v6 {
                &["pools", "pd-pools"]
            } else {
                &["pools"]
            };
            for field in fields {
                let pa = pools(x, field);
                let pb = pools(y, field);
                let mut pool_inner = Vec::new();
                self.pair(
                    out,
                    "pool",
                    pa.iter().map(|(k, v)| (k.clone(), v)),
                    pb.iter().map(|(k, v)| (k.clone(), v)),
                    |out, k, px, py| {
                        let f = self.fields(
                            "pool",
                            obj(px),
                            obj(py),
                            &["pool", "prefix", "prefix-len", "option-data"],
                            &[],
                        );
                        Self::push_changed(out, "pool", k, f);
                        pool_inner.push((format!("pool {k}"), px.clone(), py.clone()));
                    },
                );
                for (w, px, py) in pool_inner {
                    self.options(out, &w, obj(&px), obj(&py));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comments_outside_strings_are_removed_and_lines_kept() {
        let text = "{\n  // a comment\n  \"a\": \"http://x/y\", # another\n  /* block\n  still */ \"b\": \"#not\",\n  \"c\": \"q\\\"//\"\n}\n";
        let v = parse_config_text(text, "f.conf").unwrap();
        assert_eq!(v, json!({"a": "http://x/y", "b": "#not", "c": "q\"//"}));
        let bad = "{\n  // fine\n  \"a\": 1,\n  \"b\": \n}\n";
        let e = parse_config_text(bad, "f.conf").unwrap_err();
        assert!(
            e.message.starts_with("f.conf:5:1: not valid JSON"),
            "{}",
            e.message
        );
        let inc = "{ \"Dhcp4\": <?include \"x.json\"?> }";
        assert!(
            parse_config_text(inc, "f.conf")
                .unwrap_err()
                .message
                .contains("include")
        );
    }

    #[test]
    fn drift_reports_and_snapshots_never_hold_a_secret() {
        let before = json!({"Dhcp4": {
            "lease-database": {"type": "postgresql", "user": "kea", "password": "drift-pw-1"},
            "client-classes": [{"name": "a", "user-context": {"api_token": "drift-tok-1"}}]
        }});
        let after = json!({"Dhcp4": {
            "lease-database": {"type": "postgresql", "user": "kea", "password": "drift-pw-2"},
            "client-classes": [{"name": "a", "user-context": {"api_token": "drift-tok-2"}}],
            "hosts-database": {"type": "mysql", "passwd": "drift-pw-3"}
        }});
        let lines: Vec<String> = changes(&before, &after)
            .iter()
            .chain(differences(&before, &after).iter())
            .map(|c| format!("{} {}", c.line(), c.file_line()))
            .collect();
        let text = lines.join("\n");
        for secret in [
            "drift-pw-1",
            "drift-pw-2",
            "drift-pw-3",
            "drift-tok-1",
            "drift-tok-2",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // A secret that changed is still a change.
        assert!(
            text.contains("lease-database") && text.contains("[redacted, changed]"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = save_snapshot_in(dir.path(), "lab-dhcp4", &after).unwrap();
        let saved = std::fs::read_to_string(p).unwrap();
        assert!(
            !saved.contains("drift-pw") && !saved.contains("drift-tok"),
            "{saved}"
        );
        // Comparing a redacted snapshot with the running configuration finds no change.
        let snap = load_snapshot_in(dir.path(), "lab-dhcp4").unwrap().unwrap();
        assert!(
            changes(&snap, &after).is_empty(),
            "{:?}",
            changes(&snap, &after)
        );
    }

    fn running() -> Value {
        // What Kea 2.2's config-get echoes for the lab's file (defaults filled in).
        json!({"Dhcp4": {
            "valid-lifetime": 4000, "t1-percent": 0.5, "t2-percent": 0.875,
            "calculate-tee-times": false, "option-data": [], "option-def": [],
            "client-classes": [{"name": "pxe", "test": "option[60].hex == 'PXE'", "next-server": "0.0.0.0",
                                "server-hostname": "", "boot-file-name": "", "option-data": [], "option-def": []}],
            "subnet4": [{"4o6-interface": "", "calculate-tee-times": false, "id": 1,
                "max-valid-lifetime": 4000, "min-valid-lifetime": 4000, "valid-lifetime": 4000,
                "option-data": [{"always-send": false, "code": 3, "csv-format": true, "data": "192.0.2.1",
                                 "name": "routers", "space": "dhcp4"}],
                "pools": [{"option-data": [], "pool": "192.0.2.10-192.0.2.200"}],
                "relay": {"ip-addresses": []}, "reservations": [], "subnet": "192.0.2.0/24",
                "t1-percent": 0.5, "t2-percent": 0.875}],
            "shared-networks": []
        }})
    }

    fn file() -> Value {
        json!({"Dhcp4": {
            "valid-lifetime": 4000,
            "client-classes": [{"name": "pxe", "test": "option[60].hex == 'PXE'"}],
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24",
                "pools": [{"pool": "192.0.2.10 - 192.0.2.200"}],
                "option-data": [{"name": "routers", "data": "192.0.2.1"}]}]
        }})
    }

    #[test]
    fn a_file_in_sync_with_kea_shows_no_difference_despite_the_defaults() {
        assert_eq!(differences(&running(), &file()), vec![]);
    }

    #[test]
    fn file_differences_name_the_object_and_the_field() {
        let mut f = file();
        f["Dhcp4"]["subnet4"][0]["valid-lifetime"] = json!(7200);
        f["Dhcp4"]["subnet4"][0]["pools"][0]["pool"] = json!("192.0.2.10 - 192.0.2.100");
        f["Dhcp4"]["subnet4"][0]["option-data"][0]["data"] = json!("192.0.2.254");
        f["Dhcp4"]["subnet4"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 2, "subnet": "10.9.0.0/24"}));
        f["Dhcp4"]["client-classes"] = json!([]);
        f["Dhcp4"]["option-def"] = json!([{"name": "site", "code": 224, "type": "uint16"}]);
        let lines: Vec<String> = differences(&running(), &f)
            .iter()
            .map(Change::line)
            .collect();
        let want = [
            "option def 224 in dhcp4 added",
            "class pxe removed",
            "subnet 192.0.2.0/24 changed: valid-lifetime: 4000 → 7200",
            "subnet 10.9.0.0/24 added",
            "option routers (subnet 192.0.2.0/24) changed: data: \"192.0.2.1\" → \"192.0.2.254\"",
            "pool 192.0.2.10-192.0.2.200 in 192.0.2.0/24 removed",
            "pool 192.0.2.10-192.0.2.100 in 192.0.2.0/24 added",
        ];
        for w in want {
            assert!(lines.iter().any(|l| l == w), "missing {w:?} in {lines:#?}");
        }
        assert_eq!(lines.len(), want.len(), "{lines:#?}");
    }

    #[test]
    fn a_running_value_the_file_dropped_is_a_difference_unless_inherited() {
        let mut r = running();
        r["Dhcp4"]["subnet4"][0]["valid-lifetime"] = json!(7200);
        let lines: Vec<String> = differences(&r, &file()).iter().map(Change::line).collect();
        assert_eq!(
            lines,
            vec!["subnet 192.0.2.0/24 changed: valid-lifetime: 7200 → (not set)"]
        );
        let d = &differences(&r, &file())[0];
        assert_eq!(
            d.file_line(),
            "subnet 192.0.2.0/24 differs (running → file): valid-lifetime: 7200 → (not set)"
        );
        let mut f = file();
        f["Dhcp4"]["client-classes"] = json!([]);
        let d = differences(&running(), &f);
        assert_eq!(
            d[0].file_line(),
            "class pxe: only in the running configuration"
        );
    }

    #[test]
    fn a_kea_2_file_matches_a_kea_3_server_that_reports_class_lists() {
        let mut r = running();
        r["Dhcp4"]["subnet4"][0]["client-classes"] = json!(["pxe"]);
        r["Dhcp4"]["subnet4"][0]["evaluate-additional-classes"] = json!(["pxe"]);
        r["Dhcp4"]["subnet4"][0]["pools"][0]["client-classes"] = json!(["pxe"]);
        let mut f = file();
        f["Dhcp4"]["subnet4"][0]["client-class"] = json!("pxe");
        f["Dhcp4"]["subnet4"][0]["require-client-classes"] = json!(["pxe"]);
        f["Dhcp4"]["subnet4"][0]["pools"][0]["client-class"] = json!("pxe");
        assert_eq!(differences(&r, &f), vec![]);
        f["Dhcp4"]["subnet4"][0]["pools"][0]["client-class"] = json!("other");
        let lines: Vec<String> = differences(&r, &f).iter().map(Change::line).collect();
        assert_eq!(
            lines,
            vec![
                "pool 192.0.2.10-192.0.2.200 in 192.0.2.0/24 changed: client-classes: [\"pxe\"] → [\"other\"]"
            ]
        );
    }

    #[test]
    fn running_changes_cover_settings_and_objects() {
        let a = running();
        let mut b = running();
        b["Dhcp4"]["valid-lifetime"] = json!(7200);
        b["Dhcp4"]["subnet4"][0]["valid-lifetime"] = json!(7200);
        b["Dhcp4"]["subnet4"][0]["max-valid-lifetime"] = json!(7200);
        b["Dhcp4"]["subnet4"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 2, "subnet": "10.9.0.0/24", "pools": []}));
        let lines: Vec<String> = changes(&a, &b).iter().map(Change::line).collect();
        assert_eq!(
            lines,
            vec![
                "setting valid-lifetime changed: 4000 → 7200",
                "subnet 192.0.2.0/24 changed: max-valid-lifetime: 4000 → 7200; valid-lifetime: 4000 → 7200",
                "subnet 10.9.0.0/24 added",
            ]
        );
        assert!(changes(&a, &a).is_empty());
    }

    #[test]
    fn snapshots_round_trip_in_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(load_snapshot_in(d, "lab/dhcp4").unwrap(), None);
        let p = save_snapshot_in(d, "lab/dhcp4", &json!({"a": 1})).unwrap();
        assert_eq!(p, d.join("drift").join("lab_dhcp4.json"));
        assert_eq!(
            load_snapshot_in(d, "lab/dhcp4").unwrap(),
            Some(json!({"a": 1}))
        );
    }
}
