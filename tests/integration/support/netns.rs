//! A kea-dhcp4 that real DHCP clients can reach: two network namespaces made for the test
//! (`reference/lab/netns/run.sh`), a veth pair between them, the daemon (the lab's Kea:
//! Debian's 2.2 or `KEASCRIPT_KEA_BIN_DIR`'s) inside the server namespace listening on its
//! end, its UNIX control socket reachable from here, and `perfdhcp` run in the client
//! namespace. Everything is removed when dropped; the daemon is stopped by its PID.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keascript::lab::KeaInstall;
use serde_json::{Value, json};

pub struct NetnsKea {
    pub dir: tempfile::TempDir,
    pub srv: String,
    pub cli: String,
    pub veth_cli: String,
    daemon: Option<Child>,
    install: KeaInstall,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when this process may make namespaces (root); otherwise prints why the test is
/// skipped, or panics when `KEASCRIPT_TESTS_NEED_ROOT` asks for root tests.
pub fn root_or_skip(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("KEASCRIPT_TESTS_NEED_ROOT").is_some() {
        panic!("{what} needs root (KEASCRIPT_TESTS_NEED_ROOT is set)");
    }
    eprintln!("skipping {what}: network namespaces need root");
    false
}

impl NetnsKea {
    /// Starts kea-dhcp4 in a fresh namespace pair with `subnet4` (the server's end is
    /// 192.0.2.1/24), and waits for its control socket.
    pub fn start(subnet4: Value) -> Self {
        let install = KeaInstall::find().expect("Kea is installed");
        let dir = tempfile::tempdir().expect("tempdir");
        // Kea 3 wants its socket folder at 750 exactly.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o750),
        )
        .expect("chmod 750");
        let tag = format!("{:05}", std::process::id() % 100_000);
        let srv = format!("ks{tag}s");
        let cli = format!("ks{tag}c");
        let (vs, vc) = (format!("kv{tag}s"), format!("kv{tag}c"));
        assert!(ip(&["netns", "add", &srv]), "ip netns add {srv}");
        assert!(ip(&["netns", "add", &cli]), "ip netns add {cli}");
        let mut me = Self {
            dir,
            srv: srv.clone(),
            cli: cli.clone(),
            veth_cli: vc.clone(),
            daemon: None,
            install,
        };
        for a in [
            vec!["link", "add", &vs, "type", "veth", "peer", "name", &vc],
            vec!["link", "set", &vs, "netns", &srv],
            vec!["link", "set", &vc, "netns", &cli],
            vec!["-n", &srv, "link", "set", "lo", "up"],
            vec!["-n", &cli, "link", "set", "lo", "up"],
            vec!["-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &vs],
            vec!["-n", &cli, "addr", "add", "192.0.2.2/24", "dev", &vc],
            vec!["-n", &srv, "link", "set", &vs, "up"],
            vec!["-n", &cli, "link", "set", &vc, "up"],
        ] {
            assert!(ip(&a), "ip {}", a.join(" "));
        }
        let run = me.dir.path().to_path_buf();
        let hooks: Vec<Value> = ["libdhcp_lease_cmds.so"]
            .iter()
            .map(|h| json!({ "library": me.install.hooks_dir.join(h) }))
            .collect();
        let config = json!({ "Dhcp4": {
            "interfaces-config": { "interfaces": [vs] },
            "lease-database": { "type": "memfile", "persist": true,
                                "name": run.join("kea-leases4.csv"), "lfc-interval": 0 },
            "control-socket": { "socket-type": "unix", "socket-name": run.join("kea4.sock") },
            "hooks-libraries": hooks,
            "valid-lifetime": 4000,
            "subnet4": subnet4,
            "loggers": [{ "name": "kea-dhcp4", "severity": "INFO",
                          "output_options": [{ "output": run.join("kea-dhcp4.log") }] }]
        }});
        let file = run.join("kea-dhcp4.json");
        std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &srv])
            .arg(&me.install.dhcp4)
            .arg("-c")
            .arg(&file)
            .env("KEA_PIDFILE_DIR", &run)
            .env("KEA_LOCKFILE_DIR", &run)
            .env("KEA_CONTROL_SOCKET_DIR", &run)
            .env("KEA_LOG_FILE_DIR", &run)
            .env("KEA_DHCP_DATA_DIR", &run)
            .env("KEA_HOOKS_PATH", &me.install.hooks_dir)
            .envs(me.install.lfc.iter().map(|l| ("KEA_LFC_EXECUTABLE", l)))
            .stdout(std::fs::File::create(run.join("out4")).unwrap())
            .stderr(Stdio::inherit());
        me.daemon = Some(cmd.spawn().expect("start kea-dhcp4"));
        me.wait_for(|| run.join("kea4.sock").exists(), "the control socket");
        me
    }

    fn wait_for(&mut self, mut f: impl FnMut() -> bool, what: &str) {
        let start = Instant::now();
        while !f() {
            if let Some(Ok(Some(st))) = self.daemon.as_mut().map(Child::try_wait) {
                panic!(
                    "kea-dhcp4 exited ({st}) before {what}: {}",
                    std::fs::read_to_string(self.dir.path().join("kea-dhcp4.log"))
                        .unwrap_or_default()
                );
            }
            assert!(start.elapsed() < Duration::from_secs(120), "no {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("kea4.sock")
    }

    pub fn lease_file(&self) -> PathBuf {
        self.dir.path().join("kea-leases4.csv")
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("kea-dhcp4.json")
    }

    /// An inventory with this daemon as server `net`.
    pub fn inventory(&self) -> PathBuf {
        let p = self.dir.path().join("inventory.toml");
        std::fs::write(
            &p,
            format!(
                "default = \"net\"\n\n[servers.net]\ndhcp4 = \"unix:{}\"\n",
                self.socket().display()
            ),
        )
        .unwrap();
        p
    }

    /// Runs one DHCPv4 client with `mac` through a full DORA exchange; returns perfdhcp's
    /// report.
    pub fn perfdhcp4(&self, mac: &str) -> String {
        let bin = self
            .install
            .dhcp4
            .parent()
            .map(|d| d.join("perfdhcp"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("perfdhcp"));
        let out = Command::new("ip")
            .args(["netns", "exec", &self.cli])
            .arg(bin)
            .args(["-4", "-l", &self.veth_cli, "-R", "1", "-n", "1", "-r", "1"])
            .arg("-b")
            .arg(format!("mac={mac}"))
            .args(["-W", "2000000"])
            .output()
            .expect("perfdhcp");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Waits until the lease file has a line for `mac`; returns it.
    pub fn wait_lease_line(&mut self, mac: &str) -> String {
        let file = self.lease_file();
        let mut found = String::new();
        self.wait_for(
            || {
                found = std::fs::read_to_string(&file)
                    .unwrap_or_default()
                    .lines()
                    .rfind(|l| l.contains(mac))
                    .unwrap_or_default()
                    .to_string();
                !found.is_empty()
            },
            "lease line",
        );
        found
    }
}

impl Drop for NetnsKea {
    fn drop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            // `ip netns exec` execs the daemon: this PID is kea-dhcp4's.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let start = Instant::now();
            while matches!(c.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        ip(&["netns", "del", &self.srv]);
        ip(&["netns", "del", &self.cli]);
    }
}
