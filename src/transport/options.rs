//! Connection settings shared by every endpoint kind.

use std::path::PathBuf;
use std::time::Duration;

use super::Secret;

/// Timeouts, size cap, credentials and TLS files for one endpoint.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Time to establish the connection (TCP + TLS, or the UNIX connect).
    pub connect_timeout: Duration,
    /// Time for the whole exchange, connection included.
    pub timeout: Duration,
    /// Answers larger than this are refused (the body is not read further).
    pub max_answer_bytes: usize,
    /// Basic-auth user.
    pub user: Option<String>,
    /// Basic-auth password (never printed).
    pub password: Option<Secret>,
    /// PEM bundle of the CA(s) that sign the server's certificate. When set, only these are
    /// trusted; otherwise the system's trust store is used.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) and its key, for servers that require one.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl TransportOptions {
    /// "No timeout" (a timeout of `0` in the inventory or `connect()`): a bound so far away
    /// that nothing reaches it, so the HTTP client and `tokio::time` need no special case.
    pub const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            max_answer_bytes: 256 * 1024 * 1024,
            user: None,
            password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
        }
    }
}
