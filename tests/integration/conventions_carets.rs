//! The source line and a caret everywhere an error can end up (issue 16, point 5): an
//! uncaught error inside an imported module names that module's file and quotes its line;
//! a trigger's failing run in the daemon's log carries file:line:col and the source line
//! (one line, no colour, no terminal control); the REPL puts the caret under the input.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;

use crate::support::{keascript, script};

/// Generous: a loaded 2-core machine may take a while.
const TIMEOUT_MS: u64 = 120_000;

/// A module whose function fails on its second line, and whose top level fails when
/// `broken_top` is imported.
fn modules(dir: &Path) {
    script(
        dir,
        "helpers.rhai",
        "fn check(x) {\n    let y = x.frobnicate();\n    y\n}\n",
    );
    script(
        dir,
        "broken_top.rhai",
        "let z = 1;\nlet q = z.nope_top();\n",
    );
}

#[test]
fn an_error_inside_an_imported_module_quotes_that_modules_line() {
    let dir = tempfile::tempdir().unwrap();
    modules(dir.path());
    // In a function of the module, called from the script.
    let s = script(
        dir.path(),
        "main.rhai",
        "import \"helpers\" as h;\nlet a = 1;\nh::check(a);\n",
    );
    let helpers = dir.path().join("helpers.rhai").display().to_string();
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "unknown function frobnicate(int) at {helpers}:2:15"
        )))
        .stderr(predicate::str::contains("2 |     let y = x.frobnicate();"))
        .stderr(predicate::str::contains("  |               ^"))
        .stderr(predicate::str::contains(format!(
            "in `check` called at {}:3:4",
            s.display()
        )));
    // In the module's top level, run by the import.
    let s = script(
        dir.path(),
        "main2.rhai",
        "let a = 1;\nimport \"broken_top\" as b;\n",
    );
    let broken = dir.path().join("broken_top.rhai").display().to_string();
    keascript()
        .arg("run")
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "unknown function nope_top(int) at {broken}:2:11"
        )))
        .stderr(predicate::str::contains("2 | let q = z.nope_top();"))
        .stderr(predicate::str::contains("  |           ^"))
        .stderr(predicate::str::contains(format!(
            "in module \"broken_top\" imported at {}:2:",
            s.display()
        )));
}

#[test]
fn a_failing_trigger_logs_file_line_column_and_the_source_line() {
    let dir = tempfile::tempdir().unwrap();
    modules(dir.path());
    let s = script(
        dir.path(),
        "triggers.rhai",
        "import \"helpers\" as h;\nevery(\"200ms\", || {\n    let n = 1;\n    let m = n.no_such_fn();\n});\nevery(\"200ms\", || h::check(2));\n",
    );
    let log = dir.path().join("daemon.log");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keascript"))
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .arg("daemon")
        .arg(&s)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let in_script = format!(
        "unknown function no_such_fn(int) at {}:4:15 — `let m = n.no_such_fn();`",
        s.display()
    );
    let in_module = format!(
        "unknown function frobnicate(int) at {}:2:15 — `let y = x.frobnicate();`; in `check` called at {}:6:",
        dir.path().join("helpers.rhai").display(),
        s.display()
    );
    // Waits for both failures in the log (each trigger fires every 200 ms).
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains(&in_script) && text.contains(&in_module) {
            break text;
        }
        if start.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("no such failures in the daemon's log:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
    // One line per failure, no colour and no terminal control.
    for line in text.lines().filter(|l| l.contains("run failed")) {
        assert!(line.contains(" — `"), "{line}");
    }
    assert!(!text.contains('\u{1b}'), "terminal control in the log");
}

#[test]
fn the_repl_puts_the_caret_under_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.toml");
    std::fs::write(&inv, "[servers.far]\nurl = \"http://127.0.0.1:1\"\n").unwrap();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("keascript"));
    cmd.args(["repl", "--config"])
        .arg(&inv)
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(TIMEOUT_MS))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn keascript repl under a pty");
    p.exp_string("kea> ").unwrap();
    p.send_line("let a = [1, 2]; let b = a.revers();").unwrap();
    p.exp_string("(did you mean `reverse`?)")
        .expect("the error");
    p.exp_string("1 | let a = [1, 2]; let b = a.revers();")
        .expect("the input line");
    p.exp_regex("\n  \\| {27}\\^")
        .expect("a caret under `revers`");
    p.exp_string("kea> ").unwrap();
    // A function defined in this input: its line is quoted too.
    p.send_line("fn f(x) { x.nope() } f(1)").unwrap();
    p.exp_string("unknown function nope(int)").unwrap();
    p.exp_string("1 | fn f(x) { x.nope() } f(1)").unwrap();
    p.exp_string("kea> ").unwrap();
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
}
