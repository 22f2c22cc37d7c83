//! The charge-point side: connect to a CSMS, keep the link alive, and
//! reconnect with the OCPP back-off when it drops.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use ocpp_types::{Protocol, Request, Role, Version};

use super::connection::{self, Connection, Driver, Keepalive};
use super::router::{Context, Router};
use crate::endpoint::{self, CallFailure, Endpoint};

/// The OCPP reconnect back-off (2.x `OCPPCommCtrlr.RetryBackOff*`): the
/// first wait is `wait_minimum` plus a random part of `random_range`; each
/// further failure doubles the fixed part, `repeat_times` times at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackOff {
    /// `RetryBackOffWaitMinimum`.
    pub wait_minimum: Duration,
    /// `RetryBackOffRandomRange`.
    pub random_range: Duration,
    /// `RetryBackOffRepeatTimes`.
    pub repeat_times: u32,
}

impl Default for BackOff {
    fn default() -> Self {
        BackOff {
            wait_minimum: Duration::from_secs(10),
            random_range: Duration::from_secs(10),
            repeat_times: 5,
        }
    }
}

impl BackOff {
    /// The wait before the retry after `failures` failed attempts in a row
    /// (0 for the first retry), with `random` in `[0, 1)`.
    pub fn delay(&self, failures: u32, random: f64) -> Duration {
        let doublings = failures.min(self.repeat_times).min(31);
        let fixed = self.wait_minimum.saturating_mul(1 << doublings);
        fixed + self.random_range.mul_f64(random.clamp(0.0, 1.0))
    }

    /// The next wait of a run of failures: counts the failure and steps
    /// the random state.
    pub(crate) fn next_delay(&self, failures: &mut u32, rng: &mut u64) -> Duration {
        *rng = next_random(*rng);
        let wait = self.delay(*failures, (*rng >> 11) as f64 / (1u64 << 53) as f64);
        *failures = failures.saturating_add(1);
        wait
    }
}

/// How a charge point connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// `ws://host:port/path/<id>` or `wss://...`; the id is percent-encoded here.
    pub url: String,
    /// The station identity, appended to `url`.
    pub charge_point_id: String,
    /// HTTP Basic password (security profiles 1 and 2); the username is the id.
    pub password: Option<Vec<u8>>,
    /// TLS settings for `wss://` (root store, client certificate for profile 3).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Pings and the pong timeout.
    pub keepalive: Keepalive,
    /// The endpoint settings (its role is set to charge point).
    pub endpoint: endpoint::Config,
    /// The largest WebSocket message accepted.
    pub max_message_len: usize,
    /// Reconnect after a drop or a failed attempt; `None` tries once.
    pub reconnect: Option<BackOff>,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// Defaults for `url` and `charge_point_id`.
    pub fn new(url: impl Into<String>, charge_point_id: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            charge_point_id: charge_point_id.into(),
            password: None,
            tls: None,
            keepalive: Keepalive::default(),
            endpoint: endpoint::Config::new(Role::ChargePoint),
            max_message_len: 1 << 20,
            reconnect: Some(BackOff::default()),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL cannot be used.
    #[error("invalid url: {0}")]
    Url(String),
    /// TCP or TLS failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server refused the upgrade with this HTTP status (401, 404, ...).
    #[error("the server answered HTTP {0}")]
    Refused(u16),
    /// The server chose none of the offered subprotocols.
    #[error("the server accepts none of the offered OCPP versions")]
    NoSubprotocol,
    /// The WebSocket handshake failed otherwise.
    #[error("websocket handshake failed: {0}")]
    Handshake(String),
    /// No answer within the connect timeout.
    #[error("no connection within the timeout")]
    Timeout,
}

/// A change of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkEvent {
    /// Connected (again).
    Connected,
    /// The connection dropped; a reconnect follows if configured.
    Disconnected,
    /// An attempt failed; the next follows after the back-off.
    AttemptFailed(String),
}

/// Connects once, offering `P`'s subprotocol.
pub async fn connect<P: Protocol>(
    config: &ClientConfig,
    router: Router<P>,
) -> Result<Connection<P>, ConnectError> {
    let context = Context {
        charge_point_id: config.charge_point_id.as_str().into(),
    };
    Ok(match open(config, P::VERSION).await? {
        Socket::Plain(ws) => start(ws, config, router, context),
        Socket::Tls(ws) => start(ws, config, router, context),
    })
}

/// An open WebSocket to the CSMS, plain or over TLS. Short-lived (it is
/// unpacked at once), so the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Socket {
    Plain(WebSocketStream<TcpStream>),
    Tls(WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// TCP, TLS and the WebSocket handshake offering `version`, within the
/// connect timeout.
pub(crate) async fn open(config: &ClientConfig, version: Version) -> Result<Socket, ConnectError> {
    timeout(config.connect_timeout, open_inner(config, version))
        .await
        .map_err(|_| ConnectError::Timeout)?
}

async fn open_inner(config: &ClientConfig, version: Version) -> Result<Socket, ConnectError> {
    let id: String = percent_encoding::utf8_percent_encode(
        &config.charge_point_id,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .collect();
    let url = format!("{}/{id}", config.url.trim_end_matches('/'));
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ConnectError::Url(e.to_string()))?;
    let uri = request.uri().clone();
    let host = uri
        .host()
        .ok_or_else(|| ConnectError::Url("no host".into()))?
        .to_owned();
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => return Err(ConnectError::Url("the scheme must be ws or wss".into())),
    };
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(version.subprotocol()),
    );
    if let Some(password) = &config.password {
        let mut credentials = config.charge_point_id.clone().into_bytes();
        credentials.push(b':');
        credentials.extend_from_slice(password);
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        headers.insert(
            "Authorization",
            HeaderValue::from_str(&value).map_err(|e| ConnectError::Url(e.to_string()))?,
        );
    }
    // OCPP messages are small: tungstenite's default 128 KiB read buffer
    // is resident per connection and zeroed before every read.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(connection::READ_BUFFER)
        .max_message_size(Some(config.max_message_len))
        .max_frame_size(Some(config.max_message_len));
    let tcp =
        TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await?;
    let _ = tcp.set_nodelay(true);
    if secure {
        let tls = config
            .tls
            .clone()
            .ok_or_else(|| ConnectError::Url("wss:// needs a TLS configuration".into()))?;
        let name = ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|e| ConnectError::Url(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await?;
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config))
                .await
                .map_err(handshake_error)?;
        check_subprotocol(&response, version)?;
        Ok(Socket::Tls(ws))
    } else {
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(ws_config))
                .await
                .map_err(handshake_error)?;
        check_subprotocol(&response, version)?;
        Ok(Socket::Plain(ws))
    }
}

fn start<P: Protocol, S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    config: &ClientConfig,
    router: Router<P>,
    context: Context,
) -> Connection<P>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut endpoint_config = config.endpoint.clone();
    endpoint_config.role = Role::ChargePoint;
    endpoint_config.id_seed = super::random_seed();
    let endpoint = Endpoint::new(endpoint_config, Instant::now().into_std());
    connection::spawn(
        ws,
        Driver {
            endpoint,
            router,
            keepalive: config.keepalive,
            context,
        },
    )
}

fn handshake_error(e: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            ConnectError::Refused(response.status().as_u16())
        }
        tokio_tungstenite::tungstenite::Error::Io(e) => ConnectError::Io(e),
        tokio_tungstenite::tungstenite::Error::Protocol(
            tokio_tungstenite::tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ) => ConnectError::NoSubprotocol,
        other => ConnectError::Handshake(other.to_string()),
    }
}

fn check_subprotocol(
    response: &tokio_tungstenite::tungstenite::handshake::client::Response,
    version: Version,
) -> Result<(), ConnectError> {
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok());
    if chosen == Some(version.subprotocol()) {
        Ok(())
    } else {
        Err(ConnectError::NoSubprotocol)
    }
}

/// A charge point's link to its CSMS, reconnecting as configured. Calls go
/// to the connection that is up; while none is, they fail at once with
/// [`CallFailure::ConnectionLost`], so the state machine above can queue.
pub struct Client<P: Protocol> {
    current: watch::Receiver<Option<Connection<P>>>,
    link: broadcast::Sender<LinkEvent>,
    stop: watch::Sender<bool>,
}

impl<P: Protocol> std::fmt::Debug for Client<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.current.borrow().is_some())
            .finish()
    }
}

impl<P: Protocol> Client<P> {
    /// Starts connecting in the background.
    pub fn start(config: ClientConfig, router: Router<P>) -> Self {
        let (current_tx, current) = watch::channel(None);
        let (link, _) = broadcast::channel(64);
        let (stop, mut stopped) = watch::channel(false);
        let events = link.clone();
        tokio::spawn(async move {
            let mut failures = 0u32;
            let mut rng = super::random_seed();
            loop {
                match connect(&config, router.clone()).await {
                    Ok(connection) => {
                        failures = 0;
                        let _ = current_tx.send(Some(connection.clone()));
                        let _ = events.send(LinkEvent::Connected);
                        tokio::select! {
                            () = connection.closed() => {}
                            _ = stopped.changed() => {
                                connection.close().await;
                                let _ = current_tx.send(None);
                                break;
                            }
                        }
                        let _ = current_tx.send(None);
                        let _ = events.send(LinkEvent::Disconnected);
                    }
                    Err(e) => {
                        let _ = events.send(LinkEvent::AttemptFailed(e.to_string()));
                    }
                }
                let Some(backoff) = config.reconnect else {
                    break;
                };
                let wait = backoff.next_delay(&mut failures, &mut rng);
                tokio::select! {
                    () = sleep(wait) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Client {
            current,
            link,
            stop,
        }
    }

    /// The connection that is up, if any.
    pub fn connection(&self) -> Option<Connection<P>> {
        self.current.borrow().clone()
    }

    /// Waits until a connection is up, at most `limit`.
    pub async fn connected(&self, limit: Duration) -> Option<Connection<P>> {
        let mut current = self.current.clone();
        let up = timeout(limit, current.wait_for(Option::is_some))
            .await
            .ok()?
            .ok()?;
        up.clone()
    }

    /// Connected, disconnected and failed attempts, from now on.
    pub fn link_events(&self) -> broadcast::Receiver<LinkEvent> {
        self.link.subscribe()
    }

    /// Sends a typed CALL on the connection that is up.
    pub async fn call<R>(&self, request: R) -> Result<R::Response, CallFailure>
    where
        R: Request<Protocol = P>,
        P::AnyRequest: From<R>,
        P::AnyResponse: TryInto<R::Response>,
    {
        match self.connection() {
            Some(c) => c.call(request).await,
            None => Err(CallFailure::ConnectionLost),
        }
    }

    /// Closes the connection and stops reconnecting.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut current = self.current.clone();
        let _ = timeout(Duration::from_secs(5), current.wait_for(Option::is_none)).await;
    }
}

/// SplitMix64 step, for the back-off's random part.
fn next_random(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_then_stops_doubling() {
        let b = BackOff {
            wait_minimum: Duration::from_secs(2),
            random_range: Duration::from_secs(4),
            repeat_times: 2,
        };
        assert_eq!(b.delay(0, 0.0), Duration::from_secs(2));
        assert_eq!(b.delay(0, 0.5), Duration::from_secs(4));
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(8));
        assert_eq!(b.delay(9, 0.0), Duration::from_secs(8));
        assert!(b.delay(9, 0.999) < Duration::from_secs(12));
    }
}
