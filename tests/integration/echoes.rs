//! Re-derives from a real Kea which inherited values it echoes into subnets and shared
//! networks, so that `kea::config::inherit::ECHOED` cannot go stale: every inheritable
//! parameter Kea accepts at the global level is set there (each checked alone with
//! `config-test`), a subnet and a shared network with a subnet are added with none of
//! them, and `config-get` shows which ones came back inside the scopes.

use std::path::Path;

use keascript::kea::config::Family;
use keascript::kea::config::inherit::{echoed, inheritable};
use serde_json::{Value, json};

use crate::support::lab;

fn call(socket: &Path, command: &str, args: Option<&Value>) -> Value {
    let mut body = json!({ "command": command });
    if let Some(a) = args {
        body["arguments"] = a.clone();
    }
    crate::support::kea_raw(socket, &body).expect("the daemon answers")
}

/// A value Kea accepts for an inheritable parameter, unlike its default.
fn sample(key: &str) -> Value {
    match key {
        "valid-lifetime" => json!(4100),
        "min-valid-lifetime" => json!(3000),
        "max-valid-lifetime" => json!(5000),
        "preferred-lifetime" => json!(3500),
        "min-preferred-lifetime" => json!(3400),
        "max-preferred-lifetime" => json!(3600),
        "renew-timer" => json!(1000),
        "rebind-timer" => json!(2000),
        "t1-percent" => json!(0.4),
        "t2-percent" => json!(0.7),
        "cache-threshold" => json!(0.2),
        "cache-max-age" => json!(10),
        "ddns-ttl-percent" => json!(0.6),
        "offer-lifetime" => json!(60),
        "allocator" | "pd-allocator" => json!("random"),
        "ddns-replace-client-name" => json!("always"),
        "ddns-conflict-resolution-mode" => json!("no-check-with-dhcid"),
        "ddns-generated-prefix" => json!("gp"),
        "ddns-qualifying-suffix" => json!("example.org"),
        "hostname-char-set" => json!("[^A-Za-z0-9.-]"),
        "hostname-char-replacement" => json!("x"),
        "boot-file-name" => json!("bf"),
        "server-hostname" => json!("sh"),
        "next-server" => json!("192.0.2.9"),
        "match-client-id" | "reservations-in-subnet" | "ddns-use-conflict-resolution" => {
            json!(false)
        }
        _ => json!(true),
    }
}

fn derive(socket: &Path, family: Family) -> Vec<String> {
    let root = family.root_key();
    let mut cfg = call(socket, "config-get", None)["arguments"].clone();
    cfg.as_object_mut().unwrap().remove("hash");
    let mut accepted = Vec::new();
    for k in inheritable(family) {
        let mut trial = cfg.clone();
        trial[root][k] = sample(k);
        if call(socket, "config-test", Some(&trial))["result"] == 0 {
            accepted.push(k);
        }
    }
    for k in &accepted {
        cfg[root][*k] = sample(k);
    }
    let sk = family.subnet_key();
    let (p1, p2) = match family {
        Family::V4 => ("10.77.0.0/24", "10.78.0.0/24"),
        Family::V6 => ("2001:db8:77::/64", "2001:db8:78::/64"),
    };
    cfg[root][sk]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": 77, "subnet": p1 }));
    cfg[root]["shared-networks"] = json!([{ "name": "net", sk: [{ "id": 78, "subnet": p2 }] }]);
    let set = call(socket, "config-set", Some(&cfg));
    assert_eq!(set["result"], 0, "{set}");
    let got = call(socket, "config-get", None)["arguments"][root].clone();
    let subnet = got[sk]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 77)
        .unwrap()
        .clone();
    let net = got["shared-networks"][0].clone();
    let inner = net[sk][0].clone();
    let mut echoed: Vec<String> = accepted
        .iter()
        .filter(|k| subnet.get(**k).is_some())
        .map(|k| k.to_string())
        .collect();
    echoed.sort();
    for (what, scope) in [("shared network", &net), ("its subnet", &inner)] {
        let mut e: Vec<String> = accepted
            .iter()
            .filter(|k| scope.get(**k).is_some())
            .map(|k| k.to_string())
            .collect();
        e.sort();
        assert_eq!(
            e, echoed,
            "{what} echoes the same keys as a top-level subnet"
        );
    }
    echoed
}

#[test]
fn the_echo_table_matches_what_this_kea_echoes() {
    let Some(lab) = lab() else { return };
    let version = lab.kea_version();
    for (family, svc) in [(Family::V4, "dhcp4"), (Family::V6, "dhcp6")] {
        let got = derive(&lab.socket(svc), family);
        let mut table: Vec<String> = echoed(family, version)
            .iter()
            .map(|s| s.to_string())
            .collect();
        table.sort();
        assert_eq!(
            got, table,
            "Kea {version} {svc} echoes these keys into scopes; update ECHOED in src/kea/config/inherit.rs"
        );
    }
}
