//! `keascript run SCRIPT [-- ARGS]`, optionally against a fresh lab (`--lab`), or across a
//! fleet (`--all`, `--tag`, `--servers`: see `cli::fleet`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::kea::Inventory;
use crate::kea::fleet::Selector;
use crate::script::{RunContext, Script, run_file};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Rhai script to run (`-`: read it from standard input)
    pub script: PathBuf,

    /// Start a disposable local Kea lab, run the script against it, then stop it
    #[arg(long)]
    pub lab: bool,

    /// The inventory server `kea()` returns (default: the inventory's `default`)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["all", "tag", "servers"])]
    pub server: Option<String>,

    /// Fleet run: run the script once on every inventory server (see --parallel, --output)
    #[arg(long, group = "fleet")]
    pub all: bool,

    /// Fleet run: on every inventory server whose `tags` hold TAG
    #[arg(long, value_name = "TAG", group = "fleet")]
    pub tag: Option<String>,

    /// Fleet run: on every inventory server whose name matches GLOB (e.g. 'edge-*')
    #[arg(long, value_name = "GLOB", group = "fleet")]
    pub servers: Option<String>,

    /// Fleet run: at most N servers at a time
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// Fleet run: the result as a table, or one JSON object per server and line
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: super::fleet::Output,

    /// Deadline for the whole run, Kea calls included (e.g. 30s, 10m; 0 = none)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::common::parse_timeout)]
    pub timeout: Duration,

    /// Change nothing: mutations are staged (later steps see earlier ones) and one plan per
    /// server/service is printed at the end (steps, diff, `N to add, N to change, N to delete`)
    #[arg(long)]
    pub dry_run: bool,

    /// Exit 0 when nothing is left to change, 2 when changes are pending (a dry run's plan
    /// is not empty, or a real run changed something; in a fleet run, on any server and
    /// none failed); errors keep their status (1, 3–6)
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// While an HA peer is down, let changes go to the reachable peers only (with a warning)
    #[arg(long)]
    pub single_peer: bool,

    /// Stop the script after this many Rhai operations (default 1000000000; 0 = no limit)
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,

    /// Stop the script when it holds more memory than this (e.g. 512M, 4G; 0 = no limit)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = super::common::parse_memory)]
    pub max_memory: usize,

    /// Commit-confirmed: revert every change of the run when this window ends (e.g. 5m)
    /// unless `keascript confirm` keeps them
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, conflicts_with_all = ["lab", "dry_run"])]
    pub confirm: Option<Duration>,

    /// With --confirm: a check script run every --health-interval during the window; the
    /// changes are reverted at once when it fails
    #[arg(long, value_name = "CHECK.rhai", requires = "confirm")]
    pub health: Option<PathBuf>,

    /// How often --health runs
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub health_interval: Duration,

    /// Arguments for the script (`args` in the script), after `--`
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// The status of a usage error (one `--detailed-exitcode` turns into 1: there, 2 means
/// "changes pending" and nothing else).
pub(super) const USAGE: u8 = 2;
/// The fleet a run takes (`--all`, `--tag`, `--servers`), if it is a fleet run.
fn fleet_selector(args: &RunArgs) -> Option<Selector> {
    if args.all {
        Some(Selector::All)
    } else if let Some(t) = &args.tag {
        Some(Selector::Tag(t.clone()))
    } else {
        args.servers.clone().map(Selector::Names)
    }
}

pub fn run(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: RunArgs) -> u8 {
    let usage = if args.detailed_exitcode { 1 } else { USAGE };
    // `-`: the script comes from standard input (read now, before anything starts).
    let from_stdin = args.script.as_os_str() == "-";
    let stdin_source = if from_stdin {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read the script from standard input: {e}");
            return usage;
        }
        Some(text)
    } else {
        None
    };
    if let (false, Err(e)) = (from_stdin, super::common::check_script(&args.script)) {
        eprintln!("error: {e}");
        return usage;
    }
    if let Some(Err(e)) = args.health.as_deref().map(super::common::check_script) {
        eprintln!("error: --health: {e}");
        return 2;
    }
    let mut lab = None;
    let inventory = if args.lab {
        let Some((l, inventory)) = super::common::start_lab(runtime, "") else {
            return 1;
        };
        lab = Some(l);
        inventory
    } else {
        Inventory::discover(config)
    };
    let mut inventory = match inventory {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return usage;
        }
    };
    if let Err(e) = super::common::select_server(&mut inventory, args.server.as_deref()) {
        eprintln!("error: {e}");
        return usage;
    }
    let limits = super::common::limits(args.timeout, args.max_operations, args.max_memory);
    if let Some(selector) = fleet_selector(&args) {
        // Commit-confirmed arms one revert timer for one run; a fleet has one run per
        // server (not built: say so rather than ignore it).
        if args.confirm.is_some() {
            eprintln!(
                "error: --confirm cannot be used with --all, --tag or --servers (a fleet run)"
            );
            return usage;
        }
        let script = match &stdin_source {
            Some(text) => Script::from_text(text, "stdin", None),
            None => match Script::from_file(&args.script) {
                Ok(s) => s,
                Err(o) => {
                    eprintln!("{}", o.error.unwrap_or_default());
                    return o.status;
                }
            },
        };
        let opts = super::fleet::FleetOptions {
            selector,
            parallel: args.parallel.into(),
            output: args.output,
            dry_run: args.dry_run,
            single_peer: args.single_peer,
            limits,
            args: args.args,
            detailed_exitcode: args.detailed_exitcode,
        };
        let status = super::fleet::run(runtime, inventory, script, opts);
        drop(lab);
        return status;
    }
    let ctx = Arc::new(
        RunContext::new(runtime.handle().clone(), inventory, args.args)
            .with_timeout(limits.timeout),
    );
    ctx.set_dry_run(args.dry_run);
    ctx.set_single_peer(args.single_peer);
    // Ctrl-C or SIGTERM stops the script (and a Kea call in flight) so the lab, if any,
    // is torn down properly.
    let on_signal = ctx.clone();
    let ctx_for_confirm = ctx.clone();
    let watcher = runtime.spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        on_signal.cancel();
    });
    let outcome = match &stdin_source {
        // Imports of plain files resolve from the working directory.
        Some(text) => crate::script::run_source(text, "stdin", None, ctx.clone(), &limits),
        None => run_file(&args.script, ctx.clone(), &limits),
    };
    watcher.abort();
    // A dry run's plan, once, at the end (also when the script failed: what it planned
    // until then).
    let plan = ctx.take_plan();
    if !plan.is_empty() {
        print!(
            "{}",
            crate::script::render_plan(&plan, crate::term::colour_stdout())
        );
    }
    if let Some(msg) = &outcome.error {
        eprintln!("{msg}");
    }
    drop(lab);
    let pending = crate::kea::edit::plan::pending(&plan) || ctx.changes_made() > 0;
    let status = match outcome.status {
        0 if args.detailed_exitcode && pending => 2,
        // 2 means "pending" under --detailed-exitcode, and nothing else.
        USAGE if args.detailed_exitcode => 1,
        status => status,
    };
    if let Some(window) = args.confirm {
        let armed = super::confirm::arm(
            &ctx_for_confirm,
            &args.script.display().to_string(),
            window,
            args.health.as_deref(),
            args.health_interval,
        );
        return status.max(armed);
    }
    status
}
