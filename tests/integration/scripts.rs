//! Scripts through the `keascript` binary: the shipped examples, the engine's limits and
//! rules, errors with file:line:col, exit statuses, `args`, `env`, `sleep`.

use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{assert_no_deprecated_class_keys, client_class, keascript, lab, repo, script};

/// A lab's inventory as `--config` arguments.
fn with_lab(cmd: &mut assert_cmd::Command, lab: &keascript::lab::Lab) {
    cmd.arg("--config").arg(lab.inventory());
}

#[test]
fn the_tour_runs_green_against_a_fresh_lab() {
    let Some(probe) = lab() else {
        return;
    };
    let version = probe.kea_version();
    drop(probe);
    keascript()
        .args(["run", "--lab"])
        .arg(repo().join("scripts/tour.rhai"))
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("Kea {version}")))
        .stdout(predicate::str::contains(
            "Services answering: [\"dhcp4\", \"dhcp6\"]",
        ))
        .stdout(predicate::str::contains(
            "#1 192.0.2.0/24 pools [\"192.0.2.10-192.0.2.200\"]",
        ))
        .stdout(predicate::str::contains(
            "config-test said (kea): subnet configuration failed: Invalid prefix length",
        ))
        .stdout(predicate::str::contains("dhcp6: up"));
}

#[test]
fn an_uncaught_kea_error_shows_file_line_column_and_exits_4() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "bad.rhai",
        "let v4 = kea().dhcp4;\nprint(\"before\");\nv4.test(#{ Dhcp4: #{ \"bogus-key\": 1 } });\nprint(\"after\");\n",
    );
    let mut cmd = keascript();
    with_lab(&mut cmd, &lab);
    cmd.arg("run")
        .arg(&s)
        .assert()
        .code(4)
        .stdout(predicate::str::contains("before"))
        .stdout(predicate::str::contains("after").not())
        .stderr(predicate::str::contains(
            "kea error: unsupported global configuration parameter: bogus-key",
        ))
        .stderr(predicate::str::contains(
            "server lab, service dhcp4, command config-test",
        ))
        .stderr(predicate::str::contains(format!("{}:3:", s.display())));
}

#[test]
fn error_maps_are_catchable_with_every_documented_key() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "catch.rhai",
        r#"
try {
    kea().command("foo-bar", "dhcp4");
} catch (e) {
    print(`kind=${e.kind} code=${e.code} server=${e.server} service=${e.service} command=${e.command}`);
    print(`message=${e.message}`);
    print(`error_kind=${error_kind(e)}`);
}
try { kea("nope") } catch (e) { print(`missing=${error_kind(e)}`); }
try { let x = 1 / 0; } catch (e) { print(`rhai=${error_kind(e)}`); }
try { throw "mine"; } catch (e) { print(`thrown=${error_kind(e)}`); }
let empty = kea().command("lease4-get", "dhcp4", #{ "ip-address": "192.0.2.99" });
print(`empty=${empty == ()}`);
"#,
    );
    let mut cmd = keascript();
    with_lab(&mut cmd, &lab);
    cmd.arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "kind=unsupported code=2 server=lab service=dhcp4 command=foo-bar",
        ))
        .stdout(predicate::str::contains(
            "message='foo-bar' command not supported.",
        ))
        .stdout(predicate::str::contains("error_kind=unsupported"))
        .stdout(predicate::str::contains("missing=not_found"))
        .stdout(predicate::str::contains("rhai=script"))
        .stdout(predicate::str::contains("thrown=script"))
        .stdout(predicate::str::contains("empty=true"));
}

#[test]
fn exit_statuses_follow_the_kind_of_the_uncaught_error() {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cases: Vec<(&str, String, i32, &str)> = vec![
        ("throw", "throw \"boom\";".into(), 1, "uncaught throw: boom"),
        ("syntax", "let x = ;\n".into(), 1, "syntax error"),
        (
            "notfound",
            "kea(\"nope\");".into(),
            1,
            "not_found error: no server \"nope\"",
        ),
        (
            "invalid",
            "sleep(\"soon\");".into(),
            1,
            "invalid error: duration \"soon\"",
        ),
        (
            "transport",
            format!("connect(\"http://127.0.0.1:{closed}\").version();"),
            3,
            "transport error: cannot connect",
        ),
        ("rhai", "let m = #{ a: 1 };\nprint(m.b);".into(), 1, "b"),
    ];
    for (name, text, code, needle) in cases {
        let s = script(dir.path(), &format!("{name}.rhai"), &text);
        keascript()
            .arg("run")
            .arg(&s)
            .assert()
            .code(code)
            .stderr(predicate::str::contains(needle))
            .stderr(predicate::str::contains(format!("{}:", s.display())));
    }
}

#[test]
fn a_missing_map_property_is_an_error_not_unit() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "prop.rhai",
        "let cfg = #{ Dhcp4: #{ subnet4: [] } };\nprint(cfg.Dhcp4.subnets4.len());\n",
    );
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("subnets4"))
        .stderr(predicate::str::contains(format!("{}:2:", s.display())));
}

#[test]
fn eval_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "eval.rhai",
        "let x = eval(\"40 + 2\");\nprint(x);\n",
    );
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("42").not())
        .stderr(predicate::str::contains("eval"));
}

#[test]
fn an_endless_loop_is_stopped_by_the_operation_limit_even_inside_try() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "loop.rhai",
        "let n = 0;\ntry {\n    loop { n += 1; }\n} catch (e) {\n    print(\"caught\");\n}\n",
    );
    keascript()
        .args(["run", "--max-operations", "2000000"])
        .arg(&s)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("caught").not())
        .stderr(predicate::str::contains("stopped after 2000000 operations"))
        .stderr(predicate::str::contains(format!("{}:3:", s.display())));
}

#[test]
fn the_deadline_stops_busy_loops_and_blocked_kea_calls() {
    let dir = tempfile::tempdir().unwrap();
    let busy = script(dir.path(), "busy.rhai", "loop { }\n");
    let t = Instant::now();
    keascript()
        .args(["run", "--timeout", "1s"])
        .arg(&busy)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ran past its deadline of 1s"));
    assert!(t.elapsed() < Duration::from_secs(10));

    // A server that accepts and never answers, with a long transport timeout: the run's
    // deadline still ends the call.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let blocked = script(
        dir.path(),
        "blocked.rhai",
        &format!(
            "let s = connect(\"http://{}\", #{{ timeout_ms: 120000 }});\ns.version();\n",
            silent.local_addr().unwrap()
        ),
    );
    let t = Instant::now();
    keascript()
        .args(["run", "--timeout", "1s"])
        .arg(&blocked)
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("deadline"));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    drop(silent);
}

#[test]
fn args_env_sleep_print_and_debug() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "misc.rhai",
        r#"
fn first() { args()[0] }
print(`args=${args} len=${args.len()} first=${first()}`);
print(`env=${env("KEASCRIPT_TEST_VALUE")} unset=${env("KEASCRIPT_TEST_UNSET") == ()}`);
let t = timestamp();
sleep("50ms");
sleep(20);
print(`slept=${t.elapsed >= 0.07}`);
debug("to stderr");
"#,
    );
    keascript()
        .arg("run")
        .arg(&s)
        .args(["--", "one", "two words"])
        .env("KEASCRIPT_TEST_VALUE", "v42")
        .env_remove("KEASCRIPT_TEST_UNSET")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "args=[\"one\", \"two words\"] len=2 first=one",
        ))
        .stdout(predicate::str::contains("env=v42 unset=true"))
        .stdout(predicate::str::contains("slept=true"))
        .stdout(predicate::str::contains("to stderr").not())
        .stderr(predicate::str::contains("misc.rhai:9] \"to stderr\""));
}

#[test]
fn stdlib_modules_import_and_unknown_ones_are_reported() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "health.rhai",
        "import \"kea/health\" as h;\nlet r = h::check(kea());\nprint(h::summary(r));\nprint(`all_up=${h::all_up(r)}`);\nprint(`version=${r[0].version}`);\n",
    );
    let mut cmd = keascript();
    with_lab(&mut cmd, &lab);
    cmd.arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("dhcp4: up"))
        .stdout(predicate::str::contains("dhcp6: up"))
        .stdout(predicate::str::contains("all_up=true"))
        .stdout(predicate::str::contains(format!(
            "version={}",
            lab.kea_version()
        )));

    let bad = script(dir.path(), "nomod.rhai", "import \"kea/nope\" as n;\n");
    keascript()
        .arg("run")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("kea/nope"));
}

#[test]
fn the_health_module_reports_a_service_that_is_down() {
    let Some(mut lab) = lab() else { return };
    lab.kill("kea-dhcp6");
    let dir = tempfile::tempdir().unwrap();
    // Through a Control Agent (the `lab` entry on Kea 2.2, `lab-agent` on Kea >= 2.7.2) the
    // agent says it cannot forward; through a daemon's own HTTP socket (`lab` on Kea >=
    // 2.7.2) nothing answers at all.
    let mut servers = vec![(
        if lab.kea_version().daemon_http() {
            "lab-agent"
        } else {
            "lab"
        },
        "dhcp6: DOWN (unable to forward command to the dhcp6 service".to_string(),
    )];
    if let Some(url) = lab.http_url_of(0, "dhcp6") {
        servers.push(("lab", format!("dhcp6: DOWN (cannot connect to {url}")));
    }
    for (server, down) in servers {
        let s = script(
            dir.path(),
            "down.rhai",
            &format!(
                "import \"kea/health\" as h;\nlet r = h::check(kea(\"{server}\"));\nprint(h::summary(r));\nprint(`all_up=${{h::all_up(r)}}`);\n"
            ),
        );
        let mut cmd = keascript();
        with_lab(&mut cmd, &lab);
        cmd.arg("run")
            .arg(&s)
            .assert()
            .success()
            .stdout(predicate::str::contains("dhcp4: up"))
            .stdout(predicate::str::contains(down))
            .stdout(predicate::str::contains("all_up=false"));
    }
}

#[test]
fn server_and_service_handles_in_scripts() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "handles.rhai",
        r#"
let srv = kea();
print(`name=${srv.name}`);
print(`count=${servers().len()}`);
let u = kea("lab-unix");
print(`unix=${u.url}`);
print(`unix-version=${u.version()}`);
print(`unix-services=${u.services()}`);
let v4 = u.dhcp4;
print(`svc=${v4.name} of ${v4.server.name}`);
let w = v4.write();
print(`written=${w.filename}`);
let r = srv.reload();
print(`reloaded=${r.keys()}`);
print(`reload4=${r.dhcp4}`);
print(`st=${srv.dhcp6.status().pid > 0}`);
let cfg = srv.dhcp4.config();
print(`same=${cfg.Dhcp4["valid-lifetime"] == u.dhcp4.config().Dhcp4["valid-lifetime"]}`);
print(`reload-one=${srv.dhcp6.reload()}`);
"#,
    );
    // The lab's inventory names its servers: `lab` and `lab-unix`, and on Kea >= 2.7.2
    // also `lab-agent` (there `lab` is the daemons' own HTTP sockets).
    let count = keascript::kea::Inventory::load(lab.inventory())
        .unwrap()
        .servers
        .len();
    assert_eq!(
        count,
        if lab.kea_version().daemon_http() {
            3
        } else {
            2
        }
    );
    let mut cmd = keascript();
    with_lab(&mut cmd, &lab);
    cmd.arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains("name=lab"))
        .stdout(predicate::str::contains(format!("count={count}")))
        .stdout(predicate::str::contains(format!(
            "unix=unix:{}",
            lab.socket("dhcp4").display()
        )))
        .stdout(predicate::str::contains(format!(
            "unix-version={}",
            lab.kea_version()
        )))
        .stdout(predicate::str::contains(
            "unix-services=[\"dhcp4\", \"dhcp6\"]",
        ))
        .stdout(predicate::str::contains("svc=dhcp4 of lab-unix"))
        .stdout(predicate::str::contains(format!(
            "written={}",
            lab.config_file("dhcp4").display()
        )))
        .stdout(predicate::str::contains("reloaded=[\"dhcp4\", \"dhcp6\"]"))
        .stdout(predicate::str::contains(
            "reload4=Configuration successful.",
        ))
        .stdout(predicate::str::contains("st=true"))
        .stdout(predicate::str::contains("same=true"))
        .stdout(predicate::str::contains(
            "reload-one=Configuration successful.",
        ));
}

/// Runs a shipped example against a lab and returns its stdout.
fn run_example(lab: &keascript::lab::Lab, name: &str, extra: &[&str]) -> String {
    let mut cmd = keascript();
    with_lab(&mut cmd, lab);
    let (flags, script_args): (Vec<&str>, Vec<&str>) = match extra.iter().position(|a| *a == "--") {
        Some(i) => (extra[..i].to_vec(), extra[i..].to_vec()),
        None => (extra.to_vec(), Vec::new()),
    };
    let out = cmd
        .arg("run")
        .args(flags)
        .arg(repo().join("scripts").join(name))
        .args(script_args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn running_dhcp4(lab: &keascript::lab::Lab) -> serde_json::Value {
    let inv = keascript::kea::Inventory::load(lab.inventory()).unwrap();
    let srv = {
        let _g = crate::support::rt().enter();
        std::sync::Arc::new(
            keascript::kea::Server::from_entry("lab", inv.get("lab").unwrap()).unwrap(),
        )
    };
    crate::support::rt()
        .block_on(keascript::kea::Service::new(srv, "dhcp4").unwrap().config())
        .unwrap()
}

#[test]
fn example_add_scope_adds_it_once_and_kea_runs_it() {
    let Some(lab) = lab() else { return };
    let out = run_example(&lab, "add-scope.rhai", &[]);
    assert!(out.contains("added scope 10.50.0.0/24 with id 2"), "{out}");
    let cfg = running_dhcp4(&lab);
    let s = cfg["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subnet"] == "10.50.0.0/24")
        .expect("the scope runs")
        .clone();
    assert_eq!(s["pools"].as_array().unwrap().len(), 2);
    assert_eq!(s["valid-lifetime"], 3600);
    assert_eq!(s["user-context"]["site"], "branch office");
    let names: Vec<&str> = s["option-data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["routers", "domain-name-servers", "domain-name"]);
    assert_eq!(s["pools"][1]["option-data"][0]["code"], 42);
    // A second run finds it and adds nothing.
    let out = run_example(&lab, "add-scope.rhai", &[]);
    assert!(out.contains("scope 10.50.0.0/24 exists already"), "{out}");
    let again = running_dhcp4(&lab);
    assert_eq!(again["Dhcp4"]["subnet4"].as_array().unwrap().len(), 2);
    // Another prefix from the command line.
    let out = run_example(&lab, "add-scope.rhai", &["--", "10.60.0.0/24"]);
    assert!(out.contains("added scope 10.60.0.0/24 with id 3"), "{out}");
}

#[test]
fn example_custom_option_defines_and_uses_it() {
    let Some(lab) = lab() else { return };
    let out = run_example(&lab, "custom-option.rhai", &[]);
    assert!(out.contains("defined option 224 \"site-info\""), "{out}");
    assert!(
        out.contains(
            "refused (invalid): option code 3 in space \"dhcp4\" is the standard option routers"
        ),
        "{out}"
    );
    assert!(
        out.contains("option site-info (224) = 42, 192.0.2.250"),
        "{out}"
    );
    assert!(
        out.contains("\"not-a-number\" is not a valid uint16"),
        "{out}"
    );
    let cfg = running_dhcp4(&lab);
    assert_eq!(cfg["Dhcp4"]["option-def"][0]["code"], 224);
    assert_eq!(
        cfg["Dhcp4"]["option-def"][0]["record-types"],
        "uint16, ipv4-address"
    );
    let opts = cfg["Dhcp4"]["subnet4"][0]["option-data"]
        .as_array()
        .unwrap();
    assert!(
        opts.iter()
            .any(|o| o["code"] == 224 && o["data"] == "42, 192.0.2.250")
    );
}

#[test]
fn example_bootp_class_limits_a_pool() {
    let Some(lab) = lab() else { return };
    let out = run_example(&lab, "bootp-class.rhai", &[]);
    assert!(
        out.contains("class pxe: network boot clients; boots pxelinux.0 from 192.0.2.5 (tftp1)"),
        "{out}"
    );
    assert!(
        out.contains("limits pool 192.0.2.10-192.0.2.200 of 192.0.2.0/24"),
        "{out}"
    );
    assert!(
        out.contains("refused (conflict): client class \"pxe\" is still used by pool"),
        "{out}"
    );
    let cfg = running_dhcp4(&lab);
    let class = &cfg["Dhcp4"]["client-classes"][0];
    assert_eq!(class["name"], "pxe");
    assert_eq!(class["boot-file-name"], "pxelinux.0");
    assert_eq!(class["user-context"]["description"], "network boot clients");
    assert_eq!(
        client_class(&cfg["Dhcp4"]["subnet4"][0]["pools"][0]),
        Some("pxe")
    );
    assert_no_deprecated_class_keys(&lab.dir().join("kea-dhcp4.log"), "bootp-class.rhai");
}

#[test]
fn example_tune_lifetimes_in_a_dry_run_and_for_real() {
    let Some(lab) = lab() else { return };
    let before = running_dhcp4(&lab);
    let out = run_example(&lab, "tune-lifetimes.rhai", &["--dry-run"]);
    assert!(out.contains("[dry run] lab/dhcp4: set settings"), "{out}");
    assert!(out.contains("+    \"renew-timer\": 1800"), "{out}");
    assert!(out.contains("would send config-set"), "{out}");
    assert_eq!(running_dhcp4(&lab), before, "a dry run changes nothing");
    let out = run_example(&lab, "tune-lifetimes.rhai", &[]);
    assert!(out.contains("refused (invalid): server settings: renew_timer 5000 must be less than rebind_timer 4000"), "{out}");
    assert!(
        out.contains("set: valid 7200s (min 3600, max 14400), renew 1800, rebind 3600"),
        "{out}"
    );
    assert!(out.contains("scope 192.0.2.0/24: valid 7200s"), "{out}");
    let cfg = running_dhcp4(&lab);
    assert_eq!(cfg["Dhcp4"]["valid-lifetime"], 7200);
    assert_eq!(cfg["Dhcp4"]["rebind-timer"], 3600);
}

/// The ```` ```rhai ```` blocks of a Markdown file, in order, each with its info string
/// (`rhai`, `rhai,ha`, `rhai,no-run`).
fn rhai_blocks(path: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```rhai") => {
                current = Some((
                    l.trim_start_matches("```").trim().to_string(),
                    String::new(),
                ))
            }
            (Some(b), l) if l.starts_with("```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some((_, b)), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// README.md's and docs/'s Markdown files, README first.
fn documents() -> Vec<std::path::PathBuf> {
    let mut docs = vec![crate::support::repo().join("README.md")];
    let mut more: Vec<_> = std::fs::read_dir(crate::support::repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// Every `rhai` block of the README and docs/ compiles as written (a `#` comment, for one,
/// does not).
#[test]
fn readme_rhai_examples_compile() {
    let blocks: Vec<(String, String)> = documents().iter().flat_map(|d| rhai_blocks(d)).collect();
    assert!(blocks.len() >= 6, "found {} rhai blocks", blocks.len());
    let engine = rhai::Engine::new();
    for (_, b) in &blocks {
        // A block may be a fragment of a map (`#{ ... }` shown alone): compile it as an
        // expression when it is not a script.
        if let Err(e) = engine.compile(b) {
            assert!(
                engine.compile_expression(b).is_ok(),
                "README block does not compile ({e}):\n{b}"
            );
        }
    }
}

/// Every plain `rhai` block of the README and docs/ runs against one lab, in order, and
/// the whole sequence runs twice: the second time it sends no mutating command and writes
/// nothing to the audit trail. Blocks marked `rhai,ha` (an HA pair) or `rhai,no-run`
/// (arguments, a daemon, files of a real server) are only checked by `keascript check`.
#[test]
fn readme_rhai_examples_run_twice_and_the_second_run_changes_nothing() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    // Blocks that are only checked name the servers of `lab` and of `lab --ha`.
    let check_inventory = dir.path().join("check.toml");
    std::fs::write(
        &check_inventory,
        ["lab", "lab-unix", "server1", "server2"]
            .iter()
            .map(|n| format!("[servers.{n}]\nurl = \"http://127.0.0.1:1\"\n"))
            .collect::<String>(),
    )
    .unwrap();
    let mut to_run = Vec::new();
    for doc in documents() {
        for (i, (info, text)) in rhai_blocks(&doc).into_iter().enumerate() {
            let name = format!("{}-{i}.rhai", doc.file_stem().unwrap().to_string_lossy());
            let path = dir.path().join(&name);
            std::fs::write(&path, &text).unwrap();
            if info == "rhai" {
                // Checked too: no finding in an example that runs.
                keascript()
                    .arg("--config")
                    .arg(lab.inventory())
                    .arg("check")
                    .arg(&path)
                    .assert()
                    .success();
                to_run.push((name, path));
            } else {
                // Not run: compiled, every closure and import included.
                keascript()
                    .arg("--config")
                    .arg(&check_inventory)
                    .arg("check")
                    .arg(&path)
                    .assert()
                    .success();
            }
        }
    }
    assert!(to_run.len() >= 3, "{} blocks to run", to_run.len());
    // The files the examples read, in the directory they run from.
    std::fs::write(
        dir.path().join("hosts.csv"),
        "hw_address,ip_address,hostname\n02:42:ac:11:00:08,10.50.0.201,scanner-2f\n",
    )
    .unwrap();
    let run_all = || {
        for (name, path) in &to_run {
            let out = keascript()
                .arg("--config")
                .arg(lab.inventory())
                .arg("run")
                .arg(path)
                .current_dir(dir.path())
                .env("KEASCRIPT_AUDIT_FILE", &audit)
                .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
                .timeout(Duration::from_secs(120))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let mutating = || {
        ["dhcp4", "dhcp6"]
            .iter()
            .flat_map(|s| crate::support::commands_in(lab.dir(), s))
            .filter(|c| crate::support::is_mutating(c) || c.starts_with("lease"))
            .filter(|c| !c.ends_with("-get") && !c.contains("-get-"))
            .count()
    };
    let audit_lines = || {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .count()
    };
    run_all();
    let (sent, audited) = (mutating(), audit_lines());
    assert!(
        audited > 0,
        "the first run changed nothing: are the examples still changing things?"
    );
    run_all();
    assert_eq!(
        audit_lines(),
        audited,
        "the second run wrote to the audit trail:\n{}",
        std::fs::read_to_string(&audit).unwrap_or_default()
    );
    assert_eq!(mutating(), sent, "the second run sent a mutating command");
}

/// The README's `rhai,ha` blocks run on a real HA pair, twice: the change reaches both
/// peers the first time, and the second run sends no mutating command to either and
/// audits nothing.
#[test]
fn readme_ha_examples_run_twice_on_a_pair_and_the_second_run_changes_nothing() {
    let Some(lab) = crate::support::lab_with(keascript::lab::LabOptions {
        ha: Some(keascript::lab::HaMode::HotStandby),
        ..Default::default()
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let blocks: Vec<String> = documents()
        .iter()
        .flat_map(|d| rhai_blocks(d))
        .filter(|(info, _)| info == "rhai,ha")
        .map(|(_, text)| text)
        .collect();
    assert!(!blocks.is_empty(), "no rhai,ha block");
    let run_all = || {
        for (i, text) in blocks.iter().enumerate() {
            let path = script(dir.path(), &format!("ha-{i}.rhai"), text);
            let out = keascript()
                .arg("--config")
                .arg(lab.inventory())
                .arg("run")
                .arg(&path)
                .env("KEASCRIPT_AUDIT_FILE", &audit)
                .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
                .timeout(Duration::from_secs(180))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{text}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let node_dirs: Vec<std::path::PathBuf> = (0..lab.nodes().len())
        .map(|i| {
            let d = lab.dir().join(&lab.nodes()[i].name);
            if d.is_dir() {
                d
            } else {
                lab.dir().to_path_buf()
            }
        })
        .collect();
    let mutating = || {
        node_dirs
            .iter()
            .flat_map(|d| crate::support::commands_in(d, "dhcp4"))
            .filter(|c| crate::support::is_mutating(c))
            .count()
    };
    let audit_lines = || {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .count()
    };
    run_all();
    let (sent, audited) = (mutating(), audit_lines());
    assert!(
        audited > 0 && sent >= 2,
        "audited {audited}, sent {sent}: both peers changed?"
    );
    run_all();
    assert_eq!(
        audit_lines(),
        audited,
        "the second run wrote to the audit trail"
    );
    assert_eq!(mutating(), sent, "the second run sent a mutating command");
}
