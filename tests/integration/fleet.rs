//! Fleet runs (`keascript run --all | --tag | --servers`) against real Kea: eight
//! dhcp4-only labs started together (the lightest real server), one of them down; the
//! lab's `lab` and `lab-unix` folded into one run; an HA pair changed once, through the
//! first peer.

use std::path::Path;

use keascript::lab::{HaMode, Lab, LabOptions};
use serde_json::{Value, json};

use crate::support::{kea_raw, keascript, lab, lab_with, rt, script};

/// `n` dhcp4-only labs, started concurrently (each waits for its own socket).
fn dhcp4_labs(n: usize) -> Option<Vec<Lab>> {
    let opts = LabOptions {
        dhcp4_only: true,
        ..Default::default()
    };
    let started = rt().block_on(futures::future::join_all(
        (0..n).map(|_| Lab::start(opts.clone())),
    ));
    let mut labs = Vec::new();
    for s in started {
        match s {
            Ok(l) => labs.push(l),
            Err(keascript::lab::LabError::NotInstalled(hint))
                if std::env::var_os("KEASCRIPT_TESTS_WITHOUT_KEA").is_some() =>
            {
                eprintln!("skipping a Kea-backed test: {hint}");
                return None;
            }
            Err(e) => panic!("cannot start a Kea lab: {e}"),
        }
    }
    Some(labs)
}

/// An inventory of the labs as `edge-1` … `edge-N` (UNIX sockets), the first half tagged
/// `site-a`, the others `site-b`, all `edge`.
fn fleet_inventory(dir: &Path, labs: &[Lab]) -> std::path::PathBuf {
    let mut s = String::from("default = \"edge-1\"\n");
    for (i, l) in labs.iter().enumerate() {
        let site = if i < labs.len() / 2 {
            "site-a"
        } else {
            "site-b"
        };
        s.push_str(&format!(
            "\n[servers.edge-{}]\ndhcp4 = \"unix:{}\"\ntags = [\"{site}\", \"edge\"]\ntimeout_ms = 20000\n",
            i + 1,
            l.socket("dhcp4").display()
        ));
    }
    let p = dir.join("fleet.toml");
    std::fs::write(&p, s).unwrap();
    p
}

fn classes(socket: &Path) -> Vec<String> {
    let got = kea_raw(socket, &json!({ "command": "config-get" })).expect("config-get");
    got["arguments"]["Dhcp4"]["client-classes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

fn file_has_class(lab: &Lab, class: &str) -> bool {
    let text = std::fs::read_to_string(lab.config_file("dhcp4")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["Dhcp4"]["client-classes"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["name"] == class))
}

/// The table's rows (after the header, before the summary) by server.
fn table_rows(stdout: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("SERVER"), "{stdout}");
    lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

#[test]
fn a_fleet_of_eight_with_one_down_changes_seven_and_reports_the_eighth() {
    let Some(mut labs) = dhcp4_labs(8) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let inv = fleet_inventory(tmp.path(), &labs);
    labs[3].kill("kea-dhcp4");
    let s = script(
        tmp.path(),
        "class.rhai",
        r#"
let me = kea();
print(`${me.name} of ${selection().len()}`);
me.dhcp4.add_class(#{ name: "fleet-a", test: "option[60].text == 'fleet'" });
"#,
    );
    let out = keascript()
        .env("KEASCRIPT_STATE_DIR", &state)
        .arg("--config")
        .arg(&inv)
        .args(["run", "--all", "--parallel", "4"])
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let rows = table_rows(&stdout);
    assert_eq!(rows.len(), 8, "{stdout}");
    for (i, r) in rows.iter().enumerate() {
        let name = format!("edge-{}", i + 1);
        assert_eq!(r[0], name, "{stdout}");
        if i == 3 {
            assert_eq!(r[1..4], ["failed", "transport", "0"], "{stdout}");
        } else {
            assert_eq!(r[1..4], ["changed", "-", "1"], "{stdout}");
            // Each server's print, prefixed with its name, on stderr only.
            assert!(
                stderr.contains(&format!("{name}: {name} of 8\n")),
                "{stderr}"
            );
        }
    }
    assert!(
        stdout.ends_with("8 servers: 7 changed, 0 ok, 1 failed\n"),
        "{stdout}"
    );
    assert!(!stdout.contains(" of 8"), "print goes to stderr: {stdout}");
    assert!(
        stderr.contains("edge-4: error: transport error"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown outcome"), "{stderr}");
    for (i, l) in labs.iter().enumerate() {
        if i == 3 {
            continue;
        }
        assert!(
            classes(&l.socket("dhcp4")).contains(&"fleet-a".to_string()),
            "edge-{} running config",
            i + 1
        );
        assert!(file_has_class(l, "fleet-a"), "edge-{} file", i + 1);
    }

    // JSON lines, a tag, and a dry run: one plan per server, nothing changed.
    let s2 = script(
        tmp.path(),
        "class2.rhai",
        r#"kea().dhcp4.add_class(#{ name: "fleet-b" });"#,
    );
    let out = keascript()
        .env("KEASCRIPT_STATE_DIR", &state)
        .arg("--config")
        .arg(&inv)
        .args(["run", "--tag", "site-a", "--output", "json", "--dry-run"])
        .arg(&s2)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let servers: Vec<&str> = rows.iter().map(|r| r["server"].as_str().unwrap()).collect();
    assert_eq!(servers, ["edge-1", "edge-2", "edge-3", "edge-4"]);
    for r in &rows {
        assert!(r["duration_ms"].is_u64(), "{r}");
        if r["server"] == "edge-4" {
            assert_eq!(r["outcome"], "failed");
            assert_eq!(r["kind"], "transport");
            assert!(r["message"].as_str().unwrap().contains("transport"), "{r}");
        } else {
            assert_eq!(
                (&r["outcome"], &r["changes"], &r["kind"]),
                (&json!("changed"), &json!(1), &Value::Null),
                "{r}"
            );
            let name = r["server"].as_str().unwrap();
            assert!(
                stderr.contains(&format!(
                    "{name}: [dry run] {name}/dhcp4: add class fleet-b"
                )),
                "{stderr}"
            );
        }
    }
    for l in &labs[..3] {
        assert!(!classes(&l.socket("dhcp4")).contains(&"fleet-b".to_string()));
    }
    // Nothing audited by the dry run: the real run's seven changes (and edge-4's failed
    // attempt) only, each naming the script.
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(entries.iter().all(|e| e["key"] == "fleet-a"), "{audit}");
    assert!(
        entries
            .iter()
            .all(|e| e["script"] == s.display().to_string()),
        "{audit}"
    );
    let done: Vec<&Value> = entries.iter().filter(|e| e["outcome"] == "ok").collect();
    assert_eq!(done.len(), 7, "{audit}");
    assert!(!done.iter().any(|e| e["server"] == "edge-4"), "{audit}");

    // A glob; running again changes nothing (the class is there: `ok`).
    let s3 = script(
        tmp.path(),
        "ensure.rhai",
        r#"if kea().dhcp4.client_class("fleet-a") == () { kea().dhcp4.add_class(#{ name: "fleet-a" }); }"#,
    );
    let out = keascript()
        .arg("--config")
        .arg(&inv)
        .env("KEASCRIPT_STATE_DIR", &state)
        .args(["run", "--servers", "edge-[5-8]"])
        .arg(&s3)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let rows = table_rows(&stdout);
    assert_eq!(rows.len(), 4, "{stdout}");
    assert!(rows.iter().all(|r| r[1..4] == ["ok", "-", "0"]), "{stdout}");

    // `--server` with a fleet selection is a usage error; so is a selection of nothing.
    let out = keascript()
        .arg("--config")
        .arg(&inv)
        .args(["run", "--all", "--server", "edge-1"])
        .arg(&s3)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    let out = keascript()
        .arg("--config")
        .arg(&inv)
        .args(["run", "--tag", "nowhere"])
        .arg(&s3)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--tag nowhere selects no server of the inventory")
    );
}

#[test]
fn exit_n_on_one_server_fails_that_server_with_status_n() {
    let Some(labs) = dhcp4_labs(2) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let inv = fleet_inventory(tmp.path(), &labs);
    let s = script(
        tmp.path(),
        "exit.rhai",
        r#"if kea().name == "edge-2" { exit(6); }"#,
    );
    let out = keascript()
        .arg("--config")
        .arg(&inv)
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .args(["run", "--all", "--output", "json"])
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["outcome"], "ok");
    assert_eq!(
        (&rows[1]["outcome"], &rows[1]["kind"]),
        (&json!("failed"), &json!("exit"))
    );
}

/// `--detailed-exitcode` in a fleet run: 2 while a server has changes pending (planned
/// under `--dry-run`, then made), 0 once nothing is left to change, a failed server's status
/// otherwise, and 1 (never 2) for a selection that takes no server.
#[test]
fn detailed_exitcode_in_a_fleet_says_pending_for_any_server() {
    let Some(labs) = dhcp4_labs(2) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let inv = fleet_inventory(tmp.path(), &labs);
    let s = script(
        tmp.path(),
        "ensure.rhai",
        r#"if kea().name == "edge-2" { kea().dhcp4.ensure_class(#{ name: "detailed-ec" }); }"#,
    );
    let run = |extra: &[&str], script: &Path| {
        let out = keascript()
            .arg("--config")
            .arg(&inv)
            .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
            .args(["run", "--detailed-exitcode", "--output", "json"])
            .args(extra)
            .arg(script)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let has = |i: usize| classes(&labs[i].socket("dhcp4")).contains(&"detailed-ec".to_string());

    let (code, out) = run(&["--all", "--dry-run"], &s);
    assert_eq!(code, Some(2), "a planned change is pending: {out}");
    assert!(!has(1), "the dry run changed edge-2");

    let (code, out) = run(&["--all"], &s);
    assert_eq!(code, Some(2), "a change made: {out}");
    assert!(has(1) && !has(0), "only edge-2 has the class");

    let (code, out) = run(&["--all"], &s);
    assert_eq!(code, Some(0), "nothing left to change: {out}");
    let (code, out) = run(&["--all", "--dry-run"], &s);
    assert_eq!(code, Some(0), "nothing planned: {out}");

    // A failure keeps its status even though another server changed.
    let failing = script(
        tmp.path(),
        "fail.rhai",
        r#"if kea().name == "edge-1" { exit(5); }
kea().dhcp4.ensure_class(#{ name: "detailed-ec-2" });"#,
    );
    let (code, out) = run(&["--all"], &failing);
    assert_eq!(code, Some(5), "{out}");
    assert!(classes(&labs[1].socket("dhcp4")).contains(&"detailed-ec-2".to_string()));

    // A selection that takes no server is an error (1), not "pending".
    let (code, out) = run(&["--tag", "no-such-tag"], &s);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn one_daemon_under_two_names_runs_once() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "c.rhai",
        r#"kea().dhcp4.add_class(#{ name: "once" });"#,
    );
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .args(["run", "--servers", "{lab,lab-unix}"])
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows = table_rows(&stdout);
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(rows[0][..4], ["lab", "changed", "-", "1"], "{stdout}");
    assert_eq!(rows[1][..2], ["lab-unix", "ok"], "{stdout}");
    assert!(stdout.contains("covered by lab"), "{stdout}");
    assert!(classes(&lab.socket("dhcp4")).contains(&"once".to_string()));
}

#[test]
fn both_peers_of_an_ha_pair_selected_change_once_and_both_get_it() {
    let Some(lab) = lab_with(LabOptions {
        ha: Some(HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let s = script(
        tmp.path(),
        "c.rhai",
        r#"kea().dhcp4.add_class(#{ name: "paired" });"#,
    );
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", &state)
        .args(["run", "--servers", "server[12]", "--output", "json"])
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert_eq!(
        (&rows[0]["server"], &rows[0]["outcome"]),
        (&json!("server1"), &json!("changed"))
    );
    assert_eq!(
        (&rows[1]["server"], &rows[1]["outcome"], &rows[1]["message"]),
        (
            &json!("server2"),
            &json!("ok"),
            &json!("covered by server1")
        )
    );
    for i in 0..2 {
        assert!(
            classes(&lab.socket_of(i, "dhcp4")).contains(&"paired".to_string()),
            "peer {i} running config"
        );
    }
    let audit = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let adds: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["key"] == "paired")
        .collect();
    assert_eq!(adds.len(), 1, "one change, not two: {audit}");
    assert_eq!(adds[0]["peers"], json!(["server2"]), "{audit}");
}

/// Script output goes through the host's sink: the daemon's dry-run plan is a log event of
/// the trigger that made it, and nothing reaches the daemon's stdout.
#[test]
fn a_daemons_dry_run_plan_goes_to_its_log() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "plan.rhai",
        "every(\"200ms\", || { kea().dhcp4.add_class(#{ name: \"planned\" }); });\n",
    );
    let (out, log) = (tmp.path().join("stdout"), tmp.path().join("log"));
    let mut d = std::process::Command::new(assert_cmd::cargo::cargo_bin("keascript"))
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .arg("--config")
        .arg(lab.inventory())
        .args(["daemon", "--dry-run", "--log-format", "json"])
        .arg(&s)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let plan = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(e) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| {
                e["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("[dry run] lab/dhcp4: add class planned"))
            })
        {
            break e;
        }
        assert!(
            std::time::Instant::now() < until,
            "no plan in the log:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    d.wait().unwrap();
    assert!(
        plan["fields"]["trigger"]
            .as_str()
            .is_some_and(|t| t.starts_with("every(200ms) at ")),
        "{plan}"
    );
    let m = plan["fields"]["message"].as_str().unwrap();
    assert!(m.contains("would send "), "{m}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "nothing on stdout"
    );
    assert!(!classes(&lab.socket("dhcp4")).contains(&"planned".to_string()));
}

/// On a terminal a fleet run shows its progress line (stderr) and paints the outcomes
/// (stdout); with `NO_COLOR` the table has no colour.
#[test]
fn a_fleet_run_on_a_terminal_shows_progress_and_colour() {
    use rexpect::reader::{Options, ReadUntil};
    let Some(labs) = dhcp4_labs(2) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let inv = fleet_inventory(tmp.path(), &labs);
    // Long enough for the progress line's first ticks.
    let s = script(
        tmp.path(),
        "slow.rhai",
        "sleep(\"400ms\"); kea().dhcp4.status();",
    );
    for no_colour in [false, true] {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("keascript"));
        cmd.env_remove("KEASCRIPT_CONFIG")
            .env_remove("KEASCRIPT_LOG")
            .env_remove("NO_COLOR")
            .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
            .env("TERM", "xterm")
            .arg("--config")
            .arg(&inv)
            .args(["run", "--all", "--parallel", "1"])
            .arg(&s);
        if no_colour {
            cmd.env("NO_COLOR", "1");
        }
        let mut p = rexpect::session::spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(90_000))
                .strip_ansi_escape_codes(false),
        )
        .expect("spawn under a pty");
        let (before, _) = p
            .exp_any(vec![ReadUntil::String("2 servers: 0 changed, 2 ok".into())])
            .expect("the summary");
        assert!(before.contains("/2]"), "a progress line: {before:?}");
        let ok_painted = before.contains("\u{1b}[") && before.contains("ok\u{1b}[0m");
        assert_eq!(ok_painted, !no_colour, "NO_COLOR={no_colour}: {before:?}");
    }
}
