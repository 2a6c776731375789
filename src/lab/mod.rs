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
}

/// A running lab. Dropping it stops every process it started and removes its directory.
pub struct Lab {
    dir: tempfile::TempDir,
    pub ca_port: u16,
    pub version: String,
    daemons: Vec<Daemon>,
    inventory: PathBuf,
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
        let run = dir.path().to_path_buf();
        let ca_port = free_port().map_err(|e| LabError::Start(format!("no free port: {e}")))?;
        let files = configs::write(&run, ca_port, &install.hooks_dir, options)
            .map_err(|e| LabError::Start(format!("cannot write the lab configuration: {e}")))?;
        let mut lab = Lab {
            dir,
            ca_port,
            version: install.version.clone(),
            daemons: Vec::new(),
            inventory: files.inventory,
        };
        for (name, bin, cfg) in [
            ("kea-dhcp4", &install.dhcp4, &files.dhcp4),
            ("kea-dhcp6", &install.dhcp6, &files.dhcp6),
            ("kea-ctrl-agent", &install.agent, &files.agent),
        ] {
            let d = Daemon::spawn(name, bin, cfg, &run)
                .map_err(|e| LabError::Start(format!("cannot start {name}: {e}")))?;
            lab.daemons.push(d);
        }
        lab.wait_ready(Duration::from_secs(30)).await?;
        Ok(lab)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), LabError> {
        let started = Instant::now();
        let opts = TransportOptions {
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            ..Default::default()
        };
        let mut probes = Vec::new();
        for sock in [self.socket("dhcp4"), self.socket("dhcp6")] {
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
            let mut ready = std::net::TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.ca_port).into(),
                Duration::from_millis(200),
            )
            .is_ok();
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

    /// The Control Agent URL.
    pub fn url(&self) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.ca_port)
    }

    fn is_tls(&self) -> bool {
        self.dir.path().join("tls-enabled").exists()
    }

    /// The UNIX control socket of `dhcp4` or `dhcp6`.
    pub fn socket(&self, service: &str) -> PathBuf {
        let v = if service == "dhcp6" { "6" } else { "4" };
        self.dir.path().join(format!("kea{v}.sock"))
    }

    /// The configuration file a daemon was started with (`dhcp4`, `dhcp6`, `agent`).
    pub fn config_file(&self, which: &str) -> PathBuf {
        let name = match which {
            "dhcp4" => "kea-dhcp4.json",
            "dhcp6" => "kea-dhcp6.json",
            _ => "kea-ctrl-agent.json",
        };
        self.dir.path().join(name)
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

    /// PID of one daemon (`kea-dhcp4`, `kea-dhcp6`, `kea-ctrl-agent`).
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
        let (bin, cfg) = match name {
            "kea-dhcp4" => (install.dhcp4, self.config_file("dhcp4")),
            "kea-dhcp6" => (install.dhcp6, self.config_file("dhcp6")),
            _ => (install.agent, self.config_file("agent")),
        };
        let run = self.dir().to_path_buf();
        self.daemons[i] = Daemon::spawn(name, &bin, &cfg, &run)
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
