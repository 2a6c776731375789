//! Kea 2.2 run the way Debian's service runs it: the daemon as `_kea`, its configuration
//! file in an `/etc/kea`-like folder owned by root, mode 0644 (`config-write` fails there).
//! `keascript doctor` reports the problem with its fix; a change is refused with that
//! reason and nothing changes; after the documented fix (`chown _kea FILE`) doctor is clean
//! and the change persists.
//!
//! Needs root (to start Kea as `_kea`): skipped with a reason otherwise, unless
//! `KEASCRIPT_TESTS_NEED_ROOT=1` (set by `.ci/run`) makes it required.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{keascript, script};

fn root_or_skip() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("KEASCRIPT_TESTS_NEED_ROOT").is_some() {
        panic!("this test needs root (KEASCRIPT_TESTS_NEED_ROOT is set)");
    }
    eprintln!("skipping: starting Kea as _kea needs root");
    false
}

#[test]
fn a_debian_style_kea_is_diagnosed_refused_then_fixed() {
    if !root_or_skip() {
        return;
    }
    let Ok(install) = keascript::lab::KeaInstall::find() else {
        panic!("Kea is needed");
    };
    if install.kea_version() >= keascript::kea::KeaVersion::new(2, 7, 0) {
        eprintln!(
            "skipping on Kea {}: this test is for Debian's Kea 2.2 packaging",
            install.version
        );
        return;
    }
    let Some(kea_user) = nix::unistd::User::from_name("_kea").ok().flatten() else {
        panic!("the _kea user comes with Debian's Kea packages");
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let etc = tmp.path().join("etc/kea");
    let run = tmp.path().join("run/kea");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(
        tmp.path().join("etc"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        tmp.path().join("run"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::chown(
        &run,
        Some(kea_user.uid.as_raw()),
        Some(kea_user.gid.as_raw()),
    )
    .unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o750)).unwrap();
    let sock = run.join("kea4.sock");
    let file = etc.join("kea-dhcp4.conf");
    let cfg = json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "control-socket": { "socket-type": "unix", "socket-name": sock },
        "lease-database": { "type": "memfile", "persist": true, "name": run.join("leases4.csv"), "lfc-interval": 0 },
        "hooks-libraries": [{ "library": install.hooks_dir.join("libdhcp_lease_cmds.so") }],
        "subnet4": [{ "id": 1, "subnet": "192.0.2.0/24" }],
        "loggers": [{ "name": "kea-dhcp4", "output_options": [{ "output": run.join("kea-dhcp4.log") }], "severity": "INFO" }]
    }});
    // Root-owned, 0644: as Debian installs it.
    std::fs::write(&file, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let daemon = Command::new(&install.dhcp4)
        .arg("-c")
        .arg(&file)
        .env("KEA_PIDFILE_DIR", &run)
        .env("KEA_LOCKFILE_DIR", &run)
        .uid(kea_user.uid.as_raw())
        .gid(kea_user.gid.as_raw())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    /// Stops the daemon this test started, by its PID, and reaps it.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = self.0.wait();
        }
    }
    let mut daemon = Stop(daemon);
    let until = Instant::now() + Duration::from_secs(30);
    while !sock.exists() {
        assert!(daemon.0.try_wait().unwrap().is_none(), "kea-dhcp4 exited");
        assert!(Instant::now() < until, "the socket never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    let inv = tmp.path().join("inv.toml");
    std::fs::write(
        &inv,
        format!("[servers.deb]\ndhcp4 = \"unix:{}\"\n", sock.display()),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let doctor = || {
        let out = keascript()
            .arg("--config")
            .arg(&inv)
            .args(["doctor", "--output", "json"])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let f: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code(), f)
    };
    let (code, f) = doctor();
    assert_eq!(code, Some(1), "{f:#?}");
    let p = f
        .iter()
        .find(|x| x["check"] == "persist" && x["status"] == "problem")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(p["message"].as_str().unwrap().contains("_kea"), "{p}");
    assert!(
        p["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("chown _kea {}", file.display())),
        "{p}"
    );

    let change = script(
        tmp.path(),
        "c.rhai",
        "kea().dhcp4.add_subnet(#{ subnet: \"10.40.0.0/24\" });",
    );
    let run_change = || {
        keascript()
            .arg("--config")
            .arg(&inv)
            .env("KEASCRIPT_STATE_DIR", &state)
            .arg("run")
            .arg(&change)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = run_change();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write its configuration file") && err.contains("chown _kea"),
        "{err}"
    );
    let log = std::fs::read_to_string(run.join("kea-dhcp4.log")).unwrap_or_default();
    assert!(
        !log.contains("Received command 'config-set'"),
        "nothing was sent"
    );
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains("10.40.0.0/24")
    );

    // The documented fix.
    std::os::unix::fs::chown(&file, Some(kea_user.uid.as_raw()), None).unwrap();
    let (code, f) = doctor();
    assert_eq!(code, Some(0), "{f:#?}");
    let out = run_change();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("10.40.0.0/24"),
        "the change persists"
    );
}
