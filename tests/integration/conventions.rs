//! The command line an admin expects (issue 16): `-q`/`-v`, colour on a terminal only and
//! `NO_COLOR`, errors with the source line and a caret, "did you mean", `check`, `call`,
//! `get`, completions and the man page, examples and environment variables in `--help`,
//! progress on a terminal, systemd readiness and watchdog, and `ensure_*` scripts that
//! change nothing the second time.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use predicates::prelude::*;
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;

use crate::support::{commands_in, is_mutating, keascript, lab, repo, script};

/// Generous: a loaded 2-core machine may take a while.
const TIMEOUT_MS: u64 = 120_000;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keascript")
}

/// An inventory whose only server cannot be reached (port 1): nothing may contact it.
fn unreachable_inventory(dir: &Path) -> PathBuf {
    let p = dir.join("inventory.toml");
    std::fs::write(
        &p,
        "default = \"edge1\"\n[servers.edge1]\nurl = \"http://127.0.0.1:1\"\n[servers.edge2]\nurl = \"http://127.0.0.1:1\"\n",
    )
    .unwrap();
    p
}

#[test]
fn check_finds_a_typo_in_a_cron_body_and_unknown_servers_without_contacting_any() {
    let dir = tempfile::tempdir().unwrap();
    let inv = unreachable_inventory(dir.path());
    let bad = script(
        dir.path(),
        "bad.rhai",
        "let v4 = kea(\"edge1\").v4;\ncron(\"0 * * * *\", || {\n    v4.add_subnt(#{ subnet: \"10.9.0.0/24\" });\n});\nlet other = kea(\"egde2\");\nv4.delete_subnet(1, 2);\n",
    );
    keascript()
        .arg("--config")
        .arg(&inv)
        .args(["check"])
        .arg(&bad)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown method `add_subnt` (did you mean `add_subnet`?)",
        ))
        .stderr(predicate::str::contains("3 |     v4.add_subnt("))
        .stderr(predicate::str::contains("  |        ^"))
        .stderr(predicate::str::contains(
            "no server \"egde2\" (did you mean `edge2`?)",
        ))
        .stderr(predicate::str::contains("`delete_subnet` takes 1 argument"))
        .stderr(predicate::str::contains("3 problems found"));
    // A typo in a call to an imported module, and a call that is a whole statement.
    let imported = script(
        dir.path(),
        "imported.rhai",
        "import \"kea/reload\" as reload;\nreload::wach(kea().dhcp4, \"/etc/kea/kea-dhcp4.conf\");\nprnt(\"done\");\n",
    );
    keascript()
        .arg("--config")
        .arg(&inv)
        .arg("check")
        .arg(&imported)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "module `reload` has no function `wach` (did you mean `watch`?)",
        ))
        .stderr(predicate::str::contains(
            "unknown function `prnt` (did you mean `print`?)",
        ));
    // Every example script and stdlib module shipped is clean.
    let stdlib: Vec<_> = std::fs::read_dir(repo().join("stdlib/kea"))
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    for entry in std::fs::read_dir(repo().join("scripts"))
        .unwrap()
        .map(|e| e.unwrap())
        .chain(stdlib)
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rhai") {
            keascript()
                .arg("--config")
                .arg(&inv)
                .arg("check")
                .arg(&path)
                .timeout(Duration::from_secs(60))
                .assert()
                .success();
        }
    }
    // An import that does not exist is a finding; -q leaves only the findings.
    let imp = script(dir.path(), "imp.rhai", "import \"no-such-module\" as m;\n");
    keascript()
        .arg("--config")
        .arg(&inv)
        .args(["-q", "check"])
        .arg(&imp)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such-module"))
        .stderr(predicate::str::contains("problem").not());
}

#[test]
fn runtime_errors_show_the_line_a_caret_near_names_and_script_types() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "typo.rhai",
        "let a = [1, 2];\nlet n = a.revers();\n",
    );
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown function revers(array) (did you mean `reverse`?)",
        ))
        .stderr(predicate::str::contains("2 | let n = a.revers();"))
        .stderr(predicate::str::contains("  |           ^"));
    let s = script(dir.path(), "types.rhai", "let x = parse_int(#{});\n");
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("parse_int(map)"))
        .stderr(predicate::str::contains("rhai::").not())
        .stderr(predicate::str::contains("alloc::").not());
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <({} completions bash) && complete -p keascript",
            bin().display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("-F _keascript keascript"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for shell in ["zsh", "fish"] {
        keascript()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("check"));
    }
    let man = keascript().arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH keascript 1"), "{page}");
    assert!(page.contains("KEASCRIPT_KEA_BIN_DIR"), "{page}");
    assert!(page.contains("KEASCRIPT CHECK"), "{page}");
    // man itself can format it, when installed.
    if Command::new("man").arg("--version").output().is_ok() {
        let mut child = Command::new("man")
            .args(["-l", "-"])
            .env("MANPAGER", "cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&man.stdout).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("ENVIRONMENT"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The environment variables the source reads (`env::var("X")`, `env::var_os("X")`).
fn variables_read_in(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            variables_read_in(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for part in text.split("env::var").skip(1) {
                let rest = part.trim_start_matches("_os");
                if let Some(name) = rest.strip_prefix("(\"").and_then(|r| r.split('"').next()) {
                    out.push(name.to_string());
                }
            }
        }
    }
}

#[test]
fn every_command_has_examples_and_every_variable_is_documented() {
    let help = keascript().arg("--help").output().unwrap();
    let top = String::from_utf8_lossy(&help.stdout).to_string();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut vars = Vec::new();
    variables_read_in(&repo().join("src"), &mut vars);
    vars.sort();
    vars.dedup();
    assert!(
        vars.contains(&"KEASCRIPT_KEA_BIN_DIR".to_string()),
        "{vars:?}"
    );
    for v in vars.iter().chain([&"KEASCRIPT_LOG".to_string()]) {
        assert!(
            top.contains(v.as_str()),
            "`keascript --help` does not document {v}"
        );
        assert!(
            readme.contains(v.as_str()),
            "README.md does not document {v}"
        );
    }
    let reference = std::fs::read_to_string(repo().join("docs/cli.md")).unwrap();
    for sub in [
        "run",
        "lab",
        "daemon",
        "repl",
        "history",
        "doctor",
        "check",
        "call",
        "get",
        "completions",
        "man",
        "snapshots",
        "restore",
        "undo",
        "confirm",
        "rollback",
    ] {
        assert!(
            reference.contains(&format!("`keascript {sub}")),
            "docs/cli.md does not describe keascript {sub}"
        );
        keascript()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains(format!("keascript {sub}")));
    }
    keascript()
        .arg("--help")
        .assert()
        .stdout(predicate::str::contains("-q, --quiet"))
        .stdout(predicate::str::contains("-v, --verbose"));
}

#[test]
fn verbose_raises_the_log_level_and_quiet_silences_notes() {
    let dir = tempfile::tempdir().unwrap();
    let inv = unreachable_inventory(dir.path());
    let s = script(dir.path(), "ok.rhai", "print(\"hi\");\n");
    // -v: info lines appear (the inventory read is logged at info or debug); -vv: debug.
    let quiet = keascript()
        .arg("--config")
        .arg(&inv)
        .args(["-q", "check"])
        .arg(&s)
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "",
        "-q says nothing on success"
    );
    keascript()
        .arg("--config")
        .arg(&inv)
        .arg("check")
        .arg(&s)
        .assert()
        .success()
        .stderr(predicate::str::contains("no problems found"));
    keascript()
        .args(["-q", "-v", "check"])
        .arg(&s)
        .assert()
        .code(2);
    // -vv logs at debug: a Kea call's debug line shows (it fails: port 1).
    keascript()
        .arg("--config")
        .arg(&inv)
        .args(["-vv", "run"])
        .arg(script(
            dir.path(),
            "v.rhai",
            "try { kea().dhcp4.subnets(); } catch (e) { print(e.kind); }\n",
        ))
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .stdout(predicate::str::contains("transport"))
        .stderr(predicate::str::contains("DEBUG"));
}

/// Under a pseudo-terminal errors are painted; with NO_COLOR, or piped, they are not.
#[test]
fn colour_on_a_terminal_only_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "bad.rhai", "let a = 1;\nlet b = a.nope();\n");
    let run = |no_color: bool| {
        let mut cmd = Command::new(bin());
        cmd.arg("run")
            .arg(&s)
            .env_remove("KEASCRIPT_CONFIG")
            .env_remove("CLICOLOR_FORCE")
            .env("TERM", "xterm");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut p = spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(TIMEOUT_MS))
                .strip_ansi_escape_codes(false),
        )
        .expect("spawn under a pty");
        let (before, _) = p.exp_regex("\\^[^\n]*\n").expect("the caret line");
        before
    };
    let painted = run(false);
    assert!(
        painted.contains("\u{1b}["),
        "no colour on a terminal: {painted:?}"
    );
    let plain = run(true);
    assert!(
        !plain.contains("\u{1b}["),
        "colour despite NO_COLOR: {plain:?}"
    );
    let piped = keascript()
        .arg("run")
        .arg(&s)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'),
        "colour on a pipe"
    );
}

/// `keascript lab` on a terminal shows a progress line while Kea starts; -q does not.
#[test]
fn the_lab_start_shows_progress_on_a_terminal() {
    if lab().is_none() {
        return;
    }
    let mut cmd = Command::new(bin());
    cmd.arg("lab")
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn keascript lab under a pty");
    p.exp_string("starting the Kea lab")
        .expect("a progress line");
    p.exp_string("Press Ctrl-C to stop the lab.")
        .expect("the lab is up");
    p.send_control('c').unwrap();
    p.exp_eof().expect("the lab stops");
    // -q: the same start without a progress line (what the command prints stays).
    let mut cmd = Command::new(bin());
    cmd.args(["-q", "lab"])
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn keascript -q lab under a pty");
    let before = p
        .exp_string("Press Ctrl-C to stop the lab.")
        .expect("the lab is up");
    assert!(!before.contains("starting the Kea lab"), "{before}");
    p.send_control('c').unwrap();
    p.exp_eof().expect("the lab stops");
}

#[test]
fn call_and_get_talk_to_a_real_lab() {
    let Some(lab) = lab() else { return };
    let inv = lab.inventory().to_path_buf();
    let call = |args: &[&str]| {
        keascript()
            .arg("--config")
            .arg(&inv)
            .arg("call")
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = call(&["config-get"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"], 0);
    assert!(answer["arguments"]["Dhcp4"].is_object(), "{answer}");
    // Kea's "empty" (result 3) is an answer; an unknown command is Kea refusing (4).
    let out = call(&["lease4-get", "{\"ip-address\": \"192.0.2.250\"}"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"], 3, "{answer}");
    let out = call(&["no-such-command"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = call(&["config-get", "[1]"]);
    assert_eq!(out.status.code(), Some(2));
    // Through the Control Agent itself (Kea 3's lab has none: each daemon has its own
    // HTTP socket, and the message says to name a service), and on dhcp6.
    let out = call(&["version-get", "--service", ""]);
    if lab.kea_version().major < 3 {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("name a service"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = call(&["config-get", "--service", "dhcp6"]);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer["arguments"]["Dhcp6"].is_object(), "{answer}");

    // get: what config-get says, as a table and as JSON.
    let config = &serde_json::from_slice::<serde_json::Value>(&call(&["config-get"]).stdout)
        .unwrap()["arguments"]["Dhcp4"];
    let first = config["subnet4"][0]["subnet"].as_str().unwrap().to_string();
    let get = |args: &[&str]| {
        keascript()
            .arg("--config")
            .arg(&inv)
            .arg("get")
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let table = get(&["subnets"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(table.starts_with("ID  "), "{table}");
    assert!(table.contains(&first), "{table}");
    assert!(!table.contains('\u{1b}'), "no colour on a pipe");
    let json: serde_json::Value =
        serde_json::from_slice(&get(&["subnets", "--output", "json"]).stdout).unwrap();
    assert_eq!(
        json.as_array().unwrap().len(),
        config["subnet4"].as_array().unwrap().len()
    );
    for what in [
        "classes",
        "options",
        "reservations",
        "leases",
        "stats",
        "ha",
    ] {
        let out = get(&[what, "--output", "json"]);
        assert!(
            out.status.success(),
            "get {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v.is_array(), "get {what}: {v}");
    }
    let out = get(&["leases", "--service", "dhcp6"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The daemon tells systemd it is ready once its triggers are armed, and pings the
/// watchdog: the test is the service manager, with its own notification socket.
#[test]
fn the_daemon_notifies_readiness_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(TIMEOUT_MS)))
        .unwrap();
    let s = script(
        dir.path(),
        "t.rhai",
        "every(\"1h\", || { print(\"tick\"); });\n",
    );
    let mut child = Command::new(bin())
        .args(["daemon"])
        .arg(&s)
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "200000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let recv = |buf: &mut [u8]| -> String {
        let n = sock.recv(buf).expect("a notification from the daemon");
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    while !seen.iter().any(|m: &String| m.contains("WATCHDOG=1")) {
        seen.push(recv(&mut buf));
    }
    let ready = seen
        .iter()
        .position(|m| m.contains("READY=1"))
        .expect("READY=1 first");
    let ping = seen.iter().position(|m| m.contains("WATCHDOG=1")).unwrap();
    assert!(ready < ping, "{seen:?}");
    assert!(seen[ready].contains("STATUS=1 triggers armed"), "{seen:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    loop {
        let m = recv(&mut buf);
        if m.contains("STOPPING=1") {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
}

/// `ensure_*` creates, then leaves alone: the second run sends no mutating command and
/// writes nothing to the audit trail; a changed value is updated, only it.
#[test]
fn ensure_functions_change_once_then_send_nothing() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let text = |lifetime: u32| {
        format!(
            r#"let v4 = kea().dhcp4;
let r = [];
r.push(v4.ensure_option_def(#{{ code: 222, name: "ensure-test", type: "uint32" }}).action);
r.push(v4.ensure_class(#{{ name: "ensure-voip", test: "substring(option[60].hex,0,4) == 'voip'" }}).action);
r.push(v4.ensure_subnet(#{{ subnet: "10.77.0.0/24", valid_lifetime: {lifetime},
    client_class: "ensure-voip" }}).action);
r.push(v4.ensure_pool("10.77.0.0/24", "10.77.0.10 - 10.77.0.20").action);
r.push(v4.ensure_option(#{{ subnet: "10.77.0.0/24" }}, "routers", "10.77.0.1").action);
r.push(v4.ensure_option("domain-name-servers", ["10.77.0.2", "10.77.0.3"]).action);
r.push(v4.ensure_option(#{{ subnet: "10.77.0.0/24" }}, #{{ code: 222, data: "7" }}).action);
r.push(v4.ensure_reservation(#{{ subnet: "10.77.0.0/24", hw_address: "02:77:00:00:00:50",
    ip_address: "10.77.0.50", hostname: "{hostname}" }}).action);
print(r);
"#,
            hostname = if lifetime == 3600 {
                "ensure-a"
            } else {
                "ensure-b"
            }
        )
    };
    let run = |lifetime: u32| {
        let s = script(dir.path(), "ensure.rhai", &text(lifetime));
        let out = keascript()
            .arg("--config")
            .arg(lab.inventory())
            .arg("run")
            .arg(&s)
            .env("KEASCRIPT_AUDIT_FILE", &audit)
            .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mutating = || {
        commands_in(lab.dir(), "dhcp4")
            .iter()
            .filter(|c| is_mutating(c))
            .count()
    };
    let audit_lines = || {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .count()
    };

    let first = run(3600);
    assert_eq!(
        first,
        r#"["created", "created", "created", "created", "created", "created", "created", "created"]"#
    );
    let (sent, audited) = (mutating(), audit_lines());
    assert!(sent >= 8 && audited >= 8, "sent {sent}, audited {audited}");

    let second = run(3600);
    assert_eq!(
        second,
        r#"["unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged"]"#
    );
    assert_eq!(mutating(), sent, "the second run sent a mutating command");
    assert_eq!(
        audit_lines(),
        audited,
        "the second run wrote to the audit trail"
    );

    let third = run(7200);
    assert_eq!(
        third,
        r#"["unchanged", "unchanged", "updated", "unchanged", "unchanged", "unchanged", "unchanged", "updated"]"#
    );
    // The running server has it.
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .args(["call", "config-get"])
        .output()
        .unwrap();
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let subnet = cfg["arguments"]["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subnet"] == "10.77.0.0/24")
        .expect("the subnet exists")
        .clone();
    assert_eq!(subnet["valid-lifetime"], 7200, "{subnet}");
    assert_eq!(subnet["pools"].as_array().unwrap().len(), 1, "{subnet}");
    let resv = subnet["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["hw-address"] == "02:77:00:00:00:50")
        .expect("the reservation exists")
        .clone();
    assert_eq!(resv["hostname"], "ensure-b", "{resv}");
    assert_eq!(resv["ip-address"], "10.77.0.50", "{resv}");
}

/// A server that accepts the connection and never answers: after a second a progress line
/// says whom keascript is waiting for (waited for on the screen, then the command is
/// stopped).
#[test]
fn a_hung_server_shows_who_is_awaited_on_a_terminal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Holds every connection open, reading nothing back.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.toml");
    std::fs::write(
        &inv,
        format!("default = \"slowpoke\"\n[servers.slowpoke]\nurl = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("--config")
        .arg(&inv)
        .args(["call", "config-get"])
        .env_remove("KEASCRIPT_CONFIG")
        .env("TERM", "xterm");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn under a pty");
    p.exp_string("waiting for slowpoke")
        .expect("a progress line naming the server");
    p.send_control('c').unwrap();
    p.exp_eof().expect("the command stops");
    // Piped, the same wait prints no progress line: a timeout of 3 s (past the one-second
    // mark) ends the call by itself, with only the error on stderr.
    let timed = dir.path().join("timed.toml");
    std::fs::write(
        &timed,
        format!("default = \"slowpoke\"\n[servers.slowpoke]\nurl = \"http://127.0.0.1:{port}\"\ntimeout_ms = 3000\n"),
    )
    .unwrap();
    let out = keascript()
        .arg("--config")
        .arg(&timed)
        .args(["call", "config-get"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "a transport error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no answer"), "{stderr}");
    assert!(!stderr.contains("waiting for"), "{stderr}");
}

/// Table headers are bold on a terminal, plain with NO_COLOR.
#[test]
fn tables_are_painted_on_a_terminal_only() {
    let Some(lab) = lab() else { return };
    let run = |no_color: bool| {
        let mut cmd = Command::new(bin());
        cmd.arg("--config")
            .arg(lab.inventory())
            .args(["get", "subnets"])
            .env_remove("KEASCRIPT_CONFIG")
            .env_remove("CLICOLOR_FORCE")
            .env("TERM", "xterm");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut p = spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(TIMEOUT_MS))
                .strip_ansi_escape_codes(false),
        )
        .expect("spawn under a pty");
        let (_, header) = p.exp_regex("[^\n]*SUBNET[^\n]*\n").expect("the header");
        p.exp_eof().unwrap();
        header
    };
    assert!(
        run(false).contains("\u{1b}[1m"),
        "no bold header on a terminal"
    );
    assert!(!run(true).contains('\u{1b}'), "colour despite NO_COLOR");
}

/// A dry run's diff is coloured on a terminal (`+` lines green), plain when piped.
#[test]
fn dry_run_diffs_are_coloured_on_a_terminal_only() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "add.rhai",
        "kea().dhcp4.add_subnet(#{ subnet: \"10.88.0.0/24\" });\n",
    );
    let mut cmd = Command::new(bin());
    cmd.arg("--config")
        .arg(lab.inventory())
        .args(["run", "--dry-run"])
        .arg(&s)
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .env("TERM", "xterm");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(false),
    )
    .expect("spawn under a pty");
    p.exp_string("\u{1b}[32m+").expect("a green added line");
    p.exp_eof().unwrap();
    let piped = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .args(["run", "--dry-run"])
        .arg(&s)
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&piped.stdout);
    assert!(out.contains("+") && out.contains("10.88.0.0/24"), "{out}");
    assert!(!out.contains('\u{1b}'), "colour on a pipe: {out}");
}
