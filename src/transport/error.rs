//! Everything that can go wrong between us and a Kea endpoint, before Kea's own result code.

use std::time::Duration;

/// A failure to get an answer from an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("bad endpoint {0}")]
    BadEndpoint(String),
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
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
