//! keascript's hook path (`subnet_cmds` / `class_cmds`) on a real Kea that has the hooks
//! (Kea >= 2.7.7; the suite's Kea 3.0 pass), seen through the fault proxy in pass-through
//! mode: which commands were sent and with what, then the running configuration and the file.
//!
//! Single subnet, pool, option and class edits go as the narrowest hook command and are
//! persisted with `config-write`; transactions, settings, `config_path_only` inventories and
//! daemons without the hooks go by `config-set`; keascript's own checks stop what Kea
//! accepts; a dry run sends nothing that changes anything; a change someone else made
//! between keascript's read and its send is caught by Kea's hash.
//!
//! On a Kea without the hooks (Debian's Kea 2.2) each test says so and returns: the same
//! edits are covered by `editing.rs` on the config path.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fault_proxy::FaultProxy;
use crate::support::{kea_raw, keascript, lab, script};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A real lab behind a pass-through proxy, and an inventory naming the proxy.
struct Rig {
    lab: keascript::lab::Lab,
    proxy: FaultProxy,
    tmp: tempfile::TempDir,
    n: std::cell::Cell<usize>,
}

impl Rig {
    /// `None` (with the reason printed) when there is no Kea, or it has no subnet/class hooks.
    fn new() -> Option<Self> {
        let lab = lab()?;
        let version = lab.kea_version();
        if !version.daemon_http() {
            eprintln!(
                "skipping on Kea {version}: Debian's Kea 2.2 has no subnet_cmds/class_cmds hooks; the hook path runs in the Kea 3.0 pass"
            );
            return None;
        }
        let upstream = lab.url().trim_start_matches("http://").parse().unwrap();
        let proxy = FaultProxy::start(upstream);
        let tmp = tempfile::tempdir().unwrap();
        Some(Self {
            lab,
            proxy,
            tmp,
            n: std::cell::Cell::new(0),
        })
    }

    fn inventory(&self, extra: &str) -> PathBuf {
        let p = self.tmp.path().join("inv.toml");
        std::fs::write(
            &p,
            format!(
                "[servers.lab]\nurl = \"{}\"\ntimeout_ms = 60000\n{extra}",
                self.proxy.url()
            ),
        )
        .unwrap();
        p
    }

    fn run_with(&self, text: &str, extra_inventory: &str, flags: &[&str]) -> Out {
        let i = self.n.get();
        self.n.set(i + 1);
        let path = script(self.tmp.path(), &format!("s{i}.rhai"), text);
        let out = keascript()
            .arg("--config")
            .arg(self.inventory(extra_inventory))
            .env("KEASCRIPT_STATE_DIR", self.tmp.path().join("state"))
            .arg("run")
            .args(flags)
            .arg(&path)
            .timeout(Duration::from_secs(180))
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, text: &str) -> Out {
        self.run_with(text, "", &[])
    }

    /// The running `Dhcp4` map, asked over the daemon's UNIX socket (not through the proxy).
    fn running(&self) -> Value {
        direct(&self.lab.socket("dhcp4"), "config-get", None)["arguments"]["Dhcp4"].clone()
    }

    /// The `Dhcp4` map of the daemon's configuration file.
    fn file(&self) -> Value {
        let text = std::fs::read(self.lab.config_file("dhcp4")).unwrap();
        keascript::transport::wire::parse(&text).unwrap()["Dhcp4"].clone()
    }

    /// Subnet `prefix` of the running configuration, and of the file.
    fn subnet(&self, prefix: &str) -> (Option<Value>, Option<Value>) {
        (
            subnet_in(&self.running(), prefix),
            subnet_in(&self.file(), prefix),
        )
    }

    fn class(&self, name: &str) -> (Option<Value>, Option<Value>) {
        (
            class_in(&self.running(), name),
            class_in(&self.file(), name),
        )
    }
}

fn direct(socket: &Path, command: &str, arguments: Option<Value>) -> Value {
    let mut body = json!({ "command": command });
    if let Some(a) = arguments {
        body["arguments"] = a;
    }
    kea_raw(socket, &body).expect("the daemon answers")
}

fn subnet_in(dhcp4: &Value, prefix: &str) -> Option<Value> {
    dhcp4["subnet4"]
        .as_array()?
        .iter()
        .find(|s| s["subnet"] == prefix)
        .cloned()
}

fn class_in(dhcp4: &Value, name: &str) -> Option<Value> {
    dhcp4["client-classes"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
}

fn pools(subnet: &Value) -> Vec<String> {
    subnet["pools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["pool"].as_str().unwrap().replace(' ', ""))
        .collect()
}

#[test]
fn a_single_add_subnet_goes_as_subnet4_add_then_config_write() {
    let Some(rig) = Rig::new() else { return };
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
let caps = v4.capabilities();
print(`hooks=${caps.subnet_cmds},${caps.class_cmds}`);
let s = v4.add_subnet(#{ subnet: "10.20.0.0/24", pools: ["10.20.0.10 - 10.20.0.99"],
                         option_data: [#{ name: "domain-name-servers", data: "10.20.0.53" }] });
print(`id=${s.id}`);
v4.add_subnet(#{ subnet: "10.21.0.0/24" });
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["hooks=true,true", "id=2"]
    );
    assert_eq!(
        rig.proxy.mutating(),
        ["subnet4-add", "config-write", "subnet4-add", "config-write"],
        "one subnet4-add per subnet, no config-set"
    );
    // Capabilities are read once per server handle: the second edit asks no list-commands.
    let asked = rig.proxy.commands();
    let first_add = asked.iter().position(|c| c == "subnet4-add").unwrap();
    assert!(
        !asked[first_add..].contains(&"list-commands".to_string()),
        "{asked:?}"
    );
    let add = &rig.proxy.sent("subnet4-add")[0]["subnet4"];
    assert_eq!(add.as_array().unwrap().len(), 1, "{add}");
    assert_eq!(
        (&add[0]["id"], &add[0]["subnet"]),
        (&json!(2), &json!("10.20.0.0/24"))
    );
    assert_eq!(pools(&add[0]), ["10.20.0.10-10.20.0.99"]);
    assert!(
        add[0].get("valid-lifetime").is_none(),
        "an inherited value was sent as the subnet's own: {add}"
    );
    // The server has it, inheriting the server's lifetime, and so does the file.
    let (running, file) = rig.subnet("10.20.0.0/24");
    let (running, file) = (running.expect("running"), file.expect("written"));
    assert_eq!(running["id"], 2);
    assert_eq!(running["valid-lifetime"], 4000);
    assert_eq!(running["option-data"][0]["code"], 6);
    assert_eq!(pools(&file), ["10.20.0.10-10.20.0.99"]);
    assert_eq!(
        rig.subnet("10.21.0.0/24").1.expect("the second is written")["id"],
        3
    );
}

#[test]
fn pools_and_subnet_options_go_as_deltas_naming_only_them() {
    let Some(rig) = Rig::new() else { return };
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
v4.set_option("192.0.2.0/24", "domain-name-servers", "192.0.2.53");
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        [
            "subnet4-delta-add",
            "config-write",
            "subnet4-delta-add",
            "config-write"
        ]
    );
    let deltas = rig.proxy.sent("subnet4-delta-add");
    assert_eq!(
        deltas[0],
        json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.210-192.0.2.220"}]}]})
    );
    let keys: Vec<&String> = deltas[1]["subnet4"][0]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["id", "option-data", "subnet"], "{}", deltas[1]);
    let (running, file) = rig.subnet("192.0.2.0/24");
    let (running, file) = (running.unwrap(), file.unwrap());
    assert_eq!(
        pools(&running),
        ["192.0.2.10-192.0.2.200", "192.0.2.210-192.0.2.220"],
        "the other pool is kept"
    );
    assert_eq!(pools(&file), pools(&running));
    let codes: Vec<&Value> = running["option-data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["code"])
        .collect();
    assert!(
        codes.contains(&&json!(6)) && codes.contains(&&json!(3)),
        "{running}"
    );

    // Deleting goes as delta-del naming only what goes; a range that is a prefix comes back
    // from Kea as one, and is still found.
    rig.proxy.clear();
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.delete_pool("192.0.2.0/24", "192.0.2.210 - 192.0.2.220");
v4.add_pool("192.0.2.0/24", "192.0.2.224-192.0.2.239");
v4.delete_pool("192.0.2.0/24", "192.0.2.224-192.0.2.239");
v4.delete_option("192.0.2.0/24", "domain-name-servers");
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    let dels = rig.proxy.sent("subnet4-delta-del");
    assert_eq!(dels.len(), 3, "{dels:?}");
    assert_eq!(
        dels[0]["subnet4"][0]["pools"],
        json!([{"pool": "192.0.2.210-192.0.2.220"}])
    );
    assert_eq!(
        dels[1]["subnet4"][0]["pools"],
        json!([{"pool": "192.0.2.224/28"}]),
        "the pool as Kea shows it"
    );
    assert_eq!(dels[2]["subnet4"][0]["option-data"][0]["code"], 6);
    assert!(dels[2]["subnet4"][0].get("pools").is_none(), "{}", dels[2]);
    assert!(!rig.proxy.commands().contains(&"config-set".to_string()));
    let (running, file) = rig.subnet("192.0.2.0/24");
    let (running, file) = (running.unwrap(), file.unwrap());
    assert_eq!(pools(&running), ["192.0.2.10-192.0.2.200"]);
    assert_eq!(pools(&file), ["192.0.2.10-192.0.2.200"]);
    assert_eq!(
        running["option-data"],
        json!([{"always-send": false, "code": 3, "csv-format": true, "data": "192.0.2.1", "name": "routers", "never-send": false, "space": "dhcp4"}]),
        "the lab's own option is kept"
    );
}

/// `subnet4-update` replaces the whole subnet: keascript sends every pool and the subnet's
/// own values, none of the values Kea echoed into it; a later server-level change by
/// `config-set` still reaches the subnets without their own value.
#[test]
fn update_subnet_keeps_pools_and_inheritance() {
    let Some(rig) = Rig::new() else { return };
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
v4.add_subnet(#{ subnet: "10.20.0.0/24" });
v4.update_subnet("192.0.2.0/24", #{ valid_lifetime: 600 });
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    let m = rig.proxy.mutating();
    assert_eq!(
        &m[m.len() - 2..],
        ["subnet4-update", "config-write"],
        "{m:?}"
    );
    let s = &rig.proxy.sent("subnet4-update")[0]["subnet4"][0];
    assert_eq!(
        pools(s),
        ["192.0.2.10-192.0.2.200", "192.0.2.210-192.0.2.220"],
        "no pool lost: {s}"
    );
    assert_eq!(s["valid-lifetime"], 600);
    for echoed in [
        "renew-timer",
        "rebind-timer",
        "t1-percent",
        "min-valid-lifetime",
    ] {
        assert!(
            s.get(echoed).is_none(),
            "the echoed {echoed} was sent back: {s}"
        );
    }
    let (running, file) = rig.subnet("192.0.2.0/24");
    let (running, file) = (running.unwrap(), file.unwrap());
    assert_eq!(pools(&running).len(), 2, "{running}");
    assert_eq!(running["valid-lifetime"], 600);
    assert_eq!(file["valid-lifetime"], 600);

    rig.proxy.clear();
    let out = rig.run("kea().dhcp4.set(#{ valid_lifetime: 7200 });");
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        ["config-set", "config-write"],
        "settings have no hook command"
    );
    let set = &rig.proxy.sent("config-set")[0]["Dhcp4"];
    let sent_other = subnet_in(set, "10.20.0.0/24").unwrap();
    assert!(
        sent_other.get("valid-lifetime").is_none(),
        "an inherited value was frozen into the subnet: {sent_other}"
    );
    let running = rig.running();
    assert_eq!(
        subnet_in(&running, "192.0.2.0/24").unwrap()["valid-lifetime"],
        600
    );
    assert_eq!(
        subnet_in(&running, "10.20.0.0/24").unwrap()["valid-lifetime"],
        7200
    );
    assert_eq!(
        pools(&subnet_in(&running, "192.0.2.0/24").unwrap()).len(),
        2,
        "the pools survived the config-set"
    );
}

#[test]
fn class_changes_go_as_class_commands_and_a_class_in_use_is_refused() {
    let Some(rig) = Rig::new() else { return };
    let test = "substring(option[60].hex,0,4) == 'Cisc'";
    let out = rig.run(&format!(
        r#"
let v4 = kea().dhcp4;
v4.add_class(#{{ name: "voip", test: "{test}", next_server: "10.0.0.5", description: "phones" }});
v4.update_class("voip", #{{ boot_file_name: "boot2.bin" }});
v4.set_option(#{{ class: "voip" }}, "domain-name-servers", "10.0.0.53");
"#
    ));
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        [
            "class-add",
            "config-write",
            "class-update",
            "config-write",
            "class-update",
            "config-write"
        ]
    );
    let upd = &rig.proxy.sent("class-update")[0]["client-classes"];
    assert_eq!(
        upd[0]["test"], test,
        "class-update replaces the class: the test is sent too"
    );
    let (running, file) = rig.class("voip");
    let (running, file) = (running.unwrap(), file.unwrap());
    assert_eq!(
        (
            &running["test"],
            &running["next-server"],
            &running["boot-file-name"]
        ),
        (&json!(test), &json!("10.0.0.5"), &json!("boot2.bin"))
    );
    assert_eq!(running["user-context"]["description"], "phones");
    assert_eq!(running["option-data"][0]["code"], 6);
    assert_eq!(file["boot-file-name"], "boot2.bin");

    // A class a pool names, or a subnet evaluates, is refused before anything is sent.
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.50.0.0/24", pools: [#{ pool: "10.50.0.10-10.50.0.20", client_class: "voip" }] });
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        subnet_in(&rig.running(), "10.50.0.0/24").unwrap()["pools"][0]["client-classes"],
        json!(["voip"]),
        "Kea >= 2.7 shows the pool's class as a list"
    );
    rig.proxy.clear();
    let out = rig.run(r#"kea().dhcp4.delete_class("voip");"#);
    assert_eq!(out.code, 5, "{out}");
    assert!(
        out.stderr
            .contains("pool 10.50.0.10-10.50.0.20 of subnet 10.50.0.0/24"),
        "{out}"
    );
    assert_eq!(rig.proxy.mutating(), Vec::<String>::new(), "nothing sent");
    assert!(rig.class("voip").0.is_some());

    let a = direct(
        &rig.lab.socket("dhcp4"),
        "class-add",
        Some(json!({"client-classes": [{"name": "extra", "only-in-additional-list": true}]})),
    );
    assert_eq!(a["result"], 0, "{a}");
    let a = direct(
        &rig.lab.socket("dhcp4"),
        "subnet4-delta-add",
        Some(
            json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "evaluate-additional-classes": ["extra"]}]}),
        ),
    );
    assert_eq!(a["result"], 0, "{a}");
    rig.proxy.clear();
    let out = rig.run(r#"kea().dhcp4.delete_class("extra");"#);
    assert_eq!(out.code, 5, "{out}");
    assert!(out.stderr.contains("192.0.2.0/24"), "{out}");
    assert_eq!(rig.proxy.mutating(), Vec::<String>::new());

    // A class nothing uses goes as class-del.
    rig.proxy.clear();
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_class(#{ name: "spare" });
v4.delete_class("spare");
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        ["class-add", "config-write", "class-del", "config-write"]
    );
    assert_eq!(rig.proxy.sent("class-del"), [json!({"name": "spare"})]);
    assert!(rig.class("spare").0.is_none() && rig.class("spare").1.is_none());
}

#[test]
fn keascript_refuses_overlaps_undefined_classes_and_bad_tests_that_it_can_see() {
    let Some(rig) = Rig::new() else { return };
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
try { v4.add_subnet(#{ subnet: "192.0.2.128/25" }); } catch (e) { print(`overlap=${error_kind(e)}`); }
try { v4.add_subnet(#{ subnet: "10.40.0.0/24", client_class: "nope" }); } catch (e) { print(`class=${error_kind(e)}`); }
v4.add_class(#{ name: "bad", test: "option[60].hex == " });
print("not reached");
"#,
    );
    // Kea's config-test refuses the expression before anything is changed: `invalid`.
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["overlap=conflict", "class=conflict"]
    );
    assert!(
        out.stderr.contains("option[60].hex == ") && out.stderr.contains("syntax error"),
        "Kea's parser text: {out}"
    );
    assert_eq!(
        rig.proxy.mutating(),
        Vec::<String>::new(),
        "nothing that changes anything was sent"
    );
    assert!(rig.class("bad").0.is_none());
    // The server itself would have taken the first two.
    let a = direct(
        &rig.lab.socket("dhcp4"),
        "subnet4-add",
        Some(json!({"subnet4": [{"id": 12, "subnet": "192.0.2.0/25"}]})),
    );
    assert_eq!(a["result"], 0, "{a}");
}

#[test]
fn transactions_config_path_only_and_daemons_without_the_hooks_go_by_config_set() {
    let Some(rig) = Rig::new() else { return };
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
let tx = v4.begin();
tx.add_subnet(#{ subnet: "10.70.0.0/24", pools: ["10.70.0.10-10.70.0.99"] });
tx.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
tx.add_class(#{ name: "printers", test: "option[60].hex == 'HP'" });
print(`committed=${tx.commit()}`);
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(rig.proxy.mutating(), ["config-set", "config-write"]);
    let file = rig.file();
    assert!(subnet_in(&file, "10.70.0.0/24").is_some());
    assert!(class_in(&file, "printers").is_some());
    assert_eq!(pools(&subnet_in(&file, "192.0.2.0/24").unwrap()).len(), 2);

    rig.proxy.clear();
    let out = rig.run_with(
        r#"kea().dhcp4.add_subnet(#{ subnet: "10.71.0.0/24" });"#,
        "config_path_only = true\n",
        &[],
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(rig.proxy.mutating(), ["config-set", "config-write"]);
    assert!(rig.subnet("10.71.0.0/24").1.is_some());

    // The daemon without the subnet/class hooks: the same edit goes by config-set.
    let socket = rig.lab.socket("dhcp4");
    let mut config = direct(&socket, "config-get", None)["arguments"].clone();
    config.as_object_mut().unwrap().remove("hash");
    let hooks = config["Dhcp4"]["hooks-libraries"].as_array_mut().unwrap();
    hooks.retain(|h| {
        let l = h["library"].as_str().unwrap_or_default();
        !l.contains("subnet_cmds") && !l.contains("class_cmds")
    });
    let a = direct(&socket, "config-set", Some(config));
    assert_eq!(a["result"], 0, "{a}");
    rig.proxy.clear();
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
print(`hooks=${v4.capabilities().subnet_cmds}`);
v4.add_subnet(#{ subnet: "10.72.0.0/24" });
v4.add_class(#{ name: "voip" });
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "hooks=false");
    assert_eq!(
        rig.proxy.mutating(),
        ["config-set", "config-write", "config-set", "config-write"]
    );
    assert!(rig.subnet("10.72.0.0/24").0.is_some());
    assert!(class_in(&rig.file(), "voip").is_some());
}

#[test]
fn a_dry_run_sends_only_reads() {
    let Some(rig) = Rig::new() else { return };
    let before = rig.running();
    let file_before = std::fs::read(rig.lab.config_file("dhcp4")).unwrap();
    let out = rig.run_with(
        r#"
let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.60.0.0/24" });
v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
v4.update_subnet("192.0.2.0/24", #{ valid_lifetime: 600 });
v4.add_class(#{ name: "voip" });
v4.set(#{ valid_lifetime: 7200 });
let tx = v4.begin();
tx.add_pool("192.0.2.0/24", "192.0.2.230-192.0.2.240");
tx.add_class(#{ name: "printers" });
tx.commit();
print(`dry=${is_dry_run()}`);
"#,
        "",
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("dry=true"), "{out}");
    for c in rig.proxy.commands() {
        assert!(
            [
                "config-get",
                "config-hash-get",
                "version-get",
                "list-commands",
                "config-test",
                "status-get"
            ]
            .contains(&c.as_str()),
            "a dry run sent {c}"
        );
    }
    let mut after = rig.running();
    let mut before = before;
    for v in [&mut before, &mut after] {
        v.as_object_mut().unwrap().remove("hash");
    }
    assert_eq!(after, before, "the running configuration is unchanged");
    assert_eq!(
        std::fs::read(rig.lab.config_file("dhcp4")).unwrap(),
        file_before,
        "the file is unchanged"
    );
}

/// Someone adds a subnet over the UNIX socket right before keascript's send: Kea's hash
/// shows the server changed since keascript read it, and nothing is sent.
#[test]
fn a_change_made_by_someone_else_before_sending_is_caught_by_the_hash() {
    let Some(rig) = Rig::new() else { return };
    let socket = rig.lab.socket("dhcp4");
    rig.proxy.before("config-hash-get", 1, move || {
        let a = direct(
            &socket,
            "subnet4-add",
            Some(json!({"subnet4": [{"id": 40, "subnet": "10.40.0.0/24"}]})),
        );
        assert_eq!(a["result"], 0, "{a}");
    });
    let out = rig.run(r#"kea().dhcp4.add_subnet(#{ subnet: "10.41.0.0/24" });"#);
    assert_eq!(out.code, 5, "{out}");
    assert!(out.stderr.contains("changed on the server"), "{out}");
    assert_eq!(rig.proxy.mutating(), Vec::<String>::new(), "nothing sent");
    assert!(rig.subnet("10.41.0.0/24").0.is_none());
    // The next try reads the new state and goes through, above the other admin's subnet.
    let out = rig.run(r#"print(kea().dhcp4.add_subnet(#{ subnet: "10.41.0.0/24" }).id);"#);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "41");
    assert!(rig.subnet("10.41.0.0/24").1.is_some());
}

/// The shared network holding subnet `id` in a `Dhcp4` map, and the subnet.
fn in_network(dhcp4: &Value, id: u64) -> Option<(String, Value)> {
    dhcp4["shared-networks"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|n| {
            let s = n["subnet4"].as_array()?.iter().find(|s| s["id"] == id)?;
            Some((n["name"].as_str()?.to_string(), s.clone()))
        })
}

/// Shared networks on the hook path (Kea ≥ 2.7): a network is added and deleted with
/// `network4-add`/`-del`; a subnet moves into and out of a network that sets nothing of its
/// own with `network4-subnet-add`/`-del`, and is changed there with `subnet4-update` and
/// deltas. Where a network sets its own values (Kea 3.0.4's subnet commands would give the
/// subnet the server's instead), the move and the subnet's changes go by `config-set`, and
/// the network's value survives: running configuration and file read back each time.
#[test]
fn shared_networks_use_the_network_commands_where_no_inherited_value_is_lost() {
    let Some(rig) = Rig::new() else { return };
    let both = || [rig.running(), rig.file()];
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_shared_network(#{ name: "plain" });
v4.move_subnet(1, "plain");
v4.update_subnet(1, #{ renew_timer: 100 });
v4.add_pool(1, "192.0.2.210-192.0.2.220");
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        [
            "network4-add",
            "config-write",
            "network4-subnet-add",
            "config-write",
            "subnet4-update",
            "config-write",
            "subnet4-delta-add",
            "config-write"
        ]
    );
    assert_eq!(
        rig.proxy.sent("network4-subnet-add"),
        [json!({"name": "plain", "id": 1})]
    );
    for root in both() {
        let (net, s) = in_network(&root, 1).expect("subnet 1 in a network");
        assert_eq!(net, "plain");
        assert_eq!(s["renew-timer"], 100, "{s}");
        assert_eq!(
            pools(&s),
            ["192.0.2.10-192.0.2.200", "192.0.2.210-192.0.2.220"]
        );
        assert!(
            s.get("valid-lifetime").is_none_or(|v| *v == 4000),
            "the server's value, as before: {s}"
        );
        assert!(root["subnet4"].as_array().is_none_or(|a| a.is_empty()));
    }
    // Into a network with its own valid-lifetime: config-set, and the network's value is
    // what the subnet gets, also after a change to the subnet.
    rig.proxy.clear();
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.add_shared_network(#{ name: "office", valid_lifetime: 600 });
v4.move_subnet(1, "office");
v4.update_subnet(1, #{ renew_timer: 120 });
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        [
            "network4-add",
            "config-write",
            "config-set",
            "config-write",
            "config-set",
            "config-write"
        ]
    );
    let running = rig.running();
    let (net, s) = in_network(&running, 1).expect("subnet 1 in a network");
    assert_eq!(net, "office");
    assert_eq!(s["renew-timer"], 120);
    assert_eq!(
        s["valid-lifetime"], 600,
        "Kea echoes the network's value, not the server's: {s}"
    );
    let (_, s) = in_network(&rig.file(), 1).expect("in the file");
    assert_eq!(
        s["valid-lifetime"], 600,
        "the file too (Kea writes the echo): {s}"
    );
    assert!(
        !s["user-context"].to_string().contains("valid-lifetime"),
        "inherited, not the subnet's own: {s}"
    );
    // Back into the plain network, then out of it, and both networks go.
    rig.proxy.clear();
    let out = rig.run(
        r#"
let v4 = kea().dhcp4;
v4.move_subnet(1, "plain");
v4.move_subnet(1, ());
v4.delete_shared_network("plain");
v4.delete_shared_network("office");
"#,
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        rig.proxy.mutating(),
        [
            "config-set",
            "config-write",
            "network4-subnet-del",
            "config-write",
            "network4-del",
            "config-write",
            "network4-del",
            "config-write"
        ],
        "out of a network with values of its own by config-set; out of the plain one by network4-subnet-del"
    );
    assert_eq!(
        rig.proxy.sent("network4-subnet-del"),
        [json!({"name": "plain", "id": 1})]
    );
    for root in both() {
        assert!(
            root["shared-networks"]
                .as_array()
                .is_none_or(|a| a.is_empty()),
            "{}",
            root["shared-networks"]
        );
        let s = subnet_in(&root, "192.0.2.0/24").expect("subnet 1 at the top level");
        assert_eq!(s["renew-timer"], 120);
        assert!(
            s.get("valid-lifetime").is_none_or(|v| *v == 4000),
            "the server's value again: {s}"
        );
    }
}
