//! A charger's request reduced to what it means, whatever the version:
//! the per-version readers (`v16`, `v2x`) produce it, the session acts on it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::event::{ChargePointInfo, DataTransferStatus, Event, IdToken, Sample, StopReason};

/// The phase of a 2.x TransactionEvent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxPhase {
    Started,
    Updated,
    Ended,
}

/// A 2.x TransactionEvent.
#[derive(Debug, Clone)]
pub(crate) struct TxEvent {
    pub phase: TxPhase,
    pub id: String,
    pub seq_no: i32,
    pub timestamp: DateTime<Utc>,
    pub evse: Option<(i32, Option<i32>)>,
    pub id_token: Option<IdToken>,
    pub samples: Vec<Sample>,
    pub stopped_reason: Option<StopReason>,
}

/// A 2.x NotifyEvent entry that reports a problem.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub evse: i32,
    pub connector: i32,
    pub code: String,
    pub info: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum Incoming {
    Boot {
        info: ChargePointInfo,
        reason: Option<String>,
    },
    Heartbeat,
    Authorize {
        id_token: IdToken,
    },
    Status {
        evse: i32,
        connector: i32,
        status: String,
        error: Option<String>,
        info: Option<String>,
        timestamp: Option<DateTime<Utc>>,
    },
    Meter {
        evse: i32,
        transaction: Option<String>,
        samples: Vec<Sample>,
    },
    StartV16 {
        connector: i32,
        id_tag: String,
        meter_start: i32,
        timestamp: DateTime<Utc>,
    },
    StopV16 {
        transaction_id: i32,
        meter_stop: i32,
        timestamp: DateTime<Utc>,
        reason: StopReason,
        samples: Vec<Sample>,
    },
    Transaction(TxEvent),
    DataTransfer {
        vendor_id: String,
        message_id: Option<String>,
        data: Option<Value>,
    },
    Firmware {
        status: String,
        request_id: Option<i32>,
    },
    /// 2.x NotifyEvent: problems raised, and connector availability states.
    Notify {
        problems: Vec<Problem>,
        statuses: Vec<(i32, i32, String)>,
    },
    /// Nothing the session interprets: acknowledged if the response may be
    /// empty, else passed to the application.
    #[default]
    Other,
}

/// A reading of a request, and what could not be read in it.
#[derive(Debug, Default)]
pub(crate) struct Interpreted {
    pub incoming: Incoming,
    pub deviations: Vec<Event>,
}

impl Interpreted {
    pub(crate) fn deviation(&mut self, action: &str, path: String, detail: String) {
        self.deviations.push(Event::Deviation {
            action: action.to_owned(),
            path,
            kind: None,
            detail,
        });
    }
}

/// The neutral stop reason of a 1.6 Reason or 2.x ReasonEnum wire name.
pub(crate) fn stop_reason(wire: &str) -> StopReason {
    match wire {
        "Local" => StopReason::Local,
        "Remote" => StopReason::Remote,
        "EVDisconnected" => StopReason::EvDisconnected,
        "DeAuthorized" => StopReason::DeAuthorized,
        "EmergencyStop" => StopReason::EmergencyStop,
        "PowerLoss" => StopReason::PowerLoss,
        "Reboot" => StopReason::Reboot,
        "HardReset" | "ImmediateReset" => StopReason::HardReset,
        "SoftReset" => StopReason::SoftReset,
        "UnlockCommand" => StopReason::UnlockCommand,
        other => StopReason::Other(other.to_owned()),
    }
}

/// The wire name of a DataTransfer status (the same in every version).
pub(crate) fn data_transfer_status(status: DataTransferStatus) -> &'static str {
    match status {
        DataTransferStatus::Accepted => "Accepted",
        DataTransferStatus::Rejected => "Rejected",
        DataTransferStatus::UnknownMessageId => "UnknownMessageId",
        DataTransferStatus::UnknownVendorId => "UnknownVendorId",
    }
}
