//! The journal on a real HA pair (Kea 2.2, or Kea 3.0 with `KEASCRIPT_KEA_BIN_DIR`): the
//! record of a change left in flight (its answer lost, the server gone right after) keeps
//! no secret (nor does the snapshot it names for the configuration from before) — the HA peers' `basic-auth-password` are written redacted — and the next
//! change settles it all the same: the peer that ran the change is put back with each
//! secret filled back from what it runs, so both peers keep their real passwords, in the
//! running configuration and in the file.

use std::path::Path;

use keascript::lab::{HaMode, Lab, LabOptions};
use serde_json::{Value, json};

use crate::support::fault_proxy::MUTATE;
use crate::support::{kea_raw, lab_with, proxied_ha_pair, run_in};

/// The secret given to HA peer `name` in every peer's configuration.
fn secret(name: &str) -> String {
    format!("Journal-Secret-{name}-7f3a")
}

fn running(lab: &Lab, i: usize) -> Value {
    let a = kea_raw(
        &lab.socket_of(i, "dhcp4"),
        &json!({"command": "config-get"}),
    )
    .expect("config-get");
    let mut v = a["arguments"].clone();
    v.as_object_mut().unwrap().remove("hash");
    v
}

fn file(lab: &Lab, i: usize) -> Value {
    serde_json::from_str(&std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap()).unwrap()
}

/// The HA peers' entries of a configuration.
fn peers(cfg: &Value) -> Vec<Value> {
    cfg["Dhcp4"]["hooks-libraries"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|h| h.pointer("/parameters/high-availability/0/peers"))
        .and_then(Value::as_array)
        .cloned()
        .expect("an HA relationship")
}

fn subnets(cfg: &Value) -> Vec<String> {
    cfg["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["subnet"].as_str().map(str::to_string))
        .collect()
}

/// Every peer entry of node `i` gets a basic-auth user and password (running and file).
fn give_secrets(lab: &Lab, i: usize) {
    let mut cfg = running(lab, i);
    for h in cfg["Dhcp4"]["hooks-libraries"].as_array_mut().unwrap() {
        if let Some(ps) = h
            .pointer_mut("/parameters/high-availability/0/peers")
            .and_then(Value::as_array_mut)
        {
            for p in ps {
                let name = p["name"].as_str().unwrap().to_string();
                p["basic-auth-user"] = json!("ha");
                p["basic-auth-password"] = json!(secret(&name));
            }
        }
    }
    let sock = lab.socket_of(i, "dhcp4");
    let a = kea_raw(&sock, &json!({"command": "config-set", "arguments": cfg})).unwrap();
    assert_eq!(a["result"], 0, "{a}");
    let a = kea_raw(&sock, &json!({"command": "config-write"})).unwrap();
    assert_eq!(a["result"], 0, "{a}");
}

/// Both peers keep their real passwords, running and in the file.
fn assert_secrets_kept(lab: &Lab, when: &str) {
    for i in 0..2 {
        for cfg in [running(lab, i), file(lab, i)] {
            for p in peers(&cfg) {
                let name = p["name"].as_str().unwrap();
                assert_eq!(
                    p["basic-auth-password"],
                    json!(secret(name)),
                    "{when}: node {i}, peer {name}"
                );
            }
        }
    }
}

/// Every file of the journal (finished records and those in flight), as text.
fn journal_text(state: &Path) -> String {
    let mut out = String::new();
    for d in ["journal", "journal/inflight"] {
        for e in std::fs::read_dir(state.join(d))
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.path().is_file() {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    out
}

/// The records in flight: `journal/inflight/`.
fn sent_records(state: &Path) -> Vec<Value> {
    std::fs::read_dir(state.join("journal/inflight"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            serde_json::from_str::<Value>(&std::fs::read_to_string(e.path()).ok()?).ok()
        })
        .filter(|r| r["phase"] == "sent")
        .collect()
}

#[test]
fn a_change_in_flight_keeps_no_secret_in_the_journal_and_is_settled_with_them() {
    let Some(lab) = lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    give_secrets(&lab, 0);
    give_secrets(&lab, 1);
    assert_secrets_kept(&lab, "before");
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = tmp.path().join("inv.toml");
    let proxies = proxied_ha_pair(&lab, &inv);
    let run = |name: &str, text: &str| run_in(tmp.path(), &inv, &state, name, text);
    // server1 carries out the config-set, its answer is lost, and it is gone for
    // keascript from then on: the change stays in flight (`sent`) over both peers.
    proxies[0].lose_answer_then_down(MUTATE, 1);
    let (code, err) = run(
        "lost.rhai",
        r#"kea("server1").dhcp4.add_subnet(#{ subnet: "10.250.0.0/24" });"#,
    );
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("was unknown"), "{err}");
    assert!(subnets(&running(&lab, 0)).contains(&"10.250.0.0/24".to_string()));
    assert!(!subnets(&running(&lab, 1)).contains(&"10.250.0.0/24".to_string()));
    let records = sent_records(&state);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["targets"].as_array().unwrap().len(), 2, "{r}");
    // No secret in the journal: each is written redacted, where it was.
    let text = journal_text(&state);
    assert!(!text.contains("Journal-Secret"), "a secret in the journal");
    for t in r["targets"].as_array().unwrap() {
        // The configuration from before is the snapshot kept before the change (not a
        // second copy); the one sent is in the record.
        assert!(t["before"].is_null(), "{t}");
        let before = keascript::kea::snapshots::Store::at(&state)
            .config_by_id(t["before_snapshot"].as_str().expect("a snapshot"))
            .unwrap();
        for (side, cfg) in [("before", &before), ("after", &t["after"])] {
            let ps = peers(cfg);
            assert!(
                ps.iter().all(|p| p["basic-auth-password"] == "[redacted]"),
                "{side}: {ps:?}"
            );
        }
    }
    // The next change (through the other peer) settles it: server2 never got it, so
    // server1 is put back — with its real secrets, filled back from what it runs.
    proxies[0].heal();
    let (code, err) = run(
        "next.rhai",
        r#"kea("server2").dhcp4.add_subnet(#{ subnet: "10.251.0.0/24" });"#,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("had an unknown outcome") && err.contains("from before the change"),
        "{err}"
    );
    for i in 0..2 {
        let (r, f) = (running(&lab, i), file(&lab, i));
        assert_eq!(subnets(&r), subnets(&f), "node {i}: running vs file");
        assert!(
            !subnets(&r).contains(&"10.250.0.0/24".to_string()),
            "node {i}"
        );
        assert!(
            subnets(&r).contains(&"10.251.0.0/24".to_string()),
            "node {i}"
        );
    }
    assert_secrets_kept(&lab, "after settling");
    assert!(sent_records(&state).is_empty());
    assert!(!journal_text(&state).contains("Journal-Secret"));
}
