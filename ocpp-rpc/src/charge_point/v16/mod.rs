//! The OCPP 1.6 charge point: a sans-IO state machine that outlives
//! connections.
//!
//! [`ChargePoint`] wraps one [`Endpoint`] per connection and adds the
//! protocol's behaviour: boot and the registration gate, heartbeat,
//! StatusNotification on every connector change, authorization with the
//! local list and the cache, transactions with a durable message queue
//! that loses nothing and never sends transactionId `-1`, meter values
//! (periodic and clock-aligned), and the CSMS's remote commands.
//!
//! Drive it as any [`Machine`]; feed it what the hardware does
//! ([`plug_in`](ChargePoint::plug_in), [`present_id_tag`](ChargePoint::present_id_tag),
//! [`meter_reading`](ChargePoint::meter_reading), ...) and act on its
//! [`Event`]s. On [`Event::StateChanged`] persist
//! [`snapshot`](ChargePoint::snapshot); after a restart, continue with
//! [`ChargePoint::restore`].
//!
//! ```
//! use std::time::Instant;
//! use ocpp_rpc::charge_point::v16::{ChargePoint, Config, Event};
//! use ocpp_rpc::machine::{Machine, WallClock};
//!
//! let now = Instant::now();
//! let clock = WallClock::new(now, "2025-01-01T00:00:00Z".parse()?);
//! let mut cp = ChargePoint::new(Config::new("Acme", "Model-1", 2), clock, now);
//! cp.handle_connected(now);
//! let boot = cp.poll_transmit().expect("a BootNotification");
//! assert!(boot.contains(r#""BootNotification""#));
//! // The hardware reports a cable; while not registered nothing else goes out.
//! cp.plug_in(now, 1)?;
//! assert_eq!(cp.poll_transmit(), None);
//! while let Some(event) = cp.poll_event() {
//!     if event == Event::StateChanged {
//!         let _persist = serde_json::to_string(&cp.snapshot())?;
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Transaction messages wait in a durable FIFO queue and go out one at a
//! time, in order, once registered. A failed try (CALLERROR, timeout, an
//! invalid answer; not a lost connection) is retried after
//! `TransactionMessageRetryInterval` × tries; after
//! `TransactionMessageAttempts` tries in all the message is dropped and
//! reported ([`Event::TransactionMessageDropped`]). The queued
//! StopTransaction and MeterValues of a transaction get the CSMS's
//! transactionId when they go out; a dropped StartTransaction takes the
//! rest of its transaction with it (reported too) rather than sending the
//! errata's transactionId `-1`.
//!
//! Delivery of transaction messages is at least once: a message leaves
//! the queue when its answer arrives, so a crash between the answer and
//! the persisting of the snapshot sends it once more.
//!
//! A status change is reported once it has held `MinimumStatusDuration`
//! seconds (a shorter one is not reported at all); the first report of a
//! connection and triggered ones go out at once. `GetConfiguration` with
//! more keys than `GetConfigurationMaxKeys` is answered with the CALLERROR
//! `OccurrenceConstraintViolation`, as 2.x does for ItemsPerMessage.
//!
//! `ResetRetries` is kept as a key but has no effect here: the reset is
//! the application's act on [`Event::Reboot`], and only the application
//! sees whether it failed, so it alone can retry.

pub mod auth;
mod authorization;
mod charging;
pub mod config;
pub mod event;
pub mod meter;
mod remote;
mod sampling;
mod security;
pub mod state;
mod status;
pub mod transactions;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ocpp_types::v16::{
    self, AnyRequest, AnyResponse, AuthorizationStatus, ChargePointErrorCode, ChargePointStatus,
    MeterValue, Reason, RegistrationStatus, V16,
};
use ocpp_types::{BoundedString, Role};

pub use auth::{AuthCache, LocalList};
pub use config::Configuration;
pub use event::{Event, PendingCall};
pub use meter::Reading;
pub use security::CRITICAL_SECURITY_EVENTS;
pub use state::{Connector, Reservation, State, Suspension, Transaction};
pub use transactions::{TxMessage, TxQueue};

use crate::endpoint::{self, CallFailure, CallId, Endpoint};
use crate::machine::{Machine, WallClock};
use crate::smart_charging::Composite;

/// How a charge point is built (not durable: it comes from the firmware).
#[derive(Debug, Clone)]
pub struct Config {
    /// What BootNotification says about the charge point.
    pub boot: v16::BootNotificationRequest,
    /// Connectors, numbered `1..=connectors`.
    pub connectors: u32,
    /// The endpoint of each connection (its role is set to charge point).
    pub endpoint: endpoint::Config,
    /// The boot retry wait when the CSMS gives `interval` 0.
    pub boot_retry: Duration,
    /// Vendor ids whose DataTransfer the application answers; others get
    /// `UnknownVendorId` at once.
    pub data_transfer_vendors: Vec<String>,
    /// CSMS actions the application answers itself, through
    /// [`Event::Request`] and [`answer_call`](ChargePoint::answer_call):
    /// any of [`APPLICATION_ACTIONS`] (firmware, diagnostics, logs and
    /// certificates). The others of that list are answered `NotSupported`.
    pub application_actions: Vec<v16::Action>,
}

/// The CSMS actions an application may take over (see
/// [`Config::application_actions`]).
pub const APPLICATION_ACTIONS: &[v16::Action] = &[
    v16::Action::GetDiagnostics,
    v16::Action::UpdateFirmware,
    v16::Action::CertificateSigned,
    v16::Action::DeleteCertificate,
    v16::Action::GetInstalledCertificateIds,
    v16::Action::GetLog,
    v16::Action::InstallCertificate,
    v16::Action::SignedUpdateFirmware,
];

/// The notifications an application sends with
/// [`notify`](ChargePoint::notify).
pub const NOTIFICATIONS: &[v16::Action] = &[
    v16::Action::DiagnosticsStatusNotification,
    v16::Action::FirmwareStatusNotification,
    v16::Action::LogStatusNotification,
    v16::Action::SignedFirmwareStatusNotification,
    v16::Action::SecurityEventNotification,
    v16::Action::SignCertificate,
];

impl Config {
    /// A charge point of `vendor` / `model` with `connectors` connectors.
    pub fn new(vendor: &str, model: &str, connectors: u32) -> Self {
        Config {
            boot: v16::BootNotificationRequest {
                charge_box_serial_number: None,
                charge_point_model: BoundedString::new_unchecked(model),
                charge_point_serial_number: None,
                charge_point_vendor: BoundedString::new_unchecked(vendor),
                firmware_version: None,
                iccid: None,
                imsi: None,
                meter_serial_number: None,
                meter_type: None,
            },
            connectors,
            endpoint: endpoint::Config::new(Role::ChargePoint),
            boot_retry: Duration::from_secs(60),
            data_transfer_vendors: Vec::new(),
            application_actions: Vec::new(),
        }
    }
}

/// Where the registration with the CSMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Registration {
    /// No connection.
    Offline,
    /// BootNotification sent, no answer yet.
    Booting,
    /// The CSMS answered Pending: it may configure, only triggered messages go out.
    Pending,
    /// The CSMS answered Rejected: nothing is sent or answered until the retry.
    Rejected,
    /// Registered.
    Accepted,
}

/// Why a domain input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No such connector.
    #[error("no connector {0}")]
    UnknownConnector(u32),
    /// The connector has no transaction.
    #[error("no transaction on connector {0}")]
    NoTransaction(u32),
    /// The connector cannot start a transaction now (faulted, unavailable,
    /// already busy).
    #[error("connector {0} cannot start a transaction now")]
    NotAvailable(u32),
    /// The call to answer is unknown or from an earlier connection.
    #[error("no such call to answer")]
    UnknownCall,
    /// The endpoint refused the answer or the request.
    #[error("refused by the endpoint: {0}")]
    Refused(String),
}

/// What an outgoing call was for.
#[derive(Debug, Clone)]
enum Sent {
    Boot,
    Heartbeat,
    Authorize {
        connector: u32,
        id_tag: String,
        purpose: AuthPurpose,
    },
    Tx,
    DataTransfer,
    Notification(v16::Action),
    Security,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthPurpose {
    Start,
    Stop,
}

/// The 1.6 charge point; see the [module docs](self).
pub struct ChargePoint {
    config: Config,
    state: State,
    clock: WallClock,
    endpoint: Option<Endpoint<V16>>,
    /// Connections made by this instance (tags answers to their connection).
    connection: u64,
    registration: Registration,
    boot_at: Option<Instant>,
    heartbeat_at: Option<Instant>,
    sent: HashMap<CallId, Sent>,
    tx_in_flight: bool,
    tx_retry_at: Option<Instant>,
    /// The critical security event in flight, its next try, the failures so far.
    security_in_flight: bool,
    security_retry_at: Option<Instant>,
    security_failures: u32,
    /// The status last sent per connector.
    reported: Vec<Option<(ChargePointStatus, ChargePointErrorCode)>>,
    /// A changed status not sent yet, and since when it holds
    /// (`MinimumStatusDuration`).
    unsettled: Vec<Option<((ChargePointStatus, ChargePointErrorCode), Instant)>>,
    aligned_next: Option<DateTime<Utc>>,
    /// When an authorization without a cable lapses (ConnectionTimeOut).
    authorized_until: Vec<Option<Instant>>,
    /// A RemoteStart's TxProfile, installed when the transaction starts.
    remote_profiles: Vec<Option<v16::ChargingProfile>>,
    /// The last statuses of the application's flows, for triggers.
    pub(crate) flows: Flows,
    events: VecDeque<Event>,
    dirty: bool,
    refused: usize,
}

/// The last status of each application flow, reported when triggered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flows {
    pub(crate) diagnostics: Option<v16::DiagnosticsStatus>,
    pub(crate) firmware: Option<v16::FirmwareStatus>,
    pub(crate) signed_firmware: Option<(v16::FirmwareStatusEnum, Option<i32>)>,
    pub(crate) log: Option<(v16::UploadLogStatusEnum, Option<i32>)>,
}

impl std::fmt::Debug for ChargePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargePoint")
            .field("registration", &self.registration)
            .field("queued", &self.state.queue.len())
            .field("connection", &self.connection)
            .finish()
    }
}

/// The longest a timer may be (keeps `Instant` arithmetic in range).
const MAX_WAIT: u64 = 10 * 365 * 86_400;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.min(MAX_WAIT))
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v.max(0)).unwrap_or(i32::MAX)
}

fn tag(s: &str) -> BoundedString<20> {
    BoundedString::new_unchecked(s)
}

impl ChargePoint {
    /// A new charge point with the default state for `config.connectors`.
    pub fn new(config: Config, clock: WallClock, now: Instant) -> Self {
        let state = State::new(config.connectors);
        Self::restore(config, state, clock, now)
    }

    /// A charge point continuing from `state` (a [`snapshot`](Self::snapshot)).
    /// Either way the station has started: StartupOfTheDevice is queued.
    pub fn restore(mut config: Config, mut state: State, clock: WallClock, now: Instant) -> Self {
        config.endpoint.role = Role::ChargePoint;
        let n = config.connectors as usize + 1;
        state.connectors.resize(n, Connector::default());
        let mut cp = ChargePoint {
            config,
            state,
            clock,
            endpoint: None,
            connection: 0,
            registration: Registration::Offline,
            boot_at: None,
            heartbeat_at: None,
            sent: HashMap::new(),
            tx_in_flight: false,
            tx_retry_at: None,
            security_in_flight: false,
            security_retry_at: None,
            security_failures: 0,
            reported: vec![None; n],
            unsettled: vec![None; n],
            aligned_next: None,
            authorized_until: vec![None; n],
            remote_profiles: vec![None; n],
            flows: Flows::default(),
            events: VecDeque::new(),
            dirty: false,
            refused: 0,
        };
        if let Ok(r) = cp.security_request(now, "StartupOfTheDevice", None) {
            cp.state.security_queue.push_back(r);
        }
        cp
    }

    /// The durable state, to persist.
    pub fn snapshot(&self) -> State {
        self.state.clone()
    }

    /// The durable state, read-only.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The configuration keys.
    pub fn configuration(&self) -> &Configuration {
        &self.state.configuration
    }

    /// The configuration keys, for the application to set its own values
    /// (the change is persisted with the next snapshot).
    pub fn configuration_mut(&mut self) -> &mut Configuration {
        self.dirty = true;
        &mut self.state.configuration
    }

    /// Where registration stands.
    pub fn registration(&self) -> Registration {
        self.registration
    }

    /// The wall clock in use (moved by the CSMS's currentTime).
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// Sets the wall clock (the application read a better time).
    pub fn set_clock(&mut self, clock: WallClock) {
        self.clock = clock;
    }

    /// How many outgoing messages the endpoint refused (a bug when not 0).
    pub fn refused_calls(&self) -> usize {
        self.refused
    }

    /// The status connector `connector` is in now.
    pub fn status(&self, connector: u32) -> Option<ChargePointStatus> {
        self.compute_status(connector).map(|(s, _)| s)
    }

    /// The CSMS transactionId of the transaction on `connector`, once known.
    pub fn transaction_id(&self, connector: u32) -> Option<i32> {
        let tx = self.connector(connector)?.transaction.as_ref()?;
        self.state.queue.transaction_id(tx.local_id)
    }

    fn connector(&self, c: u32) -> Option<&Connector> {
        self.state.connectors.get(c as usize)
    }

    fn connector_mut(&mut self, c: u32) -> Option<&mut Connector> {
        self.state.connectors.get_mut(c as usize)
    }

    fn check_connector(&self, c: u32) -> Result<(), InputError> {
        if c == 0 || c > self.config.connectors {
            Err(InputError::UnknownConnector(c))
        } else {
            Ok(())
        }
    }

    fn utc(&self, now: Instant) -> DateTime<Utc> {
        self.clock.at(now)
    }

    fn online(&self) -> bool {
        self.registration == Registration::Accepted
    }

    // ----- domain inputs -----

    /// A cable was plugged into `connector`.
    pub fn plug_in(&mut self, now: Instant, connector: u32) -> Result<(), InputError> {
        self.check_connector(connector)?;
        if let Some(c) = self.connector_mut(connector) {
            c.plugged = true;
            c.finishing = false;
        }
        self.dirty = true;
        self.refresh_statuses(now);
        self.try_start(now, connector);
        self.pump(now);
        Ok(())
    }

    /// The cable was unplugged from `connector`.
    pub fn unplug(&mut self, now: Instant, connector: u32) -> Result<(), InputError> {
        self.check_connector(connector)?;
        let running = match self.connector_mut(connector) {
            Some(c) => {
                c.plugged = false;
                c.finishing = false;
                c.transaction.is_some()
            }
            None => false,
        };
        let cfg = &self.state.configuration;
        if running && cfg.bool("StopTransactionOnEVSideDisconnect") {
            let unlock = cfg.bool("UnlockConnectorOnEVSideDisconnect");
            self.end_transaction(now, connector, Reason::EVDisconnected, None, unlock);
        }
        self.dirty = true;
        self.pump(now);
        Ok(())
    }

    /// A new meter reading of `connector` (0: the charge point's main meter).
    pub fn meter_reading(
        &mut self,
        now: Instant,
        connector: u32,
        reading: Reading,
    ) -> Result<(), InputError> {
        if connector > self.config.connectors {
            return Err(InputError::UnknownConnector(connector));
        }
        if let Some(c) = self.connector_mut(connector) {
            c.reading = Some(reading);
        }
        self.check_invalid_energy(connector);
        self.dirty = true;
        self.pump(now);
        Ok(())
    }

    /// An error on `connector` (0: the charge point). With `warning` the
    /// connector keeps working and reports the code with its state.
    pub fn fault(
        &mut self,
        now: Instant,
        connector: u32,
        code: ChargePointErrorCode,
        warning: bool,
    ) -> Result<(), InputError> {
        if connector > self.config.connectors {
            return Err(InputError::UnknownConnector(connector));
        }
        if let Some(c) = self.connector_mut(connector) {
            c.fault = (code != ChargePointErrorCode::NoError).then_some((code, warning));
            if !warning && code != ChargePointErrorCode::NoError {
                // A fault ends the reservation.
                c.reservation = None;
            }
        }
        self.dirty = true;
        self.pump(now);
        Ok(())
    }

    /// The error on `connector` is gone.
    pub fn clear_fault(&mut self, now: Instant, connector: u32) -> Result<(), InputError> {
        self.fault(now, connector, ChargePointErrorCode::NoError, false)
    }

    /// The EV or the EVSE holds energy back (or no longer does).
    pub fn suspend(
        &mut self,
        now: Instant,
        connector: u32,
        suspension: Suspension,
    ) -> Result<(), InputError> {
        self.check_connector(connector)?;
        if let Some(c) = self.connector_mut(connector) {
            c.suspension = suspension;
        }
        self.dirty = true;
        self.pump(now);
        Ok(())
    }

    /// Stops the transaction on `connector` for a local `reason`
    /// (a stop button: `Local`; `EmergencyStop`, `PowerLoss`, `Reboot`, ...).
    pub fn stop_transaction(
        &mut self,
        now: Instant,
        connector: u32,
        reason: Reason,
    ) -> Result<(), InputError> {
        self.check_connector(connector)?;
        if self
            .connector(connector)
            .is_none_or(|c| c.transaction.is_none())
        {
            return Err(InputError::NoTransaction(connector));
        }
        self.end_transaction(now, connector, reason, None, true);
        self.pump(now);
        Ok(())
    }

    /// An idTag was presented at `connector`: starts (after authorization)
    /// or stops a transaction.
    pub fn present_id_tag(
        &mut self,
        now: Instant,
        connector: u32,
        id_tag: &str,
    ) -> Result<(), InputError> {
        self.check_connector(connector)?;
        let id_tag: String = id_tag.chars().take(20).collect();
        let utc = self.utc(now);
        let local = self.local_info(&id_tag, utc);
        if let Some(tx) = self
            .connector(connector)
            .and_then(|c| c.transaction.clone())
        {
            let same = tx.id_tag.eq_ignore_ascii_case(&id_tag);
            let sibling = matches!(
                (&tx.parent_id_tag, local.as_ref().and_then(|i| i.parent_id_tag.as_ref())),
                (Some(a), Some(b)) if a.as_str().eq_ignore_ascii_case(b.as_str())
            );
            if same || sibling {
                self.end_transaction(now, connector, Reason::Local, Some(id_tag), true);
            } else if self.online() {
                self.send_authorize(now, connector, &id_tag, AuthPurpose::Stop);
            } else {
                self.refuse(connector, &id_tag, AuthorizationStatus::Invalid);
            }
            self.pump(now);
            return Ok(());
        }
        if !self.can_start(connector) {
            return Err(InputError::NotAvailable(connector));
        }
        if !self.reservation_allows(connector, &id_tag, local.as_ref()) {
            self.refuse(connector, &id_tag, AuthorizationStatus::Invalid);
            self.pump(now);
            return Ok(());
        }
        self.authorize_for_start(now, connector, &id_tag, local);
        self.pump(now);
        Ok(())
    }

    /// Answers the CSMS's UnlockConnector.
    pub fn unlock_result(
        &mut self,
        now: Instant,
        call: &PendingCall,
        status: v16::UnlockStatus,
    ) -> Result<(), InputError> {
        self.answer(now, call, v16::UnlockConnectorResponse { status })
    }

    /// Answers the CSMS's DataTransfer.
    pub fn answer_data_transfer(
        &mut self,
        now: Instant,
        call: &PendingCall,
        response: v16::DataTransferResponse,
    ) -> Result<(), InputError> {
        self.answer(now, call, response)
    }

    /// Sends a DataTransfer to the CSMS (answered by
    /// [`Event::DataTransferAnswered`]).
    pub fn data_transfer(
        &mut self,
        now: Instant,
        request: v16::DataTransferRequest,
    ) -> Result<(), InputError> {
        if !self.online() {
            return Err(InputError::Refused("not registered".into()));
        }
        if !self.call(now, request, Sent::DataTransfer) {
            return Err(InputError::Refused("the endpoint refused the call".into()));
        }
        self.pump(now);
        Ok(())
    }

    /// Sends a notification of an application flow ([`NOTIFICATIONS`]:
    /// diagnostics, firmware and log status, security events, a CSR); its
    /// answer comes as [`Event::Answered`]. The last status of each flow is
    /// what a TriggerMessage reports. A security event sent here is not
    /// queued: [`security_event`](Self::security_event) queues the critical
    /// ones until acknowledged.
    pub fn notify(
        &mut self,
        now: Instant,
        request: impl Into<AnyRequest>,
    ) -> Result<(), InputError> {
        let request = request.into();
        let action = request.action();
        if !NOTIFICATIONS.contains(&action) {
            return Err(InputError::Refused(format!(
                "{action} is not a notification"
            )));
        }
        match &request {
            AnyRequest::DiagnosticsStatusNotification(r) => self.flows.diagnostics = Some(r.status),
            AnyRequest::FirmwareStatusNotification(r) => self.flows.firmware = Some(r.status),
            AnyRequest::SignedFirmwareStatusNotification(r) => {
                self.flows.signed_firmware = Some((r.status, r.request_id));
            }
            AnyRequest::LogStatusNotification(r) => self.flows.log = Some((r.status, r.request_id)),
            _ => {}
        }
        let installed = matches!(
            &request,
            AnyRequest::FirmwareStatusNotification(r) if r.status == v16::FirmwareStatus::Installed
        ) || matches!(
            &request,
            AnyRequest::SignedFirmwareStatusNotification(r)
                if r.status == v16::FirmwareStatusEnum::Installed
        );
        if installed {
            self.raise_own(now, "FirmwareUpdated", None);
        }
        if !self.online() {
            return Err(InputError::Refused("not registered".into()));
        }
        if !self.call(now, request, Sent::Notification(action)) {
            return Err(InputError::Refused("the endpoint refused the call".into()));
        }
        self.pump(now);
        Ok(())
    }

    /// Answers a CSMS request the application took over ([`Event::Request`]).
    pub fn answer_call(
        &mut self,
        now: Instant,
        call: &PendingCall,
        response: impl Into<AnyResponse>,
    ) -> Result<(), InputError> {
        self.answer(now, call, response)
    }

    fn answer(
        &mut self,
        now: Instant,
        call: &PendingCall,
        response: impl Into<AnyResponse>,
    ) -> Result<(), InputError> {
        if call.connection != self.connection {
            return Err(InputError::UnknownCall);
        }
        let endpoint = self.endpoint.as_mut().ok_or(InputError::UnknownCall)?;
        endpoint
            .respond(&call.id, response)
            .map_err(|e| InputError::Refused(e.to_string()))?;
        self.pump(now);
        Ok(())
    }

    // ----- smart charging -----

    fn emit_limit(&mut self, now: Instant, connector: u32) {
        let utc = self.utc(now);
        let evse = i32::try_from(connector).unwrap_or(i32::MAX);
        if let Ok(schedule) = self.state.profiles.composite(evse, utc, 86_400, None) {
            self.push_limit(connector, schedule);
        }
    }

    fn push_limit(&mut self, connector: u32, schedule: Composite) {
        self.events.push_back(Event::ApplyLimit {
            connector,
            schedule,
        });
    }

    // ----- calls -----

    /// Sends a CALL if the registration gate allows it.
    fn call(&mut self, now: Instant, request: impl Into<AnyRequest>, sent: Sent) -> bool {
        let request = request.into();
        let is_boot = matches!(request, AnyRequest::BootNotification(_));
        if !(self.online() || is_boot) {
            return false;
        }
        self.call_unchecked(now, request, sent)
    }

    /// A triggered message: it may also go out while Pending.
    fn call_triggered(&mut self, now: Instant, request: impl Into<AnyRequest>, sent: Sent) -> bool {
        if !matches!(
            self.registration,
            Registration::Accepted | Registration::Pending
        ) {
            return false;
        }
        self.call_unchecked(now, request.into(), sent)
    }

    fn call_unchecked(&mut self, now: Instant, request: AnyRequest, sent: Sent) -> bool {
        let Some(endpoint) = self.endpoint.as_mut() else {
            return false;
        };
        match endpoint.call(now, request) {
            Ok(id) => {
                self.sent.insert(id, sent);
                self.reset_heartbeat(now);
                true
            }
            Err(e) => {
                self.refused += 1;
                self.events
                    .push_back(Event::Protocol(format!("outgoing call refused: {e}")));
                false
            }
        }
    }

    fn reset_heartbeat(&mut self, now: Instant) {
        let interval = self.state.configuration.int("HeartbeatInterval");
        self.heartbeat_at = (self.online() && interval > 0).then(|| now + secs(interval));
    }

    fn send_boot(&mut self, now: Instant) {
        self.boot_at = None;
        let request = self.config.boot.clone();
        if self.registration != Registration::Pending {
            self.registration = Registration::Booting;
        }
        self.call_unchecked(now, request.into(), Sent::Boot);
    }

    fn on_boot(&mut self, now: Instant, result: Result<AnyResponse, CallFailure>) {
        let response = match result {
            Ok(AnyResponse::BootNotification(r)) => r,
            Err(CallFailure::ConnectionLost) => return,
            _ => {
                self.registration = Registration::Booting;
                self.boot_at = Some(now + self.config.boot_retry);
                return;
            }
        };
        self.clock = WallClock::new(now, response.current_time);
        let wait = match u64::try_from(response.interval) {
            Ok(0) | Err(_) => self.config.boot_retry,
            Ok(s) => secs(s),
        };
        self.events.push_back(Event::Registration(response.status));
        match response.status {
            RegistrationStatus::Accepted => {
                self.registration = Registration::Accepted;
                if response.interval > 0 {
                    let _ = self
                        .state
                        .configuration
                        .set_local("HeartbeatInterval", &response.interval.to_string());
                    self.dirty = true;
                }
                self.reported.iter_mut().for_each(|r| *r = None);
                self.unsettled.iter_mut().for_each(|r| *r = None);
                self.reset_heartbeat(now);
                self.refresh_statuses(now);
                self.pump_queue(now);
            }
            RegistrationStatus::Pending => {
                self.registration = Registration::Pending;
                self.boot_at = Some(now + wait);
            }
            RegistrationStatus::Rejected => {
                self.registration = Registration::Rejected;
                self.boot_at = Some(now + wait);
            }
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        call: CallId,
        result: Result<AnyResponse, CallFailure>,
    ) {
        let Some(sent) = self.sent.remove(&call) else {
            return;
        };
        match sent {
            Sent::Boot => self.on_boot(now, result),
            Sent::Heartbeat => {
                if let Ok(AnyResponse::Heartbeat(r)) = result {
                    self.clock = WallClock::new(now, r.current_time);
                }
            }
            Sent::Tx => self.on_tx_response(now, result),
            Sent::Security => self.on_security_response(now, result),
            Sent::Authorize {
                connector,
                id_tag,
                purpose,
            } => match result {
                Ok(AnyResponse::Authorize(r)) => {
                    self.cache_info(now, &id_tag, &r.id_tag_info);
                    let utc = self.utc(now);
                    let info = r.id_tag_info;
                    match purpose {
                        AuthPurpose::Start if auth::is_valid(&info, utc) => {
                            if self.can_start(connector)
                                && self.reservation_allows(connector, &id_tag, Some(&info))
                            {
                                let parent = info.parent_id_tag.map(String::from);
                                self.authorized(now, connector, &id_tag, parent);
                            } else {
                                self.refuse(connector, &id_tag, AuthorizationStatus::Invalid);
                            }
                        }
                        AuthPurpose::Stop if auth::is_valid(&info, utc) => {
                            let group = self
                                .connector(connector)
                                .and_then(|c| c.transaction.as_ref())
                                .and_then(|t| t.parent_id_tag.clone());
                            let same = matches!(
                                (group, &info.parent_id_tag),
                                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b.as_str())
                            );
                            if same {
                                self.end_transaction(
                                    now,
                                    connector,
                                    Reason::Local,
                                    Some(id_tag),
                                    true,
                                );
                            } else {
                                self.refuse(connector, &id_tag, AuthorizationStatus::Invalid);
                            }
                        }
                        _ => self.refuse(connector, &id_tag, info.status),
                    }
                }
                _ => {
                    if purpose == AuthPurpose::Start {
                        let local = self.local_info(&id_tag, self.utc(now));
                        self.authorize_offline(now, connector, &id_tag, local);
                    } else {
                        self.refuse(connector, &id_tag, AuthorizationStatus::Invalid);
                    }
                }
            },
            Sent::DataTransfer => {
                let (status, data) = match result {
                    Ok(AnyResponse::DataTransfer(r)) => (Some(r.status), r.data),
                    _ => (None, None),
                };
                self.events
                    .push_back(Event::DataTransferAnswered { status, data });
            }
            Sent::Notification(action) => {
                self.events.push_back(Event::Answered {
                    action,
                    response: result.ok(),
                });
            }
            Sent::Other => {}
        }
    }

    fn on_endpoint_event(&mut self, now: Instant, event: endpoint::Event<V16>) {
        match event {
            endpoint::Event::Request { id, request } => self.on_request(now, id, request),
            endpoint::Event::Response { call, result } => self.on_response(now, call, result),
            endpoint::Event::Deviation { action, detail, .. } => self
                .events
                .push_back(Event::Protocol(format!("deviation in {action}: {detail}"))),
            endpoint::Event::Rejected { reason, .. } => self
                .events
                .push_back(Event::Protocol(format!("rejected: {reason}"))),
            _ => {}
        }
    }

    /// Handles everything the endpoint reported, then what fell due, and
    /// tells the application when the durable state changed.
    fn pump(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.as_mut().and_then(Endpoint::poll_event) {
            self.on_endpoint_event(now, event);
        }
        self.pump_security(now);
        self.pump_queue(now);
        self.refresh_statuses(now);
        if self.dirty {
            self.dirty = false;
            self.events.push_back(Event::StateChanged);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        if self.boot_at.is_some_and(|t| t <= now) && self.endpoint.is_some() {
            self.send_boot(now);
        }
        if self.heartbeat_at.is_some_and(|t| t <= now) {
            self.heartbeat_at = None;
            self.call(now, v16::HeartbeatRequest {}, Sent::Heartbeat);
        }
        for connector in 1..=self.config.connectors {
            let idx = connector as usize;
            if self
                .authorized_until
                .get(idx)
                .copied()
                .flatten()
                .is_some_and(|t| t <= now)
            {
                if let Some(slot) = self.authorized_until.get_mut(idx) {
                    *slot = None;
                }
                if let Some(c) = self.connector_mut(connector)
                    && c.transaction.is_none()
                {
                    c.authorized = None;
                    self.dirty = true;
                }
            }
        }
        let utc = self.utc(now);
        for c in self.state.connectors.iter_mut() {
            if c.reservation.as_ref().is_some_and(|r| r.expiry <= utc) {
                c.reservation = None;
                self.dirty = true;
            }
        }
        self.take_samples(now);
    }
}

/// A 64-bit finaliser (MurmurHash3's), to spread connection numbers.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(1).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    z ^= z >> 33;
    z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    z ^ (z >> 33)
}

/// Keeps the first and the last samples and drops from the middle.
fn trim_middle(values: &mut Vec<MeterValue>, max: usize) {
    let max = max.max(2);
    while values.len() > max {
        values.remove(values.len() / 2);
    }
}

impl Machine for ChargePoint {
    type Event = Event;

    fn handle_connected(&mut self, now: Instant) {
        if let Some(mut old) = self.endpoint.take() {
            old.handle_closed(now);
        }
        self.connection += 1;
        self.state.connections += 1;
        let mut config = self.config.endpoint.clone();
        // A well-mixed seed per connection: the id streams of two
        // connections (or of two runs, the counter being durable) never
        // overlap in practice, so no message id repeats for this identity.
        config.id_seed ^= mix(self.state.connections);
        self.endpoint = Some(Endpoint::new(config, now));
        self.sent.clear();
        self.tx_in_flight = false;
        self.tx_retry_at = None;
        self.registration = Registration::Booting;
        self.dirty = true;
        self.send_boot(now);
        self.pump(now);
    }

    fn handle_text(&mut self, now: Instant, text: &str) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            endpoint.handle_text(now, text);
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            endpoint.handle_timeout(now);
        }
        while let Some(event) = self.endpoint.as_mut().and_then(Endpoint::poll_event) {
            self.on_endpoint_event(now, event);
        }
        self.fire_timers(now);
        self.pump(now);
    }

    fn handle_closed(&mut self, now: Instant) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            endpoint.handle_closed(now);
        }
        while let Some(event) = self.endpoint.as_mut().and_then(Endpoint::poll_event) {
            self.on_endpoint_event(now, event);
        }
        self.endpoint = None;
        self.registration = Registration::Offline;
        self.boot_at = None;
        self.heartbeat_at = None;
        self.tx_in_flight = false;
        self.security_in_flight = false;
        self.security_retry_at = None;
        self.sent.clear();
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<String> {
        self.endpoint.as_mut()?.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let mut times: Vec<Instant> = Vec::new();
        times.extend(self.endpoint.as_ref().and_then(Endpoint::poll_timeout));
        times.extend(self.boot_at);
        times.extend(self.heartbeat_at);
        if self.online() && !self.tx_in_flight && !self.state.queue.is_empty() {
            times.extend(self.tx_retry_at);
        }
        if self.online() && !self.security_in_flight && !self.state.security_queue.is_empty() {
            times.extend(self.security_retry_at);
        }
        times.extend(self.authorized_until.iter().flatten().copied());
        if self.online() {
            times.extend(self.status_due());
        }
        for connector in 1..=self.config.connectors {
            if let Some(due) = self.sample_due(connector) {
                times.push(self.clock.instant_at(due));
            }
        }
        let aligned = self.state.configuration.int("ClockAlignedDataInterval");
        // Not computed yet: the first slot after the clock reading (fired
        // early at worst, which only computes the next slot).
        if let Some(at) = self
            .aligned_next
            .or_else(|| meter::next_aligned(self.clock.utc, aligned))
        {
            times.push(self.clock.instant_at(at));
        }
        for c in &self.state.connectors {
            if let Some(r) = &c.reservation {
                times.push(self.clock.instant_at(r.expiry));
            }
        }
        times.into_iter().min()
    }
}
