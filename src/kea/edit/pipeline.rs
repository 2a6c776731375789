//! The config path of the edit pipeline: `config-get` → edit locally → validate →
//! `config-set` → `config-write`, all-or-nothing.

use std::time::Duration;

use serde_json::Value;

use super::hooks::{self, HookCommand};
use super::journal::{self, InFlight, InFlightGuard};
use super::outcome::{Resolution, resolve, unknown_error};
use super::{Edit, PeerTarget, RelationshipReport, ServerLock, commit_relationship};
use crate::kea::config::classes::new_test_expressions;
use crate::kea::config::{
    ConfigDoc, Family, class_keys, normalize_inherited, paths, restore_protected, unified_diff,
    validate,
};
use crate::kea::ha::{self, HaTopology};
use crate::kea::{Capabilities, ErrorKind, KeaError, KeaVersion, Service, redact};

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
    /// The change's id in the journal (and the audit trail).
    pub change_id: Option<String>,
    /// When an answer was lost on the way: what was found and done afterwards.
    pub resolution: Option<String>,
    /// A change an earlier keascript left with an unknown outcome, settled before this
    /// one: its id and what was found.
    pub settled: Option<(String, String)>,
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
        version: base.version,
    };
    unified_diff(&doc(a), &doc(b), label)
}

/// Applies `edits` locally to `live` (the configuration of a Kea `version`) and validates
/// the outcome (steps 1–2 of the pipeline).
pub(super) fn prepare(
    live: &ConfigDoc,
    version: KeaVersion,
    edits: &[Edit],
    min_subnet_id: u64,
    peer: bool,
) -> Result<Prepared, KeaError> {
    let mut base = live.clone();
    // What Kea echoes into scopes, and so what is normalised, depends on its version.
    base.version = version;
    normalize_inherited(&mut base);
    let mut new = base.clone();
    let mut results = Vec::with_capacity(edits.len());
    for e in edits {
        results.push(e.apply_to(&mut new, live, version, min_subnet_id, peer)?);
    }
    // Whatever spelling of the class keys the script used, the server gets its own.
    class_keys::speak(&mut new, &base, version)?;
    let allowed: Vec<&str> = edits.iter().flat_map(Edit::allowed_protected).collect();
    restore_protected(&mut new, live, &allowed);
    // Kea 3's path rules: a path Kea refuses wherever it runs is refused before sending.
    paths::check(live, &new, version)?;
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
    let settled = settle(svc, opts).await?;
    let (live, hash) = read_live(svc).await?;
    let mut report = commit_read(svc, edits, opts, live, hash).await?;
    report.settled = settled;
    Ok(report)
}

/// Settles what an earlier run left in flight (not in a dry run, which changes nothing).
async fn settle(svc: &Service, opts: &CommitOptions) -> Result<Option<(String, String)>, KeaError> {
    if opts.dry_run {
        return Ok(None);
    }
    Ok(settle_pending(svc)
        .await?
        .map(|(e, found)| (e.id, found.describe())))
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
    let settled = settle(svc, opts).await?;
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
    let mut origin = commit_read(svc, edits, opts, live, hash).await?;
    origin.settled = settled;
    Ok(RelationshipReport {
        origin,
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

/// How long a change whose answer was lost waits for the server to answer again.
pub(super) const RESOLVE_PATIENCE: Duration = Duration::from_secs(15);

/// The name of a daemon's lock and journal record.
pub(super) fn lock_key(svc: &Service) -> String {
    format!("{}-{}", svc.server.url(), svc.name)
}

/// Finishes or reverts a change an earlier keascript left in flight on this daemon (its
/// answer was lost); returns what was found, or `partial` when it cannot be settled.
pub async fn settle_pending(svc: &Service) -> Result<Option<(InFlight, Resolution)>, KeaError> {
    let key = lock_key(svc);
    let Some(entry) = journal::pending(&key) else {
        return Ok(None);
    };
    let found = resolve(svc, &key, &entry, RESOLVE_PATIENCE).await;
    match found {
        Resolution::Completed | Resolution::Reverted => Ok(Some((entry, found))),
        _ => Err(KeaError::new(
            ErrorKind::Partial,
            format!(
                "an earlier change (id {}, {}) has an unknown outcome: {}; nothing was changed now",
                entry.id,
                entry.time,
                found.describe()
            ),
        )
        .with_server(svc.server.name())
        .with_service(Some(&svc.name))),
    }
}

/// The server's lock (none for a dry run, which changes nothing).
async fn lock(svc: &Service, opts: &CommitOptions) -> Result<Option<ServerLock>, KeaError> {
    if opts.dry_run {
        return Ok(None);
    }
    ServerLock::acquire(&lock_key(svc), Duration::from_secs(60))
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
    let version = svc.kea_version_cached().await?;
    let Prepared { base, new, results } =
        prepare(&live, version, edits, opts.min_subnet_id, false).map_err(local)?;
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
    // A new or changed class test expression is parsed by Kea only: ask its verdict with
    // config-test before anything changes.
    check_expressions(svc, &base, &new).await?;
    // New paths under Kea 3's rules: only the daemon knows its folders (its environment),
    // so it judges them with config-test before anything changes.
    check_paths(svc, version, &base, &new).await?;
    // A daemon on this machine that cannot write its file would have the change undone at
    // config-write: refuse it now, with the reason.
    crate::kea::doctor::check_persistable(svc).await?;
    // The change is recorded in the journal (durably: that takes an fsync) before the
    // last check, so nothing slow sits between that check and the send.
    let key = lock_key(svc);
    let id = journal::new_id();
    let entry = InFlight {
        snapshot: crate::kea::snapshots::take(svc, &live.value, &id).await,
        id,
        time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        server: svc.server.name().to_string(),
        service: svc.name.clone(),
        phase: "sent".into(),
        before: live.value.clone(),
        after: new.value.clone(),
    };
    journal::record(&key, &entry)?;
    // Someone else may have changed the server since it was read: caught here, right
    // before sending, and nothing is sent.
    if let Err(e) = unchanged_since_read(svc, &live, hash_at_read.as_deref()).await {
        journal::clear(&key);
        return Err(e);
    }
    // From the first mutating command on, the change counts as in flight (a cancelled
    // script waits for it to be written or undone).
    let _in_flight = InFlightGuard::new();
    report.change_id = Some(entry.id.clone());
    let sent = match &hook_plan {
        Some(plan) => {
            let mut r = Ok(());
            for c in plan {
                if let Err(e) = svc.command(&c.command, Some(c.arguments.clone())).await {
                    r = Err((c.command.clone(), e));
                    break;
                }
            }
            r
        }
        // Kea's config-test does not check every path (log files, lease files): the
        // config-set does, and keeps the running configuration when it refuses one.
        None => svc
            .set(&new.value)
            .await
            .map(|_| ())
            .map_err(|e| ("config-set".to_string(), e)),
    };
    if let Err((command, e)) = sent {
        if !e.maybe_applied {
            // Kea answered: nothing was applied.
            journal::clear(&key);
            return Err(path_refusal(e, version, &command, &base, &new));
        }
        return settle_lost(svc, &key, &entry, &command, &e, report, base, new).await;
    }
    if let Err(write_err) = svc.write().await {
        if write_err.maybe_applied {
            // The answer to config-write was lost: it may or may not have written. Writing
            // again is harmless; the server is read again first.
            return settle_lost(
                svc,
                &key,
                &entry,
                "config-write",
                &write_err,
                report,
                base,
                new,
            )
            .await;
        }
        // The running configuration changed but could not be persisted: undo it, so the
        // server is never left half-changed.
        let undone = svc.set(&base.value).await;
        return Err(match undone {
            Ok(_) => {
                journal::clear(&key);
                KeaError {
                    message: format!(
                        "config-write failed ({}); the change was undone, the server runs its previous configuration",
                        write_err.message
                    ),
                    ..write_err
                }
            }
            Err(undo) if undo.maybe_applied => {
                let found = resolve(svc, &key, &entry, RESOLVE_PATIENCE).await;
                unknown_error(svc, "config-set (undoing the change)", &undo, &found)
            }
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
    journal::clear(&key);
    // Moved, not copied: a 10,000-subnet configuration is megabytes.
    report.before = Some(base.value);
    report.after = Some(new.value);
    Ok(report)
}

/// After `command`'s answer was lost: reads the server again and makes its file agree; a
/// change found running (and now written) succeeds with the story in the report, anything
/// else is the error that says what was found.
#[allow(clippy::too_many_arguments)]
async fn settle_lost(
    svc: &Service,
    key: &str,
    entry: &InFlight,
    command: &str,
    cause: &KeaError,
    mut report: CommitReport,
    base: ConfigDoc,
    new: ConfigDoc,
) -> Result<CommitReport, KeaError> {
    let found = resolve(svc, key, entry, RESOLVE_PATIENCE).await;
    if found != Resolution::Completed {
        return Err(unknown_error(svc, command, cause, &found));
    }
    report.resolution = Some(format!(
        "the outcome of {command} was unknown ({}); {}",
        cause.message,
        found.describe()
    ));
    report.before = Some(base.value);
    report.after = Some(new.value);
    Ok(report)
}

/// Fails with `conflict` when the server's configuration is no longer the one read: by
/// Kea's hash where it has one (2.4 and later), else by reading it again and comparing.
/// Kea has no compare-and-set; this makes the window between check and send as small as
/// one round trip.
pub(super) async fn unchanged_since_read(
    svc: &Service,
    live: &ConfigDoc,
    hash_at_read: Option<&str>,
) -> Result<(), KeaError> {
    let (same, command) = match hash_at_read {
        Some(h) => (
            svc.config_hash().await?.as_deref() == Some(h),
            "config-hash-get",
        ),
        None => (svc.config().await? == live.value, "config-get"),
    };
    if same {
        return Ok(());
    }
    Err(context(
        KeaError::new(
            ErrorKind::Conflict,
            "the configuration changed on the server while this change was being prepared (another tool or person wrote it); nothing was sent, try again",
        ),
        svc,
        command,
    ))
}

/// Kea's verdict on the class test expressions a change adds or changes (`config-test`),
/// as an `invalid` error naming the class and the expression.
async fn check_expressions(
    svc: &Service,
    base: &ConfigDoc,
    new: &ConfigDoc,
) -> Result<(), KeaError> {
    let added = new_test_expressions(base, new);
    if added.is_empty() {
        return Ok(());
    }
    match svc.test(&new.value).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::Kea => {
            let (name, expr) = added
                .iter()
                .find(|(_, t)| e.message.contains(t.as_str()))
                .unwrap_or(&added[0]);
            Err(context(
                KeaError::invalid(format!(
                    "client class \"{name}\": Kea refuses its test expression {expr:?}: {}; nothing was changed",
                    e.message
                )),
                svc,
                "config-test",
            ))
        }
        Err(e) => Err(e),
    }
}

/// Kea's verdict (`config-test`) on a configuration that names other hook libraries,
/// sockets, lease or log files than the running one, on a Kea with path rules: a refusal
/// quotes Kea's own text, and nothing is changed.
async fn check_paths(
    svc: &Service,
    version: KeaVersion,
    base: &ConfigDoc,
    new: &ConfigDoc,
) -> Result<(), KeaError> {
    if !version.path_rules() || !paths::paths_changed(base, new) {
        return Ok(());
    }
    svc.test(&new.value)
        .await
        .map(|_| ())
        .map_err(|e| path_refusal(e, version, "config-test", base, new))
}

/// Kea's refusal of a configuration with new paths, its own text quoted.
fn path_refusal(
    e: KeaError,
    version: KeaVersion,
    command: &str,
    base: &ConfigDoc,
    new: &ConfigDoc,
) -> KeaError {
    if e.kind != ErrorKind::Kea || !version.path_rules() || !paths::paths_changed(base, new) {
        return e;
    }
    KeaError {
        message: format!(
            "Kea {version} refuses the new paths ({command}): \"{}\"; nothing was changed, it runs its previous configuration",
            e.message
        ),
        ..e
    }
}

/// The hook commands for a single subnet or class edit, when the server has the hooks and
/// the inventory allows them; `None` means the config path.
pub(super) async fn hook_plan(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::SubnetKey;
    use serde_json::{Map, json};

    const KEA2: KeaVersion = KeaVersion::new(2, 2, 0);
    const KEA3: KeaVersion = KeaVersion::new(3, 0, 4);

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// A running configuration as each version reports a subnet limited to `voip`.
    fn live(version: KeaVersion) -> ConfigDoc {
        let limit = if version.class_lists() {
            json!({"client-classes": ["voip"]})
        } else {
            json!({"client-class": "voip"})
        };
        let mut subnet = json!({"id": 1, "subnet": "10.0.0.0/24",
            "pools": [{"pool": "10.0.0.10-10.0.0.20"}]});
        for (k, v) in limit.as_object().unwrap() {
            subnet[k] = v.clone();
        }
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"client-classes": [{"name": "voip"}, {"name": "data"}],
                             "subnet4": [subnet]}}),
        )
        .unwrap()
    }

    fn subnet(p: &Prepared, id: u64) -> Map<String, Value> {
        let loc = p.new.find_subnet(&SubnetKey::Id(id)).unwrap();
        p.new.subnet(loc).clone()
    }

    #[test]
    fn every_input_spelling_reaches_the_server_in_its_own() {
        for version in [KEA2, KEA3] {
            let l = live(version);
            let (own, other) = if version.class_lists() {
                ("client-classes", "client-class")
            } else {
                ("client-class", "client-classes")
            };
            let want = |c: &str| {
                if version.class_lists() {
                    json!([c])
                } else {
                    json!(c)
                }
            };
            for input in [
                json!({"client-class": "data"}),
                json!({"client-classes": ["data"]}),
            ] {
                let mut s = m(json!({"subnet": "10.9.0.0/24", "pools": [
                    {"pool": "10.9.0.10-10.9.0.20", "client-class": "voip",
                     "require-client-classes": ["data"]}]}));
                for (k, v) in m(input.clone()) {
                    s.insert(k, v);
                }
                let p = prepare(&l, version, &[Edit::AddSubnet(s)], 0, false).unwrap();
                let s = subnet(&p, 2);
                assert_eq!(s[own], want("data"), "{version} {input}");
                assert!(!s.contains_key(other), "{version} {input}");
                let pool = s["pools"][0].as_object().unwrap();
                assert_eq!(pool[own], want("voip"));
                let add = if version.class_lists() {
                    "evaluate-additional-classes"
                } else {
                    "require-client-classes"
                };
                assert_eq!(pool[add], json!(["data"]), "{version}");
                assert_eq!(pool.len(), 3, "{version}: {pool:?}");
            }
            // assign_class replaces, unassign_class removes, whatever the spelling.
            let p = prepare(
                &l,
                version,
                &[Edit::AssignClass(SubnetKey::Id(1), None, "data".into())],
                0,
                false,
            )
            .unwrap();
            assert_eq!(subnet(&p, 1)[own], want("data"));
            let p = prepare(
                &l,
                version,
                &[Edit::UnassignClass(SubnetKey::Id(1), None)],
                0,
                false,
            )
            .unwrap();
            assert!(!subnet(&p, 1).contains_key(own));
            // Unsetting either spelling in an update removes the limit.
            for key in ["client-class", "client-classes"] {
                let patch = m(json!({ key: null }));
                let p = prepare(
                    &l,
                    version,
                    &[Edit::UpdateSubnet(SubnetKey::Id(1), patch)],
                    0,
                    false,
                )
                .unwrap();
                let s = subnet(&p, 1);
                assert!(
                    !s.contains_key("client-class") && !s.contains_key("client-classes"),
                    "{version} {key}: {s:?}"
                );
            }
            // A subnet read back (both spellings) and changed in one of them.
            let patch = m(json!({"client-class": "data", "client-classes": ["voip"]}));
            let p = prepare(
                &l,
                version,
                &[Edit::UpdateSubnet(SubnetKey::Id(1), patch)],
                0,
                false,
            )
            .unwrap();
            assert_eq!(subnet(&p, 1)[own], want("data"), "{version}");
            // Nothing else changed: no change at all.
            let p = prepare(&l, version, &[Edit::Set(m(json!({})))], 0, false).unwrap();
            assert_eq!(p.new, p.base);
        }
        // Kea 2.2 cannot hold two classes.
        let e = prepare(
            &live(KEA2),
            KEA2,
            &[Edit::UpdateSubnet(
                SubnetKey::Id(1),
                m(json!({"client-classes": ["voip", "data"]})),
            )],
            0,
            false,
        )
        .err()
        .unwrap();
        assert!(e.message.contains("Kea 2.2.0"), "{}", e.message);
        let p = prepare(
            &live(KEA3),
            KEA3,
            &[Edit::UpdateSubnet(
                SubnetKey::Id(1),
                m(json!({"client-classes": ["voip", "data"]})),
            )],
            0,
            false,
        )
        .unwrap();
        assert_eq!(subnet(&p, 1)["client-classes"], json!(["voip", "data"]));
    }
}
