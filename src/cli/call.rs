//! `keascript call [--server NAME] COMMAND [--service dhcp4] [JSON]`: one command to Kea,
//! kea-shell's job with the inventory's credentials, TLS and timeouts. Prints Kea's whole
//! answer as JSON (secrets redacted); the exit status follows the answer's result.

use std::path::Path;

use clap::Args;
use serde_json::Value;

use crate::kea::{ErrorKind, KeaError, redact};

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The Kea command (e.g. config-get, lease4-get, statistic-get-all)
    pub command: String,

    /// The command's arguments: a JSON object
    pub arguments: Option<String>,

    /// The inventory server to send it to (default: the inventory's default)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// The daemon the command is for, through the Control Agent (dhcp4, dhcp6, d2);
    /// `--service ''` sends it to the Control Agent itself
    #[arg(long, value_name = "SERVICE", default_value = "dhcp4")]
    pub service: String,
}

pub fn call(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: CallArgs) -> u8 {
    let arguments = match args.arguments.as_deref().map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(v @ Value::Object(_))) => Some(v),
        Some(Ok(other)) => {
            eprintln!("error: the arguments must be a JSON object ({{...}}), not {other}");
            return 2;
        }
        Some(Err(e)) => {
            eprintln!("error: the arguments are not JSON: {e}");
            return 2;
        }
    };
    let server = match super::common::inventory_server(runtime, config, args.server.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let service = Some(args.service.as_str()).filter(|s| !s.is_empty());
    let waiting = format!("waiting for {}…", server.name());
    let answer = super::common::block_with_progress(
        runtime,
        &waiting,
        server.answer(&args.command, service, arguments),
    );
    match answer {
        Ok(a) => {
            let mut whole = serde_json::Map::new();
            whole.insert("result".into(), a.result.into());
            if let Some(t) = &a.text {
                whole.insert("text".into(), Value::String(t.clone()));
            }
            if let Some(v) = &a.arguments {
                whole.insert("arguments".into(), v.clone());
            }
            let shown = redact::value(&Value::Object(whole));
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).unwrap_or_else(|_| shown.to_string())
            );
            match KeaError::from_answer(&a) {
                None => 0,
                // "empty" (result 3) is an answer, not a failure.
                Some(e) if e.kind == ErrorKind::NotFound => 0,
                Some(e) => {
                    eprintln!("error: {}: {}", e.kind.as_str(), redact::text(&e.message));
                    e.kind.exit_status()
                }
            }
        }
        Err(e) => {
            eprintln!("error: {}", redact::text(&e.to_string()));
            e.kind.exit_status()
        }
    }
}
