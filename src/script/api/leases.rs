//! Leases and statistics in scripts: a lazy lease iterator (one page in memory, a progress
//! line from the host once a walk lasts a second), look-ups,
//! checked changes (audited), `stats()`, and `history()` of the audit trail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map as RMap};
use serde_json::{Value, json};

use super::ServiceHandle;
use super::args::{kea_map, subnet_key};
use crate::kea::audit::{AuditEntry, AuditFilter};
use crate::kea::config::{ConfigDoc, Family, SubnetKey, to_script_keys};
use crate::kea::leases::{self, LeasePager, WalkProgress};
use crate::kea::{KeaError, Service, stats};
use crate::script::RunContext;
use crate::script::convert::{to_dynamic, to_dynamic_snake};
use crate::script::errors::{invalid, kea_error};
use crate::term::Progress;

type R<T> = Result<T, Box<EvalAltResult>>;

/// `v4.leases()`: iterate with `for lease in v4.leases() { … }`.
#[derive(Clone)]
pub struct LeaseIter {
    ctx: Arc<RunContext>,
    svc: Service,
    subnet_id: Option<u64>,
}

/// The running walk of a [`LeaseIter`].
pub struct LeaseWalk {
    ctx: Arc<RunContext>,
    pager: LeasePager,
    failed: bool,
}

/// A walk that has lasted this long shows how far it has got (on a terminal).
const SHOW_PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// The host's progress line for a walk over `svc`'s leases, shown once the walk has lasted
/// [`SHOW_PROGRESS_AFTER`]; it goes when the observer does (the walk's end, a `break`, an error).
fn walk_progress(ctx: Arc<RunContext>, svc: &Service) -> impl FnMut(WalkProgress) + Send + 'static {
    let label = format!("{}/{}", svc.server.name(), svc.name);
    let started = Instant::now();
    let mut line: Option<Progress> = None;
    move |p: WalkProgress| {
        if line.is_none() && started.elapsed() < SHOW_PROGRESS_AFTER {
            return;
        }
        let text = format!(
            "reading the leases of {label}: {} leases, {} pages",
            p.leases, p.pages
        );
        match &line {
            Some(l) => l.set_message(&text),
            None => line = Some(ctx.progress(&text)),
        }
    }
}

impl IntoIterator for LeaseIter {
    type Item = R<Dynamic>;
    type IntoIter = LeaseWalk;
    fn into_iter(self) -> LeaseWalk {
        // The host's progress line, once the walk has lasted a second; it goes when the
        // walk does (its end, a `break`, an error).
        let observer = walk_progress(self.ctx.clone(), &self.svc);
        LeaseWalk {
            pager: LeasePager::new(self.svc, self.subnet_id).observe(observer),
            ctx: self.ctx,
            failed: false,
        }
    }
}

impl Iterator for LeaseWalk {
    type Item = R<Dynamic>;
    fn next(&mut self) -> Option<R<Dynamic>> {
        if self.failed {
            return None;
        }
        // Enter the runtime only when a page must be fetched, not once per lease.
        if let Some(l) = self.pager.next_buffered() {
            return Some(Ok(to_dynamic_snake(&l)));
        }
        let pager = &mut self.pager;
        let r = self.ctx.block(pager.next());
        match r {
            Ok(Some(l)) => Some(Ok(to_dynamic_snake(&l))),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn lease_view(v: &Value) -> R<Dynamic> {
    if v.is_null() {
        Ok(Dynamic::UNIT)
    } else {
        to_dynamic(&to_script_keys(v))
    }
}

fn key_id(ctx: &RunContext, svc: &Service, key: &SubnetKey) -> R<u64> {
    if let SubnetKey::Id(id) = key {
        return Ok(*id);
    }
    let s = svc.clone();
    let doc =
        ctx.block(async move { ConfigDoc::new(Family::of_service(&s.name), s.config().await?) })?;
    let loc = doc.find_subnet(key).map_err(|e| kea_error(&e))?;
    doc.subnet(loc)
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid(format!("subnet {key} has no id")))
}

fn audit_lease(
    ctx: &RunContext,
    svc: &Service,
    key: &str,
    action: &str,
    before: Value,
    after: Value,
) {
    let mut a = AuditEntry::new(svc.server.name(), Some(&svc.name), "lease", key, action);
    a.before = before;
    a.after = after;
    ctx.audit(a);
}

fn audit_failure(ctx: &RunContext, svc: &Service, key: &str, action: &str, e: &KeaError) {
    // Checks that fail before anything is sent are not changes.
    if matches!(
        e.kind,
        crate::kea::ErrorKind::Invalid
            | crate::kea::ErrorKind::Conflict
            | crate::kea::ErrorKind::NotFound
    ) && e.code.is_none()
    {
        return;
    }
    let mut a = AuditEntry::new(svc.server.name(), Some(&svc.name), "lease", key, action);
    a.outcome = "error".into();
    a.error = Some(e.message.clone());
    ctx.audit(a);
}

/// Runs a lease change and records it: `record` gives before/after from the outcome; a
/// failure Kea reported is recorded with its error.
fn audited<T>(
    ctx: &RunContext,
    svc: &Service,
    key: &str,
    action: &str,
    fut: impl std::future::Future<Output = Result<T, KeaError>>,
    record: impl FnOnce(&T) -> (Value, Value),
) -> R<T> {
    match ctx.block_raw(fut)? {
        Ok(v) => {
            let (before, after) = record(&v);
            audit_lease(ctx, svc, key, action, before, after);
            Ok(v)
        }
        Err(e) => {
            audit_failure(ctx, svc, key, action, &e);
            Err(kea_error(&e))
        }
    }
}

fn dry(ctx: &RunContext, svc: &Service, what: &str) -> bool {
    if ctx.is_dry_run() {
        ctx.plan(
            &format!("[dry run] {}/{}: would {what}", svc.server.name(), svc.name),
            1,
        );
        true
    } else {
        false
    }
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    engine.register_type_with_name::<LeaseIter>("Leases");
    engine.register_iterator_result::<LeaseIter, Dynamic>();
    let c = ctx.clone();
    engine.register_fn("leases", move |s: &mut ServiceHandle| LeaseIter {
        ctx: c.clone(),
        svc: s.0.clone(),
        subnet_id: None,
    });
    let c = ctx.clone();
    engine.register_fn(
        "leases",
        move |s: &mut ServiceHandle, key: Dynamic| -> R<LeaseIter> {
            let family = Family::of_service(&s.0.name);
            let id = key_id(&c, &s.0, &subnet_key(&key, family)?)?;
            Ok(LeaseIter {
                ctx: c.clone(),
                svc: s.0.clone(),
                subnet_id: Some(id),
            })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "lease",
        move |s: &mut ServiceHandle, ip: &str| -> R<Dynamic> {
            let (svc, ip) = (s.0.clone(), ip.to_string());
            let l = c.block(async move { leases::get(&svc, &ip).await })?;
            lease_view(&l.unwrap_or(Value::Null))
        },
    );
    for (name, by) in [
        ("leases_by_hw", "hw-address"),
        ("leases_by_client_id", "client-id"),
        ("leases_by_hostname", "hostname"),
        ("leases_by_duid", "duid"),
    ] {
        let c = ctx.clone();
        engine.register_fn(
            name,
            move |s: &mut ServiceHandle, value: &str| -> R<Array> {
                if by == "duid" && s.0.name != "dhcp6" {
                    return Err(invalid(
                        "leases_by_duid is for dhcp6; use leases_by_client_id on dhcp4",
                    ));
                }
                let (svc, value) = (s.0.clone(), value.to_string());
                let list = c.block(async move { leases::by(&svc, by, &value).await })?;
                list.iter().map(lease_view).collect()
            },
        );
    }
    let c = ctx.clone();
    engine.register_fn(
        "add_lease",
        move |s: &mut ServiceHandle, m: RMap| -> R<Dynamic> {
            let lease = kea_map(&m, "the lease")?;
            let ip = lease
                .get("ip-address")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let svc = s.0.clone();
            if c.is_dry_run() {
                let (svc2, mut l) = (svc.clone(), lease.clone());
                c.block(async move {
                    let doc = ConfigDoc::new(Family::of_service(&svc2.name), svc2.config().await?)?;
                    leases::check_lease(&doc, &svc2, &mut l)
                })?;
                dry(
                    &c,
                    &svc,
                    &format!("add lease {ip}: {}", Value::Object(lease)),
                );
                return Ok(Dynamic::UNIT);
            }
            let l = audited(&c, &svc, &ip, "add", leases::add(&svc, lease), |l| {
                (Value::Null, l.clone())
            })?;
            lease_view(&l)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "update_lease",
        move |s: &mut ServiceHandle, m: RMap| -> R<Dynamic> {
            let changes = kea_map(&m, "the lease")?;
            let ip = changes
                .get("ip-address")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let svc = s.0.clone();
            if dry(
                &c,
                &svc,
                &format!("update lease {ip}: {}", Value::Object(changes.clone())),
            ) {
                return Ok(Dynamic::UNIT);
            }
            let l = audited(
                &c,
                &svc,
                &ip,
                "update",
                leases::update(&svc, changes),
                |(b, a)| (b.clone(), a.clone()),
            )?;
            lease_view(&l.1)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "delete_lease",
        move |s: &mut ServiceHandle, ip: &str| -> R<Dynamic> {
            let svc = s.0.clone();
            leases::check_ip(&svc, ip).map_err(|e| kea_error(&e))?;
            if dry(&c, &svc, &format!("delete lease {ip}")) {
                return Ok(Dynamic::UNIT);
            }
            let l = audited(&c, &svc, ip, "delete", leases::delete(&svc, ip), |b| {
                (b.clone(), Value::Null)
            })?;
            lease_view(&l)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "wipe_leases",
        move |s: &mut ServiceHandle, key: Dynamic| -> R<rhai::INT> {
            let svc = s.0.clone();
            let key = subnet_key(&key, Family::of_service(&svc.name))?;
            let label = key.to_string();
            if dry(&c, &svc, &format!("wipe the leases of subnet {label}")) {
                return Ok(0);
            }
            let svc2 = svc.clone();
            let observer = walk_progress(c.clone(), &svc);
            let n = c.block(async move { leases::wipe(&svc2, &key, observer).await })?;
            if n > 0 {
                audit_lease(
                    &c,
                    &svc,
                    &label,
                    "wipe",
                    json!({ "leases": n }),
                    json!({ "leases": 0 }),
                );
            }
            Ok(n as rhai::INT)
        },
    );
    let c = ctx.clone();
    engine.register_fn("stats", move |s: &mut ServiceHandle| -> R<Array> {
        let svc = s.0.clone();
        let rows = c.block(async move { stats::stats(&svc).await })?;
        rows.iter().map(to_dynamic).collect()
    });
    let c = ctx.clone();
    engine.register_fn("history", move || -> R<Array> {
        history(&c, AuditFilter::default())
    });
    let c = ctx;
    engine.register_fn("history", move |kind: &str, key: &str| -> R<Array> {
        crate::kea::audit::check_kind(kind).map_err(|e| kea_error(&e))?;
        history(
            &c,
            AuditFilter {
                kind: Some(kind.to_string()),
                key: Some(key.to_string()),
                ..Default::default()
            },
        )
    });
}

fn history(ctx: &RunContext, filter: AuditFilter) -> R<Array> {
    let read = ctx.audit.read_all(&filter).map_err(|e| kea_error(&e))?;
    if let Some(w) = read.warning(&ctx.audit.path) {
        ctx.warn(&w.to_string());
    }
    read.entries
        .iter()
        .map(|e| to_dynamic(&serde_json::to_value(e).expect("JSON")))
        .collect()
}
