//! Shared networks: add, update, delete, and moving a subnet into or out of one. A value
//! set on a network is recorded as the network's own (the inheritance ledger,
//! [`super::inherit`]), and its subnets inherit it as they inherit server-level values.

use serde_json::{Map, Value};

use super::doc::merge;
use super::inherit::{is_inheritable, mark_own};
use super::{ConfigDoc, SubnetKey, SubnetLoc};
use crate::kea::{ErrorKind, KeaError};

/// The index of the network called `name`.
pub fn find(doc: &ConfigDoc, name: &str) -> Option<usize> {
    doc.root_array("shared-networks")
        .iter()
        .position(|n| n.get("name").and_then(Value::as_str) == Some(name))
}

fn not_found(name: &str) -> KeaError {
    KeaError::new(
        ErrorKind::NotFound,
        format!("no shared network \"{name}\" on the server"),
    )
}

/// The names of a network's subnets, for messages: `1 (192.0.2.0/24)`.
fn subnet_names(doc: &ConfigDoc, n: usize) -> Vec<String> {
    doc.root_array("shared-networks")[n]
        .get(doc.family.subnet_key())
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{} ({})",
                s.get("id").map_or("?".into(), Value::to_string),
                s.get("subnet").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect()
}

/// Refuses input keys that are not the network's own to set.
fn check_input(m: &Map<String, Value>, doc: &ConfigDoc, what: &str) -> Result<(), KeaError> {
    let sk = doc.family.subnet_key();
    for k in [sk, "subnets"] {
        if m.contains_key(k) {
            return Err(KeaError::invalid(format!(
                "{what}: subnets are not given here; move each one in with move_subnet(subnet, name)"
            )));
        }
    }
    if let Some(u) = m.get("user-context")
        && u.get(super::OWN_KEY).is_some()
    {
        return Err(KeaError::invalid(format!(
            "{what}: user_context.{} is keascript's own bookkeeping",
            super::OWN_KEY
        )));
    }
    Ok(())
}

fn own_changes(m: &Map<String, Value>, doc: &ConfigDoc) -> (Vec<String>, Vec<String>) {
    let mut set = Vec::new();
    let mut unset = Vec::new();
    for (k, v) in m {
        if is_inheritable(doc.family, k) {
            if v.is_null() {
                unset.push(k.clone());
            } else {
                set.push(k.clone());
            }
        }
    }
    (set, unset)
}

/// Adds an empty shared network; its name must be new.
pub fn add(doc: &mut ConfigDoc, m: &Map<String, Value>) -> Result<Value, KeaError> {
    check_input(m, doc, "add_shared_network")?;
    let name = m
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| KeaError::invalid("add_shared_network: \"name\" is required"))?
        .to_string();
    if find(doc, &name).is_some() {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!("a shared network named \"{name}\" already exists on the server"),
        ));
    }
    let mut net: Map<String, Value> = m
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    net.insert("name".into(), Value::String(name));
    let (set, _) = own_changes(&net, doc);
    mark_own(&mut net, &set, &[]);
    net.insert(doc.family.subnet_key().into(), Value::Array(Vec::new()));
    let v = Value::Object(net);
    doc.root_array_mut("shared-networks").push(v.clone());
    Ok(v)
}

/// Merges `patch` into a network (`null` removes a value: back to inherited); the name
/// stays.
pub fn update(
    doc: &mut ConfigDoc,
    name: &str,
    patch: &Map<String, Value>,
) -> Result<Value, KeaError> {
    check_input(patch, doc, "update_shared_network")?;
    let n = find(doc, name).ok_or_else(|| not_found(name))?;
    if let Some(new) = patch.get("name")
        && new.as_str() != Some(name)
    {
        return Err(KeaError::invalid(format!(
            "the name of shared network \"{name}\" cannot change: got {new}"
        )));
    }
    let (set, unset) = own_changes(patch, doc);
    let net = doc.root_mut()["shared-networks"][n]
        .as_object_mut()
        .ok_or_else(|| KeaError::invalid(format!("shared network \"{name}\" is not a map")))?;
    merge(net, patch);
    mark_own(net, &set, &unset);
    Ok(Value::Object(net.clone()))
}

/// Removes a network that holds no subnet; refused, naming them, while it holds some.
pub fn delete(doc: &mut ConfigDoc, name: &str) -> Result<Value, KeaError> {
    let n = find(doc, name).ok_or_else(|| not_found(name))?;
    let inside = subnet_names(doc, n);
    if !inside.is_empty() {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "shared network \"{name}\" still holds subnet{} {}: move them out first (move_subnet(subnet, ()))",
                if inside.len() == 1 { "" } else { "s" },
                inside.join(", ")
            ),
        ));
    }
    Ok(doc.root_array_mut("shared-networks").remove(n))
}

/// Moves a subnet into the network `to`, or out to the top level (`None`). The subnet's
/// own values move with it; what it does not own it inherits from its new parent.
pub fn move_subnet(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    to: Option<&str>,
) -> Result<Value, KeaError> {
    let loc = doc.find_subnet(key)?;
    let target = match to {
        Some(name) => Some(find(doc, name).ok_or_else(|| not_found(name))?),
        None => None,
    };
    let here = match loc {
        SubnetLoc::Top(_) => None,
        SubnetLoc::Network(n, _) => Some(n),
    };
    if here == target {
        return Ok(Value::Object(doc.subnet(loc).clone()));
    }
    let subnet = doc.remove_subnet(loc);
    let sk = doc.family.subnet_key();
    match target {
        None => doc.root_array_mut(sk).push(subnet.clone()),
        Some(n) => {
            let net = doc.root_mut()["shared-networks"][n]
                .as_object_mut()
                .expect("network map");
            let list = net.entry(sk).or_insert_with(|| Value::Array(Vec::new()));
            list.as_array_mut()
                .ok_or_else(|| KeaError::invalid("the network's subnets are not a list"))?
                .push(subnet.clone());
        }
    }
    Ok(subnet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::{Family, normalize_inherited};
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn networks_hold_subnets_and_pass_values_on() {
        let mut d = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}]}}),
        )
        .unwrap();
        add(&mut d, &m(json!({"name": "office", "valid-lifetime": 600}))).unwrap();
        let e = add(&mut d, &m(json!({"name": "office"}))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        move_subnet(&mut d, &SubnetKey::Id(1), Some("office")).unwrap();
        assert_eq!(
            d.find_subnet(&SubnetKey::Id(1)).unwrap(),
            SubnetLoc::Network(0, 0)
        );
        let e = delete(&mut d, "office").unwrap_err();
        assert!(
            e.message.contains("still holds subnet 1 (192.0.2.0/24)"),
            "{}",
            e.message
        );
        // What Kea echoes into the subnet (the network's value) is not the subnet's own.
        d.subnet_mut(SubnetLoc::Network(0, 0))
            .insert("valid-lifetime".into(), json!(600));
        normalize_inherited(&mut d);
        assert!(
            d.subnet(SubnetLoc::Network(0, 0))
                .get("valid-lifetime")
                .is_none()
        );
        assert_eq!(d.root()["shared-networks"][0]["valid-lifetime"], 600);
        let net = update(&mut d, "office", &m(json!({"valid-lifetime": null}))).unwrap();
        assert!(net.get("valid-lifetime").is_none());
        move_subnet(&mut d, &SubnetKey::Id(1), None).unwrap();
        delete(&mut d, "office").unwrap();
        assert!(d.root_array("shared-networks").is_empty());
        assert_eq!(
            update(&mut d, "x", &Map::new()).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }
}
