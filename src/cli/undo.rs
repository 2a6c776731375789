//! `keascript undo ID` and `keascript restore --server NAME SNAPSHOT`: take a change back
//! through the edit pipeline (diff, dry run, HA peers, audit).

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use rhai::EvalAltResult;

use crate::kea::Inventory;
use crate::script::{Limits, RunContext, describe_error, exit_status_of};

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The change's id (the first column of `keascript history`)
    pub id: String,
    /// Change nothing: print the diff and the commands that would be sent
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The inventory server whose snapshot to put back
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// The service, when the id names snapshots of both
    #[arg(long, value_name = "SERVICE", value_parser = ["dhcp4", "dhcp6"])]
    pub service: Option<String>,
    /// The snapshot: its id (or a prefix of at least 4 characters) from `keascript
    /// snapshots`, or the id of the change it was taken before
    pub snapshot: String,
    /// Change nothing: print the diff and the commands that would be sent
    #[arg(long)]
    pub dry_run: bool,
}

/// A run context for a command that changes servers outside a script.
pub fn context(
    runtime: &tokio::runtime::Runtime,
    config: Option<&Path>,
    what: &str,
) -> Result<Arc<RunContext>, u8> {
    let inventory = Inventory::discover(config).map_err(|e| {
        eprintln!("error: {}", e.message);
        2u8
    })?;
    let ctx = Arc::new(RunContext::new(
        runtime.handle().clone(),
        inventory,
        Vec::new(),
    ));
    ctx.set_script_name(what);
    Ok(ctx)
}

/// Prints an error and returns its exit status.
pub fn fail(err: &EvalAltResult, what: &str) -> u8 {
    eprintln!("{}", describe_error(err, what, &Limits::default()));
    exit_status_of(err)
}

pub fn undo(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: UndoArgs) -> u8 {
    let ctx = match context(runtime, config, &format!("undo {}", args.id)) {
        Ok(c) => c,
        Err(s) => return s,
    };
    ctx.set_dry_run(args.dry_run);
    match crate::script::undo_change(&ctx, &args.id) {
        Ok(v) => {
            if !args.dry_run {
                eprintln!(
                    "change {} undone on {}/{} (new change {})",
                    args.id,
                    v["server"].as_str().unwrap_or("?"),
                    v["service"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("-")
                );
            }
            0
        }
        Err(e) => fail(&e, "undo"),
    }
}

pub fn restore(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: RestoreArgs) -> u8 {
    let ctx = match context(runtime, config, &format!("restore {}", args.snapshot)) {
        Ok(c) => c,
        Err(s) => return s,
    };
    if let Err(e) = ctx.inventory.get(&args.server) {
        eprintln!("error: {}", e.message);
        return 2;
    }
    ctx.set_dry_run(args.dry_run);
    match crate::script::restore_snapshot(
        &ctx,
        &args.server,
        args.service.as_deref(),
        &args.snapshot,
    ) {
        Ok(lines) => {
            for l in lines {
                eprintln!("{l}");
            }
            0
        }
        Err(e) => fail(&e, "restore"),
    }
}
