//! The lab's Kea configuration files and its inventory file.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{HaMode, LabOptions, Node};

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

fn hooks(hooks_dir: &Path) -> Value {
    json!([
        { "library": hooks_dir.join("libdhcp_lease_cmds.so") },
        { "library": hooks_dir.join("libdhcp_stat_cmds.so") }
    ])
}

/// The HA hook entry of `this` server of a pair (`reference/lab/ha/`: 1 s heartbeat, so the
/// pair settles in about 3 s; peers are reached through their Control Agents).
fn ha_hook(hooks_dir: &Path, mode: HaMode, this: &str, nodes: &[Node]) -> Value {
    let roles = match mode {
        HaMode::HotStandby => ["primary", "standby"],
        HaMode::LoadBalancing => ["primary", "secondary"],
    };
    let peers: Vec<Value> = nodes
        .iter()
        .zip(roles)
        .map(|(n, role)| {
            json!({ "name": n.name, "url": format!("http://127.0.0.1:{}/", n.ca_port),
                    "role": role, "auto-failover": true })
        })
        .collect();
    json!({ "library": hooks_dir.join("libdhcp_ha.so"), "parameters": { "high-availability": [{
        "this-server-name": this, "mode": mode.as_str(),
        "heartbeat-delay": 1000, "max-response-delay": 3000, "max-ack-delay": 1000,
        "max-unacked-clients": 0, "sync-timeout": 10000, "peers": peers
    }]}})
}

fn logger(name: &str, run: &Path) -> Value {
    json!([{ "name": name, "output_options": [{ "output": run.join(format!("{name}.log")) }], "severity": "INFO" }])
}

/// The lab's kea-dhcp4 configuration.
pub fn dhcp4(run: &Path, hooks_dir: &Path, extra_subnets: usize) -> Value {
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
    json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "control-socket": { "socket-type": "unix", "socket-name": run.join("kea4.sock") },
        "lease-database": { "type": "memfile", "persist": true, "name": run.join("kea-leases4.csv"), "lfc-interval": 0 },
        "hooks-libraries": hooks(hooks_dir),
        "valid-lifetime": 4000,
        "subnet4": subnets,
        "loggers": logger("kea-dhcp4", run)
    }})
}

/// The lab's kea-dhcp6 configuration.
pub fn dhcp6(run: &Path, hooks_dir: &Path) -> Value {
    json!({ "Dhcp6": {
        "interfaces-config": { "interfaces": [] },
        "data-directory": run,
        "control-socket": { "socket-type": "unix", "socket-name": run.join("kea6.sock") },
        "lease-database": { "type": "memfile", "persist": true, "name": run.join("kea-leases6.csv"), "lfc-interval": 0 },
        "hooks-libraries": hooks(hooks_dir),
        "preferred-lifetime": 3000,
        "valid-lifetime": 4000,
        "subnet6": [{ "id": 1, "subnet": "2001:db8:1::/64", "pools": [{ "pool": "2001:db8:1::10 - 2001:db8:1::ffff" }] }],
        "loggers": logger("kea-dhcp6", run)
    }})
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
        s.push_str(&format!(
            "\n[servers.{}]\nurl = \"{scheme}://127.0.0.1:{}\"\n",
            n.name, n.ca_port
        ));
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
    hooks_dir: &Path,
    options: &LabOptions,
) -> std::io::Result<PathBuf> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON");
    for n in nodes {
        let mut v4 = dhcp4(&n.dir, hooks_dir, options.extra_subnets4);
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
                .push(ha_hook(hooks_dir, mode, &n.name, nodes));
            if mode == HaMode::LoadBalancing {
                // Load balancing needs the pools split between the peers.
                root["subnet4"][0]["pools"] = json!([
                    { "pool": "192.0.2.10 - 192.0.2.100", "client-class": "HA_server1" },
                    { "pool": "192.0.2.101 - 192.0.2.200", "client-class": "HA_server2" }
                ]);
            }
        }
        std::fs::write(file_of(&n.dir, "dhcp4"), pretty(&v4))?;
        std::fs::write(file_of(&n.dir, "dhcp6"), pretty(&dhcp6(&n.dir, hooks_dir)))?;
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
        let v = dhcp4(Path::new("/r"), Path::new("/h"), 600);
        let subnets = v["Dhcp4"]["subnet4"].as_array().unwrap();
        assert_eq!(subnets.len(), 601);
        let ids: std::collections::BTreeSet<_> = subnets.iter().map(|s| s["id"].as_u64()).collect();
        let nets: std::collections::BTreeSet<_> =
            subnets.iter().map(|s| s["subnet"].as_str()).collect();
        assert_eq!(ids.len(), 601);
        assert_eq!(nets.len(), 601);
    }
}
