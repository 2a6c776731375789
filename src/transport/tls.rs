//! TLS for HTTPS endpoints: a trust anchor of the admin's choice and client certificates.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use super::{TransportError, TransportOptions};

/// Makes `ring` the process-wide crypto provider (once; later calls do nothing).
pub(super) fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls configuration of an HTTPS endpoint: the options' CA bundle or the system trust
/// store, and the options' client certificate if any. Verification is always on.
pub(super) fn client_config(
    options: &TransportOptions,
) -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::TlsSetup(e.to_string()))?;
    let builder = match &options.ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            let certs = read_certs(path)?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(TransportError::TlsSetup(format!(
                    "ca_file {}: no usable certificate in it",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots)
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .map_err(|e| TransportError::TlsSetup(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
    };
    let config = match (&options.cert_file, &options.key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                TransportError::TlsSetup(format!("key_file {}: {e}", key.display()))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TransportError::TlsSetup(format!("client certificate: {e}")))?
        }
        (Some(_), None) => {
            return Err(TransportError::TlsSetup(
                "cert_file is set but key_file is not: give both".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(TransportError::TlsSetup(
                "key_file is set but cert_file is not: give both".into(),
            ));
        }
        (None, None) => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// Why a server closed an HTTPS connection before it answered, when the reason is TLS.
///
/// With TLS 1.3 the client's handshake ends before the server has checked the client's
/// certificate; a server that requires one (Kea's `cert-required`) then sends an alert and
/// closes. Whether the HTTP client reads that alert or only sees the connection gone is a race,
/// and the alert is lost in the second case. This opens one more connection with the same
/// configuration, sends a harmless `GET /` and reads: a TLS alert or handshake error is the
/// reason; an answer or a plain close means TLS was not the problem (`None`). Bounded by `wait`.
pub(super) async fn probe(
    config: Arc<rustls::ClientConfig>,
    url: &reqwest::Url,
    wait: std::time::Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default()?;
    let name = rustls::pki_types::ServerName::try_from(host.clone()).ok()?;
    let attempt = async move {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .ok()?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let mut tls = match connector.connect(name, tcp).await {
            Ok(tls) => tls,
            Err(e) => return find_tls_error(&e),
        };
        let get = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        if let Err(e) = tls.write_all(get.as_bytes()).await {
            return find_tls_error(&e);
        }
        let mut buf = [0u8; 512];
        match tls.read(&mut buf).await {
            Ok(_) => None,
            Err(e) => find_tls_error(&e),
        }
    };
    tokio::time::timeout(wait, attempt).await.ok().flatten()
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TransportError::TlsSetup(format!("{}: {e}", path.display())))?
        .collect();
    let certs = certs.map_err(|e| TransportError::TlsSetup(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TransportError::TlsSetup(format!(
            "{}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// The rustls error somewhere in `e`'s source chain, as text.
pub(super) fn find_tls_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t.to_string());
        }
        // hyper-rustls wraps tokio-rustls's io::Error(rustls::Error) in another io::Error,
        // and io::Error::source() skips the wrapped error: unwrap nested io::Errors by hand.
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(inner) = io.and_then(std::io::Error::get_ref) {
            if let Some(t) = inner.downcast_ref::<rustls::Error>() {
                return Some(t.to_string());
            }
            io = inner.downcast_ref::<std::io::Error>();
        }
        cur = err.source();
    }
    None
}
