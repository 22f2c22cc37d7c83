//! The OCPP 2.0.1 / 2.1 charging-station state machine, sans IO.
//!
//! [`ChargePoint`] outlives connections: it boots on the first connection
//! (and, per B04, only reports status on later ones), keeps a heartbeat,
//! reports every connector change, runs transactions through a durable
//! queue that loses nothing while offline, keeps the device model,
//! authorizes with a local list and a cache, and answers the CSMS's
//! commands. Hardware comes in through domain methods that take `now`
//! ([`plug_in`](ChargePoint::plug_in), [`present_id_token`](ChargePoint::present_id_token),
//! [`meter_reading`](ChargePoint::meter_reading), ...); what the hardware or
//! the application must do comes out as [`Event`]s.
//!
//! One machine serves both versions: it builds and reads the 2.1 types
//! and converts at the connection (see [`Version`]); a 2.1-only field or
//! member never reaches a 2.0.1 wire, because 2.0.1's strict decoding
//! refuses it and the message is reported as [`Event::Refused`].
//!
//! Security events ([`security_event`](ChargePoint::security_event), and
//! those the machine sees itself: its start, a reset, a firmware installed,
//! a security parameter changed, a clock jump) reach the CSMS through a
//! durable queue when critical (A04).
//!
//! Everything that must survive a restart is in [`State`]
//! ([`snapshot`](ChargePoint::snapshot)); [`Event::StateChanged`] says when
//! to persist it.

mod commands;
mod device_model;
mod flows;
mod link;
mod monitoring;
mod report;
mod security;
mod state;
mod transactions;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ocpp_types::BoundedString;
use ocpp_types::v21::{self, AnyRequest, AnyResponse, RegistrationStatusEnum};
use rust_decimal::Decimal;

pub use device_model::{DeviceModel, VariableDef};
pub use link::{LinkError, Version};
pub use security::CRITICAL_SECURITY_EVENTS;
pub use state::{EvseState, Flows, Monitor, QueuedEvent, Reservation, State, Transaction};

use crate::endpoint::{self, CallFailure, CallId};
use crate::machine::{Machine, WallClock};
use crate::smart_charging::Composite;
use link::{Conn, ConnectionIds, Incoming};

/// What the station says about itself in BootNotification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// `chargingStation.vendorName` (≤50).
    pub vendor_name: String,
    /// `chargingStation.model` (≤20).
    pub model: String,
    /// `chargingStation.serialNumber` (≤25).
    pub serial_number: Option<String>,
    /// `chargingStation.firmwareVersion` (≤50).
    pub firmware_version: Option<String>,
}

/// How the station is built; not durable (the application knows it).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The version spoken.
    pub version: Version,
    /// BootNotification's station description.
    pub identity: Identity,
    /// Connectors per EVSE: `connectors[0]` on EVSE 1, and so on.
    pub connectors: Vec<u32>,
    /// `Connector.ConnectorType` (e.g. `cType2`).
    pub connector_type: String,
    /// `SecurityCtrlr.OrganizationName`'s default.
    pub organization: String,
    /// Why the station (re)started: BootNotification's `reason`.
    pub boot_reason: v21::BootReasonEnum,
    /// Whether every connection boots (default: only the first after a
    /// start; later ones report status, per B04).
    pub boot_on_reconnect: bool,
    /// The endpoint configuration of each connection (its role is set here).
    pub endpoint: endpoint::Config,
    /// Transaction ids are `<prefix><counter>` (≤36 characters in all).
    pub transaction_id_prefix: String,
}

impl Config {
    /// A station speaking `version` with `connectors[i]` connectors on EVSE
    /// `i + 1`, booting with reason `PowerUp`.
    pub fn new(version: Version, identity: Identity, connectors: Vec<u32>) -> Self {
        Config {
            version,
            identity,
            connectors,
            connector_type: "cType2".to_owned(),
            organization: "Unknown".to_owned(),
            boot_reason: v21::BootReasonEnum::PowerUp,
            boot_on_reconnect: false,
            endpoint: endpoint::Config::new(ocpp_types::Role::ChargePoint),
            transaction_id_prefix: "tx-".to_owned(),
        }
    }
}

/// One reading of an EVSE's meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct MeterReading {
    /// The energy register, Wh.
    #[serde(with = "decimal_text")]
    pub energy_wh: Decimal,
    /// Active power imported, W.
    #[serde(with = "decimal_text::option", default)]
    pub power_w: Option<Decimal>,
    /// Current imported, A.
    #[serde(with = "decimal_text::option", default)]
    pub current_a: Option<Decimal>,
    /// Voltage, V.
    #[serde(with = "decimal_text::option", default)]
    pub voltage_v: Option<Decimal>,
    /// State of charge, percent.
    #[serde(with = "decimal_text::option", default)]
    pub soc: Option<Decimal>,
}

/// Where the station's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Registration {
    /// No BootNotification answered yet since the start.
    Unknown,
    /// The CSMS said Pending.
    Pending,
    /// The CSMS said Rejected.
    Rejected,
    /// The CSMS accepted the station.
    Accepted,
}

/// What the machine tells the application.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The durable state changed: persist [`ChargePoint::snapshot`].
    StateChanged,
    /// The CSMS answered BootNotification.
    Registered {
        /// Its answer.
        status: RegistrationStatusEnum,
    },
    /// Close the power path of `evse` and deliver energy.
    StartCharging {
        /// The EVSE.
        evse: i32,
    },
    /// Stop delivering energy on `evse`.
    StopCharging {
        /// The EVSE.
        evse: i32,
    },
    /// Unlock the connector; answer with
    /// [`connector_unlocked`](ChargePoint::connector_unlocked).
    UnlockConnector {
        /// The EVSE.
        evse: i32,
        /// The connector.
        connector: i32,
    },
    /// The limit of `evse` changed (0 = the whole station).
    ApplyLimit {
        /// The EVSE.
        evse: i32,
        /// The composite schedule from now on (`None`: it cannot be computed).
        composite: Option<Composite>,
    },
    /// Reboot: the Ended messages are queued durably already. After a
    /// Reset ImmediateAndResume the transactions are kept instead, their
    /// energy stopped: a station restored from the snapshot resumes them,
    /// and an EVSE reset ends with [`reset_done`](ChargePoint::reset_done).
    Reboot {
        /// The EVSE to reset, or the whole station.
        evse: Option<i32>,
    },
    /// The authorization of a presented token was decided.
    Authorization {
        /// The EVSE.
        evse: i32,
        /// The token.
        id_token: String,
        /// The outcome.
        status: v21::AuthorizationStatusEnum,
    },
    /// A DataTransfer from the CSMS: answer with
    /// [`answer_data_transfer`](ChargePoint::answer_data_transfer).
    DataTransfer {
        /// The CALL's id.
        id: String,
        /// The request.
        request: v21::DataTransferRequest,
    },
    /// The CSMS asks to update the firmware (L01/L02): answer with
    /// [`answer_update_firmware`](ChargePoint::answer_update_firmware), then
    /// report progress with [`firmware_status`](ChargePoint::firmware_status).
    InstallFirmware {
        /// The CALL's id.
        id: String,
        /// The request, in its 2.1 form.
        request: Box<v21::UpdateFirmwareRequest>,
    },
    /// The CSMS asks for a log upload (N01): answer with
    /// [`answer_get_log`](ChargePoint::answer_get_log), then report progress
    /// with [`log_status`](ChargePoint::log_status).
    UploadLogs {
        /// The CALL's id.
        id: String,
        /// The request, in its 2.1 form.
        request: Box<v21::GetLogRequest>,
    },
    /// A certificate for the station's CSR arrived (A02/A03): verify it and
    /// answer with [`answer_certificate_signed`](ChargePoint::answer_certificate_signed).
    CertificateSigned {
        /// The CALL's id.
        id: String,
        /// The request, in its 2.1 form.
        request: Box<v21::CertificateSignedRequest>,
    },
    /// A transaction message was tried `MessageAttempts[TransactionEvent]`
    /// times without success and is dropped.
    TransactionMessageDropped {
        /// The message.
        request: Box<v21::TransactionEventRequest>,
        /// The last failure.
        reason: String,
    },
    /// A message the machine built was refused before it went out (a bug:
    /// for example a 2.1-only member on a 2.0.1 link).
    Refused {
        /// What was refused and why.
        reason: String,
    },
    /// Something the endpoint reported (a bad frame from the CSMS, a deviation).
    Notice(String),
}

/// What an outgoing call was for.
#[derive(Debug, Clone)]
enum Pending {
    Boot,
    Heartbeat,
    Authorize { evse: i32, token: v21::IdToken },
    TransactionEvent,
    SecurityEvent,
    Other,
}

/// The state machine; see the [module docs](self).
pub struct ChargePoint {
    config: Config,
    model: DeviceModel,
    state: State,
    clock: WallClock,
    conn: Option<Conn>,
    registration: Registration,
    boot_at: Option<Instant>,
    heartbeat_at: Option<Instant>,
    retry_at: Option<Instant>,
    aligned_at: Option<Instant>,
    /// The next AlignedDataCtrlr.TxEndedInterval slot.
    aligned_ended_at: Option<Instant>,
    sample_at: BTreeMap<i32, Instant>,
    /// The next TxEndedInterval sample of each running transaction.
    ended_sample_at: BTreeMap<i32, Instant>,
    /// Authorized EVSEs waiting for the cable (TxCtrlr.EVConnectionTimeOut).
    connect_by: BTreeMap<i32, Instant>,
    offline_since: Option<Instant>,
    reported: BTreeMap<(i32, i32), v21::ConnectorStatusEnum>,
    pending: HashMap<CallId, Pending>,
    tx_in_flight: Option<CallId>,
    /// The critical security event in flight, its next try, the failures so far.
    security_in_flight: Option<CallId>,
    security_retry_at: Option<Instant>,
    security_failures: u32,
    unlocks: BTreeMap<(i32, i32), String>,
    /// CSMS calls the application answers, by CALL id.
    app_calls: BTreeMap<String, flows::AppCall>,
    reset_scheduled: bool,
    events: VecDeque<Event>,
}

impl std::fmt::Debug for ChargePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargePoint")
            .field("version", &self.config.version)
            .field("registration", &self.registration)
            .field("online", &self.conn.is_some())
            .field("queued", &self.state.queue.len())
            .finish()
    }
}

impl ChargePoint {
    /// A station built as `config`, resuming `state` (a fresh one:
    /// [`State::new`]), with wall time from `clock`.
    pub fn new(config: Config, state: State, clock: WallClock, now: Instant) -> Self {
        let mut model = DeviceModel::new(
            &config.connectors,
            &config.connector_type,
            &config.organization,
        );
        if config.version == Version::V21 {
            model = model.with_v21_variables();
        }
        let mut cp = ChargePoint {
            config,
            model,
            state,
            clock,
            conn: None,
            registration: Registration::Unknown,
            boot_at: None,
            heartbeat_at: None,
            retry_at: None,
            aligned_at: None,
            aligned_ended_at: None,
            sample_at: BTreeMap::new(),
            ended_sample_at: BTreeMap::new(),
            connect_by: BTreeMap::new(),
            offline_since: Some(now),
            reported: BTreeMap::new(),
            pending: HashMap::new(),
            tx_in_flight: None,
            security_in_flight: None,
            security_retry_at: None,
            security_failures: 0,
            unlocks: BTreeMap::new(),
            app_calls: BTreeMap::new(),
            reset_scheduled: false,
            events: VecDeque::new(),
        };
        for evse in 1..=cp.evse_count() {
            cp.state.evses.entry(evse).or_default();
        }
        // Restored transactions keep sampling from now on.
        for evse in cp.evses_in_transaction() {
            cp.schedule_sample(evse, now);
            cp.schedule_ended_sample(evse, now);
        }
        cp.schedule_aligned(now);
        // A station reset with ImmediateAndResume starts again here (B13.FR.23).
        cp.resume_transactions(now, None);
        // Every construction is a start of the station (A04, Appendix 1).
        cp.raise_own(now, "StartupOfTheDevice", None);
        cp
    }

    /// The durable state, to persist and to pass to [`new`](Self::new) after a restart.
    pub fn snapshot(&self) -> State {
        self.state.clone()
    }

    /// The device model.
    pub fn device_model(&self) -> &DeviceModel {
        &self.model
    }

    /// Where the registration stands.
    pub fn registration(&self) -> Registration {
        self.registration
    }

    /// Whether a connection is up.
    pub fn is_online(&self) -> bool {
        self.conn.is_some()
    }

    /// The wall clock in use.
    pub fn clock(&self) -> WallClock {
        self.clock
    }

    /// Sets the wall clock (the application synchronised it).
    pub fn set_clock(&mut self, clock: WallClock, now: Instant) {
        self.clock = clock;
        self.schedule_aligned(now);
    }

    /// The value of a variable as the CSMS would read it (`None`: no such
    /// variable). Key: `Component[instance]@evse.connector/Variable[instance]`,
    /// e.g. `TxCtrlr/TxStartPoint` or `OCPPCommCtrlr/MessageAttempts[TransactionEvent]`.
    pub fn variable(&self, key: &str, now: Instant) -> Option<String> {
        let def = self.model.get(key)?;
        Some(self.read_value(def, now))
    }

    /// Sets a variable locally (as the station's own configuration),
    /// with the same validation as SetVariables, read-only ones included.
    pub fn set_variable(&mut self, key: &str, value: &str, now: Instant) -> Result<(), String> {
        let def = self
            .model
            .get(key)
            .ok_or_else(|| format!("unknown variable {key}"))?;
        if def.live {
            return Err(format!("{key} is read live"));
        }
        def.validate(value)?;
        self.state
            .variables
            .insert(key.to_owned(), value.to_owned());
        self.after_variable_change(key, now);
        self.changed();
        self.check_monitors(now);
        Ok(())
    }

    /// The EVSEs with a transaction (a copy: callers change the state).
    fn evses_in_transaction(&self) -> Vec<i32> {
        self.state
            .evses
            .iter()
            .filter(|(_, e)| e.transaction.is_some())
            .map(|(&id, _)| id)
            .collect()
    }

    fn evse_count(&self) -> i32 {
        i32::try_from(self.config.connectors.len()).unwrap_or(i32::MAX)
    }

    fn connectors_of(&self, evse: i32) -> i32 {
        usize::try_from(evse - 1)
            .ok()
            .and_then(|i| self.config.connectors.get(i))
            .and_then(|&c| i32::try_from(c).ok())
            .unwrap_or(0)
    }

    // ----- the device model, typed -----

    fn raw(&self, key: &str) -> &str {
        device_model::stored(&self.model, &self.state.variables, key).unwrap_or("")
    }

    fn var_int(&self, key: &str) -> i64 {
        self.raw(key).parse().unwrap_or(0)
    }

    fn var_bool(&self, key: &str) -> bool {
        self.raw(key) == "true"
    }

    fn var_list(&self, key: &str) -> Vec<String> {
        self.raw(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn secs(&self, key: &str) -> Duration {
        Duration::from_secs(u64::try_from(self.var_int(key)).unwrap_or(0))
    }

    fn read_value(&self, def: &VariableDef, now: Instant) -> String {
        if !def.live {
            return self.raw(&def.key()).to_owned();
        }
        match (def.component.as_str(), def.name.as_str()) {
            ("ClockCtrlr", "DateTime") => format_time(self.clock.at(now)),
            ("LocalAuthListCtrlr", "Entries") => self.state.local_list.len().to_string(),
            ("SmartChargingCtrlr", "Entries") => self.state.profiles.profiles().len().to_string(),
            ("ChargingStation", "AvailabilityState") => {
                if self.state.inoperative.contains(&(0, 0)) {
                    "Unavailable".to_owned()
                } else {
                    "Available".to_owned()
                }
            }
            ("EVSE", "AvailabilityState") => {
                let evse = def.evse.unwrap_or(0);
                // The EVSE shows its first connector's state.
                self.connector_status(evse, 1).to_string()
            }
            ("Connector", "AvailabilityState") => self
                .connector_status(def.evse.unwrap_or(0), def.connector.unwrap_or(0))
                .to_string(),
            _ => def.default.clone(),
        }
    }

    fn after_variable_change(&mut self, key: &str, now: Instant) {
        match key {
            "OCPPCommCtrlr/HeartbeatInterval" if self.heartbeat_at.is_some() => {
                self.heartbeat_at = Some(later(now, self.secs(key)));
            }
            "AlignedDataCtrlr/Interval" | "AlignedDataCtrlr/TxEndedInterval" => {
                self.schedule_aligned(now)
            }
            "SampledDataCtrlr/TxUpdatedInterval" => {
                let running: Vec<i32> = self.sample_at.keys().copied().collect();
                for evse in running {
                    self.schedule_sample(evse, now);
                }
            }
            "SampledDataCtrlr/TxEndedInterval" => {
                for evse in self.evses_in_transaction() {
                    self.schedule_ended_sample(evse, now);
                }
            }
            // The password and the profile are security parameters (no value in the event).
            "SecurityCtrlr/BasicAuthPassword" | "SecurityCtrlr/SecurityProfile" => {
                self.raise_own(now, "ReconfigurationOfSecurityParameters", Some(key));
            }
            _ => {}
        }
    }

    /// Sets the clock from the CSMS's time; a jump beyond
    /// `ClockCtrlr.TimeAdjustmentReportingThreshold` (0: never) is the
    /// security event SettingSystemTime.
    fn sync_clock(&mut self, now: Instant, utc: DateTime<Utc>) {
        let jump = (utc - self.clock.at(now)).num_seconds().unsigned_abs();
        self.clock = WallClock::new(now, utc);
        self.schedule_aligned(now);
        let threshold = self.var_int("ClockCtrlr/TimeAdjustmentReportingThreshold");
        if threshold > 0 && jump > threshold.unsigned_abs() {
            let info = format!("adjusted by {jump} s");
            self.raise_own(now, "SettingSystemTime", Some(&info));
        }
    }

    /// Asks the application to reboot; the reset is a security event.
    fn reboot(&mut self, now: Instant, evse: Option<i32>) {
        let info = match evse {
            Some(e) => format!("EVSE {e}"),
            None => "station".to_owned(),
        };
        self.raise_own(now, "ResetOrReboot", Some(&info));
        self.events.push_back(Event::Reboot { evse });
    }

    fn changed(&mut self) {
        if self.events.back() != Some(&Event::StateChanged) {
            self.events.push_back(Event::StateChanged);
        }
    }

    // ----- calls out -----

    /// Whether ordinary messages may go out now.
    fn can_send(&self) -> bool {
        self.conn.is_some() && self.registration == Registration::Accepted
    }

    fn call(&mut self, now: Instant, request: AnyRequest, purpose: Pending) -> Option<CallId> {
        let conn = self.conn.as_mut()?;
        match conn.call(now, request) {
            Ok(id) => {
                self.pending.insert(id, purpose);
                Some(id)
            }
            Err(e) => {
                self.events.push_back(Event::Refused {
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    fn respond(&mut self, id: &str, response: AnyResponse) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Err(e) = conn.respond(id, response) {
            // Answer all the same: a CALL must not stay unanswered.
            conn.respond_error(id, crate::error::ErrorCode::InternalError, "");
            self.events.push_back(Event::Refused {
                reason: e.to_string(),
            });
        }
    }

    fn respond_error(&mut self, id: &str, code: crate::error::ErrorCode) {
        if let Some(conn) = self.conn.as_mut() {
            conn.respond_error(id, code, "");
        }
    }

    fn send_boot(&mut self, now: Instant) {
        let id = &self.config.identity;
        let request = v21::BootNotificationRequest {
            charging_station: v21::ChargingStation {
                custom_data: None,
                firmware_version: id
                    .firmware_version
                    .as_deref()
                    .map(BoundedString::new_unchecked),
                model: BoundedString::new_unchecked(id.model.as_str()),
                modem: None,
                serial_number: id
                    .serial_number
                    .as_deref()
                    .map(BoundedString::new_unchecked),
                vendor_name: BoundedString::new_unchecked(id.vendor_name.as_str()),
            },
            custom_data: None,
            reason: self.config.boot_reason,
        };
        self.boot_at = None;
        self.call(now, request.into(), Pending::Boot);
    }

    fn send_heartbeat(&mut self, now: Instant) {
        self.call(
            now,
            v21::HeartbeatRequest::default().into(),
            Pending::Heartbeat,
        );
    }

    // ----- status -----

    /// The status of a connector, from availability, faults, reservations
    /// and the EV.
    fn connector_status(&self, evse: i32, connector: i32) -> v21::ConnectorStatusEnum {
        use v21::ConnectorStatusEnum as S;
        let Some(e) = self.state.evses.get(&evse) else {
            return S::Unavailable;
        };
        if e.faulted {
            return S::Faulted;
        }
        let busy_here =
            e.plugged == Some(connector) || (e.transaction.is_some() && e.plugged.is_none());
        if busy_here {
            return S::Occupied;
        }
        let inop = &self.state.inoperative;
        if inop.contains(&(0, 0)) || inop.contains(&(evse, 0)) || inop.contains(&(evse, connector))
        {
            return S::Unavailable;
        }
        if e.plugged.is_some() {
            // A sibling of the busy connector: not reported as busy (G01).
            return S::Available;
        }
        if self.state.reservations.values().any(|r| r.evse == evse) {
            return S::Reserved;
        }
        S::Available
    }

    /// Sends a StatusNotification for every connector whose status differs
    /// from the last one reported, then evaluates the monitors.
    fn report_status(&mut self, now: Instant) {
        if !self.can_send() {
            return;
        }
        for evse in 1..=self.evse_count() {
            for connector in 1..=self.connectors_of(evse) {
                let status = self.connector_status(evse, connector);
                if self.reported.get(&(evse, connector)) == Some(&status) {
                    continue;
                }
                self.reported.insert((evse, connector), status);
                let request = v21::StatusNotificationRequest {
                    connector_id: connector,
                    connector_status: status,
                    custom_data: None,
                    evse_id: evse,
                    timestamp: self.clock.at(now),
                };
                self.call(now, request.into(), Pending::Other);
            }
        }
        // A status is a variable too (AvailabilityState), and this runs
        // after every change the CSMS or the hardware makes.
        self.check_monitors(now);
    }

    fn on_accepted(&mut self, now: Instant) {
        self.heartbeat_at = Some(later(now, self.secs("OCPPCommCtrlr/HeartbeatInterval")));
        self.reported.clear();
        self.report_status(now);
        self.pump(now);
    }

    // ----- incoming -----

    fn drain_conn(&mut self, now: Instant) {
        loop {
            let Some(event) = self.conn.as_mut().and_then(Conn::poll_event) else {
                return;
            };
            match event {
                Incoming::Request { id, request } => self.on_request(now, id, request),
                Incoming::Response { call, result } => self.on_response(now, call, result),
                Incoming::Unreadable { id, detail } => {
                    if let Some(id) = id {
                        self.respond_error(&id, crate::error::ErrorCode::InternalError);
                    }
                    self.events.push_back(Event::Refused { reason: detail });
                }
                Incoming::Notice(text) => self.events.push_back(Event::Notice(text)),
            }
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        call: CallId,
        result: Result<AnyResponse, CallFailure>,
    ) {
        let Some(purpose) = self.pending.remove(&call) else {
            return;
        };
        match purpose {
            Pending::Boot => self.on_boot_response(now, result),
            Pending::Heartbeat => {
                if let Ok(AnyResponse::Heartbeat(r)) = result {
                    if self
                        .var_list("ClockCtrlr/TimeSource")
                        .iter()
                        .any(|s| s == "Heartbeat")
                    {
                        self.sync_clock(now, r.current_time);
                    }
                }
            }
            Pending::Authorize { evse, token } => {
                self.on_authorize_response(now, evse, token, result)
            }
            Pending::TransactionEvent => self.on_transaction_response(now, call, result),
            Pending::SecurityEvent => self.on_security_response(now, call, result),
            Pending::Other => {}
        }
    }

    fn on_boot_response(&mut self, now: Instant, result: Result<AnyResponse, CallFailure>) {
        let retry_default = Duration::from_secs(30);
        match result {
            Ok(AnyResponse::BootNotification(r)) => {
                let interval = Duration::from_secs(u64::try_from(r.interval).unwrap_or(0));
                if self
                    .var_list("ClockCtrlr/TimeSource")
                    .iter()
                    .any(|s| s == "Heartbeat")
                {
                    self.sync_clock(now, r.current_time);
                }
                self.events
                    .push_back(Event::Registered { status: r.status });
                match r.status {
                    RegistrationStatusEnum::Accepted => {
                        self.registration = Registration::Accepted;
                        if r.interval > 0 {
                            self.state.variables.insert(
                                "OCPPCommCtrlr/HeartbeatInterval".to_owned(),
                                r.interval.to_string(),
                            );
                            self.changed();
                        }
                        self.on_accepted(now);
                    }
                    RegistrationStatusEnum::Pending | RegistrationStatusEnum::Rejected => {
                        self.registration = if r.status == RegistrationStatusEnum::Pending {
                            Registration::Pending
                        } else {
                            Registration::Rejected
                        };
                        let wait = if interval.is_zero() {
                            retry_default
                        } else {
                            interval
                        };
                        self.boot_at = Some(later(now, wait));
                    }
                }
            }
            _ => {
                if self.conn.is_some() {
                    self.boot_at = Some(now + retry_default);
                }
            }
        }
    }

    // ----- timers -----

    fn schedule_aligned(&mut self, now: Instant) {
        self.aligned_at = self.next_aligned(now, "AlignedDataCtrlr/Interval");
        self.aligned_ended_at = self.next_aligned(now, "AlignedDataCtrlr/TxEndedInterval");
    }

    /// The next slot after `now` of the clock-aligned interval `key`
    /// (counted from midnight; `None` when the interval is 0).
    fn next_aligned(&self, now: Instant, key: &str) -> Option<Instant> {
        let interval = self.var_int(key);
        if interval <= 0 {
            return None;
        }
        let utc = self.clock.at(now);
        let midnight = utc.date_naive().and_hms_opt(0, 0, 0)?.and_utc();
        let since = (utc - midnight).num_milliseconds();
        let step = interval.saturating_mul(1000);
        let next = (since / step + 1).saturating_mul(step);
        let at = midnight + chrono::TimeDelta::milliseconds(next);
        Some(self.clock.instant_at(at).max(now))
    }

    fn schedule_sample(&mut self, evse: i32, now: Instant) {
        let interval = self.secs("SampledDataCtrlr/TxUpdatedInterval");
        if interval.is_zero() || !self.var_bool("SampledDataCtrlr/Enabled") {
            self.sample_at.remove(&evse);
        } else {
            self.sample_at.insert(evse, later(now, interval));
        }
    }

    fn schedule_ended_sample(&mut self, evse: i32, now: Instant) {
        let interval = self.secs("SampledDataCtrlr/TxEndedInterval");
        if interval.is_zero() || !self.var_bool("SampledDataCtrlr/Enabled") {
            self.ended_sample_at.remove(&evse);
        } else {
            self.ended_sample_at.insert(evse, later(now, interval));
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        if self.boot_at.is_some_and(|t| t <= now) {
            self.send_boot(now);
        }
        if self.heartbeat_at.is_some_and(|t| t <= now) {
            self.heartbeat_at = Some(later(now, self.secs("OCPPCommCtrlr/HeartbeatInterval")));
            if self.can_send() {
                self.send_heartbeat(now);
            }
        }
        let due: Vec<i32> = self
            .sample_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(&e, _)| e)
            .collect();
        for evse in due {
            self.schedule_sample(evse, now);
            self.periodic_sample(now, evse);
        }
        let due: Vec<i32> = self
            .ended_sample_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(&e, _)| e)
            .collect();
        for evse in due {
            self.schedule_ended_sample(evse, now);
            self.ended_sample(now, evse);
        }
        if self.aligned_at.is_some_and(|t| t <= now) {
            self.aligned_at =
                self.next_aligned(now + Duration::from_millis(1), "AlignedDataCtrlr/Interval");
            self.aligned_sample(now);
        }
        if self.aligned_ended_at.is_some_and(|t| t <= now) {
            self.aligned_ended_at = self.next_aligned(
                now + Duration::from_millis(1),
                "AlignedDataCtrlr/TxEndedInterval",
            );
            self.aligned_ended_sample(now);
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
        }
        if self.security_retry_at.is_some_and(|t| t <= now) {
            self.security_retry_at = None;
        }
        let late: Vec<i32> = self
            .connect_by
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(&e, _)| e)
            .collect();
        for evse in late {
            self.connect_by.remove(&evse);
            self.connect_timeout(now, evse);
        }
        self.expire_reservations(now);
        self.pump(now);
    }
}

impl Machine for ChargePoint {
    type Event = Event;

    fn handle_connected(&mut self, now: Instant) {
        self.state.connection_counter += 1;
        self.changed();
        let ids = ConnectionIds {
            connection: self.state.connection_counter,
            next: 0,
        };
        let mut config = self.config.endpoint.clone();
        config.role = ocpp_types::Role::ChargePoint;
        self.conn = Some(Conn::new(self.config.version, config, Box::new(ids), now));
        // The calls of an earlier connection can no longer be answered.
        self.app_calls.clear();
        let offline_for = self
            .offline_since
            .take()
            .map(|t| now.saturating_duration_since(t));
        if self.registration == Registration::Accepted && !self.config.boot_on_reconnect {
            // B04: after a long outage every connector, else the changed ones.
            if offline_for.is_some_and(|d| d > self.secs("OCPPCommCtrlr/OfflineThreshold")) {
                self.reported.clear();
            }
            self.heartbeat_at = Some(later(now, self.secs("OCPPCommCtrlr/HeartbeatInterval")));
            self.report_status(now);
            self.pump(now);
        } else {
            self.registration = Registration::Unknown;
            self.send_boot(now);
        }
    }

    fn handle_text(&mut self, now: Instant, text: &str) {
        if let Some(conn) = self.conn.as_mut() {
            conn.handle_text(now, text);
        }
        self.drain_conn(now);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let Some(conn) = self.conn.as_mut() {
            conn.handle_timeout(now);
        }
        self.drain_conn(now);
        self.fire_timers(now);
    }

    fn handle_closed(&mut self, now: Instant) {
        if let Some(conn) = self.conn.as_mut() {
            conn.handle_closed(now);
        }
        // The calls in flight resolve as ConnectionLost; a queued
        // transaction message stays at the head of the queue.
        self.drain_conn(now);
        self.conn = None;
        self.pending.clear();
        self.tx_in_flight = None;
        self.security_in_flight = None;
        self.security_retry_at = None;
        self.unlocks.clear();
        self.app_calls.clear();
        self.boot_at = None;
        self.heartbeat_at = None;
        self.offline_since = Some(now);
    }

    fn poll_transmit(&mut self) -> Option<String> {
        self.conn.as_mut()?.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [
            self.conn.as_ref().and_then(Conn::poll_timeout),
            self.boot_at,
            self.heartbeat_at,
            self.retry_at,
            self.security_retry_at,
            self.aligned_at,
            self.aligned_ended_at,
            self.sample_at.values().min().copied(),
            self.ended_sample_at.values().min().copied(),
            self.connect_by.values().min().copied(),
            self.next_reservation_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// `now + by`, never panicking on an absurd interval.
fn later(now: Instant, by: Duration) -> Instant {
    now.checked_add(by)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// RFC 3339 with milliseconds and `Z`, as 2.x wants.
fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn status_info(reason: &str) -> Option<v21::StatusInfo> {
    Some(v21::StatusInfo {
        additional_info: None,
        custom_data: None,
        reason_code: BoundedString::new(reason)
            .unwrap_or_else(|_| BoundedString::new_unchecked("Other")),
    })
}

/// Decimals kept exactly, as text, in the durable state.
mod decimal_text {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }

    pub mod option {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_some(&v.to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|t| t.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
