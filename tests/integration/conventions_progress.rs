//! Progress for a script's long lease walk (issue 16, point 5): once `for l in
//! v4.leases()` has lasted a second, a line on stderr counts the leases and pages read, on a
//! terminal only, silenced by `-q`, cleared when the walk ends; the same in the REPL.

use std::process::Command;

use rexpect::reader::Options;
use rexpect::session::spawn_with_options;

use crate::support::{keascript, lab_with, script};
use keascript::lab::LabOptions;

/// Generous: a loaded 2-core machine may take a while.
const TIMEOUT_MS: u64 = 120_000;

/// Leases preloaded in the lab: five pages of Kea's 1000.
const LEASES: usize = 5000;

/// A walk over every lease that lasts more than a second whatever the machine's speed:
/// the script pauses on the first lease, then reads the four pages left.
const WALK: &str = r#"let n = 0;
for l in kea().dhcp4.leases() {
    if n == 0 { sleep("1500ms"); }
    n += 1;
}
print(`walked ${n} leases`);
"#;

#[test]
fn a_long_lease_walk_shows_progress_on_a_terminal_and_in_the_repl() {
    let Some(lab) = lab_with(LabOptions {
        leases4: LEASES,
        ..Default::default()
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = script(dir.path(), "walk.rhai", WALK);
    let spawn = |args: &[&str], strip: bool| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("keascript"));
        cmd.arg("--config")
            .arg(lab.inventory())
            .args(args)
            .env_remove("KEASCRIPT_CONFIG")
            .env_remove("KEASCRIPT_LOG")
            .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
            .env("NO_COLOR", "1")
            .env("TERM", "xterm");
        spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(TIMEOUT_MS))
                .strip_ansi_escape_codes(strip),
        )
        .expect("spawn under a pty")
    };
    let done = format!("walked {LEASES} leases");

    // `run` on a terminal: the line appears, counting leases and pages, then the walk ends
    // and the line is cleared (escape sequences kept to see it).
    let mut p = spawn(&["run", s.to_str().unwrap()], false);
    let (_, seen) = p
        .exp_regex(r"reading the leases of [^:]+/dhcp4: [0-9]+ leases, [0-9]+ pages")
        .expect("a progress line during the walk");
    let pages: u32 = seen
        .rsplit(", ")
        .next()
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a page count");
    // Shown only once the walk had lasted a second: after the pause, not on the first page.
    assert!(pages >= 2, "shown before the walk lasted a second: {seen}");
    let after = p.exp_string(&done).expect("the walk ends");
    // The last thing done to the line is clearing it: no progress text after that.
    let last = after.rsplit("\u{1b}[2K").next().unwrap_or_default();
    assert!(
        after.contains("\u{1b}[2K") && !last.contains("reading the leases"),
        "the line is not cleared when the walk ends: {after:?}"
    );
    // NO_COLOR: cursor control only, no colour.
    assert!(
        !after.contains("\u{1b}[3"),
        "colour despite NO_COLOR: {after:?}"
    );
    p.exp_eof().unwrap();

    // -q: the same walk without a progress line.
    let mut p = spawn(&["-q", "run", s.to_str().unwrap()], true);
    let before = p.exp_string(&done).expect("the walk ends");
    assert!(!before.contains("reading the leases"), "{before}");
    p.exp_eof().unwrap();

    // Piped (no terminal): nothing on stderr but what the script says.
    let out = keascript()
        .arg("--config")
        .arg(lab.inventory())
        .arg("run")
        .arg(&s)
        .env("KEASCRIPT_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&done));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("reading the leases"), "{stderr}");

    // The REPL: the same line while a statement walks the leases.
    let mut p = spawn(&["repl"], true);
    p.exp_string("kea> ").expect("the prompt");
    p.send_line(&WALK.replace('\n', " ")).unwrap();
    p.exp_regex(r"reading the leases of [^:]+/dhcp4: [0-9]+ leases, [0-9]+ pages")
        .expect("a progress line in the REPL");
    p.exp_string(&done).expect("the walk ends");
    p.exp_string("kea> ").expect("the next prompt");
    p.send_line(":quit").unwrap();
    p.exp_eof().unwrap();
}

/// `wipe_leases` counts a subnet's leases before it wipes them: that walk tells the same
/// observer page by page (so the script's progress line covers it too), and the count and
/// the wipe are real (the lab's leases are gone afterwards).
#[test]
fn wiping_a_subnets_leases_walks_them_page_by_page_for_the_progress_line() {
    use keascript::kea::config::{Family, SubnetKey};
    use keascript::kea::{Server, Service};
    use std::sync::{Arc, Mutex};
    let Some(lab) = lab_with(LabOptions {
        leases4: LEASES,
        ..Default::default()
    }) else {
        return;
    };
    let svc = Service::new(
        Arc::new(
            Server::connect(
                &format!("unix:{}", lab.socket("dhcp4").display()),
                Some("dhcp4"),
                Default::default(),
            )
            .unwrap(),
        ),
        "dhcp4",
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let key = SubnetKey::parse(&keascript::lab::BIG_SUBNET_ID.to_string(), Family::V4).unwrap();
    let n = crate::support::rt()
        .block_on(keascript::kea::leases::wipe(&svc, &key, move |p| {
            s.lock().unwrap().push((p.pages, p.leases))
        }))
        .expect("wipe");
    assert_eq!(n as usize, LEASES);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= LEASES / 1000, "one call per page: {seen:?}");
    assert_eq!(seen.last().map(|p| p.1 as usize), Some(LEASES), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "pages and leases only grow: {seen:?}"
    );
    let mut pager = keascript::kea::leases::LeasePager::new(svc, None);
    let left = crate::support::rt()
        .block_on(pager.next())
        .expect("lease4-get-page");
    assert!(left.is_none(), "every lease wiped: {left:?}");
}
