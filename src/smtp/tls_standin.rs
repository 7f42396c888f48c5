//! A temporary stand-in for `cert` and `legacy_tls` (written on another branch against the shared
//! contract), so the probe builds and runs before they are merged. It lets every handshake finish
//! and reports nothing about certificates or legacy versions; it is deleted at the merge.

pub mod cert {
    //! Stand-in for `smtp::cert` with the contract's signatures.
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use serde::Serialize;

    use crate::report::Finding;

    /// What the server's certificate says.
    #[derive(Debug, Clone, Serialize)]
    pub struct CertificateInfo {
        /// Subject DN.
        pub subject: String,
        /// Issuer DN.
        pub issuer: String,
        /// DNS names and IP addresses.
        pub names: Vec<String>,
        /// Validity start, UNIX seconds.
        pub not_before: i64,
        /// Validity end, UNIX seconds.
        pub not_after: i64,
        /// Key type and size.
        pub key: String,
        /// Chain verdict.
        #[serde(skip)]
        pub trusted: Result<(), String>,
        /// Whether a name matches the host.
        pub name_matches: bool,
    }

    /// Why a certificate could not be examined.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum CertError {
        /// The server sent no certificate.
        #[error("the server sent no certificate")]
        Empty,
    }

    /// Stand-in: reports an empty certificate description.
    pub fn examine(
        chain: &[CertificateDer<'_>],
        _host: &str,
        _extra_roots: &[CertificateDer<'static>],
        _now: i64,
    ) -> Result<CertificateInfo, CertError> {
        if chain.is_empty() {
            return Err(CertError::Empty);
        }
        Ok(CertificateInfo {
            subject: String::new(),
            issuer: String::new(),
            names: Vec::new(),
            not_before: 0,
            not_after: 0,
            key: String::new(),
            trusted: Err("not examined".into()),
            name_matches: false,
        })
    }

    /// Stand-in: no findings.
    pub fn findings(_info: &CertificateInfo, _host: &str, _record: &str, _now: i64) -> Vec<Finding> {
        Vec::new()
    }

    #[derive(Debug)]
    struct Recording(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for Recording {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// A verifier that lets every handshake finish.
    pub fn recording_verifier() -> Arc<dyn ServerCertVerifier> {
        Arc::new(Recording(Arc::new(rustls::crypto::ring::default_provider())))
    }
}

pub mod legacy_tls {
    //! Stand-in for `smtp::legacy_tls` with the contract's signatures.
    use std::time::Duration;

    use serde::{Serialize, Serializer};
    use tokio::io::{AsyncRead, AsyncWrite};

    /// A protocol version rustls cannot speak.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LegacyVersion {
        /// SSL 3.0.
        Ssl3,
        /// TLS 1.0.
        Tls10,
        /// TLS 1.1.
        Tls11,
    }

    impl std::fmt::Display for LegacyVersion {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                LegacyVersion::Ssl3 => "SSLv3",
                LegacyVersion::Tls10 => "TLSv1.0",
                LegacyVersion::Tls11 => "TLSv1.1",
            })
        }
    }

    /// What the server did with the ClientHello.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum LegacyOutcome {
        /// A ServerHello with that version.
        Accepted,
        /// An alert or a close.
        Refused {
            /// The alert description, when one came.
            alert: Option<u8>,
        },
        /// Neither.
        Inconclusive {
            /// Why.
            reason: String,
        },
    }

    impl Serialize for LegacyOutcome {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(match self {
                LegacyOutcome::Accepted => "accepted",
                LegacyOutcome::Refused { .. } => "refused",
                LegacyOutcome::Inconclusive { .. } => "inconclusive",
            })
        }
    }

    /// Stand-in: always inconclusive.
    pub async fn try_version<S: AsyncRead + AsyncWrite + Unpin>(
        _stream: &mut S,
        _version: LegacyVersion,
        _server_name: Option<&str>,
        _timeout: Duration,
    ) -> std::io::Result<LegacyOutcome> {
        Ok(LegacyOutcome::Inconclusive {
            reason: "legacy TLS probing is not merged yet".into(),
        })
    }
}
