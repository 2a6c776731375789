//! The lab: real daemons up, an inventory written, every process gone after it stops.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{alive, keascript, lab, script};

#[test]
fn the_lab_starts_real_daemons_and_stops_every_one() {
    let Some(mut lab) = lab() else { return };
    let pids = lab.pids();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| alive(p)), "all three run");
    // What the daemons answer is the Kea the lab found (2.2 from apt, or the Kea of
    // KEASCRIPT_KEA_BIN_DIR).
    assert_eq!(lab.version, lab.kea_version().to_string());
    let dir = lab.dir().to_path_buf();
    assert!(lab.config_file("dhcp4").is_file());
    assert!(lab.inventory().is_file());
    lab.stop();
    assert!(pids.iter().all(|&p| !alive(p)), "every process is gone");
    drop(lab);
    assert!(!dir.exists(), "the lab directory is removed");
}

#[test]
fn run_with_lab_tears_the_lab_down_after_the_script() {
    if lab().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "pids.rhai",
        "let srv = kea();\nprint(`pids ${srv.dhcp4.status().pid} ${srv.dhcp6.status().pid}`);\n",
    );
    let out = keascript()
        .args(["run", "--lab"])
        .arg(&s)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("pids ")).unwrap();
    let pids: Vec<u32> = line[5..].split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2);
    assert!(
        pids.iter().all(|&p| !alive(p)),
        "daemons gone after the run"
    );
    // A failing script tears the lab down too, and keeps its exit status.
    let failing = script(
        dir.path(),
        "fail.rhai",
        "print(`pid ${kea().dhcp4.status().pid}`);\nkea().command(\"foo-bar\", \"dhcp4\");\n",
    );
    let out = keascript()
        .args(["run", "--lab"])
        .arg(&failing)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = stdout.trim().strip_prefix("pid ").unwrap().parse().unwrap();
    assert!(!alive(pid));
}

#[test]
fn keascript_lab_stays_up_writes_an_inventory_and_stops_on_ctrl_c() {
    let Some(probe) = lab() else {
        return;
    };
    let version = probe.kea_version().to_string();
    drop(probe);
    let bin = assert_cmd::cargo::cargo_bin("keascript");
    let child = Command::new(&bin)
        .arg("lab")
        .env_remove("KEASCRIPT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A failed assertion must not leave the lab (and its daemons) running.
    let mut child = Interrupt(Some(child));
    let mut out = BufReader::new(child.get().stdout.take().unwrap());
    let mut text = String::new();
    let started = Instant::now();
    while !text.contains("Press Ctrl-C") {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 || started.elapsed() > Duration::from_secs(60) {
            panic!("keascript lab did not come up: {text}");
        }
        text.push_str(&line);
    }
    let inventory = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("export KEASCRIPT_CONFIG="))
        .expect("the lab prints how to use its inventory")
        .to_string();
    let dir = std::path::Path::new(&inventory)
        .parent()
        .unwrap()
        .to_path_buf();
    // The daemons' own PID files, written because KEA_PIDFILE_DIR is the lab directory.
    let pids: Vec<u32> = [
        "kea-dhcp4.kea-dhcp4.pid",
        "kea-dhcp6.kea-dhcp6.pid",
        "kea-ctrl-agent.kea-ctrl-agent.pid",
    ]
    .iter()
    .map(|f| {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    })
    .collect();
    assert!(pids.iter().all(|&p| alive(p)));

    // Another process uses the lab through the printed inventory.
    let tmp = tempfile::tempdir().unwrap();
    let s = script(
        tmp.path(),
        "v.rhai",
        "print(`version ${kea().version()} ${kea(\"lab-unix\").version()}`);\n",
    );
    keascript()
        .env("KEASCRIPT_CONFIG", &inventory)
        .arg("run")
        .arg(&s)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "version {version} {version}"
        )));

    let mut child = child.0.take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(pids.iter().all(|&p| !alive(p)), "every daemon is gone");
    assert!(!dir.exists(), "the lab directory is removed");
}

/// A `keascript lab` process that gets Ctrl-C (SIGINT, so it stops its daemons) and is
/// waited for when dropped, e.g. by a failed assertion.
struct Interrupt(Option<std::process::Child>);

impl Interrupt {
    fn get(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let _ = c.wait();
        }
    }
}

#[test]
fn without_kea_the_lab_says_what_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let s = script(empty.path(), "x.rhai", "print(1);\n");
    for args in [vec!["lab"], vec!["run", "--lab", s.to_str().unwrap()]] {
        keascript()
            .env("KEASCRIPT_KEA_BIN_DIR", empty.path())
            .args(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "apt-get install -y kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent",
            ))
            .stderr(predicate::str::contains("kea-dhcp4"));
    }
}
