//! High availability on a real Kea pair started by the lab (Kea 2.2, or Kea 3.0 with
//! dedicated HA listeners) (`reference/kea-lab.md` §2):
//! detection, one change reaching both peers, a peer that is down, a failure after the first
//! peer was changed, maintenance.

use std::time::Duration;

use keascript::kea::{Inventory, Server, Service};
use keascript::lab::{HaMode, Lab, LabOptions};
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{
    assert_no_deprecated_class_keys, client_class, keascript, lab_with, repo, rt, script,
};

fn pair(mode: HaMode) -> Option<Lab> {
    lab_with(LabOptions {
        ha: Some(mode),
        ..Default::default()
    })
}

/// The running dhcp4 configuration of server `i` of the pair, read over its UNIX socket.
fn running(lab: &Lab, i: usize) -> Value {
    let srv = Server::connect(
        &format!("unix:{}", lab.socket_of(i, "dhcp4").display()),
        Some("dhcp4"),
        Default::default(),
    )
    .unwrap();
    rt().block_on(
        Service::new(std::sync::Arc::new(srv), "dhcp4")
            .unwrap()
            .config(),
    )
    .unwrap()
}

fn subnets(cfg: &Value) -> Vec<String> {
    cfg["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["id"], s["subnet"].as_str().unwrap()))
        .collect()
}

fn this_server_name(cfg: &Value) -> String {
    cfg["Dhcp4"]["hooks-libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|h| h.pointer("/parameters/high-availability/0/this-server-name"))
        .and_then(Value::as_str)
        .unwrap()
        .to_string()
}

fn run(lab: &Lab, text: &str) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "s.rhai", text);
    keascript()
        .env("KEASCRIPT_STATE_DIR", lab.dir().join("state"))
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("--config")
        .arg(lab.inventory())
        .arg("run")
        .arg(&s)
        .timeout(Duration::from_secs(90))
        .assert()
}

/// config-set lines a daemon logged (INFO level logs every command it receives).
fn config_sets(lab: &Lab, i: usize) -> usize {
    let log = lab.nodes()[i].dir.join("kea-dhcp4.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("Received command 'config-set'")
        .count()
}

#[test]
fn both_modes_are_detected_with_roles_and_states() {
    for (mode, roles) in [
        (HaMode::HotStandby, ["primary", "standby"]),
        (HaMode::LoadBalancing, ["primary", "secondary"]),
    ] {
        let Some(lab) = pair(mode) else { return };
        let m = mode.as_str();
        run(
            &lab,
            r#"
for name in ["server1", "server2"] {
    let ha = kea(name).dhcp4.ha();
    print(`${name}: mode=${ha.mode} this=${ha.this_server}`);
    for p in ha.peers { print(`  ${name} sees ${p.name} role=${p.role} state=${p.state} server=${p.server}`); }
}
print(`v6 ha: ${kea().dhcp6.ha()}`);
let st = kea().dhcp4.ha_status();
print(`local role=${st.status.ha_servers.local.role} remote role=${st.status.ha_servers.remote.role}`);
print(`heartbeat server2 state=${st.heartbeats.server2.state}`);
"#,
        )
        .success()
        .stdout(predicate::str::contains(format!("server1: mode={m} this=server1")))
        .stdout(predicate::str::contains(format!("server2: mode={m} this=server2")))
        .stdout(predicate::str::contains(format!(
            "server1 sees server1 role={} state={m} server=server1",
            roles[0]
        )))
        .stdout(predicate::str::contains(format!(
            "server1 sees server2 role={} state={m} server=server2",
            roles[1]
        )))
        .stdout(predicate::str::contains(format!(
            "server2 sees server1 role={} state={m} server=server1",
            roles[0]
        )))
        .stdout(predicate::str::contains("v6 ha: ")) // dhcp6 runs no HA: ()
        .stdout(predicate::str::contains(format!(
            "local role={} remote role={}",
            roles[0], roles[1]
        )))
        .stdout(predicate::str::contains(format!("heartbeat server2 state={m}")));
    }
}

#[test]
fn a_change_through_one_peer_reaches_both_running_configs_and_files() {
    let Some(mut lab) = pair(HaMode::HotStandby) else {
        return;
    };
    run(
        &lab,
        r#"
let v4 = kea("server2").dhcp4;      // through the standby
v4.add_subnet(#{ subnet: "10.77.0.0/24", pools: ["10.77.0.10-10.77.0.99"] });
v4.add_class(#{ name: "voip", test: "substring(option[60].hex,0,4) == 'Cisc'" });
v4.assign_class("10.77.0.0/24", "10.77.0.10-10.77.0.99", "voip");
v4.set_option("10.77.0.0/24", "routers", "10.77.0.1");
let h = history();
print(`audited ${h.len()} on ${h[0].server} with peers ${h[0].peers}`);
print("done");
"#,
    )
    .success()
    .stdout(predicate::str::contains(
        "audited 4 on server2 with peers [\"server1\"]",
    ))
    .stdout(predicate::str::contains("done"));
    for i in 0..2 {
        let cfg = running(&lab, i);
        assert_eq!(
            subnets(&cfg),
            vec!["1 192.0.2.0/24", "2 10.77.0.0/24"],
            "server{}",
            i + 1
        );
        let s = &cfg["Dhcp4"]["subnet4"][1];
        assert_eq!(client_class(&s["pools"][0]), Some("voip"));
        assert_eq!(s["option-data"][0]["data"], "10.77.0.1");
        assert_eq!(cfg["Dhcp4"]["client-classes"][0]["name"], "voip");
        // Each peer keeps its own identity.
        assert_eq!(this_server_name(&cfg), format!("server{}", i + 1));
        // And its file has the change.
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap())
                .unwrap();
        assert_eq!(subnets(&file), vec!["1 192.0.2.0/24", "2 10.77.0.0/24"]);
        assert_eq!(
            client_class(&file["Dhcp4"]["subnet4"][1]["pools"][0]),
            Some("voip")
        );
        assert_eq!(this_server_name(&file), format!("server{}", i + 1));
        // Each peer was sent its own Kea's spelling of the class limit.
        assert_no_deprecated_class_keys(
            &lab.nodes()[i].dir.join("kea-dhcp4.log"),
            &format!("server{}", i + 1),
        );
    }
    // After a restart from its file, server1 still has it.
    rt().block_on(lab.restart("server1/kea-dhcp4")).unwrap();
    assert_eq!(
        subnets(&running(&lab, 0)),
        vec!["1 192.0.2.0/24", "2 10.77.0.0/24"]
    );
}

#[test]
fn a_peer_that_is_down_refuses_the_change_and_the_survivor_is_unchanged() {
    let Some(mut lab) = pair(HaMode::HotStandby) else {
        return;
    };
    lab.kill("server2/kea-dhcp4");
    let before = running(&lab, 0);
    let sets = config_sets(&lab, 0);
    run(
        &lab,
        "kea().dhcp4.add_subnet(#{ subnet: \"10.77.0.0/24\" });\n",
    )
    .code(3)
    .stderr(predicate::str::contains(
        "HA peer server2 cannot get the change: it is down",
    ))
    .stderr(predicate::str::contains("Nothing was changed on any peer"));
    assert_eq!(
        running(&lab, 0),
        before,
        "the surviving peer's config is unchanged"
    );
    assert_eq!(config_sets(&lab, 0), sets, "no config-set was sent to it");
    // single_peer(true) lets the change go to the reachable peer, with a warning.
    run(
        &lab,
        "single_peer(true);\nkea().dhcp4.add_subnet(#{ subnet: \"10.77.0.0/24\" });\nprint(\"added\");\n",
    )
    .success()
    .stdout(predicate::str::contains("added"))
    .stderr(predicate::str::contains("warning: HA peer server2 was skipped"));
    assert_eq!(
        subnets(&running(&lab, 0)),
        vec!["1 192.0.2.0/24", "2 10.77.0.0/24"]
    );
}

#[test]
fn a_failure_on_the_second_peer_puts_both_back() {
    let Some(lab) = pair(HaMode::HotStandby) else {
        return;
    };
    let before = [subnets(&running(&lab, 0)), subnets(&running(&lab, 1))];
    let file1_before = std::fs::read_to_string(lab.config_file_of(0, "dhcp4")).unwrap();
    // server2's config-write will fail: a directory stands where its config file was. Every
    // peer still passes config-test, which does not write.
    let f2 = lab.config_file_of(1, "dhcp4");
    std::fs::rename(&f2, f2.with_extension("json.away")).unwrap();
    std::fs::create_dir(&f2).unwrap();
    run(
        &lab,
        "kea(\"server1\").dhcp4.add_subnet(#{ subnet: \"10.77.0.0/24\" });\n",
    )
    .failure()
    .stderr(predicate::str::contains("HA peer server2 failed"))
    .stderr(predicate::str::contains(
        "every peer runs its previous configuration again",
    ));
    assert_eq!(
        subnets(&running(&lab, 0)),
        before[0],
        "server1 was put back"
    );
    assert_eq!(
        subnets(&running(&lab, 1)),
        before[1],
        "server2 was put back"
    );
    let file1: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.config_file_of(0, "dhcp4")).unwrap())
            .unwrap();
    let file1_before: Value = serde_json::from_str(&file1_before).unwrap();
    assert_eq!(
        subnets(&file1),
        subnets(&file1_before),
        "server1's file has no trace of it"
    );
    std::fs::remove_dir(&f2).unwrap();
    std::fs::rename(f2.with_extension("json.away"), &f2).unwrap();
}

#[test]
fn maintenance_start_and_cancel_move_the_states() {
    let Some(lab) = pair(HaMode::HotStandby) else {
        return;
    };
    let inv = Inventory::load(lab.inventory()).unwrap();
    let svc = |n: &str| {
        let _g = rt().enter();
        Service::new(
            std::sync::Arc::new(Server::from_entry(n, inv.get(n).unwrap()).unwrap()),
            "dhcp4",
        )
        .unwrap()
    };
    run(
        &lab,
        r#"
let v4 = kea("server1").dhcp4;
print(v4.ha_maintenance_start());
print(`after start: ${v4.ha().peers.map(|p| p.name + "=" + p.state)}`);
print(v4.ha_maintenance_cancel());
print(`after cancel: ${v4.ha().peers.map(|p| p.name + "=" + p.state)}`);
try { v4.ha_maintenance_cancel(); } catch (e) { print(`second cancel: ${e.kind}: ${e.message}`); }
print(`ha audit: ${history().filter(|e| e.kind == "ha").map(|e| e.action + "=" + e.outcome)}`);
"#,
    )
    .success()
    .stdout(predicate::str::contains("Server is now in the partner-in-maintenance state"))
    .stdout(predicate::str::contains(
        "after start: [\"server1=partner-in-maintenance\", \"server2=in-maintenance\"]",
    ))
    .stdout(predicate::str::contains("Server maintenance successfully canceled."))
    .stdout(predicate::str::contains(
        "after cancel: [\"server1=hot-standby\", \"server2=hot-standby\"]",
    ))
    .stdout(predicate::str::contains(
        "second cancel: kea: Unable to cancel maintenance request because the server is not in the partner-in-maintenance state.",
    ))
    .stdout(predicate::str::contains(
        "ha audit: [\"ha-maintenance-cancel=error\", \"ha-maintenance-cancel=ok\", \"ha-maintenance-start=ok\"]",
    ));
    let hb = rt()
        .block_on(keascript::kea::ha::heartbeat(&svc("server2")))
        .unwrap();
    assert_eq!(hb["state"], "hot-standby");
}

#[test]
fn the_ha_health_example_reports_a_healthy_pair_and_drift() {
    let Some(lab) = pair(HaMode::LoadBalancing) else {
        return;
    };
    let example = repo().join("scripts/ha-health.rhai");
    keascript()
        .arg("--config")
        .arg(lab.inventory())
        .arg("run")
        .arg(&example)
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "HA load-balancing, seen from server1",
        ))
        .stdout(predicate::str::contains(
            "server2: secondary, state load-balancing",
        ))
        .stdout(predicate::str::contains(
            "healthy: every peer in its normal state, no drift",
        ));
    // Drift made behind keascript's back: a subnet only on server2 (over its own socket).
    let srv = Server::connect(
        &format!("unix:{}", lab.socket_of(1, "dhcp4").display()),
        Some("dhcp4"),
        Default::default(),
    )
    .unwrap();
    let svc = Service::new(std::sync::Arc::new(srv), "dhcp4").unwrap();
    let mut cfg = rt().block_on(svc.config()).unwrap();
    cfg["Dhcp4"]["subnet4"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": 9, "subnet": "10.99.0.0/24"}));
    rt().block_on(svc.set(&cfg)).unwrap();
    rt().block_on(lab.wait_ha("load-balancing", Duration::from_secs(30)))
        .unwrap();
    keascript()
        .arg("--config")
        .arg(lab.inventory())
        .arg("run")
        .arg(&example)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "PROBLEM: drift: server2 has subnets entry \"9 10.99.0.0/24",
        ));
    // And a change is refused while the peers disagree on their subnets.
    run(
        &lab,
        "kea().dhcp4.add_subnet(#{ subnet: \"10.77.0.0/24\" });\n",
    )
    .code(5)
    .stderr(predicate::str::contains("the HA peers' subnets differ"))
    .stderr(predicate::str::contains(
        "server1 lacks subnet 10.99.0.0/24 (id 9)",
    ));
}

/// Commands a peer's dhcp4 logged, by name.
fn received(lab: &Lab, i: usize, command: &str) -> usize {
    let log = lab.nodes()[i].dir.join("kea-dhcp4.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(&format!("Received command '{command}'"))
        .count()
}

#[test]
fn with_the_subnet_hooks_an_ha_change_goes_through_them_on_both_peers() {
    let Some(lab) = pair(HaMode::HotStandby) else {
        return;
    };
    if !lab.kea_version().daemon_http() {
        eprintln!(
            "skipping on Kea {}: it has no subnet_cmds hook (the HA path uses config-set there)",
            lab.version
        );
        return;
    }
    let sets_before = [config_sets(&lab, 0), config_sets(&lab, 1)];
    run(
        &lab,
        "kea(\"server1\").dhcp4.add_subnet(#{ subnet: \"10.93.0.0/24\" });",
    )
    .success();
    for (i, before) in sets_before.into_iter().enumerate() {
        assert_eq!(
            received(&lab, i, "subnet4-add"),
            1,
            "peer {i} got subnet4-add"
        );
        assert_eq!(config_sets(&lab, i), before, "peer {i} got no config-set");
        assert!(
            subnets(&running(&lab, i))
                .iter()
                .any(|s| s.ends_with("10.93.0.0/24")),
            "peer {i} runs it"
        );
        let file = std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap();
        assert!(file.contains("10.93.0.0/24"), "peer {i} wrote it");
    }
}
