//! `keascript get subnets|classes|options|reservations|leases|ha|stats`: what a server has,
//! as a table (colour headings on a terminal) or as JSON, read-only.

use std::path::Path;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::kea::config::{ConfigDoc, Family};
use crate::kea::edit::read_config;
use crate::kea::leases::LeasePager;
use crate::kea::{KeaError, Service, redact};
use crate::term::{Paint, Progress, colour_stdout, paint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// Subnets: id, prefix, pools, shared network, classes
    Subnets,
    /// Client classes: name and test
    Classes,
    /// Option data at every level (global, subnet, pool, class)
    Options,
    /// Host reservations in the configuration (global and per subnet)
    Reservations,
    /// Every lease (walked page by page)
    Leases,
    /// The HA state from status-get
    Ha,
    /// Lease statistics per subnet (stat_cmds)
    Stats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to show
    #[arg(value_enum)]
    pub what: What,

    /// The inventory server to read (default: the inventory's default)
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// The DHCP service: dhcp4 or dhcp6
    #[arg(long, value_name = "SERVICE", default_value = "dhcp4")]
    pub service: String,

    /// How to print: a table, or JSON
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

pub fn get(runtime: &tokio::runtime::Runtime, config: Option<&Path>, args: GetArgs) -> u8 {
    let server = match super::common::inventory_server(runtime, config, args.server.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let svc = match Service::new(server.clone(), &args.service) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return 2;
        }
    };
    let waiting = format!("waiting for {}…", server.name());
    let rows = match args.what {
        What::Leases => leases(runtime, &svc),
        What::Ha => super::common::block_with_progress(runtime, &waiting, async {
            crate::kea::ha::status(&svc)
                .await
                .map(|s| s.into_iter().collect::<Vec<_>>())
        }),
        What::Stats => {
            super::common::block_with_progress(runtime, &waiting, crate::kea::stats::stats(&svc))
        }
        what => super::common::block_with_progress(runtime, &waiting, read_config(&svc))
            .map(|doc| from_config(what, &doc)),
    };
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", redact::text(&e.to_string()));
            return e.kind.exit_status();
        }
    };
    let rows: Vec<Value> = rows.iter().map(redact::value).collect();
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        ),
        Output::Table => print!("{}", table(args.what, &rows, colour_stdout())),
    }
    0
}

/// Walks every lease, a spinner counting them on a terminal.
fn leases(runtime: &tokio::runtime::Runtime, svc: &Service) -> Result<Vec<Value>, KeaError> {
    let progress = Progress::spinner(&format!("reading the leases of {}", svc.server.name()));
    let mut pager = LeasePager::new(svc.clone(), None);
    let mut out = Vec::new();
    runtime.block_on(async {
        while let Some(l) = pager.next().await? {
            out.push(l);
            if out.len() % 1000 == 0 {
                progress.set_message(&format!(
                    "reading the leases of {}: {}",
                    svc.server.name(),
                    out.len()
                ));
            }
        }
        Ok::<_, KeaError>(())
    })?;
    progress.finish();
    Ok(out)
}

/// The rows of a configuration-based listing.
fn from_config(what: What, doc: &ConfigDoc) -> Vec<Value> {
    let mut rows = Vec::new();
    let family = doc.family;
    let s = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    match what {
        What::Subnets => {
            for loc in doc.subnet_locs() {
                let sub = doc.subnet(loc);
                let pools: Vec<Value> = sub
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get("pool").cloned())
                    .collect();
                rows.push(json!({
                    "id": s(sub.get("id")),
                    "subnet": s(sub.get("subnet")),
                    "pools": pools,
                    "shared_network": doc.network_of(loc).and_then(|n| n.get("name")).cloned(),
                    "client_class": s(sub.get("client-class").or(sub.get("client-classes"))),
                }));
            }
        }
        What::Classes => {
            for c in doc.root_array("client-classes") {
                rows.push(json!({ "name": s(c.get("name")), "test": s(c.get("test")) }));
            }
        }
        What::Options => {
            let mut add = |scope: String, list: Option<&Value>| {
                for o in list.and_then(Value::as_array).into_iter().flatten() {
                    rows.push(json!({
                        "scope": scope,
                        "name": s(o.get("name")),
                        "code": s(o.get("code")),
                        "data": s(o.get("data")),
                    }));
                }
            };
            add("global".into(), doc.root().get("option-data"));
            for c in doc.root_array("client-classes") {
                let n = c.get("name").and_then(Value::as_str).unwrap_or("?");
                add(format!("class {n}"), c.get("option-data"));
            }
            for loc in doc.subnet_locs() {
                let sub = doc.subnet(loc);
                let p = sub.get("subnet").and_then(Value::as_str).unwrap_or("?");
                add(p.to_string(), sub.get("option-data"));
                for pool in sub
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let r = pool.get("pool").and_then(Value::as_str).unwrap_or("?");
                    add(format!("{p} pool {r}"), pool.get("option-data"));
                }
            }
        }
        What::Reservations => {
            let mut add = |scope: String, list: Option<&Value>| {
                for r in list.and_then(Value::as_array).into_iter().flatten() {
                    let id = ["hw-address", "duid", "client-id", "circuit-id", "flex-id"]
                        .iter()
                        .find_map(|k| {
                            r.get(*k)
                                .map(|v| format!("{k} {}", v.as_str().unwrap_or("")))
                        });
                    let ip = match family {
                        Family::V4 => s(r.get("ip-address")),
                        Family::V6 => s(r.get("ip-addresses")),
                    };
                    rows.push(json!({
                        "scope": scope,
                        "identifier": id,
                        "ip": ip,
                        "hostname": s(r.get("hostname")),
                    }));
                }
            };
            add("global".into(), doc.root().get("reservations"));
            for loc in doc.subnet_locs() {
                let sub = doc.subnet(loc);
                let p = sub.get("subnet").and_then(Value::as_str).unwrap_or("?");
                add(p.to_string(), sub.get("reservations"));
            }
        }
        What::Leases | What::Ha | What::Stats => {}
    }
    rows
}

/// The columns of each listing.
fn columns(what: What) -> &'static [&'static str] {
    match what {
        What::Subnets => &["id", "subnet", "pools", "shared_network", "client_class"],
        What::Classes => &["name", "test"],
        What::Options => &["scope", "name", "code", "data"],
        What::Reservations => &["scope", "identifier", "ip", "hostname"],
        What::Leases => &[
            "ip-address",
            "hw-address",
            "duid",
            "subnet-id",
            "state",
            "hostname",
        ],
        What::Stats => &[
            "subnet",
            "id",
            "total",
            "assigned",
            "declined",
            "utilization",
        ],
        What::Ha => &[],
    }
}

/// A plain-text table: a painted header, columns padded to their widest cell; the HA state
/// as `key  value` lines.
fn table(what: What, rows: &[Value], colour: bool) -> String {
    let cell = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    };
    if what == What::Ha {
        let mut out = String::new();
        match rows.first() {
            None => out.push_str("no HA relationship\n"),
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    out.push_str(&format!(
                        "{}  {}\n",
                        paint(&format!("{k:<22}"), Paint::Heading, colour),
                        cell(Some(v))
                    ));
                }
            }
            Some(other) => out.push_str(&format!("{other}\n")),
        }
        return out;
    }
    let cols = columns(what);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| cols.iter().map(|c| cell(r.get(*c))).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |items: &[String]| {
        let mut l = items
            .iter()
            .zip(&widths)
            .map(|(t, w)| format!("{t:<w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ");
        l.truncate(l.trim_end().len());
        l
    };
    let header: Vec<String> = cols.iter().map(|c| c.to_uppercase()).collect();
    let mut out = paint(&line(&header), Paint::Heading, colour);
    out.push('\n');
    for r in &cells {
        out.push_str(&line(r));
        out.push('\n');
    }
    if cells.is_empty() {
        out.push_str(&paint("(none)", Paint::Dim, colour));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_and_paint_the_header_only_when_asked() {
        let rows = vec![json!({"name": "voip", "test": "option[60].hex == 'x'"})];
        let t = table(What::Classes, &rows, false);
        assert_eq!(t, "NAME  TEST\nvoip  option[60].hex == 'x'\n");
        assert!(table(What::Classes, &rows, true).starts_with("\u{1b}["));
    }
}
