//! Undoing one recorded change: from an audit entry (its kind, key, and the object before
//! and after), the configuration that puts that object back the way it was, computed on
//! the server's running configuration so every other change stays.
//!
//! Refused as `unsupported` for what is not configuration (`lease`, `ha`, `command`), and
//! as `conflict` when the object runs differently from the entry's `after` (someone changed
//! it later): undoing then would wipe the later change. Secrets are compared and stored
//! redacted; the value put back gets each redacted secret from the running object at the
//! same place (`conflict` when it is gone).

use serde_json::{Map, Value};

use super::audit::AuditEntry;
use super::config::options::{OptionScope, option_list_mut};
use super::config::reservations::{self, ResvKey, ResvScope};
use super::config::{ConfigDoc, Family, SubnetKey, classes, networks, pd_pools, settings, subnets};
use super::snapshots::fill_secrets;
use super::{ErrorKind, KeaError, redact};

/// Kinds of change that are not configuration and cannot be undone.
pub const NOT_UNDOABLE: &[&str] = &["lease", "ha", "command"];

/// Whether an entry can be undone at all (before reading any server).
pub fn check_undoable(e: &AuditEntry) -> Result<(), KeaError> {
    let id = e.id.as_deref().unwrap_or("?");
    if NOT_UNDOABLE.contains(&e.kind.as_str()) {
        return Err(KeaError::new(
            ErrorKind::Unsupported,
            format!(
                "change {id} is a {} change ({} {}): only configuration changes can be undone",
                e.kind, e.action, e.key
            ),
        ));
    }
    if e.resolves.is_some() || e.key == "in-flight" {
        return Err(KeaError::invalid(format!(
            "entry {id} records how an unknown outcome was settled, not a change; undo the change it resolves"
        )));
    }
    if e.outcome != "ok" && e.outcome != "unknown" {
        return Err(KeaError::invalid(format!(
            "change {id} ended with outcome {}: it changed nothing to undo",
            e.outcome
        )));
    }
    if e.service.is_none() {
        return Err(KeaError::invalid(format!("change {id} names no service")));
    }
    Ok(())
}

/// The identity of the object in the entry (from its `after`, else its `before`).
fn object(e: &AuditEntry) -> &Value {
    if e.after.is_null() {
        &e.before
    } else {
        &e.after
    }
}

/// Where the object of an entry is in a configuration.
enum Place {
    Subnet(u64),
    Pool(SubnetKey, String),
    Class(String),
    /// A reservation in its scope, by its identifier (the one it has after the change).
    Reservation(ResvScope, ResvKey),
    /// A shared network by name, with its subnets.
    Network(String),
    /// A PD pool by its prefix (`2001:db8:8::/56`) in its subnet.
    PdPool(SubnetKey, String),
    Options(OptionScope),
    OptionDef(u64, String),
    Settings(Vec<String>),
    Whole,
}

fn place(e: &AuditEntry, family: Family) -> Result<Place, KeaError> {
    let obj = object(e);
    let bad = || {
        KeaError::invalid(format!(
            "change {}: cannot tell which {} \"{}\" it was about",
            e.id.as_deref().unwrap_or("?"),
            e.kind,
            e.key
        ))
    };
    Ok(match e.kind.as_str() {
        "subnet" => Place::Subnet(obj.get("id").and_then(Value::as_u64).ok_or_else(bad)?),
        "pool" => {
            let (k, r) = subnet_and(&e.key, family).ok_or_else(bad)?;
            Place::Pool(k, r)
        }
        "class" => Place::Class(
            obj.get("name")
                .and_then(Value::as_str)
                .ok_or_else(bad)?
                .to_string(),
        ),
        "reservation" if e.action == "import" => {
            return Err(KeaError::new(
                ErrorKind::Unsupported,
                format!(
                    "change {}: an import of reservations ({}) is not undone one reservation at a time; `keascript restore` puts back the whole configuration kept before it",
                    e.id.as_deref().unwrap_or("?"),
                    e.key
                ),
            ));
        }
        "reservation" => {
            let (scope, key) = reservations::identity_of_view(obj).ok_or_else(bad)?;
            Place::Reservation(scope, key)
        }
        "shared_network" => Place::Network(
            obj.get("name")
                .and_then(Value::as_str)
                .ok_or_else(bad)?
                .to_string(),
        ),
        "pd_pool" => {
            let (k, p) = subnet_and(&e.key, family).ok_or_else(bad)?;
            Place::PdPool(k, p)
        }
        "option" => {
            let (_, scope) = e.key.rsplit_once(" at ").ok_or_else(bad)?;
            Place::Options(parse_scope(scope, family).ok_or_else(bad)?)
        }
        "option_def" => Place::OptionDef(
            obj.get("code").and_then(Value::as_u64).ok_or_else(bad)?,
            obj.get("space")
                .and_then(Value::as_str)
                .unwrap_or(family.option_space())
                .to_string(),
        ),
        "settings" => Place::Settings(
            obj.as_object()
                .ok_or_else(bad)?
                .keys()
                .cloned()
                .chain(
                    e.before
                        .as_object()
                        .into_iter()
                        .flat_map(|m| m.keys().cloned()),
                )
                .collect(),
        ),
        "config" => Place::Whole,
        kind if super::audit::KINDS.contains(&kind) => {
            return Err(KeaError::new(
                ErrorKind::Unsupported,
                format!(
                    "change {}: undo does not put back {kind} changes yet ({} {}); `keascript restore` puts back the whole configuration kept before it",
                    e.id.as_deref().unwrap_or("?"),
                    e.action,
                    e.key
                ),
            ));
        }
        _ => return Err(bad()),
    })
}

/// A key `"<subnet> <range or prefix>"` as audited: the subnet as [`SubnetKey`]'s `Display`
/// writes it (`id 1`, or its prefix), then the pool.
fn subnet_and(key: &str, family: Family) -> Option<(SubnetKey, String)> {
    let (k, rest) = key.rsplit_once(' ')?;
    let k = k.strip_prefix("id ").unwrap_or(k);
    Some((SubnetKey::parse(k, family).ok()?, rest.to_string()))
}

/// An option scope as [`OptionScope`]'s `Display` writes it.
fn parse_scope(s: &str, family: Family) -> Option<OptionScope> {
    if s == "global" {
        return Some(OptionScope::Global);
    }
    if let Some(c) = s.strip_prefix("class \"").and_then(|c| c.strip_suffix('"')) {
        return Some(OptionScope::Class(c.to_string()));
    }
    if let Some(rest) = s.strip_prefix("pool ") {
        let (pool, key) = rest.rsplit_once(" of subnet ")?;
        return Some(OptionScope::Pool(
            SubnetKey::parse(key, family).ok()?,
            pool.to_string(),
        ));
    }
    let key = s.strip_prefix("subnet ")?;
    Some(OptionScope::Subnet(SubnetKey::parse(key, family).ok()?))
}

/// The object at `place` in `doc` (`null` when absent).
fn current(doc: &ConfigDoc, place: &Place) -> Value {
    let family = doc.family;
    match place {
        Place::Subnet(id) => doc
            .find_subnet(&SubnetKey::Id(*id))
            .ok()
            .map_or(Value::Null, |l| Value::Object(doc.subnet(l).clone())),
        Place::Pool(k, r) => doc
            .find_subnet(k)
            .ok()
            .and_then(|l| {
                let i = subnets::find_pool(doc, l, r).ok()?;
                Some(doc.subnet(l)["pools"][i].clone())
            })
            .unwrap_or(Value::Null),
        Place::Class(n) => classes::find_class(doc, n)
            .map_or(Value::Null, |i| doc.root_array("client-classes")[i].clone()),
        Place::Reservation(scope, key) => reservations::find(doc, Some(scope), key)
            .ok()
            .flatten()
            .map_or(Value::Null, |at| reservations::view(doc, at)),
        Place::Network(n) => networks::find(doc, n).map_or(Value::Null, |i| {
            doc.root_array("shared-networks")[i].clone()
        }),
        Place::PdPool(k, p) => pd_pools::find(doc, k, p)
            .ok()
            .and_then(|i| {
                let l = doc.find_subnet(k).ok()?;
                Some(doc.subnet(l)["pd-pools"][i].clone())
            })
            .unwrap_or(Value::Null),
        Place::Options(scope) => super::config::options::options_at(doc, scope)
            .map(Value::Array)
            .unwrap_or(Value::Null),
        Place::OptionDef(code, space) => doc
            .root_array("option-def")
            .iter()
            .find(|d| def_is(d, *code, space, family))
            .cloned()
            .unwrap_or(Value::Null),
        Place::Settings(keys) => {
            let all = settings::settings(doc);
            Value::Object(
                keys.iter()
                    .filter_map(|k| all.get(k).map(|v| (k.clone(), v.clone())))
                    .collect(),
            )
        }
        Place::Whole => doc.value.clone(),
    }
}

fn def_is(d: &Value, code: u64, space: &str, family: Family) -> bool {
    d.get("code").and_then(Value::as_u64) == Some(code)
        && d.get("space")
            .and_then(Value::as_str)
            .unwrap_or(family.option_space())
            == space
}

/// Puts `value` at `place` (`null`: removes the object).
fn put(doc: &mut ConfigDoc, place: &Place, value: Value) -> Result<(), KeaError> {
    let family = doc.family;
    match place {
        Place::Subnet(id) => {
            let at = doc.find_subnet(&SubnetKey::Id(*id)).ok();
            match (at, value) {
                (Some(l), Value::Null) => {
                    doc.remove_subnet(l);
                }
                (Some(l), Value::Object(m)) => *doc.subnet_mut(l) = m,
                (Some(_), _) => return Err(KeaError::invalid("a subnet is a map")),
                (None, Value::Null) => {}
                (None, v) => doc.root_array_mut(family.subnet_key()).push(v),
            }
        }
        Place::Pool(k, r) => {
            let l = doc.find_subnet(k)?;
            let i = subnets::find_pool(doc, l, r).ok();
            let s = doc.subnet_mut(l);
            let pools = s
                .entry("pools")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .ok_or_else(|| KeaError::invalid("pools is not a list"))?;
            put_at(pools, i, value);
        }
        Place::Class(n) => {
            let i = classes::find_class(doc, n);
            let list = doc.root_array_mut("client-classes");
            put_at(list, i, value);
        }
        Place::Reservation(scope, key) => {
            reservations::put(doc, scope, key, value.as_object())?;
        }
        Place::Network(n) => {
            let i = networks::find(doc, n);
            let list = doc.root_array_mut("shared-networks");
            put_at(list, i, value);
        }
        Place::PdPool(k, p) => {
            let i = pd_pools::find(doc, k, p).ok();
            let l = doc.find_subnet(k)?;
            let pools = doc
                .subnet_mut(l)
                .entry("pd-pools")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .ok_or_else(|| KeaError::invalid("pd-pools is not a list"))?;
            put_at(pools, i, value);
        }
        Place::Options(scope) => {
            let list = option_list_mut(doc, scope)?;
            *list = match value {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
        }
        Place::OptionDef(code, space) => {
            let list = doc.root_array_mut("option-def");
            let i = list.iter().position(|d| def_is(d, *code, space, family));
            put_at(list, i, value);
        }
        Place::Settings(_) => {
            let m = value.as_object().cloned().unwrap_or_default();
            let root = doc.root_mut();
            for (k, v) in m {
                if v.is_null() {
                    root.remove(&k);
                } else {
                    root.insert(k, v);
                }
            }
        }
        Place::Whole => {
            *doc = ConfigDoc::new(family, value)?.with_version(doc.version);
        }
    }
    Ok(())
}

/// `v` as compared: redacted, and (for a whole configuration) without Kea's `hash`.
fn comparable(v: &Value) -> Value {
    let mut v = redact::value(v);
    if let Some(m) = v.as_object_mut() {
        m.remove("hash");
    }
    v
}

/// Whether the running object `now` is the one recorded: equal, but for the empty
/// values Kea fills in when it takes an object (`"4o6-interface": ""`, `"option-data": []`,
/// `"relay": {"ip-addresses": []}`) that the recorded one, as sent, does not have.
fn same_object(now: &Value, recorded: &Value) -> bool {
    match (now, recorded) {
        (Value::Object(n), Value::Object(r)) => {
            n.keys()
                .chain(r.keys())
                .all(|k| match (n.get(k), r.get(k)) {
                    (Some(a), Some(b)) => same_object(a, b),
                    (Some(v), None) | (None, Some(v)) => is_empty(v),
                    (None, None) => true,
                })
        }
        (Value::Array(n), Value::Array(r)) => {
            n.len() == r.len() && n.iter().zip(r).all(|(a, b)| same_object(a, b))
        }
        (a, b) => a == b,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty),
        _ => false,
    }
}

/// The configuration that undoes `e` on `live` (the running configuration, inherited
/// values left out as the pipeline leaves them out), or `conflict` when the object changed
/// since (`later`: the recorded changes after it, newest first, to name them).
pub fn reverted(e: &AuditEntry, live: &ConfigDoc, later: &[AuditEntry]) -> Result<Value, KeaError> {
    check_undoable(e)?;
    let family = live.family;
    let place = place(e, family)?;
    let now = current(live, &place);
    // Settings: only the keys the change changed are compared and put back.
    let (want_now, back) = match (&place, &e.after, &e.before) {
        (Place::Settings(_), Value::Object(a), Value::Object(b)) => {
            let keys: Vec<&String> = a.keys().filter(|k| a.get(*k) != b.get(*k)).collect();
            let pick = |m: &Map<String, Value>| {
                Value::Object(
                    keys.iter()
                        .map(|k| ((*k).clone(), m.get(*k).cloned().unwrap_or(Value::Null)))
                        .collect(),
                )
            };
            (pick(a), pick(b))
        }
        _ => (e.after.clone(), e.before.clone()),
    };
    let now_cmp = match (&place, &now, &want_now) {
        (Place::Settings(_), Value::Object(n), Value::Object(w)) => Value::Object(
            w.keys()
                .map(|k| (k.clone(), n.get(k).cloned().unwrap_or(Value::Null)))
                .collect(),
        ),
        _ => now.clone(),
    };
    let (now_cmp, want_now) = match &place {
        Place::Reservation(..) => (
            reservations::normalized(&now_cmp),
            reservations::normalized(&want_now),
        ),
        _ => (now_cmp, want_now),
    };
    if !same_object(&comparable(&now_cmp), &comparable(&want_now)) {
        tracing::debug!(now = %comparable(&now_cmp), recorded = %comparable(&want_now), "undo: the object differs");
        let id = e.id.as_deref().unwrap_or("?");
        let since: Vec<String> = later
            .iter()
            .filter(|l| l.kind == e.kind && l.key == e.key && l.server == e.server)
            .map(|l| {
                format!(
                    "{} {} by {} at {} (id {})",
                    l.action,
                    l.kind,
                    l.user,
                    l.time,
                    l.id.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let what = if e.key.is_empty() {
            e.kind.clone()
        } else {
            format!("{} {}", e.kind, e.key)
        };
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "{what} on {} changed after change {id} ({}): {}; undoing it would wipe that, so nothing was changed",
                e.server,
                e.time,
                if since.is_empty() {
                    "it differs from what that change left (changed outside keascript, or by a change not recorded)".to_string()
                } else {
                    format!("later: {}", since.join("; "))
                }
            ),
        ));
    }
    let back = if back.is_null() {
        back
    } else {
        fill_secrets(&back, &now)?
    };
    let mut doc = live.clone();
    put(&mut doc, &place, back)?;
    Ok(doc.value)
}

/// Puts `value` at `i` of `list`: replaces the item there, removes it (`null`), or appends
/// it when there is none (nothing for `null`).
fn put_at(list: &mut Vec<Value>, i: Option<usize>, value: Value) {
    match (i, value) {
        (Some(i), Value::Null) => {
            list.remove(i);
        }
        (Some(i), v) => list[i] = v,
        (None, Value::Null) => {}
        (None, v) => list.push(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> ConfigDoc {
        ConfigDoc::new(Family::V4, v).unwrap()
    }

    fn entry(kind: &str, key: &str, before: Value, after: Value) -> AuditEntry {
        let mut e = AuditEntry::new("lab", Some("dhcp4"), kind, key, "update");
        e.id = Some("c1".into());
        e.before = before;
        e.after = after;
        e
    }

    #[test]
    fn puts_back_the_object_and_only_it() {
        let live = doc(json!({"Dhcp4": {"subnet4": [
            {"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 5},
            {"id": 2, "subnet": "10.1.0.0/24"}]}}));
        let e = entry(
            "subnet",
            "1",
            json!({"id": 1, "subnet": "10.0.0.0/24"}),
            json!({"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 5}),
        );
        let v = reverted(&e, &live, &[]).unwrap();
        assert_eq!(
            v["Dhcp4"]["subnet4"][0],
            json!({"id": 1, "subnet": "10.0.0.0/24"})
        );
        assert_eq!(v["Dhcp4"]["subnet4"][1]["id"], 2);
        // An add is undone by removing; a delete by adding back.
        let add = entry(
            "subnet",
            "10.1.0.0/24",
            Value::Null,
            json!({"id": 2, "subnet": "10.1.0.0/24"}),
        );
        let v = reverted(&add, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["subnet4"].as_array().unwrap().len(), 1);
        let del = entry(
            "subnet",
            "3",
            json!({"id": 3, "subnet": "10.3.0.0/24"}),
            Value::Null,
        );
        let v = reverted(&del, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["subnet4"][2]["id"], 3);
        // Changed since: conflict, naming the later change.
        let mut later = entry("subnet", "1", Value::Null, Value::Null);
        later.id = Some("c2".into());
        let stale = entry(
            "subnet",
            "1",
            json!({"id": 1, "subnet": "10.0.0.0/24"}),
            json!({"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 4}),
        );
        let err = reverted(&stale, &live, &[later]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict);
        assert!(err.message.contains("c2"), "{}", err.message);
        // Kea's empty echoes of a new object are not a change.
        let echoed = doc(json!({"Dhcp4": {"subnet4": [
            {"id": 1, "subnet": "10.0.0.0/24", "4o6-interface": "", "option-data": [],
             "relay": {"ip-addresses": []}, "pools": [{"pool": "10.0.0.5-10.0.0.6", "option-data": []}]}]}}));
        let add = entry(
            "subnet",
            "10.0.0.0/24",
            Value::Null,
            json!({"id": 1, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.0.5-10.0.0.6"}]}),
        );
        assert!(reverted(&add, &echoed, &[]).is_ok());
        // Not configuration.
        let lease = entry("lease", "10.0.0.5", Value::Null, Value::Null);
        assert_eq!(
            reverted(&lease, &live, &[]).unwrap_err().kind,
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn secrets_come_back_from_the_running_object() {
        let live = doc(json!({"Dhcp4": {"client-classes": [
            {"name": "c", "user-context": {"api_token": "live-secret", "n": 2}}]}}));
        let e = entry(
            "class",
            "c",
            json!({"name": "c", "user-context": {"api_token": "[redacted]", "n": 1}}),
            json!({"name": "c", "user-context": {"api_token": "[redacted]", "n": 2}}),
        );
        let v = reverted(&e, &live, &[]).unwrap();
        assert_eq!(
            v["Dhcp4"]["client-classes"][0]["user-context"]["api_token"],
            "live-secret"
        );
        assert_eq!(v["Dhcp4"]["client-classes"][0]["user-context"]["n"], 1);
        // Options at a scope, settings.
        let live = doc(
            json!({"Dhcp4": {"valid-lifetime": 7, "subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
            "option-data": [{"name": "routers", "data": "10.0.0.1"}]}]}}),
        );
        let e = entry(
            "option",
            "routers at subnet 1",
            json!([]),
            json!([{"name": "routers", "data": "10.0.0.1"}]),
        );
        let v = reverted(&e, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["subnet4"][0]["option-data"], json!([]));
        let e = entry(
            "settings",
            "valid_lifetime",
            json!({"valid-lifetime": 3}),
            json!({"valid-lifetime": 7}),
        );
        let v = reverted(&e, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["valid-lifetime"], 3);
    }

    #[test]
    fn reservations_networks_and_pd_pools_are_put_back() {
        let live = doc(json!({"Dhcp4": {
            "subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "reservations": [
                {"hw-address": "aa:bb:cc:00:00:02", "hostname": "new", "next-server": "0.0.0.0"},
                {"hw-address": "aa:bb:cc:00:00:09"}]}],
            "shared-networks": [{"name": "n", "valid-lifetime": 8, "subnet4": []}]}}));
        // An update that changed the identifier: found by the new one, the old one back.
        let e = entry(
            "reservation",
            "hw-address aa:bb:cc:00:00:01 in subnet 1",
            json!({"subnet": 1, "hw-address": "aa:bb:cc:00:00:01", "hostname": "old"}),
            json!({"subnet": 1, "hw-address": "AA:BB:CC:00:00:02", "hostname": "new"}),
        );
        let v = reverted(&e, &live, &[]).unwrap();
        assert_eq!(
            v["Dhcp4"]["subnet4"][0]["reservations"],
            json!([{"hw-address": "aa:bb:cc:00:00:01", "hostname": "old"},
                   {"hw-address": "aa:bb:cc:00:00:09"}])
        );
        // Changed since: conflict.
        let stale = entry(
            "reservation",
            "k",
            Value::Null,
            json!({"subnet": 1, "hw-address": "aa:bb:cc:00:00:02", "hostname": "other"}),
        );
        assert_eq!(
            reverted(&stale, &live, &[]).unwrap_err().kind,
            ErrorKind::Conflict
        );
        // A network added: removed; its update: the previous values back.
        let add = entry(
            "shared_network",
            "n",
            Value::Null,
            json!({"name": "n", "valid-lifetime": 8, "subnet4": []}),
        );
        let v = reverted(&add, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["shared-networks"], json!([]));
        let upd = entry(
            "shared_network",
            "n",
            json!({"name": "n", "valid-lifetime": 7, "subnet4": []}),
            json!({"name": "n", "valid-lifetime": 8, "subnet4": []}),
        );
        let v = reverted(&upd, &live, &[]).unwrap();
        assert_eq!(v["Dhcp4"]["shared-networks"][0]["valid-lifetime"], 7);
        // A PD pool, keyed as audited ("id 1 <prefix>").
        let live6 = ConfigDoc::new(
            Family::V6,
            json!({"Dhcp6": {"subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "pd-pools": [
                {"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 64}]}]}}),
        )
        .unwrap();
        let mut add = entry(
            "pd_pool",
            "id 1 2001:db8:9::/56",
            Value::Null,
            json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 64}),
        );
        add.service = Some("dhcp6".into());
        let v = reverted(&add, &live6, &[]).unwrap();
        assert_eq!(v["Dhcp6"]["subnet6"][0]["pd-pools"], json!([]));
    }
}
