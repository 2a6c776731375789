//! Commit-confirmed on a real Kea lab: `run --confirm` changes the server, then a detached
//! process reverts every change of the run when the window ends — unless `keascript confirm`
//! comes first — or at once when the `--health` check fails. A killed waiter leaves the change
//! pending: the next command says so and `keascript rollback` reverts it. Each revert goes
//! through the pipeline (undo's conflict check) and the audit trail. The state is in the
//! journal: each change's record says whether it waits, was confirmed or was reverted (by
//! which change); lease, HA and `command()` changes are named as not revertible.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keascript::kea::confirm::{Pending, PendingStore};
use keascript::kea::edit::journal::{self, Phase};
use keascript::lab::Lab;
use serde_json::json;

use crate::snapshots::{
    comparable, history, ks, running, snapshot_before, snapshot_config, subnet_ids,
};
use crate::support::{alive, lab, script, wait_for};

const CHANGE: &str = r#"let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.61.0.0/24", pools: ["10.61.0.10-10.61.0.99"] });
v4.set(#{ valid_lifetime: 4321 });"#;

/// Generous: the suite runs on two busy cores.
const PATIENCE: Duration = Duration::from_secs(90);

fn state(lab: &Lab) -> PathBuf {
    let d = lab.dir().join("state");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn pending(state: &Path) -> Vec<Pending> {
    PendingStore::at(state).list()
}

/// The journal record of change `id`.
fn record(state: &Path, id: &str) -> journal::Entry {
    journal::read_in(state, id).unwrap_or_else(|| panic!("no journal record of {id}"))
}

fn changed(lab: &Lab) -> bool {
    subnet_ids(&running(lab, 0)).len() == 2
}

/// The ids of the run's changes, in the order they were made.
fn run_changes(state: &Path) -> Vec<String> {
    let mut v: Vec<String> = history(state)
        .iter()
        .filter(|e| e["undoes"].is_null())
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    v.reverse();
    v
}

/// Every change of the run was undone by an audited revert.
fn reverted_in_audit(state: &Path, changes: &[String]) -> bool {
    let h = history(state);
    changes.iter().all(|c| {
        h.iter()
            .any(|e| e["undoes"] == c.as_str() && e["outcome"] == "ok")
    })
}

fn run_confirm(lab: &Lab, state: &Path, extra: &[&str]) -> Vec<String> {
    let s = script(state, "change.rhai", CHANGE);
    let out = ks(lab, state)
        .arg("run")
        .args(extra)
        .arg(&s)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("pending confirmation"), "{err}");
    let changes = run_changes(state);
    assert_eq!(changes.len(), 2, "both changes were made and recorded");
    changes
}

#[test]
fn an_unconfirmed_change_is_reverted_when_the_window_ends() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    let original = running(&lab, 0);
    // A 3 s window: by the time this looks, it may have ended; the audit trail shows the
    // changes were made (and, below, undone).
    let changes = run_confirm(&lab, &state, &["--confirm", "3s"]);
    wait_for("the revert's audit entries", PATIENCE, || {
        reverted_in_audit(&state, &changes)
    });
    let now = running(&lab, 0);
    assert_eq!(comparable(&now), comparable(&original));
    let snap = snapshot_before(&state, "lab", &changes[0]);
    assert_eq!(
        comparable(&now),
        comparable(&snapshot_config(&state, &snap))
    );
    assert!(pending(&state).is_empty());
    // Each change's record says which change reverted it.
    let h = history(&state);
    for c in &changes {
        let r = record(&state, c);
        assert_eq!(r.phase, Phase::Written);
        let by = r
            .reverted_by
            .unwrap_or_else(|| panic!("{c} not marked reverted"));
        assert!(
            h.iter()
                .any(|e| e["id"] == by.as_str() && e["undoes"] == c.as_str()),
            "{by} undoes {c}: {h:?}"
        );
    }
    // Newest first: the settings change was undone before the subnet.
    let order: Vec<&str> = h
        .iter()
        .rev()
        .filter_map(|e| e["undoes"].as_str())
        .collect();
    assert_eq!(order, vec![changes[1].as_str(), changes[0].as_str()]);
}

#[test]
fn confirm_stops_the_revert() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    run_confirm(&lab, &state, &["--confirm", "20s"]);
    assert!(changed(&lab), "the change is made at once");
    let p = pending(&state);
    assert_eq!(p.len(), 1);
    // The pending revert is in the journal, and each change's record waits for it.
    assert!(p[0].changes.len() == 2);
    assert!(
        state
            .join("journal/confirm")
            .join(format!("{}.json", p[0].id))
            .is_file()
    );
    assert!(!state.join("pending").exists());
    for c in &p[0].changes {
        let r = record(&state, c);
        assert_eq!(
            (r.phase, r.confirmation.as_deref()),
            (Phase::Written, Some(p[0].id.as_str()))
        );
    }
    let pid = p[0].pid.expect("the waiter's pid");
    assert!(alive(pid));
    // The terminal closing (SIGHUP) does not stop it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let out = ks(&lab, &state).arg("snapshots").assert().success();
    assert!(
        !String::from_utf8_lossy(&out.get_output().stderr).contains("no revert timer"),
        "the waiter survived SIGHUP"
    );
    assert!(alive(pid), "the waiter survived SIGHUP");
    let out = ks(&lab, &state).arg("confirm").assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("confirmed"));
    wait_for("the waiter to stop", PATIENCE, || !alive(pid));
    assert!(pending(&state).is_empty());
    for c in &p[0].changes {
        let r = record(&state, c);
        assert_eq!(r.phase, Phase::Confirmed, "{c}");
        assert!(r.reverted_by.is_none());
    }
    assert!(changed(&lab), "confirmed changes stay");
    assert!(history(&state).iter().all(|e| e["undoes"].is_null()));
    // Nothing left to confirm.
    ks(&lab, &state).arg("confirm").assert().code(1);
}

#[test]
fn a_failing_health_check_reverts_at_once() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    let original = running(&lab, 0);
    // The check fails on the changed lifetime.
    let check = script(
        &state,
        "check.rhai",
        r#"if kea().dhcp4.config().Dhcp4["valid-lifetime"] == 4321 { throw "valid-lifetime 4321 breaks the phones"; }"#,
    );
    let changes = run_confirm(
        &lab,
        &state,
        &[
            "--confirm",
            "30m",
            "--health",
            check.to_str().unwrap(),
            "--health-interval",
            "1s",
        ],
    );
    wait_for("the revert after the failed check", PATIENCE, || {
        reverted_in_audit(&state, &changes)
    });
    assert_eq!(comparable(&running(&lab, 0)), comparable(&original));
    let store = PendingStore::at(&state);
    let log = std::fs::read_to_string(
        store.log_path(
            &std::fs::read_dir(store.dir())
                .unwrap()
                .flatten()
                .find_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_suffix(".log")
                        .map(str::to_string)
                })
                .unwrap(),
        ),
    )
    .unwrap();
    assert!(log.contains("breaks the phones"), "{log}");
}

#[test]
fn a_killed_waiter_leaves_the_change_pending_and_rollback_reverts_it() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    let original = running(&lab, 0);
    let changes = run_confirm(&lab, &state, &["--confirm", "30m"]);
    assert!(changed(&lab), "the change is made at once");
    let pid = pending(&state)[0].pid.expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the waiter to die", PATIENCE, || !alive(pid));
    // The next command says so.
    let out = ks(&lab, &state).arg("snapshots").assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("pending confirmation"), "{err}");
    assert!(err.contains("keascript rollback"), "{err}");
    assert!(changed(&lab));
    ks(&lab, &state).arg("rollback").assert().success();
    assert!(reverted_in_audit(&state, &changes));
    assert_eq!(comparable(&running(&lab, 0)), comparable(&original));
    assert!(pending(&state).is_empty());
    let out = ks(&lab, &state).arg("snapshots").assert().success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("pending confirmation"));
}

#[test]
fn lease_changes_of_a_confirm_run_are_named_as_not_revertible() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    let lifetime = running(&lab, 0)["Dhcp4"]["valid-lifetime"].clone();
    let s = script(
        &state,
        "mixed.rhai",
        r#"let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.63.0.0/24" });
v4.add_lease(#{ ip_address: "192.0.2.77", hw_address: "1a:1b:1c:1d:1e:77" });
v4.set(#{ valid_lifetime: 4322 });"#,
    );
    let out = ks(&lab, &state)
        .args(["run", "--confirm", "30m"])
        .arg(&s)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lease_id = history(&state)
        .iter()
        .find(|e| e["kind"] == "lease")
        .and_then(|e| e["id"].as_str().map(str::to_string))
        .expect("the lease change is audited");
    // Said when the run ends: which change, its kind and id.
    assert!(
        err.contains(&format!(
            "lease add 192.0.2.77 on lab/dhcp4 (id {lease_id}) cannot be reverted"
        )),
        "{err}"
    );
    assert!(err.contains("2 changes pending confirmation"), "{err}");
    let p = pending(&state);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].changes.len(),
        2,
        "the subnet and the settings can be reverted"
    );
    assert_eq!(p[0].not_revertible.len(), 1);
    assert_eq!(
        (
            p[0].not_revertible[0].kind.as_str(),
            p[0].not_revertible[0].id.as_str()
        ),
        ("lease", lease_id.as_str())
    );
    let (subnet_change, settings_change) = (p[0].changes[0].clone(), p[0].changes[1].clone());
    // Someone changes the new subnet meanwhile: its revert is refused (conflict), the
    // others go on.
    let s = script(
        &state,
        "later.rhai",
        r#"kea().dhcp4.update_subnet("10.63.0.0/24", #{ valid_lifetime: 999 });"#,
    );
    ks(&lab, &state).arg("run").arg(&s).assert().success();
    let out = ks(&lab, &state).arg("rollback").assert().code(5);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(&format!("change {settings_change} reverted")),
        "{err}"
    );
    assert!(
        err.contains(&format!("change {subnet_change} NOT reverted")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "lease add 192.0.2.77 on lab/dhcp4 (id {lease_id}) NOT reverted"
        )),
        "{err}"
    );
    // The real server: the lifetime is back, the subnet (changed since) and the lease stay.
    let now = running(&lab, 0);
    assert_eq!(now["Dhcp4"]["valid-lifetime"], lifetime);
    assert_eq!(subnet_ids(&now).len(), 2);
    let lease = crate::support::kea_raw(
        &lab.socket("dhcp4"),
        &json!({"command": "lease4-get", "arguments": {"ip-address": "192.0.2.77"}}),
    )
    .expect("lease4-get");
    assert_eq!(lease["result"], 0, "{lease}");
    // The journal says which change reverted one, and why the other was not.
    assert!(record(&state, &settings_change).reverted_by.is_some());
    let r = record(&state, &subnet_change);
    assert!(r.reverted_by.is_none());
    assert!(
        r.not_reverted
            .as_deref()
            .is_some_and(|w| w.contains("changed after")),
        "{r:?}"
    );
}

#[test]
fn an_old_pending_folder_is_moved_into_the_journal() {
    let Some(lab) = lab() else { return };
    let state = state(&lab);
    let original = running(&lab, 0);
    let changes = run_confirm(&lab, &state, &["--confirm", "30m"]);
    // As an older keascript kept it: `pending/<id>.json`, its waiter gone.
    let p = pending(&state).remove(0);
    let pid = p.pid.expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the waiter to die", PATIENCE, || !alive(pid));
    let old = state.join("pending");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::rename(
        state.join("journal/confirm").join(format!("{}.json", p.id)),
        old.join(format!("{}.json", p.id)),
    )
    .unwrap();
    journal::mark_in(&state, &changes, |e| e.confirmation = None).unwrap();
    // The next command finds it (moved into the journal) and says it is pending.
    let out = ks(&lab, &state).arg("snapshots").assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("pending confirmation") && err.contains(&p.id),
        "{err}"
    );
    assert!(!old.exists(), "the old folder is gone");
    assert_eq!(
        record(&state, &changes[0]).confirmation.as_deref(),
        Some(p.id.as_str())
    );
    ks(&lab, &state).arg("rollback").assert().success();
    assert_eq!(comparable(&running(&lab, 0)), comparable(&original));
}
