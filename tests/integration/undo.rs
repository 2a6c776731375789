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
