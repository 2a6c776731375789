//! Client classes: add, update, delete (refused while used), with keascript's metadata
//! (`description`, `global`) kept in the class's `user-context` where every admin sees it.

use std::net::Ipv4Addr;

use serde_json::{Map, Value};

use super::class_keys::{additional_classes, limit_classes};
use super::doc::merge;
use super::subnets::ranges_with_class;
use super::{ConfigDoc, Family};
use crate::kea::{ErrorKind, KeaError};

/// Kea's built-in classes, which exist without being defined.
pub fn is_builtin(name: &str) -> bool {
    matches!(name, "ALL" | "KNOWN" | "UNKNOWN" | "BOOTP" | "DROP")
        || name.starts_with("VENDOR_CLASS_")
        || name.starts_with("HA_")
        || name.starts_with("AFTER_")
        || name.starts_with("EXTERNAL_")
}

/// The index of a defined class.
pub fn find_class(doc: &ConfigDoc, name: &str) -> Option<usize> {
    doc.root_array("client-classes")
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
}

/// True when the class is built in or defined.
/// The classes whose test expressions `new` adds or changes against `base`: `(name,
/// expression)`. Kea parses them only when it loads a configuration.
pub fn new_test_expressions(base: &ConfigDoc, new: &ConfigDoc) -> Vec<(String, String)> {
    let tests = |doc: &ConfigDoc| -> Vec<(String, String, String)> {
        doc.root_array("client-classes")
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                ["test", "template-test"].into_iter().filter_map(move |k| {
                    c.get(k)
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .map(|t| (name.to_string(), k.to_string(), t.to_string()))
                })
            })
            .collect()
    };
    let old = tests(base);
    tests(new)
        .into_iter()
        .filter(|t| !old.contains(t))
        .map(|(n, _, t)| (n, t))
        .collect()
}

pub fn class_exists(doc: &ConfigDoc, name: &str) -> bool {
    is_builtin(name) || find_class(doc, name).is_some()
}

/// Moves `description` and `global` into `user-context`, and checks the BOOTP fields.
fn prepare(input: &Map<String, Value>, family: Family) -> Result<Map<String, Value>, KeaError> {
    if let Some(n) = input.get("name").and_then(Value::as_str)
        && let Some(bad) = n.chars().find(|c| c.is_control())
    {
        return Err(KeaError::invalid(format!(
            "class name {n:?} contains the control character U+{:04X}: a class must be named with printable text",
            bad as u32
        )));
    }
    let mut c = input.clone();
    let mut meta = Map::new();
    if let Some(d) = c.remove("description") {
        match d {
            Value::String(_) | Value::Null => {
                meta.insert("description".into(), d);
            }
            other => {
                return Err(KeaError::invalid(format!(
                    "description must be a string, not {other}"
                )));
            }
        }
    }
    if let Some(g) = c.remove("global") {
        match g {
            Value::Bool(_) | Value::Null => {
                meta.insert("global".into(), g);
            }
            other => {
                return Err(KeaError::invalid(format!(
                    "global must be true or false, not {other}"
                )));
            }
        }
    }
    if !meta.is_empty() {
        let mut ctx = c
            .remove("user-context")
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (k, v) in meta {
            ctx.insert(k, v);
        }
        c.insert("user-context".into(), Value::Object(ctx));
    }
    for key in ["next-server", "server-hostname", "boot-file-name"] {
        if family == Family::V6 && c.contains_key(key) {
            return Err(KeaError::invalid(format!(
                "{} is a DHCPv4 field; DHCPv6 classes do not have it",
                key.replace('-', "_")
            )));
        }
    }
    if let Some(ns) = c.get("next-server")
        && !ns.is_null()
        && ns
            .as_str()
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
            .is_none()
    {
        return Err(KeaError::invalid(format!(
            "next_server {ns} is not an IPv4 address"
        )));
    }
    for key in ["server-hostname", "boot-file-name", "test"] {
        if let Some(v) = c.get(key)
            && !v.is_null()
            && !v.is_string()
        {
            return Err(KeaError::invalid(format!(
                "{} must be a string, not {v}",
                key.replace('-', "_")
            )));
        }
    }
    Ok(c)
}

/// Defines a new class.
pub fn add_class(doc: &mut ConfigDoc, input: &Map<String, Value>) -> Result<Value, KeaError> {
    let name = input
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| KeaError::invalid("add_class: \"name\" is required"))?
        .to_string();
    if is_builtin(&name) {
        return Err(KeaError::invalid(format!(
            "\"{name}\" is one of Kea's built-in classes; choose another name"
        )));
    }
    if find_class(doc, &name).is_some() {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!("a client class \"{name}\" already exists on the server"),
        ));
    }
    let mut c = prepare(input, doc.family)?;
    c.insert("name".into(), Value::String(name));
    strip_nulls(&mut c);
    let v = Value::Object(c);
    doc.root_array_mut("client-classes").push(v.clone());
    Ok(v)
}

fn strip_nulls(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
}

/// Merges `patch` into a class; the name never changes.
pub fn update_class(
    doc: &mut ConfigDoc,
    name: &str,
    patch: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let i = find_class(doc, name).ok_or_else(|| not_found(name))?;
    if let Some(n) = patch.get("name")
        && n.as_str() != Some(name)
    {
        return Err(KeaError::invalid(format!(
            "the name of class \"{name}\" cannot change: got {n}"
        )));
    }
    let patch = prepare(patch, doc.family)?;
    let list = doc.root_array_mut("client-classes");
    let c = list[i].as_object_mut().expect("class map");
    merge(c, &patch);
    Ok(Value::Object(c.clone()))
}

fn not_found(name: &str) -> KeaError {
    KeaError::new(
        ErrorKind::NotFound,
        format!("no client class \"{name}\" on the server"),
    )
}

/// Where a class is used: subnets, pools, other classes' tests.
pub fn uses_of_class(doc: &ConfigDoc, name: &str) -> Vec<String> {
    let mut uses: Vec<String> = ranges_with_class(doc, name)
        .into_iter()
        .map(|(s, p)| match p {
            None => format!("subnet {s}"),
            Some(p) => format!("pool {p} of subnet {s}"),
        })
        .collect();
    for n in doc.root_array("shared-networks") {
        if let Some(m) = n.as_object() {
            let label = format!(
                "shared network {}",
                m.get("name").and_then(Value::as_str).unwrap_or("?")
            );
            if limit_classes(m).iter().any(|c| c == name) {
                uses.push(label.clone());
            }
            if additional_classes(m).iter().any(|c| c == name) {
                uses.push(format!("the additional classes {label} evaluates"));
            }
        }
    }
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        let prefix = s.get("subnet").and_then(Value::as_str).unwrap_or("?");
        let mut places: Vec<(String, &serde_json::Map<String, Value>)> =
            vec![(format!("subnet {prefix}"), s)];
        for (field, key, kind) in [("pools", "pool", "pool"), ("pd-pools", "prefix", "pd pool")] {
            for p in s.get(field).and_then(Value::as_array).into_iter().flatten() {
                if let Some(pm) = p.as_object() {
                    let range = pm.get(key).and_then(Value::as_str).unwrap_or("?");
                    places.push((format!("{kind} {range} of subnet {prefix}"), pm));
                }
            }
        }
        for (label, m) in places {
            if additional_classes(m).iter().any(|c| c == name) {
                uses.push(format!("the additional classes {label} evaluates"));
            }
        }
    }
    let needle1 = format!("member('{name}')");
    let needle2 = format!("member(\"{name}\")");
    for c in doc.root_array("client-classes") {
        let test = c.get("test").and_then(Value::as_str).unwrap_or("");
        if test.contains(&needle1) || test.contains(&needle2) {
            uses.push(format!(
                "the test of class \"{}\"",
                c.get("name").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    uses
}

/// Removes a class; refused while a subnet, pool or other class uses it.
pub fn delete_class(doc: &mut ConfigDoc, name: &str) -> Result<Value, KeaError> {
    let i = find_class(doc, name).ok_or_else(|| not_found(name))?;
    let uses = uses_of_class(doc, name);
    if !uses.is_empty() {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "client class \"{name}\" is still used by {}; unassign it first",
                uses.join(", ")
            ),
        ));
    }
    Ok(doc.root_array_mut("client-classes").remove(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn classes_with_metadata_and_safe_delete() {
        let mut d = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
                "pools": [{"pool": "10.0.0.10-10.0.0.20", "client-class": "voip"}]}]}}),
        )
        .unwrap();
        let c = add_class(
            &mut d,
            &m(
                json!({"name": "voip", "test": "substring(option[60].hex,0,4) == 'Cisc'",
                      "next-server": "10.0.0.5", "description": "phones", "global": true}),
            ),
        )
        .unwrap();
        assert_eq!(
            c["user-context"],
            json!({"description": "phones", "global": true})
        );
        assert!(c.get("description").is_none());
        let e = add_class(&mut d, &m(json!({"name": "voip"}))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        let e = add_class(&mut d, &m(json!({"name": "KNOWN"}))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let e = add_class(&mut d, &m(json!({"name": "x", "next-server": "nope"}))).unwrap_err();
        assert!(e.message.contains("next_server"), "{}", e.message);
        add_class(
            &mut d,
            &m(json!({"name": "voip2", "test": "member('voip')"})),
        )
        .unwrap();
        let e = delete_class(&mut d, "voip").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(
            e.message
                .contains("pool 10.0.0.10-10.0.0.20 of subnet 10.0.0.0/24"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("the test of class \"voip2\""),
            "{}",
            e.message
        );
        let u = update_class(&mut d, "voip", &m(json!({"description": "desk phones"}))).unwrap();
        assert_eq!(u["user-context"]["description"], "desk phones");
        assert_eq!(u["user-context"]["global"], true);
        delete_class(&mut d, "voip2").unwrap();
        assert_eq!(
            delete_class(&mut d, "nope").unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert!(class_exists(&d, "HA_server1") && class_exists(&d, "voip"));
        // Kea 3 reports lists: a class named in one is in use too, also by a PD pool, a
        // shared network or as an additional class.
        let mut d = ConfigDoc::new(
            Family::V6,
            json!({"Dhcp6": {"client-classes": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "shared-networks": [{"name": "n", "client-classes": ["c"], "subnet6": []}],
                "subnet6": [{"id": 1, "subnet": "2001:db8::/48",
                    "pools": [{"pool": "2001:db8::10-2001:db8::20", "client-classes": ["x", "a"]}],
                    "pd-pools": [{"prefix": "2001:db8:8::", "prefix-len": 56, "delegated-len": 64,
                                  "evaluate-additional-classes": ["b"]}]}]}}),
        )
        .unwrap();
        let e = delete_class(&mut d, "a").unwrap_err();
        assert!(
            e.message
                .contains("pool 2001:db8::10-2001:db8::20 of subnet 2001:db8::/48"),
            "{}",
            e.message
        );
        let e = delete_class(&mut d, "b").unwrap_err();
        assert!(
            e.message.contains(
                "the additional classes pd pool 2001:db8:8:: of subnet 2001:db8::/48 evaluates"
            ),
            "{}",
            e.message
        );
        let e = delete_class(&mut d, "c").unwrap_err();
        assert!(e.message.contains("shared network n"), "{}", e.message);
        let v6 = ConfigDoc::new(Family::V6, json!({"Dhcp6": {}}));
        let e = add_class(
            &mut v6.unwrap(),
            &m(json!({"name": "b", "boot-file-name": "x"})),
        )
        .unwrap_err();
        assert!(e.message.contains("DHCPv4"), "{}", e.message);
    }
}
