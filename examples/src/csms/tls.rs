//! The TLS files of the OCPP port: the server's certificate chain and key,
//! and optionally the CA that signs charger client certificates (security
//! profile 3: a certificate is then required).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The CA of charger client certificates; none: no client certificates.
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// The rustls configuration the files describe.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let read_certs = |path: &PathBuf| {
            CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        let chain = read_certs(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| format!("{}: {e}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| e.to_string())?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(chain, key)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }
}
