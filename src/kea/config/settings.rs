//! Server properties: the global lifetimes, timers and switches Micetro edits, read as
//! effective values and changed with validation.

use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::{ConfigDoc, Family};
use crate::kea::KeaError;

/// The documented settings of a family, by their Kea names.
pub fn setting_keys(family: Family) -> &'static [&'static str] {
    match family {
        Family::V4 => &[
            "valid-lifetime",
            "min-valid-lifetime",
            "max-valid-lifetime",
            "renew-timer",
            "rebind-timer",
            "next-server",
            "echo-client-id",
            "match-client-id",
            "decline-probation-period",
            "server-tag",
            "control-socket",
            "reservations-global",
            "reservations-in-subnet",
            "reservations-out-of-pool",
            "ip-reservations-unique",
        ],
        Family::V6 => &[
            "preferred-lifetime",
            "min-preferred-lifetime",
            "max-preferred-lifetime",
            "valid-lifetime",
            "min-valid-lifetime",
            "max-valid-lifetime",
            "renew-timer",
            "rebind-timer",
            "decline-probation-period",
            "server-tag",
            "control-socket",
            "reservations-global",
            "reservations-in-subnet",
            "reservations-out-of-pool",
            "ip-reservations-unique",
        ],
    }
}

/// The control socket's name (path) as the settings show it.
fn control_socket_name(root: &Map<String, Value>) -> Value {
    if let Some(n) = root
        .get("control-socket")
        .and_then(|c| c.get("socket-name"))
    {
        return n.clone();
    }
    root.get("control-sockets")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|s| s.get("socket-type").and_then(Value::as_str) == Some("unix"))
        })
        .and_then(|s| s.get("socket-name"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Effective values: a bound that is not set is the default lifetime (Kea derives it).
pub fn settings(doc: &ConfigDoc) -> Map<String, Value> {
    let root = doc.root();
    let mut out = Map::new();
    for k in setting_keys(doc.family) {
        let v = if *k == "control-socket" {
            control_socket_name(root)
        } else {
            root.get(*k).cloned().unwrap_or(Value::Null)
        };
        out.insert((*k).to_string(), v);
    }
    for base in ["valid-lifetime", "preferred-lifetime"] {
        if let Some(d) = out.get(base).cloned().filter(|v| !v.is_null()) {
            for b in [format!("min-{base}"), format!("max-{base}")] {
                if out.get(&b).is_some_and(Value::is_null) {
                    out.insert(b, d.clone());
                }
            }
        }
    }
    out
}

fn uint(root: &Map<String, Value>, k: &str) -> Option<i64> {
    root.get(k).and_then(Value::as_i64)
}

/// Checks lifetime and timer order on a (global) map: min ≤ default ≤ max,
/// renew < rebind < valid.
pub fn check_order(m: &Map<String, Value>, where_: &str) -> Result<(), KeaError> {
    for base in ["valid-lifetime", "preferred-lifetime"] {
        // Only values that are set somewhere are compared: a bound that is not set is
        // derived from the default and cannot be out of order with it.
        let d = uint(m, base);
        let lo = uint(m, &format!("min-{base}"));
        let hi = uint(m, &format!("max-{base}"));
        let snake = base.replace('-', "_");
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            return Err(KeaError::invalid(format!(
                "{where_}: min_{snake} {lo} is greater than max_{snake} {hi}"
            )));
        }
        if let Some(d) = d {
            if let Some(lo) = lo.filter(|lo| d < *lo) {
                return Err(KeaError::invalid(format!(
                    "{where_}: {snake} {d} is below min_{snake} {lo}"
                )));
            }
            if let Some(hi) = hi.filter(|hi| d > *hi) {
                return Err(KeaError::invalid(format!(
                    "{where_}: {snake} {d} is above max_{snake} {hi}"
                )));
            }
        }
    }
    let renew = uint(m, "renew-timer");
    let rebind = uint(m, "rebind-timer");
    let valid = uint(m, "valid-lifetime");
    // RFC 8415 § 21.6: an address's preferred lifetime never exceeds its valid lifetime
    // (Kea 2.2 accepts it, and clients then drop the address while it is still preferred).
    if let (Some(p), Some(v)) = (uint(m, "preferred-lifetime"), valid)
        && p > v
    {
        return Err(KeaError::invalid(format!(
            "{where_}: preferred_lifetime {p} must not exceed valid_lifetime {v}"
        )));
    }
    if let (Some(r), Some(b)) = (renew, rebind)
        && r >= b
    {
        return Err(KeaError::invalid(format!(
            "{where_}: renew_timer {r} must be less than rebind_timer {b}"
        )));
    }
    if let (Some(b), Some(v)) = (rebind, valid)
        && b >= v
    {
        return Err(KeaError::invalid(format!(
            "{where_}: rebind_timer {b} must be less than valid_lifetime {v}"
        )));
    }
    if let (Some(r), Some(v)) = (renew, valid)
        && r >= v
    {
        return Err(KeaError::invalid(format!(
            "{where_}: renew_timer {r} must be less than valid_lifetime {v}"
        )));
    }
    Ok(())
}

/// Changes settings (Kea keys). `null` unsets a setting (Kea's default applies again).
pub fn set(
    doc: &mut ConfigDoc,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, KeaError> {
    let family = doc.family;
    let keys = setting_keys(family);
    for (k, v) in patch {
        let snake = k.replace('-', "_");
        if !keys.contains(&k.as_str()) {
            return Err(KeaError::invalid(format!(
                "\"{snake}\" is not a server setting here (settings: {}); use apply() for other keys",
                keys.iter()
                    .map(|k| k.replace('-', "_"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if v.is_null() {
            if k == "control-socket" {
                return Err(KeaError::invalid("control_socket cannot be removed"));
            }
            continue;
        }
        match k.as_str() {
            "next-server" => {
                if v.as_str()
                    .and_then(|s| s.parse::<Ipv4Addr>().ok())
                    .is_none()
                {
                    return Err(KeaError::invalid(format!(
                        "next_server {v} is not an IPv4 address"
                    )));
                }
            }
            "echo-client-id"
            | "match-client-id"
            | "reservations-global"
            | "reservations-in-subnet"
            | "reservations-out-of-pool"
            | "ip-reservations-unique" => {
                if !v.is_boolean() {
                    return Err(KeaError::invalid(format!(
                        "{snake} must be true or false, not {v}"
                    )));
                }
            }
            "server-tag" => {
                if !v.is_string() {
                    return Err(KeaError::invalid(format!(
                        "server_tag must be a string, not {v}"
                    )));
                }
            }
            "control-socket" => match v.as_str() {
                Some(s) if !s.trim().is_empty() => {}
                _ => {
                    return Err(KeaError::invalid(format!(
                        "control_socket must be a non-empty socket path, not {v}"
                    )));
                }
            },
            _ => match v.as_i64() {
                Some(n) if n >= 0 && n <= u32::MAX as i64 => {}
                _ => {
                    return Err(KeaError::invalid(format!(
                        "{snake} must be a whole number of seconds, not {v}"
                    )));
                }
            },
        }
    }
    // The change alone must be in order (else the input is wrong: `invalid`), and with
    // the server's other values too (else it is wrong for this server: `conflict`).
    let alone: Map<String, Value> = patch
        .iter()
        .filter(|(k, v)| *k != "control-socket" && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_order(&alone, "server settings")?;
    let root = doc.root_mut();
    let mut next = root.clone();
    for (k, v) in patch {
        if k == "control-socket" {
            continue;
        }
        if v.is_null() {
            next.remove(k);
        } else {
            next.insert(k.clone(), v.clone());
        }
    }
    check_order(&next, "server settings").map_err(|e| KeaError {
        kind: crate::kea::ErrorKind::Conflict,
        message: format!("{} (with the server's current values)", e.message),
        ..e
    })?;
    if let Some(name) = patch.get("control-socket").and_then(Value::as_str) {
        if next.contains_key("control-sockets") && !next.contains_key("control-socket") {
            if let Some(s) = next["control-sockets"].as_array_mut().and_then(|a| {
                a.iter_mut()
                    .find(|s| s.get("socket-type").and_then(Value::as_str) == Some("unix"))
            }) {
                s["socket-name"] = json!(name);
            }
        } else {
            let cs = next
                .entry("control-socket")
                .or_insert_with(|| json!({"socket-type": "unix"}));
            cs["socket-name"] = json!(name);
        }
    }
    *root = next;
    Ok(settings(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "control-socket": {"socket-type": "unix", "socket-name": "/run/k4"},
                             "echo-client-id": true}}),
        )
        .unwrap()
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn effective_values_and_ordered_lifetimes() {
        let mut d = doc();
        let s = settings(&d);
        assert_eq!(s["min-valid-lifetime"], 4000);
        assert_eq!(s["control-socket"], "/run/k4");
        assert_eq!(s["renew-timer"], Value::Null);
        set(
            &mut d,
            &m(json!({"valid-lifetime": 7200, "renew-timer": 1800, "rebind-timer": 3600})),
        )
        .unwrap();
        assert_eq!(d.root()["valid-lifetime"], 7200);
        let e = set(&mut d, &m(json!({"min-valid-lifetime": 8000}))).unwrap_err();
        assert!(
            e.message.contains("min_valid_lifetime 8000"),
            "{}",
            e.message
        );
        let e = set(&mut d, &m(json!({"renew-timer": 3600}))).unwrap_err();
        assert!(
            e.message
                .contains("renew_timer 3600 must be less than rebind_timer 3600"),
            "{}",
            e.message
        );
        let e = set(&mut d, &m(json!({"rebind-timer": 9000}))).unwrap_err();
        assert!(e.message.contains("valid_lifetime"), "{}", e.message);
        let e = set(&mut d, &m(json!({"next-server": "10.0.0.300"}))).unwrap_err();
        assert!(e.message.contains("next_server"), "{}", e.message);
        let e = set(&mut d, &m(json!({"control-socket": ""}))).unwrap_err();
        assert!(e.message.contains("control_socket"), "{}", e.message);
        let e = set(&mut d, &m(json!({"server-tag": 5}))).unwrap_err();
        assert!(e.message.contains("server_tag"), "{}", e.message);
        let e = set(&mut d, &m(json!({"interfaces-config": {}}))).unwrap_err();
        assert!(e.message.contains("apply()"), "{}", e.message);
        set(
            &mut d,
            &m(json!({"control-socket": "/run/other", "server-tag": "edge"})),
        )
        .unwrap();
        assert_eq!(d.root()["control-socket"]["socket-name"], "/run/other");
        assert_eq!(d.root()["control-socket"]["socket-type"], "unix");
    }
}
