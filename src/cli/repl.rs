//! `keascript repl [--server NAME | --lab]`: an interactive session (see [`crate::repl`]).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use crate::kea::Inventory;
use crate::lab::Lab;
use crate::script::RunContext;

#[derive(Debug, Args)]
pub struct ReplArgs {
    /// Start a disposable local Kea lab for the session and stop it at the end
    #[arg(long)]
    pub lab: bool,

    /// The inventory server `kea()` returns (default: the inventory's `default`)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// Deadline for each statement, Kea calls included (e.g. 30s, 10m; 0 = none)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::common::parse_timeout)]
    pub timeout: Duration,

    /// Start in dry-run mode (`:dry-run off` leaves it)
    #[arg(long)]
    pub dry_run: bool,

    /// Stop a statement after this many Rhai operations (default 1000000000; 0 = no limit)
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,

    /// Stop a statement that takes more memory than this (e.g. 512M, 4G; 0 = no limit)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = super::common::parse_memory)]
    pub max_memory: usize,
}

pub fn repl(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: ReplArgs) -> u8 {
    let lab: Arc<Mutex<Option<Lab>>> = Arc::new(Mutex::new(None));
    let inventory = if args.lab {
        let Some((l, inventory)) =
            super::common::start_lab(runtime, "; it stops when the REPL ends")
        else {
            return 1;
        };
        *lab.lock().expect("lab lock") = Some(l);
        inventory
    } else {
        Inventory::discover(config)
    };
    let stop_lab = {
        let lab = lab.clone();
        move || {
            if let Some(l) = lab.lock().expect("lab lock").take() {
                eprintln!("stopping the lab");
                drop(l);
            }
        }
    };
    let mut inventory = match inventory {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}", e.message);
            stop_lab();
            return 2;
        }
    };
    if let Err(e) = super::common::select_server(&mut inventory, args.server.as_deref()) {
        eprintln!("error: {e}");
        stop_lab();
        return 2;
    }
    let limits = super::common::limits(args.timeout, args.max_operations, args.max_memory);
    let ctx = Arc::new(
        RunContext::new(runtime.handle().clone(), inventory, vec![]).with_timeout(limits.timeout),
    );
    ctx.set_dry_run(args.dry_run);
    // Changes made at the REPL (or piped into it) are audited as the REPL's.
    ctx.set_script_name("repl");
    let stop_lab = Arc::new(stop_lab);
    let status = crate::repl::run(runtime.handle(), ctx, limits, stop_lab.clone());
    stop_lab();
    status
}
