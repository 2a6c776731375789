//! keascript's HTTP transport against a real Kea, with the fault proxy in between for what a
//! healthy Kea never does (garbage, HTTP 500, a dropped connection, an empty array, a hang).
//!
//! Kea's own answers (result codes, texts, the `hash` beside `Dhcp4`) and its daemon HTTP
//! control socket with basic authentication (Kea >= 2.7.2, the suite's Kea 3.0 pass) come
//! from the real daemons of a lab. On Kea 2.2 the daemon-socket tests say why they skip and
//! the transport faults go through the Control Agent.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keascript::kea::{ErrorKind, KeaError, Server, ServerEntry, Service};
use keascript::lab::Lab;
use keascript::transport::{Secret, TransportOptions};
use serde_json::json;

use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::{keascript, lab, rt, script};

fn expect_err<T: std::fmt::Debug>(r: Result<T, KeaError>) -> KeaError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The lab's API user and password for its daemons' own HTTP sockets.
fn credentials(lab: &Lab) -> (String, String) {
    let dir = &lab.nodes()[0].dir;
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    (read("api-user"), read("api-password"))
}

fn with_credentials(user: &str, password: &str) -> TransportOptions {
    TransportOptions {
        user: Some(user.to_string()),
        password: Some(Secret::new(password)),
        ..TransportOptions::default()
    }
}

/// A lab whose dhcp4 daemon has its own HTTP socket, that socket's URL, and a proxy in front
/// of it; `None` (the reason printed) on a Kea without daemon sockets.
fn daemon_lab() -> Option<(Lab, String, FaultProxy)> {
    let lab = lab()?;
    let Some(url) = lab.http_url_of(0, "dhcp4") else {
        eprintln!(
            "skipping on Kea {}: daemon HTTP control sockets came with Kea 2.7.2 (this runs in the Kea 3.0 pass)",
            lab.kea_version()
        );
        return None;
    };
    let proxy = FaultProxy::start(url.trim_start_matches("http://").parse().unwrap());
    Some((lab, url, proxy))
}

/// A server through a proxy in front of the lab's Control Agent (Kea 2.2) or dhcp4 daemon
/// socket (Kea >= 2.7.2), with `options` (credentials added for the daemon socket).
fn through_proxy(lab: &Lab, options: TransportOptions) -> (Server, FaultProxy) {
    match lab.http_url_of(0, "dhcp4") {
        Some(url) => {
            let proxy = FaultProxy::start(url.trim_start_matches("http://").parse().unwrap());
            let (user, password) = credentials(lab);
            let options = TransportOptions {
                user: Some(user),
                password: Some(Secret::new(&password)),
                ..options
            };
            let server = Server::connect(&proxy.url(), Some("dhcp4"), options).unwrap();
            (server, proxy)
        }
        None => {
            let proxy = FaultProxy::start(lab.url().trim_start_matches("http://").parse().unwrap());
            let server = Server::connect(&proxy.url(), None, options).unwrap();
            (server, proxy)
        }
    }
}

// --- A Kea daemon's own HTTP socket -----------------------------------------------------------

#[test]
fn daemon_http_sends_no_service_reads_one_element_arrays_and_sends_credentials() {
    let Some((lab, _, proxy)) = daemon_lab() else {
        return;
    };
    let (user, password) = credentials(&lab);
    let server = Server::connect(
        &proxy.url(),
        Some("dhcp4"),
        with_credentials(&user, &password),
    )
    .unwrap();
    let version = rt().block_on(server.version()).expect("version");
    assert!(
        version.starts_with(&lab.kea_version().to_string()),
        "{version}"
    );
    let status = rt()
        .block_on(server.command("status-get", Some("dhcp4"), None))
        .expect("status-get")
        .expect("arguments");
    assert!(status["pid"].as_u64().is_some(), "{status}");
    assert_eq!(proxy.commands(), ["version-get", "status-get"]);
    assert_eq!(
        proxy.requests("version-get")[0],
        json!({"command": "version-get"})
    );
    for c in ["version-get", "status-get"] {
        assert!(
            proxy.requests(c)[0].get("service").is_none(),
            "a service was sent to a daemon: {:?}",
            proxy.requests(c)
        );
    }
}

#[test]
fn missing_or_wrong_credentials_are_auth_errors() {
    let Some((lab, url, _proxy)) = daemon_lab() else {
        return;
    };
    let (user, _) = credentials(&lab);
    for options in [
        TransportOptions::default(),
        with_credentials(&user, "not-the-password"),
    ] {
        let server = Server::connect(&url, Some("dhcp4"), options).unwrap();
        let e = expect_err(rt().block_on(server.version()));
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code, Some(401), "{e}");
        assert_eq!(e.command.as_deref(), Some("version-get"));
        assert!(!e.to_string().contains("not-the-password"), "{e}");
    }
}

#[test]
fn an_inventory_dhcp4_endpoint_is_a_daemon_socket_and_config_drops_the_hash() {
    let Some((lab, _, proxy)) = daemon_lab() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (user, password) = credentials(&lab);
    let pass = dir.path().join("api.pass");
    std::fs::write(&pass, format!("{password}\n")).unwrap();
    let entry = ServerEntry {
        dhcp4: Some(proxy.url()),
        user: Some(user),
        password_file: Some(pass),
        ..Default::default()
    };
    let server = Arc::new(Server::from_entry("k3", &entry).expect("server"));
    assert_eq!(server.configured_services(), ["dhcp4"]);
    let svc = Service::new(server, "dhcp4").unwrap();
    let listed = rt()
        .block_on(svc.command("subnet4-list", None))
        .expect("subnet4-list")
        .expect("arguments");
    assert_eq!(listed["subnets"][0]["subnet"], "192.0.2.0/24", "{listed}");
    // Kea reports the configuration's hash beside Dhcp4; `config()` leaves it out.
    let raw = rt()
        .block_on(svc.command("config-get", None))
        .unwrap()
        .unwrap();
    assert!(
        raw["hash"].as_str().is_some_and(|h| h.len() == 64),
        "{}",
        raw["hash"]
    );
    let cfg = rt().block_on(svc.config()).expect("config");
    assert_eq!(
        cfg.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["Dhcp4"]
    );
    assert_eq!(cfg["Dhcp4"], raw["Dhcp4"]);
    assert!(
        proxy
            .requests("subnet4-list")
            .iter()
            .all(|r| r.get("service").is_none())
    );
}

// --- Kea's result codes -------------------------------------------------------------------------

#[test]
fn result_codes_become_error_kinds_or_empty() {
    let Some(lab) = lab() else { return };
    let (server, _proxy) = through_proxy(&lab, TransportOptions::default());
    // Result 2: the command does not exist.
    let e = expect_err(rt().block_on(server.command("foo-bar", Some("dhcp4"), None)));
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert_eq!(e.code, Some(2));
    assert_eq!(e.message, "'foo-bar' command not supported.");
    // Result 3: empty, not an error for `command`, but the answer Kea sent.
    let missing = json!({"ip-address": "192.0.2.250"});
    let got = rt()
        .block_on(server.command("lease4-get", Some("dhcp4"), Some(missing.clone())))
        .expect("result 3 is not an error");
    assert_eq!(got, None);
    let a = rt()
        .block_on(server.answer("lease4-get", Some("dhcp4"), Some(missing)))
        .unwrap();
    assert_eq!(a.result, 3);
    assert_eq!(a.text.as_deref(), Some("Lease not found."));
    // Result 1: Kea's own text.
    let e = expect_err(rt().block_on(server.command(
        "config-test",
        Some("dhcp4"),
        Some(json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/33"}]}})),
    )));
    assert_eq!(e.kind, ErrorKind::Kea, "{e}");
    assert_eq!(e.code, Some(1));
    assert!(
        e.message
            .contains("Invalid prefix length specified for subnet: 33"),
        "{e}"
    );
    assert_eq!(e.command.as_deref(), Some("config-test"));
}

// --- Transport faults, through the proxy ------------------------------------------------------

fn fault_error(lab: &Lab, fault: Fault, options: TransportOptions) -> KeaError {
    let (server, proxy) = through_proxy(lab, options);
    proxy.fail("version-get", 1, fault);
    expect_err(rt().block_on(server.version()))
}

#[test]
fn garbage_http_500_a_dropped_connection_and_an_empty_array_are_transport_errors() {
    let Some(lab) = lab() else { return };
    let e = fault_error(&lab, Fault::Garbage, TransportOptions::default());
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("not JSON"), "{e}");
    assert!(
        !e.message.contains('\u{1b}'),
        "a terminal escape got through: {e:?}"
    );
    assert_eq!(e.code, None);

    let e = fault_error(&lab, Fault::Http500, TransportOptions::default());
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("HTTP 500"), "{e}");

    let e = fault_error(&lab, Fault::DropRequest, TransportOptions::default());
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");

    let e = fault_error(&lab, Fault::Answer("[]"), TransportOptions::default());
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("empty array"), "{e}");
}

#[test]
fn a_daemon_that_never_answers_is_a_transport_error_within_the_timeout() {
    let Some(lab) = lab() else { return };
    let start = Instant::now();
    let e = fault_error(
        &lab,
        Fault::Hang,
        TransportOptions {
            timeout: Duration::from_millis(500),
            ..TransportOptions::default()
        },
    );
    let elapsed = start.elapsed();
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("no answer"), "{e}");
    assert!(e.message.contains("500ms"), "{e}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}

#[test]
fn an_answer_over_max_answer_bytes_is_refused() {
    let Some(lab) = lab() else { return };
    let limit = 1024;
    let (server, _proxy) = through_proxy(
        &lab,
        TransportOptions {
            max_answer_bytes: limit,
            ..TransportOptions::default()
        },
    );
    let e = expect_err(rt().block_on(server.command("config-get", Some("dhcp4"), None)));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(
        e.message.contains(&format!("limit of {limit} bytes")),
        "{e}"
    );
    // The same answer under a larger limit is read.
    let (server, _proxy) = through_proxy(
        &lab,
        TransportOptions {
            max_answer_bytes: 4 << 20,
            ..TransportOptions::default()
        },
    );
    let cfg = rt()
        .block_on(server.command("config-get", Some("dhcp4"), None))
        .unwrap()
        .unwrap();
    assert!(cfg["Dhcp4"].is_object());
}

// --- Scripts through the binary ---------------------------------------------------------------

/// Runs `text` with the binary; the inventory names nothing the test uses.
fn run_script(dir: &Path, text: &str) -> (i32, String, String) {
    let inventory = dir.join("inventory.toml");
    std::fs::write(
        &inventory,
        "[servers.unused]\nurl = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let path = script(dir, "test.rhai", text);
    let out = keascript()
        .arg("--config")
        .arg(&inventory)
        .arg("--log")
        .arg("debug")
        .arg("run")
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run keascript");
    (
        out.status.code().expect("an exit status"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn password_file(dir: &Path, password: &str) -> String {
    let p = dir.join("api.pass");
    std::fs::write(&p, format!("{password}\n")).unwrap();
    p.display().to_string()
}

#[test]
fn script_reads_capabilities_over_daemon_http_with_auth() {
    let Some((lab, _, proxy)) = daemon_lab() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (user, password) = credentials(&lab);
    let pf = password_file(dir.path(), &password);
    let text = format!(
        r#"
let srv = connect("{url}", #{{ service: "dhcp4", user: "{user}", password_file: "{pf}" }});
print(`version=${{srv.version()}}`);
let caps = srv.dhcp4.capabilities();
for k in ["lease_cmds", "subnet_cmds", "class_cmds", "ha", "stat_cmds", "config_hash"] {{
    print(`${{k}}=${{caps[k]}}`);
}}
let cfg = srv.dhcp4.config();
print(`hash_key=${{cfg.contains("hash")}}`);
"#,
        url = proxy.url()
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[1..],
        [
            "lease_cmds=true",
            "subnet_cmds=true",
            "class_cmds=true",
            "ha=false",
            "stat_cmds=true",
            "config_hash=true",
            "hash_key=false",
        ]
    );
    assert!(lines[0].starts_with("version=3."), "{stdout}");
    // capabilities() reads the configuration too (is there a hosts database?).
    assert_eq!(
        proxy.commands(),
        ["version-get", "list-commands", "config-get", "config-get"]
    );
    assert!(
        !stderr.contains(&password),
        "the password is on stderr:\n{stderr}"
    );
}

#[test]
fn script_with_a_wrong_password_exits_3_and_never_shows_it() {
    let Some((lab, url, _proxy)) = daemon_lab() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (user, password) = credentials(&lab);
    let wrong = "Zx9-wrong-but-secret-Pw";
    let pf = password_file(dir.path(), wrong);
    let text = format!(
        r#"
let srv = connect("{url}", #{{ service: "dhcp4", user: "{user}", password_file: "{pf}" }});
try {{
    srv.dhcp4.capabilities();
}} catch (e) {{
    print(`caught=${{error_kind(e)}} code=${{e.code}}`);
}}
srv.dhcp4.capabilities();
print("not reached");
"#
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("caught=auth code=401"), "{stdout}");
    assert!(!stdout.contains("not reached"), "{stdout}");
    assert!(stderr.contains("auth"), "{stderr}");
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!out.contains(wrong), "the password is in {name}:\n{out}");
        assert!(
            !out.contains(&password),
            "the real password is in {name}:\n{out}"
        );
    }
}

#[test]
fn script_sees_error_kinds_empty_results_and_transport_faults() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_server, proxy) = through_proxy(&lab, TransportOptions::default());
    let connect_opts = match lab.http_url_of(0, "dhcp4") {
        Some(_) => {
            let (user, password) = credentials(&lab);
            format!(
                "service: \"dhcp4\", user: \"{user}\", password_file: \"{}\"",
                password_file(dir.path(), &password)
            )
        }
        None => String::new(),
    };
    let text = format!(
        r#"
let srv = connect("{url}", #{{ {connect_opts} }});
let none = srv.command("lease4-get", "dhcp4", #{{ "ip-address": "192.0.2.250" }});
print(`empty=${{type_of(none)}}`);
try {{ srv.command("foo-bar", "dhcp4"); }} catch (e) {{ print(`foo-bar=${{error_kind(e)}} code=${{e.code}}`); }}
let slow = connect("{url}", #{{ {connect_opts}{sep} timeout_ms: 500 }});
try {{ slow.version(); }} catch (e) {{ print(`slow=${{error_kind(e)}}`); }}
srv.version();
print("not reached");
"#,
        url = proxy.url(),
        sep = if connect_opts.is_empty() { "" } else { "," },
    );
    proxy.fail("version-get", 1, Fault::Hang);
    proxy.fail("version-get", 2, Fault::Http500);
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["empty=()", "foo-bar=unsupported code=2", "slow=transport"]
    );
    assert!(stderr.contains("HTTP 500"), "{stderr}");
}

#[test]
fn script_max_answer_bytes_option_limits_answers() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (url, opts) = match lab.http_url_of(0, "dhcp4") {
        Some(url) => {
            let (user, password) = credentials(&lab);
            (
                url,
                format!(
                    "service: \"dhcp4\", user: \"{user}\", password_file: \"{}\", ",
                    password_file(dir.path(), &password)
                ),
            )
        }
        None => (lab.url(), String::new()),
    };
    let text = format!(
        r#"
let big = connect("{url}", #{{ {opts}max_answer_bytes: 4000000 }});
print(`big=${{big.dhcp4.config().Dhcp4.subnet4[0].subnet}}`);
let small = connect("{url}", #{{ {opts}max_answer_bytes: 1024 }});
try {{ small.dhcp4.config(); }} catch (e) {{ print(`small=${{error_kind(e)}}: ${{e.message}}`); }}
"#
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], "big=192.0.2.0/24");
    assert!(lines[1].starts_with("small=transport: "), "{stdout}");
    assert!(lines[1].contains("limit of 1024 bytes"), "{stdout}");
}
