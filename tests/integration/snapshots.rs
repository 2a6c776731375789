//! Snapshots and `keascript restore` on a real Kea lab (Kea 2.2, or Kea 3.0 with
//! `KEASCRIPT_KEA_BIN_DIR`): a snapshot is kept before every change, with a copy of the
//! daemon's hand-written startup file; `restore` gives back a running configuration equal to
//! the snapshot's (secret keys ignored, each secret filled back from the live
//! configuration); an HA pair is restored on both peers, each from its own snapshot;
//! retention keeps the newest N. The helpers here are shared with `undo` and `confirm`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keascript::kea::snapshots::{Snapshot, Store};
use keascript::lab::{HaMode, Lab, LabOptions};
use serde_json::{Value, json};

use crate::support::{kea_raw, keascript, lab, lab_with, proxied_ha_pair, script};

/// `keascript` against the lab, with its own state folder (snapshots, audit, pending).
pub fn ks(lab: &Lab, state: &Path) -> assert_cmd::Command {
    let mut c = keascript();
    c.env("KEASCRIPT_STATE_DIR", state)
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("--config")
        .arg(lab.inventory())
        .timeout(Duration::from_secs(120));
    c
}

/// Runs a script against the lab; returns the assert.
pub fn run(lab: &Lab, state: &Path, text: &str) -> assert_cmd::assert::Assert {
    let s = script(state, "s.rhai", text);
    ks(lab, state).arg("run").arg(s).assert()
}

/// The running dhcp4 configuration of node `i`, as Kea answers (secrets included).
pub fn running(lab: &Lab, i: usize) -> Value {
    let a = kea_raw(
        &lab.socket_of(i, "dhcp4"),
        &json!({"command": "config-get"}),
    )
    .expect("config-get");
    let mut v = a["arguments"].clone();
    v.as_object_mut().unwrap().remove("hash");
    v
}

/// A configuration as "equal to the snapshot" compares it: secrets redacted, no hash.
pub fn comparable(v: &Value) -> Value {
    let mut v = keascript::kea::redact::value(v);
    v.as_object_mut().unwrap().remove("hash");
    v
}

/// The audit trail, newest first.
pub fn history(state: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default();
    let mut v: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    v.reverse();
    v
}

/// The id of the newest change of `kind` in the audit trail.
pub fn newest_id(state: &Path, kind: &str) -> String {
    history(state)
        .into_iter()
        .find(|e| e["kind"] == kind && e["resolves"].is_null())
        .and_then(|e| e["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no {kind} change in {:?}", history(state)))
}

/// The snapshot of `server` taken before change `change`.
pub fn snapshot_before(state: &Path, server: &str, change: &str) -> Snapshot {
    Store::at(state)
        .list(Some(server))
        .unwrap()
        .into_iter()
        .find(|s| s.change.as_deref() == Some(change))
        .unwrap_or_else(|| panic!("no snapshot of {server} before {change}"))
}

/// The configuration a snapshot holds.
pub fn snapshot_config(state: &Path, s: &Snapshot) -> Value {
    Store::at(state).config(s).unwrap()
}

pub fn subnet_ids(cfg: &Value) -> Vec<u64> {
    cfg["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect()
}

fn state_of(lab: &Lab) -> PathBuf {
    let d = lab.dir().join("state");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn restore_gives_back_the_snapshot_with_its_secret_and_the_hand_written_file_is_kept() {
    let Some(lab) = lab() else { return };
    let state = state_of(&lab);
    // The admin's own file: a comment Kea's config-write will not keep.
    let file = lab.config_file("dhcp4");
    let text = std::fs::read_to_string(&file).unwrap();
    let hand_written = format!("// Hand-written by the admin: keep me\n{text}");
    std::fs::write(&file, &hand_written).unwrap();
    run(
        &lab,
        &state,
        r#"kea().dhcp4.add_class(#{ name: "sec", user_context: #{ api_token: "tok-Secret-77" } });"#,
    )
    .success();
    let first = newest_id(&state, "class");
    run(
        &lab,
        &state,
        r#"let v4 = kea().dhcp4;
           v4.add_subnet(#{ subnet: "10.50.0.0/24", pools: ["10.50.0.10-10.50.0.99"] });"#,
    )
    .success();
    let second = newest_id(&state, "subnet");
    let changed = running(&lab, 0);
    assert!(subnet_ids(&changed).len() == 2, "{changed}");

    // Listed, newest first, with the file copy of the first change.
    let out = ks(&lab, &state)
        .args(["snapshots", "--server", "lab", "--output", "json"])
        .assert()
        .success();
    let listed: Vec<Value> = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["change"], second.as_str());
    assert_eq!(listed[1]["change"], first.as_str());
    let snap1 = snapshot_before(&state, "lab", &first);
    let copy = snap1.file.clone().expect("a copy of the startup file");
    assert_eq!(Path::new(&copy.path), file.as_path());
    let kept = String::from_utf8(Store::at(&state).file_text(&copy).unwrap()).unwrap();
    assert_eq!(kept, hand_written, "the hand-written text, comment and all");
    assert!(
        !std::fs::read_to_string(&file).unwrap().contains("keep me"),
        "config-write replaced the file"
    );
    let table = ks(&lab, &state).args(["snapshots"]).assert().success();
    let table = String::from_utf8_lossy(&table.get_output().stdout).into_owned();
    assert!(table.contains(&file.display().to_string()), "{table}");
    assert!(table.contains(snap1.short_id()), "{table}");

    // The snapshot kept the secret redacted, nowhere in clear.
    let snap2 = snapshot_before(&state, "lab", &second);
    let saved = snapshot_config(&state, &snap2);
    assert_eq!(
        saved["Dhcp4"]["client-classes"][0]["user-context"]["api_token"],
        "[redacted]"
    );
    let grep = std::process::Command::new("grep")
        .args(["-r", "-z", "tok-Secret-77"])
        .arg(state.join("snapshots"))
        .output()
        .unwrap();
    assert!(grep.stdout.is_empty(), "a secret in the snapshot folder");

    // A dry run shows the diff and changes nothing.
    let dry = ks(&lab, &state)
        .args(["restore", "--server", "lab", snap2.short_id(), "--dry-run"])
        .assert()
        .success();
    let dry_out = String::from_utf8_lossy(&dry.get_output().stdout).into_owned();
    assert!(dry_out.contains("[dry run] lab/dhcp4"), "{dry_out}");
    assert!(dry_out.contains("10.50.0.0/24"), "{dry_out}");
    assert_eq!(running(&lab, 0), changed);

    // Restored: equal to the snapshot, the secret filled back from the live configuration.
    ks(&lab, &state)
        .args(["restore", "--server", "lab", snap2.short_id()])
        .assert()
        .success();
    let now = running(&lab, 0);
    assert_eq!(comparable(&now), comparable(&saved));
    assert_eq!(
        now["Dhcp4"]["client-classes"][0]["user-context"]["api_token"],
        "tok-Secret-77"
    );
    let h = history(&state);
    assert_eq!(h[0]["action"], "restore");
    assert_eq!(h[0]["undoes"], format!("snapshot {}", snap2.short_id()));
    // And its file has it.
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(subnet_ids(&on_disk), subnet_ids(&saved));

    // A snapshot whose secret has no place in the running configuration any more: conflict.
    run(&lab, &state, r#"kea().dhcp4.delete_class("sec");"#).success();
    let refused = ks(&lab, &state)
        .args(["restore", "--server", "lab", snap2.short_id()])
        .assert()
        .code(5);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("api_token"), "{err}");
    assert!(!err.contains("tok-Secret-77"), "{err}");
}

#[test]
fn retention_keeps_only_the_newest_n() {
    let Some(lab) = lab() else { return };
    let state = state_of(&lab);
    let inventory = state.join("keascript.toml");
    std::fs::write(
        &inventory,
        format!(
            "{}\n[snapshots]\nkeep = 2\n",
            std::fs::read_to_string(lab.inventory()).unwrap()
        ),
    )
    .unwrap();
    let s = script(
        &state,
        "four.rhai",
        r#"let v4 = kea().dhcp4;
           for i in 1..5 { v4.set(#{ valid_lifetime: 4000 + i }); }"#,
    );
    keascript()
        .env("KEASCRIPT_STATE_DIR", &state)
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("--config")
        .arg(&inventory)
        .arg("run")
        .arg(&s)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let kept = Store::at(&state).list(Some("lab")).unwrap();
    let changes: Vec<String> = history(&state)
        .iter()
        .filter(|e| e["kind"] == "settings")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(changes.len(), 4);
    // The two newest changes' snapshots, nothing else (index and objects).
    assert_eq!(
        kept.iter()
            .map(|s| s.change.clone().unwrap())
            .collect::<Vec<_>>(),
        vec![changes[1].clone(), changes[0].clone()]
    );
    let objects = std::fs::read_dir(state.join("snapshots/objects"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".gz")
        })
        .count();
    let named: std::collections::HashSet<String> = kept
        .iter()
        .flat_map(|s| {
            std::iter::once(s.id.clone()).chain(s.file.as_ref().map(|f| f.object.clone()))
        })
        .collect();
    assert_eq!(objects, named.len());
    // The second-newest snapshot is the configuration with the third value.
    assert_eq!(
        snapshot_config(&state, &kept[0])["Dhcp4"]["valid-lifetime"],
        4002
    );
}

#[test]
fn an_ha_pair_is_restored_on_both_peers_each_from_its_own_snapshot() {
    let Some(lab) = lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    let state = state_of(&lab);
    let before = [running(&lab, 0), running(&lab, 1)];
    run(
        &lab,
        &state,
        r#"kea("server1").dhcp4.add_subnet(#{ subnet: "10.78.0.0/24", pools: ["10.78.0.10-10.78.0.99"] });"#,
    )
    .success();
    let change = newest_id(&state, "subnet");
    for i in 0..2 {
        assert_eq!(subnet_ids(&running(&lab, i)).len(), 2, "server{}", i + 1);
    }
    let s1 = snapshot_before(&state, "server1", &change);
    let s2 = snapshot_before(&state, "server2", &change);
    assert_ne!(s1.id, s2.id, "each peer has its own configuration");
    ks(&lab, &state)
        .args(["restore", "--server", "server1", s1.short_id()])
        .assert()
        .success();
    for (i, s) in [s1, s2].iter().enumerate() {
        let now = running(&lab, i);
        assert_eq!(
            comparable(&now),
            comparable(&snapshot_config(&state, s)),
            "server{}",
            i + 1
        );
        assert_eq!(comparable(&now), comparable(&before[i]), "server{}", i + 1);
    }
    let restores: Vec<Value> = history(&state)
        .into_iter()
        .filter(|e| e["action"] == "restore")
        .collect();
    assert_eq!(restores.len(), 2, "one entry per peer: {restores:?}");
}

#[test]
fn an_ha_restore_failing_on_the_second_peer_puts_the_first_back() {
    use crate::support::fault_proxy::{Fault, MUTATE};
    let Some(lab) = lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    let state = state_of(&lab);
    let inv = lab.dir().join("proxied.toml");
    let proxies = proxied_ha_pair(&lab, &inv);
    let ks = || {
        let mut c = keascript();
        c.env("KEASCRIPT_STATE_DIR", &state)
            .env_remove("KEASCRIPT_AUDIT_FILE")
            .arg("--config")
            .arg(&inv)
            .timeout(Duration::from_secs(180));
        c
    };
    let s = script(
        &state,
        "two.rhai",
        r#"kea("server1").dhcp4.add_subnet(#{ subnet: "10.81.0.0/24" });
kea("server1").dhcp4.add_subnet(#{ subnet: "10.82.0.0/24" });"#,
    );
    ks().arg("run").arg(&s).assert().success();
    let first = history(&state)
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "subnet")
        .and_then(|e| e["id"].as_str().map(str::to_string))
        .unwrap();
    let before = [running(&lab, 0), running(&lab, 1)];
    for b in &before {
        assert_eq!(subnet_ids(b).len(), 3);
    }
    let snap = snapshot_before(&state, "server1", &first);
    // The second peer refuses the restore (its config-set never reaches Kea).
    proxies[1].fail(MUTATE, 1, Fault::DropRequest);
    let out = ks()
        .args(["restore", "--server", "server1", snap.short_id()])
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("restoring server2/dhcp4 failed"), "{err}");
    assert!(err.contains("server1 put back"), "{err}");
    // Every peer or none: both run, and have in their files, what they ran before.
    for (i, b) in before.iter().enumerate() {
        let now = running(&lab, i);
        assert_eq!(comparable(&now), comparable(b), "server{}", i + 1);
        let f: Value =
            serde_json::from_str(&std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap())
                .unwrap();
        assert_eq!(subnet_ids(&f), subnet_ids(&now), "server{} file", i + 1);
    }
    // Healed, the same restore reaches both.
    proxies[1].heal();
    ks().args(["restore", "--server", "server1", snap.short_id()])
        .assert()
        .success();
    for i in 0..2 {
        assert_eq!(subnet_ids(&running(&lab, i)).len(), 1, "server{}", i + 1);
    }
}
