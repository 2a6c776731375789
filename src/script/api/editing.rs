//! The mutators of the script API (scopes, pools, classes, options, definitions, settings,
//! `apply`), on a Service (committed at once) and on a Transaction (staged), plus
//! `begin()`, `tx.diff()`, `tx.commit()`, `tx.discard()`, `dry_run()` and `is_dry_run()`.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, INT, Map as RMap};
use serde_json::{Map, Value};

use super::ServiceHandle;
use super::args::{kea_map, name_or_code, option_data, scope, string, subnet_key};
use super::views;
use crate::kea::audit::{AuditEntry, snapshot};
use crate::kea::config::{ConfigDoc, Family, OptionScope, options::spec_of, to_script_keys};
use crate::kea::edit::{
    CommitOptions, CommitReport, Edit, PeerTarget, commit, commit_auto, commit_everywhere,
    read_config,
};
use crate::kea::ha::map_peer;
use crate::kea::{Server, Service};
use crate::script::RunContext;
use crate::script::convert::to_dynamic;
use crate::script::errors::invalid;

type R<T> = Result<T, Box<EvalAltResult>>;

/// A staged change set (`let tx = v4.begin();`).
#[derive(Clone)]
pub struct TxHandle {
    svc: Service,
    staged: Arc<Mutex<Vec<Edit>>>,
}

/// Something mutators can be called on.
pub trait Target: Clone + Send + Sync + 'static {
    fn service(&self) -> &Service;
    /// Commits (Service) or stages (Transaction) one edit.
    fn submit(&self, ctx: &RunContext, edit: Edit) -> R<Dynamic>;
    fn family(&self) -> Family {
        Family::of_service(&self.service().name)
    }
}

impl Target for ServiceHandle {
    fn service(&self) -> &Service {
        &self.0
    }
    fn submit(&self, ctx: &RunContext, edit: Edit) -> R<Dynamic> {
        let family = self.family();
        let shape_as = edit.clone();
        let report = run_edits(ctx, &self.0, vec![edit])?;
        let value = report.results.into_iter().next().unwrap_or(Value::Null);
        to_dynamic(&shape(&shape_as, &value, family))
    }
}

impl Target for TxHandle {
    fn service(&self) -> &Service {
        &self.svc
    }
    fn submit(&self, _ctx: &RunContext, edit: Edit) -> R<Dynamic> {
        edit.precheck(self.family())
            .map_err(|e| crate::script::errors::kea_error(&e))?;
        self.staged.lock().expect("tx lock").push(edit);
        Ok(Dynamic::UNIT)
    }
}

/// What a mutator returns: the object as it now is, in the script's spelling.
pub(super) fn shape(edit: &Edit, v: &Value, family: Family) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match edit {
        Edit::AddPool(..) | Edit::DeletePool(..) => views::pool(v),
        Edit::AddSubnet(_) | Edit::UpdateSubnet(..) | Edit::DeleteSubnet(_) => {
            views::subnet_value(v, family)
        }
        Edit::AddClass(_) | Edit::UpdateClass(..) | Edit::DeleteClass(_) => views::class(v, family),
        Edit::SetOption(..) | Edit::DeleteOption(..) => views::option(v),
        Edit::DefineOption(_) | Edit::UpdateOptionDef(..) | Edit::DeleteOptionDef(..) => {
            views::option_def(v)
        }
        _ => to_script_keys(v),
    }
}

/// Is this a change to a class marked `global` (made on every server of the inventory)?
fn is_global_class_edit(ctx: &RunContext, svc: &Service, edits: &[Edit]) -> R<bool> {
    let marked = |m: &Map<String, Value>| {
        m.get("global").and_then(Value::as_bool).unwrap_or(false)
            || m.get("user-context")
                .and_then(|c| c.get("global"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
    };
    let mut existing = Vec::new();
    for e in edits {
        match e {
            Edit::AddClass(m) if marked(m) => return Ok(true),
            Edit::UpdateClass(n, m) => {
                if marked(m) {
                    return Ok(true);
                }
                existing.push(n.clone());
            }
            Edit::DeleteClass(n) => existing.push(n.clone()),
            _ => {}
        }
    }
    if existing.is_empty() {
        return Ok(false);
    }
    let svc2 = svc.clone();
    let doc = ctx.block(async move { read_config(&svc2).await })?;
    Ok(doc.root_array("client-classes").iter().any(|c| {
        c.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| existing.iter().any(|e| e == n))
            && c.get("user-context")
                .and_then(|u| u.get("global"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
    }))
}

/// The same service on every server of the inventory (and on this one).
fn everywhere(ctx: &RunContext, svc: &Service) -> R<Vec<Service>> {
    let mut out = vec![svc.clone()];
    let names: Vec<String> = ctx.inventory.servers.keys().cloned().collect();
    for n in names {
        let server: Arc<Server> = ctx.server(Some(&n))?;
        if out.iter().any(|s| s.server.url() == server.url()) {
            continue;
        }
        out.push(
            Service::new(server, &svc.name).map_err(|e| crate::script::errors::kea_error(&e))?,
        );
    }
    Ok(out)
}

/// Runs edits through the pipeline and records each change in the audit trail.
pub fn run_edits(ctx: &RunContext, svc: &Service, edits: Vec<Edit>) -> R<CommitReport> {
    let mut audits: Vec<AuditEntry> = Vec::new();
    let r = run_edits_inner(ctx, svc, edits.clone(), &mut audits);
    match &r {
        Ok(_) => {}
        Err(e) => {
            // Record failures that happened after something may have been sent.
            let kind = crate::script::errors::kind_of_error(e);
            if matches!(
                kind.as_str(),
                "kea" | "transport" | "auth" | "partial" | "unsupported"
            ) {
                for edit in &edits {
                    let t = edit.target();
                    let mut a = AuditEntry::new(
                        svc.server.name(),
                        Some(&svc.name),
                        t.kind,
                        &t.key,
                        t.action,
                    );
                    let message = crate::script::errors::message_of_error(e);
                    a.outcome = if message.contains("was unknown (") {
                        "unknown".into()
                    } else if kind == "partial" {
                        "partial".into()
                    } else {
                        "error".into()
                    };
                    a.error = Some(message);
                    audits.push(a);
                }
            }
        }
    }
    for a in audits {
        ctx.audit(a);
    }
    r
}

/// Audit entries for the edits of a report made on one server. The report's before/after
/// configurations are moved out, not copied.
fn entries_for(
    server: &str,
    svc: &Service,
    edits: &[Edit],
    report: &mut CommitReport,
) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    if let Some((id, found)) = report.settled.take() {
        // A change an earlier run left with an unknown outcome, settled first.
        eprintln!("warning: an earlier change (id {id}) had an unknown outcome: {found}");
        let mut a = AuditEntry::new(server, Some(&svc.name), "config", "in-flight", "resolve");
        a.resolves = Some(id);
        a.error = Some(found);
        out.push(a);
    }
    if !report.changed || report.dry_run {
        return out;
    }
    let family = Family::of_service(&svc.name);
    let doc = |v: Option<Value>| v.and_then(|v| ConfigDoc::new(family, v).ok());
    let (before, after) = (doc(report.before.take()), doc(report.after.take()));
    let id = report.change_id.clone();
    let resolution = report.resolution.clone();
    for (edit, result) in edits
        .iter()
        .zip(report.results.iter().chain(std::iter::repeat(&Value::Null)))
    {
        let t = edit.target();
        let mut a = AuditEntry::new(server, Some(&svc.name), t.kind, &t.key, t.action);
        let (b, af) = snapshot(edit, family, before.as_ref(), after.as_ref(), result);
        a.before = b;
        a.after = af;
        a.id = id.clone();
        if resolution.is_some() {
            a.outcome = "unknown".into();
        }
        out.push(a);
    }
    if let Some(found) = resolution {
        // The answer was lost, the server was read again: what was found and done.
        eprintln!("warning: {found}");
        let mut a = AuditEntry::new(server, Some(&svc.name), "config", "in-flight", "resolve");
        a.resolves = id;
        a.error = Some(found);
        out.push(a);
    }
    out
}

/// Runs edits through the pipeline (on every inventory server for global classes, on every
/// HA peer), and prints what a dry run would do.
fn run_edits_inner(
    ctx: &RunContext,
    svc: &Service,
    edits: Vec<Edit>,
    audits: &mut Vec<AuditEntry>,
) -> R<CommitReport> {
    let opts = CommitOptions {
        dry_run: ctx.is_dry_run(),
        ..Default::default()
    };
    let what: Vec<String> = edits
        .iter()
        .map(|e| {
            let t = e.target();
            format!("{} {} {}", t.action, t.kind, t.key)
                .trim()
                .to_string()
        })
        .collect();
    if is_global_class_edit(ctx, svc, &edits)? {
        let services = everywhere(ctx, svc)?;
        let edits2 = edits.clone();
        let outcomes =
            ctx.block(async move { commit_everywhere(&services, &edits2, &opts).await })?;
        let mut first = None;
        for o in outcomes {
            let mut r = o.result.expect("all succeeded");
            audits.extend(entries_for(&o.server, svc, &edits, &mut r));
            if opts.dry_run {
                print_dry_run(&format!("{}/{}", o.server, svc.name), &what, &r);
            }
            first.get_or_insert(r);
        }
        return Ok(first.unwrap_or_default());
    }
    // One read of the configuration finds the HA relationship, if any: then the change
    // goes to every peer of it, or to none.
    let svc2 = svc.clone();
    let single = ctx.is_single_peer();
    let edits2 = edits.clone();
    let resolve = |topo: &crate::kea::ha::HaTopology| peer_targets_lossy(ctx, svc, topo);
    let mut rel =
        ctx.block(async move { commit_auto(&svc2, &edits2, &opts, single, &resolve).await })?;
    for p in &rel.skipped {
        eprintln!("warning: HA peer {p} was skipped (single_peer): it did not get this change");
    }
    let mut entries = entries_for(svc.server.name(), svc, &edits, &mut rel.origin);
    for a in &mut entries {
        a.peers = rel.peers.iter().map(|(p, _)| p.clone()).collect();
        a.skipped = rel.skipped.clone();
    }
    audits.extend(entries);
    if opts.dry_run {
        print_dry_run(
            &format!("{}/{}", svc.server.name(), svc.name),
            &what,
            &rel.origin,
        );
        for (peer, r) in &rel.peers {
            print_dry_run(&format!("HA peer {peer}/{}", svc.name), &what, r);
        }
    }
    Ok(rel.origin)
}

/// [`peer_targets`], with a peer whose inventory entry cannot be used left unmapped (it
/// then refuses the change, naming the peer).
fn peer_targets_lossy(
    ctx: &RunContext,
    svc: &Service,
    topo: &crate::kea::ha::HaTopology,
) -> Vec<PeerTarget> {
    peer_targets(ctx, svc, topo).unwrap_or_else(|_| {
        topo.partners()
            .map(|p| PeerTarget {
                peer: p.name.clone(),
                service: None,
            })
            .collect()
    })
}

/// The other peers of a relationship, each mapped to an inventory server when possible.
pub fn peer_targets(
    ctx: &RunContext,
    svc: &Service,
    topo: &crate::kea::ha::HaTopology,
) -> R<Vec<PeerTarget>> {
    let this_name = ctx
        .inventory_name_of(&svc.server)
        .unwrap_or_else(|| svc.server.name().to_string());
    let mut out = Vec::new();
    for p in topo.partners() {
        let service = match map_peer(p, topo, &this_name, &ctx.inventory) {
            Some(n) if n != this_name => {
                let server = ctx.server(Some(&n))?;
                Some(
                    Service::new(server, &svc.name)
                        .map_err(|e| crate::script::errors::kea_error(&e))?,
                )
            }
            _ => None,
        };
        out.push(PeerTarget {
            peer: p.name.clone(),
            service,
        });
    }
    Ok(out)
}

fn print_dry_run(label: &str, what: &[String], r: &CommitReport) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[dry run] {label}: {}", what.join("; "));
    if !r.changed {
        let _ = writeln!(
            out,
            "[dry run] {label}: changes nothing; nothing would be sent"
        );
        return;
    }
    let _ = write!(
        out,
        "{}",
        crate::term::paint_diff(&r.diff, crate::term::colour_stdout())
    );
    let _ = writeln!(
        out,
        "[dry run] {label}: would send {}",
        r.commands.join(", then ")
    );
    if let Some(v) = &r.verdict {
        let _ = writeln!(out, "[dry run] {label}: Kea's config-test says: {v}");
    }
    let _ = out.flush();
}

/// Registers every mutator on `T`.
fn register_mutators<T: Target>(engine: &mut Engine, ctx: Arc<RunContext>) {
    macro_rules! reg {
        ($name:expr, |$t:ident, $c:ident $(, $a:ident : $ty:ty)*| $body:expr) => {{
            let ctx = ctx.clone();
            engine.register_fn($name, move |$t: &mut T $(, $a: $ty)*| -> R<Dynamic> {
                let $c: &RunContext = &ctx;
                $body
            });
        }};
    }
    reg!("add_subnet", |t, c, m: RMap| {
        let e = Edit::AddSubnet(kea_map(&m, "the subnet")?);
        t.submit(c, e)
    });
    reg!("update_subnet", |t, c, k: Dynamic, m: RMap| {
        let e = Edit::UpdateSubnet(subnet_key(&k, t.family())?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!("delete_subnet", |t, c, k: Dynamic| {
        let e = Edit::DeleteSubnet(subnet_key(&k, t.family())?);
        t.submit(c, e)
    });
    reg!("add_pool", |t, c, k: Dynamic, r: Dynamic| {
        let e = Edit::AddPool(
            subnet_key(&k, t.family())?,
            string(&r, "the pool range")?,
            Map::new(),
        );
        t.submit(c, e)
    });
    reg!("add_pool", |t, c, k: Dynamic, r: Dynamic, m: RMap| {
        let e = Edit::AddPool(
            subnet_key(&k, t.family())?,
            string(&r, "the pool range")?,
            kea_map(&m, "the pool")?,
        );
        t.submit(c, e)
    });
    reg!("delete_pool", |t, c, k: Dynamic, r: Dynamic| {
        let e = Edit::DeletePool(subnet_key(&k, t.family())?, string(&r, "the pool range")?);
        t.submit(c, e)
    });
    reg!("add_class", |t, c, m: RMap| {
        let e = Edit::AddClass(kea_map(&m, "the class")?);
        t.submit(c, e)
    });
    reg!("update_class", |t, c, n: Dynamic, m: RMap| {
        let e = Edit::UpdateClass(string(&n, "the class name")?, kea_map(&m, "the change")?);
        t.submit(c, e)
    });
    reg!("delete_class", |t, c, n: Dynamic| {
        let e = Edit::DeleteClass(string(&n, "the class name")?);
        t.submit(c, e)
    });
    reg!("assign_class", |t, c, k: Dynamic, class: Dynamic| {
        let e = Edit::AssignClass(
            subnet_key(&k, t.family())?,
            None,
            string(&class, "the class name")?,
        );
        t.submit(c, e)
    });
    reg!("assign_class", |t,
                          c,
                          k: Dynamic,
                          p: Dynamic,
                          class: Dynamic| {
        let e = Edit::AssignClass(
            subnet_key(&k, t.family())?,
            Some(string(&p, "the pool range")?),
            string(&class, "the class name")?,
        );
        t.submit(c, e)
    });
    reg!("unassign_class", |t, c, k: Dynamic| {
        let e = Edit::UnassignClass(subnet_key(&k, t.family())?, None);
        t.submit(c, e)
    });
    reg!("unassign_class", |t, c, k: Dynamic, p: Dynamic| {
        let e = Edit::UnassignClass(
            subnet_key(&k, t.family())?,
            Some(string(&p, "the pool range")?),
        );
        t.submit(c, e)
    });
    reg!("set_option", |t, c, a: Dynamic, b: Dynamic| {
        // (scope, map) or (name_or_code, data) at the global level.
        let e = match b.read_lock::<RMap>() {
            Some(m) => Edit::SetOption(scope(&a, t.family())?, kea_map(&m, "the option")?),
            None => Edit::SetOption(
                OptionScope::Global,
                spec_of(&name_or_code(&a)?, option_data(&b)?),
            ),
        };
        t.submit(c, e)
    });
    reg!("set_option", |t,
                        c,
                        s: Dynamic,
                        n: Dynamic,
                        data: Dynamic| {
        let e = Edit::SetOption(
            scope(&s, t.family())?,
            spec_of(&name_or_code(&n)?, option_data(&data)?),
        );
        t.submit(c, e)
    });
    reg!("delete_option", |t, c, n: Dynamic| {
        let e = Edit::DeleteOption(OptionScope::Global, name_or_code(&n)?, None);
        t.submit(c, e)
    });
    reg!("delete_option", |t, c, s: Dynamic, n: Dynamic| {
        let e = Edit::DeleteOption(scope(&s, t.family())?, name_or_code(&n)?, None);
        t.submit(c, e)
    });
    for name in ["define_option", "add_option_def"] {
        reg!(name, |t, c, m: RMap| {
            let e = Edit::DefineOption(kea_map(&m, "the option definition")?);
            t.submit(c, e)
        });
    }
    reg!(
        "update_option_def",
        |t, c, code: INT, space: Dynamic, m: RMap| {
            let code = u16::try_from(code)
                .map_err(|_| invalid(format!("option code {code} is out of range")))?;
            let e = Edit::UpdateOptionDef(
                code,
                string(&space, "the option space")?,
                kea_map(&m, "the change")?,
            );
            t.submit(c, e)
        }
    );
    reg!("delete_option_def", |t, c, code: INT, space: Dynamic| {
        let code = u16::try_from(code)
            .map_err(|_| invalid(format!("option code {code} is out of range")))?;
        let e = Edit::DeleteOptionDef(code, string(&space, "the option space")?);
        t.submit(c, e)
    });
    reg!("set", |t, c, m: RMap| {
        let e = Edit::Set(kea_map(&m, "the settings")?);
        t.submit(c, e)
    });
    reg!("apply", |t, c, cfg: Dynamic| {
        let config = crate::script::convert::to_json(&cfg, "the configuration")?;
        t.submit(
            c,
            Edit::Apply {
                config,
                allow_paths: false,
            },
        )
    });
    reg!("apply", |t, c, cfg: Dynamic, opts: RMap| {
        let config = crate::script::convert::to_json(&cfg, "the configuration")?;
        let mut allow_paths = false;
        for (k, v) in &opts {
            match (k.as_str(), v.as_bool()) {
                ("allow_paths", Ok(b)) => allow_paths = b,
                _ => {
                    return Err(invalid(format!(
                        "apply(): unknown option {k}: {v} (known: allow_paths)"
                    )));
                }
            }
        }
        t.submit(
            c,
            Edit::Apply {
                config,
                allow_paths,
            },
        )
    });
}

pub fn register(engine: &mut Engine, ctx: Arc<RunContext>) {
    register_mutators::<ServiceHandle>(engine, ctx.clone());
    register_mutators::<TxHandle>(engine, ctx.clone());

    engine.register_type_with_name::<TxHandle>("Transaction");
    engine.register_fn("begin", |s: &mut ServiceHandle| TxHandle {
        svc: s.0.clone(),
        staged: Arc::new(Mutex::new(Vec::new())),
    });
    engine.register_fn("to_string", |t: &mut TxHandle| {
        format!(
            "Transaction({} of {}, {} staged)",
            t.svc.name,
            t.svc.server.name(),
            t.staged.lock().expect("tx lock").len()
        )
    });
    engine.register_get("len", |t: &mut TxHandle| {
        t.staged.lock().expect("tx lock").len() as INT
    });
    let c = ctx.clone();
    engine.register_fn("diff", move |t: &mut TxHandle| -> R<String> {
        let edits = t.staged.lock().expect("tx lock").clone();
        let svc = t.svc.clone();
        let opts = CommitOptions {
            dry_run: true,
            skip_test: true,
            ..Default::default()
        };
        let r = c.block(async move { commit(&svc, &edits, &opts).await })?;
        Ok(r.diff)
    });
    let c = ctx.clone();
    engine.register_fn("commit", move |t: &mut TxHandle| -> R<bool> {
        let edits = std::mem::take(&mut *t.staged.lock().expect("tx lock"));
        if edits.is_empty() {
            return Ok(false);
        }
        let r = run_edits(&c, &t.svc, edits)?;
        Ok(r.changed && !r.dry_run)
    });
    engine.register_fn("discard", |t: &mut TxHandle| {
        t.staged.lock().expect("tx lock").clear();
    });
    let c = ctx.clone();
    engine.register_fn("dry_run", move |on: bool| c.set_dry_run(on));
    let c = ctx;
    engine.register_fn("is_dry_run", move || c.is_dry_run());
}
