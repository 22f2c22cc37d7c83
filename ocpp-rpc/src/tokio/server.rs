//! The CSMS side: one listening address for OCPP 1.6, 2.0.1 and 2.1.
//!
//! A charge point connects to `ws[s]://host/<any prefix>/<id>`; the id is
//! the last path segment, percent-decoded. The version is the first of the
//! server's preferences that the charge point offers as a subprotocol; a
//! handshake offering none of them completes without the header and is
//! closed at once. The auth hook sees the id, the Basic credentials and
//! the TLS client certificate before the upgrade, and can refuse with 401
//! or 404. A second connection for a connected id replaces the first.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use ocpp_types::{Protocol, Role, Version, v16, v21, v201};

use super::connection::{self, Connection, Driver, Keepalive};
use super::router::{Context, Router};
use crate::endpoint::{self, Endpoint};

/// What the auth hook is shown.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthRequest<'a> {
    /// The charge point's identity, from the URL path.
    pub charge_point_id: &'a str,
    /// The negotiated version.
    pub version: Version,
    /// The Basic username, if any (it should equal the id).
    pub username: Option<&'a str>,
    /// The Basic password, as sent (1.6 may send the raw key bytes).
    pub password: Option<&'a [u8]>,
    /// The TLS client certificate, if one was presented (security profile 3).
    pub client_certificate: Option<&'a CertificateDer<'static>>,
    /// Where the connection comes from.
    pub remote: SocketAddr,
}

/// The auth hook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthDecision {
    /// Upgrade the connection.
    Accept,
    /// Refuse with HTTP 401.
    Unauthorized,
    /// Refuse with HTTP 404: no such charge point.
    UnknownChargePoint,
}

/// The auth hook.
pub type AuthHook = Arc<dyn Fn(&AuthRequest<'_>) -> AuthDecision + Send + Sync>;

/// How the server behaves.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The versions served, most preferred first.
    pub versions: Vec<Version>,
    /// The endpoint settings of every connection (its role is set to CSMS).
    pub endpoint: endpoint::Config,
    /// Pings to detect chargers that vanish without closing.
    pub keepalive: Keepalive,
    /// The largest WebSocket message accepted; a larger one closes the connection.
    pub max_message_len: usize,
    /// Connections served at once; more are refused with HTTP 503.
    pub max_connections: usize,
    /// TLS (security profiles 2 and 3); client certificates are checked by
    /// the rustls verifier configured here.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Decides who may connect; `None` accepts everyone.
    pub auth: Option<AuthHook>,
    /// How long the TLS and WebSocket handshakes may take.
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            versions: vec![Version::V21, Version::V201, Version::V16],
            endpoint: endpoint::Config::new(Role::Csms),
            keepalive: Keepalive::default(),
            max_message_len: 1 << 20,
            max_connections: 10_000,
            tls: None,
            auth: None,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("versions", &self.versions)
            .field("endpoint", &self.endpoint)
            .field("keepalive", &self.keepalive)
            .field("max_message_len", &self.max_message_len)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.is_some())
            .finish()
    }
}

/// The handlers of each version.
#[derive(Debug, Clone, Default)]
pub struct Routers {
    /// For 1.6 connections.
    pub v16: Router<v16::V16>,
    /// For 2.0.1 connections.
    pub v201: Router<v201::V201>,
    /// For 2.1 connections.
    pub v21: Router<v21::V21>,
}

/// A connection the server accepted, by version.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Accepted {
    /// An OCPP 1.6 charge point.
    V16(Connection<v16::V16>),
    /// An OCPP 2.0.1 charging station.
    V201(Connection<v201::V201>),
    /// An OCPP 2.1 charging station.
    V21(Connection<v21::V21>),
}

impl Accepted {
    /// The charge point's identity.
    pub fn charge_point_id(&self) -> &str {
        match self {
            Accepted::V16(c) => c.charge_point_id(),
            Accepted::V201(c) => c.charge_point_id(),
            Accepted::V21(c) => c.charge_point_id(),
        }
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        match self {
            Accepted::V16(_) => Version::V16,
            Accepted::V201(_) => Version::V201,
            Accepted::V21(_) => Version::V21,
        }
    }

    /// Closes it.
    pub async fn close(&self) {
        match self {
            Accepted::V16(c) => c.close().await,
            Accepted::V201(c) => c.close().await,
            Accepted::V21(c) => c.close().await,
        }
    }

    /// Waits until it is closed.
    pub async fn closed(&self) {
        match self {
            Accepted::V16(c) => c.closed().await,
            Accepted::V201(c) => c.closed().await,
            Accepted::V21(c) => c.closed().await,
        }
    }

    async fn drain(&self, deadline: Instant) {
        match self {
            Accepted::V16(c) => c.drain(deadline).await,
            Accepted::V201(c) => c.drain(deadline).await,
            Accepted::V21(c) => c.drain(deadline).await,
        }
    }
}

/// The live connections by id, each with a generation so that a replaced
/// connection does not remove its successor when it ends.
type Live = Arc<Mutex<HashMap<String, (u64, Accepted)>>>;

struct Inner {
    config: ServerConfig,
    routers: Routers,
    live: Live,
    count: AtomicUsize,
    generation: AtomicU64,
    accepted: mpsc::Sender<Accepted>,
}

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    accepted: mpsc::Receiver<Accepted>,
    stop: watch::Sender<bool>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Server {
    /// Listens on `addr` and serves charge points with `routers`.
    pub async fn bind(
        addr: SocketAddr,
        config: ServerConfig,
        routers: Routers,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (accepted_tx, accepted) = mpsc::channel(1024);
        let (stop, mut stopped) = watch::channel(false);
        let inner = Arc::new(Inner {
            config,
            routers,
            live: Arc::default(),
            count: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            accepted: accepted_tx,
        });
        let server = Arc::clone(&inner);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, remote)) = accepted else { continue };
                        let _ = tcp.set_nodelay(true);
                        tokio::spawn(Arc::clone(&server).serve(tcp, remote));
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        Ok(Server {
            local_addr,
            accepted,
            stop,
            inner,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next accepted connection; `None` after shutdown.
    pub async fn accept(&mut self) -> Option<Accepted> {
        self.accepted.recv().await
    }

    /// The live connection of a charge point.
    pub fn connection(&self, charge_point_id: &str) -> Option<Accepted> {
        let live = self.inner.live.lock().ok()?;
        live.get(charge_point_id).map(|(_, c)| c.clone())
    }

    /// Connections served now.
    pub fn connection_count(&self) -> usize {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Stops listening, lets calls in flight finish within `grace`, then
    /// closes every connection.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + grace;
        let live: Vec<Accepted> = match self.inner.live.lock() {
            Ok(live) => live.values().map(|(_, c)| c.clone()).collect(),
            Err(_) => Vec::new(),
        };
        for c in &live {
            c.drain(deadline).await;
        }
        for c in &live {
            let _ = timeout(grace + Duration::from_secs(1), c.closed()).await;
        }
    }
}

/// Decrements the connection count when a connection's task ends.
struct Counted(Arc<Inner>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Inner {
    async fn serve(self: Arc<Self>, tcp: TcpStream, remote: SocketAddr) {
        let over = self.count.fetch_add(1, Ordering::Relaxed) >= self.config.max_connections;
        let counted = Counted(Arc::clone(&self));
        let limit = self.config.handshake_timeout;
        match &self.config.tls {
            None => self.upgrade(tcp, None, remote, over, counted).await,
            Some(tls) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(tls));
                let Ok(Ok(stream)) = timeout(limit, acceptor.accept(tcp)).await else {
                    return;
                };
                let cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.clone().into_owned());
                self.upgrade(stream, cert, remote, over, counted).await;
            }
        }
    }

    /// The WebSocket handshake, then a driver for the negotiated version.
    // tungstenite's handshake callback returns its own (large) error type.
    #[allow(clippy::result_large_err)]
    async fn upgrade<S>(
        self: Arc<Self>,
        stream: S,
        cert: Option<CertificateDer<'static>>,
        remote: SocketAddr,
        over_capacity: bool,
        counted: Counted,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut chosen: Option<(String, Version)> = None;
        let callback = |request: &Request, response: Response| {
            if over_capacity {
                return Err(refusal(StatusCode::SERVICE_UNAVAILABLE));
            }
            self.handshake(request, response, cert.as_ref(), remote, &mut chosen)
        };
        // OCPP messages are small: tungstenite's default 128 KiB read buffer
        // is resident per connection and zeroed before every read.
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(connection::READ_BUFFER)
            .max_message_size(Some(self.config.max_message_len))
            .max_frame_size(Some(self.config.max_message_len));
        // Only the handshake is timed; the connection then lives as long as it lasts.
        let handshake =
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
        let Ok(Ok(mut ws)) = timeout(self.config.handshake_timeout, handshake).await else {
            return;
        };
        let Some((id, version)) = chosen else {
            // No common subprotocol: the handshake completed without one; close at once.
            let _ = ws
                .close(Some(CloseFrame {
                    code: CloseCode::Protocol,
                    reason: "no common OCPP subprotocol".into(),
                }))
                .await;
            return;
        };
        let id: Arc<str> = id.into();
        let accepted = match version {
            Version::V16 => Accepted::V16(self.start(ws, &id, self.routers.v16.clone())),
            Version::V201 => Accepted::V201(self.start(ws, &id, self.routers.v201.clone())),
            _ => Accepted::V21(self.start(ws, &id, self.routers.v21.clone())),
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let replaced = self
            .live
            .lock()
            .ok()
            .and_then(|mut live| live.insert(id.to_string(), (generation, accepted.clone())));
        if let Some((_, old)) = replaced {
            old.close().await;
        }
        // A server whose application does not accept fast enough still
        // serves the connection; only the handle is not delivered.
        let _ = self.accepted.try_send(accepted.clone());
        accepted.closed().await;
        if let Ok(mut live) = self.live.lock()
            && live.get(&*id).is_some_and(|(g, _)| *g == generation)
        {
            live.remove(&*id);
        }
        drop(counted);
    }

    fn start<P: Protocol, S>(
        &self,
        ws: tokio_tungstenite::WebSocketStream<S>,
        id: &Arc<str>,
        router: Router<P>,
    ) -> Connection<P>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut config = self.config.endpoint.clone();
        config.role = Role::Csms;
        config.id_seed = super::random_seed();
        let endpoint = Endpoint::new(config, Instant::now().into_std());
        connection::spawn(
            ws,
            Driver {
                endpoint,
                router,
                keepalive: self.config.keepalive,
                context: Context {
                    charge_point_id: Arc::clone(id),
                },
            },
        )
    }

    /// Reads the id, picks the subprotocol and asks the auth hook.
    #[allow(clippy::result_large_err)]
    fn handshake(
        &self,
        request: &Request,
        mut response: Response,
        cert: Option<&CertificateDer<'static>>,
        remote: SocketAddr,
        chosen: &mut Option<(String, Version)>,
    ) -> Result<Response, ErrorResponse> {
        let segment = request.uri().path().rsplit('/').next().unwrap_or_default();
        let id = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| refusal(StatusCode::BAD_REQUEST))?
            .into_owned();
        if id.is_empty() {
            return Err(refusal(StatusCode::NOT_FOUND));
        }
        let offered: Vec<&str> = request
            .headers()
            .get_all("Sec-WebSocket-Protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let Some(version) = self
            .config
            .versions
            .iter()
            .copied()
            .find(|v| offered.contains(&v.subprotocol()))
        else {
            return Ok(response);
        };
        // 2.x: an identity of at most 48 characters without `:` (the Basic username).
        if version != Version::V16 && (id.chars().count() > 48 || id.contains(':')) {
            return Err(refusal(StatusCode::BAD_REQUEST));
        }
        let credentials = request
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        if let Some(auth) = &self.config.auth {
            let decision = auth(&AuthRequest {
                charge_point_id: &id,
                version,
                username: credentials.as_ref().map(|(u, _)| u.as_str()),
                password: credentials.as_ref().map(|(_, p)| p.as_slice()),
                client_certificate: cert,
                remote,
            });
            match decision {
                AuthDecision::Accept => {}
                AuthDecision::Unauthorized => {
                    let mut r = refusal(StatusCode::UNAUTHORIZED);
                    r.headers_mut().insert(
                        "WWW-Authenticate",
                        HeaderValue::from_static("Basic realm=\"OCPP\""),
                    );
                    return Err(r);
                }
                AuthDecision::UnknownChargePoint => return Err(refusal(StatusCode::NOT_FOUND)),
            }
        }
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(version.subprotocol()),
        );
        *chosen = Some((id, version));
        Ok(response)
    }
}

fn refusal(status: StatusCode) -> ErrorResponse {
    let mut r = ErrorResponse::new(None);
    *r.status_mut() = status;
    r
}

/// `Basic base64(user:password)` -> (user, password bytes).
fn basic_credentials(header: &str) -> Option<(String, Vec<u8>)> {
    let encoded = header.strip_prefix("Basic ")?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        // "CP-1:pass:word"
        let header = "Basic Q1AtMTpwYXNzOndvcmQ=";
        assert_eq!(
            basic_credentials(header),
            Some(("CP-1".into(), b"pass:word".to_vec()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
    }
}
