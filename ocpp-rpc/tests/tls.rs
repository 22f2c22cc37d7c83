//! Security profiles 2 (TLS + Basic auth) and 3 (mutual TLS) over loopback,
//! with certificates made inside the test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocpp_rpc::tokio::{AuthDecision, ClientConfig, Router, Routers, Server, ServerConfig, connect};
use ocpp_types::v201;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

/// A test CA, a server certificate for `localhost` and a charge point's
/// client certificate (CN = serial number, O = operator).
struct Pki {
    roots: Arc<RootCertStore>,
    server: (CertificateDer<'static>, KeyPair),
    client: (CertificateDer<'static>, KeyPair),
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Test Root CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "SERIAL-0001");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "ACME CPO");
    let client = client.signed_by(&client_key, &ca).unwrap();
    Pki {
        roots: Arc::new(roots),
        server: (server.der().clone(), server_key),
        client: (client.der().clone(), client_key),
    }
}

fn key(k: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k.serialize_der()))
}

fn heartbeat() -> Routers {
    Routers {
        v201: Router::new().on(|_, _: v201::HeartbeatRequest| async {
            Ok(v201::HeartbeatResponse {
                current_time: "2026-12-01T10:00:00Z".parse().unwrap(),
                custom_data: None,
            })
        }),
        ..Routers::default()
    }
}

/// A server whose auth hook records what it saw: (password, has certificate).
async fn server(tls: rustls::ServerConfig) -> (Server, Arc<Mutex<Vec<(Option<Vec<u8>>, bool)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut config = ServerConfig::default();
    config.tls = Some(Arc::new(tls));
    let log = Arc::clone(&seen);
    config.auth = Some(Arc::new(move |req| {
        log.lock().unwrap().push((
            req.password.map(<[u8]>::to_vec),
            req.client_certificate.is_some(),
        ));
        AuthDecision::Accept
    }));
    let server = Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config, heartbeat())
        .await
        .unwrap();
    (server, seen)
}

fn client(server: &Server, tls: rustls::ClientConfig) -> ClientConfig {
    let mut c = ClientConfig::new(
        format!("wss://localhost:{}/ocpp", server.local_addr().port()),
        "CP-TLS",
    );
    c.tls = Some(Arc::new(tls));
    c.reconnect = None;
    c.connect_timeout = Duration::from_secs(5);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_2_tls_with_basic_auth() {
    let pki = pki();
    let tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    let (server, seen) = server(tls).await;
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(Arc::clone(&pki.roots))
        .with_no_client_auth();
    let mut config = client(&server, tls);
    config.password = Some(b"0123456789abcdef".to_vec());
    let cp = connect(&config, Router::<v201::V201>::new()).await.unwrap();
    cp.call(v201::HeartbeatRequest::default()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [(Some(b"0123456789abcdef".to_vec()), false)]
    );
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_3_mutual_tls_and_refusal_without_a_client_certificate() {
    let pki = pki();
    let verifier = WebPkiClientVerifier::builder(Arc::clone(&pki.roots))
        .build()
        .unwrap();
    let tls = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    let (server, seen) = server(tls).await;

    let with_cert = rustls::ClientConfig::builder()
        .with_root_certificates(Arc::clone(&pki.roots))
        .with_client_auth_cert(vec![pki.client.0.clone()], key(&pki.client.1))
        .unwrap();
    let cp = connect(&client(&server, with_cert), Router::<v201::V201>::new())
        .await
        .unwrap();
    cp.call(v201::HeartbeatRequest::default()).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [(None, true)]);

    let without = rustls::ClientConfig::builder()
        .with_root_certificates(Arc::clone(&pki.roots))
        .with_no_client_auth();
    let refused = connect(&client(&server, without), Router::<v201::V201>::new()).await;
    assert!(
        refused.is_err(),
        "a profile 3 server let a client in without a certificate"
    );
    // The refused client never reached the auth hook.
    assert_eq!(seen.lock().unwrap().len(), 1);
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_refuses_a_server_its_roots_do_not_trust() {
    let pki = pki();
    let tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    let (server, seen) = server(tls).await;
    let other = self::pki();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(Arc::clone(&other.roots))
        .with_no_client_auth();
    assert!(
        connect(&client(&server, tls), Router::<v201::V201>::new())
            .await
            .is_err()
    );
    assert!(seen.lock().unwrap().is_empty());
    server.shutdown(Duration::from_millis(100)).await;
}
