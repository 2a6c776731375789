//! Everything that can go wrong between us and a Kea endpoint, before Kea's own result code.

use std::time::Duration;

/// A failure to get an answer from an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("bad endpoint {0}")]
    BadEndpoint(String),
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("cannot connect to {endpoint} within {}", humantime::format_duration(*.after))]
    ConnectTimeout { endpoint: String, after: Duration },
    #[error("no answer from {endpoint} within {}", humantime::format_duration(*.after))]
    Timeout { endpoint: String, after: Duration },
    #[error("TLS error talking to {endpoint}: {reason}")]
    Tls { endpoint: String, reason: String },
    #[error("TLS setup failed: {0}")]
    TlsSetup(String),
    #[error(
        "refusing to send credentials over plain HTTP to {0}: use https:// (only loopback hosts may use http with a password)"
    )]
    InsecureCredentials(String),
    #[error("the answer from {endpoint} is larger than the limit of {limit} bytes")]
    TooLarge { endpoint: String, limit: usize },
    #[error("HTTP {status} from {endpoint}: {body}")]
    HttpStatus {
        endpoint: String,
        status: u16,
        body: String,
    },
    #[error("not sent: {command} would carry {what}")]
    Unsendable { command: String, what: String },
    #[error("cannot read the answer: {0}")]
    BadAnswer(String),
    #[error("I/O error with {endpoint}: {reason}")]
    Io { endpoint: String, reason: String },
}

impl TransportError {
    /// Whether the command may have reached Kea (and been carried out) although no answer
    /// came back: a timeout or a broken exchange after the request was sent. `false` when
    /// it certainly never left (no connection, TLS refused, refused locally).
    pub fn may_have_arrived(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Io { .. }
                | Self::BadAnswer(_)
                | Self::HttpStatus { .. }
                | Self::TooLarge { .. }
        )
    }
}
