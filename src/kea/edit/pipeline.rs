//! The config path of the edit pipeline: `config-get` → edit locally → validate →
//! `config-set` → `config-write`, all-or-nothing.

use std::time::Duration;

use serde_json::Value;

use super::hooks::{self, HookCommand};
use super::{Edit, PeerTarget, RelationshipReport, ServerLock, commit_relationship};
use crate::kea::config::{
    ConfigDoc, Family, normalize_inherited, restore_protected, unified_diff, validate,
};
use crate::kea::ha::{self, HaTopology};
use crate::kea::{Capabilities, ErrorKind, KeaError, Service, redact};

/// How to commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitOptions {
    /// Change nothing: compute the diff and the commands, ask Kea's `config-test` verdict.
    pub dry_run: bool,
    /// The lowest id a new subnet may get (HA: above every peer's ids).
    pub min_subnet_id: u64,
    /// In a dry run, do not ask Kea's `config-test` (just the diff).
    pub skip_test: bool,
}

/// What a commit did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitReport {
    /// False when the edits changed nothing, and nothing was sent.
    pub changed: bool,
    pub dry_run: bool,
    /// Unified diff of the configuration (inherited values left out).
    pub diff: String,
    /// The commands that change the server, in order.
    pub commands: Vec<String>,
    /// One result per edit (the new subnet, class, option…; `null` when there is none).
    pub results: Vec<Value>,
    /// Kea's `config-test` verdict in a dry run.
    pub verdict: Option<String>,
    /// The configuration before and after, as sent (for the audit trail and HA).
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The running configuration of a service as a document.
pub async fn read_config(svc: &Service) -> Result<ConfigDoc, KeaError> {
    let family = Family::of_service(&svc.name);
    ConfigDoc::new(family, svc.config().await?).map_err(|e| context(e, svc, "config-get"))
}

fn context(e: KeaError, svc: &Service, command: &str) -> KeaError {
    e.with_server(svc.server.name())
        .with_service(Some(&svc.name))
        .with_command(command)
}

/// A change computed on one server's configuration.
pub(super) struct Prepared {
    /// The running configuration, inherited values left out.
    pub base: ConfigDoc,
    /// What it becomes.
    pub new: ConfigDoc,
    /// One result per edit.
    pub results: Vec<Value>,
}

/// The diff people read (dry runs, `tx.diff()`): secrets never show, a changed one shows
/// as `[redacted, changed]` (see [`redact::pair`]).
pub(super) fn shown_diff(base: &ConfigDoc, new: &ConfigDoc, label: &str) -> String {
    if base.value == new.value {
        return String::new();
    }
    let (a, b) = redact::pair(&base.value, &new.value);
    let doc = |value| ConfigDoc {
        family: base.family,
        value,
    };
    unified_diff(&doc(a), &doc(b), label)
}

/// Applies `edits` locally to `live` and validates the outcome (steps 1–2 of the pipeline).
pub(super) fn prepare(
    live: &ConfigDoc,
    edits: &[Edit],
    min_subnet_id: u64,
    peer: bool,
) -> Result<Prepared, KeaError> {
    let mut base = live.clone();
    normalize_inherited(&mut base);
    let mut new = base.clone();
    let mut results = Vec::with_capacity(edits.len());
    for e in edits {
        results.push(e.apply_to(&mut new, live, min_subnet_id, peer)?);
    }
    let allowed: Vec<&str> = edits.iter().flat_map(Edit::allowed_protected).collect();
    restore_protected(&mut new, live, &allowed);
    validate(&base, &new)?;
    Ok(Prepared { base, new, results })
}

/// Applies `edits` to the service as one configuration change (this server only; see
/// [`commit_auto`] for a server that may be part of an HA relationship).
pub async fn commit(
    svc: &Service,
    edits: &[Edit],
    opts: &CommitOptions,
) -> Result<CommitReport, KeaError> {
    precheck(svc, edits)?;
    let _lock = lock(svc, opts).await?;
    let (live, hash) = read_live(svc).await?;
    commit_read(svc, edits, opts, live, hash).await
}

/// Applies `edits` to the service, and to every peer of its HA relationship when it has
/// one (`peers` maps the relationship's peers to services). The configuration is read
/// once, under the lock, both to find the relationship and to check the change.
pub async fn commit_auto(
    svc: &Service,
    edits: &[Edit],
    opts: &CommitOptions,
    single_peer: bool,
    peers: &(dyn Fn(&HaTopology) -> Vec<PeerTarget> + Sync),
) -> Result<RelationshipReport, KeaError> {
    precheck(svc, edits)?;
    let lock = lock(svc, opts).await?;
    let (live, hash) = read_live(svc).await?;
    let topo = ha::topology(&live);
    svc.remember_ha_topology(topo.clone());
    if let Some(topo) = topo.filter(|t| t.partners().count() > 0) {
        // The relationship takes every peer's lock (this one's too) and reads them all.
        drop(lock);
        let others = peers(&topo);
        return commit_relationship(svc, &topo.this_server, &others, edits, opts, single_peer)
            .await;
    }
    Ok(RelationshipReport {
        origin: commit_read(svc, edits, opts, live, hash).await?,
        ..Default::default()
    })
}

fn precheck(svc: &Service, edits: &[Edit]) -> Result<(), KeaError> {
    let family = Family::of_service(&svc.name);
    for e in edits {
        e.precheck(family).map_err(|e| {
            e.with_server(svc.server.name())
                .with_service(Some(&svc.name))
        })?;
    }
    Ok(())
}

/// The server's lock (none for a dry run, which changes nothing).
async fn lock(svc: &Service, opts: &CommitOptions) -> Result<Option<ServerLock>, KeaError> {
    if opts.dry_run {
        return Ok(None);
    }
    ServerLock::acquire(
        &format!("{}-{}", svc.server.url(), svc.name),
        Duration::from_secs(60),
    )
    .await
    .map(Some)
    .map_err(|e| {
        e.with_server(svc.server.name())
            .with_service(Some(&svc.name))
    })
}

/// The live configuration, read right before the change: what was changed behind our back
/// (a config-reload, another tool) is what the change is checked against.
async fn read_live(svc: &Service) -> Result<(ConfigDoc, Option<String>), KeaError> {
    let family = Family::of_service(&svc.name);
    let (raw, hash) = svc.config_and_hash().await?;
    let live = ConfigDoc::new(family, raw).map_err(|e| context(e, svc, "config-get"))?;
    Ok((live, hash))
}

/// Steps 1–4 of the pipeline on a configuration read under the lock.
async fn commit_read(
    svc: &Service,
    edits: &[Edit],
    opts: &CommitOptions,
    live: ConfigDoc,
    hash_at_read: Option<String>,
) -> Result<CommitReport, KeaError> {
    let local = |e: KeaError| {
        e.with_server(svc.server.name())
            .with_service(Some(&svc.name))
    };
    let Prepared { base, new, results } =
        prepare(&live, edits, opts.min_subnet_id, false).map_err(local)?;
    let mut report = CommitReport {
        dry_run: opts.dry_run,
        results,
        ..Default::default()
    };
    if new.value == base.value {
        return Ok(report);
    }
    report.changed = true;
    // The diff is for people (dry runs, `tx.diff()`); a real change does not pay for it.
    if opts.dry_run {
        report.diff = shown_diff(&base, &new, &format!("{}/{}", svc.server.name(), svc.name));
    }
    let hook_plan = hook_plan(svc, edits, &base, &new, &report.results).await?;
    report.commands = match &hook_plan {
        Some(plan) => plan
            .iter()
            .map(|c| {
                format!(
                    "{} ({}) {}",
                    c.command,
                    svc.name,
                    redact::value(&c.arguments)
                )
            })
            .collect(),
        None => vec![format!("config-set ({}, whole configuration)", svc.name)],
    };
    report.commands.push(format!("config-write ({})", svc.name));
    if opts.dry_run {
        if !opts.skip_test {
            report.verdict = Some(svc.test(&new.value).await?);
        }
        report.before = Some(base.value);
        report.after = Some(new.value);
        return Ok(report);
    }
    // Someone else may have changed the server since it was read: with Kea's hash
    // (2.4 and later) that is caught here, and nothing is sent.
    if let Some(h) = &hash_at_read
        && svc.config_hash().await?.as_ref() != Some(h)
    {
        return Err(context(
            KeaError::new(
                ErrorKind::Conflict,
                "the configuration changed on the server while this change was being prepared; nothing was sent, try again",
            ),
            svc,
            "config-hash-get",
        ));
    }
    match &hook_plan {
        Some(plan) => {
            for c in plan {
                svc.command(&c.command, Some(c.arguments.clone())).await?;
            }
        }
        None => {
            svc.set(&new.value).await?;
        }
    }
    if let Err(write_err) = svc.write().await {
        // The running configuration changed but could not be persisted: undo it, so the
        // server is never left half-changed.
        return Err(match svc.set(&base.value).await {
            Ok(_) => KeaError {
                message: format!(
                    "config-write failed ({}); the change was undone, the server runs its previous configuration",
                    write_err.message
                ),
                ..write_err
            },
            Err(undo) => KeaError {
                kind: ErrorKind::Partial,
                message: format!(
                    "config-write failed ({}) and undoing the change failed too ({}): the server runs the new configuration, its file has the old one",
                    write_err.message, undo.message
                ),
                ..write_err
            },
        });
    }
    // Moved, not copied: a 10,000-subnet configuration is megabytes.
    report.before = Some(base.value);
    report.after = Some(new.value);
    Ok(report)
}

/// The hook commands for a single subnet or class edit, when the server has the hooks and
/// the inventory allows them; `None` means the config path.
async fn hook_plan(
    svc: &Service,
    edits: &[Edit],
    base: &ConfigDoc,
    new: &ConfigDoc,
    results: &[Value],
) -> Result<Option<Vec<HookCommand>>, KeaError> {
    let [edit] = edits else {
        // Several changes are one configuration change: one config-set.
        return Ok(None);
    };
    if svc.server.config_path_only() || !hooks::only_subnets_and_classes_differ(base, new) {
        return Ok(None);
    }
    let all = Capabilities {
        subnet_cmds: true,
        class_cmds: true,
        ..Default::default()
    };
    // Ask the server only when a hook command exists for this edit.
    if hooks::plan(edit, &all, base, new, &results[0]).is_none() {
        return Ok(None);
    }
    let caps = svc.capabilities_cached().await?;
    Ok(hooks::plan(edit, &caps, base, new, &results[0]))
}
