//! Host reservations kept in the configuration: global ones (`reservations` at the top
//! level) and those of each subnet. Found by address or identifier, added, merged into and
//! removed with Kea's rules checked locally first (issue 15): an address inside its
//! subnet, one identifier, well-formed, not already reserved in the same scope (nor the
//! address, unless `ip-reservations-unique` is off), and something actually reserved.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::doc::merge;
use super::net::{Prefix, Range};
use super::subnets::prefix_of;
use super::{ConfigDoc, Family, SubnetKey, SubnetLoc};
use crate::kea::{ErrorKind, KeaError};

/// Identifier kinds, in Kea's spelling, with the longest value Kea takes (bytes).
const IDENTIFIERS: &[(&str, usize)] = &[
    ("hw-address", 20),
    ("client-id", 255),
    ("duid", 130),
    ("circuit-id", 255),
    ("flex-id", 255),
];

/// The identifier kinds of a family (DHCPv6 has no client-id or circuit-id).
pub fn identifier_kinds(family: Family) -> Vec<&'static str> {
    IDENTIFIERS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| family == Family::V4 || !matches!(*k, "client-id" | "circuit-id"))
        .collect()
}

/// The keys a reservation may carry, besides its identifier.
fn fields(family: Family) -> &'static [&'static str] {
    match family {
        Family::V4 => &[
            "ip-address",
            "hostname",
            "option-data",
            "client-classes",
            "next-server",
            "server-hostname",
            "boot-file-name",
            "user-context",
            "comment",
        ],
        Family::V6 => &[
            "ip-addresses",
            "prefixes",
            "excluded-prefixes",
            "hostname",
            "option-data",
            "client-classes",
            "user-context",
            "comment",
        ],
    }
}

/// Where reservations live: at the top level, or in one subnet.
#[derive(Debug, Clone, PartialEq)]
pub enum ResvScope {
    Global,
    Subnet(SubnetKey),
}

impl ResvScope {
    /// `"global"`, a subnet id or prefix.
    pub fn parse(s: &str, family: Family) -> Result<Self, KeaError> {
        if s.trim() == "global" {
            Ok(Self::Global)
        } else {
            Ok(Self::Subnet(SubnetKey::parse(s, family)?))
        }
    }
}

impl fmt::Display for ResvScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Global => write!(f, "global"),
            Self::Subnet(k) => write!(f, "subnet {k}"),
        }
    }
}

/// How a script names one reservation: an address, or an identifier.
#[derive(Debug, Clone, PartialEq)]
pub enum ResvKey {
    Address(IpAddr),
    /// Kind (Kea's spelling) and the value normalised ([`normalize_identifier`]).
    Ident(&'static str, String),
}

impl ResvKey {
    pub fn address(s: &str, family: Family) -> Result<Self, KeaError> {
        let ip: IpAddr = s.trim().parse().map_err(|_| {
            KeaError::invalid(format!(
                "reservation key \"{s}\" is not an {} address",
                family.ip_name()
            ))
        })?;
        if !family.matches(&ip) {
            return Err(KeaError::invalid(format!(
                "reservation key \"{s}\" is not an {} address",
                family.ip_name()
            )));
        }
        Ok(Self::Address(ip))
    }

    /// An identifier key: `kind` in either spelling (`hw_address` or `hw-address`).
    pub fn ident(kind: &str, value: &str, family: Family) -> Result<Self, KeaError> {
        let k = kind.replace('_', "-");
        let kind = identifier_kinds(family)
            .into_iter()
            .find(|x| *x == k)
            .ok_or_else(|| {
                KeaError::invalid(format!(
                    "\"{kind}\" is not a reservation identifier; use one of {}",
                    identifier_kinds(family)
                        .iter()
                        .map(|k| k.replace('-', "_"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(Self::Ident(kind, normalize_identifier(kind, value)?))
    }
}

impl fmt::Display for ResvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(ip) => write!(f, "{ip}"),
            Self::Ident(k, v) => write!(f, "{k} {v}"),
        }
    }
}

/// An identifier as Kea compares it: hex bytes, lower case, colon-separated
/// (`"AA-BB-CC"`, `"aabbcc"`, `"aa:bb:cc"` are one value); a quoted text (`'abc'`, not for
/// `hw-address`) is kept as it is.
pub fn normalize_identifier(kind: &str, value: &str) -> Result<String, KeaError> {
    let bad = |why: &str| {
        KeaError::invalid(format!(
            "{} \"{value}\" is malformed: {why}",
            kind.replace('-', "_")
        ))
    };
    let max = IDENTIFIERS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(255, |(_, m)| *m);
    let t = value.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    if kind != "hw-address" && t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
        if t.len() == 2 {
            return Err(bad("the quoted text is empty"));
        }
        if t.len() - 2 > max {
            return Err(bad(&format!("longer than {max} bytes")));
        }
        return Ok(t.to_string());
    }
    let t = t.strip_prefix("0x").unwrap_or(t);
    let bytes: Vec<String> = if t.contains([':', '-', ' ']) {
        t.split([':', '-', ' '])
            .map(|b| match b.len() {
                1 => Ok(format!("0{b}")),
                2 => Ok(b.to_string()),
                _ => Err(bad("each byte is one or two hex digits (aa:bb:cc)")),
            })
            .collect::<Result<_, _>>()?
    } else if t.len().is_multiple_of(2) {
        (0..t.len() / 2)
            .map(|i| t[2 * i..2 * i + 2].to_string())
            .collect()
    } else {
        return Err(bad("an odd number of hex digits"));
    };
    if bytes
        .iter()
        .any(|b| !b.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(bad(if kind == "hw-address" {
            "not hex bytes such as \"aa:bb:cc:dd:ee:ff\""
        } else {
            "not hex bytes such as \"01:aa:bb:cc\" nor a quoted text such as \"'abc'\""
        }));
    }
    if bytes.len() > max {
        return Err(bad(&format!("longer than {max} bytes")));
    }
    Ok(bytes.join(":").to_ascii_lowercase())
}

/// Which list of reservations: the global one or a subnet's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResvLoc {
    Global,
    Subnet(SubnetLoc),
}

/// One reservation's place: its list and its index there.
pub type ResvAt = (ResvLoc, usize);

fn list(doc: &ConfigDoc, loc: ResvLoc) -> &[Value] {
    let v = match loc {
        ResvLoc::Global => doc.root().get("reservations"),
        ResvLoc::Subnet(l) => doc.subnet(l).get("reservations"),
    };
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub fn list_mut(doc: &mut ConfigDoc, loc: ResvLoc) -> &mut Vec<Value> {
    let m = match loc {
        ResvLoc::Global => doc.root_mut(),
        ResvLoc::Subnet(l) => doc.subnet_mut(l),
    };
    let v = m
        .entry("reservations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !v.is_array() {
        *v = Value::Array(Vec::new());
    }
    v.as_array_mut().expect("array")
}

/// Every list, global first.
fn all_locs(doc: &ConfigDoc) -> Vec<ResvLoc> {
    std::iter::once(ResvLoc::Global)
        .chain(doc.subnet_locs().into_iter().map(ResvLoc::Subnet))
        .collect()
}

/// The list a scope names.
pub fn loc_of(doc: &ConfigDoc, scope: &ResvScope) -> Result<ResvLoc, KeaError> {
    match scope {
        ResvScope::Global => Ok(ResvLoc::Global),
        ResvScope::Subnet(k) => doc.find_subnet(k).map(ResvLoc::Subnet),
    }
}

/// How a list is named in messages: `global`, `subnet 1 (192.0.2.0/24)`.
pub fn describe_loc(doc: &ConfigDoc, loc: ResvLoc) -> String {
    match loc {
        ResvLoc::Global => "global".into(),
        ResvLoc::Subnet(l) => {
            let s = doc.subnet(l);
            format!(
                "subnet {} ({})",
                s.get("id").map_or("?".into(), Value::to_string),
                s.get("subnet").and_then(Value::as_str).unwrap_or("?")
            )
        }
    }
}

/// The identifier of a reservation: kind and normalised value.
pub fn identifier_of(r: &Map<String, Value>) -> Option<(&'static str, String)> {
    IDENTIFIERS.iter().find_map(|(k, _)| {
        r.get(*k).and_then(Value::as_str).map(|v| {
            (
                *k,
                normalize_identifier(k, v).unwrap_or_else(|_| v.to_string()),
            )
        })
    })
}

/// The addresses a reservation holds (v4 `ip-address`, v6 `ip-addresses`).
pub fn addresses_of(r: &Map<String, Value>) -> Vec<IpAddr> {
    let mut out = Vec::new();
    if let Some(a) = r
        .get("ip-address")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
    {
        out.push(a);
    }
    for a in r
        .get("ip-addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(ip) = a.as_str().and_then(|s| s.parse().ok()) {
            out.push(ip);
        }
    }
    out
}

/// One line naming a reservation, for messages.
pub fn describe(r: &Map<String, Value>) -> String {
    let mut parts = Vec::new();
    if let Some((k, v)) = identifier_of(r) {
        parts.push(format!("{} {v}", k.replace('-', "_")));
    }
    for a in addresses_of(r) {
        parts.push(a.to_string());
    }
    if let Some(h) = r
        .get("hostname")
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty())
    {
        parts.push(format!("hostname {h}"));
    }
    parts.join(", ")
}

fn matches(r: &Map<String, Value>, key: &ResvKey) -> bool {
    match key {
        ResvKey::Address(ip) => addresses_of(r).contains(ip),
        ResvKey::Ident(k, v) => r
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|x| normalize_identifier(k, x).is_ok_and(|x| x == *v)),
    }
}

/// The one reservation `key` names, in `scope` or anywhere. `None` when there is none; an
/// error listing them when several match (one MAC reserved in several subnets).
pub fn find(
    doc: &ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
) -> Result<Option<ResvAt>, KeaError> {
    let locs = match scope {
        Some(s) => vec![loc_of(doc, s)?],
        None => all_locs(doc),
    };
    let mut hits = Vec::new();
    for loc in locs {
        for (i, r) in list(doc, loc).iter().enumerate() {
            if r.as_object().is_some_and(|r| matches(r, key)) {
                hits.push((loc, i));
            }
        }
    }
    if hits.len() > 1 {
        let named: Vec<String> = hits
            .iter()
            .map(|(l, i)| {
                format!(
                    "{}: {}",
                    describe_loc(doc, *l),
                    list(doc, *l)[*i]
                        .as_object()
                        .map(describe)
                        .unwrap_or_default()
                )
            })
            .collect();
        return Err(KeaError::invalid(format!(
            "{key} matches {} reservations ({}); name the scope: reservation(scope, key)",
            hits.len(),
            named.join("; ")
        )));
    }
    Ok(hits.pop())
}

/// The reservation at a place.
pub fn at(doc: &ConfigDoc, (loc, i): ResvAt) -> &Map<String, Value> {
    list(doc, loc)[i]
        .as_object()
        .expect("reservations are maps")
}

/// Every reservation of a scope (all when `None`), each with its place.
pub fn all(doc: &ConfigDoc, scope: Option<&ResvScope>) -> Result<Vec<ResvAt>, KeaError> {
    let locs = match scope {
        Some(s) => vec![loc_of(doc, s)?],
        None => all_locs(doc),
    };
    Ok(locs
        .into_iter()
        .flat_map(|l| (0..list(doc, l).len()).map(move |i| (l, i)))
        .collect())
}

/// A reservation as the script API shows it: Kea's map plus `subnet` (the id, or
/// `"global"`), with the empty values Kea echoes left out.
pub fn view(doc: &ConfigDoc, at: ResvAt) -> Value {
    let mut m = meaningful(self::at(doc, at));
    let subnet = match at.0 {
        ResvLoc::Global => Value::String("global".into()),
        ResvLoc::Subnet(l) => doc.subnet(l).get("id").cloned().unwrap_or(Value::Null),
    };
    m.insert("subnet".into(), subnet);
    Value::Object(m)
}

/// A reservation without the empty defaults Kea echoes (`""`, `[]`, `next-server`
/// `0.0.0.0`).
pub fn meaningful(r: &Map<String, Value>) -> Map<String, Value> {
    r.iter()
        .filter(|(k, v)| !is_empty_value(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn is_empty_value(k: &str, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty() || (k == "next-server" && s == "0.0.0.0"),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Does the reservation reserve anything (an address, a prefix, a hostname, a class, an
/// option or a boot field)?
fn reserves_something(r: &Map<String, Value>) -> bool {
    r.iter().any(|(k, v)| {
        !is_empty_value(k, v)
            && !matches!(k.as_str(), "user-context" | "comment")
            && !IDENTIFIERS.iter().any(|(i, _)| i == k)
    })
}

/// Checks one reservation on its own, and normalises its identifier and addresses. `prefix`
/// is its subnet's (none for a global one).
pub fn check_shape(
    r: &mut Map<String, Value>,
    family: Family,
    prefix: Option<&Prefix>,
) -> Result<(), KeaError> {
    let kinds = identifier_kinds(family);
    for k in r.keys() {
        if !kinds.contains(&k.as_str()) && !fields(family).contains(&k.as_str()) {
            let hint = if family == Family::V4 && k == "ip-addresses" {
                " (DHCPv4 reserves one: ip_address)"
            } else if family == Family::V6 && k == "ip-address" {
                " (DHCPv6 reserves a list: ip_addresses)"
            } else {
                ""
            };
            return Err(KeaError::invalid(format!(
                "a reservation has no field \"{}\"{hint}",
                k.replace('-', "_")
            )));
        }
    }
    let present: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| r.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    let kind = match present.as_slice() {
        [one] => *one,
        [] => {
            return Err(KeaError::invalid(format!(
                "a reservation needs exactly one identifier ({}); it has none",
                kinds
                    .iter()
                    .map(|k| k.replace('-', "_"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        many => {
            return Err(KeaError::invalid(format!(
                "a reservation needs exactly one identifier; it has {}",
                many.iter()
                    .map(|k| k.replace('-', "_"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        }
    };
    let raw = r[kind]
        .as_str()
        .ok_or_else(|| {
            KeaError::invalid(format!(
                "{} {} is malformed: it must be a string",
                kind.replace('-', "_"),
                r[kind]
            ))
        })?
        .to_string();
    r.insert(
        kind.into(),
        Value::String(normalize_identifier(kind, &raw)?),
    );
    let check_ip = |field: &str, v: &Value| -> Result<IpAddr, KeaError> {
        let s = v.as_str().unwrap_or_default();
        let ip: IpAddr = s
            .trim()
            .parse()
            .ok()
            .filter(|ip| family.matches(ip))
            .ok_or_else(|| {
                KeaError::invalid(format!(
                    "{} {v} is not an {} address",
                    field.replace('-', "_"),
                    family.ip_name()
                ))
            })?;
        if let Some(p) = prefix
            && !p.0.contains(&ip)
        {
            return Err(KeaError::invalid(format!(
                "{} {ip} is outside its subnet {p}",
                field.replace('-', "_")
            )));
        }
        Ok(ip)
    };
    match family {
        Family::V4 => {
            if let Some(v) = r.get("ip-address").filter(|v| !v.is_null()).cloned() {
                let ip = check_ip("ip-address", &v)?;
                r.insert("ip-address".into(), Value::String(ip.to_string()));
            }
        }
        Family::V6 => {
            if let Some(v) = r.get("ip-addresses").filter(|v| !v.is_null()).cloned() {
                let list = v.as_array().ok_or_else(|| {
                    KeaError::invalid(format!("ip_addresses {v} must be a list of addresses"))
                })?;
                let ips = list
                    .iter()
                    .map(|a| check_ip("ip-addresses", a).map(|ip| Value::String(ip.to_string())))
                    .collect::<Result<Vec<_>, _>>()?;
                r.insert("ip-addresses".into(), Value::Array(ips));
            }
            if let Some(v) = r.get("prefixes").filter(|v| !v.is_null()).cloned() {
                let list = v.as_array().ok_or_else(|| {
                    KeaError::invalid(format!("prefixes {v} must be a list of prefixes"))
                })?;
                for p in list {
                    Prefix::parse(p.as_str().unwrap_or_default(), family, "prefixes")?;
                }
            }
        }
    }
    if let Some(v) = r
        .get("next-server")
        .filter(|v| !is_empty_value("next-server", v))
    {
        let ok = v
            .as_str()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .is_some_and(|ip| ip.is_ipv4());
        if !ok {
            return Err(KeaError::invalid(format!(
                "next_server {v} is not an IPv4 address"
            )));
        }
    }
    if !reserves_something(r) {
        return Err(KeaError::invalid(format!(
            "the reservation for {} {raw} reserves nothing: give an address, a prefix, a hostname, a class, an option or a boot field",
            kind.replace('-', "_")
        )));
    }
    Ok(())
}

/// Does the configuration allow two reservations of one address (`ip-reservations-unique:
/// false`)?
fn addresses_unique(doc: &ConfigDoc) -> bool {
    doc.root()
        .get("ip-reservations-unique")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Refuses `r` when its identifier, or (unless duplicates are allowed) one of its
/// addresses, is already reserved in `loc` by another reservation than `skip`.
fn check_unique(
    doc: &ConfigDoc,
    loc: ResvLoc,
    r: &Map<String, Value>,
    skip: Option<usize>,
) -> Result<(), KeaError> {
    let ident = identifier_of(r);
    let addrs = addresses_of(r);
    let unique = addresses_unique(doc);
    for (i, other) in list(doc, loc).iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let Some(other) = other.as_object() else {
            continue;
        };
        if let Some((k, v)) = &ident
            && identifier_of(other).is_some_and(|(ok, ov)| ok == *k && ov == *v)
        {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!(
                    "{} {v} is already reserved in {} (reservation {})",
                    k.replace('-', "_"),
                    describe_loc(doc, loc),
                    describe(other)
                ),
            ));
        }
        if unique && let Some(a) = addresses_of(other).into_iter().find(|a| addrs.contains(a)) {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!(
                    "address {a} is already reserved in {} (reservation {}); set ip_reservations_unique: false to allow it",
                    describe_loc(doc, loc),
                    describe(other)
                ),
            ));
        }
    }
    Ok(())
}

fn subnet_prefix(doc: &ConfigDoc, loc: ResvLoc) -> Option<Prefix> {
    match loc {
        ResvLoc::Global => None,
        ResvLoc::Subnet(l) => prefix_of(doc.subnet(l), doc.family),
    }
}

/// Adds a reservation to `scope`; returns it as it is now.
pub fn add(
    doc: &mut ConfigDoc,
    scope: &ResvScope,
    r: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let loc = loc_of(doc, scope)?;
    let mut r = without_nulls(r);
    check_shape(&mut r, doc.family, subnet_prefix(doc, loc).as_ref())?;
    check_options(doc, &r)?;
    check_unique(doc, loc, &r, None)?;
    let list = list_mut(doc, loc);
    list.push(Value::Object(r));
    let i = list.len() - 1;
    Ok(view(doc, (loc, i)))
}

/// Checks a reservation's `option_data` as options are checked elsewhere (a known option,
/// its data fitting its definition), against the server's configuration `doc`.
pub fn check_options(doc: &ConfigDoc, r: &Map<String, Value>) -> Result<(), KeaError> {
    match r.get("option-data") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) => list
            .iter()
            .try_for_each(|o| super::options::check_entry(doc, o).map_err(KeaError::invalid)),
        Some(other) => Err(KeaError::invalid(format!(
            "option_data must be a list of options, not {other}"
        ))),
    }
}

fn without_nulls(r: &Map<String, Value>) -> Map<String, Value> {
    r.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn not_found(scope: Option<&ResvScope>, key: &ResvKey) -> KeaError {
    KeaError::new(
        ErrorKind::NotFound,
        match scope {
            Some(s) => format!("no reservation for {key} in {s}"),
            None => format!("no reservation for {key} on the server"),
        },
    )
}

/// Merges `patch` into the reservation `key` names (`null` removes a field); returns it.
/// Its identifier may change (to another kind too: the old one is removed).
pub fn update(
    doc: &mut ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
    patch: &Map<String, Value>,
) -> Result<Value, KeaError> {
    let (loc, i) = find(doc, scope, key)?.ok_or_else(|| not_found(scope, key))?;
    let mut r = at(doc, (loc, i)).clone();
    if let Some(new_kind) = identifier_kinds(doc.family)
        .into_iter()
        .find(|k| patch.get(*k).is_some_and(|v| !v.is_null()))
    {
        for k in identifier_kinds(doc.family) {
            if k != new_kind {
                r.remove(k);
            }
        }
    }
    merge(&mut r, patch);
    let mut r = meaningful(&r);
    check_shape(&mut r, doc.family, subnet_prefix(doc, loc).as_ref())?;
    check_options(doc, &r)?;
    check_unique(doc, loc, &r, Some(i))?;
    // Kea's echoed defaults are kept where they were (a change that changes nothing sends
    // nothing).
    let before = at(doc, (loc, i));
    if meaningful(before) == r {
        return Ok(view(doc, (loc, i)));
    }
    list_mut(doc, loc)[i] = Value::Object(r);
    Ok(view(doc, (loc, i)))
}

/// Removes the reservation `key` names; returns it.
pub fn delete(
    doc: &mut ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
) -> Result<Value, KeaError> {
    let (loc, i) = find(doc, scope, key)?.ok_or_else(|| not_found(scope, key))?;
    let v = view(doc, (loc, i));
    list_mut(doc, loc).remove(i);
    Ok(v)
}

/// The scope and identifier of a reservation as the script API shows it ([`view`]: its
/// `subnet` is the id or `"global"`): how undo finds it again.
pub fn identity_of_view(v: &Value) -> Option<(ResvScope, ResvKey)> {
    let m = v.as_object()?;
    let scope = match m.get("subnet")? {
        Value::String(s) if s == "global" => ResvScope::Global,
        v => ResvScope::Subnet(super::SubnetKey::Id(v.as_u64()?)),
    };
    let (kind, value) = identifier_of(m)?;
    Some((scope, ResvKey::Ident(kind, value)))
}

/// A reservation with its identifier written the way Kea compares it (`AA-BB` and `aa:bb`
/// are one value), for comparing a recorded reservation with a running one.
pub fn normalized(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut()
        && let Some((k, value)) = identifier_of(m)
    {
        m.insert(k.into(), Value::String(value));
    }
    v
}

/// Puts `r` (a reservation as [`view`] shows it, or `None`: removed) in place of the one
/// `key` names in `scope`, or adds it there when there is none.
pub fn put(
    doc: &mut ConfigDoc,
    scope: &ResvScope,
    key: &ResvKey,
    r: Option<&Map<String, Value>>,
) -> Result<(), KeaError> {
    let loc = loc_of(doc, scope)?;
    let found = find(doc, Some(scope), key)?;
    let r = r.map(|r| {
        let mut r = without_nulls(r);
        r.remove("subnet");
        Value::Object(r)
    });
    let list = list_mut(doc, loc);
    match (found, r) {
        (Some((_, i)), None) => {
            list.remove(i);
        }
        (Some((_, i)), Some(r)) => list[i] = r,
        (None, Some(r)) => list.push(r),
        (None, None) => {}
    }
    Ok(())
}

/// What to tell the user about a reservation that Kea accepts: an address inside a dynamic
/// pool; a global reservation while `reservations-global` is off. (A lease held by another
/// client is asked of the server by the caller.)
pub fn warnings(doc: &ConfigDoc, scope: &ResvScope, r: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(loc) = loc_of(doc, scope) else {
        return out;
    };
    match loc {
        ResvLoc::Global => {
            let on = doc
                .root()
                .get("reservations-global")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !on {
                out.push(format!(
                    "a global reservation ({}) is not used while reservations_global is off (set(#{{ reservations_global: true }}) turns it on)",
                    describe(r)
                ));
            }
        }
        ResvLoc::Subnet(l) => {
            let s = doc.subnet(l);
            for ip in addresses_of(r) {
                for p in s
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = p.get("pool").and_then(Value::as_str).unwrap_or_default();
                    if let Ok(range) = Range::parse(text, doc.family, "pool")
                        && range.first <= ip
                        && ip <= range.last
                    {
                        out.push(format!(
                            "reserved address {ip} lies inside the dynamic pool {text} of {}: Kea allows it, but another client may hold it until its lease ends",
                            describe_loc(doc, loc)
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Indexes of the identifiers and addresses of one list, for checking many rows at once.
#[derive(Default)]
pub struct ListIndex {
    pub idents: HashMap<(&'static str, String), usize>,
    pub addrs: HashMap<IpAddr, usize>,
}

impl ListIndex {
    pub fn of(doc: &ConfigDoc, loc: ResvLoc) -> Self {
        let mut ix = Self::default();
        for (i, r) in list(doc, loc).iter().enumerate() {
            if let Some(r) = r.as_object() {
                ix.insert(r, i);
            }
        }
        ix
    }

    pub fn insert(&mut self, r: &Map<String, Value>, i: usize) {
        if let Some(id) = identifier_of(r) {
            self.idents.insert(id, i);
        }
        for a in addresses_of(r) {
            self.addrs.entry(a).or_insert(i);
        }
    }

    pub fn remove(&mut self, r: &Map<String, Value>, i: usize) {
        if let Some(id) = identifier_of(r) {
            self.idents.remove(&id);
        }
        for a in addresses_of(r) {
            if self.addrs.get(&a) == Some(&i) {
                self.addrs.remove(&a);
            }
        }
    }
}

/// What an import did, or would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

/// One row to import: its line in the file, its scope, its reservation (Kea keys).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub line: usize,
    pub scope: ResvScope,
    pub resv: Map<String, Value>,
}

/// Applies every row (a row whose identifier is already reserved in its scope is merged
/// into that reservation); with `replace`, reservations of that scope no row names are
/// removed. Every row is checked; when any is bad, nothing is applied and the error lists
/// each bad row with its line, field and value.
pub fn import(
    doc: &mut ConfigDoc,
    rows: &[ImportRow],
    replace: Option<&ResvScope>,
) -> Result<ImportCounts, KeaError> {
    let family = doc.family;
    let unique = addresses_unique(doc);
    let mut errors: Vec<String> = Vec::new();
    let mut counts = ImportCounts::default();
    let mut indexes: HashMap<ResvLoc, ListIndex> = HashMap::new();
    let mut seen: HashMap<ResvLoc, std::collections::HashSet<usize>> = HashMap::new();
    let mut locs: HashMap<String, Result<ResvLoc, String>> = HashMap::new();
    let mut work = doc.clone();
    for row in rows {
        let loc = locs
            .entry(row.scope.to_string())
            .or_insert_with(|| loc_of(&work, &row.scope).map_err(|e| e.message))
            .clone();
        let loc = match loc {
            Ok(l) => l,
            Err(m) => {
                errors.push(format!("line {}: subnet: {m}", row.line));
                continue;
            }
        };
        let mut r = without_nulls(&row.resv);
        if let Err(e) = check_shape_partial(&mut r, family, subnet_prefix(&work, loc).as_ref()) {
            errors.push(format!("line {}: {}", row.line, e.message));
            continue;
        }
        if let Err(e) = check_options(&work, &r) {
            errors.push(format!("line {}: {}", row.line, e.message));
            continue;
        }
        let ix = indexes
            .entry(loc)
            .or_insert_with(|| ListIndex::of(&work, loc));
        let ident = identifier_of(&r).expect("checked");
        let existing = ix.idents.get(&ident).copied();
        let mut merged = match existing {
            Some(i) => {
                let mut m = meaningful(at(&work, (loc, i)));
                merge(&mut m, &r);
                m
            }
            None => r,
        };
        if let Err(e) = check_shape(&mut merged, family, subnet_prefix(&work, loc).as_ref()) {
            errors.push(format!("line {}: {}", row.line, e.message));
            continue;
        }
        if unique
            && let Some((a, other)) = addresses_of(&merged).into_iter().find_map(|a| {
                ix.addrs
                    .get(&a)
                    .filter(|o| Some(**o) != existing)
                    .map(|o| (a, *o))
            })
        {
            errors.push(format!(
                "line {}: ip_address {a} is already reserved in {} (reservation {})",
                row.line,
                describe_loc(&work, loc),
                describe(at(&work, (loc, other)))
            ));
            continue;
        }
        let done = seen.entry(loc).or_default();
        match existing {
            Some(i) => {
                if !done.insert(i) {
                    errors.push(format!(
                        "line {}: {} {} appears twice in the file",
                        row.line,
                        ident.0.replace('-', "_"),
                        ident.1
                    ));
                    continue;
                }
                if meaningful(at(&work, (loc, i))) == merged {
                    counts.unchanged += 1;
                } else {
                    let old = at(&work, (loc, i)).clone();
                    ix.remove(&old, i);
                    ix.insert(&merged, i);
                    list_mut(&mut work, loc)[i] = Value::Object(merged);
                    counts.updated += 1;
                }
            }
            None => {
                let l = list_mut(&mut work, loc);
                l.push(Value::Object(merged));
                let i = l.len() - 1;
                let r = l[i].as_object().expect("map").clone();
                ix.insert(&r, i);
                done.insert(i);
                counts.added += 1;
            }
        }
    }
    if !errors.is_empty() {
        const SHOWN: usize = 20;
        let n = errors.len();
        let mut text = errors
            .into_iter()
            .take(SHOWN)
            .collect::<Vec<_>>()
            .join("\n  ");
        if n > SHOWN {
            text.push_str(&format!("\n  … and {} more", n - SHOWN));
        }
        return Err(KeaError::invalid(format!(
            "{n} bad row{} in the file; nothing was imported:\n  {text}",
            if n == 1 { "" } else { "s" }
        )));
    }
    if let Some(scope) = replace {
        let loc = loc_of(&work, scope)?;
        let keep = seen.remove(&loc).unwrap_or_default();
        let l = list_mut(&mut work, loc);
        let before = l.len();
        let mut i = 0;
        l.retain(|_| {
            let k = keep.contains(&i);
            i += 1;
            k
        });
        counts.deleted = before - l.len();
    }
    *doc = work;
    Ok(counts)
}

/// [`check_shape`] for a row that may only add to an existing reservation: it needs its
/// identifier, not something reserved (the reservation it merges into may have that).
fn check_shape_partial(
    r: &mut Map<String, Value>,
    family: Family,
    prefix: Option<&Prefix>,
) -> Result<(), KeaError> {
    let mut probe = r.clone();
    probe.insert("hostname".into(), Value::String("probe".into()));
    check_shape(&mut probe, family, prefix)?;
    if !r.contains_key("hostname") {
        probe.remove("hostname");
    } else {
        probe.insert("hostname".into(), r["hostname"].clone());
    }
    *r = probe;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [
                {"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10-192.0.2.200"}],
                 "reservations": [{"hw-address": "aa:bb:cc:dd:ee:01", "ip-address": "192.0.2.201",
                                   "hostname": "", "next-server": "0.0.0.0", "client-classes": []}]},
                {"id": 2, "subnet": "10.0.0.0/24",
                 "reservations": [{"hw-address": "aa:bb:cc:dd:ee:01", "ip-address": "10.0.0.5"}]}
            ]}}),
        )
        .unwrap()
    }

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn s1() -> ResvScope {
        ResvScope::Subnet(SubnetKey::Id(1))
    }

    #[test]
    fn identifiers_are_normalised_and_malformed_ones_refused() {
        assert_eq!(
            normalize_identifier("hw-address", "AA-BB-CC-DD-EE-FF").unwrap(),
            "aa:bb:cc:dd:ee:ff"
        );
        assert_eq!(normalize_identifier("duid", "0102ff").unwrap(), "01:02:ff");
        assert_eq!(normalize_identifier("flex-id", "'abc'").unwrap(), "'abc'");
        let e = normalize_identifier("hw-address", "aa:bb:zz").unwrap_err();
        assert!(
            e.message.contains("hw_address \"aa:bb:zz\" is malformed"),
            "{}",
            e.message
        );
        assert!(normalize_identifier("hw-address", &"aa:".repeat(21)).is_err());
        assert!(normalize_identifier("hw-address", "abc").is_err());
    }

    #[test]
    fn add_checks_every_rule() {
        let mut d = doc();
        let r = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "AA:BB:CC:00:00:02", "ip-address": "192.0.2.202"})),
        )
        .unwrap();
        assert_eq!(r["hw-address"], "aa:bb:cc:00:00:02");
        assert_eq!(r["subnet"], 1);
        let e = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:00:00:03", "ip-address": "10.0.0.9"})),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "ip_address 10.0.0.9 is outside its subnet 192.0.2.0/24"
        );
        let e = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:00:00:03", "ip-address": "192.0.2.201"})),
        )
        .unwrap_err();
        assert!(e.message.contains("address 192.0.2.201 is already reserved in subnet 1 (192.0.2.0/24) (reservation hw_address aa:bb:cc:dd:ee:01"), "{}", e.message);
        let e = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:dd:ee:01", "hostname": "x"})),
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("hw_address aa:bb:cc:dd:ee:01 is already reserved in subnet 1"),
            "{}",
            e.message
        );
        let e = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:00:00:09"})),
        )
        .unwrap_err();
        assert!(e.message.contains("reserves nothing"), "{}", e.message);
        let e = add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:00:00:09", "duid": "01:02:03", "hostname": "h"})),
        )
        .unwrap_err();
        assert!(
            e.message.contains("exactly one identifier"),
            "{}",
            e.message
        );
        // A hostname alone is a reservation.
        add(
            &mut d,
            &s1(),
            &m(json!({"client-id": "01:aa:bb", "hostname": "printer"})),
        )
        .unwrap();
        // Duplicate addresses allowed when the server says so.
        d.root_mut()
            .insert("ip-reservations-unique".into(), json!(false));
        add(
            &mut d,
            &s1(),
            &m(json!({"hw-address": "aa:bb:cc:00:00:04", "ip-address": "192.0.2.201"})),
        )
        .unwrap();
    }

    #[test]
    fn keys_matching_several_reservations_are_refused() {
        let mut d = doc();
        let k = ResvKey::ident("hw_address", "aa:bb:cc:dd:ee:01", Family::V4).unwrap();
        let e = find(&d, None, &k).unwrap_err();
        assert!(
            e.message.contains("matches 2 reservations"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("subnet 2 (10.0.0.0/24)"),
            "{}",
            e.message
        );
        let at = find(&d, Some(&s1()), &k).unwrap().unwrap();
        assert_eq!(at.1, 0);
        let r = update(&mut d, Some(&s1()), &k, &m(json!({"hostname": "laptop"}))).unwrap();
        assert_eq!(r["hostname"], "laptop");
        assert!(r.get("next-server").is_none());
        let k = ResvKey::address("10.0.0.5", Family::V4).unwrap();
        delete(&mut d, None, &k).unwrap();
        assert_eq!(find(&d, None, &k).unwrap(), None);
        assert_eq!(
            delete(&mut d, None, &k).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn warnings_for_pools_and_global() {
        let d = doc();
        let w = warnings(
            &d,
            &s1(),
            &m(json!({"hw-address": "aa", "ip-address": "192.0.2.50"})),
        );
        assert!(
            w[0].contains("inside the dynamic pool 192.0.2.10-192.0.2.200"),
            "{w:?}"
        );
        let w = warnings(
            &d,
            &ResvScope::Global,
            &m(json!({"hw-address": "aa", "hostname": "x"})),
        );
        assert!(w[0].contains("reservations_global is off"), "{w:?}");
    }

    #[test]
    fn import_reports_every_bad_row_and_changes_nothing() {
        let mut d = doc();
        let before = d.clone();
        let row = |line, mac: &str, ip: &str| ImportRow {
            line,
            scope: s1(),
            resv: m(json!({"hw-address": mac, "ip-address": ip})),
        };
        let rows = vec![
            row(2, "aa:bb:cc:00:01:01", "192.0.2.210"),
            row(3, "zz:bb", "192.0.2.211"),
            row(4, "aa:bb:cc:00:01:02", "192.0.3.1"),
            row(5, "aa:bb:cc:00:01:03", "192.0.2.210"),
        ];
        let e = import(&mut d, &rows, None).unwrap_err();
        assert!(e.message.starts_with("3 bad rows"), "{}", e.message);
        assert!(
            e.message
                .contains("line 3: hw_address \"zz:bb\" is malformed"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("line 4: ip_address 192.0.3.1 is outside"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("line 5: ip_address 192.0.2.210 is already reserved"),
            "{}",
            e.message
        );
        assert_eq!(d, before);
        let rows = vec![
            row(2, "aa:bb:cc:00:01:01", "192.0.2.210"),
            row(3, "aa:bb:cc:dd:ee:01", "192.0.2.201"),
        ];
        let c = import(&mut d, &rows, Some(&s1())).unwrap();
        assert_eq!(
            c,
            ImportCounts {
                added: 1,
                updated: 0,
                unchanged: 1,
                deleted: 0
            }
        );
        let rows = vec![row(2, "aa:bb:cc:00:01:01", "192.0.2.212")];
        let c = import(&mut d, &rows, Some(&s1())).unwrap();
        assert_eq!(
            c,
            ImportCounts {
                added: 0,
                updated: 1,
                unchanged: 0,
                deleted: 1
            }
        );
    }
}
