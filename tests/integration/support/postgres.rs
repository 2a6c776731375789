//! A real PostgreSQL for the hosts-database tests: Debian's `postgresql` binaries
//! (`/usr/lib/postgresql/*/bin`), a cluster made with `initdb` in a temp folder owned by the
//! unprivileged `postgres` user (PostgreSQL refuses to run as root), listening on a free
//! loopback port, with a `kea` database and user; Kea's schema is made by the Kea 3 root's
//! `kea-admin db-init pgsql`. Stopped by the postmaster's PID when dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "kea";
pub const PASSWORD: &str = "kea-pg-Secret-41";
pub const DB: &str = "kea";

pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    child: Option<Child>,
}

/// The newest `/usr/lib/postgresql/<n>/bin`, when PostgreSQL is installed.
fn bin_dir() -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    v.sort();
    v.pop()
}

fn ids() -> Option<(u32, u32)> {
    let u = nix::unistd::User::from_name("postgres").ok()??;
    Some((u.uid.as_raw(), u.gid.as_raw()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    /// Starts a cluster; `Err` says why it cannot (not installed, no `postgres` user).
    pub fn start() -> Result<Self, String> {
        let bin = bin_dir().ok_or("PostgreSQL is not installed (apt-get install -y postgresql)")?;
        let (uid, gid) =
            ids().ok_or("there is no postgres user (Debian's postgresql package makes it)")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let as_pg = |prog: &str| {
            let mut c = Command::new(bin.join(prog));
            c.uid(uid).gid(gid).current_dir(dir.path());
            c
        };
        let out = as_pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port();
        let child = as_pg("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("postgres.log")).unwrap())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut me = Self {
            dir,
            port,
            bin,
            child: Some(child),
        };
        // Ready when it answers a query (not on a timer).
        let start = Instant::now();
        loop {
            if me.psql("postgres", "SELECT 1").is_ok() {
                break;
            }
            if let Some(Ok(Some(st))) = me.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "postgres exited ({st}): {}",
                    std::fs::read_to_string(me.dir.path().join("postgres.log")).unwrap_or_default()
                ));
            }
            if start.elapsed() > Duration::from_secs(120) {
                return Err("postgres did not answer within 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        me.psql(
            "postgres",
            &format!("CREATE USER {USER} WITH PASSWORD '{PASSWORD}'"),
        )?;
        me.psql("postgres", &format!("CREATE DATABASE {DB} OWNER {USER}"))?;
        Ok(me)
    }

    /// Runs SQL as the superuser; returns the unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-A", "-t", "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Kea's schema, made by `kea-admin db-init pgsql` of the Kea at `kea_bin`.
    pub fn kea_schema(&self, kea_bin: &Path) -> Result<(), String> {
        self.kea_schema_in(kea_bin, DB)
    }

    /// Another database `name` (owned by the `kea` user) with Kea's schema.
    pub fn another_kea_database(&self, kea_bin: &Path, name: &str) -> Result<(), String> {
        self.psql("postgres", &format!("CREATE DATABASE {name} OWNER {USER}"))?;
        self.kea_schema_in(kea_bin, name)
    }

    fn kea_schema_in(&self, kea_bin: &Path, db: &str) -> Result<(), String> {
        let admin = kea_bin.join("kea-admin");
        let out = Command::new(&admin)
            .args(["db-init", "pgsql", "-u", USER, "-p", PASSWORD, "-n", db])
            .args(["-h", "127.0.0.1", "-P", &self.port.to_string()])
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .map_err(|e| format!("{}: {e}", admin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "kea-admin db-init pgsql failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// The `hosts-database` map for Kea.
    pub fn hosts_database(&self) -> serde_json::Value {
        self.hosts_database_named(DB)
    }

    /// The `hosts-database` map of database `name`.
    pub fn hosts_database_named(&self, name: &str) -> serde_json::Value {
        serde_json::json!({ "type": "postgresql", "name": name, "user": USER, "password": PASSWORD,
                            "host": "127.0.0.1", "port": self.port })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT: PostgreSQL's fast shutdown, to the postmaster's own PID.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let start = Instant::now();
            while matches!(c.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
