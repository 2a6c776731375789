//! Option data at every scope, and custom option definitions, checked against Kea's
//! standard option catalog ([`crate::kea::catalog`]) and the server's own definitions.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value, json};

use super::doc::{SubnetKey, merge};
use super::subnets::find_pool;
use super::{ConfigDoc, Family};
use crate::kea::catalog;
use crate::kea::{ErrorKind, KeaError};

/// Where option data lives.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionScope {
    Global,
    Subnet(SubnetKey),
    Pool(SubnetKey, String),
    Class(String),
}

impl std::fmt::Display for OptionScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Global => write!(f, "global"),
            Self::Subnet(k) => write!(f, "subnet {k}"),
            Self::Pool(k, p) => write!(f, "pool {p} of subnet {k}"),
            Self::Class(c) => write!(f, "class \"{c}\""),
        }
    }
}

/// An option named by its name or its code.
#[derive(Debug, Clone, PartialEq)]
pub enum NameOrCode {
    Name(String),
    Code(u16),
}

impl std::fmt::Display for NameOrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(n) => write!(f, "\"{n}\""),
            Self::Code(c) => write!(f, "code {c}"),
        }
    }
}

/// What an option is: from the standard catalog or a custom definition.
#[derive(Debug, Clone)]
struct Def {
    name: String,
    code: u16,
    kind: String,
    array: bool,
    record_types: Vec<String>,
}

pub fn option_list_mut<'a>(
    doc: &'a mut ConfigDoc,
    scope: &OptionScope,
) -> Result<&'a mut Vec<Value>, KeaError> {
    let target: &mut Map<String, Value> = match scope {
        OptionScope::Global => doc.root_mut(),
        OptionScope::Subnet(k) => {
            let loc = doc.find_subnet(k)?;
            doc.subnet_mut(loc)
        }
        OptionScope::Pool(k, range) => {
            let loc = doc.find_subnet(k)?;
            let i = find_pool(doc, loc, range)?;
            doc.subnet_mut(loc)["pools"][i]
                .as_object_mut()
                .expect("pool map")
        }
        OptionScope::Class(name) => {
            let i = super::classes::find_class(doc, name).ok_or_else(|| {
                KeaError::new(
                    ErrorKind::NotFound,
                    format!("no client class \"{name}\" on the server"),
                )
            })?;
            doc.root_array_mut("client-classes")[i]
                .as_object_mut()
                .expect("class map")
        }
    };
    let entry = target
        .entry("option-data")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    Ok(entry.as_array_mut().expect("array"))
}

/// The option data at a scope.
pub fn options_at(doc: &ConfigDoc, scope: &OptionScope) -> Result<Vec<Value>, KeaError> {
    let mut copy = doc.clone();
    Ok(option_list_mut(&mut copy, scope)?.clone())
}

fn custom_defs(doc: &ConfigDoc) -> Vec<&Value> {
    doc.root_array("option-def").iter().collect()
}

fn find_def(doc: &ConfigDoc, space: &str, which: &NameOrCode) -> Option<Def> {
    let family = doc.family.catalog();
    let std = match which {
        NameOrCode::Name(n) => catalog::by_name(family, space, n),
        NameOrCode::Code(c) => catalog::by_code(family, space, *c),
    };
    if let Some(d) = std {
        return Some(Def {
            name: d.name.to_string(),
            code: d.code,
            kind: d.kind.to_string(),
            array: d.array,
            record_types: d.record_types.iter().map(|s| s.to_string()).collect(),
        });
    }
    custom_defs(doc).into_iter().find_map(|d| {
        let dspace = d
            .get("space")
            .and_then(Value::as_str)
            .unwrap_or(doc.family.option_space());
        if dspace != space {
            return None;
        }
        let name = d.get("name").and_then(Value::as_str)?;
        let code = d.get("code").and_then(Value::as_u64)? as u16;
        let hit = match which {
            NameOrCode::Name(n) => n == name,
            NameOrCode::Code(c) => *c == code,
        };
        hit.then(|| Def {
            name: name.to_string(),
            code,
            kind: d
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("binary")
                .to_string(),
            array: d.get("array").and_then(Value::as_bool).unwrap_or(false),
            record_types: d
                .get("record-types")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        })
    })
}

/// Checks one CSV data item against an option type.
fn check_item(kind: &str, item: &str) -> Result<(), String> {
    let ok = match kind {
        "ipv4-address" => item.parse::<Ipv4Addr>().is_ok(),
        "ipv6-address" => item.parse::<Ipv6Addr>().is_ok(),
        "boolean" => matches!(item, "true" | "false" | "0" | "1"),
        "uint8" => parse_int(item).is_some_and(|n| (0..=u8::MAX as i64).contains(&n)),
        "uint16" => parse_int(item).is_some_and(|n| (0..=u16::MAX as i64).contains(&n)),
        "uint32" => parse_int(item).is_some_and(|n| (0..=u32::MAX as i64).contains(&n)),
        "int8" => parse_int(item).is_some_and(|n| (i8::MIN as i64..=i8::MAX as i64).contains(&n)),
        "int16" => {
            parse_int(item).is_some_and(|n| (i16::MIN as i64..=i16::MAX as i64).contains(&n))
        }
        "int32" => {
            parse_int(item).is_some_and(|n| (i32::MIN as i64..=i32::MAX as i64).contains(&n))
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("\"{item}\" is not a valid {kind}"))
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Checks option data (CSV format) against its definition.
fn check_data(def: &Def, data: &str) -> Result<(), String> {
    let items: Vec<&str> = if data.trim().is_empty() {
        Vec::new()
    } else {
        data.split(',').map(str::trim).collect()
    };
    match def.kind.as_str() {
        "empty" => {
            if items.is_empty() {
                Ok(())
            } else {
                Err("this option carries no data".into())
            }
        }
        "record" => {
            let n = def.record_types.len();
            if items.len() < n || (!def.array && items.len() > n) {
                return Err(format!(
                    "expects {n} comma-separated fields ({})",
                    def.record_types.join(", ")
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let kind = def.record_types.get(i).or(def.record_types.last());
                if let Some(kind) = kind {
                    check_item(kind, item)?;
                }
            }
            Ok(())
        }
        "string" | "fqdn" | "binary" | "tuple" | "psid" | "ipv6-prefix" | "internal" => Ok(()),
        kind => {
            if items.is_empty() {
                return Err(format!("expects a {kind} value"));
            }
            if items.len() > 1 && !def.array {
                return Err(format!("expects one {kind} value, not a list"));
            }
            items.iter().try_for_each(|i| check_item(kind, i))
        }
    }
}

/// Sets (adds or replaces) one option at a scope. `spec` takes `name` and/or `code`,
/// `space`, `data`, `csv-format`, `always-send` (Kea keys). Returns the stored entry.
pub fn set_option(
    doc: &mut ConfigDoc,
    scope: &OptionScope,
    spec: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let family = doc.family;
    let space = spec
        .get("space")
        .and_then(Value::as_str)
        .unwrap_or(family.option_space())
        .to_string();
    let name = spec.get("name").and_then(Value::as_str).map(str::to_string);
    let code = match spec.get("code") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|c| *c <= u16::MAX as u64)
                .ok_or_else(|| KeaError::invalid(format!("option code {v} is not valid")))?
                as u16,
        ),
    };
    let which = match (&name, code) {
        (Some(n), _) => NameOrCode::Name(n.clone()),
        (None, Some(c)) => NameOrCode::Code(c),
        (None, None) => {
            return Err(KeaError::invalid(
                "set_option: give the option's name or code",
            ));
        }
    };
    let def = find_def(doc, &space, &which).ok_or_else(|| {
        KeaError::invalid(format!(
            "option {which} is neither a standard {} option nor defined in space \"{space}\" on the server; define it first (define_option)",
            family.ip_name()
        ))
    })?;
    if let (Some(n), Some(c)) = (&name, code)
        && (def.code != c || def.name != *n)
    {
        return Err(KeaError::invalid(format!(
            "option \"{n}\" has code {}, not {c}",
            def.code
        )));
    }
    let csv = spec
        .get("csv-format")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let data = match spec.get("data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    };
    if csv {
        check_data(&def, &data).map_err(|why| {
            KeaError::invalid(format!(
                "option {} (code {}) data \"{data}\": {why}",
                def.name, def.code
            ))
        })?;
    }
    let mut entry = Map::new();
    entry.insert("name".into(), json!(def.name));
    entry.insert("code".into(), json!(def.code));
    entry.insert("space".into(), json!(space));
    entry.insert("data".into(), json!(data));
    for k in ["csv-format", "always-send", "never-send"] {
        if let Some(v) = spec.get(k)
            && !v.is_null()
        {
            entry.insert(k.into(), v.clone());
        }
    }
    let list = option_list_mut(doc, scope)?;
    let same = |o: &Value| {
        let ospace = o
            .get("space")
            .and_then(Value::as_str)
            .unwrap_or(family.option_space());
        ospace == space
            && (o.get("code").and_then(Value::as_u64) == Some(def.code as u64)
                || o.get("name").and_then(Value::as_str) == Some(def.name.as_str()))
    };
    let entry = match list.iter().position(same) {
        Some(i) => {
            // Keep what the call does not name (Kea's echoed `always-send`, `csv-format`…),
            // so setting the value an option already has changes nothing.
            let mut merged = list[i].as_object().cloned().unwrap_or_default();
            for (k, v) in entry {
                merged.insert(k, v);
            }
            let merged = Value::Object(merged);
            list[i] = merged.clone();
            merged
        }
        None => {
            let entry = Value::Object(entry);
            list.push(entry.clone());
            entry
        }
    };
    Ok(entry)
}

/// Removes one option (in the family's standard space, or `space`) from a scope.
pub fn delete_option(
    doc: &mut ConfigDoc,
    scope: &OptionScope,
    which: &NameOrCode,
    space: Option<&str>,
) -> Result<Value, KeaError> {
    let family = doc.family;
    let space = space.unwrap_or(family.option_space()).to_string();
    let def = find_def(doc, &space, which);
    let list = option_list_mut(doc, scope)?;
    let i = list
        .iter()
        .position(|o| {
            let ospace = o
                .get("space")
                .and_then(Value::as_str)
                .unwrap_or(family.option_space());
            if ospace != space {
                return false;
            }
            let oname = o.get("name").and_then(Value::as_str);
            let ocode = o.get("code").and_then(Value::as_u64);
            match which {
                NameOrCode::Name(n) => {
                    oname == Some(n.as_str())
                        || def.as_ref().is_some_and(|d| ocode == Some(d.code as u64))
                }
                NameOrCode::Code(c) => {
                    ocode == Some(*c as u64)
                        || def.as_ref().is_some_and(|d| oname == Some(d.name.as_str()))
                }
            }
        })
        .ok_or_else(|| {
            KeaError::new(ErrorKind::NotFound, format!("no option {which} at {scope}"))
        })?;
    Ok(list.remove(i))
}

/// Every place option data lives, with a label: (label, option list).
fn all_option_lists(doc: &ConfigDoc) -> Vec<(String, Vec<Value>)> {
    let get = |m: &Map<String, Value>| {
        m.get("option-data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut out = vec![("global".to_string(), get(doc.root()))];
    for net in doc.root_array("shared-networks") {
        if let Some(m) = net.as_object() {
            out.push((
                format!(
                    "shared network \"{}\"",
                    m.get("name").and_then(Value::as_str).unwrap_or("?")
                ),
                get(m),
            ));
        }
    }
    for loc in doc.subnet_locs() {
        let s = doc.subnet(loc);
        let prefix = s
            .get("subnet")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        out.push((format!("subnet {prefix}"), get(s)));
        for key in ["pools", "pd-pools"] {
            for p in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(pm) = p.as_object() {
                    let pn = pm
                        .get("pool")
                        .or_else(|| pm.get("prefix"))
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    out.push((format!("pool {pn} of subnet {prefix}"), get(pm)));
                }
            }
        }
        for r in s
            .get("reservations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(rm) = r.as_object() {
                out.push((format!("a reservation in subnet {prefix}"), get(rm)));
            }
        }
    }
    for c in doc.root_array("client-classes") {
        if let Some(cm) = c.as_object() {
            out.push((
                format!(
                    "class \"{}\"",
                    cm.get("name").and_then(Value::as_str).unwrap_or("?")
                ),
                get(cm),
            ));
        }
    }
    out
}

fn def_index(doc: &ConfigDoc, code: u16, space: &str) -> Option<usize> {
    doc.root_array("option-def").iter().position(|d| {
        d.get("code").and_then(Value::as_u64) == Some(code as u64)
            && d.get("space")
                .and_then(Value::as_str)
                .unwrap_or(doc.family.option_space())
                == space
    })
}

/// Checks a definition's fields; `skip` is the index of the definition being changed.
fn check_def(
    doc: &ConfigDoc,
    def: &Map<String, Value>,
    skip: Option<usize>,
) -> Result<(), KeaError> {
    let family = doc.family;
    let space = def
        .get("space")
        .and_then(Value::as_str)
        .unwrap_or(family.option_space());
    if space.is_empty() {
        return Err(KeaError::invalid("option definition space is empty"));
    }
    if space.starts_with("vendor-") && catalog::is_vendor_space(space).is_none() {
        return Err(KeaError::invalid(format!(
            "space \"{space}\" is not a vendor space: write vendor-<enterprise number>, e.g. vendor-4491"
        )));
    }
    let name = def
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| KeaError::invalid("option definition: \"name\" is required"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.chars().all(|c| c.is_ascii_digit())
    {
        return Err(KeaError::invalid(format!(
            "option definition name \"{name}\" may hold only letters, digits, '-', '_' and '.'"
        )));
    }
    let code_v = def
        .get("code")
        .ok_or_else(|| KeaError::invalid("option definition: \"code\" is required"))?;
    let code = code_v
        .as_i64()
        .ok_or_else(|| KeaError::invalid(format!("option code {code_v} is not an integer")))?;
    let (lo, hi) = catalog::code_range(family.catalog(), space);
    if code == 0 && family == Family::V4 && space == "dhcp4" {
        return Err(KeaError::invalid("option code 0 is reserved for PAD"));
    }
    if code == 255 && family == Family::V4 && space == "dhcp4" {
        return Err(KeaError::invalid("option code 255 is reserved for END"));
    }
    if code < lo as i64 || code > hi as i64 {
        return Err(KeaError::invalid(format!(
            "option code {code} is out of range for space \"{space}\" ({lo} to {hi})"
        )));
    }
    let code = code as u16;
    // The same rule as Kea's: a definition may not override a built-in one (by code, then
    // by name); what Kea allows (e.g. code 43 in dhcp4) stays allowed.
    if let Some(std) = catalog::overrides_standard(space, code, name) {
        return Err(KeaError::invalid(if std.code == code {
            format!(
                "option code {code} in space \"{space}\" is the standard option {}; choose a free code",
                std.name
            )
        } else {
            format!(
                "\"{name}\" is the name of the standard option {} in space \"{space}\"",
                std.code
            )
        }));
    }
    let kind = def
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("option definition: \"type\" is required"))?;
    if !catalog::is_option_type(kind) {
        return Err(KeaError::invalid(format!(
            "option type \"{kind}\" is unknown; use one of {}",
            catalog::OPTION_TYPES.join(", ")
        )));
    }
    let records = def
        .get("record-types")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if kind == "record" {
        if records.is_empty() {
            return Err(KeaError::invalid(
                "a record option needs record_types, e.g. \"uint8, ipv4-address\"",
            ));
        }
        for r in records.split(',').map(str::trim) {
            if !catalog::is_option_type(r) || r == "record" {
                return Err(KeaError::invalid(format!(
                    "record type \"{r}\" is not a valid field type"
                )));
            }
        }
    } else if !records.is_empty() {
        return Err(KeaError::invalid(format!(
            "record_types is only for type \"record\", not \"{kind}\""
        )));
    }
    if let Some(a) = def.get("array")
        && !a.is_boolean()
        && !a.is_null()
    {
        return Err(KeaError::invalid(format!(
            "array must be true or false, not {a}"
        )));
    }
    for (i, other) in doc.root_array("option-def").iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let ospace = other
            .get("space")
            .and_then(Value::as_str)
            .unwrap_or(family.option_space());
        if ospace != space {
            continue;
        }
        if other.get("code").and_then(Value::as_u64) == Some(code as u64) {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!("option code {code} in space \"{space}\" is already defined on the server"),
            ));
        }
        if other.get("name").and_then(Value::as_str) == Some(name) {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!("an option named \"{name}\" is already defined in space \"{space}\""),
            ));
        }
    }
    Ok(())
}

/// Adds a custom option definition (Kea keys: code, name, type, array, space,
/// record-types, encapsulate).
pub fn define_option(doc: &mut ConfigDoc, def: &Map<String, Value>) -> Result<Value, KeaError> {
    let mut d = def.clone();
    d.retain(|_, v| !v.is_null());
    d.entry("space")
        .or_insert_with(|| json!(doc.family.option_space()));
    check_def(doc, &d, None)?;
    let v = Value::Object(d);
    doc.root_array_mut("option-def").push(v.clone());
    Ok(v)
}

/// Changes a definition (the code too); option data that refers to it follows.
pub fn update_option_def(
    doc: &mut ConfigDoc,
    code: u16,
    space: &str,
    patch: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let i = def_index(doc, code, space).ok_or_else(|| def_not_found(code, space))?;
    let old = doc.root_array("option-def")[i]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut new = old.clone();
    merge(&mut new, patch);
    check_def(doc, &new, Some(i))?;
    let new_code = new
        .get("code")
        .and_then(Value::as_u64)
        .unwrap_or(code as u64);
    let new_name = new.get("name").cloned();
    let new_space = new
        .get("space")
        .and_then(Value::as_str)
        .unwrap_or(doc.family.option_space())
        .to_string();
    let old_name = old.get("name").cloned();
    doc.root_array_mut("option-def")[i] = Value::Object(new.clone());
    // Option data that uses the definition follows its new code and name.
    let family = doc.family;
    visit_option_data(doc, &mut |o: &mut Map<String, Value>| {
        let ospace = o
            .get("space")
            .and_then(Value::as_str)
            .unwrap_or(family.option_space())
            .to_string();
        let uses = ospace == space
            && (o.get("code").and_then(Value::as_u64) == Some(code as u64)
                || (old_name.is_some() && o.get("name") == old_name.as_ref()));
        if uses {
            if o.contains_key("code") {
                o.insert("code".into(), json!(new_code));
            }
            if o.contains_key("name")
                && let Some(n) = &new_name
            {
                o.insert("name".into(), n.clone());
            }
            if ospace != new_space || o.contains_key("space") {
                o.insert("space".into(), json!(new_space));
            }
        }
    });
    Ok(Value::Object(new))
}

fn def_not_found(code: u16, space: &str) -> KeaError {
    KeaError::new(
        ErrorKind::NotFound,
        format!("no custom option definition with code {code} in space \"{space}\" on the server"),
    )
}

/// Calls `f` on every option-data entry of the configuration.
fn visit_option_data(doc: &mut ConfigDoc, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    fn walk(v: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if k == "option-data" {
                        if let Some(a) = child.as_array_mut() {
                            for o in a.iter_mut().filter_map(Value::as_object_mut) {
                                f(o);
                            }
                        }
                    } else if k != "user-context" && k != "hooks-libraries" {
                        walk(child, f);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    walk(&mut doc.value, f);
}

/// Removes a definition; refused while option data uses it (and says where).
pub fn delete_option_def(doc: &mut ConfigDoc, code: u16, space: &str) -> Result<Value, KeaError> {
    let i = def_index(doc, code, space).ok_or_else(|| def_not_found(code, space))?;
    let def = doc.root_array("option-def")[i].clone();
    let name = def.get("name").and_then(Value::as_str).unwrap_or("");
    let family = doc.family;
    let mut uses = Vec::new();
    for (label, list) in all_option_lists(doc) {
        let used = list.iter().any(|o| {
            o.get("space")
                .and_then(Value::as_str)
                .unwrap_or(family.option_space())
                == space
                && (o.get("code").and_then(Value::as_u64) == Some(code as u64)
                    || o.get("name").and_then(Value::as_str) == Some(name))
        });
        if used {
            uses.push(label);
        }
    }
    if !uses.is_empty() {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "option definition {code} (\"{name}\") in space \"{space}\" is still used by option data at {}; delete that first",
                uses.join(", ")
            ),
        ));
    }
    Ok(doc.root_array_mut("option-def").remove(i))
}

/// Option data anywhere that names no known option, or whose data does not fit the
/// option's definition (for whole-configuration checks), as sentences.
pub fn option_data_problems(doc: &ConfigDoc) -> Vec<String> {
    let family = doc.family;
    let mut out = Vec::new();
    for (label, list) in all_option_lists(doc) {
        for o in list {
            let (space, Some(which)) = named_option(&o, family) else {
                continue;
            };
            match find_def(doc, space, &which) {
                None if !space.starts_with("vendor-") => out.push(format!(
                    "option {which} in space \"{space}\" at {label} is not a known option; define it first"
                )),
                None => {}
                Some(def) => {
                    let csv = o.get("csv-format").and_then(Value::as_bool) != Some(false);
                    if let (true, Some(data)) = (csv, o.get("data").and_then(Value::as_str))
                        && let Err(e) = check_data(&def, data)
                    {
                        out.push(format!("option {} at {label}: {e}", def.name));
                    }
                }
            }
        }
    }
    out
}

/// The space an `option-data` entry is in (the family's own when it names none) and the
/// option it names by name or code (`None`: neither, or a code out of range).
fn named_option(o: &Value, family: Family) -> (&str, Option<NameOrCode>) {
    let space = o
        .get("space")
        .and_then(Value::as_str)
        .unwrap_or(family.option_space());
    let which = match (
        o.get("name").and_then(Value::as_str),
        o.get("code").and_then(Value::as_u64),
    ) {
        (Some(n), _) => Some(NameOrCode::Name(n.to_string())),
        (None, Some(c)) => u16::try_from(c).ok().map(NameOrCode::Code),
        _ => None,
    };
    (space, which)
}

/// Checks one `option-data` entry as `set_option` checks its input: a known option
/// (standard, or defined on the server; vendor spaces are not known here), its CSV data
/// fitting its definition. The error names the option and the data.
pub fn check_entry(doc: &ConfigDoc, o: &Value) -> Result<(), String> {
    let family = doc.family;
    let (space, Some(which)) = named_option(o, family) else {
        return Err(format!("option data {o} names no option (name or code)"));
    };
    let Some(def) = find_def(doc, space, &which) else {
        if space.starts_with("vendor-") {
            return Ok(());
        }
        return Err(format!(
            "option {which} is neither a standard {} option nor defined in space \"{space}\" on the server; define it first (define_option)",
            family.ip_name()
        ));
    };
    let csv = o.get("csv-format").and_then(Value::as_bool) != Some(false);
    if let (true, Some(data)) = (csv, o.get("data").and_then(Value::as_str)) {
        check_data(&def, data).map_err(|why| {
            format!(
                "option {} (code {}) data \"{data}\": {why}",
                def.name, def.code
            )
        })?;
    }
    Ok(())
}

/// `set_option` spec helper: a name or code as given by a script.
pub fn spec_of(which: &NameOrCode, data: Value) -> Map<String, Value> {
    let mut m = Map::new();
    match which {
        NameOrCode::Name(n) => m.insert("name".into(), json!(n)),
        NameOrCode::Code(c) => m.insert("code".into(), json!(c)),
    };
    m.insert("data".into(), data);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24",
                "pools": [{"pool": "10.0.0.10-10.0.0.20"}]}],
                "client-classes": [{"name": "voip"}]}}),
        )
        .unwrap()
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn standard_options_by_name_and_code_with_typed_data() {
        let mut d = doc();
        let e = set_option(
            &mut d,
            &OptionScope::Global,
            &spec_of(&NameOrCode::Name("routers".into()), json!("10.0.0.1")),
        )
        .unwrap();
        assert_eq!(e["code"], 3);
        let sub = OptionScope::Subnet(SubnetKey::Id(1));
        set_option(
            &mut d,
            &sub,
            &spec_of(&NameOrCode::Code(6), json!("10.0.0.53, 10.0.0.54")),
        )
        .unwrap();
        assert_eq!(
            options_at(&d, &sub).unwrap()[0]["name"],
            "domain-name-servers"
        );
        // Replaces, not duplicates.
        set_option(
            &mut d,
            &sub,
            &spec_of(
                &NameOrCode::Name("domain-name-servers".into()),
                json!("10.0.0.9"),
            ),
        )
        .unwrap();
        assert_eq!(options_at(&d, &sub).unwrap().len(), 1);
        let e = set_option(
            &mut d,
            &sub,
            &spec_of(&NameOrCode::Name("routers".into()), json!("not-an-ip")),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(
            e.message.contains("routers") && e.message.contains("not-an-ip"),
            "{}",
            e.message
        );
        let e = set_option(
            &mut d,
            &sub,
            &spec_of(&NameOrCode::Name("no-such-option".into()), json!("x")),
        )
        .unwrap_err();
        assert!(e.message.contains("no-such-option"), "{}", e.message);
        let e = set_option(&mut d, &sub, &spec_of(&NameOrCode::Code(222), json!("x"))).unwrap_err();
        assert!(e.message.contains("code 222"), "{}", e.message);
        let pool = OptionScope::Pool(SubnetKey::Id(1), "10.0.0.10 - 10.0.0.20".into());
        set_option(
            &mut d,
            &pool,
            &spec_of(
                &NameOrCode::Name("domain-name".into()),
                json!("example.org"),
            ),
        )
        .unwrap();
        let class = OptionScope::Class("voip".into());
        set_option(
            &mut d,
            &class,
            &spec_of(&NameOrCode::Name("tftp-server-name".into()), json!("tftp1")),
        )
        .unwrap();
        delete_option(&mut d, &class, &NameOrCode::Code(66), None).unwrap();
        assert!(options_at(&d, &class).unwrap().is_empty());
        assert_eq!(
            delete_option(&mut d, &class, &NameOrCode::Code(66), None)
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn custom_definitions_are_checked_and_followed() {
        let mut d = doc();
        let e = define_option(
            &mut d,
            &m(json!({"code": 3, "name": "mine", "type": "string"})),
        )
        .unwrap_err();
        assert!(
            e.message.contains("standard option routers"),
            "{}",
            e.message
        );
        let e = define_option(
            &mut d,
            &m(json!({"code": 0, "name": "mine", "type": "string"})),
        )
        .unwrap_err();
        assert!(e.message.contains("PAD"), "{}", e.message);
        let e = define_option(
            &mut d,
            &m(json!({"code": 255, "name": "mine", "type": "string"})),
        )
        .unwrap_err();
        assert!(e.message.contains("END"), "{}", e.message);
        let e = define_option(
            &mut d,
            &m(json!({"code": 222, "name": "mine", "type": "strng"})),
        )
        .unwrap_err();
        assert!(e.message.contains("strng"), "{}", e.message);
        let e = define_option(
            &mut d,
            &m(json!({"code": 222, "name": "mine", "type": "string", "record-types": "uint8"})),
        )
        .unwrap_err();
        assert!(e.message.contains("record_types"), "{}", e.message);
        let e = define_option(
            &mut d,
            &m(json!({"code": 2, "name": "x", "type": "string", "space": "vendor-abc"})),
        )
        .unwrap_err();
        assert!(e.message.contains("vendor-"), "{}", e.message);
        define_option(&mut d, &m(json!({"code": 222, "name": "mine", "type": "record", "record-types": "uint8, ipv4-address"})))
            .unwrap();
        let e = define_option(
            &mut d,
            &m(json!({"code": 222, "name": "other", "type": "string"})),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        define_option(
            &mut d,
            &m(json!({"code": 1, "name": "cfg-file", "type": "string", "space": "vendor-4491x"})),
        )
        .unwrap_err();
        set_option(
            &mut d,
            &OptionScope::Subnet(SubnetKey::Id(1)),
            &spec_of(&NameOrCode::Name("mine".into()), json!("5, 10.0.0.1")),
        )
        .unwrap();
        let e = set_option(
            &mut d,
            &OptionScope::Global,
            &spec_of(&NameOrCode::Code(222), json!("5")),
        )
        .unwrap_err();
        assert!(e.message.contains("2 comma-separated"), "{}", e.message);
        let e = delete_option_def(&mut d, 222, "dhcp4").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e.message.contains("subnet 10.0.0.0/24"), "{}", e.message);
        // Changing the code carries the option data along.
        update_option_def(&mut d, 222, "dhcp4", &m(json!({"code": 223}))).unwrap();
        let opts = options_at(&d, &OptionScope::Subnet(SubnetKey::Id(1))).unwrap();
        assert_eq!(opts[0]["code"], 223);
        assert!(option_data_problems(&d).is_empty());
        delete_option(
            &mut d,
            &OptionScope::Subnet(SubnetKey::Id(1)),
            &NameOrCode::Name("mine".into()),
            None,
        )
        .unwrap();
        delete_option_def(&mut d, 223, "dhcp4").unwrap();
        assert!(d.root_array("option-def").is_empty());
    }
}
