//! `keascript run --all | --tag TAG | --servers GLOB [--parallel N] SCRIPT`: the script
//! runs once per selected daemon or HA relationship (`kea::fleet`), at most N at a time,
//! each with `kea()` bound to its server and its output buffered; a progress line on a
//! terminal while it runs; then a table (or JSON lines) on stdout, the buffered output on
//! stderr prefixed `NAME: `, and the worst exit status.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::kea::Inventory;
use crate::kea::fleet::{self, Resolved, Selector, Unit};
use crate::script::output::{Buffer, Line};
use crate::script::{Limits, RunContext, SCRIPT_STACK_SIZE, Script, run_script};
use crate::term::{self, Paint, Progress};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A table for people
    Table,
    /// One JSON object per server and line
    Json,
}

/// What a fleet run needs beside the inventory and the script.
pub struct FleetOptions {
    pub selector: Selector,
    pub parallel: usize,
    pub output: Output,
    pub dry_run: bool,
    pub single_peer: bool,
    pub limits: Limits,
    pub args: Vec<String>,
    /// `--detailed-exitcode`: 2 when a server has changes pending (planned or made) and
    /// none failed.
    pub detailed_exitcode: bool,
}

/// One line of the result: a server and how its run went.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub server: String,
    /// `ok` (nothing changed), `changed`, or `failed`.
    pub outcome: &'static str,
    /// The error kind of a failed run (`transport`, `conflict`, `script`, `exit`, …).
    pub kind: Option<String>,
    /// The error, or `covered by NAME`.
    pub message: Option<String>,
    /// Audit entries the run wrote (planned changes under `--dry-run`).
    pub changes: usize,
    pub duration_ms: u64,
    #[serde(skip)]
    pub status: u8,
    #[serde(skip)]
    pub lines: Vec<(Line, String)>,
}

/// Runs the fleet; returns the exit status (0, or the highest status of a failed run; 2
/// for a selection that takes no server — 1 under `--detailed-exitcode`, where 2 means
/// "pending"; see [`detailed`]).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    inventory: Inventory,
    script: Script,
    opts: FleetOptions,
) -> u8 {
    let names = match fleet::select(&inventory, &opts.selector) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return if opts.detailed_exitcode { 1 } else { 2 };
        }
    };
    let resolved = {
        let p = Progress::spinner(&format!("asking {} servers who they are", names.len()));
        let resolved = runtime.block_on(fleet::resolve(&inventory, &names));
        p.finish();
        resolved
    };
    let rows = run_units(runtime, &inventory, &script, &opts, &names, &resolved);
    // Buffered output first (stderr), then the result (stdout).
    let mut err = std::io::stderr().lock();
    for r in &rows {
        for (_, l) in &r.lines {
            let _ = writeln!(err, "{}: {l}", r.server);
        }
    }
    drop(err);
    let mut out = std::io::stdout().lock();
    let _ = match opts.output {
        Output::Table => write!(out, "{}", table(&rows, term::colour_stdout())),
        Output::Json => rows.iter().try_for_each(|r| {
            writeln!(
                out,
                "{}",
                serde_json::to_string(r).expect("a row is plain data")
            )
        }),
    };
    let _ = out.flush();
    if opts.detailed_exitcode {
        detailed(&rows)
    } else {
        worst(&rows)
    }
}

/// The exit status of a fleet run under `--detailed-exitcode`, as for one server: a failed
/// run's status wins (a usage error's 2 becomes 1: 2 means "pending" and nothing else);
/// otherwise 2 when any server has changes (planned under `--dry-run`, or made), else 0.
pub fn detailed(rows: &[Row]) -> u8 {
    match worst(rows) {
        0 if rows.iter().any(|r| r.changes > 0) => 2,
        super::run::USAGE => 1,
        status => status,
    }
}

/// The exit status of a fleet run: 0 when no run failed, else the highest status.
pub fn worst(rows: &[Row]) -> u8 {
    rows.iter()
        .filter(|r| r.outcome == "failed")
        .map(|r| r.status)
        .max()
        .unwrap_or(0)
}

/// Runs every unit on at most `parallel` script threads; rows come back in selection order.
fn run_units(
    runtime: &tokio::runtime::Runtime,
    inventory: &Inventory,
    script: &Script,
    opts: &FleetOptions,
    names: &[String],
    resolved: &Resolved,
) -> Vec<Row> {
    let units = &resolved.units;
    let progress = Progress::bar(units.len() as u64, "running");
    let queue: Mutex<VecDeque<(usize, &Unit)>> = Mutex::new(units.iter().enumerate().collect());
    let results: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; units.len()]);
    // Ctrl-C or SIGTERM stops every run (a Kea call in flight too).
    let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let contexts = Arc::new(Mutex::new(Vec::<Arc<RunContext>>::new()));
    let (c2, s2) = (contexts.clone(), stopped.clone());
    let watcher = runtime.spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        s2.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in c2.lock().expect("contexts lock").iter() {
            c.cancel();
        }
    });
    let workers = opts.parallel.clamp(1, units.len().max(1));
    std::thread::scope(|scope| {
        for i in 0..workers {
            let (queue, results) = (&queue, &results);
            let (progress, contexts, stopped) = (&progress, &contexts, &stopped);
            let spawned = std::thread::Builder::new()
                .name(format!("fleet {i}"))
                .stack_size(SCRIPT_STACK_SIZE)
                .spawn_scoped(scope, move || {
                    loop {
                        let Some((idx, unit)) = queue.lock().expect("queue lock").pop_front()
                        else {
                            break;
                        };
                        let ctx = context(runtime, inventory, opts, names, &unit.lead);
                        if let Some(h) = resolved.handles.get(&unit.lead) {
                            ctx.adopt_server(&unit.lead, h.clone());
                        }
                        contexts.lock().expect("contexts lock").push(ctx.clone());
                        if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                            ctx.cancel();
                        }
                        let row = run_one(script, ctx.clone(), &opts.limits, &unit.lead);
                        progress.set_message(&format!("{} {}", unit.lead, row.outcome));
                        progress.inc();
                        results.lock().expect("results lock")[idx] = Some(row);
                    }
                });
            if let Err(e) = spawned {
                eprintln!("error: cannot start a script thread: {e}");
                break;
            }
        }
    });
    watcher.abort();
    progress.finish();
    let results = results.into_inner().expect("results lock");
    let mut rows = Vec::new();
    for (unit, row) in units.iter().zip(results) {
        rows.push(row.unwrap_or_else(|| Row {
            server: unit.lead.clone(),
            outcome: "failed",
            kind: Some("script".into()),
            message: Some("did not run (no script thread)".into()),
            changes: 0,
            duration_ms: 0,
            status: 1,
            lines: Vec::new(),
        }));
        for c in &unit.covered {
            rows.push(Row {
                server: c.clone(),
                outcome: "ok",
                kind: None,
                message: Some(format!("covered by {}", unit.lead)),
                changes: 0,
                duration_ms: 0,
                status: 0,
                lines: Vec::new(),
            });
        }
    }
    // Back in the selection's order.
    let order = |s: &str| names.iter().position(|n| n == s).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| order(&r.server));
    rows
}

/// A context for the run on `server`: `kea()` is that server, `selection()` the whole
/// selection, output buffered.
fn context(
    runtime: &tokio::runtime::Runtime,
    inventory: &Inventory,
    opts: &FleetOptions,
    names: &[String],
    server: &str,
) -> Arc<RunContext> {
    let mut inventory = inventory.clone();
    inventory.default = server.to_string();
    let ctx = RunContext::new(runtime.handle().clone(), inventory, opts.args.clone())
        .with_timeout(opts.limits.timeout);
    ctx.set_dry_run(opts.dry_run);
    ctx.set_single_peer(opts.single_peer);
    *ctx.selection.lock().expect("selection lock") = names.to_vec();
    Arc::new(ctx)
}

/// Runs the script once on `server` and makes its row.
fn run_one(script: &Script, ctx: Arc<RunContext>, limits: &Limits, server: &str) -> Row {
    let buffer = Arc::new(Buffer::default());
    ctx.set_sink(buffer.clone());
    let started = Instant::now();
    let outcome = run_script(script, ctx.clone(), limits);
    let duration = started.elapsed();
    // A dry run's plan, once per server, with the server's other output; its steps count
    // as the run's changes.
    let plan = ctx.take_plan();
    let planned: usize = plan.iter().map(|p| p.add + p.change + p.delete).sum();
    if !plan.is_empty() {
        ctx.emit(Line::Plan, &crate::script::render_plan(&plan, false));
    }
    let mut lines = buffer.take();
    if let Some(e) = &outcome.error {
        lines.extend(e.lines().map(|l| (Line::Warn, l.to_string())));
    }
    let changes = ctx.changes() + planned;
    let failed = outcome.status != 0;
    Row {
        server: server.to_string(),
        outcome: match (failed, changes) {
            (true, _) => "failed",
            (false, 0) => "ok",
            (false, _) => "changed",
        },
        kind: outcome.kind.clone(),
        message: outcome
            .error
            .as_deref()
            .map(|e| e.trim_start_matches("error: ").to_string())
            .or_else(|| failed.then(|| format!("exit({})", outcome.status))),
        changes,
        duration_ms: duration.as_millis() as u64,
        status: outcome.status,
        lines,
    }
}

/// The result as a table: server, outcome, error kind, changes, duration, and a note (the
/// error's first line, or `covered by NAME`).
pub fn table(rows: &[Row], colour: bool) -> String {
    let head = ["SERVER", "OUTCOME", "KIND", "CHANGES", "DURATION", "NOTE"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.server.clone(),
                r.outcome.to_string(),
                r.kind.clone().unwrap_or_else(|| "-".into()),
                r.changes.to_string(),
                human_duration(Duration::from_millis(r.duration_ms)),
                r.message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .unwrap_or("")
                    .to_string(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, v) in width.iter_mut().zip(c) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |c: &[String; 6], paint_outcome: Option<Paint>| {
        let mut s = String::new();
        for (i, v) in c.iter().enumerate() {
            let pad = width[i].saturating_sub(v.chars().count());
            let shown = match (i, paint_outcome) {
                (1, Some(p)) => term::paint(v, p, colour),
                _ => v.clone(),
            };
            if i == 3 {
                s.push_str(&" ".repeat(pad));
                s.push_str(&shown);
            } else {
                s.push_str(&shown);
                if i + 1 < c.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < c.len() {
                s.push_str("  ");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&head.map(String::from), None);
    for (c, r) in cells.iter().zip(rows) {
        let p = match r.outcome {
            "failed" => Paint::Error,
            "changed" => Paint::Good,
            _ => Paint::Dim,
        };
        out.push_str(&line(c, Some(p)));
    }
    let failed = rows.iter().filter(|r| r.outcome == "failed").count();
    let changed = rows.iter().filter(|r| r.outcome == "changed").count();
    out.push_str(&format!(
        "{} servers: {changed} changed, {} ok, {failed} failed\n",
        rows.len(),
        rows.len() - changed - failed
    ));
    out
}

fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(server: &str, outcome: &'static str, status: u8, changes: usize) -> Row {
        Row {
            server: server.into(),
            outcome,
            kind: (status != 0).then(|| "transport".into()),
            message: (status != 0).then(|| "transport error: unreachable".into()),
            changes,
            duration_ms: 1234,
            status,
            lines: vec![],
        }
    }

    #[test]
    fn the_worst_status_wins_and_success_is_zero() {
        assert_eq!(worst(&[row("a", "ok", 0, 0), row("b", "changed", 0, 2)]), 0);
        assert_eq!(
            worst(&[
                row("a", "failed", 3, 0),
                row("b", "failed", 5, 0),
                row("c", "ok", 0, 0)
            ]),
            5
        );
    }

    #[test]
    fn detailed_exit_status_says_pending_only_when_nothing_failed() {
        assert_eq!(detailed(&[row("a", "ok", 0, 0), row("b", "ok", 0, 0)]), 0);
        assert_eq!(
            detailed(&[row("a", "ok", 0, 0), row("b", "changed", 0, 2)]),
            2
        );
        assert_eq!(
            detailed(&[row("a", "changed", 0, 2), row("b", "failed", 3, 0)]),
            3
        );
        assert_eq!(detailed(&[row("a", "failed", 2, 0)]), 1);
    }

    #[test]
    fn the_table_lines_up_and_sums_up() {
        let t = table(
            &[
                row("edge-1", "changed", 0, 2),
                row("edge-22", "failed", 3, 0),
            ],
            false,
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "SERVER   OUTCOME  KIND       CHANGES  DURATION  NOTE"
        );
        assert_eq!(lines[1], "edge-1   changed  -                2  1.23s");
        assert_eq!(
            lines[2],
            "edge-22  failed   transport        0  1.23s     transport error: unreachable"
        );
        assert_eq!(lines[3], "2 servers: 1 changed, 0 ok, 1 failed");
    }

    #[test]
    fn a_json_row_has_the_documented_keys_only() {
        let v = serde_json::to_value(row("a", "failed", 3, 0)).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "changes",
                "duration_ms",
                "kind",
                "message",
                "outcome",
                "server"
            ]
        );
    }
}
