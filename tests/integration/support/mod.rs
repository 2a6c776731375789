//! Shared test helpers: a runtime, a lab, the `keascript` binary.

#![allow(dead_code)]

pub mod fault_proxy;
pub mod kea3;
pub mod netns;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keascript::lab::{Lab, LabOptions};
use serde_json::Value;

/// A process-wide multi-thread runtime for tests that call async library code.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Starts a real Kea lab. Kea-backed tests are required: without Kea this panics with the
/// install hint, unless `KEASCRIPT_TESTS_WITHOUT_KEA=1` asks to skip them (returns `None`).
pub fn lab_with(options: LabOptions) -> Option<Lab> {
    match rt().block_on(Lab::start(options)) {
        Ok(lab) => Some(lab),
        Err(keascript::lab::LabError::NotInstalled(hint))
            if std::env::var_os("KEASCRIPT_TESTS_WITHOUT_KEA").is_some() =>
        {
            eprintln!("skipping a Kea-backed test: {hint}");
            None
        }
        Err(e) => panic!("cannot start the Kea lab: {e}"),
    }
}

/// A default lab (see [`lab_with`]).
pub fn lab() -> Option<Lab> {
    lab_with(LabOptions::default())
}

/// The `keascript` binary, with a clean environment for inventory lookup.
pub fn keascript() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("keascript").expect("binary");
    c.env_remove("KEASCRIPT_CONFIG").env_remove("KEASCRIPT_LOG");
    c
}

/// The repository root (for `scripts/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes a script into `dir` and returns its path.
pub fn script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write script");
    p
}

/// True while a process with this PID exists (zombies count as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The commands a lab daemon received so far, in order (from its log's
/// `COMMAND_RECEIVED Received command '…'` lines).
pub fn commands_in(dir: &Path, svc: &str) -> Vec<String> {
    let log = dir.join(format!("kea-{svc}.log"));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split("Received command '").nth(1))
        .filter_map(|rest| rest.split('\'').next())
        .map(str::to_string)
        .collect()
}

/// The class a subnet or pool is limited to, `None` when unset or empty: Kea 2.2's
/// `client-class`, or the one-element `client-classes` list Kea >= 2.7.4 reports (never
/// both).
pub fn client_class(m: &Value) -> Option<&str> {
    match (m.get("client-class"), m.get("client-classes")) {
        (Some(_), Some(_)) => panic!("both client-class and client-classes: {m}"),
        (_, Some(list)) => {
            let list = list.as_array().expect("client-classes is a list");
            assert!(list.len() <= 1, "one class at most here: {m}");
            list.first().and_then(Value::as_str)
        }
        (Some(c), None) => c.as_str().filter(|c| !c.is_empty()),
        (None, None) => None,
    }
}

/// Kea >= 2.7.4 reads `client-class`, `require-client-classes` and `only-if-required` but
/// warns that they are deprecated (and reports the new keys either way): a daemon whose
/// log (`log`, a Kea log file) has no such warning was sent the new spelling.
pub fn assert_no_deprecated_class_keys(log: &Path, when: &str) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("DHCPSRV_CLIENT_CLASS_DEPRECATED")
                || l.contains("DHCPSRV_REQUIRE_CLIENT_CLASSES_DEPRECATED")
                || l.contains("ONLY_IF_REQUIRED_DEPRECATED")
        })
        .collect();
    assert!(
        warned.is_empty(),
        "{when}: Kea warned about a deprecated class key keascript sent: {warned:#?}"
    );
}

/// Commands that change a daemon's configuration or its file: the config path, and the
/// subnet/class hook commands (Kea >= 2.7.7).
pub fn is_mutating(c: &str) -> bool {
    ["config-set", "config-write", "config-reload"].contains(&c)
        || (["subnet4-", "subnet6-", "network4-", "network6-", "class-"]
            .iter()
            .any(|p| c.starts_with(p))
            && !c.ends_with("-get")
            && !c.ends_with("-list"))
}

/// One command sent straight to a daemon's UNIX socket, as another tool would (bypassing
/// keascript); `None` when the daemon does not answer. Kea's answer read with keascript's
/// wire reader (its byte escapes decoded).
pub fn kea_raw(socket: &Path, body: &serde_json::Value) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .ok()?;
    s.write_all(body.to_string().as_bytes()).ok()?;
    let mut t = Vec::new();
    s.read_to_end(&mut t).ok()?;
    keascript::transport::wire::parse(&t).ok()
}

/// Each peer of an HA lab's Control Agent behind its own fault proxy, and an inventory at
/// `inv` naming them `server1` / `server2` (5 s timeouts) and the pair `pair`.
pub fn proxied_ha_pair(lab: &Lab, inv: &Path) -> Vec<fault_proxy::FaultProxy> {
    let proxies: Vec<fault_proxy::FaultProxy> = (0..2)
        .map(|i| {
            fault_proxy::FaultProxy::start(
                lab.url_of(i).trim_start_matches("http://").parse().unwrap(),
            )
        })
        .collect();
    std::fs::write(
        inv,
        format!(
            "default = \"server1\"\n[servers.server1]\nurl = \"{}\"\ntimeout_ms = 5000\n[servers.server2]\nurl = \"{}\"\ntimeout_ms = 5000\n[ha.pair]\npeers = [\"server1\", \"server2\"]\n",
            proxies[0].url(),
            proxies[1].url()
        ),
    )
    .unwrap();
    proxies
}

/// Runs script `text` (written as `dir/name`) with inventory `inv` and state folder `state`,
/// no audit file from the environment; its exit status and stderr.
pub fn run_in(dir: &Path, inv: &Path, state: &Path, name: &str, text: &str) -> (i32, String) {
    let path = script(dir, name, text);
    let out = keascript()
        .arg("--config")
        .arg(inv)
        .env("KEASCRIPT_STATE_DIR", state)
        .env_remove("KEASCRIPT_AUDIT_FILE")
        .arg("run")
        .arg(&path)
        .timeout(std::time::Duration::from_secs(180))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits (generously: CI is busy) until `cond` holds, polling an event (a file, an audit
/// entry, a process gone); panics with `what` otherwise.
pub fn wait_for(what: &str, limit: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
