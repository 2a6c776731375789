//! The lab's Kea configuration files and its inventory file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{HaMode, KeaInstall, LabOptions, Node};
use crate::kea::KeaVersion;

/// What the lab's files depend on: where the hooks are and which Kea generation reads them.
#[derive(Debug, Clone)]
pub struct Flavor {
    pub hooks_dir: PathBuf,
    pub version: KeaVersion,
}

impl Flavor {
    pub fn of(install: &KeaInstall) -> Self {
        Self {
            hooks_dir: install.hooks_dir.clone(),
            version: install.kea_version(),
        }
    }

    /// A hook library of this Kea, when it has it.
    fn hook(&self, name: &str) -> Option<PathBuf> {
        let p = self.hooks_dir.join(format!("libdhcp_{name}.so"));
        p.is_file().then_some(p)
    }
}

/// The user of the daemons' HTTP control sockets (Kea ≥ 2.7.2).
pub const HTTP_USER: &str = "keascript-lab";

/// HTTPS on the lab's Control Agent.
#[derive(Debug, Clone)]
pub struct LabTls {
    /// The agent's certificate and key (PEM).
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The CA that signed the certificates: the agent's trust anchor for client
    /// certificates, and the `ca_file` of the lab's inventory.
    pub ca_file: PathBuf,
    /// Whether clients must present a certificate.
    pub cert_required: bool,
}

/// The file a daemon of a lab server reads (`dhcp4`, `dhcp6`, `agent`).
pub fn file_of(dir: &Path, which: &str) -> PathBuf {
    dir.join(match which {
        "dhcp4" => "kea-dhcp4.json",
        "dhcp6" => "kea-dhcp6.json",
        _ => "kea-ctrl-agent.json",
    })
}

/// The lab's hook libraries: lease and statistics commands; on Kea ≥ 2.7 also the subnet,
/// class and host commands, which became free software then.
fn hooks(flavor: &Flavor) -> Value {
    let mut names = vec!["lease_cmds", "stat_cmds"];
    if flavor.version.daemon_http() {
        names.extend(["subnet_cmds", "class_cmds", "host_cmds"]);
    }
    Value::Array(
        names
            .into_iter()
            .filter_map(|n| flavor.hook(n))
            .map(|p| json!({ "library": p }))
            .collect(),
    )
}

/// The daemon's control sockets: its UNIX socket; on Kea ≥ 2.7.2 also its own HTTP socket
/// with basic authentication from a user file and a password file.
fn control_sockets(root: &mut Value, run: &Path, sock: &str, http_port: Option<u16>) {
    let unix = json!({ "socket-type": "unix", "socket-name": run.join(sock) });
    match http_port {
        None => root["control-socket"] = unix,
        Some(port) => {
            root["control-sockets"] = json!([unix, {
                "socket-type": "http", "socket-address": "127.0.0.1", "socket-port": port,
                "authentication": { "type": "basic", "realm": "keascript-lab", "directory": run,
                    "clients": [{ "user-file": "api-user", "password-file": "api-password" }] }
            }]);
        }
    }
}

/// The HA hook entry of `this` server of a pair (`reference/lab/ha/`: 1 s heartbeat, so the
/// pair settles in about 3 s; peers are reached through their Control Agents).
fn ha_hook(flavor: &Flavor, mode: HaMode, this: &str, nodes: &[Node]) -> Value {
    let roles = match mode {
        HaMode::HotStandby => ["primary", "standby"],
        HaMode::LoadBalancing => ["primary", "secondary"],
    };
    let peers: Vec<Value> = nodes
        .iter()
        .zip(roles)
        .map(|(n, role)| {
            // Kea ≥ 2.7: each peer's dedicated HA listener; before, its Control Agent.
            let port = n.ha_port.unwrap_or(n.ca_port);
            json!({ "name": n.name, "url": format!("http://127.0.0.1:{port}/"),
                    "role": role, "auto-failover": true })
        })
        .collect();
    let mut relationship = json!({
        "this-server-name": this, "mode": mode.as_str(),
        "heartbeat-delay": 1000, "max-response-delay": 3000, "max-ack-delay": 1000,
        "max-unacked-clients": 0, "sync-timeout": 10000, "peers": peers
    });
    if nodes.iter().any(|n| n.ha_port.is_some()) {
        relationship["multi-threading"] = json!({
            "enable-multi-threading": true, "http-dedicated-listener": true,
            "http-listener-threads": 1, "http-client-threads": 1
        });
    }
    json!({ "library": flavor.hooks_dir.join("libdhcp_ha.so"),
            "parameters": { "high-availability": [relationship] } })
}

fn logger(name: &str, run: &Path) -> Value {
    json!([{ "name": name, "output_options": [{ "output": run.join(format!("{name}.log")) }], "severity": "INFO" }])
}

/// The lab's kea-dhcp4 configuration.
pub fn dhcp4(run: &Path, flavor: &Flavor, extra_subnets: usize, http_port: Option<u16>) -> Value {
    let mut subnets = vec![json!({
        "id": 1, "subnet": "192.0.2.0/24",
        "pools": [{ "pool": "192.0.2.10 - 192.0.2.200" }],
        "option-data": [{ "name": "routers", "data": "192.0.2.1" }]
    })];
    for i in 0..extra_subnets {
        let (a, b) = (10 + i / 256, i % 256);
        subnets.push(json!({
            "id": i + 2, "subnet": format!("10.{a}.{b}.0/24"),
            "pools": [{ "pool": format!("10.{a}.{b}.10 - 10.{a}.{b}.200") }]
        }));
    }
    let mut v = json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "lease-database": { "type": "memfile", "persist": true, "name": run.join("kea-leases4.csv"), "lfc-interval": 0 },
        "hooks-libraries": hooks(flavor),
        "valid-lifetime": 4000,
        "subnet4": subnets,
        "loggers": logger("kea-dhcp4", run)
    }});
    control_sockets(&mut v["Dhcp4"], run, "kea4.sock", http_port);
    v
}

/// The lab's kea-dhcp6 configuration.
pub fn dhcp6(run: &Path, flavor: &Flavor, http_port: Option<u16>) -> Value {
    let mut v = json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [] },
        "lease-database": { "type": "memfile", "persist": true, "name": run.join("kea-leases6.csv"), "lfc-interval": 0 },
        "hooks-libraries": hooks(flavor),
        "preferred-lifetime": 3000,
        "valid-lifetime": 4000,
        "subnet6": [{ "id": 1, "subnet": "2001:db8:1::/64", "pools": [{ "pool": "2001:db8:1::10 - 2001:db8:1::ffff" }] }],
        "loggers": logger("kea-dhcp6", run)
    }});
    // Kea 3 takes its data folder from KEA_DHCP_DATA_DIR (the lab sets it) and warns
    // about `data-directory`.
    if !flavor.version.path_rules() {
        v["Dhcp6"]["data-directory"] = json!(run);
    }
    control_sockets(&mut v["Dhcp6"], run, "kea6.sock", http_port);
    v
}

/// The lab's kea-ctrl-agent configuration.
pub fn agent(run: &Path, port: u16, options: &LabOptions) -> Value {
    let mut ca = json!({
        "http-host": "127.0.0.1",
        "http-port": port,
        "control-sockets": {
            "dhcp4": { "socket-type": "unix", "socket-name": run.join("kea4.sock") },
            "dhcp6": { "socket-type": "unix", "socket-name": run.join("kea6.sock") }
        },
        "loggers": logger("kea-ctrl-agent", run)
    });
    if let Some((user, password)) = &options.auth {
        ca["authentication"] = json!({
            "type": "basic", "realm": "keascript-lab",
            "clients": [{ "user": user, "password": password.expose() }]
        });
    }
    if let Some(tls) = &options.tls {
        ca["trust-anchor"] = json!(tls.ca_file);
        ca["cert-file"] = json!(tls.cert_file);
        ca["key-file"] = json!(tls.key_file);
        ca["cert-required"] = json!(tls.cert_required);
    }
    json!({ "Control-agent": ca })
}

/// The inventory for the lab: each server through its agent (`lab`, or `server1` and
/// `server2` of a pair) and through its UNIX sockets (`lab-unix`, `server1-unix`, …).
pub fn inventory(run: &Path, nodes: &[Node], options: &LabOptions) -> String {
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let q = |p: &Path| toml_string(&p.display().to_string());
    let mut s = format!(
        "# Written by keascript lab: the lab's servers.\ndefault = \"{}\"\n",
        nodes[0].name
    );
    for n in nodes {
        if options.dhcp4_only {
            let unix = toml_string(&format!("unix:{}", n.dir.join("kea4.sock").display()));
            match n.http_ports {
                Some((p4, _)) => s.push_str(&format!(
                    "\n[servers.{}]\ndhcp4 = \"http://127.0.0.1:{p4}\"\nuser = {}\npassword_file = {}\n",
                    n.name,
                    toml_string(HTTP_USER),
                    q(&n.dir.join("api-password"))
                )),
                None => s.push_str(&format!("\n[servers.{}]\ndhcp4 = {unix}\n", n.name)),
            }
            s.push_str(&format!("\n[servers.{}-unix]\ndhcp4 = {unix}\n", n.name));
            continue;
        }
        if let Some((p4, p6)) = n.http_ports {
            // Kea ≥ 2.7.2: the daemons' own sockets manage the server; the Control Agent
            // (deprecated in Kea 3) stays reachable as NAME-agent.
            s.push_str(&format!(
                "\n[servers.{}]\ndhcp4 = \"http://127.0.0.1:{p4}\"\ndhcp6 = \"http://127.0.0.1:{p6}\"\nuser = {}\npassword_file = {}\n",
                n.name,
                toml_string(HTTP_USER),
                q(&n.dir.join("api-password"))
            ));
            s.push_str(&format!("\n[servers.{}-agent]\n", n.name));
        } else {
            s.push_str(&format!("\n[servers.{}]\n", n.name));
        }
        s.push_str(&format!("url = \"{scheme}://127.0.0.1:{}\"\n", n.ca_port));
        if let Some((user, _)) = &options.auth {
            s.push_str(&format!(
                "user = {}\npassword_file = {}\n",
                toml_string(user),
                q(&run.join("lab.pass"))
            ));
        }
        if let Some(tls) = &options.tls {
            s.push_str(&format!("ca_file = {}\n", q(&tls.ca_file)));
        }
        s.push_str(&format!(
            "\n[servers.{}-unix]\ndhcp4 = {}\ndhcp6 = {}\n",
            n.name,
            toml_string(&format!("unix:{}", n.dir.join("kea4.sock").display())),
            toml_string(&format!("unix:{}", n.dir.join("kea6.sock").display()))
        ));
    }
    if options.ha.is_some() {
        let names: Vec<String> = nodes.iter().map(|n| toml_string(&n.name)).collect();
        s.push_str(&format!("\n[ha.pair]\npeers = [{}]\n", names.join(", ")));
    }
    s
}

/// A file only its owner can read (credentials).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// A random password for the lab's HTTP control sockets (hex of 16 random bytes).
fn fresh_password() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A memfile lease file (Kea 2.2 schema) with `n` leases in the big subnet.
fn write_leases4(path: &Path, n: usize) -> std::io::Result<()> {
    use std::io::Write;
    let expire = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 86_400;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        f,
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context"
    )?;
    for i in 1..=n {
        writeln!(
            f,
            "172.{}.{}.{},02:00:{:02x}:{:02x}:{:02x}:{:02x},,86400,{expire},{},0,0,,0,",
            16 + ((i >> 16) & 15),
            (i >> 8) & 255,
            i & 255,
            (i >> 24) & 255,
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            super::BIG_SUBNET_ID
        )?;
    }
    f.flush()
}

/// Writes every file of the lab; returns the inventory's path.
pub(super) fn write(
    run: &Path,
    nodes: &[Node],
    install: &KeaInstall,
    options: &LabOptions,
) -> std::io::Result<PathBuf> {
    let flavor = Flavor::of(install);
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON");
    let http_password = fresh_password()?;
    for n in nodes {
        if n.http_ports.is_some() {
            write_private(&n.dir.join("api-user"), HTTP_USER)?;
            write_private(&n.dir.join("api-password"), &http_password)?;
        }
        let http = |i: usize| n.http_ports.map(|p| if i == 4 { p.0 } else { p.1 });
        let mut v4 = dhcp4(&n.dir, &flavor, options.extra_subnets4, http(4));
        if options.leases4 > 0 {
            v4["Dhcp4"]["subnet4"]
                .as_array_mut()
                .expect("subnets")
                .push(json!({
                    "id": super::BIG_SUBNET_ID, "subnet": super::BIG_SUBNET,
                    "pools": [{ "pool": "172.16.0.1 - 172.31.255.254" }]
                }));
            write_leases4(&n.dir.join("kea-leases4.csv"), options.leases4)?;
        }
        if let Some(mode) = options.ha {
            let root = &mut v4["Dhcp4"];
            root["hooks-libraries"]
                .as_array_mut()
                .expect("hooks")
                .push(ha_hook(&flavor, mode, &n.name, nodes));
            if mode == HaMode::LoadBalancing {
                // Load balancing needs the pools split between the peers.
                root["subnet4"][0]["pools"] = if flavor.version.class_lists() {
                    json!([
                        { "pool": "192.0.2.10 - 192.0.2.100", "client-classes": ["HA_server1"] },
                        { "pool": "192.0.2.101 - 192.0.2.200", "client-classes": ["HA_server2"] }
                    ])
                } else {
                    json!([
                        { "pool": "192.0.2.10 - 192.0.2.100", "client-class": "HA_server1" },
                        { "pool": "192.0.2.101 - 192.0.2.200", "client-class": "HA_server2" }
                    ])
                };
            }
        }
        std::fs::write(file_of(&n.dir, "dhcp4"), pretty(&v4))?;
        std::fs::write(
            file_of(&n.dir, "dhcp6"),
            pretty(&dhcp6(&n.dir, &flavor, http(6))),
        )?;
        std::fs::write(
            file_of(&n.dir, "agent"),
            pretty(&agent(&n.dir, n.ca_port, options)),
        )?;
    }
    if let Some((_, password)) = &options.auth {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(run.join("lab.pass"))?;
        writeln!(f, "{}", password.expose())?;
    }
    if options.tls.is_some() {
        std::fs::write(run.join("tls-enabled"), "")?;
    }
    let inventory = run.join("keascript.toml");
    std::fs::write(&inventory, self::inventory(run, nodes, options))?;
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::Inventory;
    use crate::transport::Secret;

    #[test]
    fn the_lab_inventory_parses_and_names_both_servers() {
        let opts = LabOptions {
            auth: Some(("admin".into(), Secret::new("pw"))),
            ..Default::default()
        };
        let nodes = [Node {
            name: "lab".into(),
            dir: "/tmp/x y".into(),
            ca_port: 18000,
            ..Default::default()
        }];
        let text = inventory(Path::new("/tmp/x y"), &nodes, &opts);
        let inv = Inventory::parse(&text, Some(Path::new("/tmp/x y/keascript.toml"))).unwrap();
        assert_eq!(inv.default, "lab");
        assert_eq!(
            inv.servers["lab"].url.as_deref(),
            Some("http://127.0.0.1:18000")
        );
        assert_eq!(
            inv.servers["lab-unix"].dhcp4.as_deref(),
            Some("unix:/tmp/x y/kea4.sock")
        );
        assert!(!text.contains("pw"), "the password stays in its file");
    }

    #[test]
    fn extra_subnets_get_unique_ids_and_prefixes() {
        let flavor = Flavor {
            hooks_dir: "/h".into(),
            version: KeaVersion::new(2, 2, 0),
        };
        let v = dhcp4(Path::new("/r"), &flavor, 600, None);
        let subnets = v["Dhcp4"]["subnet4"].as_array().unwrap();
        assert_eq!(subnets.len(), 601);
        let ids: std::collections::BTreeSet<_> = subnets.iter().map(|s| s["id"].as_u64()).collect();
        let nets: std::collections::BTreeSet<_> =
            subnets.iter().map(|s| s["subnet"].as_str()).collect();
        assert_eq!(ids.len(), 601);
        assert_eq!(nets.len(), 601);
    }
}
