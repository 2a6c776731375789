//! DHCPv6 prefix-delegation pools of a subnet: `prefix`/`prefix-len` split into prefixes
//! of `delegated-len`, optionally with an excluded prefix (RFC 6603). Checked locally:
//! `prefix-len` ≤ `delegated-len` ≤ 128, a pool inside no other PD pool, the excluded
//! prefix inside a delegated one and longer than it.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use serde_json::{Map, Value, json};

use super::{ConfigDoc, Family, SubnetKey};
use crate::kea::{ErrorKind, KeaError};

/// A PD pool's prefix, as named by `delete_pd_pool`: `"2001:db8:8::/56"`.
pub fn parse_prefix(s: &str) -> Result<Ipv6Net, KeaError> {
    let net: Ipv6Net = s.trim().parse().map_err(|_| {
        KeaError::invalid(format!(
            "prefix \"{s}\" is not an IPv6 prefix such as \"2001:db8:8::/56\""
        ))
    })?;
    if net.trunc() != net {
        return Err(KeaError::invalid(format!(
            "prefix \"{s}\" has host bits set: the prefix is {}",
            net.trunc()
        )));
    }
    Ok(net)
}

fn pool_net(p: &Value) -> Option<Ipv6Net> {
    let addr: Ipv6Addr = p.get("prefix")?.as_str()?.parse().ok()?;
    let len = u8::try_from(p.get("prefix-len")?.as_u64()?).ok()?;
    Ipv6Net::new(addr, len).ok()
}

fn len_of(m: &Map<String, Value>, k: &str) -> Result<Option<u8>, KeaError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 128)
            .map(|n| Some(n as u8))
            .ok_or_else(|| {
                KeaError::invalid(format!(
                    "{} {v} is not a prefix length (0 to 128)",
                    k.replace('-', "_")
                ))
            }),
    }
}

/// Checks a PD pool on its own and returns it in Kea's form.
pub fn check(m: &Map<String, Value>) -> Result<Map<String, Value>, KeaError> {
    for k in m.keys() {
        if ![
            "prefix",
            "prefix-len",
            "delegated-len",
            "excluded-prefix",
            "excluded-prefix-len",
            "client-class",
            "client-classes",
            "option-data",
            "user-context",
            "comment",
        ]
        .contains(&k.as_str())
        {
            return Err(KeaError::invalid(format!(
                "a PD pool has no field \"{}\"",
                k.replace('-', "_")
            )));
        }
    }
    let text = m
        .get("prefix")
        .and_then(Value::as_str)
        .ok_or_else(|| KeaError::invalid("a PD pool needs \"prefix\""))?;
    // "2001:db8:8::/56" may carry its length.
    let (addr, inline_len) = match text.split_once('/') {
        Some((a, l)) => (a, l.trim().parse::<u8>().ok()),
        None => (text, None),
    };
    let addr: Ipv6Addr = addr
        .trim()
        .parse()
        .map_err(|_| KeaError::invalid(format!("prefix \"{text}\" is not an IPv6 address")))?;
    let plen = len_of(m, "prefix-len")?
        .or(inline_len)
        .ok_or_else(|| KeaError::invalid("a PD pool needs \"prefix_len\""))?;
    let dlen = len_of(m, "delegated-len")?
        .ok_or_else(|| KeaError::invalid("a PD pool needs \"delegated_len\""))?;
    let net = Ipv6Net::new(addr, plen).expect("length checked");
    if net.trunc() != net {
        return Err(KeaError::invalid(format!(
            "prefix {addr}/{plen} has host bits set: the prefix is {}",
            net.trunc()
        )));
    }
    if dlen < plen {
        return Err(KeaError::invalid(format!(
            "delegated_len {dlen} is shorter than prefix_len {plen}: prefix_len ≤ delegated_len ≤ 128"
        )));
    }
    let mut out = m.clone();
    out.insert("prefix".into(), json!(addr.to_string()));
    out.insert("prefix-len".into(), json!(plen));
    out.insert("delegated-len".into(), json!(dlen));
    match (m.get("excluded-prefix"), len_of(m, "excluded-prefix-len")?) {
        (None | Some(Value::Null), None) => {}
        (Some(Value::String(e)), Some(elen)) => {
            let ex: Ipv6Addr = e.parse().map_err(|_| {
                KeaError::invalid(format!("excluded_prefix \"{e}\" is not an IPv6 address"))
            })?;
            if elen <= dlen {
                return Err(KeaError::invalid(format!(
                    "excluded_prefix_len {elen} must be longer than delegated_len {dlen}"
                )));
            }
            let exnet = Ipv6Net::new(ex, elen).expect("length checked");
            if exnet.trunc() != exnet {
                return Err(KeaError::invalid(format!(
                    "excluded_prefix {ex}/{elen} has host bits set"
                )));
            }
            if !net.contains(&exnet) {
                return Err(KeaError::invalid(format!(
                    "excluded_prefix {ex}/{elen} is not inside the delegated prefixes of {net}"
                )));
            }
            out.insert("excluded-prefix".into(), json!(ex.to_string()));
        }
        _ => {
            return Err(KeaError::invalid(
                "excluded_prefix and excluded_prefix_len go together",
            ));
        }
    }
    Ok(out)
}

/// Every PD pool of the configuration: (subnet id, pool network).
fn all_pools(doc: &ConfigDoc) -> Vec<(Value, Ipv6Net)> {
    doc.subnet_locs()
        .into_iter()
        .flat_map(|l| {
            let s = doc.subnet(l);
            let id = s.get("id").cloned().unwrap_or(Value::Null);
            s.get("pd-pools")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(pool_net)
                .map(move |n| (id.clone(), n))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn v6_only(doc: &ConfigDoc) -> Result<(), KeaError> {
    if doc.family != Family::V6 {
        return Err(KeaError::invalid(
            "prefix delegation is DHCPv6 only: use v6.add_pd_pool",
        ));
    }
    Ok(())
}

/// Adds a PD pool to a subnet.
pub fn add(
    doc: &mut ConfigDoc,
    key: &SubnetKey,
    m: &Map<String, Value>,
) -> Result<Value, KeaError> {
    v6_only(doc)?;
    let pool = check(m)?;
    let net = pool_net(&Value::Object(pool.clone())).expect("checked");
    for (id, other) in all_pools(doc) {
        if other.contains(&net) || net.contains(&other) {
            return Err(KeaError::new(
                ErrorKind::Conflict,
                format!("PD pool {net} overlaps PD pool {other} of subnet {id} on the server"),
            ));
        }
    }
    let loc = doc.find_subnet(key)?;
    let s = doc.subnet_mut(loc);
    let list = s
        .entry("pd-pools")
        .or_insert_with(|| Value::Array(Vec::new()));
    let v = Value::Object(pool);
    list.as_array_mut()
        .ok_or_else(|| KeaError::invalid("the subnet's pd-pools are not a list"))?
        .push(v.clone());
    Ok(v)
}

/// The index of the PD pool `prefix` (`"2001:db8:8::/56"`) names in a subnet.
pub fn find(doc: &ConfigDoc, key: &SubnetKey, prefix: &str) -> Result<usize, KeaError> {
    let want = parse_prefix(prefix)?;
    let loc = doc.find_subnet(key)?;
    doc.subnet(loc)
        .get("pd-pools")
        .and_then(Value::as_array)
        .and_then(|l| l.iter().position(|p| pool_net(p) == Some(want)))
        .ok_or_else(|| {
            KeaError::new(
                ErrorKind::NotFound,
                format!("no PD pool {want} in subnet {key}"),
            )
        })
}

/// Removes a PD pool; returns it.
pub fn delete(doc: &mut ConfigDoc, key: &SubnetKey, prefix: &str) -> Result<Value, KeaError> {
    v6_only(doc)?;
    let i = find(doc, key, prefix)?;
    let loc = doc.find_subnet(key)?;
    Ok(doc.subnet_mut(loc)["pd-pools"]
        .as_array_mut()
        .expect("list")
        .remove(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn pd_pool_rules() {
        let mut d = ConfigDoc::new(
            Family::V6,
            json!({"Dhcp6": {"subnet6": [{"id": 1, "subnet": "2001:db8:1::/64"}]}}),
        )
        .unwrap();
        let k = SubnetKey::Id(1);
        add(
            &mut d,
            &k,
            &m(json!({"prefix": "2001:db8:8::", "prefix-len": 56, "delegated-len": 64})),
        )
        .unwrap();
        let e = add(
            &mut d,
            &k,
            &m(json!({"prefix": "2001:db8:8:10::", "prefix-len": 60, "delegated-len": 64})),
        )
        .unwrap_err();
        assert!(
            e.message.contains("overlaps PD pool 2001:db8:8::/56"),
            "{}",
            e.message
        );
        let e = add(
            &mut d,
            &k,
            &m(json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 48})),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("delegated_len 48 is shorter than prefix_len 56"),
            "{}",
            e.message
        );
        let e = check(&m(
            json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 129}),
        ))
        .unwrap_err();
        assert!(e.message.contains("delegated_len 129"), "{}", e.message);
        let e = check(&m(
            json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 64,
            "excluded-prefix": "2001:db8:a::", "excluded-prefix-len": 72}),
        ))
        .unwrap_err();
        assert!(e.message.contains("not inside"), "{}", e.message);
        let e = check(&m(
            json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 64,
            "excluded-prefix": "2001:db8:9::", "excluded-prefix-len": 64}),
        ))
        .unwrap_err();
        assert!(
            e.message.contains("longer than delegated_len"),
            "{}",
            e.message
        );
        check(&m(
            json!({"prefix": "2001:db8:9::", "prefix-len": 56, "delegated-len": 64,
            "excluded-prefix": "2001:db8:9:0:8000::", "excluded-prefix-len": 72}),
        ))
        .unwrap();
        delete(&mut d, &k, "2001:db8:8::/56").unwrap();
        assert_eq!(
            delete(&mut d, &k, "2001:db8:8::/56").unwrap_err().kind,
            ErrorKind::NotFound
        );
    }
}
