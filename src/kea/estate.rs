//! The estate: the servers keascript knows (the inventory) and the ones it has connected to
//! (one [`Server`] handle per inventory name, made on first use and then shared, so what a
//! handle remembers — capabilities, versions, HA topology, daemon identity — is asked once).
//!
//! The edit pipeline finds here everything a change reaches beyond the service it was made
//! through: the peers of an HA relationship, every server of the inventory for a `global`
//! class, the server a journal entry names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ha::{self, HaTopology};
use super::{Inventory, KeaError, Server, Service};

/// The inventory and the connection cache of one run (or REPL session, or daemon trigger).
#[derive(Debug)]
pub struct Estate {
    pub inventory: Inventory,
    servers: Mutex<HashMap<String, Arc<Server>>>,
}

/// A peer of an HA relationship and how to reach it (`None`: not in the inventory, or its
/// inventory entry cannot be used).
#[derive(Debug, Clone)]
pub struct PeerTarget {
    /// The peer's name in the HA configuration.
    pub peer: String,
    pub service: Option<Service>,
}

impl Estate {
    pub fn new(inventory: Inventory) -> Self {
        Self {
            inventory,
            servers: Mutex::new(HashMap::new()),
        }
    }

    /// The server of that inventory name (the inventory's default for `None`), connecting on
    /// first use. Nothing is sent: credentials are read on the first command.
    pub fn server(&self, name: Option<&str>) -> Result<Arc<Server>, KeaError> {
        Ok(self.server_new(name)?.0)
    }

    /// [`Estate::server`], and whether this call made the handle (the first use of the name).
    pub fn server_new(&self, name: Option<&str>) -> Result<(Arc<Server>, bool), KeaError> {
        let name = name.unwrap_or(&self.inventory.default).to_string();
        let mut servers = self.servers.lock().expect("servers lock");
        if let Some(s) = servers.get(&name) {
            return Ok((s.clone(), false));
        }
        let entry = self.inventory.get(&name)?;
        let server = Arc::new(Server::from_entry(&name, entry)?);
        servers.insert(name, server.clone());
        Ok((server, true))
    }

    /// Makes `server` the handle of inventory name `name` (a fleet run hands over the handle
    /// it resolved the selection with: its daemon's identity and HA topology are known).
    pub fn adopt(&self, name: &str, server: Arc<Server>) {
        self.servers
            .lock()
            .expect("servers lock")
            .insert(name.to_string(), server);
    }

    /// One service of an inventory server.
    pub fn service(&self, name: &str, service: &str) -> Result<Service, KeaError> {
        Service::new(self.server(Some(name))?, service)
    }

    /// The inventory name of a connected server (by identity), if it came from there.
    pub fn name_of(&self, server: &Arc<Server>) -> Option<String> {
        self.servers
            .lock()
            .expect("servers lock")
            .iter()
            .find(|(_, s)| Arc::ptr_eq(s, server))
            .map(|(n, _)| n.clone())
    }

    /// The other peers of `svc`'s relationship, each mapped to an inventory server when
    /// possible (by its URL, else by an `[ha.NAME]` entry); a peer whose inventory entry
    /// cannot be used is left unmapped (it then refuses the change, naming the peer).
    pub fn peers(&self, svc: &Service, topo: &HaTopology) -> Vec<PeerTarget> {
        let this_name = self
            .name_of(&svc.server)
            .unwrap_or_else(|| svc.server.name().to_string());
        topo.partners()
            .map(|p| {
                let service = match ha::map_peer(p, topo, &this_name, &self.inventory) {
                    Some(n) if n != this_name => self.service(&n, &svc.name).ok(),
                    _ => None,
                };
                PeerTarget {
                    peer: p.name.clone(),
                    service,
                }
            })
            .collect()
    }

    /// The same service on every server of the inventory, `svc`'s own first (a `global`
    /// class goes to each). Two names for one daemon are both listed: the pipeline changes a
    /// daemon once, whatever reaches it.
    pub fn everywhere(&self, svc: &Service) -> Result<Vec<Service>, KeaError> {
        let mut out = vec![svc.clone()];
        for n in self.inventory.servers.keys() {
            let server = self.server(Some(n))?;
            if Arc::ptr_eq(&server, &svc.server) {
                continue;
            }
            out.push(Service::new(server, &svc.name)?);
        }
        Ok(out)
    }

    /// A service of the inventory reached at `url` (a journal entry's target): the server
    /// named `server` when its URL for the service is `url`, else any server whose is.
    pub fn find(&self, server: &str, service: &str, url: &str) -> Option<Service> {
        let matches = |s: &Service| s.server.service_url(service) == url;
        if self.inventory.servers.contains_key(server)
            && let Ok(s) = self.service(server, service)
            && matches(&s)
        {
            return Some(s);
        }
        self.inventory
            .servers
            .keys()
            .filter_map(|n| self.service(n, service).ok())
            .find(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estate() -> Estate {
        Estate::new(
            Inventory::parse(
                "default = \"a\"\n[servers.a]\nurl = \"http://127.0.0.1:18101\"\n[servers.b]\nurl = \"http://127.0.0.1:18102\"\n[servers.c]\ndhcp4 = \"unix:/run/kea/c4\"\n",
                None,
            )
            .unwrap(),
        )
    }

    #[test]
    fn one_handle_per_name_and_every_server_once() {
        let e = estate();
        let (a, new) = e.server_new(None).unwrap();
        assert!(new);
        let (a2, new) = e.server_new(Some("a")).unwrap();
        assert!(!new && Arc::ptr_eq(&a, &a2));
        assert_eq!(e.name_of(&a).as_deref(), Some("a"));
        assert_eq!(
            e.server(Some("nope")).unwrap_err().kind,
            crate::kea::ErrorKind::NotFound
        );
        let svc = e.service("b", "dhcp4").unwrap();
        let all = e.everywhere(&svc).unwrap();
        assert_eq!(
            all.iter().map(|s| s.server.name()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        let found = e.find(
            "x",
            "dhcp4",
            &e.server(Some("c")).unwrap().service_url("dhcp4"),
        );
        assert_eq!(
            found.map(|s| s.server.name().to_string()).as_deref(),
            Some("c")
        );
        assert!(e.find("a", "dhcp4", "http://10.9.9.9:1/").is_none());
    }
}
