//! `keascript doctor` against real labs: a clean lab, a lab without the lease hook (the
//! exact entry to add, and an unsupported call naming the library), a server that is down,
//! an HA pair whose peer is missing from the inventory.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{keascript, lab, lab_with, script};

fn doctor(inventory: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = keascript()
        .arg("--config")
        .arg(inventory)
        .arg("doctor")
        .args(args)
        .args(["--output", "json"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn raw(socket: &Path, body: &Value) -> Value {
    crate::support::kea_raw(socket, body).expect("the daemon answers")
}

#[test]
fn a_clean_lab_is_clean_and_a_missing_hook_is_named_with_its_entry() {
    let Some(lab) = lab() else { return };
    let (code, findings, err) = doctor(lab.inventory(), &["--all"]);
    assert_eq!(code, 0, "{findings:#?}{err}");
    for f in &findings {
        for k in ["server", "service", "check", "status", "message", "fix"] {
            assert!(f.get(k).is_some(), "{f}");
        }
        assert_ne!(f["status"], "problem", "{f}");
    }
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "reachable" && f["status"] == "ok")
    );
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "persist" && f["status"] == "ok"),
        "the lab's daemons can write their files: {findings:#?}"
    );

    // Take the lease hook away from dhcp4 (as another admin would).
    let sock = lab.socket("dhcp4");
    let mut cfg = raw(&sock, &serde_json::json!({"command": "config-get"}))["arguments"].clone();
    cfg.as_object_mut().unwrap().remove("hash");
    let hooks = cfg["Dhcp4"]["hooks-libraries"].as_array_mut().unwrap();
    let dir = Path::new(hooks[0]["library"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    hooks.retain(|h| !h["library"].as_str().unwrap().contains("lease_cmds"));
    let set = raw(
        &sock,
        &serde_json::json!({"command": "config-set", "arguments": cfg}),
    );
    assert_eq!(set["result"], 0, "{set}");
    let (code, findings, _) = doctor(lab.inventory(), &["--server", "lab-unix"]);
    assert_eq!(code, 0, "a missing hook is a warning: {findings:#?}");
    let w = findings
        .iter()
        .find(|f| {
            f["service"] == "dhcp4"
                && f["status"] == "warning"
                && f["message"].as_str().unwrap().contains("lease_cmds")
        })
        .unwrap_or_else(|| panic!("{findings:#?}"));
    let entry = format!(
        "{{ \"library\": \"{}\" }}",
        dir.join("libdhcp_lease_cmds.so").display()
    );
    assert!(w["fix"].as_str().unwrap().contains(&entry), "{w}");
    // And a lease call says which library provides it.
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "l.rhai",
        "let n = 0; for l in kea(\"lab-unix\").dhcp4.leases() { n += 1; } print(n);",
    );
    keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path())
        .arg("run")
        .arg(&s)
        .assert()
        .code(4)
        .stderr(predicates::str::contains("libdhcp_lease_cmds.so"));
}

#[test]
fn nothing_reachable_is_status_3_and_a_missing_ha_peer_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let inv = tmp.path().join("inv.toml");
    std::fs::write(
        &inv,
        "[servers.gone]\nurl = \"http://127.0.0.1:1\"\nconnect_timeout_ms = 2000\n",
    )
    .unwrap();
    let (code, findings, _) = doctor(&inv, &[]);
    assert_eq!(code, 3, "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f["status"] == "problem" && f["fix"].is_string())
    );

    let Some(pair) = lab_with(keascript::lab::LabOptions {
        ha: Some(keascript::lab::HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    // An inventory that knows server1 only (through its UNIX sockets: the peers' URLs in
    // the HA configuration do not match it).
    let inv = tmp.path().join("one.toml");
    std::fs::write(
        &inv,
        format!(
            "[servers.only]\ndhcp4 = \"unix:{}\"\n",
            pair.socket_of(0, "dhcp4").display()
        ),
    )
    .unwrap();
    let (code, findings, _) = doctor(&inv, &["--server", "only"]);
    assert_eq!(code, 1, "{findings:#?}");
    let p = findings
        .iter()
        .find(|f| f["check"] == "ha")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(p["status"], "problem");
    assert!(p["message"].as_str().unwrap().contains("server2"), "{p}");
    assert!(p["fix"].as_str().unwrap().contains("[ha."), "{p}");
    // The lab's own inventory maps both peers.
    let (code, findings, _) = doctor(pair.inventory(), &["--server", "server1"]);
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "ha" && f["status"] == "ok"),
        "{findings:#?}"
    );
    assert_eq!(code, 0, "{findings:#?}");
}
