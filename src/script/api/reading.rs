//! The readers of the script API: subnets, pools, classes, options, definitions, settings.
//! Each reads the running configuration (`config-get`) at the time of the call — in a dry
//! run, the configuration staged by the changes planned so far.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};
use serde_json::Value;

use super::ServiceHandle;
use super::args::{scope, string, subnet_key};
use super::views;
use crate::kea::config::{ConfigDoc, OptionScope, classes, options, settings, subnets};
use crate::script::RunContext;
use crate::script::convert::to_dynamic;
use crate::script::errors::kea_error;

type R<T> = Result<T, Box<EvalAltResult>>;

fn doc(ctx: &RunContext, s: &ServiceHandle) -> R<ConfigDoc> {
    ctx.config_doc(&s.0)
}

fn array(values: impl IntoIterator<Item = Value>) -> R<Array> {
    values.into_iter().map(|v| to_dynamic(&v)).collect()
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("subnets", move |s: &mut ServiceHandle| -> R<Array> {
        let d = doc(&c, s)?;
        array(d.subnet_locs().into_iter().map(|l| views::subnet(&d, l)))
    });
    let c = ctx.clone();
    engine.register_fn(
        "subnet",
        move |s: &mut ServiceHandle, key: Dynamic| -> R<Dynamic> {
            let d = doc(&c, s)?;
            let key = subnet_key(&key, d.family)?;
            match d.find_subnet(&key) {
                Ok(loc) => to_dynamic(&views::subnet(&d, loc)),
                Err(_) => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "pools",
        move |s: &mut ServiceHandle, key: Dynamic| -> R<Array> {
            let d = doc(&c, s)?;
            let key = subnet_key(&key, d.family)?;
            let loc = d.find_subnet(&key).map_err(|e| kea_error(&e))?;
            array(
                d.subnet(loc)
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(views::pool),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn("client_classes", move |s: &mut ServiceHandle| -> R<Array> {
        let d = doc(&c, s)?;
        array(
            d.root_array("client-classes")
                .iter()
                .map(|v| views::class(v, d.family)),
        )
    });
    let c = ctx.clone();
    engine.register_fn(
        "client_class",
        move |s: &mut ServiceHandle, name: Dynamic| -> R<Dynamic> {
            let d = doc(&c, s)?;
            let name = string(&name, "the class name")?;
            match classes::find_class(&d, &name) {
                Some(i) => to_dynamic(&views::class(&d.root_array("client-classes")[i], d.family)),
                None => Ok(Dynamic::UNIT),
            }
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ranges_with_class",
        move |s: &mut ServiceHandle, class: Dynamic| -> R<Array> {
            let d = doc(&c, s)?;
            let class = string(&class, "the class name")?;
            array(
                subnets::ranges_with_class(&d, &class)
                    .into_iter()
                    .map(|(subnet, pool)| serde_json::json!({ "subnet": subnet, "pool": pool })),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn("options", move |s: &mut ServiceHandle| -> R<Array> {
        let d = doc(&c, s)?;
        let list = options::options_at(&d, &OptionScope::Global).map_err(|e| kea_error(&e))?;
        array(list.iter().map(views::option))
    });
    let c = ctx.clone();
    engine.register_fn(
        "options",
        move |s: &mut ServiceHandle, sc: Dynamic| -> R<Array> {
            let d = doc(&c, s)?;
            let sc = scope(&sc, d.family)?;
            let list = options::options_at(&d, &sc).map_err(|e| kea_error(&e))?;
            array(list.iter().map(views::option))
        },
    );
    let c = ctx.clone();
    engine.register_fn("option_defs", move |s: &mut ServiceHandle| -> R<Array> {
        let d = doc(&c, s)?;
        array(d.root_array("option-def").iter().map(views::option_def))
    });
    let c = ctx;
    engine.register_fn("settings", move |s: &mut ServiceHandle| -> R<Dynamic> {
        let d = doc(&c, s)?;
        to_dynamic(&views::settings(&settings::settings(&d)))
    });
}
