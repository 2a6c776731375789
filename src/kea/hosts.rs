//! Reservations kept in a hosts database (`hosts-database` / `hosts-databases`), changed
//! through the `host_cmds` hook: `reservation-add`, `-update`, `-del`, read with
//! `reservation-get` / `-get-all`. The same rules as in the configuration
//! ([`crate::kea::config::reservations`]) are checked first, against what the server
//! answers for the subnet (the database and the configuration file together).

use serde_json::{Map, Value, json};

use super::config::reservations::{
    self as rv, ResvKey, ResvScope, addresses_of, check_shape, describe, identifier_of,
};
use super::config::subnets::prefix_of;
use super::config::{ConfigDoc, merge};
use super::{Capabilities, ErrorKind, KeaError, Service};

/// Where a service's reservations are changed: `"config"` (the configuration file, by
/// `config-set`) or `"database"` (a hosts database, through `host_cmds`).
pub fn target(doc: &ConfigDoc, caps: &Capabilities) -> &'static str {
    if caps.host_cmds && has_hosts_database(doc) {
        "database"
    } else {
        "config"
    }
}

/// Does the configuration name a hosts database?
pub fn has_hosts_database(doc: &ConfigDoc) -> bool {
    doc.root()
        .get("hosts-database")
        .is_some_and(Value::is_object)
        || doc
            .root()
            .get("hosts-databases")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

/// Which database(s) a configuration uses, without credentials: two HA peers with the
/// same identity share their reservations, and a change is made once for them.
pub fn database_identity(doc: &ConfigDoc) -> Vec<String> {
    let one = |d: &Value| {
        format!(
            "{}://{}:{}/{}",
            d.get("type").and_then(Value::as_str).unwrap_or("?"),
            d.get("host").and_then(Value::as_str).unwrap_or("localhost"),
            d.get("port").map_or("default".into(), Value::to_string),
            d.get("name").and_then(Value::as_str).unwrap_or("?")
        )
    };
    let mut v: Vec<String> = doc
        .root()
        .get("hosts-database")
        .into_iter()
        .chain(
            doc.root()
                .get("hosts-databases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(one)
        .collect();
    v.sort();
    v
}

/// The subnet id of a scope (0 for global) and the subnet's prefix.
fn subnet_of(
    doc: &ConfigDoc,
    scope: &ResvScope,
) -> Result<(u64, Option<super::config::net::Prefix>), KeaError> {
    match scope {
        ResvScope::Global => Ok((0, None)),
        ResvScope::Subnet(k) => {
            let loc = doc.find_subnet(k)?;
            let s = doc.subnet(loc);
            let id = s
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| KeaError::invalid(format!("subnet {k} has no id")))?;
            Ok((id, prefix_of(s, doc.family)))
        }
    }
}

/// The arguments naming one host by key in a subnet.
fn key_args(subnet_id: u64, key: &ResvKey) -> Value {
    match key {
        ResvKey::Address(ip) => json!({ "subnet-id": subnet_id, "ip-address": ip.to_string() }),
        ResvKey::Ident(k, v) => {
            json!({ "subnet-id": subnet_id, "identifier-type": k, "identifier": v })
        }
    }
}

/// One host, or `None`.
pub async fn get(svc: &Service, subnet_id: u64, key: &ResvKey) -> Result<Option<Value>, KeaError> {
    svc.command("reservation-get", Some(key_args(subnet_id, key)))
        .await
}

/// How many hosts one `reservation-get-page` asks for.
const PAGE: u64 = 500;

/// Every host of a subnet (0: global), the file's and the database's, read a page at a
/// time (`reservation-get-page`, which Kea pages source by source).
pub async fn all(svc: &Service, subnet_id: u64) -> Result<Vec<Value>, KeaError> {
    let mut out = Vec::new();
    let mut next: Option<Value> = None;
    loop {
        let mut args = json!({ "subnet-id": subnet_id, "limit": PAGE });
        if let Some(n) = &next {
            for k in ["from", "source-index"] {
                if let Some(v) = n.get(k) {
                    args[k] = v.clone();
                }
            }
        }
        // Result 3 (nothing more) comes back as `None`.
        let Some(page) = svc.command("reservation-get-page", Some(args)).await? else {
            break;
        };
        let hosts = page
            .get("hosts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if hosts.is_empty() {
            break;
        }
        out.extend(hosts);
        match page.get("next") {
            Some(n) if n.is_object() && Some(n) != next.as_ref() => next = Some(n.clone()),
            _ => break,
        }
    }
    Ok(out)
}

/// The scopes to search for a key without a scope: global, then every subnet.
fn scopes(doc: &ConfigDoc) -> Vec<u64> {
    std::iter::once(0)
        .chain(
            doc.subnet_locs()
                .into_iter()
                .filter_map(|l| doc.subnet(l).get("id").and_then(Value::as_u64)),
        )
        .collect()
}

/// The one host `key` names (in `scope`, or anywhere); refused when several match.
pub async fn find(
    svc: &Service,
    doc: &ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
) -> Result<Option<(u64, Value)>, KeaError> {
    let ids = match scope {
        Some(s) => vec![subnet_of(doc, s)?.0],
        None => scopes(doc),
    };
    let mut hits = Vec::new();
    for id in ids {
        if let Some(h) = get(svc, id, key).await? {
            hits.push((id, h));
        }
    }
    if hits.len() > 1 {
        let named: Vec<String> = hits
            .iter()
            .map(|(id, h)| {
                format!(
                    "subnet {id}: {}",
                    h.as_object().map(describe).unwrap_or_default()
                )
            })
            .collect();
        return Err(KeaError::invalid(format!(
            "{key} matches {} reservations ({}); name the scope",
            hits.len(),
            named.join("; ")
        )));
    }
    Ok(hits.pop())
}

/// Refuses `r` when its identifier or an address is already reserved in the subnet by
/// another host than `skip` (its identifier).
async fn check_unique(
    svc: &Service,
    doc: &ConfigDoc,
    subnet_id: u64,
    r: &Map<String, Value>,
    skip: Option<&(&'static str, String)>,
) -> Result<(), KeaError> {
    let unique = doc
        .root()
        .get("ip-reservations-unique")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let ident = identifier_of(r);
    if let Some((k, v)) = &ident
        && skip.is_none_or(|s| s.0 != *k || s.1 != *v)
        && let Some(other) = get(svc, subnet_id, &ResvKey::Ident(k, v.clone())).await?
    {
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "{} {v} is already reserved in subnet {subnet_id} (reservation {})",
                k.replace('-', "_"),
                other.as_object().map(describe).unwrap_or_default()
            ),
        ));
    }
    if unique {
        for a in addresses_of(r) {
            if let Some(other) = get(svc, subnet_id, &ResvKey::Address(a)).await?
                && other.as_object().and_then(identifier_of).as_ref() != skip
            {
                return Err(KeaError::new(
                    ErrorKind::Conflict,
                    format!(
                        "address {a} is already reserved in subnet {subnet_id} (reservation {})",
                        other.as_object().map(describe).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The host as `reservation-add`/`-update` take it.
fn host_args(subnet_id: u64, r: &Map<String, Value>) -> Value {
    let mut h = r.clone();
    h.insert("subnet-id".into(), json!(subnet_id));
    json!({ "reservation": h })
}

/// A host as the script API shows it (`subnet`: the id, or `"global"`).
pub fn view(subnet_id: u64, h: &Value) -> Value {
    let mut m = rv::meaningful(h.as_object().cloned().as_ref().unwrap_or(&Map::new()));
    m.remove("subnet-id");
    m.insert(
        "subnet".into(),
        if subnet_id == 0 {
            json!("global")
        } else {
            json!(subnet_id)
        },
    );
    Value::Object(m)
}

/// A change to a hosts database: what would be sent, checked; `send` sends it.
pub struct HostChange {
    pub command: &'static str,
    pub arguments: Value,
    /// The host before and after (for the audit trail and the script).
    pub before: Value,
    pub after: Value,
}

/// Checks an addition and returns the command that makes it.
pub async fn plan_add(
    svc: &Service,
    doc: &ConfigDoc,
    scope: &ResvScope,
    r: &Map<String, Value>,
) -> Result<HostChange, KeaError> {
    let (id, prefix) = subnet_of(doc, scope)?;
    let mut r: Map<String, Value> = r
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_shape(&mut r, doc.family, prefix.as_ref())?;
    check_unique(svc, doc, id, &r, None).await?;
    Ok(HostChange {
        command: "reservation-add",
        arguments: host_args(id, &r),
        before: Value::Null,
        after: view(id, &Value::Object(r)),
    })
}

/// Checks an update (a merge) and returns the command that makes it.
pub async fn plan_update(
    svc: &Service,
    doc: &ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
    patch: &Map<String, Value>,
) -> Result<HostChange, KeaError> {
    let (id, host) = find(svc, doc, scope, key)
        .await?
        .ok_or_else(|| KeaError::new(ErrorKind::NotFound, format!("no reservation for {key}")))?;
    let mut r = rv::meaningful(host.as_object().ok_or_else(|| KeaError::invalid("host"))?);
    r.remove("subnet-id");
    let old_ident = identifier_of(&r);
    merge(&mut r, patch);
    let prefix = if id == 0 {
        None
    } else {
        doc.find_subnet(&super::config::SubnetKey::Id(id))
            .ok()
            .and_then(|l| prefix_of(doc.subnet(l), doc.family))
    };
    check_shape(&mut r, doc.family, prefix.as_ref())?;
    check_unique(svc, doc, id, &r, old_ident.as_ref()).await?;
    Ok(HostChange {
        command: "reservation-update",
        arguments: host_args(id, &r),
        before: view(id, &host),
        after: view(id, &Value::Object(r)),
    })
}

/// Checks a deletion and returns the command that makes it.
pub async fn plan_delete(
    svc: &Service,
    doc: &ConfigDoc,
    scope: Option<&ResvScope>,
    key: &ResvKey,
) -> Result<HostChange, KeaError> {
    let (id, host) = find(svc, doc, scope, key)
        .await?
        .ok_or_else(|| KeaError::new(ErrorKind::NotFound, format!("no reservation for {key}")))?;
    let ident = host
        .as_object()
        .and_then(identifier_of)
        .ok_or_else(|| KeaError::invalid("the host has no identifier"))?;
    Ok(HostChange {
        command: "reservation-del",
        arguments: key_args(id, &ResvKey::Ident(ident.0, ident.1)),
        before: view(id, &host),
        after: Value::Null,
    })
}

/// Sends a planned change.
pub async fn send(svc: &Service, change: &HostChange) -> Result<(), KeaError> {
    svc.command(change.command, Some(change.arguments.clone()))
        .await
        .map(|_| ())
}

/// The hosts-database change for a reservation edit, checked; `None` for other edits.
pub async fn plan(
    svc: &Service,
    doc: &ConfigDoc,
    edit: &super::edit::Edit,
) -> Result<Option<HostChange>, KeaError> {
    use super::edit::Edit;
    Ok(Some(match edit {
        Edit::AddReservation(scope, m) => plan_add(svc, doc, scope, m).await?,
        Edit::UpdateReservation(scope, k, m) => plan_update(svc, doc, scope.as_ref(), k, m).await?,
        Edit::DeleteReservation(scope, k) => plan_delete(svc, doc, scope.as_ref(), k).await?,
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::Family;

    fn doc(hosts: Value) -> ConfigDoc {
        let mut v = json!({"Dhcp4": {"subnet4": []}});
        if !hosts.is_null() {
            v["Dhcp4"]["hosts-database"] = hosts;
        }
        ConfigDoc::new(Family::V4, v).unwrap()
    }

    #[test]
    fn the_target_and_the_database_identity() {
        let with_cmds = Capabilities {
            host_cmds: true,
            ..Default::default()
        };
        let pg = json!({"type": "postgresql", "name": "kea", "host": "10.0.0.5", "port": 5432,
                        "user": "kea", "password": "s3cret"});
        assert_eq!(target(&doc(Value::Null), &with_cmds), "config");
        assert_eq!(target(&doc(pg.clone()), &Capabilities::default()), "config");
        assert_eq!(target(&doc(pg.clone()), &with_cmds), "database");
        // Two peers with the same database share it, whatever their credentials; another
        // host is another database.
        let mut other_user = pg.clone();
        other_user["user"] = json!("kea2");
        other_user["password"] = json!("other");
        assert_eq!(
            database_identity(&doc(pg.clone())),
            database_identity(&doc(other_user))
        );
        let mut elsewhere = pg.clone();
        elsewhere["host"] = json!("10.0.0.6");
        assert_ne!(
            database_identity(&doc(pg.clone())),
            database_identity(&doc(elsewhere))
        );
        assert!(!database_identity(&doc(pg)).concat().contains("s3cret"));
    }
}
