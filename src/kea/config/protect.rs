//! The parts of a configuration that an edit must never change by accident: hook
//! libraries, control sockets, loggers and every file path. A `config-set` without them
//! silently unloads hooks or deletes the control socket (`reference/kea-lab.md` §1).

use super::ConfigDoc;

/// Top-level keys kept exactly as the server runs them.
pub const PROTECTED: &[&str] = &[
    "hooks-libraries",
    "control-socket",
    "control-sockets",
    "loggers",
    "lease-database",
    "hosts-database",
    "hosts-databases",
    "data-directory",
    "config-control",
];

/// The protected keys whose value differs between `live` and `new` (a key missing from
/// `new` is not a change: it is kept as it is).
pub fn protected_changes(live: &ConfigDoc, new: &ConfigDoc) -> Vec<&'static str> {
    PROTECTED
        .iter()
        .copied()
        .filter(|k| match new.root().get(*k) {
            None => false,
            Some(v) => live.root().get(*k) != Some(v),
        })
        .collect()
}

/// Puts the live value of every protected key back into `new`, except `except`.
pub fn restore_protected(new: &mut ConfigDoc, live: &ConfigDoc, except: &[&str]) {
    for k in PROTECTED {
        if except.contains(k) {
            continue;
        }
        match live.root().get(*k) {
            Some(v) => {
                new.root_mut().insert((*k).to_string(), v.clone());
            }
            None => {
                new.root_mut().remove(*k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_keys_are_kept_changed_ones_reported() {
        let live = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"hooks-libraries": [{"library": "/a.so"}],
                             "control-socket": {"socket-name": "/run/k.sock", "socket-type": "unix"}}}),
        )
        .unwrap();
        let mut new = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"control-socket": {"socket-name": "/tmp/evil", "socket-type": "unix"}}}),
        )
        .unwrap();
        assert_eq!(protected_changes(&live, &new), vec!["control-socket"]);
        restore_protected(&mut new, &live, &[]);
        assert_eq!(new.root()["hooks-libraries"][0]["library"], "/a.so");
        assert_eq!(new.root()["control-socket"]["socket-name"], "/run/k.sock");
        assert_eq!(live.root()["control-socket"], new.root()["control-socket"]);
    }
}
