//! Every transport of a real lab: the Control Agent over HTTP, the UNIX control sockets, and
//! on Kea >= 2.7.2 each daemon's own HTTP socket: commands and answers, a 4 MB `config-get`,
//! Kea's own error texts, daemons that are down, servers that cannot be reached.

use std::time::{Duration, Instant};

use keascript::kea::{ErrorKind, Inventory, KeaError, KeaVersion, Server, Service};
use keascript::lab::LabOptions;
use keascript::transport::TransportOptions;
use serde_json::{Value, json};

use crate::support::{lab, lab_with, rt};

/// How a server of the lab's inventory is reached.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Way {
    Agent,
    DaemonHttp,
    Unix,
}

/// The lab's ways in: its Control Agent (`lab` on Kea 2.2, `lab-agent` on Kea >= 2.7.2),
/// the daemons' own HTTP sockets (`lab` on Kea >= 2.7.2) and the UNIX sockets (`lab-unix`).
fn servers(lab: &keascript::lab::Lab) -> Vec<(Way, std::sync::Arc<Server>)> {
    let inv = Inventory::load(lab.inventory()).unwrap();
    let _g = rt().enter();
    let ways: &[(&str, Way)] = if lab.kea_version().daemon_http() {
        &[
            ("lab-agent", Way::Agent),
            ("lab", Way::DaemonHttp),
            ("lab-unix", Way::Unix),
        ]
    } else {
        &[("lab", Way::Agent), ("lab-unix", Way::Unix)]
    };
    ways.iter()
        .map(|(n, w)| {
            (
                *w,
                std::sync::Arc::new(Server::from_entry(n, inv.get(n).unwrap()).unwrap()),
            )
        })
        .collect()
}

#[test]
fn both_transports_send_commands_and_read_answers() {
    let Some(lab) = lab() else { return };
    let version = lab.kea_version();
    for (way, srv) in servers(&lab) {
        rt().block_on(async {
            assert_eq!(
                srv.version().await.unwrap(),
                version.to_string(),
                "{}",
                srv.name()
            );
            for service in ["dhcp4", "dhcp6"] {
                let cmds = srv
                    .command("list-commands", Some(service), None)
                    .await
                    .unwrap()
                    .unwrap();
                let cmds: Vec<&str> = cmds
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert!(cmds.contains(&"config-get"), "{}: {cmds:?}", srv.name());
                let caps = Service::new(srv.clone(), service)
                    .unwrap()
                    .capabilities()
                    .await
                    .unwrap();
                // The lab loads the subnet/class hooks where Kea has them (>= 2.7.7 ships
                // them free); config-hash-get came with 2.4.
                assert!(caps.lease_cmds, "{way:?}");
                assert_eq!(
                    caps.subnet_cmds,
                    version >= KeaVersion::new(2, 7, 7),
                    "{way:?}"
                );
                assert_eq!(
                    caps.config_hash,
                    version >= KeaVersion::new(2, 4, 0),
                    "{way:?}"
                );
            }
            let cfg = Service::new(srv.clone(), "dhcp4")
                .unwrap()
                .config()
                .await
                .unwrap();
            assert_eq!(cfg["Dhcp4"]["subnet4"][0]["subnet"], "192.0.2.0/24");
            assert!(cfg.get("hash").is_none());
            let st = Service::new(srv.clone(), "dhcp6")
                .unwrap()
                .status()
                .await
                .unwrap();
            assert!(st["pid"].as_u64().unwrap() > 0);
            assert_eq!(srv.services().await.unwrap(), vec!["dhcp4", "dhcp6"]);
        });
    }
}

#[test]
fn a_4_mb_config_get_arrives_whole_over_both_transports() {
    let Some(lab) = lab_with(LabOptions {
        extra_subnets4: 12_000,
        ..Default::default()
    }) else {
        return;
    };
    for (_, srv) in servers(&lab) {
        let cfg = rt().block_on(async {
            Service::new(srv.clone(), "dhcp4")
                .unwrap()
                .config()
                .await
                .unwrap()
        });
        let size = serde_json::to_vec(&cfg).unwrap().len();
        assert!(size > 4_000_000, "{}: only {size} bytes", srv.name());
        let subnets = cfg["Dhcp4"]["subnet4"].as_array().unwrap();
        assert_eq!(subnets.len(), 12_001, "{}", srv.name());
        assert_eq!(subnets[12_000]["id"], 12_001);
    }
}

#[test]
fn config_test_of_a_bad_config_is_a_kea_error_with_keas_own_text() {
    let Some(lab) = lab() else { return };
    for (_, srv) in servers(&lab) {
        let e: KeaError = rt()
            .block_on(async {
                Service::new(srv.clone(), "dhcp4")
                    .unwrap()
                    .test(&json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/33"}]}}))
                    .await
            })
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Kea, "{}", srv.name());
        assert_eq!(e.code, Some(1));
        assert!(
            e.message
                .contains("Invalid prefix length specified for subnet: 33"),
            "{}",
            e.message
        );
        assert_eq!(e.command.as_deref(), Some("config-test"));
        assert_eq!(e.service.as_deref(), Some("dhcp4"));
        // And a good one passes with Kea's verdict.
        let cfg = rt().block_on(async {
            let svc = Service::new(srv.clone(), "dhcp4").unwrap();
            let cfg = svc.config().await.unwrap();
            svc.test(&cfg).await.unwrap()
        });
        assert!(cfg.contains("Configuration seems sane"), "{cfg}");
    }
}

#[test]
fn an_unknown_command_is_unsupported() {
    let Some(lab) = lab() else { return };
    for (_, srv) in servers(&lab) {
        let e = rt()
            .block_on(srv.command("foo-bar", Some("dhcp4"), None))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported, "{}", srv.name());
        assert_eq!(e.code, Some(2));
    }
}

#[test]
fn a_daemon_that_is_down_is_a_transport_error_through_the_agent_and_the_socket() {
    let Some(mut lab) = lab() else { return };
    lab.kill("kea-dhcp6");
    let srvs = servers(&lab);
    for (way, srv) in &srvs {
        let e = rt()
            .block_on(srv.command("version-get", Some("dhcp6"), None))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transport, "{way:?}: {}", e.message);
        match way {
            // The agent is up and answers result 1 for the daemon behind it.
            Way::Agent => {
                assert_eq!(e.code, Some(1), "the agent answered result 1");
                assert!(e.message.contains("likely to be offline"), "{}", e.message);
            }
            // Nothing listens on the daemon's own socket any more.
            Way::DaemonHttp | Way::Unix => {
                assert_eq!(e.code, None, "{way:?}: {}", e.message);
                assert!(
                    e.message.contains("cannot connect"),
                    "{way:?}: {}",
                    e.message
                );
            }
        }
    }
    // The other daemon still answers, and `services()` lists only it.
    for (_, srv) in &srvs {
        assert_eq!(rt().block_on(srv.services()).unwrap(), vec!["dhcp4"]);
    }
}

#[test]
fn an_unreachable_server_is_a_transport_error_within_the_timeout() {
    // A closed port: refused at once.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let opts = TransportOptions {
        timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(400),
        ..Default::default()
    };
    let closed = {
        let _g = rt().enter();
        Server::connect(&format!("http://127.0.0.1:{port}"), None, opts.clone()).unwrap()
    };
    let t = Instant::now();
    let e = rt().block_on(closed.version()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport);
    assert!(e.message.contains("cannot connect"), "{}", e.message);
    assert!(t.elapsed() < Duration::from_secs(2));

    // A server that accepts and never answers: the total timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let srv = {
        let _g = rt().enter();
        Server::connect(&url, None, opts.clone()).unwrap()
    };
    let t = Instant::now();
    let e = rt().block_on(srv.version()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport);
    assert!(e.message.contains("no answer"), "{}", e.message);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // A UNIX socket path where nothing listens.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nothing.sock");
    let srv = Server::connect(&format!("unix:{}", sock.display()), Some("dhcp4"), opts).unwrap();
    let e = rt().block_on(srv.version()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transport);
    drop(silent);
}
