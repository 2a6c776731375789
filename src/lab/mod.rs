//! A disposable Kea lab: real `kea-dhcp4`, `kea-dhcp6` and `kea-ctrl-agent` on loopback,
//! free ports, a temporary directory, and an inventory file for it. The same code serves
//! `keascript lab`, `keascript run --lab` and the integration tests.
//!
//! The recipe follows `reference/kea-lab.md` §1: `KEA_PIDFILE_DIR` / `KEA_LOCKFILE_DIR` in
//! the lab directory, `interfaces: []`, a `data-directory` for kea-dhcp6, memfile leases.
//! Every process the lab starts is stopped by its PID when the lab is dropped.

mod configs;
mod install;
mod process;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::transport::{Endpoint, Request, Secret, Transport, TransportOptions};

pub use configs::LabTls;
pub use install::{INSTALL_HINT, KeaInstall};
use process::Daemon;

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// Extra IPv4 subnets (one /24 with one pool each) beside the lab's own, to make a
    /// big configuration.
    pub extra_subnets4: usize,
    /// Basic authentication on the Control Agent: user and password.
    pub auth: Option<(String, Secret)>,
    /// HTTPS on the Control Agent.
    pub tls: Option<LabTls>,
    /// Start a real HA pair (`server1`, `server2`, each with its own daemons and agent)
    /// instead of one server.
    pub ha: Option<HaMode>,
    /// Preload this many IPv4 leases (memfile CSV) in an extra subnet
    /// [`BIG_SUBNET`] (id [`BIG_SUBNET_ID`]).
    pub leases4: usize,
    /// Start kea-dhcp4 only (no kea-dhcp6, no Control Agent): the lightest real server,
    /// for fleets of labs. Its inventory reaches dhcp4 directly (`lab`: its HTTP socket on
    /// Kea ≥ 2.7.2, else its UNIX socket; `lab-unix`: its UNIX socket).
    pub dhcp4_only: bool,
}

/// The subnet that holds preloaded leases.
pub const BIG_SUBNET: &str = "172.16.0.0/12";
pub const BIG_SUBNET_ID: u64 = 1_000_000;

/// The HA mode of a lab pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaMode {
    HotStandby,
    LoadBalancing,
}

impl HaMode {
    /// Kea's name of the mode, which is also the state both peers settle in.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HotStandby => "hot-standby",
            Self::LoadBalancing => "load-balancing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hot-standby" => Some(Self::HotStandby),
            "load-balancing" => Some(Self::LoadBalancing),
            _ => None,
        }
    }
}

/// One Kea server of the lab: its name, directory and ports.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    /// The Control Agent's port.
    pub ca_port: u16,
    /// Kea ≥ 2.7.2: the daemons' own HTTP control sockets (dhcp4, dhcp6), with basic
    /// authentication.
    pub http_ports: Option<(u16, u16)>,
    /// Kea ≥ 2.7: the HA hook's dedicated listener (an HA pair only).
    pub ha_port: Option<u16>,
}

/// A running lab. Dropping it stops every process it started and removes its directory.
pub struct Lab {
    dir: tempfile::TempDir,
    /// The agent port of the first (or only) server.
    pub ca_port: u16,
    pub version: String,
    nodes: Vec<Node>,
    ha: Option<HaMode>,
    daemons: Vec<Daemon>,
    inventory: PathBuf,
    dhcp4_only: bool,
}

/// Why a lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{0}")]
    NotInstalled(String),
    #[error("the lab could not start: {0}")]
    Start(String),
}

impl Lab {
    /// Starts a lab and waits until the agent and both daemons answer.
    pub async fn start(options: LabOptions) -> Result<Lab, LabError> {
        let install = KeaInstall::find()?;
        let mut last = String::new();
        // A free port can be taken by someone else before the agent binds it: retry.
        for _ in 0..3 {
            match Self::start_once(&install, &options).await {
                Ok(lab) => return Ok(lab),
                Err(LabError::Start(e)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(LabError::Start(last))
    }

    async fn start_once(install: &KeaInstall, options: &LabOptions) -> Result<Lab, LabError> {
        let dir = tempfile::Builder::new()
            .prefix("keascript-lab-")
            .tempdir()
            .map_err(|e| LabError::Start(format!("cannot create a temporary directory: {e}")))?;
        let root = dir.path().to_path_buf();
        let names: Vec<&str> = if options.ha.is_some() {
            vec!["server1", "server2"]
        } else {
            vec!["lab"]
        };
        let mut nodes = Vec::new();
        for name in &names {
            let node_dir = if options.ha.is_some() {
                root.join(name)
            } else {
                root.clone()
            };
            std::fs::create_dir_all(&node_dir).map_err(|e| {
                LabError::Start(format!("cannot create {}: {e}", node_dir.display()))
            })?;
            // Kea 3 keeps control sockets only in a folder of mode 0750 or tighter.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&node_dir, std::fs::Permissions::from_mode(0o750)).map_err(
                |e| LabError::Start(format!("cannot restrict {}: {e}", node_dir.display())),
            )?;
            let port = || free_port().map_err(|e| LabError::Start(format!("no free port: {e}")));
            let modern = install.kea_version().daemon_http();
            nodes.push(Node {
                name: name.to_string(),
                dir: node_dir,
                ca_port: port()?,
                http_ports: if modern {
                    Some((port()?, port()?))
                } else {
                    None
                },
                ha_port: if modern && options.ha.is_some() {
                    Some(port()?)
                } else {
                    None
                },
            });
        }
        let files = configs::write(&root, &nodes, install, options)
            .map_err(|e| LabError::Start(format!("cannot write the lab configuration: {e}")))?;
        let mut lab = Lab {
            dir,
            ca_port: nodes[0].ca_port,
            version: install.version.clone(),
            nodes: nodes.clone(),
            ha: options.ha,
            daemons: Vec::new(),
            inventory: files,
            dhcp4_only: options.dhcp4_only,
        };
        for node in &nodes {
            for (which, bin) in [
                ("dhcp4", &install.dhcp4),
                ("dhcp6", &install.dhcp6),
                ("agent", &install.agent),
            ] {
                if options.dhcp4_only && which != "dhcp4" {
                    continue;
                }
                let name = lab.daemon_name(&node.name, which);
                let cfg = configs::file_of(&node.dir, which);
                let d = Daemon::spawn(&name, bin, &cfg, &node.dir, install)
                    .map_err(|e| LabError::Start(format!("cannot start {name}: {e}")))?;
                lab.daemons.push(d);
            }
        }
        lab.wait_ready(Duration::from_secs(30)).await?;
        if let Some(mode) = lab.ha {
            lab.wait_ha(mode.as_str(), Duration::from_secs(30)).await?;
        }
        Ok(lab)
    }

    /// The name of a daemon: `kea-dhcp4` in a one-server lab, `server2/kea-dhcp4` in a pair.
    fn daemon_name(&self, node: &str, which: &str) -> String {
        let program = match which {
            "dhcp4" => "kea-dhcp4",
            "dhcp6" => "kea-dhcp6",
            _ => "kea-ctrl-agent",
        };
        if self.ha.is_some() {
            format!("{node}/{program}")
        } else {
            program.to_string()
        }
    }

    /// Waits until both peers of an HA pair report `state` in `ha-heartbeat`.
    pub async fn wait_ha(&self, state: &str, limit: Duration) -> Result<(), LabError> {
        let started = Instant::now();
        loop {
            let states = self.ha_states().await;
            if states.iter().all(|s| s.as_deref() == Some(state)) {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(LabError::Start(format!(
                    "the HA pair did not reach {state} within {}s (states {states:?}); logs in {}",
                    limit.as_secs(),
                    self.dir().display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Each node's HA state from `ha-heartbeat` on its UNIX socket (`None` when it does not
    /// answer).
    pub async fn ha_states(&self) -> Vec<Option<String>> {
        let opts = TransportOptions {
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let mut out = Vec::new();
        for n in &self.nodes {
            let sock = n.dir.join("kea4.sock");
            let state = match Endpoint::parse(&format!("unix:{}", sock.display()), true)
                .and_then(|ep| Transport::new(ep, opts.clone()))
            {
                Ok(t) => t
                    .send(&Request::new("ha-heartbeat"))
                    .await
                    .ok()
                    .and_then(|a| a.arguments)
                    .and_then(|a| a.get("state").and_then(|s| s.as_str()).map(String::from)),
                Err(_) => None,
            };
            out.push(state);
        }
        out
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), LabError> {
        let started = Instant::now();
        let opts = TransportOptions {
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let mut probes = Vec::new();
        let sockets: Vec<PathBuf> = self
            .nodes
            .iter()
            .flat_map(|n| [n.dir.join("kea4.sock"), n.dir.join("kea6.sock")])
            .filter(|s| !self.dhcp4_only || s.ends_with("kea4.sock"))
            .collect();
        for sock in sockets {
            let ep = Endpoint::parse(&format!("unix:{}", sock.display()), true)
                .map_err(|e| LabError::Start(e.to_string()))?;
            probes.push(
                Transport::new(ep, opts.clone()).map_err(|e| LabError::Start(e.to_string()))?,
            );
        }
        let request = Request::new("version-get");
        loop {
            for d in &mut self.daemons {
                if let Some(status) = d.exited() {
                    return Err(LabError::Start(format!(
                        "{} exited ({status}) during start-up:\n{}",
                        d.name,
                        d.tail_output(20)
                    )));
                }
            }
            let mut ready = self.nodes.iter().all(|n| {
                let mut ports = vec![n.ca_port];
                ports.extend(n.http_ports.iter().flat_map(|(a, b)| [*a, *b]));
                if self.dhcp4_only {
                    ports = n.http_ports.iter().map(|(a, _)| *a).collect();
                }
                ports.iter().all(|p| {
                    std::net::TcpStream::connect_timeout(
                        &([127, 0, 0, 1], *p).into(),
                        Duration::from_millis(200),
                    )
                    .is_ok()
                })
            });
            for p in &probes {
                ready &= matches!(p.send(&request).await, Ok(a) if a.result == 0);
            }
            if ready {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(LabError::Start(format!(
                    "the daemons did not answer within {}s; logs in {}",
                    limit.as_secs(),
                    self.dir().display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The lab's directory (configs, sockets, logs, leases, inventory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The Control Agent URL (of the first server).
    pub fn url(&self) -> String {
        self.url_of(0)
    }

    /// The Control Agent URL of server `i` (0 or, in a pair, 1).
    pub fn url_of(&self, i: usize) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.nodes[i].ca_port)
    }

    /// The version of the Kea the lab runs.
    pub fn kea_version(&self) -> crate::kea::KeaVersion {
        crate::kea::KeaVersion::parse(&self.version).unwrap_or_default()
    }

    /// Kea ≥ 2.7.2: the URL of a daemon's own HTTP control socket (`dhcp4`, `dhcp6`) of
    /// server `i`; `None` on an older Kea.
    pub fn http_url_of(&self, i: usize, service: &str) -> Option<String> {
        let (p4, p6) = self.nodes[i].http_ports?;
        let port = if service == "dhcp6" { p6 } else { p4 };
        Some(format!("http://127.0.0.1:{port}"))
    }

    /// The lab's servers: one, or the two peers of an HA pair.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The HA mode of a pair lab.
    pub fn ha_mode(&self) -> Option<HaMode> {
        self.ha
    }

    fn is_tls(&self) -> bool {
        self.dir.path().join("tls-enabled").exists()
    }

    /// The UNIX control socket of `dhcp4` or `dhcp6` (of the first server).
    pub fn socket(&self, service: &str) -> PathBuf {
        self.socket_of(0, service)
    }

    /// The UNIX control socket of `dhcp4` or `dhcp6` of server `i`.
    pub fn socket_of(&self, i: usize, service: &str) -> PathBuf {
        let v = if service == "dhcp6" { "6" } else { "4" };
        self.nodes[i].dir.join(format!("kea{v}.sock"))
    }

    /// The configuration file a daemon was started with (`dhcp4`, `dhcp6`, `agent`).
    pub fn config_file(&self, which: &str) -> PathBuf {
        self.config_file_of(0, which)
    }

    /// The configuration file of a daemon of server `i`.
    pub fn config_file_of(&self, i: usize, which: &str) -> PathBuf {
        configs::file_of(&self.nodes[i].dir, which)
    }

    /// The inventory file that describes this lab (`lab` through the agent, `lab-unix`
    /// through the UNIX sockets).
    pub fn inventory(&self) -> &Path {
        &self.inventory
    }

    /// PIDs of the processes the lab started (still running or not).
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.iter().map(|d| d.pid).collect()
    }

    /// PID of one daemon (`kea-dhcp4`, `kea-dhcp6`, `kea-ctrl-agent`; in a pair
    /// `server2/kea-dhcp4`…).
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.daemons.iter().find(|d| d.name == name).map(|d| d.pid)
    }

    /// Stops one daemon (to test what happens when it is down).
    pub fn kill(&mut self, name: &str) {
        if let Some(d) = self.daemons.iter_mut().find(|d| d.name == name) {
            d.stop();
        }
    }

    /// Restarts one daemon (`kea-dhcp4`, `kea-dhcp6`, `kea-ctrl-agent`) from its config
    /// file, and waits until the lab answers again: shows what a change left on disk.
    pub async fn restart(&mut self, name: &str) -> Result<(), LabError> {
        let i = self
            .daemons
            .iter()
            .position(|d| d.name == name)
            .ok_or_else(|| LabError::Start(format!("no daemon {name} in the lab")))?;
        self.daemons[i].stop();
        let install = KeaInstall::find()?;
        let (node, program) = match name.split_once('/') {
            Some((n, p)) => (self.nodes.iter().position(|x| x.name == n).unwrap_or(0), p),
            None => (0, name),
        };
        let (bin, cfg) = match program {
            "kea-dhcp4" => (install.dhcp4.clone(), self.config_file_of(node, "dhcp4")),
            "kea-dhcp6" => (install.dhcp6.clone(), self.config_file_of(node, "dhcp6")),
            _ => (install.agent.clone(), self.config_file_of(node, "agent")),
        };
        let run = self.nodes[node].dir.clone();
        self.daemons[i] = Daemon::spawn(name, &bin, &cfg, &run, &install)
            .map_err(|e| LabError::Start(format!("cannot restart {name}: {e}")))?;
        self.wait_ready(Duration::from_secs(30)).await
    }

    /// Stops every process the lab started, by PID. Also done on drop.
    pub fn stop(&mut self) {
        // The agent first, so nothing forwards to a daemon that is going away.
        for d in self.daemons.iter_mut().rev() {
            d.stop();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
