//! Reading a CSV file of host reservations (`import_reservations`): a header row naming
//! the columns (`hw_address` or `client_id` or `duid` …, `ip_address`, `hostname`,
//! `subnet`, …), one reservation a row. Lists (`ip_addresses`, `prefixes`,
//! `client_classes`) are separated by spaces or `;`. An empty cell is no value.
//!
//! Options: a column `option:NAME` (or `option:CODE`) holds that option's data for the row,
//! as `set_option` takes it (`option:domain-name-servers` → `10.0.0.53, 10.0.0.54`; inside a
//! cell, items are separated by `,` — quote the cell — or by `;`). The option is looked up
//! in the family's standard space among the standard options and those the server defines;
//! each value is checked against its definition when the rows are checked.

use serde_json::{Map, Value};

use super::Family;
use super::reservations::{ImportRow, ResvScope, identifier_kinds};
use crate::kea::KeaError;

/// Columns holding a list.
const LISTS: &[&str] = &["ip-addresses", "prefixes", "client-classes"];

fn columns(family: Family) -> Vec<&'static str> {
    let mut c = identifier_kinds(family);
    c.push("subnet");
    c.extend_from_slice(match family {
        Family::V4 => &[
            "ip-address",
            "hostname",
            "client-classes",
            "next-server",
            "server-hostname",
            "boot-file-name",
        ][..],
        Family::V6 => &["ip-addresses", "prefixes", "hostname", "client-classes"][..],
    });
    c
}

/// One column of the file.
#[derive(Clone, PartialEq)]
enum Col {
    /// A reservation field (Kea's spelling).
    Field(&'static str),
    /// `option:NAME` or `option:CODE`: that option's data.
    Option(String),
}

/// An option column's name or code (`option:routers`, `option:3`).
fn option_column(h: &str) -> Option<String> {
    let rest = h
        .trim()
        .strip_prefix("option:")
        .or_else(|| h.trim().strip_prefix("option-"))?;
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Parses the file's text. `default` is the scope of rows without a `subnet` cell. Every
/// row that cannot be read is reported (line, column, value) before anything else.
pub fn parse(text: &str, family: Family, default: &ResvScope) -> Result<Vec<ImportRow>, KeaError> {
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|e| KeaError::invalid(format!("the CSV header cannot be read: {e}")))?
        .clone();
    let known = columns(family);
    let mut cols: Vec<Col> = Vec::new();
    for h in &headers {
        let col = if let Some(o) = option_column(h) {
            Col::Option(o)
        } else {
            let k = h.trim().replace('_', "-").to_ascii_lowercase();
            let Some(k) = known.iter().find(|c| **c == k) else {
                return Err(KeaError::invalid(format!(
                    "line 1: column \"{h}\" is not a reservation field; the columns are {}, and option:NAME for an option's data",
                    known
                        .iter()
                        .map(|c| c.replace('-', "_"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            Col::Field(k)
        };
        if cols.contains(&col) {
            return Err(KeaError::invalid(format!(
                "line 1: column \"{h}\" appears twice"
            )));
        }
        cols.push(col);
    }
    if !cols
        .iter()
        .any(|c| matches!(c, Col::Field(f) if identifier_kinds(family).contains(f)))
    {
        return Err(KeaError::invalid(format!(
            "line 1: no identifier column ({})",
            identifier_kinds(family)
                .iter()
                .map(|c| c.replace('-', "_"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for rec in rd.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line()) as usize;
        let mut resv = Map::new();
        let mut scope = default.clone();
        let mut bad = false;
        let mut options: Vec<Value> = Vec::new();
        for (col, cell) in cols.iter().zip(rec.iter()) {
            if cell.is_empty() {
                continue;
            }
            let col = match col {
                Col::Option(o) => {
                    let data = cell
                        .split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let mut entry = Map::new();
                    match o.parse::<u16>() {
                        Ok(code) => entry.insert("code".into(), Value::from(code)),
                        Err(_) => entry.insert("name".into(), Value::String(o.clone())),
                    };
                    entry.insert("data".into(), Value::String(data));
                    options.push(Value::Object(entry));
                    continue;
                }
                Col::Field(f) => *f,
            };
            match col {
                "subnet" => match ResvScope::parse(cell, family) {
                    Ok(s) => scope = s,
                    Err(e) => {
                        errors.push(format!("line {line}: subnet: {}", e.message));
                        bad = true;
                    }
                },
                c if LISTS.contains(&c) => {
                    resv.insert(
                        c.into(),
                        Value::Array(
                            cell.split([' ', ';'])
                                .filter(|s| !s.is_empty())
                                .map(|s| Value::String(s.into()))
                                .collect(),
                        ),
                    );
                }
                c => {
                    resv.insert(c.into(), Value::String(cell.into()));
                }
            }
        }
        if !options.is_empty() {
            resv.insert("option-data".into(), Value::Array(options));
        }
        if !bad {
            rows.push(ImportRow { line, scope, resv });
        }
    }
    if !errors.is_empty() {
        return Err(KeaError::invalid(format!(
            "{} row{} of the file cannot be read; nothing was imported:\n  {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            errors.join("\n  ")
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::SubnetKey;

    #[test]
    fn rows_keep_their_line_and_scope() {
        let text = "hw_address,ip_address,hostname,subnet\naa:bb:cc:dd:ee:01,192.0.2.5,a,\naa:bb:cc:dd:ee:02,10.0.0.5,,2\n";
        let rows = parse(text, Family::V4, &ResvScope::Subnet(SubnetKey::Id(1))).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].scope, ResvScope::Subnet(SubnetKey::Id(1)));
        assert_eq!(rows[1].scope, ResvScope::Subnet(SubnetKey::Id(2)));
        assert!(rows[1].resv.get("hostname").is_none());
        let e = parse("mac,ip_address\n", Family::V4, &ResvScope::Global).unwrap_err();
        assert!(e.message.contains("column \"mac\""), "{}", e.message);
        let e = parse(
            "hw_address,ip_address\na,b,c\n",
            Family::V4,
            &ResvScope::Global,
        )
        .unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
    }

    #[test]
    fn option_columns_become_option_data() {
        let text = "hw_address,option:domain-name-servers,option:15\naa:bb:cc:dd:ee:01,\"10.0.0.53, 10.0.0.54\",example.org\naa:bb:cc:dd:ee:02,10.0.0.53;10.0.0.55,\n";
        let rows = parse(text, Family::V4, &ResvScope::Global).unwrap();
        assert_eq!(
            rows[0].resv["option-data"],
            serde_json::json!([{"name": "domain-name-servers", "data": "10.0.0.53, 10.0.0.54"},
                               {"code": 15, "data": "example.org"}])
        );
        assert_eq!(
            rows[1].resv["option-data"],
            serde_json::json!([{"name": "domain-name-servers", "data": "10.0.0.53, 10.0.0.55"}])
        );
        let e = parse(
            "hw_address,option:routers,option:routers\n",
            Family::V4,
            &ResvScope::Global,
        )
        .unwrap_err();
        assert!(e.message.contains("appears twice"), "{}", e.message);
    }
}
