//! Kea 3's path rules (the 2025 hardening of 3.0, also in 2.6.3; [`KeaVersion::path_rules`]):
//! hook libraries, UNIX control sockets, memfile lease files and logger output files must lie
//! in the daemon's own folders, which its environment may move (`KEA_HOOKS_PATH`,
//! `KEA_CONTROL_SOCKET_DIR`, `KEA_DHCP_DATA_DIR`, `KEA_LOG_FILE_DIR`).
//!
//! A remote client cannot see the daemon's environment, so keascript refuses locally only a
//! path outside both Kea's default folder and every folder the running configuration
//! already uses for the same rule: such a path is refused by Kea however it was started.
//! Anything else is Kea's to judge (`config-test`, quoted by the pipeline).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::ConfigDoc;
use crate::kea::{KeaError, KeaVersion};

/// One of Kea's path rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    /// What it is about, in the plural (`hook libraries`).
    pub what: &'static str,
    /// Kea's compiled-in folder on Debian.
    pub default: &'static str,
    /// The environment variable that moves it.
    pub env: &'static str,
}

pub const HOOKS: Rule = Rule {
    what: "hook libraries",
    default: "/usr/lib/x86_64-linux-gnu/kea/hooks",
    env: "KEA_HOOKS_PATH",
};
pub const SOCKETS: Rule = Rule {
    what: "UNIX control sockets",
    default: "/run/kea",
    env: "KEA_CONTROL_SOCKET_DIR",
};
pub const LEASES: Rule = Rule {
    what: "lease files",
    default: "/var/lib/kea",
    env: "KEA_DHCP_DATA_DIR",
};
pub const LOGS: Rule = Rule {
    what: "log files",
    default: "/var/log/kea",
    env: "KEA_LOG_FILE_DIR",
};

/// A path a configuration names, with the rule it falls under and where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Named {
    pub rule: Rule,
    /// Where in the configuration, as a script writes it (`hooks_libraries[0].library`).
    pub at: String,
    pub path: String,
}

/// Logger outputs that are not files.
fn is_file_output(o: &str) -> bool {
    !(o.is_empty() || o == "stdout" || o == "stderr" || o == "syslog" || o.starts_with("syslog:"))
}

fn maps(v: Option<&Value>) -> Vec<&serde_json::Map<String, Value>> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect()
}

/// Every path of `doc` one of the rules applies to.
pub fn named_paths(doc: &ConfigDoc) -> Vec<Named> {
    let root = doc.root();
    let mut out = Vec::new();
    let mut push = |rule: Rule, at: String, v: Option<&Value>| {
        if let Some(p) = v.and_then(Value::as_str).filter(|p| !p.is_empty()) {
            out.push(Named {
                rule,
                at,
                path: p.to_string(),
            });
        }
    };
    for (i, h) in maps(root.get("hooks-libraries")).into_iter().enumerate() {
        push(
            HOOKS,
            format!("hooks_libraries[{i}].library"),
            h.get("library"),
        );
    }
    let unix = |m: &serde_json::Map<String, Value>| {
        m.get("socket-type")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "unix")
    };
    if let Some(cs) = root.get("control-socket").and_then(Value::as_object)
        && unix(cs)
    {
        push(
            SOCKETS,
            "control_socket.socket_name".into(),
            cs.get("socket-name"),
        );
    }
    for (i, cs) in maps(root.get("control-sockets")).into_iter().enumerate() {
        if unix(cs) {
            push(
                SOCKETS,
                format!("control_sockets[{i}].socket_name"),
                cs.get("socket-name"),
            );
        }
    }
    if let Some(db) = root.get("lease-database").and_then(Value::as_object)
        && db.get("type").and_then(Value::as_str) == Some("memfile")
    {
        push(LEASES, "lease_database.name".into(), db.get("name"));
    }
    for (i, l) in maps(root.get("loggers")).into_iter().enumerate() {
        for key in ["output-options", "output_options"] {
            for (j, o) in maps(l.get(key)).into_iter().enumerate() {
                if o.get("output")
                    .and_then(Value::as_str)
                    .is_some_and(is_file_output)
                {
                    push(
                        LOGS,
                        format!("loggers[{i}].output_options[{j}].output"),
                        o.get("output"),
                    );
                }
            }
        }
    }
    out
}

/// A path without `.`, repeated or trailing slashes (what Kea compares; `..` is kept).
fn lexical(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The folder a path names, `None` for a bare file name (Kea puts it in its own folder).
pub fn folder_of(path: &str) -> Option<PathBuf> {
    if !path.contains('/') {
        return None;
    }
    Some(
        Path::new(path)
            .parent()
            .map(lexical)
            .unwrap_or_else(|| PathBuf::from("/")),
    )
}

/// Refuses a path of `new` that Kea `version` refuses wherever it runs: one outside both
/// Kea's default folder for its rule and every folder `live` (the running configuration)
/// uses for the same rule. Kea < 2.6.3 has no path rules.
pub fn check(live: &ConfigDoc, new: &ConfigDoc, version: KeaVersion) -> Result<(), KeaError> {
    if !version.path_rules() {
        return Ok(());
    }
    let in_use: BTreeSet<(Rule, PathBuf)> = named_paths(live)
        .into_iter()
        .filter_map(|n| folder_of(&n.path).map(|f| (n.rule, f)))
        .collect();
    for n in named_paths(new) {
        let Some(folder) = folder_of(&n.path) else {
            continue;
        };
        if folder == Path::new(n.rule.default) || in_use.contains(&(n.rule, folder.clone())) {
            continue;
        }
        let used: Vec<String> = in_use
            .iter()
            .filter(|(r, f)| *r == n.rule && f != Path::new(n.rule.default))
            .map(|(_, f)| format!("{} (used by the running configuration)", f.display()))
            .collect();
        let mut allowed = vec![format!("{} (Kea's default)", n.rule.default)];
        allowed.extend(used);
        return Err(KeaError::invalid(format!(
            "{}: {:?} is in {}, and Kea {version} accepts {} only from its own folder ({} when the daemon was started with it): {}. Nothing was sent",
            n.at,
            n.path,
            folder.display(),
            n.rule.what,
            n.rule.env,
            allowed.join(" or ")
        )));
    }
    Ok(())
}

/// True when `new` names other paths under the rules than `base`.
pub fn paths_changed(base: &ConfigDoc, new: &ConfigDoc) -> bool {
    let set = |d: &ConfigDoc| -> BTreeSet<(Rule, String)> {
        named_paths(d)
            .into_iter()
            .map(|n| (n.rule, n.path))
            .collect()
    };
    set(base) != set(new)
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::*;
    use crate::kea::ErrorKind;
    use serde_json::json;

    const KEA2: KeaVersion = KeaVersion::new(2, 2, 0);
    const KEA3: KeaVersion = KeaVersion::new(3, 0, 4);

    fn doc(v: Value) -> ConfigDoc {
        ConfigDoc::new(Family::V4, json!({ "Dhcp4": v })).unwrap()
    }

    fn live() -> ConfigDoc {
        doc(json!({
            "hooks-libraries": [{"library": "/opt/kea3/hooks/libdhcp_lease_cmds.so"}],
            "control-sockets": [
                {"socket-type": "unix", "socket-name": "/tmp/lab/kea4.sock"},
                {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8000}],
            "lease-database": {"type": "memfile", "name": "/tmp/lab/kea-leases4.csv"},
            "loggers": [{"name": "kea-dhcp4", "output-options": [
                {"output": "/tmp/lab/kea-dhcp4.log"}, {"output": "stdout"}]}]
        }))
    }

    #[test]
    fn every_rule_finds_its_paths() {
        let n = named_paths(&live());
        let found: Vec<(&str, &str)> = n.iter().map(|n| (n.rule.env, n.path.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("KEA_HOOKS_PATH", "/opt/kea3/hooks/libdhcp_lease_cmds.so"),
                ("KEA_CONTROL_SOCKET_DIR", "/tmp/lab/kea4.sock"),
                ("KEA_DHCP_DATA_DIR", "/tmp/lab/kea-leases4.csv"),
                ("KEA_LOG_FILE_DIR", "/tmp/lab/kea-dhcp4.log"),
            ]
        );
        assert_eq!(n[1].at, "control_sockets[0].socket_name");
    }

    #[test]
    fn only_paths_outside_the_default_and_the_running_folders_are_refused() {
        let l = live();
        let with = |key: &str, v: Value| {
            let mut d = l.clone();
            d.root_mut().insert(key.into(), v);
            d
        };
        // The running configuration's own paths, other files in its folders, Kea's default
        // folders, bare names: Kea's to judge.
        for ok in [
            l.clone(),
            with(
                "hooks-libraries",
                json!([{"library": "/opt/kea3/hooks/libdhcp_stat_cmds.so"},
                       {"library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so"},
                       {"library": "libdhcp_bootp.so"}]),
            ),
            with(
                "control-socket",
                json!({"socket-type": "unix", "socket-name": "/run/kea/kea4.sock"}),
            ),
            with(
                "loggers",
                json!([{"name": "kea-dhcp4", "output-options": [{"output": "/var/log/kea/x.log"}]}]),
            ),
            with(
                "lease-database",
                json!({"type": "memfile", "name": "/tmp/lab/./other.csv"}),
            ),
        ] {
            check(&l, &ok, KEA3).unwrap();
        }
        for (key, v, at, rule) in [
            (
                "hooks-libraries",
                json!([{"library": "/tmp/evil/libdhcp_x.so"}]),
                "hooks_libraries[0].library",
                "KEA_HOOKS_PATH",
            ),
            (
                "control-sockets",
                json!([{"socket-type": "unix", "socket-name": "/tmp/elsewhere.sock"}]),
                "control_sockets[0].socket_name",
                "KEA_CONTROL_SOCKET_DIR",
            ),
            (
                "lease-database",
                json!({"type": "memfile", "name": "/srv/leases.csv"}),
                "lease_database.name",
                "KEA_DHCP_DATA_DIR",
            ),
            (
                "loggers",
                json!([{"name": "kea-dhcp4", "output_options": [{"output": "/tmp/x/kea.log"}]}]),
                "loggers[0].output_options[0].output",
                "KEA_LOG_FILE_DIR",
            ),
        ] {
            let e = check(&l, &with(key, v.clone()), KEA3).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert!(e.message.starts_with(at), "{}", e.message);
            assert!(e.message.contains(rule), "{}", e.message);
            assert!(e.message.contains("Kea 3.0.4"), "{}", e.message);
            assert!(e.message.contains("(Kea's default)"), "{}", e.message);
            assert!(
                e.message
                    .contains("/tmp/lab (used by the running configuration)")
                    || key == "hooks-libraries",
                "{}",
                e.message
            );
            // Kea 2.2 has no such rules.
            check(&l, &with(key, v), KEA2).unwrap();
        }
        let e = check(
            &l,
            &with("hooks-libraries", json!([{"library": "/tmp/evil/x.so"}])),
            KEA3,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("/usr/lib/x86_64-linux-gnu/kea/hooks (Kea's default) or /opt/kea3/hooks (used by the running configuration)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn changed_paths_are_seen() {
        let l = live();
        assert!(!paths_changed(&l, &l));
        let mut d = l.clone();
        d.root_mut()["loggers"][0]["output-options"][0]["output"] = json!("/var/log/kea/x.log");
        assert!(paths_changed(&l, &d));
        assert_eq!(folder_of("kea4.sock"), None);
        assert_eq!(
            folder_of("/run/kea//x.sock"),
            Some(PathBuf::from("/run/kea"))
        );
        assert_eq!(folder_of("/x.sock"), Some(PathBuf::from("/")));
    }
}
