//! Host reservations on a real Kea (2.2 from apt; 3.0 with `KEASCRIPT_KEA_BIN_DIR`), in the
//! configuration file: every call read back with `config-get` and from the file on disk;
//! each rule refused locally with nothing sent; warnings; a CSV import of 10,000 rows with 3
//! bad ones that changes nothing, then the fixed file as one change (one audit entry); and
//! a real DHCP client (perfdhcp in a network namespace) that gets its reserved address.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keascript::kea::{Inventory, Server, Service};
use keascript::lab::Lab;
use serde_json::Value;

use crate::support::{commands_in, is_mutating, keascript, lab, rt, script};

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A lab, a scratch folder, and the lab's inventory; scripts run through the binary.
pub struct Bench {
    pub lab: Lab,
    pub tmp: tempfile::TempDir,
    count: std::cell::Cell<usize>,
}

impl Bench {
    pub fn new() -> Option<Self> {
        lab().map(|lab| Self {
            lab,
            tmp: tempfile::tempdir().expect("tempdir"),
            count: std::cell::Cell::new(0),
        })
    }

    pub fn run(&self, text: &str) -> Run {
        self.run_with(&[], text)
    }

    /// Runs a script with extra `run` options (`--dry-run`).
    pub fn run_with(&self, args: &[&str], text: &str) -> Run {
        let i = self.count.get();
        self.count.set(i + 1);
        let path = script(self.tmp.path(), &format!("s{i}.rhai"), text);
        let out = keascript()
            .arg("--config")
            .arg(self.lab.inventory())
            .env("KEASCRIPT_STATE_DIR", self.tmp.path().join("state"))
            .env("KEASCRIPT_AUDIT_FILE", self.audit_file())
            .arg("run")
            .args(args)
            .arg(&path)
            .timeout(Duration::from_secs(300))
            .output()
            .expect("run keascript");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn ok(&self, text: &str) -> Run {
        let r = self.run(text);
        assert_eq!(
            r.code, 0,
            "script failed:\n{text}\n--- stdout:\n{}\n--- stderr:\n{}",
            r.stdout, r.stderr
        );
        r
    }

    /// Runs a script that must fail; returns its stderr.
    pub fn fails(&self, text: &str) -> String {
        let r = self.run(text);
        assert_ne!(r.code, 0, "script should fail:\n{text}\n{}", r.stdout);
        r.stderr
    }

    pub fn audit_file(&self) -> PathBuf {
        self.tmp.path().join("audit.jsonl")
    }

    /// The audit entries so far.
    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn service(&self, name: &str) -> Service {
        let inv = Inventory::load(self.lab.inventory()).expect("inventory");
        let entry = inv.get("lab").expect("lab in the inventory");
        let s = Server::from_entry("lab", entry).expect("server");
        Service::new(Arc::new(s), name).expect("service")
    }

    /// The running configuration's root map, read with config-get.
    pub fn config(&self, svc: &str) -> Value {
        let cfg = rt()
            .block_on(self.service(svc).config())
            .expect("config-get");
        cfg[root_key(svc)].clone()
    }

    /// The root map of the daemon's configuration file.
    pub fn file(&self, svc: &str) -> Value {
        let text = std::fs::read_to_string(self.lab.config_file(svc)).expect("config file");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        v[root_key(svc)].clone()
    }

    /// Both: the running configuration and the file.
    pub fn both(&self, svc: &str) -> [Value; 2] {
        [self.config(svc), self.file(svc)]
    }

    pub fn mark(&self, svc: &str) -> usize {
        commands_in(self.lab.dir(), svc).len()
    }

    pub fn mutations_since(&self, svc: &str, mark: usize) -> Vec<String> {
        commands_in(self.lab.dir(), svc)
            .into_iter()
            .skip(mark)
            .filter(|c| is_mutating(c))
            .collect()
    }
}

pub fn root_key(svc: &str) -> &'static str {
    if svc == "dhcp6" { "Dhcp6" } else { "Dhcp4" }
}

/// The subnet with `id` in a root map (top level or in a shared network).
pub fn subnet_in(root: &Value, id: u64) -> Option<Value> {
    let sk = if root.get("subnet6").is_some() {
        "subnet6"
    } else {
        "subnet4"
    };
    let top = root.get(sk).and_then(Value::as_array).into_iter().flatten();
    let nets = root
        .get("shared-networks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|n| n.get(sk).and_then(Value::as_array).into_iter().flatten());
    top.chain(nets)
        .find(|s| s.get("id").and_then(Value::as_u64) == Some(id))
        .cloned()
}

fn reservations_of(root: &Value, id: u64) -> Vec<Value> {
    subnet_in(root, id)
        .and_then(|s| s.get("reservations").cloned())
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default()
}

fn by_mac<'a>(list: &'a [Value], mac: &str) -> Option<&'a Value> {
    list.iter()
        .find(|r| r.get("hw-address").and_then(Value::as_str) == Some(mac))
}

#[test]
fn reservations_on_the_configuration_path_v4_and_v6() {
    let Some(b) = Bench::new() else { return };
    // Add, read back through keascript, the server and the file.
    let r = b.ok(r#"
        let srv = kea("lab");
        let r = srv.dhcp4.add_reservation(#{ subnet: 1, hw_address: "AA:BB:CC:00:00:01",
                                             ip_address: "192.0.2.250", hostname: "printer" });
        print(r.hw_address + " " + r.ip_address + " " + r.subnet);
        let again = srv.dhcp4.reservation(#{ hw_address: "aa-bb-cc-00-00-01" });
        print(again.hostname);
        print(srv.dhcp4.reservation("192.0.2.250").hostname);
        print(srv.dhcp4.reservations(1).len());
        print(srv.dhcp4.reservation(1, "192.0.2.251") == ());
        for r in srv.dhcp4.reservations() { print(`${r.hostname} in ${r.subnet}`); }
        print(srv.dhcp4.reservations("global").is_empty());
        print(srv.dhcp4.reservations(1).to_array().map(|r| r.ip_address));
    "#);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "aa:bb:cc:00:00:01 192.0.2.250 1",
            "printer",
            "printer",
            "1",
            "true",
            "printer in 1",
            "true",
            "[\"192.0.2.250\"]"
        ]
    );
    for root in b.both("dhcp4") {
        let list = reservations_of(&root, 1);
        let x = by_mac(&list, "aa:bb:cc:00:00:01").expect("reservation written");
        assert_eq!(x["ip-address"], "192.0.2.250");
        assert_eq!(x["hostname"], "printer");
    }
    // Every rule refused locally, naming field and value, nothing sent.
    let mark = b.mark("dhcp4");
    let refusals = [
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:cc:00:00:02", ip_address: "10.9.9.9" }"#,
            "ip_address 10.9.9.9 is outside its subnet 192.0.2.0/24",
        ),
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:cc:00:00:02", ip_address: "192.0.2.250" }"#,
            "address 192.0.2.250 is already reserved in subnet 1 (192.0.2.0/24) (reservation hw_address aa:bb:cc:00:00:01",
        ),
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:cc:00:00:01", hostname: "x" }"#,
            "hw_address aa:bb:cc:00:00:01 is already reserved in subnet 1",
        ),
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:gg:00:00:02", ip_address: "192.0.2.251" }"#,
            "hw_address \"aa:bb:gg:00:00:02\" is malformed",
        ),
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:cc:00:00:02" }"#,
            "reserves nothing",
        ),
        (
            r#"#{ subnet: 1, ip_address: "192.0.2.251" }"#,
            "exactly one identifier",
        ),
        (
            r#"#{ subnet: 1, hw_address: "aa:bb:cc:00:00:02", ip_addresses: ["192.0.2.251"] }"#,
            "no field \"ip_addresses\"",
        ),
    ];
    for (m, want) in refusals {
        let err = b.fails(&format!(r#"kea("lab").dhcp4.add_reservation({m});"#));
        assert!(err.contains(want), "{m}: wanted {want:?} in:\n{err}");
    }
    assert_eq!(
        b.mutations_since("dhcp4", mark),
        Vec::<String>::new(),
        "nothing sent"
    );
    // Warnings: an address inside a pool; a global reservation while reservations-global is off.
    let r = b.ok(r#"
        let d = kea("lab").dhcp4;
        d.add_reservation(#{ subnet: 1, hw_address: "aa:bb:cc:00:00:03", ip_address: "192.0.2.20" });
        d.add_reservation(#{ client_id: "01:aa:bb:cc:00:00:04", hostname: "global-one" });
    "#);
    assert!(
        r.stderr
            .contains("warning: reserved address 192.0.2.20 lies inside the dynamic pool"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("reservations_global is off"),
        "{}",
        r.stderr
    );
    for root in b.both("dhcp4") {
        let g = root["reservations"]
            .as_array()
            .expect("global reservations");
        // Kea writes a client-id back as bare hex digits ("01AABBCC000004").
        let hex = |v: &Value| {
            v.as_str()
                .unwrap_or("")
                .replace(':', "")
                .to_ascii_lowercase()
        };
        assert!(
            g.iter().any(|r| hex(&r["client-id"]) == "01aabbcc000004"),
            "{g:?}"
        );
    }
    // One MAC in two subnets: the bare key is refused, listing both; the scoped one works.
    b.ok(r#"
        let d = kea("lab").dhcp4;
        d.add_subnet(#{ id: 2, subnet: "10.2.0.0/24" });
        d.add_reservation(#{ subnet: 2, hw_address: "aa:bb:cc:00:00:01", ip_address: "10.2.0.5" });
    "#);
    let err = b.fails(r#"kea("lab").dhcp4.update_reservation(#{ hw_address: "aa:bb:cc:00:00:01" }, #{ hostname: "y" });"#);
    assert!(err.contains("matches 2 reservations"), "{err}");
    assert!(
        err.contains("subnet 1 (192.0.2.0/24)") && err.contains("subnet 2 (10.2.0.0/24)"),
        "{err}"
    );
    b.ok(r#"
        let d = kea("lab").dhcp4;
        let r = d.update_reservation(2, #{ hw_address: "aa:bb:cc:00:00:01" }, #{ hostname: "moved", ip_address: "10.2.0.6" });
        if r.hostname != "moved" { throw "update did not return the reservation"; }
        d.delete_reservation(1, "192.0.2.20");
    "#);
    for root in b.both("dhcp4") {
        let two = reservations_of(&root, 2);
        assert_eq!(two[0]["hostname"], "moved");
        assert_eq!(two[0]["ip-address"], "10.2.0.6");
        assert!(
            by_mac(&reservations_of(&root, 1), "aa:bb:cc:00:00:03").is_none(),
            "deleted"
        );
    }
    // Duplicate addresses allowed when the server allows them.
    b.ok(r#"
        let d = kea("lab").dhcp4;
        d.set(#{ ip_reservations_unique: false });
        d.add_reservation(#{ subnet: 1, hw_address: "aa:bb:cc:00:00:05", ip_address: "192.0.2.250" });
    "#);
    assert_eq!(
        reservations_of(&b.config("dhcp4"), 1)
            .iter()
            .filter(|r| r["ip-address"] == "192.0.2.250")
            .count(),
        2
    );
    // The audit trail names the kind.
    let kinds: Vec<String> = b
        .audit()
        .iter()
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect();
    assert!(
        kinds.iter().filter(|k| *k == "reservation").count() >= 5,
        "{kinds:?}"
    );
    // DHCPv6: addresses and prefixes.
    b.ok(r#"
        let d = kea("lab").dhcp6;
        d.add_reservation(#{ subnet: 1, duid: "00:03:00:01:aa:bb:cc:00:00:06",
                             ip_addresses: ["2001:db8:1::5"], prefixes: ["2001:db8:2:100::/56"] });
        let r = d.reservation(#{ duid: "00030001AABBCC000006" });
        if r.ip_addresses[0] != "2001:db8:1::5" { throw "v6 reservation not found by its DUID"; }
    "#);
    let err = b.fails(r#"kea("lab").dhcp6.add_reservation(#{ subnet: 1, duid: "00:03:00:01:aa:bb:cc:00:00:07", ip_addresses: ["2001:db9::5"] });"#);
    assert!(
        err.contains("ip_addresses 2001:db9::5 is outside its subnet 2001:db8:1::/64"),
        "{err}"
    );
    for root in b.both("dhcp6") {
        let list = reservations_of(&root, 1);
        let r = list
            .iter()
            .find(|r| {
                r["duid"]
                    .as_str()
                    .unwrap_or("")
                    .replace(':', "")
                    .eq_ignore_ascii_case("00030001aabbcc000006")
            })
            .expect("v6 reservation");
        assert_eq!(r["ip-addresses"][0], "2001:db8:1::5");
        assert_eq!(r["prefixes"][0], "2001:db8:2:100::/56");
    }
    b.ok(r#"kea("lab").dhcp6.delete_reservation("2001:db8:1::5");"#);
    assert!(reservations_of(&b.file("dhcp6"), 1).is_empty());
}

/// Writes a CSV of `n` reservations in subnet 1's 10.x space… of the lab's subnet ids
/// 2.. (a /16 added for the test), with `bad` rows (line numbers) broken.
fn write_csv(path: &Path, n: usize, bad: &[usize]) {
    let mut text = String::from("hw_address,ip_address,hostname\n");
    for i in 0..n {
        let line = i + 2;
        let mac = format!("02:00:00:00:{:02x}:{:02x}", i / 256, i % 256);
        let ip = format!("10.50.{}.{}", i / 250, i % 250 + 1);
        let row = match bad.iter().position(|b| *b == line) {
            Some(0) => format!("02:zz:00:00:00:00,{ip},h{i}"),
            Some(1) => format!("{mac},10.99.0.1,h{i}"),
            Some(_) => format!("{mac},10.50.0.1,h{i}"),
            None => format!("{mac},{ip},h{i}"),
        };
        text.push_str(&row);
        text.push('\n');
    }
    std::fs::write(path, text).expect("csv");
}

#[test]
fn importing_ten_thousand_reservations_is_one_change_or_none() {
    let Some(b) = Bench::new() else { return };
    b.ok(r#"kea("lab").dhcp4.add_subnet(#{ id: 50, subnet: "10.50.0.0/16" });"#);
    let csv = b.tmp.path().join("hosts.csv");
    // Lines 100, 5000 and 9000 are bad: a malformed MAC, an address outside the subnet, an
    // address another row already reserved.
    write_csv(&csv, 10_000, &[100, 5000, 9000]);
    let before = b.config("dhcp4");
    let audit_before = b.audit().len();
    let err = b.fails(&format!(
        r#"kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 50 }});"#,
        csv.display()
    ));
    assert!(err.contains("3 bad rows"), "{err}");
    assert!(
        err.contains("line 100: hw_address \"02:zz:00:00:00:00\" is malformed"),
        "{err}"
    );
    assert!(
        err.contains("line 5000: ip_address 10.99.0.1 is outside its subnet 10.50.0.0/16"),
        "{err}"
    );
    assert!(
        err.contains("line 9000: ip_address 10.50.0.1 is already reserved in subnet 50"),
        "{err}"
    );
    assert_eq!(b.config("dhcp4"), before, "nothing changed");
    assert_eq!(b.audit().len(), audit_before, "nothing recorded");
    write_csv(&csv, 10_000, &[]);
    let mark = b.mark("dhcp4");
    let r = b.ok(&format!(
        r#"let c = kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 50 }});
           print(`${{c.added}} ${{c.updated}} ${{c.unchanged}}`);"#,
        csv.display()
    ));
    assert_eq!(r.stdout.trim(), "10000 0 0");
    assert_eq!(
        b.mutations_since("dhcp4", mark),
        ["config-set", "config-write"]
    );
    let entries = b.audit();
    assert_eq!(entries.len(), audit_before + 1, "one audit entry");
    assert_eq!(entries.last().unwrap()["kind"], "reservation");
    assert_eq!(entries.last().unwrap()["action"], "import");
    for root in b.both("dhcp4") {
        let list = reservations_of(&root, 50);
        assert_eq!(list.len(), 10_000);
        let x = by_mac(&list, "02:00:00:00:27:0f").expect("the last row");
        assert_eq!(x["ip-address"], "10.50.39.250");
        assert_eq!(x["hostname"], "h9999");
    }
    // The same file again changes nothing.
    let mark = b.mark("dhcp4");
    let r = b.ok(&format!(
        r#"let c = kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 50 }});
           print(`${{c.added}} ${{c.updated}} ${{c.unchanged}}`);"#,
        csv.display()
    ));
    assert_eq!(r.stdout.trim(), "0 0 10000");
    assert!(b.mutations_since("dhcp4", mark).is_empty());
}

#[test]
fn a_real_dhcp_client_gets_its_reserved_address() {
    use crate::support::netns::{NetnsKea, root_or_skip};
    if !root_or_skip("the perfdhcp reservation test") {
        return;
    }
    let mut kea = NetnsKea::start(serde_json::json!([{
        "id": 1, "subnet": "192.0.2.0/24",
        "pools": [{ "pool": "192.0.2.10 - 192.0.2.200" }]
    }]));
    let mac = "02:42:ac:11:00:07";
    let tmp = tempfile::tempdir().unwrap();
    let inventory = kea.inventory();
    let run = |text: &str| {
        let path = script(tmp.path(), "s.rhai", text);
        keascript()
            .arg("--config")
            .arg(&inventory)
            .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
            .arg("run")
            .arg(&path)
            .timeout(Duration::from_secs(120))
            .output()
            .expect("keascript")
    };
    // Idempotent: check before adding.
    let out = run(&format!(
        r#"let d = kea().dhcp4;
           if d.reservation(#{{ hw_address: "{mac}" }}) == () {{
               d.add_reservation(#{{ subnet: 1, hw_address: "{mac}", ip_address: "192.0.2.222", hostname: "probe" }});
           }}"#
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(kea.config_file()).unwrap()).unwrap();
    assert_eq!(
        by_mac(&reservations_of(&file["Dhcp4"], 1), mac).expect("in the file")["ip-address"],
        "192.0.2.222"
    );
    let report = kea.perfdhcp4(mac);
    let line = kea.wait_lease_line(mac);
    assert!(
        line.starts_with("192.0.2.222,"),
        "the client got {line:?}, not its reserved address\n{report}"
    );
    // And through keascript (lease4-get).
    let out = run(r#"let l = kea().dhcp4.lease("192.0.2.222"); print(l.hw_address);"#);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), mac);
    // A client without a reservation gets a pool address; reserving that address for
    // another device is allowed, with warnings naming the lease and the pool.
    let other = "02:42:ac:11:00:08";
    kea.perfdhcp4(other);
    let line = kea.wait_lease_line(other);
    let leased = line.split(',').next().unwrap().to_string();
    let out = run(&format!(
        r#"kea().dhcp4.add_reservation(#{{ subnet: 1, hw_address: "02:42:ac:11:00:09", ip_address: "{leased}" }});"#
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "warning: reserved address {leased} is leased to another client (hw_address {other}"
        )),
        "{err}"
    );
    assert!(
        err.contains("inside the dynamic pool 192.0.2.10-192.0.2.200"),
        "{err}"
    );
}

/// Points a Kea ≥ 2.7 daemon (`svc`, reached directly at `sock`) at the hosts database in
/// `pg`: the PostgreSQL backend hook beside the others, `hosts-database`, written to its
/// file (sent straight to the socket, as an admin's own tool would).
pub fn use_hosts_database(svc: &Service, sock: &Path, pg: &crate::support::postgres::Postgres) {
    use_hosts_database_named(svc, sock, pg, crate::support::postgres::DB);
}

/// [`use_hosts_database`] with database `name` of `pg`.
pub fn use_hosts_database_named(
    svc: &Service,
    sock: &Path,
    pg: &crate::support::postgres::Postgres,
    name: &str,
) {
    use crate::support::kea_raw;
    let mut cfg = rt().block_on(svc.config()).expect("config-get");
    cfg.as_object_mut().unwrap().remove("hash");
    let root = &mut cfg["Dhcp4"];
    let lease_cmds = root["hooks-libraries"][0]["library"]
        .as_str()
        .unwrap()
        .to_string();
    let pgsql = Path::new(&lease_cmds).with_file_name("libdhcp_pgsql.so");
    root["hooks-libraries"]
        .as_array_mut()
        .unwrap()
        .insert(0, serde_json::json!({ "library": pgsql }));
    root["hosts-database"] = pg.hosts_database_named(name);
    for (cmd, args) in [("config-set", Some(cfg.clone())), ("config-write", None)] {
        let mut body = serde_json::json!({ "command": cmd });
        if let Some(a) = args {
            body["arguments"] = a;
        }
        let answer = kea_raw(sock, &body).expect("answer");
        assert_eq!(answer["result"], 0, "{cmd}: {answer}");
    }
}

/// Kea 3.0's lab with a hosts database in a real PostgreSQL: reservations change through
/// host_cmds (`reservation-add`/`-update`/`-del`), land in PostgreSQL's `hosts` table, and
/// never in the configuration file.
#[test]
fn reservations_in_a_postgresql_hosts_database_through_host_cmds() {
    use crate::support::kea_raw;
    let Some(b) = Bench::new() else { return };
    let svc = b.service("dhcp4");
    let caps = rt().block_on(svc.capabilities()).expect("list-commands");
    if !caps.host_cmds {
        eprintln!(
            "skipping the hosts-database test on Kea {}: Debian's Kea 2.2 has no host_cmds (run it with KEASCRIPT_KEA_BIN_DIR set to the Kea 3.0 root)",
            b.lab.version
        );
        return;
    }
    let (pg, _) = postgres_with_kea_schema();
    let sock = b.lab.socket("dhcp4");
    use_hosts_database(&svc, &sock, &pg);
    let r = b.ok(
        r#"let c = kea("lab").dhcp4.capabilities(); print(`${c.host_cmds} ${c.reservations}`);"#,
    );
    assert_eq!(r.stdout.trim(), "true database");
    let mac = "02:42:ac:11:00:99";
    let mark = b.mark("dhcp4");
    let r = b.ok(&format!(
        r#"let d = kea("lab").dhcp4;
           if d.reservation(1, #{{ hw_address: "{mac}" }}) == () {{
               d.add_reservation(#{{ subnet: 1, hw_address: "{mac}", ip_address: "192.0.2.240", hostname: "db-host" }});
           }}
           print(d.reservation(#{{ hw_address: "{mac}" }}).hostname);
           print(d.reservations(1).len());"#
    ));
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), ["db-host", "1"]);
    let sent: Vec<String> = commands_in(b.lab.dir(), "dhcp4")
        .into_iter()
        .skip(mark)
        .collect();
    assert!(sent.iter().any(|c| c == "reservation-add"), "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|c| c == "config-set" || c == "config-write"),
        "host_cmds only: {sent:?}"
    );
    let rows = |sql: &str| pg.psql("kea", sql).expect("psql");
    assert_eq!(
        rows("SELECT encode(dhcp_identifier, 'hex'), ipv4_address, hostname, dhcp4_subnet_id FROM hosts").trim(),
        format!("0242ac110099|{}|db-host|1", u32::from(std::net::Ipv4Addr::new(192, 0, 2, 240)))
    );
    assert!(
        !b.file("dhcp4").to_string().contains(mac),
        "not in the file"
    );
    let answer = kea_raw(
        &sock,
        &serde_json::json!({ "command": "reservation-get", "arguments":
            { "subnet-id": 1, "identifier-type": "hw-address", "identifier": mac } }),
    )
    .unwrap();
    assert_eq!(answer["arguments"]["ip-address"], "192.0.2.240", "{answer}");
    // The rules hold against the database: nothing sent.
    let mark = b.mark("dhcp4");
    let err = b.fails(r#"kea("lab").dhcp4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:98", ip_address: "192.0.2.240" });"#);
    assert!(
        err.contains("address 192.0.2.240 is already reserved in subnet 1"),
        "{err}"
    );
    let sent: Vec<String> = commands_in(b.lab.dir(), "dhcp4")
        .into_iter()
        .skip(mark)
        .collect();
    assert!(
        !sent
            .iter()
            .any(|c| c.starts_with("reservation-add") || c == "config-set"),
        "{sent:?}"
    );
    b.ok(&format!(
        r#"kea("lab").dhcp4.update_reservation(#{{ hw_address: "{mac}" }}, #{{ hostname: "renamed" }});"#
    ));
    assert_eq!(rows("SELECT hostname FROM hosts").trim(), "renamed");
    // ensure_reservation asks the database: equal sends nothing, a difference is an update.
    let ensure = |hostname: &str| {
        b.ok(&format!(
            r#"print(kea("lab").dhcp4.ensure_reservation(#{{ subnet: 1, hw_address: "{mac}",
                   ip_address: "192.0.2.240", hostname: "{hostname}" }}).action);"#
        ))
        .stdout
        .trim()
        .to_string()
    };
    let mark = b.mark("dhcp4");
    assert_eq!(ensure("renamed"), "unchanged");
    let sent: Vec<String> = commands_in(b.lab.dir(), "dhcp4")
        .into_iter()
        .skip(mark)
        .collect();
    assert!(
        !sent
            .iter()
            .any(|c| c.starts_with("reservation-add") || c.starts_with("reservation-update")),
        "{sent:?}"
    );
    assert_eq!(ensure("ensured"), "updated");
    assert_eq!(rows("SELECT hostname FROM hosts").trim(), "ensured");
    // A transaction mixing reservations with configuration changes would be two changes.
    let err = b.fails(
        r#"let tx = kea("lab").dhcp4.begin(); tx.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:97", hostname: "x" }); tx.set(#{ valid_lifetime: 4321 }); tx.commit();"#,
    );
    assert!(
        err.contains("keeps its reservations in a hosts database"),
        "{err}"
    );
    assert_eq!(rows("SELECT count(*) FROM hosts").trim(), "1");
    // A dry run plans the reservation (the step and its command), sends nothing.
    let mark = b.mark("dhcp4");
    let r = b.run_with(
        &["--dry-run", "--detailed-exitcode"],
        r#"kea("lab").dhcp4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:aa", ip_address: "192.0.2.241" });"#,
    );
    let plan = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(r.code, 2, "changes pending: {plan}");
    assert!(
        plan.contains("add reservation hw_address 02:42:ac:11:00:aa, 192.0.2.241 in subnet id 1: would send reservation-add (dhcp4)"),
        "{plan}"
    );
    assert!(
        plan.contains("Plan: 1 to add, 0 to change, 0 to delete on lab/dhcp4."),
        "{plan}"
    );
    assert!(
        !b.mutations_since("dhcp4", mark)
            .iter()
            .any(|c| c.starts_with("reservation-"))
            && !commands_in(b.lab.dir(), "dhcp4")
                .into_iter()
                .skip(mark)
                .any(|c| c.starts_with("reservation-add")),
        "dry run sent nothing"
    );
    assert_eq!(rows("SELECT count(*) FROM hosts").trim(), "1");
    b.ok(r#"kea("lab").dhcp4.delete_reservation("192.0.2.240");"#);
    assert_eq!(rows("SELECT count(*) FROM hosts").trim(), "0");
    let resv = |b: &Bench| -> Vec<Value> {
        b.audit()
            .into_iter()
            .filter(|e| e["kind"] == "reservation" && e["undoes"].is_null())
            .collect()
    };
    let actions: Vec<String> = resv(&b)
        .iter()
        .filter_map(|e| e["action"].as_str().map(String::from))
        .collect();
    assert_eq!(actions, ["add", "update", "update", "delete"]);
    // Each change has an id, and its journal record is `written` (no commands kept).
    let ids: Vec<String> = resv(&b)
        .iter()
        .map(|e| e["id"].as_str().expect("an id").to_string())
        .collect();
    for id in &ids {
        let rec: Value = serde_json::from_str(
            &std::fs::read_to_string(b.tmp.path().join(format!("state/journal/{id}.json")))
                .unwrap_or_else(|e| panic!("journal record {id}: {e}")),
        )
        .unwrap();
        assert_eq!(rec["phase"], "written", "{rec}");
        assert!(rec.get("hosts").is_none(), "{rec}");
    }
    // undo the deletion: the reservation is back in PostgreSQL, as it was.
    let mark = b.mark("dhcp4");
    b.ok(&format!(r#"undo("{}");"#, ids[3]));
    assert_eq!(
        rows("SELECT hostname, ipv4_address FROM hosts").trim(),
        format!(
            "ensured|{}",
            u32::from(std::net::Ipv4Addr::new(192, 0, 2, 240))
        )
    );
    let sent: Vec<String> = commands_in(b.lab.dir(), "dhcp4")
        .into_iter()
        .skip(mark)
        .collect();
    assert!(sent.iter().any(|c| c == "reservation-add"), "{sent:?}");
    assert!(!sent.iter().any(|c| c == "config-set"), "{sent:?}");
    // undo the first update (renamed): the reservation changed since (ensured): conflict,
    // nothing sent.
    let mark = b.mark("dhcp4");
    let err = b.fails(&format!(r#"undo("{}");"#, ids[1]));
    assert!(err.contains("changed after that change"), "{err}");
    assert!(
        !commands_in(b.lab.dir(), "dhcp4")
            .into_iter()
            .skip(mark)
            .any(|c| c.starts_with("reservation-update") || c.starts_with("reservation-del")),
        "nothing sent on a conflict"
    );
    // undo the last update (ensured): renamed again.
    b.ok(&format!(r#"undo("{}");"#, ids[2]));
    assert_eq!(rows("SELECT hostname FROM hosts").trim(), "renamed");
    let undone: Vec<Value> = b
        .audit()
        .into_iter()
        .filter(|e| e["kind"] == "reservation" && !e["undoes"].is_null())
        .collect();
    assert_eq!(undone.len(), 2, "{undone:?}");
    assert_eq!(undone[1]["undoes"], ids[2].as_str());
    // An import into the database: every row checked against it first (a bad row named by
    // its line, nothing sent), then one command per reservation, no configuration change.
    let csv = b.tmp.path().join("db.csv");
    std::fs::write(
        &csv,
        "hw_address,ip_address,hostname\n02:42:ac:11:01:01,192.0.2.231,a\n02:42:ac:11:01:02,192.0.2.240,b\n",
    )
    .unwrap();
    let mark = b.mark("dhcp4");
    let err = b.fails(&format!(
        r#"kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }});"#,
        csv.display()
    ));
    assert!(
        err.contains("line 3: ip_address 192.0.2.240 is already reserved"),
        "{err}"
    );
    assert!(
        !commands_in(b.lab.dir(), "dhcp4")
            .into_iter()
            .skip(mark)
            .any(|c| c.starts_with("reservation-add")),
        "nothing sent for a bad file"
    );
    std::fs::write(
        &csv,
        "hw_address,ip_address,hostname\n02:42:ac:11:01:01,192.0.2.231,a\n02:42:ac:11:01:02,192.0.2.232,b\n02:42:ac:11:00:99,192.0.2.240,renamed\n",
    )
    .unwrap();
    let mark = b.mark("dhcp4");
    let r = b.ok(&format!(
        r#"let c = kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }}); print(`${{c.added}} ${{c.updated}} ${{c.unchanged}}`);"#,
        csv.display()
    ));
    assert_eq!(r.stdout.trim(), "2 0 1");
    let sent: Vec<String> = commands_in(b.lab.dir(), "dhcp4")
        .into_iter()
        .skip(mark)
        .collect();
    assert_eq!(
        sent.iter().filter(|c| *c == "reservation-add").count(),
        2,
        "{sent:?}"
    );
    assert!(!sent.iter().any(|c| c == "config-set"), "{sent:?}");
    assert_eq!(rows("SELECT count(*) FROM hosts").trim(), "3");
    assert!(!b.file("dhcp4").to_string().contains("02:42:ac:11:01:01"));
    let import = b
        .audit()
        .into_iter()
        .rev()
        .find(|e| e["action"] == "import")
        .expect("the import is audited");
    b.ok(&format!(r#"undo("{}");"#, import["id"].as_str().unwrap()));
    assert_eq!(
        rows("SELECT hostname FROM hosts ORDER BY hostname").trim(),
        "renamed"
    );
    // reservations() reads a database a page at a time (500 hosts a page), asking for the
    // next page only when the loop gets there: 600 hosts, a loop that stops at the first
    // asks for one page; a whole loop, len() and to_array() see every host.
    let many = b.tmp.path().join("many.csv");
    let mut text = String::from("hw_address,hostname\n");
    for i in 0..600 {
        text.push_str(&format!(
            "02:42:ac:12:{:02x}:{:02x},h{i}\n",
            i / 256,
            i % 256
        ));
    }
    std::fs::write(&many, text).unwrap();
    b.ok(&format!(
        r#"kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }});"#,
        many.display()
    ));
    assert_eq!(rows("SELECT count(*) FROM hosts").trim(), "601");
    let pages = |mark: usize| {
        commands_in(b.lab.dir(), "dhcp4")
            .into_iter()
            .skip(mark)
            .filter(|c| c == "reservation-get-page")
            .count()
    };
    let mark = b.mark("dhcp4");
    let r = b.ok(
        r#"let n = 0; for r in kea("lab").dhcp4.reservations(1) { n += 1; if n == 1 { print(r.subnet); break; } }"#,
    );
    assert_eq!(r.stdout.trim(), "1");
    assert_eq!(pages(mark), 1, "one page for one reservation");
    let mark = b.mark("dhcp4");
    let r = b.ok(
        r#"let d = kea("lab").dhcp4; let n = 0; for r in d.reservations(1) { n += 1; }
           print(n); print(d.reservations(1).len()); print(d.reservations(1).to_array().len());"#,
    );
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), ["601", "601", "601"]);
    assert!(pages(mark) >= 6, "each pass pages: {}", pages(mark));
    // Changes an earlier keascript left in flight (phase `sent`, its answer lost) are
    // settled by the next change through the server, by reading the hosts back: one whose
    // reservation the database has is finished (`written`); one it does not have is
    // dropped (the database is as before).
    let daemon = rt().block_on(keascript::kea::identity::daemon_id(&svc));
    let journal = b.tmp.path().join("state/journal");
    let record = |id: &str, mac: &str, ip: &str, hostname: &str| {
        let after = serde_json::json!({"subnet": 1, "hw-address": mac, "ip-address": ip, "hostname": hostname});
        let rec = serde_json::json!({
            "id": id, "time": "2026-01-01T00:00:00.000Z", "snapshot": null, "phase": "sent",
            "targets": [{"daemon": daemon.as_str(), "url": svc.server.service_url("dhcp4"),
                         "server": "lab", "service": "dhcp4"}],
            "hosts": [{"target": 0, "command": "reservation-add",
                       "arguments": {"reservation": {"subnet-id": 1, "hw-address": mac, "ip-address": ip, "hostname": hostname}},
                       "before": null, "after": after}]
        });
        // A change in flight is in `journal/inflight/`.
        std::fs::create_dir_all(journal.join("inflight")).unwrap();
        std::fs::write(
            journal.join("inflight").join(format!("{id}.json")),
            rec.to_string(),
        )
        .unwrap();
    };
    record("0-made", "02:42:ac:11:00:99", "192.0.2.240", "renamed");
    record("1-lost", "02:42:ac:11:00:55", "192.0.2.55", "never-made");
    let r = b.ok(r#"kea("lab").dhcp4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:56", hostname: "after-settling" });"#);
    assert!(
        r.stderr
            .contains("an earlier change (id 0-made) had an unknown outcome"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(id 1-lost)"), "{}", r.stderr);
    let made: Value =
        serde_json::from_str(&std::fs::read_to_string(journal.join("0-made.json")).unwrap())
            .unwrap();
    assert_eq!(made["phase"], "written");
    assert!(!journal.join("1-lost.json").exists(), "settled as not made");
    assert!(
        !journal.join("inflight/1-lost.json").exists(),
        "settled as not made"
    );
    assert!(
        !journal.join("inflight/0-made.json").exists(),
        "settled as made"
    );
    assert_eq!(
        rows("SELECT hostname FROM hosts WHERE hostname !~ '^h[0-9]+$' ORDER BY hostname").trim(),
        "after-settling\nrenamed"
    );
    // A commit-confirmed run: a reservation added in the database, not confirmed, is taken
    // out again when the window ends (the revert undoes it through host_cmds).
    let confirmed_mac = "02:42:ac:11:00:c0";
    let r = b.run_with(
        &["--confirm", "3s"],
        &format!(
            r#"kea("lab").dhcp4.add_reservation(#{{ subnet: 1, hw_address: "{confirmed_mac}", hostname: "unconfirmed" }});"#
        ),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let has = || rows("SELECT count(*) FROM hosts WHERE hostname = 'unconfirmed'").trim() == "1";
    // Waits on the audit trail (the event), with a generous bound for a loaded CI machine.
    crate::support::wait_for(
        "the revert to undo the reservation",
        Duration::from_secs(120),
        || {
            b.audit().iter().any(|e| {
                e["kind"] == "reservation"
                    && e["action"] == "delete"
                    && !e["undoes"].is_null()
                    && e["key"].as_str().is_some_and(|k| k.contains(confirmed_mac))
            })
        },
    );
    assert!(!has(), "{confirmed_mac} is gone from the database again");
    assert!(
        !std::fs::read_to_string(b.audit_file())
            .unwrap()
            .contains(crate::support::postgres::PASSWORD),
        "no password in the audit trail"
    );
}

/// A PostgreSQL server started for the test with Kea's schema made by the Kea 3 root's
/// `kea-admin` (host_cmds tests run only there), and that root's programs folder.
fn postgres_with_kea_schema() -> (crate::support::postgres::Postgres, PathBuf) {
    let kea_bin = PathBuf::from(
        std::env::var_os("KEASCRIPT_KEA_BIN_DIR").expect("host_cmds comes with the Kea 3 root"),
    );
    let pg =
        crate::support::postgres::Postgres::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    pg.kea_schema(&kea_bin).unwrap_or_else(|e| panic!("{e}"));
    (pg, kea_bin)
}

/// The lab's inventory written to `inv` with the daemon socket `http` reached through a new
/// fault proxy, which is returned.
fn behind_a_proxy(
    lab: &keascript::lab::Lab,
    http: &str,
    inv: &Path,
) -> crate::support::fault_proxy::FaultProxy {
    let http = http.trim_end_matches('/');
    let proxy = crate::support::fault_proxy::FaultProxy::start(
        http.trim_start_matches("http://").parse().unwrap(),
    );
    let text = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(text.contains(http), "{text}");
    std::fs::write(inv, text.replace(http, &proxy.url())).unwrap();
    proxy
}

/// A hot-standby HA lab and what its first server's dhcp4 can do (`None`: no Kea here).
fn ha_lab_and_its_capabilities() -> Option<(keascript::lab::Lab, keascript::kea::Capabilities)> {
    use keascript::lab::{HaMode, LabOptions};
    let lab = crate::support::lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    })?;
    let caps = rt()
        .block_on(dhcp4_over_unix(&lab, 0).capabilities())
        .expect("list-commands");
    Some((lab, caps))
}

/// Peer `i`'s dhcp4 through its UNIX socket.
fn dhcp4_over_unix(lab: &keascript::lab::Lab, i: usize) -> Service {
    let srv = Server::connect(
        &format!("unix:{}", lab.socket_of(i, "dhcp4").display()),
        Some("dhcp4"),
        Default::default(),
    )
    .unwrap();
    Service::new(Arc::new(srv), "dhcp4").unwrap()
}

/// An HA pair on Kea 3.0 whose two servers keep their reservations in one PostgreSQL
/// database: a reservation change is made once for that database (one `reservation-add`
/// in total, through the server the script names), and both peers answer
/// `reservation-get` with it.
#[test]
fn ha_peers_sharing_one_hosts_database_get_one_reservation_add() {
    use crate::support::kea_raw;
    let Some((lab, caps)) = ha_lab_and_its_capabilities() else {
        return;
    };
    let unix = |i: usize| dhcp4_over_unix(&lab, i);
    if !caps.host_cmds {
        eprintln!(
            "skipping the shared hosts-database HA test on Kea {}: Debian's Kea 2.2 has no host_cmds (run it with KEASCRIPT_KEA_BIN_DIR set to the Kea 3.0 root)",
            lab.version
        );
        return;
    }
    let (pg, _) = postgres_with_kea_schema();
    for i in 0..2 {
        use_hosts_database(&unix(i), &lab.socket_of(i, "dhcp4"), &pg);
    }
    let adds = |i: usize| {
        commands_in(&lab.nodes()[i].dir, "dhcp4")
            .iter()
            .filter(|c| c.starts_with("reservation-add"))
            .count()
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = script(
        tmp.path(),
        "add.rhai",
        r#"let v4 = kea("server1").dhcp4;
           v4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:77", ip_address: "192.0.2.77", hostname: "shared" });"#,
    );
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .env("KEASCRIPT_AUDIT_FILE", tmp.path().join("audit.jsonl"))
        .arg("run")
        .arg(&path)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("run keascript");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(adds(0) + adds(1), 1, "one reservation-add in total");
    assert_eq!(adds(0), 1, "through the server the script named");
    for i in 0..2 {
        let answer = kea_raw(
            &lab.socket_of(i, "dhcp4"),
            &serde_json::json!({ "command": "reservation-get", "arguments":
                { "subnet-id": 1, "identifier-type": "hw-address", "identifier": "02:42:ac:11:00:77" } }),
        )
        .expect("answer");
        assert_eq!(answer["result"], 0, "server{}: {answer}", i + 1);
        assert_eq!(answer["arguments"]["hostname"], "shared", "{answer}");
    }
    assert_eq!(
        pg.psql("kea", "SELECT count(*) FROM hosts").unwrap().trim(),
        "1"
    );
    // One audit entry, naming the peer; neither configuration file has it.
    let audit = std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap();
    let entries: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &Value| e["kind"] == "reservation")
        .collect();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["peers"], serde_json::json!(["server2"]));
    for i in 0..2 {
        let text = std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap();
        assert!(
            !text.contains("02:42:ac:11:00:77"),
            "server{}'s file",
            i + 1
        );
    }
}

/// A CSV with option columns (`option:NAME`): every value checked like `set_option`'s (a
/// bad one named by its line, option and value, nothing sent), then the options land in
/// each reservation's `option-data`, running and in the file.
#[test]
fn importing_reservations_with_option_columns() {
    let Some(b) = Bench::new() else { return };
    let csv = b.tmp.path().join("opts.csv");
    std::fs::write(
        &csv,
        "hw_address,ip_address,option:domain-name-servers,option:domain-name\n\
         02:42:ac:11:02:01,192.0.2.221,\"192.0.2.53, 192.0.2.54\",one.example\n\
         02:42:ac:11:02:02,192.0.2.222,192.0.2.5x,\n\
         02:42:ac:11:02:03,192.0.2.223,,three.example\n",
    )
    .unwrap();
    let mark = b.mark("dhcp4");
    let err = b.fails(&format!(
        r#"kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }});"#,
        csv.display()
    ));
    assert!(
        err.contains(
            "line 3: option domain-name-servers (code 6) data \"192.0.2.5x\": \"192.0.2.5x\" is not a valid ipv4-address"
        ),
        "{err}"
    );
    assert!(err.contains("1 bad row"), "{err}");
    assert!(b.mutations_since("dhcp4", mark).is_empty(), "nothing sent");
    let err = {
        std::fs::write(
            b.tmp.path().join("unknown.csv"),
            "hw_address,option:no-such-option\n02:42:ac:11:02:09,x\n",
        )
        .unwrap();
        b.fails(&format!(
            r#"kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }});"#,
            b.tmp.path().join("unknown.csv").display()
        ))
    };
    assert!(
        err.contains("line 2: option \"no-such-option\" is neither a standard"),
        "{err}"
    );
    // Fixed: one change, the options in each reservation.
    std::fs::write(
        &csv,
        "hw_address,ip_address,option:domain-name-servers,option:domain-name\n\
         02:42:ac:11:02:01,192.0.2.221,\"192.0.2.53, 192.0.2.54\",one.example\n\
         02:42:ac:11:02:02,192.0.2.222,192.0.2.55;192.0.2.56,\n\
         02:42:ac:11:02:03,192.0.2.223,,three.example\n",
    )
    .unwrap();
    let mark = b.mark("dhcp4");
    let r = b.ok(&format!(
        r#"print(kea("lab").dhcp4.import_reservations("{}", #{{ subnet: 1 }}).added);"#,
        csv.display()
    ));
    assert_eq!(r.stdout.trim(), "3");
    assert_eq!(
        b.mutations_since("dhcp4", mark),
        ["config-set", "config-write"]
    );
    for root in b.both("dhcp4") {
        let list = reservations_of(&root, 1);
        let data = |mac: &str| -> Vec<(String, String)> {
            by_mac(&list, mac).expect("reserved")["option-data"]
                .as_array()
                .expect("option-data")
                .iter()
                .map(|o| {
                    (
                        o["name"].as_str().unwrap_or("").to_string(),
                        o["data"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        };
        assert_eq!(
            data("02:42:ac:11:02:01"),
            [
                (
                    "domain-name-servers".into(),
                    "192.0.2.53, 192.0.2.54".into()
                ),
                ("domain-name".into(), "one.example".into())
            ]
        );
        assert_eq!(
            data("02:42:ac:11:02:02"),
            [(
                "domain-name-servers".into(),
                "192.0.2.55, 192.0.2.56".into()
            )]
        );
        assert_eq!(
            data("02:42:ac:11:02:03"),
            [("domain-name".into(), "three.example".into())]
        );
    }
}

/// An HA pair on Kea 3.0 whose servers each have their own hosts database: a reservation
/// change goes to both databases or to neither. The second database's `reservation-add`
/// is dropped on its way (a fault proxy in front of server2): the first database's add is
/// put back (`reservation-del`), and neither has it; healed, both get it.
#[test]
fn ha_peers_with_their_own_hosts_databases_get_the_change_in_both_or_in_neither() {
    use crate::support::fault_proxy::Fault;
    let Some((lab, caps)) = ha_lab_and_its_capabilities() else {
        return;
    };
    let unix = |i: usize| dhcp4_over_unix(&lab, i);
    let Some(http2) = lab.http_url_of(1, "dhcp4").filter(|_| caps.host_cmds) else {
        eprintln!(
            "skipping the two-database HA test on Kea {}: Debian's Kea 2.2 has no host_cmds (run it with KEASCRIPT_KEA_BIN_DIR set to the Kea 3.0 root)",
            lab.version
        );
        return;
    };
    let (pg, kea_bin) = postgres_with_kea_schema();
    pg.another_kea_database(&kea_bin, "kea2")
        .unwrap_or_else(|e| panic!("{e}"));
    use_hosts_database_named(&unix(0), &lab.socket_of(0, "dhcp4"), &pg, "kea");
    use_hosts_database_named(&unix(1), &lab.socket_of(1, "dhcp4"), &pg, "kea2");
    // server2 is reached through a fault proxy.
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("inv.toml");
    let proxy = behind_a_proxy(&lab, &http2, &inv);
    let run = || {
        let path = script(
            tmp.path(),
            "add.rhai",
            r#"kea("server1").dhcp4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:78", hostname: "both" });"#,
        );
        keascript()
            .arg("--config")
            .arg(&inv)
            .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
            .env("KEASCRIPT_AUDIT_FILE", tmp.path().join("audit.jsonl"))
            .arg("run")
            .arg(&path)
            .timeout(Duration::from_secs(300))
            .output()
            .expect("run keascript")
    };
    let count = |db: &str| {
        pg.psql(db, "SELECT count(*) FROM hosts")
            .unwrap()
            .trim()
            .to_string()
    };
    proxy.fail("reservation-add", 1, Fault::DropRequest);
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already made were undone, the hosts database is as before"),
        "{stderr}"
    );
    assert_eq!((count("kea"), count("kea2")), ("0".into(), "0".into()));
    let sent1: Vec<String> = commands_in(&lab.nodes()[0].dir, "dhcp4")
        .into_iter()
        .filter(|c| c.starts_with("reservation-add") || c.starts_with("reservation-del"))
        .collect();
    assert_eq!(
        sent1,
        ["reservation-add", "reservation-del"],
        "made, then put back"
    );
    proxy.heal();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!((count("kea"), count("kea2")), ("1".into(), "1".into()));
}

/// A hosts database whose `reservation-add` is made but whose answer is lost (Kea 3.0, a
/// fault proxy in front of the daemon's HTTP socket): keascript reads the host back, finds
/// the change made, says the outcome was unknown and is now known, and records the change as
/// written (nothing left in flight). A lost `reservation-del` the same way; a dropped one
/// (never made) is an error and the reservation stays.
#[test]
fn a_lost_answer_from_a_hosts_database_is_settled_by_reading_the_host_back() {
    use crate::support::fault_proxy::Fault;
    let Some(lab) = crate::support::lab() else {
        return;
    };
    let svc = {
        let srv = Server::connect(
            &format!("unix:{}", lab.socket("dhcp4").display()),
            Some("dhcp4"),
            Default::default(),
        )
        .unwrap();
        Service::new(Arc::new(srv), "dhcp4").unwrap()
    };
    let caps = rt().block_on(svc.capabilities()).expect("list-commands");
    let Some(http) = lab.http_url_of(0, "dhcp4").filter(|_| caps.host_cmds) else {
        eprintln!(
            "skipping the lost-answer hosts-database test on Kea {}: Debian's Kea 2.2 has no host_cmds (run it with KEASCRIPT_KEA_BIN_DIR set to the Kea 3.0 root)",
            lab.version
        );
        return;
    };
    let (pg, _) = postgres_with_kea_schema();
    use_hosts_database(&svc, &lab.socket("dhcp4"), &pg);
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("inv.toml");
    let proxy = behind_a_proxy(&lab, &http, &inv);
    let state = tmp.path().join("state");
    let run = |name: &str, body: &str| {
        let path = script(tmp.path(), name, body);
        keascript()
            .arg("--config")
            .arg(&inv)
            .env("KEASCRIPT_STATE_DIR", &state)
            .env("KEASCRIPT_AUDIT_FILE", tmp.path().join("audit.jsonl"))
            .arg("run")
            .arg(&path)
            .timeout(Duration::from_secs(300))
            .output()
            .expect("run keascript")
    };
    let hosts = || {
        pg.psql(crate::support::postgres::DB, "SELECT count(*) FROM hosts")
            .unwrap()
            .trim()
            .to_string()
    };
    let in_flight = || {
        std::fs::read_dir(state.join("journal").join("inflight"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let add = r#"kea().dhcp4.add_reservation(#{ subnet: 1, hw_address: "02:42:ac:11:00:99", ip_address: "192.0.2.99", hostname: "lost" });"#;
    let del = r#"kea().dhcp4.delete_reservation(1, #{ hw_address: "02:42:ac:11:00:99" });"#;

    proxy.fail("reservation-add", 1, Fault::LoseAnswer);
    let out = run("add.rhai", add);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the change was made: {stderr}");
    assert!(
        stderr.contains("was unknown") && stderr.contains("the hosts database has the change"),
        "says what happened: {stderr}"
    );
    assert_eq!(hosts(), "1", "the reservation is in PostgreSQL");
    assert_eq!(in_flight(), 0, "nothing left in flight");
    let written = std::fs::read_dir(state.join("journal"))
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter(|t| t.contains("\"phase\":\"written\""))
        .count();
    assert_eq!(written, 1, "the change's record is written");
    let audit = std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap();
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"reservation\""))
            .count(),
        1,
        "one audit entry: {audit}"
    );

    proxy.heal();
    proxy.fail("reservation-del", 1, Fault::DropRequest);
    let out = run("del.rhai", del);
    assert!(
        !out.status.success(),
        "a dropped request is an error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hosts(), "1", "never made: the reservation stays");
    assert_eq!(in_flight(), 0, "nothing left in flight");

    proxy.heal();
    proxy.fail("reservation-del", 1, Fault::LoseAnswer);
    let out = run("del2.rhai", del);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("was unknown"), "{stderr}");
    assert_eq!(hosts(), "0", "deleted in PostgreSQL");
    assert_eq!(in_flight(), 0, "nothing left in flight");
}
