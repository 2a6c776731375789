//! The execute loop's branch for reservations kept in a hosts database (`hosts-database`,
//! changed through `host_cmds`): the targets are locked, settled and read by the loop as for
//! any change; then, instead of a new configuration, each distinct database gets
//! `reservation-add`/`-update`/`-del` commands:
//!
//! 1. HA peers that name the same database (type, host, port, name: [`hosts::database_identity`])
//!    share it: the commands are sent once per distinct database, through the first peer
//!    that uses it (the service the change was made through first);
//! 2. each database's commands are checked against what it holds ([`hosts::plan`]);
//! 3. a dry run records the step (the commands) in the plan and stops;
//! 4. the journal records the commands with each host before and after (phase `sent`),
//!    then they are sent in order. A lost answer is settled by reading the host back; a
//!    refusal puts back every command already made (their inverses, newest first), so the
//!    change is made in every database or in none;
//! 5. the record moves to `written`; the audit trail gets one entry per edit, with the
//!    host before and after (an import: the lists of hosts it changed) — what `undo`
//!    puts back.
//!
//! No configuration snapshot is taken: the configuration does not change.

use serde_json::Value;

use super::execute::{Auditor, Outcome, TargetReport, line};
use super::journal::{self, EntryRef, HostStep, InFlightGuard, Phase, TargetRef};
use super::outcome::Resolution;
use super::plan::{Stage, Step};
use super::targets::Member;
use super::{Edit, Options};
use crate::kea::audit::AuditEntry;
use crate::kea::config::ConfigDoc;
use crate::kea::estate::Estate;
use crate::kea::hosts::{self, HostChange, HostState};
use crate::kea::{ErrorKind, KeaError, Service};

/// Whether the change goes to a hosts database: it changes reservations, and the service
/// it is made through keeps them in one and has host_cmds. A transaction that mixes them
/// with configuration changes is refused (it would be two changes, not one).
pub(super) async fn applies(
    members: &[(Member, ConfigDoc)],
    edits: &[Edit],
) -> Result<bool, KeaError> {
    if !edits.iter().any(hosts::is_reservation_edit) {
        return Ok(false);
    }
    let Some((m, doc)) = members.iter().find(|(m, _)| m.origin) else {
        return Ok(false);
    };
    if !hosts::has_hosts_database(doc) {
        return Ok(false);
    }
    let caps = m.svc.capabilities_cached().await?;
    if hosts::target(doc, &caps) != "database" {
        return Ok(false);
    }
    if !edits.iter().all(hosts::is_reservation_edit) {
        return Err(KeaError::invalid(format!(
            "{} keeps its reservations in a hosts database: change them on their own, not in one transaction with configuration changes",
            m.label()
        ))
        .with_server(m.svc.server.name())
        .with_service(Some(&m.svc.name)));
    }
    Ok(true)
}

/// What the loop hands over.
pub(super) struct Run<'a> {
    pub origin: &'a Service,
    pub edits: &'a [Edit],
    pub options: Options,
    pub stage: Option<&'a Stage>,
    pub auditor: Option<&'a Auditor>,
}

/// One distinct database: the member it is reached through, and its commands per edit.
struct Db {
    member: usize,
    /// Per edit: its commands and its result.
    planned: Vec<(Vec<HostChange>, Value)>,
    /// The other members that share this database.
    sharing: Vec<usize>,
}

impl Db {
    fn changes(&self) -> impl Iterator<Item = &HostChange> {
        self.planned.iter().flat_map(|(c, _)| c)
    }
}

fn context(e: KeaError, svc: &Service) -> KeaError {
    e.with_server(svc.server.name())
        .with_service(Some(&svc.name))
}

/// The commands as people read them; a long list (an import) is counted.
fn shown(svc: &Service, changes: &[&HostChange]) -> Vec<String> {
    if changes.len() <= 10 {
        return changes
            .iter()
            .map(|c| super::checks::command_line(svc, &c.command, &c.arguments))
            .collect();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for c in changes {
        match counts.iter_mut().find(|(n, _)| *n == c.command) {
            Some((_, k)) => *k += 1,
            None => counts.push((c.command.clone(), 1)),
        }
    }
    counts
        .into_iter()
        .map(|(n, k)| format!("{k} × {n} ({})", svc.name))
        .collect()
}

/// Runs a reservation change against the hosts database(s) of the gathered targets.
pub(super) async fn run(
    r: Run<'_>,
    members: Vec<(Member, ConfigDoc)>,
    mut out: Outcome,
    sent: &mut bool,
) -> Result<Outcome, KeaError> {
    // 1. One target per distinct database.
    let mut dbs: Vec<(Vec<String>, Db)> = Vec::new();
    let origin_first: Vec<usize> = {
        let mut v: Vec<usize> = (0..members.len()).collect();
        v.sort_by_key(|i| !members[*i].0.origin);
        v
    };
    for i in origin_first {
        let (m, doc) = &members[i];
        if !hosts::has_hosts_database(doc) {
            return Err(context(
                KeaError::new(
                    ErrorKind::Conflict,
                    format!(
                        "{} keeps its reservations in its configuration, its HA peers in a hosts database: nothing was changed (give every peer the hosts database)",
                        m.name()
                    ),
                ),
                r.origin,
            ));
        }
        let id = hosts::database_identity(doc);
        if let Some((_, db)) = dbs.iter_mut().find(|(k, _)| *k == id) {
            db.sharing.push(i);
            continue;
        }
        let caps = m.svc.capabilities_cached().await?;
        if !caps.host_cmds {
            return Err(context(
                KeaError::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{} has its own hosts database but no host_cmds hook: nothing was changed",
                        m.name()
                    ),
                ),
                r.origin,
            ));
        }
        dbs.push((
            id,
            Db {
                member: i,
                planned: Vec::new(),
                sharing: Vec::new(),
            },
        ));
    }
    // 2. Each database's commands, checked against what it holds.
    for (_, db) in &mut dbs {
        let (m, doc) = &members[db.member];
        for e in r.edits {
            let p = hosts::plan(&m.svc, doc, e)
                .await
                .map_err(|e| context(e, &m.svc))?
                .ok_or_else(|| KeaError::invalid("not a reservation change"))?;
            db.planned.push(p);
        }
    }
    let origin_db = dbs
        .iter()
        .position(|(_, d)| members[d.member].0.origin)
        .unwrap_or(0);
    out.results = dbs[origin_db]
        .1
        .planned
        .iter()
        .map(|(_, v)| v.clone())
        .collect();
    out.changed = dbs.iter().any(|(_, d)| d.changes().next().is_some());
    out.targets = members
        .iter()
        .enumerate()
        .map(|(i, (m, _))| {
            let db = dbs.iter().find(|(_, d)| d.member == i).map(|(_, d)| d);
            let changes: Vec<&HostChange> = db.map(|d| d.changes().collect()).unwrap_or_default();
            TargetReport {
                label: m.label(),
                peer: m.peer.clone(),
                changed: !changes.is_empty(),
                commands: shown(&m.svc, &changes),
                verdict: None,
                diff: String::new(),
            }
        })
        .collect();
    // 3. A dry run: the commands are the step; nothing is sent.
    if out.dry_run {
        if let Some(stage) = r.stage.filter(|_| !r.options.preview) {
            for (_, db) in &dbs {
                let (m, doc) = &members[db.member];
                let commands: Vec<&HostChange> = db.changes().collect();
                stage.record(
                    &m.daemon,
                    &m.label(),
                    doc.clone(),
                    doc.clone(),
                    Step::of(r.edits, shown(&m.svc, &commands)),
                    None,
                );
            }
        }
        return Ok(out);
    }
    if !out.changed {
        return Ok(out);
    }
    // 4. The journal, then the commands in order.
    let urls: Vec<String> = members
        .iter()
        .map(|(m, _)| m.svc.server.service_url(&m.svc.name))
        .collect();
    let steps: Vec<HostStep> = dbs
        .iter()
        .flat_map(|(_, d)| {
            d.changes().map(|c| HostStep {
                target: d.member,
                change: c.clone(),
            })
        })
        .collect();
    let id = journal::new_id();
    let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let entry = |phase: Phase, hosts: &'_ [HostStep]| -> Result<(), KeaError> {
        journal::record(&EntryRef {
            id: &id,
            time: &time,
            snapshot: None,
            phase,
            targets: members
                .iter()
                .zip(&urls)
                .map(|((m, _), url)| TargetRef {
                    daemon: m.daemon.as_str(),
                    url,
                    server: m.svc.server.name(),
                    service: &m.svc.name,
                    before: None,
                    before_snapshot: None,
                    after: None,
                })
                .collect(),
            hosts,
        })
    };
    entry(Phase::Sent, &steps).map_err(|e| context(e, r.origin))?;
    out.id = Some(id.clone());
    let _in_flight = InFlightGuard::new();
    let mut done: Vec<&HostStep> = Vec::new();
    for step in &steps {
        let svc = &members[step.target].0.svc;
        *sent = true;
        let Err(e) = hosts::send(svc, &step.change).await else {
            done.push(step);
            continue;
        };
        let e = context(e, svc).with_command(&step.change.command);
        if e.maybe_applied {
            // No answer: the database says whether it was made.
            match hosts::state(svc, &step.change).await {
                Ok(HostState::After) => {
                    out.warnings.push(format!(
                        "the outcome of {} was unknown ({}); the hosts database has the change",
                        step.change.command, e.message
                    ));
                    done.push(step);
                    continue;
                }
                Ok(HostState::Before) => {}
                Ok(HostState::Neither) | Err(_) => {
                    return Err(KeaError {
                        kind: ErrorKind::Partial,
                        message: format!(
                            "the outcome of {} was unknown ({}); the hosts database has neither the reservation before nor after it: the record (id {id}) stays for the next change to settle, look at the database",
                            step.change.command, e.message
                        ),
                        maybe_applied: false,
                        ..e
                    });
                }
            }
        }
        journal::forget(&id);
        return Err(put_back(&members, &done, e).await);
    }
    // 5. Made everywhere: the record moves on, the audit trail gets the change.
    if let Err(e) = entry(Phase::Written, &[]) {
        out.warnings.push(e.message);
    }
    let (m, _) = &members[dbs[origin_db].1.member];
    let peers: Vec<String> = members
        .iter()
        .filter(|(x, _)| x.daemon != m.daemon)
        .map(|(x, _)| x.name())
        .collect();
    for (edit, (changes, _)) in r.edits.iter().zip(&dbs[origin_db].1.planned) {
        if changes.is_empty() {
            continue;
        }
        let t = edit.target();
        let mut a = AuditEntry::new(
            m.svc.server.name(),
            Some(&m.svc.name),
            t.kind,
            &t.key,
            t.action,
        );
        (a.before, a.after) = audited(edit, changes);
        a.id = Some(id.clone());
        a.peers.clone_from(&peers);
        a.skipped.clone_from(&out.skipped);
        out.lines.push(line(m, &peers, &t, &id));
        if let Some(aud) = r.auditor {
            aud.append(a, &mut out.warnings);
        }
    }
    Ok(out)
}

/// What the audit trail keeps of an edit: the host before and after; for an import, the
/// hosts it changed, each list in the same order (what undo puts back, pair by pair).
fn audited(edit: &Edit, changes: &[HostChange]) -> (Value, Value) {
    if matches!(edit, Edit::ImportReservations { .. }) {
        return (
            Value::Array(changes.iter().map(|c| c.before.clone()).collect()),
            Value::Array(changes.iter().map(|c| c.after.clone()).collect()),
        );
    }
    let before = changes
        .iter()
        .map(|c| &c.before)
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null);
    let after = changes
        .iter()
        .rev()
        .map(|c| &c.after)
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null);
    (before, after)
}

/// After a refusal: the commands already made are undone (their inverses, newest first);
/// the error says what happened.
async fn put_back(
    members: &[(Member, ConfigDoc)],
    done: &[&HostStep],
    cause: KeaError,
) -> KeaError {
    if done.is_empty() {
        return cause;
    }
    let mut failed = Vec::new();
    for step in done.iter().rev() {
        let svc = &members[step.target].0.svc;
        for c in hosts::inverse(std::slice::from_ref(&step.change)) {
            if let Err(e) = hosts::send(svc, &c).await {
                failed.push(format!(
                    "{} on {}: {}",
                    c.command,
                    members[step.target].0.name(),
                    e.message
                ));
            }
        }
    }
    if failed.is_empty() {
        KeaError {
            message: format!(
                "{}; the {} command(s) already made were undone, the hosts database is as before",
                cause.message,
                done.len()
            ),
            ..cause
        }
    } else {
        KeaError {
            kind: ErrorKind::Partial,
            message: format!(
                "{}; undoing the commands already made failed too ({}): look at the hosts database",
                cause.message,
                failed.join("; ")
            ),
            ..cause
        }
    }
}

/// Settles a hosts-database change an earlier keascript left in flight: every command's
/// host is read back; all made → `Completed` (the record moves to `written`); some made →
/// those are undone (`Reverted`); a host that is neither → `Neither` (someone else changed
/// it; nothing touched).
pub(super) async fn settle(estate: &Estate, entry: &journal::Entry) -> Resolution {
    let mut found = Vec::with_capacity(entry.hosts.len());
    for step in &entry.hosts {
        let Some(t) = entry.targets.get(step.target) else {
            return Resolution::Unreachable("the record names no target".into());
        };
        let Some(svc) = estate.find(&t.server, &t.service, &t.url) else {
            return Resolution::Unreachable(format!(
                "{}/{} at {} is not in the inventory",
                t.server, t.service, t.url
            ));
        };
        match hosts::state(&svc, &step.change).await {
            Ok(s) => found.push((svc, step, s)),
            Err(e) => return Resolution::Unreachable(format!("{}: {}", t.server, e.message)),
        }
    }
    if found.iter().any(|(_, _, s)| *s == HostState::Neither) {
        journal::forget(&entry.id);
        return Resolution::Neither;
    }
    if found.iter().all(|(_, _, s)| *s == HostState::After) {
        let _ = journal::written(&entry.id);
        return Resolution::Completed;
    }
    for (svc, step, s) in found.iter().rev() {
        if *s == HostState::After {
            for c in hosts::inverse(std::slice::from_ref(&step.change)) {
                if let Err(e) = hosts::send(svc, &c).await {
                    return Resolution::Unreachable(format!(
                        "{}: {}",
                        svc.server.name(),
                        e.message
                    ));
                }
            }
        }
    }
    journal::forget(&entry.id);
    Resolution::Reverted
}
