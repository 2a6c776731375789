//! The mutators of the script API (scopes, pools, classes, options, definitions, settings,
//! `apply`), on a Service (committed at once) and on a Transaction (staged), plus
//! `begin()`, `tx.diff()`, `tx.commit()`, `tx.discard()`, `dry_run()` and `is_dry_run()`.
//! Bindings only: each turns a Rhai call into an [`Edit`] and hands it to the pipeline
//! ([`RunContext::execute`]), which finds the HA peers and `global` targets, audits, and
//! stages dry runs.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, INT, Map as RMap};
use serde_json::{Map, Value};

use super::ServiceHandle;
use super::args::{kea_map, name_or_code, option_data, scope, string, subnet_key};
use super::views;
use crate::kea::Service;
use crate::kea::config::{Family, OptionScope, options::spec_of, to_script_keys};
use crate::kea::edit::Edit;
use crate::script::RunContext;
use crate::script::convert::to_dynamic;
use crate::script::errors::invalid;

type R<T> = Result<T, Box<EvalAltResult>>;

/// A staged change set (`let tx = v4.begin();`).
#[derive(Clone)]
pub struct TxHandle {
    svc: Service,
    staged: Arc<Mutex<Vec<Edit>>>,
}

/// Something mutators can be called on.
pub trait Target: Clone + Send + Sync + 'static {
    fn service(&self) -> &Service;
    /// Commits (Service) or stages (Transaction) one edit.
    fn submit(&self, ctx: &RunContext, edit: Edit) -> R<Dynamic>;
    fn family(&self) -> Family {
        Family::of_service(&self.service().name)
    }
}

impl Target for ServiceHandle {
    fn service(&self) -> &Service {
        &self.0
    }
    fn submit(&self, ctx: &RunContext, edit: Edit) -> R<Dynamic> {
        let family = self.family();
        let out = ctx.execute(&self.0, std::slice::from_ref(&edit), false)?;
        let value = out.results.into_iter().next().unwrap_or(Value::Null);
        to_dynamic(&shape(&edit, &value, family))
    }
}

impl Target for TxHandle {
    fn service(&self) -> &Service {
        &self.svc
    }
    fn submit(&self, _ctx: &RunContext, edit: Edit) -> R<Dynamic> {
        edit.precheck(self.family())
            .map_err(|e| crate::script::errors::kea_error(&e))?;
        self.staged.lock().expect("tx lock").push(edit);
        Ok(Dynamic::UNIT)
    }
}

/// What a mutator returns: the object as it now is, in the script's spelling.
pub(super) fn shape(edit: &Edit, v: &Value, family: Family) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match edit {
        Edit::AddPool(..) | Edit::DeletePool(..) => views::pool(v),
        Edit::AddSubnet(_) | Edit::UpdateSubnet(..) | Edit::DeleteSubnet(_) => {
            views::subnet_value(v, family)
        }
        Edit::AddClass(_) | Edit::UpdateClass(..) | Edit::DeleteClass(_) => views::class(v, family),
        Edit::SetOption(..) | Edit::DeleteOption(..) => views::option(v),
        Edit::DefineOption(_) | Edit::UpdateOptionDef(..) | Edit::DeleteOptionDef(..) => {
            views::option_def(v)
        }
        _ => to_script_keys(v),
    }
}

/// Registers every mutator on `T`.
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
    reg!("add_subnet", |t, c, m: RMap| {
        let e = Edit::AddSubnet(kea_map(&m, "the subnet")?);
        t.submit(c, e)
    });
    reg!("update_subnet", |t, c, k: Dynamic, m: RMap| {
        let e = Edit::UpdateSubnet(subnet_key(&k, t.family())?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!("delete_subnet", |t, c, k: Dynamic| {
        let e = Edit::DeleteSubnet(subnet_key(&k, t.family())?);
        t.submit(c, e)
    });
    reg!("add_pool", |t, c, k: Dynamic, r: Dynamic| {
        let e = Edit::AddPool(
            subnet_key(&k, t.family())?,
            string(&r, "the pool range")?,
            Map::new(),
        );
        t.submit(c, e)
    });
    reg!("add_pool", |t, c, k: Dynamic, r: Dynamic, m: RMap| {
        let e = Edit::AddPool(
            subnet_key(&k, t.family())?,
            string(&r, "the pool range")?,
            kea_map(&m, "the pool")?,
        );
        t.submit(c, e)
    });
    reg!("delete_pool", |t, c, k: Dynamic, r: Dynamic| {
        let e = Edit::DeletePool(subnet_key(&k, t.family())?, string(&r, "the pool range")?);
        t.submit(c, e)
    });
    reg!("add_class", |t, c, m: RMap| {
        let e = Edit::AddClass(kea_map(&m, "the class")?);
        t.submit(c, e)
    });
    reg!("update_class", |t, c, n: Dynamic, m: RMap| {
        let e = Edit::UpdateClass(string(&n, "the class name")?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!("delete_class", |t, c, n: Dynamic| {
        let e = Edit::DeleteClass(string(&n, "the class name")?);
        t.submit(c, e)
    });
    reg!("assign_class", |t, c, k: Dynamic, class: Dynamic| {
        let e = Edit::AssignClass(
            subnet_key(&k, t.family())?,
            None,
            string(&class, "the class name")?,
        );
        t.submit(c, e)
    });
    reg!("assign_class", |t,
                          c,
                          k: Dynamic,
                          p: Dynamic,
                          class: Dynamic| {
        let e = Edit::AssignClass(
            subnet_key(&k, t.family())?,
            Some(string(&p, "the pool range")?),
            string(&class, "the class name")?,
        );
        t.submit(c, e)
    });
    reg!("unassign_class", |t, c, k: Dynamic| {
        let e = Edit::UnassignClass(subnet_key(&k, t.family())?, None);
        t.submit(c, e)
    });
    reg!("unassign_class", |t, c, k: Dynamic, p: Dynamic| {
        let e = Edit::UnassignClass(
            subnet_key(&k, t.family())?,
            Some(string(&p, "the pool range")?),
        );
        t.submit(c, e)
    });
    reg!("set_option", |t, c, a: Dynamic, b: Dynamic| {
        // (scope, map) or (name_or_code, data) at the global level.
        let e = match b.read_lock::<RMap>() {
            Some(m) => Edit::SetOption(scope(&a, t.family())?, kea_map(&m, "the option")?),
            None => Edit::SetOption(
                OptionScope::Global,
                spec_of(&name_or_code(&a)?, option_data(&b)?),
            ),
        };
        t.submit(c, e)
    });
    reg!("set_option", |t,
                        c,
                        s: Dynamic,
                        n: Dynamic,
                        data: Dynamic| {
        let e = Edit::SetOption(
            scope(&s, t.family())?,
            spec_of(&name_or_code(&n)?, option_data(&data)?),
        );
        t.submit(c, e)
    });
    reg!("delete_option", |t, c, n: Dynamic| {
        let e = Edit::DeleteOption(OptionScope::Global, name_or_code(&n)?, None);
        t.submit(c, e)
    });
    reg!("delete_option", |t, c, s: Dynamic, n: Dynamic| {
        let e = Edit::DeleteOption(scope(&s, t.family())?, name_or_code(&n)?, None);
        t.submit(c, e)
    });
    for name in ["define_option", "add_option_def"] {
        reg!(name, |t, c, m: RMap| {
            let e = Edit::DefineOption(kea_map(&m, "the option definition")?);
            t.submit(c, e)
        });
    }
    reg!(
        "update_option_def",
        |t, c, code: INT, space: Dynamic, m: RMap| {
            let code = u16::try_from(code)
                .map_err(|_| invalid(format!("option code {code} is out of range")))?;
            let e = Edit::UpdateOptionDef(
                code,
                string(&space, "the option space")?,
                kea_map(&m, "the change")?,
            );
            t.submit(c, e)
        }
    );
    reg!("delete_option_def", |t, c, code: INT, space: Dynamic| {
        let code = u16::try_from(code)
            .map_err(|_| invalid(format!("option code {code} is out of range")))?;
        let e = Edit::DeleteOptionDef(code, string(&space, "the option space")?);
        t.submit(c, e)
    });
    reg!("set", |t, c, m: RMap| {
        let e = Edit::Set(kea_map(&m, "the settings")?);
        t.submit(c, e)
    });
    reg!("apply", |t, c, cfg: Dynamic| {
        let config = crate::script::convert::to_json(&cfg, "the configuration")?;
        t.submit(
            c,
            Edit::Apply {
                config,
                allow_paths: false,
            },
        )
    });
    reg!("apply", |t, c, cfg: Dynamic, opts: RMap| {
        let config = crate::script::convert::to_json(&cfg, "the configuration")?;
        let mut allow_paths = false;
        for (k, v) in &opts {
            match (k.as_str(), v.as_bool()) {
                ("allow_paths", Ok(b)) => allow_paths = b,
                _ => {
                    return Err(invalid(format!(
                        "apply(): unknown option {k}: {v} (known: allow_paths)"
                    )));
                }
            }
        }
        t.submit(
            c,
            Edit::Apply {
                config,
                allow_paths,
            },
        )
    });
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    register_mutators::<ServiceHandle>(engine, ctx.clone());
    register_mutators::<TxHandle>(engine, ctx.clone());

    engine.register_type_with_name::<TxHandle>("Transaction");
    engine.register_fn("begin", |s: &mut ServiceHandle| TxHandle {
        svc: s.0.clone(),
        staged: Arc::new(Mutex::new(Vec::new())),
    });
    engine.register_fn("to_string", |t: &mut TxHandle| {
        format!(
            "Transaction({} of {}, {} staged)",
            t.svc.name,
            t.svc.server.name(),
            t.staged.lock().expect("tx lock").len()
        )
    });
    engine.register_get("len", |t: &mut TxHandle| {
        t.staged.lock().expect("tx lock").len() as INT
    });
    let c = ctx.clone();
    engine.register_fn("diff", move |t: &mut TxHandle| -> R<String> {
        let edits = t.staged.lock().expect("tx lock").clone();
        let out = c.execute(&t.svc, &edits, true)?;
        Ok(out
            .targets
            .into_iter()
            .next()
            .map(|r| r.diff)
            .unwrap_or_default())
    });
    let c = ctx.clone();
    engine.register_fn("commit", move |t: &mut TxHandle| -> R<bool> {
        let edits = std::mem::take(&mut *t.staged.lock().expect("tx lock"));
        if edits.is_empty() {
            return Ok(false);
        }
        let out = c.execute(&t.svc, &edits, false)?;
        Ok(out.changed && !out.dry_run)
    });
    engine.register_fn("discard", |t: &mut TxHandle| {
        t.staged.lock().expect("tx lock").clear();
    });
    let c = ctx.clone();
    engine.register_fn("dry_run", move |on: bool| c.set_dry_run(on));
    let c = ctx;
    engine.register_fn("is_dry_run", move || c.is_dry_run());
}
