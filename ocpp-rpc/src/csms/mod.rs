//! The sans-IO CSMS session: one per charger connection, of any version
//! (1.6, 2.0.1, 2.1), with one event model for all of them.
//!
//! A [`Session`] wraps the connection's [`Endpoint`](crate::endpoint::Endpoint)
//! and is driven like every [`Machine`]: feed it text, timeouts and the
//! close, then drain `poll_transmit`, `poll_event`, `poll_timeout`.
//!
//! It **answers itself** what the protocol fixes: Heartbeat (currentTime
//! from its [`WallClock`]), StatusNotification, MeterValues,
//! StopTransaction, TransactionEvent without a token, FirmwareStatus and
//! every other notification whose response may be empty. It **asks the
//! application** for the rest through events carrying a [`Ticket`], which
//! the application answers later (after a database look-up, say) with a
//! method: [`answer_boot`](Session::answer_boot),
//! [`answer_authorization`](Session::answer_authorization),
//! [`answer_transaction_id`](Session::answer_transaction_id) (1.6),
//! [`answer_data_transfer`](Session::answer_data_transfer),
//! [`answer_request`](Session::answer_request). [`Config`] can answer boots,
//! tokens, 1.6 transaction ids and unknown DataTransfer vendors
//! automatically, so a development CSMS needs no code.
//!
//! A development CSMS answering a 1.6 charger's boot by itself:
//!
//! ```
//! use std::time::Instant;
//! use ocpp_rpc::csms::{Config, Event, Registration, Session};
//! use ocpp_rpc::machine::{Machine, WallClock};
//! use ocpp_types::Version;
//!
//! let now = Instant::now();
//! let clock = WallClock::new(now, "2025-01-01T00:00:00Z".parse()?);
//! let mut session = Session::new(Version::V16, Config::open(), clock, now);
//! session.handle_text(
//!     now,
//!     r#"[2,"1","BootNotification",{"chargePointVendor":"ACME","chargePointModel":"M1"}]"#,
//! );
//! assert_eq!(
//!     session.poll_transmit().as_deref(),
//!     Some(r#"[3,"1",{"currentTime":"2025-01-01T00:00:00Z","interval":300,"status":"Accepted"}]"#)
//! );
//! assert!(matches!(
//!     session.poll_event(),
//!     Some(Event::Booted { status: Registration::Accepted, .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The boot gate
//!
//! Until a boot is Accepted, every CALL but BootNotification is answered
//! `SecurityError` (2.x B02.FR.09/B03.FR.07 require it; the 1.6-J errata
//! recommend it). While **Pending**, the messages the CSMS asked for pass:
//! after an accepted TriggerMessage (1.6 ExtendedTriggerMessage) the
//! requested message, after an accepted GetBaseReport/GetReport the
//! NotifyReports. The CSMS side of the gate: before Accepted no remote
//! start or stop is sent; while Rejected nothing is
//! ([`CommandError::NotAllowed`]). The registration is durable state, so a
//! session [restored](Session::restore) for a reconnecting charger that
//! does not boot again starts Accepted; for one the CSMS has no state of,
//! `trigger_boot_when_unknown` asks for a BootNotification once.
//!
//! # One event model: the mapping
//!
//! | event | 1.6 | 2.0.1 / 2.1 |
//! |---|---|---|
//! | [`Booted`](Event::Booted) | BootNotification answered | the same |
//! | [`StatusChanged`](Event::StatusChanged) | StatusNotification; connectorId *n* is EVSE *n* connector 1, 0 is EVSE 0 connector 0; Preparing, Charging, SuspendedEV(SE), Finishing are Occupied | StatusNotification; NotifyEvent `Connector.AvailabilityState` |
//! | [`Fault`](Event::Fault) | StatusNotification with an errorCode other than NoError | NotifyEvent with variable `Problem` = true |
//! | [`AuthorizationRequested`](Event::AuthorizationRequested) | Authorize; StartTransaction's idTag | Authorize; TransactionEvent with an idToken (not Ended) |
//! | [`TransactionStarted`](Event::TransactionStarted) | StartTransaction, once its transactionId is issued; meter start = meterStart | the first TransactionEvent of a transactionId (normally Started); meter start = its `Transaction.Begin` energy register |
//! | [`TransactionUpdated`](Event::TransactionUpdated) | MeterValues with a transactionId; StopTransaction's transactionData | TransactionEvent meterValue |
//! | [`TransactionEnded`](Event::TransactionEnded) | StopTransaction; meter stop = meterStop | TransactionEvent Ended; meter stop = its `Transaction.End` register, else the last seen |
//! | [`MeterSamples`](Event::MeterSamples) | MeterValues without a transactionId | MeterValues |
//! | [`FirmwareStatus`](Event::FirmwareStatus) | (Signed)FirmwareStatusNotification | FirmwareStatusNotification |
//! | [`SeqNoGap`](Event::SeqNoGap) | – | a seqNo above the next expected |
//! | [`Duplicate`](Event::Duplicate) | StartTransaction with the connector, idTag, meterStart and timestamp of one answered (answered with the same transactionId); StopTransaction of an ended transaction | a seqNo already received |
//!
//! In start and end messages the total `Energy.Active.Import.Register`
//! reading of context `Transaction.Begin` / `Transaction.End` is the meter
//! start / stop and is not repeated in a `TransactionUpdated`. Samples are
//! normalised (see [`Sample`]): 1.6 string values are parsed as decimals
//! (signed or unreadable values are left out and reported as
//! [`Deviation`](Event::Deviation)), `kWh` becomes `Wh`, 2.x multipliers
//! are applied. The energy of a transaction is meter stop − meter start.
//! The token's 2.x type is the one version-specific field
//! ([`IdToken::kind`] is `None` on 1.6). A TransactionEvent Ended with an
//! idToken, like a 1.6 StopTransaction's idTag, is acknowledged without
//! asking.
//!
//! A 1.6 StartTransaction whose answer needs both an authorization and a
//! transaction id from the application gives `AuthorizationRequested`
//! then `TransactionIdRequested`; it is answered, and
//! `TransactionStarted` follows, once both are in.

mod command;
mod decimal_text;
mod event;
mod incoming;
mod meter;
mod status;
mod transactions;
mod v16;
mod v2x;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use chrono::{DateTime, Utc};
use ocpp_types::{Role, Version};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use command::{Availability, CommandError, RemoteStart, ResetKind, TriggerKind};
pub use event::{
    AuthPurpose, AuthStatus, Authorization, BootDecision, ChargePointInfo, ConnectorState,
    ConnectorStatus, DataTransferAnswer, DataTransferStatus, Event, IdToken, Registration, Sample,
    StopReason, Ticket,
};
pub use status::StatusTable;
pub use transactions::{Ledger, SeqNos, TransactionRecord};
pub use wire::{AnswerError, AnyRequest, AnyResponse, DecodeFailure};

use crate::endpoint::{self, CallId, IdGenerator, RandomIds};
use crate::error::ErrorCode;
use crate::machine::{Machine, WallClock};
use incoming::{Incoming, TxEvent, TxPhase};
use transactions::{SeqCheck, StartRecord};
use wire::{Wire, WireEvent};

/// How 1.6 transactionIds are issued.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TransactionIds {
    /// Ask the application ([`Event::TransactionIdRequested`]), which can
    /// keep them unique across chargers and restarts.
    #[default]
    Ask,
    /// Count up from `next`, per session state (for development and tests).
    Sequential {
        /// The first id.
        next: i32,
    },
}

/// How a session behaves. Serde-serialisable, for configuration files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The endpoint's configuration (its role is always CSMS).
    pub endpoint: endpoint::Config,
    /// Accept every boot without asking, with `heartbeat_interval`.
    pub auto_accept_boot: bool,
    /// The heartbeat interval sent with automatic acceptances, seconds.
    pub heartbeat_interval: u32,
    /// Accept every id token without asking (development).
    pub accept_all_tokens: bool,
    /// How 1.6 transactionIds are issued.
    pub transaction_ids: TransactionIds,
    /// The DataTransfer vendorIds the application answers; others are
    /// answered UnknownVendorId.
    pub data_transfer_vendors: Vec<String>,
    /// When a charger of unknown registration sends anything but a boot
    /// (it booted before this CSMS kept state, and does not boot on
    /// reconnect), ask it once for a BootNotification with TriggerMessage.
    pub trigger_boot_when_unknown: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            endpoint: endpoint::Config::new(Role::Csms),
            auto_accept_boot: false,
            heartbeat_interval: 300,
            accept_all_tokens: false,
            transaction_ids: TransactionIds::Ask,
            data_transfer_vendors: Vec::new(),
            trigger_boot_when_unknown: false,
        }
    }
}

impl Config {
    /// Everything automatic: boots and tokens accepted, 1.6 ids counted
    /// from 1, unknown chargers asked to boot. For development and tests.
    pub fn open() -> Self {
        Config {
            auto_accept_boot: true,
            trigger_boot_when_unknown: true,
            accept_all_tokens: true,
            transaction_ids: TransactionIds::Sequential { next: 1 },
            ..Config::default()
        }
    }
}

/// What a session keeps about a charger beyond one connection: store it
/// ([`Session::snapshot`]) and give it to the session of the next
/// connection ([`Session::restore`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    /// The registration state.
    pub registration: Registration,
    /// Who the charger said it is at its last boot.
    pub charge_point: Option<ChargePointInfo>,
    /// The last state of each connector.
    pub connectors: StatusTable,
    /// Running and recently ended transactions.
    pub transactions: Ledger,
    /// When the charger last sent anything.
    pub last_contact: Option<DateTime<Utc>>,
    /// The next sequential 1.6 transactionId ([`TransactionIds::Sequential`]).
    pub next_transaction_id: Option<i32>,
}

/// An outgoing command waiting for its answer.
struct Command {
    action: &'static str,
    unlocks: Vec<String>,
}

/// A 1.6 StartTransaction waiting for the application.
struct StartDraft {
    /// The CALL ids to answer (a repeat while waiting joins the first).
    ids: Vec<String>,
    connector: i32,
    id_tag: String,
    meter_start: i32,
    timestamp: DateTime<Utc>,
    authorization: Option<Authorization>,
    transaction_id: Option<i32>,
    /// The other ticket of the same draft, if two were issued.
    partner: Option<u64>,
}

/// An incoming CALL waiting for the application.
enum Pending {
    Boot {
        id: String,
        info: ChargePointInfo,
    },
    Authorize {
        id: String,
    },
    Start(StartDraft),
    /// The transaction-id ticket of a draft kept under its `main` ticket.
    StartPart {
        main: u64,
    },
    Transaction {
        id: String,
    },
    DataTransfer {
        id: String,
    },
    Other {
        id: String,
        action: &'static str,
    },
}

/// One charger connection's CSMS state machine; see the [module docs](self).
pub struct Session {
    config: Config,
    clock: WallClock,
    wire: Wire,
    state: SessionState,
    events: VecDeque<Event>,
    next_ticket: u64,
    pending: BTreeMap<u64, Pending>,
    commands: HashMap<CallId, Command>,
    /// What a Pending charger may send because the CSMS asked for it.
    unlocked: BTreeSet<String>,
    last_contact: Option<Instant>,
    boot_triggered: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("version", &self.wire.version())
            .field("registration", &self.state.registration)
            .field("pending", &self.pending.len())
            .field("commands", &self.commands.len())
            .finish()
    }
}

impl Session {
    /// A session for a new connection speaking `version`, its endpoint's
    /// message ids from [`RandomIds`] seeded by `config.endpoint.id_seed`
    /// (give each connection of a charger its own seed: ids must not
    /// repeat across its connections).
    pub fn new(version: Version, config: Config, clock: WallClock, now: Instant) -> Self {
        let ids = Box::new(RandomIds::new(config.endpoint.id_seed));
        Self::with_ids(version, config, ids, clock, now)
    }

    /// A session whose endpoint takes message ids from `ids`.
    pub fn with_ids(
        version: Version,
        mut config: Config,
        ids: Box<dyn IdGenerator>,
        clock: WallClock,
        now: Instant,
    ) -> Self {
        config.endpoint.role = Role::Csms;
        let wire = Wire::new(version, config.endpoint.clone(), ids, now);
        let mut state = SessionState::default();
        if let TransactionIds::Sequential { next } = config.transaction_ids {
            state.next_transaction_id = Some(next);
        }
        Session {
            config,
            clock,
            wire,
            state,
            events: VecDeque::new(),
            next_ticket: 0,
            pending: BTreeMap::new(),
            commands: HashMap::new(),
            unlocked: BTreeSet::new(),
            last_contact: None,
            boot_triggered: false,
        }
    }

    /// Takes over what an earlier session knew about this charger
    /// (registration, connectors, transactions). Call it before feeding
    /// any input.
    pub fn restore(&mut self, state: SessionState) {
        let next = state.next_transaction_id.or(self.state.next_transaction_id);
        self.state = state;
        self.state.next_transaction_id = next;
    }

    /// The durable state, to store and [`restore`](Self::restore) later.
    pub fn snapshot(&self) -> SessionState {
        self.state.clone()
    }

    /// The durable state, to read.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The version spoken.
    pub fn version(&self) -> Version {
        self.wire.version()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The registration state.
    pub fn registration(&self) -> Registration {
        self.state.registration
    }

    /// The last state of each connector.
    pub fn connectors(&self) -> &StatusTable {
        &self.state.connectors
    }

    /// Running and recently ended transactions.
    pub fn transactions(&self) -> &Ledger {
        &self.state.transactions
    }

    /// When the charger last sent anything on this connection.
    pub fn last_contact(&self) -> Option<Instant> {
        self.last_contact
    }

    /// The wall clock used for currentTime.
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// Replaces the wall clock (after the application re-read the time).
    pub fn set_clock(&mut self, clock: WallClock) {
        self.clock = clock;
    }

    // ----- the application's answers -----

    fn take(&mut self, ticket: Ticket) -> Result<Pending, AnswerError> {
        self.pending
            .remove(&ticket.0)
            .ok_or(AnswerError::UnknownTicket)
    }

    fn put_back(
        &mut self,
        ticket: Ticket,
        pending: Pending,
        error: AnswerError,
    ) -> Result<(), AnswerError> {
        self.pending.insert(ticket.0, pending);
        Err(error)
    }

    /// Answers a [`BootRequested`](Event::BootRequested).
    pub fn answer_boot(
        &mut self,
        now: Instant,
        ticket: Ticket,
        decision: BootDecision,
    ) -> Result<(), AnswerError> {
        match self.take(ticket)? {
            Pending::Boot { id, info } => {
                self.apply_boot(now, &id, info, decision);
                Ok(())
            }
            other => self.put_back(
                ticket,
                other,
                AnswerError::WrongKind("another answer than a boot decision"),
            ),
        }
    }

    /// Answers an [`AuthorizationRequested`](Event::AuthorizationRequested).
    pub fn answer_authorization(
        &mut self,
        ticket: Ticket,
        authorization: Authorization,
    ) -> Result<(), AnswerError> {
        match self.take(ticket)? {
            Pending::Authorize { id } => {
                let payload = match self.version() {
                    Version::V16 => v16::authorize(&authorization),
                    _ => v2x::authorize(&authorization),
                };
                self.reply(&id, "Authorize", &payload);
                Ok(())
            }
            Pending::Transaction { id } => {
                self.reply(
                    &id,
                    "TransactionEvent",
                    &v2x::transaction_event(Some(&authorization)),
                );
                Ok(())
            }
            Pending::Start(mut draft) if draft.authorization.is_none() => {
                draft.authorization = Some(authorization);
                self.advance_start(ticket.0, draft);
                Ok(())
            }
            other => self.put_back(
                ticket,
                other,
                AnswerError::WrongKind("another answer than an authorization"),
            ),
        }
    }

    /// Answers a [`TransactionIdRequested`](Event::TransactionIdRequested)
    /// (1.6): the transactionId the charger is to use.
    pub fn answer_transaction_id(
        &mut self,
        ticket: Ticket,
        transaction_id: i32,
    ) -> Result<(), AnswerError> {
        match self.take(ticket)? {
            Pending::StartPart { main } => {
                let Some(Pending::Start(mut draft)) = self.pending.remove(&main) else {
                    return Err(AnswerError::UnknownTicket);
                };
                draft.transaction_id = Some(transaction_id);
                draft.partner = None;
                self.advance_start(main, draft);
                Ok(())
            }
            Pending::Start(mut draft) if draft.transaction_id.is_none() => {
                draft.transaction_id = Some(transaction_id);
                self.advance_start(ticket.0, draft);
                Ok(())
            }
            other => self.put_back(
                ticket,
                other,
                AnswerError::WrongKind("another answer than a transaction id"),
            ),
        }
    }

    /// Answers a [`DataTransferRequested`](Event::DataTransferRequested).
    pub fn answer_data_transfer(
        &mut self,
        ticket: Ticket,
        answer: &DataTransferAnswer,
    ) -> Result<(), AnswerError> {
        match self.take(ticket)? {
            Pending::DataTransfer { id } => {
                let payload = match self.version() {
                    Version::V16 => v16::data_transfer(answer),
                    _ => v2x::data_transfer(answer),
                };
                self.wire
                    .respond_json(&id, "DataTransfer", &payload.to_string())
                    .inspect_err(|_| {
                        self.pending
                            .insert(ticket.0, Pending::DataTransfer { id: id.clone() });
                    })
            }
            other => self.put_back(
                ticket,
                other,
                AnswerError::WrongKind("another answer than a DataTransfer answer"),
            ),
        }
    }

    /// Answers a [`Request`](Event::Request) with a typed response of the
    /// connection's version. A refused response leaves the ticket open.
    pub fn answer_request(
        &mut self,
        ticket: Ticket,
        response: impl Into<AnyResponse>,
    ) -> Result<(), AnswerError> {
        match self.take(ticket)? {
            Pending::Other { id, action } => {
                self.wire.respond(&id, response.into()).inspect_err(|_| {
                    self.pending.insert(
                        ticket.0,
                        Pending::Other {
                            id: id.clone(),
                            action,
                        },
                    );
                })
            }
            other => self.put_back(
                ticket,
                other,
                AnswerError::WrongKind("another answer than a response"),
            ),
        }
    }

    /// Answers a [`Request`](Event::Request) with a JSON payload, decoded
    /// and validated first. A refused payload leaves the ticket open.
    pub fn answer_request_json(
        &mut self,
        ticket: Ticket,
        payload: &str,
    ) -> Result<(), AnswerError> {
        let action = match self.pending.get(&ticket.0) {
            Some(Pending::Other { action, .. }) => *action,
            Some(_) => return Err(AnswerError::WrongKind("another answer than a response")),
            None => return Err(AnswerError::UnknownTicket),
        };
        let response = AnyResponse::decode(self.version(), action, payload)
            .map_err(|e| AnswerError::Refused(e.to_string()))?;
        self.answer_request(ticket, response)
    }

    /// Answers any ticket's CALL with a CALLERROR instead.
    pub fn answer_error(
        &mut self,
        ticket: Ticket,
        code: ErrorCode,
        description: &str,
    ) -> Result<(), AnswerError> {
        let ids: Vec<String> = match self.take(ticket)? {
            Pending::Boot { id, .. }
            | Pending::Authorize { id }
            | Pending::Transaction { id }
            | Pending::DataTransfer { id }
            | Pending::Other { id, .. } => vec![id],
            Pending::Start(draft) => {
                if let Some(partner) = draft.partner {
                    self.pending.remove(&partner);
                }
                draft.ids
            }
            Pending::StartPart { main } => match self.pending.remove(&main) {
                Some(Pending::Start(draft)) => draft.ids,
                _ => Vec::new(),
            },
        };
        for id in ids {
            self.wire.respond_error(&id, code.clone(), description)?;
        }
        Ok(())
    }

    // ----- internals -----

    fn ticket(&mut self, pending: Pending) -> Ticket {
        self.next_ticket += 1;
        self.pending.insert(self.next_ticket, pending);
        Ticket(self.next_ticket)
    }

    /// Sends a response the session built; one the endpoint refuses is a
    /// bug here, answered InternalError rather than left hanging.
    fn reply(&mut self, id: &str, action: &str, payload: &Value) {
        if let Err(error) = self.wire.respond_json(id, action, &payload.to_string()) {
            let reason = format!("the session's own {action} response was refused: {error}");
            let _ = self.wire.respond_error(id, ErrorCode::InternalError, "");
            self.events.push_back(Event::Rejected {
                id: Some(id.to_owned()),
                action: Some(action.to_owned()),
                code: Some(ErrorCode::InternalError),
                reason,
            });
        }
    }

    fn ack(&mut self, id: &str, action: &str) {
        self.reply(id, action, &Value::Object(Default::default()));
    }

    fn apply_boot(
        &mut self,
        now: Instant,
        id: &str,
        info: ChargePointInfo,
        decision: BootDecision,
    ) {
        let status = match decision.status {
            Registration::Accepted => "Accepted",
            Registration::Pending => "Pending",
            _ => "Rejected",
        };
        let time = self.clock.at(now);
        let payload = match self.version() {
            Version::V16 => v16::boot(status, decision.interval, time),
            _ => v2x::boot(status, decision.interval, time),
        };
        self.reply(id, "BootNotification", &payload);
        let registration = match decision.status {
            Registration::Unknown => Registration::Rejected,
            other => other,
        };
        self.state.registration = registration;
        self.state.charge_point = Some(info.clone());
        if registration != Registration::Pending {
            self.unlocked.clear();
        }
        self.events.push_back(Event::Booted {
            charge_point: info,
            status: registration,
        });
    }

    fn gate_allows(&self, action: &str) -> bool {
        action == "BootNotification"
            || match self.state.registration {
                Registration::Accepted => true,
                Registration::Pending => self.unlocked.contains(action),
                _ => false,
            }
    }

    fn pump(&mut self, now: Instant) {
        while let Some(event) = self.wire.poll_event() {
            match event {
                WireEvent::Request { id, request } => self.on_request(now, &id, request),
                WireEvent::Send { message } => self
                    .events
                    .push_back(Event::Notification { request: message }),
                WireEvent::Response { call, result } => {
                    let command = self.commands.remove(&call);
                    if let (Some(command), Ok(response)) = (&command, &result)
                        && response.status().as_deref() == Some("Accepted")
                    {
                        self.unlocked.extend(command.unlocks.iter().cloned());
                    }
                    let action = command.map_or("", |c| c.action).to_owned();
                    self.events.push_back(Event::CommandResult {
                        call,
                        action,
                        result,
                    });
                }
                WireEvent::Deviation {
                    action,
                    path,
                    kind,
                    detail,
                } => self.events.push_back(Event::Deviation {
                    action,
                    path,
                    kind: Some(kind),
                    detail,
                }),
                WireEvent::Rejected {
                    id,
                    action,
                    code,
                    reason,
                } => self.events.push_back(Event::Rejected {
                    id,
                    action,
                    code,
                    reason,
                }),
            }
        }
    }

    fn on_request(&mut self, now: Instant, id: &str, request: AnyRequest) {
        let action = request.action();
        if !self.gate_allows(action) {
            let reason = format!("{action} before the boot is accepted");
            let _ = self
                .wire
                .respond_error(id, ErrorCode::SecurityError, &reason);
            self.events.push_back(Event::Rejected {
                id: Some(id.to_owned()),
                action: Some(action.to_owned()),
                code: Some(ErrorCode::SecurityError),
                reason,
            });
            if self.state.registration == Registration::Unknown
                && self.config.trigger_boot_when_unknown
                && !self.boot_triggered
            {
                self.boot_triggered = true;
                // Refused only if the connection is closing; nothing to do then.
                let _ = self.trigger(now, TriggerKind::BootNotification, None, None);
            }
            return;
        }
        let interpreted = match &request {
            AnyRequest::V16(r) => v16::interpret(r),
            AnyRequest::V201(r) => v2x::interpret_v201(r),
            AnyRequest::V21(r) => v2x::interpret_v21(r),
        };
        self.events.extend(interpreted.deviations);
        match interpreted.incoming {
            Incoming::Boot { info, reason } => {
                if self.config.auto_accept_boot {
                    let decision = BootDecision::accepted(self.config.heartbeat_interval);
                    self.apply_boot(now, id, info, decision);
                } else {
                    let ticket = self.ticket(Pending::Boot {
                        id: id.to_owned(),
                        info: info.clone(),
                    });
                    self.events.push_back(Event::BootRequested {
                        ticket,
                        charge_point: info,
                        reason,
                    });
                }
            }
            Incoming::Heartbeat => {
                let at = self.clock.at(now);
                let payload = match self.version() {
                    Version::V16 => v16::heartbeat(at),
                    _ => v2x::heartbeat(at),
                };
                self.reply(id, action, &payload);
                self.events.push_back(Event::Heartbeat { at });
            }
            Incoming::Authorize { id_token } => {
                if self.config.accept_all_tokens {
                    let _ = self.answer_now(id, Authorization::accepted());
                } else {
                    let ticket = self.ticket(Pending::Authorize { id: id.to_owned() });
                    self.events.push_back(Event::AuthorizationRequested {
                        ticket,
                        id_token,
                        purpose: AuthPurpose::Authorize,
                    });
                }
            }
            Incoming::Status {
                evse,
                connector,
                status,
                error,
                info,
                timestamp,
            } => {
                self.ack(id, action);
                self.on_status(evse, connector, &status, error, info, timestamp);
            }
            Incoming::Meter {
                evse,
                transaction,
                samples,
            } => {
                self.ack(id, action);
                match transaction {
                    Some(tx) => self.on_transaction_samples(&tx, samples),
                    None if !samples.is_empty() => {
                        self.events.push_back(Event::MeterSamples { evse, samples })
                    }
                    None => {}
                }
            }
            Incoming::StartV16 {
                connector,
                id_tag,
                meter_start,
                timestamp,
            } => self.on_start_v16(id, connector, id_tag, meter_start, timestamp),
            Incoming::StopV16 {
                transaction_id,
                meter_stop,
                timestamp,
                reason,
                samples,
            } => {
                self.ack(id, action);
                self.on_stop_v16(transaction_id, meter_stop, timestamp, reason, samples);
            }
            Incoming::Transaction(tx) => self.on_transaction_event(id, tx),
            Incoming::DataTransfer {
                vendor_id,
                message_id,
                data,
            } => {
                if self.config.data_transfer_vendors.contains(&vendor_id) {
                    let ticket = self.ticket(Pending::DataTransfer { id: id.to_owned() });
                    self.events.push_back(Event::DataTransferRequested {
                        ticket,
                        vendor_id,
                        message_id,
                        data,
                    });
                } else {
                    let answer = DataTransferAnswer {
                        status: DataTransferStatus::UnknownVendorId,
                        data: None,
                    };
                    let payload = match self.version() {
                        Version::V16 => v16::data_transfer(&answer),
                        _ => v2x::data_transfer(&answer),
                    };
                    self.reply(id, action, &payload);
                }
            }
            Incoming::Firmware { status, request_id } => {
                self.ack(id, action);
                self.events
                    .push_back(Event::FirmwareStatus { status, request_id });
            }
            Incoming::Notify { problems, statuses } => {
                self.ack(id, action);
                for (evse, connector, status) in statuses {
                    self.on_status(evse, connector, &status, None, None, None);
                }
                for p in problems {
                    self.events.push_back(Event::Fault {
                        evse: p.evse,
                        connector: p.connector,
                        code: p.code,
                        info: p.info,
                    });
                }
            }
            Incoming::Other => match AnyResponse::decode(self.version(), action, "{}") {
                // A notification whose answer may be empty: acknowledge it.
                Ok(empty) => {
                    if self.wire.respond(id, empty).is_ok() {
                        self.events.push_back(Event::Notification { request });
                    }
                }
                Err(_) => {
                    let ticket = self.ticket(Pending::Other {
                        id: id.to_owned(),
                        action,
                    });
                    self.events.push_back(Event::Request { ticket, request });
                }
            },
        }
    }

    /// Answers an Authorize at once.
    fn answer_now(&mut self, id: &str, authorization: Authorization) -> Result<(), AnswerError> {
        let ticket = self.ticket(Pending::Authorize { id: id.to_owned() });
        self.answer_authorization(ticket, authorization)
    }

    fn on_status(
        &mut self,
        evse: i32,
        connector: i32,
        status: &str,
        error: Option<String>,
        info: Option<String>,
        since: Option<DateTime<Utc>>,
    ) {
        let Some(status) = status::from_wire(status) else {
            return;
        };
        if self
            .state
            .connectors
            .update(evse, connector, status, error.clone(), since)
        {
            self.events.push_back(Event::StatusChanged {
                evse,
                connector,
                status,
                error: error.clone(),
            });
            if let Some(code) = error {
                self.events.push_back(Event::Fault {
                    evse,
                    connector,
                    code,
                    info,
                });
            }
        }
    }

    fn on_transaction_samples(&mut self, id: &str, samples: Vec<Sample>) {
        if samples.is_empty() {
            return;
        }
        if let Some(record) = self.state.transactions.get_mut(id)
            && let Some(energy) = meter::last_energy(&samples)
        {
            record.last_energy_wh = Some(energy);
        }
        self.events.push_back(Event::TransactionUpdated {
            id: id.to_owned(),
            samples,
        });
    }

    fn on_start_v16(
        &mut self,
        id: &str,
        connector: i32,
        id_tag: String,
        meter_start: i32,
        timestamp: DateTime<Utc>,
    ) {
        if let Some(known) =
            self.state
                .transactions
                .find_start(connector, &id_tag, meter_start, timestamp)
        {
            let (transaction_id, authorization) =
                (known.transaction_id, known.authorization.clone());
            self.reply(
                id,
                "StartTransaction",
                &v16::start(transaction_id, &authorization),
            );
            self.events.push_back(Event::Duplicate {
                action: "StartTransaction".into(),
                transaction: transaction_id.to_string(),
                seq_no: None,
            });
            return;
        }
        // A repeat while the first still waits for the application joins it.
        for pending in self.pending.values_mut() {
            if let Pending::Start(draft) = pending
                && draft.connector == connector
                && draft.id_tag == id_tag
                && draft.meter_start == meter_start
                && draft.timestamp == timestamp
            {
                draft.ids.push(id.to_owned());
                return;
            }
        }
        let authorization = self.config.accept_all_tokens.then(Authorization::accepted);
        let transaction_id = match self.state.next_transaction_id {
            Some(next)
                if matches!(
                    self.config.transaction_ids,
                    TransactionIds::Sequential { .. }
                ) =>
            {
                self.state.next_transaction_id = Some(next.checked_add(1).unwrap_or(1));
                Some(next)
            }
            _ => None,
        };
        let token = IdToken {
            value: id_tag.clone(),
            kind: None,
        };
        let draft = StartDraft {
            ids: vec![id.to_owned()],
            connector,
            id_tag,
            meter_start,
            timestamp,
            authorization,
            transaction_id,
            partner: None,
        };
        let (ask_auth, ask_id) = (
            draft.authorization.is_none(),
            draft.transaction_id.is_none(),
        );
        if !ask_auth && !ask_id {
            return self.finish_start(draft);
        }
        let main = self.ticket(Pending::Start(draft));
        if ask_auth {
            self.events.push_back(Event::AuthorizationRequested {
                ticket: main,
                id_token: token.clone(),
                purpose: AuthPurpose::StartTransaction {
                    evse: connector,
                    connector: 1,
                },
            });
        }
        if ask_id {
            let ticket = if ask_auth {
                let part = self.ticket(Pending::StartPart { main: main.0 });
                if let Some(Pending::Start(draft)) = self.pending.get_mut(&main.0) {
                    draft.partner = Some(part.0);
                }
                part
            } else {
                main
            };
            self.events.push_back(Event::TransactionIdRequested {
                ticket,
                evse: connector,
                id_token: token,
                meter_start_wh: Decimal::from(meter_start),
                timestamp,
            });
        }
    }

    /// Puts a draft back under `main` if it still lacks an answer, or
    /// finishes it.
    fn advance_start(&mut self, main: u64, draft: StartDraft) {
        if draft.authorization.is_some() && draft.transaction_id.is_some() {
            if let Some(partner) = draft.partner {
                self.pending.remove(&partner);
            }
            self.finish_start(draft);
        } else {
            self.pending.insert(main, Pending::Start(draft));
        }
    }

    fn finish_start(&mut self, draft: StartDraft) {
        let (Some(transaction_id), Some(authorization)) =
            (draft.transaction_id, draft.authorization)
        else {
            return;
        };
        let id = transaction_id.to_string();
        let meter_start = Decimal::from(draft.meter_start);
        let token = IdToken {
            value: draft.id_tag.clone(),
            kind: None,
        };
        let (record, _) = self.state.transactions.open(&id, draft.timestamp);
        record.evse = draft.connector;
        record.connector = 1;
        record.id_token = Some(token.clone());
        record.meter_start_wh = Some(meter_start);
        record.last_energy_wh = Some(meter_start);
        self.state.transactions.remember_start(StartRecord {
            connector: draft.connector,
            id_tag: draft.id_tag,
            meter_start: draft.meter_start,
            timestamp: draft.timestamp,
            transaction_id,
            authorization: authorization.clone(),
        });
        self.events.push_back(Event::TransactionStarted {
            id,
            evse: draft.connector,
            connector: 1,
            id_token: Some(token),
            meter_start_wh: Some(meter_start),
            timestamp: draft.timestamp,
        });
        let payload = v16::start(transaction_id, &authorization);
        for call in draft.ids {
            self.reply(&call, "StartTransaction", &payload);
        }
    }

    fn on_stop_v16(
        &mut self,
        transaction_id: i32,
        meter_stop: i32,
        timestamp: DateTime<Utc>,
        reason: StopReason,
        mut samples: Vec<Sample>,
    ) {
        let id = transaction_id.to_string();
        if self
            .state
            .transactions
            .get(&id)
            .is_some_and(|t| t.ended_at.is_some())
        {
            self.events.push_back(Event::Duplicate {
                action: "StopTransaction".into(),
                transaction: id,
                seq_no: None,
            });
            return;
        }
        // meterStart and meterStop are the register readings already.
        meter::take_register(&mut samples, "Transaction.Begin");
        meter::take_register(&mut samples, "Transaction.End");
        self.state.transactions.open(&id, timestamp);
        self.on_transaction_samples(&id, samples);
        self.end_transaction(&id, Some(Decimal::from(meter_stop)), reason, timestamp);
    }

    fn end_transaction(
        &mut self,
        id: &str,
        meter_stop: Option<Decimal>,
        reason: StopReason,
        timestamp: DateTime<Utc>,
    ) {
        let Some(record) = self.state.transactions.get_mut(id) else {
            return;
        };
        let meter_stop = meter_stop.or(record.last_energy_wh);
        record.last_energy_wh = meter_stop;
        let energy_wh = record.energy_wh();
        self.state.transactions.close(id, timestamp);
        self.events.push_back(Event::TransactionEnded {
            id: id.to_owned(),
            reason,
            meter_stop_wh: meter_stop,
            energy_wh,
            timestamp,
        });
    }

    fn on_transaction_event(&mut self, call: &str, tx: TxEvent) {
        let TxEvent {
            phase,
            id,
            seq_no,
            timestamp,
            evse,
            id_token,
            mut samples,
            stopped_reason,
        } = tx;
        let (record, created) = self.state.transactions.open(&id, timestamp);
        if let Some((evse, connector)) = evse {
            record.evse = evse;
            record.connector = connector.unwrap_or(record.connector);
        }
        let (evse, connector) = (record.evse, record.connector);
        match record.seq_nos.check(seq_no) {
            SeqCheck::Duplicate => {
                self.ack(call, "TransactionEvent");
                self.events.push_back(Event::Duplicate {
                    action: "TransactionEvent".into(),
                    transaction: id,
                    seq_no: Some(seq_no),
                });
                return;
            }
            SeqCheck::Gap { expected } => self.events.push_back(Event::SeqNoGap {
                id: id.clone(),
                expected,
                received: seq_no,
            }),
            SeqCheck::New => {}
        }
        let mut meter_start = None;
        if created {
            meter_start = meter::take_register(&mut samples, "Transaction.Begin");
            record.id_token = id_token.clone();
            record.meter_start_wh = meter_start;
            record.last_energy_wh = meter_start;
        }
        // Ask first, so that the events come in the order 1.6 gives them.
        let mut asked = false;
        if let Some(token) = id_token.clone().filter(|_| phase != TxPhase::Ended)
            && !self.config.accept_all_tokens
        {
            let ticket = self.ticket(Pending::Transaction {
                id: call.to_owned(),
            });
            let purpose = if created {
                AuthPurpose::StartTransaction { evse, connector }
            } else {
                AuthPurpose::Transaction { id: id.clone() }
            };
            self.events.push_back(Event::AuthorizationRequested {
                ticket,
                id_token: token,
                purpose,
            });
            asked = true;
        }
        if created {
            self.events.push_back(Event::TransactionStarted {
                id: id.clone(),
                evse,
                connector,
                id_token: id_token.clone(),
                meter_start_wh: meter_start,
                timestamp,
            });
        }
        let meter_stop = if phase == TxPhase::Ended {
            meter::take_register(&mut samples, "Transaction.End")
        } else {
            None
        };
        self.on_transaction_samples(&id, samples);
        if phase == TxPhase::Ended {
            self.end_transaction(
                &id,
                meter_stop,
                stopped_reason.unwrap_or(StopReason::Local),
                timestamp,
            );
        }
        if !asked {
            let accepted = Authorization::accepted();
            let auth = (id_token.is_some() && phase != TxPhase::Ended).then_some(&accepted);
            self.reply(call, "TransactionEvent", &v2x::transaction_event(auth));
        }
    }
}

impl Machine for Session {
    type Event = Event;

    /// A session is one connection: it starts connected.
    fn handle_connected(&mut self, _now: Instant) {}

    fn handle_text(&mut self, now: Instant, text: &str) {
        if self.wire.is_closed() {
            return;
        }
        self.last_contact = Some(now);
        self.state.last_contact = Some(self.clock.at(now));
        self.wire.handle_text(now, text);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.handle_timeout(now);
        self.pump(now);
    }

    fn handle_closed(&mut self, now: Instant) {
        if self.wire.is_closed() {
            return;
        }
        self.wire.handle_closed(now);
        self.pump(now);
        self.pending.clear();
        self.events.push_back(Event::Disconnected {
            at: self.clock.at(now),
        });
    }

    fn poll_transmit(&mut self) -> Option<String> {
        self.wire.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wire.poll_timeout()
    }
}
