//! `keascript run SCRIPT [-- ARGS]`, optionally against a fresh lab (`--lab`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::kea::Inventory;
use crate::script::{RunContext, run_file};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Rhai script to run (`-`: read it from standard input)
    pub script: PathBuf,

    /// Start a disposable local Kea lab, run the script against it, then stop it
    #[arg(long)]
    pub lab: bool,

    /// The inventory server `kea()` returns (default: the inventory's `default`)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// Deadline for the whole run, Kea calls included (e.g. 30s, 10m; 0 = none)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::common::parse_timeout)]
    pub timeout: Duration,

    /// Change nothing: every mutation prints its diff and the commands it would send
    #[arg(long)]
    pub dry_run: bool,

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

pub fn run(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: RunArgs) -> u8 {
    // `-`: the script comes from standard input (read now, before anything starts).
    let from_stdin = args.script.as_os_str() == "-";
    let stdin_source = if from_stdin {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read the script from standard input: {e}");
            return 2;
        }
        Some(text)
    } else {
        None
    };
    if let (false, Err(e)) = (from_stdin, super::common::check_script(&args.script)) {
        eprintln!("error: {e}");
        return 2;
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
            return 2;
        }
    };
    if let Err(e) = super::common::select_server(&mut inventory, args.server.as_deref()) {
        eprintln!("error: {e}");
        return 2;
    }
    let limits = super::common::limits(args.timeout, args.max_operations, args.max_memory);
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
        Some(text) => crate::script::run_source(text, "stdin", None, ctx, &limits),
        None => run_file(&args.script, ctx, &limits),
    };
    watcher.abort();
    if let Some(msg) = &outcome.error {
        eprintln!("{msg}");
    }
    drop(lab);
    if let Some(window) = args.confirm {
        let armed = super::confirm::arm(
            &ctx_for_confirm,
            &args.script.display().to_string(),
            window,
            args.health.as_deref(),
            args.health_interval,
        );
        return outcome.status.max(armed);
    }
    outcome.status
}
