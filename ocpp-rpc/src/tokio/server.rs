//! The CSMS side: one listening address for OCPP 1.6, 2.0.1 and 2.1.
//!
//! A charge point connects to `ws[s]://host/<any prefix>/<id>`; the id is
//! the last path segment, percent-decoded. The version is the first of the
//! server's preferences that the charge point offers as a subprotocol; a
//! handshake offering none of them completes without the header and is
//! closed at once. The auth hook sees the id, the Basic credentials and
//! the TLS client certificate before the upgrade, and can refuse with 401
//! or 404. A second connection for a connected id replaces the first.
//!
//! Each connection is served either by an [`Endpoint`] with typed
//! [`Router`] handlers ([`Server::bind`]) or by a sans-IO [`Machine`] built
//! for it ([`Server::bind_machines`]); the listener, handshake, auth,
//! limits and replacement are the same for both.

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
use super::machine::{MachineHandle, serve_connection};
use super::router::{Context, Router};
use crate::endpoint::{self, Endpoint};
use crate::machine::Machine;

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
type Live<T> = Arc<Mutex<HashMap<String, (u64, T)>>>;

/// How accepted connections are served: what runs on them and what the
/// server keeps of each to close it.
trait Host: Send + Sync + 'static {
    /// What the server keeps of a live connection.
    type Live: Clone + Send + Sync + 'static;

    /// Starts serving `ws` and hands it to the application.
    fn start<S>(
        &self,
        config: &ServerConfig,
        ws: tokio_tungstenite::WebSocketStream<S>,
        id: &Arc<str>,
        version: Version,
        remote: SocketAddr,
    ) -> Self::Live
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Closes a live connection.
    fn close(live: &Self::Live) -> impl Future<Output = ()> + Send;

    /// Waits until a live connection is closed.
    fn closed(live: &Self::Live) -> impl Future<Output = ()> + Send;

    /// Lets a live connection finish what is in flight until `deadline`.
    fn drain(live: &Self::Live, deadline: Instant) -> impl Future<Output = ()> + Send;
}

/// Endpoints with typed handlers ([`Server::bind`]).
struct RouterHost {
    routers: Routers,
    accepted: mpsc::Sender<Accepted>,
}

impl Host for RouterHost {
    type Live = Accepted;

    fn start<S>(
        &self,
        config: &ServerConfig,
        ws: tokio_tungstenite::WebSocketStream<S>,
        id: &Arc<str>,
        version: Version,
        _remote: SocketAddr,
    ) -> Accepted
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let accepted = match version {
            Version::V16 => Accepted::V16(start(config, ws, id, self.routers.v16.clone())),
            Version::V201 => Accepted::V201(start(config, ws, id, self.routers.v201.clone())),
            _ => Accepted::V21(start(config, ws, id, self.routers.v21.clone())),
        };
        // A server whose application does not accept fast enough still
        // serves the connection; only the handle is not delivered.
        let _ = self.accepted.try_send(accepted.clone());
        accepted
    }

    async fn close(live: &Accepted) {
        live.close().await;
    }

    async fn closed(live: &Accepted) {
        live.closed().await;
    }

    async fn drain(live: &Accepted, deadline: Instant) {
        live.drain(deadline).await;
    }
}

fn start<P: Protocol, S>(
    config: &ServerConfig,
    ws: tokio_tungstenite::WebSocketStream<S>,
    id: &Arc<str>,
    router: Router<P>,
) -> Connection<P>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut endpoint_config = config.endpoint.clone();
    endpoint_config.role = Role::Csms;
    endpoint_config.id_seed = super::random_seed();
    let endpoint = Endpoint::new(endpoint_config, Instant::now().into_std());
    connection::spawn(
        ws,
        Driver {
            endpoint,
            router,
            keepalive: config.keepalive,
            context: Context {
                charge_point_id: Arc::clone(id),
            },
        },
    )
}

/// What the machine factory of [`Server::bind_machines`] is told of a
/// connection it builds a machine for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Incoming {
    /// The charge point's identity, from the URL path.
    pub charge_point_id: Arc<str>,
    /// The negotiated version.
    pub version: Version,
    /// Where the connection comes from.
    pub remote: SocketAddr,
}

/// A connection a [`MachineServer`] accepted, with the machine serving it.
#[non_exhaustive]
pub struct Hosted<M: Machine> {
    /// Who connected, as the factory was told.
    pub incoming: Incoming,
    /// Reaches the connection's machine; [`MachineHandle::stop`] closes
    /// the connection.
    pub handle: MachineHandle<M>,
    /// The machine's events; it closes after those of `handle_closed`.
    pub events: mpsc::UnboundedReceiver<M::Event>,
}

impl<M: Machine> std::fmt::Debug for Hosted<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosted")
            .field("incoming", &self.incoming)
            .field("handle", &self.handle)
            .finish()
    }
}

/// The factory building a machine per connection.
type Factory<M> = Box<dyn Fn(&Incoming) -> M + Send + Sync>;

/// One sans-IO machine per connection ([`Server::bind_machines`]).
struct MachineHost<M: Machine> {
    factory: Factory<M>,
    accepted: mpsc::UnboundedSender<Hosted<M>>,
}

impl<M> Host for MachineHost<M>
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
{
    type Live = MachineHandle<M>;

    fn start<S>(
        &self,
        config: &ServerConfig,
        ws: tokio_tungstenite::WebSocketStream<S>,
        id: &Arc<str>,
        version: Version,
        remote: SocketAddr,
    ) -> MachineHandle<M>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let incoming = Incoming {
            charge_point_id: Arc::clone(id),
            version,
            remote,
        };
        let machine = (self.factory)(&incoming);
        let (handle, events) = serve_connection(ws, config.keepalive, machine);
        let _ = self.accepted.send(Hosted {
            incoming,
            handle: handle.clone(),
            events,
        });
        handle
    }

    async fn close(live: &MachineHandle<M>) {
        live.stop().await;
    }

    async fn closed(live: &MachineHandle<M>) {
        live.ended().await;
    }

    // The transport cannot see a machine's calls in flight: it is closed
    // at once (it hears `handle_closed`).
    async fn drain(live: &MachineHandle<M>, _deadline: Instant) {
        live.stop().await;
    }
}

struct Inner<H: Host> {
    config: ServerConfig,
    host: H,
    live: Live<H::Live>,
    count: AtomicUsize,
    generation: AtomicU64,
}

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    accepted: mpsc::Receiver<Accepted>,
    stop: watch::Sender<bool>,
    inner: Arc<Inner<RouterHost>>,
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
        let (accepted_tx, accepted) = mpsc::channel(1024);
        let host = RouterHost {
            routers,
            accepted: accepted_tx,
        };
        let (local_addr, stop, inner) = listen(addr, config, host).await?;
        Ok(Server {
            local_addr,
            accepted,
            stop,
            inner,
        })
    }

    /// Listens on `addr` and serves each charge point with a machine that
    /// `factory` builds for its connection (a
    /// [`csms::Session`](crate::csms::Session), say). `config.endpoint` is
    /// not used: the machine brings its own. The machine is told
    /// `handle_connected` at once and `handle_closed` when the connection
    /// ends (closed by either side, a pong timeout, replacement by a new
    /// connection of the same id, shutdown); then its task ends.
    pub async fn bind_machines<M, F>(
        addr: SocketAddr,
        config: ServerConfig,
        factory: F,
    ) -> io::Result<MachineServer<M>>
    where
        M: Machine + Send + 'static,
        M::Event: Send + 'static,
        F: Fn(&Incoming) -> M + Send + Sync + 'static,
    {
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let host = MachineHost {
            factory: Box::new(factory),
            accepted: accepted_tx,
        };
        let (local_addr, stop, inner) = listen(addr, config, host).await?;
        Ok(MachineServer {
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
        self.inner.shutdown(grace).await;
    }
}

/// A running server of one machine per connection
/// ([`Server::bind_machines`]).
pub struct MachineServer<M>
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
{
    local_addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<Hosted<M>>,
    stop: watch::Sender<bool>,
    inner: Arc<Inner<MachineHost<M>>>,
}

impl<M> std::fmt::Debug for MachineServer<M>
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineServer")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl<M> MachineServer<M>
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
{
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next accepted connection with its machine; `None` after
    /// shutdown. Hosted connections queue without bound until accepted.
    pub async fn accept(&mut self) -> Option<Hosted<M>> {
        self.accepted.recv().await
    }

    /// The machine of a charge point's live connection.
    pub fn machine(&self, charge_point_id: &str) -> Option<MachineHandle<M>> {
        let live = self.inner.live.lock().ok()?;
        live.get(charge_point_id).map(|(_, c)| c.clone())
    }

    /// Connections served now.
    pub fn connection_count(&self) -> usize {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Stops listening and closes every connection; each machine hears
    /// `handle_closed` (waiting at most `grace` plus a second for each).
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        self.inner.shutdown(grace).await;
    }
}

/// Binds the listener and spawns its accept loop.
async fn listen<H: Host>(
    addr: SocketAddr,
    config: ServerConfig,
    host: H,
) -> io::Result<(SocketAddr, watch::Sender<bool>, Arc<Inner<H>>)> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let inner = Arc::new(Inner {
        config,
        host,
        live: Arc::default(),
        count: AtomicUsize::new(0),
        generation: AtomicU64::new(0),
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
    Ok((local_addr, stop, inner))
}

/// Decrements the connection count when a connection's task ends.
struct Counted<'a, H: Host>(&'a Inner<H>);

impl<H: Host> Drop for Counted<'_, H> {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<H: Host> Inner<H> {
    async fn shutdown(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let live: Vec<H::Live> = match self.live.lock() {
            Ok(live) => live.values().map(|(_, c)| c.clone()).collect(),
            Err(_) => Vec::new(),
        };
        for c in &live {
            H::drain(c, deadline).await;
        }
        for c in &live {
            let _ = timeout(grace + Duration::from_secs(1), H::closed(c)).await;
        }
    }

    async fn serve(self: Arc<Self>, tcp: TcpStream, remote: SocketAddr) {
        let over = self.count.fetch_add(1, Ordering::Relaxed) >= self.config.max_connections;
        let counted = Counted(&self);
        let limit = self.config.handshake_timeout;
        match &self.config.tls {
            None => self.upgrade(tcp, None, remote, over).await,
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
                self.upgrade(stream, cert, remote, over).await;
            }
        }
        drop(counted);
    }

    /// The WebSocket handshake, then a driver for the negotiated version.
    // tungstenite's handshake callback returns its own (large) error type.
    #[allow(clippy::result_large_err)]
    async fn upgrade<S>(
        &self,
        stream: S,
        cert: Option<CertificateDer<'static>>,
        remote: SocketAddr,
        over_capacity: bool,
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
        let accepted = self.host.start(&self.config, ws, &id, version, remote);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let replaced = self
            .live
            .lock()
            .ok()
            .and_then(|mut live| live.insert(id.to_string(), (generation, accepted.clone())));
        if let Some((_, old)) = replaced {
            H::close(&old).await;
        }
        H::closed(&accepted).await;
        if let Ok(mut live) = self.live.lock()
            && live.get(&*id).is_some_and(|(g, _)| *g == generation)
        {
            live.remove(&*id);
        }
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
