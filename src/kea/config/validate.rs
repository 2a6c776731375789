//! Whole-configuration checks that run after every edit, before anything is sent. Only
//! problems the edit introduced are reported: a server that already runs with, say,
//! overlapping subnets (Kea 2.2 accepts them) can still be edited elsewhere.

use std::collections::BTreeSet;

use serde_json::Value;

use super::ConfigDoc;
use super::class_keys::{additional_classes, limit_classes};
use super::classes::class_exists;
use super::net::{Prefix, Range};
use super::options::option_data_problems;
use super::schema::check_object;
use super::settings::check_order;
use super::subnets::prefix_of;
use crate::kea::{ErrorKind, KeaError};

/// One problem, with the kind of error it makes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Problem {
    conflict: bool,
    text: String,
}

/// A subnet's lifetimes and timers as Kea runs them: its own over its shared network's
/// over the global ones.
fn effective(doc: &ConfigDoc, loc: super::SubnetLoc) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let layers = [Some(doc.root()), doc.network_of(loc), Some(doc.subnet(loc))];
    for layer in layers.into_iter().flatten() {
        for (k, v) in layer {
            if k.contains("lifetime") || k.ends_with("-timer") {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m
}

fn problems(doc: &ConfigDoc) -> BTreeSet<Problem> {
    let family = doc.family;
    let mut out = BTreeSet::new();
    let mut add = |conflict: bool, text: String| {
        out.insert(Problem { conflict, text });
    };
    let mut ids = BTreeSet::new();
    let mut prefixes: Vec<(Prefix, String)> = Vec::new();
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        let label = s
            .get("subnet")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        match s.get("id").and_then(Value::as_u64) {
            Some(0) | None => add(
                false,
                format!("subnet {label} has no id (give every subnet an explicit id)"),
            ),
            Some(id) => {
                if !ids.insert(id) {
                    add(true, format!("subnet id {id} is used twice"));
                }
            }
        }
        let Some(prefix) = prefix_of(s, family) else {
            add(
                false,
                format!(
                    "subnet \"{label}\" is not a canonical {} prefix",
                    family.ip_name()
                ),
            );
            continue;
        };
        prefixes.push((prefix, label.clone()));
        let mut ranges: Vec<Range> = Vec::new();
        for p in s
            .get("pools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(text) = p.get("pool").and_then(Value::as_str) else {
                continue;
            };
            match Range::parse(text, family, "pool") {
                Err(e) => add(false, e.message),
                Ok(r) => {
                    if !r.within(&prefix) {
                        add(
                            false,
                            format!("pool \"{text}\" does not lie inside its subnet {label}"),
                        );
                    }
                    if let Some(o) = ranges.iter().find(|o| o.overlaps(&r)) {
                        add(
                            true,
                            format!("pool {text} overlaps pool {o} in subnet {label}"),
                        );
                    }
                    ranges.push(r);
                }
            }
            if let Some(pm) = p.as_object() {
                for c in additional_classes(pm) {
                    if !class_exists(doc, &c) {
                        add(
                            true,
                            format!(
                                "pool {text} of subnet {label} evaluates client class \"{c}\", which is not defined on the server"
                            ),
                        );
                    }
                }
                for c in limit_classes(pm) {
                    if !class_exists(doc, &c) {
                        add(
                            true,
                            format!(
                                "pool {text} of subnet {label} names client class \"{c}\", which is not defined on the server"
                            ),
                        );
                    }
                }
            }
        }
        for p in s
            .get("pd-pools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
        {
            let text = p.get("prefix").and_then(Value::as_str).unwrap_or("?");
            for c in limit_classes(p).into_iter().chain(additional_classes(p)) {
                if !class_exists(doc, &c) {
                    add(
                        true,
                        format!(
                            "pd pool {text} of subnet {label} names client class \"{c}\", which is not defined on the server"
                        ),
                    );
                }
            }
        }
        for c in limit_classes(s) {
            if !class_exists(doc, &c) {
                add(
                    true,
                    format!(
                        "subnet {label} names client class \"{c}\", which is not defined on the server"
                    ),
                );
            }
        }
        for c in additional_classes(s) {
            if !class_exists(doc, &c) {
                add(
                    true,
                    format!(
                        "subnet {label} requires client class \"{c}\", which is not defined on the server"
                    ),
                );
            }
        }
        // The subnet's own values alone (a wrong input), then laid over what it inherits
        // (wrong for this server).
        if let Err(e) = check_order(s, &format!("subnet {label}")) {
            add(false, e.message);
        } else if let Err(e) = check_order(&effective(doc, loc), &format!("subnet {label}")) {
            add(true, format!("{} (with the values it inherits)", e.message));
        }
    }
    // Identical and overlapping prefixes, in O(n log n): sorted by first address (wider
    // first), each prefix overlaps the widest one still open before it.
    prefixes.sort_by(|(a, _), (b, _)| {
        (a.0.network(), a.0.prefix_len()).cmp(&(b.0.network(), b.0.prefix_len()))
    });
    let mut open: Option<(Prefix, String)> = None;
    for (p, label) in &prefixes {
        if let Some((o, olabel)) = &open
            && o.overlaps(p)
        {
            if o == p {
                add(
                    true,
                    format!(
                        "A scope with address \"{}\" already exists on the server",
                        p.0.network()
                    ),
                );
            } else {
                add(true, format!("subnet {label} overlaps subnet {olabel}"));
            }
            if p.0.broadcast() <= o.0.broadcast() {
                continue;
            }
        }
        open = Some((*p, label.clone()));
    }
    for n in doc
        .root_array("shared-networks")
        .iter()
        .filter_map(Value::as_object)
    {
        let name = n.get("name").and_then(Value::as_str).unwrap_or("?");
        for c in limit_classes(n).into_iter().chain(additional_classes(n)) {
            if !class_exists(doc, &c) {
                add(
                    true,
                    format!(
                        "shared network {name} names client class \"{c}\", which is not defined on the server"
                    ),
                );
            }
        }
    }
    let mut names = BTreeSet::new();
    for c in doc.root_array("client-classes") {
        if let Some(n) = c.get("name").and_then(Value::as_str)
            && !names.insert(n.to_string())
        {
            add(true, format!("client class \"{n}\" is defined twice"));
        }
    }
    for p in option_data_problems(doc) {
        add(false, p);
    }
    for p in schema_problems(doc) {
        add(false, p);
    }
    if let Err(e) = check_order(doc.root(), "server settings") {
        add(false, e.message);
    }
    out
}

type Obj = serde_json::Map<String, Value>;

fn name_of(m: &Obj, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("?").to_string()
}

/// The maps of an array value.
fn each(v: Option<&Value>) -> impl Iterator<Item = &Obj> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// Keys Kea does not know and values of the wrong type, in every object of the
/// configuration.
fn schema_problems(doc: &ConfigDoc) -> Vec<String> {
    let family = doc.family;
    let mut out = Vec::new();
    let options = |owner: &Obj, label: &str, out: &mut Vec<String>| {
        for o in each(owner.get("option-data")) {
            let which = match o.get("name").or(o.get("code")) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => "?".into(),
            };
            check_object(
                family,
                "option-data",
                &format!("option {which} at {label}"),
                o,
                out,
            );
        }
    };
    let root = doc.root();
    check_object(family, "global", "server settings", root, &mut out);
    options(root, "global", &mut out);
    for net in each(root.get("shared-networks")) {
        let label = format!("shared network \"{}\"", name_of(net, "name"));
        check_object(family, "shared-network", &label, net, &mut out);
        options(net, &label, &mut out);
    }
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        let label = format!("subnet {}", name_of(s, "subnet"));
        check_object(family, "subnet", &label, s, &mut out);
        options(s, &label, &mut out);
        for p in each(s.get("pools")) {
            let pl = format!("pool {} of {label}", name_of(p, "pool"));
            check_object(family, "pool", &pl, p, &mut out);
            options(p, &pl, &mut out);
        }
        for p in each(s.get("pd-pools")) {
            let pl = format!("pd pool {} of {label}", name_of(p, "prefix"));
            check_object(family, "pd-pool", &pl, p, &mut out);
            options(p, &pl, &mut out);
        }
    }
    for c in each(root.get("client-classes")) {
        let label = format!("client class \"{}\"", name_of(c, "name"));
        check_object(family, "class", &label, c, &mut out);
        options(c, &label, &mut out);
    }
    for d in each(root.get("option-def")) {
        let label = format!("option definition {}", name_of(d, "name"));
        check_object(family, "option-def", &label, d, &mut out);
    }
    out
}

/// Subnet ids used twice and overlapping prefixes, across every subnet (the checks that
/// relate a subnet to all the others).
fn cross_problems(doc: &ConfigDoc) -> BTreeSet<Problem> {
    let mut out = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut prefixes: Vec<Prefix> = Vec::new();
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        if let Some(id) = s.get("id").and_then(Value::as_u64)
            && id != 0
            && !ids.insert(id)
        {
            out.insert(Problem {
                conflict: true,
                text: format!("subnet id {id} is used twice"),
            });
        }
        if let Some(p) = prefix_of(s, doc.family) {
            prefixes.push(p);
        }
    }
    prefixes.sort_by_key(|p| (p.0.network(), p.0.prefix_len()));
    let mut open: Option<Prefix> = None;
    for p in &prefixes {
        if let Some(o) = &open
            && o.overlaps(p)
        {
            out.insert(Problem {
                conflict: true,
                text: if o == p {
                    format!(
                        "A scope with address \"{}\" already exists on the server",
                        p.0.network()
                    )
                } else {
                    format!("subnet {} overlaps subnet {}", p.0, o.0)
                },
            });
            if p.0.broadcast() <= o.0.broadcast() {
                continue;
            }
        }
        open = Some(*p);
    }
    out
}

/// When `base` and `new` differ only in some of their subnets (nothing a subnet inherits or
/// names — the global level, shared networks, classes, option definitions — changed): both
/// with every other subnet left out. A subnet that did not change has the same problems in
/// both, so only the changed ones need checking; the checks that relate a subnet to all the
/// others are [`cross_problems`]. `None` when the whole configuration must be checked.
fn only_changed_subnets(base: &ConfigDoc, new: &ConfigDoc) -> Option<(ConfigDoc, ConfigDoc)> {
    let sk = base.family.subnet_key();
    let (b, n) = (base.root(), new.root());
    // Everything but the subnets, the same on both sides.
    let same_outside = |b: &Obj, n: &Obj| {
        b.len() == n.len()
            && b.iter().all(|(k, v)| {
                k == sk
                    || match (k.as_str(), n.get(k)) {
                        (_, None) => false,
                        ("shared-networks", Some(nv)) => {
                            let (Some(bn), Some(nn)) = (v.as_array(), nv.as_array()) else {
                                return v == nv;
                            };
                            bn.len() == nn.len()
                                && bn.iter().zip(nn).all(|(x, y)| {
                                    match (x.as_object(), y.as_object()) {
                                        (Some(x), Some(y)) => {
                                            x.len() == y.len()
                                                && x.iter()
                                                    .all(|(k, v)| k == sk || y.get(k) == Some(v))
                                        }
                                        _ => x == y,
                                    }
                                })
                        }
                        (_, Some(nv)) => v == nv,
                    }
            })
    };
    if !same_outside(b, n) {
        return None;
    }
    // Where each subnet of the base is, by id.
    let mut by_id: std::collections::HashMap<u64, (super::SubnetLoc, &Obj)> =
        std::collections::HashMap::new();
    for loc in base.subnet_locs() {
        let s = base.subnet(loc);
        if let Some(id) = s.get("id").and_then(Value::as_u64)
            && by_id.insert(id, (loc, s)).is_some()
        {
            // Ids used twice: leave it to the whole check.
            return None;
        }
    }
    let network = |loc: super::SubnetLoc| match loc {
        super::SubnetLoc::Top(_) => None,
        super::SubnetLoc::Network(n, _) => Some(n),
    };
    let mut changed: Vec<(super::SubnetLoc, Option<super::SubnetLoc>)> = Vec::new();
    for loc in new.subnet_locs() {
        let s = new.subnet(loc);
        let was = s
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| by_id.get(&id));
        match was {
            Some((bloc, bs)) if network(*bloc) == network(loc) && *bs == s => {}
            Some((bloc, _)) => changed.push((loc, Some(*bloc))),
            None => changed.push((loc, None)),
        }
    }
    // The same skeleton on each side, with the changed subnets only.
    let skeleton = |doc: &ConfigDoc| {
        let mut root = Obj::new();
        for (k, v) in doc.root() {
            if k == sk {
                root.insert(k.clone(), Value::Array(Vec::new()));
            } else if k == "shared-networks" {
                let nets = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|net| match net.as_object() {
                                Some(m) => Value::Object(
                                    m.iter()
                                        .map(|(k, v)| {
                                            if k == sk {
                                                (k.clone(), Value::Array(Vec::new()))
                                            } else {
                                                (k.clone(), v.clone())
                                            }
                                        })
                                        .collect(),
                                ),
                                None => net.clone(),
                            })
                            .collect()
                    })
                    .map_or_else(|| v.clone(), Value::Array);
                root.insert(k.clone(), nets);
            } else {
                root.insert(k.clone(), v.clone());
            }
        }
        let mut value = serde_json::Map::new();
        value.insert(doc.family.root_key().to_string(), Value::Object(root));
        ConfigDoc {
            family: doc.family,
            value: Value::Object(value),
            version: doc.version,
        }
    };
    let place = |doc: &mut ConfigDoc, loc: super::SubnetLoc, s: &Obj| {
        let list = match loc {
            super::SubnetLoc::Top(_) => doc.root_mut().get_mut(sk),
            super::SubnetLoc::Network(n, _) => doc.root_mut()["shared-networks"][n].get_mut(sk),
        };
        if let Some(Value::Array(a)) = list {
            a.push(Value::Object(s.clone()));
        }
    };
    let (mut rb, mut rn) = (skeleton(base), skeleton(new));
    for (loc, bloc) in changed {
        place(&mut rn, loc, new.subnet(loc));
        if let Some(bloc) = bloc {
            place(&mut rb, bloc, base.subnet(bloc));
        }
    }
    Some((rb, rn))
}

/// Fails with the first problem `new` has that `base` did not have. When only some subnets
/// changed, only they are checked (with every subnet for ids and overlaps): a change to one
/// subnet of 10,000 does not check the other 9,999 twice.
pub fn validate(base: &ConfigDoc, new: &ConfigDoc) -> Result<(), KeaError> {
    let (after, before): (BTreeSet<Problem>, Box<dyn Fn() -> BTreeSet<Problem>>) =
        match only_changed_subnets(base, new) {
            Some((rb, rn)) => {
                let mut after = problems(&rn);
                after.extend(cross_problems(new));
                (
                    after,
                    Box::new(move || {
                        let mut before = problems(&rb);
                        before.extend(cross_problems(base));
                        before
                    }),
                )
            }
            None => (problems(new), Box::new(|| problems(base))),
        };
    if after.is_empty() {
        return Ok(());
    }
    let before = before();
    match after.difference(&before).next() {
        None => Ok(()),
        Some(p) => Err(KeaError::new(
            if p.conflict {
                ErrorKind::Conflict
            } else {
                ErrorKind::Invalid
            },
            p.text.clone(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::*;
    use serde_json::json;

    #[test]
    fn only_new_problems_count() {
        let base = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [
                {"id": 1, "subnet": "10.0.0.0/24"}, {"id": 2, "subnet": "10.0.0.0/25"}]}}),
        )
        .unwrap();
        let mut new = base.clone();
        new.root_mut().insert("valid-lifetime".into(), json!(600));
        assert!(validate(&base, &new).is_ok(), "the old overlap is not ours");
        new.root_mut()["subnet4"][0]["client-class"] = json!("ghost");
        let e = validate(&base, &new).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.message.contains("\"ghost\""), "{}", e.message);
        let mut new = base.clone();
        new.root_mut()["subnet4"][0]["option-data"] = json!([{"name": "nope", "data": "1"}]);
        assert_eq!(validate(&base, &new).unwrap_err().kind, ErrorKind::Invalid);
        let mut new = base.clone();
        new.root_mut()["subnet4"][0]["client-class"] = json!("HA_server1");
        assert!(validate(&base, &new).is_ok(), "built-in classes exist");
    }

    #[test]
    fn when_only_subnets_change_only_they_are_checked_and_overlaps_still_span_all() {
        let base = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "client-classes": [{"name": "a"}],
                "subnet4": [
                    {"id": 1, "subnet": "10.0.0.0/24", "client-class": "ghost"},
                    {"id": 2, "subnet": "10.1.0.0/24"}],
                "shared-networks": [{"name": "n", "subnet4": [{"id": 3, "subnet": "10.2.0.0/24"}]}]}}),
        )
        .unwrap();
        let add = |new: &mut ConfigDoc, s: Value| {
            new.root_mut()["subnet4"].as_array_mut().unwrap().push(s);
        };
        // The changed subnets alone, on the same skeleton.
        let mut new = base.clone();
        add(&mut new, json!({"id": 4, "subnet": "10.3.0.0/24"}));
        let (rb, rn) = only_changed_subnets(&base, &new).unwrap();
        assert_eq!(
            rn.root()["subnet4"],
            json!([{"id": 4, "subnet": "10.3.0.0/24"}])
        );
        assert_eq!(rb.root()["subnet4"], json!([]));
        assert_eq!(rn.root()["shared-networks"][0]["subnet4"], json!([]));
        assert!(
            validate(&base, &new).is_ok(),
            "subnet 1's ghost class is not ours"
        );
        // Overlapping a subnet that did not change, in a shared network or not.
        for p in ["10.1.0.0/25", "10.2.0.128/25"] {
            let mut new = base.clone();
            add(&mut new, json!({"id": 4, "subnet": p}));
            let e = validate(&base, &new).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Conflict, "{p}");
            assert!(e.message.contains("overlaps"), "{p}: {}", e.message);
        }
        let mut new = base.clone();
        add(&mut new, json!({"id": 2, "subnet": "10.9.0.0/24"}));
        assert!(
            validate(&base, &new)
                .unwrap_err()
                .message
                .contains("id 2 is used twice")
        );
        // A problem of its own in the changed subnet.
        let mut new = base.clone();
        new.root_mut()["shared-networks"][0]["subnet4"][0]["client-class"] = json!("nope");
        let e = validate(&base, &new).unwrap_err();
        assert!(e.message.contains("\"nope\""), "{}", e.message);
        // Anything outside the subnets changed: the whole configuration is checked.
        let mut new = base.clone();
        new.root_mut().insert("renew-timer".into(), json!(5000));
        assert!(only_changed_subnets(&base, &new).is_none());
        assert!(
            validate(&base, &new).is_err(),
            "renew-timer above valid-lifetime everywhere"
        );
    }
}
