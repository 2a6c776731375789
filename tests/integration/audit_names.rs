//! Every audit entry names what made the change: the script of `keascript run`, `repl` for
//! the REPL (typed or piped), the script and the trigger for the daemon.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{keascript, lab, script};

fn entries(state: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn the_repl_and_the_daemon_name_themselves_in_the_audit() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", &state)
        .arg("repl")
        .write_stdin("kea().dhcp4.add_subnet(#{ subnet: \"10.88.0.0/24\" });\n")
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let e = entries(&state);
    let repl = e
        .iter()
        .find(|x| x["key"] == "10.88.0.0/24")
        .expect("the REPL's change is audited");
    assert_eq!(repl["script"], "repl", "{repl}");

    let s = script(
        tmp.path(),
        "adder.rhai",
        "every(\"1s\", || {\n    if kea().dhcp4.subnet(\"10.89.0.0/24\") == () {\n        kea().dhcp4.add_subnet(#{ subnet: \"10.89.0.0/24\" });\n    }\n});\n",
    );
    let mut d = Command::new(assert_cmd::cargo::cargo_bin("keascript"))
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", &state)
        .arg("--config")
        .arg(lab.inventory())
        .arg("daemon")
        .arg(&s)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    let entry = loop {
        if let Some(x) = entries(&state)
            .into_iter()
            .find(|x| x["key"] == "10.89.0.0/24")
        {
            break x;
        }
        assert!(
            Instant::now() < until,
            "the daemon's change was not audited"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    d.wait().unwrap();
    assert!(
        entry["script"]
            .as_str()
            .is_some_and(|p| p.ends_with("adder.rhai")),
        "{entry}"
    );
    assert!(
        entry["trigger"]
            .as_str()
            .is_some_and(|t| t.contains("every")),
        "{entry}"
    );
}
