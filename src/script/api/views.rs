//! Shaping what the high-level readers return: snake_case keys, every documented key
//! present (`()` when Kea has no value), metadata read back from `user-context`.

use serde_json::{Map, Value};

use crate::kea::config::{ConfigDoc, Family, SubnetLoc, class_keys, to_script_keys};

fn fill(m: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        m.entry(k.to_string()).or_insert(Value::Null);
    }
}

fn snake(v: &Value) -> Map<String, Value> {
    to_script_keys(v).as_object().cloned().unwrap_or_default()
}

/// The class keys of a subnet, shared network, pool or PD pool (`kea`, in Kea's spelling) in
/// both spellings, whatever the server's Kea says: `client_classes` (the list; Kea ≥ 2.7.4)
/// and `client_class` (the single class, or `()`), `evaluate_additional_classes` and
/// `require_client_classes` (the same list).
fn both_spellings(kea: &Map<String, Value>, m: &mut Map<String, Value>) {
    let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
    let limit = class_keys::limit_classes(kea);
    let single = match limit.as_slice() {
        [one] => Value::String(one.clone()),
        _ => Value::Null,
    };
    m.insert("client_class".into(), single);
    m.insert("client_classes".into(), strings(limit));
    let additional = strings(class_keys::additional_classes(kea));
    m.insert("require_client_classes".into(), additional.clone());
    m.insert("evaluate_additional_classes".into(), additional);
}

/// A pool or PD pool map.
pub fn pool(v: &Value) -> Value {
    let mut m = snake(v);
    if let Some(kea) = v.as_object() {
        both_spellings(kea, &mut m);
    }
    fill(&mut m, &["option_data", "user_context"]);
    if !m.contains_key("prefix") {
        fill(&mut m, &["pool"]);
    }
    Value::Object(m)
}

/// A subnet map (Kea's spelling in, the script's out) without its shared network.
pub fn subnet_value(v: &Value, family: Family) -> Value {
    let mut m = snake(v);
    if let Some(kea) = v.as_object() {
        both_spellings(kea, &mut m);
    }
    for field in ["pools", "pd_pools"] {
        if let (Some(pools), Some(kea)) = (
            m.get_mut(field).and_then(Value::as_array_mut),
            v.get(field.replace('_', "-")).and_then(Value::as_array),
        ) {
            for (p, k) in pools.iter_mut().zip(kea) {
                *p = pool(k);
            }
        }
    }
    fill(
        &mut m,
        &[
            "id",
            "subnet",
            "pools",
            "option_data",
            "valid_lifetime",
            "min_valid_lifetime",
            "max_valid_lifetime",
            "renew_timer",
            "rebind_timer",
            "user_context",
        ],
    );
    if family == Family::V6 {
        fill(
            &mut m,
            &[
                "preferred_lifetime",
                "min_preferred_lifetime",
                "max_preferred_lifetime",
                "pd_pools",
            ],
        );
    }
    Value::Object(m)
}

/// A subnet map, with the name of its shared network.
pub fn subnet(doc: &ConfigDoc, loc: SubnetLoc) -> Value {
    let mut v = subnet_value(&Value::Object(doc.subnet(loc).clone()), doc.family);
    let net = doc
        .network_of(loc)
        .and_then(|n| n.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    v.as_object_mut()
        .expect("a map")
        .insert("shared_network".into(), net);
    v
}

/// A client class map, with `description` and `global` from its `user-context`.
pub fn class(v: &Value, family: Family) -> Value {
    let mut m = snake(v);
    let ctx = m.get("user_context").cloned().unwrap_or(Value::Null);
    m.insert(
        "description".into(),
        ctx.get("description").cloned().unwrap_or(Value::Null),
    );
    m.insert(
        "global".into(),
        Value::Bool(ctx.get("global").and_then(Value::as_bool).unwrap_or(false)),
    );
    let only = v.as_object().is_some_and(class_keys::only_additional);
    m.insert("only_if_required".into(), Value::Bool(only));
    m.insert("only_in_additional_list".into(), Value::Bool(only));
    fill(&mut m, &["name", "test", "option_data", "user_context"]);
    if family == Family::V4 {
        fill(
            &mut m,
            &["next_server", "server_hostname", "boot_file_name"],
        );
    }
    Value::Object(m)
}

/// An option data entry.
pub fn option(v: &Value) -> Value {
    let mut m = snake(v);
    fill(
        &mut m,
        &["name", "code", "space", "data", "csv_format", "always_send"],
    );
    Value::Object(m)
}

/// An option definition.
pub fn option_def(v: &Value) -> Value {
    let mut m = snake(v);
    fill(
        &mut m,
        &[
            "name",
            "code",
            "type",
            "array",
            "space",
            "record_types",
            "encapsulate",
        ],
    );
    Value::Object(m)
}

/// Settings (Kea names in, snake_case out).
pub fn settings(m: &Map<String, Value>) -> Value {
    to_script_keys(&Value::Object(m.clone()))
}
