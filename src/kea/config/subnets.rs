//! Scopes (subnets) and pools: add, update, delete, and limiting them to a client class.

use serde_json::{Map, Value, json};

use super::class_keys::{self, limit_classes};
use super::doc::{SubnetKey, merge};
use super::inherit::{OWN_KEY, is_inheritable, mark_own};
use super::net::{Prefix, Range};
use super::{ConfigDoc, Family, SubnetLoc};
use crate::kea::{ErrorKind, KeaError, KeaVersion};

fn conflict(msg: String) -> KeaError {
    KeaError::new(ErrorKind::Conflict, msg)
}

/// The prefix of a subnet map, if it has a valid one.
pub fn prefix_of(s: &Map<String, Value>, family: Family) -> Option<Prefix> {
    s.get("subnet")
        .and_then(Value::as_str)
        .and_then(|t| Prefix::parse(t, family, "subnet").ok())
}

/// The address part of a prefix, as Micetro names a scope: `"1.3.3.0"`.
fn address(p: &Prefix) -> String {
    p.0.network().to_string()
}

/// Normalises the `pools` of an input subnet: strings become `{"pool": …}`, ranges are
/// canonical, each lies inside the subnet and no two overlap.
fn normalize_pools(
    subnet: &mut Map<String, Value>,
    prefix: &Prefix,
    family: Family,
) -> Result<(), KeaError> {
    for p in subnet
        .get_mut("pd-pools")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        drop_unset(p);
    }
    let Some(pools) = subnet.get_mut("pools") else {
        return Ok(());
    };
    let Some(list) = pools.as_array_mut() else {
        return Err(KeaError::invalid(
            "pools must be an array of ranges or maps",
        ));
    };
    let mut seen: Vec<Range> = Vec::new();
    for p in list.iter_mut() {
        if let Value::String(s) = p {
            *p = json!({ "pool": s.clone() });
        }
        let Some(m) = p.as_object_mut() else {
            return Err(KeaError::invalid(format!(
                "pool {p} must be a range string or a map with \"pool\""
            )));
        };
        // A pool map read from keascript names every key, `()` where Kea has no value:
        // in a pool that is being written, `()` means "not set".
        drop_unset(m);
        let text = m.get("pool").and_then(Value::as_str).ok_or_else(|| {
            KeaError::invalid("a pool map needs \"pool\": the range, e.g. \"10.1.0.10-10.1.0.99\"")
        })?;
        let r = Range::parse(text, family, "pool")?;
        check_pool_in(&r, text, prefix)?;
        if let Some(other) = seen.iter().find(|o| o.overlaps(&r)) {
            return Err(KeaError::invalid(format!(
                "pool \"{text}\" overlaps pool \"{other}\" in subnet {prefix}"
            )));
        }
        seen.push(r);
        if !text.contains('/') {
            m.insert("pool".into(), Value::String(r.canonical()));
        }
    }
    Ok(())
}

/// Removes the keys set to `null` (unset) from a pool map that is being written.
fn drop_unset(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
}

fn check_pool_in(r: &Range, text: &str, prefix: &Prefix) -> Result<(), KeaError> {
    if r.within(prefix) {
        Ok(())
    } else {
        Err(KeaError::invalid(format!(
            "pool \"{text}\" does not lie inside its subnet {prefix}"
        )))
    }
}

/// The inheritable keys a patch sets and unsets (recorded as the scope's own or not).
fn own_changes(patch: &Map<String, Value>, family: Family) -> (Vec<String>, Vec<String>) {
    let mut set = Vec::new();
    let mut unset = Vec::new();
    for (k, v) in patch {
        if is_inheritable(family, k) {
            if v.is_null() {
                unset.push(k.clone());
            } else {
                set.push(k.clone());
            }
        }
    }
    (set, unset)
}

/// `keascript-own` in a scope's `user-context` is keascript's record of the values set on
/// the scope: a script may not write it (it would be overwritten without a word).
pub fn refuse_own_key(input: &Map<String, Value>, what: &str) -> Result<(), KeaError> {
    if input
        .get("user-context")
        .and_then(Value::as_object)
        .is_some_and(|u| u.contains_key(OWN_KEY))
    {
        return Err(KeaError::invalid(format!(
            "{what}: user_context key \"{OWN_KEY}\" is reserved (keascript records there which values were set on the scope); use another key"
        )));
    }
    Ok(())
}

/// Adds a subnet. `min_id` is the lowest id a new subnet may get (for HA: the highest
/// id on any peer + 1). Returns the subnet as it will be sent.
pub fn add_subnet(
    doc: &mut ConfigDoc,
    input: &Map<String, Value>,
    min_id: u64,
) -> Result<Value, KeaError> {
    let family = doc.family;
    let text = input
        .get("subnet")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("add_subnet: \"subnet\" (the prefix) is required"))?;
    let prefix = Prefix::parse(text, family, "subnet")?;
    refuse_own_key(input, &format!("subnet {prefix}"))?;
    let mut subnet = input.clone();
    subnet.insert("subnet".into(), Value::String(prefix.to_string()));
    subnet.remove("shared-network-name");
    let id = match subnet.get("id") {
        None | Some(Value::Null) => (doc.max_subnet_id() + 1).max(min_id),
        Some(v) => match v.as_i64() {
            Some(n) => match SubnetKey::id(n)? {
                SubnetKey::Id(id) => id,
                SubnetKey::Prefix(_) => unreachable!(),
            },
            None => {
                return Err(KeaError::invalid(format!(
                    "subnet id {v} is not an integer"
                )));
            }
        },
    };
    subnet.insert("id".into(), json!(id));
    normalize_pools(&mut subnet, &prefix, family)?;
    // Against the live configuration.
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        if s.get("id").and_then(Value::as_u64) == Some(id) {
            return Err(conflict(format!(
                "subnet id {id} is already used by {} on the server",
                s.get("subnet").and_then(Value::as_str).unwrap_or("?")
            )));
        }
        if let Some(p) = prefix_of(s, family) {
            if p == prefix {
                return Err(conflict(format!(
                    "A scope with address \"{}\" already exists on the server",
                    address(&prefix)
                )));
            }
            if p.overlaps(&prefix) {
                return Err(conflict(format!(
                    "subnet {prefix} overlaps subnet {p} (id {}) on the server",
                    s.get("id").map_or("?".to_string(), Value::to_string)
                )));
            }
        }
    }
    let (set, _) = own_changes(&subnet, family);
    mark_own(&mut subnet, &set, &[]);
    let value = Value::Object(subnet);
    doc.root_array_mut(family.subnet_key()).push(value.clone());
    Ok(value)
}

/// Merges `patch` into a subnet; the id and the prefix never change.
pub fn update_subnet(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    patch: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let family = doc.family;
    refuse_own_key(patch, &format!("subnet {key}"))?;
    let loc = doc.find_subnet(key)?;
    let current = doc.subnet(loc).clone();
    if let Some(id) = patch.get("id")
        && !id.is_null()
        && Some(id) != current.get("id")
    {
        return Err(KeaError::invalid(format!(
            "the id of subnet {key} cannot change (leases hang on it): got {id}"
        )));
    }
    let prefix = prefix_of(&current, family)
        .ok_or_else(|| KeaError::invalid(format!("subnet {key} has no valid prefix")))?;
    if let Some(p) = patch.get("subnet")
        && !p.is_null()
        && p.as_str()
            .and_then(|t| Prefix::parse(t, family, "subnet").ok())
            != Some(prefix)
    {
        return Err(KeaError::invalid(format!(
            "the prefix of subnet {key} cannot change: got {p}; add a new subnet instead"
        )));
    }
    let mut patch = patch.clone();
    class_keys::unset_both_spellings(&mut patch);
    patch.remove("id");
    patch.remove("subnet");
    let mut updated = current;
    merge(&mut updated, &patch);
    normalize_pools(&mut updated, &prefix, family)?;
    let (set, unset) = own_changes(&patch, family);
    mark_own(&mut updated, &set, &unset);
    *doc.subnet_mut(loc) = updated.clone();
    Ok(Value::Object(updated))
}

/// Removes a subnet; returns it.
pub fn delete_subnet(doc: &mut ConfigDoc, key: &SubnetKey) -> Result<Value, KeaError> {
    let loc = doc.find_subnet(key)?;
    Ok(doc.remove_subnet(loc))
}

/// Finds a pool of a subnet by its range (any spelling of the same range).
pub fn find_pool(doc: &ConfigDoc, loc: SubnetLoc, range: &str) -> Result<usize, KeaError> {
    let family = doc.family;
    let want = Range::parse(range, family, "pool")?;
    doc.subnet(loc)
        .get("pools")
        .and_then(Value::as_array)
        .and_then(|pools| {
            pools.iter().position(|p| {
                p.get("pool")
                    .and_then(Value::as_str)
                    .and_then(|t| Range::parse(t, family, "pool").ok())
                    == Some(want)
            })
        })
        .ok_or_else(|| {
            KeaError::new(
                ErrorKind::NotFound,
                format!(
                    "no pool {range} in subnet {}",
                    doc.subnet(loc)
                        .get("subnet")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                ),
            )
        })
}

/// Adds a pool to a subnet: inside it, overlapping no other pool.
pub fn add_pool(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    range: &str,
    extra: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let family = doc.family;
    let r = Range::parse(range, family, "pool")?;
    let loc = doc.find_subnet(key)?;
    let prefix = prefix_of(doc.subnet(loc), family)
        .ok_or_else(|| KeaError::invalid(format!("subnet {key} has no valid prefix")))?;
    check_pool_in(&r, range, &prefix)?;
    let pools = doc
        .subnet(loc)
        .get("pools")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in &pools {
        if let Some(other) = p
            .get("pool")
            .and_then(Value::as_str)
            .and_then(|t| Range::parse(t, family, "pool").ok())
            && other.overlaps(&r)
        {
            return Err(conflict(format!(
                "pool {range} overlaps pool {other} of subnet {prefix} on the server"
            )));
        }
    }
    let mut pool = extra.clone();
    drop_unset(&mut pool);
    pool.remove("pool");
    let text = if range.contains('/') {
        range.trim().to_string()
    } else {
        r.canonical()
    };
    pool.insert("pool".into(), Value::String(text));
    let value = Value::Object(pool);
    let s = doc.subnet_mut(loc);
    let list = s.entry("pools").or_insert_with(|| Value::Array(Vec::new()));
    list.as_array_mut()
        .ok_or_else(|| KeaError::invalid("the subnet's pools are not an array"))?
        .push(value.clone());
    Ok(value)
}

/// Removes a pool; returns it.
pub fn delete_pool(doc: &mut ConfigDoc, key: &SubnetKey, range: &str) -> Result<Value, KeaError> {
    let loc = doc.find_subnet(key)?;
    let i = find_pool(doc, loc, range)?;
    let s = doc.subnet_mut(loc);
    Ok(s["pools"].as_array_mut().expect("pools").remove(i))
}

/// The map (subnet or pool) a class assignment is about.
fn target_mut<'a>(
    doc: &'a mut ConfigDoc,
    key: &SubnetKey,
    pool: Option<&str>,
) -> Result<&'a mut Map<String, Value>, KeaError> {
    let loc = doc.find_subnet(key)?;
    match pool {
        None => Ok(doc.subnet_mut(loc)),
        Some(range) => {
            let i = find_pool(doc, loc, range)?;
            Ok(doc.subnet_mut(loc)["pools"][i]
                .as_object_mut()
                .expect("pool map"))
        }
    }
}

/// Limits a subnet or one of its pools to a client class, in the spelling of Kea `version`
/// (`client-classes: [class]` from 2.7.4 on, `client-class` before).
pub fn assign_class(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    pool: Option<&str>,
    class: &str,
    version: KeaVersion,
) -> Result<(), KeaError> {
    if class.trim().is_empty() {
        return Err(KeaError::invalid("the class name is empty"));
    }
    let what = match pool {
        None => format!("subnet {key}"),
        Some(p) => format!("pool {p} of subnet {key}"),
    };
    let t = target_mut(doc, key, pool)?;
    class_keys::set_limit(t, &[class.to_string()], version, &what)
}

/// Removes the class limit of a subnet or pool (either spelling).
pub fn unassign_class(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    pool: Option<&str>,
) -> Result<(), KeaError> {
    let t = target_mut(doc, key, pool)?;
    t.remove("client-class");
    t.remove("client-classes");
    Ok(())
}

/// Every subnet and pool limited to `class`: `(subnet prefix, Some(pool) or None)`.
pub fn ranges_with_class(doc: &ConfigDoc, class: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        let prefix = s
            .get("subnet")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if limit_classes(s).iter().any(|c| c == class) {
            out.push((prefix.clone(), None));
        }
        for key in ["pools", "pd-pools"] {
            for p in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(pm) = p.as_object()
                    && limit_classes(pm).iter().any(|c| c == class)
                {
                    let name = match (pm.get("pool"), pm.get("prefix"), pm.get("prefix-len")) {
                        (Some(Value::String(p)), _, _) => p.clone(),
                        (_, Some(Value::String(p)), Some(len)) => format!("{p}/{len}"),
                        (_, Some(Value::String(p)), None) => p.clone(),
                        _ => String::new(),
                    };
                    out.push((prefix.clone(), Some(name)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 3, "subnet": "1.3.3.0/24",
                  "pools": [{"pool": "1.3.3.10-1.3.3.20"}]}]}}),
        )
        .unwrap()
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn add_subnet_picks_the_next_id_and_refuses_duplicates_and_overlaps() {
        let mut d = doc();
        let s = add_subnet(
            &mut d,
            &m(
                json!({"subnet": "10.0.0.0/24", "pools": ["10.0.0.10 - 10.0.0.20"],
                                            "valid-lifetime": 600}),
            ),
            0,
        )
        .unwrap();
        assert_eq!(s["id"], 4);
        assert_eq!(s["pools"][0]["pool"], "10.0.0.10-10.0.0.20");
        assert_eq!(
            s["user-context"]["keascript-own"],
            json!(["valid-lifetime"])
        );
        let e = add_subnet(&mut d, &m(json!({"subnet": "1.3.3.0/24"})), 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(
            e.message,
            "A scope with address \"1.3.3.0\" already exists on the server"
        );
        let e = add_subnet(&mut d, &m(json!({"subnet": "1.3.3.0/25"})), 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.message.contains("overlaps"), "{}", e.message);
        let e = add_subnet(&mut d, &m(json!({"subnet": "10.9.0.0/24", "id": 3})), 0).unwrap_err();
        assert!(
            e.message.contains("subnet id 3 is already used"),
            "{}",
            e.message
        );
        let e = add_subnet(&mut d, &m(json!({"subnet": "10.9.0.1/24"})), 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let e = add_subnet(
            &mut d,
            &m(json!({"subnet": "10.9.0.0/24", "pools": ["10.8.0.1-10.8.0.9"]})),
            0,
        )
        .unwrap_err();
        assert!(e.message.contains("does not lie inside"), "{}", e.message);
        let e = add_subnet(
            &mut d,
            &m(json!({"subnet": "10.9.0.0/24", "pools": ["10.9.0.1-10.9.0.9", "10.9.0.5-10.9.0.20"]})),
            0,
        )
        .unwrap_err();
        assert!(e.message.contains("overlaps pool"), "{}", e.message);
        // HA: the id may be forced above every peer's ids.
        let s = add_subnet(&mut d, &m(json!({"subnet": "10.1.0.0/24"})), 50).unwrap();
        assert_eq!(s["id"], 50);
    }

    #[test]
    fn update_merges_keeps_id_and_prefix_and_tracks_own_values() {
        let mut d = doc();
        let k = SubnetKey::Id(3);
        let s = update_subnet(
            &mut d,
            &k,
            &m(json!({"valid-lifetime": 900, "renew-timer": 100})),
        )
        .unwrap();
        assert_eq!(s["pools"][0]["pool"], "1.3.3.10-1.3.3.20", "pools kept");
        assert_eq!(
            s["user-context"]["keascript-own"],
            json!(["renew-timer", "valid-lifetime"])
        );
        let s = update_subnet(&mut d, &k, &m(json!({"renew-timer": null}))).unwrap();
        assert!(s.get("renew-timer").is_none());
        assert_eq!(
            s["user-context"]["keascript-own"],
            json!(["valid-lifetime"])
        );
        assert!(update_subnet(&mut d, &k, &m(json!({"id": 9}))).is_err());
        assert!(update_subnet(&mut d, &k, &m(json!({"subnet": "1.3.4.0/24"}))).is_err());
        assert_eq!(
            update_subnet(&mut d, &SubnetKey::Id(99), &m(json!({})))
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn pools_and_classes() {
        let mut d = doc();
        let k = SubnetKey::parse("1.3.3.0/24", Family::V4).unwrap();
        add_pool(&mut d, &k, "1.3.3.100 - 1.3.3.120", &Map::new()).unwrap();
        let e = add_pool(&mut d, &k, "1.3.3.15-1.3.3.30", &Map::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        let e = add_pool(&mut d, &k, "1.3.4.1-1.3.4.2", &Map::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let kea2 = KeaVersion::new(2, 2, 0);
        let kea3 = KeaVersion::new(3, 0, 4);
        assign_class(&mut d, &k, Some("1.3.3.100-1.3.3.120"), "voip", kea3).unwrap();
        assign_class(&mut d, &k, None, "voip", kea2).unwrap();
        let loc = d.find_subnet(&k).unwrap();
        assert_eq!(
            d.subnet(loc)["client-class"],
            "voip",
            "Kea 2.2: the single class"
        );
        assert_eq!(
            d.subnet(loc)["pools"][1]["client-classes"],
            json!(["voip"]),
            "Kea 3: the list"
        );
        assert_eq!(
            ranges_with_class(&d, "voip"),
            vec![
                ("1.3.3.0/24".to_string(), None),
                (
                    "1.3.3.0/24".to_string(),
                    Some("1.3.3.100-1.3.3.120".to_string())
                )
            ]
        );
        unassign_class(&mut d, &k, None).unwrap();
        assert_eq!(ranges_with_class(&d, "voip").len(), 1);
        // The other generation's spelling is found and replaced too.
        assign_class(&mut d, &k, None, "voip", kea3).unwrap();
        assign_class(&mut d, &k, None, "data", kea2).unwrap();
        let loc = d.find_subnet(&k).unwrap();
        assert_eq!(d.subnet(loc).get("client-classes"), None);
        assert_eq!(d.subnet(loc)["client-class"], "data");
        unassign_class(&mut d, &k, None).unwrap();
        delete_pool(&mut d, &k, "1.3.3.100-1.3.3.120").unwrap();
        assert!(ranges_with_class(&d, "voip").is_empty());
        assert_eq!(
            delete_pool(&mut d, &k, "1.3.3.100-1.3.3.120")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        delete_subnet(&mut d, &k).unwrap();
        assert!(d.subnet_locs().is_empty());
    }
}
