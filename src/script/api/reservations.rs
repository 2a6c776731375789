//! Host reservations, shared networks and prefix-delegation pools (issue 15): readers on a
//! Service, mutators on a Service (committed at once) and on a Transaction (staged).

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map as RMap};
use serde_json::{Map, Value};

use super::ServiceHandle;
use super::args::{kea_map, string, subnet_key};
use super::editing::{Target, TxHandle};
use super::ensure::carry_out;
use super::reservation_list::Reservations;
use super::views;
use crate::kea::config::ensure::{self, Ensure};
use crate::kea::config::reservations::{self as rv, ResvKey, ResvScope};
use crate::kea::config::{ConfigDoc, Family, networks, reservations_csv, to_script_keys};
use crate::kea::edit::{Edit, read_config};
use crate::kea::hosts;
use crate::script::RunContext;
use crate::script::convert::to_dynamic;
use crate::script::errors::{invalid, kea_error};

type R<T> = Result<T, Box<EvalAltResult>>;

fn doc(ctx: &RunContext, svc: &crate::kea::Service) -> R<ConfigDoc> {
    let svc = svc.clone();
    ctx.block(async move { read_config(&svc).await })
}

/// A reservation scope: `"global"`, a subnet id or prefix.
fn resv_scope(v: &Dynamic, family: Family) -> R<ResvScope> {
    if let Ok(s) = v.clone().into_string()
        && s.trim() == "global"
    {
        return Ok(ResvScope::Global);
    }
    Ok(ResvScope::Subnet(subnet_key(v, family)?))
}

/// A reservation key: an address, or `#{ hw_address }`, `#{ client_id }`, `#{ duid }`,
/// `#{ circuit_id }`, `#{ flex_id }`.
fn resv_key(v: &Dynamic, family: Family) -> R<ResvKey> {
    if let Some(m) = v.read_lock::<RMap>() {
        if m.len() != 1 {
            return Err(invalid(format!(
                "a reservation key is an address or a map with one identifier (#{{ hw_address: \"aa:bb:cc:dd:ee:ff\" }}), not {v}"
            )));
        }
        let (k, val) = m.iter().next().expect("one entry");
        let val = string(val, k)?;
        return ResvKey::ident(k, &val, family).map_err(|e| kea_error(&e));
    }
    let s = string(v, "a reservation key (an address or #{ hw_address })")?;
    ResvKey::address(&s, family).map_err(|e| kea_error(&e))
}

/// A shared network as scripts see it: its own keys plus `subnets`.
fn network_view(net: &Value, family: Family) -> Value {
    let mut m = to_script_keys(net).as_object().cloned().unwrap_or_default();
    m.remove(family.subnet_key());
    let subnets: Vec<Value> = net
        .get(family.subnet_key())
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| views::subnet_value(s, family))
        .collect();
    m.insert("subnets".into(), Value::Array(subnets));
    Value::Object(m)
}

fn array(values: impl IntoIterator<Item = Value>) -> R<Array> {
    values.into_iter().map(|v| to_dynamic(&v)).collect()
}

/// Warnings about a reservation Kea accepts: inside a pool, global while
/// `reservations-global` is off, its address leased to another client (asked of the server
/// when it has the lease commands).
fn warn(ctx: &RunContext, svc: &crate::kea::Service, scope: &ResvScope, r: &Map<String, Value>) {
    let Ok(d) = doc(ctx, svc) else {
        return;
    };
    let mut msgs = rv::warnings(&d, scope, r);
    let ident = rv::identifier_of(r);
    for ip in rv::addresses_of(r) {
        let s = svc.clone();
        let lease = ctx.block(async move {
            let caps = s.capabilities_cached().await?;
            if !caps.lease_cmds {
                return Ok(None);
            }
            crate::kea::leases::get(&s, &ip.to_string()).await
        });
        if let Ok(Some(l)) = lease {
            let holder = ["hw-address", "client-id", "duid"].iter().find_map(|k| {
                l.get(*k)
                    .and_then(Value::as_str)
                    .map(|v| (*k, v.to_string()))
            });
            let same = match (&ident, &holder) {
                (Some((k, v)), Some((hk, hv))) => {
                    k == hk && rv::normalize_identifier(hk, hv).is_ok_and(|x| x == *v)
                }
                _ => false,
            };
            if !same {
                msgs.push(format!(
                    "reserved address {ip} is leased to another client ({}, until its lease ends)",
                    holder.map_or("unknown client".into(), |(k, v)| format!(
                        "{} {v}",
                        k.replace('-', "_")
                    ))
                ));
            }
        }
    }
    for m in msgs {
        ctx.warn(&m);
    }
}

/// Splits `subnet` (the scope) off an `add_reservation` map.
fn scope_and_map(m: &RMap, family: Family) -> R<(ResvScope, Map<String, Value>)> {
    let mut kea = kea_map(m, "the reservation")?;
    let scope = match m.get("subnet").filter(|v| !v.is_unit()) {
        Some(s) => resv_scope(s, family)?,
        None => ResvScope::Global,
    };
    kea.remove("subnet");
    Ok((scope, kea))
}

fn import_edit(path: &str, opts: Option<&RMap>, family: Family) -> R<Edit> {
    let mut default = ResvScope::Global;
    let mut replace = false;
    for (k, v) in opts.into_iter().flatten() {
        match k.as_str() {
            "subnet" => default = resv_scope(v, family)?,
            "replace" => {
                replace = v
                    .as_bool()
                    .map_err(|_| invalid(format!("replace must be true or false, not {v}")))?
            }
            _ => {
                return Err(invalid(format!(
                    "import_reservations: unknown option {k} (known: subnet, replace)"
                )));
            }
        }
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
    let rows = reservations_csv::parse(&text, family, &default).map_err(|e| kea_error(&e))?;
    Ok(Edit::ImportReservations {
        source: path.to_string(),
        rows,
        replace: replace.then_some(default),
    })
}

fn register_mutators<T: Target>(engine: &mut Engine, ctx: Arc<RunContext>) {
    macro_rules! reg {
        ($name:expr, |$t:ident, $c:ident $(, $a:ident : $ty:ty)*| $body:expr) => {{
            let ctx = ctx.clone();
            engine.register_fn($name, move |$t: &mut T $(, $a: $ty)*| -> R<Dynamic> {
                let $c: &RunContext = &ctx;
                $body
            });
        }};
    }
    reg!("add_reservation", |t, c, m: RMap| {
        let (scope, map) = scope_and_map(&m, t.family())?;
        let e = Edit::AddReservation(scope.clone(), map.clone());
        e.precheck(t.family()).map_err(|e| kea_error(&e))?;
        warn(c, t.service(), &scope, &map);
        t.submit(c, e)
    });
    reg!("update_reservation", |t, c, k: Dynamic, m: RMap| {
        let e =
            Edit::UpdateReservation(None, resv_key(&k, t.family())?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!(
        "update_reservation",
        |t, c, s: Dynamic, k: Dynamic, m: RMap| {
            let e = Edit::UpdateReservation(
                Some(resv_scope(&s, t.family())?),
                resv_key(&k, t.family())?,
                kea_map(&m, "the change")?,
            );
            t.submit(c, e)
        }
    );
    reg!("delete_reservation", |t, c, k: Dynamic| {
        let e = Edit::DeleteReservation(None, resv_key(&k, t.family())?);
        t.submit(c, e)
    });
    reg!("delete_reservation", |t, c, s: Dynamic, k: Dynamic| {
        let e =
            Edit::DeleteReservation(Some(resv_scope(&s, t.family())?), resv_key(&k, t.family())?);
        t.submit(c, e)
    });
    reg!("import_reservations", |t, c, p: Dynamic| {
        let e = import_edit(&string(&p, "the CSV path")?, None, t.family())?;
        t.submit(c, e)
    });
    reg!("import_reservations", |t, c, p: Dynamic, o: RMap| {
        let e = import_edit(&string(&p, "the CSV path")?, Some(&o), t.family())?;
        t.submit(c, e)
    });
    reg!("add_shared_network", |t, c, m: RMap| {
        let e = Edit::AddSharedNetwork(kea_map(&m, "the shared network")?);
        t.submit(c, e)
    });
    reg!("update_shared_network", |t, c, n: Dynamic, m: RMap| {
        let e =
            Edit::UpdateSharedNetwork(string(&n, "the network name")?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!("delete_shared_network", |t, c, n: Dynamic| {
        let e = Edit::DeleteSharedNetwork(string(&n, "the network name")?);
        t.submit(c, e)
    });
    reg!("move_subnet", |t, c, k: Dynamic, n: Dynamic| {
        let to = if n.is_unit() {
            None
        } else {
            Some(string(&n, "the network name (or () for none)")?)
        };
        let e = Edit::MoveSubnet(subnet_key(&k, t.family())?, to);
        t.submit(c, e)
    });
    reg!("add_pd_pool", |t, c, k: Dynamic, m: RMap| {
        let e = Edit::AddPdPool(subnet_key(&k, t.family())?, kea_map(&m, "the PD pool")?);
        t.submit(c, e)
    });
    reg!("delete_pd_pool", |t, c, k: Dynamic, p: Dynamic| {
        let e = Edit::DeletePdPool(
            subnet_key(&k, t.family())?,
            string(&p, "the PD pool prefix")?,
        );
        t.submit(c, e)
    });
}

/// `ensure_reservation(#{ subnet?, hw_address, … })` on a Service: found by its one
/// identifier in its scope (global without `subnet`); created when missing, the keys named
/// updated when different, nothing sent when equal. With a hosts database the current
/// reservation is asked of Kea and the change goes there.
fn ensure_reservation(ctx: &RunContext, t: &ServiceHandle, m: &RMap) -> R<Dynamic> {
    let family = t.family();
    let (scope, desired) = scope_and_map(m, family)?;
    let (key, _) = ensure::reservation_key(&desired, family).map_err(|e| kea_error(&e))?;
    let (d, target) = doc_and_target(ctx, t.service())?;
    let decision = if target == "database" {
        let (s2, d2, sc, k2) = (t.service().clone(), d.clone(), scope.clone(), key.clone());
        let found = ctx.block(async move { hosts::find(&s2, &d2, Some(&sc), &k2).await })?;
        ensure::reservation_in_database(found.map(|(id, h)| hosts::view(id, &h)), &desired, family)
    } else {
        ensure::reservation(&d, &scope, &desired)
    }
    .map_err(|e| kea_error(&e))?;
    let edit = match &decision {
        Ensure::Unchanged(_) => None,
        Ensure::Create => {
            let e = Edit::AddReservation(scope.clone(), desired.clone());
            e.precheck(family).map_err(|e| kea_error(&e))?;
            warn(ctx, t.service(), &scope, &desired);
            Some(e)
        }
        Ensure::Update(p) => Some(Edit::UpdateReservation(Some(scope.clone()), key, p.clone())),
    };
    let shape_as = Edit::AddReservation(scope, desired);
    carry_out(ctx, t, decision, &shape_as, |_| {
        edit.expect("an edit for a change")
    })
}

/// The configuration and where its reservations are (`"config"` or `"database"`).
fn doc_and_target(ctx: &RunContext, svc: &crate::kea::Service) -> R<(ConfigDoc, &'static str)> {
    let s2 = svc.clone();
    let (caps, doc) = ctx.block(async move {
        let caps = s2.capabilities_cached().await?;
        let doc = read_config(&s2).await?;
        Ok::<_, crate::kea::KeaError>((caps, doc))
    })?;
    let t = hosts::target(&doc, &caps);
    Ok((doc, t))
}

/// Every reservation of a scope (all when `None`), as a lazy list: from the configuration,
/// or, with a hosts database, as host_cmds answers (the database's and the file's), a page
/// at a time.
fn list_reservations(
    ctx: &Arc<RunContext>,
    svc: &crate::kea::Service,
    scope: Option<ResvScope>,
) -> R<Reservations> {
    let (d, target) = doc_and_target(ctx, svc)?;
    let label = format!(
        "{}/{}{}",
        svc.server.name(),
        svc.name,
        scope
            .as_ref()
            .map(|s| format!(" in {s}"))
            .unwrap_or_default()
    );
    if target == "database" {
        let ids: Vec<u64> = match &scope {
            Some(ResvScope::Global) => vec![0],
            Some(ResvScope::Subnet(k)) => {
                let loc = d.find_subnet(k).map_err(|e| kea_error(&e))?;
                vec![d.subnet(loc).get("id").and_then(Value::as_u64).unwrap_or(0)]
            }
            None => std::iter::once(0)
                .chain(
                    d.subnet_locs()
                        .into_iter()
                        .filter_map(|l| d.subnet(l).get("id").and_then(Value::as_u64)),
                )
                .collect(),
        };
        return Ok(Reservations::from_database(
            ctx.clone(),
            svc.clone(),
            ids,
            label,
        ));
    }
    Reservations::from_config(ctx.clone(), d, scope.as_ref(), label).map_err(|e| kea_error(&e))
}

/// The one reservation a key names, or `()`.
fn one_reservation(
    ctx: &RunContext,
    svc: &crate::kea::Service,
    scope: Option<ResvScope>,
    key: ResvKey,
) -> R<Dynamic> {
    let (d, target) = doc_and_target(ctx, svc)?;
    if target == "database" {
        let s2 = svc.clone();
        let found = ctx.block(async move { hosts::find(&s2, &d, scope.as_ref(), &key).await })?;
        return match found {
            Some((id, h)) => to_dynamic(&to_script_keys(&hosts::view(id, &h))),
            None => Ok(Dynamic::UNIT),
        };
    }
    match rv::find(&d, scope.as_ref(), &key).map_err(|e| kea_error(&e))? {
        Some(at) => to_dynamic(&to_script_keys(&rv::view(&d, at))),
        None => Ok(Dynamic::UNIT),
    }
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    super::reservation_list::register(engine);
    register_mutators::<ServiceHandle>(engine, ctx.clone());
    register_mutators::<TxHandle>(engine, ctx.clone());
    let c = ctx.clone();
    engine.register_fn(
        "ensure_reservation",
        move |t: &mut ServiceHandle, m: RMap| -> R<Dynamic> { ensure_reservation(&c, t, &m) },
    );
    let c = ctx.clone();
    engine.register_fn(
        "reservations",
        move |s: &mut ServiceHandle| -> R<Reservations> { list_reservations(&c, &s.0, None) },
    );
    let c = ctx.clone();
    engine.register_fn(
        "reservations",
        move |s: &mut ServiceHandle, sc: Dynamic| -> R<Reservations> {
            let scope = resv_scope(&sc, Family::of_service(&s.0.name))?;
            list_reservations(&c, &s.0, Some(scope))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "reservation",
        move |s: &mut ServiceHandle, k: Dynamic| -> R<Dynamic> {
            let key = resv_key(&k, Family::of_service(&s.0.name))?;
            one_reservation(&c, &s.0, None, key)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "reservation",
        move |s: &mut ServiceHandle, sc: Dynamic, k: Dynamic| -> R<Dynamic> {
            let family = Family::of_service(&s.0.name);
            let scope = resv_scope(&sc, family)?;
            let key = resv_key(&k, family)?;
            one_reservation(&c, &s.0, Some(scope), key)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "shared_networks",
        move |s: &mut ServiceHandle| -> R<Array> {
            let d = doc(&c, &s.0)?;
            array(
                d.root_array("shared-networks")
                    .iter()
                    .map(|n| network_view(n, d.family)),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "shared_network",
        move |s: &mut ServiceHandle, n: Dynamic| -> R<Dynamic> {
            let d = doc(&c, &s.0)?;
            let name = string(&n, "the network name")?;
            match networks::find(&d, &name) {
                Some(i) => to_dynamic(&network_view(&d.root_array("shared-networks")[i], d.family)),
                None => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx;
    engine.register_fn(
        "pd_pools",
        move |s: &mut ServiceHandle, k: Dynamic| -> R<Array> {
            let d = doc(&c, &s.0)?;
            let key = subnet_key(&k, d.family)?;
            let loc = d.find_subnet(&key).map_err(|e| kea_error(&e))?;
            array(
                d.subnet(loc)
                    .get("pd-pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(views::pool),
            )
        },
    );
}
