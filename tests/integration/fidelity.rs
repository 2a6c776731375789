//! Keep what the admin wrote: ISC's own example configurations (Debian's `kea-doc`,
//! `usr/share/doc/kea/examples/kea4` and `kea6`, the examples of the Kea the lab runs), each
//! loaded into a lab, must come back from any unrelated keascript change with exactly that
//! change and nothing else — in the running configuration and in the file.
//!
//! How an example is adapted to the lab: comments are removed; the lab's own control
//! socket(s), hook libraries, lease database, loggers and (v6) data directory replace the
//! example's; `interfaces` become `[]`; what a lab cannot have is removed: host databases,
//! the configuration backend (`config-control`), DDNS (`dhcp-ddns`), DHCPv4-over-DHCPv6
//! ports, `server-id` files, and the `interface` of subnets and shared networks. An example
//! Kea refuses even so is listed with Kea's reason.
//!
//! Changes tried on each: a setting, a new subnet, a new class, a global option, and
//! `apply()` of the configuration just read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::support::{keascript, lab, script};

/// One command over the daemon's socket; `None` when the daemon does not answer (it died).
fn try_call(socket: &Path, command: &str, args: Option<&Value>) -> Option<Value> {
    let mut body = json!({ "command": command });
    if let Some(a) = args {
        body["arguments"] = a.clone();
    }
    crate::support::kea_raw(socket, &body)
}

fn call(socket: &Path, command: &str, args: Option<&Value>) -> Value {
    try_call(socket, command, args).expect("the daemon answers")
}

fn running(socket: &Path) -> Value {
    let mut v = call(socket, "config-get", None)["arguments"].clone();
    v.as_object_mut().unwrap().remove("hash");
    v
}

/// The examples folder of the Kea the lab runs (the system's, or a Kea 3.0 root's).
fn examples_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("KEASCRIPT_KEA_BIN_DIR") {
        // ROOT/keascript-bin → ROOT/usr/share/doc/kea/examples
        Some(bin) => Path::new(&bin).parent()?.join("usr/share/doc/kea/examples"),
        None => PathBuf::from("/usr/share/doc/kea/examples"),
    };
    base.is_dir().then_some(base)
}

/// Puts the lab's own plumbing into an example; `None` when it uses `<?include`.
fn adapt(text: &str, lab_cfg: &Value, root: &str) -> Option<Value> {
    if text.contains("<?include") {
        return None;
    }
    let clean = keascript::kea::drift::strip_comments(text);
    // Kea reads numbers written as `.5`.
    let clean = regex_lite_fix(&clean);
    let mut v: Value = keascript::transport::wire::parse(clean.as_bytes()).ok()?;
    let ex = v.get_mut(root)?.as_object_mut()?;
    let lab: &Map<String, Value> = lab_cfg[root].as_object().unwrap();
    for k in [
        "hosts-database",
        "hosts-databases",
        "config-control",
        "dhcp-ddns",
        "dhcp4o6-port",
        "server-id",
        "control-socket",
        "control-sockets",
        "hooks-libraries",
        "lease-database",
        "loggers",
        "data-directory",
    ] {
        ex.remove(k);
    }
    for k in [
        "control-socket",
        "control-sockets",
        "hooks-libraries",
        "lease-database",
        "loggers",
        "data-directory",
    ] {
        if let Some(val) = lab.get(k) {
            ex.insert(k.into(), val.clone());
        }
    }
    ex.insert("interfaces-config".into(), json!({ "interfaces": [] }));
    // Interfaces named by subnets and shared networks do not exist in a lab.
    let subnet_key = if root == "Dhcp6" {
        "subnet6"
    } else {
        "subnet4"
    };
    let unbind = |subs: Option<&mut Value>| {
        for sc in subs.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(m) = sc.as_object_mut() {
                m.remove("interface");
            }
        }
    };
    for n in ex
        .get_mut("shared-networks")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(m) = n.as_object_mut() {
            m.remove("interface");
            unbind(m.get_mut(subnet_key));
        }
    }
    unbind(ex.get_mut(subnet_key));
    Some(json!({ root: Value::Object(ex.clone()) }))
}

/// `: .5` → `: 0.5` (outside strings is good enough for ISC's examples).
fn regex_lite_fix(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b: Vec<char> = text.chars().collect();
    for (i, c) in b.iter().enumerate() {
        if *c == '.'
            && b.get(i + 1).is_some_and(char::is_ascii_digit)
            && b[..i]
                .iter()
                .rev()
                .find(|c| !c.is_whitespace())
                .is_some_and(|p| *p == ':' || *p == '[' || *p == ',')
        {
            out.push('0');
        }
        out.push(*c);
    }
    out
}

/// `after` equals `before` apart from `expected` (JSON pointers into the root map and the
/// value each must have now; `Value::Null` = removed).
fn only_changed(before: &Value, after: &Value, root: &str, what: &str) -> Result<(), String> {
    if before == after {
        return Ok(());
    }
    // Find the first difference for the message.
    fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x
                    .keys()
                    .chain(y.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => diff(p, q, &format!("{path}.{k}"), out),
                        (Some(p), None) => out.push(format!("{path}.{k} removed (was {p})")),
                        (None, Some(q)) => out.push(format!("{path}.{k} added: {q}")),
                        _ => {}
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    diff(p, q, &format!("{path}[{i}]"), out);
                }
            }
            (p, q) if p != q => out.push(format!(
                "{path}: {} -> {}",
                short(&p.to_string()),
                short(&q.to_string())
            )),
            _ => {}
        }
    }
    fn short(s: &str) -> String {
        s.chars().take(200).collect()
    }
    let mut out = Vec::new();
    diff(&before[root], &after[root], root, &mut out);
    Err(format!("{what}: {}", out.join("; ")))
}

struct Case {
    name: &'static str,
    /// `SVC` is the service; `PREFIX` a subnet the examples do not use.
    script: &'static str,
    /// Takes the change back out of the configuration after it (given the one before), so
    /// that what is left must equal the configuration before exactly.
    undo: fn(&mut Map<String, Value>, &Map<String, Value>, &str),
}

fn remove_where(list: Option<&mut Value>, key: &str, value: &str) {
    if let Some(a) = list.and_then(Value::as_array_mut) {
        a.retain(|e| e.get(key).and_then(Value::as_str) != Some(value));
    }
}

const CASES: &[Case] = &[
    Case {
        name: "a setting",
        script: "kea().SVC.set(#{ decline_probation_period: 12345 });",
        undo: |after, before, _| match before.get("decline-probation-period") {
            Some(v) => {
                after.insert("decline-probation-period".into(), v.clone());
            }
            None => {
                after.remove("decline-probation-period");
            }
        },
    },
    Case {
        name: "a new subnet",
        script: "kea().SVC.add_subnet(#{ subnet: \"PREFIX\" });",
        undo: |after, _, prefix| {
            for k in ["subnet4", "subnet6"] {
                remove_where(after.get_mut(k), "subnet", prefix);
            }
        },
    },
    Case {
        name: "a new class",
        script: "kea().SVC.add_class(#{ name: \"keascript-fidelity\" });",
        undo: |after, before, _| {
            remove_where(
                after.get_mut("client-classes"),
                "name",
                "keascript-fidelity",
            );
            if !before.contains_key("client-classes")
                && after
                    .get("client-classes")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
            {
                after.remove("client-classes");
            }
        },
    },
    Case {
        name: "a global option",
        script: "kea().SVC.set_option(\"OPTION\", \"keascript-fidelity\");",
        undo: |after, before, _| {
            if let Some(a) = after.get_mut("option-data").and_then(Value::as_array_mut) {
                a.retain(|o| o.get("data").and_then(Value::as_str) != Some("keascript-fidelity"));
            }
            if !before.contains_key("option-data")
                && after
                    .get("option-data")
                    .and_then(Value::as_array)
                    .is_some_and(Vec::is_empty)
            {
                after.remove("option-data");
            }
        },
    },
    Case {
        name: "apply() of the configuration just read",
        script: "let c = kea().SVC.config(); kea().SVC.apply(c);",
        undo: |_, _, _| {},
    },
];

#[test]
fn isc_examples_survive_unrelated_changes() {
    let Some(mut lab) = lab() else { return };
    let Some(dir) = examples_dir() else {
        eprintln!("skipping: no kea-doc examples for this Kea (apt-get install kea-doc)");
        if std::env::var_os("CI").is_some() {
            panic!("CI needs the kea-doc examples");
        }
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut loaded = 0;
    for (sub, svc, root) in [("kea4", "dhcp4", "Dhcp4"), ("kea6", "dhcp6", "Dhcp6")] {
        let socket = lab.socket(svc);
        let lab_cfg = running(&socket);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let name = format!("{sub}/{}", f.file_stem().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&f).unwrap();
            let Some(cfg) = adapt(&text, &lab_cfg, root) else {
                report.push(format!("{name}: cannot load: not JSON, or uses <?include"));
                continue;
            };
            for case in CASES {
                // Load the example as the admin's running configuration and file.
                let Some(set) = try_call(&socket, "config-set", Some(&cfg)) else {
                    // Kea itself died on this example: start it again from its file.
                    report.push(format!(
                        "{name}: cannot load in a lab: Kea {} stopped on config-set of it",
                        lab.version
                    ));
                    crate::support::rt()
                        .block_on(lab.restart(&format!("kea-{svc}")))
                        .expect("Kea starts again");
                    break;
                };
                if set["result"] != 0 {
                    report.push(format!(
                        "{name}: cannot load in a lab: {}",
                        set["text"].as_str().unwrap_or("?")
                    ));
                    break;
                }
                if try_call(&socket, "config-write", None).is_none_or(|w| w["result"] != 0) {
                    report.push(format!(
                        "{name}: cannot load in a lab: Kea {} stopped on config-write of it",
                        lab.version
                    ));
                    crate::support::rt()
                        .block_on(lab.restart(&format!("kea-{svc}")))
                        .expect("Kea starts again");
                    break;
                }
                let before = running(&socket);
                let (prefix, option) = if svc == "dhcp6" {
                    ("fd00:feed:feed::/64", "new-posix-timezone")
                } else {
                    ("198.18.254.0/24", "merit-dump")
                };
                // An example that already sets the option: that case does not apply.
                if case.name == "a global option"
                    && before[root]["option-data"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|o| o["name"] == option))
                {
                    continue;
                }
                let s = script(
                    tmp.path(),
                    "change.rhai",
                    &case
                        .script
                        .replace("SVC", svc)
                        .replace("PREFIX", prefix)
                        .replace("OPTION", option),
                );
                let out = keascript()
                    .arg("--config")
                    .arg(lab.inventory())
                    .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
                    .args(["run", "--server", "lab-unix"])
                    .arg(&s)
                    .timeout(Duration::from_secs(120))
                    .output()
                    .unwrap();
                if !out.status.success() {
                    failures.push(format!(
                        "{name}, {}: keascript failed: {}",
                        case.name,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                    continue;
                }
                let after = running(&socket);
                let mut rest = after.clone();
                (case.undo)(
                    rest[root].as_object_mut().unwrap(),
                    before[root].as_object().unwrap(),
                    prefix,
                );
                if let Err(e) =
                    only_changed(&before, &rest, root, &format!("{name}, {}", case.name))
                {
                    failures.push(e);
                }
                let file: Value = keascript::kea::drift::read_config_file(&lab.config_file(svc))
                    .expect("the file parses");
                if let Err(e) = only_changed(
                    &after,
                    &file,
                    root,
                    &format!("{name}, {} (file)", case.name),
                ) {
                    failures.push(e);
                }
            }
            loaded += 1;
        }
        // Put the lab's own configuration back for the other family's daemon tests.
        call(&socket, "config-set", Some(&lab_cfg));
    }
    eprintln!("examples loaded: {loaded}\n{}", report.join("\n"));
    assert!(
        loaded >= 10,
        "only {loaded} examples loaded:\n{}",
        report.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
