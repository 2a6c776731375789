//! Where a command goes: a Control Agent URL, a daemon's own HTTP socket, or a UNIX socket.

use std::fmt;
use std::path::PathBuf;

use super::TransportError;

/// The kind of endpoint decides the envelope and the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// `kea-ctrl-agent`: forwards to daemons named in `service`.
    ControlAgent,
    /// A Kea ≥ 2.7 daemon's own HTTP(S) control socket: one service, no `service` field.
    DaemonHttp,
    /// A daemon's UNIX control socket.
    Unix,
}

/// A parsed endpoint address.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub kind: EndpointKind,
    /// `http(s)://host:port/` for HTTP kinds.
    pub url: Option<url::Url>,
    /// The socket path for [`EndpointKind::Unix`].
    pub path: Option<PathBuf>,
}

impl Endpoint {
    /// Parses `http://…`, `https://…` or `unix:/path`. `daemon` selects
    /// [`EndpointKind::DaemonHttp`] for an HTTP URL instead of a Control Agent.
    ///
    /// A URL with a user or password in it (`http://user:pass@host`) is refused: the
    /// password would show wherever the URL does. Errors never show that part.
    pub fn parse(address: &str, daemon: bool) -> Result<Self, TransportError> {
        let shown = super::scrub(address);
        if let Some(path) = address.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(TransportError::BadEndpoint(format!(
                    "\"{shown}\": the UNIX socket path is empty"
                )));
            }
            return Ok(Self {
                kind: EndpointKind::Unix,
                url: None,
                path: Some(PathBuf::from(path)),
            });
        }
        let url = url::Url::parse(address).map_err(|e| {
            TransportError::BadEndpoint(format!(
                "\"{shown}\" is not a URL ({e}); use http://host:port, https://host:port or unix:/path"
            ))
        })?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(TransportError::BadEndpoint(format!(
                    "\"{shown}\": scheme \"{other}\" is not supported; use http, https or unix"
                )));
            }
        }
        if url.host_str().is_none() {
            return Err(TransportError::BadEndpoint(format!(
                "\"{shown}\" has no host"
            )));
        }
        if super::secret::has_userinfo(&url) {
            return Err(TransportError::BadEndpoint(format!(
                "\"{shown}\" has a user or password in it: give `user` and \
                 `password_file` or `password_env` instead (a password in a URL shows \
                 wherever the URL does)"
            )));
        }
        Ok(Self {
            kind: if daemon {
                EndpointKind::DaemonHttp
            } else {
                EndpointKind::ControlAgent
            },
            url: Some(url),
            path: None,
        })
    }

    /// True for `https://` endpoints.
    pub fn is_tls(&self) -> bool {
        self.url.as_ref().is_some_and(|u| u.scheme() == "https")
    }

    /// True when credentials must not be sent to this endpoint: plain HTTP to a host that
    /// is not loopback.
    pub fn refuses_credentials(&self) -> bool {
        self.url.is_some() && !self.is_tls() && !self.is_local()
    }

    /// True when the host is a loopback address or `localhost` (or for UNIX sockets).
    pub fn is_local(&self) -> bool {
        match &self.url {
            None => true,
            Some(u) => match u.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                None => false,
            },
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.url, &self.path) {
            (Some(u), _) => write!(f, "{u}"),
            (None, Some(p)) => write!(f, "unix:{}", p.display()),
            (None, None) => write!(f, "?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        let ca = Endpoint::parse("http://127.0.0.1:8000", false).unwrap();
        assert_eq!(ca.kind, EndpointKind::ControlAgent);
        assert!(ca.is_local());
        let d = Endpoint::parse("https://kea.example.net:8004", true).unwrap();
        assert_eq!(d.kind, EndpointKind::DaemonHttp);
        assert!(d.is_tls());
        assert!(!d.is_local());
        let u = Endpoint::parse("unix:/run/kea/kea4.sock", false).unwrap();
        assert_eq!(u.kind, EndpointKind::Unix);
        assert_eq!(u.to_string(), "unix:/run/kea/kea4.sock");
    }

    #[test]
    fn rejects_bad_addresses_naming_them() {
        let e = Endpoint::parse("ftp://x", false).unwrap_err().to_string();
        assert!(e.contains("ftp"), "{e}");
        let e = Endpoint::parse("unix:", false).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        assert!(Endpoint::parse("not a url", false).is_err());
    }

    #[test]
    fn urls_with_passwords_are_refused_without_showing_them() {
        for address in [
            "http://admin:Pa55w0rd-in-url@127.0.0.1:8000",
            "https://admin@kea.example.net:8000",
            "http://:Pa55w0rd-in-url@h",
        ] {
            let e = Endpoint::parse(address, false).unwrap_err().to_string();
            assert!(!e.contains("Pa55w0rd"), "{e}");
            assert!(e.contains("password_file"), "{e}");
        }
        let e = Endpoint::parse("ftp://u:Pa55w0rd-in-url@h", false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("Pa55w0rd") && e.contains("ftp"), "{e}");
    }

    #[test]
    fn loopback_detection() {
        assert!(
            Endpoint::parse("http://localhost:8000", false)
                .unwrap()
                .is_local()
        );
        assert!(
            Endpoint::parse("http://[::1]:8000", false)
                .unwrap()
                .is_local()
        );
        assert!(
            Endpoint::parse("http://127.3.4.5:8000", false)
                .unwrap()
                .is_local()
        );
        assert!(
            !Endpoint::parse("http://10.0.0.1:8000", false)
                .unwrap()
                .is_local()
        );
    }
}
