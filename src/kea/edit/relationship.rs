//! One change to an HA relationship: every peer gets it, each on its own configuration, or
//! none does (`spec/design.md` step 5).
//!
//! Order: read every peer's live configuration (a peer that is down refuses the change,
//! unless the caller allows the reachable peers only); check the peers agree on their
//! subnets; compute the change on each peer's own configuration (per-peer parts are never
//! copied); `config-test` on every peer; then `config-set` + `config-write` peer by peer. If a
//! peer fails, the peers already changed are put back from their snapshots; if that fails
//! too the error is `partial`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::journal::{self, InFlight, InFlightGuard};
use super::outcome::{Resolution, resolve};
use super::pipeline::{
    Prepared, RESOLVE_PATIENCE, hook_plan, lock_key, prepare, read_config, unchanged_since_read,
};
use super::{CommitOptions, CommitReport, Edit, ServerLock};
use crate::kea::config::{ConfigDoc, Family};
use crate::kea::{ErrorKind, KeaError, Service};

/// A peer of the relationship and how to reach it (`None`: not in the inventory).
#[derive(Debug, Clone)]
pub struct PeerTarget {
    /// The peer's name in the HA configuration.
    pub peer: String,
    pub service: Option<Service>,
}

/// What happened on each peer.
#[derive(Debug, Clone, Default)]
pub struct RelationshipReport {
    /// The report of the server the change was made through.
    pub origin: CommitReport,
    /// `(peer name, report)` for every other peer that got the change.
    pub peers: Vec<(String, CommitReport)>,
    /// Peers left out (down, or not in the inventory) under `single_peer`.
    pub skipped: Vec<String>,
}

struct Member {
    name: String,
    svc: Service,
    live: ConfigDoc,
    prepared: Option<Prepared>,
}

fn subnet_set(doc: &ConfigDoc) -> BTreeSet<(u64, String)> {
    doc.subnet_locs()
        .into_iter()
        .map(|l| {
            let s = doc.subnet(l);
            (
                s.get("id").and_then(Value::as_u64).unwrap_or(0),
                s.get("subnet")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// Differences between the peers' subnet sets, as lines (empty when they agree).
pub fn subnet_drift(docs: &[(String, ConfigDoc)]) -> Vec<String> {
    let Some((first_name, first)) = docs.first() else {
        return Vec::new();
    };
    let a = subnet_set(first);
    let mut out = Vec::new();
    for (name, d) in &docs[1..] {
        let b = subnet_set(d);
        for (id, prefix) in a.difference(&b) {
            out.push(format!(
                "{name} lacks subnet {prefix} (id {id}) that {first_name} has"
            ));
        }
        for (id, prefix) in b.difference(&a) {
            out.push(format!(
                "{first_name} lacks subnet {prefix} (id {id}) that {name} has"
            ));
        }
    }
    out
}

/// Commits `edits` on `origin` and every peer in `others`.
pub async fn commit_relationship(
    origin: &Service,
    origin_peer_name: &str,
    others: &[PeerTarget],
    edits: &[Edit],
    opts: &CommitOptions,
    single_peer: bool,
) -> Result<RelationshipReport, KeaError> {
    let family = Family::of_service(&origin.name);
    let ctx = |e: KeaError, svc: &Service| {
        e.with_server(svc.server.name())
            .with_service(Some(&svc.name))
    };
    for e in edits {
        e.precheck(family).map_err(|e| ctx(e, origin))?;
    }
    // Locks in a fixed order, so two keascripts changing the same pair cannot deadlock.
    let mut lock_names: Vec<String> = std::iter::once(origin)
        .chain(others.iter().filter_map(|p| p.service.as_ref()))
        .map(|s| format!("{}-{}", s.server.url(), s.name))
        .collect();
    lock_names.sort();
    lock_names.dedup();
    let mut _locks = Vec::new();
    if !opts.dry_run {
        for n in &lock_names {
            _locks.push(
                ServerLock::acquire(n, Duration::from_secs(60))
                    .await
                    .map_err(|e| ctx(e, origin))?,
            );
        }
    }
    // Every peer's live configuration, concurrently.
    let mut report = RelationshipReport::default();
    let origin_live = read_config(origin).await?;
    let reads = others.iter().map(|p| async move {
        match &p.service {
            None => (p, Err(None)),
            Some(svc) => (p, read_config(svc).await.map_err(Some)),
        }
    });
    let mut members = vec![Member {
        name: origin_peer_name.to_string(),
        svc: origin.clone(),
        live: origin_live,
        prepared: None,
    }];
    for (p, r) in futures::future::join_all(reads).await {
        match r {
            Ok(live) => members.push(Member {
                name: p.peer.clone(),
                svc: p.service.clone().expect("read only with a service"),
                live,
                prepared: None,
            }),
            Err(e) => {
                let why = match &e {
                    None => "it is not in the inventory (add it, or name the pair in an [ha.NAME] entry)".to_string(),
                    Some(e) if e.kind == ErrorKind::Transport => format!("it is down: {}", e.message),
                    Some(e) => e.message.clone(),
                };
                if single_peer && e.as_ref().is_none_or(|e| e.kind == ErrorKind::Transport) {
                    tracing::warn!(peer = %p.peer, "HA peer skipped (single_peer): {why}");
                    report.skipped.push(p.peer.clone());
                    continue;
                }
                let kind = e.as_ref().map_or(ErrorKind::Conflict, |e| e.kind);
                return Err(ctx(
                    KeaError::new(
                        kind,
                        format!(
                            "HA peer {} cannot get the change: {why}. Nothing was changed on any peer (single_peer(true) or --single-peer changes the reachable peers only)",
                            p.peer
                        ),
                    ),
                    origin,
                ));
            }
        }
    }
    // The peers must agree on their subnets before the same change goes to each.
    let docs: Vec<(String, ConfigDoc)> = members
        .iter()
        .map(|m| (m.name.clone(), m.live.clone()))
        .collect();
    let drift = subnet_drift(&docs);
    if !drift.is_empty() {
        return Err(ctx(
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
    // A new subnet gets the same id on every peer.
    let min_id = members
        .iter()
        .map(|m| m.live.max_subnet_id())
        .max()
        .unwrap_or(0)
        + 1;
    let min_id = min_id.max(opts.min_subnet_id);
    for (i, m) in members.iter_mut().enumerate() {
        // Each peer gets the change in its own Kea's spelling (peers may run different
        // versions during an upgrade).
        let version = m.svc.kea_version_cached().await?;
        m.prepared =
            Some(prepare(&m.live, version, edits, min_id, i > 0).map_err(|e| ctx(e, &m.svc))?);
    }
    let changed: Vec<bool> = members
        .iter()
        .map(|m| {
            let p = m.prepared.as_ref().expect("prepared");
            p.new.value != p.base.value
        })
        .collect();
    let make_report = |m: &Member, changed: bool| {
        let p = m.prepared.as_ref().expect("prepared");
        CommitReport {
            changed,
            dry_run: opts.dry_run,
            diff: if changed {
                super::pipeline::shown_diff(
                    &p.base,
                    &p.new,
                    &format!("{}/{}", m.svc.server.name(), m.svc.name),
                )
            } else {
                String::new()
            },
            commands: if changed {
                vec![
                    format!("config-set ({}, whole configuration)", m.svc.name),
                    format!("config-write ({})", m.svc.name),
                ]
            } else {
                Vec::new()
            },
            results: p.results.clone(),
            verdict: None,
            before: Some(p.base.value.clone()),
            after: Some(p.new.value.clone()),
            ..Default::default()
        }
    };
    let mut reports: Vec<CommitReport> = members
        .iter()
        .zip(&changed)
        .map(|(m, c)| make_report(m, *c))
        .collect();
    // The hook path when every peer that changes has the hook command for this change;
    // otherwise config-set everywhere (the peers change the same way).
    let mut plans = Vec::with_capacity(members.len());
    for (m, c) in members.iter().zip(&changed) {
        let p = m.prepared.as_ref().expect("prepared");
        plans.push(if *c {
            hook_plan(&m.svc, edits, &p.base, &p.new, &p.results).await?
        } else {
            None
        });
    }
    let all_hooks = changed
        .iter()
        .zip(&plans)
        .all(|(c, plan)| !*c || plan.is_some());
    if !all_hooks {
        plans.iter_mut().for_each(|p| *p = None);
    }
    for ((m, r), plan) in members.iter().zip(reports.iter_mut()).zip(&plans) {
        if let Some(plan) = plan {
            r.commands = plan
                .iter()
                .map(|c| format!("{} ({}) {}", c.command, m.svc.name, c.arguments))
                .chain(std::iter::once(format!("config-write ({})", m.svc.name)))
                .collect();
        }
    }
    // Kea's verdict on every peer before any is changed.
    if !(opts.dry_run && opts.skip_test) {
        for ((m, c), r) in members.iter().zip(&changed).zip(reports.iter_mut()) {
            if *c {
                let p = m.prepared.as_ref().expect("prepared");
                r.verdict = Some(m.svc.test(&p.new.value).await.map_err(|e| KeaError {
                    message: format!(
                        "HA peer {} rejects the change, so no peer was changed: {}",
                        m.name, e.message
                    ),
                    ..e
                })?);
            }
        }
    }
    if !opts.dry_run {
        // From the first mutating command on, each peer's change is in the journal and
        // counted in flight (a cancelled script waits for it to be written or undone).
        let _in_flight = InFlightGuard::new();
        let mut done: Vec<usize> = Vec::new();
        // One change id for every peer: each peer's snapshot is found by it.
        let change_id = journal::new_id();
        for (i, m) in members.iter().enumerate() {
            if !changed[i] {
                continue;
            }
            let p = m.prepared.as_ref().expect("prepared");
            let key = lock_key(&m.svc);
            reports[i].change_id = Some(change_id.clone());
            let entry = InFlight {
                snapshot: crate::kea::snapshots::take(&m.svc, &m.live.value, &change_id).await,
                id: change_id.clone(),
                time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                server: m.svc.server.name().to_string(),
                service: m.svc.name.clone(),
                phase: "sent".into(),
                before: m.live.value.clone(),
                after: p.new.value.clone(),
            };
            journal::record(&key, &entry)?;
            // A peer that cannot write its file would be undone at config-write.
            if let Err(e) = crate::kea::doctor::check_persistable(&m.svc).await {
                journal::clear(&key);
                return Err(undo(&members, &done, i, false, &e).await);
            }
            // Another writer since this peer was read: stop here, put back those done.
            if let Err(e) = unchanged_since_read(&m.svc, &m.live, None).await {
                journal::clear(&key);
                return Err(undo(&members, &done, i, false, &e).await);
            }
            let plan = &plans[i];
            let step = async {
                match plan {
                    Some(plan) => {
                        for c in plan {
                            m.svc.command(&c.command, Some(c.arguments.clone())).await?;
                        }
                    }
                    None => {
                        m.svc.set(&p.new.value).await?;
                    }
                }
                m.svc.write().await?;
                Ok::<(), KeaError>(())
            };
            match step.await {
                Ok(()) => journal::clear(&key),
                Err(e) if e.maybe_applied => {
                    // No answer: read the peer again before deciding.
                    match resolve(&m.svc, &key, &entry, RESOLVE_PATIENCE).await {
                        Resolution::Completed => {
                            tracing::warn!(peer = %m.name, "the answer was lost, but the peer runs and has written the change");
                        }
                        Resolution::Reverted => {
                            return Err(undo(&members, &done, i, true, &e).await);
                        }
                        found => {
                            return Err(KeaError {
                                kind: ErrorKind::Partial,
                                message: format!(
                                    "HA peer {}: the outcome of the change was unknown ({}); {}; the peers already changed were left as they are: {}",
                                    m.name,
                                    e.message,
                                    found.describe(),
                                    done.iter()
                                        .map(|d| members[*d].name.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                                maybe_applied: false,
                                ..e
                            });
                        }
                    }
                }
                Err(e) => {
                    journal::clear(&key);
                    return Err(undo(&members, &done, i, true, &e).await);
                }
            }
            done.push(i);
        }
    }
    let mut it = members.iter().zip(reports.drain(..));
    report.origin = it.next().map(|(_, r)| r).unwrap_or_default();
    report.peers = it.map(|(m, r)| (m.name.clone(), r)).collect();
    Ok(report)
}

/// Puts every peer already changed back to its snapshot, and the failed peer too when
/// something was sent to it (`touched`).
async fn undo(
    members: &[Member],
    done: &[usize],
    failed: usize,
    touched: bool,
    cause: &KeaError,
) -> KeaError {
    let mut lines = Vec::new();
    let mut all_back = true;
    let failed_too = touched.then_some(&failed);
    for &i in done.iter().chain(failed_too) {
        let m = &members[i];
        let base = &m.prepared.as_ref().expect("prepared").base.value;
        let r = async {
            m.svc.set(base).await?;
            if i != failed {
                m.svc.write().await?;
            }
            Ok::<(), KeaError>(())
        }
        .await;
        match r {
            Ok(()) => lines.push(format!("{} put back", m.name)),
            Err(e) => {
                all_back = false;
                lines.push(format!("{} could NOT be put back: {}", m.name, e.message));
            }
        }
    }
    let failed_name = &members[failed].name;
    KeaError {
        kind: if all_back {
            cause.kind
        } else {
            ErrorKind::Partial
        },
        message: format!(
            "HA peer {failed_name} failed ({}); {}",
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
        ..cause.clone()
    }
}
