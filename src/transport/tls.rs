//! TLS for HTTPS endpoints: a trust anchor of the admin's choice and client certificates.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use super::{TransportError, TransportOptions};

/// Makes `ring` the process-wide crypto provider (once; later calls do nothing).
pub(super) fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A rustls configuration when the options name a CA bundle or a client certificate;
/// `None` means the system trust store and no client certificate. Verification is always on.
pub(super) fn client_config(
    options: &TransportOptions,
) -> Result<Option<rustls::ClientConfig>, TransportError> {
    if options.ca_file.is_none() && options.cert_file.is_none() {
        return Ok(None);
    }
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
    Ok(Some(config))
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
