//! A fleet run's selection: which inventory servers `--all`, `--tag TAG` or `--servers GLOB`
//! name, and how they fold into distinct daemons and HA relationships, so that a script
//! runs once per daemon or relationship (the lab's `lab` and `lab-unix` are one daemon; the
//! two peers of an HA pair are one relationship, changed together by the edit pipeline).
//! The others are *covered* by the one that runs. Nothing here prints.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::identity::{DaemonId, daemon_id_given};
use super::{Inventory, KeaError, Server, Service};

/// Which servers a fleet run takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every server of the inventory.
    All,
    /// The servers whose `tags` hold this one.
    Tag(String),
    /// The servers whose names match this glob (`edge-*`, `site-?-dhcp`, `{a,b}`).
    Names(String),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::All => f.write_str("--all"),
            Selector::Tag(t) => write!(f, "--tag {t}"),
            Selector::Names(g) => write!(f, "--servers {g}"),
        }
    }
}

/// The inventory names `selector` takes, in the inventory's (sorted) order. Selecting
/// nothing is an `invalid` error that says what there is.
pub fn select(inventory: &Inventory, selector: &Selector) -> Result<Vec<String>, KeaError> {
    let names: Vec<String> = match selector {
        Selector::All => inventory.servers.keys().cloned().collect(),
        Selector::Tag(tag) => inventory
            .servers
            .iter()
            .filter(|(_, e)| e.tags.iter().any(|t| t == tag))
            .map(|(n, _)| n.clone())
            .collect(),
        Selector::Names(glob) => {
            let matcher = globset::Glob::new(glob)
                .map_err(|e| KeaError::invalid(format!("--servers {glob:?}: {e}")))?
                .compile_matcher();
            inventory
                .servers
                .keys()
                .filter(|n| matcher.is_match(n.as_str()))
                .cloned()
                .collect()
        }
    };
    if names.is_empty() {
        let tags: std::collections::BTreeSet<&String> =
            inventory.servers.values().flat_map(|e| &e.tags).collect();
        return Err(KeaError::invalid(format!(
            "{selector} selects no server of the inventory (servers: {}; tags: {})",
            inventory
                .servers
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if tags.is_empty() {
                "none".to_string()
            } else {
                tags.into_iter().cloned().collect::<Vec<_>>().join(", ")
            }
        )));
    }
    Ok(names)
}

/// One run of a fleet: the server it runs on, and the selected servers it covers (the
/// same daemon under another name, or another member of its HA relationship).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub lead: String,
    pub covered: Vec<String>,
}

/// What is known of one inventory server before the run: its daemon, and the inventory
/// servers that are its HA partners.
struct Facts {
    daemon: DaemonId,
    partners: Vec<String>,
}

/// The service a server is identified by: its `dhcp4`, else its `dhcp6`.
fn main_service(server: Arc<Server>) -> Result<Service, KeaError> {
    Service::new(server.clone(), "dhcp4").or_else(|_| Service::new(server, "dhcp6"))
}

/// Asks one server which daemon it is and which HA partners it has: one `status-get`
/// (its pid names the daemon; a `high-availability` part says the HA hook runs), and only
/// then its configuration, for the peers. A server that does not answer is its own daemon
/// (by URL) with no partners: it will fail alone.
async fn facts(name: &str, inventory: &Inventory) -> Option<(Facts, Arc<Server>)> {
    let entry = inventory.get(name).ok()?;
    let server = Arc::new(Server::from_entry(name, entry).ok()?);
    let svc = main_service(server.clone()).ok()?;
    let status = svc.status().await.ok();
    let daemon = daemon_id_given(&svc, status.as_ref());
    let mut partners = Vec::new();
    let ha = status
        .as_ref()
        .is_some_and(|s| s.get("high-availability").is_some());
    if ha && let Ok(Some(topo)) = svc.ha_topology_cached().await {
        for p in topo.partners() {
            if let Some(n) = super::ha::map_peer(p, &topo, name, inventory)
                && n != name
            {
                partners.push(n);
            }
        }
    }
    Some((Facts { daemon, partners }, server))
}

/// The runs of a fleet, and the server handles the selection was resolved with (each
/// remembers its daemon's identity and HA topology, so a run can go on with it).
pub struct Resolved {
    pub units: Vec<Unit>,
    pub handles: HashMap<String, Arc<Server>>,
}

/// Folds the selected servers into runs: servers that reach one daemon, or daemons of one
/// HA relationship, make one run, on the first of them in selection order; the others are
/// covered by it. Partners outside the selection are asked too, so that `server1` and
/// `server2-unix` are still seen as one relationship. Servers are asked concurrently.
pub async fn resolve(inventory: &Inventory, selected: &[String]) -> Resolved {
    // Each selected server's facts, and those of partners not selected (one level).
    let asked = futures::future::join_all(selected.iter().map(|n| facts(n, inventory))).await;
    let mut handles = HashMap::new();
    let mut known: HashMap<String, Option<Facts>> = HashMap::new();
    for (name, a) in selected.iter().zip(asked) {
        known.insert(
            name.clone(),
            a.map(|(f, server)| {
                handles.insert(name.clone(), server);
                f
            }),
        );
    }
    let extra: Vec<String> = known
        .values()
        .flatten()
        .flat_map(|f| f.partners.iter().cloned())
        .filter(|p| !known.contains_key(p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let asked = futures::future::join_all(extra.iter().map(|n| facts(n, inventory))).await;
    known.extend(
        extra
            .into_iter()
            .zip(asked.into_iter().map(|a| a.map(|(f, _)| f))),
    );

    // Union-find over daemons: one set per daemon, joined along HA partnerships.
    let mut sets = Sets::default();
    let key = |n: &str, known: &HashMap<String, Option<Facts>>| -> String {
        match known.get(n).and_then(Option::as_ref) {
            Some(f) => f.daemon.as_str().to_string(),
            // Unknown: a set of its own.
            None => format!("server:{n}"),
        }
    };
    for (name, f) in &known {
        let k = key(name, &known);
        sets.add(&k);
        for p in f.iter().flat_map(|f| &f.partners) {
            let pk = key(p, &known);
            sets.union(&k, &pk);
        }
    }
    let mut units: Vec<Unit> = Vec::new();
    let mut lead_of: BTreeMap<String, usize> = BTreeMap::new();
    for name in selected {
        let root = sets.find(&key(name, &known));
        match lead_of.get(&root) {
            Some(&i) => units[i].covered.push(name.clone()),
            None => {
                lead_of.insert(root, units.len());
                units.push(Unit {
                    lead: name.clone(),
                    covered: Vec::new(),
                });
            }
        }
    }
    Resolved { units, handles }
}

/// A small union-find over string keys.
#[derive(Default)]
struct Sets {
    parent: HashMap<String, String>,
}

impl Sets {
    fn add(&mut self, k: &str) {
        self.parent
            .entry(k.to_string())
            .or_insert_with(|| k.to_string());
    }

    fn find(&mut self, k: &str) -> String {
        self.add(k);
        let mut root = k.to_string();
        while self.parent[&root] != root {
            root = self.parent[&root].clone();
        }
        self.parent.insert(k.to_string(), root.clone());
        root
    }

    fn union(&mut self, a: &str, b: &str) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller key becomes the root: the same sets whatever the order.
            let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent.insert(child, root);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        Inventory::parse(
            r#"
default = "edge-1"
[servers.edge-1]
url = "http://127.0.0.1:1"
tags = ["site-a", "edge"]
[servers.edge-2]
url = "http://127.0.0.1:2"
tags = ["site-b", "edge"]
[servers.core]
url = "http://127.0.0.1:3"
tags = ["site-a"]
"#,
            None,
        )
        .unwrap()
    }

    #[test]
    fn all_tags_and_globs_select_inventory_names() {
        let inv = inventory();
        assert_eq!(
            select(&inv, &Selector::All).unwrap(),
            ["core", "edge-1", "edge-2"]
        );
        assert_eq!(
            select(&inv, &Selector::Tag("site-a".into())).unwrap(),
            ["core", "edge-1"]
        );
        assert_eq!(
            select(&inv, &Selector::Names("edge-*".into())).unwrap(),
            ["edge-1", "edge-2"]
        );
        assert_eq!(
            select(&inv, &Selector::Names("{core,edge-2}".into())).unwrap(),
            ["core", "edge-2"]
        );
        let e = select(&inv, &Selector::Tag("nowhere".into())).unwrap_err();
        assert!(
            e.message
                .contains("--tag nowhere selects no server of the inventory"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("tags: edge, site-a, site-b"),
            "{}",
            e.message
        );
        let e = select(&inv, &Selector::Names("[".into())).unwrap_err();
        assert!(e.message.starts_with("--servers \"[\""), "{}", e.message);
    }

    #[test]
    fn a_tag_must_be_a_word() {
        let e = Inventory::parse(
            "[servers.a]\nurl = \"http://127.0.0.1:1\"\ntags = [\"site a\"]\n",
            None,
        )
        .unwrap_err();
        assert!(
            e.message.contains("\"site a\" is not a tag"),
            "{}",
            e.message
        );
    }

    #[test]
    fn union_find_joins_transitively_whatever_the_order() {
        let mut s = Sets::default();
        s.union("c", "b");
        s.union("a", "x");
        s.union("b", "x");
        let r = s.find("c");
        assert_eq!(
            [s.find("a"), s.find("b"), s.find("x")],
            [r.clone(), r.clone(), r]
        );
        assert_ne!(s.find("d"), s.find("a"));
    }

    #[test]
    fn servers_that_do_not_answer_each_run_alone() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let inv = inventory();
        let names = select(&inv, &Selector::All).unwrap();
        let units = rt.block_on(async {
            let _g = tokio::runtime::Handle::current().enter();
            resolve(&inv, &names).await.units
        });
        assert_eq!(units.len(), 3, "{units:?}");
        assert!(units.iter().all(|u| u.covered.is_empty()));
    }
}
