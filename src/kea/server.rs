//! A Kea server (a Control Agent, or one endpoint per daemon) and its DHCP services.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Capabilities, ErrorKind, KeaError, KeaVersion, SERVICES, ServerEntry};
use crate::transport::{Answer, Endpoint, RequestRef, Transport, TransportOptions};

/// One server: how to reach its Control Agent and/or each of its daemons.
///
/// A server from the inventory reads its credentials (password file or variable, CA and
/// client certificate files) when it is first used, not when it is named: `servers()`
/// lists every server even when one of them cannot be used.
#[derive(Debug)]
pub struct Server {
    name: String,
    agent: Option<Endpoint>,
    endpoints: BTreeMap<String, Endpoint>,
    config_path_only: bool,
    /// The inventory entry whose credentials are read on first use; `None` once connected.
    entry: Option<ServerEntry>,
    /// The connections, made on first use.
    connected: Mutex<Option<Arc<Connections>>>,
    /// `list-commands` read once per service.
    capabilities: Mutex<HashMap<String, Capabilities>>,
    /// The HA relationship read once per service.
    ha: Mutex<HashMap<String, Option<super::ha::HaTopology>>>,
    /// Each service's Kea version (`version-get`), read once ("" for the Control Agent).
    versions: Mutex<HashMap<String, KeaVersion>>,
    /// The folder each service's configuration file is in, as its `config-write` said.
    config_folders: Mutex<HashMap<String, std::path::PathBuf>>,
    /// Each service's daemon identity, once known (see [`super::identity`]).
    identities: Mutex<HashMap<String, super::identity::DaemonId>>,
    /// Each local service's pid, as the `status-get` that named its identity reported it
    /// (the persistence check reads `/proc` with it instead of asking again).
    pids: Mutex<HashMap<String, u32>>,
}

/// The transports of a server: its Control Agent, and one per daemon endpoint.
#[derive(Debug)]
struct Connections {
    agent: Option<Transport>,
    services: BTreeMap<String, Transport>,
}

/// An `unsupported` answer says which hook library provides the command.
fn name_the_hook(mut e: KeaError, command: &str) -> KeaError {
    if e.kind == ErrorKind::Unsupported
        && let Some(lib) = super::doctor::hook_for_command(command)
    {
        e.message = format!(
            "{} ({command} is provided by the hook library {lib}: add it to the daemon's hooks-libraries; `keascript doctor` shows the entry)",
            e.message
        );
    }
    e
}

impl Server {
    fn empty(name: &str, config_path_only: bool) -> Self {
        Self {
            name: name.to_string(),
            agent: None,
            endpoints: BTreeMap::new(),
            config_path_only,
            entry: None,
            connected: Mutex::default(),
            capabilities: Mutex::default(),
            ha: Mutex::default(),
            versions: Mutex::default(),
            config_folders: Mutex::default(),
            identities: Mutex::default(),
            pids: Mutex::default(),
        }
    }

    /// The server an inventory entry describes. Nothing is read or sent yet: the addresses
    /// are checked now, the credentials on first use.
    pub fn from_entry(name: &str, entry: &ServerEntry) -> Result<Self, KeaError> {
        entry.check(name).map_err(|e| e.with_server(name))?;
        let mut s = Self::empty(name, entry.config_path_only);
        let bad =
            |e: crate::transport::TransportError| KeaError::from_transport(&e).with_server(name);
        if let Some(url) = &entry.url {
            s.agent = Some(Endpoint::parse(url, false).map_err(bad)?);
        }
        for (service, addr) in [("dhcp4", &entry.dhcp4), ("dhcp6", &entry.dhcp6)] {
            if let Some(addr) = addr {
                s.endpoints
                    .insert(service.into(), Endpoint::parse(addr, true).map_err(bad)?);
            }
        }
        s.entry = Some(entry.clone());
        Ok(s)
    }

    /// An ad-hoc server: `url` is a Control Agent, unless `service` names the one daemon
    /// behind it (a daemon HTTP socket); `unix:/path` is always one daemon (`service`
    /// says which, `dhcp4` by default). Connects now (TLS files are read now).
    pub fn connect(
        url: &str,
        service: Option<&str>,
        options: TransportOptions,
    ) -> Result<Self, KeaError> {
        let name = crate::transport::scrub(url).into_owned();
        let bad =
            |e: crate::transport::TransportError| KeaError::from_transport(&e).with_server(&name);
        if let Some(s) = service {
            check_service(s)?;
        }
        let is_unix = url.starts_with("unix:");
        let mut s = Self::empty(&name, false);
        let mut c = Connections {
            agent: None,
            services: BTreeMap::new(),
        };
        match (is_unix, service) {
            (false, None) => {
                let ep = Endpoint::parse(url, false).map_err(bad)?;
                c.agent = Some(Transport::new(ep.clone(), options).map_err(bad)?);
                s.agent = Some(ep);
            }
            (_, svc) => {
                let ep = Endpoint::parse(url, true).map_err(bad)?;
                let svc = svc.unwrap_or("dhcp4").to_string();
                c.services.insert(
                    svc.clone(),
                    Transport::new(ep.clone(), options).map_err(bad)?,
                );
                s.endpoints.insert(svc, ep);
            }
        }
        *s.connected.lock().expect("connections lock") = Some(Arc::new(c));
        Ok(s)
    }

    /// A service's daemon identity, when [`super::identity::daemon_id`] found it.
    pub fn remembered_identity(&self, service: &str) -> Option<super::identity::DaemonId> {
        self.identities
            .lock()
            .expect("identities lock")
            .get(service)
            .cloned()
    }

    /// Remembers a service's daemon identity.
    pub fn remember_identity(&self, service: &str, id: super::identity::DaemonId) {
        self.identities
            .lock()
            .expect("identities lock")
            .insert(service.to_string(), id);
    }

    /// The pid a local service's `status-get` reported when its identity was learnt.
    pub fn remembered_pid(&self, service: &str) -> Option<u32> {
        self.pids.lock().expect("pids lock").get(service).copied()
    }

    /// Remembers the pid a local service's `status-get` reported.
    pub fn remember_pid(&self, service: &str, pid: u32) {
        self.pids
            .lock()
            .expect("pids lock")
            .insert(service.to_string(), pid);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The management address: the Control Agent URL, or the first daemon endpoint.
    pub fn url(&self) -> String {
        self.agent
            .as_ref()
            .or_else(|| self.endpoints.values().next())
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// True when the inventory forbids the subnet/class hooks for this server.
    pub fn config_path_only(&self) -> bool {
        self.config_path_only
    }

    /// The services this server has an endpoint for (through its agent: dhcp4 and dhcp6).
    pub fn configured_services(&self) -> Vec<String> {
        if self.agent.is_some() {
            SERVICES.iter().map(|s| s.to_string()).collect()
        } else {
            self.endpoints.keys().cloned().collect()
        }
    }

    /// The connections, made on first use: the credentials are read now, and an unreadable
    /// password file, an unset variable or a bad CA or certificate file is an `invalid`
    /// error that names it (and is reported again on the next use).
    fn connections(&self) -> Result<Arc<Connections>, KeaError> {
        let mut connected = self.connected.lock().expect("connections lock");
        if let Some(c) = &*connected {
            return Ok(c.clone());
        }
        let entry = self
            .entry
            .as_ref()
            .expect("a server without connections has its entry");
        let options = entry.transport_options(&self.name)?;
        let bad = |e: crate::transport::TransportError| KeaError::from_transport(&e);
        let c = Connections {
            agent: match &self.agent {
                Some(ep) => Some(Transport::new(ep.clone(), options.clone()).map_err(bad)?),
                None => None,
            },
            services: self
                .endpoints
                .iter()
                .map(|(s, ep)| Ok((s.clone(), Transport::new(ep.clone(), options.clone())?)))
                .collect::<Result<_, crate::transport::TransportError>>()
                .map_err(bad)?,
        };
        let c = Arc::new(c);
        *connected = Some(c.clone());
        Ok(c)
    }

    fn route(&self, service: Option<&str>) -> Result<Transport, KeaError> {
        let c = self.connections()?;
        match service {
            Some(s) => c
                .services
                .get(s)
                .or(c.agent.as_ref())
                .cloned()
                .ok_or_else(|| {
                    KeaError::invalid(format!(
                        "server \"{}\" has no endpoint for service \"{s}\" (it has: {})",
                        self.name,
                        self.endpoints
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }),
            None => match (&c.agent, c.services.len()) {
                (Some(a), _) => Ok(a.clone()),
                (None, 1) => Ok(c.services.values().next().expect("one service").clone()),
                (None, _) => Err(KeaError::invalid(format!(
                    "server \"{}\" has no Control Agent: name a service (dhcp4 or dhcp6)",
                    self.name
                ))),
            },
        }
    }

    /// Sends a command and returns Kea's answer as it is, whatever its result.
    ///
    /// A `config-write` that names a file is checked first: Kea 3 writes a configuration only
    /// into the folder of its startup configuration, and keascript never asks it to write
    /// one anywhere else.
    pub async fn answer(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<Value>,
    ) -> Result<Answer, KeaError> {
        self.answer_ref(command, service, arguments.as_ref()).await
    }

    /// [`Server::answer`] with borrowed arguments (a whole configuration is not copied).
    pub async fn answer_ref(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<&Value>,
    ) -> Result<Answer, KeaError> {
        let ctx = |e: KeaError| {
            e.with_server(&self.name)
                .with_service(service)
                .with_command(command)
        };
        if command == "config-write" {
            self.check_config_write(service, arguments)
                .await
                .map_err(ctx)?;
        }
        let answer = self.send(command, service, arguments).await?;
        if command == "config-write" && answer.result == 0 {
            self.remember_config_folder(service, &answer);
        }
        Ok(answer)
    }

    /// Sends a read-only command and returns the digest of its answer's bytes, without
    /// reading the answer (see [`Transport::digest`]); a Kea error is an error.
    pub async fn digest(&self, command: &str, service: Option<&str>) -> Result<u64, KeaError> {
        let transport = self.transport_for(command, service)?;
        let request = RequestRef {
            command,
            service,
            arguments: None,
        };
        match transport
            .digest(request)
            .await
            .map_err(|e| self.in_context(KeaError::from_transport(&e), command, service))?
        {
            Ok(d) => Ok(d),
            Err(answer) => Err(self.in_context(
                KeaError::from_answer(&answer).unwrap_or_else(|| {
                    KeaError::new(ErrorKind::Kea, "an HTTP error without a Kea error")
                }),
                command,
                service,
            )),
        }
    }

    /// `e`, naming this server, the service and the command.
    fn in_context(&self, e: KeaError, command: &str, service: Option<&str>) -> KeaError {
        e.with_server(&self.name)
            .with_service(service)
            .with_command(command)
    }

    /// The transport a command for `service` goes through (the service name checked).
    fn transport_for(&self, command: &str, service: Option<&str>) -> Result<Transport, KeaError> {
        if let Some(s) = service {
            check_service(s).map_err(|e| self.in_context(e, command, service))?;
        }
        self.route(service)
            .map_err(|e| self.in_context(e, command, service))
    }

    /// Sends one command, nothing checked but the service name.
    async fn send(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<&Value>,
    ) -> Result<Answer, KeaError> {
        let transport = self.transport_for(command, service)?;
        let request = RequestRef {
            command,
            service,
            arguments,
        };
        tracing::debug!(server = %self.name, service, command, "sending");
        let answer = transport
            .send_ref(request)
            .await
            .map_err(|e| self.in_context(KeaError::from_transport(&e), command, service))?;
        tracing::debug!(server = %self.name, service, command, result = answer.result, "answered");
        Ok(answer)
    }

    /// The Kea version of a service's daemon (or, without a service, of what the server's
    /// endpoint is: its Control Agent), asked once with `version-get` and then remembered.
    pub async fn kea_version_of(&self, service: Option<&str>) -> Result<KeaVersion, KeaError> {
        let key = service.unwrap_or("").to_string();
        if let Some(v) = self.versions.lock().expect("versions lock").get(&key) {
            return Ok(*v);
        }
        let a = self.send("version-get", service, None).await?;
        let err = |message: String| {
            KeaError::new(ErrorKind::Kea, message)
                .with_server(&self.name)
                .with_service(service)
                .with_command("version-get")
        };
        if let Some(e) = KeaError::from_answer(&a) {
            return Err(e
                .with_server(&self.name)
                .with_service(service)
                .with_command("version-get"));
        }
        let text = a.text.unwrap_or_default();
        let v = KeaVersion::parse(&text).ok_or_else(|| {
            err(format!(
                "version-get answered {text:?}, which names no Kea version"
            ))
        })?;
        self.versions.lock().expect("versions lock").insert(key, v);
        Ok(v)
    }

    /// Remembers the folder of the file a successful `config-write` wrote (Kea 3 writes only
    /// into its startup configuration's folder, so that is the folder).
    fn remember_config_folder(&self, service: Option<&str>, answer: &Answer) {
        if let Some(folder) = answer
            .arguments
            .as_ref()
            .and_then(|a| a.get("filename"))
            .and_then(Value::as_str)
            .and_then(super::config::paths::folder_of)
        {
            self.config_folders
                .lock()
                .expect("config folders lock")
                .insert(service.unwrap_or("").to_string(), folder);
        }
    }

    /// Refuses a `config-write` that would ask a Kea with path rules to write a
    /// configuration outside its startup configuration's folder. A bare file name is
    /// written next to the startup file by Kea itself; a path is sent only when its folder
    /// is the one an earlier `config-write` through this handle wrote into.
    async fn check_config_write(
        &self,
        service: Option<&str>,
        arguments: Option<&Value>,
    ) -> Result<(), KeaError> {
        let Some(file) = arguments
            .and_then(|a| a.get("filename"))
            .and_then(Value::as_str)
        else {
            return Ok(());
        };
        let Some(folder) = super::config::paths::folder_of(file) else {
            return Ok(());
        };
        let version = self.kea_version_of(service).await?;
        if !version.path_rules() {
            return Ok(());
        }
        let known = self
            .config_folders
            .lock()
            .expect("config folders lock")
            .get(service.unwrap_or(""))
            .cloned();
        match known {
            Some(k) if k == folder => Ok(()),
            Some(k) => Err(KeaError::invalid(format!(
                "config-write: Kea {version} writes a configuration only into the folder of its startup configuration ({}), and {file:?} is in {}; nothing was sent",
                k.display(),
                folder.display()
            ))),
            None => Err(KeaError::invalid(format!(
                "config-write: Kea {version} writes a configuration only into the folder of its startup configuration, which this server has not named yet; give a bare file name (Kea writes it next to its startup file) or no file name (the startup file itself). {file:?} was not sent"
            ))),
        }
    }

    /// Sends a command and returns its `arguments`: `None` when there are none, and for
    /// result 3 ("empty"). Any other non-zero result is an error.
    pub async fn command(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<Value>,
    ) -> Result<Option<Value>, KeaError> {
        let answer = self.answer(command, service, arguments).await?;
        match KeaError::from_answer(&answer) {
            None => Ok(answer.arguments),
            Some(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Some(e) => Err(name_the_hook(e, command)
                .with_server(&self.name)
                .with_service(service)
                .with_command(command)),
        }
    }

    /// Like [`Server::command`], but returns the whole successful answer (text included).
    pub async fn command_answer(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<Value>,
    ) -> Result<Answer, KeaError> {
        let answer = self.answer(command, service, arguments).await?;
        match KeaError::from_answer(&answer) {
            None => Ok(answer),
            Some(e) => Err(name_the_hook(e, command)
                .with_server(&self.name)
                .with_service(service)
                .with_command(command)),
        }
    }

    /// [`Server::command_answer`] with borrowed arguments.
    pub async fn command_answer_ref(
        &self,
        command: &str,
        service: Option<&str>,
        arguments: Option<&Value>,
    ) -> Result<Answer, KeaError> {
        let answer = self.answer_ref(command, service, arguments).await?;
        match KeaError::from_answer(&answer) {
            None => Ok(answer),
            Some(e) => Err(name_the_hook(e, command)
                .with_server(&self.name)
                .with_service(service)
                .with_command(command)),
        }
    }

    /// Where `service` is reached: the Control Agent's URL, or the service's own endpoint.
    pub fn service_url(&self, service: &str) -> String {
        self.agent
            .as_ref()
            .or_else(|| self.endpoints.get(service))
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// Kea's version string (`version-get`), e.g. `2.2.0`.
    pub async fn version(&self) -> Result<String, KeaError> {
        let service = if self.agent.is_some() {
            None
        } else {
            self.endpoints.keys().next().map(String::as_str)
        };
        let a = self.command_answer("version-get", service, None).await?;
        Ok(a.text.unwrap_or_default())
    }

    /// The DHCP services that answer behind this server.
    pub async fn services(&self) -> Result<Vec<String>, KeaError> {
        let mut candidates: Vec<String> = self.endpoints.keys().cloned().collect();
        if self.agent.is_some() {
            // The agent's own configuration names the daemons it forwards to.
            let cfg = self.command("config-get", None, None).await?;
            let sockets = cfg
                .as_ref()
                .and_then(|c| c.pointer("/Control-agent/control-sockets"))
                .and_then(Value::as_object);
            for s in SERVICES {
                if sockets.is_some_and(|m| m.contains_key(s)) && !candidates.iter().any(|c| c == s)
                {
                    candidates.push(s.to_string());
                }
            }
        }
        let mut up = Vec::new();
        for s in candidates {
            match self.command("version-get", Some(&s), None).await {
                Ok(_) => up.push(s),
                Err(e) if e.kind == ErrorKind::Transport => {}
                Err(e) => return Err(e),
            }
        }
        up.sort();
        Ok(up)
    }
}

fn check_service(s: &str) -> Result<(), KeaError> {
    if SERVICES.contains(&s) || s == "d2" {
        Ok(())
    } else {
        Err(KeaError::invalid(format!(
            "service \"{s}\" is not one of dhcp4, dhcp6, d2"
        )))
    }
}

/// A configuration as `config-get` answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRead {
    /// The configuration, without `hash`.
    pub config: Value,
    /// Kea's hash of it (Kea ≥ 2.4).
    pub hash: Option<String>,
    /// The digest of the answer's bytes.
    pub digest: u64,
}

/// One DHCP service of a server (`dhcp4` or `dhcp6`).
#[derive(Debug, Clone)]
pub struct Service {
    pub server: Arc<Server>,
    pub name: String,
}

impl Service {
    pub fn new(server: Arc<Server>, name: &str) -> Result<Self, KeaError> {
        if !SERVICES.contains(&name) {
            return Err(KeaError::invalid(format!(
                "service \"{name}\" is not one of dhcp4, dhcp6"
            )));
        }
        Ok(Self {
            server,
            name: name.to_string(),
        })
    }

    /// Sends a command to this service; see [`Server::command`].
    pub async fn command(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Option<Value>, KeaError> {
        self.server
            .command(command, Some(&self.name), arguments)
            .await
    }

    /// `list-commands`, read as capabilities.
    pub async fn capabilities(&self) -> Result<Capabilities, KeaError> {
        let cmds = self
            .command("list-commands", None)
            .await?
            .unwrap_or(Value::Null);
        let list: Vec<&str> = cmds
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        Ok(Capabilities::from_commands(&self.name, list))
    }

    /// Capabilities, asked once per server handle and then remembered.
    pub async fn capabilities_cached(&self) -> Result<Capabilities, KeaError> {
        if let Some(c) = self
            .server
            .capabilities
            .lock()
            .expect("capabilities lock")
            .get(&self.name)
        {
            return Ok(*c);
        }
        let c = self.capabilities().await?;
        self.server
            .capabilities
            .lock()
            .expect("capabilities lock")
            .insert(self.name.clone(), c);
        Ok(c)
    }

    /// The Kea version of this service's daemon (`version-get` sent to the service), asked
    /// once per server handle and then remembered. It decides how keascript spells what
    /// changed between Kea generations (class keys, path rules).
    pub async fn kea_version_cached(&self) -> Result<KeaVersion, KeaError> {
        self.server.kea_version_of(Some(&self.name)).await
    }

    /// The HA relationship of this service (from its configuration), read once per server
    /// handle.
    pub async fn ha_topology_cached(&self) -> Result<Option<super::ha::HaTopology>, KeaError> {
        if let Some(t) = self.server.ha.lock().expect("ha lock").get(&self.name) {
            return Ok(t.clone());
        }
        let doc = super::config::ConfigDoc::new(
            super::config::Family::of_service(&self.name),
            self.config().await?,
        )?;
        let t = super::ha::topology(&doc);
        self.server
            .ha
            .lock()
            .expect("ha lock")
            .insert(self.name.clone(), t.clone());
        Ok(t)
    }

    /// Remembers the HA relationship read from a configuration the caller already has.
    pub fn remember_ha_topology(&self, topology: Option<super::ha::HaTopology>) {
        self.server
            .ha
            .lock()
            .expect("ha lock")
            .insert(self.name.clone(), topology);
    }

    /// The running configuration, without the `hash` key later Kea versions add.
    pub async fn config(&self) -> Result<Value, KeaError> {
        Ok(self.config_and_hash().await?.0)
    }

    /// The running configuration and, from Kea 2.4 on, its hash.
    pub async fn config_and_hash(&self) -> Result<(Value, Option<String>), KeaError> {
        let read = self.config_read().await?;
        Ok((read.config, read.hash))
    }

    /// The running configuration (without `hash`), its hash (Kea ≥ 2.4) and the digest of
    /// the answer's bytes (to tell later whether it is still the same without reading it).
    pub async fn config_read(&self) -> Result<ConfigRead, KeaError> {
        let answer = self
            .server
            .command_answer("config-get", Some(&self.name), None)
            .await?;
        let digest = answer.digest;
        let mut cfg = answer.arguments.ok_or_else(|| {
            KeaError::new(ErrorKind::Kea, "config-get answered no configuration")
                .with_server(self.server.name())
                .with_service(Some(&self.name))
                .with_command("config-get")
        })?;
        let hash = cfg
            .as_object_mut()
            .and_then(|m| m.remove("hash"))
            .and_then(|h| h.as_str().map(String::from));
        Ok(ConfigRead {
            config: cfg,
            hash,
            digest,
        })
    }

    /// The digest of `config-get`'s answer, the configuration not read (see
    /// [`Service::config_read`]).
    pub async fn config_digest(&self) -> Result<u64, KeaError> {
        self.server.digest("config-get", Some(&self.name)).await
    }

    /// `config-hash-get`: the hash of the running configuration (Kea ≥ 2.4).
    pub async fn config_hash(&self) -> Result<Option<String>, KeaError> {
        Ok(self
            .command("config-hash-get", None)
            .await?
            .and_then(|a| a.get("hash").and_then(Value::as_str).map(String::from)))
    }

    /// `config-test`: Kea's verdict on a configuration, without applying it. Returns Kea's
    /// text on success; a rejection is a `kea` error with Kea's own text.
    pub async fn test(&self, config: &Value) -> Result<String, KeaError> {
        self.send_config("config-test", config).await
    }

    /// `config-set`: replaces the running configuration. Kea keeps the old one when it
    /// rejects the new one; a rejection is a `kea` error with Kea's own text.
    pub async fn set(&self, config: &Value) -> Result<String, KeaError> {
        self.send_config("config-set", config).await
    }

    /// Sends a whole configuration as it is (without a `hash`, which Kea refuses), and
    /// returns Kea's text.
    async fn send_config(&self, command: &str, config: &Value) -> Result<String, KeaError> {
        let unhashed;
        let config = if config.get("hash").is_some() {
            let mut c = config.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("hash");
            }
            unhashed = c;
            &unhashed
        } else {
            config
        };
        let a = self
            .server
            .command_answer_ref(command, Some(&self.name), Some(config))
            .await?;
        Ok(a.text.unwrap_or_default())
    }

    /// `config-write` to the file the daemon was started with.
    pub async fn write(&self) -> Result<Option<Value>, KeaError> {
        self.command("config-write", None).await
    }

    /// `config-reload`: the daemon re-reads its startup file.
    pub async fn reload(&self) -> Result<String, KeaError> {
        let a = self
            .server
            .command_answer("config-reload", Some(&self.name), None)
            .await?;
        Ok(a.text.unwrap_or_default())
    }

    /// `status-get`.
    pub async fn status(&self) -> Result<Value, KeaError> {
        Ok(self
            .command("status-get", None)
            .await?
            .unwrap_or(Value::Null))
    }
}
