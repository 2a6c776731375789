//! Journal retention on a real lab (Kea 2.2, or Kea 3.0 with `KEASCRIPT_KEA_BIN_DIR`): with
//! `[journal] keep = 3`, more changes than that leave the journal's folder at three finished
//! records (the newest), while a change left in flight (its answer lost, the server gone
//! right after) stays in `journal/inflight/` through other changes, is found by a read of the
//! server, and is settled by the next change against its daemon.

use std::path::Path;

use keascript::lab::Lab;
use serde_json::{Value, json};

use crate::support::fault_proxy::{FaultProxy, MUTATE};
use crate::support::{kea_raw, lab, run_in};

/// The records of a journal folder: (file stem, record), by name (= by id).
fn records_in(dir: &Path) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file() && e.path().extension().is_some_and(|x| x == "json"))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let t = std::fs::read(e.path()).unwrap();
            (
                e.path().file_stem().unwrap().to_string_lossy().into_owned(),
                serde_json::from_slice(&t).unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The ids of the subnets a run added, as it reported them on stderr (`… added subnet …
/// (id ID)`), in order.
fn ids(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(": added subnet "))
        .filter_map(|l| l.rsplit_once("(id ")?.1.strip_suffix(')'))
        .map(str::to_string)
        .collect()
}

fn subnets(cfg: &Value, service: &str) -> Vec<String> {
    let (root, list) = match service {
        "dhcp4" => ("Dhcp4", "subnet4"),
        _ => ("Dhcp6", "subnet6"),
    };
    cfg[root][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["subnet"].as_str().map(str::to_string))
        .collect()
}

fn running(lab: &Lab, service: &str) -> Value {
    kea_raw(&lab.socket(service), &json!({"command": "config-get"})).expect("config-get")
        ["arguments"]
        .clone()
}

fn file(lab: &Lab, service: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(lab.config_file(service)).unwrap()).unwrap()
}

#[test]
fn the_journal_stays_bounded_and_a_change_in_flight_survives_until_settled() {
    let Some(lab) = lab() else { return };
    // `edge` reaches dhcp4 through a proxy (over the Control Agent); `edge-unix` reaches the
    // same dhcp4 and the dhcp6 daemon over their sockets.
    let proxy = FaultProxy::start(lab.url().trim_start_matches("http://").parse().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = tmp.path().join("inv.toml");
    std::fs::write(
        &inv,
        format!(
            "default = \"edge\"\n[servers.edge]\nurl = \"{}\"\ntimeout_ms = 5000\n\
             [servers.edge-unix]\ndhcp4 = \"unix:{}\"\ndhcp6 = \"unix:{}\"\n\
             [journal]\nkeep = 3\n",
            proxy.url(),
            lab.socket("dhcp4").display(),
            lab.socket("dhcp6").display()
        ),
    )
    .unwrap();
    let run = |name: &str, text: &str| run_in(tmp.path(), &inv, &state, name, text);
    let finished = || records_in(&state.join("journal"));
    let inflight = || records_in(&state.join("journal/inflight"));

    // Five changes, three kept: the newest, all written.
    let (code, err) = run(
        "five.rhai",
        r#"for n in 0..5 { kea("edge").dhcp4.add_subnet(#{ subnet: `10.230.${n}.0/24` }); }"#,
    );
    assert_eq!(code, 0, "{err}");
    let made = ids(&err);
    assert_eq!(made.len(), 5, "{err}");
    let kept = finished();
    assert_eq!(
        kept.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        made[2..].to_vec(),
        "the newest three records stay"
    );
    assert!(
        kept.iter().all(|(_, r)| r["phase"] == "written"),
        "{kept:?}"
    );
    assert!(inflight().is_empty());
    for n in 0..5 {
        assert!(subnets(&running(&lab, "dhcp4"), "dhcp4").contains(&format!("10.230.{n}.0/24")));
    }

    // The server carries out the next change, its answer is lost, and it is gone: the
    // change stays in flight.
    proxy.lose_answer_then_down(MUTATE, 1);
    let (code, err) = run(
        "lost.rhai",
        r#"kea("edge").dhcp4.add_subnet(#{ subnet: "10.231.0.0/24" });"#,
    );
    assert_eq!(code, 6, "{err}");
    let lost = inflight();
    assert_eq!(lost.len(), 1, "{lost:?}");
    let lost_id = lost[0].0.clone();
    assert_eq!(lost[0].1["phase"], "sent");
    assert!(subnets(&running(&lab, "dhcp4"), "dhcp4").contains(&"10.231.0.0/24".to_string()));

    // More changes than `keep` on another daemon (dhcp6): the finished records stay three,
    // the one in flight stays where it is; the script's read of the dhcp4 daemon (through
    // its other name) warns of it.
    let (code, err) = run(
        "six.rhai",
        r#"let s = kea("edge-unix");
print(s.dhcp4.subnets().len());
for n in 0..4 { s.dhcp6.add_subnet(#{ subnet: `2001:db8:23${n}::/64` }); }"#,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("has an unknown outcome") && err.contains(&lost_id),
        "{err}"
    );
    let made6 = ids(&err);
    assert_eq!(made6.len(), 4, "{err}");
    assert_eq!(
        finished()
            .iter()
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>(),
        made6[1..].to_vec()
    );
    let still = inflight();
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].0, lost_id);
    assert_eq!(still[0].1["phase"], "sent");
    for n in 0..4 {
        assert!(
            subnets(&running(&lab, "dhcp6"), "dhcp6").contains(&format!("2001:db8:23{n}::/64"))
        );
    }

    // The next change against the dhcp4 daemon settles it (the server runs it: it is
    // written), then the folder is pruned back to three.
    proxy.heal();
    let (code, err) = run(
        "next.rhai",
        r#"kea("edge").dhcp4.add_subnet(#{ subnet: "10.232.0.0/24" });"#,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "an earlier change (id {lost_id}) had an unknown outcome"
        )),
        "{err}"
    );
    let last = ids(&err);
    assert!(inflight().is_empty(), "settled");
    let left = finished();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(
        left.iter().all(|(_, r)| r["phase"] == "written"),
        "{left:?}"
    );
    assert_eq!(left.last().unwrap().0, *last.last().unwrap());
    for cfg in [running(&lab, "dhcp4"), file(&lab, "dhcp4")] {
        let s = subnets(&cfg, "dhcp4");
        assert!(s.contains(&"10.231.0.0/24".to_string()), "{s:?}");
        assert!(s.contains(&"10.232.0.0/24".to_string()), "{s:?}");
    }
}
