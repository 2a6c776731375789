//! Non-ASCII text through every mutator on a real Kea (issue: Kea writes each byte ≥ 0x80 of
//! a string as its own `\u00XX`, and every `config-set` used to double the bytes of every
//! non-ASCII string in the configuration).
//!
//! What Kea holds is checked in Kea's own bytes: `config-get` is sent over the daemon's UNIX
//! socket with a plain std stream (not keascript's reader), and the file `config-write` left
//! is read as text. Each string must appear exactly as the UTF-8 bytes of what the script
//! wrote, escaped the way Kea escapes them — never doubled.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::support::{keascript, lab, script};

/// How Kea writes `s` inside a string value: each byte ≥ 0x80 as `\u00xx`.
fn kea_escaped(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b >= 0x80 {
            out.push_str(&format!("\\u00{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// `config-get` over a UNIX socket, Kea's answer as raw text.
fn raw_config_get(socket: &Path) -> String {
    let mut s = UnixStream::connect(socket).expect("connect to the daemon's socket");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(br#"{"command": "config-get"}"#).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text)
        .expect("the answer is ASCII/UTF-8");
    text
}

/// Every text the test writes, and where.
const TEXTS: &[(&str, &str)] = &[
    ("class name", "Büro"),
    ("class description", "Ærø – café ☕"),
    ("subnet user-context", "ǅemal 😀"),
    ("pool user-context", "中文 说明"),
    ("option data", "bøøt-ファイル"),
    ("server tag", "håll-é"),
    ("applied user-context", "Ελληνικά ✓"),
    ("transaction class", "Straße"),
];

#[test]
fn non_ascii_text_round_trips_through_every_mutator_on_kea() {
    let Some(lab) = lab() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = |label: &str| TEXTS.iter().find(|(l, _)| *l == label).unwrap().1;
    let text = format!(
        r#"
let v4 = kea().dhcp4;
v4.add_class(#{{ name: "{class}", description: "{desc}" }});
v4.add_subnet(#{{ subnet: "10.77.0.0/24", user_context: #{{ note: "{subnet_uc}" }} }});
v4.add_pool("10.77.0.0/24", "10.77.0.10-10.77.0.20", #{{ user_context: #{{ note: "{pool_uc}" }} }});
v4.assign_class("10.77.0.0/24", "{class}");
v4.set_option("10.77.0.0/24", "boot-file-name", "{opt}");
v4.set(#{{ server_tag: "{tag}" }});
let cfg = v4.config();
cfg.Dhcp4["user-context"] = #{{ site: "{applied}" }};
v4.apply(cfg);
let tx = v4.begin();
tx.add_class(#{{ name: "{tx_class}" }});
tx.commit();
v4.update_class("{class}", #{{ description: "{desc}" }});
// Read back through keascript: every name can be found again.
if v4.client_class("{class}") == () {{ throw "class not found"; }}
if v4.client_class("{class}").description != "{desc}" {{ throw "description changed"; }}
if v4.subnet("10.77.0.0/24").user_context.note != "{subnet_uc}" {{ throw "subnet note"; }}
if v4.settings().server_tag != "{tag}" {{ throw "tag: " + v4.settings().server_tag; }}
if v4.client_class("{tx_class}") == () {{ throw "tx class"; }}
// One more, unrelated change: nothing else may move.
v4.set(#{{ decline_probation_period: 4321 }});
print("done");
"#,
        class = t("class name"),
        desc = t("class description"),
        subnet_uc = t("subnet user-context"),
        pool_uc = t("pool user-context"),
        opt = t("option data"),
        tag = t("server tag"),
        applied = t("applied user-context"),
        tx_class = t("transaction class"),
    );
    let path = script(tmp.path(), "utf8.rhai", &text);
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .arg("run")
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let running = raw_config_get(&lab.socket("dhcp4"));
    let file = std::fs::read_to_string(lab.config_file("dhcp4")).unwrap();
    for (label, s) in TEXTS {
        let want = format!("\"{}\"", kea_escaped(s));
        assert!(
            running.contains(&want),
            "{label} {s:?}: config-get does not hold {want}:\n{running}"
        );
        assert!(
            file.contains(&want),
            "{label} {s:?}: the file does not hold {want}"
        );
    }
    // Doubling shows as an escaped 0xC3/0xC2 lead byte of an escaped byte: never there.
    for t in [&running, &file] {
        assert!(!t.contains("\\u00c3\\u0083"), "doubled UTF-8 in:\n{t}");
        assert!(!t.contains("\\u00c2\\u00"), "doubled UTF-8 in:\n{t}");
    }
    assert!(running.contains("\"decline-probation-period\": 4321"));

    // A class with a non-ASCII name can be deleted again, and is gone from Kea.
    let del = script(
        tmp.path(),
        "del.rhai",
        "let v4 = kea().dhcp4;\nv4.unassign_class(\"10.77.0.0/24\");\nv4.delete_class(\"Büro\");\n",
    );
    keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .arg("run")
        .arg(&del)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let running = raw_config_get(&lab.socket("dhcp4"));
    assert!(!running.contains(&kea_escaped("\"Büro\"")), "{running}");
    assert!(running.contains(&kea_escaped("\"Straße\"")), "{running}");
}
