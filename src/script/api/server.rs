//! The `Server` type: identity (`name` is the inventory name), `version()`, `services()`,
//! `command(…)`, `reload()`, and its `dhcp4` / `dhcp6` services; `selection()`, the
//! servers of a fleet run.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::ServiceHandle;
use crate::kea::audit::AuditEntry;
use crate::kea::{Server, Service};
use crate::script::RunContext;
use crate::script::convert::{opt_to_dynamic, to_json};
use crate::script::errors::{invalid, kea_error};

/// A Kea server as scripts see it.
#[derive(Clone)]
pub struct ServerHandle(pub Arc<Server>);

fn service_arg(v: &Dynamic) -> Result<Option<String>, Box<EvalAltResult>> {
    if v.is_unit() {
        return Ok(None);
    }
    v.clone().into_string().map(Some).map_err(|t| {
        invalid(format!(
            "service must be a string such as \"dhcp4\", not {t}"
        ))
    })
}

fn args_arg(v: &Dynamic) -> Result<Option<serde_json::Value>, Box<EvalAltResult>> {
    if v.is_unit() {
        Ok(None)
    } else {
        to_json(v, "the command arguments").map(Some)
    }
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    engine.register_type_with_name::<ServerHandle>("Server");
    // A fleet run's selected servers (all of them, also those another run covers);
    // outside a fleet run, the one server `kea()` returns.
    let c = ctx.clone();
    engine.register_fn("selection", move || -> Result<Array, Box<EvalAltResult>> {
        let names = c.selection.lock().expect("selection lock").clone();
        if names.is_empty() {
            return Ok(vec![Dynamic::from(ServerHandle(c.server(None)?))]);
        }
        names
            .iter()
            .map(|n| Ok(Dynamic::from(ServerHandle(c.server_unchecked(n)?))))
            .collect()
    });
    engine.register_get("name", |s: &mut ServerHandle| s.0.name().to_string());
    engine.register_get("url", |s: &mut ServerHandle| s.0.url());
    for svc in ["dhcp4", "dhcp6"] {
        engine.register_get(
            svc,
            move |s: &mut ServerHandle| -> Result<ServiceHandle, Box<EvalAltResult>> {
                Service::new(s.0.clone(), svc)
                    .map(ServiceHandle)
                    .map_err(|e| kea_error(&e))
            },
        );
    }
    engine.register_fn("to_string", |s: &mut ServerHandle| {
        format!("Server({} at {})", s.0.name(), s.0.url())
    });
    engine.register_fn("to_debug", |s: &mut ServerHandle| {
        format!("Server({} at {})", s.0.name(), s.0.url())
    });

    let c = ctx.clone();
    engine.register_fn(
        "version",
        move |s: &mut ServerHandle| -> Result<String, Box<EvalAltResult>> {
            let srv = s.0.clone();
            c.block(async move { srv.version().await })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "services",
        move |s: &mut ServerHandle| -> Result<Array, Box<EvalAltResult>> {
            let srv = s.0.clone();
            let list = c.block(async move { srv.services().await })?;
            Ok(list.into_iter().map(Dynamic::from).collect())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "command",
        move |s: &mut ServerHandle, cmd: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            command(&c, s, cmd, None, None)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "command",
        move |s: &mut ServerHandle,
              cmd: &str,
              service: Dynamic|
              -> Result<Dynamic, Box<EvalAltResult>> {
            command(&c, s, cmd, service_arg(&service)?, None)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "command",
        move |s: &mut ServerHandle,
              cmd: &str,
              service: Dynamic,
              args: Dynamic|
              -> Result<Dynamic, Box<EvalAltResult>> {
            command(&c, s, cmd, service_arg(&service)?, args_arg(&args)?)
        },
    );
    let c = ctx;
    engine.register_fn(
        "reload",
        move |s: &mut ServerHandle| -> Result<Map, Box<EvalAltResult>> {
            let srv = s.0.clone();
            let done = c.block(async move {
                let mut done = Vec::new();
                for svc in srv.services().await? {
                    let text = Service::new(srv.clone(), &svc)?.reload().await?;
                    done.push((svc, text));
                }
                Ok(done)
            })?;
            Ok(done
                .into_iter()
                .map(|(k, v)| (k.into(), Dynamic::from(v)))
                .collect())
        },
    );
}

pub(super) fn command(
    ctx: &RunContext,
    s: &ServerHandle,
    cmd: &str,
    service: Option<String>,
    args: Option<serde_json::Value>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    if cmd.trim().is_empty() {
        return Err(invalid("command(): the command name is empty"));
    }
    let mutates = !crate::kea::audit::is_read_only(cmd);
    if mutates && ctx.is_dry_run() {
        ctx.plan(
            &format!(
                "[dry run] {}: would send {cmd}{}{}",
                s.0.name(),
                service
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                args.as_ref().map(|a| format!(" {a}")).unwrap_or_default()
            ),
            1,
        );
        return Ok(Dynamic::UNIT);
    }
    let srv = s.0.clone();
    let (cmd2, service2, args2) = (cmd.to_string(), service.clone(), args.clone());
    let out = ctx.block(async move { srv.command(&cmd2, service2.as_deref(), args2).await });
    if mutates {
        let mut a = AuditEntry::new(s.0.name(), service.as_deref(), "command", cmd, cmd);
        a.after = args.unwrap_or(serde_json::Value::Null);
        if let Err(e) = &out {
            a.outcome = "error".into();
            a.error = Some(crate::script::errors::message_of_error(e));
        }
        ctx.audit(a);
    }
    opt_to_dynamic(out?)
}
