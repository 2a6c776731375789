//! Leases through `lease_cmds`: paging through all of them with flat memory, look-ups,
//! and checked changes.
//!
//! Paging uses `lease4-get-page` / `lease6-get-page` with pages of at most 1000: Kea 2.2's
//! memfile backend gets quadratically slower with larger pages (`reference/kea-lab.md` §3).
//! `from` is exclusive; result 3 ends the paging.
//!
//! Nothing here prints: a host that shows how far a long walk has got gives the pager an
//! observer ([`LeasePager::observe`]), called after every page.

use std::collections::VecDeque;
use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::config::{ConfigDoc, Family, SubnetKey, net::Prefix, subnets::prefix_of};
use super::{ErrorKind, KeaError, Service};

/// The page size: the efficient range of Kea's memfile backend.
pub const PAGE: usize = 1000;

fn v(svc: &Service) -> &'static str {
    if svc.name == "dhcp6" { "6" } else { "4" }
}

/// How far a walk has got: pages fetched and leases read from Kea so far (a walk over one
/// subnet reads every lease and keeps that subnet's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkProgress {
    pub pages: u64,
    pub leases: u64,
}

/// Told after every page of a walk (a host's progress line).
pub type PageObserver = Box<dyn FnMut(WalkProgress) + Send>;

/// A forward-only walk over a service's leases, one page in memory at a time.
pub struct LeasePager {
    svc: Service,
    subnet_id: Option<u64>,
    from: String,
    page: usize,
    done: bool,
    buffer: VecDeque<Value>,
    progress: WalkProgress,
    observer: Option<PageObserver>,
}

impl LeasePager {
    /// All leases, or those of one subnet (by id).
    pub fn new(svc: Service, subnet_id: Option<u64>) -> Self {
        Self {
            svc,
            subnet_id,
            from: "start".into(),
            page: PAGE,
            done: false,
            buffer: VecDeque::new(),
            progress: WalkProgress::default(),
            observer: None,
        }
    }

    /// Calls `f` after every page fetched, with the pages and leases read so far.
    pub fn observe(mut self, f: impl FnMut(WalkProgress) + Send + 'static) -> Self {
        self.observer = Some(Box::new(f));
        self
    }

    /// A smaller page size (for tests).
    pub fn with_page(mut self, page: usize) -> Self {
        self.page = page.clamp(1, PAGE);
        self
    }

    /// The next lease of the page already fetched, without any I/O.
    pub fn next_buffered(&mut self) -> Option<Value> {
        self.buffer.pop_front()
    }

    /// The next lease, fetching the next page when the current one is used up.
    pub async fn next(&mut self) -> Result<Option<Value>, KeaError> {
        loop {
            if let Some(l) = self.buffer.pop_front() {
                return Ok(Some(l));
            }
            if self.done {
                return Ok(None);
            }
            self.fetch().await?;
        }
    }

    async fn fetch(&mut self) -> Result<(), KeaError> {
        let cmd = format!("lease{}-get-page", v(&self.svc));
        let args = json!({ "from": self.from, "limit": self.page });
        let Some(a) = self.svc.command(&cmd, Some(args)).await? else {
            // Result 3: no more leases.
            self.done = true;
            return Ok(());
        };
        let leases = a
            .get("leases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if leases.len() < self.page {
            self.done = true;
        }
        self.progress.pages += 1;
        self.progress.leases += leases.len() as u64;
        if let Some(f) = &mut self.observer {
            f(self.progress);
        }
        match leases
            .last()
            .and_then(|l| l.get("ip-address"))
            .and_then(Value::as_str)
        {
            Some(last) => self.from = last.to_string(),
            None => self.done = true,
        }
        let want = self.subnet_id;
        self.buffer.extend(
            leases
                .into_iter()
                .filter(|l| want.is_none() || l.get("subnet-id").and_then(Value::as_u64) == want),
        );
        Ok(())
    }
}

/// Leases as a list: `lease4-get` answers one map, the `-by-…` commands a `leases` list.
fn list(a: Option<Value>) -> Vec<Value> {
    match a {
        None => Vec::new(),
        Some(v) => match v.get("leases").and_then(Value::as_array) {
            Some(l) => l.clone(),
            None if v.get("ip-address").is_some() => vec![v],
            None => Vec::new(),
        },
    }
}

/// Checks an address of the service's family.
pub fn check_ip(svc: &Service, ip: &str) -> Result<IpAddr, KeaError> {
    let family = Family::of_service(&svc.name);
    ip.trim()
        .parse::<IpAddr>()
        .ok()
        .filter(|a| family.matches(a))
        .ok_or_else(|| {
            KeaError::invalid(format!("\"{ip}\" is not an {} address", family.ip_name()))
        })
}

/// Checks a hardware address: 1 to 20 bytes of two hex digits, separated by ':' or '-'.
pub fn check_mac(mac: &str) -> Result<String, KeaError> {
    check_hex_bytes(mac, 1, 20).ok_or_else(|| {
        KeaError::invalid(format!(
            "hw_address \"{mac}\" is not a hardware address such as \"1a:1b:1c:1d:1e:1f\""
        ))
    })
}

/// Checks a DUID or client id: hex bytes separated by ':' (3 to 130 bytes for a DUID).
pub fn check_duid(duid: &str) -> Result<String, KeaError> {
    check_hex_bytes(duid, 3, 130).ok_or_else(|| {
        KeaError::invalid(format!(
            "duid \"{duid}\" is not a DUID such as \"00:01:00:01:2b:3c:4d:5e:1a:1b:1c:1d:1e:1f\""
        ))
    })
}

fn check_hex_bytes(s: &str, min: usize, max: usize) -> Option<String> {
    let parts: Vec<&str> = s.trim().split([':', '-']).collect();
    let ok = parts.len() >= min
        && parts.len() <= max
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| parts.join(":").to_ascii_lowercase())
}

/// One lease by address, or `None`.
pub async fn get(svc: &Service, ip: &str) -> Result<Option<Value>, KeaError> {
    check_ip(svc, ip)?;
    let cmd = format!("lease{}-get", v(svc));
    let mut args = json!({ "ip-address": ip.trim() });
    if svc.name == "dhcp6" {
        args["type"] = json!("IA_NA");
    }
    Ok(list(svc.command(&cmd, Some(args)).await?)
        .into_iter()
        .next())
}

/// Leases by hardware address, client id, hostname or DUID (`by` is Kea's suffix).
pub async fn by(svc: &Service, by: &str, value: &str) -> Result<Vec<Value>, KeaError> {
    let (key, value) = match by {
        "hw-address" => ("hw-address", check_mac(value)?),
        "client-id" => (
            "client-id",
            check_hex_bytes(value, 1, 255).ok_or_else(|| {
                KeaError::invalid(format!(
                    "client_id \"{value}\" is not hex bytes such as \"01:1a:1b:1c:1d:1e:1f\""
                ))
            })?,
        ),
        "duid" => ("duid", check_duid(value)?),
        _ => {
            if value.trim().is_empty() {
                return Err(KeaError::invalid("the hostname is empty"));
            }
            ("hostname", value.trim().to_string())
        }
    };
    let cmd = format!("lease{}-get-by-{by}", v(svc));
    Ok(list(svc.command(&cmd, Some(json!({ key: value }))).await?))
}

/// The subnet (id) whose prefix holds `ip`, from the running configuration.
fn subnet_for(doc: &ConfigDoc, ip: IpAddr) -> Option<u64> {
    doc.subnet_locs().into_iter().find_map(|l| {
        let s = doc.subnet(l);
        let p: Prefix = prefix_of(s, doc.family)?;
        p.0.contains(&ip)
            .then(|| s.get("id").and_then(Value::as_u64))
            .flatten()
    })
}

/// Checks a lease to add or write: the address lies in a configured subnet (whose id is
/// filled in, or must match), MAC and DUID formats, v6 needs `duid` and `iaid`.
pub fn check_lease(
    doc: &ConfigDoc,
    svc: &Service,
    lease: &mut Map<String, Value>,
) -> Result<(), KeaError> {
    let ip_text = lease
        .get("ip-address")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("a lease needs ip_address"))?
        .to_string();
    let ip = check_ip(svc, &ip_text)?;
    check_numbers(lease)?;
    let subnet = subnet_for(doc, ip).ok_or_else(|| {
        KeaError::new(
            ErrorKind::Conflict,
            format!("{ip_text} lies in no subnet configured on the server"),
        )
    })?;
    match lease.get("subnet-id").and_then(Value::as_u64) {
        None => {
            lease.insert("subnet-id".into(), json!(subnet));
        }
        Some(id) if id == subnet => {}
        Some(id) => {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!("{ip_text} lies in subnet id {subnet}, not in subnet id {id}"),
            ));
        }
    }
    if let Some(mac) = lease.get("hw-address").and_then(Value::as_str) {
        let mac = check_mac(mac)?;
        lease.insert("hw-address".into(), json!(mac));
    }
    if svc.name == "dhcp6" {
        let duid = lease
            .get("duid")
            .and_then(Value::as_str)
            .ok_or_else(|| KeaError::invalid("a DHCPv6 lease needs duid"))?;
        let duid = check_duid(duid)?;
        lease.insert("duid".into(), json!(duid));
        if lease.get("iaid").and_then(Value::as_u64).is_none() {
            return Err(KeaError::invalid("a DHCPv6 lease needs iaid (a number)"));
        }
    } else if lease.get("hw-address").is_none() {
        return Err(KeaError::invalid("a DHCPv4 lease needs hw_address"));
    }
    Ok(())
}

/// The numeric fields of a lease and the largest value Kea takes for each.
const LEASE_NUMBERS: &[(&str, u64)] = &[
    ("valid-lft", u32::MAX as u64),
    ("preferred-lft", u32::MAX as u64),
    ("subnet-id", u32::MAX as u64),
    ("iaid", u32::MAX as u64),
    ("state", 3),
    ("prefix-len", 128),
    ("expire", i64::MAX as u64),
    ("cltt", i64::MAX as u64),
];

/// The text fields of a lease.
const LEASE_TEXTS: &[&str] = &["hw-address", "client-id", "duid", "hostname", "ip-address"];

/// Each numeric field given is a whole number in Kea's range, each text field a string,
/// named as a script writes it.
fn check_numbers(lease: &Map<String, Value>) -> Result<(), KeaError> {
    for key in LEASE_TEXTS {
        if let Some(v) = lease.get(*key)
            && !v.is_string()
        {
            return Err(KeaError::invalid(format!(
                "lease {} must be a string, not {v}",
                key.replace('-', "_")
            )));
        }
    }
    for (key, max) in LEASE_NUMBERS {
        let Some(v) = lease.get(*key) else { continue };
        let ok = v.as_u64().is_some_and(|n| n <= *max);
        if !ok {
            return Err(KeaError::invalid(format!(
                "lease {} must be a whole number from 0 to {max}, not {v}",
                key.replace('-', "_")
            )));
        }
    }
    Ok(())
}

/// What `lease4-update` accepts of a lease as `lease4-get` answers it: `cltt` becomes
/// `expire`.
pub fn writable(lease: &Map<String, Value>) -> Map<String, Value> {
    let mut m = lease.clone();
    if let (Some(cltt), Some(lft)) = (
        m.get("cltt").and_then(Value::as_i64),
        m.get("valid-lft").and_then(Value::as_i64),
    ) {
        m.entry("expire").or_insert(json!(cltt + lft));
    }
    m.remove("cltt");
    m
}

/// Adds a lease (checked); returns it as Kea then has it.
pub async fn add(svc: &Service, mut lease: Map<String, Value>) -> Result<Value, KeaError> {
    let doc = ConfigDoc::new(Family::of_service(&svc.name), svc.config().await?)?;
    check_lease(&doc, svc, &mut lease)?;
    let ip = lease["ip-address"].as_str().unwrap_or_default().to_string();
    svc.command(&format!("lease{}-add", v(svc)), Some(Value::Object(lease)))
        .await?;
    get(svc, &ip).await?.ok_or_else(|| {
        KeaError::new(
            ErrorKind::Kea,
            format!("Kea added lease {ip} but does not find it"),
        )
    })
}

/// Merges `changes` into the current lease and writes it; returns `(before, after)`.
pub async fn update(
    svc: &Service,
    changes: Map<String, Value>,
) -> Result<(Value, Value), KeaError> {
    let ip = changes
        .get("ip-address")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("update_lease needs ip_address"))?
        .to_string();
    let before = get(svc, &ip).await?.ok_or_else(|| {
        KeaError::new(
            ErrorKind::NotFound,
            format!("no lease for {ip} on the server"),
        )
    })?;
    let mut merged = before.as_object().cloned().unwrap_or_default();
    for (k, val) in changes {
        if val.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, val);
        }
    }
    if merged.contains_key("valid-lft") {
        // A new lifetime counts from now, unless the change gives `expire` itself.
        merged.remove("expire");
        merged.remove("cltt");
    }
    let doc = ConfigDoc::new(Family::of_service(&svc.name), svc.config().await?)?;
    let mut merged = writable(&merged);
    check_lease(&doc, svc, &mut merged)?;
    svc.command(
        &format!("lease{}-update", v(svc)),
        Some(Value::Object(merged)),
    )
    .await?;
    let after = get(svc, &ip).await?.unwrap_or(Value::Null);
    Ok((before, after))
}

/// Deletes a lease; returns it.
pub async fn delete(svc: &Service, ip: &str) -> Result<Value, KeaError> {
    let before = get(svc, ip).await?.ok_or_else(|| {
        KeaError::new(
            ErrorKind::NotFound,
            format!("no lease for {ip} on the server"),
        )
    })?;
    let mut args = json!({ "ip-address": ip.trim() });
    if svc.name == "dhcp6" {
        args["type"] = before.get("type").cloned().unwrap_or(json!("IA_NA"));
    }
    svc.command(&format!("lease{}-del", v(svc)), Some(args))
        .await?;
    Ok(before)
}

/// Deletes every lease of a subnet; returns how many there were. The count walks the
/// subnet's leases page by page, and `observer` hears of each page (see [`LeasePager::observe`]).
pub async fn wipe(
    svc: &Service,
    key: &SubnetKey,
    observer: impl FnMut(WalkProgress) + Send + 'static,
) -> Result<u64, KeaError> {
    let doc = ConfigDoc::new(Family::of_service(&svc.name), svc.config().await?)?;
    let loc = doc.find_subnet(key)?;
    let id = doc
        .subnet(loc)
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| KeaError::invalid(format!("subnet {key} has no id")))?;
    let mut pager = LeasePager::new(svc.clone(), Some(id)).observe(observer);
    let mut n = 0;
    while pager.next().await?.is_some() {
        n += 1;
    }
    if n > 0 {
        svc.command(
            &format!("lease{}-wipe", v(svc)),
            Some(json!({ "subnet-id": id })),
        )
        .await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(check_mac("1A-1B-1C-1D-1E-1F").unwrap(), "1a:1b:1c:1d:1e:1f");
        assert!(check_mac("1a:1b:1c:1d:1e").is_ok());
        assert!(check_mac("zz:1b").is_err());
        assert!(check_mac("1a1b1c").is_err());
        assert!(check_duid("00:01:00:01:2b").is_ok());
        assert!(check_duid("00:01").is_err());
        let w = writable(
            &json!({"cltt": 100, "valid-lft": 50, "ip-address": "x"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(w["expire"], 150);
        assert!(w.get("cltt").is_none());
    }
}
