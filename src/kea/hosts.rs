//! Reservations kept in a hosts database (`hosts-database` / `hosts-databases`), changed
//! through the `host_cmds` hook: `reservation-add`, `-update`, `-del`, read with
//! `reservation-get` / `-get-all`. The same rules as in the configuration
//! ([`crate::kea::config::reservations`]) are checked first, against what the server
//! answers for the subnet (the database and the configuration file together).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::config::reservations::{
    self as rv, ResvKey, ResvScope, addresses_of, check_shape, describe, identifier_of,
};
use super::config::subnets::prefix_of;
use super::config::{ConfigDoc, merge};
use super::{Capabilities, ErrorKind, KeaError, Service, redact};

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

/// One page of the hosts of a subnet (0: global), the file's and the database's, from the
/// cursor `from` (`None`: the first page; `reservation-get-page`'s `next`). Returns the
/// hosts and the cursor of the next page (`None`: this was the last).
pub async fn page(
    svc: &Service,
    subnet_id: u64,
    from: Option<&Value>,
) -> Result<(Vec<Value>, Option<Value>), KeaError> {
    let mut args = json!({ "subnet-id": subnet_id, "limit": PAGE });
    if let Some(n) = from {
        for k in ["from", "source-index"] {
            if let Some(v) = n.get(k) {
                args[k] = v.clone();
            }
        }
    }
    // Result 3 (nothing more) comes back as `None`.
    let Some(page) = svc.command("reservation-get-page", Some(args)).await? else {
        return Ok((Vec::new(), None));
    };
    let hosts = page
        .get("hosts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let next = match page.get("next") {
        Some(n) if n.is_object() && !hosts.is_empty() && Some(n) != from => Some(n.clone()),
        _ => None,
    };
    Ok((hosts, next))
}

/// Every host of a subnet (0: global), the file's and the database's, read a page at a
/// time (`reservation-get-page`, which Kea pages source by source).
pub async fn all(svc: &Service, subnet_id: u64) -> Result<Vec<Value>, KeaError> {
    let mut out = Vec::new();
    let mut next: Option<Value> = None;
    loop {
        let (hosts, n) = page(svc, subnet_id, next.as_ref()).await?;
        out.extend(hosts);
        match n {
            Some(n) => next = Some(n),
            None => break,
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

/// One command to a hosts database: what is sent, and the host before and after (views as
/// [`view`] shows them, `null` for none) — what the journal keeps while it is in flight,
/// the audit trail records, and undo puts back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostChange {
    pub command: String,
    pub arguments: Value,
    pub before: Value,
    pub after: Value,
}

impl HostChange {
    /// `add`, `update` or `delete`.
    pub fn action(&self) -> &'static str {
        match (self.before.is_null(), self.after.is_null()) {
            (true, _) => "add",
            (_, true) => "delete",
            _ => "update",
        }
    }
}

/// The subnet id of a view (`"global"`: 0).
fn subnet_id_of(v: &Value) -> u64 {
    v.get("subnet").and_then(Value::as_u64).unwrap_or(0)
}

/// A view as host_cmds takes it: without `subnet`, nulls left out.
fn host_of(v: &Value) -> Map<String, Value> {
    let mut m: Map<String, Value> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    m.remove("subnet");
    m
}

/// The commands that turn host `before` into `after` (views; `null`: none): an add, an
/// update, a deletion, or — when the identifier changes — a deletion and an add.
pub fn changes_between(before: &Value, after: &Value) -> Vec<HostChange> {
    let ident = |v: &Value| v.as_object().and_then(identifier_of);
    let add = |a: &Value| HostChange {
        command: "reservation-add".into(),
        arguments: host_args(subnet_id_of(a), &host_of(a)),
        before: Value::Null,
        after: a.clone(),
    };
    let del = |b: &Value| {
        let (k, v) = ident(b).unwrap_or(("hw-address", String::new()));
        HostChange {
            command: "reservation-del".into(),
            arguments: key_args(subnet_id_of(b), &ResvKey::Ident(k, v)),
            before: b.clone(),
            after: Value::Null,
        }
    };
    match (before.is_null(), after.is_null()) {
        (true, true) => Vec::new(),
        (true, false) => vec![add(after)],
        (false, true) => vec![del(before)],
        _ if ident(before) == ident(after) && subnet_id_of(before) == subnet_id_of(after) => {
            vec![HostChange {
                command: "reservation-update".into(),
                arguments: host_args(subnet_id_of(after), &host_of(after)),
                before: before.clone(),
                after: after.clone(),
            }]
        }
        _ => vec![del(before), add(after)],
    }
}

/// The commands that undo `changes` (in reverse order).
pub fn inverse(changes: &[HostChange]) -> Vec<HostChange> {
    changes
        .iter()
        .rev()
        .flat_map(|c| changes_between(&c.after, &c.before))
        .collect()
}

/// The host a view names (by its identifier in its scope), as the server has it now.
pub async fn current(svc: &Service, v: &Value) -> Result<Option<Value>, KeaError> {
    let Some((_, key)) = rv::identity_of_view(v) else {
        return Ok(None);
    };
    let id = subnet_id_of(v);
    Ok(get(svc, id, &key).await?.map(|h| view(id, &h)))
}

/// Whether `now` (a host as the server answers it, viewed) is the recorded `rec` (a view
/// as sent; `null`: no host): the same keys once Kea's empty echoes are left out, each
/// value carried (Kea adds an option's code, space and flags).
pub fn same_host(now: Option<&Value>, rec: &Value) -> bool {
    match (now, rec.is_null()) {
        (None, true) => true,
        (None, false) | (Some(_), true) => false,
        (Some(n), false) => {
            let clean = |v: &Value| {
                let mut m = rv::meaningful(rv::normalized(v).as_object().unwrap_or(&Map::new()));
                m.remove("subnet-id");
                m
            };
            let (n, r) = (clean(n), clean(rec));
            n.len() == r.len()
                && r.iter().all(|(k, rv)| {
                    n.get(k)
                        .is_some_and(|nv| super::edit::outcome::carries(nv, rv))
                })
        }
    }
}

/// What a database runs of one change: its `after`, its `before`, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostState {
    After,
    Before,
    Neither,
}

/// Reads the host(s) a change is about and tells which side the database has.
pub async fn state(svc: &Service, c: &HostChange) -> Result<HostState, KeaError> {
    let now_after = if c.after.is_null() {
        None
    } else {
        current(svc, &c.after).await?
    };
    let now_before = if c.before.is_null() {
        None
    } else {
        current(svc, &c.before).await?
    };
    // Where the change names one host by one identity, one reading serves both sides.
    fn one(side: &Value) -> Option<&Value> {
        if side.is_null() { None } else { Some(side) }
    }
    let holds = |side: &Value,
                 other: &Value,
                 now_side: Option<&Value>,
                 now_other: Option<&Value>| {
        match one(side) {
            Some(s) => {
                same_host(now_side, s)
                    && (other.is_null()
                        || rv::identity_of_view(other) == rv::identity_of_view(s)
                        || now_other.is_none())
            }
            None => now_other.is_none(),
        }
    };
    if holds(&c.after, &c.before, now_after.as_ref(), now_before.as_ref()) {
        Ok(HostState::After)
    } else if holds(&c.before, &c.after, now_before.as_ref(), now_after.as_ref()) {
        Ok(HostState::Before)
    } else {
        Ok(HostState::Neither)
    }
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
    rv::check_options(doc, &r)?;
    check_unique(svc, doc, id, &r, None).await?;
    Ok(HostChange {
        command: "reservation-add".into(),
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
    rv::check_options(doc, &r)?;
    check_unique(svc, doc, id, &r, old_ident.as_ref()).await?;
    if identifier_of(&r) != old_ident {
        return Err(KeaError::invalid(format!(
            "update_reservation cannot change a reservation's identifier in a hosts database ({key}); delete it and add the new one"
        )));
    }
    Ok(HostChange {
        command: "reservation-update".into(),
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
        command: "reservation-del".into(),
        arguments: key_args(id, &ResvKey::Ident(ident.0, ident.1)),
        before: view(id, &host),
        after: Value::Null,
    })
}

/// A host's keys.
type Host = Map<String, Value>;

/// Checks a CSV import against the database: the hosts of every scope it touches are read
/// (a page at a time) and the rows applied to them with the configuration path's rules
/// (every row checked, each bad one named by its line, field and value; nothing sent when
/// any is bad); the commands are the difference, host by host. Returns them with the
/// counts (`#{ added, updated, unchanged, deleted }`).
pub async fn plan_import(
    svc: &Service,
    doc: &ConfigDoc,
    rows: &[rv::ImportRow],
    replace: Option<&ResvScope>,
) -> Result<(Vec<HostChange>, Value), KeaError> {
    let mut scopes: Vec<ResvScope> = Vec::new();
    for s in rows.iter().map(|r| &r.scope).chain(replace) {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    // The touched lists as the database has them, in a copy of the configuration.
    let mut synth = doc.clone();
    let mut old: Vec<(u64, rv::ResvLoc, Vec<Host>)> = Vec::new();
    for s in &scopes {
        // A scope that names no subnet is reported by the import, with its line.
        let (Ok((id, _)), Ok(loc)) = (subnet_of(doc, s), rv::loc_of(doc, s)) else {
            continue;
        };
        let hosts: Vec<Map<String, Value>> = all(svc, id)
            .await?
            .iter()
            .filter_map(Value::as_object)
            .map(|h| {
                let mut m = rv::meaningful(h);
                m.remove("subnet-id");
                m
            })
            .collect();
        *rv::list_mut(&mut synth, loc) = hosts.iter().cloned().map(Value::Object).collect();
        old.push((id, loc, hosts));
    }
    let counts = rv::import(&mut synth, rows, replace)?;
    let mut out = Vec::new();
    for (id, loc, before) in old {
        let after: Vec<Map<String, Value>> = rv::list_mut(&mut synth, loc)
            .iter()
            .filter_map(Value::as_object)
            .map(rv::meaningful)
            .collect();
        let by_ident =
            |l: &[Map<String, Value>]| -> std::collections::HashMap<(&'static str, String), usize> {
                l.iter()
                    .enumerate()
                    .filter_map(|(i, m)| identifier_of(m).map(|k| (k, i)))
                    .collect()
            };
        let (b_ix, a_ix) = (by_ident(&before), by_ident(&after));
        for a in &after {
            let Some(k) = identifier_of(a) else { continue };
            let b = b_ix.get(&k).map(|i| &before[*i]);
            if b != Some(a) {
                let bv = b.map_or(Value::Null, |b| view(id, &Value::Object(b.clone())));
                out.extend(changes_between(&bv, &view(id, &Value::Object(a.clone()))));
            }
        }
        for b in &before {
            if let Some(k) = identifier_of(b)
                && !a_ix.contains_key(&k)
            {
                out.extend(changes_between(
                    &view(id, &Value::Object(b.clone())),
                    &Value::Null,
                ));
            }
        }
    }
    Ok((
        out,
        json!({"added": counts.added, "updated": counts.updated,
               "unchanged": counts.unchanged, "deleted": counts.deleted}),
    ))
}

/// Checks an undo: the host must still be as the change left it (`expect`); the commands
/// put `back` (`conflict` when it changed since, naming how).
pub async fn plan_restore(
    svc: &Service,
    expect: &Value,
    back: &Value,
) -> Result<Vec<HostChange>, KeaError> {
    let probe = if expect.is_null() { back } else { expect };
    let now = current(svc, probe).await?;
    if !same_host(now.as_ref(), expect) {
        let what = probe.as_object().map(describe).unwrap_or_default();
        return Err(KeaError::new(
            ErrorKind::Conflict,
            format!(
                "reservation {what} in the hosts database changed after that change ({}); undoing it would wipe that, so nothing was changed",
                match &now {
                    None => "it is gone".to_string(),
                    Some(n) => format!("it is now {}", redact::value(n)),
                }
            ),
        ));
    }
    Ok(changes_between(expect, back))
}

/// Sends one command.
pub async fn send(svc: &Service, change: &HostChange) -> Result<(), KeaError> {
    svc.command(&change.command, Some(change.arguments.clone()))
        .await
        .map(|_| ())
}

/// Whether an edit changes reservations (and so goes to a hosts database where the server
/// keeps them there).
pub fn is_reservation_edit(edit: &super::edit::Edit) -> bool {
    use super::edit::Edit;
    matches!(
        edit,
        Edit::AddReservation(..)
            | Edit::UpdateReservation(..)
            | Edit::DeleteReservation(..)
            | Edit::ImportReservations { .. }
            | Edit::RestoreReservation { .. }
    )
}

/// The hosts-database commands for a reservation edit, checked, with its result (the
/// reservation as it will be, or the import's counts); `None` for other edits.
pub async fn plan(
    svc: &Service,
    doc: &ConfigDoc,
    edit: &super::edit::Edit,
) -> Result<Option<(Vec<HostChange>, Value)>, KeaError> {
    use super::edit::Edit;
    let one = |c: HostChange| {
        let r = if c.after.is_null() {
            c.before.clone()
        } else {
            c.after.clone()
        };
        (vec![c], r)
    };
    Ok(Some(match edit {
        Edit::AddReservation(scope, m) => one(plan_add(svc, doc, scope, m).await?),
        Edit::UpdateReservation(scope, k, m) => {
            one(plan_update(svc, doc, scope.as_ref(), k, m).await?)
        }
        Edit::DeleteReservation(scope, k) => one(plan_delete(svc, doc, scope.as_ref(), k).await?),
        Edit::ImportReservations { rows, replace, .. } => {
            plan_import(svc, doc, rows, replace.as_ref()).await?
        }
        Edit::RestoreReservation { expect, back } => {
            (plan_restore(svc, expect, back).await?, back.clone())
        }
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

    #[test]
    fn commands_between_two_states_and_their_inverse() {
        let a = json!({"subnet": 1, "hw-address": "aa:bb:cc:00:00:01", "ip-address": "192.0.2.5"});
        let b = json!({"subnet": 1, "hw-address": "aa:bb:cc:00:00:01", "ip-address": "192.0.2.6"});
        let add = changes_between(&Value::Null, &a);
        assert_eq!(add.len(), 1);
        assert_eq!(add[0].command, "reservation-add");
        assert_eq!(
            add[0].arguments,
            json!({"reservation": {"hw-address": "aa:bb:cc:00:00:01", "ip-address": "192.0.2.5", "subnet-id": 1}})
        );
        let undo = inverse(&add);
        assert_eq!(undo[0].command, "reservation-del");
        assert_eq!(
            undo[0].arguments,
            json!({"subnet-id": 1, "identifier-type": "hw-address", "identifier": "aa:bb:cc:00:00:01"})
        );
        let upd = changes_between(&a, &b);
        assert_eq!(upd[0].command, "reservation-update");
        assert_eq!(upd[0].action(), "update");
        assert_eq!(inverse(&upd)[0].after, a);
        // Another identifier: a deletion, then an add; undone the other way round.
        let other =
            json!({"subnet": 1, "hw-address": "aa:bb:cc:00:00:02", "ip-address": "192.0.2.5"});
        let moved = changes_between(&a, &other);
        assert_eq!(
            moved.iter().map(|c| c.command.as_str()).collect::<Vec<_>>(),
            ["reservation-del", "reservation-add"]
        );
        assert_eq!(
            inverse(&moved)
                .iter()
                .map(|c| c.command.as_str())
                .collect::<Vec<_>>(),
            ["reservation-del", "reservation-add"]
        );
        assert_eq!(inverse(&moved)[1].after, a);
    }

    #[test]
    fn a_host_as_kea_answers_it_is_the_one_sent() {
        let sent = json!({"subnet": 1, "hw-address": "AA:BB:CC:00:00:01", "hostname": "h",
                          "option-data": [{"name": "domain-name-servers", "data": "10.0.0.1"}]});
        let answered = view(
            1,
            &json!({"subnet-id": 1, "hw-address": "aa:bb:cc:00:00:01", "hostname": "h",
                    "boot-file-name": "", "next-server": "0.0.0.0", "client-classes": [],
                    "option-data": [{"name": "domain-name-servers", "data": "10.0.0.1",
                                     "code": 6, "space": "dhcp4", "always-send": false}]}),
        );
        assert!(same_host(Some(&answered), &sent));
        assert!(!same_host(None, &sent));
        assert!(same_host(None, &Value::Null));
        let mut renamed = answered.clone();
        renamed["hostname"] = json!("other");
        assert!(!same_host(Some(&renamed), &sent));
        let mut more = answered;
        more["ip-address"] = json!("192.0.2.9");
        assert!(!same_host(Some(&more), &sent), "a key more is another host");
    }
}
