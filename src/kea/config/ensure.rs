//! Idempotent changes (`ensure_subnet`, `ensure_pool`, `ensure_class`, `ensure_option`,
//! `ensure_option_def`, `ensure_reservation`): given the current configuration and the desired object, whether
//! to create it, update it (only the keys named), or leave it alone.
//!
//! The comparison applies the change to a copy with the same functions the edit pipeline
//! uses and compares the object before and after, so Kea's spellings (pool ranges with or
//! without spaces, the two spellings of class keys, option data given as a list) never
//! make an equal object look different; keascript's own bookkeeping in `user-context`
//! (which keys a script set) is left out of the comparison.

use serde_json::{Map, Value};

use super::class_keys::canonical_form;
use super::reservations::{self as rv, ResvKey, ResvScope};
use super::{
    ConfigDoc, Family, OWN_KEY, OptionScope, SubnetKey, classes, net::Range, options, subnets,
};
use crate::kea::{ErrorKind, KeaError};

/// What an `ensure_*` call has to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Ensure {
    /// The object is missing: create it from the desired map.
    Create,
    /// The object differs: send this patch (the keys named, identity keys left out).
    Update(Map<String, Value>),
    /// The object already matches; it is as shown. Nothing is sent.
    Unchanged(Value),
}

impl Ensure {
    /// `created`, `updated` or `unchanged`, as scripts see it.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update(_) => "updated",
            Self::Unchanged(_) => "unchanged",
        }
    }
}

/// A map without keascript's bookkeeping and in one class-key spelling, for comparing.
fn comparable(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut c = canonical_form(m).into_owned();
            if let Some(Value::Object(u)) = c.get_mut("user-context") {
                u.remove(OWN_KEY);
                if u.is_empty() {
                    c.remove("user-context");
                }
            }
            for (k, inner) in c.iter_mut() {
                *inner = match (k.as_str(), &*inner) {
                    // "10.0.0.10 - 10.0.0.20" and "10.0.0.10-10.0.0.20" are one pool.
                    ("pool", Value::String(r)) => {
                        Value::String(r.chars().filter(|c| !c.is_whitespace()).collect())
                    }
                    _ => comparable(inner),
                };
            }
            Value::Object(c)
        }
        Value::Array(a) => Value::Array(a.iter().map(comparable).collect()),
        other => other.clone(),
    }
}

fn without(m: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut m = m.clone();
    for k in keys {
        m.remove(*k);
    }
    m
}

/// `ensure_subnet(#{ subnet: "10.1.0.0/24", … })`: the subnet is found by its prefix.
pub fn subnet(doc: &ConfigDoc, desired: &Map<String, Value>) -> Result<Ensure, KeaError> {
    let prefix = desired
        .get("subnet")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            KeaError::invalid(
                "ensure_subnet: the map needs the subnet's prefix (subnet: \"10.1.0.0/24\")",
            )
        })?;
    let key = SubnetKey::parse(prefix, doc.family)?;
    let loc = match doc.find_subnet(&key) {
        Ok(loc) => loc,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Ensure::Create),
        Err(e) => return Err(e),
    };
    let current = Value::Object(doc.subnet(loc).clone());
    let patch = without(desired, &["subnet"]);
    let mut copy = doc.clone();
    let after = subnets::update_subnet(&mut copy, &key, &patch)?;
    Ok(decide(current, &after, patch))
}

/// `ensure_pool(subnet, "10.1.0.100-10.1.0.200")`: the pool is found by its range (however
/// it is spelled); the subnet must exist. Nothing but the range: an existing pool is left
/// as it is ([`pool_map`] compares its other keys).
pub fn pool(doc: &ConfigDoc, key: &SubnetKey, range: &str) -> Result<Ensure, KeaError> {
    Range::parse(range, doc.family, "pool")?;
    let loc = doc.find_subnet(key)?;
    match subnets::find_pool(doc, loc, range) {
        Ok(i) => Ok(Ensure::Unchanged(doc.subnet(loc)["pools"][i].clone())),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Ensure::Create),
        Err(e) => Err(e),
    }
}

/// `ensure_pool(subnet, #{ pool: "a - b", option_data: […], client_classes: […] })`: the
/// pool is found by its range (however spelled) in the subnet, which must exist. Created
/// with the keys given; when a key named differs, `Update` carries the subnet's patch: its
/// `pools` as they are, with only this pool's named keys changed (`null` unsets one).
pub fn pool_map(
    doc: &ConfigDoc,
    key: &SubnetKey,
    desired: &Map<String, Value>,
) -> Result<Ensure, KeaError> {
    let range = desired.get("pool").and_then(Value::as_str).ok_or_else(|| {
        KeaError::invalid(format!(
            "ensure_pool: the map needs the pool's range (pool: {})",
            doc.family.example_pool()
        ))
    })?;
    Range::parse(range, doc.family, "pool")?;
    let loc = doc.find_subnet(key)?;
    let i = match subnets::find_pool(doc, loc, range) {
        Ok(i) => i,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Ensure::Create),
        Err(e) => return Err(e),
    };
    let pools = doc.subnet(loc)["pools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let current = pools[i].clone();
    let patch = without(desired, &["pool"]);
    // In one spelling of the class keys, so a limit given either way replaces the other.
    let mut after = canonical_form(current.as_object().unwrap_or(&Map::new())).into_owned();
    for (k, v) in canonical_form(&patch).iter() {
        if v.is_null() {
            after.remove(k);
        } else {
            after.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &patch {
        if v.is_null() {
            after.remove(k);
        }
    }
    match decide(current, &Value::Object(after.clone()), patch) {
        Ensure::Update(_) => {
            let mut pools = pools;
            pools[i] = Value::Object(after);
            let mut subnet_patch = Map::new();
            subnet_patch.insert("pools".into(), Value::Array(pools));
            Ok(Ensure::Update(subnet_patch))
        }
        other => Ok(other),
    }
}

/// `ensure_class(#{ name: "voip", test: "…" })`: the class is found by its name.
pub fn class(doc: &ConfigDoc, desired: &Map<String, Value>) -> Result<Ensure, KeaError> {
    let name = desired
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("ensure_class: the map needs the class's name"))?;
    let Some(i) = classes::find_class(doc, name) else {
        return Ok(Ensure::Create);
    };
    let current = doc.root_array("client-classes")[i].clone();
    let patch = without(desired, &["name"]);
    let mut copy = doc.clone();
    let after = classes::update_class(&mut copy, name, &patch)?;
    Ok(decide(current, &after, patch))
}

/// `ensure_option(scope, spec)`: the option is found by its code and space at the scope
/// (which must exist). An update is a `set_option` of the whole spec.
pub fn option(
    doc: &ConfigDoc,
    scope: &OptionScope,
    spec: &Map<String, Value>,
) -> Result<Ensure, KeaError> {
    let before = options::options_at(doc, scope)?;
    let mut copy = doc.clone();
    let stored = options::set_option(&mut copy, scope, spec)?;
    let after = options::options_at(&copy, scope)?;
    let same_option = |o: &Value| {
        o.get("code") == stored.get("code")
            && o.get("space")
                .and_then(Value::as_str)
                .unwrap_or(doc.family.option_space())
                == stored
                    .get("space")
                    .and_then(Value::as_str)
                    .unwrap_or(doc.family.option_space())
    };
    let existing = before.iter().find(|o| same_option(o)).cloned();
    Ok(match existing {
        None => Ensure::Create,
        Some(e)
            if comparable(&Value::Array(before.clone())) == comparable(&Value::Array(after)) =>
        {
            Ensure::Unchanged(e)
        }
        Some(_) => Ensure::Update(spec.clone()),
    })
}

/// `ensure_option_def(#{ code, name, type, space? … })`: found by code and space.
pub fn option_def(doc: &ConfigDoc, desired: &Map<String, Value>) -> Result<Ensure, KeaError> {
    let code = desired
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| *c <= u16::MAX as u64)
        .ok_or_else(|| {
            KeaError::invalid("ensure_option_def: the map needs the option's code (1–65535)")
        })? as u16;
    let space = desired
        .get("space")
        .and_then(Value::as_str)
        .unwrap_or(doc.family.option_space())
        .to_string();
    let Some(current) = doc
        .root_array("option-def")
        .iter()
        .find(|d| {
            d.get("code").and_then(Value::as_u64) == Some(code as u64)
                && d.get("space")
                    .and_then(Value::as_str)
                    .unwrap_or(doc.family.option_space())
                    == space
        })
        .cloned()
    else {
        return Ok(Ensure::Create);
    };
    let patch = without(desired, &["code", "space"]);
    let mut copy = doc.clone();
    let after = options::update_option_def(&mut copy, code, &space, &patch)?;
    Ok(decide(current, &after, patch))
}

/// The identifier an `ensure_reservation` map names (exactly one of `hw-address`,
/// `client-id`, `duid`, `circuit-id`, `flex-id`) and the rest of the map (the patch).
pub fn reservation_key(
    desired: &Map<String, Value>,
    family: Family,
) -> Result<(ResvKey, Map<String, Value>), KeaError> {
    let kinds = rv::identifier_kinds(family);
    let named: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| desired.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let [kind] = named[..] else {
        return Err(KeaError::invalid(format!(
            "ensure_reservation: the map needs exactly one identifier ({}), it has {}",
            kinds
                .iter()
                .map(|k| k.replace('-', "_"))
                .collect::<Vec<_>>()
                .join(", "),
            if named.is_empty() {
                "none".to_string()
            } else {
                named.join(", ").replace('-', "_")
            }
        )));
    };
    let value = desired[kind].as_str().ok_or_else(|| {
        KeaError::invalid(format!(
            "ensure_reservation: {} must be a string",
            kind.replace('-', "_")
        ))
    })?;
    let key = ResvKey::ident(kind, value, family)?;
    Ok((key, without(desired, &[kind, "subnet"])))
}

/// `ensure_reservation(#{ subnet?, hw_address, … })`: the reservation is found by its
/// identifier in its scope (global when the map names no subnet, which must exist).
/// `Unchanged` carries the reservation as scripts see it.
pub fn reservation(
    doc: &ConfigDoc,
    scope: &ResvScope,
    desired: &Map<String, Value>,
) -> Result<Ensure, KeaError> {
    let (key, patch) = reservation_key(desired, doc.family)?;
    let Some(at) = rv::find(doc, Some(scope), &key)? else {
        return Ok(Ensure::Create);
    };
    let current = Value::Object(rv::meaningful(rv::at(doc, at)));
    let mut copy = doc.clone();
    let mut after = rv::update(&mut copy, Some(scope), &key, &patch)?;
    if let Some(a) = after.as_object_mut() {
        a.remove("subnet");
    }
    Ok(match decide(current, &after, patch) {
        Ensure::Unchanged(_) => Ensure::Unchanged(rv::view(doc, at)),
        other => other,
    })
}

/// The same decision for a reservation kept in a hosts database: `current` is the host as
/// Kea's `reservation-get` shows it (`None`: missing).
pub fn reservation_in_database(
    current: Option<Value>,
    desired: &Map<String, Value>,
    family: Family,
) -> Result<Ensure, KeaError> {
    let (_, patch) = reservation_key(desired, family)?;
    let Some(current) = current else {
        return Ok(Ensure::Create);
    };
    let mut have = current.clone();
    if let Some(h) = have.as_object_mut() {
        h.remove("subnet");
    }
    let removes = patch
        .iter()
        .any(|(k, v)| v.is_null() && have.get(k).is_some_and(|c| !c.is_null()));
    let wanted = Value::Object(rv::meaningful(&patch));
    Ok(
        if patch.is_empty() || (!removes && contained(&comparable(&wanted), &comparable(&have))) {
            Ensure::Unchanged(current)
        } else {
            Ensure::Update(patch)
        },
    )
}

/// Unchanged when everything in the object after the patch is already in the one before
/// (Kea's echoes add defaults to what a script wrote: a pool written as
/// `#{ pool: "…" }` comes back with `option-data: []`), and no key the patch removes
/// (`null`) is there.
fn decide(current: Value, after: &Value, patch: Map<String, Value>) -> Ensure {
    let removes = patch
        .iter()
        .any(|(k, v)| v.is_null() && current.get(k).is_some_and(|c| !c.is_null()));
    if patch.is_empty() || (!removes && contained(&comparable(after), &comparable(&current))) {
        Ensure::Unchanged(current)
    } else {
        Ensure::Update(patch)
    }
}

/// Whether everything `a` says, `b` says too: the keys of a map (recursively), the items
/// of a list (same length, in order), any other value equal.
fn contained(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.iter().all(|(k, v)| {
            y.get(k).is_some_and(|w| {
                if UNORDERED.contains(&k.as_str()) {
                    same_set(v, w)
                } else {
                    contained(v, w)
                }
            }) || (v.is_null() && !y.contains_key(k))
        }),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| contained(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Lists whose order means nothing: a v6 reservation's addresses and prefixes (Kea may
/// hand them back in another order).
const UNORDERED: &[&str] = &["ip-addresses", "prefixes", "excluded-prefixes"];

/// The same items in any order; addresses and prefixes compared by value
/// (`2001:db8::0050` is `2001:db8::50`).
fn same_set(a: &Value, b: &Value) -> bool {
    let items = |v: &Value| -> Option<Vec<String>> {
        let mut out: Vec<String> = v
            .as_array()?
            .iter()
            .map(|i| match i.as_str() {
                Some(t) => normal_address(t),
                None => i.to_string(),
            })
            .collect();
        out.sort();
        Some(out)
    };
    match (items(a), items(b)) {
        (Some(x), Some(y)) => x == y,
        _ => contained(a, b),
    }
}

/// An address or prefix in its canonical text, else the text as it is.
fn normal_address(t: &str) -> String {
    let t = t.trim();
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return ip.to_string();
    }
    match t.split_once('/') {
        Some((ip, len)) => match (ip.parse::<std::net::IpAddr>(), len.parse::<u8>()) {
            (Ok(ip), Ok(len)) => format!("{ip}/{len}"),
            _ => t.to_string(),
        },
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::Family;
    use serde_json::json;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {
                "subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 3600,
                    "pools": [{"pool": "10.0.0.10 - 10.0.0.20"}],
                    "user-context": {"keascript-own": ["valid-lifetime"]}}],
                "client-classes": [{"name": "voip", "test": "substring(option[60].hex,0,4) == 'voip'"}],
                "option-data": [{"name": "domain-name-servers", "code": 6, "space": "dhcp4",
                    "csv-format": true, "data": "10.0.0.1, 10.0.0.2", "always-send": false}],
                "option-def": [{"name": "tftp", "code": 150, "type": "ipv4-address", "space": "dhcp4",
                    "array": false, "record-types": "", "encapsulate": ""}]
            }}),
        )
        .unwrap()
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn subnets_are_created_updated_or_left_alone() {
        let d = doc();
        assert_eq!(
            subnet(&d, &m(json!({"subnet": "10.9.0.0/24"}))).unwrap(),
            Ensure::Create
        );
        let same = subnet(
            &d,
            &m(json!({"subnet": "10.0.0.0/24", "valid-lifetime": 3600,
            "pools": [{"pool": "10.0.0.10-10.0.0.20"}]})),
        )
        .unwrap();
        assert_eq!(same.action(), "unchanged", "{same:?}");
        let diff = subnet(
            &d,
            &m(json!({"subnet": "10.0.0.0/24", "valid-lifetime": 7200})),
        )
        .unwrap();
        assert_eq!(diff, Ensure::Update(m(json!({"valid-lifetime": 7200}))));
    }

    #[test]
    fn pools_classes_options_and_definitions() {
        let d = doc();
        let k = SubnetKey::parse("10.0.0.0/24", Family::V4).unwrap();
        assert_eq!(
            pool(&d, &k, "10.0.0.10-10.0.0.20").unwrap().action(),
            "unchanged"
        );
        assert_eq!(pool(&d, &k, "10.0.0.30-10.0.0.40").unwrap(), Ensure::Create);
        assert_eq!(
            class(
                &d,
                &m(json!({"name": "voip", "test": "substring(option[60].hex,0,4) == 'voip'"}))
            )
            .unwrap()
            .action(),
            "unchanged"
        );
        assert_eq!(
            class(&d, &m(json!({"name": "voip", "test": "member('ALL')"})))
                .unwrap()
                .action(),
            "updated"
        );
        assert_eq!(
            class(&d, &m(json!({"name": "printers"}))).unwrap(),
            Ensure::Create
        );
        let o = |data: Value| {
            option(
                &d,
                &OptionScope::Global,
                &m(json!({"name": "domain-name-servers", "data": data})),
            )
            .unwrap()
            .action()
        };
        assert_eq!(o(json!("10.0.0.1, 10.0.0.2")), "unchanged");
        assert_eq!(o(json!(["10.0.0.1", "10.0.0.2"])), "unchanged");
        assert_eq!(o(json!("10.0.0.3")), "updated");
        assert_eq!(
            option(
                &d,
                &OptionScope::Global,
                &m(json!({"name": "routers", "data": "10.0.0.1"}))
            )
            .unwrap(),
            Ensure::Create
        );
        assert_eq!(
            option_def(
                &d,
                &m(json!({"code": 150, "name": "tftp", "type": "ipv4-address"}))
            )
            .unwrap()
            .action(),
            "unchanged"
        );
        assert_eq!(
            option_def(
                &d,
                &m(json!({"code": 150, "name": "tftp", "type": "ipv4-address", "array": true}))
            )
            .unwrap()
            .action(),
            "updated"
        );
        assert_eq!(
            option_def(&d, &m(json!({"code": 151, "name": "x", "type": "uint8"}))).unwrap(),
            Ensure::Create
        );
    }

    #[test]
    fn a_pool_map_compares_only_the_keys_named() {
        let d = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24", "pools": [
                {"pool": "10.0.0.10 - 10.0.0.20", "client-class": "voip",
                 "option-data": [{"name": "routers", "data": "10.0.0.1"}]},
                {"pool": "10.0.0.30 - 10.0.0.40"}]}]}}),
        )
        .unwrap();
        let k = SubnetKey::parse("10.0.0.0/24", Family::V4).unwrap();
        let go = |v: Value| pool_map(&d, &k, &m(v)).unwrap();
        // Same range in another spelling, class in the other spelling, keys not named.
        assert_eq!(
            go(json!({"pool": "10.0.0.10-10.0.0.20", "client-classes": ["voip"]})).action(),
            "unchanged"
        );
        assert_eq!(go(json!({"pool": "10.0.0.50-10.0.0.60"})), Ensure::Create);
        let Ensure::Update(p) = go(json!({"pool": "10.0.0.10-10.0.0.20",
            "option-data": [{"name": "routers", "data": "10.0.0.2"}]}))
        else {
            panic!("an update")
        };
        // Both pools kept; only the named key of the first changed, its class kept.
        let pools = p["pools"].as_array().unwrap();
        assert_eq!(pools.len(), 2);
        assert_eq!(pools[0]["option-data"][0]["data"], "10.0.0.2");
        assert_eq!(pools[0]["client-classes"], json!(["voip"]));
        assert_eq!(pools[1]["pool"], "10.0.0.30 - 10.0.0.40");
        assert!(pool_map(&d, &k, &m(json!({"option-data": []}))).is_err());
    }

    #[test]
    fn reservations_are_found_by_their_identifier_in_their_scope() {
        let d = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
                "reservations": [{"hw-address": "aa:bb:cc:dd:ee:01", "ip-address": "10.0.0.50",
                    "hostname": "a", "next-server": "0.0.0.0", "client-classes": []}]}]}}),
        )
        .unwrap();
        let s1 = ResvScope::Subnet(SubnetKey::parse("10.0.0.0/24", Family::V4).unwrap());
        let r = |v: Value, scope: &ResvScope| reservation(&d, scope, &m(v)).unwrap();
        // The identifier in another spelling is the same reservation.
        let same = r(
            json!({"hw-address": "AA:BB:CC:DD:EE:01", "ip-address": "10.0.0.50", "hostname": "a"}),
            &s1,
        );
        assert_eq!(same.action(), "unchanged", "{same:?}");
        assert_eq!(
            r(
                json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "b"}),
                &s1
            ),
            Ensure::Update(m(json!({"hostname": "b"})))
        );
        // Not in the global scope: created there.
        assert_eq!(
            r(
                json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "a"}),
                &ResvScope::Global
            ),
            Ensure::Create
        );
        assert_eq!(
            r(
                json!({"hw-address": "aa:bb:cc:dd:ee:02", "hostname": "c"}),
                &s1
            ),
            Ensure::Create
        );
        for bad in [
            json!({"hostname": "x"}),
            json!({"hw-address": "aa:bb:cc:dd:ee:01", "flex-id": "01:02", "hostname": "x"}),
        ] {
            let e = reservation(&d, &s1, &m(bad)).unwrap_err();
            assert!(
                e.message.contains("exactly one identifier"),
                "{}",
                e.message
            );
        }
        // A hosts database's answer is compared the same way.
        let host = json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "a", "subnet": 1});
        let desired = m(json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "a"}));
        assert_eq!(
            reservation_in_database(Some(host.clone()), &desired, Family::V4)
                .unwrap()
                .action(),
            "unchanged"
        );
        let changed = m(json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "z"}));
        assert_eq!(
            reservation_in_database(Some(host), &changed, Family::V4)
                .unwrap()
                .action(),
            "updated"
        );
    }

    #[test]
    fn v6_reservations_by_duid() {
        let d = ConfigDoc::new(
            Family::V6,
            json!({"Dhcp6": {"subnet6": [{"id": 1, "subnet": "2001:db8:1::/64",
                "reservations": [{"duid": "01:02:03:04", "ip-addresses": ["2001:db8:1::50"]}]}]}}),
        )
        .unwrap();
        let s1 = ResvScope::Subnet(SubnetKey::parse("2001:db8:1::/64", Family::V6).unwrap());
        let go = |v: Value| reservation(&d, &s1, &m(v)).unwrap().action();
        assert_eq!(
            go(json!({"duid": "01:02:03:04", "ip-addresses": ["2001:db8:1::50"]})),
            "unchanged"
        );
        assert_eq!(
            go(json!({"duid": "01:02:03:04", "ip-addresses": ["2001:db8:1::51"]})),
            "updated"
        );
        assert_eq!(
            go(json!({"duid": "01:02:03:05", "hostname": "h"})),
            "created"
        );
        // Two addresses and prefixes in another order (and spelling) are the same.
        let d = ConfigDoc::new(
            Family::V6,
            json!({"Dhcp6": {"subnet6": [{"id": 1, "subnet": "2001:db8:1::/64",
                "reservations": [{"duid": "01:02:03:04",
                    "ip-addresses": ["2001:db8:1::50", "2001:db8:1::51"],
                    "prefixes": ["2001:db8:2:1::/64", "2001:db8:2::/64"]}]}]}}),
        )
        .unwrap();
        let go = |v: Value| reservation(&d, &s1, &m(v)).unwrap().action();
        assert_eq!(
            go(json!({"duid": "01:02:03:04",
                "ip-addresses": ["2001:db8:1::0051", "2001:db8:1::50"],
                "prefixes": ["2001:db8:2::/64", "2001:db8:2:1::/64"]})),
            "unchanged"
        );
        assert_eq!(
            go(json!({"duid": "01:02:03:04", "ip-addresses": ["2001:db8:1::50"]})),
            "updated"
        );
    }
}
