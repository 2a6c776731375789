//! `keascript daemon` through the binary: real files, real inotify, a real Kea lab where
//! Kea is involved. Runs are counted through files the scripts append to and through the
//! Kea log (`COMMAND_RECEIVED Received command 'config-reload'`); the daemon's log is its
//! stderr, written to a file and polled. Waits are generous (a loaded 2-core machine) and
//! end as soon as the awaited line appears; the only fixed waits are the ones that show
//! that nothing more happens, each several debounce periods long.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keascript::kea::{Inventory, Server, Service};
use keascript::lab::Lab;
use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::support::{keascript, lab, repo, rt, script};

/// How long to wait for something that should happen.
const WAIT: Duration = Duration::from_secs(20);

/// A `keascript daemon` process started by a test, killed by its PID if the test fails.
struct Daemon {
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `keascript [--config inventory] daemon FLAGS SCRIPT -- ARGS` with its stderr
    /// in `dir/<name>.log` and its state in `dir/state`.
    fn start(
        dir: &Path,
        inventory: Option<&Path>,
        flags: &[&str],
        script: &Path,
        args: &[&str],
    ) -> Self {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let log = dir.join(format!("daemon-{n}.log"));
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("keascript"));
        cmd.env_remove("KEASCRIPT_CONFIG")
            .env_remove("KEASCRIPT_LOG")
            .env_remove("JOURNAL_STREAM")
            .env("KEASCRIPT_STATE_DIR", dir.join("state"));
        if let Some(inv) = inventory {
            cmd.arg("--config").arg(inv);
        }
        cmd.arg("daemon").args(flags).arg(script);
        if !args.is_empty() {
            cmd.arg("--").args(args);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start keascript daemon");
        Self {
            child,
            log,
            status: None,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `n` lines containing `needle`; returns the log.
    fn wait_count(&self, needle: &str, n: usize) -> String {
        let until = Instant::now() + WAIT;
        loop {
            let log = self.log();
            if log.matches(needle).count() >= n {
                return log;
            }
            assert!(
                Instant::now() < until,
                "no {n}× {needle:?} in the daemon's log within {WAIT:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_count(needle, 1)
    }

    fn signal(&self, sig: Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig)
            .expect("signal the daemon");
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the process to end; returns its status and how long that took.
    fn wait_exit(&mut self) -> (ExitStatus, Duration) {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                self.status = Some(s);
                return (s, t.elapsed());
            }
            assert!(
                t.elapsed() < WAIT,
                "the daemon did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and a clean exit (status 0).
    fn stop(&mut self) -> Duration {
        self.signal(Signal::SIGTERM);
        let (status, took) = self.wait_exit();
        assert_eq!(
            status.code(),
            Some(0),
            "exit status after SIGTERM:\n{}",
            self.log()
        );
        took
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.status.is_none() && self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until `f` is true.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The lab's dhcp4 service, at library level.
fn dhcp4(lab: &Lab) -> Service {
    let inv = Inventory::load(lab.inventory()).unwrap();
    let _g = rt().enter();
    let srv = Arc::new(Server::from_entry("lab", inv.get("lab").unwrap()).unwrap());
    Service::new(srv, "dhcp4").unwrap()
}

fn running_subnets(lab: &Lab) -> Vec<String> {
    let cfg = rt().block_on(dhcp4(lab).config()).unwrap();
    cfg["Dhcp4"]["subnet4"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subnet"].as_str().unwrap().to_string())
        .collect()
}

/// How many `config-reload` commands kea-dhcp4 received.
fn reloads(lab: &Lab) -> usize {
    std::fs::read_to_string(lab.dir().join("kea-dhcp4.log"))
        .unwrap_or_default()
        .matches("Received command 'config-reload'")
        .count()
}

fn read_config(lab: &Lab) -> Value {
    serde_json::from_str(&std::fs::read_to_string(lab.config_file("dhcp4")).unwrap()).unwrap()
}

fn with_subnet(mut cfg: Value, id: u64, prefix: &str) -> Value {
    cfg["Dhcp4"]["subnet4"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": id, "subnet": prefix }));
    cfg
}

/// Writes the file in place (truncate and write, as `>` or many editors do).
fn save_in_place(path: &Path, cfg: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(cfg).unwrap()).unwrap();
}

/// Writes a temporary file next to it and renames it over the file (vim, VS Code, …).
fn save_by_rename(path: &Path, cfg: &Value) {
    let tmp = path.with_file_name(".kea-dhcp4.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(cfg).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn the_reload_example_reloads_once_per_save_in_place_or_by_rename() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab.config_file("dhcp4");
    let mut d = Daemon::start(
        tmp.path(),
        Some(lab.inventory()),
        &[],
        &repo().join("scripts/reload-on-change.rhai"),
        &[file.to_str().unwrap()],
    );
    d.wait_for("daemon started");
    assert_eq!(reloads(&lab), 0);

    // A save in place.
    let t = Instant::now();
    save_in_place(&file, &with_subnet(read_config(&lab), 2, "203.0.113.0/24"));
    wait_until("203.0.113.0/24 to run", || {
        running_subnets(&lab).contains(&"203.0.113.0/24".to_string())
    });
    eprintln!("save in place → running config: {:?}", t.elapsed());
    d.wait_for("config-test passed, dhcp4 reloaded: Configuration successful.");

    // A save by rename.
    let t = Instant::now();
    save_by_rename(&file, &with_subnet(read_config(&lab), 3, "198.51.100.0/24"));
    wait_until("198.51.100.0/24 to run", || {
        running_subnets(&lab).contains(&"198.51.100.0/24".to_string())
    });
    eprintln!("save by rename → running config: {:?}", t.elapsed());
    d.wait_count("config-test passed", 2);

    // Editor files next to it, and a `touch`: no run.
    for n in [
        ".kea-dhcp4.json.swp",
        "kea-dhcp4.json~",
        "4913",
        ".#kea-dhcp4.json",
    ] {
        std::fs::write(lab.dir().join(n), "junk").unwrap();
    }
    let f = std::fs::File::options().append(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(reloads(&lab), 2, "exactly one reload per save");
    let log = d.log();
    assert_eq!(log.matches("run finished").count(), 2, "{log}");
    assert_eq!(
        running_subnets(&lab),
        vec!["192.0.2.0/24", "203.0.113.0/24", "198.51.100.0/24"]
    );
    d.stop();
}

#[test]
fn a_burst_of_fifty_writes_gives_one_run_and_delete_then_create_is_seen() {
    // The property: writes that never pause as long as the debounce give one run, after
    // the last write. A loaded machine may pause the writer itself; then the burst may
    // split where it paused, and the test checks what still holds.
    const DEBOUNCE: Duration = Duration::from_secs(1);
    let tmp = tempfile::tempdir().unwrap();
    let watched = tmp.path().join("kea-dhcp4.conf");
    let runs = tmp.path().join("runs.txt");
    std::fs::write(&watched, "{}").unwrap();
    let s = script(
        tmp.path(),
        "count.rhai",
        &format!(
            "on_change({:?}, |event| {{\n    let size = if event.kind == \"removed\" {{ 0 }} else {{ read_file(event.path).len() }};\n    append_file({:?}, event.kind + \" \" + size + \"\\n\");\n}});\n",
            watched.to_str().unwrap(),
            runs.to_str().unwrap()
        ),
    );
    let mut d = Daemon::start(tmp.path(), None, &["--debounce", "1s"], &s, &[]);
    d.wait_for("daemon started");
    // 50 writes in place through one handle (truncate, write), as a program saving often.
    let mut f = std::fs::File::options().write(true).open(&watched).unwrap();
    let mut done = Vec::with_capacity(50);
    for i in 0..50 {
        use std::io::{Seek, Write};
        f.set_len(0).unwrap();
        f.rewind().unwrap();
        f.write_all(format!("{{\"write\": {i:04}}}").as_bytes())
            .unwrap();
        done.push(Instant::now());
    }
    drop(f);
    // Pauses that might split the burst: half the debounce leaves room for the daemon
    // reading its events late.
    let gaps: Vec<Duration> = done.windows(2).map(|w| w[1] - w[0]).collect();
    let pauses = gaps.iter().filter(|g| **g >= DEBOUNCE / 2).count();
    eprintln!(
        "50 writes took {:?}, the longest gap {:?}",
        done[49] - done[0],
        gaps.iter().max().unwrap()
    );
    // The last write is always handled...
    wait_until("the run after the last write", || {
        lines(&runs).last().is_some_and(|l| l == "modified 15")
    });
    // ...and nothing more comes (several debounce periods).
    std::thread::sleep(3 * DEBOUNCE);
    let l = lines(&runs);
    if pauses == 0 {
        assert_eq!(l, vec!["modified 15"], "one run, after the last write");
    } else {
        eprintln!("the writer paused {pauses} times for half a debounce or more");
        assert!(
            l.len() <= 1 + pauses && l.iter().all(|r| r.starts_with("modified ")),
            "at most one run per part of the burst: {l:?}"
        );
        assert_eq!(l.last().unwrap(), "modified 15");
    }
    let n = l.len();

    std::fs::remove_file(&watched).unwrap();
    wait_until("the removal", || lines(&runs).len() == n + 1);
    std::fs::write(&watched, "{\"back\": 1}").unwrap();
    wait_until("the re-creation", || lines(&runs).len() == n + 2);
    let l = lines(&runs);
    assert_eq!(l[n], "removed 0");
    assert_eq!(l[n + 1], "created 11");
    d.stop();
}

#[test]
fn a_broken_file_is_not_reloaded_and_the_daemon_goes_on() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab.config_file("dhcp4");
    let good = read_config(&lab);
    let mut d = Daemon::start(
        tmp.path(),
        Some(lab.inventory()),
        &["--debounce", "150ms"],
        &repo().join("scripts/reload-on-change.rhai"),
        &[file.to_str().unwrap()],
    );
    d.wait_for("daemon started");

    // Kea refuses it: its own text is logged, nothing is reloaded.
    let mut bad = good.clone();
    bad["Dhcp4"]["subnet4"].as_array_mut().unwrap().push(
        json!({"id": 2, "subnet": "10.0.0.0/24", "pools": [{"pool": "10.0.1.1 - 10.0.1.5"}]}),
    );
    save_by_rename(&file, &bad);
    d.wait_for(
        "config-test said: subnet configuration failed: a pool of type V4, with the following address range: 10.0.1.1-10.0.1.5 does not match the prefix of a subnet: 10.0.0.0/24",
    );
    // Not JSON at all: refused before Kea is asked.
    std::fs::write(&file, "{ \"Dhcp4\": { \"subnet4\": [ }").unwrap();
    let log = d.wait_for("not valid JSON");
    assert!(log.contains(&format!("{}:1:", file.display())), "{log}");
    assert_eq!(reloads(&lab), 0);
    assert!(d.running());
    assert_eq!(
        running_subnets(&lab),
        vec!["192.0.2.0/24"],
        "the old config keeps serving"
    );

    // Fixed: reloaded.
    save_in_place(&file, &with_subnet(good, 2, "203.0.113.0/24"));
    d.wait_for("dhcp4 reloaded");
    assert_eq!(reloads(&lab), 1);
    assert_eq!(
        running_subnets(&lab),
        vec!["192.0.2.0/24", "203.0.113.0/24"]
    );
    d.stop();
}

#[test]
fn a_save_during_a_running_reload_gets_exactly_one_more_run() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab.config_file("dhcp4");
    let marks = tmp.path().join("marks.txt");
    let s = script(
        tmp.path(),
        "slow-reload.rhai",
        &format!(
            r#"import "kea/reload" as reload;
let marks = {marks:?};
on_change({file:?}, |event| {{
    append_file(marks, "start\n");
    reload::handle(kea().dhcp4, event);
    sleep("1500ms");
    append_file(marks, "end\n");
}});
"#,
            marks = marks.to_str().unwrap(),
            file = file.to_str().unwrap()
        ),
    );
    let mut d = Daemon::start(
        tmp.path(),
        Some(lab.inventory()),
        &["--debounce", "200ms"],
        &s,
        &[],
    );
    d.wait_for("daemon started");
    let mut cfg = with_subnet(read_config(&lab), 2, "10.1.0.0/24");
    save_in_place(&file, &cfg);
    wait_until("the first run", || lines(&marks) == ["start"]);
    // Three more saves while it runs.
    for (id, p) in [(3, "10.2.0.0/24"), (4, "10.3.0.0/24"), (5, "10.4.0.0/24")] {
        cfg = with_subnet(cfg, id, p);
        save_by_rename(&file, &cfg);
        std::thread::sleep(Duration::from_millis(30));
    }
    d.wait_for("one more run follows it");
    wait_until("the second run to end", || {
        lines(&marks).iter().filter(|l| *l == "end").count() == 2
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&marks), vec!["start", "end", "start", "end"]);
    assert_eq!(reloads(&lab), 2);
    assert_eq!(
        running_subnets(&lab),
        vec![
            "192.0.2.0/24",
            "10.1.0.0/24",
            "10.2.0.0/24",
            "10.3.0.0/24",
            "10.4.0.0/24"
        ],
        "the last save runs"
    );
    d.stop();
}

#[test]
fn a_timer_fires_on_schedule_and_a_slow_run_is_skipped_not_overlapped() {
    let tmp = tempfile::tempdir().unwrap();
    let marks = tmp.path().join("marks.txt");
    let s = script(
        tmp.path(),
        "slow-timer.rhai",
        &format!(
            r#"let marks = {:?};
every("200ms", || {{
    append_file(marks, "start\n");
    sleep("700ms");
    append_file(marks, "end\n");
}});
"#,
            marks.to_str().unwrap()
        ),
    );
    let mut d = Daemon::start(tmp.path(), None, &[], &s, &[]);
    d.wait_for("daemon started");
    d.wait_count("run finished", 2);
    let log = d.wait_count("firing skipped: the previous run is still going", 3);
    assert!(log.contains("skipped so far"), "{log}");
    d.stop();
    let l = lines(&marks);
    assert!(l.len() >= 4, "{l:?}");
    for (i, m) in l.iter().enumerate() {
        assert_eq!(
            m,
            if i % 2 == 0 { "start" } else { "end" },
            "runs overlapped: {l:?}"
        );
    }
    let log = d.log();
    assert!(
        log.contains("skipped=") && !log.contains("skipped=0"),
        "{log}"
    );
}

#[test]
fn sigterm_lets_a_run_finish_or_cancels_it_after_the_grace_period() {
    let tmp = tempfile::tempdir().unwrap();
    let marks = tmp.path().join("marks.txt");
    // A run that finishes within the grace period.
    let s = script(
        tmp.path(),
        "finishes.rhai",
        &format!(
            "let m = {:?};\nevery(\"100ms\", || {{ append_file(m, \"start\\n\"); sleep(\"1s\"); append_file(m, \"end\\n\"); }});\n",
            marks.to_str().unwrap()
        ),
    );
    let mut d = Daemon::start(tmp.path(), None, &[], &s, &[]);
    wait_until("a run", || lines(&marks) == ["start"]);
    let took = d.stop();
    eprintln!("SIGTERM with a 1s run in flight: exited after {took:?}");
    assert_eq!(lines(&marks), vec!["start", "end"], "the run finished");
    let log = d.log();
    assert!(
        log.contains("waiting up to 10s for the run in flight"),
        "{log}"
    );
    assert!(log.contains("run finished"), "{log}");

    // Runs that never finish: a busy loop and a long sleep, cancelled after 1 s.
    let spin = tmp.path().join("spin.txt");
    let s = script(
        tmp.path(),
        "never.rhai",
        &format!(
            "let m = {:?};\nevery(\"100ms\", || {{ append_file(m, \"spin\\n\"); loop {{ }} }});\nevery(\"100ms\", || {{ append_file(m, \"sleep\\n\"); sleep(\"1h\"); }});\n",
            spin.to_str().unwrap()
        ),
    );
    let mut d = Daemon::start(tmp.path(), None, &["--shutdown-timeout", "1s"], &s, &[]);
    wait_until("both runs", || lines(&spin).len() == 2);
    let took = d.stop();
    eprintln!("SIGTERM with endless runs in flight, grace 1s: exited after {took:?}");
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let log = d.log();
    assert_eq!(log.matches("run cancelled").count(), 2, "{log}");
    assert!(log.contains("the script was cancelled"), "{log}");
}

#[test]
fn sighup_picks_up_a_changed_script_and_keeps_the_old_one_if_the_new_is_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let marks = tmp.path().join("marks.txt");
    let m = marks.to_str().unwrap();
    let body =
        |tag: &str| format!("let m = {m:?};\nevery(\"150ms\", || append_file(m, \"{tag}\\n\"));\n");
    let s = script(tmp.path(), "hup.rhai", &body("v1"));
    let mut d = Daemon::start(tmp.path(), None, &[], &s, &[]);
    wait_until("v1 runs", || lines(&marks).iter().any(|l| l == "v1"));
    std::fs::write(&s, body("v2")).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for("script reloaded: 1 triggers");
    wait_until("v2 runs", || {
        lines(&marks).iter().filter(|l| *l == "v2").count() >= 3
    });
    let l = lines(&marks);
    let first_v2 = l.iter().position(|x| x == "v2").unwrap();
    assert!(
        l[first_v2..].iter().all(|x| x == "v2"),
        "v1 ran after the reload: {l:?}"
    );

    // A broken script: logged with file:line:col, v2 goes on.
    std::fs::write(&s, "let m = ;\n").unwrap();
    d.signal(Signal::SIGHUP);
    let log = d.wait_for("reload failed, the previous triggers go on");
    assert!(log.contains(&format!("{}:1:", s.display())), "{log}");
    let n = lines(&marks).len();
    wait_until("v2 to go on", || lines(&marks).len() >= n + 2);
    assert!(d.running());
    d.stop();
}

#[test]
fn start_errors_are_fatal_and_say_where() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, i32, &str)> = vec![
        (
            "syntax",
            "every(\"1m\", || {\n  let x = ;\n});\n".into(),
            1,
            "syntax error",
        ),
        ("none", "let x = 1;\n".into(), 1, "registered no triggers"),
        (
            "every",
            "every(\"soon\", || 1);\n".into(),
            1,
            "every(): \"soon\" is not a duration",
        ),
        (
            "cron",
            "cron(\"0 */15 * * * *\", || 1);\n".into(),
            1,
            "has 6 fields",
        ),
        (
            "dir",
            "on_change(\"/nonexistent-dir/x.conf\", |e| 1);\n".into(),
            1,
            "does not exist",
        ),
        (
            "kea",
            format!(
                "connect(\"http://127.0.0.1:{}\").version();\nevery(\"1m\", || 1);\n",
                std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            ),
            3,
            "transport error",
        ),
    ];
    for (name, text, code, needle) in cases {
        let s = script(tmp.path(), &format!("{name}.rhai"), &text);
        let out = keascript()
            .arg("daemon")
            .arg(&s)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(err.contains(&format!("{}:", s.display())), "{name}: {err}");
    }
    keascript()
        .args(["daemon", "/nonexistent/script.rhai"])
        .assert()
        .code(2);
    keascript()
        .args(["daemon", "--debounce", "soon", "x.rhai"])
        .assert()
        .code(2);
}

#[test]
fn failing_runs_are_logged_and_the_daemon_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "fails.rhai",
        "every(\"150ms\", || { throw \"boom\"; });\nevery(\"150ms\", || { loop { } });\n",
    );
    let mut d = Daemon::start(tmp.path(), None, &["--timeout", "300ms"], &s, &[]);
    d.wait_count("uncaught throw: boom", 3);
    let log = d.wait_count("ran past its deadline of 300ms", 2);
    assert!(log.contains(&format!("{}:1:", s.display())), "{log}");
    assert!(d.running());
    d.stop();
}

#[test]
fn json_logs_have_one_object_per_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "json.rhai",
        "every(\"100ms\", || print(\"hello\"));\n",
    );
    let mut d = Daemon::start(tmp.path(), None, &["--log-format", "json"], &s, &[]);
    d.wait_count("run finished", 2);
    d.stop();
    let log = d.log();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let hello = events
        .iter()
        .find(|e| e["fields"]["message"] == "hello")
        .expect("the script's print");
    assert_eq!(hello["level"], "INFO");
    assert!(
        hello["fields"]["trigger"]
            .as_str()
            .unwrap()
            .starts_with("every(100ms) at json.rhai:1")
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "daemon stopped")
    );
}

#[test]
fn the_drift_example_reports_changes_and_file_differences() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab.config_file("dhcp4");
    let example = repo().join("scripts/drift-report.rhai");
    let mut d = Daemon::start(
        tmp.path(),
        Some(lab.inventory()),
        &[],
        &example,
        &[file.to_str().unwrap(), "500ms"],
    );
    d.wait_for("lab/dhcp4: first check, snapshot taken");
    d.wait_for("kea-dhcp4.json: matches the running configuration");
    d.wait_for("lab/dhcp4: no change since the last check");
    // A change behind the file's back.
    let svc = dhcp4(&lab);
    let cfg = rt().block_on(svc.config()).unwrap();
    rt().block_on(svc.set(&with_subnet(cfg, 7, "10.77.0.0/24")))
        .unwrap();
    let log = d.wait_for("subnet 10.77.0.0/24: only in the running configuration");
    assert!(
        log.contains("lab/dhcp4: 1 change(s) since the last check"),
        "{log}"
    );
    assert!(log.contains("subnet 10.77.0.0/24 added"), "{log}");
    d.stop();
    assert!(tmp.path().join("state/drift/lab-dhcp4.json").is_file());

    // The same example on the quarter hours.
    let mut d = Daemon::start(
        tmp.path(),
        Some(lab.inventory()),
        &[],
        &example,
        &[file.to_str().unwrap(), "*/15 * * * *"],
    );
    let log = d.wait_for("next run at");
    assert!(
        log.contains("cron(*/15 * * * *) at drift-report.rhai"),
        "{log}"
    );
    assert!(
        log.contains("1 change(s) since the last check") || log.contains("no change since"),
        "{log}"
    );
    d.stop();
}

#[test]
fn the_stdlib_modules_work_in_a_plain_run_too() {
    let Some(lab) = lab() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let file = lab.config_file("dhcp4");
    let s = script(
        tmp.path(),
        "modules.rhai",
        &format!(
            r#"import "kea/reload" as reload;
import "kea/drift" as drift;
let file = {file:?};
let v4 = kea().dhcp4;
let text = read_file(file);
text.replace("\"valid-lifetime\": 4000", "\"valid-lifetime\": 4100");
write_file(file, "// edited\n" + text);
let r = reload::apply(v4, file);
print(`reloaded=${{r.reloaded}} text=${{r.text}}`);
print(`valid=${{v4.config().Dhcp4["valid-lifetime"]}}`);
let d = drift::check(v4, file);
print(`first=${{d.first}} in_sync=${{d.in_sync}}`);
write_file(file, "{{ broken");
let r = reload::apply(v4, file);
print(`reloaded=${{r.reloaded}} error=${{r.error}}`);
let d = drift::check(v4, file);
print(drift::summary(d));
on_change(file, |e| 1);
"#,
            file = file.to_str().unwrap()
        ),
    );
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .arg("run")
        .arg(&s)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("reloaded=true text=Configuration successful."),
        "{stdout}"
    );
    assert!(stdout.contains("valid=4100"), "{stdout}");
    assert!(stdout.contains("first=true in_sync=true"), "{stdout}");
    assert!(
        stdout.contains(&format!("reloaded=false error={}:1:", file.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("lab/dhcp4: no change since the last check"),
        "{stdout}"
    );
    assert!(stdout.contains("cannot compare"), "{stdout}");
    assert!(
        stderr.contains("triggers run only under `keascript daemon`"),
        "{stderr}"
    );
    assert_eq!(reloads(&lab), 1);
}
