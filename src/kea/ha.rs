//! High availability: the relationship a server is part of, read from the `libdhcp_ha.so`
//! parameters of its configuration, its peers mapped to inventory servers, and the HA
//! commands. HA replicates leases, never configuration (`reference/kea-api.md` §0.10):
//! keeping the peers' configurations in step is keascript's job (see `edit`: one change
//! reaches every peer, and `estate`: where the peers are found).

use serde_json::Value;

use super::config::ConfigDoc;
use super::{Inventory, KeaError, Service};

/// One peer of a relationship, as the HA hook's configuration names it.
#[derive(Debug, Clone, PartialEq)]
pub struct HaPeer {
    pub name: String,
    pub role: String,
    pub url: String,
}

/// The relationship a server is part of.
#[derive(Debug, Clone, PartialEq)]
pub struct HaTopology {
    /// `hot-standby`, `load-balancing` or `passive-backup`.
    pub mode: String,
    /// This server's name in the relationship (`this-server-name`).
    pub this_server: String,
    pub peers: Vec<HaPeer>,
}

impl HaTopology {
    /// The peers other than this server.
    pub fn partners(&self) -> impl Iterator<Item = &HaPeer> {
        self.peers.iter().filter(|p| p.name != self.this_server)
    }
}

/// Reads the (first) HA relationship from a configuration, or `None` without the HA hook.
pub fn topology(doc: &ConfigDoc) -> Option<HaTopology> {
    let hook = doc.root_array("hooks-libraries").iter().find(|h| {
        h.get("library")
            .and_then(Value::as_str)
            .is_some_and(|l| l.contains("libdhcp_ha"))
    })?;
    let rel = hook
        .pointer("/parameters/high-availability/0")
        .or_else(|| hook.pointer("/parameters/high-availability"))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Some(HaTopology {
        mode: text(rel, "mode"),
        this_server: text(rel, "this-server-name"),
        peers: rel
            .get("peers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| HaPeer {
                name: text(p, "name"),
                role: text(p, "role"),
                url: text(p, "url"),
            })
            .collect(),
    })
}

/// True when two URLs name the same endpoint (scheme, host and port; the path is ignored).
pub fn same_endpoint(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str().map(str::to_ascii_lowercase)
                    == b.host_str().map(str::to_ascii_lowercase)
                && a.port_or_known_default() == b.port_or_known_default()
        }
        _ => false,
    }
}

/// The inventory server that manages `peer`: the one whose Control Agent or daemon URL is
/// the peer's URL; else, from an `[ha.NAME]` entry that holds `this_inventory_name`, the
/// member with the peer's name, or the one member left.
pub fn map_peer(
    peer: &HaPeer,
    topo: &HaTopology,
    this_inventory_name: &str,
    inventory: &Inventory,
) -> Option<String> {
    for (name, entry) in &inventory.servers {
        let urls = [&entry.url, &entry.dhcp4, &entry.dhcp6];
        if urls
            .iter()
            .filter_map(|u| u.as_deref())
            .any(|u| same_endpoint(u, &peer.url))
        {
            return Some(name.clone());
        }
    }
    for ha in inventory.ha.values() {
        if !ha.peers.iter().any(|p| p == this_inventory_name) {
            continue;
        }
        if let Some(p) = ha.peers.iter().find(|p| **p == peer.name) {
            return Some(p.clone());
        }
        let others: Vec<&String> = ha
            .peers
            .iter()
            .filter(|p| p.as_str() != this_inventory_name)
            .collect();
        if others.len() == 1 && topo.partners().count() == 1 {
            return Some(others[0].clone());
        }
    }
    None
}

fn err(svc: &Service, command: &str, e: KeaError) -> KeaError {
    e.with_server(svc.server.name())
        .with_service(Some(&svc.name))
        .with_command(command)
}

/// The HA part of `status-get` (the first relationship), or `None` without HA.
pub async fn status(svc: &Service) -> Result<Option<Value>, KeaError> {
    let st = svc.status().await?;
    Ok(st.get("high-availability").and_then(|h| h.get(0)).cloned())
}

/// `ha-heartbeat`: the server's HA state, scopes and unsent updates.
pub async fn heartbeat(svc: &Service) -> Result<Value, KeaError> {
    Ok(svc
        .command("ha-heartbeat", None)
        .await?
        .unwrap_or(Value::Null))
}

/// The HA commands keascript offers, with their arguments.
pub async fn command(
    svc: &Service,
    command: &str,
    arguments: Option<Value>,
) -> Result<String, KeaError> {
    let a = svc
        .server
        .command_answer(command, Some(&svc.name), arguments)
        .await
        .map_err(|e| err(svc, command, e))?;
    Ok(a.text.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::config::Family;
    use serde_json::json;

    fn doc(url2: &str) -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"hooks-libraries": [
                {"library": "/usr/lib/kea/hooks/libdhcp_lease_cmds.so"},
                {"library": "/usr/lib/kea/hooks/libdhcp_ha.so", "parameters": {"high-availability": [{
                    "this-server-name": "server1", "mode": "hot-standby",
                    "peers": [{"name": "server1", "url": "http://127.0.0.1:18101/", "role": "primary"},
                              {"name": "server2", "url": url2, "role": "standby"}]}]}}]}}),
        )
        .unwrap()
    }

    #[test]
    fn reads_the_relationship_and_maps_peers() {
        let t = topology(&doc("http://127.0.0.1:18102/")).unwrap();
        assert_eq!(t.mode, "hot-standby");
        assert_eq!(t.this_server, "server1");
        assert_eq!(
            t.partners().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["server2"]
        );
        let inv = Inventory::parse(
            "default = \"a\"\n[servers.a]\nurl = \"http://127.0.0.1:18101\"\n[servers.b]\nurl = \"http://127.0.0.1:18102\"\n",
            None,
        )
        .unwrap();
        assert_eq!(map_peer(&t.peers[1], &t, "a", &inv).as_deref(), Some("b"));
        // A dedicated HA listener is no management endpoint: the inventory names the pair.
        let t = topology(&doc("http://10.0.0.2:8001/")).unwrap();
        assert_eq!(map_peer(&t.peers[1], &t, "a", &inv), None);
        let inv = Inventory::parse(
            "default = \"a\"\n[servers.a]\nurl = \"http://127.0.0.1:18101\"\n[servers.b]\nurl = \"http://127.0.0.1:9\"\n[ha.p]\npeers = [\"a\", \"b\"]\n",
            None,
        )
        .unwrap();
        assert_eq!(map_peer(&t.peers[1], &t, "a", &inv).as_deref(), Some("b"));
        assert!(topology(&ConfigDoc::new(Family::V4, json!({"Dhcp4": {}})).unwrap()).is_none());
        assert!(same_endpoint("http://LOCALHOST:80/", "http://localhost"));
        assert!(!same_endpoint("https://h:8000", "http://h:8000"));
    }
}
