//! The hook path of the edit pipeline: when the server has the `subnet_cmds` / `class_cmds`
//! hooks (Kea ≥ 2.7.7 ships them), a single change to a subnet, pool or class is sent as
//! the narrowest command instead of a whole `config-set`.
//!
//! Pools and subnet-level options go through `subnet4-delta-add` / `-delta-del`, which
//! change only what they name. Other subnet changes use `subnet4-update`, which replaces the
//! whole subnet (`reference/kea3/README.md`): it is sent the complete subnet with only the
//! values the subnet owns, so pools are kept and inherited values stay inherited.

use serde_json::{Map, Value, json};

use super::Edit;
use crate::kea::Capabilities;
use crate::kea::config::{ConfigDoc, Family, OptionScope, SubnetKey, SubnetLoc, classes};

/// One command to send.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCommand {
    pub command: String,
    pub arguments: Value,
}

fn cmd(command: String, arguments: Value) -> HookCommand {
    HookCommand { command, arguments }
}

fn v(family: Family) -> &'static str {
    match family {
        Family::V4 => "4",
        Family::V6 => "6",
    }
}

fn subnet_in(doc: &ConfigDoc, key: &SubnetKey) -> Option<Map<String, Value>> {
    doc.find_subnet(key).ok().map(|l| doc.subnet(l).clone())
}

fn subnet_by_id(doc: &ConfigDoc, id: &Value) -> Option<Map<String, Value>> {
    id.as_u64().and_then(|i| subnet_in(doc, &SubnetKey::Id(i)))
}

fn class_in(doc: &ConfigDoc, name: &str) -> Option<Value> {
    classes::find_class(doc, name).map(|i| doc.root_array("client-classes")[i].clone())
}

/// A subnet reduced to what a delta names it by.
fn delta(subnet: &Map<String, Value>, key: &str, items: Vec<Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "id".into(),
        subnet.get("id").cloned().unwrap_or(Value::Null),
    );
    m.insert(
        "subnet".into(),
        subnet.get("subnet").cloned().unwrap_or(Value::Null),
    );
    m.insert(key.into(), Value::Array(items));
    m
}

/// The commands for one edit on the hook path, or `None` when it goes the config path
/// (the server lacks the hook, the inventory forbids hooks, or the edit has no hook
/// command). `base` and `new` are the configuration before and after the edit.
pub fn plan(
    edit: &Edit,
    caps: &Capabilities,
    base: &ConfigDoc,
    new: &ConfigDoc,
    result: &Value,
) -> Option<Vec<HookCommand>> {
    let family = base.family;
    // A subnet inside a shared network goes the config path: Kea 3.0.4's subnet commands
    // parse the subnet on its own, giving it the server-level values instead of its
    // network's (config-get then shows the server's valid-lifetime in it, and the network's
    // later values no longer reach it; measured by tests/integration/shared_networks.rs).
    let subnet_key = match edit {
        Edit::UpdateSubnet(k, _)
        | Edit::AssignClass(k, ..)
        | Edit::UnassignClass(k, _)
        | Edit::AddPool(k, ..)
        | Edit::DeletePool(k, _)
        | Edit::AddPdPool(k, _)
        | Edit::DeletePdPool(k, _)
        | Edit::SetOption(OptionScope::Subnet(k) | OptionScope::Pool(k, _), _)
        | Edit::DeleteOption(OptionScope::Subnet(k) | OptionScope::Pool(k, _), ..) => Some(k),
        _ => None,
    };
    // A network that sets nothing of its own passes on exactly the server-level values, so
    // there the hook commands are right.
    if let Some(k) = subnet_key
        && let Ok(SubnetLoc::Network(net, _)) = new.find_subnet(k)
        && !plain_network(new, net)
    {
        return None;
    }
    let n = v(family);
    let sk = family.subnet_key();
    let subnet_cmds = caps.subnet_cmds;
    let class_cmds = caps.class_cmds;
    // The whole subnet, owned values only: what subnet4-update must receive.
    let update = |key: &SubnetKey| -> Option<Vec<HookCommand>> {
        let mut s = subnet_in(new, key)?;
        // Kea refuses host reservations in subnet commands ("must not specify host
        // reservations"); they are kept where they are.
        s.remove("reservations");
        Some(vec![cmd(format!("subnet{n}-update"), json!({ sk: [s] }))])
    };
    match edit {
        Edit::AddSubnet(_) if subnet_cmds => {
            let mut s = subnet_by_id(new, result.get("id")?)?;
            // A new subnet with host reservations goes the config path.
            match s.get("reservations").and_then(Value::as_array) {
                Some(r) if !r.is_empty() => return None,
                _ => {
                    s.remove("reservations");
                }
            }
            Some(vec![cmd(format!("subnet{n}-add"), json!({ sk: [s] }))])
        }
        Edit::DeleteSubnet(key) if subnet_cmds => {
            let s = subnet_in(base, key)?;
            Some(vec![cmd(
                format!("subnet{n}-del"),
                json!({ "id": s.get("id")? }),
            )])
        }
        Edit::AddPool(key, ..) if subnet_cmds => {
            let s = subnet_in(new, key)?;
            Some(vec![cmd(
                format!("subnet{n}-delta-add"),
                json!({ sk: [delta(&s, "pools", vec![result.clone()])] }),
            )])
        }
        Edit::DeletePool(key, _) if subnet_cmds => {
            let s = subnet_in(base, key)?;
            let pool = json!({ "pool": result.get("pool")? });
            Some(vec![cmd(
                format!("subnet{n}-delta-del"),
                json!({ sk: [delta(&s, "pools", vec![pool])] }),
            )])
        }
        Edit::AddPdPool(key, _) if subnet_cmds => {
            let s = subnet_in(new, key)?;
            Some(vec![cmd(
                format!("subnet{n}-delta-add"),
                json!({ sk: [delta(&s, "pd-pools", vec![result.clone()])] }),
            )])
        }
        Edit::DeletePdPool(key, _) if subnet_cmds => {
            let s = subnet_in(base, key)?;
            // Kea 3.0.4 names a PD pool by all three ("missing parameter 'delegated-len'").
            let pool = json!({ "prefix": result.get("prefix")?,
                               "prefix-len": result.get("prefix-len")?,
                               "delegated-len": result.get("delegated-len")? });
            Some(vec![cmd(
                format!("subnet{n}-delta-del"),
                json!({ sk: [delta(&s, "pd-pools", vec![pool])] }),
            )])
        }
        Edit::SetOption(OptionScope::Subnet(key), _) if subnet_cmds => {
            let s = subnet_in(new, key)?;
            Some(vec![cmd(
                format!("subnet{n}-delta-add"),
                json!({ sk: [delta(&s, "option-data", vec![result.clone()])] }),
            )])
        }
        Edit::DeleteOption(OptionScope::Subnet(key), ..) if subnet_cmds => {
            let s = subnet_in(base, key)?;
            let mut o = Map::new();
            for k in ["code", "name", "space"] {
                if let Some(x) = result.get(k) {
                    o.insert(k.into(), x.clone());
                }
            }
            Some(vec![cmd(
                format!("subnet{n}-delta-del"),
                json!({ sk: [delta(&s, "option-data", vec![Value::Object(o)])] }),
            )])
        }
        Edit::UpdateSubnet(key, _)
        | Edit::AssignClass(key, ..)
        | Edit::UnassignClass(key, _)
        | Edit::SetOption(OptionScope::Pool(key, _), _)
        | Edit::DeleteOption(OptionScope::Pool(key, _), ..)
            if subnet_cmds =>
        {
            update(key)
        }
        Edit::AddClass(m) if class_cmds => {
            let c = class_in(new, m.get("name")?.as_str()?)?;
            Some(vec![cmd(
                "class-add".into(),
                json!({ "client-classes": [c] }),
            )])
        }
        Edit::UpdateClass(name, _)
        | Edit::SetOption(OptionScope::Class(name), _)
        | Edit::DeleteOption(OptionScope::Class(name), ..)
            if class_cmds =>
        {
            let c = class_in(new, name)?;
            Some(vec![cmd(
                "class-update".into(),
                json!({ "client-classes": [c] }),
            )])
        }
        Edit::DeleteClass(name) if class_cmds => {
            Some(vec![cmd("class-del".into(), json!({ "name": name }))])
        }
        // Shared networks (subnet_cmds has the network commands): a new network is sent
        // empty. Moving a subnet in or out goes as network4-subnet-add / -del only when the
        // networks it leaves and joins set nothing of their own: Kea 3.0.4's
        // network4-subnet-add keeps the values the subnet inherited at the top level
        // (config-get then shows the server's valid-lifetime in a subnet of a network that
        // sets its own; measured by tests/integration/shared_networks.rs), so there a
        // config-set re-parses the subnet under its new parent.
        Edit::MoveSubnet(key, to) if subnet_cmds => {
            let id = subnet_in(base, key)?.get("id")?.clone();
            let mut out = Vec::new();
            if let SubnetLoc::Network(from, _) = base.find_subnet(key).ok()? {
                if !plain_network(base, from) {
                    return None;
                }
                let name = base.root_array("shared-networks")[from]
                    .get("name")?
                    .clone();
                out.push(cmd(
                    format!("network{n}-subnet-del"),
                    json!({ "name": name, "id": id }),
                ));
            }
            if let Some(name) = to {
                let into = crate::kea::config::networks::find(new, name)?;
                if !plain_network(new, into) {
                    return None;
                }
                out.push(cmd(
                    format!("network{n}-subnet-add"),
                    json!({ "name": name, "id": id }),
                ));
            }
            (!out.is_empty()).then_some(out)
        }
        Edit::AddSharedNetwork(_) if subnet_cmds => {
            let mut net = result.as_object()?.clone();
            if net
                .get(sk)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            {
                return None;
            }
            net.remove(sk);
            Some(vec![cmd(
                format!("network{n}-add"),
                json!({ "shared-networks": [net] }),
            )])
        }
        Edit::DeleteSharedNetwork(name) if subnet_cmds => Some(vec![cmd(
            format!("network{n}-del"),
            json!({ "name": name }),
        )]),
        _ => None,
    }
}

/// Whether shared network `n` sets nothing its subnets would inherit (only its name, its
/// subnets, its user context and Kea's empty echoes): its subnets then inherit the server
/// level's values, which is what Kea 3.0.4's subnet and network-subnet commands give them.
fn plain_network(doc: &ConfigDoc, n: usize) -> bool {
    fn empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.values().all(empty),
            _ => false,
        }
    }
    let sk = doc.family.subnet_key();
    doc.root_array("shared-networks")
        .get(n)
        .and_then(Value::as_object)
        .is_some_and(|net| {
            net.iter()
                .all(|(k, v)| k == "name" || k == sk || k == "user-context" || empty(v))
        })
}

/// True when `base` and `new` differ only in their subnets, shared networks and classes:
/// otherwise a hook command would not carry the whole change (e.g. an option definition
/// update that also rewrote option data) and the config path is used.
pub fn only_subnets_and_classes_differ(base: &ConfigDoc, new: &ConfigDoc) -> bool {
    // Key by key, without copying either configuration.
    let skip = [
        base.family.subnet_key(),
        "client-classes",
        "shared-networks",
    ];
    let (b, n) = (base.root(), new.root());
    let rest = |m: &'_ serde_json::Map<String, serde_json::Value>| {
        m.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .count()
    };
    base.value.as_object().map(|m| m.len()) == new.value.as_object().map(|m| m.len())
        && rest(b) == rest(n)
        && b.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| n.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::KeaVersion;
    use crate::kea::config::normalize_inherited;

    fn caps() -> Capabilities {
        Capabilities {
            subnet_cmds: true,
            class_cmds: true,
            ..Default::default()
        }
    }

    fn docs(edit: &Edit) -> (ConfigDoc, ConfigDoc, Value) {
        let mut base = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [{"id": 1, "subnet": "192.0.2.0/24",
                "valid-lifetime": 4000, "pools": [{"pool": "192.0.2.10-192.0.2.20"}]}],
                "client-classes": [{"name": "voip"}]}}),
        )
        .unwrap();
        normalize_inherited(&mut base);
        let mut new = base.clone();
        let r = edit
            .apply_to(&mut new, &base, KeaVersion::new(3, 0, 4), 0, false)
            .unwrap();
        (base, new, r)
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn narrow_commands_per_edit() {
        let e = Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.100-192.0.2.110".into(),
            Map::new(),
        );
        let (b, n, r) = docs(&e);
        let p = plan(&e, &caps(), &b, &n, &r).unwrap();
        assert_eq!(p[0].command, "subnet4-delta-add");
        assert_eq!(
            p[0].arguments,
            json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100-192.0.2.110"}]}]})
        );
        let e = Edit::UpdateSubnet(SubnetKey::Id(1), m(json!({"renew-timer": 100})));
        let (b, n, r) = docs(&e);
        let p = plan(&e, &caps(), &b, &n, &r).unwrap();
        assert_eq!(p[0].command, "subnet4-update");
        let sent = &p[0].arguments["subnet4"][0];
        assert_eq!(
            sent["pools"][0]["pool"], "192.0.2.10-192.0.2.20",
            "pools are kept"
        );
        assert!(
            sent.get("valid-lifetime").is_none(),
            "inherited values are not sent"
        );
        assert_eq!(sent["renew-timer"], 100);
        let e = Edit::AddSubnet(m(json!({"subnet": "10.0.0.0/24"})));
        let (b, n, r) = docs(&e);
        let p = plan(&e, &caps(), &b, &n, &r).unwrap();
        assert_eq!(p[0].command, "subnet4-add");
        assert_eq!(p[0].arguments["subnet4"][0]["id"], 2);
        let e = Edit::AddSharedNetwork(m(json!({"name": "office", "valid-lifetime": 600})));
        let (b, n, r) = docs(&e);
        let p = plan(&e, &caps(), &b, &n, &r).unwrap();
        assert_eq!(p[0].command, "network4-add");
        assert_eq!(p[0].arguments["shared-networks"][0]["name"], "office");
        assert!(
            p[0].arguments["shared-networks"][0]
                .get("subnet4")
                .is_none()
        );
        // Moving a subnet has no hook command (see `plan`).
        let e = Edit::MoveSubnet(SubnetKey::Id(1), Some("office".into()));
        let (b, _, _) = docs(&Edit::AddSharedNetwork(m(json!({"name": "office"}))));
        assert!(plan(&e, &caps(), &b, &b, &Value::Null).is_none());
        let e = Edit::DeleteClass("voip".into());
        let (b, n, r) = docs(&e);
        assert_eq!(
            plan(&e, &caps(), &b, &n, &r).unwrap()[0].command,
            "class-del"
        );
        // Without the hooks: the config path.
        assert!(plan(&e, &Capabilities::default(), &b, &n, &r).is_none());
        // Settings have no hook command.
        let e = Edit::Set(m(json!({"valid-lifetime": 7200})));
        let (b, n, r) = docs(&e);
        assert!(plan(&e, &caps(), &b, &n, &r).is_none());
    }
}
