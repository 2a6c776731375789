//! `keascript daemon SCRIPT [-- ARGS]`: runs the script once to register its triggers,
//! then runs them until SIGINT/SIGTERM; SIGHUP reloads the script.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::daemon::{DaemonOptions, LogFormat, Setup};
use crate::kea::Inventory;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// One line per event; journald priorities under systemd
    Plain,
    /// One JSON object per line
    Json,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The Rhai script that registers triggers
    pub script: PathBuf,

    /// The inventory server `kea()` returns (default: the inventory's `default`)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// Quiet time after a burst of file events before an on_change trigger runs
    #[arg(long, value_name = "DURATION", default_value = "300ms", value_parser = super::common::parse_timeout)]
    pub debounce: Duration,

    /// Deadline for each run of a trigger, Kea calls included (0 = none)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = super::common::parse_timeout)]
    pub timeout: Duration,

    /// At SIGTERM/SIGINT/SIGHUP, how long runs in flight may go on before they are cancelled
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::common::parse_timeout)]
    pub shutdown_timeout: Duration,

    /// Stop a run after this many Rhai operations (default 1000000000; 0 = no limit)
    #[arg(long, value_name = "N")]
    pub max_operations: Option<u64>,

    /// Stop a run that takes more memory than this (e.g. 512M, 4G; 0 = no limit)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = super::common::parse_memory)]
    pub max_memory: usize,

    /// Change nothing: every mutation logs its diff and the commands it would send
    #[arg(long)]
    pub dry_run: bool,

    /// Log line format on stderr
    #[arg(long, value_enum, default_value = "plain")]
    pub log_format: LogFormatArg,

    /// Arguments for the script (`args` in the script), after `--`
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// Runs the daemon; `log` is `--log`/`$KEASCRIPT_LOG` (`info` when not given: a daemon
/// reports its runs, `keascript run` stays quiet by default).
pub fn daemon(
    runtime: &tokio::runtime::Runtime,
    config: Option<&Path>,
    log: Option<&str>,
    args: DaemonArgs,
) -> u8 {
    let format = match args.log_format {
        LogFormatArg::Plain => LogFormat::Plain,
        LogFormatArg::Json => LogFormat::Json,
    };
    let dispatch = crate::daemon::dispatch(log.unwrap_or("info"), format);
    tracing::dispatcher::with_default(&dispatch, || daemon_inner(runtime, config, args, &dispatch))
}

fn daemon_inner(
    runtime: &tokio::runtime::Runtime,
    config: Option<&Path>,
    args: DaemonArgs,
    dispatch: &tracing::Dispatch,
) -> u8 {
    if let Err(e) = super::common::check_script(&args.script) {
        tracing::error!("error: {e}");
        return 2;
    }
    let mut inventory = match Inventory::discover(config) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!("error: {}", e.message);
            return 2;
        }
    };
    if let Err(e) = super::common::select_server(&mut inventory, args.server.as_deref()) {
        tracing::error!("error: {e}");
        return 2;
    }
    let limits = super::common::limits(args.timeout, args.max_operations, args.max_memory);
    // Absolute, so a script that changes nothing about the working directory still finds
    // its imports after a reload.
    let script = std::path::absolute(&args.script).unwrap_or(args.script.clone());
    let opts = DaemonOptions {
        setup: Setup {
            handle: runtime.handle().clone(),
            inventory,
            args: args.args,
            limits,
            dry_run: args.dry_run,
            script,
            dispatch: dispatch.clone(),
        },
        debounce: args.debounce,
        grace: args.shutdown_timeout,
    };
    crate::daemon::run(runtime, opts)
}
