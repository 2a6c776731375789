//! How each Kea generation spells the class keys of subnets, shared networks, pools and PD
//! pools, and of class definitions (one place for the rule; [`KeaVersion::class_lists`]):
//!
//! | Kea < 2.7.4                          | Kea ≥ 2.7.4                                  |
//! |--------------------------------------|----------------------------------------------|
//! | `client-class` (one class name)      | `client-classes` (a list)                    |
//! | `require-client-classes`             | `evaluate-additional-classes`                |
//! | class flag `only-if-required`        | class flag `only-in-additional-list`         |
//!
//! Kea 3.0 still reads the old keys (with a deprecation warning) but always reports the new
//! ones, so a tool that reads only `client-class` misses every class limit; Kea 2.2 knows
//! only the old keys (`spurious 'client-classes' parameter`). keascript reads both
//! everywhere and writes the spelling of the server it talks to.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ConfigDoc;
use crate::kea::{KeaError, KeaVersion};

/// A pair of keys that mean the same thing in the two generations.
#[derive(Debug, Clone, Copy)]
struct Pair {
    /// Kea < 2.7.4.
    old: &'static str,
    /// Kea ≥ 2.7.4.
    new: &'static str,
    /// The old key holds one class name, the new one a list of them.
    single_old: bool,
}

/// The classes a subnet, shared network, pool or PD pool is limited to.
const LIMIT: Pair = Pair {
    old: "client-class",
    new: "client-classes",
    single_old: true,
};

/// The classes it evaluates after the others.
const ADDITIONAL: Pair = Pair {
    old: "require-client-classes",
    new: "evaluate-additional-classes",
    single_old: false,
};

/// A class evaluated only when a subnet or pool names it as additional.
const ONLY_ADDITIONAL: Pair = Pair {
    old: "only-if-required",
    new: "only-in-additional-list",
    single_old: false,
};

fn snake(k: &str) -> String {
    k.replace('-', "_")
}

/// A value as both generations mean it: the class list (or the flag).
fn canonical(pair: Pair, v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if pair.single_old => Some(Value::Array(if s.is_empty() {
            Vec::new()
        } else {
            vec![Value::String(s.clone())]
        })),
        Value::Array(a) if a.iter().all(Value::is_string) => Some(v.clone()),
        Value::Bool(_) if pair.new == ONLY_ADDITIONAL.new => Some(v.clone()),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn list_of(pair: Pair, m: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for k in [pair.old, pair.new] {
        if let Some(v) = m.get(k).and_then(|v| canonical(pair, v)) {
            for c in strings(&v) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// The classes a subnet, shared network, pool or PD pool is limited to, in either spelling.
pub fn limit_classes(m: &Map<String, Value>) -> Vec<String> {
    list_of(LIMIT, m)
}

/// The additional classes a subnet, shared network, pool or PD pool evaluates
/// (`require-client-classes` or `evaluate-additional-classes`).
pub fn additional_classes(m: &Map<String, Value>) -> Vec<String> {
    list_of(ADDITIONAL, m)
}

/// True when a class definition says it is evaluated only as an additional class.
pub fn only_additional(m: &Map<String, Value>) -> bool {
    [ONLY_ADDITIONAL.old, ONLY_ADDITIONAL.new]
        .iter()
        .any(|k| m.get(*k).and_then(Value::as_bool).unwrap_or(false))
}

/// Limits a subnet or pool to `classes` in the server's spelling (none: no limit).
pub fn set_limit(
    m: &mut Map<String, Value>,
    classes: &[String],
    version: KeaVersion,
    what: &str,
) -> Result<(), KeaError> {
    let list = Value::Array(classes.iter().cloned().map(Value::String).collect());
    write(m, LIMIT, Some(list), version, what)
}

/// Writes `value` (canonical: a list, or the flag) under the server's key of `pair`;
/// `None` or an empty list removes both keys.
fn write(
    m: &mut Map<String, Value>,
    pair: Pair,
    value: Option<Value>,
    version: KeaVersion,
    what: &str,
) -> Result<(), KeaError> {
    m.remove(pair.old);
    m.remove(pair.new);
    let Some(v) = value else {
        return Ok(());
    };
    if v.as_array().is_some_and(Vec::is_empty) {
        return Ok(());
    }
    if version.class_lists() {
        m.insert(pair.new.into(), v);
        return Ok(());
    }
    if !pair.single_old {
        m.insert(pair.old.into(), v);
        return Ok(());
    }
    match strings(&v).as_slice() {
        [one] => {
            m.insert(pair.old.into(), Value::String(one.clone()));
            Ok(())
        }
        many => Err(KeaError::invalid(format!(
            "{what}: Kea {version} limits a subnet or pool to one class ({}), not {many:?}; a list of classes ({}) needs Kea 2.7.4 or later",
            snake(pair.old),
            snake(pair.new)
        ))),
    }
}

/// What one key of a pair says.
enum Given {
    Absent,
    Null,
    Value(Value),
    /// A value of the wrong JSON type: left for the schema check to name.
    Bad,
}

fn given(pair: Pair, m: &Map<String, Value>, key: &str) -> Given {
    match m.get(key) {
        None => Given::Absent,
        Some(Value::Null) => Given::Null,
        Some(v) => canonical(pair, v).map_or(Given::Bad, Given::Value),
    }
}

/// Rewrites one pair of keys of one object into the server's spelling. `before` is the same
/// object in the running configuration: when a map read from keascript (which carries both
/// spellings) comes back with the two disagreeing, the one the script changed wins.
fn settle(
    m: &mut Map<String, Value>,
    pair: Pair,
    before: &dyn Fn() -> Option<Map<String, Value>>,
    version: KeaVersion,
    what: &str,
) -> Result<(), KeaError> {
    let (own, other) = if version.class_lists() {
        (pair.new, pair.old)
    } else {
        (pair.old, pair.new)
    };
    let (o, n) = (given(pair, m, pair.old), given(pair, m, pair.new));
    // Already in the server's spelling (or nothing to do): left exactly as it is.
    if !m.contains_key(other) {
        if matches!(m.get(own), Some(Value::Null)) {
            m.remove(own);
        }
        return Ok(());
    }
    let value = match (o, n) {
        (Given::Bad, _) | (_, Given::Bad) => return Ok(()),
        (Given::Value(v), Given::Absent | Given::Null)
        | (Given::Absent | Given::Null, Given::Value(v)) => Some(v),
        (Given::Value(a), Given::Value(b)) if a == b => Some(a),
        (Given::Value(a), Given::Value(b)) => {
            let was = before().and_then(|bm| {
                [pair.new, pair.old]
                    .iter()
                    .find_map(|k| bm.get(*k).and_then(|v| canonical(pair, v)))
                    .or_else(|| Some(Value::Array(Vec::new())))
            });
            let empty = |v: &Value| v.as_array().is_some_and(Vec::is_empty);
            match was {
                Some(w) if w == a || (empty(&w) && empty(&a)) => Some(b),
                Some(w) if w == b || (empty(&w) && empty(&b)) => Some(a),
                _ => {
                    return Err(KeaError::invalid(format!(
                        "{what}: {} {} and {} {} disagree; set one of them ({} is the spelling of Kea 2.7.4 and later)",
                        snake(pair.old),
                        m[pair.old],
                        snake(pair.new),
                        m[pair.new],
                        snake(pair.new)
                    )));
                }
            }
        }
        _ => None,
    };
    write(m, pair, value, version, what)
}

/// Settles the limit and additional-class pairs of a subnet, shared network, pool or PD pool.
fn settle_scope(
    m: &mut Map<String, Value>,
    before: &dyn Fn() -> Option<Map<String, Value>>,
    version: KeaVersion,
    what: &str,
) -> Result<(), KeaError> {
    settle(m, LIMIT, before, version, what)?;
    settle(m, ADDITIONAL, before, version, what)
}

fn find_by<'a>(list: Option<&'a Value>, key: &str, want: &Value) -> Option<&'a Map<String, Value>> {
    list.and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_object)
        .find(|o| o.get(key) == Some(want))
}

fn text(m: &Map<String, Value>, key: &str) -> String {
    m.get(key)
        .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
        .unwrap_or_else(|| "?".into())
}

/// Rewrites every class key of `new` into the spelling of Kea `version`: subnets, shared
/// networks, pools, PD pools, and the class definitions' flag. Objects already in the
/// server's spelling are left exactly as they are (what Kea reported stays untouched).
/// `base` is the running configuration the change was made on.
pub fn speak(new: &mut ConfigDoc, base: &ConfigDoc, version: KeaVersion) -> Result<(), KeaError> {
    let family = new.family;
    let sk = family.subnet_key();
    let base_root = base.root();
    // Subnets by id in the running configuration, top level or in a shared network: one
    // index, so a 10,000-subnet configuration is settled in one pass, not 10,000 searches.
    let mut by_id: std::collections::HashMap<u64, &Map<String, Value>> =
        std::collections::HashMap::new();
    let nets = base_root.get("shared-networks").and_then(Value::as_array);
    let lists =
        std::iter::once(base_root.get(sk)).chain(nets.into_iter().flatten().map(|n| n.get(sk)));
    for s in lists
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_object)
    {
        if let Some(id) = s.get("id").and_then(Value::as_u64) {
            by_id.entry(id).or_insert(s);
        }
    }
    let base_subnet = |id: &Value| -> Option<&Map<String, Value>> {
        id.as_u64().and_then(|i| by_id.get(&i).copied())
    };
    if let Some(nets) = new
        .root_mut()
        .get_mut("shared-networks")
        .and_then(Value::as_array_mut)
    {
        for n in nets.iter_mut().filter_map(Value::as_object_mut) {
            let name = n.get("name").cloned().unwrap_or(Value::Null);
            let what = format!("shared network {}", text(n, "name"));
            let before = || find_by(base_root.get("shared-networks"), "name", &name).cloned();
            settle_scope(n, &before, version, &what)?;
        }
    }
    if let Some(list) = new.root_mut().get_mut(sk) {
        settle_subnets(list, &base_subnet, version)?;
    }
    if let Some(nets) = new
        .root_mut()
        .get_mut("shared-networks")
        .and_then(Value::as_array_mut)
    {
        for n in nets.iter_mut() {
            if let Some(list) = n.get_mut(sk) {
                settle_subnets(list, &base_subnet, version)?;
            }
        }
    }
    if let Some(classes) = new
        .root_mut()
        .get_mut("client-classes")
        .and_then(Value::as_array_mut)
    {
        for c in classes.iter_mut().filter_map(Value::as_object_mut) {
            let name = c.get("name").cloned().unwrap_or(Value::Null);
            let what = format!("client class \"{}\"", text(c, "name"));
            let before = || find_by(base_root.get("client-classes"), "name", &name).cloned();
            settle(c, ONLY_ADDITIONAL, &before, version, &what)?;
        }
    }
    Ok(())
}

fn settle_subnets<'b>(
    list: &mut Value,
    base_subnet: &dyn Fn(&Value) -> Option<&'b Map<String, Value>>,
    version: KeaVersion,
) -> Result<(), KeaError> {
    let Some(list) = list.as_array_mut() else {
        return Ok(());
    };
    for s in list.iter_mut().filter_map(Value::as_object_mut) {
        let id = s.get("id").cloned().unwrap_or(Value::Null);
        let label = format!("subnet {}", text(s, "subnet"));
        let before_subnet = base_subnet(&id);
        settle_scope(s, &|| before_subnet.cloned(), version, &label)?;
        for (field, key) in [("pools", "pool"), ("pd-pools", "prefix")] {
            let Some(pools) = s.get_mut(field).and_then(Value::as_array_mut) else {
                continue;
            };
            for p in pools.iter_mut().filter_map(Value::as_object_mut) {
                let id = p.get(key).cloned().unwrap_or(Value::Null);
                let what = format!("{} {} of {label}", &field[..field.len() - 1], text(p, key));
                let before =
                    || before_subnet.and_then(|b| find_by(b.get(field), key, &id).cloned());
                settle_scope(p, &before, version, &what)?;
            }
        }
    }
    Ok(())
}

/// In an update patch, unsetting one spelling (`client_class: ()`) unsets the other too:
/// the running subnet may hold the class under either key.
pub fn unset_both_spellings(patch: &mut Map<String, Value>) {
    for pair in [LIMIT, ADDITIONAL, ONLY_ADDITIONAL] {
        for (a, b) in [(pair.old, pair.new), (pair.new, pair.old)] {
            if matches!(patch.get(a), Some(Value::Null)) && !patch.contains_key(b) {
                patch.insert(b.into(), Value::Null);
            }
        }
    }
}

/// A copy of a subnet, shared network, pool, PD pool or class in one spelling (Kea ≥ 2.7.4's
/// lists, empty lists left out), for comparing configurations of different generations.
/// Borrowed when there is nothing to rewrite.
pub fn canonical_form(m: &Map<String, Value>) -> Cow<'_, Map<String, Value>> {
    let needs = [LIMIT, ADDITIONAL, ONLY_ADDITIONAL].iter().any(|p| {
        m.contains_key(p.old)
            || m.get(p.new)
                .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
    });
    if !needs {
        return Cow::Borrowed(m);
    }
    let mut c = m.clone();
    for pair in [LIMIT, ADDITIONAL, ONLY_ADDITIONAL] {
        let v = [pair.new, pair.old]
            .iter()
            .find_map(|k| c.get(*k).and_then(|v| canonical(pair, v)));
        c.remove(pair.old);
        c.remove(pair.new);
        match v {
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(v) => {
                c.insert(pair.new.into(), v);
            }
            None => {}
        }
    }
    Cow::Owned(c)
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

    fn subnet(d: &ConfigDoc) -> &Map<String, Value> {
        d.root()["subnet4"][0].as_object().unwrap()
    }

    #[test]
    fn both_spellings_are_read() {
        let old = json!({"client-class": "a", "require-client-classes": ["x"]});
        let new = json!({"client-classes": ["a", "b"], "evaluate-additional-classes": ["x"]});
        assert_eq!(limit_classes(old.as_object().unwrap()), vec!["a"]);
        assert_eq!(limit_classes(new.as_object().unwrap()), vec!["a", "b"]);
        assert_eq!(additional_classes(old.as_object().unwrap()), vec!["x"]);
        assert_eq!(additional_classes(new.as_object().unwrap()), vec!["x"]);
        let none = json!({"client-class": "", "client-classes": []});
        assert!(limit_classes(none.as_object().unwrap()).is_empty());
        assert!(only_additional(
            json!({"only-if-required": true}).as_object().unwrap()
        ));
        assert!(only_additional(
            json!({"only-in-additional-list": true})
                .as_object()
                .unwrap()
        ));
    }

    #[test]
    fn set_limit_writes_the_servers_spelling() {
        let mut m = Map::new();
        set_limit(&mut m, &["voip".into()], KEA3, "subnet x").unwrap();
        assert_eq!(
            Value::Object(m.clone()),
            json!({"client-classes": ["voip"]})
        );
        set_limit(&mut m, &["voip".into()], KEA2, "subnet x").unwrap();
        assert_eq!(Value::Object(m.clone()), json!({"client-class": "voip"}));
        set_limit(&mut m, &[], KEA3, "subnet x").unwrap();
        assert!(m.is_empty(), "no class: neither key");
        let e = set_limit(&mut m, &["a".into(), "b".into()], KEA2, "subnet x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(e.message.contains("Kea 2.2.0"), "{}", e.message);
        assert!(e.message.contains("2.7.4"), "{}", e.message);
        set_limit(&mut m, &["a".into(), "b".into()], KEA3, "subnet x").unwrap();
        assert_eq!(Value::Object(m), json!({"client-classes": ["a", "b"]}));
    }

    #[test]
    fn kea_3_gets_lists_for_the_old_keys() {
        let base = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}]}));
        let mut new = doc(json!({
            "client-classes": [{"name": "a", "only-if-required": true}],
            "shared-networks": [{"name": "n", "client-class": "a", "subnet4": [
                {"id": 2, "subnet": "10.2.0.0/24", "client-class": "a",
                 "pools": [{"pool": "10.2.0.1-10.2.0.9", "client-class": "a"}]}]}],
            "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "client-class": "a",
                "require-client-classes": ["a"],
                "pools": [{"pool": "10.0.0.1-10.0.0.9", "client-class": "a",
                           "require-client-classes": ["a"]}]}]}));
        speak(&mut new, &base, KEA3).unwrap();
        let s = subnet(&new);
        assert_eq!(s["client-classes"], json!(["a"]));
        assert_eq!(s["evaluate-additional-classes"], json!(["a"]));
        assert!(!s.contains_key("client-class") && !s.contains_key("require-client-classes"));
        assert_eq!(
            s["pools"][0],
            json!({"pool": "10.0.0.1-10.0.0.9", "client-classes": ["a"],
                   "evaluate-additional-classes": ["a"]})
        );
        let n = &new.root()["shared-networks"][0];
        assert_eq!(n["client-classes"], json!(["a"]));
        assert_eq!(n["subnet4"][0]["client-classes"], json!(["a"]));
        assert_eq!(n["subnet4"][0]["pools"][0]["client-classes"], json!(["a"]));
        assert_eq!(
            new.root()["client-classes"][0],
            json!({"name": "a", "only-in-additional-list": true})
        );
    }

    #[test]
    fn kea_2_gets_the_single_class_and_refuses_two() {
        let base = doc(json!({"subnet4": []}));
        let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-classes": ["a"], "evaluate-additional-classes": ["b"],
            "pools": [{"pool": "10.0.0.1-10.0.0.9", "client-classes": []}]}]}));
        speak(&mut new, &base, KEA2).unwrap();
        assert_eq!(
            Value::Object(subnet(&new).clone()),
            json!({"id": 1, "subnet": "10.0.0.0/24", "client-class": "a",
                   "require-client-classes": ["b"], "pools": [{"pool": "10.0.0.1-10.0.0.9"}]})
        );
        let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-classes": ["a", "b"]}]}));
        let e = speak(&mut new, &base, KEA2).unwrap_err();
        assert!(
            e.message
                .starts_with("subnet 10.0.0.0/24: Kea 2.2.0 limits"),
            "{}",
            e.message
        );
    }

    #[test]
    fn what_the_server_reported_is_left_as_it_is() {
        // Kea 2.2 may hold an empty client-class; Kea 3 an empty list: no change either way.
        let v2 = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "client-class": ""}]}));
        let mut new = v2.clone();
        speak(&mut new, &v2, KEA2).unwrap();
        assert_eq!(new, v2);
        let v3 = doc(
            json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "client-classes": [],
            "pools": [{"pool": "10.0.0.1-10.0.0.9", "client-classes": ["a"]}]}]}),
        );
        let mut new = v3.clone();
        speak(&mut new, &v3, KEA3).unwrap();
        assert_eq!(new, v3);
    }

    #[test]
    fn a_map_with_both_spellings_keeps_the_one_the_script_changed() {
        // Kea 3 runs client-classes ["a"]; a script read the subnet (both keys) and changed
        // one of them.
        let base = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-classes": ["a"]}]}));
        for (cc, ccs, want) in [
            (json!("b"), json!(["a"]), json!(["b"])),
            (json!("a"), json!(["b", "c"]), json!(["b", "c"])),
            (json!(null), json!(["b", "c"]), json!(["b", "c"])),
            (json!("a"), json!(["a"]), json!(["a"])),
        ] {
            let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
                "client-class": cc, "client-classes": ccs}]}));
            speak(&mut new, &base, KEA3).unwrap();
            assert_eq!(subnet(&new)["client-classes"], want);
            assert!(!subnet(&new).contains_key("client-class"));
        }
        // Both changed, or nothing to compare with: the script must say which.
        let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-class": "b", "client-classes": ["c"]}]}));
        let e = speak(&mut new, &base, KEA3).unwrap_err();
        assert!(e.message.contains("disagree"), "{}", e.message);
        let mut new = doc(json!({"subnet4": [{"id": 9, "subnet": "10.9.0.0/24",
            "client-class": "b", "client-classes": ["c"]}]}));
        assert!(speak(&mut new, &base, KEA3).is_err());
        // Kea 2.2 with client-class "a": the list was changed.
        let base = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-class": "a"}]}));
        let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-class": "a", "client-classes": ["b"]}]}));
        speak(&mut new, &base, KEA2).unwrap();
        assert_eq!(subnet(&new)["client-class"], "b");
        assert!(!subnet(&new).contains_key("client-classes"));
        // Both unset: no limit.
        let mut new = doc(json!({"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "client-class": null, "client-classes": null}]}));
        speak(&mut new, &base, KEA2).unwrap();
        assert!(!subnet(&new).contains_key("client-class"));
        assert!(!subnet(&new).contains_key("client-classes"));
    }

    #[test]
    fn unsetting_one_spelling_unsets_both() {
        let mut p = json!({"client-class": null, "evaluate-additional-classes": null})
            .as_object()
            .unwrap()
            .clone();
        unset_both_spellings(&mut p);
        assert_eq!(
            Value::Object(p),
            json!({"client-class": null, "client-classes": null,
                   "evaluate-additional-classes": null, "require-client-classes": null})
        );
    }

    #[test]
    fn the_canonical_form_compares_generations() {
        let old = json!({"pool": "p", "client-class": "a", "require-client-classes": []});
        let new = json!({"pool": "p", "client-classes": ["a"]});
        assert_eq!(
            canonical_form(old.as_object().unwrap()).as_ref(),
            new.as_object().unwrap()
        );
        assert!(matches!(
            canonical_form(new.as_object().unwrap()),
            Cow::Borrowed(_)
        ));
    }
}
