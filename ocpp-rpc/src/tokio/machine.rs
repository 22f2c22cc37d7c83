//! Any sans-IO [`Machine`] on a WebSocket, as a charge point: the machine
//! lives across connections, so it is told when one comes up and goes
//! down, and its timers keep running while it is offline (a charger keeps
//! metering and queueing without its CSMS).
//!
//! [`run_client`] moves the machine onto a task and returns a
//! [`MachineHandle`] to reach it and the receiver of its events. The
//! application changes the machine only through
//! [`MachineHandle::with`], which runs a closure on the task with the
//! machine and the current instant, then drains it like every other input.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use ocpp_types::Version;

use super::client::{ClientConfig, Socket, open};
use super::connection::Keepalive;
use crate::machine::Machine;

/// A closure run on the machine's task.
type Job<M> = Box<dyn FnOnce(&mut M, std::time::Instant) + Send>;

enum Input<M> {
    Job(Job<M>),
    Stop,
}

/// The machine's task has ended ([`MachineHandle::stop`] was called).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the machine's task has stopped")]
pub struct Stopped;

/// A handle to a machine running on its task. Cheap to clone; the task
/// ends when [`stop`](Self::stop) is called or every handle is dropped.
pub struct MachineHandle<M> {
    inputs: mpsc::UnboundedSender<Input<M>>,
    connected: watch::Receiver<bool>,
}

impl<M> Clone for MachineHandle<M> {
    fn clone(&self) -> Self {
        MachineHandle {
            inputs: self.inputs.clone(),
            connected: self.connected.clone(),
        }
    }
}

impl<M> std::fmt::Debug for MachineHandle<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineHandle")
            .field("connected", &*self.connected.borrow())
            .finish()
    }
}

impl<M: Send + 'static> MachineHandle<M> {
    /// Runs `f` on the machine's task with the machine and the current
    /// instant, and returns what it returns. What `f` makes the machine
    /// write goes out at once; its events arrive on the event receiver.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut M, std::time::Instant) -> R + Send + 'static,
    ) -> Result<R, Stopped> {
        let (tx, rx) = oneshot::channel();
        let job: Job<M> = Box::new(move |machine, now| {
            let _ = tx.send(f(machine, now));
        });
        self.inputs.send(Input::Job(job)).map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until a connection is up, at most `limit`; whether it is.
    pub async fn connected(&self, limit: Duration) -> bool {
        let mut connected = self.connected.clone();
        matches!(timeout(limit, connected.wait_for(|c| *c)).await, Ok(Ok(_)))
    }

    /// Waits until the machine's task has ended.
    pub(crate) async fn ended(&self) {
        self.inputs.closed().await;
    }

    /// Closes the connection and ends the task. The machine's last events
    /// (those of `handle_closed`) are delivered first.
    pub async fn stop(&self) {
        let _ = self.inputs.send(Input::Stop);
        self.inputs.closed().await;
    }
}

/// Runs `machine` as a charge point of `version` connecting to the CSMS
/// of `config` (reconnecting with `config.reconnect`; with `None` it stays
/// offline after the first failure or drop, its timers still running).
/// `config.endpoint` is not used: the machine brings its own.
///
/// Events go to an unbounded channel, so that an application that calls
/// [`MachineHandle::with`] between reads can never deadlock the task; read
/// it steadily.
pub fn run_client<M>(
    config: ClientConfig,
    version: Version,
    machine: M,
) -> (MachineHandle<M>, mpsc::UnboundedReceiver<M::Event>)
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
{
    let (inputs, inputs_rx) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    let (connected_tx, connected) = watch::channel(false);
    tokio::spawn(drive(
        config,
        version,
        Driven {
            machine,
            inputs: inputs_rx,
            events,
        },
        connected_tx,
    ));
    (MachineHandle { inputs, connected }, events_rx)
}

/// Runs `machine` on one accepted connection (the CSMS side): it is told
/// `handle_connected` now and `handle_closed` when the connection ends (the
/// charger closes or vanishes, or [`MachineHandle::stop`]); then its task
/// ends and the event receiver closes after its last events.
pub(crate) fn serve_connection<M, S>(
    ws: WebSocketStream<S>,
    keepalive: Keepalive,
    machine: M,
) -> (MachineHandle<M>, mpsc::UnboundedReceiver<M::Event>)
where
    M: Machine + Send + 'static,
    M::Event: Send + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (inputs, inputs_rx) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    let (connected_tx, connected) = watch::channel(true);
    let mut d = Driven {
        machine,
        inputs: inputs_rx,
        events,
    };
    tokio::spawn(async move {
        d.machine.handle_connected(std_now());
        d.online(ws, keepalive).await;
        d.machine.handle_closed(std_now());
        let _ = connected_tx.send(false);
        d.flush(None);
    });
    (MachineHandle { inputs, connected }, events_rx)
}

struct Driven<M: Machine> {
    machine: M,
    inputs: mpsc::UnboundedReceiver<Input<M>>,
    events: mpsc::UnboundedSender<M::Event>,
}

/// What ended a phase of the driver.
#[derive(PartialEq, Eq)]
enum End {
    /// The connection dropped, or the offline wait is over.
    Next,
    /// The application stopped the machine.
    Stop,
}

async fn drive<M: Machine>(
    config: ClientConfig,
    version: Version,
    mut d: Driven<M>,
    connected: watch::Sender<bool>,
) {
    let mut failures = 0u32;
    let mut rng = super::random_seed();
    loop {
        let end = tokio::select! {
            opened = open(&config, version) => match opened {
                Ok(socket) => {
                    failures = 0;
                    let _ = connected.send(true);
                    d.machine.handle_connected(std_now());
                    let end = match socket {
                        Socket::Plain(ws) => d.online(ws, config.keepalive).await,
                        Socket::Tls(ws) => d.online(ws, config.keepalive).await,
                    };
                    d.machine.handle_closed(std_now());
                    let _ = connected.send(false);
                    end
                }
                Err(_) => End::Next,
            },
            // Inputs and timers are served while connecting too.
            end = d.offline(None) => end,
        };
        if end == End::Stop {
            d.flush(None);
            return;
        }
        let until = config
            .reconnect
            .map(|backoff| Instant::now() + backoff.next_delay(&mut failures, &mut rng));
        if d.offline(until).await == End::Stop {
            d.flush(None);
            return;
        }
    }
}

impl<M: Machine> Driven<M> {
    /// Hands over what the machine wrote (to `ws`, or nowhere while
    /// offline) and its events.
    fn flush(&mut self, mut out: Option<&mut Vec<String>>) {
        while let Some(text) = self.machine.poll_transmit() {
            if let Some(out) = out.as_deref_mut() {
                out.push(text);
            }
        }
        while let Some(event) = self.machine.poll_event() {
            let _ = self.events.send(event);
        }
    }

    fn run(&mut self, input: Option<Input<M>>) -> End {
        match input {
            Some(Input::Job(job)) => {
                job(&mut self.machine, std_now());
                End::Next
            }
            Some(Input::Stop) | None => End::Stop,
        }
    }

    fn next_timeout(&self) -> Instant {
        self.machine
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(far)
    }

    /// Serves a connection until it drops or the application stops.
    async fn online<S>(&mut self, mut ws: WebSocketStream<S>, keepalive: Keepalive) -> End
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut next_ping = keepalive.ping_interval.map(|i| Instant::now() + i);
        let mut pong_due: Option<Instant> = None;
        let mut out = Vec::new();
        loop {
            self.flush(Some(&mut out));
            for text in out.drain(..) {
                if ws.send(Message::text(text)).await.is_err() {
                    return End::Next;
                }
            }
            let ping_at = pong_due.or(next_ping).unwrap_or_else(far);
            let due = self.next_timeout();
            tokio::select! {
                message = ws.next() => match message {
                    Some(Ok(Message::Text(text))) => self.machine.handle_text(std_now(), text.as_str()),
                    Some(Ok(Message::Pong(_))) => pong_due = None,
                    // OCPP-J is text only; tungstenite answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Frame(_) | Message::Binary(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return End::Next,
                },
                input = self.inputs.recv() => {
                    if self.run(input) == End::Stop {
                        self.flush(Some(&mut out));
                        for text in out.drain(..) {
                            let _ = ws.send(Message::text(text)).await;
                        }
                        let _ = ws.close(None).await;
                        return End::Stop;
                    }
                }
                () = sleep_until(due) => self.machine.handle_timeout(std_now()),
                () = sleep_until(ping_at) => {
                    if pong_due.is_some() {
                        return End::Next;
                    }
                    let _ = ws.send(Message::Ping(Vec::new().into())).await;
                    pong_due = Some(Instant::now() + keepalive.pong_timeout);
                    next_ping = keepalive.ping_interval.map(|i| Instant::now() + i);
                }
            }
        }
    }

    /// Serves inputs and timers without a connection until `until` (or,
    /// with `None`, until the application stops).
    async fn offline(&mut self, until: Option<Instant>) -> End {
        let until = until.unwrap_or_else(far);
        loop {
            self.flush(None);
            let due = self.next_timeout();
            tokio::select! {
                input = self.inputs.recv() => {
                    if self.run(input) == End::Stop {
                        return End::Stop;
                    }
                }
                () = sleep_until(due) => self.machine.handle_timeout(std_now()),
                () = sleep_until(until) => return End::Next,
            }
        }
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400)
}

/// The machine's clock, read here (the machine reads none).
fn std_now() -> std::time::Instant {
    Instant::now().into_std()
}
