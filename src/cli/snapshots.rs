//! `keascript snapshots`: the configurations kept before keascript replaced them.

use clap::Args;

use super::history::Output;
use crate::kea::snapshots::Store;

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// Only the snapshots of this inventory server
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,
    /// How to print: a table, or one JSON object per line
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

pub fn snapshots(args: SnapshotsArgs) -> u8 {
    let store = Store::default_store();
    let list = match store.list(args.server.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return 1;
        }
    };
    match args.output {
        Output::Json => {
            for s in list.iter().rev() {
                println!("{}", serde_json::to_string(s).expect("JSON"));
            }
        }
        Output::Table => {
            if list.is_empty() {
                eprintln!(
                    "no snapshots kept{} (one is kept before each change keascript makes)",
                    args.server
                        .as_deref()
                        .map(|s| format!(" of {s}"))
                        .unwrap_or_default()
                );
                return 0;
            }
            println!(
                "{:<12} {:<24} {:<14} {:<8} {:<18} {:>9}  FILE COPY",
                "ID", "TIME", "SERVER", "SERVICE", "CHANGE", "SIZE"
            );
            for s in list.iter().rev() {
                let file = s
                    .file
                    .as_ref()
                    .map(|f| format!("{} ({} bytes)", f.path, f.size))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<12} {:<24} {:<14} {:<8} {:<18} {:>9}  {}",
                    s.short_id(),
                    s.time,
                    s.server,
                    s.service,
                    s.change.as_deref().unwrap_or("-"),
                    s.size,
                    file
                );
            }
        }
    }
    0
}
