//! The sans-IO OCPP-J endpoint: one per connection, either side.
//!
//! It correlates replies with calls, keeps one CALL in flight per
//! direction (later calls wait in a bounded FIFO queue), times calls out,
//! validates every payload in both directions, answers every incoming CALL
//! exactly once (with an error where the message is bad), and applies the
//! connection's [`Tolerance`] policy. It reads no clock and no OS
//! randomness: time comes in as `now`, message ids from an
//! [`IdGenerator`].
//!
//! # Driving it
//!
//! Feed it what happens (`handle_text`, `handle_timeout`, `handle_closed`)
//! and what the application wants (`call`, `respond`, `respond_error`,
//! `send`). After **any** of these, drain in this order:
//!
//! 1. [`poll_transmit`](Endpoint::poll_transmit) until `None`: the texts to
//!    write to the socket, in order;
//! 2. [`poll_event`](Endpoint::poll_event) until `None`: what the
//!    application must see or answer;
//! 3. [`poll_timeout`](Endpoint::poll_timeout): when to call
//!    `handle_timeout` next, if nothing else happens first.
//!
//! Two endpoints wired by hand, a charge point calling a CSMS:
//!
//! ```
//! use std::time::Instant;
//! use ocpp_rpc::endpoint::{Config, Endpoint, Event};
//! use ocpp_types::{Role, v201};
//!
//! let now = Instant::now();
//! let mut cp = Endpoint::<v201::V201>::new(Config::new(Role::ChargePoint), now);
//! let mut csms = Endpoint::<v201::V201>::new(Config::new(Role::Csms), now);
//!
//! let call = cp.call(now, v201::HeartbeatRequest::default())?;
//! while let Some(text) = cp.poll_transmit() {
//!     csms.handle_text(now, &text);
//! }
//! while let Some(event) = csms.poll_event() {
//!     if let Event::Request { id, request: v201::AnyRequest::Heartbeat(_) } = event {
//!         let time = "2025-01-01T00:00:00Z".parse()?;
//!         csms.respond(&id, v201::HeartbeatResponse { current_time: time, custom_data: None })?;
//!     }
//! }
//! while let Some(text) = csms.poll_transmit() {
//!     cp.handle_text(now, &text);
//! }
//! match cp.poll_event() {
//!     Some(Event::Response { call: c, result: Ok(v201::AnyResponse::Heartbeat(_)) }) => assert_eq!(c, call),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(cp.poll_timeout(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod event;
mod ids;
mod tolerance;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use ocpp_types::{Protocol, Role, Validate, Version, Violation};
use serde::{Deserialize, Serialize};

pub use event::{CallError, CallFailure, CallId, Event, RespondError};
pub use ids::{IdGenerator, RandomIds, SequentialIds};
pub use tolerance::{DeviationKind, FieldDefault, Tolerance};

use crate::error::{Cause, ErrorCode, Reply};
use crate::frame::{self, Frame, FrameError, MessageType};
use crate::machine::Machine;
use tolerance::{Repair, decode_tolerant};

/// How an endpoint behaves. Serde-serialisable, so that it can live in a
/// configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Which side this endpoint is: it decides which actions it may send
    /// and which it accepts.
    pub role: Role,
    /// How long a CALL waits for its answer (OCA's guidance: start at 30 s).
    #[serde(with = "seconds")]
    pub call_timeout: Duration,
    /// How many calls may wait behind the one in flight.
    pub max_queued_calls: usize,
    /// The longest incoming text read, in bytes.
    pub max_frame_len: usize,
    /// The seed of the default message id generator.
    pub id_seed: u64,
    /// Which peer deviations are accepted and reported.
    pub tolerance: Tolerance,
}

impl Config {
    /// The defaults for `role`: 30 s timeout, 64 queued calls, 1 MiB frames,
    /// strict validation.
    pub fn new(role: Role) -> Self {
        Config {
            role,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            role: Role::ChargePoint,
            call_timeout: Duration::from_secs(30),
            max_queued_calls: 64,
            max_frame_len: 1 << 20,
            id_seed: 0,
            tolerance: Tolerance::strict(),
        }
    }
}

mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Why an incoming message is refused: its entry in the cause table, and
/// the reason reported.
type Refusal = (Cause, String);

/// The [`Event::Deviation`]s of one incoming message, reported before it.
type Deviations<P> = Vec<Event<P>>;

/// Replies to timed-out calls remembered, to tell a late reply from a stray one.
const TIMED_OUT_REMEMBERED: usize = 32;

/// The longest error description 2.x allows.
const MAX_DESCRIPTION: usize = 255;

struct Outgoing<P: Protocol> {
    call: CallId,
    action: P::Action,
    wire_id: String,
    text: String,
}

struct InFlight<P: Protocol> {
    call: CallId,
    action: P::Action,
    wire_id: String,
    deadline: Instant,
}

/// One OCPP-J connection's RPC state; see the [module docs](self).
pub struct Endpoint<P: Protocol> {
    config: Config,
    ids: Box<dyn IdGenerator>,
    next_call: u64,
    in_flight: Option<InFlight<P>>,
    queue: VecDeque<Outgoing<P>>,
    /// Incoming CALLs not yet answered, by message id.
    unanswered: HashMap<String, P::Action>,
    /// The key of the last CALL answered, kept to hold the next one's id
    /// without allocating.
    spare_key: String,
    timed_out: VecDeque<String>,
    transmit: VecDeque<String>,
    events: VecDeque<Event<P>>,
    closed: bool,
}

/// An endpoint is one connection: it starts connected and
/// [`handle_connected`](Machine::handle_connected) does nothing.
impl<P: Protocol> Machine for Endpoint<P> {
    type Event = Event<P>;

    fn handle_connected(&mut self, _now: Instant) {}
    fn handle_text(&mut self, now: Instant, text: &str) {
        Endpoint::handle_text(self, now, text);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Endpoint::handle_timeout(self, now);
    }
    fn handle_closed(&mut self, now: Instant) {
        Endpoint::handle_closed(self, now);
    }
    fn poll_transmit(&mut self) -> Option<String> {
        Endpoint::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<Event<P>> {
        Endpoint::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Endpoint::poll_timeout(self)
    }
}

impl<P: Protocol> std::fmt::Debug for Endpoint<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("version", &P::VERSION)
            .field("role", &self.config.role)
            .field("in_flight", &self.in_flight.as_ref().map(|c| &c.wire_id))
            .field("queued", &self.queue.len())
            .field("unanswered", &self.unanswered.len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl<P: Protocol> Endpoint<P> {
    /// A new endpoint with ids from [`RandomIds`] seeded by `config.id_seed`.
    pub fn new(config: Config, now: Instant) -> Self {
        let ids = Box::new(RandomIds::new(config.id_seed));
        Self::with_ids(config, ids, now)
    }

    /// A new endpoint with ids from `ids`.
    pub fn with_ids(config: Config, ids: Box<dyn IdGenerator>, _now: Instant) -> Self {
        Endpoint {
            config,
            ids,
            next_call: 0,
            in_flight: None,
            queue: VecDeque::new(),
            unanswered: HashMap::new(),
            spare_key: String::new(),
            timed_out: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// The version spoken.
    pub fn version(&self) -> Version {
        P::VERSION
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the tolerance policy (for example after identifying the charger).
    pub fn set_tolerance(&mut self, tolerance: Tolerance) {
        self.config.tolerance = tolerance;
    }

    /// Whether [`handle_closed`](Self::handle_closed) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Calls waiting behind the one in flight.
    pub fn queued_calls(&self) -> usize {
        self.queue.len()
    }

    /// Whether a call is waiting for its answer.
    pub fn has_call_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    fn peer(&self) -> Role {
        match self.config.role {
            Role::ChargePoint => Role::Csms,
            Role::Csms => Role::ChargePoint,
        }
    }

    // ----- what the application wants -----

    /// Sends a CALL, or queues it behind the one in flight. The payload is
    /// validated first: nothing invalid goes on the wire.
    pub fn call(
        &mut self,
        now: Instant,
        request: impl Into<P::AnyRequest>,
    ) -> Result<CallId, CallError> {
        let request = request.into();
        let action = P::request_action(&request);
        let name = P::action_name(action);
        if self.closed {
            return Err(CallError::Closed);
        }
        if P::is_send(action) {
            return Err(CallError::WrongFrameType(name));
        }
        if !P::is_sent_by(action, self.config.role) {
            return Err(CallError::WrongDirection(name));
        }
        if self.in_flight.is_some() && self.queue.len() >= self.config.max_queued_calls {
            return Err(CallError::QueueFull(self.queue.len()));
        }
        request.validate().map_err(CallError::Invalid)?;
        let wire_id = self.ids.next_id();
        let text = frame::encode_action_frame(2, &wire_id, name, &request)
            .map_err(|e| CallError::Encode(e.to_string()))?;
        self.next_call += 1;
        let call = CallId(self.next_call);
        let outgoing = Outgoing {
            call,
            action,
            wire_id,
            text,
        };
        // Nothing in flight means nothing queued: the call goes out at once.
        if self.in_flight.is_some() {
            self.queue.push_back(outgoing);
        } else {
            self.start(now, outgoing);
        }
        Ok(call)
    }

    /// Sends a SEND message (2.1): never answered, not held behind a CALL.
    pub fn send(&mut self, message: impl Into<P::AnyRequest>) -> Result<(), CallError> {
        let message = message.into();
        let action = P::request_action(&message);
        let name = P::action_name(action);
        if self.closed {
            return Err(CallError::Closed);
        }
        if !P::is_send(action) {
            return Err(CallError::WrongFrameType(name));
        }
        if !P::is_sent_by(action, self.config.role) {
            return Err(CallError::WrongDirection(name));
        }
        message.validate().map_err(CallError::Invalid)?;
        let text = frame::encode_action_frame(6, &self.ids.next_id(), name, &message)
            .map_err(|e| CallError::Encode(e.to_string()))?;
        self.transmit.push_back(text);
        Ok(())
    }

    /// Answers the incoming CALL `id` with a CALLRESULT. An invalid response
    /// is refused and the CALL stays unanswered.
    pub fn respond(
        &mut self,
        id: &str,
        response: impl Into<P::AnyResponse>,
    ) -> Result<(), RespondError> {
        let response = response.into();
        // Taken out at once (one hash of the id) and put back if refused.
        let Some((key, action)) = self.unanswered.remove_entry(id) else {
            return Err(RespondError::UnknownId(id.to_owned()));
        };
        match Self::encode_response(id, action, &response) {
            Ok(text) => {
                self.transmit.push_back(text);
                self.spare_key = key;
                Ok(())
            }
            Err(err) => {
                self.unanswered.insert(key, action);
                Err(err)
            }
        }
    }

    /// The CALLRESULT text for a response to a CALL of `action`, if valid.
    fn encode_response(
        id: &str,
        action: P::Action,
        response: &P::AnyResponse,
    ) -> Result<String, RespondError> {
        let found = P::response_action(response);
        if found != action {
            return Err(RespondError::WrongAction {
                expected: P::action_name(action),
                found: P::action_name(found),
            });
        }
        response.validate().map_err(RespondError::Invalid)?;
        frame::encode_result(id, response).map_err(|e| RespondError::Encode(e.to_string()))
    }

    /// Answers the incoming CALL `id` with a CALLERROR; the code is spelled
    /// for the connection's version, the description cut to 255 characters.
    pub fn respond_error(
        &mut self,
        id: &str,
        code: ErrorCode,
        description: &str,
    ) -> Result<(), RespondError> {
        if self.unanswered.remove(id).is_none() {
            return Err(RespondError::UnknownId(id.to_owned()));
        }
        self.push_error(MessageType::CallError, id, &code, description);
        Ok(())
    }

    // ----- what happens -----

    /// Reads one text message from the peer.
    pub fn handle_text(&mut self, now: Instant, text: &str) {
        if self.closed {
            return;
        }
        match Frame::parse(text, P::VERSION, self.config.max_frame_len) {
            Ok(Frame::Call {
                id,
                action,
                payload,
            }) => self.on_call(&id, &action, payload.get()),
            Ok(Frame::Send {
                id,
                action,
                payload,
            }) => self.on_send(&id, &action, payload.get()),
            Ok(Frame::CallResult { id, payload }) => self.on_result(now, &id, payload.get()),
            Ok(Frame::CallError {
                id,
                code,
                description,
                details,
            }) => self.on_error(now, &id, code, &description, details.get()),
            Ok(Frame::CallResultError {
                id,
                code,
                description,
                ..
            }) => self.events.push_back(Event::ResultRefused {
                id: id.into_owned(),
                code,
                description: description.into_owned(),
            }),
            Err(err) => self.on_frame_error(now, text, err),
        }
    }

    /// Resolves the call in flight as [`CallFailure::Timeout`] if its time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(flight) = self.in_flight.take_if(|f| f.deadline <= now) else {
            return;
        };
        self.timed_out.push_back(flight.wire_id);
        if self.timed_out.len() > TIMED_OUT_REMEMBERED {
            self.timed_out.pop_front();
        }
        self.events.push_back(Event::Response {
            call: flight.call,
            result: Err(CallFailure::Timeout),
        });
        self.start_next(now);
    }

    /// The connection is gone: the call in flight and every queued call
    /// resolve as [`CallFailure::ConnectionLost`] at once, in order.
    pub fn handle_closed(&mut self, _now: Instant) {
        self.closed = true;
        if let Some(flight) = self.in_flight.take() {
            self.events.push_back(Event::Response {
                call: flight.call,
                result: Err(CallFailure::ConnectionLost),
            });
        }
        for queued in self.queue.drain(..) {
            self.events.push_back(Event::Response {
                call: queued.call,
                result: Err(CallFailure::ConnectionLost),
            });
        }
        self.unanswered.clear();
        self.transmit.clear();
    }

    // ----- what comes out -----

    /// The next text to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmit.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<P>> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.as_ref().map(|f| f.deadline)
    }

    // ----- internals -----

    fn start_next(&mut self, now: Instant) {
        if self.in_flight.is_some() {
            return;
        }
        if let Some(next) = self.queue.pop_front() {
            self.start(now, next);
        }
    }

    fn start(&mut self, now: Instant, next: Outgoing<P>) {
        self.transmit.push_back(next.text);
        self.in_flight = Some(InFlight {
            call: next.call,
            action: next.action,
            wire_id: next.wire_id,
            deadline: now + self.config.call_timeout,
        });
    }

    fn on_call(&mut self, id: &str, action_name: &str, payload: &str) {
        // The CALL is read before its id is looked up, so that an accepted
        // one costs a single hash of the id (the insertion). A duplicate
        // is still reported as such whatever its payload, and without the
        // deviations its reading found.
        let checked = self
            .check_incoming(action_name, payload, MessageType::Call)
            .and_then(|action| Ok((action, self.decode_request(id, action_name, payload)?)));
        let duplicate = match checked {
            Ok((action, (request, deviations))) => {
                let key = self.key_for(id);
                match self.unanswered.entry(key) {
                    Entry::Vacant(slot) => {
                        slot.insert(action);
                        self.report(deviations);
                        self.events.push_back(Event::Request {
                            id: id.to_owned(),
                            request,
                        });
                        false
                    }
                    Entry::Occupied(_) => true,
                }
            }
            Err(_) if self.unanswered.contains_key(id) => true,
            Err((cause, reason)) => return self.reject(Some(id), Some(action_name), cause, reason),
        };
        if duplicate {
            // Answering would leave the peer two replies for one id.
            self.events.push_back(Event::Rejected {
                id: Some(id.to_owned()),
                action: Some(action_name.to_owned()),
                code: None,
                reason: "a second CALL with the id of an unanswered one".into(),
            });
        }
    }

    fn on_send(&mut self, id: &str, action_name: &str, payload: &str) {
        // A SEND is never answered, whatever is wrong with it.
        let checked = self
            .check_incoming(action_name, payload, MessageType::Send)
            .and_then(|_| self.decode_request(id, action_name, payload));
        match checked {
            Ok((message, deviations)) => {
                self.report(deviations);
                self.events.push_back(Event::Send {
                    id: id.to_owned(),
                    message,
                });
            }
            Err((_, reason)) => self.events.push_back(Event::Rejected {
                id: Some(id.to_owned()),
                action: Some(action_name.to_owned()),
                code: None,
                reason,
            }),
        }
    }

    /// The action of an incoming CALL or SEND, if this side accepts it.
    fn check_incoming(
        &self,
        action_name: &str,
        payload: &str,
        frame: MessageType,
    ) -> Result<P::Action, (Cause, String)> {
        let Some(action) = P::action(action_name) else {
            return Err((
                Cause::UnknownAction,
                format!("unknown action `{action_name}`"),
            ));
        };
        if P::is_send(action) != (frame == MessageType::Send) {
            return Err((
                Cause::NotSupported,
                format!("`{action_name}` does not travel in a {frame}"),
            ));
        }
        if !P::is_sent_by(action, self.peer()) {
            return Err((
                Cause::NotSupported,
                format!("`{action_name}` is not sent in this direction"),
            ));
        }
        if !payload.starts_with('{') {
            return Err((
                Cause::PayloadNotObject,
                "the payload is not a JSON object".into(),
            ));
        }
        Ok(action)
    }

    /// `id` as a table key, in the spare key's buffer if there is one.
    fn key_for(&mut self, id: &str) -> String {
        let mut key = std::mem::take(&mut self.spare_key);
        key.clear();
        key.push_str(id);
        key
    }

    /// Queues the deviation events of a message, before its own event.
    fn report(&mut self, deviations: Deviations<P>) {
        if !deviations.is_empty() {
            self.events.extend(deviations);
        }
    }

    /// The request and the deviations to report before it.
    fn decode_request(
        &self,
        id: &str,
        action_name: &str,
        payload: &str,
    ) -> Result<(P::AnyRequest, Deviations<P>), Refusal> {
        let tolerance = &self.config.tolerance;
        let (request, repairs) = decode_tolerant(tolerance, action_name, payload, |p| {
            P::decode_request(action_name, p)
        })
        .map_err(|e| (Cause::of_decode(e.kind), e.to_string()))?;
        let deviations = self.accept(id, action_name, &request, repairs)?;
        Ok((request, deviations))
    }

    /// Checks the constraints: the repairs and tolerated violations as
    /// deviation events, or the first violation the policy refuses.
    fn accept(
        &self,
        id: &str,
        action_name: &str,
        value: &impl Validate,
        repairs: Vec<Repair>,
    ) -> Result<Deviations<P>, Refusal> {
        let violations: Vec<Violation> = match value.validate() {
            // The common case, kept clear of the iterator plumbing below.
            Ok(()) if repairs.is_empty() => return Ok(Vec::new()),
            Ok(()) => Vec::new(),
            Err(v) => v.0,
        };
        if let Some(refused) = violations
            .iter()
            .find(|v| !self.config.tolerance.accepts(v))
        {
            return Err((
                Cause::of_constraint(&refused.constraint),
                refused.to_string(),
            ));
        }
        let deviations = repairs
            .into_iter()
            .map(|r| (r.path, r.kind, r.detail))
            .chain(
                violations
                    .iter()
                    .map(|v| (v.path.clone(), DeviationKind::of(v), v.to_string())),
            );
        Ok(deviations
            .map(|(path, kind, detail)| Event::Deviation {
                id: id.to_owned(),
                action: action_name.to_owned(),
                path,
                kind,
                detail,
            })
            .collect())
    }

    fn on_result(&mut self, now: Instant, id: &str, payload: &str) {
        let Some(flight) = self.in_flight.take_if(|f| f.wire_id == id) else {
            return self.stray_reply(id, "CALLRESULT");
        };
        let name = P::action_name(flight.action);
        let decoded = decode_tolerant(&self.config.tolerance, name, payload, |p| {
            P::decode_response(name, p)
        })
        .map_err(|e| (Cause::of_decode(e.kind), e.to_string()))
        .and_then(|(response, repairs)| {
            let deviations = self.accept(id, name, &response, repairs)?;
            Ok((response, deviations))
        });
        let result = match decoded {
            Ok((response, deviations)) => {
                self.report(deviations);
                Ok(response)
            }
            Err((cause, reason)) => {
                if P::VERSION == Version::V21 {
                    // 2.1 FR.06: an invalid CALLRESULT is answered with CALLRESULTERROR.
                    if let Reply::Error(code) | Reply::ErrorToUnknownId(code) =
                        cause.reply(P::VERSION)
                    {
                        self.push_error(MessageType::CallResultError, id, &code, &reason);
                    }
                }
                Err(CallFailure::InvalidResponse(reason))
            }
        };
        self.events.push_back(Event::Response {
            call: flight.call,
            result,
        });
        self.start_next(now);
    }

    fn on_error(
        &mut self,
        now: Instant,
        id: &str,
        code: ErrorCode,
        description: &str,
        details: &str,
    ) {
        let Some(flight) = self.in_flight.take_if(|f| f.wire_id == id) else {
            return self.stray_reply(id, "CALLERROR");
        };
        self.events.push_back(Event::Response {
            call: flight.call,
            result: Err(CallFailure::Error {
                code,
                description: description.to_owned(),
                details: details.to_owned(),
            }),
        });
        self.start_next(now);
    }

    /// A reply that matches no call in flight: dropped and reported, never answered.
    fn stray_reply(&mut self, id: &str, kind: &str) {
        let reason = if self.timed_out.iter().any(|t| t == id) {
            format!("late {kind} for a call that timed out")
        } else {
            format!("{kind} for no call in flight")
        };
        self.events.push_back(Event::Rejected {
            id: Some(id.to_owned()),
            action: None,
            code: None,
            reason,
        });
    }

    fn on_frame_error(&mut self, now: Instant, text: &str, err: FrameError) {
        match err {
            FrameError::Malformed {
                message_type: MessageType::Call,
                id,
                reason,
            } => self.reject_call(&id, Cause::MalformedCall, reason.into()),
            FrameError::Malformed {
                message_type: message_type @ (MessageType::CallResult | MessageType::CallError),
                id,
                reason,
            } if self.in_flight.as_ref().is_some_and(|f| f.wire_id == id) => {
                // The answer to our call, but not of its frame type's shape.
                let Some(flight) = self.in_flight.take() else {
                    return;
                };
                if P::VERSION == Version::V21 && message_type == MessageType::CallResult {
                    self.push_error(
                        MessageType::CallResultError,
                        &id,
                        &ErrorCode::FormatViolation,
                        reason,
                    );
                }
                self.events.push_back(Event::Response {
                    call: flight.call,
                    result: Err(CallFailure::InvalidResponse(reason.into())),
                });
                self.start_next(now);
            }
            FrameError::Malformed { id, reason, .. } => {
                self.events.push_back(Event::Rejected {
                    id: Some(id),
                    action: None,
                    code: None,
                    reason: reason.into(),
                });
            }
            FrameError::UnknownMessageType { .. } => {
                self.reject(None, None, Cause::UnknownMessageType, err.to_string());
            }
            FrameError::TooLarge { .. } => match call_id_prefix(text) {
                // 2.x B06.FR.17: a message over the size limit is a FormatViolation.
                Some(id) => self.reject_call(&id, Cause::PayloadNotObject, err.to_string()),
                None => self.reject(None, None, Cause::UnreadableFrame, err.to_string()),
            },
            FrameError::NotAnArray(_) | FrameError::NoMessageType | FrameError::BadId => {
                self.reject(None, None, Cause::UnreadableFrame, err.to_string());
            }
        }
    }

    /// Answers a broken CALL as the cause table says, unless its id is that
    /// of a CALL still unanswered: a second reply to one id would leave the
    /// peer two answers, so it is only reported.
    fn reject_call(&mut self, id: &str, cause: Cause, reason: String) {
        if self.unanswered.contains_key(id) {
            self.events.push_back(Event::Rejected {
                id: Some(id.to_owned()),
                action: None,
                code: None,
                reason: format!("{reason}, with the id of an unanswered CALL"),
            });
            return;
        }
        self.reject(Some(id), None, cause, reason);
    }

    /// Answers (or drops) a failed incoming message as the cause table says.
    fn reject(&mut self, id: Option<&str>, action: Option<&str>, cause: Cause, reason: String) {
        let code = match (cause.reply(P::VERSION), id) {
            (Reply::Drop, _) => None,
            (Reply::Error(code), Some(id)) => {
                self.push_error(MessageType::CallError, id, &code, &reason);
                Some(code)
            }
            (Reply::Error(code) | Reply::ErrorToUnknownId(code), _) => {
                // Never echo what could not be read.
                self.push_error(MessageType::CallError, "-1", &code, "");
                Some(code)
            }
        };
        self.events.push_back(Event::Rejected {
            id: id.map(str::to_owned),
            action: action.map(str::to_owned),
            code,
            reason,
        });
    }

    fn push_error(&mut self, ty: MessageType, id: &str, code: &ErrorCode, description: &str) {
        let description = match description.char_indices().nth(MAX_DESCRIPTION) {
            Some((cut, _)) => &description[..cut],
            None => description,
        };
        let mut text = String::new();
        frame::write_error(
            &mut text,
            ty as u8,
            id,
            code.as_str(P::VERSION),
            description,
            "{}",
        );
        self.transmit.push_back(text);
    }
}

/// The message id of a text that starts like a CALL (`[2,"id",`), read
/// without parsing the rest: used for frames too large to parse.
fn call_id_prefix(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix('[')?.trim_start();
    let rest = rest
        .strip_prefix('2')?
        .trim_start()
        .strip_prefix(',')?
        .trim_start();
    let body = rest.strip_prefix('"')?;
    let end = body.find('"')?;
    let id = &body[..end];
    (id.len() <= frame::MAX_ID_LEN && !id.contains('\\')).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_of_an_oversized_call_is_read_from_its_start() {
        assert_eq!(call_id_prefix(r#"[2, "abc", "X", {"#), Some("abc".into()));
        assert_eq!(call_id_prefix(r#"[3,"abc",{}]"#), None);
        assert_eq!(call_id_prefix("garbage"), None);
    }

    #[test]
    fn the_config_round_trips_through_serde() {
        let config = Config::new(Role::Csms);
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);
    }
}
