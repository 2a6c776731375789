//! DHCPv6 prefix-delegation pools on a real Kea (2.2 and 3.0): added, listed, deleted, each
//! read back from the running server and the file; the rules refused locally with nothing
//! sent.

use serde_json::Value;

use crate::reservations::{Bench, subnet_in};

fn pd_pools(root: &Value) -> Vec<Value> {
    subnet_in(root, 1)
        .and_then(|s| s.get("pd-pools").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

#[test]
fn pd_pools_are_added_checked_and_deleted() {
    let Some(b) = Bench::new() else { return };
    let hooks = crate::support::rt()
        .block_on(b.service("dhcp6").capabilities())
        .expect("list-commands")
        .subnet_cmds;
    let first = b.mark("dhcp6");
    let r = b.ok(r#"
        let d = kea("lab").dhcp6;
        d.add_pd_pool(1, #{ prefix: "2001:db8:8::", prefix_len: 56, delegated_len: 64,
                            excluded_prefix: "2001:db8:8:0:8000::", excluded_prefix_len: 72 });
        let p = d.pd_pools(1);
        print(p.len() + " " + p[0].prefix + " " + p[0].delegated_len);
    "#);
    assert_eq!(r.stdout.trim(), "1 2001:db8:8:: 64");
    // Kea ≥ 2.7 with subnet_cmds: the narrowest command; else config-set.
    let want = if hooks {
        "subnet6-delta-add"
    } else {
        "config-set"
    };
    assert_eq!(b.mutations_since("dhcp6", first), [want, "config-write"]);
    for root in b.both("dhcp6") {
        let p = pd_pools(&root);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0]["prefix"], "2001:db8:8::");
        assert_eq!(p[0]["prefix-len"], 56);
        assert_eq!(p[0]["delegated-len"], 64);
        assert_eq!(p[0]["excluded-prefix"], "2001:db8:8:0:8000::");
        assert_eq!(p[0]["excluded-prefix-len"], 72);
    }
    let mark = b.mark("dhcp6");
    for (m, want) in [
        (
            r#"#{ prefix: "2001:db8:8:40::", prefix_len: 58, delegated_len: 64 }"#,
            "PD pool 2001:db8:8:40::/58 overlaps PD pool 2001:db8:8::/56 of subnet 1",
        ),
        (
            r#"#{ prefix: "2001:db8:9::", prefix_len: 56, delegated_len: 48 }"#,
            "delegated_len 48 is shorter than prefix_len 56",
        ),
        (
            r#"#{ prefix: "2001:db8:9::", prefix_len: 56, delegated_len: 130 }"#,
            "delegated_len 130 is not a prefix length",
        ),
        (
            r#"#{ prefix: "2001:db8:9::", prefix_len: 56, delegated_len: 64, excluded_prefix: "2001:db8:a::", excluded_prefix_len: 72 }"#,
            "excluded_prefix 2001:db8:a::/72 is not inside",
        ),
    ] {
        let err = b.fails(&format!(r#"kea("lab").dhcp6.add_pd_pool(1, {m});"#));
        assert!(err.contains(want), "{m}: wanted {want:?} in\n{err}");
    }
    let err = b.fails(r#"kea("lab").dhcp4.add_pd_pool(1, #{ prefix: "2001:db8:9::", prefix_len: 56, delegated_len: 64 });"#);
    assert!(err.contains("DHCPv6 only"), "{err}");
    assert!(b.mutations_since("dhcp6", mark).is_empty(), "nothing sent");
    let mark = b.mark("dhcp6");
    b.ok(r#"
        let d = kea("lab").dhcp6;
        let gone = d.delete_pd_pool(1, "2001:db8:8::/56");
        if d.pd_pools(1).len() != 0 { throw "still there"; }
    "#);
    let want = if hooks {
        "subnet6-delta-del"
    } else {
        "config-set"
    };
    assert_eq!(b.mutations_since("dhcp6", mark), [want, "config-write"]);
    for root in b.both("dhcp6") {
        assert!(pd_pools(&root).is_empty());
    }
    let err = b.fails(r#"kea("lab").dhcp6.delete_pd_pool(1, "2001:db8:8::/56");"#);
    assert!(
        err.contains("no PD pool 2001:db8:8::/56 in subnet id 1"),
        "{err}"
    );
    assert!(b.audit().iter().any(|e| e["kind"] == "pd_pool"));
}
