//! Which daemon a service is. Two inventory entries can reach one Kea daemon (the lab's `lab`
//! talks to the daemons' own HTTP sockets, `lab-unix` to their UNIX sockets): locks, the
//! journal and a fleet run's selection must treat them as one. A daemon on this machine is
//! named by what it reports (`status-get`'s pid) and what that process was started with
//! (its `-c` file, stable across restarts); a remote daemon by its URL and service.

use serde_json::Value;

use super::server::Service;

/// A daemon's identity: stable across restarts for a daemon on this machine (its service
/// and startup file), else the service's URL and service name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DaemonId(String);

impl DaemonId {
    /// The identity as text (a file name is made from it by the journal and the locks).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An identity as it was written down (a journal record).
    pub fn from_text(text: &str) -> Self {
        DaemonId(text.to_string())
    }

    /// The identity of a daemon on this machine started with `file`.
    pub fn local(service: &str, file: &std::path::Path) -> Self {
        DaemonId(format!("local:{service}:{}", file.display()))
    }

    /// The identity of a service whose daemon could not be asked: its URL and service.
    pub fn by_url(svc: &Service) -> Self {
        DaemonId(format!(
            "{}#{}",
            svc.server.service_url(&svc.name),
            svc.name
        ))
    }
}

impl std::fmt::Display for DaemonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a service URL points at this machine (a UNIX socket or a loopback address).
pub fn is_local(url: &str) -> bool {
    url.starts_with("unix:")
        || url.contains("//127.")
        || url.contains("//localhost")
        || url.contains("//[::1]")
}

/// The pid `status-get` reports, when the daemon answers it.
pub async fn reported_pid(svc: &Service) -> Option<u32> {
    let status = svc.status().await.ok()?;
    status.get("pid").and_then(Value::as_u64).map(|p| p as u32)
}

/// The identity of `svc`'s daemon. On this machine: `local:SERVICE:FILE` from the process
/// `status-get` names (or `local:SERVICE:pid:N` when its startup file cannot be read);
/// elsewhere, or when the daemon does not answer: [`DaemonId::by_url`]. Asked once per
/// server handle and then remembered.
pub async fn daemon_id(svc: &Service) -> DaemonId {
    if let Some(id) = svc.server.remembered_identity(&svc.name) {
        return id;
    }
    let url = svc.server.service_url(&svc.name);
    let status = if is_local(&url) {
        svc.status().await.ok()
    } else {
        None
    };
    daemon_id_given(svc, status.as_ref())
}

/// [`daemon_id`] from a `status-get` answer the caller already has (`None`: the daemon did
/// not answer), so that a caller that needs the status anyway asks once.
pub fn daemon_id_given(svc: &Service, status: Option<&Value>) -> DaemonId {
    if let Some(id) = svc.server.remembered_identity(&svc.name) {
        return id;
    }
    let url = svc.server.service_url(&svc.name);
    let pid = status
        .and_then(|s| s.get("pid"))
        .and_then(Value::as_u64)
        .map(|p| p as u32);
    let id = match pid {
        Some(pid) if is_local(&url) => Some(match super::doctor::startup_file(pid) {
            Some(file) => DaemonId::local(&svc.name, &file),
            None => DaemonId(format!("local:{}:pid:{pid}", svc.name)),
        }),
        _ => None,
    };
    match id {
        Some(id) => {
            svc.server.remember_identity(&svc.name, id.clone());
            if let Some(pid) = pid {
                // The persistence check looks at this process without asking again.
                svc.server.remember_pid(&svc.name, pid);
            }
            id
        }
        // Not remembered: the daemon may answer next time.
        None => DaemonId::by_url(svc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_unix_are_local_and_others_are_not() {
        assert!(is_local("unix:/run/kea/kea4-ctrl-socket"));
        assert!(is_local("http://127.0.0.1:8000/"));
        assert!(is_local("https://localhost:8000/"));
        assert!(is_local("http://[::1]:8000/"));
        assert!(!is_local("http://10.0.0.1:8000/"));
        assert!(!is_local("https://kea.example.net/"));
    }
}
