//! Reading script arguments into the kea layer's types: subnet keys, option scopes, option
//! names or codes, and input maps (snake_case or Kea's hyphenated keys).

use rhai::{Dynamic, EvalAltResult, Map as RMap};
use serde_json::{Map, Value};

use crate::kea::config::{Family, NameOrCode, OptionScope, SubnetKey, to_kea_keys};
use crate::script::convert::to_json;
use crate::script::errors::{invalid, kea_error};

type R<T> = Result<T, Box<EvalAltResult>>;

/// A subnet named by its prefix (`"10.1.0.0/24"`) or id (`5`).
pub fn subnet_key(v: &Dynamic, family: Family) -> R<SubnetKey> {
    if let Ok(i) = v.as_int() {
        return SubnetKey::id(i).map_err(|e| kea_error(&e));
    }
    match v.clone().into_string() {
        Ok(s) => SubnetKey::parse(&s, family).map_err(|e| kea_error(&e)),
        Err(t) => Err(invalid(format!(
            "a subnet is named by its prefix (\"10.1.0.0/24\") or its id, not {t}"
        ))),
    }
}

/// A string argument.
pub fn string(v: &Dynamic, what: &str) -> R<String> {
    v.clone()
        .into_string()
        .map_err(|t| invalid(format!("{what} must be a string, not {t}")))
}

/// A script map as a Kea map (keys in Kea's spelling).
pub fn kea_map(m: &RMap, what: &str) -> R<Map<String, Value>> {
    let v = to_json(&Dynamic::from_map(m.clone()), what)?;
    match to_kea_keys(&v) {
        Value::Object(m) => Ok(m),
        _ => Err(invalid(format!("{what} must be a map"))),
    }
}

/// An option named by name or code.
pub fn name_or_code(v: &Dynamic) -> R<NameOrCode> {
    if let Ok(i) = v.as_int() {
        return u16::try_from(i)
            .map(NameOrCode::Code)
            .map_err(|_| invalid(format!("option code {i} is out of range")));
    }
    match v.clone().into_string() {
        Ok(s) if !s.trim().is_empty() => Ok(NameOrCode::Name(s)),
        _ => Err(invalid(format!(
            "an option is named by its name (\"routers\") or its code (3), not {v}"
        ))),
    }
}

/// An option scope: `"global"`, a subnet prefix, or `#{ subnet }`, `#{ subnet, pool }`,
/// `#{ class }`. A bare integer is never a scope.
pub fn scope(v: &Dynamic, family: Family) -> R<OptionScope> {
    if v.is_int() {
        return Err(invalid(
            "a bare number is not an option scope: write #{ subnet: 5 } for subnet id 5",
        ));
    }
    if let Some(m) = v.read_lock::<RMap>() {
        let get = |k: &str| m.get(k).filter(|v| !v.is_unit()).cloned();
        for k in m.keys() {
            if !["subnet", "pool", "class"].contains(&k.as_str()) {
                return Err(invalid(format!(
                    "option scope key \"{k}\" is unknown: use #{{ subnet }}, #{{ subnet, pool }} or #{{ class }}"
                )));
            }
        }
        return match (get("subnet"), get("pool"), get("class")) {
            (Some(s), None, None) => Ok(OptionScope::Subnet(subnet_key(&s, family)?)),
            (Some(s), Some(p), None) => Ok(OptionScope::Pool(
                subnet_key(&s, family)?,
                string(&p, "pool")?,
            )),
            (None, None, Some(c)) => Ok(OptionScope::Class(string(&c, "class")?)),
            _ => Err(invalid(
                "an option scope is #{ subnet }, #{ subnet, pool } or #{ class }",
            )),
        };
    }
    let s = string(v, "an option scope")?;
    if s == "global" {
        Ok(OptionScope::Global)
    } else {
        Ok(OptionScope::Subnet(
            SubnetKey::parse(&s, family).map_err(|e| kea_error(&e))?,
        ))
    }
}

/// Option data as a script gives it: a string, a number, a bool or a list.
pub fn option_data(v: &Dynamic) -> R<Value> {
    to_json(v, "the option data")
}
