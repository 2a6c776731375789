//! Who gets a change (the first part of the execute loop): the service it was made through;
//! every peer of its HA relationship; for a `global` class, the same service on every server
//! of the inventory, each with the peers of its own relationship. Each daemon is a target
//! once, however many inventory names reach it (`lab` and `lab-unix`), and each is locked,
//! settled (a change an earlier keascript left in flight) and read before anything is
//! computed.
//!
//! Locks are taken in the order of the daemons' identities, so two keascripts changing
//! overlapping sets of daemons cannot deadlock: a daemon found later (a peer, found by
//! reading the first one) that sorts before one already held is only tried; if somebody
//! holds it, every lock is let go and the whole set is taken again in order, and read again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::journal;
use super::lock::ServerLock;
use super::outcome::{self, Resolution};
use super::plan::Stage;
use super::{Edit, checks::ReadMark};
use crate::kea::config::{ConfigDoc, Family};
use crate::kea::estate::Estate;
use crate::kea::ha::{self, HaTopology};
use crate::kea::identity::{DaemonId, daemon_id};
use crate::kea::{ErrorKind, KeaError, KeaVersion, Service};

/// How long a change whose answer was lost waits for the server to answer again.
pub(super) const RESOLVE_PATIENCE: Duration = Duration::from_secs(15);

/// How long a change waits for another keascript's lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// How the change reaches beyond the service it was made through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// That service alone.
    Single,
    /// Every peer of its HA relationship.
    Relationship,
    /// Every server of the inventory (a `global` class), with their HA peers.
    Everywhere,
}

/// One daemon the change goes to, as read.
#[derive(Debug)]
pub struct Member {
    pub svc: Service,
    pub daemon: DaemonId,
    /// The service the change was made through.
    pub origin: bool,
    /// Its name in its HA relationship (`this-server-name`).
    pub peer: Option<String>,
    /// Its HA relationship (an index into [`Gathered::groups`]).
    pub group: Option<usize>,
    pub version: KeaVersion,
    pub hash: Option<String>,
    pub digest: u64,
    pub staged: bool,
}

impl Member {
    /// `server/service`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.svc.server.name(), self.svc.name)
    }

    /// Its name in messages: its HA name where it has one.
    pub fn name(&self) -> String {
        self.peer
            .clone()
            .unwrap_or_else(|| self.svc.server.name().to_string())
    }

    /// What tells, right before sending, whether it is still as read.
    pub fn mark(&self) -> ReadMark<'_> {
        match (&self.hash, self.staged) {
            (_, true) => ReadMark::Staged,
            (Some(h), false) => ReadMark::Hash(h),
            (None, false) => ReadMark::Digest(self.digest),
        }
    }
}

/// An HA relationship among the targets.
#[derive(Debug, Default)]
pub struct Group {
    /// Its peers as its configuration names them (name, url), sorted: the same on each.
    key: Vec<(String, String)>,
}

/// Everything gathered before the change is computed.
#[derive(Debug)]
pub struct Gathered {
    /// Each target, with its configuration as read (or staged, in a dry run).
    pub members: Vec<(Member, ConfigDoc)>,
    pub groups: usize,
    pub scope: Scope,
    /// Peers left out under `single_peer`.
    pub skipped: Vec<String>,
    /// Changes left in flight by an earlier keascript and settled first: id, what was found.
    pub settled: Vec<(String, String)>,
    /// Held until the change is written (or undone).
    pub locks: Locks,
}

/// The locks held, by daemon; none in a dry run.
#[derive(Default)]
pub struct Locks {
    held: BTreeMap<String, ServerLock>,
}

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.held.keys()).finish()
    }
}

/// Why gathering has to start again (or failed).
enum Stop {
    /// A lock out of order was held by somebody: take all of these in order and start again.
    Again(BTreeSet<String>),
    Fail(KeaError),
}

impl From<KeaError> for Stop {
    fn from(e: KeaError) -> Self {
        Stop::Fail(e)
    }
}

impl Locks {
    /// Takes the locks of `ids` in order, waiting for each.
    async fn all(ids: &BTreeSet<String>) -> Result<Self, KeaError> {
        let mut l = Locks::default();
        for id in ids {
            l.held
                .insert(id.clone(), ServerLock::acquire(id, LOCK_WAIT).await?);
        }
        Ok(l)
    }

    /// Takes the locks of `ids` too: waiting for those that sort after every lock held,
    /// trying the others.
    async fn more(&mut self, ids: &[&str]) -> Result<(), Stop> {
        let mut ids: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|i| !self.held.contains_key(*i))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let in_order = self
                .held
                .keys()
                .next_back()
                .is_none_or(|last| id > last.as_str());
            let lock = if in_order {
                ServerLock::acquire(id, LOCK_WAIT).await?
            } else {
                match ServerLock::try_acquire(id)? {
                    Some(l) => l,
                    None => {
                        let mut all: BTreeSet<String> = self.held.keys().cloned().collect();
                        all.insert(id.to_string());
                        return Err(Stop::Again(all));
                    }
                }
            };
            self.held.insert(id.to_string(), lock);
        }
        Ok(())
    }
}

/// A class change that goes to every server: a class marked `global` (in the change, or, for
/// a change or deletion, on the server that was read).
pub fn is_global_class_edit(edits: &[Edit], doc: &ConfigDoc) -> bool {
    let marked = |m: &serde_json::Map<String, Value>| {
        m.get("global").and_then(Value::as_bool).unwrap_or(false)
            || m.get("user-context")
                .and_then(|c| c.get("global"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
    };
    let mut existing = Vec::new();
    for e in edits {
        match e {
            Edit::AddClass(m) if marked(m) => return true,
            Edit::UpdateClass(n, m) => {
                if marked(m) {
                    return true;
                }
                existing.push(n.as_str());
            }
            Edit::DeleteClass(n) => existing.push(n.as_str()),
            _ => {}
        }
    }
    !existing.is_empty()
        && doc.root_array("client-classes").iter().any(|c| {
            c.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| existing.contains(&n))
                && c.get("user-context")
                    .and_then(|u| u.get("global"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
        })
}

/// A service to read, and how it was reached.
#[derive(Clone)]
struct Want {
    svc: Service,
    origin: bool,
    /// Reached as this HA peer of a relationship already read.
    peer: Option<String>,
}

/// What gathering needs to know.
pub struct Ask<'a> {
    pub estate: &'a Estate,
    pub origin: &'a Service,
    pub edits: &'a [Edit],
    pub dry_run: bool,
    /// Only the service itself (`tx.diff()`).
    pub alone: bool,
    pub single_peer: bool,
    pub stage: Option<&'a Stage>,
}

/// Finds, locks, settles and reads every target of the change.
pub async fn gather(ask: &Ask<'_>) -> Result<Gathered, KeaError> {
    let origin_id = daemon_id(ask.origin).await;
    // The daemons of changes left in flight on the origin are settled with it.
    let mut first: BTreeSet<String> = BTreeSet::new();
    if !ask.dry_run {
        first.insert(origin_id.as_str().to_string());
        for e in journal::pending(&origin_id) {
            first.extend(e.targets.iter().map(|t| t.daemon.clone()));
        }
    }
    let lock_err = |e: KeaError| {
        e.with_server(ask.origin.server.name())
            .with_service(Some(&ask.origin.name))
    };
    for _ in 0..3 {
        let locks = Locks::all(&first).await.map_err(lock_err)?;
        match gather_once(ask, locks).await {
            Ok(g) => return Ok(g),
            Err(Stop::Again(ids)) => first = ids,
            Err(Stop::Fail(e)) => return Err(e),
        }
    }
    Err(lock_err(KeaError::new(
        ErrorKind::Conflict,
        "other keascripts kept changing the same servers; nothing was changed, try again",
    )))
}

async fn gather_once(ask: &Ask<'_>, mut locks: Locks) -> Result<Gathered, Stop> {
    let mut members: Vec<(Member, ConfigDoc)> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut settled = Vec::new();
    let mut scope = Scope::Single;
    let mut queue = vec![Want {
        svc: ask.origin.clone(),
        origin: true,
        peer: None,
    }];
    // Peers a relationship names that reach no server: (peer, why).
    let mut missing: Vec<(String, String)> = Vec::new();
    while !queue.is_empty() {
        let batch = std::mem::take(&mut queue);
        let ids = futures::future::join_all(batch.iter().map(|w| daemon_id(&w.svc))).await;
        let mut fresh: Vec<(Want, DaemonId)> = Vec::new();
        for (w, id) in batch.into_iter().zip(ids) {
            if members.iter().any(|(m, _)| m.daemon == id) || fresh.iter().any(|(_, i)| *i == id) {
                // Another name of a daemon already a target: changed once.
                continue;
            }
            fresh.push((w, id));
        }
        if !ask.dry_run {
            let ids: Vec<&str> = fresh.iter().map(|(_, i)| i.as_str()).collect();
            locks.more(&ids).await?;
            for (w, id) in &fresh {
                for entry in journal::pending(id) {
                    let others: Vec<&str> =
                        entry.targets.iter().map(|t| t.daemon.as_str()).collect();
                    locks.more(&others).await?;
                    let found = outcome::settle(ask.estate, &entry, RESOLVE_PATIENCE).await;
                    match found {
                        Resolution::Completed | Resolution::Reverted => {
                            settled.push((entry.id.clone(), found.describe()));
                        }
                        _ => {
                            return Err(Stop::Fail(
                                KeaError::new(
                                    if matches!(found, Resolution::Conflict(_)) {
                                        ErrorKind::Conflict
                                    } else {
                                        ErrorKind::Partial
                                    },
                                    format!(
                                        "an earlier change (id {}, {}, to {}) has an unknown outcome: {}; nothing was changed now",
                                        entry.id,
                                        entry.time,
                                        entry.names(),
                                        found.describe()
                                    ),
                                )
                                .with_server(w.svc.server.name())
                                .with_service(Some(&w.svc.name)),
                            ));
                        }
                    }
                }
            }
        }
        let reads = futures::future::join_all(
            fresh
                .iter()
                .map(|(w, id)| read(&w.svc, id, ask.stage.filter(|_| ask.dry_run))),
        )
        .await;
        for ((w, id), r) in fresh.into_iter().zip(reads) {
            let (doc, hash, digest, version, staged) = match r {
                Ok(x) => x,
                Err(e) => {
                    if w.origin {
                        return Err(Stop::Fail(e));
                    }
                    if let Some(peer) = &w.peer {
                        let why = if e.kind == ErrorKind::Transport {
                            format!("it is down: {}", e.message)
                        } else {
                            e.message.clone()
                        };
                        if ask.single_peer && e.kind == ErrorKind::Transport {
                            tracing::debug!(peer = %peer, "HA peer skipped (single_peer): {why}");
                            skipped.push(peer.clone());
                            continue;
                        }
                        return Err(Stop::Fail(peer_refuses(ask.origin, peer, &why, e.kind)));
                    }
                    return Err(Stop::Fail(everywhere_refuses(ask.origin, &w.svc, &e)));
                }
            };
            let topo = ha::topology(&doc);
            w.svc.remember_ha_topology(topo.clone());
            let mut m = Member {
                svc: w.svc.clone(),
                daemon: id,
                origin: w.origin,
                peer: w.peer.clone(),
                group: None,
                version,
                hash,
                digest,
                staged,
            };
            if ask.alone {
                members.push((m, doc));
                continue;
            }
            if w.origin && is_global_class_edit(ask.edits, &doc) {
                scope = Scope::Everywhere;
                queue.extend(
                    ask.estate
                        .everywhere(&w.svc)?
                        .into_iter()
                        .skip(1)
                        .map(|svc| Want {
                            svc,
                            origin: false,
                            peer: None,
                        }),
                );
            }
            if let Some(t) = topo.filter(|t| t.partners().count() > 0) {
                if scope == Scope::Single {
                    scope = Scope::Relationship;
                }
                let key = group_key(&t);
                let g = match groups.iter().position(|g| g.key == key) {
                    Some(g) => g,
                    None => {
                        groups.push(Group { key });
                        groups.len() - 1
                    }
                };
                m.group = Some(g);
                m.peer = Some(t.this_server.clone());
                for p in ask.estate.peers(&w.svc, &t) {
                    // A peer read already; one queued twice is one daemon, read once.
                    let known = members
                        .iter()
                        .any(|(x, _)| x.group == Some(g) && x.peer.as_deref() == Some(&p.peer));
                    if known {
                        continue;
                    }
                    match p.service {
                        Some(svc) => queue.push(Want {
                            svc,
                            origin: false,
                            peer: Some(p.peer.clone()),
                        }),
                        None => missing.push((p.peer.clone(), "it is not in the inventory (add it, or name the pair in an [ha.NAME] entry)".into())),
                    }
                }
            }
            members.push((m, doc));
        }
    }
    for (peer, why) in missing {
        if members
            .iter()
            .any(|(m, _)| m.peer.as_deref() == Some(&peer))
        {
            continue;
        }
        if ask.single_peer {
            skipped.push(peer);
            continue;
        }
        return Err(Stop::Fail(peer_refuses(
            ask.origin,
            &peer,
            &why,
            ErrorKind::Conflict,
        )));
    }
    skipped.sort();
    skipped.dedup();
    Ok(Gathered {
        members,
        groups: groups.len(),
        scope,
        skipped,
        settled,
        locks,
    })
}

/// A relationship's identity: its peers' names and URLs, which every peer's configuration
/// lists alike.
fn group_key(t: &HaTopology) -> Vec<(String, String)> {
    let mut k: Vec<(String, String)> = t
        .peers
        .iter()
        .map(|p| (p.name.clone(), p.url.clone()))
        .collect();
    k.sort();
    k
}

/// Reads a target: its staged configuration in a dry run that has one, else the running one
/// (with what tells later whether it is still the same).
async fn read(
    svc: &Service,
    daemon: &DaemonId,
    stage: Option<&Stage>,
) -> Result<(ConfigDoc, Option<String>, u64, KeaVersion, bool), KeaError> {
    let ctx = |e: KeaError| {
        e.with_server(svc.server.name())
            .with_service(Some(&svc.name))
    };
    if let Some(doc) = stage.and_then(|s| s.config(daemon)) {
        let version = svc.kea_version_cached().await.map_err(ctx)?;
        return Ok((doc, None, 0, version, true));
    }
    // Both are needed; asked at once, their round trips overlap (the version is asked once
    // per server handle).
    let (read, version) = futures::future::join(svc.config_read(), svc.kea_version_cached()).await;
    let read = read.map_err(ctx)?;
    let version = version.map_err(ctx)?;
    let doc = ConfigDoc::new(Family::of_service(&svc.name), read.config)
        .map_err(|e| ctx(e).with_command("config-get"))?;
    Ok((doc, read.hash, read.digest, version, false))
}

/// An HA peer that cannot get the change: nothing is changed on any.
fn peer_refuses(origin: &Service, peer: &str, why: &str, kind: ErrorKind) -> KeaError {
    KeaError::new(
        kind,
        format!(
            "HA peer {peer} cannot get the change: {why}. Nothing was changed on any peer (single_peer(true) or --single-peer changes the reachable peers only)"
        ),
    )
    .with_server(origin.server.name())
    .with_service(Some(&origin.name))
}

/// A server of a `global` change that cannot be read: nothing is changed on any.
fn everywhere_refuses(origin: &Service, svc: &Service, e: &KeaError) -> KeaError {
    KeaError {
        message: format!(
            "the change could not be made on every server, so it was made on none: {}: failed: {}",
            svc.server.name(),
            e.message
        ),
        server: Some(origin.server.name().to_string()),
        service: Some(origin.name.clone()),
        ..e.clone()
    }
}

/// Differences between the peers' subnet sets, as lines (empty when they agree).
pub fn subnet_drift(docs: &[(String, &ConfigDoc)]) -> Vec<String> {
    let set = |doc: &ConfigDoc| -> BTreeSet<(u64, String)> {
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
    };
    let Some((first_name, first)) = docs.first() else {
        return Vec::new();
    };
    let a = set(first);
    let mut out = Vec::new();
    for (name, d) in &docs[1..] {
        let b = set(d);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn global_classes_are_told_by_the_change_or_by_the_server() {
        let doc = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"client-classes": [
                {"name": "g", "user-context": {"global": true}}, {"name": "l"}]}}),
        )
        .unwrap();
        let m = |v: Value| v.as_object().unwrap().clone();
        assert!(is_global_class_edit(
            &[Edit::AddClass(m(json!({"name": "x", "global": true})))],
            &doc
        ));
        assert!(!is_global_class_edit(
            &[Edit::AddClass(m(json!({"name": "x"})))],
            &doc
        ));
        assert!(is_global_class_edit(&[Edit::DeleteClass("g".into())], &doc));
        assert!(!is_global_class_edit(
            &[Edit::DeleteClass("l".into())],
            &doc
        ));
        assert!(is_global_class_edit(
            &[Edit::UpdateClass(
                "g".into(),
                m(json!({"description": "d"}))
            )],
            &doc
        ));
    }

    #[test]
    fn drift_between_peers_is_named() {
        let a = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}]}}),
        )
        .unwrap();
        let b = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}, {"id": 9, "subnet": "10.99.0.0/24"}]}}),
        )
        .unwrap();
        assert!(subnet_drift(&[("s1".into(), &a), ("s2".into(), &a)]).is_empty());
        assert_eq!(
            subnet_drift(&[("server1".into(), &a), ("server2".into(), &b)]),
            ["server1 lacks subnet 10.99.0.0/24 (id 9) that server2 has"]
        );
    }
}
