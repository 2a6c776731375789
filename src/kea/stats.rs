//! Per-subnet lease statistics from `stat_cmds` (`stat-lease4-get` / `stat-lease6-get`).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::config::{ConfigDoc, Family};
use super::{KeaError, Service};

/// One row per subnet: `subnet, id, total, assigned, declined, utilization` (v6 adds
/// `total_pd`, `assigned_pd`). Counts beyond i64 stay as Kea sent them (floats).
pub async fn stats(svc: &Service) -> Result<Vec<Value>, KeaError> {
    let v6 = svc.name == "dhcp6";
    let cmd = if v6 {
        "stat-lease6-get"
    } else {
        "stat-lease4-get"
    };
    let a = svc.command(cmd, None).await?.unwrap_or(Value::Null);
    let set = a.get("result-set").cloned().unwrap_or(Value::Null);
    let columns: Vec<String> = set
        .get("columns")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let doc = ConfigDoc::new(Family::of_service(&svc.name), svc.config().await?)?;
    let prefixes: HashMap<u64, String> = doc
        .subnet_locs()
        .into_iter()
        .filter_map(|l| {
            let s = doc.subnet(l);
            Some((
                s.get("id")?.as_u64()?,
                s.get("subnet")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let col = |row: &[Value], name: &str| -> Value {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i).cloned())
            .unwrap_or(json!(0))
    };
    let mut out = Vec::new();
    for row in set
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(row) = row.as_array() else { continue };
        let id = col(row, "subnet-id");
        let (total, assigned, declined) = if v6 {
            (
                col(row, "total-nas"),
                col(row, "assigned-nas"),
                col(row, "declined-nas"),
            )
        } else {
            (
                col(row, "total-addresses"),
                col(row, "assigned-addresses"),
                col(row, "declined-addresses"),
            )
        };
        let t = total.as_f64().unwrap_or(0.0);
        let used = assigned.as_f64().unwrap_or(0.0);
        let utilization = if t > 0.0 { used / t } else { 0.0 };
        let mut m = json!({
            "subnet": id.as_u64().and_then(|i| prefixes.get(&i)).cloned(),
            "id": id, "total": total, "assigned": assigned, "declined": declined,
            "utilization": utilization,
        });
        if v6 {
            m["total_pd"] = col(row, "total-pds");
            m["assigned_pd"] = col(row, "assigned-pds");
        }
        out.push(m);
    }
    Ok(out)
}
