//! HTTP(S) to a Control Agent or to a Kea ≥ 2.7 daemon's own HTTP control socket.

use super::{
    Answer, Endpoint, EndpointKind, RequestRef, TransportError, TransportOptions, tls, wire,
};

pub(super) struct HttpTransport {
    endpoint: Endpoint,
    options: TransportOptions,
    client: reqwest::Client,
    /// The TLS configuration of an HTTPS endpoint, kept to find why a connection was closed.
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl HttpTransport {
    pub(super) fn new(
        endpoint: Endpoint,
        options: TransportOptions,
    ) -> Result<Self, TransportError> {
        if options.user.is_some() && !endpoint.is_tls() && !endpoint.is_local() {
            return Err(TransportError::InsecureCredentials(endpoint.to_string()));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .no_proxy()
            .pool_max_idle_per_host(4)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("keascript/", env!("CARGO_PKG_VERSION")));
        tls::install_provider();
        let mut tls = None;
        if endpoint.is_tls() {
            let config = tls::client_config(&options)?;
            tls = Some(std::sync::Arc::new(config.clone()));
            builder = builder.tls_backend_preconfigured(config);
        } else {
            // Plain HTTP never uses TLS: do not load the system's CA store for it.
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::TlsSetup(e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            builder = builder.tls_backend_preconfigured(config);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::TlsSetup(error_chain(&e)))?;
        Ok(Self {
            endpoint,
            options,
            client,
            tls,
        })
    }

    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(super) async fn send(&self, request: RequestRef<'_>) -> Result<Answer, TransportError> {
        let (status, bytes) = self.exchange(request).await?;
        self.answer(status, &bytes)
    }

    /// The digest of the answer's bytes, not read any further (see
    /// [`super::Transport::digest`]); an HTTP-level error is read as an answer.
    pub(super) async fn digest(
        &self,
        request: RequestRef<'_>,
    ) -> Result<Result<u64, Answer>, TransportError> {
        let (status, bytes) = self.exchange(request).await?;
        if status == 200 {
            return Ok(Ok(wire::digest(&bytes)));
        }
        self.answer(status, &bytes).map(Err)
    }

    /// Sends one request; the HTTP status and the body.
    async fn exchange(&self, request: RequestRef<'_>) -> Result<(u16, Vec<u8>), TransportError> {
        let with_service = self.endpoint.kind == EndpointKind::ControlAgent;
        let body = request.encode(with_service)?;
        let url = self
            .endpoint
            .url
            .clone()
            .expect("HTTP endpoints have a URL");
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(user) = &self.options.user {
            req = req.basic_auth(user, self.options.password.as_ref().map(|p| p.expose()));
        }
        let mut response = match req.send().await {
            Ok(response) => response,
            Err(e) => return Err(self.explain(self.map_error(&e)).await),
        };
        let status = response.status().as_u16();
        let limit = self.options.max_answer_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(self.too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.map_error(&e))? {
            if bytes.len() + chunk.len() > limit {
                return Err(self.too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }

    /// Reads a body as Kea's answer.
    fn answer(&self, status: u16, bytes: &[u8]) -> Result<Answer, TransportError> {
        let digest = wire::digest(bytes);
        let parsed = wire::parse(bytes);
        let answer = match (status, parsed) {
            (200, Ok(v)) => Answer::from_http_body(v),
            (200, Err(e)) => Err(TransportError::BadAnswer(format!(
                "{} sent a body that is not JSON ({e}): {}",
                self.endpoint,
                snippet(bytes)
            ))),
            // Kea's own HTTP-level errors: a bare map whose `result` is the status.
            (400 | 401 | 403, parsed) => Ok(parsed
                .ok()
                .and_then(|v| Answer::from_http_body(v).ok())
                .unwrap_or_else(|| Answer {
                    result: i64::from(status),
                    text: Some(snippet(bytes)),
                    arguments: None,
                    digest: 0,
                })),
            (status, _) => Err(TransportError::HttpStatus {
                endpoint: self.endpoint.to_string(),
                status,
                body: snippet(bytes),
            }),
        };
        answer.map(|a| Answer { digest, ..a })
    }

    fn too_large(&self) -> TransportError {
        TransportError::TooLarge {
            endpoint: self.endpoint.to_string(),
            limit: self.options.max_answer_bytes,
        }
    }

    /// An HTTPS connection closed before any answer may hide a TLS alert (see
    /// [`tls::probe`]): look for it, and report it as the TLS error it is.
    async fn explain(&self, error: TransportError) -> TransportError {
        let (Some(config), Some(url), TransportError::Io { endpoint, .. }) =
            (&self.tls, &self.endpoint.url, &error)
        else {
            return error;
        };
        match tls::probe(config.clone(), url, self.options.connect_timeout).await {
            Some(reason) => TransportError::Tls {
                endpoint: endpoint.clone(),
                reason,
            },
            None => error,
        }
    }

    fn map_error(&self, e: &reqwest::Error) -> TransportError {
        let endpoint = self.endpoint.to_string();
        if let Some(reason) = tls::find_tls_error(e) {
            return TransportError::Tls { endpoint, reason };
        }
        if e.is_timeout() && e.is_connect() {
            return TransportError::ConnectTimeout {
                endpoint,
                after: self.options.connect_timeout,
            };
        }
        if e.is_timeout() {
            return TransportError::Timeout {
                endpoint,
                after: self.options.timeout,
            };
        }
        if e.is_connect() {
            return TransportError::Connect {
                endpoint,
                reason: root_cause(e),
            };
        }
        TransportError::Io {
            endpoint,
            reason: error_chain(e),
        }
    }
}

/// At most 300 characters of a body, for error messages, made printable (a server chooses
/// these bytes: they must not drive the admin's terminal) and without secrets.
fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    let s = if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s.to_string()
    };
    super::scrub(&super::printable(&s)).into_owned()
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e;
    while let Some(next) = cur.source() {
        let s = next.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = next;
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    //! The lost TLS 1.3 alert: a server that wants a client certificate closes the connection
    //! after the client's handshake, and the HTTP client may only see the close.
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    struct Pki {
        ca_file: tempfile::NamedTempFile,
        roots: rustls::RootCertStore,
        chain: Vec<CertificateDer<'static>>,
        key: KeyPair,
    }

    fn pki() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(params, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let ca_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca_file.path(), ca.pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        Pki {
            ca_file,
            roots,
            chain: vec![leaf.der().clone()],
            key,
        }
    }

    /// A TLS server on loopback. The first connection completes a handshake that asks for no
    /// client certificate and is then closed without a word (what the HTTP client sees when it
    /// loses the race with the alert); every later one requires a client certificate, as Kea's
    /// `cert-required` does, or (`require_later: false`) is closed the same way.
    async fn server(pki: &Pki, require_later: bool) -> String {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = || PrivateKeyDer::try_from(pki.key.serialize_der()).unwrap();
        let open = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), key())
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(pki.roots.clone()),
            provider.clone(),
        )
        .build()
        .unwrap();
        let strict = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.chain.clone(), key())
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let config = if first || !require_later {
                    open.clone()
                } else {
                    strict.clone()
                };
                first = false;
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                tokio::spawn(async move {
                    // A failed handshake sends the alert; a completed one is closed unanswered.
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        format!("https://127.0.0.1:{port}/")
    }

    async fn version_get(url: &str, pki: &Pki) -> TransportError {
        tls::install_provider();
        let options = TransportOptions {
            ca_file: Some(pki.ca_file.path().to_path_buf()),
            ..TransportOptions::default()
        };
        let endpoint = Endpoint::parse(url, false).unwrap();
        let transport = HttpTransport::new(endpoint, options).unwrap();
        let request = RequestRef {
            command: "version-get",
            service: None,
            arguments: None,
        };
        transport.send(request).await.unwrap_err()
    }

    #[tokio::test]
    async fn a_close_that_hides_a_missing_client_certificate_is_a_tls_error() {
        let pki = pki();
        let url = server(&pki, true).await;
        match version_get(&url, &pki).await {
            TransportError::Tls { reason, .. } => {
                assert!(reason.to_lowercase().contains("certificate"), "{reason}")
            }
            e => panic!("expected a TLS error, got {e:?}"),
        }
    }

    #[tokio::test]
    async fn a_close_without_a_tls_reason_stays_an_io_error() {
        let pki = pki();
        let url = server(&pki, false).await;
        let e = version_get(&url, &pki).await;
        assert!(matches!(e, TransportError::Io { .. }), "{e:?}");
    }
}
