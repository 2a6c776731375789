//! keascript against a Kea 3.2 daemon's own HTTP control socket, played by the test double
//! (`support::kea3`), which replays the recorded Kea 3.2 answers — only for what Kea 3.2 does
//! and the suite's real Kea 3.0.4 does not: refusing a `service` other than its own, and the
//! commands 3.0.4 lacks. keascript sends no `service` to a daemon socket, so a 3.2 daemon
//! takes its commands. The rest runs on real Kea: `daemon_http.rs`, `hook_path.rs`.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use keascript::kea::{Server, Service};
use keascript::transport::{Secret, TransportOptions};
use serde_json::{Value, json};

use crate::support::kea3::{self, Kea3Double, Kea3Options};
use crate::support::rt;

const USER: &str = "kea-api";
const PASSWORD: &str = "Ohp4-double-secret-7Q";

fn authed() -> Kea3Double {
    Kea3Double::start(Kea3Options::dhcp4().auth(USER, PASSWORD))
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
    let double = authed();
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
    let double = authed();
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

// --- keascript against Kea 3.2's daemon socket ----------------------------------------------

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
