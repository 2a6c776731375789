//! `keascript doctor`: diagnose the inventory's servers, each finding with its fix.

use std::path::Path;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::kea::doctor::{Finding, Status, diagnose};
use crate::kea::{Inventory, Server};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The inventory server to diagnose (default: the inventory's default)
    #[arg(long, conflicts_with = "all")]
    pub server: Option<String>,
    /// Every server of the inventory
    #[arg(long)]
    pub all: bool,
    /// A table, or one JSON object per finding and line
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

/// Exit status: 0 clean, 1 a problem found, 3 no server could be reached, 2 usage.
pub fn doctor(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: DoctorArgs) -> u8 {
    let inventory = match Inventory::discover(config) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return 2;
        }
    };
    let names: Vec<String> = if args.all {
        inventory.servers.keys().cloned().collect()
    } else {
        let n = args
            .server
            .clone()
            .unwrap_or_else(|| inventory.default.clone());
        if !inventory.servers.contains_key(&n) {
            eprintln!(
                "error: no server \"{n}\" in the inventory (known: {})",
                inventory
                    .servers
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return 2;
        }
        vec![n]
    };
    let mut findings: Vec<Finding> = Vec::new();
    for name in &names {
        let entry = inventory.servers[name].clone();
        let server = runtime.block_on(async { Server::from_entry(name, &entry) });
        match server {
            Ok(s) => {
                findings.extend(runtime.block_on(diagnose(name, Arc::new(s), &inventory)));
            }
            Err(e) => findings.push(Finding {
                server: name.clone(),
                service: None,
                check: "inventory",
                status: Status::Problem,
                message: e.message,
                fix: Some("correct the inventory entry".into()),
            }),
        }
    }
    match args.output {
        Output::Json => {
            for f in &findings {
                println!("{}", serde_json::to_string(f).expect("JSON"));
            }
        }
        Output::Table => {
            for f in &findings {
                let who = match &f.service {
                    Some(s) => format!("{}/{s}", f.server),
                    None => f.server.clone(),
                };
                let mark = match f.status {
                    Status::Ok => "ok     ",
                    Status::Warning => "warning",
                    Status::Problem => "PROBLEM",
                };
                println!("{mark}  {who:<20} {:<9} {}", f.check, f.message);
                if let Some(fix) = &f.fix {
                    println!("         {:<20} {:<9} fix: {fix}", "", "");
                }
            }
        }
    }
    let reachable = findings
        .iter()
        .any(|f| f.check == "reachable" && f.status == Status::Ok);
    if !reachable {
        3
    } else if findings.iter().any(|f| f.status == Status::Problem) {
        1
    } else {
        0
    }
}
