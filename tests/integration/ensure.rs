//! `ensure_*` on a real lab beyond the shared conventions test: `v6.ensure_reservation`
//! (created, then nothing sent but reads, then updated; addresses in another order are
//! the same reservation) and `ensure_pool` with a map (options and classes of a pool:
//! created, unchanged, only the named key updated, the subnet's other pools kept). Each
//! result is read back from the running server (`config-get`) and its file.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{client_class, commands_in, is_mutating, keascript, lab, script};

/// Runs `text` against the lab; its stdout, trimmed.
fn run(inventory: &Path, dir: &Path, text: &str) -> String {
    let s = script(dir, "ensure.rhai", text);
    let out = keascript()
        .arg("--config")
        .arg(inventory)
        .arg("run")
        .arg(&s)
        .env("KEASCRIPT_AUDIT_FILE", dir.join("audit.jsonl"))
        .env("KEASCRIPT_STATE_DIR", dir.join("state"))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The running configuration of a service, as `keascript call config-get` shows it.
fn running(inventory: &Path, service: &str) -> Value {
    let out = keascript()
        .arg("--config")
        .arg(inventory)
        .args(["call", "config-get", "--service", service])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["arguments"].clone()
}

fn subnet<'a>(cfg: &'a Value, family: &str, prefix: &str) -> &'a Value {
    let (root, list) = if family == "6" {
        ("Dhcp6", "subnet6")
    } else {
        ("Dhcp4", "subnet4")
    };
    cfg[root][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subnet"] == prefix)
        .unwrap_or_else(|| panic!("no subnet {prefix}"))
}

const DUID: &str = "00:01:00:01:2b:3c:4d:5e:1a:1b:1c:1d:1e:1f";

fn v6_script(addresses: &[&str], hostname: &str) -> String {
    format!(
        r#"let r = kea().dhcp6.ensure_reservation(#{{ subnet: "2001:db8:1::/64", duid: "{DUID}",
    ip_addresses: {addresses:?}, hostname: "{hostname}" }});
print(r.action);
"#
    )
}

#[test]
fn v6_ensure_reservation_creates_then_sends_nothing_then_updates() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inv = lab.inventory();
    let mutating = || {
        commands_in(lab.dir(), "dhcp6")
            .iter()
            .filter(|c| is_mutating(c))
            .count()
    };
    let both = ["2001:db8:1::1:50", "2001:db8:1::1:51"];
    assert_eq!(run(inv, dir.path(), &v6_script(&both, "v6-a")), "created");
    let sent = mutating();
    assert!(sent >= 1, "nothing sent to create it");
    assert_eq!(run(inv, dir.path(), &v6_script(&both, "v6-a")), "unchanged");
    // The same addresses in another order (and spelling) are the same reservation.
    assert_eq!(
        run(
            inv,
            dir.path(),
            &v6_script(&["2001:db8:1::1:0051", "2001:db8:1::1:50"], "v6-a")
        ),
        "unchanged"
    );
    assert_eq!(mutating(), sent, "an unchanged run sent a mutating command");
    assert_eq!(run(inv, dir.path(), &v6_script(&both, "v6-b")), "updated");
    assert!(mutating() > sent, "the update sent nothing");

    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.config_file("dhcp6")).unwrap()).unwrap();
    for (what, cfg) in [("running", running(inv, "dhcp6")), ("file", file)] {
        let s = subnet(&cfg, "6", "2001:db8:1::/64");
        let r = s["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["duid"].as_str().is_some_and(|d| {
                    d.replace(':', "")
                        .eq_ignore_ascii_case(&DUID.replace(':', ""))
                })
            })
            .unwrap_or_else(|| panic!("{what}: no reservation in {s}"));
        assert_eq!(r["hostname"], "v6-b", "{what}: {r}");
        let mut addrs: Vec<&str> = r["ip-addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        addrs.sort();
        assert_eq!(addrs, both, "{what}: {r}");
    }
}

fn pool_script(router: &str) -> String {
    format!(
        r#"let v4 = kea().dhcp4;
let r = [];
r.push(v4.ensure_class(#{{ name: "ensure-pool", test: "substring(option[60].hex,0,4) == 'pool'" }}).action);
r.push(v4.ensure_subnet(#{{ subnet: "10.78.0.0/24" }}).action);
r.push(v4.ensure_pool("10.78.0.0/24", "10.78.0.200 - 10.78.0.210").action);
let p = v4.ensure_pool("10.78.0.0/24", #{{ pool: "10.78.0.10 - 10.78.0.20",
    option_data: [#{{ name: "routers", data: "{router}" }}], client_classes: ["ensure-pool"] }});
r.push(p.action);
print(r);
print(p.value.pool);
"#
    )
}

#[test]
fn ensure_pool_with_a_map_creates_leaves_alone_and_updates_only_the_named_keys() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let inv = lab.inventory();
    let mutating = || {
        commands_in(lab.dir(), "dhcp4")
            .iter()
            .filter(|c| is_mutating(c))
            .count()
    };
    let audit = || {
        std::fs::read_to_string(dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let first = run(inv, dir.path(), &pool_script("10.78.0.1"));
    assert!(
        first.starts_with(r#"["created", "created", "created", "created"]"#),
        "{first}"
    );
    assert!(
        first.ends_with("10.78.0.10-10.78.0.20") || first.ends_with("10.78.0.10 - 10.78.0.20"),
        "{first}"
    );
    let (sent, audited) = (mutating(), audit());
    let second = run(inv, dir.path(), &pool_script("10.78.0.1"));
    assert!(
        second.starts_with(r#"["unchanged", "unchanged", "unchanged", "unchanged"]"#),
        "{second}"
    );
    assert_eq!(mutating(), sent, "an unchanged run sent a mutating command");
    assert_eq!(audit(), audited, "an unchanged run was audited");
    let third = run(inv, dir.path(), &pool_script("10.78.0.254"));
    assert!(
        third.starts_with(r#"["unchanged", "unchanged", "unchanged", "updated"]"#),
        "{third}"
    );
    // The value handed back is the pool, not its subnet.
    assert!(third.contains("10.78.0.10"), "{third}");
    assert!(mutating() > sent, "the update sent nothing");

    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.config_file("dhcp4")).unwrap()).unwrap();
    for (what, cfg) in [("running", running(inv, "dhcp4")), ("file", file)] {
        let s = subnet(&cfg, "4", "10.78.0.0/24");
        let pools = s["pools"].as_array().unwrap();
        assert_eq!(pools.len(), 2, "{what}: the other pool is kept: {s}");
        let p = pools
            .iter()
            .find(|p| p["pool"].as_str().unwrap().starts_with("10.78.0.10"))
            .unwrap_or_else(|| panic!("{what}: no pool in {s}"));
        let routers = p["option-data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "routers")
            .unwrap_or_else(|| panic!("{what}: no routers in {p}"));
        assert_eq!(routers["data"], "10.78.0.254", "{what}: {p}");
        // The key not named in the change is kept.
        assert_eq!(client_class(p), Some("ensure-pool"), "{what}: {p}");
    }
}
