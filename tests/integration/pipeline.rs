//! The one execute loop on real labs (issue 13 point 1, issue 16 point 1): one server, an HA
//! pair, a `global` class across an inventory with an HA pair among its servers, two
//! inventory names of one daemon sharing its lock and journal, the README's "Changing things"
//! example planned under `--dry-run` (one plan, a summary, `--detailed-exitcode`), and one
//! line per change on stderr in a real run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keascript::kea::edit::journal;
use keascript::kea::identity::daemon_id;
use keascript::kea::{Inventory, Server, Service};
use keascript::lab::{HaMode, Lab, LabOptions};
use serde_json::{Value, json};

use crate::support::{commands_in, is_mutating, keascript, lab, lab_with, rt, script};

/// The README's "Changing things" example, as it stands there.
const README_CHANGES: &str = r#"let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.50.0.0/24", pools: ["10.50.0.10 - 10.50.0.99"],
                 option_data: [#{ name: "routers", data: "10.50.0.1" }] });
v4.add_class(#{ name: "pxe", test: "substring(option[60].hex,0,9) == 'PXEClient'",
                next_server: "10.50.0.5", boot_file_name: "pxelinux.0" });
v4.assign_class("10.50.0.0/24", "10.50.0.10-10.50.0.99", "pxe");
v4.set(#{ valid_lifetime: 7200, renew_timer: 1800, rebind_timer: 3600 });
"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `text` with `flags` against `inventory`, keascript's state in `state`.
fn run(inventory: &Path, state: &Path, flags: &[&str], text: &str) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "s.rhai", text);
    let out = keascript()
        .arg("--config")
        .arg(inventory)
        .env("KEASCRIPT_STATE_DIR", state)
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("run")
        .args(flags)
        .arg(&s)
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The mutating commands a daemon (its log in `dir`) received after the first `mark`.
fn mutations(dir: &Path, mark: usize) -> Vec<String> {
    commands_in(dir, "dhcp4")
        .into_iter()
        .skip(mark)
        .filter(|c| is_mutating(c))
        .collect()
}

fn service_of(inventory: &Path, server: &str) -> Service {
    let inv = Inventory::load(inventory).unwrap();
    let _g = rt().enter();
    Service::new(
        std::sync::Arc::new(Server::from_entry(server, inv.get(server).unwrap()).unwrap()),
        "dhcp4",
    )
    .unwrap()
}

fn running(svc: &Service) -> Value {
    rt().block_on(svc.config()).unwrap()["Dhcp4"].clone()
}

fn classes(root: &Value) -> Vec<String> {
    root["client-classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn subnets(root: &Value) -> Vec<String> {
    root["subnet4"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["subnet"].as_str().map(str::to_string))
        .collect()
}

fn records(state: &Path) -> Vec<Value> {
    let mut v: Vec<(String, Value)> = std::fs::read_dir(state.join("journal"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .filter_map(|e| {
                    let t = std::fs::read(e.path()).ok()?;
                    Some((
                        e.file_name().to_string_lossy().into_owned(),
                        serde_json::from_slice(&t).ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().map(|(_, e)| e).collect()
}

fn audit(state: &Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn the_readme_changes_are_planned_under_dry_run_then_made_one_line_each() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = lab.inventory();
    let mark = commands_in(lab.dir(), "dhcp4").len();
    // Planned: every step sees the ones before it (assign_class finds the new subnet and
    // class), one plan at the end, nothing sent, exit 2 under --detailed-exitcode.
    for flags in [
        &["--dry-run", "--detailed-exitcode"][..],
        &["--dry-run"][..],
    ] {
        let o = run(inv, &state, flags, README_CHANGES);
        let want = if flags.len() == 2 { 2 } else { 0 };
        assert_eq!(o.code, want, "{flags:?}\n{}\n{}", o.stdout, o.stderr);
        assert_eq!(o.stdout.matches("Plan: ").count(), 1, "{}", o.stdout);
        assert!(
            o.stdout
                .contains("Plan: 2 to add, 2 to change, 0 to delete on lab/dhcp4."),
            "{}",
            o.stdout
        );
        for step in [
            "[dry run] lab/dhcp4: add subnet 10.50.0.0/24: would send ",
            "[dry run] lab/dhcp4: add class pxe: would send ",
            "[dry run] lab/dhcp4: assign class pxe on 10.50.0.0/24 10.50.0.10-10.50.0.99: would send ",
            "[dry run] lab/dhcp4: set settings rebind_timer,renew_timer,valid_lifetime: would send ",
            "+    \"valid-lifetime\": 7200",
            "+        \"name\": \"pxe\"",
        ] {
            assert!(o.stdout.contains(step), "{step:?} in\n{}", o.stdout);
        }
        assert_eq!(o.stdout.matches("--- lab/dhcp4 (running)").count(), 1);
        assert!(
            !o.stderr.contains("(id "),
            "nothing was changed: {}",
            o.stderr
        );
    }
    assert!(
        mutations(lab.dir(), mark).is_empty(),
        "a dry run sent nothing"
    );
    assert!(audit(&state).is_empty(), "a dry run audits nothing");
    // Made: one line per change on stderr, with its audit id; exit 2 (it changed something).
    let o = run(inv, &state, &["--detailed-exitcode"], README_CHANGES);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let ids: Vec<String> = audit(&state)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4, "{:?}", audit(&state));
    for (line, id) in [
        "lab/dhcp4: added subnet 10.50.0.0/24",
        "lab/dhcp4: added class pxe",
        "lab/dhcp4: assigned class pxe on 10.50.0.0/24 10.50.0.10-10.50.0.99",
        "lab/dhcp4: set settings rebind_timer,renew_timer,valid_lifetime",
    ]
    .iter()
    .zip(&ids)
    {
        assert!(
            o.stderr.contains(&format!("{line} (id {id})\n")),
            "{line} (id {id}) in\n{}",
            o.stderr
        );
    }
    // Each change has its record, written.
    let recs = records(&state);
    assert_eq!(recs.len(), 4);
    assert!(
        recs.iter()
            .all(|r| r["phase"] == "written" && r["targets"][0]["before"].is_null())
    );
    // Nothing is left to change: the plan is empty (exit 0), and so is a real run.
    let again = "let v4 = kea().dhcp4;\nv4.assign_class(\"10.50.0.0/24\", \"10.50.0.10-10.50.0.99\", \"pxe\");\nv4.set(#{ valid_lifetime: 7200, renew_timer: 1800, rebind_timer: 3600 });\n";
    let o = run(inv, &state, &["--dry-run", "--detailed-exitcode"], again);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to delete on lab/dhcp4."),
        "{}",
        o.stdout
    );
    let mark = commands_in(lab.dir(), "dhcp4").len();
    let o = run(inv, &state, &["--detailed-exitcode"], again);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("(id "), "{}", o.stderr);
    assert!(mutations(lab.dir(), mark).is_empty());
    // An error keeps its status; a usage error is 1 (2 means "pending" only).
    let o = run(
        inv,
        &state,
        &["--detailed-exitcode"],
        "kea().dhcp4.add_subnet(#{ subnet: \"10.50.0.0/24\" });",
    );
    assert_eq!(o.code, 5, "{}", o.stderr);
    for args in [
        &["run", "--detailed-exitcode", "/nonexistent/s.rhai"][..],
        &["run", "--detailed-exitcode", "--no-such-flag", "s.rhai"][..],
    ] {
        let out = keascript()
            .env("KEASCRIPT_STATE_DIR", &state)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    let out = keascript()
        .args(["run", "--no-such-flag", "s.rhai"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "without the flag, a usage error is 2"
    );
}

fn pair() -> Option<Lab> {
    lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    })
}

#[test]
fn an_ha_change_is_one_change_on_both_peers_and_its_plan_shows_both() {
    let Some(lab) = pair() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = lab.inventory();
    let dirs: Vec<PathBuf> = (0..2).map(|i| lab.nodes()[i].dir.clone()).collect();
    let marks: Vec<usize> = dirs.iter().map(|d| commands_in(d, "dhcp4").len()).collect();
    let text = "let v4 = kea(\"server2\").dhcp4;\nv4.add_subnet(#{ subnet: \"10.77.0.0/24\" });\nprint(`staged: ${kea(\"server1\").dhcp4.subnet(\"10.77.0.0/24\").id}`);\n";
    let o = run(inv, &state, &["--dry-run", "--detailed-exitcode"], text);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    // The peer's staged configuration is what its readers see.
    assert!(o.stdout.contains("staged: 2"), "{}", o.stdout);
    for p in ["server2", "server1"] {
        assert!(
            o.stdout.contains(&format!(
                "Plan: 1 to add, 0 to change, 0 to delete on {p}/dhcp4."
            )),
            "{}",
            o.stdout
        );
    }
    for (d, m) in dirs.iter().zip(&marks) {
        assert!(mutations(d, *m).is_empty(), "a dry run sent nothing");
    }
    // Made: one change, one record reaching both daemons, audited once with the peer.
    let o = run(
        inv,
        &state,
        &[],
        "kea(\"server2\").dhcp4.add_subnet(#{ subnet: \"10.77.0.0/24\" });",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let recs = records(&state);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["phase"], "written");
    let targets = recs[0]["targets"].as_array().unwrap();
    assert_eq!(
        targets
            .iter()
            .map(|t| t["server"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["server2", "server1"]
    );
    assert_ne!(targets[0]["daemon"], targets[1]["daemon"]);
    let a = audit(&state);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["peers"], json!(["server1"]));
    assert_eq!(a[0]["id"], recs[0]["id"]);
    assert!(
        o.stderr.contains(&format!(
            "server2/dhcp4 and HA peer server1: added subnet 10.77.0.0/24 (id {})",
            a[0]["id"].as_str().unwrap()
        )),
        "{}",
        o.stderr
    );
    for (i, (d, m)) in dirs.iter().zip(&marks).enumerate() {
        let sent = mutations(d, *m);
        assert_eq!(sent.len(), 2, "peer {i}: {sent:?}");
        assert_eq!(sent[1], "config-write", "peer {i}");
        let cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(lab.config_file_of(i, "dhcp4")).unwrap())
                .unwrap();
        assert!(subnets(&cfg["Dhcp4"]).contains(&"10.77.0.0/24".to_string()));
    }
}

/// One inventory over a plain lab and an HA pair, every server under all its names (through
/// its agent or own sockets, and through its UNIX sockets).
fn both(plain: &Lab, pair: &Lab, dir: &Path) -> PathBuf {
    let text = |l: &Lab| {
        std::fs::read_to_string(l.inventory())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("default ="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let p = dir.join("estate.toml");
    std::fs::write(
        &p,
        format!("default = \"lab\"\n{}\n{}\n", text(plain), text(pair)),
    )
    .unwrap();
    p
}

#[test]
fn a_global_class_reaches_each_daemon_once_and_an_ha_pair_through_its_relationship() {
    let Some(plain) = lab() else { return };
    let Some(pair) = pair() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = both(&plain, &pair, tmp.path());
    let dirs: Vec<PathBuf> = [plain.dir().to_path_buf()]
        .into_iter()
        .chain((0..2).map(|i| pair.nodes()[i].dir.clone()))
        .collect();
    let marks: Vec<usize> = dirs.iter().map(|d| commands_in(d, "dhcp4").len()).collect();
    let text = "kea().dhcp4.add_class(#{ name: \"everywhere\", global: true });";
    // Planned once per daemon, though six inventory names reach them.
    let o = run(&inv, &state, &["--dry-run"], text);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout.matches("Plan: 1 to add").count(),
        3,
        "{}",
        o.stdout
    );
    for (d, m) in dirs.iter().zip(&marks) {
        assert!(mutations(d, *m).is_empty());
    }
    let o = run(&inv, &state, &[], text);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (d, m) in dirs.iter().zip(&marks) {
        let sent = mutations(d, *m);
        assert_eq!(sent.len(), 2, "{}: {sent:?}", d.display());
        assert_eq!(sent[1], "config-write");
    }
    for name in ["lab-unix", "server1-unix", "server2-unix"] {
        assert!(
            classes(&running(&service_of(&inv, name))).contains(&"everywhere".to_string()),
            "{name}"
        );
    }
    let recs = records(&state);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["targets"].as_array().unwrap().len(), 3);
    // Audited for the server it was made through, and once for the pair (with its peer).
    let a = audit(&state);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0]["server"], "lab");
    assert!(a[0].get("peers").is_none(), "{}", a[0]);
    assert_eq!(a[1]["peers"].as_array().map(Vec::len), Some(1), "{}", a[1]);
    // Deleting it goes everywhere too (the server says it is global).
    let marks: Vec<usize> = dirs.iter().map(|d| commands_in(d, "dhcp4").len()).collect();
    let o = run(
        &inv,
        &state,
        &[],
        "kea(\"server2-unix\").dhcp4.delete_class(\"everywhere\");",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (d, m) in dirs.iter().zip(&marks) {
        assert_eq!(mutations(d, *m).len(), 2, "{}", d.display());
    }
    for name in ["lab", "server1", "server2"] {
        assert!(!classes(&running(&service_of(&inv, name))).contains(&"everywhere".to_string()));
    }
}

#[test]
fn two_names_of_one_daemon_share_its_lock_and_its_journal() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = lab.inventory();
    let via_agent = service_of(inv, "lab");
    let via_socket = service_of(inv, "lab-unix");
    let id = rt().block_on(daemon_id(&via_agent));
    assert_eq!(id, rt().block_on(daemon_id(&via_socket)), "one daemon");
    // Held (as another keascript changing it through `lab` would): a change through
    // `lab-unix` waits for it, and sends nothing meanwhile.
    let path = keascript::kea::edit::lock_file(&state, id.as_str());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let held = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap();
    held.lock().unwrap();
    let mark = commands_in(lab.dir(), "dhcp4").len();
    let o = run(
        inv,
        &state,
        &["--timeout", "3s"],
        "kea(\"lab-unix\").dhcp4.add_subnet(#{ subnet: \"10.243.0.0/24\" });",
    );
    assert_ne!(o.code, 0, "it waited for the lock: {}", o.stderr);
    assert!(mutations(lab.dir(), mark).is_empty());
    drop(held);
    // A change left in flight through `lab` (its answer lost: the server runs the old
    // configuration) is settled by the next change through `lab-unix`.
    let doc = rt()
        .block_on(keascript::kea::edit::read_config(&via_agent))
        .unwrap();
    let version = rt().block_on(via_agent.kea_version_cached()).unwrap();
    let mut before = doc.with_version(version);
    keascript::kea::config::normalize_inherited(&mut before);
    let mut after = before.value.clone();
    after["Dhcp4"]["subnet4"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 90, "subnet": "10.240.0.0/24"}));
    let entry = journal::Entry::new(vec![journal::Target {
        daemon: id.as_str().to_string(),
        url: via_agent.server.service_url("dhcp4"),
        server: "lab".into(),
        service: "dhcp4".into(),
        before: Some(before.value.clone()),
        before_snapshot: None,
        after: Some(after),
    }]);
    journal::save_in(&state, &entry).unwrap();
    // A read through either name warns (the record is found by daemon, not by URL: it was
    // made through `lab`); it settles nothing.
    for name in ["lab-unix", "lab"] {
        let o = run(
            inv,
            &state,
            &[],
            &format!("print(kea(\"{name}\").dhcp4.subnets().len());"),
        );
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            o.stderr.contains("has an unknown outcome") && o.stderr.contains(&entry.id),
            "{name}: {}",
            o.stderr
        );
    }
    assert_eq!(records(&state)[0]["phase"], "sent");
    let o = run(
        inv,
        &state,
        &[],
        "kea(\"lab-unix\").dhcp4.add_subnet(#{ subnet: \"10.241.0.0/24\" });",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "an earlier change (id {}) had an unknown outcome",
            entry.id
        )) && o.stderr.contains("from before the change"),
        "{}",
        o.stderr
    );
    assert!(
        journal::read_in(&state, &entry.id).is_none(),
        "settled: the change was not made, its record goes"
    );
    let r = running(&via_socket);
    assert!(subnets(&r).contains(&"10.241.0.0/24".to_string()));
    assert!(!subnets(&r).contains(&"10.240.0.0/24".to_string()));
    let a = audit(&state);
    assert!(
        a.iter().any(|e| e["resolves"] == json!(entry.id)),
        "the settling is audited: {a:?}"
    );
}
