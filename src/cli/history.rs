//! `keascript history`: the audit trail, newest first.

use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

use crate::kea::audit::{AuditFilter, AuditLog, KINDS};
use crate::kea::redact;
use crate::transport::printable;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this kind of change
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(KINDS))]
    pub kind: Option<String>,
    /// Only changes to this key (a subnet prefix, class name, lease address…)
    #[arg(long)]
    pub key: Option<String>,
    /// Only changes since this time: RFC 3339 (2026-11-28T10:00:00Z) or an age (2h, 3d)
    #[arg(long, value_parser = parse_since)]
    pub since: Option<SystemTime>,
    /// How to print: a table, or one JSON object per line
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// At most this many entries
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
}

fn parse_since(s: &str) -> Result<SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    humantime::parse_duration(s)
        .map(|d: Duration| SystemTime::now() - d)
        .map_err(|_| format!("\"{s}\" is neither a time (2026-11-28T10:00:00Z) nor an age (2h)"))
}

pub fn history(args: HistoryArgs) -> u8 {
    let log = AuditLog::default_log();
    let filter = AuditFilter {
        kind: args.kind,
        key: args.key,
        since: args.since,
    };
    let read = match log.read_all(&filter) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return 1;
        }
    };
    if let Some(w) = read.warning(&log.path) {
        eprintln!("warning: {w}");
    }
    let mut entries = read.entries;
    if let Some(n) = args.limit {
        entries.truncate(n);
    }
    match args.output {
        Output::Json => {
            for e in &entries {
                println!("{}", serde_json::to_string(e).expect("JSON"));
            }
        }
        Output::Table => {
            if entries.is_empty() {
                eprintln!("no changes recorded in {}", log.path.display());
                return 0;
            }
            println!(
                "{:<18} {:<24} {:<10} {:<14} {:<8} {:<10} {:<8} {:<28} OUTCOME",
                "ID", "TIME", "USER", "SERVER", "SERVICE", "KIND", "ACTION", "KEY"
            );
            for e in &entries {
                let mut outcome = match &e.error {
                    Some(err) => format!("{}: {err}", e.outcome),
                    None => e.outcome.clone(),
                };
                if let Some(u) = &e.undoes {
                    outcome.push_str(&format!(" (undoes {u})"));
                }
                // Entries written before keascript made Kea's texts printable may hold
                // terminal controls; an entry never holds a secret, but scrub it anyway.
                let row = format!(
                    "{:<18} {:<24} {:<10} {:<14} {:<8} {:<10} {:<8} {:<28} {}",
                    e.id.as_deref().unwrap_or("-"),
                    e.time,
                    e.user,
                    e.server,
                    e.service.as_deref().unwrap_or("-"),
                    e.kind,
                    e.action,
                    e.key,
                    outcome
                );
                println!("{}", redact::text(&printable(&row)));
            }
        }
    }
    0
}
