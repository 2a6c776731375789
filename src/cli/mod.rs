//! The command line: `keascript run`, `keascript lab`.

mod common;
mod daemon;
mod doctor;
mod history;
mod lab;
mod repl;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Automate ISC Kea DHCP servers with Rhai scripts.
#[derive(Debug, Parser)]
#[command(name = "keascript", version, about, propagate_version = true)]
pub struct Cli {
    /// Inventory file (default: $KEASCRIPT_CONFIG, ~/.config/keascript/keascript.toml,
    /// /etc/keascript/keascript.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log level or filter for messages on stderr (e.g. warn, info, keascript=debug);
    /// `warn` by default, `info` for the daemon
    #[arg(long, global = true, env = "KEASCRIPT_LOG")]
    pub log: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a script against Kea
    Run(run::RunArgs),
    /// Start a local Kea lab (kea-dhcp4, kea-dhcp6, kea-ctrl-agent) until Ctrl-C
    Lab(lab::LabArgs),
    /// Run a script's triggers (file changes, timers) until stopped
    Daemon(daemon::DaemonArgs),
    /// Explore and operate Kea interactively
    Repl(repl::ReplArgs),
    /// Show the audit trail of changes made through keascript, newest first
    History(history::HistoryArgs),
    /// Diagnose servers: reachability, credentials, version, hooks, HA peers, whether a
    /// change can be persisted; each finding with its fix
    Doctor(doctor::DoctorArgs),
}

/// Parses the command line, runs the command, and returns its exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon sets up its own log (journald or JSON lines, `info` by default).
    if !matches!(cli.command, Command::Daemon(_)) {
        init_logging(cli.log.as_deref().unwrap_or("warn"));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let status = match cli.command {
        Command::Run(args) => run::run(&runtime, cli.config.as_deref(), args),
        Command::Lab(args) => lab::lab(&runtime, args),
        Command::Daemon(args) => {
            daemon::daemon(&runtime, cli.config.as_deref(), cli.log.as_deref(), args)
        }
        Command::Repl(args) => repl::repl(&runtime, cli.config.as_deref(), args),
        Command::History(args) => history::history(args),
        Command::Doctor(args) => doctor::doctor(&runtime, cli.config.as_deref(), args),
    };
    ExitCode::from(status)
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
