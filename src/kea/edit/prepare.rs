//! Step 1–2 of the pipeline on one target: the edits applied to the target's own
//! configuration, locally, and the outcome validated. Pure: nothing is sent.

use serde_json::Value;

use super::Edit;
use crate::kea::config::{
    ConfigDoc, class_keys, normalize_inherited, paths, restore_protected, unified_diff, validate,
};
use crate::kea::{KeaError, KeaVersion, redact};

/// A change computed on one server's configuration.
#[derive(Debug)]
pub struct Prepared {
    /// The running configuration, inherited values left out.
    pub base: ConfigDoc,
    /// What it becomes.
    pub new: ConfigDoc,
    /// One result per edit.
    pub results: Vec<Value>,
    /// Whether the edits change anything (compared once: a large configuration is
    /// megabytes).
    changed: bool,
}

impl Prepared {
    /// Whether the edits change anything.
    pub fn changed(&self) -> bool {
        self.changed
    }
}

/// The diff people read (dry runs, plans, `tx.diff()`): secrets never show, a changed one
/// shows as `[redacted, changed]` (see [`redact::pair`]).
pub fn shown_diff(base: &ConfigDoc, new: &ConfigDoc, label: &str) -> String {
    if base.value == new.value {
        return String::new();
    }
    let (a, b) = redact::pair(&base.value, &new.value);
    let doc = |value| ConfigDoc {
        family: base.family,
        value,
        version: base.version,
    };
    unified_diff(&doc(a), &doc(b), label)
}

/// Applies `edits` locally to `live` (the configuration of a Kea `version`, as read) and
/// validates the outcome. `live` is taken, not copied: it becomes the base (its inherited
/// values left out), and the new configuration is the one copy made.
pub fn prepare(
    live: ConfigDoc,
    version: KeaVersion,
    edits: &[Edit],
    min_subnet_id: u64,
    peer: bool,
) -> Result<Prepared, KeaError> {
    // Only a whole configuration handed over (`apply`) is compared with Kea's echoes.
    let echoes = edits
        .iter()
        .any(|e| matches!(e, Edit::Apply { .. }))
        .then(|| live.clone());
    let mut base = live;
    // What Kea echoes into scopes, and so what is normalised, depends on its version.
    base.version = version;
    normalize_inherited(&mut base);
    let live = echoes.as_ref().unwrap_or(&base);
    let mut new = base.clone();
    let mut results = Vec::with_capacity(edits.len());
    for e in edits {
        results.push(e.apply_to(&mut new, live, version, min_subnet_id, peer)?);
    }
    // Whatever spelling of the class keys the script used, the server gets its own.
    class_keys::speak(&mut new, &base, version)?;
    let allowed: Vec<&str> = edits.iter().flat_map(Edit::allowed_protected).collect();
    // Hooks, sockets, loggers and paths: inherited values are never among them, so the
    // base holds them exactly as read.
    restore_protected(&mut new, &base, &allowed);
    // Kea 3's path rules: a path Kea refuses wherever it runs is refused before sending.
    paths::check(&base, &new, version)?;
    validate(&base, &new)?;
    let changed = base.value != new.value;
    Ok(Prepared {
        base,
        new,
        results,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::{Family, SubnetKey};
    use serde_json::{Map, json};

    const KEA2: KeaVersion = KeaVersion::new(2, 2, 0);
    const KEA3: KeaVersion = KeaVersion::new(3, 0, 4);

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// A running configuration as each version reports a subnet limited to `voip`.
    fn live(version: KeaVersion) -> ConfigDoc {
        let limit = if version.class_lists() {
            json!({"client-classes": ["voip"]})
        } else {
            json!({"client-class": "voip"})
        };
        let mut subnet = json!({"id": 1, "subnet": "10.0.0.0/24",
            "pools": [{"pool": "10.0.0.10-10.0.0.20"}]});
        for (k, v) in limit.as_object().unwrap() {
            subnet[k] = v.clone();
        }
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"client-classes": [{"name": "voip"}, {"name": "data"}],
                             "subnet4": [subnet]}}),
        )
        .unwrap()
    }

    fn subnet(p: &Prepared, id: u64) -> Map<String, Value> {
        let loc = p.new.find_subnet(&SubnetKey::Id(id)).unwrap();
        p.new.subnet(loc).clone()
    }

    #[test]
    fn every_input_spelling_reaches_the_server_in_its_own() {
        for version in [KEA2, KEA3] {
            let l = live(version);
            let (own, other) = if version.class_lists() {
                ("client-classes", "client-class")
            } else {
                ("client-class", "client-classes")
            };
            let want = |c: &str| {
                if version.class_lists() {
                    json!([c])
                } else {
                    json!(c)
                }
            };
            for input in [
                json!({"client-class": "data"}),
                json!({"client-classes": ["data"]}),
            ] {
                let mut s = m(json!({"subnet": "10.9.0.0/24", "pools": [
                    {"pool": "10.9.0.10-10.9.0.20", "client-class": "voip",
                     "require-client-classes": ["data"]}]}));
                for (k, v) in m(input.clone()) {
                    s.insert(k, v);
                }
                let p = prepare(l.clone(), version, &[Edit::AddSubnet(s)], 0, false).unwrap();
                let s = subnet(&p, 2);
                assert_eq!(s[own], want("data"), "{version} {input}");
                assert!(!s.contains_key(other), "{version} {input}");
                let pool = s["pools"][0].as_object().unwrap();
                assert_eq!(pool[own], want("voip"));
                let add = if version.class_lists() {
                    "evaluate-additional-classes"
                } else {
                    "require-client-classes"
                };
                assert_eq!(pool[add], json!(["data"]), "{version}");
                assert_eq!(pool.len(), 3, "{version}: {pool:?}");
            }
            // assign_class replaces, unassign_class removes, whatever the spelling.
            let p = prepare(
                l.clone(),
                version,
                &[Edit::AssignClass(SubnetKey::Id(1), None, "data".into())],
                0,
                false,
            )
            .unwrap();
            assert_eq!(subnet(&p, 1)[own], want("data"));
            let p = prepare(
                l.clone(),
                version,
                &[Edit::UnassignClass(SubnetKey::Id(1), None)],
                0,
                false,
            )
            .unwrap();
            assert!(!subnet(&p, 1).contains_key(own));
            // Unsetting either spelling in an update removes the limit.
            for key in ["client-class", "client-classes"] {
                let patch = m(json!({ key: null }));
                let p = prepare(
                    l.clone(),
                    version,
                    &[Edit::UpdateSubnet(SubnetKey::Id(1), patch)],
                    0,
                    false,
                )
                .unwrap();
                let s = subnet(&p, 1);
                assert!(
                    !s.contains_key("client-class") && !s.contains_key("client-classes"),
                    "{version} {key}: {s:?}"
                );
            }
            // A subnet read back (both spellings) and changed in one of them.
            let patch = m(json!({"client-class": "data", "client-classes": ["voip"]}));
            let p = prepare(
                l.clone(),
                version,
                &[Edit::UpdateSubnet(SubnetKey::Id(1), patch)],
                0,
                false,
            )
            .unwrap();
            assert_eq!(subnet(&p, 1)[own], want("data"), "{version}");
            // Nothing else changed: no change at all.
            let p = prepare(l.clone(), version, &[Edit::Set(m(json!({})))], 0, false).unwrap();
            assert_eq!(p.new, p.base);
        }
        // Kea 2.2 cannot hold two classes.
        let e = prepare(
            live(KEA2),
            KEA2,
            &[Edit::UpdateSubnet(
                SubnetKey::Id(1),
                m(json!({"client-classes": ["voip", "data"]})),
            )],
            0,
            false,
        )
        .err()
        .unwrap();
        assert!(e.message.contains("Kea 2.2.0"), "{}", e.message);
        let p = prepare(
            live(KEA3),
            KEA3,
            &[Edit::UpdateSubnet(
                SubnetKey::Id(1),
                m(json!({"client-classes": ["voip", "data"]})),
            )],
            0,
            false,
        )
        .unwrap();
        assert_eq!(subnet(&p, 1)["client-classes"], json!(["voip", "data"]));
    }
}
