//! `keascript undo ID` and `undo(id)` on a real Kea lab: the configuration comes back equal
//! to the snapshot taken before the change (secret keys ignored); a later change to the same
//! object makes the undo a `conflict` (exit 5) that names it, and nothing changes; a dry run
//! changes nothing; a lease or command entry is `unsupported`; on an HA pair both peers are
//! put back.

use keascript::lab::{HaMode, LabOptions};
use serde_json::Value;

use crate::snapshots::{
    comparable, history, ks, newest_id, run, running, snapshot_before, snapshot_config, subnet_ids,
};
use crate::support::{lab, lab_with};

fn lifetime_of_subnet1(cfg: &Value) -> Value {
    cfg["Dhcp4"]["subnet4"][0]["valid-lifetime"].clone()
}

#[test]
fn undo_gives_back_the_snapshot_and_is_refused_after_a_later_change() {
    let Some(lab) = lab() else { return };
    let state = lab.dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    run(
        &lab,
        &state,
        r#"kea().dhcp4.update_subnet(1, #{ valid_lifetime: 1234 });"#,
    )
    .success();
    let a = newest_id(&state, "subnet");
    assert_eq!(lifetime_of_subnet1(&running(&lab, 0)), 1234);
    // A dry run shows the diff and changes nothing.
    let dry = ks(&lab, &state)
        .args(["undo", &a, "--dry-run"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&dry.get_output().stdout).into_owned();
    assert!(out.contains("1234"), "{out}");
    assert_eq!(lifetime_of_subnet1(&running(&lab, 0)), 1234);
    // Undone: the configuration is the one kept before the change.
    ks(&lab, &state).args(["undo", &a]).assert().success();
    let snap = snapshot_before(&state, "lab", &a);
    assert_eq!(
        comparable(&running(&lab, 0)),
        comparable(&snapshot_config(&state, &snap))
    );
    let h = history(&state);
    assert_eq!(
        h[0]["undoes"],
        a.as_str(),
        "the new entry says what it undid: {}",
        h[0]
    );
    // The history table shows the id first.
    let table = ks(&lab, &state).arg("history").assert().success();
    let table = String::from_utf8_lossy(&table.get_output().stdout).into_owned();
    let first_row = table.lines().nth(1).unwrap();
    assert!(
        first_row.starts_with(h[0]["id"].as_str().unwrap()),
        "{table}"
    );
    // Undoing it twice is refused.
    ks(&lab, &state).args(["undo", &a]).assert().code(5);

    // B then C change the same subnet: undoing B would wipe C.
    run(
        &lab,
        &state,
        r#"kea().dhcp4.update_subnet(1, #{ valid_lifetime: 1111 });"#,
    )
    .success();
    let b = newest_id(&state, "subnet");
    run(
        &lab,
        &state,
        r#"kea().dhcp4.update_subnet(1, #{ valid_lifetime: 2222 });"#,
    )
    .success();
    let c = newest_id(&state, "subnet");
    let before = running(&lab, 0);
    let refused = ks(&lab, &state).args(["undo", &b]).assert().code(5);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("conflict"), "{err}");
    assert!(err.contains(&c), "names the later change: {err}");
    assert_eq!(running(&lab, 0), before, "nothing changed");

    // undo(id) in a script; then the object is as B left it.
    run(
        &lab,
        &state,
        &format!(r#"let r = undo("{c}"); print(`undone ${{r.undone}}`);"#),
    )
    .success()
    .stdout(predicates::str::contains(format!("undone {c}")));
    assert_eq!(lifetime_of_subnet1(&running(&lab, 0)), 1111);

    // Not configuration: unsupported.
    run(
        &lab,
        &state,
        r#"kea().dhcp4.command("statistic-reset-all");"#,
    )
    .success();
    let cmd = newest_id(&state, "command");
    let refused = ks(&lab, &state).args(["undo", &cmd]).assert().code(4);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("unsupported"), "{err}");
}

#[test]
fn an_ha_change_is_undone_on_both_peers() {
    let Some(lab) = lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    let state = lab.dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let before = [running(&lab, 0), running(&lab, 1)];
    run(
        &lab,
        &state,
        r#"kea("server2").dhcp4.add_subnet(#{ subnet: "10.79.0.0/24", pools: ["10.79.0.10-10.79.0.99"] });"#,
    )
    .success();
    let change = newest_id(&state, "subnet");
    for i in 0..2 {
        assert_eq!(subnet_ids(&running(&lab, i)).len(), 2);
    }
    ks(&lab, &state).args(["undo", &change]).assert().success();
    for (i, server) in ["server1", "server2"].iter().enumerate() {
        let now = running(&lab, i);
        assert_eq!(comparable(&now), comparable(&before[i]), "{server}");
        let snap = snapshot_before(&state, server, &change);
        assert_eq!(
            comparable(&now),
            comparable(&snapshot_config(&state, &snap)),
            "{server}"
        );
    }
}

/// The running configuration's root map of `svc` (config-get) and the one in its file.
fn both(lab: &keascript::lab::Lab, svc: &str) -> [Value; 2] {
    let root = if svc == "dhcp6" { "Dhcp6" } else { "Dhcp4" };
    let a = crate::support::kea_raw(
        &lab.socket_of(0, svc),
        &serde_json::json!({"command": "config-get"}),
    )
    .expect("config-get");
    let text = std::fs::read_to_string(lab.config_file(svc)).expect("config file");
    let file: Value = serde_json::from_str(&text).expect("JSON");
    [a["arguments"][root].clone(), file[root].clone()]
}

/// The reservation for `mac` in subnet 1 (v4), `null` when there is none.
fn resv(root: &Value, mac: &str) -> Value {
    crate::reservations::subnet_in(root, 1)
        .and_then(|s| s.get("reservations").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .into_iter()
        .find(|r| r["hw-address"].as_str() == Some(mac))
        .unwrap_or(Value::Null)
}

#[test]
fn reservations_are_undone_in_their_scope() {
    let Some(lab) = lab() else { return };
    let state = lab.dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mac = "aa:bb:cc:00:00:61";
    // Another change that must stay.
    run(
        &lab,
        &state,
        r#"kea().dhcp4.add_reservation(#{ subnet: 1, hw_address: "aa:bb:cc:00:00:62", ip_address: "192.0.2.62" });"#,
    )
    .success();
    run(
        &lab,
        &state,
        &format!(
            r#"kea().dhcp4.add_reservation(#{{ subnet: 1, hw_address: "{mac}", ip_address: "192.0.2.61", hostname: "one" }});"#
        ),
    )
    .success();
    let add = newest_id(&state, "reservation");
    for root in both(&lab, "dhcp4") {
        assert_eq!(resv(&root, mac)["hostname"], "one");
    }
    // Updated, then the update undone: the previous values come back.
    run(
        &lab,
        &state,
        &format!(
            r#"kea().dhcp4.update_reservation(1, #{{ hw_address: "{mac}" }}, #{{ hostname: "two", ip_address: "192.0.2.71" }});"#
        ),
    )
    .success();
    let upd = newest_id(&state, "reservation");
    ks(&lab, &state).args(["undo", &upd]).assert().success();
    for root in both(&lab, "dhcp4") {
        let r = resv(&root, mac);
        assert_eq!(r["hostname"], "one", "{r}");
        assert_eq!(r["ip-address"], "192.0.2.61", "{r}");
        assert!(
            !resv(&root, "aa:bb:cc:00:00:62").is_null(),
            "the other stays"
        );
    }
    // B then C on the same reservation: undoing B is refused, naming C; nothing changes.
    let change = |h: &str| {
        format!(
            r#"kea().dhcp4.update_reservation(1, #{{ hw_address: "{mac}" }}, #{{ hostname: "{h}" }});"#
        )
    };
    run(&lab, &state, &change("bee")).success();
    let b = newest_id(&state, "reservation");
    run(&lab, &state, &change("cee")).success();
    let c = newest_id(&state, "reservation");
    let before = running(&lab, 0);
    let refused = ks(&lab, &state).args(["undo", &b]).assert().code(5);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("conflict"), "{err}");
    assert!(err.contains(&c), "names the later change: {err}");
    assert_eq!(running(&lab, 0), before, "nothing changed");
    // Undo C then B (newest first), then the add: gone from config-get and the file.
    ks(&lab, &state).args(["undo", &c]).assert().success();
    ks(&lab, &state).args(["undo", &b]).assert().success();
    ks(&lab, &state).args(["undo", &add]).assert().success();
    for root in both(&lab, "dhcp4") {
        assert!(resv(&root, mac).is_null(), "{root}");
        assert!(
            !resv(&root, "aa:bb:cc:00:00:62").is_null(),
            "the other stays"
        );
    }
}

#[test]
fn shared_networks_and_pd_pools_are_undone() {
    let Some(lab) = lab() else { return };
    let state = lab.dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let network = |root: &Value| {
        root["shared-networks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["name"] == "undo-net")
            .cloned()
            .unwrap_or(Value::Null)
    };
    run(
        &lab,
        &state,
        r#"kea().dhcp4.add_shared_network(#{ name: "undo-net", valid_lifetime: 700 });"#,
    )
    .success();
    let add = newest_id(&state, "shared_network");
    run(
        &lab,
        &state,
        r#"kea().dhcp4.update_shared_network("undo-net", #{ valid_lifetime: 800 });"#,
    )
    .success();
    let upd = newest_id(&state, "shared_network");
    for root in both(&lab, "dhcp4") {
        assert_eq!(network(&root)["valid-lifetime"], 800);
    }
    // Undoing the add while the update stands is refused.
    ks(&lab, &state).args(["undo", &add]).assert().code(5);
    ks(&lab, &state).args(["undo", &upd]).assert().success();
    for root in both(&lab, "dhcp4") {
        assert_eq!(network(&root)["valid-lifetime"], 700);
    }
    ks(&lab, &state).args(["undo", &add]).assert().success();
    for root in both(&lab, "dhcp4") {
        assert!(network(&root).is_null(), "{root}");
    }

    // A PD pool (v6): added, then undone.
    let pd = |root: &Value| {
        crate::reservations::subnet_in(root, 1)
            .and_then(|s| s.get("pd-pools").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    let before = both(&lab, "dhcp6").map(|r| pd(&r).len());
    run(
        &lab,
        &state,
        r#"kea().dhcp6.add_pd_pool(1, #{ prefix: "2001:db8:9::", prefix_len: 56, delegated_len: 64 });"#,
    )
    .success();
    let add = newest_id(&state, "pd_pool");
    for (root, n) in both(&lab, "dhcp6").iter().zip(before) {
        assert_eq!(pd(root).len(), n + 1);
    }
    ks(&lab, &state).args(["undo", &add]).assert().success();
    for (root, n) in both(&lab, "dhcp6").iter().zip(before) {
        assert_eq!(pd(root).len(), n, "{root}");
    }
}
