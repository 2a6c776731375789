//! keascript's hook path (`subnet_cmds` / `class_cmds`) against the stateful Kea 3.2 double
//! (`support::kea3`, `Kea3Options::stateful`), which keeps a running configuration and answers
//! like the recorded Kea 3.2: single subnet, pool, option and class edits go as the narrowest
//! hook command and are persisted with `config-write`; transactions, settings, inventories
//! with `config_path_only` and servers without the hooks go by `config-set`; keascript's own
//! checks still stop what Kea 3.2 accepts; a dry run sends nothing that changes anything.
//!
//! The first test replays the whole recorded dhcp4 session against the stateful double, so
//! the double's answers are checked against the real Kea 3.2 before keascript is tested on it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keascript::kea::config::{NameOrCode, OptionScope, SubnetKey};
use keascript::kea::edit::{CommitOptions, CommitReport, Edit, commit};
use keascript::kea::{ErrorKind, KeaError, Server, Service};
use keascript::transport::TransportOptions;
use serde_json::{Map, Value, json};

use crate::support::kea3::{self, Kea3Double, Kea3Options, jsonpos};
use crate::support::{keascript, rt, script};

const USER: &str = "kea-api";
const PASSWORD: &str = "Ohp4-hooks-secret-9Z";

/// Commands that only read.
const READS: &[&str] = &[
    "config-get",
    "config-hash-get",
    "config-test",
    "list-commands",
    "version-get",
    "status-get",
    "subnet4-get",
    "subnet4-list",
    "network4-get",
    "network4-list",
    "class-get",
    "class-list",
];

fn stateful() -> Kea3Double {
    Kea3Double::start(Kea3Options::dhcp4().stateful())
}

/// The dhcp4 service of a daemon-HTTP server on the double.
fn service(double: &Kea3Double) -> Service {
    let server = Server::connect(&double.url(), Some("dhcp4"), TransportOptions::default())
        .expect("connect");
    Service::new(Arc::new(server), "dhcp4").expect("dhcp4 service")
}

fn m(v: Value) -> Map<String, Value> {
    v.as_object().expect("a map").clone()
}

fn commit_with(
    svc: &Service,
    edits: Vec<Edit>,
    opts: CommitOptions,
) -> Result<CommitReport, KeaError> {
    rt().block_on(commit(svc, &edits, &opts))
}

fn commit_one(svc: &Service, edit: Edit) -> Result<CommitReport, KeaError> {
    commit_with(svc, vec![edit], CommitOptions::default())
}

fn expect_err<T: std::fmt::Debug>(r: Result<T, KeaError>) -> KeaError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The commands that change something, in order.
fn mutating(double: &Kea3Double) -> Vec<String> {
    double
        .commands()
        .into_iter()
        .filter(|c| !READS.contains(&c.as_str()))
        .collect()
}

/// The arguments of every request of `command`, in order.
fn sent(double: &Kea3Double, command: &str) -> Vec<Value> {
    double
        .requests()
        .iter()
        .filter(|r| r.command() == Some(command))
        .map(|r| r.body.as_ref().unwrap()["arguments"].clone())
        .collect()
}

/// Strips the trailing ` (<string>:LINE:COL)` of a Kea error text.
fn without_position(text: &str) -> &str {
    text.rfind(" (<string>:").map_or(text, |i| &text[..i])
}

// --- The stateful double answers like the recording -------------------------------------------

#[test]
fn the_stateful_double_replays_the_recorded_dhcp4_session_in_order() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let creds = Some((USER, PASSWORD));
    let initial_hash = kea3::recorded_hash();
    let mut checked = 0;
    for e in kea3::transcript().iter().filter(|e| e.via == "http4") {
        let (body, credentials) = match e.case.as_str() {
            "no credentials" => (kea3::recorded_request_text(&e.case), None),
            "wrong password" => (kea3::recorded_request_text(&e.case), Some((USER, "wrong"))),
            "garbage body" => ("this is {not JSON".to_string(), creds),
            // The exact bytes the recording client sent: Kea's texts give positions in them.
            _ => (kea3::recorded_request_text(&e.case), creds),
        };
        let (status, text) = double.post_raw(&body, credentials);
        assert_eq!(
            Some(status),
            e.http_status,
            "HTTP status of case {}",
            e.case
        );
        let got: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("case {}: not JSON ({err}): {text}", e.case));
        checked += 1;
        match e.case.as_str() {
            // The recording kept only the keys and the hash; the configuration is the one
            // the recording client sent back with config-set (its config-get answer).
            "config-get keys" => {
                let a = &got[0]["arguments"];
                let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
                assert_eq!(keys, ["Dhcp4", "hash"]);
                assert_eq!(a["hash"], e.response["hash"]);
                assert_eq!(
                    a["Dhcp4"],
                    kea3::recorded_arguments("config-set without hash")["Dhcp4"],
                    "config-get shows the startup configuration with the echoed values"
                );
            }
            // Kea counted the position in a request holding the lab's real run directory
            // where the recording has `<RUN_DIR>`: the text is the same, the position is the
            // one of the library string in the bytes actually sent.
            "config-test hook outside hooks dir" => {
                let (g, w) = (
                    got[0]["text"].as_str().unwrap(),
                    e.response[0]["text"].as_str().unwrap(),
                );
                assert_eq!(got[0]["result"], 1);
                assert_eq!(without_position(g), without_position(w));
                let offset = body.find("\"/tmp/libevil.so\"").unwrap() + 1;
                assert!(g.ends_with(&format!("(<string>:1:{offset})")), "{g}");
            }
            // Another configuration than the lab's (directories differ): another hash, but a
            // real one, and the one config-get reports.
            "config-hash-get after changes" => {
                let h = got[0]["arguments"]["hash"].as_str().unwrap();
                assert_eq!(got[0]["result"], 0);
                assert_eq!(h.len(), 64);
                assert!(
                    h.chars()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
                    "{h}"
                );
                assert_ne!(h, initial_hash);
                assert_eq!(double.direct("config-get", None)["arguments"]["hash"], h);
            }
            _ => assert_eq!(got, e.response, "answer of case {}", e.case),
        }
    }
    assert_eq!(
        checked,
        kea3::transcript()
            .iter()
            .filter(|e| e.via == "http4")
            .count()
    );
    assert!(checked >= 60, "only {checked} cases");
    // What the recorded daemon listed at the end (over its UNIX socket): the same subnets.
    assert_eq!(
        double.direct("subnet4-list", None),
        kea3::recorded("unix: subnet4-list").response
    );
    // The two config-writes of the recording were counted.
    assert_eq!(double.written().len(), 2);
}

#[test]
fn the_stateful_double_checks_what_the_recording_shows_and_kea_s_source_adds() {
    let double = stateful();
    // Inherited values are echoed; min/max follow a subnet's own valid-lifetime.
    let s1 = double.subnet(1).unwrap();
    assert_eq!(
        (
            &s1["valid-lifetime"],
            &s1["min-valid-lifetime"],
            &s1["t1-percent"]
        ),
        (&json!(4000), &json!(4000), &json!(0.5))
    );
    assert!(
        double
            .stored_subnet(1)
            .unwrap()
            .get("valid-lifetime")
            .is_none()
    );
    assert!(
        s1.get("reservations").is_none(),
        "subnet4-get shows no reservations"
    );
    assert_eq!(
        double.running_config()["Dhcp4"]["subnet4"][0]["reservations"],
        json!([])
    );
    // A range that is a prefix is shown as one; it is matched whatever its spelling.
    let add = double.direct(
        "subnet4-delta-add",
        Some(json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.224 - 192.0.2.239"}]}]})),
    );
    assert_eq!(add["result"], 0, "{add}");
    assert_eq!(
        double.subnet(1).unwrap()["pools"][1]["pool"],
        "192.0.2.224/28"
    );
    let del = double.direct(
        "subnet4-delta-del",
        Some(json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.224-192.0.2.239"}]}]})),
    );
    assert_eq!(del["result"], 0, "{del}");
    assert_eq!(
        double.subnet(1).unwrap()["pools"].as_array().unwrap().len(),
        1
    );
    // Options by code+space or by name.
    double.direct(
        "subnet4-delta-add",
        Some(json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "option-data": [{"name": "routers", "data": "192.0.2.1"}]}]})),
    );
    assert_eq!(
        double.subnet(1).unwrap()["option-data"][0],
        json!({"always-send": false, "code": 3, "csv-format": true, "data": "192.0.2.1",
               "name": "routers", "never-send": false, "space": "dhcp4"})
    );
    double.direct(
        "subnet4-delta-del",
        Some(
            json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "option-data": [{"code": 3}]}]}),
        ),
    );
    assert_eq!(double.subnet(1).unwrap()["option-data"], json!([]));
    // Kea 3.2 refuses reservations in subnet commands, even an empty list.
    let upd = double.direct(
        "subnet4-update",
        Some(json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "reservations": []}]})),
    );
    assert_eq!(
        upd,
        json!({"result": 1, "text": "must not specify host reservations with 'subnet4-update'."})
    );
    // Class tests: parse errors with the parser's locations; member() of an unknown class.
    let bad = double.direct(
        "class-add",
        Some(json!({"client-classes": [{"name": "x", "test": "(option[60].hex == 'a'"}]})),
    );
    assert_eq!(bad["result"], 1);
    assert!(
        bad["text"].as_str().unwrap().starts_with(
            "expression: [(option[60].hex == 'a'] error: <string>:1.23: syntax error, unexpected end of file at (<string>:1:"
        ),
        "{bad}"
    );
    let unknown = double.direct(
        "class-add",
        Some(json!({"client-classes": [{"name": "x", "test": "member('ghost')"}]})),
    );
    assert!(
        unknown["text"].as_str().unwrap().starts_with(
            "expression: [member('ghost')] error: <string>:1.8-14: Not defined client class 'ghost' at ("
        ),
        "{unknown}"
    );
    let param = double.direct(
        "class-add",
        Some(json!({"client-classes": [{"name": "x", "comment": "c"}]})),
    );
    assert_eq!(
        param,
        json!({"result": 1, "text": "unsupported client class parameter 'comment'"})
    );
    assert_eq!(
        double.direct("class-list", None)["result"],
        3,
        "nothing was added"
    );
    // The hash follows the configuration: back to the startup one after the changes
    // above were undone, another one after a lasting change.
    let h0 = double.direct("config-hash-get", None)["arguments"]["hash"].clone();
    assert_eq!(h0, kea3::recorded_hash());
    let ok = double.direct(
        "class-add",
        Some(json!({"client-classes": [{"name": "ok", "test": "member('KNOWN')"}]})),
    );
    assert_eq!(ok, json!({"result": 0, "text": "Class 'ok' added"}));
    let h1 = double.direct("config-hash-get", None)["arguments"]["hash"].clone();
    assert_ne!(h1, h0, "the configuration changed");
    assert_eq!(
        h1,
        kea3::sha256_hex(kea3::kea_json(&double.running_config()).as_bytes())
    );
    // config-set and config-write as recorded.
    let cfg = double.running_config();
    let mut with_hash = cfg.clone();
    with_hash["hash"] = h1.clone();
    assert_eq!(
        double.direct("config-set", Some(with_hash)),
        json!({"result": 1, "text": "Unsupported 'hash' parameter."})
    );
    let set = double.direct("config-set", Some(cfg));
    assert_eq!(
        (&set["result"], &set["text"]),
        (&json!(0), &json!("Configuration successful."))
    );
    assert_eq!(
        set["arguments"]["hash"], h1,
        "the same configuration has the same hash"
    );
    assert_eq!(
        double.direct("config-test", Some(double.running_config()))["text"],
        kea3::state::CONFIG_TEST_OK
    );
    assert!(double.written().is_empty());
    let w = double.direct("config-write", None);
    assert_eq!(
        w["text"],
        "Configuration written to <RUN_DIR>/kea-dhcp4.json successful"
    );
    assert_eq!(double.written(), [double.running_config()]);
    // SHA-256 itself (FIPS 180-4 test vector).
    assert_eq!(
        kea3::sha256_hex(b"abc"),
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
    );
}

// --- keascript on the hook path ---------------------------------------------------------------

#[test]
fn a_single_add_subnet_goes_as_subnet4_add_then_config_write() {
    let double = stateful();
    let svc = service(&double);
    let caps = rt().block_on(svc.capabilities()).expect("capabilities");
    assert!(caps.subnet_cmds && caps.class_cmds, "{caps:?}");
    double.clear_requests();
    let report = commit_one(
        &svc,
        Edit::AddSubnet(m(json!({
            "subnet": "10.20.0.0/24",
            "pools": ["10.20.0.10 - 10.20.0.99"],
            "option-data": [{"name": "routers", "data": "10.20.0.1"}]
        }))),
    )
    .expect("add_subnet");
    assert!(report.changed);
    assert_eq!(report.results[0]["id"], 2, "the next free id");
    assert_eq!(
        double.commands(),
        [
            // Which daemon it is (asked once per handle): its lock and journal records.
            "status-get",
            "config-get",
            // The server's Kea version (asked once per handle): it decides how class keys
            // are spelled and which path rules apply.
            "version-get",
            "list-commands",
            "status-get",
            "config-hash-get",
            "subnet4-add",
            "config-write"
        ],
        "one subnet4-add, no config-set (after checking, once per server, that it can write its file, and that nobody changed the server meanwhile)"
    );
    assert!(
        report.commands[0].starts_with("subnet4-add (dhcp4) "),
        "{:?}",
        report.commands
    );
    let add = &sent(&double, "subnet4-add")[0];
    assert_eq!(add["subnet4"].as_array().unwrap().len(), 1);
    let s = &add["subnet4"][0];
    assert_eq!(
        (&s["id"], &s["subnet"]),
        (&json!(2), &json!("10.20.0.0/24"))
    );
    assert_eq!(s["pools"], json!([{"pool": "10.20.0.10-10.20.0.99"}]));
    // The double has it, with what it inherits echoed.
    let got = double.subnet(2).expect("subnet 2 on the server");
    assert_eq!(got["subnet"], "10.20.0.0/24");
    assert_eq!(got["pools"][0]["pool"], "10.20.0.10-10.20.0.99");
    assert_eq!(got["option-data"][0]["code"], 3);
    assert_eq!(got["valid-lifetime"], 4000);
    let listed = double.direct("subnet4-list", None);
    assert_eq!(
        listed["arguments"]["subnets"][1],
        json!({"id": 2, "shared-network-name": null, "subnet": "10.20.0.0/24"})
    );
    // …and config-write persisted that configuration.
    assert_eq!(double.written(), [double.running_config()]);
    assert_eq!(double.written()[0]["Dhcp4"]["subnet4"][1]["id"], 2);
    // Capabilities are read once per server handle: the next edit asks no list-commands.
    double.clear_requests();
    commit_one(&svc, Edit::AddSubnet(m(json!({"subnet": "10.21.0.0/24"})))).unwrap();
    assert_eq!(
        double.commands(),
        [
            "config-get",
            "config-hash-get",
            "subnet4-add",
            "config-write"
        ]
    );
    assert_eq!(sent(&double, "subnet4-add")[0]["subnet4"][0]["id"], 3);
}

#[test]
fn pools_and_subnet_options_go_as_deltas_naming_only_them() {
    let double = stateful();
    let svc = service(&double);
    let s1 = SubnetKey::Id(1);
    let ident = json!({"id": 1, "subnet": "192.0.2.0/24"});
    let with = |key: &str, items: Value| {
        let mut v = ident.clone();
        v[key] = items;
        json!({ "subnet4": [v] })
    };

    commit_one(
        &svc,
        Edit::AddPool(s1.clone(), "192.0.2.210-192.0.2.220".into(), Map::new()),
    )
    .unwrap();
    assert_eq!(
        sent(&double, "subnet4-delta-add"),
        [with("pools", json!([{"pool": "192.0.2.210-192.0.2.220"}]))]
    );
    let pools = double.subnet(1).unwrap()["pools"].clone();
    assert_eq!(pools.as_array().unwrap().len(), 2, "{pools}");
    assert_eq!(
        pools[0]["pool"], "192.0.2.10-192.0.2.200",
        "the other pool is kept"
    );

    double.clear_requests();
    commit_one(
        &svc,
        Edit::SetOption(
            OptionScope::Subnet(s1.clone()),
            m(json!({"name": "domain-name-servers", "data": "192.0.2.53"})),
        ),
    )
    .unwrap();
    let delta = &sent(&double, "subnet4-delta-add")[0]["subnet4"][0];
    let keys: Vec<&String> = delta.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "option-data", "subnet"], "{delta}");
    assert_eq!(delta["option-data"][0]["data"], "192.0.2.53");
    let o = &double.subnet(1).unwrap()["option-data"][0];
    assert_eq!((&o["code"], &o["data"]), (&json!(6), &json!("192.0.2.53")));

    double.clear_requests();
    commit_one(
        &svc,
        Edit::DeletePool(s1.clone(), "192.0.2.210 - 192.0.2.220".into()),
    )
    .unwrap();
    assert_eq!(
        sent(&double, "subnet4-delta-del"),
        [with("pools", json!([{"pool": "192.0.2.210-192.0.2.220"}]))]
    );
    let after = double.subnet(1).unwrap();
    assert_eq!(after["pools"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["option-data"].as_array().unwrap().len(),
        1,
        "the option is kept"
    );

    // A range that is a prefix comes back from Kea as one, and is still found.
    commit_one(
        &svc,
        Edit::AddPool(s1.clone(), "192.0.2.224-192.0.2.239".into(), Map::new()),
    )
    .unwrap();
    assert_eq!(
        double.subnet(1).unwrap()["pools"][1]["pool"],
        "192.0.2.224/28"
    );
    double.clear_requests();
    commit_one(
        &svc,
        Edit::DeletePool(s1.clone(), "192.0.2.224-192.0.2.239".into()),
    )
    .unwrap();
    assert_eq!(
        sent(&double, "subnet4-delta-del"),
        [with("pools", json!([{"pool": "192.0.2.224/28"}]))]
    );
    assert_eq!(
        double.subnet(1).unwrap()["pools"].as_array().unwrap().len(),
        1
    );

    double.clear_requests();
    commit_one(
        &svc,
        Edit::DeleteOption(
            OptionScope::Subnet(s1),
            NameOrCode::Name("domain-name-servers".into()),
            None,
        ),
    )
    .unwrap();
    let del = &sent(&double, "subnet4-delta-del")[0]["subnet4"][0];
    assert_eq!(del["option-data"][0]["code"], 6, "{del}");
    assert!(del.get("pools").is_none(), "{del}");
    assert_eq!(double.subnet(1).unwrap()["option-data"], json!([]));
    assert_eq!(mutating(&double), ["subnet4-delta-del", "config-write"]);
    // Nothing went by config-set, and each change was written.
    assert_eq!(double.written().len(), 6);
    assert!(!double.commands().contains(&"config-set".to_string()));
}

/// The subnet `update_subnet` sends with `subnet4-update` (which replaces the whole subnet):
/// every pool, the subnet's own values, none of the values Kea echoed into it.
#[test]
fn update_subnet_sends_subnet4_update_with_every_pool_and_only_owned_values() {
    let double = stateful();
    let svc = service(&double);
    commit_one(
        &svc,
        Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.210-192.0.2.220".into(),
            Map::new(),
        ),
    )
    .unwrap();
    double.clear_requests();
    // The outcome is checked by the ignored test below (Kea 3.2 refuses this request today).
    let _ = commit_one(
        &svc,
        Edit::UpdateSubnet(SubnetKey::Id(1), m(json!({"valid-lifetime": 600}))),
    );
    assert_eq!(mutating(&double)[0], "subnet4-update");
    assert!(!double.commands().contains(&"config-set".to_string()));
    let s = sent(&double, "subnet4-update")[0]["subnet4"][0].clone();
    let pools: Vec<&str> = s["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pool"].as_str().unwrap())
        .collect();
    assert_eq!(
        pools,
        ["192.0.2.10-192.0.2.200", "192.0.2.210-192.0.2.220"],
        "no pool lost"
    );
    assert_eq!(s["valid-lifetime"], 600);
    assert_eq!(
        s["user-context"]["keascript-own"],
        json!(["valid-lifetime"])
    );
    for echoed in kea3::state::ECHOED
        .iter()
        .chain(&["min-valid-lifetime", "max-valid-lifetime"])
    {
        if *echoed != "valid-lifetime" {
            assert!(
                s.get(*echoed).is_none(),
                "the echoed {echoed} was sent back: {s}"
            );
        }
    }
}

#[test]
fn update_subnet_by_subnet4_update_keeps_pools_and_inheritance() {
    let double = stateful();
    let svc = service(&double);
    commit_one(
        &svc,
        Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.210-192.0.2.220".into(),
            Map::new(),
        ),
    )
    .unwrap();
    commit_one(&svc, Edit::AddSubnet(m(json!({"subnet": "10.20.0.0/24"})))).unwrap();
    double.clear_requests();
    commit_one(
        &svc,
        Edit::UpdateSubnet(SubnetKey::Id(1), m(json!({"valid-lifetime": 600}))),
    )
    .expect("update_subnet");
    assert_eq!(mutating(&double), ["subnet4-update", "config-write"]);
    let s1 = double.subnet(1).unwrap();
    assert_eq!(
        s1["pools"].as_array().unwrap().len(),
        2,
        "no pool lost: {s1}"
    );
    assert_eq!(
        (&s1["valid-lifetime"], &s1["max-valid-lifetime"]),
        (&json!(600), &json!(600))
    );
    let stored = double.stored_subnet(1).unwrap();
    assert!(
        stored.get("t1-percent").is_none(),
        "an echoed value became explicit: {stored}"
    );
    // A later server-level change goes by config-set and reaches the subnet without its own.
    double.clear_requests();
    commit_one(&svc, Edit::Set(m(json!({"valid-lifetime": 7200})))).unwrap();
    assert_eq!(mutating(&double), ["config-set", "config-write"]);
    assert_eq!(double.subnet(1).unwrap()["valid-lifetime"], 600);
    assert_eq!(double.subnet(2).unwrap()["valid-lifetime"], 7200);
    // Assigning a class to a pool goes the same way.
    commit_one(&svc, Edit::AddClass(m(json!({"name": "voip"})))).unwrap();
    double.clear_requests();
    commit_one(
        &svc,
        Edit::AssignClass(
            SubnetKey::Id(1),
            Some("192.0.2.210-192.0.2.220".into()),
            "voip".into(),
        ),
    )
    .expect("assign_class");
    assert_eq!(mutating(&double), ["subnet4-update", "config-write"]);
    assert_eq!(
        double.subnet(1).unwrap()["pools"][1]["client-classes"],
        json!(["voip"])
    );
}

#[test]
fn a_global_change_by_config_set_reaches_scopes_without_their_own_value() {
    let double = stateful();
    let svc = service(&double);
    // A subnet whose valid_lifetime keascript set, equal to the server's: its own.
    commit_one(
        &svc,
        Edit::AddSubnet(m(json!({"subnet": "10.30.0.0/24", "valid-lifetime": 4000}))),
    )
    .unwrap();
    let add = &sent(&double, "subnet4-add")[0]["subnet4"][0];
    assert_eq!(add["valid-lifetime"], 4000);
    // Hook commands on the other subnet freeze nothing.
    commit_one(
        &svc,
        Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.210-192.0.2.220".into(),
            Map::new(),
        ),
    )
    .unwrap();
    double.clear_requests();
    let report = commit_one(&svc, Edit::Set(m(json!({"valid-lifetime": 7200})))).unwrap();
    assert_eq!(
        mutating(&double),
        ["config-set", "config-write"],
        "settings have no hook command"
    );
    assert_eq!(
        report.commands[0],
        "config-set (dhcp4, whole configuration)"
    );
    let set = &sent(&double, "config-set")[0]["Dhcp4"];
    assert_eq!(set["valid-lifetime"], 7200);
    let sent_subnet1 = set["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == 1)
        .unwrap();
    assert!(
        sent_subnet1.get("valid-lifetime").is_none(),
        "{sent_subnet1}"
    );
    let s1 = double.subnet(1).unwrap();
    assert_eq!(
        (
            &s1["valid-lifetime"],
            &s1["min-valid-lifetime"],
            &s1["max-valid-lifetime"]
        ),
        (&json!(7200), &json!(7200), &json!(7200)),
        "the server-level change reached subnet 1"
    );
    assert_eq!(s1["pools"].as_array().unwrap().len(), 2);
    let own = double.subnet(2).unwrap();
    assert_eq!(
        (
            &own["valid-lifetime"],
            &own["min-valid-lifetime"],
            &own["max-valid-lifetime"]
        ),
        (&json!(4000), &json!(4000), &json!(4000)),
        "the subnet's own value stayed"
    );
}

#[test]
fn keascript_refuses_overlaps_and_undefined_classes_that_kea_3_2_accepts() {
    let double = stateful();
    let svc = service(&double);
    let e = expect_err(commit_one(
        &svc,
        Edit::AddSubnet(m(json!({"subnet": "192.0.2.0/25"}))),
    ));
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert!(e.message.contains("overlaps"), "{e}");
    assert!(e.message.contains("192.0.2.0/24"), "{e}");
    let e = expect_err(commit_one(
        &svc,
        Edit::AddSubnet(m(json!({"subnet": "10.40.0.0/24", "client-class": "nope"}))),
    ));
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert!(e.message.contains("\"nope\""), "{e}");
    assert_eq!(mutating(&double), Vec::<String>::new(), "nothing was sent");
    assert!(sent(&double, "subnet4-add").is_empty());
    assert!(double.written().is_empty());
    // The server would have taken both.
    for (id, extra) in [
        (12, json!({"subnet": "192.0.2.0/25"})),
        (
            15,
            json!({"subnet": "10.40.0.0/24", "client-class": "nope"}),
        ),
    ] {
        let mut s = extra;
        s["id"] = json!(id);
        let a = double.direct("subnet4-add", Some(json!({ "subnet4": [s] })));
        assert_eq!(a["text"], "IPv4 subnet added", "{a}");
    }
}

#[test]
fn deleting_a_class_a_pool_still_names_is_refused_before_anything_is_sent() {
    let double = stateful();
    let svc = service(&double);
    commit_one(
        &svc,
        Edit::AddClass(m(
            json!({"name": "voip", "test": "option[60].hex == 'Cisco'"}),
        )),
    )
    .unwrap();
    commit_one(
        &svc,
        Edit::AddSubnet(m(json!({
            "subnet": "10.50.0.0/24",
            "pools": [{"pool": "10.50.0.10-10.50.0.20", "client-class": "voip"}]
        }))),
    )
    .unwrap();
    // Kea 3.2 shows the pool's class as a list; keascript still sees it.
    assert_eq!(
        double.subnet(2).unwrap()["pools"][0]["client-classes"],
        json!(["voip"])
    );
    double.clear_requests();
    let e = expect_err(commit_one(&svc, Edit::DeleteClass("voip".into())));
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert!(
        e.message
            .contains("pool 10.50.0.10-10.50.0.20 of subnet 10.50.0.0/24"),
        "{e}"
    );
    assert!(sent(&double, "class-del").is_empty(), "class-del was sent");
    assert_eq!(mutating(&double), Vec::<String>::new());
    assert!(double.class("voip").is_some());
}

#[test]
fn deleting_a_class_a_subnet_evaluates_is_refused() {
    let double = stateful();
    let svc = service(&double);
    commit_one(
        &svc,
        Edit::AddClass(m(json!({"name": "voip", "only-in-additional-list": true}))),
    )
    .unwrap();
    let a = double.direct(
        "subnet4-delta-add",
        Some(json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "evaluate-additional-classes": ["voip"]}]})),
    );
    assert_eq!(a["result"], 0, "{a}");
    double.clear_requests();
    let e = expect_err(commit_one(&svc, Edit::DeleteClass("voip".into())));
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert!(e.message.contains("192.0.2.0/24"), "{e}");
    assert!(sent(&double, "class-del").is_empty(), "class-del was sent");
    assert!(double.class("voip").is_some());
}

#[test]
fn class_changes_go_as_class_commands() {
    let double = stateful();
    let svc = service(&double);
    let test = "substring(option[60].hex,0,4) == 'Cisc'";
    commit_one(
        &svc,
        Edit::AddClass(m(json!({
            "name": "voip", "test": test, "next-server": "10.0.0.5", "description": "phones"
        }))),
    )
    .unwrap();
    assert_eq!(mutating(&double), ["class-add", "config-write"]);
    let c = double.class("voip").expect("the class");
    assert_eq!(
        (&c["test"], &c["next-server"]),
        (&json!(test), &json!("10.0.0.5"))
    );
    assert_eq!(c["user-context"]["description"], "phones");

    double.clear_requests();
    commit_one(
        &svc,
        Edit::UpdateClass("voip".into(), m(json!({"boot-file-name": "boot2.bin"}))),
    )
    .unwrap();
    assert_eq!(mutating(&double), ["class-update", "config-write"]);
    let upd = &sent(&double, "class-update")[0]["client-classes"];
    assert_eq!(upd.as_array().unwrap().len(), 1);
    assert_eq!(
        upd[0]["test"], test,
        "class-update replaces the class: the test is sent too"
    );
    let c = double.class("voip").unwrap();
    assert_eq!(
        (&c["boot-file-name"], &c["test"]),
        (&json!("boot2.bin"), &json!(test))
    );

    double.clear_requests();
    commit_one(
        &svc,
        Edit::SetOption(
            OptionScope::Class("voip".into()),
            m(json!({"name": "domain-name-servers", "data": "10.0.0.53"})),
        ),
    )
    .unwrap();
    assert_eq!(mutating(&double), ["class-update", "config-write"]);
    assert_eq!(double.class("voip").unwrap()["option-data"][0]["code"], 6);

    double.clear_requests();
    commit_one(&svc, Edit::DeleteClass("voip".into())).unwrap();
    assert_eq!(mutating(&double), ["class-del", "config-write"]);
    assert_eq!(sent(&double, "class-del"), [json!({"name": "voip"})]);
    assert!(double.class("voip").is_none());
    assert!(!double.commands().contains(&"config-set".to_string()));
    assert_eq!(double.written().len(), 4);
}

#[test]
fn a_bad_class_test_comes_back_as_kea_s_error() {
    let double = stateful();
    let svc = service(&double);
    for (test, column) in [
        ("option[60].hex == ", 19),
        ("substring(option[60].hex,0,4 == 'Cisc'", 39),
    ] {
        double.clear_requests();
        let e = expect_err(commit_one(
            &svc,
            Edit::AddClass(m(json!({"name": "bad", "test": test}))),
        ));
        assert_eq!(e.kind, ErrorKind::Kea, "{e}");
        assert_eq!(e.code, Some(1));
        assert_eq!(e.command.as_deref(), Some("class-add"));
        // The parser's text, with the position of the test in the request keascript sent.
        let raw = double.requests().last().unwrap().raw.clone();
        let pos = jsonpos::kea_position(
            &raw,
            &[
                jsonpos::Seg::Key("arguments"),
                jsonpos::Seg::Key("client-classes"),
                jsonpos::Seg::Index(0),
                jsonpos::Seg::Key("test"),
            ],
        );
        assert_eq!(
            e.message,
            format!(
                "expression: [{test}] error: <string>:1.{column}: syntax error, unexpected end of file at ({pos})"
            )
        );
        assert_eq!(
            mutating(&double),
            ["class-add"],
            "nothing written after a refusal"
        );
        assert!(double.class("bad").is_none());
    }
    // The same text as the recorded Kea 3.2 answer, but for the position in the request.
    let e = expect_err(commit_one(
        &svc,
        Edit::AddClass(m(json!({"name": "bad", "test": "option[60].hex == "}))),
    ));
    assert_eq!(
        without_position(&e.message),
        without_position(kea3::recorded_text("class-add bad expression"))
    );
}

#[test]
fn without_the_hooks_the_same_edits_go_by_config_set() {
    let double = Kea3Double::start(Kea3Options::dhcp4().stateful().without_hooks());
    let svc = service(&double);
    let caps = rt().block_on(svc.capabilities()).unwrap();
    assert!(!caps.subnet_cmds && !caps.class_cmds, "{caps:?}");
    for e in [
        Edit::AddSubnet(m(json!({"subnet": "10.20.0.0/24"}))),
        Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.210-192.0.2.220".into(),
            Map::new(),
        ),
        Edit::AddClass(m(json!({"name": "voip"}))),
    ] {
        double.clear_requests();
        let r = commit_one(&svc, e).unwrap();
        assert_eq!(r.commands[0], "config-set (dhcp4, whole configuration)");
        assert_eq!(mutating(&double), ["config-set", "config-write"]);
    }
    assert_eq!(double.subnet(2).unwrap()["subnet"], "10.20.0.0/24");
    assert_eq!(
        double.subnet(1).unwrap()["pools"].as_array().unwrap().len(),
        2
    );
    assert!(double.class("voip").is_some());
    // Such a daemon has no subnet4-add.
    let a = double.direct(
        "subnet4-add",
        Some(json!({"subnet4": [{"id": 9, "subnet": "10.9.0.0/24"}]})),
    );
    assert_eq!(
        a,
        json!({"result": 2, "text": "'subnet4-add' command not supported."})
    );
}

#[test]
fn a_transaction_is_one_config_set_even_with_the_hooks() {
    let double = stateful();
    let svc = service(&double);
    let report = commit_with(
        &svc,
        vec![
            Edit::AddSubnet(m(
                json!({"subnet": "10.70.0.0/24", "pools": ["10.70.0.10-10.70.0.99"]}),
            )),
            Edit::AddPool(
                SubnetKey::Id(1),
                "192.0.2.210-192.0.2.220".into(),
                Map::new(),
            ),
            Edit::AddClass(m(
                json!({"name": "printers", "test": "option[60].hex == 'HP'"}),
            )),
        ],
        CommitOptions::default(),
    )
    .unwrap();
    assert_eq!(report.commands.len(), 2, "{:?}", report.commands);
    assert_eq!(mutating(&double), ["config-set", "config-write"]);
    assert_eq!(double.subnet(2).unwrap()["subnet"], "10.70.0.0/24");
    assert_eq!(
        double.subnet(1).unwrap()["pools"].as_array().unwrap().len(),
        2
    );
    assert!(double.class("printers").is_some());
    // Sent back without the echoed values: the subnets still inherit.
    assert!(
        double
            .stored_subnet(1)
            .unwrap()
            .get("valid-lifetime")
            .is_none()
    );
}

#[test]
fn a_dry_run_sends_only_reads() {
    let double = stateful();
    let svc = service(&double);
    let before = double.stored_config();
    let dry = CommitOptions {
        dry_run: true,
        ..Default::default()
    };
    let edits = [
        Edit::AddSubnet(m(json!({"subnet": "10.20.0.0/24"}))),
        Edit::AddPool(
            SubnetKey::Id(1),
            "192.0.2.210-192.0.2.220".into(),
            Map::new(),
        ),
        Edit::UpdateSubnet(SubnetKey::Id(1), m(json!({"valid-lifetime": 600}))),
        Edit::AddClass(m(json!({"name": "voip"}))),
        Edit::DeleteSubnet(SubnetKey::Id(1)),
        Edit::Set(m(json!({"valid-lifetime": 7200}))),
    ];
    let mut planned = Vec::new();
    for e in edits {
        let r = commit_with(&svc, vec![e], dry).unwrap();
        assert!(r.dry_run && r.changed);
        assert_eq!(r.verdict.as_deref(), Some(kea3::state::CONFIG_TEST_OK));
        planned.push(r.commands[0].split(' ').next().unwrap().to_string());
    }
    assert_eq!(
        planned,
        [
            "subnet4-add",
            "subnet4-delta-add",
            "subnet4-update",
            "class-add",
            "subnet4-del",
            "config-set"
        ]
    );
    for c in double.commands() {
        assert!(
            [
                "status-get",
                "config-get",
                "version-get",
                "list-commands",
                "config-test"
            ]
            .contains(&c.as_str()),
            "a dry run sent {c}"
        );
    }
    assert_eq!(double.stored_config(), before);
    assert!(double.written().is_empty());
}

// --- Scripts through the binary ---------------------------------------------------------------

/// An inventory with one daemon-HTTP server `k3` on the double (basic auth).
fn inventory(dir: &Path, double: &Kea3Double, extra: &str) -> std::path::PathBuf {
    let pass = dir.join("api.pass");
    std::fs::write(&pass, format!("{PASSWORD}\n")).unwrap();
    let inv = dir.join("inventory.toml");
    std::fs::write(
        &inv,
        format!(
            "default = \"k3\"\n\n[servers.k3]\ndhcp4 = \"{}\"\nuser = \"{USER}\"\npassword_file = \"{}\"\n{extra}",
            double.url(),
            pass.display()
        ),
    )
    .unwrap();
    inv
}

/// Runs a script with the binary against `inventory`; returns (status, stdout, stderr).
fn run(dir: &Path, inventory: &Path, text: &str, dry_run: bool) -> (i32, String, String) {
    let path = script(dir, "test.rhai", text);
    let mut cmd = keascript();
    cmd.env("KEASCRIPT_STATE_DIR", dir.join("state"))
        .arg("--config")
        .arg(inventory)
        .arg("run");
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd
        .arg(&path)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run keascript");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SCRIPT_EDITS: &str = r#"
let v4 = kea().dhcp4;
let caps = v4.capabilities();
print(`hooks=${caps.subnet_cmds},${caps.class_cmds}`);
let s = v4.add_subnet(#{ subnet: "10.60.0.0/24", pools: ["10.60.0.10-10.60.0.99"] });
print(`id=${s.id}`);
v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
v4.add_class(#{ name: "voip", test: "option[60].hex == 'Cisco'", description: "phones" });
"#;

#[test]
fn script_edits_use_the_hooks_and_persist() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &double, "");
    let (code, stdout, stderr) = run(dir.path(), &inv, SCRIPT_EDITS, false);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["hooks=true,true", "id=2"]
    );
    assert_eq!(
        mutating(&double),
        [
            "subnet4-add",
            "config-write",
            "subnet4-delta-add",
            "config-write",
            "class-add",
            "config-write"
        ]
    );
    assert!(
        double
            .requests()
            .iter()
            .all(|r| r.user.as_deref() == Some(USER))
    );
    assert_eq!(double.subnet(2).unwrap()["subnet"], "10.60.0.0/24");
    assert_eq!(
        double.class("voip").unwrap()["user-context"]["description"],
        "phones"
    );
}

#[test]
fn config_path_only_in_the_inventory_uses_config_set_despite_the_hooks() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &double, "config_path_only = true\n");
    let (code, stdout, stderr) = run(dir.path(), &inv, SCRIPT_EDITS, false);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["hooks=true,true", "id=2"]
    );
    assert_eq!(
        mutating(&double),
        [
            "config-set",
            "config-write",
            "config-set",
            "config-write",
            "config-set",
            "config-write"
        ]
    );
    assert_eq!(
        double.subnet(2).unwrap()["pools"][0]["pool"],
        "10.60.0.10-10.60.0.99"
    );
    assert_eq!(
        double.subnet(1).unwrap()["pools"].as_array().unwrap().len(),
        2
    );
    assert!(double.class("voip").is_some());
}

#[test]
fn script_transaction_is_one_config_set() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &double, "");
    let text = r#"
let v4 = kea().dhcp4;
let tx = v4.begin();
tx.add_subnet(#{ subnet: "10.70.0.0/24", pools: ["10.70.0.10-10.70.0.99"] });
tx.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
tx.add_class(#{ name: "printers", test: "option[60].hex == 'HP'" });
tx.set_option("10.70.0.0/24", "routers", "10.70.0.1");
print(`committed=${tx.commit()}`);
"#;
    let (code, stdout, stderr) = run(dir.path(), &inv, text, false);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout.trim(), "committed=true");
    assert_eq!(mutating(&double), ["config-set", "config-write"]);
    let s2 = double.subnet(2).unwrap();
    assert_eq!(s2["option-data"][0]["name"], "routers");
    assert!(double.class("printers").is_some());
}

#[test]
fn script_dry_run_sends_no_mutating_command() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &double, "");
    let before = double.stored_config();
    let text = r#"
let v4 = kea().dhcp4;
v4.add_subnet(#{ subnet: "10.60.0.0/24" });
v4.add_pool("192.0.2.0/24", "192.0.2.210-192.0.2.220");
v4.update_subnet("192.0.2.0/24", #{ valid_lifetime: 600 });
v4.add_class(#{ name: "voip" });
v4.set(#{ valid_lifetime: 7200 });
let tx = v4.begin();
tx.add_pool("192.0.2.0/24", "192.0.2.230-192.0.2.240");
tx.add_class(#{ name: "printers" });
tx.commit();
print(`dry=${is_dry_run()}`);
"#;
    let (code, stdout, stderr) = run(dir.path(), &inv, text, true);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("dry=true"), "{stdout}");
    for c in [
        "subnet4-add",
        "subnet4-delta-add",
        "subnet4-update",
        "class-add",
        "config-set",
    ] {
        assert!(
            stdout.contains(&format!("would send {c}")),
            "no {c} planned:\n{stdout}"
        );
    }
    // One plan at the end: each step saw the ones before it (the transaction's pool and
    // class land on the staged configuration).
    assert_eq!(
        stdout.matches("Plan: ").count(),
        1,
        "one plan for k3/dhcp4:\n{stdout}"
    );
    assert!(
        stdout.contains("Plan: 5 to add, 2 to change, 0 to delete on k3/dhcp4."),
        "{stdout}"
    );
    for c in double.commands() {
        assert!(
            [
                "status-get",
                "config-get",
                "version-get",
                "list-commands",
                "config-test"
            ]
            .contains(&c.as_str()),
            "a dry run sent {c}"
        );
    }
    assert_eq!(double.stored_config(), before);
    assert!(double.written().is_empty());
}

#[test]
fn script_sees_kea_s_class_test_error_and_local_conflicts() {
    let double = Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).stateful());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path(), &double, "");
    let text = r#"
let v4 = kea().dhcp4;
try { v4.add_subnet(#{ subnet: "192.0.2.128/25" }); } catch (e) { print(`overlap=${error_kind(e)}`); }
try { v4.add_subnet(#{ subnet: "10.40.0.0/24", client_class: "nope" }); } catch (e) { print(`class=${error_kind(e)}`); }
v4.add_class(#{ name: "bad", test: "option[60].hex == " });
print("not reached");
"#;
    let (code, stdout, stderr) = run(dir.path(), &inv, text, false);
    assert_eq!(code, 4, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["overlap=conflict", "class=conflict"]
    );
    assert!(
        stderr.contains("expression: [option[60].hex == ] error: <string>:1.19: syntax error, unexpected end of file"),
        "{stderr}"
    );
    assert_eq!(mutating(&double), ["class-add"]);
}

#[test]
fn a_change_made_by_someone_else_before_sending_is_caught_by_the_hash() {
    let double = stateful();
    let svc = service(&double);
    double.change_before_next_hash_get(
        "subnet4-add",
        json!({"subnet4": [{"id": 40, "subnet": "10.40.0.0/24"}]}),
    );
    double.clear_requests();
    let e = commit_one(&svc, Edit::AddSubnet(m(json!({"subnet": "10.41.0.0/24"}))))
        .expect_err("the server changed between the read and the send");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("changed on the server"), "{}", e.message);
    let sent = double.commands();
    assert!(
        !sent
            .iter()
            .any(|c| c == "subnet4-add" || c == "config-set" || c == "config-write"),
        "{sent:?}"
    );
    // The next try reads the new state and goes through.
    let r = commit_one(&svc, Edit::AddSubnet(m(json!({"subnet": "10.41.0.0/24"})))).unwrap();
    assert_eq!(
        r.results[0]["id"], 41,
        "above the subnet the other admin added"
    );
}
