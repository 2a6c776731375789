//! High availability in scripts: `v4.ha()`, `v4.ha_status()`, the HA commands, and
//! `single_peer(bool)`.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};
use serde_json::{Map, Value, json};

use super::ServiceHandle;
use crate::kea::{Service, ha};
use crate::script::RunContext;
use crate::script::convert::{to_dynamic, to_json};
use crate::script::errors::{invalid, kea_error};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Runs an HA command and records it in the audit trail (Kea's answer as `after`).
fn ha_op(ctx: &RunContext, svc: &Service, command: &'static str, args: Option<Value>) -> R<String> {
    if ctx.is_dry_run() {
        ctx.plan(
            &format!(
                "[dry run] {}/{}: would send {command}",
                svc.server.name(),
                svc.name
            ),
            1,
        );
        return Ok(String::new());
    }
    let (s, a) = (svc.clone(), args.clone());
    let r = ctx.block(async move { ha::command(&s, command, a).await });
    let mut e = crate::kea::audit::AuditEntry::new(
        svc.server.name(),
        Some(&svc.name),
        "ha",
        command,
        command,
    );
    match &r {
        Ok(text) => e.after = json!({ "arguments": args, "text": text }),
        Err(err) => {
            e.after = json!({ "arguments": args });
            e.outcome = "error".into();
            e.error = Some(crate::script::errors::message_of_error(err));
        }
    }
    ctx.audit(e);
    r
}

fn topology(ctx: &RunContext, svc: &Service) -> R<Option<ha::HaTopology>> {
    let s = svc.clone();
    ctx.block(async move { s.ha_topology_cached().await })
}

/// Each peer's service: this one for this server, the mapped inventory server for others.
fn peer_services(
    ctx: &RunContext,
    svc: &Service,
    topo: &ha::HaTopology,
) -> R<Vec<(ha::HaPeer, Option<Service>)>> {
    let targets = ctx.estate.peers(svc, topo);
    Ok(topo
        .peers
        .iter()
        .map(|p| {
            let s = if p.name == topo.this_server {
                Some(svc.clone())
            } else {
                targets
                    .iter()
                    .find(|t| t.peer == p.name)
                    .and_then(|t| t.service.clone())
            };
            (p.clone(), s)
        })
        .collect())
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("ha", move |s: &mut ServiceHandle| -> R<Dynamic> {
        let Some(topo) = topology(&c, &s.0)? else {
            return Ok(Dynamic::UNIT);
        };
        let members = peer_services(&c, &s.0, &topo)?;
        let states = c.block(async move {
            let mut out = Vec::new();
            for (p, svc) in members {
                let (server, state) = match svc {
                    None => (Value::Null, Value::String("unknown".into())),
                    Some(svc) => {
                        let state = match ha::heartbeat(&svc).await {
                            Ok(hb) => hb.get("state").cloned().unwrap_or(Value::Null),
                            Err(_) => Value::String("unavailable".into()),
                        };
                        (Value::String(svc.server.name().to_string()), state)
                    }
                };
                out.push(json!({ "name": p.name, "role": p.role, "url": p.url,
                                 "server": server, "state": state }));
            }
            Ok(out)
        })?;
        to_dynamic(&json!({ "mode": topo.mode, "this_server": topo.this_server, "peers": states }))
    });
    let c = ctx.clone();
    engine.register_fn("ha_status", move |s: &mut ServiceHandle| -> R<Dynamic> {
        let Some(topo) = topology(&c, &s.0)? else {
            return Ok(Dynamic::UNIT);
        };
        let members = peer_services(&c, &s.0, &topo)?;
        let svc = s.0.clone();
        let v = c.block(async move {
            let local = ha::status(&svc).await?;
            let mut beats = Map::new();
            for (p, psvc) in members {
                let hb = match psvc {
                    None => json!({ "error": "not in the inventory" }),
                    Some(psvc) => match ha::heartbeat(&psvc).await {
                        Ok(v) => v,
                        Err(e) => json!({ "error": e.message }),
                    },
                };
                beats.insert(p.name, hb);
            }
            Ok(json!({ "mode": topo.mode, "this_server": topo.this_server,
                       "status": local, "heartbeats": beats }))
        })?;
        to_dynamic(&crate::kea::config::to_script_keys(&v))
    });
    for (name, command) in [
        ("ha_maintenance_start", "ha-maintenance-start"),
        ("ha_maintenance_cancel", "ha-maintenance-cancel"),
        ("ha_continue", "ha-continue"),
        ("ha_reset", "ha-reset"),
    ] {
        let c = ctx.clone();
        engine.register_fn(name, move |s: &mut ServiceHandle| -> R<String> {
            ha_op(&c, &s.0, command, None)
        });
    }
    let c = ctx.clone();
    engine.register_fn("ha_sync", move |s: &mut ServiceHandle| -> R<String> {
        let topo = topology(&c, &s.0)?.ok_or_else(|| {
            kea_error(&crate::kea::KeaError::new(
                crate::kea::ErrorKind::Unsupported,
                format!(
                    "{} of {} has no HA relationship",
                    s.0.name,
                    s.0.server.name()
                ),
            ))
        })?;
        let partner = topo
            .partners()
            .next()
            .map(|p| p.name.clone())
            .ok_or_else(|| invalid("the HA relationship has no partner to sync from"))?;
        ha_op(
            &c,
            &s.0,
            "ha-sync",
            Some(json!({ "server-name": partner, "max-period": 60 })),
        )
    });
    let c = ctx.clone();
    engine.register_fn(
        "ha_sync",
        move |s: &mut ServiceHandle, peer: &str| -> R<String> {
            if peer.trim().is_empty() {
                return Err(invalid("ha_sync(): the peer name is empty"));
            }
            ha_op(
                &c,
                &s.0,
                "ha-sync",
                Some(json!({ "server-name": peer, "max-period": 60 })),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "ha_scopes",
        move |s: &mut ServiceHandle, scopes: Array| -> R<String> {
            let scopes = to_json(&Dynamic::from_array(scopes), "the scopes")?;
            if !scopes
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string))
            {
                return Err(invalid(
                    "ha_scopes(): give an array of scope names, e.g. [\"server1\"]",
                ));
            }
            ha_op(&c, &s.0, "ha-scopes", Some(json!({ "scopes": scopes })))
        },
    );
    let c = ctx;
    engine.register_fn("single_peer", move |on: bool| c.set_single_peer(on));
}
