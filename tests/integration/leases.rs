//! Leases, statistics and the audit trail on a real Kea 2.2 lab.

use std::process::{Command, Stdio};
use std::time::Duration;

use keascript::kea::audit::{AuditEntry, AuditFilter, AuditLog};
use keascript::lab::{BIG_SUBNET, LabOptions};
use predicates::prelude::*;

use crate::support::{keascript, lab, lab_with, repo, script};

fn run_in(
    lab: &keascript::lab::Lab,
    state: &std::path::Path,
    text: &str,
) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "s.rhai", text);
    keascript()
        .env("KEASCRIPT_STATE_DIR", state)
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("--config")
        .arg(lab.inventory())
        .args(["run", "--server", "lab-unix"])
        .arg(&s)
        .timeout(Duration::from_secs(300))
        .assert()
}

#[test]
fn iterating_100k_leases_returns_each_exactly_once() {
    let Some(lab) = lab_with(LabOptions {
        leases4: 100_000,
        ..Default::default()
    }) else {
        return;
    };
    let state = tempfile::tempdir().unwrap();
    run_in(
        &lab,
        state.path(),
        &format!(
            r#"
let seen = #{{}};
let n = 0;
for l in kea().dhcp4.leases() {{
    n += 1;
    seen[l.ip_address] = true;
}}
print(`total ${{n}} distinct ${{seen.len()}}`);
let m = 0;
for l in kea().dhcp4.leases("{BIG_SUBNET}") {{ m += 1; }}
print(`in subnet ${{m}}`);
let none = 0;
for l in kea().dhcp4.leases("192.0.2.0/24") {{ none += 1; }}
print(`in the lab subnet ${{none}}`);
"#
        ),
    )
    .success()
    .stdout(predicate::str::contains("total 100000 distinct 100000"))
    .stdout(predicate::str::contains("in subnet 100000"))
    .stdout(predicate::str::contains("in the lab subnet 0"));
}

/// Peak resident memory (VmHWM, kB) of a `keascript run` that walks every lease.
fn peak_rss_walking(lab: &keascript::lab::Lab) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "walk.rhai",
        "let n = 0;\nfor l in kea().dhcp4.leases() { n += 1; }\nprint(n);\nsleep(300);\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("keascript");
    let mut child = Command::new(bin)
        .env_remove("KEASCRIPT_CONFIG")
        .env("KEASCRIPT_STATE_DIR", dir.path())
        .arg("--config")
        .arg(lab.inventory())
        .args(["run", "--server", "lab-unix"])
        .arg(&s)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(peak > 0);
    peak
}

#[test]
fn memory_does_not_grow_with_the_lease_count() {
    let Some(small) = lab_with(LabOptions {
        leases4: 10_000,
        ..Default::default()
    }) else {
        return;
    };
    let Some(big) = lab_with(LabOptions {
        leases4: 100_000,
        ..Default::default()
    }) else {
        return;
    };
    let a = peak_rss_walking(&small);
    let b = peak_rss_walking(&big);
    eprintln!("peak RSS walking 10k leases: {a} kB, 100k leases: {b} kB");
    // Ten times the leases, the same memory (a page of 1000 at a time): allow 25% noise.
    assert!(
        (b as f64) < (a as f64) * 1.25,
        "peak RSS grew from {a} kB (10k) to {b} kB (100k)"
    );
}

#[test]
fn look_ups_and_changes_are_read_back_from_kea_and_checked() {
    let Some(lab) = lab() else { return };
    let state = tempfile::tempdir().unwrap();
    run_in(
        &lab,
        state.path(),
        r#"
let v4 = kea().dhcp4;
let l = v4.add_lease(#{ ip_address: "192.0.2.50", hw_address: "1A-1B-1C-1D-1E-1F", hostname: "host50.example.org",
                        client_id: "01:1a:1b:1c:1d:1e:1f", valid_lft: 3600 });
print(`added ${l.ip_address} subnet ${l.subnet_id} mac ${l.hw_address}`);
print(`get ${v4.lease("192.0.2.50").hostname}`);
print(`by hw ${v4.leases_by_hw("1a:1b:1c:1d:1e:1f").map(|l| l.ip_address)}`);
print(`by client id ${v4.leases_by_client_id("01:1a:1b:1c:1d:1e:1f").len()}`);
print(`by hostname ${v4.leases_by_hostname("host50.example.org").len()}`);
let u = v4.update_lease(#{ ip_address: "192.0.2.50", hostname: "renamed.example.org" });
print(`updated ${u.hostname} kept mac ${u.hw_address} kept client ${u.client_id}`);
print(`read back ${v4.lease("192.0.2.50").hostname}`);
for bad in [#{ ip_address: "10.99.0.1", hw_address: "1a:1b:1c:1d:1e:1f" },
            #{ ip_address: "192.0.2.51", hw_address: "zz:1b" },
            #{ ip_address: "192.0.2.51" },
            #{ ip_address: "2001:db8::1", hw_address: "1a:1b:1c:1d:1e:1f" },
            #{ ip_address: "192.0.2.51", hw_address: "1a:1b:1c:1d:1e:1f", subnet_id: 7 }] {
    try { v4.add_lease(bad); print("accepted?!"); } catch (e) { print(`refused ${e.kind}: ${e.message}`); }
}
print(`not there ${v4.lease("192.0.2.51") == ()}`);
let d = v4.delete_lease("192.0.2.50");
print(`deleted ${d.ip_address}; now ${v4.lease("192.0.2.50") == ()}`);
try { v4.delete_lease("192.0.2.50"); } catch (e) { print(`again: ${e.kind}`); }
let v6 = kea().dhcp6;
v6.add_lease(#{ ip_address: "2001:db8:1::100", duid: "00:01:00:01:2b:3c:4d:5e:1a:1b:1c:1d:1e:1f", iaid: 7 });
print(`v6 ${v6.lease("2001:db8:1::100").iaid} by duid ${v6.leases_by_duid("00:01:00:01:2b:3c:4d:5e:1a:1b:1c:1d:1e:1f").len()}`);
try { v6.add_lease(#{ ip_address: "2001:db8:1::101", iaid: 7 }); } catch (e) { print(`v6 refused ${e.kind}: ${e.message}`); }
"#,
    )
    .success()
    .stdout(predicate::str::contains("added 192.0.2.50 subnet 1 mac 1a:1b:1c:1d:1e:1f"))
    .stdout(predicate::str::contains("get host50.example.org"))
    .stdout(predicate::str::contains("by hw [\"192.0.2.50\"]"))
    .stdout(predicate::str::contains("by client id 1"))
    .stdout(predicate::str::contains("by hostname 1"))
    .stdout(predicate::str::contains(
        "updated renamed.example.org kept mac 1a:1b:1c:1d:1e:1f kept client 01:1a:1b:1c:1d:1e:1f",
    ))
    .stdout(predicate::str::contains("read back renamed.example.org"))
    .stdout(predicate::str::contains("refused conflict: 10.99.0.1 lies in no subnet configured on the server"))
    .stdout(predicate::str::contains("refused invalid: hw_address \"zz:1b\""))
    .stdout(predicate::str::contains("refused invalid: a DHCPv4 lease needs hw_address"))
    .stdout(predicate::str::contains("refused invalid: \"2001:db8::1\" is not an IPv4 address"))
    .stdout(predicate::str::contains("refused conflict: 192.0.2.51 lies in subnet id 1, not in subnet id 7"))
    .stdout(predicate::str::contains("accepted?!").not())
    .stdout(predicate::str::contains("not there true"))
    .stdout(predicate::str::contains("deleted 192.0.2.50; now true"))
    .stdout(predicate::str::contains("again: not_found"))
    .stdout(predicate::str::contains("v6 7 by duid 1"))
    .stdout(predicate::str::contains("v6 refused invalid: a DHCPv6 lease needs duid"));
}

#[test]
fn stats_match_the_leases_present_and_the_report_flags_full_scopes() {
    let Some(lab) = lab() else { return };
    let state = tempfile::tempdir().unwrap();
    run_in(
        &lab,
        state.path(),
        r#"
let v4 = kea().dhcp4;
for i in 10..30 { v4.add_lease(#{ ip_address: `192.0.2.${i}`, hw_address: `02:00:00:00:00:${i}` }); }
v4.delete_lease("192.0.2.10");
let n = 0;
for l in v4.leases("192.0.2.0/24") { n += 1; }
let s = v4.stats()[0];
print(`leases ${n} assigned ${s.assigned} total ${s.total} subnet ${s.subnet} id ${s.id}`);
print(`utilization ${s.utilization == s.assigned / s.total.to_float()}`);
print(`wiped ${v4.wipe_leases("192.0.2.0/24")} left ${v4.stats()[0].assigned}`);
"#,
    )
    .success()
    .stdout(predicate::str::contains("leases 19 assigned 19 total 191 subnet 192.0.2.0/24 id 1"))
    .stdout(predicate::str::contains("utilization true"))
    .stdout(predicate::str::contains("wiped 19 left 0"));
    // The example report: a table, JSON, and status 1 above the threshold.
    run_in(&lab, state.path(), "for i in 10..30 { kea().dhcp4.add_lease(#{ ip_address: `192.0.2.${i}`, hw_address: `02:00:00:00:00:${i}` }); }\n")
        .success();
    let example = repo().join("scripts/utilization.rhai");
    let base = |args: &[&str]| {
        let mut c = keascript();
        c.env("KEASCRIPT_STATE_DIR", state.path())
            .arg("--config")
            .arg(lab.inventory())
            .arg("run")
            .arg(&example)
            .args(args);
        c
    };
    base(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("dhcp4    192.0.2.0/24"))
        .stdout(predicate::str::contains("10.5%"));
    base(&["--", "10"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("<-- above 10.0%"));
    let out = base(&["--", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scopes"][0]["assigned"], 20);
    assert_eq!(v["over"], 0);
}

#[test]
fn each_kind_of_change_makes_exactly_one_audit_entry_with_before_and_after() {
    let Some(lab) = lab() else { return };
    let state = tempfile::tempdir().unwrap();
    // A change Kea refuses in its config-set (after its config-test let it through): a
    // lease file Kea 2.2 cannot open, or on Kea 3 one in Kea's default data folder, which
    // this daemon (started with its own KEA_DHCP_DATA_DIR) refuses.
    let (lease_file, refusal) = if lab.kea_version().path_rules() {
        ("/var/lib/kea/keascript-audit.csv", "invalid path specified")
    } else {
        ("/nonexistent-keascript/leases4.csv", "unable to open")
    };
    run_in(
        &lab,
        state.path(),
        &(format!("let lease_file = {lease_file:?};\nlet refusal = {refusal:?};\n")
            + r#"
let v4 = kea().dhcp4;
let count = 0;
fn check(kind, action, key, before_is_unit, after_is_unit, count) {
    let h = history();
    if h.len() != count + 1 { throw `${kind}/${action}: ${h.len() - count} entries, not 1`; }
    let e = h[0];
    if e.kind != kind || e.action != action || e.key != key { throw `got ${e.kind}/${e.action}/${e.key}, wanted ${kind}/${action}/${key}`; }
    if (e.before == ()) != before_is_unit || (e.after == ()) != after_is_unit { throw `${kind}/${action}: before ${e.before} after ${e.after}`; }
    if e.outcome != "ok" || e.server != "lab-unix" || e.service != "dhcp4" || e.user == "" || !e.script.ends_with("s.rhai") { throw `bad entry ${e}`; }
    print(`ok ${kind} ${action}`);
    e
}
v4.add_subnet(#{ subnet: "10.5.0.0/24" });
let e = check("subnet", "add", "10.5.0.0/24", true, false, count); count += 1;
if e.after.subnet != "10.5.0.0/24" { throw "after"; }
v4.update_subnet("10.5.0.0/24", #{ valid_lifetime: 600 });
let e = check("subnet", "update", "10.5.0.0/24", false, false, count); count += 1;
if e.before.get("valid-lifetime") != () || e.after["valid-lifetime"] != 600 { throw `update before/after ${e}`; }
v4.add_pool("10.5.0.0/24", "10.5.0.10-10.5.0.20"); check("pool", "add", "10.5.0.0/24 10.5.0.10-10.5.0.20", true, false, count); count += 1;
v4.add_class(#{ name: "c1" }); check("class", "add", "c1", true, false, count); count += 1;
v4.assign_class("10.5.0.0/24", "c1"); check("class", "assign", "c1 on 10.5.0.0/24", false, false, count); count += 1;
v4.unassign_class("10.5.0.0/24"); check("class", "unassign", "10.5.0.0/24", false, false, count); count += 1;
v4.update_class("c1", #{ description: "d" }); check("class", "update", "c1", false, false, count); count += 1;
v4.delete_pool("10.5.0.0/24", "10.5.0.10-10.5.0.20"); check("pool", "delete", "10.5.0.0/24 10.5.0.10-10.5.0.20", false, true, count); count += 1;
v4.delete_class("c1"); check("class", "delete", "c1", false, true, count); count += 1;
v4.set_option("domain-name", "x.example"); check("option", "set", "domain-name at global", false, false, count); count += 1;
v4.delete_option("domain-name"); check("option", "delete", "domain-name at global", false, false, count); count += 1;
v4.define_option(#{ code: 222, name: "o222", type: "string" }); check("option_def", "add", "o222", true, false, count); count += 1;
v4.update_option_def(222, "dhcp4", #{ code: 223 });
let e = check("option_def", "update", "dhcp4/222", false, false, count); count += 1;
if e.before.code != 222 || e.after.code != 223 { throw "option_def before/after"; }
v4.delete_option_def(223, "dhcp4"); check("option_def", "delete", "dhcp4/223", false, true, count); count += 1;
v4.set(#{ valid_lifetime: 5000 });
let e = check("settings", "set", "valid_lifetime", false, false, count); count += 1;
if e.before["valid-lifetime"] != 4000 || e.after["valid-lifetime"] != 5000 { throw "settings before/after"; }
let cfg = v4.config(); cfg.Dhcp4["valid-lifetime"] = 6000;
v4.apply(cfg); check("config", "apply", "", false, false, count); count += 1;
v4.delete_subnet("10.5.0.0/24"); check("subnet", "delete", "10.5.0.0/24", false, true, count); count += 1;
v4.add_lease(#{ ip_address: "192.0.2.60", hw_address: "1a:1b:1c:1d:1e:1f" }); check("lease", "add", "192.0.2.60", true, false, count); count += 1;
v4.update_lease(#{ ip_address: "192.0.2.60", hostname: "h" }); check("lease", "update", "192.0.2.60", false, false, count); count += 1;
v4.delete_lease("192.0.2.60"); check("lease", "delete", "192.0.2.60", false, true, count); count += 1;
v4.command("leases-reclaim", #{ remove: true }); check("command", "leases-reclaim", "leases-reclaim", true, false, count); count += 1;
v4.command("config-get"); v4.command("lease4-get-page", #{ from: "start", limit: 10 });
if history().len() != count { throw "reads are recorded"; }
// A change that fails on Kea is recorded with its error; a refused one is not a change.
let c = v4.config();
c.Dhcp4["lease-database"].name = lease_file;
try { v4.apply(c, #{ allow_paths: true }); } catch (e) { }
let e = history()[0];
if e.outcome != "error" || !e.error.contains(refusal) { throw `failed change ${e}`; }
count += 1;
// A class test Kea's config-test refuses never reaches the running configuration.
try { v4.add_class(#{ name: "bad", test: "option[60].hex == " }); } catch (e) { }
if history().len() != count { throw "a class test Kea's config-test refused was recorded"; }
try { v4.add_subnet(#{ subnet: "10.5.0.1/24" }); } catch (e) { }
if history().len() != count { throw "a refused change was recorded"; }
// Dry runs are not recorded.
dry_run(true);
v4.add_subnet(#{ subnet: "10.6.0.0/24" });
v4.add_lease(#{ ip_address: "192.0.2.61", hw_address: "1a:1b:1c:1d:1e:1f" });
if history().len() != count { throw "a dry run was recorded"; }
print(`filtered ${history("subnet", "10.5.0.0/24").len()}`);
print("all checked");
"#),
    )
    .success()
    .stdout(predicate::str::contains("all checked"))
    .stdout(predicate::str::contains("filtered 3"));
    // And from the command line, newest first, as a table or JSON.
    keascript()
        .env("KEASCRIPT_STATE_DIR", state.path())
        .args(["history", "--kind", "lease", "--output", "json"])
        .assert()
        .success()
        .stdout(predicate::function(|out: &str| {
            let actions: Vec<String> = out
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["action"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            actions == ["delete", "update", "add"]
        }));
    keascript()
        .env("KEASCRIPT_STATE_DIR", state.path())
        .args(["history", "--key", "c1", "--since", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("class      delete"))
        .stdout(predicate::str::contains("class      add"));
    keascript()
        .env("KEASCRIPT_STATE_DIR", state.path())
        .args(["history", "--since", "2099-01-01T00:00:00Z"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
}

/// Appends 1,000 entries when run as a child of the concurrency test.
#[test]
#[ignore = "run by concurrent_processes_never_interleave_or_lose_entries"]
fn audit_writer_child() {
    let Some(path) = std::env::var_os("KEASCRIPT_TEST_AUDIT_CHILD") else {
        return;
    };
    let log = AuditLog::at(std::path::Path::new(&path));
    let me = std::process::id().to_string();
    for i in 0..1000 {
        let mut e = AuditEntry::new(&me, Some("dhcp4"), "lease", &i.to_string(), "add");
        e.after = serde_json::json!({ "padding": "x".repeat(i % 700), "i": i });
        log.append(&e).unwrap();
    }
}

#[test]
fn concurrent_processes_never_interleave_or_lose_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&me)
                .args([
                    "--exact",
                    "leases::audit_writer_child",
                    "--ignored",
                    "--test-threads",
                    "1",
                ])
                .env("KEASCRIPT_TEST_AUDIT_CHILD", &path)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2000);
    let mut per_writer = std::collections::HashMap::<String, Vec<u64>>::new();
    for l in &lines {
        let e: AuditEntry = serde_json::from_str(l).expect("a whole JSON line");
        per_writer
            .entry(e.server.clone())
            .or_default()
            .push(e.after["i"].as_u64().unwrap());
    }
    assert_eq!(per_writer.len(), 2);
    for (_, is) in per_writer {
        assert_eq!(
            is,
            (0..1000).collect::<Vec<_>>(),
            "each writer's entries, all, in order"
        );
    }
    assert_eq!(
        AuditLog::at(&path)
            .read(&AuditFilter::default())
            .unwrap()
            .len(),
        2000
    );
}
