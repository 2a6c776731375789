//! Hostile input against a real Kea: what Kea cannot give back is refused before anything is
//! sent (the daemon's command log shows no `config-set`), with a message naming the key, the
//! depth or the size; and what a real Kea holds is read however deep it is.

use std::path::Path;
use std::time::Duration;

use keascript::kea::KeaVersion;

use crate::support::{commands_in, is_mutating, keascript, lab, script};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(inventory: &Path, dir: &Path, name: &str, text: &str) -> Out {
    let path = script(dir, name, text);
    let out = keascript()
        .arg("--config")
        .arg(inventory)
        .env("KEASCRIPT_STATE_DIR", dir.join("state"))
        .arg("run")
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mutating(dir: &Path) -> usize {
    commands_in(dir, "dhcp4")
        .iter()
        .filter(|c| is_mutating(c))
        .count()
}

/// Sends one raw command over the daemon's UNIX socket, as another tool would.
fn raw(socket: &Path, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut t = String::new();
    s.read_to_string(&mut t).unwrap();
    t
}

#[test]
fn strings_kea_cannot_round_trip_are_refused_before_sending() {
    let Some(lab) = lab() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let before = mutating(lab.dir());
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "quote.rhai",
            r#"kea().dhcp4.add_subnet(#{ subnet: "10.9.0.0/24", user_context: #{ "a\"b": 1 } });"#,
            &["user-context", "a\\\"b", "double quote"],
        ),
        (
            "backslash.rhai",
            r#"kea().dhcp4.add_class(#{ name: "c1", user_context: #{ "a\\b": 1 } });"#,
            &["a\\\\b", "backslash"],
        ),
        (
            "control.rhai",
            "kea().dhcp4.add_subnet(#{ subnet: \"10.9.0.0/24\", user_context: #{ \"tab\\there\": 1 } });",
            &["U+0009"],
        ),
        (
            "huge.rhai",
            r#"let d = "x"; while d.len() < 100000 { d += d; } kea().dhcp4.add_class(#{ name: "big", description: d });"#,
            &["131072 bytes", "65536"],
        ),
        (
            "deep.rhai",
            r#"let v = #{}; for i in 0..100 { v = #{ n: v }; } kea().dhcp4.add_subnet(#{ subnet: "10.9.0.0/24", user_context: v });"#,
            &["64 levels", "user-context.n.n"],
        ),
    ];
    for (name, text, wanted) in cases {
        let r = run(lab.inventory(), tmp.path(), name, text);
        assert_eq!(r.code, 1, "{name}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("invalid"), "{name}: {}", r.stderr);
        for w in *wanted {
            assert!(
                r.stderr.contains(w),
                "{name}: wanted {w:?} in: {}",
                r.stderr
            );
        }
    }
    assert_eq!(
        mutating(lab.dir()),
        before,
        "nothing that changes anything was sent: {:?}",
        commands_in(lab.dir(), "dhcp4")
    );
    // The server still answers, its file still parses.
    let file = std::fs::read_to_string(lab.config_file("dhcp4")).unwrap();
    serde_json::from_str::<serde_json::Value>(&file).expect("the file is JSON");
}

#[test]
fn a_configuration_kea_holds_is_read_however_deep_and_can_be_cleaned_up() {
    let Some(lab) = lab() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Another tool leaves a deeply nested user-context on a class: Kea 2.2 takes 3,000
    // levels; Kea 3.0 refuses JSON nested deeper than 100 levels in a whole command
    // ("fromJSON elements nested too deeply"; 93 arrays under a class's user-context is its
    // most, measured on 3.0.4), so there it is 90: still far over the 64 levels keascript
    // sends.
    let depth = if lab.kea_version() >= KeaVersion::new(3, 0, 0) {
        90
    } else {
        3000
    };
    eprintln!(
        "a user-context {depth} levels deep (Kea {})",
        lab.kea_version()
    );
    let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let cfg = raw(
        lab.socket("dhcp4").as_path(),
        r#"{"command": "config-get"}"#,
    );
    let mut cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    let mut root = cfg["arguments"].take();
    root.as_object_mut().unwrap().remove("hash");
    root["Dhcp4"]["client-classes"] =
        serde_json::json!([{ "name": "deep", "user-context": {"x": "PLACEHOLDER"} }]);
    let body = serde_json::json!({"command": "config-set", "arguments": root})
        .to_string()
        .replace("\"PLACEHOLDER\"", &deep);
    let answer = raw(lab.socket("dhcp4").as_path(), &body);
    assert!(answer.contains("\"result\": 0"), "{answer}");

    // keascript reads it: the configuration, the class, its depth.
    let r = run(
        lab.inventory(),
        tmp.path(),
        "read.rhai",
        r#"
let v4 = kea().dhcp4;
let c = v4.client_class("deep");
let x = c.user_context.x;
let n = 0;
while type_of(x) == "array" { x = x[0]; n += 1; }
print(`depth ${n}`);
"#,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!("depth {depth}")), "{}", r.stdout);

    // A change that would send it back is refused, naming where; deleting it works.
    let r = run(
        lab.inventory(),
        tmp.path(),
        "set.rhai",
        "kea().dhcp4.set(#{ decline_probation_period: 77 });",
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("client-classes[0].user-context.x"),
        "{}",
        r.stderr
    );
    let r = run(
        lab.inventory(),
        tmp.path(),
        "del.rhai",
        "kea().dhcp4.delete_class(\"deep\"); print(kea().dhcp4.client_class(\"deep\") == ());",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("true"), "{}", r.stdout);
    let now = raw(
        lab.socket("dhcp4").as_path(),
        r#"{"command": "config-get"}"#,
    );
    assert!(!now.contains("\"deep\""), "the class is gone from Kea");
}

#[test]
fn inputs_kea_would_reject_are_refused_before_anything_changes() {
    let Some(lab) = lab() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let before = mutating(lab.dir());
    let cases: &[(&str, &[&str])] = &[
        (
            r#"kea().dhcp4.add_subnet(#{ subnet: "10.60.0.0/24", option_data: [#{ name: "routers", data: "not-an-ip" }] });"#,
            &["option routers", "\"not-an-ip\"", "ipv4-address"],
        ),
        (
            r#"kea().dhcp4.add_class(#{ name: "x1", option_data: [#{ name: "routers", data: "zzz" }] });"#,
            &["class \"x1\"", "\"zzz\""],
        ),
        (
            r#"kea().dhcp4.add_subnet(#{ subnet: "10.62.0.0/24", valid_lifetime: "abc" });"#,
            &["valid_lifetime must be an integer", "\"abc\""],
        ),
        (
            r#"kea().dhcp4.add_subnet(#{ subnet: "10.63.0.0/24", valid_lifetim: 300 });"#,
            &["valid_lifetim", "did you mean valid_lifetime?"],
        ),
        (
            r#"kea().dhcp4.update_subnet("192.0.2.0/24", #{ renew_timer: -5 });"#,
            &["renew_timer must not be negative", "-5"],
        ),
        (
            r#"kea().dhcp4.add_lease(#{ ip_address: "192.0.2.50", hw_address: "00:11:22:33:44:55", valid_lft: -1 });"#,
            &["valid_lft", "-1"],
        ),
        (
            r#"kea().dhcp4.add_class(#{ name: "x2", test: "substring(option[61].hex,0,3 == 0x01" });"#,
            &[
                "client class \"x2\"",
                "substring(option[61].hex,0,3 == 0x01",
                "syntax error",
            ],
        ),
        (
            r#"kea().dhcp6.add_subnet(#{ subnet: "2001:db8:19::/64", preferred_lifetime: 5000, valid_lifetime: 4000 });"#,
            &["preferred_lifetime 5000", "valid_lifetime 4000"],
        ),
        (
            r#"kea().dhcp4.add_subnet(#{ subnet: "10.65.0.0/24", user_context: #{ "keascript-own": "mine" } });"#,
            &["keascript-own", "reserved"],
        ),
    ];
    for (i, (text, wanted)) in cases.iter().enumerate() {
        let r = run(lab.inventory(), tmp.path(), &format!("c{i}.rhai"), text);
        assert_eq!(r.code, 1, "{text}: {}{}", r.stdout, r.stderr);
        for w in *wanted {
            assert!(
                r.stderr.contains(w),
                "{text}: wanted {w:?} in: {}",
                r.stderr
            );
        }
    }
    let v6_mutating = commands_in(lab.dir(), "dhcp6")
        .iter()
        .filter(|c| c.starts_with("config-s") || c.starts_with("config-w"))
        .count();
    assert_eq!(
        mutating(lab.dir()),
        before,
        "{:?}",
        commands_in(lab.dir(), "dhcp4")
    );
    assert_eq!(v6_mutating, 0);
    assert!(
        !commands_in(lab.dir(), "dhcp4")
            .iter()
            .any(|c| c == "lease4-add"),
        "the lease was never sent"
    );
}

/// Every mutator × malformed values, in one script: each call must be refused before
/// anything is sent (kind `invalid`, `not_found` or `conflict`, naming what was wrong), and
/// the daemons' logs must show no command that changes anything.
#[test]
fn a_corpus_of_malformed_calls_is_refused_before_sending() {
    let Some(lab) = lab() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let bad_values = [
        "42",
        "\"\"",
        "\"not valid\"",
        "\"\\u0007\\u001b[2J\"",
        "\"Bü\\u0000ro\"",
        "[1, 2]",
        "#{}",
        "()",
        "deep",
    ];
    let calls = [
        "v4.add_subnet(#{ subnet: X })",
        "v4.add_subnet(#{ subnet: \"10.9.0.0/24\", id: X })",
        "v4.add_subnet(#{ subnet: \"10.9.0.0/24\", valid_lifetime: X })",
        "v4.add_subnet(#{ subnet: \"10.9.0.0/24\", pools: [X] })",
        "v4.add_subnet(#{ subnet: \"10.9.0.0/24\", option_data: [#{ name: \"routers\", data: X }] })",
        "v4.update_subnet(\"192.0.2.0/24\", #{ renew_timer: X })",
        "v4.update_subnet(X, #{ renew_timer: 10 })",
        "v4.add_pool(\"192.0.2.0/24\", X)",
        "v4.add_pool(X, \"192.0.2.210-192.0.2.220\")",
        "v4.add_class(#{ name: X })",
        "v4.add_class(#{ name: \"c\", next_server: X })",
        "v4.update_class(X, #{ description: \"d\" })",
        "v4.assign_class(\"192.0.2.0/24\", X)",
        "v4.set_option(X, \"1\")",
        "v4.set_option(\"routers\", X)",
        "v4.define_option(#{ code: X, name: \"o\", type: \"string\" })",
        "v4.define_option(#{ code: 250, name: \"o\", type: X })",
        "v4.set(#{ valid_lifetime: X })",
        "v4.set(#{ server_tag: X, nonsense_key: 1 })",
        "v4.add_lease(#{ ip_address: X, hw_address: \"00:11:22:33:44:55\" })",
        "v4.add_lease(#{ ip_address: \"192.0.2.77\", hw_address: X })",
        "v4.add_lease(#{ ip_address: \"192.0.2.77\", hw_address: \"00:11:22:33:44:55\", valid_lft: X })",
        "v4.delete_lease(X)",
        "v6.add_subnet(#{ subnet: \"2001:db8:9::/64\", preferred_lifetime: X })",
        "v6.add_lease(#{ ip_address: \"2001:db8:1::77\", duid: X, iaid: 1 })",
    ];
    let mut text = String::from(
        "let v4 = kea().dhcp4; let v6 = kea().dhcp6; let tried = 0; let refused = 0; let wrong = [];\nlet deep = #{}; for i in 0..80 { deep = #{ a: deep }; }\n",
    );
    for c in calls {
        for v in bad_values {
            let call = c.replace('X', v);
            text.push_str(&format!(
                "tried += 1; try {{ {call}; wrong.push(`accepted: {}`); }} catch (e) {{ let k = error_kind(e); if k == \"invalid\" || k == \"not_found\" || k == \"conflict\" || k == \"script\" {{ refused += 1; }} else {{ wrong.push(`${{k}}: {}: ${{e}}`); }} }}\n",
                call.replace('`', "'").replace('$', "S"),
                call.replace('`', "'").replace('$', "S")
            ));
        }
    }
    text.push_str("print(`tried ${tried} refused ${refused}`); for w in wrong { print(w); }\n");
    let r = run(lab.inventory(), tmp.path(), "corpus.rhai", &text);
    assert!(
        !r.stderr.contains("panicked") && r.code != 134,
        "{}",
        r.stderr
    );
    eprintln!("{}", r.stdout.lines().next().unwrap_or(""));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("tried")),
        "{}{}",
        r.stdout,
        r.stderr
    );
    // Some values are valid for some parameters (42 as a lifetime, () to unset, a class
    // named "not valid"): those calls are accepted. Nothing may reach Kea for Kea to
    // reject (kind `kea`), or end any other way.
    let unexpected: Vec<&&str> = lines[1..]
        .iter()
        .filter(|l| !l.starts_with("accepted: "))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    // Control characters never become a class name.
    let accepted_controls: Vec<&&str> = lines[1..]
        .iter()
        .filter(|l| {
            l.starts_with("accepted: v4.add_class(#{ name: \"\\u0")
                || l.contains("add_class(#{ name: \"Bü\\u0000")
        })
        .collect();
    assert!(accepted_controls.is_empty(), "{accepted_controls:#?}");
}
