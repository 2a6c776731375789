//! `undo(id)`: reverts one recorded change through the edit pipeline; and what the command
//! line's `keascript undo`, `keascript restore` and the commit-confirmed revert share.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult};
use serde_json::{Value, json};

use crate::kea::audit::{AuditEntry, AuditFilter};
use crate::kea::config::{ConfigDoc, Family, normalize_inherited};
use crate::kea::edit::{CommitOptions, Edit, commit, read_config};
use crate::kea::snapshots::{Store, fill_secrets};
use crate::kea::undo::{check_undoable, reverted};
use crate::kea::{ErrorKind, KeaError, Service, ha};
use crate::script::RunContext;
use crate::script::convert::to_dynamic;
use crate::script::errors::kea_error;

type R<T> = Result<T, Box<EvalAltResult>>;

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    engine.register_fn("undo", move |id: &str| -> R<Dynamic> {
        to_dynamic(&undo_change(&ctx, id)?)
    });
}

/// The running configuration of `svc` as the pipeline compares it (inherited values left
/// out, in its Kea's spelling).
fn live_doc(ctx: &RunContext, svc: &Service) -> R<ConfigDoc> {
    let s = svc.clone();
    ctx.block(async move {
        let version = s.kea_version_cached().await?;
        let mut doc = read_config(&s).await?.with_version(version);
        normalize_inherited(&mut doc);
        Ok(doc)
    })
}

/// Reverts the change `id` (every audit entry of it, newest first) on its server and,
/// for an HA relationship, on every peer; refused as `conflict` when its object changed
/// since. Returns `#{ undone, server, service, changed }`.
pub fn undo_change(ctx: &RunContext, id: &str) -> R<Value> {
    let all = ctx
        .audit
        .read(&AuditFilter::default())
        .map_err(|e| kea_error(&e))?;
    let mine: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, e)| e.id.as_deref() == Some(id) && e.resolves.is_none())
        .map(|(i, _)| i)
        .collect();
    let Some(&newest) = mine.first() else {
        return Err(kea_error(&KeaError::new(
            ErrorKind::NotFound,
            format!(
                "no change with id {id} in the audit trail {} (see `keascript history`)",
                ctx.audit.path.display()
            ),
        )));
    };
    let entries: Vec<&AuditEntry> = mine.iter().map(|i| &all[*i]).collect();
    for e in &entries {
        check_undoable(e).map_err(|e| kea_error(&e))?;
    }
    if let Some(u) = all[..newest]
        .iter()
        .find(|u| u.undoes.as_deref() == Some(id) && u.outcome == "ok")
    {
        return Err(kea_error(&KeaError::new(
            ErrorKind::Conflict,
            format!(
                "change {id} was already undone by {} at {} (id {}); nothing was changed",
                u.user,
                u.time,
                u.id.as_deref().unwrap_or("?")
            ),
        )));
    }
    let first = entries[0];
    let service = first.service.clone().unwrap_or_default();
    let server = ctx.server(Some(&first.server))?;
    let svc = Service::new(server, &service).map_err(|e| kea_error(&e))?;
    let family = Family::of_service(&service);
    let later = &all[..newest];
    let ctx_err = |e: KeaError| {
        kea_error(
            &e.with_server(svc.server.name())
                .with_service(Some(&svc.name)),
        )
    };
    let live = live_doc(ctx, &svc)?;
    // Reservations kept in a hosts database are not in the configuration: each is put back
    // there (re-added, re-updated or deleted through host_cmds), through the same loop,
    // refused as `conflict` when the reservation changed since.
    if entries.iter().all(|e| e.kind == "reservation") {
        let s2 = svc.clone();
        let caps = ctx.block(async move { s2.capabilities_cached().await })?;
        if crate::kea::hosts::target(&live, &caps) == "database" {
            let edits = database_undo(&entries);
            *ctx.undoing.lock().expect("undo lock") = Some(id.to_string());
            let r = ctx.execute(&svc, &edits, false);
            *ctx.undoing.lock().expect("undo lock") = None;
            let report = r?;
            return Ok(json!({
                "undone": id,
                "server": first.server,
                "service": service,
                "changed": report.changed,
                "id": report.id,
            }));
        }
    }
    let mut doc = live.clone();
    for e in &entries {
        let v = reverted(e, &doc, later).map_err(ctx_err)?;
        doc = ConfigDoc::new(family, v)
            .map_err(ctx_err)?
            .with_version(live.version);
    }
    // An HA change is undone on every peer: each must still run what the change left.
    if entries.iter().any(|e| !e.peers.is_empty())
        && let Some(topo) = ha::topology(&live).filter(|t| t.partners().count() > 0)
    {
        for p in ctx.estate.peers(&svc, &topo) {
            let Some(psvc) = p.service else { continue };
            let mut pdoc = live_doc(ctx, &psvc)?;
            for e in &entries {
                let v = reverted(e, &pdoc, later).map_err(|e| {
                    kea_error(
                        &KeaError {
                            message: format!("HA peer {}: {}", p.peer, e.message),
                            ..e
                        }
                        .with_server(psvc.server.name())
                        .with_service(Some(&psvc.name)),
                    )
                })?;
                pdoc = ConfigDoc::new(family, v).map_err(ctx_err)?;
            }
        }
    }
    *ctx.undoing.lock().expect("undo lock") = Some(id.to_string());
    let r = ctx.execute(
        &svc,
        &[Edit::Apply {
            config: doc.value,
            allow_paths: true,
        }],
        false,
    );
    *ctx.undoing.lock().expect("undo lock") = None;
    let report = r?;
    Ok(json!({
        "undone": id,
        "server": first.server,
        "service": service,
        "changed": report.changed,
        "id": report.id,
    }))
}

/// The edits that undo reservation entries made in a hosts database, newest first: each
/// reservation must still be as the entry left it and gets its state from before (an
/// import's entry holds the lists of the hosts it changed, pair by pair).
fn database_undo(entries: &[&AuditEntry]) -> Vec<Edit> {
    let mut out = Vec::new();
    for e in entries {
        match (&e.before, &e.after) {
            (Value::Array(b), Value::Array(a)) => {
                for (before, after) in b.iter().zip(a).rev() {
                    out.push(Edit::RestoreReservation {
                        expect: after.clone(),
                        back: before.clone(),
                    });
                }
            }
            (before, after) => out.push(Edit::RestoreReservation {
                expect: after.clone(),
                back: before.clone(),
            }),
        }
    }
    out
}

/// Puts the snapshot `id` of `server` back (and, for a snapshot taken before an HA change,
/// every other peer's snapshot of the same change on that peer), each with its secrets
/// filled back from the running configuration. Returns one line per server.
pub fn restore_snapshot(
    ctx: &RunContext,
    server: &str,
    service: Option<&str>,
    id: &str,
) -> R<Vec<String>> {
    let store = Store::default_store();
    let mut snap = store.find(server, service, id).map_err(|e| kea_error(&e))?;
    let mut peers = store.same_change(&snap).map_err(|e| kea_error(&e))?;
    if peers.is_empty() {
        // The same configuration is kept once but may be indexed under several changes
        // (restoring it, or putting a half-made restore back, keeps it again, for this
        // server alone): an HA server's snapshot is the newest one taken with its peers'.
        let all = store.list(Some(server)).map_err(|e| kea_error(&e))?;
        for other in all
            .into_iter()
            .rev()
            .filter(|s| s.id == snap.id && s.service == snap.service && s.change != snap.change)
        {
            let p = store.same_change(&other).map_err(|e| kea_error(&e))?;
            if !p.is_empty() {
                snap = other;
                peers = p;
                break;
            }
        }
    }
    let mut snaps = vec![snap.clone()];
    snaps.extend(peers);
    // Every configuration is made whole before anything changes.
    let mut planned = Vec::new();
    for s in &snaps {
        let svc =
            Service::new(ctx.server(Some(&s.server))?, &s.service).map_err(|e| kea_error(&e))?;
        let saved = store.config(s).map_err(|e| kea_error(&e))?;
        let svc2 = svc.clone();
        let live = ctx.block(async move { svc2.config().await })?;
        let filled = fill_secrets(&saved, &live).map_err(|e| {
            kea_error(
                &e.with_server(svc.server.name())
                    .with_service(Some(&svc.name)),
            )
        })?;
        planned.push((s.clone(), svc, filled, live));
    }
    // Each peer from its own snapshot: one service at a time.
    let opts = CommitOptions {
        dry_run: ctx.is_dry_run(),
        single_peer: true,
        ..Default::default()
    };
    let names: Vec<String> = snaps.iter().map(|s| s.server.clone()).collect();
    let mut lines = Vec::new();
    // The servers restored so far, with the configuration each ran before.
    let mut done: Vec<(Service, Value)> = Vec::new();
    for (s, svc, config, live) in planned {
        let label = format!("{}/{}", s.server, s.service);
        let svc2 = svc.clone();
        let restored = config.clone();
        let edits = vec![Edit::Apply {
            config,
            allow_paths: true,
        }];
        let report = match ctx.block_raw(async move { commit(&svc2, &edits, &opts).await })? {
            Ok(r) => r,
            // Every peer or none: the peers restored already are put back.
            Err(e) => return Err(kea_error(&put_back(ctx, &done, &label, e, &opts))),
        };
        if report.changed && !opts.dry_run {
            done.push((svc.clone(), live));
        }
        if opts.dry_run {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "[dry run] {label}: restore snapshot {}", s.short_id());
            if report.changed {
                let _ = write!(out, "{}", report.diff);
                let _ = writeln!(
                    out,
                    "[dry run] {label}: would send {}",
                    report.commands.join(", then ")
                );
            } else {
                let _ = writeln!(
                    out,
                    "[dry run] {label}: runs it already; nothing would be sent"
                );
            }
            continue;
        }
        if report.changed {
            let mut a = AuditEntry::new(&s.server, Some(&s.service), "config", "", "restore");
            a.before = done
                .last()
                .map(|(_, before)| before.clone())
                .unwrap_or(Value::Null);
            a.after = restored;
            a.id = report.change_id.clone();
            a.undoes = Some(format!("snapshot {}", s.short_id()));
            a.peers = names.iter().filter(|n| **n != s.server).cloned().collect();
            ctx.audit(a);
            lines.push(format!(
                "{label}: snapshot {} of {} restored (change {})",
                s.short_id(),
                s.time,
                report.change_id.as_deref().unwrap_or("?")
            ));
        } else {
            lines.push(format!(
                "{label}: already runs snapshot {}; nothing was sent",
                s.short_id()
            ));
        }
    }
    Ok(lines)
}

/// After the restore of `failed` failed with `cause`: each server already restored gets
/// the configuration it ran before again; the error says what happened to each.
fn put_back(
    ctx: &RunContext,
    done: &[(Service, Value)],
    failed: &str,
    cause: KeaError,
    opts: &CommitOptions,
) -> KeaError {
    if done.is_empty() {
        return cause;
    }
    let mut lines = Vec::new();
    let mut all_back = true;
    for (svc, before) in done {
        let svc2 = svc.clone();
        let edits = vec![Edit::Apply {
            config: before.clone(),
            allow_paths: true,
        }];
        // Each server alone (as it was restored): its HA peer may be the one that failed.
        let opts = *opts;
        let r = ctx.block_raw(async move { commit(&svc2, &edits, &opts).await });
        match r {
            Ok(Ok(_)) => lines.push(format!("{} put back", svc.server.name())),
            Ok(Err(e)) => {
                all_back = false;
                lines.push(format!(
                    "{} could NOT be put back: {}",
                    svc.server.name(),
                    e.message
                ));
            }
            Err(_) => {
                all_back = false;
                lines.push(format!(
                    "{} could NOT be put back: stopped",
                    svc.server.name()
                ));
            }
        }
    }
    KeaError {
        kind: if all_back {
            cause.kind
        } else {
            ErrorKind::Partial
        },
        message: format!(
            "restoring {failed} failed ({}); {}",
            cause.message,
            if all_back {
                format!(
                    "the servers restored before it run their previous configuration again ({})",
                    lines.join(", ")
                )
            } else {
                format!("the peers differ now: {}", lines.join(", "))
            }
        ),
        ..cause
    }
}
