//! Shared networks on a real Kea (2.2: config-set; 3.0: the network4-* hook commands where
//! they fit): add, update, move subnets in and out, delete refused while subnets are inside;
//! every step read back from the running server and the file; a value set on the network
//! reaches its subnets and keeps reaching them after other changes (never frozen into the
//! subnet), as server-level values do.

use serde_json::Value;

use crate::reservations::{Bench, subnet_in};

fn network<'a>(root: &'a Value, name: &str) -> Option<&'a Value> {
    root.get("shared-networks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|n| n["name"] == name)
}

fn subnet_ids(net: &Value) -> Vec<u64> {
    net["subnet4"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_u64())
        .collect()
}

#[test]
fn shared_networks_hold_subnets_and_pass_values_on() {
    let Some(b) = Bench::new() else { return };
    let hooks = rt_caps(&b);
    let mark = b.mark("dhcp4");
    let r = b.ok(r#"
        let d = kea("lab").dhcp4;
        d.add_subnet(#{ id: 2, subnet: "10.2.0.0/24" });
        d.add_shared_network(#{ name: "office", valid_lifetime: 600 });
        d.move_subnet(1, "office");
        d.move_subnet("10.2.0.0/24", "office");
        let n = d.shared_network("office");
        print(n.name + " " + n.subnets.len() + " " + n.valid_lifetime);
        print(d.shared_networks().len());
        print(d.subnet(1).shared_network);
    "#);
    assert_eq!(
        r.stdout.lines().collect::<Vec<_>>(),
        ["office 2 600", "1", "office"]
    );
    let sent = b.mutations_since("dhcp4", mark);
    if hooks {
        assert_eq!(
            sent,
            [
                "subnet4-add",
                "config-write",
                "network4-add",
                "config-write",
                "config-set",
                "config-write",
                "config-set",
                "config-write"
            ],
            "moving a subnet re-parses it under its network (config-set)"
        );
        // Kea 3.0.4's network4-subnet-add would keep the top-level values in the subnet.
        assert!(!sent.iter().any(|c| c == "network4-subnet-add"), "{sent:?}");
        assert_eq!(sent.len(), 8);
    } else {
        assert!(
            sent.iter()
                .all(|c| c == "config-set" || c == "config-write"),
            "{sent:?}"
        );
    }
    for root in b.both("dhcp4") {
        let net = network(&root, "office").expect("network written");
        assert_eq!(net["valid-lifetime"], 600);
        assert_eq!(subnet_ids(net), [1, 2]);
        assert!(
            root["subnet4"].as_array().is_none_or(|a| a.is_empty()),
            "{:?}",
            root["subnet4"]
        );
    }
    // Unique names; a subnet in one network only; delete refused while subnets are inside.
    let err = b.fails(r#"kea("lab").dhcp4.add_shared_network(#{ name: "office" });"#);
    assert!(
        err.contains("a shared network named \"office\" already exists"),
        "{err}"
    );
    let err = b.fails(r#"kea("lab").dhcp4.delete_shared_network("office");"#);
    assert!(
        err.contains(
            "shared network \"office\" still holds subnets 1 (192.0.2.0/24), 2 (10.2.0.0/24)"
        ),
        "{err}"
    );
    let err = b.fails(r#"kea("lab").dhcp4.add_shared_network(#{ name: "lab2", subnet4: [] });"#);
    assert!(err.contains("move_subnet"), "{err}");
    // Inherited, not frozen: a subnet change, then a new network value reaches the subnet.
    b.ok(r#"
        let d = kea("lab").dhcp4;
        d.update_subnet(1, #{ renew_timer: 100 });
        d.update_shared_network("office", #{ valid_lifetime: 800 });
    "#);
    let effective = |root: &Value, id| {
        let s = subnet_in(root, id).expect("subnet");
        s.get("valid-lifetime")
            .cloned()
            .unwrap_or_else(|| network(root, "office").unwrap()["valid-lifetime"].clone())
    };
    for root in b.both("dhcp4") {
        assert_eq!(effective(&root, 1), 800);
        assert_eq!(effective(&root, 2), 800);
        assert_eq!(subnet_in(&root, 1).unwrap()["renew-timer"], 100);
    }
    // A subnet's own value stays its own.
    b.ok(r#"
        let d = kea("lab").dhcp4;
        d.update_subnet(2, #{ valid_lifetime: 300 });
        d.update_shared_network("office", #{ valid_lifetime: 900 });
    "#);
    for root in b.both("dhcp4") {
        assert_eq!(effective(&root, 1), 900);
        assert_eq!(effective(&root, 2), 300);
    }
    // Out again, then the empty network can go.
    b.ok(r#"
        let d = kea("lab").dhcp4;
        d.move_subnet(1, ());
        d.move_subnet(2, ());
        d.delete_shared_network("office");
        if d.shared_networks().len() != 0 { throw "still there"; }
    "#);
    for root in b.both("dhcp4") {
        assert!(network(&root, "office").is_none());
        assert_eq!(root["subnet4"].as_array().map(Vec::len), Some(2));
        // Back at the top level, subnet 1 inherits the server's value again.
        let s = subnet_in(&root, 1).unwrap();
        assert!(
            s.get("valid-lifetime")
                .is_none_or(|v| *v == root["valid-lifetime"]),
            "{s}"
        );
    }
    let kinds: Vec<Value> = b.audit().iter().map(|e| e["kind"].clone()).collect();
    assert!(kinds.iter().any(|k| k == "shared_network"), "{kinds:?}");
}

fn rt_caps(b: &Bench) -> bool {
    crate::support::rt()
        .block_on(b.service("dhcp4").capabilities())
        .expect("list-commands")
        .subnet_cmds
}
