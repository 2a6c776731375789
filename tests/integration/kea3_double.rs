//! keascript against a Kea 3.2 daemon's own HTTP control socket, played by the test double
//! (`support::kea3`), which replays the recorded Kea 3.2 answers: the daemon-HTTP envelope,
//! basic authentication, result codes, and injected transport faults.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keascript::kea::{ErrorKind, KeaError, Server, ServerEntry, Service};
use keascript::transport::{Secret, TransportOptions};
use serde_json::{Value, json};

use crate::support::kea3::{self, Fault, Kea3Double, Kea3Options};
use crate::support::{keascript, rt, script};

const USER: &str = "kea-api";
const PASSWORD: &str = "Ohp4-double-secret-7Q";

fn authed(fault: Fault) -> Kea3Double {
    Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD).fault(fault))
}

fn options(password: Option<&str>) -> TransportOptions {
    TransportOptions {
        user: password.map(|_| USER.to_string()),
        password: password.map(Secret::new),
        ..TransportOptions::default()
    }
}

/// A daemon-HTTP server (`connect(url, service: "dhcp4")`) on the double.
fn daemon(double: &Kea3Double, opts: TransportOptions) -> Server {
    Server::connect(&double.url(), Some("dhcp4"), opts).expect("connect")
}

fn dhcp4(server: Server) -> Service {
    Service::new(Arc::new(server), "dhcp4").expect("dhcp4 service")
}

fn expect_err<T: std::fmt::Debug>(r: Result<T, KeaError>) -> KeaError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Sends one raw HTTP/1.1 request and returns the status and the body.
fn post_raw(double: &Kea3Double, body: &str, credentials: Option<(&str, &str)>) -> (u16, String) {
    use base64::Engine as _;
    let mut s = std::net::TcpStream::connect(double.addr()).expect("connect to the double");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = credentials.map_or(String::new(), |(u, p)| {
        format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        double.addr(),
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read the answer");
    let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}

// --- The double itself answers like the recording -------------------------------------------

#[test]
fn the_double_replays_the_recorded_http4_answers() {
    let double = authed(Fault::None);
    let mut seen: Vec<(String, Option<Value>)> = Vec::new();
    let mut checked = 0;
    for e in kea3::transcript().iter().filter(|e| e.via == "http4") {
        let (body, credentials) = match e.case.as_str() {
            "no credentials" => (e.request.to_string(), None),
            "wrong password" => (e.request.to_string(), Some((USER, "wrong"))),
            "garbage body" => ("this is {not JSON".to_string(), Some((USER, PASSWORD))),
            // Summarised in the recording; checked by `config_get_is_a_real_answer`.
            "config-get keys" => continue,
            _ => {
                // Only the first answer to a request is replayed (no state yet).
                let key = (
                    e.request["command"].as_str().unwrap().to_string(),
                    e.request.get("arguments").cloned(),
                );
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                (e.request.to_string(), Some((USER, PASSWORD)))
            }
        };
        let (status, text) = post_raw(&double, &body, credentials);
        assert_eq!(
            Some(status),
            e.http_status,
            "HTTP status of case {}",
            e.case
        );
        let got: Value = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("case {}: not JSON ({err}): {text}", e.case));
        assert_eq!(got, e.response, "answer of case {}", e.case);
        // Written the way Kea writes JSON.
        assert!(
            text.starts_with(if got.is_array() { "[ { " } else { "{ " }),
            "{text}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} cases checked");
    assert_eq!(double.requests().len(), checked);
}

#[test]
fn the_double_checks_the_service_field_like_kea_3_2() {
    let double = authed(Fault::None);
    let creds = Some((USER, PASSWORD));
    let (status, text) = post_raw(
        &double,
        &kea3::recorded("service dhcp6 given to dhcp4")
            .request
            .to_string(),
        creds,
    );
    assert_eq!(status, 200);
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got, kea3::recorded("service dhcp6 given to dhcp4").response);
    assert_eq!(
        got[0]["text"],
        "unsupported service 'dhcp6', expected 'dhcp4'"
    );
    // Its own service is accepted, and the answer is the same as without one.
    let (_, with) = post_raw(
        &double,
        r#"{"command": "version-get", "service": ["dhcp4"]}"#,
        creds,
    );
    let (_, without) = post_raw(&double, r#"{"command": "version-get"}"#, creds);
    assert_eq!(with, without);
    assert_eq!(
        serde_json::from_str::<Value>(&with).unwrap()[0]["text"],
        "3.2.0-git"
    );
    // A dhcp6 double names itself in the refusal.
    let d6 = Kea3Double::start(Kea3Options::dhcp6());
    let (_, text) = post_raw(
        &d6,
        r#"{"command": "subnet6-list", "service": ["dhcp4"]}"#,
        None,
    );
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        got,
        json!([{"result": 1, "text": "unsupported service 'dhcp4', expected 'dhcp6'"}])
    );
    let (_, text) = post_raw(&d6, r#"{"command": "subnet6-list"}"#, None);
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got, kea3::recorded("subnet6-list").response);
}

// --- The daemon-HTTP transport ----------------------------------------------------------------

#[test]
fn daemon_http_sends_no_service_and_reads_one_element_arrays() {
    let double = Kea3Double::start(Kea3Options::dhcp4());
    let server = daemon(&double, options(None));
    let version = rt().block_on(server.version()).expect("version");
    assert_eq!(version, "3.2.0-git");
    let status = rt()
        .block_on(server.command("status-get", Some("dhcp4"), None))
        .expect("status-get")
        .expect("arguments");
    assert_eq!(status["multi-threading-enabled"], true);
    let reqs = double.requests();
    assert_eq!(double.commands(), ["version-get", "status-get"]);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert!(
            !r.has_service(),
            "a service was sent to a daemon: {}",
            r.raw
        );
        assert!(
            !r.authorization,
            "credentials were sent though none are set"
        );
    }
    assert_eq!(reqs[0].body, Some(json!({"command": "version-get"})));
}

#[test]
fn an_inventory_dhcp4_endpoint_is_a_daemon_socket() {
    let double = authed(Fault::None);
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("api.pass");
    std::fs::write(&pass, format!("{PASSWORD}\n")).unwrap();
    let entry = ServerEntry {
        dhcp4: Some(double.url()),
        user: Some(USER.into()),
        password_file: Some(pass),
        ..Default::default()
    };
    let server = Arc::new(Server::from_entry("k3", &entry).expect("server"));
    assert_eq!(server.configured_services(), ["dhcp4"]);
    let svc = Service::new(server.clone(), "dhcp4").unwrap();
    let got = rt()
        .block_on(svc.command("subnet4-list", None))
        .expect("subnet4-list")
        .expect("arguments");
    assert_eq!(got, kea3::recorded("subnet4-list").response[0]["arguments"]);
    let r = &double.requests()[0];
    assert_eq!(r.body, Some(json!({"command": "subnet4-list"})));
    assert!(r.authorization);
    assert_eq!(r.user.as_deref(), Some(USER));
}

#[test]
fn capabilities_of_a_kea_3_2_daemon() {
    let double = Kea3Double::start(Kea3Options::dhcp4());
    let caps = rt()
        .block_on(dhcp4(daemon(&double, options(None))).capabilities())
        .expect("capabilities");
    assert!(caps.subnet_cmds, "{caps:?}");
    assert!(caps.class_cmds, "{caps:?}");
    assert!(caps.lease_cmds, "{caps:?}");
    assert!(caps.stat_cmds, "{caps:?}");
    assert!(caps.config_hash, "{caps:?}");
    assert!(!caps.ha, "{caps:?}");
    assert_eq!(
        double.requests()[0].body,
        Some(json!({"command": "list-commands"}))
    );
}

#[test]
fn config_get_is_a_real_answer_and_config_drops_the_hash() {
    let double = Kea3Double::start(Kea3Options::dhcp4());
    let server = daemon(&double, options(None));
    // The raw answer carries the recorded hash next to Dhcp4, as Kea 3.2's does.
    let raw = rt()
        .block_on(server.command("config-get", Some("dhcp4"), None))
        .expect("config-get")
        .expect("arguments");
    let keys: Vec<&String> = raw.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Dhcp4", "hash"]);
    assert_eq!(raw["hash"], kea3::recorded_hash());
    let cfg = rt().block_on(dhcp4(server).config()).expect("config");
    let m = cfg.as_object().expect("a map");
    assert!(!m.contains_key("hash"), "the hash key was kept: {cfg}");
    assert_eq!(m.keys().collect::<Vec<_>>(), ["Dhcp4"]);
    assert_eq!(cfg["Dhcp4"]["subnet4"][0]["subnet"], "192.0.2.0/24");
    assert_eq!(cfg["Dhcp4"], raw["Dhcp4"]);
}

// --- Basic authentication ---------------------------------------------------------------------

#[test]
fn basic_auth_with_the_right_credentials_sends_the_header() {
    let double = authed(Fault::None);
    let server = daemon(&double, options(Some(PASSWORD)));
    assert_eq!(rt().block_on(server.version()).unwrap(), "3.2.0-git");
    let reqs = double.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].authorization);
    assert_eq!(reqs[0].user.as_deref(), Some(USER));
}

#[test]
fn missing_or_wrong_credentials_are_auth_errors() {
    let double = authed(Fault::None);
    for (password, header) in [(None, false), (Some("not-the-password"), true)] {
        let server = daemon(&double, options(password));
        let e = expect_err(rt().block_on(server.version()));
        assert_eq!(e.kind, ErrorKind::Auth, "{e}");
        assert_eq!(e.code, Some(401), "{e}");
        assert_eq!(e.message, "Unauthorized");
        assert_eq!(e.command.as_deref(), Some("version-get"));
        assert_eq!(double.requests().last().unwrap().authorization, header);
    }
    // The double answered 401 with the recorded bare map.
    let (status, text) = post_raw(&double, r#"{"command": "version-get"}"#, None);
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"result": 401, "text": "Unauthorized"})
    );
}

// --- Result codes -----------------------------------------------------------------------------

#[test]
fn result_codes_become_error_kinds_or_empty() {
    let double = Kea3Double::start(Kea3Options::dhcp4());
    let server = daemon(&double, options(None));
    // Result 2: the command does not exist.
    let e = expect_err(rt().block_on(server.command("foo-bar", Some("dhcp4"), None)));
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert_eq!(e.code, Some(2));
    assert_eq!(e.message, "'foo-bar' command not supported.");
    // Result 3: empty, not an error for `command`.
    let got = rt()
        .block_on(server.command(
            "subnet4-get",
            Some("dhcp4"),
            Some(kea3::recorded_arguments("subnet4-get unknown")),
        ))
        .expect("result 3 is not an error");
    assert_eq!(got, None);
    // ...but it is the answer Kea sent.
    let a = rt()
        .block_on(server.answer("subnet4-get", Some("dhcp4"), Some(json!({"id": 99}))))
        .unwrap();
    assert_eq!(a.result, 3);
    assert_eq!(a.text.as_deref(), Some("No subnet with id 99 found"));
    // Result 1: Kea's own text.
    let e = expect_err(rt().block_on(server.command(
        "subnet4-add",
        Some("dhcp4"),
        Some(kea3::recorded_arguments("subnet4-add same id")),
    )));
    assert_eq!(e.kind, ErrorKind::Kea, "{e}");
    assert_eq!(e.code, Some(1));
    assert_eq!(
        e.message,
        "ID of the new IPv4 subnet '10' is already in use"
    );
    assert_eq!(e.message, kea3::recorded_text("subnet4-add same id"));
    assert_eq!(e.command.as_deref(), Some("subnet4-add"));
}

// --- Transport faults -------------------------------------------------------------------------

fn fault_error(fault: Fault, opts: TransportOptions) -> (KeaError, Kea3Double) {
    let double = Kea3Double::start(Kea3Options::dhcp4().fault(fault));
    let server = daemon(&double, opts);
    let e = expect_err(rt().block_on(server.version()));
    (e, double)
}

#[test]
fn a_garbage_body_is_a_transport_error() {
    let (e, _double) = fault_error(Fault::Garbage, options(None));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("not JSON"), "{e}");
    assert_eq!(e.code, None);
}

#[test]
fn an_answer_over_max_answer_bytes_is_refused() {
    let size = 64 * 1024;
    let limit = 16 * 1024;
    let (e, double) = fault_error(
        Fault::Oversized(size),
        TransportOptions {
            max_answer_bytes: limit,
            ..options(None)
        },
    );
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(
        e.message.contains(&format!("limit of {limit} bytes")),
        "{e}"
    );
    // The same answer under the limit is read.
    let server = daemon(
        &double,
        TransportOptions {
            max_answer_bytes: 4 * size,
            ..options(None)
        },
    );
    assert_eq!(rt().block_on(server.version()).unwrap(), "3.2.0-git");
}

#[test]
fn http_500_is_a_transport_error() {
    let (e, _double) = fault_error(Fault::Status500, options(None));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("HTTP 500"), "{e}");
}

#[test]
fn a_daemon_slower_than_the_timeout_is_a_transport_error() {
    let start = Instant::now();
    let (e, double) = fault_error(
        Fault::Delay(Duration::from_secs(30)),
        TransportOptions {
            timeout: Duration::from_millis(300),
            ..options(None)
        },
    );
    let elapsed = start.elapsed();
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("no answer"), "{e}");
    assert!(e.message.contains("300ms"), "{e}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(double.commands(), ["version-get"]);
}

#[test]
fn a_dropped_connection_is_a_transport_error() {
    let (e, double) = fault_error(Fault::Drop, options(None));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(!double.requests().is_empty(), "the request never arrived");
}

#[test]
fn an_empty_array_is_a_transport_error() {
    let (e, _double) = fault_error(Fault::EmptyArray, options(None));
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(e.message.contains("empty array"), "{e}");
}

// --- Scripts through the binary ---------------------------------------------------------------

/// Runs `text` as a script with the binary; `--config` points at an empty-ish inventory so
/// the host's inventory never matters.
fn run_script(dir: &Path, text: &str) -> (i32, String, String) {
    let inventory = dir.join("inventory.toml");
    if !inventory.exists() {
        std::fs::write(
            &inventory,
            "[servers.unused]\nurl = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
    }
    let path = script(dir, "test.rhai", text);
    let out = keascript()
        .arg("--config")
        .arg(&inventory)
        .arg("--log")
        .arg("debug")
        .arg("run")
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

/// A JSON value as a Rhai literal (maps as `#{"key": value}`).
fn rhai_literal(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "#{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), rhai_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(rhai_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Null => "()".to_string(),
        other => other.to_string(),
    }
}

fn password_file(dir: &Path, password: &str) -> String {
    let p = dir.join("api.pass");
    std::fs::write(&p, format!("{password}\n")).unwrap();
    p.display().to_string()
}

#[test]
fn script_reads_capabilities_over_daemon_http_with_auth() {
    let double = authed(Fault::None);
    let dir = tempfile::tempdir().unwrap();
    let pf = password_file(dir.path(), PASSWORD);
    let text = format!(
        r#"
let srv = connect("{url}", #{{ service: "dhcp4", user: "{USER}", password_file: "{pf}" }});
print(`version=${{srv.version()}}`);
let caps = srv.dhcp4.capabilities();
for k in ["lease_cmds", "subnet_cmds", "class_cmds", "ha", "stat_cmds", "config_hash"] {{
    print(`${{k}}=${{caps[k]}}`);
}}
let cfg = srv.dhcp4.config();
print(`hash_key=${{cfg.contains("hash")}}`);
"#,
        url = double.url()
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "version=3.2.0-git",
            "lease_cmds=true",
            "subnet_cmds=true",
            "class_cmds=true",
            "ha=false",
            "stat_cmds=true",
            "config_hash=true",
            "hash_key=false",
        ]
    );
    let reqs = double.requests();
    assert_eq!(
        double.commands(),
        ["version-get", "list-commands", "config-get"]
    );
    for r in &reqs {
        assert!(
            !r.has_service(),
            "a service was sent to a daemon: {}",
            r.raw
        );
        assert_eq!(r.user.as_deref(), Some(USER));
    }
}

#[test]
fn script_with_a_wrong_password_exits_3_and_never_shows_it() {
    let double = authed(Fault::None);
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Zx9-wrong-but-secret-Pw";
    let pf = password_file(dir.path(), wrong);
    let text = format!(
        r#"
let srv = connect("{url}", #{{ service: "dhcp4", user: "{USER}", password_file: "{pf}" }});
try {{
    srv.dhcp4.capabilities();
}} catch (e) {{
    print(`caught=${{error_kind(e)}} code=${{e.code}}`);
}}
srv.dhcp4.capabilities();
print("not reached");
"#,
        url = double.url()
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("caught=auth code=401"), "{stdout}");
    assert!(!stdout.contains("not reached"), "{stdout}");
    assert!(stderr.contains("auth"), "{stderr}");
    assert!(stderr.contains("Unauthorized"), "{stderr}");
    for (name, out) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!out.contains(wrong), "the password is in {name}:\n{out}");
        assert!(
            !out.contains(PASSWORD),
            "the real password is in {name}:\n{out}"
        );
    }
    // Both calls did reach the double, with (wrong) credentials.
    let reqs = double.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.authorization));
}

#[test]
fn script_sees_error_kinds_and_empty_results() {
    let double = Kea3Double::start(Kea3Options::dhcp4());
    let dir = tempfile::tempdir().unwrap();
    let add = rhai_literal(&kea3::recorded_arguments("subnet4-add same id"));
    let text = format!(
        r#"
let srv = connect("{url}", #{{ service: "dhcp4" }});
let none = srv.command("subnet4-get", "dhcp4", #{{ id: 99 }});
print(`empty=${{type_of(none)}}`);
try {{ srv.command("foo-bar"); }} catch (e) {{ print(`foo-bar=${{error_kind(e)}} code=${{e.code}}`); }}
let add = {add};
try {{ srv.dhcp4.command("subnet4-add", add); }} catch (e) {{
    print(`subnet4-add=${{error_kind(e)}} code=${{e.code}}`);
    print(`message=${{e.message}}`);
}}
srv.command("foo-bar", "dhcp4");
print("not reached");
"#,
        url = double.url()
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 4, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "empty=()",
            "foo-bar=unsupported code=2",
            "subnet4-add=kea code=1",
            "message=ID of the new IPv4 subnet '10' is already in use",
        ]
    );
    assert!(stderr.contains("unsupported"), "{stderr}");
    assert!(stderr.contains("foo-bar"), "{stderr}");
    assert_eq!(
        double.commands(),
        ["subnet4-get", "foo-bar", "subnet4-add", "foo-bar"]
    );
    assert!(double.requests().iter().all(|r| !r.has_service()));
}

#[test]
fn script_transport_faults_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    // A timeout from the connect options, caught, then a 500 uncaught.
    let slow = Kea3Double::start(Kea3Options::dhcp4().fault(Fault::Delay(Duration::from_secs(30))));
    let broken = Kea3Double::start(Kea3Options::dhcp4().fault(Fault::Status500));
    let text = format!(
        r#"
let slow = connect("{slow}", #{{ service: "dhcp4", timeout_ms: 300 }});
try {{ slow.version(); }} catch (e) {{ print(`slow=${{error_kind(e)}}`); }}
let broken = connect("{broken}", #{{ service: "dhcp4" }});
broken.version();
print("not reached");
"#,
        slow = slow.url(),
        broken = broken.url()
    );
    let start = Instant::now();
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["slow=transport"]);
    assert!(stderr.contains("transport"), "{stderr}");
    assert!(stderr.contains("HTTP 500"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(slow.commands(), ["version-get"]);
    assert_eq!(broken.commands(), ["version-get"]);
}

#[test]
fn script_max_answer_bytes_option_limits_answers() {
    let double = Kea3Double::start(Kea3Options::dhcp4().fault(Fault::Oversized(32 * 1024)));
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
let big = connect("{url}", #{{ service: "dhcp4", max_answer_bytes: 1000000 }});
print(`big=${{big.version()}}`);
let small = connect("{url}", #{{ service: "dhcp4", max_answer_bytes: 4096 }});
try {{ small.version(); }} catch (e) {{ print(`small=${{error_kind(e)}}: ${{e.message}}`); }}
"#,
        url = double.url()
    );
    let (code, stdout, stderr) = run_script(dir.path(), &text);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], "big=3.2.0-git");
    assert!(lines[1].starts_with("small=transport: "), "{stdout}");
    assert!(lines[1].contains("limit of 4096 bytes"), "{stdout}");
}
