//! Key spelling: scripts write `valid_lifetime`, Kea writes `valid-lifetime`. Input maps
//! accept both; maps returned by the high-level API use snake_case. The contents of
//! `user-context` (the user's own data) and hook `parameters` are never renamed.

use serde_json::{Map, Value};

/// Keys whose values are left exactly as they are.
const OPAQUE: &[&str] = &["user-context", "user_context", "parameters"];

/// Kea keys that really contain an underscore.
const KEEP_UNDERSCORE: &[&str] = &["output_options"];

/// Rewrites every key to Kea's hyphenated spelling (recursively).
pub fn to_kea_keys(v: &Value) -> Value {
    rename(v, &|k: &str| {
        if KEEP_UNDERSCORE.contains(&k) {
            k.to_string()
        } else {
            k.replace('_', "-")
        }
    })
}

/// Rewrites every key to snake_case (recursively), for maps returned to scripts.
pub fn to_script_keys(v: &Value) -> Value {
    rename(v, &|k: &str| k.replace('-', "_"))
}

fn rename(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, val) in m {
                let nk = f(k);
                let nv = if OPAQUE.contains(&k.as_str()) {
                    val.clone()
                } else {
                    rename(val, f)
                };
                out.insert(nk, nv);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| rename(x, f)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_in_and_snake_case_out_user_context_untouched() {
        let input = json!({"valid_lifetime": 600, "option-data": [{"csv_format": true}],
                           "user_context": {"my_key": {"inner-key": 1}}});
        let kea = to_kea_keys(&input);
        assert_eq!(
            kea,
            json!({"valid-lifetime": 600, "option-data": [{"csv-format": true}],
                   "user-context": {"my_key": {"inner-key": 1}}})
        );
        let back = to_script_keys(&kea);
        assert_eq!(
            back,
            json!({"valid_lifetime": 600, "option_data": [{"csv_format": true}],
                   "user_context": {"my_key": {"inner-key": 1}}})
        );
    }
}
