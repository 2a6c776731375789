//! How keascript talks to Kea: send one command, get one answer.
//!
//! Three kinds of endpoint answer differently (see `reference/kea-api.md` §1.1):
//! - the Control Agent (`kea-ctrl-agent`) over HTTP(S): needs a `service` list to forward a
//!   command to a daemon and answers a JSON array; HTTP 400/401/403 come as a bare map;
//! - a Kea ≥ 2.7 daemon's own HTTP socket: no `service`, answers a one-element array;
//! - a UNIX control socket: one bare JSON object per connection, closed after the answer.
//!
//! This layer normalises all three into one [`Answer`]. It knows nothing about
//! configurations: result codes are interpreted one layer up, in `kea/`.

mod answer;
mod endpoint;
mod error;
mod http;
mod options;
mod printable;
pub mod secret;
mod tls;
mod unix;
pub mod wire;

pub use answer::{Answer, Request, RequestRef};
pub use endpoint::{Endpoint, EndpointKind};
pub use error::TransportError;
pub use options::TransportOptions;
pub use printable::printable;
pub use secret::{Secret, scrub};

use std::sync::Arc;

/// A connection to one endpoint, ready to send commands. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

enum Inner {
    Http(http::HttpTransport),
    Unix(unix::UnixTransport),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint().to_string())
            .finish()
    }
}

impl Transport {
    /// Builds a transport for `endpoint`. Refuses credentials over plain HTTP to a host that
    /// is not loopback, and reads the TLS files now so a bad path is reported at once.
    pub fn new(endpoint: Endpoint, options: TransportOptions) -> Result<Self, TransportError> {
        let inner = match endpoint.kind {
            EndpointKind::Unix => Inner::Unix(unix::UnixTransport::new(endpoint, options)),
            EndpointKind::ControlAgent | EndpointKind::DaemonHttp => {
                Inner::Http(http::HttpTransport::new(endpoint, options)?)
            }
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The endpoint this transport talks to.
    pub fn endpoint(&self) -> &Endpoint {
        match &*self.inner {
            Inner::Http(h) => h.endpoint(),
            Inner::Unix(u) => u.endpoint(),
        }
    }

    /// Sends one command and returns Kea's answer, whatever its result code.
    ///
    /// With a Control Agent endpoint, `request.service` routes the command to a daemon (no
    /// service: the agent answers itself). Daemon endpoints ignore `request.service`.
    pub async fn send(&self, request: &Request) -> Result<Answer, TransportError> {
        self.send_ref(request.as_ref()).await
    }

    /// [`Transport::send`] for a command whose parts are borrowed (a whole configuration is
    /// not copied to be sent).
    pub async fn send_ref(&self, request: RequestRef<'_>) -> Result<Answer, TransportError> {
        match &*self.inner {
            Inner::Http(h) => h.send(request).await,
            Inner::Unix(u) => u.send(request).await,
        }
    }

    /// Sends one command and returns only the digest of the answer's bytes
    /// ([`wire::digest`]), without reading the answer: for telling whether a large answer
    /// (a whole configuration) is the same as before without holding it. An HTTP-level
    /// error (400/401/403) comes back read, as `Err(answer)`.
    pub async fn digest(
        &self,
        request: RequestRef<'_>,
    ) -> Result<Result<u64, Answer>, TransportError> {
        match &*self.inner {
            Inner::Http(h) => h.digest(request).await,
            Inner::Unix(u) => u.digest(request).await.map(Ok),
        }
    }
}
