//! Secrets never print, servers cannot drive the admin's terminal, and the inventory is
//! checked before a script starts (issue 11, points 6–8).
//!
//! The hostile answers come from a small HTTP server of this file ([`Canned`]) that sends
//! the same bytes to every request; everything else runs against a real Kea 2.2 lab.

use std::convert::Infallible;
use std::path::Path;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::support::{keascript, lab, rt, script};

/// Terminal controls a hostile server sends: retitle the terminal, ring, clear it.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J";

/// An HTTP server that answers every request with the same status and body.
struct Canned {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Canned {
    fn start(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        let body = Bytes::from(body.into());
        let listener = rt()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = rt().spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let body = body.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let body = body.clone();
                        async move {
                            let mut r = Response::new(Full::new(body));
                            *r.status_mut() = StatusCode::from_u16(status).unwrap();
                            r.headers_mut().insert(
                                hyper::header::CONTENT_TYPE,
                                hyper::header::HeaderValue::from_static(content_type),
                            );
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, task }
    }

    /// A Control Agent that answers every command with success and Kea 2.2's version.
    fn kea() -> Self {
        Self::start(
            200,
            "application/json",
            r#"[{"result": 0, "text": "2.2.0", "arguments": {}}]"#,
        )
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `keascript run --config INVENTORY SCRIPT` in `dir`: (status, stdout, stderr).
fn run(dir: &Path, inventory: &str, code: &str) -> (i32, String, String) {
    let inv = write(dir, "keascript.toml", inventory);
    let s = script(dir, "s.rhai", code);
    let mut c = keascript();
    c.env("KEASCRIPT_STATE_DIR", dir.join("state"))
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("--config")
        .arg(&inv)
        .arg("run")
        .arg(&s);
    let out = c.output().expect("keascript runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------
// Terminal escapes (point 7)

#[test]
fn a_server_cannot_drive_the_terminal() {
    let json_text = format!(
        r#"[{{"result": 1, "text": {}}}]"#,
        serde_json::to_string(HOSTILE).unwrap()
    );
    let cases: Vec<(&str, Canned, i32)> = vec![
        (
            "an HTTP 500 body",
            Canned::start(500, "text/plain", HOSTILE),
            3,
        ),
        (
            "a body that is not JSON",
            Canned::start(200, "application/json", HOSTILE),
            3,
        ),
        (
            "a 401 that is not JSON",
            Canned::start(401, "text/plain", HOSTILE),
            3,
        ),
        (
            "Kea's text",
            Canned::start(200, "application/json", json_text),
            4,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, server, status) in cases {
        let inventory = format!("[servers.evil]\nurl = \"{}\"\n", server.url);
        // Uncaught, and caught and printed by the script: both reach the terminal.
        for code in [
            "kea().version();\n",
            "try { kea().version(); } catch (e) { print(e.message); }\n",
        ] {
            let (got, stdout, stderr) = run(dir.path(), &inventory, code);
            let expected = if code.starts_with("try") { 0 } else { status };
            assert_eq!(got, expected, "{what}: {stderr}");
            for out in [&stdout, &stderr] {
                assert!(
                    !out.contains('\x1b') && !out.contains('\x07'),
                    "{what}: raw terminal controls reach the terminal: {out:?}"
                );
            }
            let shown = format!("{stdout}{stderr}");
            assert!(
                shown.contains("\\x1b]0;pwned\\x07\\x1b[2J"),
                "{what}: the text is shown, escaped: {shown:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dry runs and the audit on a real Kea (point 6)

#[test]
fn dry_runs_and_the_audit_never_show_a_secret() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let code = r#"
let v4 = kea().dhcp4;
dry_run(true);
v4.add_class(#{ name: "dry", user_context: #{ api_token: "Dry-Token-1", passwd: "Dry-Pass-2", pass: "Dry-Pass-3", site: "hq" } });
dry_run(false);
v4.add_class(#{ name: "real", user_context: #{ api_token: "Real-Token-4", passwd: "Real-Pass-5", pass: "Real-Pass-6" } });
v4.update_class("real", #{ user_context: #{ api_token: "Real-Token-7", passwd: "Real-Pass-5", pass: "Real-Pass-6" } });
dry_run(true);
v4.update_class("real", #{ user_context: #{ api_token: "Real-Token-8", passwd: "Real-Pass-5", pass: "Real-Pass-6" } });
let tx = v4.begin();
tx.update_class("real", #{ user_context: #{ api_token: "Real-Token-9" } });
print(tx.diff());
tx.discard();
print(history());
"#;
    let s = script(dir.path(), "s.rhai", code);
    let out = keascript()
        .env("KEASCRIPT_AUDIT_FILE", &audit)
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .arg("--config")
        .arg(lab.inventory())
        .arg("run")
        .arg(&s)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // The dry run shows the change, with the secrets redacted; a changed one says so.
    assert!(stdout.contains("\"site\": \"hq\""), "{stdout}");
    assert!(stdout.contains("[redacted]"), "{stdout}");
    assert!(stdout.contains("[redacted, changed]"), "{stdout}");
    let trail = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(trail.lines().count(), 2, "{trail}");
    for (what, text) in [
        ("output", stdout.as_ref()),
        ("errors", stderr.as_ref()),
        ("audit", trail.as_str()),
    ] {
        for secret in ["Dry-", "Real-Token", "Real-Pass"] {
            assert!(!text.contains(secret), "{what} shows {secret}: {text}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The inventory (points 6 and 8)

#[test]
fn inventory_errors_stop_before_the_script_with_status_2_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let code = "print(\"the script started\");\n";
    for (what, inventory, names) in [
        (
            "a password in the inventory",
            "[servers.edge-1]\nurl = \"http://127.0.0.1:8000\"\nuser = \"kea\"\npassword = \"Inventory-Secret-1\"\n",
            "password_file",
        ),
        (
            "a syntax error on a password line",
            "[servers.edge-1]\nurl = \"http://127.0.0.1:8000\"\npassword = \"Inventory-Secret-1\" oops\n",
            "keascript.toml:3:",
        ),
        (
            "a password in the URL",
            "[servers.edge-1]\nurl = \"http://kea:Inventory-Secret-1@127.0.0.1:8000\"\n",
            "edge-1",
        ),
        (
            "a password in a daemon URL",
            "[servers.edge-2]\ndhcp4 = \"https://kea:Inventory-Secret-1@kea.example.net:8004\"\n",
            "edge-2",
        ),
        (
            "a bad scheme",
            "[servers.edge-3]\nurl = \"ftp://127.0.0.1:8000\"\n",
            "ftp",
        ),
        (
            "an unknown key",
            "[servers.edge-4]\nurl = \"http://127.0.0.1:8000\"\ntimeout = 5\n",
            "timeout",
        ),
    ] {
        let (status, stdout, stderr) = run(dir.path(), inventory, code);
        assert_eq!(status, 2, "{what}: {stderr}");
        assert!(!stdout.contains("started"), "{what}: the script ran");
        assert!(
            !stderr.contains("Inventory-Secret-1"),
            "{what}: the secret is shown: {stderr}"
        );
        assert!(stderr.contains(names), "{what}: {stderr}");
        if inventory.contains("@") {
            assert!(
                stderr.contains("password_file") && stderr.contains("password_env"),
                "{what}: advice: {stderr}"
            );
        }
    }
}

#[test]
fn credentials_are_read_when_a_server_is_first_used() {
    let kea = Canned::kea();
    let dir = tempfile::tempdir().unwrap();
    let inventory = format!(
        "default = \"ok\"\n\
         [servers.ok]\nurl = \"{url}\"\n\
         [servers.unset]\nurl = \"{url}\"\nuser = \"kea\"\npassword_env = \"KEASCRIPT_TEST_NEVER_SET_42\"\n\
         [servers.nofile]\nurl = \"{url}\"\nuser = \"kea\"\npassword_file = \"missing.pass\"\n\
         [servers.noca]\nurl = \"https://127.0.0.1:1\"\nca_file = \"missing-ca.pem\"\n",
        url = kea.url
    );
    let code = r#"
print(servers().map(|s| s.name));
print(kea().version());
for n in ["unset", "nofile", "noca"] {
    try { kea(n).version(); print(`${n}: used`); }
    catch (e) { print(`${n}: ${e.kind}: ${e.message}`); }
}
kea("nofile").version();
"#;
    let (status, stdout, stderr) = run(dir.path(), &inventory, code);
    assert_eq!(status, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(r#"["noca", "nofile", "ok", "unset"]"#),
        "servers() lists every server: {stdout}"
    );
    assert!(stdout.contains("2.2.0"), "{stdout}");
    assert!(
        stdout.contains("unset: invalid: ") && stdout.contains("KEASCRIPT_TEST_NEVER_SET_42"),
        "{stdout}"
    );
    let pass = dir.path().join("missing.pass");
    assert!(
        stdout.contains("nofile: invalid: ") && stdout.contains(&*pass.to_string_lossy()),
        "{stdout}"
    );
    let ca = dir.path().join("missing-ca.pem");
    assert!(
        stdout.contains("noca: invalid: ") && stdout.contains(&*ca.to_string_lossy()),
        "{stdout}"
    );
    assert!(stderr.contains("invalid error"), "{stderr}");
}

#[test]
fn a_timeout_of_0_means_none() {
    let kea = Canned::kea();
    let dir = tempfile::tempdir().unwrap();
    let inventory = format!(
        "[servers.a]\nurl = \"{}\"\ntimeout_ms = 0\nconnect_timeout_ms = 0\n",
        kea.url
    );
    let code = format!(
        "print(kea().version());\nprint(connect(\"{}\", #{{ timeout_ms: 0 }}).version());\n",
        kea.url
    );
    let (status, stdout, stderr) = run(dir.path(), &inventory, &code);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout, "2.2.0\n2.2.0\n", "{stderr}");
}

#[test]
fn loaded_secrets_never_print_in_logs_or_errors() {
    let kea = Canned::kea();
    let dir = tempfile::tempdir().unwrap();
    const SECRET: &str = "Env-Secret-Value-77";
    let pass = write(dir.path(), "edge.pass", "File-Secret-Value-88\n");
    let inventory = format!(
        "default = \"a\"\n[servers.a]\nurl = \"{url}\"\nuser = \"kea\"\npassword_env = \"KEASCRIPT_TEST_PW\"\n\
         [servers.b]\nurl = \"{url}\"\nuser = \"kea\"\npassword_file = \"{}\"\n",
        pass.display(),
        url = kea.url
    );
    // Neither server is used: the secrets are known from the start.
    let code = r#"
log("warn", "the password is " + env("KEASCRIPT_TEST_PW"));
log("warn", "and the other " + read_file(args[0]));
throw "giving up with " + env("KEASCRIPT_TEST_PW");
"#;
    let inv = write(dir.path(), "keascript.toml", &inventory);
    let s = script(dir.path(), "s.rhai", code);
    let out = keascript()
        .env("KEASCRIPT_TEST_PW", SECRET)
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .args(["--log", "debug", "--config"])
        .arg(&inv)
        .arg("run")
        .arg(&s)
        .arg("--")
        .arg(&pass)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains(SECRET) && !stderr.contains("File-Secret-Value-88"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the password is [redacted]")
            && stderr.contains("and the other [redacted]")
            && stderr.contains("giving up with [redacted]"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// The audit trail and `keascript history` (point 8)

#[test]
fn unreadable_audit_lines_are_reported_and_good_ones_shown() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let entry = |key: &str| {
        format!(
            r#"{{"time":"2026-11-28T10:00:00.000Z","user":"root","server":"lab","service":"dhcp4","kind":"subnet","key":"{key}","action":"add","before":null,"after":null,"script":"s.rhai","outcome":"ok","error":null}}"#
        )
    };
    let mut bytes = Vec::new();
    bytes.extend_from_slice(entry("10.1.0.0/24").as_bytes());
    bytes.extend_from_slice(b"\n{\"time\": \"2026-11-28T10:0\n\xff\xfe\n");
    bytes.extend_from_slice(entry("10.2.0.0/24").as_bytes());
    bytes.push(b'\n');
    std::fs::write(&audit, bytes).unwrap();
    let history = |args: &[&str]| {
        let out = keascript()
            .env("KEASCRIPT_AUDIT_FILE", &audit)
            .arg("history")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for args in [&[][..], &["--output", "json"][..]] {
        let (status, stdout, stderr) = history(args);
        assert_eq!(status, Some(0), "{stderr}");
        assert!(
            stdout.contains("10.1.0.0/24") && stdout.contains("10.2.0.0/24"),
            "{stdout}"
        );
        assert!(
            stderr.contains("2 lines")
                && stderr.contains("lines 2, 3")
                && stderr.contains(&*audit.to_string_lossy()),
            "{stderr}"
        );
    }
    // The same from a script.
    let s = script(dir.path(), "h.rhai", "print(history().len());\n");
    let out = keascript()
        .env("KEASCRIPT_AUDIT_FILE", &audit)
        .arg("run")
        .arg(&s)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n", "{stderr}");
    assert!(stderr.contains("lines 2, 3"), "{stderr}");

    // A kind that does not exist is a usage error that lists the kinds.
    let (status, _, stderr) = history(&["--kind", "nonsense"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains("nonsense") && stderr.contains("option_def") && stderr.contains("subnet"),
        "{stderr}"
    );
    let s = script(dir.path(), "k.rhai", "history(\"nonsense\", \"x\");\n");
    let out = keascript()
        .env("KEASCRIPT_AUDIT_FILE", &audit)
        .arg("run")
        .arg(&s)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("option_def"), "{stderr}");
}
