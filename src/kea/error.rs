//! Error kinds shared by every layer above the transport, with Kea's result codes mapped
//! onto them (`reference/kea-api.md` §0.1).

use std::fmt;

use crate::transport::{Answer, TransportError, printable, scrub};

/// What kind of failure it was; decides the exit status and what a script can test for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Rejected before anything was sent: the input alone is wrong.
    Invalid,
    /// Wrong against the server's current state (Kea result 4, or our own live check).
    Conflict,
    /// The object does not exist (Kea result 3 where a value was required).
    NotFound,
    /// Kea lacks the command or hook (result 2).
    Unsupported,
    /// Kea answered an error (result 1, HTTP 400).
    Kea,
    /// Unreachable, timeout, TLS, garbage answers, a daemon the agent cannot reach.
    Transport,
    /// HTTP 401/403.
    Auth,
    /// Kea result 5, or a change that could not be undone everywhere.
    Partial,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Conflict => "conflict",
            Self::NotFound => "not_found",
            Self::Unsupported => "unsupported",
            Self::Kea => "kea",
            Self::Transport => "transport",
            Self::Auth => "auth",
            Self::Partial => "partial",
        }
    }

    /// The process exit status for an uncaught error of this kind (`spec/script-api.md`).
    pub fn exit_status(self) -> u8 {
        match self {
            Self::Invalid | Self::NotFound => 1,
            Self::Transport | Self::Auth => 3,
            Self::Kea | Self::Unsupported => 4,
            Self::Conflict => 5,
            Self::Partial => 6,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "invalid" => Self::Invalid,
            "conflict" => Self::Conflict,
            "not_found" => Self::NotFound,
            "unsupported" => Self::Unsupported,
            "kea" => Self::Kea,
            "transport" => Self::Transport,
            "auth" => Self::Auth,
            "partial" => Self::Partial,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with everything an admin needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeaError {
    pub kind: ErrorKind,
    pub message: String,
    pub server: Option<String>,
    pub service: Option<String>,
    pub command: Option<String>,
    /// Kea's result code when Kea answered; the HTTP status for 400/401/403.
    pub code: Option<i64>,
    /// No answer came, but the command may have reached Kea and been carried out (a
    /// timeout, a dropped connection, a garbage answer): its outcome is unknown.
    pub maybe_applied: bool,
}

impl KeaError {
    /// An error with this message, scrubbed of every secret loaded by this process and of
    /// the passwords of URLs (`transport::scrub`).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match scrub(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(s) => s,
        };
        Self {
            kind,
            message,
            server: None,
            service: None,
            command: None,
            code: None,
            maybe_applied: false,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn with_server(mut self, server: &str) -> Self {
        self.server.get_or_insert_with(|| server.to_string());
        self
    }

    pub fn with_service(mut self, service: Option<&str>) -> Self {
        if self.service.is_none() {
            self.service = service.map(str::to_string);
        }
        self
    }

    pub fn with_command(mut self, command: &str) -> Self {
        self.command.get_or_insert_with(|| command.to_string());
        self
    }

    /// The error for a transport failure (its text made printable: it may quote what the
    /// server sent).
    pub fn from_transport(e: &TransportError) -> Self {
        let kind = match e {
            TransportError::BadEndpoint(_)
            | TransportError::InsecureCredentials(_)
            | TransportError::TlsSetup(_)
            | TransportError::Unsendable { .. } => ErrorKind::Invalid,
            _ => ErrorKind::Transport,
        };
        let mut err = Self::new(kind, printable(&e.to_string()));
        err.maybe_applied = e.may_have_arrived();
        err
    }

    /// The error for a non-zero answer, or `None` when the answer is a success.
    /// Result 3 ("empty") is `NotFound`; callers for which empty is fine check it first.
    pub fn from_answer(answer: &Answer) -> Option<Self> {
        let text = answer.text.clone().unwrap_or_default();
        let kind = match answer.result {
            0 => return None,
            // The Control Agent could not forward to the daemon: that is reachability.
            1 if text.contains("likely to be offline")
                || text.starts_with("unable to forward command") =>
            {
                ErrorKind::Transport
            }
            1 | 400 => ErrorKind::Kea,
            2 => ErrorKind::Unsupported,
            3 => ErrorKind::NotFound,
            4 => ErrorKind::Conflict,
            5 => ErrorKind::Partial,
            401 | 403 => ErrorKind::Auth,
            _ => ErrorKind::Kea,
        };
        let message = if text.is_empty() {
            format!("Kea answered result {} without a text", answer.result)
        } else {
            // The server chose these bytes: they must not drive the admin's terminal.
            printable(&text).into_owned()
        };
        Some(Self {
            code: Some(answer.result),
            ..Self::new(kind, message)
        })
    }
}

impl fmt::Display for KeaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let mut ctx = Vec::new();
        if let Some(s) = &self.server {
            ctx.push(format!("server {s}"));
        }
        if let Some(s) = &self.service {
            ctx.push(format!("service {s}"));
        }
        if let Some(c) = &self.command {
            ctx.push(format!("command {c}"));
        }
        if !ctx.is_empty() {
            write!(f, " ({})", ctx.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for KeaError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: i64, text: &str) -> Answer {
        Answer {
            result,
            text: Some(text.into()),
            arguments: None,
            digest: 0,
        }
    }

    #[test]
    fn result_codes_map_to_distinct_kinds() {
        assert!(KeaError::from_answer(&answer(0, "ok")).is_none());
        let kinds: Vec<_> = [1, 2, 3, 4, 5, 401, 403, 400]
            .iter()
            .map(|&r| KeaError::from_answer(&answer(r, "x")).unwrap().kind)
            .collect();
        use ErrorKind::*;
        assert_eq!(
            kinds,
            vec![
                Kea,
                Unsupported,
                NotFound,
                Conflict,
                Partial,
                Auth,
                Auth,
                Kea
            ]
        );
    }

    #[test]
    fn kea_text_is_made_printable_and_scrubbed() {
        let e = KeaError::from_answer(&answer(1, "\x1b]0;pwned\x07\x1b[2Jbad \u{202e}x")).unwrap();
        assert_eq!(e.message, "\\x1b]0;pwned\\x07\\x1b[2Jbad \\u{202e}x");
        let _s = crate::transport::Secret::new("kea-error-test-secret");
        let e = KeaError::from_answer(&answer(1, "user kea-error-test-secret refused")).unwrap();
        assert_eq!(e.message, "user [redacted] refused");
        let e = KeaError::invalid("cannot reach http://u:pw@h:1/");
        assert_eq!(e.message, "cannot reach http://[redacted]@h:1/");
        let e = KeaError::from_transport(&TransportError::HttpStatus {
            endpoint: "http://h/".into(),
            status: 500,
            body: "\x1b[2J".into(),
        });
        assert!(!e.message.contains('\x1b'), "{}", e.message);
    }

    #[test]
    fn an_offline_daemon_behind_the_agent_is_a_transport_error() {
        let e = KeaError::from_answer(&answer(
            1,
            "unable to forward command to the dhcp4 service: No such file or directory. The server is likely to be offline",
        ))
        .unwrap();
        assert_eq!(e.kind, ErrorKind::Transport);
        assert_eq!(e.code, Some(1));
    }

    #[test]
    fn exit_statuses_follow_the_spec() {
        use ErrorKind::*;
        let got: Vec<u8> = [
            Invalid,
            NotFound,
            Transport,
            Auth,
            Kea,
            Unsupported,
            Conflict,
            Partial,
        ]
        .iter()
        .map(|k| k.exit_status())
        .collect();
        assert_eq!(got, vec![1, 1, 3, 3, 4, 4, 5, 6]);
        for k in [
            Invalid,
            NotFound,
            Transport,
            Auth,
            Kea,
            Unsupported,
            Conflict,
            Partial,
        ] {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
        }
    }
}
