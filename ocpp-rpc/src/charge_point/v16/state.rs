//! The durable state of a 1.6 charge point: what [`snapshot`] returns and
//! [`restore`] takes, so that a restarted charger continues exactly.
//!
//! [`snapshot`]: super::ChargePoint::snapshot
//! [`restore`]: super::ChargePoint::restore

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ocpp_types::v16::{ChargePointErrorCode, MeterValue, SecurityEventNotificationRequest};
use serde::{Deserialize, Serialize};

use super::auth::{AuthCache, LocalList};
use super::config::Configuration;
use super::meter::Reading;
use super::transactions::TxQueue;
use crate::smart_charging::{Dialect, ProfileStore, StoreConfig};

/// A transaction running on a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// The charge point's own number for it (the CSMS id may come later).
    pub local_id: u64,
    /// The idTag that started it.
    pub id_tag: String,
    /// Its parentIdTag, when known.
    pub parent_id_tag: Option<String>,
    /// The meter at the start, Wh.
    pub meter_start: i64,
    /// When it started.
    pub started: DateTime<Utc>,
    /// The reservation it consumed.
    pub reservation_id: Option<i32>,
    /// The samples for StopTransaction.transactionData.
    pub stop_data: Vec<MeterValue>,
    /// Periodic samples taken so far (the next falls due at
    /// `started + (samples + 1) × MeterValueSampleInterval`).
    pub samples: u64,
    /// The CSMS refused the tag and energy was stopped.
    pub deauthorized: bool,
    /// The tag was refused and `StopTransactionOnInvalidId` is off: the
    /// meter value (Wh) at which energy stops (`MaxEnergyOnInvalidId`).
    #[serde(default)]
    pub invalid_energy_limit: Option<i64>,
}

/// A reservation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// Its id.
    pub id: i32,
    /// Who may use it.
    pub id_tag: String,
    /// Or a tag of this group.
    pub parent_id_tag: Option<String>,
    /// When it ends.
    pub expiry: DateTime<Utc>,
}

/// Whether the EV or the EVSE holds energy back during a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Suspension {
    /// Energy flows: Charging.
    #[default]
    None,
    /// The EV takes none: SuspendedEV.
    Ev,
    /// The EVSE offers none: SuspendedEVSE.
    Evse,
}

/// One connector (index 0 is the charge point as a whole).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    /// Set Inoperative by ChangeAvailability (persists).
    pub inoperative: bool,
    /// A ChangeAvailability to Inoperative waiting for the transaction to end.
    pub inoperative_scheduled: Option<bool>,
    /// A cable is plugged in.
    pub plugged: bool,
    /// A tag authorized to start here, waiting for the cable.
    pub authorized: Option<(String, Option<String>)>,
    /// The transaction running.
    pub transaction: Option<Transaction>,
    /// The transaction ended and the cable is still in.
    pub finishing: bool,
    /// The active error, if any (Faulted unless it is only a warning).
    pub fault: Option<(ChargePointErrorCode, bool)>,
    /// Who holds energy back.
    pub suspension: Suspension,
    /// The reservation on this connector.
    pub reservation: Option<Reservation>,
    /// The latest meter reading.
    pub reading: Option<Reading>,
}

/// Everything a charge point must keep across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The configuration keys.
    pub configuration: Configuration,
    /// The local authorization list.
    pub local_list: LocalList,
    /// The authorization cache.
    pub cache: AuthCache,
    /// Installed charging profiles.
    pub profiles: ProfileStore,
    /// The transaction message queue.
    pub queue: TxQueue,
    /// Connector 0 (the charge point) and 1..=N.
    pub connectors: Vec<Connector>,
    /// The last local transaction number handed out.
    pub last_local_transaction: u64,
    /// Connections made over the charge point's life: seeds the message
    /// ids of each, so that no id repeats across connections and restarts.
    #[serde(default)]
    pub connections: u64,
    /// Critical security events not yet acknowledged, oldest first (A04.FR.02).
    #[serde(default)]
    pub security_queue: VecDeque<SecurityEventNotificationRequest>,
}

impl State {
    /// The state of a new charge point with `connectors` connectors.
    pub fn new(connectors: u32) -> Self {
        State {
            configuration: Configuration::new(connectors),
            local_list: LocalList::default(),
            cache: AuthCache::default(),
            profiles: ProfileStore::new(
                Dialect::V16,
                StoreConfig {
                    evse_count: i32::try_from(connectors).unwrap_or(i32::MAX),
                    ..Default::default()
                },
            ),
            queue: TxQueue::default(),
            connectors: vec![Connector::default(); connectors as usize + 1],
            last_local_transaction: 0,
            connections: 0,
            security_queue: VecDeque::new(),
        }
    }

    /// Connectors 1..=N.
    pub fn connector_count(&self) -> u32 {
        u32::try_from(self.connectors.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }
}
