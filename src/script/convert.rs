//! Conversions between Kea's JSON (`serde_json::Value`) and Rhai values.

use rhai::{Dynamic, EvalAltResult};
use serde_json::Value;

use super::errors::invalid;

/// JSON → Rhai. Integers beyond i64 become floats.
pub fn to_dynamic(v: &Value) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(v)
}

/// Kea's JSON → Rhai with snake_case keys, in one pass (the same result as
/// `to_dynamic(&to_script_keys(v))` without the intermediate copy): `user-context` is the
/// user's own data and keeps its keys.
pub fn to_dynamic_snake(v: &Value) -> Dynamic {
    fn conv(v: &Value, rename: bool) -> Dynamic {
        match v {
            Value::Null => Dynamic::UNIT,
            Value::Bool(b) => Dynamic::from_bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Dynamic::from_int(i),
                None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Dynamic::from(s.clone()),
            Value::Array(a) => Dynamic::from_array(a.iter().map(|x| conv(x, rename)).collect()),
            Value::Object(m) => {
                let mut out = rhai::Map::new();
                for (k, x) in m {
                    let opaque = k == "user-context" || k == "user_context";
                    let key = if rename {
                        k.replace('-', "_")
                    } else {
                        k.clone()
                    };
                    out.insert(key.into(), conv(x, rename && !opaque));
                }
                Dynamic::from_map(out)
            }
        }
    }
    conv(v, true)
}

/// Optional JSON → Rhai, `()` for none.
pub fn opt_to_dynamic(v: Option<Value>) -> Result<Dynamic, Box<EvalAltResult>> {
    match v {
        Some(v) => to_dynamic(&v),
        None => Ok(Dynamic::UNIT),
    }
}

/// Rhai → JSON, for values a script passes to Kea. `what` names the argument in errors.
pub fn to_json(d: &Dynamic, what: &str) -> Result<Value, Box<EvalAltResult>> {
    let d = d.flatten_clone();
    rhai::serde::from_dynamic::<Value>(&d)
        .map_err(|e| invalid(format!("{what} cannot be sent to Kea as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_kea_json() {
        let v = json!({"Dhcp4": {"valid-lifetime": 4000, "subnet4": [{"id": 1, "subnet": "192.0.2.0/24"}],
                       "authoritative": false, "t1-percent": 0.5, "server-tag": "", "x": null}});
        let d = to_dynamic(&v).unwrap();
        assert_eq!(to_json(&d, "cfg").unwrap(), v);
    }

    #[test]
    fn one_pass_snake_case_matches_the_two_step_conversion() {
        let v = json!({"ip-address": "192.0.2.1", "valid-lft": 3600, "fqdn-fwd": false, "x": null,
                       "user-context": {"my-key": [1, 2.5]}, "list": [{"a-b": 1}]});
        let two = to_dynamic(&crate::kea::config::to_script_keys(&v)).unwrap();
        let one = to_dynamic_snake(&v);
        assert_eq!(to_json(&one, "x").unwrap(), to_json(&two, "x").unwrap());
    }

    #[test]
    fn huge_counters_become_floats() {
        let v = json!(18446744073709551615u64);
        let d = to_dynamic(&v).unwrap();
        assert!(d.is_float());
    }
}
