//! The execute loop: every change, whatever it reaches — one service, an HA relationship, a
//! `global` class across the inventory — goes through [`execute`]:
//!
//! 1. check the edits alone (nothing sent);
//! 2. find the targets, lock them, settle what an earlier keascript left in flight, read each
//!    (with Kea's hash where it has one) — [`super::targets`];
//! 3. HA peers must agree on their subnets; compute the change on each target's own
//!    configuration ([`prepare`]); a new subnet gets the same id on every peer;
//! 4. choose how to send it: the subnet/class hook commands when every target that changes
//!    has them, else `config-set`;
//! 5. a dry run stops here: it stages the new configurations (later reads and changes of the
//!    run see them), asks `config-test`, and records the step for the plan;
//! 6. ask Kea's verdict where one is needed (every target when several change; class test
//!    expressions; Kea 3's paths) and check each target can write its file;
//! 7. record the change in the journal (phase `sent`); then, target by target: compare it
//!    once more with what was read, send, `config-write`. A lost answer is settled on that
//!    target ([`outcome::resolve`]); any other failure puts every target already changed back
//!    to its own configuration ([`undo`]: the one undo) and says what happened on each;
//! 8. the journal record moves to `written`, and the audit trail gets one entry per edit.

use serde_json::Value;

use super::checks::{commands, hook_plan, path_refusal, unchanged_since_read, verdict};
use super::hooks::HookCommand;
use super::journal::{self, EntryRef, InFlightGuard, Phase, TargetRef};
use super::outcome::{self, Resolution, unknown_error};
use super::plan::{Stage, Step};
use super::prepare::{Prepared, prepare, shown_diff};
use super::targets::{self, Ask, Gathered, Member, RESOLVE_PATIENCE, Scope, subnet_drift};
use super::{Edit, EditTarget};
use crate::kea::audit::{AuditEntry, AuditLog, snapshot};
use crate::kea::config::{ConfigDoc, Family};
use crate::kea::estate::Estate;
use crate::kea::{ErrorKind, KeaError, Service};

/// How to run a change.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Change nothing: stage the change, ask Kea's `config-test`, record the step.
    pub dry_run: bool,
    /// While an HA peer is down (or not in the inventory), change the reachable peers only.
    pub single_peer: bool,
    /// Only the diff on the service itself (`tx.diff()`): nothing tested or staged.
    pub preview: bool,
}

/// Where a change is recorded, and who made it.
#[derive(Debug, Clone)]
pub struct Auditor {
    pub log: AuditLog,
    /// The script (a path, `repl`).
    pub script: Option<String>,
    /// The daemon's trigger.
    pub trigger: Option<String>,
    /// The change this one undoes (`keascript undo`, `restore`, a commit-confirmed revert).
    pub undoes: Option<String>,
    /// The ids of the configuration changes the run made, in order (for `run --confirm`).
    pub recorded: Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
}

impl Auditor {
    /// Appends `entry`, stamped with the script and trigger; a failure is a warning (the
    /// change itself has been made).
    pub(super) fn append(&self, mut entry: AuditEntry, warnings: &mut Vec<String>) {
        entry.script.clone_from(&self.script);
        entry.trigger.clone_from(&self.trigger);
        if self.undoes.is_some() {
            entry.undoes.clone_from(&self.undoes);
        }
        if entry.id.is_none() {
            entry.id = Some(journal::new_id());
        }
        if let (Some(recorded), Some(id)) = (&self.recorded, &entry.id)
            && entry.outcome == "ok"
            && entry.resolves.is_none()
            && !crate::kea::undo::NOT_UNDOABLE.contains(&entry.kind.as_str())
        {
            let mut r = recorded.lock().expect("recorded lock");
            if !r.contains(id) {
                r.push(id.clone());
            }
        }
        if let Err(e) = self.log.append(&entry) {
            warnings.push(e.message);
        }
    }
}

/// One change to run.
pub struct Change<'a> {
    /// The service the change is made through.
    pub origin: Service,
    pub edits: &'a [Edit],
    pub options: Options,
    /// A dry run's staged configurations (and plan).
    pub stage: Option<&'a Stage>,
    /// Where the change is audited (not in a dry run).
    pub auditor: Option<&'a Auditor>,
}

/// What happened on one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetReport {
    /// `server/service`.
    pub label: String,
    /// Its name in its HA relationship.
    pub peer: Option<String>,
    pub changed: bool,
    /// The commands that change it, in order.
    pub commands: Vec<String>,
    /// Kea's `config-test` verdict, when it was asked.
    pub verdict: Option<String>,
    /// The diff (a dry run, a preview); empty otherwise.
    pub diff: String,
}

/// What a change did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Something was (or would be) changed on some target.
    pub changed: bool,
    pub dry_run: bool,
    /// One result per edit on the service the change was made through (the new subnet,
    /// class, option…; `null` when there is none).
    pub results: Vec<Value>,
    /// The service it was made through first.
    pub targets: Vec<TargetReport>,
    /// HA peers left out under `single_peer`.
    pub skipped: Vec<String>,
    /// The change's id (journal and audit trail).
    pub id: Option<String>,
    /// What a person should know: peers skipped, changes settled, answers lost.
    pub warnings: Vec<String>,
    /// One line per change made (`lab/dhcp4: added subnet 10.50.0.0/24 (id …)`).
    pub lines: Vec<String>,
}

/// Runs one change through the pipeline (see the module's steps).
pub async fn execute(estate: &Estate, change: Change<'_>) -> Result<Outcome, KeaError> {
    let Change {
        origin,
        edits,
        options,
        stage,
        auditor,
    } = change;
    let mut sent = false;
    let r = run(estate, &origin, edits, options, stage, auditor, &mut sent).await;
    if let (Err(e), Some(a)) = (&r, auditor)
        && !options.dry_run
        && !options.preview
    {
        audit_failure(a, &origin, edits, e, sent);
    }
    r
}

/// Records a change that failed once something may have reached Kea.
fn audit_failure(a: &Auditor, origin: &Service, edits: &[Edit], e: &KeaError, sent: bool) {
    let reached = sent
        || matches!(
            e.kind,
            ErrorKind::Kea
                | ErrorKind::Transport
                | ErrorKind::Auth
                | ErrorKind::Partial
                | ErrorKind::Unsupported
        );
    if !reached {
        return;
    }
    let mut warnings = Vec::new();
    for edit in edits {
        let t = edit.target();
        let mut entry = AuditEntry::new(
            origin.server.name(),
            Some(&origin.name),
            t.kind,
            &t.key,
            t.action,
        );
        entry.outcome = if e.message.contains("was unknown (") {
            "unknown".into()
        } else if e.kind == ErrorKind::Partial {
            "partial".into()
        } else {
            "error".into()
        };
        entry.error = Some(e.message.clone());
        a.append(entry, &mut warnings);
    }
}

fn local(e: KeaError, svc: &Service) -> KeaError {
    e.with_server(svc.server.name())
        .with_service(Some(&svc.name))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    estate: &Estate,
    origin: &Service,
    edits: &[Edit],
    options: Options,
    stage: Option<&Stage>,
    auditor: Option<&Auditor>,
    sent: &mut bool,
) -> Result<Outcome, KeaError> {
    // 1. The edits alone.
    let family = Family::of_service(&origin.name);
    for e in edits {
        e.precheck(family).map_err(|e| local(e, origin))?;
    }
    let dry = options.dry_run || options.preview;
    // 2. Every target, locked, settled and read.
    let gathered = targets::gather(&Ask {
        estate,
        origin,
        edits,
        dry_run: dry,
        alone: options.preview,
        single_peer: options.single_peer,
        stage,
    })
    .await?;
    let Gathered {
        members,
        groups,
        scope,
        skipped,
        settled,
        locks: _locks,
    } = gathered;
    let mut out = Outcome {
        dry_run: dry,
        skipped: skipped.clone(),
        ..Default::default()
    };
    for p in &skipped {
        out.warnings.push(format!(
            "HA peer {p} was skipped (single_peer): it did not get this change"
        ));
    }
    for (id, found) in &settled {
        out.warnings.push(format!(
            "an earlier change (id {id}) had an unknown outcome: {found}"
        ));
        if let Some(a) = auditor {
            let mut entry = AuditEntry::new(
                origin.server.name(),
                Some(&origin.name),
                "config",
                "in-flight",
                "resolve",
            );
            entry.resolves = Some(id.clone());
            entry.error = Some(found.clone());
            a.append(entry, &mut out.warnings);
        }
    }
    // 3. The peers of each relationship agree; the change on each target's configuration.
    let mut min_ids = vec![0u64; groups];
    for (g, min_id) in min_ids.iter_mut().enumerate() {
        let docs: Vec<(String, &ConfigDoc)> = members
            .iter()
            .filter(|(m, _)| m.group == Some(g))
            .map(|(m, d)| (m.name(), d))
            .collect();
        if docs.len() > 1 {
            let drift = subnet_drift(&docs);
            if !drift.is_empty() {
                return Err(local(
                    KeaError::new(
                        ErrorKind::Conflict,
                        format!(
                            "the HA peers' subnets differ, so the change was refused: {}",
                            drift.join("; ")
                        ),
                    ),
                    origin,
                ));
            }
        }
        // A new subnet gets the same id on every peer.
        *min_id = docs
            .iter()
            .map(|(_, d)| d.max_subnet_id())
            .max()
            .unwrap_or(0)
            + 1;
    }
    // Reservations kept in a hosts database go there, through host_cmds.
    if super::database::applies(&members, edits).await? {
        return super::database::run(
            super::database::Run {
                origin,
                edits,
                options,
                stage,
                auditor,
            },
            members,
            out,
            sent,
        )
        .await;
    }
    let mut targets: Vec<Target> = Vec::with_capacity(members.len());
    for (member, doc) in members {
        let min_id = member.group.map_or(0, |g| min_ids[g]);
        // Each target in its own Kea's spelling (peers may run different versions during
        // an upgrade); its per-server parts are never copied from another.
        let prepared = prepare(doc, member.version, edits, min_id, !member.origin)
            .map_err(|e| local(e, &member.svc))?;
        targets.push(Target {
            member,
            prepared,
            plan: None,
        });
    }
    out.results = targets
        .iter()
        .find(|t| t.member.origin)
        .map(|t| t.prepared.results.clone())
        .unwrap_or_default();
    let changed: Vec<usize> = (0..targets.len())
        .filter(|i| targets[*i].prepared.changed())
        .collect();
    out.changed = !changed.is_empty();
    // 4. Hook commands when every target that changes has them; else config-set everywhere.
    for &i in &changed {
        let t = &targets[i];
        let p = &t.prepared;
        targets[i].plan = hook_plan(&t.member.svc, edits, &p.base, &p.new, &p.results).await?;
    }
    if changed.iter().any(|i| targets[*i].plan.is_none()) {
        for t in &mut targets {
            t.plan = None;
        }
    }
    out.targets = targets
        .iter()
        .map(|t| TargetReport {
            label: t.member.label(),
            peer: t.member.peer.clone(),
            changed: t.prepared.changed(),
            commands: if t.prepared.changed() {
                commands(&t.member.svc, t.plan.as_deref())
            } else {
                Vec::new()
            },
            verdict: None,
            diff: String::new(),
        })
        .collect();
    // 5. A dry run: staged, tested, recorded for the plan; nothing sent.
    if dry {
        for (t, r) in targets.into_iter().zip(out.targets.iter_mut()) {
            // The diff here when nobody keeps a plan (`tx.diff()`, a library dry run).
            if options.preview || stage.is_none() {
                r.diff = shown_diff(&t.prepared.base, &t.prepared.new, &r.label);
            }
            if options.preview {
                continue;
            }
            if r.changed {
                r.verdict = Some(
                    t.member
                        .svc
                        .test(&t.prepared.new.value)
                        .await
                        .map_err(|e| local(e, &t.member.svc))?,
                );
            }
            if let Some(stage) = stage {
                let Prepared { base, new, .. } = t.prepared;
                stage.record(
                    &t.member.daemon,
                    &r.label,
                    base,
                    new,
                    Step::of(edits, r.commands.clone()),
                    r.verdict.clone(),
                );
            }
        }
        return Ok(out);
    }
    if changed.is_empty() {
        return Ok(out);
    }
    // 6. Kea's verdict where it is needed, and whether each target can write its file.
    let together = changed.len() > 1;
    for &i in &changed {
        let t = &targets[i];
        let who = together.then(|| who(&t.member, scope));
        let v = verdict(
            &t.member.svc,
            t.member.version,
            &t.prepared.base,
            &t.prepared.new,
            who.as_deref(),
        )
        .await?;
        out.targets[i].verdict = v;
        // A daemon on this machine that cannot write its file would have the change undone
        // at config-write: refuse it now, with the reason.
        crate::kea::doctor::check_persistable(&t.member.svc).await?;
    }
    // 7. The journal, then target by target: compare, send, write.
    let entry_targets: Vec<(String, String)> = changed
        .iter()
        .map(|&i| {
            let m = &targets[i].member;
            (m.svc.server.service_url(&m.svc.name), m.daemon.to_string())
        })
        .collect();
    let id = journal::new_id();
    let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    // The record, with (`sent`) or without (`written`) the configurations: borrowed, never
    // copied, and never read back.
    // Before any target's configuration is replaced: a snapshot of each changed target's
    // configuration as Kea shows it (what it inherits echoed back, as `config-get` answered),
    // all under this change's id; the record names the first (each peer's is found by the
    // change id). A snapshot that cannot be kept is a warning, not a refusal.
    let mut snapshots: Vec<Option<String>> = Vec::with_capacity(changed.len());
    // Echoed in place and taken out again exactly: no copy of a large configuration.
    for &i in &changed {
        let t = &mut targets[i];
        let base = &mut t.prepared.base;
        let echoed = crate::kea::config::inherit::echo_inherited_undoably(base);
        snapshots.push(crate::kea::snapshots::take(&t.member.svc, &base.value, &id).await);
        crate::kea::config::inherit::unecho(base, echoed);
    }
    let snapshot_name: Option<&str> = snapshots.iter().flatten().next().map(String::as_str);
    let entry = |phase: Phase| EntryRef {
        id: &id,
        time: &time,
        snapshot: snapshot_name,
        phase,
        targets: changed
            .iter()
            .zip(&entry_targets)
            .zip(&snapshots)
            .map(|((&i, (url, daemon)), snap)| {
                let t = &targets[i];
                let sent = phase == Phase::Sent;
                // The configuration from before is the target's snapshot when one was kept
                // (not written twice).
                let snap = snap.as_deref().filter(|_| sent);
                TargetRef {
                    daemon,
                    url,
                    server: t.member.svc.server.name(),
                    service: &t.member.svc.name,
                    before: (sent && snap.is_none()).then_some(&t.prepared.base.value),
                    before_snapshot: snap,
                    after: sent.then_some(&t.prepared.new.value),
                }
            })
            .collect(),
        hosts: &[],
    };
    journal::record(&entry(Phase::Sent)).map_err(|e| local(e, origin))?;
    out.id = Some(id.clone());
    // From the first mutating command on, the change counts as in flight (a cancelled
    // script waits for it to be written or undone).
    let _in_flight = InFlightGuard::new();
    let mut done: Vec<usize> = Vec::new();
    let mut resolutions: Vec<String> = Vec::new();
    for &i in &changed {
        let t = &targets[i];
        let svc = &t.member.svc;
        // Before replacing a target's configuration: somebody else may have changed it
        // since it was read (caught here, right before sending).
        if let Err(e) = unchanged_since_read(svc, t.member.mark(), &t.prepared.base).await {
            journal::forget(&id);
            return Err(undo(&targets, &done, i, false, e, scope).await);
        }
        *sent = true;
        let step = send(svc, t).await;
        let (command, e) = match step {
            Ok(()) => {
                done.push(i);
                continue;
            }
            Err(x) => x,
        };
        if !e.maybe_applied {
            if command != "config-write" {
                // Kea answered: nothing was applied on this target.
                journal::forget(&id);
                let e = path_refusal(
                    e,
                    t.member.version,
                    &command,
                    &t.prepared.base,
                    &t.prepared.new,
                );
                return Err(undo(&targets, &done, i, false, e, scope).await);
            }
            // Running, but not written: this target is undone with the others.
            journal::forget(&id);
            return Err(undo(&targets, &done, i, true, e, scope).await);
        }
        // No answer: read the target again before deciding.
        let found = outcome::resolve(
            svc,
            &t.prepared.base.value,
            &t.prepared.new.value,
            RESOLVE_PATIENCE,
        )
        .await;
        match found {
            Resolution::Completed => {
                resolutions.push(format!(
                    "the outcome of {command} was unknown ({}); {}",
                    e.message,
                    found.describe()
                ));
                done.push(i);
            }
            Resolution::Reverted => {
                journal::forget(&id);
                let e = unknown_error(svc, &command, &e, &found);
                return Err(undo(&targets, &done, i, false, e, scope).await);
            }
            Resolution::Neither | Resolution::Unreachable(_) | Resolution::Conflict(_) => {
                if found == Resolution::Neither {
                    journal::forget(&id);
                }
                let mut err = unknown_error(svc, &command, &e, &found);
                if !done.is_empty() {
                    err.message = format!(
                        "{}: {}; the targets already changed were left as they are: {}",
                        who(&t.member, scope),
                        err.message,
                        done.iter()
                            .map(|d| targets[*d].member.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                return Err(err);
            }
        }
    }
    // 8. Written everywhere: the record moves on, the audit trail gets the change.
    if let Err(e) = journal::record(&entry(Phase::Written)) {
        out.warnings.push(e.message);
    }
    for r in &resolutions {
        out.warnings.push(r.clone());
    }
    audit_success(
        auditor,
        origin,
        edits,
        &targets,
        &skipped,
        &id,
        &resolutions,
        &mut out,
    );
    Ok(out)
}

/// A target and its change.
struct Target {
    member: Member,
    prepared: Prepared,
    /// The hook commands, or `None` for `config-set`.
    plan: Option<Vec<HookCommand>>,
}

/// A target in messages about a change to several.
fn who(m: &Member, scope: Scope) -> String {
    match (scope, &m.peer) {
        (Scope::Relationship, Some(p)) => format!("HA peer {p}"),
        _ => format!("server {}", m.svc.server.name()),
    }
}

/// Sends the change to one target and writes it; on failure, the command that failed.
async fn send(svc: &Service, t: &Target) -> Result<(), (String, KeaError)> {
    match &t.plan {
        Some(plan) => {
            for c in plan {
                svc.command(&c.command, Some(c.arguments.clone()))
                    .await
                    .map_err(|e| (c.command.clone(), e))?;
            }
        }
        // Kea's config-test does not check every path (log files, lease files): the
        // config-set does, and keeps the running configuration when it refuses one.
        None => {
            svc.set(&t.prepared.new.value)
                .await
                .map_err(|e| ("config-set".to_string(), e))?;
        }
    }
    svc.write()
        .await
        .map(|_| ())
        .map_err(|e| ("config-write".to_string(), e))
}

/// The one undo: puts every target in `done` back to its own configuration (and writes
/// it), and the `failed` one too when it runs the change (`running`: its file was not
/// written); returns the error that says what happened on each — `partial` when a target
/// could not be put back.
async fn undo(
    targets: &[Target],
    done: &[usize],
    failed: usize,
    running: bool,
    cause: KeaError,
    scope: Scope,
) -> KeaError {
    if done.is_empty() && !running {
        // Nothing was changed anywhere.
        return cause;
    }
    let mut lines = Vec::new();
    let mut undo_error = None;
    for &i in done.iter().chain(running.then_some(&failed)) {
        let t = &targets[i];
        let svc = &t.member.svc;
        let r = async {
            svc.set(&t.prepared.base.value).await?;
            if i != failed {
                svc.write().await?;
            }
            Ok::<(), KeaError>(())
        }
        .await;
        let name = match scope {
            Scope::Everywhere => svc.server.name().to_string(),
            _ => t.member.name(),
        };
        match r {
            Ok(()) => lines.push(match scope {
                Scope::Everywhere => format!("{name}: changed, then put back"),
                _ => format!("{name} put back"),
            }),
            Err(e) => {
                lines.push(format!("{name} could NOT be put back: {}", e.message));
                undo_error = Some(e);
            }
        }
    }
    let all_back = undo_error.is_none();
    let kind = if all_back {
        cause.kind
    } else {
        ErrorKind::Partial
    };
    let failed_member = &targets[failed].member;
    let message = match scope {
        Scope::Single => match &undo_error {
            None => format!(
                "config-write failed ({}); the change was undone, the server runs its previous configuration",
                cause.message
            ),
            Some(u) => format!(
                "config-write failed ({}) and undoing the change failed too ({}): the server runs the new configuration, its file has the old one",
                cause.message, u.message
            ),
        },
        Scope::Everywhere => {
            lines.push(format!(
                "{}: failed: {}",
                failed_member.svc.server.name(),
                cause.message
            ));
            format!(
                "the change could not be made on every server, so it was made on none{}: {}",
                if all_back {
                    ""
                } else {
                    " (except where putting it back failed)"
                },
                lines.join("; ")
            )
        }
        Scope::Relationship => format!(
            "{} failed ({}); {}",
            who(failed_member, scope),
            cause.message,
            if all_back {
                format!(
                    "every peer runs its previous configuration again ({})",
                    lines.join(", ")
                )
            } else {
                format!("the peers differ now: {}", lines.join(", "))
            }
        ),
    };
    KeaError {
        kind,
        message,
        maybe_applied: false,
        ..cause
    }
}

/// The audit entries of a change made: one per edit, for the service it was made through
/// and its HA peers (named in `peers`), and for each other server a `global` change reached.
#[allow(clippy::too_many_arguments)]
fn audit_success(
    auditor: Option<&Auditor>,
    origin: &Service,
    edits: &[Edit],
    targets: &[Target],
    skipped: &[String],
    id: &str,
    resolutions: &[String],
    out: &mut Outcome,
) {
    let family = Family::of_service(&origin.name);
    // One representative per relationship (the origin where it is in it), and every
    // target outside one.
    let mut reps: Vec<usize> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        match t.member.group {
            None => reps.push(i),
            Some(g) => {
                let first = targets
                    .iter()
                    .position(|x| x.member.group == Some(g) && x.member.origin)
                    .or_else(|| targets.iter().position(|x| x.member.group == Some(g)));
                if first == Some(i) {
                    reps.push(i);
                }
            }
        }
    }
    for i in reps {
        let t = &targets[i];
        let group_changed = match t.member.group {
            None => t.prepared.changed(),
            Some(g) => targets
                .iter()
                .any(|x| x.member.group == Some(g) && x.prepared.changed()),
        };
        if !group_changed {
            continue;
        }
        let peers: Vec<String> = match t.member.group {
            None => Vec::new(),
            Some(g) => targets
                .iter()
                .enumerate()
                .filter(|(j, x)| *j != i && x.member.group == Some(g))
                .map(|(_, x)| x.member.name())
                .collect(),
        };
        let svc = &t.member.svc;
        for (edit, result) in edits.iter().zip(
            t.prepared
                .results
                .iter()
                .chain(std::iter::repeat(&Value::Null)),
        ) {
            let et = edit.target();
            let mut a = AuditEntry::new(
                svc.server.name(),
                Some(&svc.name),
                et.kind,
                &et.key,
                et.action,
            );
            let (b, af) = snapshot(
                edit,
                family,
                Some(&t.prepared.base),
                Some(&t.prepared.new),
                result,
            );
            a.before = b;
            a.after = af;
            a.id = Some(id.to_string());
            a.peers.clone_from(&peers);
            a.skipped = skipped.to_vec();
            if !resolutions.is_empty() {
                a.outcome = "unknown".into();
            }
            out.lines.push(line(&t.member, &peers, &et, id));
            if let Some(aud) = auditor {
                aud.append(a, &mut out.warnings);
            }
        }
    }
    if let Some(aud) = auditor {
        for found in resolutions {
            // The answer was lost, the target was read again: what was found and done.
            let mut a = AuditEntry::new(
                origin.server.name(),
                Some(&origin.name),
                "config",
                "in-flight",
                "resolve",
            );
            a.resolves = Some(id.to_string());
            a.error = Some(found.clone());
            aud.append(a, &mut out.warnings);
        }
    }
}

/// `lab/dhcp4: added subnet 10.50.0.0/24 (id …)`.
pub(super) fn line(m: &Member, peers: &[String], t: &EditTarget, id: &str) -> String {
    let verb = match t.action {
        "add" => "added",
        "update" => "updated",
        "delete" => "deleted",
        "assign" => "assigned",
        "unassign" => "unassigned",
        "apply" => "applied",
        other => other,
    };
    let with = if peers.is_empty() {
        String::new()
    } else {
        format!(" and HA peer {}", peers.join(", "))
    };
    let what = format!("{verb} {} {}", t.kind, t.key);
    format!("{}{with}: {} (id {id})", m.label(), what.trim())
}
