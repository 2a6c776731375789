//! The command line: `keascript run`, `lab`, `daemon`, `repl`, `history`, `doctor`,
//! `check`, `call`, `get`, `completions`, `man`; global `-q`/`-v`, `--log`, `--config`.

mod call;
mod check;
mod common;
mod daemon;
mod doctor;
mod examples;
mod fleet;
mod get;
mod history;
mod lab;
mod repl;
mod run;
mod shell;
// Taking changes back: snapshots, restore, undo, commit-confirmed.
mod confirm;
mod snapshots;
mod undo;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Automate ISC Kea DHCP servers with Rhai scripts.
#[derive(Debug, Parser)]
#[command(
    name = "keascript",
    version,
    about,
    propagate_version = true,
    after_help = examples::TOP
)]
pub struct Cli {
    /// Inventory file (default: $KEASCRIPT_CONFIG, ~/.config/keascript/keascript.toml,
    /// /etc/keascript/keascript.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log level or filter for messages on stderr: a level (error, warn, info, debug, trace,
    /// off) or TARGET=LEVEL items separated by commas (e.g. warn,keascript=debug); `warn` by
    /// default, `info` for the daemon
    #[arg(long, global = true, env = "KEASCRIPT_LOG")]
    pub log: Option<String>,

    /// Say less: no notes or progress lines, only errors and what the command prints
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more: -v logs at info, -vv at debug (when --log is not given)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a script against Kea
    #[command(after_help = examples::RUN)]
    Run(run::RunArgs),
    /// Start a local Kea lab (kea-dhcp4, kea-dhcp6, kea-ctrl-agent) until Ctrl-C
    #[command(after_help = examples::LAB)]
    Lab(lab::LabArgs),
    /// Run a script's triggers (file changes, timers) until stopped
    #[command(after_help = examples::DAEMON)]
    Daemon(daemon::DaemonArgs),
    /// Explore and operate Kea interactively
    #[command(after_help = examples::REPL)]
    Repl(repl::ReplArgs),
    /// Show the audit trail of changes made through keascript, newest first
    #[command(after_help = examples::HISTORY)]
    History(history::HistoryArgs),
    /// Diagnose servers: reachability, credentials, version, hooks, HA peers, whether a
    /// change can be persisted; each finding with its fix
    #[command(after_help = examples::DOCTOR)]
    Doctor(doctor::DoctorArgs),
    /// Check a script without running it: syntax, every function and trigger body, imports,
    /// unknown API functions, argument counts, unknown server names; contacts no server
    #[command(after_help = examples::CHECK)]
    Check(check::CheckArgs),
    /// Send one command to Kea (kea-shell's job, with the inventory's credentials and TLS)
    /// and print its answer as JSON
    #[command(after_help = examples::CALL)]
    Call(call::CallArgs),
    /// Show subnets, classes, options, reservations, leases, HA state or statistics
    #[command(after_help = examples::GET)]
    Get(get::GetArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = examples::COMPLETIONS)]
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff) of keascript
    #[command(after_help = examples::MAN)]
    Man,
    /// List the configurations kept before keascript replaced them (newest first)
    #[command(after_help = examples::SNAPSHOTS)]
    Snapshots(snapshots::SnapshotsArgs),
    /// Put a snapshot back through the edit pipeline (every HA peer from its own snapshot)
    #[command(after_help = examples::RESTORE)]
    Restore(undo::RestoreArgs),
    /// Revert one recorded change (its id from `keascript history`)
    #[command(after_help = examples::UNDO)]
    Undo(undo::UndoArgs),
    /// Keep the changes of a `run --confirm` (default: every pending change of this user)
    #[command(after_help = examples::CONFIRM)]
    Confirm(confirm::ConfirmArgs),
    /// Revert the changes of a `run --confirm` now (default: every pending change of this user)
    #[command(after_help = examples::ROLLBACK)]
    Rollback(confirm::ConfirmArgs),
    /// The detached process that reverts a `run --confirm` when its window ends (internal)
    #[command(hide = true)]
    RevertTimer(confirm::TimerArgs),
}

/// Parses the command line, runs the command, and returns its exit status.
///
/// The command runs on a thread with [`crate::script::SCRIPT_STACK_SIZE`] of stack: scripts
/// run there (`run`, the REPL), and Rhai recurses on nested values.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Under `run --detailed-exitcode`, 2 means "changes pending": a usage error is 1.
            let detailed = std::env::args_os()
                .take_while(|a| a != "--")
                .any(|a| a == "--detailed-exitcode");
            return ExitCode::from(match e.exit_code() {
                2 if detailed => 1,
                code => u8::try_from(code).unwrap_or(2),
            });
        }
    };
    crate::term::set_verbosity(cli.quiet, cli.verbose);
    if let Some(filter) = &cli.log
        && let Err(e) = check_log_filter(filter)
    {
        eprintln!("error: --log (or KEASCRIPT_LOG) {filter:?}: {e}");
        return ExitCode::from(2);
    }
    let on_big_stack = std::thread::Builder::new()
        .name("keascript".into())
        .stack_size(crate::script::SCRIPT_STACK_SIZE)
        .spawn(move || command(cli));
    match on_big_stack.map(|t| t.join()) {
        Ok(Ok(status)) => ExitCode::from(status),
        // The panic has been reported on stderr.
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("error: cannot start the main thread: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the parsed command; returns its exit status.
fn command(cli: Cli) -> u8 {
    // The daemon sets up its own log (journald or JSON lines, `info` by default).
    if !matches!(cli.command, Command::Daemon(_)) {
        init_logging(
            cli.log
                .as_deref()
                .unwrap_or(default_level(cli.quiet, cli.verbose)),
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    // A change whose revert timer died waits for someone to decide: say so.
    if !matches!(
        cli.command,
        Command::Confirm(_) | Command::Rollback(_) | Command::RevertTimer(_)
    ) {
        confirm::warn_orphans();
    }
    match cli.command {
        Command::Run(args) => run::run(&runtime, cli.config.as_deref(), args),
        Command::Lab(args) => lab::lab(&runtime, args),
        Command::Daemon(args) => {
            // The daemon logs at info by default: -v makes it debug.
            let log = cli
                .log
                .clone()
                .or_else(|| (cli.verbose > 0).then(|| "debug".to_string()));
            daemon::daemon(&runtime, cli.config.as_deref(), log.as_deref(), args)
        }
        Command::Repl(args) => repl::repl(&runtime, cli.config.as_deref(), args),
        Command::History(args) => history::history(args),
        Command::Doctor(args) => doctor::doctor(&runtime, cli.config.as_deref(), args),
        Command::Check(args) => check::check(&runtime, cli.config.as_deref(), args),
        Command::Call(args) => call::call(&runtime, cli.config.as_deref(), args),
        Command::Get(args) => get::get(&runtime, cli.config.as_deref(), args),
        Command::Completions(args) => shell::completions(args),
        Command::Man => shell::man(),
        Command::Snapshots(args) => snapshots::snapshots(args),
        Command::Restore(args) => undo::restore(&runtime, cli.config.as_deref(), args),
        Command::Undo(args) => undo::undo(&runtime, cli.config.as_deref(), args),
        Command::Confirm(args) => confirm::confirm(args),
        Command::Rollback(args) => confirm::rollback(args),
        Command::RevertTimer(args) => confirm::revert_timer(&runtime, args),
    }
}

/// The log level when `--log` is not given: `warn`, `info` with `-v`, `debug` with `-vv`,
/// `error` with `-q`.
pub fn default_level(quiet: bool, verbose: u8) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    }
}

/// Log levels as `--log` takes them alone.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Whether `filter` is a log filter keascript understands. tracing would take any word as
/// the name of a target (`--log verbose` would log nothing at all), so a word alone must
/// be a level or one of keascript's own targets; `TARGET=LEVEL` names any target.
pub fn check_log_filter(filter: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::builder()
        .with_regex(false)
        .parse(filter)
        .map_err(|e| {
            format!(
                "{e}; write a level ({}) or TARGET=LEVEL items separated by commas",
                LEVELS.join(", ")
            )
        })?;
    for item in filter.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if item.contains('=') || item.contains('[') {
            continue;
        }
        let word = item.to_ascii_lowercase();
        if LEVELS.contains(&word.as_str())
            || word == "keascript"
            || word.starts_with("keascript::")
            || word == "script"
        {
            continue;
        }
        return Err(format!(
            "{item:?} is not a level ({}); write e.g. --log debug or --log keascript=debug",
            LEVELS.join(", ")
        ));
    }
    Ok(())
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::daemon::logging::ScrubbedStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
