//! Keys and value types Kea accepts, per kind of object ([`keywords`](super::keywords), from
//! Kea's own `all-keys.json` of Kea 2.2 and 3.0). A key Kea does not know (a misspelling)
//! or a value of the wrong JSON type is found here, before anything is sent, with the key
//! named as a script writes it and a close known key suggested.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::Family;
use super::keywords::{JsonType, KEYS};

type Table = HashMap<(bool, &'static str), HashMap<&'static str, &'static [JsonType]>>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t: Table = HashMap::new();
        for (family, kind, key, types) in KEYS {
            t.entry((*family == Family::V6, kind))
                .or_default()
                .insert(key, types);
        }
        t
    })
}

fn json_type(v: &Value) -> JsonType {
    match v {
        Value::Null => JsonType::Null,
        Value::Bool(_) => JsonType::Bool,
        Value::Number(n) if n.is_f64() => JsonType::Float,
        Value::Number(_) => JsonType::Int,
        Value::String(_) => JsonType::Str,
        Value::Array(_) => JsonType::Array,
        Value::Object(_) => JsonType::Map,
    }
}

fn type_name(t: JsonType) -> &'static str {
    match t {
        JsonType::Bool => "a boolean",
        JsonType::Int => "an integer",
        JsonType::Float => "a number",
        JsonType::Str => "a string",
        JsonType::Array => "an array",
        JsonType::Map => "a map",
        JsonType::Null => "null",
    }
}

/// How a script writes a Kea key.
fn snake(key: &str) -> String {
    key.replace('-', "_")
}

/// Problems with the keys of one object of `kind` (`"global"`, `"subnet"`, `"pool"`, …),
/// each as a sentence starting with `what` (e.g. `subnet 10.1.0.0/24`).
pub fn check_object(
    family: Family,
    kind: &str,
    what: &str,
    m: &Map<String, Value>,
    out: &mut Vec<String>,
) {
    let Some(known) = table().get(&(family == Family::V6, kind)) else {
        return;
    };
    for (k, v) in m {
        match known.get(k.as_str()) {
            None => {
                let hint = closest(k, known.keys().copied())
                    .map(|c| format!("; did you mean {}?", snake(c)))
                    .unwrap_or_default();
                out.push(format!(
                    "{what}: Kea has no key {} here (\"{k}\"){hint}",
                    snake(k)
                ));
            }
            Some(types) => {
                let t = json_type(v);
                let ok = types.contains(&t)
                    || (t == JsonType::Int && types.contains(&JsonType::Float))
                    || t == JsonType::Null && k == "user-context";
                if !ok {
                    let wanted: Vec<&str> = types.iter().map(|t| type_name(*t)).collect();
                    out.push(format!(
                        "{what}: {} must be {}, not {}",
                        snake(k),
                        wanted.join(" or "),
                        shown(v)
                    ));
                } else if t == JsonType::Int && is_unsigned(k) && v.as_i64().is_some_and(|n| n < 0)
                {
                    out.push(format!(
                        "{what}: {} must not be negative, not {v}",
                        snake(k)
                    ));
                }
            }
        }
    }
}

/// Keys Kea reads as unsigned: lifetimes, timers, ids, counts.
fn is_unsigned(key: &str) -> bool {
    key.ends_with("lifetime")
        || key.ends_with("-timer")
        || key == "id"
        || key.ends_with("-period")
        || key.ends_with("-len")
        || key == "code"
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// The known key closest to `key` when it looks like a misspelling of it.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key = key.replace('_', "-");
    known
        .map(|k| (distance(&key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 6))
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(family: Family, kind: &str, v: Value) -> Vec<String> {
        let mut out = Vec::new();
        check_object(family, kind, "subnet x", v.as_object().unwrap(), &mut out);
        out
    }

    #[test]
    fn misspelled_keys_and_wrong_types_are_named() {
        let p = problems(
            Family::V4,
            "subnet",
            json!({"subnet": "10.0.0.0/24", "valid-lifetim": 5}),
        );
        assert_eq!(p.len(), 1);
        assert!(p[0].contains("valid_lifetim"), "{p:?}");
        assert!(p[0].contains("did you mean valid_lifetime?"), "{p:?}");
        let p = problems(Family::V4, "subnet", json!({"valid-lifetime": "abc"}));
        assert_eq!(
            p,
            ["subnet x: valid_lifetime must be an integer, not \"abc\""]
        );
        let p = problems(Family::V4, "subnet", json!({"renew-timer": -5}));
        assert!(p[0].contains("must not be negative"), "{p:?}");
        let p = problems(Family::V4, "subnet", json!({"frobnicate": 1}));
        assert_eq!(
            p,
            ["subnet x: Kea has no key frobnicate here (\"frobnicate\")"]
        );
    }

    #[test]
    fn what_kea_accepts_passes() {
        assert!(
            problems(
                Family::V4,
                "subnet",
                json!({
                    "id": 1, "subnet": "10.0.0.0/24", "pools": [], "option-data": [],
                    "client-class": "a", "valid-lifetime": 10, "user-context": {"x": 1},
                    "t1-percent": 0.5, "calculate-tee-times": true
                })
            )
            .is_empty()
        );
        assert!(
            problems(
                Family::V6,
                "subnet",
                json!({"preferred-lifetime": 5, "pd-pools": []})
            )
            .is_empty()
        );
        assert!(
            problems(
                Family::V4,
                "class",
                json!({"name": "a", "test": "member('ALL')", "next-server": "0.0.0.0"})
            )
            .is_empty()
        );
        assert!(
            problems(
                Family::V4,
                "global",
                json!({"decline-probation-period": 5, "server-tag": "x"})
            )
            .is_empty()
        );
        assert!(
            !problems(Family::V4, "subnet", json!({"preferred-lifetime": 5})).is_empty(),
            "v4 subnets have no preferred lifetime"
        );
    }
}
