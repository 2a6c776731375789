//! The edit pipeline every mutation goes through (`spec/design.md` › The edit pipeline):
//! validate locally, find every target (the service, its HA peers, every server for a
//! `global` class), read each right before the change and check the change against it,
//! apply it with the narrowest command Kea has, persist it, undo it everywhere if one target
//! fails, and audit it — one loop for every kind of target ([`execute`]).
//!
//! - [`change`]: what an edit is, checked alone and applied to a document (pure);
//! - [`prepare`]: the edits on one target's configuration, validated (pure);
//! - [`targets`]: who gets the change, locked, settled and read;
//! - [`checks`]: hook commands or `config-set`, Kea's verdict, the check right before sending;
//! - [`execute`]: the loop, its one undo, the journal and the audit;
//! - [`database`]: the loop's branch for reservations kept in a hosts database;
//! - [`journal`], [`outcome`]: changes in flight, and settling the ones whose answer was lost;
//! - [`plan`]: dry runs as a plan over staged configurations.

mod change;
mod checks;
mod database;
mod execute;
mod hooks;
pub mod journal;
mod lock;
pub mod outcome;
pub mod plan;
mod prepare;
mod targets;

pub use change::{Edit, EditTarget, PER_PEER};
pub use execute::{Auditor, Change, Options, Outcome, TargetReport, execute};
pub use hooks::HookCommand;
pub use lock::{ServerLock, create_private_dir, lock_file, state_dir};
pub use outcome::Resolution;
pub use plan::{ServicePlan, Stage};
pub use prepare::{Prepared, prepare, shown_diff};
pub use targets::{is_global_class_edit, subnet_drift};

use serde_json::Value;

use crate::kea::config::{ConfigDoc, Family};
use crate::kea::estate::Estate;
use crate::kea::identity::daemon_id;
use crate::kea::{Inventory, KeaError, Service};

/// The running configuration of a service as a document.
pub async fn read_config(svc: &Service) -> Result<ConfigDoc, KeaError> {
    let family = Family::of_service(&svc.name);
    ConfigDoc::new(family, svc.config().await?).map_err(|e| {
        e.with_server(svc.server.name())
            .with_service(Some(&svc.name))
            .with_command("config-get")
    })
}

/// What a script's readers see: in a dry run, the service's staged configuration when it has
/// one (as Kea would answer for it), else the running configuration.
pub async fn read_staged(svc: &Service, stage: Option<&Stage>) -> Result<ConfigDoc, KeaError> {
    if let Some(stage) = stage.filter(|s| !s.is_empty())
        && let Some(doc) = stage.answer(&daemon_id(svc).await)
    {
        return Ok(doc);
    }
    read_config(svc).await
}

/// How [`commit`] runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitOptions {
    /// Change nothing: compute the diff and the commands, ask Kea's `config-test` verdict.
    pub dry_run: bool,
    /// In a dry run, do not ask Kea's `config-test` (just the diff).
    pub skip_test: bool,
    /// Change this service alone, even when it is an HA peer (a restore changes each peer
    /// from its own snapshot).
    pub single_peer: bool,
}

/// What [`commit`] did on the service (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitReport {
    /// False when the edits changed nothing, and nothing was sent.
    pub changed: bool,
    pub dry_run: bool,
    /// Unified diff of the configuration (a dry run; inherited values left out).
    pub diff: String,
    /// The commands that change the server, in order.
    pub commands: Vec<String>,
    /// One result per edit (the new subnet, class, option…; `null` when there is none).
    pub results: Vec<Value>,
    /// Kea's `config-test` verdict, when it was asked.
    pub verdict: Option<String>,
    /// The change's id in the journal (and the audit trail).
    pub change_id: Option<String>,
    /// What a person should know (answers lost and settled, earlier changes settled).
    pub warnings: Vec<String>,
}

/// Applies `edits` to one service through the pipeline, for Rust callers and tests: a
/// service outside any inventory (its HA peers cannot be found: a relationship refuses the
/// change), nothing audited.
pub async fn commit(
    svc: &Service,
    edits: &[Edit],
    opts: &CommitOptions,
) -> Result<CommitReport, KeaError> {
    let estate = Estate::new(Inventory {
        path: None,
        default: String::new(),
        servers: Default::default(),
        ha: Default::default(),
        snapshots: Default::default(),
    });
    let preview = opts.dry_run && opts.skip_test;
    let out = execute(
        &estate,
        Change {
            origin: svc.clone(),
            edits,
            options: Options {
                dry_run: opts.dry_run && !preview,
                single_peer: opts.single_peer,
                preview,
            },
            stage: None,
            auditor: None,
        },
    )
    .await?;
    let origin = out.targets.into_iter().next().unwrap_or_default();
    Ok(CommitReport {
        changed: out.changed,
        dry_run: out.dry_run,
        diff: origin.diff,
        commands: origin.commands,
        results: out.results,
        verdict: origin.verdict,
        change_id: out.id,
        warnings: out.warnings,
    })
}
