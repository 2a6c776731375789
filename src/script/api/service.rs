//! The `Service` type (`srv.dhcp4`, `srv.dhcp6`): capabilities, raw configuration,
//! `config-test` / `-write` / `-reload`, `status-get`, any command.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::ServerHandle;
use crate::kea::Service;
use crate::script::RunContext;
use crate::script::convert::{opt_to_dynamic, to_dynamic, to_json};

/// A DHCP service of a server, as scripts see it.
#[derive(Clone)]
pub struct ServiceHandle(pub Service);

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    engine.register_type_with_name::<ServiceHandle>("Service");
    engine.register_get("name", |s: &mut ServiceHandle| s.0.name.clone());
    engine.register_get("server", |s: &mut ServiceHandle| {
        ServerHandle(s.0.server.clone())
    });
    engine.register_fn("to_string", |s: &mut ServiceHandle| {
        format!("Service({} of {})", s.0.name, s.0.server.name())
    });
    engine.register_fn("to_debug", |s: &mut ServiceHandle| {
        format!("Service({} of {})", s.0.name, s.0.server.name())
    });

    let c = ctx.clone();
    engine.register_fn(
        "capabilities",
        move |s: &mut ServiceHandle| -> Result<Map, Box<EvalAltResult>> {
            let svc = s.0.clone();
            let (caps, doc) = c.block(async move {
                let caps = svc.capabilities().await?;
                let doc = crate::kea::edit::read_config(&svc).await?;
                Ok::<_, crate::kea::KeaError>((caps, doc))
            })?;
            let mut m: Map = caps
                .entries()
                .into_iter()
                .map(|(k, v)| (k.into(), Dynamic::from(v)))
                .collect();
            // Where reservations change: the configuration file, or a hosts database.
            m.insert(
                "reservations".into(),
                crate::kea::hosts::target(&doc, &caps).into(),
            );
            Ok(m)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "config",
        move |s: &mut ServiceHandle| -> Result<Dynamic, Box<EvalAltResult>> {
            let svc = s.0.clone();
            let cfg = c.block(async move { svc.config().await })?;
            to_dynamic(&cfg)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "test",
        move |s: &mut ServiceHandle, cfg: Dynamic| -> Result<String, Box<EvalAltResult>> {
            let cfg = to_json(&cfg, "the configuration")?;
            let svc = s.0.clone();
            c.block(async move { svc.test(&cfg).await })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "write",
        move |s: &mut ServiceHandle| -> Result<Dynamic, Box<EvalAltResult>> {
            let svc = s.0.clone();
            opt_to_dynamic(c.block(async move { svc.write().await })?)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "reload",
        move |s: &mut ServiceHandle| -> Result<String, Box<EvalAltResult>> {
            let svc = s.0.clone();
            c.block(async move { svc.reload().await })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "status",
        move |s: &mut ServiceHandle| -> Result<Dynamic, Box<EvalAltResult>> {
            let svc = s.0.clone();
            to_dynamic(&c.block(async move { svc.status().await })?)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "command",
        move |s: &mut ServiceHandle, cmd: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            let h = ServerHandle(s.0.server.clone());
            super::server::command(&c, &h, cmd, Some(s.0.name.clone()), None)
        },
    );
    let c = ctx;
    engine.register_fn(
        "command",
        move |s: &mut ServiceHandle,
              cmd: &str,
              args: Dynamic|
              -> Result<Dynamic, Box<EvalAltResult>> {
            let h = ServerHandle(s.0.server.clone());
            let args = if args.is_unit() {
                None
            } else {
                Some(to_json(&args, "the command arguments")?)
            };
            super::server::command(&c, &h, cmd, Some(s.0.name.clone()), args)
        },
    );
}
