//! Shaping what the high-level readers return: snake_case keys, every documented key
//! present (`()` when Kea has no value), metadata read back from `user-context`.

use serde_json::{Map, Value};

use crate::kea::config::{ConfigDoc, Family, SubnetLoc, to_script_keys};

fn fill(m: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        m.entry(k.to_string()).or_insert(Value::Null);
    }
}

fn snake(v: &Value) -> Map<String, Value> {
    to_script_keys(v).as_object().cloned().unwrap_or_default()
}

/// A pool map.
pub fn pool(v: &Value) -> Value {
    let mut m = snake(v);
    fill(
        &mut m,
        &["pool", "client_class", "option_data", "user_context"],
    );
    Value::Object(m)
}

/// A subnet map, with the name of its shared network.
pub fn subnet(doc: &ConfigDoc, loc: SubnetLoc) -> Value {
    let mut m = snake(&Value::Object(doc.subnet(loc).clone()));
    let net = doc
        .network_of(loc)
        .and_then(|n| n.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    m.insert("shared_network".into(), net);
    if let Some(pools) = m.get_mut("pools").and_then(Value::as_array_mut) {
        for p in pools.iter_mut() {
            *p = pool(p);
        }
    }
    fill(
        &mut m,
        &[
            "id",
            "subnet",
            "pools",
            "option_data",
            "client_class",
            "require_client_classes",
            "valid_lifetime",
            "min_valid_lifetime",
            "max_valid_lifetime",
            "renew_timer",
            "rebind_timer",
            "user_context",
        ],
    );
    if doc.family == Family::V6 {
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
