//! One live WebSocket connection: the driver task around an [`Endpoint`],
//! and the cheap, cloneable [`Connection`] handle the application holds.
//!
//! The driver is one `select!` over the socket, the command channel, the
//! endpoint's next timeout, the ping timer and the answers of running
//! handlers; after every input it drains the endpoint in the documented
//! order (transmit, events, timeout).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use ocpp_types::{Protocol, Request, SendMessage, Version};

use super::router::{Context, HandlerError, Router};
use crate::endpoint::{CallError, CallFailure, CallId, DeviationKind, Endpoint, Event};
use crate::error::ErrorCode;

/// What a connection reports besides responses: deviations and refusals,
/// for logging and per-charger policy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notice {
    /// The peer's message broke the schema in a tolerated way.
    Deviation {
        /// The action.
        action: String,
        /// The JSON path.
        path: String,
        /// The kind.
        kind: DeviationKind,
        /// Details.
        detail: String,
    },
    /// A peer message was refused (answered with an error, or dropped).
    Rejected {
        /// The message id, if readable.
        id: Option<String>,
        /// The code sent back; `None` when dropped.
        code: Option<ErrorCode>,
        /// Why.
        reason: String,
    },
    /// The peer refused one of our CALLRESULTs (2.1 CALLRESULTERROR).
    ResultRefused {
        /// The id of our CALLRESULT.
        id: String,
        /// The peer's code.
        code: ErrorCode,
    },
    /// The peer stopped answering pings and was declared dead.
    PingTimeout,
}

/// Keepalive: WebSocket pings and how long to wait for the pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between pings; `None` sends none (the peer may still ping us).
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered before the connection is dead.
    pub pong_timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            ping_interval: Some(Duration::from_secs(60)),
            pong_timeout: Duration::from_secs(30),
        }
    }
}

/// The WebSocket read buffer per connection.
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// Notices kept for a slow subscriber before the oldest are dropped.
const NOTICES: usize = 16;

pub(crate) enum Command<P: Protocol> {
    Call(
        P::AnyRequest,
        oneshot::Sender<Result<P::AnyResponse, CallFailure>>,
    ),
    Send(P::AnyRequest, oneshot::Sender<Result<(), CallError>>),
    Close,
    /// Refuse new calls; close once nothing is in flight, or at the deadline.
    Drain(Instant),
}

struct Shared {
    charge_point_id: Arc<str>,
    version: Version,
}

/// A handle to one connection (or, on a client, to the connection that is
/// up at the moment). Cheap to clone, `Send`.
pub struct Connection<P: Protocol> {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command<P>>,
    notices: broadcast::Sender<Notice>,
    closed: watch::Receiver<bool>,
}

impl<P: Protocol> Clone for Connection<P> {
    fn clone(&self) -> Self {
        Connection {
            shared: Arc::clone(&self.shared),
            commands: self.commands.clone(),
            notices: self.notices.clone(),
            closed: self.closed.clone(),
        }
    }
}

impl<P: Protocol> std::fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("charge_point_id", &self.shared.charge_point_id)
            .field("version", &self.shared.version)
            .field("closed", &*self.closed.borrow())
            .finish()
    }
}

impl<P: Protocol> Connection<P> {
    /// The charge point's identity.
    pub fn charge_point_id(&self) -> &str {
        &self.shared.charge_point_id
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.shared.version
    }

    /// Sends a typed CALL and waits for its typed answer.
    pub async fn call<R>(&self, request: R) -> Result<R::Response, CallFailure>
    where
        R: Request<Protocol = P>,
        P::AnyRequest: From<R>,
        P::AnyResponse: TryInto<R::Response>,
    {
        let response = self.call_any(P::AnyRequest::from(request)).await?;
        response
            .try_into()
            .map_err(|_| CallFailure::InvalidResponse("a response for another action".into()))
    }

    /// Sends any CALL of this version and waits for the answer.
    pub async fn call_any(&self, request: P::AnyRequest) -> Result<P::AnyResponse, CallFailure> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Call(request, tx))
            .await
            .map_err(|_| CallFailure::ConnectionLost)?;
        rx.await.map_err(|_| CallFailure::ConnectionLost)?
    }

    /// Sends a 2.1 SEND message (no reply).
    pub async fn send<M>(&self, message: M) -> Result<(), CallError>
    where
        M: SendMessage<Protocol = P>,
        P::AnyRequest: From<M>,
    {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Send(P::AnyRequest::from(message), tx))
            .await
            .map_err(|_| CallError::Closed)?;
        rx.await.map_err(|_| CallError::Closed)?
    }

    /// Deviations, refusals and keepalive failures, from now on.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Closes the connection; calls in flight fail with `ConnectionLost`.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close).await;
        self.closed().await;
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Waits until the connection is closed.
    pub async fn closed(&self) {
        let mut closed = self.closed.clone();
        let _ = closed.wait_for(|c| *c).await;
    }

    pub(crate) async fn drain(&self, deadline: Instant) {
        let _ = self.commands.send(Command::Drain(deadline)).await;
    }
}

/// The parts the driver keeps.
pub(crate) struct Driver<P: Protocol> {
    pub endpoint: Endpoint<P>,
    pub router: Router<P>,
    pub keepalive: Keepalive,
    pub context: Context,
}

/// Starts a connection's driver task; returns its handle and a receiver that
/// fires when it ends.
pub(crate) fn spawn<P, S>(ws: WebSocketStream<S>, driver: Driver<P>) -> Connection<P>
where
    P: Protocol,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (commands, rx) = mpsc::channel(64);
    let (notices, _) = broadcast::channel(NOTICES);
    let (closed_tx, closed) = watch::channel(false);
    let connection = Connection {
        shared: Arc::new(Shared {
            charge_point_id: Arc::clone(&driver.context.charge_point_id),
            version: P::VERSION,
        }),
        commands,
        notices: notices.clone(),
        closed,
    };
    tokio::spawn(async move {
        run(ws, driver, rx, notices).await;
        let _ = closed_tx.send(true);
    });
    connection
}

type Answer<P> = (String, Result<<P as Protocol>::AnyResponse, HandlerError>);

async fn run<P, S>(
    mut ws: WebSocketStream<S>,
    mut d: Driver<P>,
    mut commands: mpsc::Receiver<Command<P>>,
    notices: broadcast::Sender<Notice>,
) where
    P: Protocol,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut pending: HashMap<CallId, oneshot::Sender<Result<P::AnyResponse, CallFailure>>> =
        HashMap::new();
    let (answers_tx, mut answers) = mpsc::unbounded_channel::<Answer<P>>();
    let mut running_handlers = 0usize;
    let mut next_ping = d.keepalive.ping_interval.map(|i| Instant::now() + i);
    let mut pong_due: Option<Instant> = None;
    let mut draining: Option<Instant> = None;
    let far = || Instant::now() + Duration::from_secs(86_400);

    loop {
        // Drain the endpoint: transmit, then events (which may transmit
        // again), then read its timeout.
        loop {
            while let Some(text) = d.endpoint.poll_transmit() {
                if ws.send(Message::text(text)).await.is_err() {
                    d.endpoint.handle_closed(std_now());
                }
            }
            let Some(event) = d.endpoint.poll_event() else {
                break;
            };
            match event {
                Event::Request { id, request } => {
                    let action = P::action_name(P::request_action(&request));
                    match d.router.call_handler(action) {
                        Some(handler) => {
                            running_handlers += 1;
                            let answers = answers_tx.clone();
                            let ctx = d.context.clone();
                            tokio::spawn(async move {
                                let result = handler(ctx, request).await;
                                let _ = answers.send((id, result));
                            });
                        }
                        None => {
                            let _ = d.endpoint.respond_error(
                                &id,
                                ErrorCode::NotImplemented,
                                &format!("no handler for `{action}`"),
                            );
                        }
                    }
                }
                Event::Send { message, .. } => {
                    let action = P::action_name(P::request_action(&message));
                    if let Some(handler) = d.router.send_handler(action) {
                        tokio::spawn(handler(d.context.clone(), message));
                    }
                }
                Event::Response { call, result } => {
                    if let Some(waiter) = pending.remove(&call) {
                        let _ = waiter.send(result);
                    }
                }
                Event::Deviation {
                    action,
                    path,
                    kind,
                    detail,
                    ..
                } => {
                    let _ = notices.send(Notice::Deviation {
                        action,
                        path,
                        kind,
                        detail,
                    });
                }
                Event::Rejected {
                    id, code, reason, ..
                } => {
                    let _ = notices.send(Notice::Rejected { id, code, reason });
                }
                Event::ResultRefused { id, code, .. } => {
                    let _ = notices.send(Notice::ResultRefused { id, code });
                }
            }
        }
        if d.endpoint.is_closed() {
            break;
        }
        if let Some(deadline) = draining
            && ((!d.endpoint.has_call_in_flight()
                && d.endpoint.queued_calls() == 0
                && running_handlers == 0)
                || Instant::now() >= deadline)
        {
            close(&mut ws, &mut d.endpoint).await;
            continue;
        }
        let timeout = d
            .endpoint
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(far);
        let ping_at = pong_due.or(next_ping).unwrap_or_else(far);
        let drain_at = draining.unwrap_or_else(far);

        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => d.endpoint.handle_text(std_now(), text.as_str()),
                Some(Ok(Message::Pong(_))) => pong_due = None,
                Some(Ok(Message::Ping(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    // OCPP-J is text only.
                    let _ = notices.send(Notice::Rejected { id: None, code: None, reason: "binary frame".into() });
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => d.endpoint.handle_closed(std_now()),
            },
            command = commands.recv() => match command {
                Some(Command::Call(request, reply)) => {
                    if draining.is_some() {
                        let _ = reply.send(Err(CallFailure::ConnectionLost));
                    } else {
                        match d.endpoint.call(std_now(), request) {
                            Ok(call) => { pending.insert(call, reply); }
                            Err(e) => { let _ = reply.send(Err(CallFailure::Refused(e))); }
                        }
                    }
                }
                Some(Command::Send(message, reply)) => {
                    let _ = reply.send(d.endpoint.send(message));
                }
                Some(Command::Drain(deadline)) => draining = Some(deadline),
                Some(Command::Close) | None => close(&mut ws, &mut d.endpoint).await,
            },
            Some((id, result)) = answers.recv() => {
                running_handlers = running_handlers.saturating_sub(1);
                let sent = match result {
                    Ok(response) => d.endpoint.respond(&id, response).map_err(|e| e.to_string()),
                    Err(e) => d.endpoint.respond_error(&id, e.code, &e.description).map_err(|e| e.to_string()),
                };
                if let Err(reason) = sent {
                    // The handler's answer broke the schema: the CALL still gets its one reply.
                    let _ = d.endpoint.respond_error(&id, ErrorCode::InternalError, &reason);
                }
            }
            () = sleep_until(timeout) => d.endpoint.handle_timeout(std_now()),
            () = sleep_until(ping_at) => {
                if pong_due.is_some() {
                    let _ = notices.send(Notice::PingTimeout);
                    d.endpoint.handle_closed(std_now());
                } else {
                    let _ = ws.send(Message::Ping(Vec::new().into())).await;
                    pong_due = Some(Instant::now() + d.keepalive.pong_timeout);
                    next_ping = d.keepalive.ping_interval.map(|i| Instant::now() + i);
                }
            }
            () = sleep_until(drain_at) => {}
        }
    }
    let _ = ws.close(None).await;
}

/// Closes the socket normally and fails what is pending.
async fn close<P: Protocol, S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    endpoint: &mut Endpoint<P>,
) {
    let _ = ws
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }))
        .await;
    endpoint.handle_closed(std_now());
}

/// The endpoint's clock, read here (the endpoint reads none).
fn std_now() -> std::time::Instant {
    Instant::now().into_std()
}
