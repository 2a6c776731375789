//! `keascript doctor`: what keascript can do with a server, what stops it, and the fix.
//!
//! For each service: reachable, credentials and TLS, the Kea version, the hooks loaded and
//! what each enables here (with the exact `hooks-libraries` entry for a missing one), the HA
//! relationship with its peers mapped to the inventory, and — when the daemon runs on this
//! machine — whether it can write its configuration file (`config-write`), and whether that
//! file holds text `config-write` would replace (comments, includes). Findings are data; the
//! CLI renders them.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::identity::is_local;
use super::{ErrorKind, Inventory, KeaVersion, Server, Service};

/// How a finding looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub server: String,
    pub service: Option<String>,
    pub check: &'static str,
    pub status: Status,
    pub message: String,
    pub fix: Option<String>,
}

/// The hook library that provides a command, for messages (`unsupported` errors).
pub fn hook_for_command(command: &str) -> Option<&'static str> {
    let c = command;
    Some(
        if c.starts_with("lease4-") || c.starts_with("lease6-") || c.starts_with("leases-") {
            "libdhcp_lease_cmds.so"
        } else if c.starts_with("stat-lease") {
            "libdhcp_stat_cmds.so"
        } else if c.starts_with("subnet4-")
            || c.starts_with("subnet6-")
            || c.starts_with("network4-")
            || c.starts_with("network6-")
        {
            "libdhcp_subnet_cmds.so"
        } else if c.starts_with("class-") {
            "libdhcp_class_cmds.so"
        } else if c.starts_with("reservation-") {
            "libdhcp_host_cmds.so"
        } else if c.starts_with("ha-") {
            "libdhcp_ha.so"
        } else {
            return None;
        },
    )
}

/// What each hook enables in keascript, and from which Kea version it is free software.
const HOOKS: &[(&str, &str, &str, KeaVersion)] = &[
    (
        "lease_cmds",
        "libdhcp_lease_cmds.so",
        "leases: leases(), lease look-ups and changes",
        KeaVersion::new(0, 0, 0),
    ),
    (
        "stat_cmds",
        "libdhcp_stat_cmds.so",
        "statistics: stats()",
        KeaVersion::new(0, 0, 0),
    ),
    (
        "subnet_cmds",
        "libdhcp_subnet_cmds.so",
        "the hook path: single subnet and pool changes without a whole config-set",
        KeaVersion::new(2, 7, 7),
    ),
    (
        "class_cmds",
        "libdhcp_class_cmds.so",
        "the hook path for client class changes",
        KeaVersion::new(2, 7, 7),
    ),
];

/// Debian's hooks folder, when the running configuration names none.
const DEFAULT_HOOKS_DIR: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks";

/// Diagnoses one inventory server.
pub async fn diagnose(
    name: &str,
    server: std::sync::Arc<Server>,
    inventory: &Inventory,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let services = server.configured_services();
    for svc_name in services {
        let mut f = |check: &'static str, status: Status, message: String, fix: Option<String>| {
            out.push(Finding {
                server: name.to_string(),
                service: Some(svc_name.clone()),
                check,
                status,
                message,
                fix,
            });
        };
        let Ok(svc) = Service::new(server.clone(), &svc_name) else {
            continue;
        };
        let version = match svc
            .server
            .command_answer("version-get", Some(&svc_name), None)
            .await
        {
            Ok(a) => a.text.unwrap_or_default(),
            Err(e) => {
                let fix = match e.kind {
                    ErrorKind::Auth => {
                        "check `user` and `password_file`/`password_env` in the inventory against the Control Agent's or daemon's `authentication.clients`"
                    }
                    ErrorKind::Invalid => "correct the inventory entry as the message says",
                    _ if e.message.contains("TLS") => {
                        "give the CA that signed the server's certificate as `ca_file` (and `cert_file`/`key_file` when it requires a client certificate)"
                    }
                    _ => {
                        "check that the daemon runs, the URL or socket path in the inventory, and (through a Control Agent) the agent's `control-sockets` for this service"
                    }
                };
                f(
                    "reachable",
                    Status::Problem,
                    format!("cannot reach {svc_name}: {}", e.message),
                    Some(fix.into()),
                );
                continue;
            }
        };
        let kv = KeaVersion::parse(&version).unwrap_or_default();
        f(
            "reachable",
            Status::Ok,
            format!("Kea {version} answers at {}", server.service_url(&svc_name)),
            None,
        );
        let config = svc.config().await.ok();
        let hooks_dir = config
            .as_ref()
            .and_then(|c| hooks_dir_of(c, &svc_name))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOOKS_DIR));
        let caps = svc.capabilities().await.unwrap_or_default();
        let has = |h: &str| caps.entries().iter().any(|(n, on)| *n == h && *on);
        for (hook, lib, enables, free_from) in HOOKS {
            if has(hook) {
                f(
                    "hooks",
                    Status::Ok,
                    format!("{hook} loaded: {enables}"),
                    None,
                );
            } else if kv < *free_from {
                f(
                    "hooks",
                    Status::Ok,
                    format!(
                        "{hook} is not part of Kea {version} (free from Kea {free_from}): changes go through config-set"
                    ),
                    None,
                );
            } else {
                let root = if svc_name == "dhcp6" {
                    "Dhcp6"
                } else {
                    "Dhcp4"
                };
                f(
                    "hooks",
                    Status::Warning,
                    format!("{hook} is not loaded: no {enables}"),
                    Some(format!(
                        "add {{ \"library\": \"{}\" }} to {root}.hooks-libraries",
                        hooks_dir.join(lib).display()
                    )),
                );
            }
        }
        if let Some(cfg) = &config {
            ha_findings(name, &svc_name, cfg, inventory, &mut f);
        }
        persistence(&svc, &svc_name, &mut f).await;
    }
    out
}

/// The folder the running configuration loads its hooks from.
fn hooks_dir_of(cfg: &Value, service: &str) -> Option<PathBuf> {
    let root = if service == "dhcp6" { "Dhcp6" } else { "Dhcp4" };
    cfg[root]["hooks-libraries"]
        .as_array()?
        .iter()
        .filter_map(|h| h["library"].as_str())
        .find_map(|l| Path::new(l).parent().map(Path::to_path_buf))
}

type Report<'a> = dyn FnMut(&'static str, Status, String, Option<String>) + 'a;

fn ha_findings(name: &str, service: &str, cfg: &Value, inventory: &Inventory, f: &mut Report) {
    let family = crate::kea::config::Family::of_service(service);
    let Ok(doc) = crate::kea::config::ConfigDoc::new(family, cfg.clone()) else {
        return;
    };
    let Some(topo) = super::ha::topology(&doc) else {
        return;
    };
    let in_pair_entry = |peer: &str| {
        inventory
            .ha
            .values()
            .any(|e| e.peers.iter().any(|p| p == name) && e.peers.iter().any(|p| p == peer))
    };
    let mut missing = Vec::new();
    for p in topo.partners() {
        let by_url = inventory.servers.iter().find(|(_, e)| {
            [&e.url, &e.dhcp4, &e.dhcp6]
                .into_iter()
                .flatten()
                .any(|u| same_endpoint(u, &p.url))
        });
        if by_url.is_none() && !inventory.servers.contains_key(&p.name) && !in_pair_entry(&p.name) {
            missing.push(p.name.clone());
        }
    }
    if missing.is_empty() {
        f(
            "ha",
            Status::Ok,
            format!(
                "HA {} relationship, this server is {}; every peer is in the inventory",
                topo.mode, topo.this_server
            ),
            None,
        );
    } else {
        f(
            "ha",
            Status::Problem,
            format!(
                "HA peer(s) {} not found in the inventory: changes to this server are refused",
                missing.join(", ")
            ),
            Some(format!(
                "add [servers.{0}] with its management URL, or name the pair: [ha.NAME] peers = [\"{name}\", \"{0}\"]",
                missing[0]
            )),
        );
    }
}

fn same_endpoint(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        u.trim_end_matches('/')
            .replace("localhost", "127.0.0.1")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// A daemon on this machine: its pid (`status-get`), and its startup file and effective
/// user and groups when `/proc` tells them.
struct LocalDaemon {
    pid: u32,
    file: Option<PathBuf>,
    ids: Option<(u32, Vec<u32>)>,
}

/// The daemon behind `svc`: asked with `status-get`, or — when the handle learnt its pid
/// with its identity and that process is still the daemon of that identity (same service,
/// same startup file) — taken from it without asking again. A daemon restarted since has
/// another pid, so it is asked.
async fn local_daemon(svc: &Service) -> Option<LocalDaemon> {
    if let Some(pid) = svc.server.remembered_pid(&svc.name)
        && let Some(file) = startup_file(pid)
        && svc.server.remembered_identity(&svc.name)
            == Some(super::identity::DaemonId::local(&svc.name, &file))
    {
        return Some(LocalDaemon {
            pid,
            file: Some(file),
            ids: ids_of(pid),
        });
    }
    let status = svc.status().await.ok()?;
    let pid = status.get("pid").and_then(Value::as_u64)? as u32;
    Some(LocalDaemon {
        pid,
        file: startup_file(pid),
        ids: ids_of(pid),
    })
}

/// Whether the daemon can write its startup file: only when it runs on this machine.
async fn persistence(svc: &Service, service: &str, f: &mut Report<'_>) {
    let url = svc.server.service_url(service);
    if !is_local(&url) {
        f(
            "persist",
            Status::Warning,
            format!(
                "{url} is not on this machine: whether {service} can write its configuration file cannot be checked from here"
            ),
            Some("run `keascript doctor` on the Kea host".into()),
        );
        return;
    }
    let Some(LocalDaemon { pid, file, ids }) = local_daemon(svc).await else {
        return;
    };
    let Some(file) = file else {
        f(
            "persist",
            Status::Warning,
            format!("cannot find the configuration file of process {pid}"),
            None,
        );
        return;
    };
    let Some((uid, gids)) = ids else {
        return;
    };
    match writable_by(&file, uid, &gids) {
        Ok(true) => f(
            "persist",
            Status::Ok,
            format!("{service} (pid {pid}) can write {}", file.display()),
            None,
        ),
        Ok(false) => {
            let user = user_name(uid);
            f(
                "persist",
                Status::Problem,
                format!(
                    "{service} runs as {user} and cannot write {}: every change would be undone at config-write",
                    file.display()
                ),
                Some(format!(
                    "chown {user} {0}   (or: chgrp {user} {0} && chmod g+w {0})",
                    file.display()
                )),
            );
        }
        Err(e) => f(
            "persist",
            Status::Warning,
            format!("cannot read {}: {e}", file.display()),
            None,
        ),
    }
    if let Ok(text) = std::fs::read_to_string(&file) {
        let commented = text.contains("//")
            || text.contains("/*")
            || text.lines().any(|l| l.trim_start().starts_with('#'));
        if commented || text.contains("<?include") {
            f(
                "persist",
                Status::Warning,
                format!(
                    "{} holds comments or includes: config-write replaces the file's text with Kea's own dump",
                    file.display()
                ),
                Some(format!(
                    "keascript keeps a copy of {}'s text beside the snapshot it takes before each change, in {} (`keascript snapshots` lists them); keep your own copy too if the comments matter",
                    file.display(),
                    super::edit::state_dir().join("snapshots").display()
                )),
            );
        }
    }
}

/// Before a change: when the daemon runs on this machine and cannot write its startup
/// file, `config-write` would fail and the change be undone — refuse it first, with the
/// reason and the fix. Unknown (a remote daemon, no `/proc`): no refusal. A daemon found
/// able to write is not asked again in this process.
pub async fn check_persistable(svc: &Service) -> Result<(), super::KeaError> {
    use std::collections::HashSet;
    use std::sync::{LazyLock, Mutex};
    static FINE: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);
    let url = svc.server.service_url(&svc.name);
    let key = format!("{url}-{}", svc.name);
    if FINE.lock().expect("cache").contains(&key) {
        return Ok(());
    }
    persistable(svc, &url).await?;
    FINE.lock().expect("cache").insert(key);
    Ok(())
}

async fn persistable(svc: &Service, url: &str) -> Result<(), super::KeaError> {
    if !is_local(url) {
        return Ok(());
    }
    let Some(LocalDaemon {
        file: Some(file),
        ids: Some((uid, gids)),
        ..
    }) = local_daemon(svc).await
    else {
        return Ok(());
    };
    if writable_by(&file, uid, &gids).unwrap_or(true) {
        return Ok(());
    }
    let user = user_name(uid);
    Err(super::KeaError::new(
        ErrorKind::Conflict,
        format!(
            "{} runs as {user} and cannot write its configuration file {}: the change could not be persisted, so nothing was sent. Fix: chown {user} {} (see `keascript doctor`)",
            svc.name,
            file.display(),
            file.display()
        ),
    )
    .with_server(svc.server.name())
    .with_service(Some(&svc.name)))
}

/// The `-c FILE` a Kea process was started with.
pub fn startup_file(pid: u32) -> Option<PathBuf> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let i = args.iter().position(|a| a == "-c")?;
    let p = PathBuf::from(args.get(i + 1)?);
    if p.is_absolute() {
        Some(p)
    } else {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
        Some(cwd.join(p))
    }
}

/// The effective user and groups of a process.
fn ids_of(pid: u32) -> Option<(u32, Vec<u32>)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
    };
    let uid = field("Uid:")?.split_whitespace().nth(1)?.parse().ok()?;
    let mut gids: Vec<u32> = field("Groups:")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
        .collect();
    if let Some(g) = field("Gid:").and_then(|g| g.split_whitespace().nth(1)?.parse().ok()) {
        gids.push(g);
    }
    Some((uid, gids))
}

/// Whether a process with `uid`/`gids` can write `file` (as Kea's config-write does: it
/// rewrites the file in place).
pub fn writable_by(file: &Path, uid: u32, gids: &[u32]) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(file)?;
    let mode = m.mode();
    Ok(uid == 0
        || (m.uid() == uid && mode & 0o200 != 0)
        || (gids.contains(&m.gid()) && mode & 0o020 != 0)
        || mode & 0o002 != 0)
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_their_hook() {
        assert_eq!(
            hook_for_command("lease4-get-page"),
            Some("libdhcp_lease_cmds.so")
        );
        assert_eq!(
            hook_for_command("stat-lease6-get"),
            Some("libdhcp_stat_cmds.so")
        );
        assert_eq!(
            hook_for_command("subnet4-add"),
            Some("libdhcp_subnet_cmds.so")
        );
        assert_eq!(
            hook_for_command("reservation-add"),
            Some("libdhcp_host_cmds.so")
        );
        assert_eq!(hook_for_command("config-get"), None);
    }

    #[test]
    fn write_permission_follows_owner_group_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("kea.conf");
        std::fs::write(&f, "{}").unwrap();
        let me = nix::unistd::getuid().as_raw();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(writable_by(&f, me, &[]).unwrap());
        assert!(!writable_by(&f, 4242, &[]).unwrap() || me == 4242);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(writable_by(&f, 4242, &[]).unwrap());
    }
}
