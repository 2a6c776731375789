//! A daemon soak against a real Kea: a 1 s timer that reads Kea, a file watched while the
//! test keeps rewriting it, and a Kea restart in the middle. Afterwards: every run is
//! accounted for (each run the daemon logs finished or failed, and each finished one left its
//! mark), the open files are as many at the end as after the warm-up, and resident memory
//! grew at most 5% from the warm-up to the end.
//!
//! CI runs it for 40 s; `KEASCRIPT_SOAK_SECS=600` is the 10-minute soak whose figures are in
//! RELIABILITY.md (warm-up: the first fifth).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{lab, rt, script};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn count(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

#[test]
fn a_daemon_soak_keeps_memory_and_files_flat_and_accounts_for_every_run() {
    let Some(mut lab) = lab() else { return };
    let secs: u64 = std::env::var("KEASCRIPT_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let tmp = tempfile::tempdir().unwrap();
    let watched = tmp.path().join("watched.conf");
    let marks = tmp.path().join("marks.txt");
    std::fs::write(&watched, "0").unwrap();
    let s = script(
        tmp.path(),
        "soak.rhai",
        &format!(
            r#"
every("1s", || {{
    try {{
        let n = kea().dhcp4.subnets().len();
        append_file({marks:?}, `tick ok ${{n}}\n`);
    }} catch (e) {{
        append_file({marks:?}, `tick down ${{error_kind(e)}}\n`);
    }}
}});
on_change({watched:?}, |event| {{
    append_file({marks:?}, `change ${{read_file(event.path).len()}}\n`);
}});
"#,
            marks = marks.to_str().unwrap(),
            watched = watched.to_str().unwrap()
        ),
    );
    let log = tmp.path().join("daemon.log");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keascript"))
        .env_remove("KEASCRIPT_CONFIG")
        .env_remove("KEASCRIPT_LOG")
        .env_remove("JOURNAL_STREAM")
        .env("KEASCRIPT_STATE_DIR", tmp.path().join("state"))
        .arg("--config")
        .arg(lab.inventory())
        .arg("daemon")
        .arg(&s)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let until = Instant::now() + Duration::from_secs(60);
    while count(&log, "daemon started") == 0 {
        assert!(
            Instant::now() < until,
            "{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let warm_at = Duration::from_secs(secs / 5);
    let (mut warm_rss, mut warm_fds) = (0, 0);
    let mut peak_rss = 0;
    let mut restarted = false;
    let mut writes = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        // File churn: a save every ~250 ms.
        writes += 1;
        std::fs::write(&watched, "x".repeat(writes % 50 + 1)).unwrap();
        if !restarted && started.elapsed() > Duration::from_secs(secs / 2) {
            rt().block_on(lab.restart("kea-dhcp4"))
                .expect("Kea restarts");
            restarted = true;
        }
        if warm_rss == 0 && started.elapsed() >= warm_at {
            warm_rss = rss_kib(pid);
            warm_fds = open_files(pid);
        }
        peak_rss = peak_rss.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(250));
    }
    // Let the last save's run finish, then measure and stop.
    let settle = Instant::now() + Duration::from_secs(30);
    while count(&marks, "change ") == 0 && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (end_rss, end_fds) = (rss_kib(pid), open_files(pid));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let finished = text.matches("run finished").count();
    let failed = text.matches("run failed").count();
    let cancelled = text.matches("run cancelled").count();
    let ticks = count(&marks, "tick ");
    let down = count(&marks, "tick down");
    let changes = count(&marks, "change ");
    eprintln!(
        "soak {secs}s: {finished} runs finished, {failed} failed, {cancelled} cancelled; {ticks} ticks ({down} while Kea was down), {changes} change runs for {writes} saves; RSS {warm_rss} KiB after warm-up, {end_rss} KiB at the end, peak {peak_rss} KiB; open files {warm_fds} -> {end_fds}"
    );
    assert!(status.success(), "{text}");
    assert!(restarted);
    assert_eq!(failed, 0, "{text}");
    // Every run is accounted for: each finished run left its mark (at most the one a
    // SIGTERM cut short did not).
    assert!(
        finished.abs_diff(ticks + changes) <= cancelled + 1,
        "{finished} finished runs, {ticks} ticks + {changes} changes"
    );
    assert!(
        ticks + 2 >= secs as usize * 8 / 10,
        "the 1 s timer ran: {ticks} in {secs}s"
    );
    assert!(changes >= 2, "file changes were seen: {changes}");
    assert_eq!(
        end_fds, warm_fds,
        "open files after the warm-up and at the end"
    );
    assert!(
        end_rss <= warm_rss + warm_rss / 20,
        "RSS grew more than 5%: {warm_rss} -> {end_rss} KiB"
    );
}
