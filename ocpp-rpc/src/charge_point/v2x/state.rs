//! What the station must remember across restarts, serde-serialisable.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use ocpp_types::v21;
use serde::{Deserialize, Serialize};

use super::{Config, MeterReading};
use crate::smart_charging::{Dialect, ProfileStore, StoreConfig};

/// The durable state of a [`ChargePoint`](super::ChargePoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct State {
    /// Device-model values written by the CSMS or the station, by key.
    pub variables: BTreeMap<String, String>,
    /// The local authorization list's version (0: none).
    pub local_list_version: i32,
    /// The local authorization list, by token key (`type:idToken`).
    pub local_list: BTreeMap<String, v21::IdTokenInfo>,
    /// The authorization cache, by token key.
    pub auth_cache: BTreeMap<String, CacheEntry>,
    /// The installed charging profiles.
    pub profiles: ProfileStore,
    /// Transaction messages not yet acknowledged, oldest first.
    pub queue: VecDeque<QueuedEvent>,
    /// Each EVSE's state.
    pub evses: BTreeMap<i32, EvseState>,
    /// Transactions ever started (the source of transaction ids).
    pub transaction_counter: u64,
    /// Connections ever made (the prefix of message ids).
    pub connection_counter: u64,
    /// NotifyEvent ids used.
    pub event_counter: i32,
    /// Reservations, by id.
    pub reservations: BTreeMap<i32, Reservation>,
    /// Inoperative parts: (0, 0) the station, (evse, 0), (evse, connector).
    pub inoperative: BTreeSet<(i32, i32)>,
    /// Availability changes waiting for a transaction to end.
    pub scheduled_availability: Vec<((i32, i32), bool)>,
    /// Where the application's firmware and log flows stand.
    #[serde(default)]
    pub flows: Flows,
    /// Variable monitors set by the CSMS, by id (N07.FR.13).
    #[serde(default)]
    pub monitors: BTreeMap<i32, Monitor>,
    /// The last monitor id handed out.
    #[serde(default)]
    pub monitor_counter: i32,
    /// SetMonitoringLevel's severity (`None`: every severity is reported).
    #[serde(default)]
    pub monitoring_level: Option<i32>,
    /// Critical security events not yet acknowledged, oldest first (A04.FR.02).
    #[serde(default)]
    pub security_queue: VecDeque<v21::SecurityEventNotificationRequest>,
}

/// A variable monitor (N04).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    /// The device-model key of the monitored variable.
    pub key: String,
    /// UpperThreshold, LowerThreshold or Delta.
    pub kind: v21::MonitorEnum,
    /// The threshold, or the delta.
    #[serde(with = "super::decimal_text")]
    pub value: rust_decimal::Decimal,
    /// 0 (Danger) to 9 (Debug).
    pub severity: i32,
    /// Active only while a transaction runs (on the component's EVSE).
    pub transaction: bool,
    /// A threshold is exceeded and its cleared event is due on return.
    pub tripped: bool,
    /// Delta: the value when set or last reported.
    pub reference: Option<String>,
}

/// Where the application's firmware and log flows stand, as last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// The requestId of the UpdateFirmware accepted last.
    pub firmware_request: Option<i32>,
    /// The firmware status sent last, with its requestId.
    pub firmware: Option<(v21::FirmwareStatusEnum, Option<i32>)>,
    /// The requestId of the GetLog accepted last.
    pub log_request: Option<i32>,
    /// The log status sent last, with its requestId.
    pub log: Option<(v21::UploadLogStatusEnum, Option<i32>)>,
}

impl State {
    /// A fresh state for a station built as `config`.
    pub fn new(config: &Config) -> Self {
        let evse_count = i32::try_from(config.connectors.len()).unwrap_or(i32::MAX);
        State {
            variables: BTreeMap::new(),
            local_list_version: 0,
            local_list: BTreeMap::new(),
            auth_cache: BTreeMap::new(),
            profiles: ProfileStore::new(
                Dialect::V2x,
                StoreConfig {
                    evse_count,
                    ..Default::default()
                },
            ),
            queue: VecDeque::new(),
            evses: BTreeMap::new(),
            transaction_counter: 0,
            connection_counter: 0,
            event_counter: 0,
            reservations: BTreeMap::new(),
            inoperative: BTreeSet::new(),
            scheduled_availability: Vec::new(),
            flows: Flows::default(),
            monitors: BTreeMap::new(),
            monitor_counter: 0,
            monitoring_level: None,
            security_queue: VecDeque::new(),
        }
    }
}

/// One cached authorization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// What the CSMS said.
    pub info: v21::IdTokenInfo,
    /// When it was stored.
    pub stored_at: DateTime<Utc>,
}

/// A transaction message waiting for its acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// The message, seqNo and offline flag fixed when it was made.
    pub request: v21::TransactionEventRequest,
    /// Tries that failed so far.
    pub attempts: u32,
}

/// One EVSE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvseState {
    /// The connector an EV is plugged into.
    pub plugged: Option<i32>,
    /// The token that authorized the EVSE.
    pub authorized: Option<v21::IdToken>,
    /// Whether a fault is active.
    pub faulted: bool,
    /// Whether the EV draws energy.
    pub energy_transfer: bool,
    /// Whether the power path was last commanded closed.
    pub power: bool,
    /// The last meter reading.
    pub reading: Option<MeterReading>,
    /// The transaction running here.
    pub transaction: Option<Transaction>,
    /// A RequestStartTransaction's id for the next event.
    pub remote_start_id: Option<i32>,
    /// A reservation consumed by the authorization, for the next event.
    pub reservation_id: Option<i32>,
    /// RequestStartTransaction's TxProfile, installed when the transaction starts.
    #[serde(default)]
    pub pending_profile: Option<v21::ChargingProfile>,
}

/// A running transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Its id.
    pub id: String,
    /// The next seqNo.
    pub seq_no: i32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The reading at its start.
    pub start_reading: Option<MeterReading>,
    /// Whether `evse` went out already.
    pub evse_sent: bool,
    /// The idToken sent last (`None`: not sent or deauthorized).
    pub id_token_sent: Option<v21::IdToken>,
    /// The chargingState sent last.
    pub charging_state: Option<v21::ChargingStateEnum>,
    /// The stop-point conditions that held at some time during it.
    pub seen: BTreeSet<String>,
    /// The CSMS refused its token and `StopTxOnInvalidId` is off: energy
    /// is stopped (at once, or once `invalid_energy_limit` is reached).
    #[serde(default)]
    pub deauthorized: bool,
    /// The energy register (Wh) at which energy stops after the token was
    /// refused (`TxCtrlr.MaxEnergyOnInvalidId` past the start reading).
    #[serde(default, with = "super::decimal_text::option")]
    pub invalid_energy_limit: Option<rust_decimal::Decimal>,
    /// The samples taken every `SampledDataCtrlr.TxEndedInterval` and
    /// `AlignedDataCtrlr.TxEndedInterval` for the Ended event (between its
    /// Transaction.Begin and .End values), oldest first.
    #[serde(default)]
    pub ended_samples: Vec<v21::MeterValue>,
    /// A Reset ImmediateAndResume interrupted it: it resumes (TxResumed)
    /// once the reset is done (B13).
    #[serde(default)]
    pub resuming: bool,
    /// Resumed without `TxAllowEnergyTransferResumption`: no energy for the
    /// rest of it (SuspendedEVSE, B13.FR.14/25).
    #[serde(default)]
    pub resumed_without_energy: bool,
}

/// A reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// The EVSE reserved.
    pub evse: i32,
    /// The token it is for.
    pub id_token: v21::IdToken,
    /// The group token it is also for.
    pub group_id_token: Option<v21::IdToken>,
    /// When it expires.
    pub expires: DateTime<Utc>,
}
