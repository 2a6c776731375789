//! Basic authentication and TLS against a real Kea Control Agent started by the lab (Kea 2.2,
//! or Kea 3.0 with `KEASCRIPT_KEA_BIN_DIR`; the version expected is the lab's own)
//! (`reference/reliability-ux.md` §2.1): the right credentials work, wrong or missing ones
//! are `auth` errors that never print a password, plain HTTP with credentials is refused for
//! hosts that are not loopback, and HTTPS trusts only the CA it is given, with or without a
//! client certificate.
//!
//! Certificates are made for each test with `rcgen`: a CA, a server certificate for
//! 127.0.0.1 and `localhost`, and a client certificate, all signed by that CA; plus a second,
//! untrusted CA with its own client certificate. All traffic goes to 127.0.0.1.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keascript::kea::{ErrorKind, Inventory, KeaError, Server, ServerEntry};
use keascript::lab::{Lab, LabOptions, LabTls};
use keascript::transport::{Endpoint, Secret, Transport, TransportError, TransportOptions};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::support::{keascript, lab_with, rt, script};

const USER: &str = "keascript-api";
const RIGHT: &str = "Right-pa55word-7f3c1d";
const WRONG: &str = "Wrong-pa55word-91ab0e";

/// Everything a failed TLS handshake may be reported as.
const TLS_WORDS: &[&str] = &["certificate", "issuer", "tls", "handshake", "alert"];

// ---------------------------------------------------------------------------------------
// Certificates

/// The files of a small PKI in a temporary directory.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// A CA the lab does not trust, and a client certificate it signed.
    other_ca: PathBuf,
    other_client_cert: PathBuf,
    other_client_key: PathBuf,
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

/// A leaf certificate and its PKCS#8 key, both PEM.
fn new_leaf(
    issuer: &Issuer<'static, KeyPair>,
    cn: &str,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

fn pki() -> Pki {
    let dir = tempfile::Builder::new()
        .prefix("keascript-pki-")
        .tempdir()
        .expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write PEM");
        p
    };
    let (ca_pem, ca) = new_ca("keascript test CA");
    let (srv, srv_key) = new_leaf(
        &ca,
        "127.0.0.1",
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (cli, cli_key) = new_leaf(
        &ca,
        "keascript-client",
        &["keascript-client"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (other_pem, other) = new_ca("untrusted test CA");
    let (ocli, ocli_key) = new_leaf(
        &other,
        "keascript-client",
        &["keascript-client"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: write("ca.pem", &ca_pem),
        server_cert: write("server.pem", &srv),
        server_key: write("server-key.pem", &srv_key),
        client_cert: write("client.pem", &cli),
        client_key: write("client-key.pem", &cli_key),
        other_ca: write("other-ca.pem", &other_pem),
        other_client_cert: write("other-client.pem", &ocli),
        other_client_key: write("other-client-key.pem", &ocli_key),
        _dir: dir,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

fn auth_lab() -> Option<Lab> {
    lab_with(LabOptions {
        auth: Some((USER.into(), Secret::new(RIGHT))),
        ..Default::default()
    })
}

fn tls_lab(pki: &Pki, cert_required: bool) -> Option<Lab> {
    lab_with(LabOptions {
        tls: Some(LabTls {
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            ca_file: pki.ca.clone(),
            cert_required,
        }),
        ..Default::default()
    })
}

/// The lab inventory's entry for the Control Agent (where the lab puts authentication and
/// TLS): `lab` on Kea 2.2; on Kea >= 2.7.2 `lab-agent`, while `lab` names the daemons' own
/// HTTP sockets (with their own basic authentication).
fn agent_entry(lab: &Lab) -> &'static str {
    if lab.kea_version().daemon_http() {
        "lab-agent"
    } else {
        "lab"
    }
}

/// Short timeouts, so a hang shows up as a failure rather than a stuck test.
fn options() -> TransportOptions {
    TransportOptions {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

/// Options with the lab CA and, optionally, a client certificate.
fn tls_options(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> TransportOptions {
    TransportOptions {
        ca_file: ca.map(Path::to_path_buf),
        cert_file: client.map(|(c, _)| c.to_path_buf()),
        key_file: client.map(|(_, k)| k.to_path_buf()),
        ..options()
    }
}

/// `version-get` on an ad-hoc Control Agent server, and how long it took.
fn version_of(url: &str, options: TransportOptions) -> (Result<String, KeaError>, Duration) {
    let started = Instant::now();
    let url = url.to_string();
    let r = rt().block_on(async move {
        let server = Server::connect(&url, None, options)?;
        server.version().await
    });
    (r, started.elapsed())
}

/// Asserts a fast `transport` failure whose message names TLS or the certificate.
fn assert_tls_failure(what: &str, r: Result<String, KeaError>, took: Duration) {
    let e = match r {
        Ok(v) => panic!("{what}: expected a TLS failure, got version {v:?}"),
        Err(e) => e,
    };
    assert_eq!(e.kind, ErrorKind::Transport, "{what}: {e}");
    let msg = e.message.to_lowercase();
    assert!(
        TLS_WORDS.iter().any(|w| msg.contains(w)),
        "{what}: the message should say it is about TLS or the certificate: {e}"
    );
    assert!(
        e.message.starts_with("TLS error"),
        "{what}: a TLS failure is reported as one: {e}"
    );
    assert!(
        took < Duration::from_secs(3),
        "{what}: took {took:?}, should fail within a couple of seconds"
    );
}

/// Every form a password could leak in: itself and inside a basic-auth header value.
fn leak_forms(password: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        password.to_string(),
        b64.encode(format!("{USER}:{password}")),
        b64.encode(format!("{USER}:{password}"))
            .trim_end_matches('=')
            .to_string(),
    ]
}

fn assert_no_leak(what: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for secret in leak_forms(RIGHT).into_iter().chain(leak_forms(WRONG)) {
        assert!(
            !stdout.contains(&secret),
            "{what}: stdout leaks a password ({secret}):\n{stdout}"
        );
        assert!(
            !stderr.contains(&secret),
            "{what}: stderr leaks a password ({secret}):\n{stderr}"
        );
    }
}

/// Runs `keascript [--config INV] [EXTRA…] run SCRIPT` with a deadline.
fn run(inventory: &Path, script: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = keascript();
    cmd.arg("--config")
        .arg(inventory)
        .args(extra)
        .arg("run")
        .arg(script)
        .timeout(Duration::from_secs(60));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run keascript")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A quoted, escaped string: a Rhai literal, and a TOML basic string too.
fn rhai_str(s: &str) -> String {
    serde_json::to_string(s).expect("JSON string")
}

// ---------------------------------------------------------------------------------------
// 1. Basic authentication on the Control Agent

#[test]
fn basic_auth_with_the_lab_inventory_runs_a_script() {
    let Some(lab) = auth_lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The agent's entry, and the default server (the same on Kea 2.2; the daemons' own
    // HTTP sockets on Kea >= 2.7.2).
    let s = script(
        dir.path(),
        "v.rhai",
        &format!(
            "print(`version=${{kea(\"{}\").version()}}`);\nprint(`default=${{kea().version()}}`);\n",
            agent_entry(&lab)
        ),
    );
    let inventory = std::fs::read_to_string(lab.inventory()).unwrap();
    assert!(
        inventory.contains("password_file") && !inventory.contains(RIGHT),
        "the lab inventory points at a password file:\n{inventory}"
    );

    // connect() with user + password_file reaches the same agent.
    let c = script(
        dir.path(),
        "connect.rhai",
        &format!(
            "let s = connect({}, #{{ user: {}, password_file: {} }});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&lab.url()),
            rhai_str(USER),
            rhai_str(&lab.dir().join("lab.pass").display().to_string()),
        ),
    );
    let out = run(lab.inventory(), &c, &["--log", "debug"], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let version = format!("version={}", lab.kea_version());
    assert!(stdout.contains(&version), "{stdout}");
    assert_no_leak("connect()", &out);

    for (what, extra, env) in [
        ("default log", &[][..], &[][..]),
        ("--log debug", &["--log", "debug"][..], &[][..]),
        (
            "KEASCRIPT_LOG=debug",
            &[][..],
            &[("KEASCRIPT_LOG", "debug")][..],
        ),
    ] {
        let out = run(lab.inventory(), &s, extra, env);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(stdout.contains(&version), "{what}: {stdout}");
        assert!(
            stdout.contains(&format!("default={}", lab.kea_version())),
            "{what}: {stdout}"
        );
        if what != "default log" {
            assert!(
                stderr.contains("sending"),
                "{what}: debug logging should be on:\n{stderr}"
            );
        }
        assert_no_leak(what, &out);
    }
}

#[test]
fn a_wrong_password_is_an_auth_error_that_prints_no_password() {
    let Some(lab) = auth_lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("wrong.pass");
    std::fs::write(&pass, format!("{WRONG}\n")).unwrap();
    let inventory = dir.path().join("keascript.toml");
    std::fs::write(
        &inventory,
        format!(
            "default = \"kea\"\n\n[servers.kea]\nurl = {}\nuser = {}\npassword_file = {}\n",
            rhai_str(&lab.url()),
            rhai_str(USER),
            rhai_str(&pass.display().to_string())
        ),
    )
    .unwrap();

    // Uncaught: exit status 3, an `auth` error on stderr.
    let s = script(dir.path(), "v.rhai", "print(kea().version());\n");
    for (what, extra, env) in [
        ("default log", &[][..], &[][..]),
        ("--log debug", &["--log", "debug"][..], &[][..]),
        (
            "KEASCRIPT_LOG=debug",
            &[][..],
            &[("KEASCRIPT_LOG", "debug")][..],
        ),
        ("--log trace", &["--log", "trace"][..], &[][..]),
    ] {
        let out = run(&inventory, &s, extra, env);
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{what}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            stderr.contains("auth error"),
            "{what}: stderr should name an auth error:\n{stderr}"
        );
        assert!(
            !stdout.contains(&lab.kea_version().to_string()),
            "{what}: no version: {stdout}"
        );
        if what != "default log" {
            assert!(
                stderr.contains("sending"),
                "{what}: debug logging should be on:\n{stderr}"
            );
        }
        assert_no_leak(what, &out);
    }

    // Caught: the script sees kind `auth` and code 401; the whole error map leaks nothing.
    let s = script(
        dir.path(),
        "catch.rhai",
        "try { kea().version(); print(\"no error\"); } catch (e) { print(`kind=${e.kind} code=${e.code}`); print(`${e}`); }\n",
    );
    let out = run(&inventory, &s, &["--log", "debug"], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("kind=auth code=401"), "{stdout}");
    assert_no_leak("caught", &out);
}

#[test]
fn library_auth_errors_carry_http_401() {
    let Some(lab) = auth_lab() else { return };
    let dir = tempfile::tempdir().unwrap();

    // No credentials at all: the agent answers 401 as a bare map.
    let entry = ServerEntry {
        url: Some(lab.url()),
        connect_timeout_ms: Some(2000),
        timeout_ms: Some(10_000),
        ..Default::default()
    };
    let (agent, dhcp4) = rt().block_on(async {
        let s = Server::from_entry("anonymous", &entry).expect("server");
        (
            s.command("version-get", None, None).await,
            s.command("version-get", Some("dhcp4"), None).await,
        )
    });
    for (what, r) in [("agent", agent), ("dhcp4 through the agent", dhcp4)] {
        let e = r.expect_err(what);
        assert_eq!(e.kind, ErrorKind::Auth, "{what}: {e}");
        assert_eq!(e.code, Some(401), "{what}: {e}");
        assert_eq!(e.server.as_deref(), Some("anonymous"), "{what}: {e}");
        assert_eq!(e.command.as_deref(), Some("version-get"), "{what}: {e}");
    }

    // A wrong password: the same, and the error never contains it.
    let pass = dir.path().join("wrong.pass");
    std::fs::write(&pass, format!("{WRONG}\n")).unwrap();
    let entry = ServerEntry {
        user: Some(USER.into()),
        password_file: Some(pass),
        ..entry
    };
    let r = rt().block_on(async {
        let s = Server::from_entry("wrong", &entry).expect("server");
        let r = s.command("version-get", None, None).await;
        (r, format!("{s:?}"))
    });
    let (r, debug) = r;
    let e = r.expect_err("a wrong password is refused");
    assert_eq!(e.kind, ErrorKind::Auth, "{e}");
    assert_eq!(e.code, Some(401), "{e}");
    assert_eq!(e.kind.exit_status(), 3);
    for shown in [e.to_string(), format!("{e:?}"), debug] {
        for secret in leak_forms(WRONG) {
            assert!(!shown.contains(&secret), "leaks the password: {shown}");
        }
    }

    // The lab's own inventory (user + password_file) is let in: the agent, and on Kea >=
    // 2.7.2 the daemons' own sockets too.
    let inv = Inventory::load(lab.inventory()).expect("lab inventory");
    for name in [agent_entry(&lab), "lab"] {
        let version = rt().block_on(async {
            let s = Server::from_entry(name, inv.get(name).unwrap()).expect("server");
            s.version().await
        });
        assert_eq!(
            version.expect("the right password works"),
            lab.kea_version().to_string(),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Plain HTTP with credentials

#[test]
fn plain_http_credentials_are_refused_for_hosts_that_are_not_loopback() {
    // Nothing here sends anything: transports are only built.
    let _guard = rt().enter();
    let creds = TransportOptions {
        user: Some(USER.into()),
        password: Some(Secret::new(WRONG)),
        ..options()
    };
    let user_only = TransportOptions {
        password: None,
        ..creds.clone()
    };
    for (address, daemon) in [
        ("http://192.0.2.1:8000", false),
        ("http://192.0.2.1:8004", true),
        ("http://kea.example.net:8000", false),
        ("http://[2001:db8::1]:8000", false),
    ] {
        for o in [&creds, &user_only] {
            let ep = Endpoint::parse(address, daemon).unwrap();
            match Transport::new(ep, o.clone()) {
                Err(TransportError::InsecureCredentials(shown)) => {
                    let host = url::Url::parse(address).unwrap();
                    let host = host.host_str().unwrap();
                    assert!(shown.contains(host), "{address}: names the host: {shown}");
                    let msg = TransportError::InsecureCredentials(shown).to_string();
                    assert!(msg.contains("https"), "{msg}");
                    assert!(!msg.contains(WRONG), "{msg}");
                }
                other => panic!("{address}: expected InsecureCredentials, got {other:?}"),
            }
        }
    }

    // Through the inventory: an `invalid` error (exit status 1), before anything is sent.
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p");
    std::fs::write(&pass, WRONG).unwrap();
    let entry = ServerEntry {
        url: Some("http://192.0.2.1:8000".into()),
        user: Some(USER.into()),
        password_file: Some(pass),
        ..Default::default()
    };
    let e = Server::from_entry("remote", &entry).expect_err("refused");
    assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    assert!(e.message.contains("plain HTTP"), "{e}");
    assert!(!e.to_string().contains(WRONG), "{e}");

    // Loopback may use plain HTTP with a password; https anywhere; no credentials anywhere.
    for (address, o) in [
        ("http://127.0.0.1:8000", &creds),
        ("http://127.0.0.1", &creds),
        ("http://127.8.9.10:8000", &creds),
        ("http://localhost:8000", &creds),
        ("http://[::1]:8000", &creds),
        ("https://192.0.2.1:8000", &creds),
        ("http://192.0.2.1:8000", &options()),
    ] {
        let ep = Endpoint::parse(address, false).unwrap();
        if let Err(e) = Transport::new(ep, o.clone()) {
            panic!("{address}: should be allowed, got {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. HTTPS

#[test]
fn https_trusts_the_given_ca_only() {
    let pki = pki();
    let Some(lab) = tls_lab(&pki, false) else {
        return;
    };
    let url = lab.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // With the CA: the agent and a daemon behind it answer.
    let (r, _) = version_of(&url, tls_options(Some(&pki.ca), None));
    assert_eq!(r.expect("with ca_file"), lab.kea_version().to_string());
    let r = rt().block_on(async {
        let s = Server::connect(&url, None, tls_options(Some(&pki.ca), None))?;
        s.command_answer("version-get", Some("dhcp4"), None).await
    });
    assert_eq!(
        r.expect("dhcp4 over https").text,
        Some(lab.kea_version().to_string())
    );

    // The lab's inventory names its CA.
    let inv = Inventory::load(lab.inventory()).expect("lab inventory");
    let entry = inv.get(agent_entry(&lab)).unwrap();
    assert_eq!(entry.ca_file.as_deref(), Some(pki.ca.as_path()));
    let r = rt().block_on(async {
        let s = Server::from_entry(agent_entry(&lab), entry).expect("server");
        s.version().await
    });
    assert_eq!(
        r.expect("lab inventory over https"),
        lab.kea_version().to_string()
    );

    // Without the CA (system trust store), or with another CA: a TLS failure, fast.
    let (r, took) = version_of(&url, tls_options(None, None));
    assert_tls_failure("no ca_file", r, took);
    let (r, took) = version_of(&url, tls_options(Some(&pki.other_ca), None));
    assert_tls_failure("another CA", r, took);

    // Plain HTTP to the HTTPS agent fails too, rather than hanging.
    let plain = url.replacen("https://", "http://", 1);
    let (r, took) = version_of(&plain, options());
    let e = r.expect_err("plain HTTP to an HTTPS agent");
    assert_eq!(e.kind, ErrorKind::Transport, "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {e}");
}

#[test]
fn mutual_tls_needs_a_client_certificate_signed_by_the_ca() {
    let pki = pki();
    let Some(lab) = tls_lab(&pki, true) else {
        return;
    };
    let url = lab.url();

    let client = (pki.client_cert.as_path(), pki.client_key.as_path());
    let (r, _) = version_of(&url, tls_options(Some(&pki.ca), Some(client)));
    assert_eq!(
        r.expect("with a client certificate"),
        lab.kea_version().to_string()
    );

    // Kea (OpenSSL, TLS 1.3) ends the handshake with an alert: CertificateRequired,
    // UnknownCA.
    let (r, took) = version_of(&url, tls_options(Some(&pki.ca), None));
    assert_tls_failure("no client certificate", r, took);

    let other = (
        pki.other_client_cert.as_path(),
        pki.other_client_key.as_path(),
    );
    let (r, took) = version_of(&url, tls_options(Some(&pki.ca), Some(other)));
    assert_tls_failure("a client certificate from another CA", r, took);

    // The same from a script: connect() takes cert_file and key_file.
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "mtls.rhai",
        &format!(
            "let s = connect({}, #{{ ca_file: {}, cert_file: {}, key_file: {} }});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&url),
            rhai_str(&pki.ca.display().to_string()),
            rhai_str(&pki.client_cert.display().to_string()),
            rhai_str(&pki.client_key.display().to_string()),
        ),
    );
    let out = run(lab.inventory(), &s, &[], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("version={}", lab.kea_version())),
        "{stdout}"
    );

    let s = script(
        dir.path(),
        "nocert.rhai",
        &format!(
            "let s = connect({}, #{{ ca_file: {} }});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&url),
            rhai_str(&pki.ca.display().to_string()),
        ),
    );
    let out = run(lab.inventory(), &s, &[], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("transport error"), "{stderr}");
    assert!(!stdout.contains("version="), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// 4. connect() from a script

#[test]
fn scripts_connect_over_https_with_a_ca_file() {
    let pki = pki();
    let Some(lab) = tls_lab(&pki, false) else {
        return;
    };
    let url = lab.url();
    let dir = tempfile::tempdir().unwrap();

    let s = script(
        dir.path(),
        "ca.rhai",
        &format!(
            "let s = connect({}, #{{ ca_file: {} }});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&url),
            rhai_str(&pki.ca.display().to_string()),
        ),
    );
    let out = run(lab.inventory(), &s, &[], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("version={}", lab.kea_version())),
        "{stdout}"
    );

    // Without the CA: a transport error about the certificate, exit status 3.
    let s = script(
        dir.path(),
        "noca.rhai",
        &format!(
            "let s = connect({});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&url)
        ),
    );
    let started = Instant::now();
    let out = run(lab.inventory(), &s, &[], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("transport error"), "{stderr}");
    let lower = stderr.to_lowercase();
    assert!(
        lower.contains("certificate") || lower.contains("issuer"),
        "names the certificate problem: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn connect_refuses_a_password_in_the_script_and_sends_nothing() {
    // A listener that would see any connection attempt.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let dir = tempfile::tempdir().unwrap();
    // Any inventory will do: connect() does not use it.
    let inventory = dir.path().join("keascript.toml");
    std::fs::write(
        &inventory,
        format!("[servers.listener]\nurl = {}\n", rhai_str(&url)),
    )
    .unwrap();
    let s = script(
        dir.path(),
        "pw.rhai",
        &format!(
            "let s = connect({}, #{{ user: {}, password: {}, timeout_ms: 2000 }});\nprint(`version=${{s.version()}}`);\n",
            rhai_str(&url),
            rhai_str(USER),
            rhai_str(WRONG)
        ),
    );
    let out = run(&inventory, &s, &["--log", "debug"], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("invalid error"), "{stderr}");
    // A dedicated refusal that says what to use, not a generic unknown-option error.
    assert!(
        stderr.contains("password_file") && stderr.contains("password_env"),
        "says what to use: {stderr}"
    );
    assert!(!stderr.contains("unknown option"), "{stderr}");
    assert!(!stdout.contains("version="), "{stdout}");
    assert_no_leak("connect with password", &out);
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("something connected from {peer}: a request was sent"),
        Err(e) => panic!("accept: {e}"),
    }

    // The check holds for a caught error too: the script sees `invalid`.
    let s = script(
        dir.path(),
        "pw-caught.rhai",
        &format!(
            "try {{ connect({}, #{{ user: {}, password: {} }}); print(\"connected\"); }} catch (e) {{ print(`kind=${{e.kind}}`); }}\n",
            rhai_str(&url),
            rhai_str(USER),
            rhai_str(WRONG)
        ),
    );
    let out = run(&inventory, &s, &[], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("kind=invalid"), "{stdout}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing was sent"
    );
}
