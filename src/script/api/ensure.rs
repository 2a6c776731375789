//! `ensure_subnet`, `ensure_pool`, `ensure_class`, `ensure_option`, `ensure_option_def` on a
//! Service (`ensure_reservation` is with the reservations, in `reservations.rs`): create when missing, update (the keys named) when different, send nothing when
//! equal; each returns `#{ action: "created" | "updated" | "unchanged", value }`. The
//! decision is [`crate::kea::config::ensure`]'s; a change goes through the edit pipeline
//! like any mutator (HA peers, audit, dry run).

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map as RMap};
use serde_json::{Map, Value};

use super::ServiceHandle;
use super::args::{kea_map, name_or_code, option_data, scope, string, subnet_key};
use super::editing::{Target, shape};
use crate::kea::config::ensure::{self, Ensure};
use crate::kea::config::{ConfigDoc, OptionScope, SubnetKey, net::Range, options::spec_of};
use crate::kea::edit::{Edit, read_config};
use crate::script::RunContext;
use crate::script::convert::to_dynamic;

type R<T> = Result<T, Box<EvalAltResult>>;

/// The service's configuration as it is now.
fn current(ctx: &RunContext, t: &ServiceHandle) -> R<ConfigDoc> {
    let svc = t.service().clone();
    ctx.block(async move { read_config(&svc).await })
}

/// Carries out the decision: `make(patch)` builds the edit (`None`: create).
pub(super) fn carry_out(
    ctx: &RunContext,
    t: &ServiceHandle,
    decision: Ensure,
    unchanged_as: &Edit,
    make: impl FnOnce(Option<Map<String, Value>>) -> Edit,
) -> R<Dynamic> {
    let action = decision.action();
    let value = match decision {
        Ensure::Unchanged(v) => to_dynamic(&shape(unchanged_as, &v, t.family()))?,
        Ensure::Create => t.submit(ctx, make(None))?,
        Ensure::Update(patch) => t.submit(ctx, make(Some(patch)))?,
    };
    let mut m = RMap::new();
    m.insert("action".into(), action.into());
    m.insert("value".into(), value);
    Ok(m.into())
}

fn option_spec(
    t: &ServiceHandle,
    a: &Dynamic,
    b: &Dynamic,
) -> R<(OptionScope, Map<String, Value>)> {
    Ok(match b.read_lock::<RMap>() {
        Some(m) => (scope(a, t.family())?, kea_map(&m, "the option")?),
        None => (
            OptionScope::Global,
            spec_of(&name_or_code(a)?, option_data(b)?),
        ),
    })
}

fn ensure_option(
    ctx: &RunContext,
    t: &ServiceHandle,
    s: OptionScope,
    spec: Map<String, Value>,
) -> R<Dynamic> {
    let doc = current(ctx, t)?;
    let decision =
        ensure::option(&doc, &s, &spec).map_err(|e| crate::script::errors::kea_error(&e))?;
    let edit = Edit::SetOption(s, spec);
    carry_out(ctx, t, decision, &edit.clone(), |_| edit)
}

/// `ensure_pool(subnet, #{ pool, … })`: created with its keys, or the subnet's pools sent
/// with this one's named keys changed; `value` is the pool either way.
fn ensure_pool_map(
    ctx: &RunContext,
    t: &ServiceHandle,
    key: SubnetKey,
    desired: Map<String, Value>,
) -> R<Dynamic> {
    let doc = current(ctx, t)?;
    let decision =
        ensure::pool_map(&doc, &key, &desired).map_err(|e| crate::script::errors::kea_error(&e))?;
    let range = desired
        .get("pool")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut extra = desired.clone();
    extra.remove("pool");
    let shape_as = Edit::AddPool(key.clone(), range.clone(), extra.clone());
    let updating = matches!(decision, Ensure::Update(_));
    let out = carry_out(ctx, t, decision, &shape_as, |patch| match patch {
        None => Edit::AddPool(key, range.clone(), extra),
        Some(p) => Edit::UpdateSubnet(key, p),
    })?;
    if !updating {
        return Ok(out);
    }
    // An update answers with the subnet: hand back the pool.
    let family = t.family();
    let want = Range::parse(&range, family, "pool").ok();
    let mut m = out.cast::<RMap>();
    let pool = m
        .get("value")
        .and_then(|v| v.read_lock::<RMap>().map(|s| s.get("pools").cloned()))
        .flatten()
        .and_then(|p| p.into_typed_array::<Dynamic>().ok())
        .and_then(|pools| {
            pools.into_iter().find(|p| {
                p.read_lock::<RMap>()
                    .and_then(|p| p.get("pool").and_then(|r| r.clone().into_string().ok()))
                    .and_then(|r| Range::parse(&r, family, "pool").ok())
                    == want
            })
        });
    if let Some(p) = pool {
        m.insert("value".into(), p);
    }
    Ok(m.into())
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let kea = |e: crate::kea::KeaError| crate::script::errors::kea_error(&e);
    let c = ctx.clone();
    engine.register_fn(
        "ensure_subnet",
        move |t: &mut ServiceHandle, m: RMap| -> R<Dynamic> {
            let desired = kea_map(&m, "the subnet")?;
            let doc = current(&c, t)?;
            let decision = ensure::subnet(&doc, &desired).map_err(kea)?;
            let key = subnet_key(&Dynamic::from(string(&m["subnet"], "subnet")?), t.family())?;
            let shape_as = Edit::AddSubnet(desired.clone());
            carry_out(&c, t, decision, &shape_as, |patch| match patch {
                None => Edit::AddSubnet(desired),
                Some(p) => Edit::UpdateSubnet(key, p),
            })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ensure_pool",
        move |t: &mut ServiceHandle, k: Dynamic, r: Dynamic| -> R<Dynamic> {
            let key = subnet_key(&k, t.family())?;
            if let Some(m) = r.read_lock::<RMap>() {
                return ensure_pool_map(&c, t, key, kea_map(&m, "the pool")?);
            }
            let range = string(&r, "the pool range")?;
            let doc = current(&c, t)?;
            let decision = ensure::pool(&doc, &key, &range).map_err(kea)?;
            let edit = Edit::AddPool(key, range, Map::new());
            carry_out(&c, t, decision, &edit.clone(), |_| edit)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ensure_class",
        move |t: &mut ServiceHandle, m: RMap| -> R<Dynamic> {
            let desired = kea_map(&m, "the class")?;
            let doc = current(&c, t)?;
            let decision = ensure::class(&doc, &desired).map_err(kea)?;
            let name = desired
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let shape_as = Edit::AddClass(desired.clone());
            carry_out(&c, t, decision, &shape_as, |patch| match patch {
                None => Edit::AddClass(desired),
                Some(p) => Edit::UpdateClass(name, p),
            })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ensure_option",
        move |t: &mut ServiceHandle, a: Dynamic, b: Dynamic| -> R<Dynamic> {
            let (s, spec) = option_spec(t, &a, &b)?;
            ensure_option(&c, t, s, spec)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ensure_option",
        move |t: &mut ServiceHandle, s: Dynamic, n: Dynamic, data: Dynamic| -> R<Dynamic> {
            let spec = spec_of(&name_or_code(&n)?, option_data(&data)?);
            ensure_option(&c, t, scope(&s, t.family())?, spec)
        },
    );
    let c = ctx;
    engine.register_fn(
        "ensure_option_def",
        move |t: &mut ServiceHandle, m: RMap| -> R<Dynamic> {
            let desired = kea_map(&m, "the option definition")?;
            let doc = current(&c, t)?;
            let decision = ensure::option_def(&doc, &desired).map_err(kea)?;
            let code = desired.get("code").and_then(Value::as_u64).unwrap_or(0) as u16;
            let space = desired
                .get("space")
                .and_then(Value::as_str)
                .unwrap_or(t.family().option_space())
                .to_string();
            let shape_as = Edit::DefineOption(desired.clone());
            carry_out(&c, t, decision, &shape_as, |patch| match patch {
                None => Edit::DefineOption(desired),
                Some(p) => Edit::UpdateOptionDef(code, space, p),
            })
        },
    );
}
