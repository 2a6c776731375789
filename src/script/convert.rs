//! Conversions between Kea's JSON (`serde_json::Value`) and Rhai values.

use rhai::{Dynamic, EvalAltResult};
use serde_json::Value;

use super::errors::invalid;

/// JSON → Rhai. Integers beyond i64 become floats.
pub fn to_dynamic(v: &Value) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(v)
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
    fn huge_counters_become_floats() {
        let v = json!(18446744073709551615u64);
        let d = to_dynamic(&v).unwrap();
        assert!(d.is_float());
    }
}
