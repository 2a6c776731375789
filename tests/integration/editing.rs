//! Editing against a real Kea: the config path on Kea 2.2, the subnet/class hook commands
//! where Kea 3.0 has them (`spec/script-api.md`, `spec/design.md` › The edit pipeline):
//! every mutator read back with `config-get` and persisted with
//! `config-write` (the file on disk, and a restarted daemon); validation that sends nothing;
//! a conflict made behind keascript's back; hooks and the control socket surviving every
//! change; server-level lifetimes still reaching the scopes that do not own one; class
//! limits; dry runs; transactions; a `global` class on two labs.
//!
//! Scripts run through the `keascript` binary with `--config <lab inventory>`; what they did
//! is read back at library level (`kea::Service::config()`) and from the Kea log
//! (`COMMAND_RECEIVED Received command '…'`, INFO level).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keascript::kea::{Inventory, Server, Service};
use keascript::lab::Lab;
use serde_json::{Value, json};

use crate::support::{
    assert_no_deprecated_class_keys, client_class, commands_in, is_mutating, keascript, lab, rt,
    script,
};

/// What one run of the binary gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A lab, a scratch directory for scripts and keascript's state (its lock files), and the
/// inventory scripts run with.
struct Bench {
    lab: Lab,
    tmp: tempfile::TempDir,
    inventory: PathBuf,
    count: Cell<usize>,
}

impl Bench {
    fn new() -> Option<Self> {
        lab().map(Self::with)
    }

    fn with(lab: Lab) -> Self {
        let inventory = lab.inventory().to_path_buf();
        Self {
            lab,
            tmp: tempfile::tempdir().expect("tempdir"),
            inventory,
            count: Cell::new(0),
        }
    }

    /// Runs a script with extra `run` flags.
    fn run_with(&self, flags: &[&str], text: &str) -> Run {
        let i = self.count.get();
        self.count.set(i + 1);
        let path = script(self.tmp.path(), &format!("s{i}.rhai"), text);
        let out = keascript()
            .arg("--config")
            .arg(&self.inventory)
            .env("KEASCRIPT_STATE_DIR", self.tmp.path().join("state"))
            .arg("run")
            .args(flags)
            .arg(&path)
            .timeout(Duration::from_secs(120))
            .output()
            .expect("run keascript");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, text: &str) -> Run {
        self.run_with(&[], text)
    }

    /// Runs a script that must succeed; returns its stdout.
    fn ok(&self, text: &str) -> String {
        let r = self.run(text);
        assert_eq!(
            r.code, 0,
            "script failed:\n{text}\n--- stdout:\n{}\n--- stderr:\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// A service of the lab's own inventory (`lab` through the agent, `lab-unix`).
    fn service(&self, server: &str, name: &str) -> Service {
        service_of(self.lab.inventory(), server, name)
    }

    /// The running configuration's root map (`Dhcp4` / `Dhcp6`), read with config-get.
    fn config(&self, svc: &str) -> Value {
        let cfg = rt()
            .block_on(self.service("lab", svc).config())
            .expect("config-get");
        cfg[root_key(svc)].clone()
    }

    /// The root map of the daemon's configuration file on disk.
    fn file(&self, svc: &str) -> Value {
        let text = std::fs::read_to_string(self.lab.config_file(svc)).expect("config file");
        let v: Value = serde_json::from_str(&text).expect("config file is JSON");
        v[root_key(svc)].clone()
    }

    /// The commands the daemon received so far (from its log).
    fn commands(&self, svc: &str) -> Vec<String> {
        commands_in(self.lab.dir(), svc)
    }

    /// How many commands the daemon received so far.
    fn mark(&self, svc: &str) -> usize {
        self.commands(svc).len()
    }

    /// The mutating commands the daemon received since `mark`.
    fn mutations_since(&self, svc: &str, mark: usize) -> Vec<String> {
        self.commands(svc)
            .into_iter()
            .skip(mark)
            .filter(|c| is_mutating(c))
            .collect()
    }

    /// No deprecation warning for a class key in the daemon's log: keascript sent Kea
    /// >= 2.7.4 the lists.
    fn assert_no_deprecated_keys(&self, svc: &str, when: &str) {
        assert_no_deprecated_class_keys(&self.lab.dir().join(format!("kea-{svc}.log")), when);
    }

    /// True when the lab's daemon has the subnet and class hooks (the Kea 3 lab).
    fn has_hooks(&self, svc: &str) -> bool {
        let caps = rt()
            .block_on(self.service("lab", svc).capabilities())
            .expect("list-commands");
        caps.subnet_cmds && caps.class_cmds
    }

    /// The command a single change goes as: `hook` (`subnetN-…` for `subnet4-…` or
    /// `subnet6-…`) when the daemon has the hooks, else `config-set`.
    fn change_command(&self, svc: &str, hook: &str) -> String {
        if hook == "config-set" || !self.has_hooks(svc) {
            return "config-set".into();
        }
        let n = if svc == "dhcp6" { "6" } else { "4" };
        hook.replace("subnetN-", &format!("subnet{n}-"))
    }

    /// Hooks and control socket are as in `base`, the hook commands are there, and the
    /// UNIX socket answers.
    fn assert_intact(&self, svc: &str, base: &Value, when: &str) {
        let now = self.config(svc);
        assert_eq!(
            now["hooks-libraries"], base["hooks-libraries"],
            "{when}: hooks-libraries changed"
        );
        assert_eq!(
            now["control-socket"], base["control-socket"],
            "{when}: control-socket changed"
        );
        assert_eq!(
            now["control-sockets"], base["control-sockets"],
            "{when}: control-sockets changed"
        );
        let v = if svc == "dhcp6" { "6" } else { "4" };
        let cmds = rt()
            .block_on(self.service("lab", svc).command("list-commands", None))
            .expect("list-commands")
            .expect("a list");
        for c in [format!("lease{v}-get"), format!("stat-lease{v}-get")] {
            assert!(
                cmds.as_array()
                    .expect("array")
                    .iter()
                    .any(|x| x.as_str() == Some(c.as_str())),
                "{when}: {c} is gone from list-commands: {cmds}"
            );
        }
        let unix = rt().block_on(self.service("lab-unix", svc).command("version-get", None));
        assert!(
            unix.is_ok(),
            "{when}: the UNIX socket does not answer: {unix:?}"
        );
    }

    fn restart(&mut self, daemon: &str) {
        rt().block_on(self.lab.restart(daemon))
            .unwrap_or_else(|e| panic!("restart {daemon}: {e}"));
    }
}

fn service_of(inventory: &Path, server: &str, name: &str) -> Service {
    let inv = Inventory::load(inventory).expect("inventory");
    let entry = inv.get(server).expect("server in the inventory");
    let s = Server::from_entry(server, entry).expect("server");
    Service::new(Arc::new(s), name).expect("service")
}

fn root_key(svc: &str) -> &'static str {
    if svc == "dhcp6" { "Dhcp6" } else { "Dhcp4" }
}

// ---------------------------------------------------------------------------------------
// Reading Kea's JSON.

fn subnet_list(root: &Value) -> Vec<&Value> {
    ["subnet4", "subnet6"]
        .iter()
        .filter_map(|k| root.get(*k).and_then(Value::as_array))
        .flatten()
        .collect()
}

fn find_subnet<'a>(root: &'a Value, prefix: &str) -> Option<&'a Value> {
    subnet_list(root)
        .into_iter()
        .find(|s| s["subnet"].as_str() == Some(prefix))
}

fn subnet<'a>(root: &'a Value, prefix: &str) -> &'a Value {
    find_subnet(root, prefix).unwrap_or_else(|| {
        panic!(
            "no subnet {prefix}; subnets: {:?}",
            subnet_list(root)
                .iter()
                .map(|s| s["subnet"].clone())
                .collect::<Vec<_>>()
        )
    })
}

/// A pool as `first-last`, whichever way Kea wrote it (`a - b`, `a-b`, `a/len`).
fn norm_pool(text: &str) -> String {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if t.contains('/') {
        let net: ipnet::IpNet = t.parse().expect("a prefix pool");
        format!("{}-{}", net.network(), net.broadcast())
    } else {
        t
    }
}

fn pools(s: &Value) -> Vec<String> {
    s["pools"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| norm_pool(p["pool"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

fn pool<'a>(s: &'a Value, range: &str) -> &'a Value {
    let want = norm_pool(range);
    s["pools"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|p| norm_pool(p["pool"].as_str().unwrap_or("")) == want)
        })
        .unwrap_or_else(|| panic!("no pool {range} in {}: {:?}", s["subnet"], pools(s)))
}

/// Option data named `name` in a map that holds `option-data`.
fn opt<'a>(holder: &'a Value, name: &str) -> Option<&'a Value> {
    holder["option-data"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["name"].as_str() == Some(name)))
}

fn opt_data(holder: &Value, name: &str) -> String {
    opt(holder, name)
        .unwrap_or_else(|| panic!("no option {name} in {}", holder["option-data"]))["data"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn class<'a>(root: &'a Value, name: &str) -> Option<&'a Value> {
    root["client-classes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"].as_str() == Some(name)))
}

fn def(root: &Value, code: u64) -> Option<&Value> {
    root["option-def"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["code"].as_u64() == Some(code)))
}

// ---------------------------------------------------------------------------------------
// 1. Every mutator, read back, persisted, with hooks and control socket intact.

/// Runs one mutation, then checks: exactly one command that changes the running
/// configuration, then one config-write, reached the daemon; `check` holds on the running
/// config and on the file; hooks intact. `hook` is the command the change goes as on a
/// server with the subnet/class hooks (`subnet_cmds`/`class_cmds`, loaded by the Kea 3 lab;
/// `subnetN-` is `subnet4-`/`subnet6-`); without them every change is one config-set.
#[allow(clippy::too_many_arguments)]
fn step(
    b: &Bench,
    svc: &str,
    base: &Value,
    label: &str,
    hook: &str,
    body: &str,
    check: impl Fn(&Value),
) {
    let mark = b.mark(svc);
    let var = if svc == "dhcp6" { "v6" } else { "v4" };
    b.ok(&format!("let {var} = kea().{svc};\n{body}\n"));
    let expected = b.change_command(svc, hook);
    assert_eq!(
        b.mutations_since(svc, mark),
        [expected.as_str(), "config-write"],
        "{label}: one {expected}, then one config-write"
    );
    eprintln!("step {label}: checking the running configuration");
    check(&b.config(svc));
    eprintln!("step {label}: checking the file written by config-write");
    check(&b.file(svc));
    b.assert_intact(svc, base, label);
    b.assert_no_deprecated_keys(svc, label);
}

#[test]
fn every_dhcp4_mutator_is_read_back_persisted_and_survives_a_restart() {
    let Some(mut b) = Bench::new() else { return };
    let base = b.config("dhcp4");
    let s = |r: &Value| subnet(r, "10.1.0.0/24").clone();

    step(
        &b,
        "dhcp4",
        &base,
        "add_class",
        "class-add",
        r#"v4.add_class(#{ name: "voip", test: "substring(option[60].hex,0,4) == 'Cisc'",
              next_server: "10.0.0.5", server_hostname: "tftp.example.org",
              boot_file_name: "phone.cfg", description: "desk phones", global: false });"#,
        |r| {
            let c = class(r, "voip").expect("class voip");
            assert_eq!(c["test"], "substring(option[60].hex,0,4) == 'Cisc'");
            assert_eq!(c["next-server"], "10.0.0.5");
            assert_eq!(c["server-hostname"], "tftp.example.org");
            assert_eq!(c["boot-file-name"], "phone.cfg");
            assert_eq!(c["user-context"]["description"], "desk phones");
            assert_eq!(c["user-context"]["global"], false);
        },
    );
    // The script readers see the metadata too.
    let out = b.ok(
        "let c = kea().dhcp4.client_class(\"voip\");\nprint(`${c.description}|${c.global}|${c.next_server}|${c.boot_file_name}`);\n",
    );
    assert!(
        out.contains("desk phones|false|10.0.0.5|phone.cfg"),
        "{out}"
    );

    step(
        &b,
        "dhcp4",
        &base,
        "add_subnet",
        "subnetN-add",
        r#"let n = v4.add_subnet(#{ subnet: "10.1.0.0/24", pools: ["10.1.0.10 - 10.1.0.99"],
              option_data: [#{ name: "routers", data: "10.1.0.1" }], client_class: "voip",
              valid_lifetime: 900 });
           if n.id != 2 { throw `the new subnet got id ${n.id}`; }"#,
        |r| {
            let n = s(r);
            assert_eq!(n["id"], 2, "the highest id in use + 1");
            assert_eq!(pools(&n), ["10.1.0.10-10.1.0.99"]);
            assert_eq!(opt_data(&n, "routers"), "10.1.0.1");
            assert_eq!(client_class(&n), Some("voip"));
            assert_eq!(n["valid-lifetime"], 900);
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "update_subnet (merge)",
        "subnetN-update",
        r#"v4.update_subnet("10.1.0.0/24", #{ renew_timer: 300, rebind_timer: 600 });"#,
        |r| {
            let n = s(r);
            assert_eq!(n["renew-timer"], 300);
            assert_eq!(n["rebind-timer"], 600);
            // Keys not named keep their values.
            assert_eq!(n["id"], 2);
            assert_eq!(n["valid-lifetime"], 900);
            assert_eq!(pools(&n), ["10.1.0.10-10.1.0.99"]);
            assert_eq!(opt_data(&n, "routers"), "10.1.0.1");
            assert_eq!(client_class(&n), Some("voip"));
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "update_subnet (() resets)",
        "subnetN-update",
        r#"v4.update_subnet(2, #{ renew_timer: (), rebind_timer: (), valid_lifetime: 1000 });"#,
        |r| {
            let n = s(r);
            assert!(n.get("renew-timer").is_none(), "renew-timer reset: {n}");
            assert!(n.get("rebind-timer").is_none(), "rebind-timer reset: {n}");
            assert_eq!(n["valid-lifetime"], 1000);
            assert_eq!(pools(&n), ["10.1.0.10-10.1.0.99"]);
            assert_eq!(client_class(&n), Some("voip"));
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "add_pool",
        "subnetN-delta-add",
        r#"v4.add_pool("10.1.0.0/24", "10.1.0.100 - 10.1.0.150");"#,
        |r| {
            assert_eq!(
                pools(&s(r)),
                ["10.1.0.10-10.1.0.99", "10.1.0.100-10.1.0.150"]
            )
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "add_pool with a map",
        "subnetN-delta-add",
        r#"v4.add_pool(2, "10.1.0.200-10.1.0.210",
              #{ option_data: [#{ name: "domain-name", data: "pool.example.org" }] });"#,
        |r| {
            let n = s(r);
            assert_eq!(pools(&n).len(), 3);
            assert_eq!(
                opt_data(pool(&n, "10.1.0.200-10.1.0.210"), "domain-name"),
                "pool.example.org"
            );
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "assign_class on a pool",
        "subnetN-update",
        r#"v4.assign_class("10.1.0.0/24", "10.1.0.100-10.1.0.150", "voip");"#,
        |r| {
            assert_eq!(
                client_class(pool(&s(r), "10.1.0.100-10.1.0.150")),
                Some("voip")
            )
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "unassign_class on a subnet",
        "subnetN-update",
        r#"v4.unassign_class("10.1.0.0/24");"#,
        |r| {
            let n = s(r);
            assert_eq!(client_class(&n), None, "{n}");
            assert_eq!(
                client_class(pool(&n, "10.1.0.100-10.1.0.150")),
                Some("voip")
            );
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "unassign_class on a pool",
        "subnetN-update",
        r#"v4.unassign_class("10.1.0.0/24", "10.1.0.100 - 10.1.0.150");"#,
        |r| assert_eq!(client_class(pool(&s(r), "10.1.0.100-10.1.0.150")), None),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "assign_class on a subnet",
        "subnetN-update",
        r#"v4.assign_class(2, "voip");"#,
        |r| assert_eq!(client_class(&s(r)), Some("voip")),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_pool",
        "subnetN-delta-del",
        r#"v4.delete_pool("10.1.0.0/24", "10.1.0.100-10.1.0.150");"#,
        |r| {
            assert_eq!(
                pools(&s(r)),
                ["10.1.0.10-10.1.0.99", "10.1.0.200-10.1.0.210"]
            )
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "update_class",
        "class-update",
        r#"v4.update_class("voip", #{ description: "all phones", next_server: "10.0.0.6" });"#,
        |r| {
            let c = class(r, "voip").expect("voip");
            assert_eq!(c["user-context"]["description"], "all phones");
            assert_eq!(c["user-context"]["global"], false);
            assert_eq!(c["next-server"], "10.0.0.6");
            assert_eq!(c["test"], "substring(option[60].hex,0,4) == 'Cisc'");
            assert_eq!(c["boot-file-name"], "phone.cfg");
            assert_eq!(c["server-hostname"], "tftp.example.org");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option global by name",
        "config-set",
        r#"v4.set_option("domain-name-servers", "192.0.2.53, 192.0.2.54");"#,
        |r| assert_eq!(opt_data(r, "domain-name-servers"), "192.0.2.53, 192.0.2.54"),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option global by code",
        "config-set",
        r#"v4.set_option(15, "example.org");"#,
        |r| {
            let o = opt(r, "domain-name").expect("domain-name (15)");
            assert_eq!(o["code"], 15);
            assert_eq!(o["data"], "example.org");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option subnet by name",
        "subnetN-delta-add",
        r#"v4.set_option("10.1.0.0/24", "domain-name", "one.example.org");"#,
        |r| assert_eq!(opt_data(&s(r), "domain-name"), "one.example.org"),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option subnet (by id) by code",
        "subnetN-delta-add",
        r#"v4.set_option(#{ subnet: 2 }, 42, "10.1.0.123");"#,
        |r| {
            let o = opt(&s(r), "ntp-servers")
                .cloned()
                .expect("ntp-servers (42)");
            assert_eq!(o["code"], 42);
            assert_eq!(o["data"], "10.1.0.123");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option pool by name",
        "subnetN-update",
        r#"v4.set_option(#{ subnet: "10.1.0.0/24", pool: "10.1.0.10-10.1.0.99" }, "routers", "10.1.0.254");"#,
        |r| {
            assert_eq!(
                opt_data(pool(&s(r), "10.1.0.10-10.1.0.99"), "routers"),
                "10.1.0.254"
            )
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option pool by code",
        "subnetN-update",
        r#"v4.set_option(#{ subnet: "10.1.0.0/24", pool: "10.1.0.10 - 10.1.0.99" }, 6, "10.1.0.53");"#,
        |r| {
            let n = s(r);
            let p = pool(&n, "10.1.0.10-10.1.0.99");
            assert_eq!(opt_data(p, "domain-name-servers"), "10.1.0.53");
            assert_eq!(opt_data(p, "routers"), "10.1.0.254");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option class by name",
        "class-update",
        r#"v4.set_option(#{ class: "voip" }, "tftp-server-name", "tftp1.example.org");"#,
        |r| {
            assert_eq!(
                opt_data(class(r, "voip").unwrap(), "tftp-server-name"),
                "tftp1.example.org"
            )
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option class by code",
        "class-update",
        r#"v4.set_option(#{ class: "voip" }, 67, "phone2.cfg");"#,
        |r| {
            let c = class(r, "voip").unwrap();
            assert_eq!(opt_data(c, "boot-file-name"), "phone2.cfg");
            assert_eq!(opt(c, "boot-file-name").unwrap()["code"], 67);
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set_option with a map (replaces)",
        "subnetN-delta-add",
        r#"v4.set_option("10.1.0.0/24", #{ name: "domain-name", data: "two.example.org", always_send: true });"#,
        |r| {
            let n = s(r);
            let all: Vec<_> = n["option-data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["name"] == "domain-name")
                .collect();
            assert_eq!(all.len(), 1, "replaced, not added: {}", n["option-data"]);
            assert_eq!(all[0]["data"], "two.example.org");
            assert_eq!(all[0]["always-send"], true);
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_option global by code",
        "config-set",
        r#"v4.delete_option(15);"#,
        |r| {
            assert!(opt(r, "domain-name").is_none(), "{}", r["option-data"]);
            assert!(opt(r, "domain-name-servers").is_some());
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_option at a class by name",
        "class-update",
        r#"v4.delete_option(#{ class: "voip" }, "tftp-server-name");"#,
        |r| {
            let c = class(r, "voip").unwrap();
            assert!(opt(c, "tftp-server-name").is_none(), "{c}");
            assert!(opt(c, "boot-file-name").is_some());
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "define_option",
        "config-set",
        r#"v4.define_option(#{ code: 224, name: "voip-config", type: "string" });"#,
        |r| {
            let d = def(r, 224).expect("definition 224");
            assert_eq!(d["name"], "voip-config");
            assert_eq!(d["type"], "string");
            assert_eq!(d["space"], "dhcp4");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "add_option_def (alias)",
        "config-set",
        r#"v4.add_option_def(#{ code: 225, name: "site-id", type: "record", record_types: "uint8, ipv4-address" });"#,
        |r| {
            let d = def(r, 225).expect("definition 225");
            assert_eq!(d["name"], "site-id");
            assert_eq!(d["type"], "record");
            assert_eq!(d["record-types"], "uint8, ipv4-address");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "a custom option used by name",
        "subnetN-delta-add",
        r#"v4.set_option("10.1.0.0/24", "site-id", "7, 10.1.0.7");"#,
        |r| {
            let o = opt(&s(r), "site-id").cloned().expect("site-id");
            assert_eq!(o["code"], 225);
            assert_eq!(o["data"], "7, 10.1.0.7");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "a custom option used by code",
        "class-update",
        r#"v4.set_option(#{ class: "voip" }, 224, "cfg.example.org");"#,
        |r| {
            let o = opt(class(r, "voip").unwrap(), "voip-config")
                .cloned()
                .expect("voip-config");
            assert_eq!(o["code"], 224);
            assert_eq!(o["data"], "cfg.example.org");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "update_option_def changes the code; option data follows",
        "config-set",
        r#"v4.update_option_def(225, "dhcp4", #{ code: 226 });"#,
        |r| {
            assert!(def(r, 225).is_none());
            assert_eq!(def(r, 226).expect("definition 226")["name"], "site-id");
            let o = opt(&s(r), "site-id").cloned().expect("site-id still there");
            assert_eq!(o["code"], 226);
            assert_eq!(o["data"], "7, 10.1.0.7");
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_option (custom)",
        "subnetN-delta-del",
        r#"v4.delete_option("10.1.0.0/24", "site-id");"#,
        |r| assert!(opt(&s(r), "site-id").is_none()),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_option_def",
        "config-set",
        r#"v4.delete_option_def(226, "dhcp4");"#,
        |r| {
            assert!(def(r, 226).is_none());
            assert!(def(r, 224).is_some());
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "set (settings)",
        "config-set",
        r#"v4.set(#{ valid_lifetime: 4500, min_valid_lifetime: 600, max_valid_lifetime: 9000,
              renew_timer: 300, rebind_timer: 600, next_server: "192.0.2.5",
              echo_client_id: false, match_client_id: false, decline_probation_period: 3600,
              server_tag: "edge-1" });"#,
        |r| {
            assert_eq!(r["valid-lifetime"], 4500);
            assert_eq!(r["min-valid-lifetime"], 600);
            assert_eq!(r["max-valid-lifetime"], 9000);
            assert_eq!(r["renew-timer"], 300);
            assert_eq!(r["rebind-timer"], 600);
            assert_eq!(r["next-server"], "192.0.2.5");
            assert_eq!(r["echo-client-id"], false);
            assert_eq!(r["match-client-id"], false);
            assert_eq!(r["decline-probation-period"], 3600);
            assert_eq!(r["server-tag"], "edge-1");
        },
    );
    let out = b.ok("let s = kea().dhcp4.settings();\nprint(`${s.valid_lifetime}|${s.server_tag}|${s.next_server}|${s.control_socket}`);\n");
    assert!(
        out.contains(&format!(
            "4500|edge-1|192.0.2.5|{}",
            b.lab.socket("dhcp4").display()
        )),
        "{out}"
    );
    step(
        &b,
        "dhcp4",
        &base,
        "add_subnet with an explicit id",
        "subnetN-add",
        r#"v4.add_subnet(#{ subnet: "10.2.0.0/24", id: 20 });"#,
        |r| assert_eq!(subnet(r, "10.2.0.0/24")["id"], 20),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_subnet",
        "subnetN-del",
        r#"v4.delete_subnet(20);"#,
        |r| assert!(find_subnet(r, "10.2.0.0/24").is_none()),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "add_class (to delete)",
        "class-add",
        r#"v4.add_class(#{ name: "printers" });"#,
        |r| assert!(class(r, "printers").is_some()),
    );
    step(
        &b,
        "dhcp4",
        &base,
        "delete_class",
        "class-del",
        r#"v4.delete_class("printers");"#,
        |r| {
            assert!(class(r, "printers").is_none());
            assert!(class(r, "voip").is_some());
        },
    );
    step(
        &b,
        "dhcp4",
        &base,
        "apply (whole configuration, without hooks and control socket)",
        "config-set",
        r#"let c = v4.config();
           c.Dhcp4.remove("hooks-libraries");
           c.Dhcp4.remove("control-socket");
           c.Dhcp4["decline-probation-period"] = 1800;
           c.Dhcp4["boot-file-name"] = "pxelinux.0";
           v4.apply(c);"#,
        |r| {
            assert_eq!(r["decline-probation-period"], 1800);
            assert_eq!(r["boot-file-name"], "pxelinux.0");
        },
    );

    // Everything is in the file: a restarted daemon runs it.
    let final_state = |r: &Value| {
        let c = class(r, "voip").expect("voip");
        assert_eq!(c["user-context"]["description"], "all phones");
        assert_eq!(c["next-server"], "10.0.0.6");
        assert_eq!(opt_data(c, "boot-file-name"), "phone2.cfg");
        assert_eq!(opt_data(c, "voip-config"), "cfg.example.org");
        assert!(class(r, "printers").is_none());
        let n = s(r);
        assert_eq!(n["id"], 2);
        assert_eq!(pools(&n), ["10.1.0.10-10.1.0.99", "10.1.0.200-10.1.0.210"]);
        assert_eq!(client_class(&n), Some("voip"));
        assert_eq!(n["valid-lifetime"], 1000);
        assert_eq!(opt_data(&n, "routers"), "10.1.0.1");
        assert_eq!(opt_data(&n, "domain-name"), "two.example.org");
        assert_eq!(opt_data(&n, "ntp-servers"), "10.1.0.123");
        let p = pool(&n, "10.1.0.10-10.1.0.99");
        assert_eq!(opt_data(p, "routers"), "10.1.0.254");
        assert_eq!(opt_data(p, "domain-name-servers"), "10.1.0.53");
        assert!(find_subnet(r, "10.2.0.0/24").is_none());
        assert_eq!(subnet(r, "192.0.2.0/24")["id"], 1);
        assert_eq!(opt_data(r, "domain-name-servers"), "192.0.2.53, 192.0.2.54");
        assert!(opt(r, "domain-name").is_none());
        assert!(def(r, 224).is_some() && def(r, 226).is_none());
        assert_eq!(r["server-tag"], "edge-1");
        assert_eq!(r["decline-probation-period"], 1800);
    };
    final_state(&b.file("dhcp4"));
    b.restart("kea-dhcp4");
    final_state(&b.config("dhcp4"));
    b.assert_intact("dhcp4", &base, "after the restart");
}

#[test]
fn dhcp6_scopes_pools_options_and_settings_are_read_back_and_persisted() {
    let Some(mut b) = Bench::new() else { return };
    let base = b.config("dhcp6");
    let s = |r: &Value| subnet(r, "2001:db8:2::/64").clone();
    step(
        &b,
        "dhcp6",
        &base,
        "add_subnet (v6)",
        "subnetN-add",
        r#"v6.add_subnet(#{ subnet: "2001:db8:2::/64", pools: ["2001:db8:2::100 - 2001:db8:2::1fe"],
              option_data: [#{ name: "dns-servers", data: "2001:db8:2::53" }],
              preferred_lifetime: 1500, valid_lifetime: 2000 });"#,
        |r| {
            let n = s(r);
            assert_eq!(n["id"], 2);
            assert_eq!(pools(&n), ["2001:db8:2::100-2001:db8:2::1fe"]);
            assert_eq!(opt_data(&n, "dns-servers"), "2001:db8:2::53");
            assert_eq!(n["preferred-lifetime"], 1500);
            assert_eq!(n["valid-lifetime"], 2000);
        },
    );
    step(
        &b,
        "dhcp6",
        &base,
        "add_pool (v6, a range Kea writes as a prefix)",
        "subnetN-delta-add",
        r#"v6.add_pool("2001:db8:2::/64", "2001:db8:2::1000-2001:db8:2::1fff");"#,
        |r| {
            assert_eq!(
                pools(&s(r)),
                [
                    "2001:db8:2::100-2001:db8:2::1fe",
                    "2001:db8:2::1000-2001:db8:2::1fff"
                ]
            )
        },
    );
    step(
        &b,
        "dhcp6",
        &base,
        "set_option v6 subnet by code",
        "subnetN-delta-add",
        r#"v6.set_option("2001:db8:2::/64", 24, "example.org");"#,
        |r| {
            let o = opt(&s(r), "domain-search")
                .cloned()
                .expect("domain-search (24)");
            assert_eq!(o["code"], 24);
            assert_eq!(o["data"], "example.org");
        },
    );
    step(
        &b,
        "dhcp6",
        &base,
        "set_option v6 pool by name (named by its range)",
        "subnetN-update",
        r#"v6.set_option(#{ subnet: "2001:db8:2::/64", pool: "2001:db8:2::1000-2001:db8:2::1fff" }, "dns-servers", "2001:db8:2::54");"#,
        |r| {
            assert_eq!(
                opt_data(pool(&s(r), "2001:db8:2::1000/116"), "dns-servers"),
                "2001:db8:2::54"
            )
        },
    );
    step(
        &b,
        "dhcp6",
        &base,
        "set_option v6 global by name",
        "config-set",
        r#"v6.set_option("dns-servers", "2001:db8::1");"#,
        |r| assert_eq!(opt_data(r, "dns-servers"), "2001:db8::1"),
    );
    step(
        &b,
        "dhcp6",
        &base,
        "set_option v6 global by code",
        "config-set",
        r#"v6.set_option(31, "2001:db8::123");"#,
        |r| assert_eq!(opt_data(r, "sntp-servers"), "2001:db8::123"),
    );
    step(
        &b,
        "dhcp6",
        &base,
        "update_subnet v6",
        "subnetN-update",
        r#"v6.update_subnet("2001:db8:2::/64", #{ preferred_lifetime: 1600 });"#,
        |r| {
            let n = s(r);
            assert_eq!(n["preferred-lifetime"], 1600);
            assert_eq!(n["valid-lifetime"], 2000);
            assert_eq!(pools(&n).len(), 2);
        },
    );
    step(
        &b,
        "dhcp6",
        &base,
        "set v6 settings",
        "config-set",
        r#"v6.set(#{ preferred_lifetime: 3100, min_preferred_lifetime: 1000, max_preferred_lifetime: 5000,
              valid_lifetime: 4100, renew_timer: 500, rebind_timer: 1000, decline_probation_period: 600,
              server_tag: "edge-6" });"#,
        |r| {
            assert_eq!(r["preferred-lifetime"], 3100);
            assert_eq!(r["min-preferred-lifetime"], 1000);
            assert_eq!(r["max-preferred-lifetime"], 5000);
            assert_eq!(r["valid-lifetime"], 4100);
            assert_eq!(r["renew-timer"], 500);
            assert_eq!(r["rebind-timer"], 1000);
            assert_eq!(r["decline-probation-period"], 600);
            assert_eq!(r["server-tag"], "edge-6");
        },
    );
    let out = b.ok("let s = kea().dhcp6.settings();\nprint(`${s.preferred_lifetime}|${s.min_preferred_lifetime}|${s.valid_lifetime}`);\nlet n = kea().dhcp6.subnet(\"2001:db8:2::/64\");\nprint(`subnet ${n.preferred_lifetime}|${n.valid_lifetime}`);\n");
    assert!(out.contains("3100|1000|4100"), "{out}");
    assert!(out.contains("subnet 1600|2000"), "{out}");
    step(
        &b,
        "dhcp6",
        &base,
        "delete_option v6 at a pool",
        "subnetN-update",
        r#"v6.delete_option(#{ subnet: "2001:db8:2::/64", pool: "2001:db8:2::1000 - 2001:db8:2::1fff" }, "dns-servers");"#,
        |r| assert!(opt(pool(&s(r), "2001:db8:2::1000/116"), "dns-servers").is_none()),
    );
    step(
        &b,
        "dhcp6",
        &base,
        "delete_pool v6 (named by its range)",
        "subnetN-delta-del",
        r#"v6.delete_pool("2001:db8:2::/64", "2001:db8:2::1000-2001:db8:2::1fff");"#,
        |r| assert_eq!(pools(&s(r)), ["2001:db8:2::100-2001:db8:2::1fe"]),
    );
    let final_state = |r: &Value| {
        let n = s(r);
        assert_eq!(n["id"], 2);
        assert_eq!(pools(&n), ["2001:db8:2::100-2001:db8:2::1fe"]);
        assert_eq!(n["preferred-lifetime"], 1600);
        assert_eq!(opt_data(&n, "dns-servers"), "2001:db8:2::53");
        assert_eq!(opt_data(&n, "domain-search"), "example.org");
        assert_eq!(opt_data(r, "dns-servers"), "2001:db8::1");
        assert_eq!(opt_data(r, "sntp-servers"), "2001:db8::123");
        assert_eq!(r["preferred-lifetime"], 3100);
        assert_eq!(r["server-tag"], "edge-6");
        assert_eq!(subnet(r, "2001:db8:1::/64")["id"], 1);
    };
    final_state(&b.file("dhcp6"));
    b.restart("kea-dhcp6");
    final_state(&b.config("dhcp6"));
    b.assert_intact("dhcp6", &base, "dhcp6 after the restart");
    // dhcp4 was never touched.
    assert!(b.mutations_since("dhcp4", 0).is_empty());
}

// ---------------------------------------------------------------------------------------
// 2. Validation: each rule rejects bad input, and nothing that changes anything is sent.

struct Case {
    what: &'static str,
    body: &'static str,
    kind: &'static str,
    /// The message contains this (or equals it, with `exact`).
    needle: &'static str,
    exact: bool,
}

const fn case(
    what: &'static str,
    body: &'static str,
    kind: &'static str,
    needle: &'static str,
) -> Case {
    Case {
        what,
        body,
        kind,
        needle,
        exact: false,
    }
}

/// Runs a case in its own script; returns its `kind=` and `message=` lines.
fn run_case(b: &Bench, c: &Case) -> (String, String) {
    let text = format!(
        "let v4 = kea().dhcp4;\nlet v6 = kea().dhcp6;\ntry {{\n{}\nprint(\"outcome=accepted\");\n}} catch (e) {{\nprint(`kind=${{error_kind(e)}}`);\nprint(`message=${{e.message}}`);\n}}\n",
        c.body
    );
    let out = b.ok(&text);
    let line = |p: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(p))
            .unwrap_or_else(|| panic!("{}: no {p} line in:\n{out}", c.what))
            .to_string()
    };
    (line("kind="), line("message="))
}

#[test]
fn every_validation_rule_rejects_bad_input_and_sends_nothing_that_changes_anything() {
    let Some(b) = Bench::new() else { return };
    // Server state the rules are checked against.
    b.ok(r#"let v4 = kea().dhcp4;
let tx = v4.begin();
tx.add_class(#{ name: "voip" });
tx.add_subnet(#{ subnet: "1.3.3.0/24", id: 5 });
tx.add_subnet(#{ subnet: "10.1.0.0/24", id: 7, pools: ["10.1.0.10-10.1.0.99"], client_class: "voip" });
tx.assign_class(7, "10.1.0.10-10.1.0.99", "voip");
tx.define_option(#{ code: 224, name: "voip-config", type: "string" });
tx.set_option("10.1.0.0/24", "voip-config", "cfg.example.org");
tx.commit();
"#);
    let base4 = b.config("dhcp4");
    let base6 = b.config("dhcp6");
    assert!(class(&base4, "voip").is_some() && def(&base4, 224).is_some());

    let cases = [
        case(
            "non-canonical prefix",
            r#"v4.add_subnet(#{ subnet: "10.30.0.1/24" });"#,
            "invalid",
            r#"subnet "10.30.0.1/24" has host bits set: the prefix is 10.30.0.0/24"#,
        ),
        case(
            "an IPv6 prefix on dhcp4",
            r#"v4.add_subnet(#{ subnet: "2001:db8:9::/64" });"#,
            "invalid",
            "is not an IPv4 prefix",
        ),
        case(
            "an IPv4 prefix on dhcp6",
            r#"v6.add_subnet(#{ subnet: "10.30.0.0/24" });"#,
            "invalid",
            "is not an IPv6 prefix",
        ),
        Case {
            exact: true,
            ..case(
                "duplicate prefix",
                r#"v4.add_subnet(#{ subnet: "1.3.3.0/24" });"#,
                "conflict",
                r#"A scope with address "1.3.3.0" already exists on the server"#,
            )
        },
        case(
            "overlapping subnet (inside)",
            r#"v4.add_subnet(#{ subnet: "192.0.2.128/25" });"#,
            "conflict",
            "overlaps subnet 192.0.2.0/24",
        ),
        case(
            "overlapping subnet (around)",
            r#"v4.add_subnet(#{ subnet: "10.0.0.0/8" });"#,
            "conflict",
            "overlaps subnet 10.1.0.0/24",
        ),
        case(
            "duplicate explicit id",
            r#"v4.add_subnet(#{ subnet: "10.31.0.0/24", id: 7 });"#,
            "conflict",
            "subnet id 7 is already used by 10.1.0.0/24",
        ),
        case(
            "pool outside its subnet (add_subnet)",
            r#"v4.add_subnet(#{ subnet: "10.32.0.0/24", pools: ["10.33.0.1-10.33.0.9"] });"#,
            "invalid",
            "does not lie inside its subnet 10.32.0.0/24",
        ),
        case(
            "pool outside its subnet (add_pool)",
            r#"v4.add_pool("192.0.2.0/24", "10.33.0.1-10.33.0.9");"#,
            "invalid",
            "does not lie inside its subnet 192.0.2.0/24",
        ),
        case(
            "overlapping pools in the input",
            r#"v4.add_subnet(#{ subnet: "10.32.0.0/24", pools: ["10.32.0.1-10.32.0.9", "10.32.0.5-10.32.0.20"] });"#,
            "invalid",
            "overlaps pool",
        ),
        case(
            "a pool overlapping a pool on the server",
            r#"v4.add_pool("192.0.2.0/24", "192.0.2.150-192.0.2.220");"#,
            "conflict",
            "overlaps pool 192.0.2.10-192.0.2.200",
        ),
        case(
            "undefined class on a new subnet",
            r#"v4.add_subnet(#{ subnet: "10.34.0.0/24", client_class: "ghost" });"#,
            "conflict",
            r#"names client class "ghost", which is not defined"#,
        ),
        case(
            "undefined class assigned to a subnet",
            r#"v4.assign_class("192.0.2.0/24", "ghost");"#,
            "conflict",
            r#"subnet 192.0.2.0/24 names client class "ghost""#,
        ),
        case(
            "undefined class assigned to a pool",
            r#"v4.assign_class("192.0.2.0/24", "192.0.2.10-192.0.2.200", "ghost");"#,
            "conflict",
            r#"pool 192.0.2.10-192.0.2.200 of subnet 192.0.2.0/24 names client class "ghost""#,
        ),
        case(
            "undefined class on a new pool",
            r#"v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220", #{ client_class: "ghost" });"#,
            "conflict",
            r#"client class "ghost""#,
        ),
        case(
            "deleting a class still used",
            r#"v4.delete_class("voip");"#,
            "conflict",
            r#"client class "voip" is still used by subnet 10.1.0.0/24, pool 10.1.0.10-10.1.0.99 of subnet 10.1.0.0/24"#,
        ),
        case(
            "unknown option name",
            r#"v4.set_option("no-such-option", "x");"#,
            "invalid",
            r#"option "no-such-option" is neither a standard IPv4 option nor defined"#,
        ),
        case(
            "unknown option code",
            r#"v4.set_option("192.0.2.0/24", 222, "x");"#,
            "invalid",
            "option code 222 is neither a standard IPv4 option nor defined",
        ),
        case(
            "unknown option in a new subnet",
            r#"v4.add_subnet(#{ subnet: "10.35.0.0/24", option_data: [#{ name: "no-such-option", data: "x" }] });"#,
            "invalid",
            "no-such-option",
        ),
        case(
            "bad option data",
            r#"v4.set_option("routers", "not-an-ip");"#,
            "invalid",
            r#"option routers (code 3) data "not-an-ip": "not-an-ip" is not a valid ipv4-address"#,
        ),
        case(
            "option-def with a standard code",
            r#"v4.define_option(#{ code: 3, name: "mine", type: "string" });"#,
            "invalid",
            r#"option code 3 in space "dhcp4" is the standard option routers"#,
        ),
        case(
            "option-def code 0",
            r#"v4.define_option(#{ code: 0, name: "mine", type: "string" });"#,
            "invalid",
            "option code 0 is reserved for PAD",
        ),
        case(
            "option-def code 255",
            r#"v4.add_option_def(#{ code: 255, name: "mine", type: "string" });"#,
            "invalid",
            "option code 255 is reserved for END",
        ),
        case(
            "option-def of an unknown type",
            r#"v4.define_option(#{ code: 230, name: "mine", type: "strng" });"#,
            "invalid",
            r#"option type "strng" is unknown"#,
        ),
        case(
            "record option-def without record_types",
            r#"v4.define_option(#{ code: 230, name: "mine", type: "record" });"#,
            "invalid",
            "a record option needs record_types",
        ),
        case(
            "option-def in a bad vendor space",
            r#"v4.define_option(#{ code: 2, name: "mine", type: "string", space: "vendor-abc" });"#,
            "invalid",
            r#"space "vendor-abc" is not a vendor space"#,
        ),
        case(
            "delete_option_def while used",
            r#"v4.delete_option_def(224, "dhcp4");"#,
            "conflict",
            r#"option definition 224 ("voip-config") in space "dhcp4" is still used by option data at subnet 10.1.0.0/24"#,
        ),
        case(
            "min > max lifetime",
            r#"v4.set(#{ min_valid_lifetime: 9000, valid_lifetime: 8000, max_valid_lifetime: 7000 });"#,
            "invalid",
            "min_valid_lifetime 9000 is greater than max_valid_lifetime 7000",
        ),
        case(
            "default above max lifetime (min derived from the default)",
            r#"v4.set(#{ valid_lifetime: 8000, max_valid_lifetime: 7000 });"#,
            "invalid",
            "max_valid_lifetime 7000",
        ),
        case(
            "default above max lifetime",
            r#"v4.set(#{ min_valid_lifetime: 1000, valid_lifetime: 8000, max_valid_lifetime: 7000 });"#,
            "invalid",
            "valid_lifetime 8000 is above max_valid_lifetime 7000",
        ),
        case(
            "default below min lifetime",
            r#"v4.set(#{ min_valid_lifetime: 5000, valid_lifetime: 4500, max_valid_lifetime: 9000 });"#,
            "invalid",
            "valid_lifetime 4500 is below min_valid_lifetime 5000",
        ),
        case(
            "renew >= rebind",
            r#"v4.set(#{ renew_timer: 2000, rebind_timer: 2000 });"#,
            "invalid",
            "renew_timer 2000 must be less than rebind_timer 2000",
        ),
        case(
            "rebind >= valid",
            r#"v4.set(#{ rebind_timer: 3000, valid_lifetime: 3000 });"#,
            "invalid",
            "rebind_timer 3000 must be less than valid_lifetime 3000",
        ),
        case(
            "renew >= rebind on a subnet",
            r#"v4.update_subnet(7, #{ renew_timer: 3000, rebind_timer: 1000 });"#,
            "invalid",
            "subnet 10.1.0.0/24: renew_timer 3000 must be less than rebind_timer 1000",
        ),
        case(
            "next_server not IPv4 (settings)",
            r#"v4.set(#{ next_server: "not-an-address" });"#,
            "invalid",
            r#"next_server "not-an-address" is not an IPv4 address"#,
        ),
        case(
            "next_server not IPv4 (class)",
            r#"v4.add_class(#{ name: "pxe", next_server: "2001:db8::1" });"#,
            "invalid",
            r#"next_server "2001:db8::1" is not an IPv4 address"#,
        ),
        case(
            "empty control_socket",
            r#"v4.set(#{ control_socket: "" });"#,
            "invalid",
            "control_socket must be a non-empty socket path",
        ),
        case(
            "non-string server_tag",
            r#"v4.set(#{ server_tag: 5 });"#,
            "invalid",
            "server_tag must be a string, not 5",
        ),
        case(
            "a v4 field on a v6 class",
            r#"v6.add_class(#{ name: "pxe", boot_file_name: "x" });"#,
            "invalid",
            "boot_file_name is a DHCPv4 field",
        ),
    ];
    for c in &cases {
        let (m4, m6) = (b.mark("dhcp4"), b.mark("dhcp6"));
        let (kind, message) = run_case(&b, c);
        assert_eq!(kind, c.kind, "{}: kind (message: {message})", c.what);
        if c.exact {
            assert_eq!(message, c.needle, "{}: message", c.what);
        } else {
            assert!(
                message.contains(c.needle),
                "{}: message {message:?} lacks {:?}",
                c.what,
                c.needle
            );
        }
        assert!(
            b.mutations_since("dhcp4", m4).is_empty() && b.mutations_since("dhcp6", m6).is_empty(),
            "{}: a mutating command was sent: {:?} {:?}",
            c.what,
            b.mutations_since("dhcp4", m4),
            b.mutations_since("dhcp6", m6)
        );
        assert_eq!(b.config("dhcp4"), base4, "{}: dhcp4 changed", c.what);
        assert_eq!(b.config("dhcp6"), base6, "{}: dhcp6 changed", c.what);
    }

    // Kea's built-in classes count as existing: accepted and applied.
    let mark = b.mark("dhcp4");
    b.ok(r#"let v4 = kea().dhcp4;
v4.assign_class("192.0.2.0/24", "KNOWN");
v4.add_subnet(#{ subnet: "10.36.0.0/24", pools: [#{ pool: "10.36.0.10-10.36.0.20", client_class: "HA_server1" }] });
v4.add_pool("10.36.0.0/24", "10.36.0.30-10.36.0.40", #{ client_class: "UNKNOWN" });
"#);
    assert_eq!(b.mutations_since("dhcp4", mark).len(), 6, "three changes");
    let r = b.config("dhcp4");
    assert_eq!(client_class(subnet(&r, "192.0.2.0/24")), Some("KNOWN"));
    assert_eq!(
        client_class(pool(subnet(&r, "10.36.0.0/24"), "10.36.0.10-10.36.0.20")),
        Some("HA_server1")
    );
    assert_eq!(
        client_class(pool(subnet(&r, "10.36.0.0/24"), "10.36.0.30-10.36.0.40")),
        Some("UNKNOWN")
    );

    // Uncaught, a conflict ends the script with status 5 and an invalid input with 1;
    // neither sends anything.
    let mark = b.mark("dhcp4");
    let r = b.run("print(\"before\");\nkea().dhcp4.add_subnet(#{ subnet: \"1.3.3.0/24\" });\nprint(\"after\");\n");
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stdout.contains("before") && !r.stdout.contains("after"));
    assert!(
        r.stderr.contains(
            "conflict error: A scope with address \"1.3.3.0\" already exists on the server"
        ),
        "{}",
        r.stderr
    );
    let r = b.run("kea().dhcp4.add_subnet(#{ subnet: \"10.30.0.1/24\" });\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("invalid error: subnet \"10.30.0.1/24\" has host bits set"),
        "{}",
        r.stderr
    );
    assert!(b.mutations_since("dhcp4", mark).is_empty());
}

// ---------------------------------------------------------------------------------------
// 3. A conflict made behind keascript's back.

#[test]
fn a_subnet_loaded_behind_our_back_is_a_conflict_with_the_exact_message() {
    let Some(b) = Bench::new() else { return };
    let path = b.lab.config_file("dhcp4");
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["Dhcp4"]["subnet4"].as_array_mut().unwrap().push(
        json!({ "id": 33, "subnet": "1.3.3.0/24", "pools": [{ "pool": "1.3.3.10 - 1.3.3.20" }] }),
    );
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    // keascript has not seen the change: the daemon loads it.
    let out = b.ok("print(kea().dhcp4.reload());\n");
    assert!(out.contains("Configuration successful."), "{out}");
    let running = b.config("dhcp4");
    assert_eq!(subnet(&running, "1.3.3.0/24")["id"], 33);

    let mark = b.mark("dhcp4");
    let out = b.ok(r#"try {
    kea().dhcp4.add_subnet(#{ subnet: "1.3.3.0/24", pools: ["1.3.3.100-1.3.3.110"] });
    print("accepted");
} catch (e) {
    print(`kind=${error_kind(e)}`);
    print(`message=${e.message}`);
    print(`server=${e.server} service=${e.service}`);
}
"#);
    assert!(out.contains("kind=conflict\n"), "{out}");
    assert!(
        out.contains("message=A scope with address \"1.3.3.0\" already exists on the server\n"),
        "{out}"
    );
    assert!(out.contains("server=lab service=dhcp4"), "{out}");
    // Uncaught: status 5.
    let r = b.run("kea(\"lab-unix\").dhcp4.add_subnet(#{ subnet: \"1.3.3.0/24\" });\n");
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "conflict error: A scope with address \"1.3.3.0\" already exists on the server"
        ),
        "{}",
        r.stderr
    );
    assert!(b.mutations_since("dhcp4", mark).is_empty());
    assert_eq!(b.config("dhcp4"), running);
}

// ---------------------------------------------------------------------------------------
// 4. Hooks and control socket: apply() protects them.

#[test]
fn apply_refuses_to_change_hooks_or_the_control_socket_unless_allowed_and_keeps_them_when_absent() {
    let Some(b) = Bench::new() else { return };
    let base = b.config("dhcp4");
    // Kea 2.2 has one control socket; Kea >= 2.7.2 a list of them (the lab's UNIX and HTTP
    // sockets).
    let socket_key = if base.get("control-sockets").is_some() {
        "control-sockets"
    } else {
        "control-socket"
    };
    for (key, edit) in [
        ("hooks-libraries", r#"c.Dhcp4["hooks-libraries"] = [];"#),
        (
            socket_key,
            r#"if "control-sockets" in c.Dhcp4 {
    for i in 0..c.Dhcp4["control-sockets"].len() {
        if c.Dhcp4["control-sockets"][i]["socket-type"] == "unix" {
            c.Dhcp4["control-sockets"][i]["socket-name"] = "/tmp/keascript-elsewhere.sock";
        }
    }
} else {
    c.Dhcp4["control-socket"]["socket-name"] = "/tmp/keascript-elsewhere.sock";
}"#,
        ),
    ] {
        let mark = b.mark("dhcp4");
        let out = b.ok(&format!(
            "let v4 = kea().dhcp4;\nlet c = v4.config();\n{edit}\ntry {{ v4.apply(c); print(\"accepted\"); }} catch (e) {{ print(`kind=${{error_kind(e)}}`); print(`message=${{e.message}}`); }}\n"
        ));
        assert!(out.contains("kind=invalid"), "{key}: {out}");
        assert!(
            out.contains(&format!("apply() would change \"{key}\"")),
            "{key}: {out}"
        );
        assert!(out.contains("allow_paths: true"), "{key}: {out}");
        assert!(b.mutations_since("dhcp4", mark).is_empty(), "{key}");
        assert_eq!(b.config("dhcp4"), base, "{key}");
    }

    // A config without those keys keeps them.
    let mark = b.mark("dhcp4");
    b.ok(r#"let v4 = kea().dhcp4;
let c = v4.config();
c.Dhcp4.remove("hooks-libraries");
c.Dhcp4.remove("control-socket");
c.Dhcp4.remove("control-sockets");
c.Dhcp4.remove("loggers");
c.Dhcp4["decline-probation-period"] = 1234;
v4.apply(c);
"#);
    assert_eq!(
        b.mutations_since("dhcp4", mark),
        ["config-set", "config-write"]
    );
    let now = b.config("dhcp4");
    assert_eq!(now["decline-probation-period"], 1234);
    assert_eq!(now["loggers"], base["loggers"]);
    b.assert_intact("dhcp4", &base, "apply without hooks and control socket");
    assert_eq!(b.file("dhcp4")["hooks-libraries"], base["hooks-libraries"]);
    assert_eq!(b.file("dhcp4")["control-socket"], base["control-socket"]);
    assert_eq!(b.file("dhcp4")["control-sockets"], base["control-sockets"]);

    // With allow_paths the hooks really change (and come back).
    let lease_only = json!([base["hooks-libraries"][0].clone()]);
    assert!(
        lease_only[0]["library"]
            .as_str()
            .unwrap()
            .ends_with("libdhcp_lease_cmds.so")
    );
    b.ok(r#"let v4 = kea().dhcp4;
let c = v4.config();
c.Dhcp4["hooks-libraries"] = [c.Dhcp4["hooks-libraries"][0]];
v4.apply(c, #{ allow_paths: true });
"#);
    assert_eq!(b.config("dhcp4")["hooks-libraries"], lease_only);
    let cmds = rt()
        .block_on(b.service("lab", "dhcp4").command("list-commands", None))
        .unwrap()
        .unwrap();
    assert!(
        !cmds
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "stat-lease4-get"),
        "{cmds}"
    );
    let hooks = serde_json::to_string(&base["hooks-libraries"]).unwrap();
    b.ok(&format!(
        "let v4 = kea().dhcp4;\nlet c = v4.config();\nc.Dhcp4[\"hooks-libraries\"] = parse_json({hooks:?});\nv4.apply(c, #{{ allow_paths: true }});\n"
    ));
    b.assert_intact("dhcp4", &base, "hooks put back with allow_paths");
}

/// The commands the daemon received since `mark` that test, change or write its
/// configuration.
fn sent_since(b: &Bench, svc: &str, mark: usize) -> Vec<String> {
    b.commands(svc)
        .into_iter()
        .skip(mark)
        .filter(|c| c == "config-test" || is_mutating(c))
        .collect()
}

#[test]
fn kea_3_path_rules_are_checked_before_sending_and_kea_judges_the_rest() {
    let Some(b) = Bench::new() else { return };
    let version = b.lab.kea_version();
    let base = b.config("dhcp4");
    let file = b.file("dhcp4");
    let lab_dir = b.lab.dir().to_path_buf();
    let apply = |edit: &str| {
        b.ok(&format!(
            "let v4 = kea().dhcp4;\nlet c = v4.config();\n{edit}\ntry {{ v4.apply(c, #{{ allow_paths: true }}); print(\"accepted\"); }} catch (e) {{ print(`kind=${{error_kind(e)}}`); print(`message=${{e.message}}`); }}\n"
        ))
    };
    // Kea 2.2 reports the key as configured (`output_options`), Kea 3 as `output-options`.
    let logger_to = |path: &str| {
        format!(
            r#"let k = if "output-options" in c.Dhcp4.loggers[0] {{ "output-options" }} else {{ "output_options" }};
c.Dhcp4.loggers[0][k][0].output = "{path}";"#
        )
    };
    let log_output = |root: &Value| -> String {
        let l = &root["loggers"][0];
        l.get("output-options")
            .or_else(|| l.get("output_options"))
            .and_then(|o| o[0]["output"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    if !version.path_rules() {
        eprintln!(
            "skipping the path-rule checks: Kea {version} has no path rules (they came with Kea 2.6.3 and 3.0); checking that keascript leaves paths to Kea instead"
        );
        let elsewhere = b.tmp.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let log = elsewhere.join("kea-dhcp4.log");
        let out = apply(&logger_to(log.to_str().unwrap()));
        assert!(out.contains("accepted"), "{out}");
        assert_eq!(log_output(&b.config("dhcp4")), log.to_str().unwrap());
        assert_eq!(log_output(&b.file("dhcp4")), log.to_str().unwrap());
        let out = apply(&logger_to(&log_output(&base)));
        assert!(out.contains("accepted"), "{out}");
        let copy = elsewhere.join("copy.json");
        b.ok(&format!(
            "kea().dhcp4.command(\"config-write\", #{{ filename: {:?} }});\n",
            copy.to_str().unwrap()
        ));
        assert!(copy.exists(), "Kea 2.2 writes wherever it is told");
        b.assert_intact("dhcp4", &base, "paths on Kea 2.2");
        return;
    }

    // 1. Outside Kea's default folder and every folder the running configuration uses:
    // refused with the rule and the allowed folders named, before anything is sent.
    let lab = lab_dir.display().to_string();
    let hooks_dir = std::path::Path::new(base["hooks-libraries"][0]["library"].as_str().unwrap())
        .parent()
        .unwrap()
        .display()
        .to_string();
    let cases = [
        (
            "hooks_libraries[",
            r#"c.Dhcp4["hooks-libraries"].push(#{ library: "/opt/keascript-elsewhere/libdhcp_bootp.so" });"#.to_string(),
            "KEA_HOOKS_PATH",
            "/usr/lib/x86_64-linux-gnu/kea/hooks (Kea's default)",
            hooks_dir.clone(),
        ),
        (
            "control_sockets[",
            r#"for i in 0..c.Dhcp4["control-sockets"].len() {
    if c.Dhcp4["control-sockets"][i]["socket-type"] == "unix" {
        c.Dhcp4["control-sockets"][i]["socket-name"] = "/tmp/keascript-elsewhere/kea4.sock";
    }
}"#
            .to_string(),
            "KEA_CONTROL_SOCKET_DIR",
            "/run/kea (Kea's default)",
            lab.clone(),
        ),
        (
            "lease_database.name",
            r#"c.Dhcp4["lease-database"].name = "/tmp/keascript-elsewhere/leases4.csv";"#.to_string(),
            "KEA_DHCP_DATA_DIR",
            "/var/lib/kea (Kea's default)",
            lab.clone(),
        ),
        (
            "loggers[0].output_options[0].output",
            logger_to("/tmp/keascript-elsewhere/kea-dhcp4.log"),
            "KEA_LOG_FILE_DIR",
            "/var/log/kea (Kea's default)",
            lab.clone(),
        ),
    ];
    for (at, edit, env, default, used) in cases {
        let mark = b.mark("dhcp4");
        let out = apply(&edit);
        assert!(out.contains("kind=invalid"), "{at}: {out}");
        assert!(out.contains(&format!("message={at}")), "{at}: {out}");
        assert!(
            out.contains(&format!("Kea {version} accepts")),
            "{at}: {out}"
        );
        assert!(out.contains(env), "{at}: {out}");
        assert!(out.contains(default), "{at}: {out}");
        assert!(
            out.contains(&format!("{used} (used by the running configuration)")),
            "{at}: {out}"
        );
        assert!(out.contains("Nothing was sent"), "{at}: {out}");
        assert_eq!(sent_since(&b, "dhcp4", mark), Vec::<String>::new(), "{at}");
        assert_eq!(b.config("dhcp4"), base, "{at}");
    }

    // 2. In Kea's default folder, but this daemon was started with its own folders
    // (KEA_CONTROL_SOCKET_DIR, KEA_LOG_FILE_DIR): Kea judges, its text is quoted, nothing
    // changes. Its config-test checks sockets; log files only its config-set does (and
    // keeps the running configuration when it refuses one).
    for (edit, sent, folder) in [
        (
            r#"for i in 0..c.Dhcp4["control-sockets"].len() {
    if c.Dhcp4["control-sockets"][i]["socket-type"] == "unix" {
        c.Dhcp4["control-sockets"][i]["socket-name"] = "/run/kea/kea4.sock";
    }
}"#
            .to_string(),
            &["config-test"][..],
            "/run/kea",
        ),
        (
            logger_to("/var/log/kea/keascript-test.log"),
            &["config-test", "config-set"][..],
            "/var/log/kea",
        ),
    ] {
        let mark = b.mark("dhcp4");
        let out = apply(&edit);
        assert!(out.contains("kind=kea"), "{out}");
        let command = sent.last().unwrap();
        assert!(
            out.contains(&format!(
                "Kea {version} refuses the new paths ({command}): \""
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "invalid path specified: '{folder}', supported path is '{lab}'"
            )),
            "{out}"
        );
        assert_eq!(sent_since(&b, "dhcp4", mark), sent, "{folder}");
        assert_eq!(b.config("dhcp4"), base, "{folder}");
        assert_eq!(b.file("dhcp4"), file, "{folder}");
    }

    // 3. Another file in a folder the running configuration uses: Kea accepts it.
    let other = lab_dir.join("kea-dhcp4-other.log");
    let mark = b.mark("dhcp4");
    let out = apply(&logger_to(other.to_str().unwrap()));
    assert!(out.contains("accepted"), "{out}");
    assert_eq!(log_output(&b.config("dhcp4")), other.to_str().unwrap());
    assert_eq!(log_output(&b.file("dhcp4")), other.to_str().unwrap());
    // (The daemon logs to the other file now: the command log is there.)
    let logged = std::fs::read_to_string(&other).unwrap_or_default();
    assert!(logged.contains("config-write"), "{logged}");
    assert_eq!(
        sent_since(&b, "dhcp4", mark),
        ["config-test", "config-set"],
        "Kea's verdict first; the config-write is logged in the other file"
    );
    let out = apply(&logger_to(&log_output(&base)));
    assert!(out.contains("accepted"), "{out}");
    b.assert_intact("dhcp4", &base, "a log file in the lab's folder and back");

    // 4. config-write never asks Kea 3 to write outside its configuration's folder.
    let mark = b.mark("dhcp4");
    let r = b.run("kea().dhcp4.command(\"config-write\", #{ filename: \"/tmp/keascript-elsewhere.json\" });\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("writes a configuration only into the folder of its startup configuration"),
        "{}",
        r.stderr
    );
    let copy = lab_dir.join("keascript-copy.json");
    let r = b.run(&format!(
        r#"let v4 = kea().dhcp4;
v4.write();
try {{ v4.command("config-write", #{{ filename: "/tmp/keascript-elsewhere.json" }}); }} catch (e) {{ print(`elsewhere: ${{e.message}}`); }}
print(v4.command("config-write", #{{ filename: {copy:?} }}));
print(v4.command("config-write", #{{ filename: "keascript-bare.json" }}));
"#
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "elsewhere: config-write: Kea {version} writes a configuration only into the folder of its startup configuration ({lab}), and \"/tmp/keascript-elsewhere.json\" is in /tmp; nothing was sent"
        )),
        "{}",
        r.stdout
    );
    assert!(copy.exists());
    assert!(lab_dir.join("keascript-bare.json").exists());
    assert!(!std::path::Path::new("/tmp/keascript-elsewhere.json").exists());
    assert_eq!(
        sent_since(&b, "dhcp4", mark),
        ["config-write", "config-write", "config-write"],
        "the startup file, the copy and the bare name; never the file elsewhere"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Inheritance: a server-level lifetime reaches the scopes that do not own one.

fn lifetimes(b: &Bench, prefixes: &[&str]) -> Vec<Value> {
    let r = b.config("dhcp4");
    prefixes
        .iter()
        .map(|p| subnet(&r, p)["valid-lifetime"].clone())
        .collect()
}

#[test]
fn a_new_server_lifetime_reaches_subnets_without_their_own_also_after_a_restart() {
    let Some(mut b) = Bench::new() else { return };
    let base = b.config("dhcp4");
    // Several round trips on the config path (each one config-get → config-set).
    b.ok(r#"let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.50.0.0/24" });
v4.update_subnet("10.50.0.0/24", #{ user_context: #{ site: "hq" } });
v4.add_pool("10.50.0.0/24", "10.50.0.10-10.50.0.20");
v4.set_option("10.50.0.0/24", "routers", "10.50.0.1");
v4.add_subnet(#{ subnet: "10.51.0.0/24" });
v4.update_subnet("10.51.0.0/24", #{ valid_lifetime: 4000 });
v4.add_subnet(#{ subnet: "10.52.0.0/24", valid_lifetime: 4000 });
v4.set_option("domain-name", "example.org");
"#);
    let all = [
        "192.0.2.0/24",
        "10.50.0.0/24",
        "10.51.0.0/24",
        "10.52.0.0/24",
    ];
    assert_eq!(lifetimes(&b, &all), [4000, 4000, 4000, 4000]);

    b.ok("kea().dhcp4.set(#{ valid_lifetime: 7200, renew_timer: 1000, rebind_timer: 2000 });\n");
    assert_eq!(
        lifetimes(&b, &all),
        [7200, 7200, 4000, 4000],
        "subnets without their own value follow the server; those set to 4000 through keascript keep it"
    );
    let r = b.config("dhcp4");
    assert_eq!(subnet(&r, "10.50.0.0/24")["renew-timer"], 1000);
    assert_eq!(subnet(&r, "10.50.0.0/24")["user-context"]["site"], "hq");
    // The script readers show the same effective values.
    let out =
        b.ok("for s in kea().dhcp4.subnets() { print(`${s.subnet}=${s.valid_lifetime}`); }\n");
    for want in [
        "192.0.2.0/24=7200",
        "10.50.0.0/24=7200",
        "10.51.0.0/24=4000",
        "10.52.0.0/24=4000",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }

    // The file from config-write has every value written out; after a restart a further
    // change still reaches only the subnets without their own.
    b.restart("kea-dhcp4");
    assert_eq!(lifetimes(&b, &all), [7200, 7200, 4000, 4000]);
    b.ok("kea().dhcp4.set(#{ valid_lifetime: 9000, renew_timer: 1500, rebind_timer: 3000 });\n");
    assert_eq!(lifetimes(&b, &all), [9000, 9000, 4000, 4000]);
    let r = b.config("dhcp4");
    for p in ["192.0.2.0/24", "10.50.0.0/24"] {
        assert_eq!(subnet(&r, p)["renew-timer"], 1500, "{p}");
        assert_eq!(subnet(&r, p)["rebind-timer"], 3000, "{p}");
        assert_eq!(subnet(&r, p)["max-valid-lifetime"], 9000, "{p}");
    }
    // () gives a subnet back to inheritance.
    b.ok("kea().dhcp4.update_subnet(\"10.51.0.0/24\", #{ valid_lifetime: () });\n");
    assert_eq!(lifetimes(&b, &all), [9000, 9000, 9000, 4000]);
    b.restart("kea-dhcp4");
    b.ok("kea().dhcp4.set(#{ valid_lifetime: 9500 });\n");
    assert_eq!(lifetimes(&b, &all), [9500, 9500, 9500, 4000]);
    b.assert_intact("dhcp4", &base, "after the inheritance changes");
}

// ---------------------------------------------------------------------------------------
// 6. Class limits on subnets and pools.

#[test]
fn class_assignment_limits_subnets_and_pools_and_ranges_with_class_lists_them() {
    let Some(b) = Bench::new() else { return };
    let base = b.config("dhcp4");
    let ranges = |class: &str| -> Value {
        let out = b.ok(&format!(
            "print(\"ranges=\" + #{{ r: kea().dhcp4.ranges_with_class({class:?}) }}.to_json());\n"
        ));
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("ranges="))
            .expect("ranges line");
        serde_json::from_str::<Value>(line).unwrap()["r"].clone()
    };
    b.ok(r#"let v4 = kea().dhcp4;
v4.add_class(#{ name: "voip", test: "substring(option[60].hex,0,4) == 'Cisc'" });
v4.add_subnet(#{ subnet: "10.1.0.0/24", pools: ["10.1.0.10-10.1.0.99", "10.1.0.100-10.1.0.150"] });
v4.assign_class("192.0.2.0/24", "voip");
v4.assign_class("10.1.0.0/24", "10.1.0.100-10.1.0.150", "voip");
v4.assign_class("10.1.0.0/24", "KNOWN");
"#);
    let r = b.config("dhcp4");
    assert_eq!(client_class(subnet(&r, "192.0.2.0/24")), Some("voip"));
    let n = subnet(&r, "10.1.0.0/24");
    assert_eq!(client_class(n), Some("KNOWN"));
    assert_eq!(client_class(pool(n, "10.1.0.100-10.1.0.150")), Some("voip"));
    assert_eq!(client_class(pool(n, "10.1.0.10-10.1.0.99")), None);
    assert_eq!(
        ranges("voip"),
        json!([
            { "subnet": "192.0.2.0/24", "pool": null },
            { "subnet": "10.1.0.0/24", "pool": "10.1.0.100-10.1.0.150" }
        ])
    );
    assert_eq!(
        ranges("KNOWN"),
        json!([{ "subnet": "10.1.0.0/24", "pool": null }])
    );
    assert_eq!(ranges("nobody"), json!([]));
    // The script's subnet and pool maps show the limit.
    let out = b.ok(r#"let v4 = kea().dhcp4;
print(`subnet=${v4.subnet("192.0.2.0/24").client_class}`);
for p in v4.pools("10.1.0.0/24") { print(`pool ${p.pool}=${p.client_class}`); }
"#);
    assert!(out.contains("subnet=voip"), "{out}");
    assert!(out.contains("pool 10.1.0.100-10.1.0.150=voip"), "{out}");
    assert!(out.contains("pool 10.1.0.10-10.1.0.99=\n"), "{out}");
    // Both spellings on every Kea: the list Kea >= 2.7.4 speaks, and the single class.
    let out = b.ok(r#"let v4 = kea().dhcp4;
let s = v4.subnet("192.0.2.0/24");
print(`list=${s.client_classes} single=${s.client_class}`);
for p in v4.pools("10.1.0.0/24") { print(`pool ${p.pool} list=${p.client_classes}`); }
"#);
    assert!(out.contains("list=[\"voip\"] single=voip"), "{out}");
    assert!(
        out.contains("pool 10.1.0.100-10.1.0.150 list=[\"voip\"]"),
        "{out}"
    );
    assert!(out.contains("pool 10.1.0.10-10.1.0.99 list=[]"), "{out}");
    b.assert_no_deprecated_keys("dhcp4", "assign_class");

    // Either spelling as input, on either Kea; a map read back (both spellings) and changed
    // in one of them; additional classes under either name.
    let before = b.mark("dhcp4");
    b.ok(r#"let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.2.0.0/24", client_classes: ["voip"],
                 pools: [#{ pool: "10.2.0.10-10.2.0.20", client_class: "KNOWN" }] });
let s = v4.subnet("10.2.0.0/24");
s.client_class = "KNOWN";
v4.update_subnet("10.2.0.0/24", s);
v4.update_subnet("10.1.0.0/24", #{ require_client_classes: ["voip"] });
"#);
    assert_eq!(b.mutations_since("dhcp4", before).len(), 6, "three changes");
    for r in [b.config("dhcp4"), b.file("dhcp4")] {
        let n = subnet(&r, "10.2.0.0/24");
        assert_eq!(client_class(n), Some("KNOWN"), "{n}");
        assert_eq!(client_class(pool(n, "10.2.0.10-10.2.0.20")), Some("KNOWN"));
        let additional = subnet(&r, "10.1.0.0/24");
        let list = additional
            .get("evaluate-additional-classes")
            .or_else(|| additional.get("require-client-classes"));
        assert_eq!(list, Some(&json!(["voip"])), "{additional}");
    }
    let out = b.ok(r#"let s = kea().dhcp4.subnet("10.1.0.0/24");
print(`eval=${s.evaluate_additional_classes} req=${s.require_client_classes}`);
"#);
    assert!(out.contains("eval=[\"voip\"] req=[\"voip\"]"), "{out}");
    b.assert_no_deprecated_keys("dhcp4", "class keys in either spelling");
    // A class an additional-class list names is in use.
    let r = b.run("kea().dhcp4.delete_class(\"voip\");\n");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("the additional classes subnet 10.1.0.0/24 evaluates"),
        "{}",
        r.stderr
    );
    b.ok("kea().dhcp4.update_subnet(\"10.1.0.0/24\", #{ evaluate_additional_classes: () });\n");
    assert!(
        b.config("dhcp4").pointer("/subnet4").is_some()
            && subnet(&b.config("dhcp4"), "10.1.0.0/24")
                .get("evaluate-additional-classes")
                .is_none()
            && subnet(&b.config("dhcp4"), "10.1.0.0/24")
                .get("require-client-classes")
                .is_none(),
        "unset under either name"
    );
    // Two classes on one subnet: Kea >= 2.7.4 holds the list; Kea 2.2 has one class per
    // subnet, so keascript refuses before sending anything.
    let before = b.mark("dhcp4");
    let r = b.run(
        "kea().dhcp4.update_subnet(\"10.2.0.0/24\", #{ client_classes: [\"KNOWN\", \"UNKNOWN\"] });\n",
    );
    let n = subnet(&b.config("dhcp4"), "10.2.0.0/24").clone();
    if b.lab.kea_version().class_lists() {
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(n["client-classes"], json!(["KNOWN", "UNKNOWN"]));
        let f = b.file("dhcp4");
        assert_eq!(
            subnet(&f, "10.2.0.0/24")["client-classes"],
            json!(["KNOWN", "UNKNOWN"])
        );
        b.ok("kea().dhcp4.unassign_class(\"10.2.0.0/24\");\n");
        assert_eq!(
            client_class(subnet(&b.config("dhcp4"), "10.2.0.0/24")),
            None
        );
    } else {
        assert_eq!(r.code, 1, "invalid: {}", r.stderr);
        assert!(
            r.stderr
                .contains("Kea 2.2.0 limits a subnet or pool to one class"),
            "{}",
            r.stderr
        );
        assert!(b.mutations_since("dhcp4", before).is_empty());
        assert_eq!(client_class(&n), Some("KNOWN"));
        b.ok("kea().dhcp4.unassign_class(\"10.2.0.0/24\");\n");
    }
    b.ok("kea().dhcp4.unassign_class(\"10.2.0.0/24\", \"10.2.0.10-10.2.0.20\");\n");

    b.ok(r#"let v4 = kea().dhcp4;
v4.unassign_class("192.0.2.0/24");
v4.unassign_class("10.1.0.0/24", "10.1.0.100 - 10.1.0.150");
"#);
    let r = b.config("dhcp4");
    assert_eq!(client_class(subnet(&r, "192.0.2.0/24")), None);
    assert_eq!(
        client_class(pool(subnet(&r, "10.1.0.0/24"), "10.1.0.100-10.1.0.150")),
        None
    );
    assert_eq!(client_class(subnet(&r, "10.1.0.0/24")), Some("KNOWN"));
    assert_eq!(ranges("voip"), json!([]));
    // Unused now: it can go.
    b.ok("kea().dhcp4.delete_class(\"voip\");\n");
    assert!(class(&b.config("dhcp4"), "voip").is_none());
    assert!(class(&b.file("dhcp4"), "voip").is_none());
    b.assert_intact("dhcp4", &base, "after the class changes");
}

// ---------------------------------------------------------------------------------------
// 7. Dry runs, and changes that change nothing.

#[test]
fn a_dry_run_prints_the_diff_and_commands_and_sends_nothing() {
    let Some(b) = Bench::new() else { return };
    let (base4, base6) = (b.config("dhcp4"), b.config("dhcp6"));
    let (m4, m6) = (b.mark("dhcp4"), b.mark("dhcp6"));
    let dry_script = r#"let v4 = kea().dhcp4;
print(`dry=${is_dry_run()}`);
let n = v4.add_subnet(#{ subnet: "10.60.0.0/24", pools: ["10.60.0.10-10.60.0.20"] });
print(`returned id=${n.id}`);
v4.set(#{ valid_lifetime: 7200 });
kea().dhcp6.add_subnet(#{ subnet: "2001:db8:60::/64" });
let tx = v4.begin();
tx.add_class(#{ name: "voip" });
tx.assign_class("192.0.2.0/24", "voip");
tx.commit();
print(`subnet after=${v4.subnet("10.60.0.0/24")}`);
"#;
    for (how, flags, text) in [
        (
            "dry_run(true)",
            &[][..],
            format!("dry_run(true);\n{dry_script}"),
        ),
        ("--dry-run", &["--dry-run"][..], dry_script.to_string()),
    ] {
        let r = b.run_with(flags, &text);
        assert_eq!(r.code, 0, "{how}: {}", r.stderr);
        let out = &r.stdout;
        // A single subnet change goes by the subnet hook where the daemon has it (the Kea 3
        // lab); a transaction and a server setting are one config-set everywhere.
        let hooks = b.has_hooks("dhcp4");
        let add4 = if hooks {
            r#"[dry run] lab/dhcp4: add subnet 10.60.0.0/24: would send subnet4-add (dhcp4) {"subnet4":[{"id":2,"pools":[{"pool":"10.60.0.10-10.60.0.20"}],"subnet":"10.60.0.0/24"}]}, then config-write (dhcp4)"#
        } else {
            "[dry run] lab/dhcp4: add subnet 10.60.0.0/24: would send config-set (dhcp4, whole configuration), then config-write (dhcp4)"
        };
        let add6 = if hooks {
            r#"[dry run] lab/dhcp6: add subnet 2001:db8:60::/64: would send subnet6-add (dhcp6) {"subnet6":[{"id":2,"subnet":"2001:db8:60::/64"}]}, then config-write (dhcp6)"#
        } else {
            "[dry run] lab/dhcp6: add subnet 2001:db8:60::/64: would send config-set (dhcp6, whole configuration), then config-write (dhcp6)"
        };
        // The class limit in the diff, in the spelling the server's Kea reads.
        let limit = if b.lab.kea_version().class_lists() {
            "+        \"client-classes\": [\n+          \"voip\"\n+        ],"
        } else {
            "+        \"client-class\": \"voip\","
        };
        for want in [
            "dry=true",
            add4,
            "--- lab/dhcp4 (running)",
            "+++ lab/dhcp4 (changed)",
            "+        \"subnet\": \"10.60.0.0/24\"",
            "+            \"pool\": \"10.60.0.10-10.60.0.20\"",
            "[dry run] lab/dhcp4: set settings valid_lifetime: would send config-set (dhcp4, whole configuration), then config-write (dhcp4)",
            "-    \"valid-lifetime\": 4000",
            "+    \"valid-lifetime\": 7200",
            add6,
            "--- lab/dhcp6 (running)",
            "+        \"subnet\": \"2001:db8:60::/64\"",
            "[dry run] lab/dhcp4: add class voip; assign class voip on 192.0.2.0/24: would send config-set (dhcp4, whole configuration), then config-write (dhcp4)",
            "+        \"name\": \"voip\"",
            limit,
            "returned id=2",
            "[dry run] lab/dhcp4: Kea's config-test says: ",
            // One plan per service at the end: the steps add up.
            "Plan: 2 to add, 2 to change, 0 to delete on lab/dhcp4.",
            "Plan: 1 to add, 0 to change, 0 to delete on lab/dhcp6.",
        ] {
            assert!(out.contains(want), "{how}: {want:?} missing in:\n{out}");
        }
        // Later reads see the staged change, as a real run would; the plan comes at the end.
        let after = out
            .find("subnet after=#{")
            .expect("the staged subnet is read back");
        assert!(
            out[after..]
                .lines()
                .next()
                .unwrap()
                .contains("10.60.0.0/24"),
            "{out}"
        );
        assert!(after < out.find("Plan: ").unwrap(), "{out}");
        assert_eq!(
            out.matches("--- lab/dhcp4 (running)").count(),
            1,
            "one diff: {out}"
        );
        assert!(
            b.mutations_since("dhcp4", m4).is_empty(),
            "{how}: {:?}",
            b.mutations_since("dhcp4", m4)
        );
        assert!(b.mutations_since("dhcp6", m6).is_empty(), "{how}");
        assert_eq!(b.config("dhcp4"), base4, "{how}");
        assert_eq!(b.config("dhcp6"), base6, "{how}");
    }
    // A dry run that finds nothing to change says so.
    let r = b.run_with(
        &["--dry-run"],
        "kea().dhcp4.set(#{ valid_lifetime: 4000 });\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "[dry run] lab/dhcp4: set settings valid_lifetime: changes nothing; nothing would be sent"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to delete on lab/dhcp4."),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("would send config-set"), "{}", r.stdout);

    // Outside a dry run, a change that changes nothing sends nothing.
    b.ok(r#"let v4 = kea().dhcp4;
v4.add_class(#{ name: "voip", description: "phones" });
v4.assign_class("192.0.2.0/24", "voip");
"#);
    let changed = b.config("dhcp4");
    let mark = b.mark("dhcp4");
    b.ok(r#"let v4 = kea().dhcp4;
v4.set(#{ valid_lifetime: 4000 });
v4.set(#{ valid_lifetime: v4.settings().valid_lifetime, server_tag: v4.settings().server_tag });
v4.update_subnet("192.0.2.0/24", #{});
v4.update_subnet(1, #{ pools: v4.config().Dhcp4.subnet4[0].pools });
v4.update_class("voip", #{ description: "phones" });
v4.assign_class("192.0.2.0/24", "voip");
v4.unassign_class("192.0.2.0/24", "192.0.2.10-192.0.2.200");
let tx = v4.begin();
tx.set(#{ valid_lifetime: 4000 });
tx.update_class("voip", #{ description: "phones" });
print(`tx changed=${tx.commit()}`);
"#);
    assert!(
        b.mutations_since("dhcp4", mark).is_empty(),
        "{:?}",
        b.mutations_since("dhcp4", mark)
    );
    assert_eq!(b.config("dhcp4"), changed);
}

// ---------------------------------------------------------------------------------------
// 8. Transactions.

#[test]
fn a_transaction_is_one_config_set_discard_sends_nothing_and_one_bad_change_commits_nothing() {
    let Some(b) = Bench::new() else { return };
    let base = b.config("dhcp4");
    let mark = b.mark("dhcp4");
    let out = b.ok(r#"let v4 = kea().dhcp4;
let tx = v4.begin();
tx.add_subnet(#{ subnet: "10.70.0.0/24" });
tx.add_pool("10.70.0.0/24", "10.70.0.10-10.70.0.20");
tx.set_option("10.70.0.0/24", "routers", "10.70.0.1");
tx.set(#{ valid_lifetime: 5000 });
print(`staged=${tx.len}`);
print(`before commit=${v4.subnet("10.70.0.0/24")}`);
print(tx.diff());
print(`committed=${tx.commit()}`);
"#);
    assert!(out.contains("staged=4"), "{out}");
    assert!(
        out.contains("before commit=\n"),
        "nothing applied while staged: {out}"
    );
    for want in [
        "+        \"subnet\": \"10.70.0.0/24\"",
        "+            \"pool\": \"10.70.0.10-10.70.0.20\"",
        "+            \"data\": \"10.70.0.1\",",
        "+    \"valid-lifetime\": 5000",
        "committed=true",
    ] {
        assert!(out.contains(want), "{want:?} missing in:\n{out}");
    }
    assert_eq!(
        b.mutations_since("dhcp4", mark),
        ["config-set", "config-write"],
        "exactly one config-set for the whole transaction"
    );
    for r in [b.config("dhcp4"), b.file("dhcp4")] {
        let n = subnet(&r, "10.70.0.0/24");
        assert_eq!(pools(n), ["10.70.0.10-10.70.0.20"]);
        assert_eq!(opt_data(n, "routers"), "10.70.0.1");
        assert_eq!(r["valid-lifetime"], 5000);
    }
    let after = b.config("dhcp4");

    // discard() drops everything; diff() and discard() send nothing.
    let mark = b.mark("dhcp4");
    let out = b.ok(r#"let v4 = kea().dhcp4;
let tx = v4.begin();
tx.add_subnet(#{ subnet: "10.71.0.0/24" });
tx.delete_subnet("10.70.0.0/24");
let d = tx.diff();
print(`diff has it=${d.contains("10.71.0.0/24")}`);
tx.discard();
print(`staged=${tx.len}`);
print(`committed=${tx.commit()}`);
"#);
    assert!(out.contains("diff has it=true"), "{out}");
    assert!(out.contains("staged=0"), "{out}");
    assert!(out.contains("committed=false"), "{out}");
    assert!(b.mutations_since("dhcp4", mark).is_empty());
    assert_eq!(b.config("dhcp4"), after);

    // One bad change (invalid, or in conflict with the server) and nothing is committed.
    for (what, bad, kind) in [
        (
            "bad option data",
            r#"tx.set_option("10.72.0.0/24", "routers", "not-an-ip");"#,
            "invalid",
        ),
        (
            "an existing prefix",
            r#"tx.add_subnet(#{ subnet: "192.0.2.0/24" });"#,
            "conflict",
        ),
        (
            "an overlapping pool",
            r#"tx.add_pool("10.70.0.0/24", "10.70.0.15-10.70.0.30");"#,
            "conflict",
        ),
    ] {
        let mark = b.mark("dhcp4");
        let out = b.ok(&format!(
            "let v4 = kea().dhcp4;\nlet tx = v4.begin();\ntx.add_subnet(#{{ subnet: \"10.72.0.0/24\" }});\ntx.add_pool(\"10.72.0.0/24\", \"10.72.0.10-10.72.0.20\");\ntx.set(#{{ valid_lifetime: 6000 }});\n{bad}\ntry {{ tx.commit(); print(\"committed\"); }} catch (e) {{ print(`kind=${{error_kind(e)}} ${{e.message}}`); }}\n"
        ));
        assert!(out.contains(&format!("kind={kind}")), "{what}: {out}");
        assert!(b.mutations_since("dhcp4", mark).is_empty(), "{what}");
        assert_eq!(b.config("dhcp4"), after, "{what}");
    }
    b.assert_intact("dhcp4", &base, "after the transactions");
}

// ---------------------------------------------------------------------------------------
// 9. A global class on every server of the inventory: two labs.

#[test]
fn a_global_class_is_made_on_every_server_or_on_none() {
    let Some(a) = Bench::new() else { return };
    let Some(mut other) = lab() else { return };
    let inv = a.tmp.path().join("two.toml");
    std::fs::write(
        &inv,
        format!(
            "default = \"a\"\n\n[servers.a]\nurl = \"{}\"\n\n[servers.b]\nurl = \"{}\"\n",
            a.lab.url(),
            other.url()
        ),
    )
    .unwrap();
    let a = Bench {
        inventory: inv,
        ..a
    };
    let both = |f: &dyn Fn(&Value, &str)| {
        f(&a.config("dhcp4"), "a running");
        f(&a.file("dhcp4"), "a file");
        let b_cfg = rt()
            .block_on(service_of(other.inventory(), "lab", "dhcp4").config())
            .unwrap();
        f(&b_cfg["Dhcp4"], "b running");
        let b_file: Value =
            serde_json::from_str(&std::fs::read_to_string(other.config_file("dhcp4")).unwrap())
                .unwrap();
        f(&b_file["Dhcp4"], "b file");
    };

    a.ok(r#"kea().dhcp4.add_class(#{ name: "shared", test: "option[60].text == 'x'", description: "everywhere", global: true });"#);
    both(&|r, w| {
        let c = class(r, "shared").unwrap_or_else(|| panic!("{w}: no class"));
        assert_eq!(c["user-context"]["global"], true, "{w}");
        assert_eq!(c["user-context"]["description"], "everywhere", "{w}");
        assert_eq!(c["test"], "option[60].text == 'x'", "{w}");
    });
    a.ok(r#"kea("a").dhcp4.update_class("shared", #{ description: "still everywhere" });"#);
    both(&|r, w| {
        assert_eq!(
            class(r, "shared").unwrap()["user-context"]["description"],
            "still everywhere",
            "{w}"
        )
    });
    // A class that is not global stays where it was made.
    a.ok(r#"kea().dhcp4.add_class(#{ name: "local" });"#);
    assert!(class(&a.config("dhcp4"), "local").is_some());
    assert!(
        class(
            &rt()
                .block_on(service_of(other.inventory(), "lab", "dhcp4").config())
                .unwrap()["Dhcp4"],
            "local"
        )
        .is_none()
    );
    a.ok(r#"kea("b").dhcp4.delete_class("shared");"#);
    both(&|r, w| assert!(class(r, "shared").is_none(), "{w}"));

    // The second server's dhcp4 is down: the class is made nowhere.
    other.kill("kea-dhcp4");
    let before = a.config("dhcp4");
    let out = a.ok(r#"try {
    kea().dhcp4.add_class(#{ name: "shared2", global: true });
    print("accepted");
} catch (e) {
    print(`kind=${error_kind(e)}`);
    print(`message=${e.message}`);
}
"#);
    assert!(!out.contains("accepted"), "{out}");
    assert!(out.contains("kind=transport"), "{out}");
    assert!(
        out.contains("the change could not be made on every server, so it was made on none"),
        "{out}"
    );
    // Every server is read before any is changed: nothing was sent to a.
    assert!(
        out.contains("b: failed: unable to forward command to the dhcp4 service"),
        "{out}"
    );
    assert!(class(&a.config("dhcp4"), "shared2").is_none());
    assert!(class(&a.file("dhcp4"), "shared2").is_none());
    assert_eq!(a.config("dhcp4"), before);
    // Uncaught: the transport status.
    let r = a.run("kea().dhcp4.add_class(#{ name: \"shared3\", global: true });\n");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("b: failed"), "{}", r.stderr);
    assert!(class(&a.config("dhcp4"), "shared3").is_none());
}

// ---------------------------------------------------------------------------------------
// Bugs found in src/ (kept failing until fixed).

#[test]
fn apply_of_the_running_config_sends_nothing_and_keeps_inheritance() {
    let Some(b) = Bench::new() else { return };
    b.ok("kea().dhcp4.add_subnet(#{ subnet: \"10.80.0.0/24\" });\n");
    // The running configuration applied as it is changes nothing: nothing is sent.
    let mark = b.mark("dhcp4");
    b.ok("let v4 = kea().dhcp4;\nv4.apply(v4.config());\n");
    assert!(
        b.mutations_since("dhcp4", mark).is_empty(),
        "a no-op apply sent {:?}",
        b.mutations_since("dhcp4", mark)
    );
    // A server-level lifetime changed through apply() reaches subnets without their own,
    // and so does a later set().
    b.ok("let v4 = kea().dhcp4;\nlet c = v4.config();\nc.Dhcp4[\"valid-lifetime\"] = 7300;\nv4.apply(c);\n");
    assert_eq!(
        lifetimes(&b, &["192.0.2.0/24", "10.80.0.0/24"]),
        [7300, 7300]
    );
    b.ok("kea().dhcp4.set(#{ valid_lifetime: 7400 });\n");
    assert_eq!(
        lifetimes(&b, &["192.0.2.0/24", "10.80.0.0/24"]),
        [7400, 7400]
    );
}

#[test]
fn setting_an_option_to_the_value_it_has_sends_nothing() {
    let Some(b) = Bench::new() else { return };
    let mark = b.mark("dhcp4");
    // The lab's subnet 1 has routers 192.0.2.1 already.
    b.ok("kea().dhcp4.set_option(\"192.0.2.0/24\", \"routers\", \"192.0.2.1\");\n");
    assert!(
        b.mutations_since("dhcp4", mark).is_empty(),
        "{:?}",
        b.mutations_since("dhcp4", mark)
    );
}

#[test]
fn a_server_setting_that_breaks_a_subnets_own_lifetime_is_a_conflict_and_sends_nothing() {
    let Some(b) = Bench::new() else { return };
    b.ok("kea().dhcp4.add_subnet(#{ subnet: \"10.81.0.0/24\", valid_lifetime: 600 });\n");
    let before = b.config("dhcp4");
    let mark = b.mark("dhcp4");
    // The subnet would inherit min_valid_lifetime 5000 above its own valid_lifetime 600:
    // Kea 2.2 rejects that config-set ("the value of min-valid-lifetime (5000) is not less
    // than (default) valid-lifetime (600)"); keascript must catch it before sending.
    // (The server-level values alone are in order: 5000 <= 7200 <= 7200.)
    let out = b.ok("try { kea().dhcp4.set(#{ valid_lifetime: 7200, min_valid_lifetime: 5000 }); print(\"accepted\"); } catch (e) { print(`kind=${error_kind(e)} ${e.message}`); }\n");
    assert!(out.contains("kind=conflict"), "{out}");
    assert!(
        out.contains("10.81.0.0/24"),
        "the message names the subnet: {out}"
    );
    assert!(
        b.mutations_since("dhcp4", mark).is_empty(),
        "{:?}",
        b.mutations_since("dhcp4", mark)
    );
    assert_eq!(b.config("dhcp4"), before);
}

#[test]
fn a_setting_out_of_order_with_the_servers_values_is_a_conflict() {
    let Some(b) = Bench::new() else { return };
    // The lab runs valid_lifetime 4000: rebind_timer 4000 is wrong only against that.
    let out = b.ok("try { kea().dhcp4.set(#{ rebind_timer: 4000 }); print(\"accepted\"); } catch (e) { print(`kind=${error_kind(e)} ${e.message}`); }\ntry { kea().dhcp4.set(#{ min_valid_lifetime: 5000 }); print(\"accepted\"); } catch (e) { print(`kind=${error_kind(e)} ${e.message}`); }\n");
    assert_eq!(out.matches("kind=conflict").count(), 2, "{out}");
}
