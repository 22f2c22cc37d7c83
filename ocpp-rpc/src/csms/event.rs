//! The version-neutral event model: what a [`Session`](super::Session)
//! tells its application, the same for 1.6, 2.0.1 and 2.1, and the
//! answers the application gives back.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::wire::{AnyRequest, AnyResponse};
use crate::endpoint::{CallFailure, CallId, DeviationKind};
use crate::error::ErrorCode;

/// The handle of a CALL the application must answer (boot, authorization,
/// transaction id, data transfer, any other request). It is valid on the
/// session that issued it, until answered or the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub(crate) u64);

impl std::fmt::Display for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ticket#{}", self.0)
    }
}

/// Who the charger says it is (BootNotification).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChargePointInfo {
    /// 1.6 `chargePointVendor`, 2.x `chargingStation.vendorName`.
    pub vendor: String,
    /// 1.6 `chargePointModel`, 2.x `chargingStation.model`.
    pub model: String,
    /// 1.6 `chargePointSerialNumber` (else `chargeBoxSerialNumber`), 2.x
    /// `chargingStation.serialNumber`.
    pub serial_number: Option<String>,
    /// The firmware version.
    pub firmware_version: Option<String>,
}

/// The registration state of the charger on this CSMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Registration {
    /// No boot answered yet: every CALL but BootNotification is refused.
    #[default]
    Unknown,
    /// Boot answered Pending: only BootNotification and triggered messages.
    Pending,
    /// Boot answered Accepted: everything.
    Accepted,
    /// Boot answered Rejected: only BootNotification.
    Rejected,
}

/// The application's answer to a boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootDecision {
    /// Accepted, Pending or Rejected ([`Registration::Unknown`] is sent as
    /// Rejected).
    pub status: Registration,
    /// Accepted: the heartbeat interval; otherwise the retry wait (0: the
    /// charger chooses), in seconds.
    pub interval: u32,
}

impl BootDecision {
    /// Accepted, heartbeat every `interval` seconds.
    pub fn accepted(interval: u32) -> Self {
        BootDecision {
            status: Registration::Accepted,
            interval,
        }
    }
    /// Pending, retry after `interval` seconds.
    pub fn pending(interval: u32) -> Self {
        BootDecision {
            status: Registration::Pending,
            interval,
        }
    }
    /// Rejected, retry after `interval` seconds.
    pub fn rejected(interval: u32) -> Self {
        BootDecision {
            status: Registration::Rejected,
            interval,
        }
    }
}

/// A connector's (1.6) or EVSE connector's (2.x) state, reduced to the 2.x
/// set: 1.6 Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing
/// are all [`Occupied`](ConnectorStatus::Occupied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConnectorStatus {
    /// Free.
    Available,
    /// A vehicle is plugged in or a transaction runs.
    Occupied,
    /// Reserved.
    Reserved,
    /// Out of service (by command or by its parent).
    Unavailable,
    /// Broken.
    Faulted,
}

/// One connector's last known state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// The EVSE (1.6: the connectorId; 0 = the whole charger).
    pub evse: i32,
    /// The connector on the EVSE (1.6: 1, or 0 for the whole charger).
    pub connector: i32,
    /// The state.
    pub status: ConnectorStatus,
    /// The error code reported with it (1.6 only; `NoError` is `None`).
    pub error: Option<String>,
    /// When the charger says the state began.
    pub since: Option<DateTime<Utc>>,
}

/// An identifier presented for authorization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdToken {
    /// The token (1.6 `idTag`, 2.x `idToken.idToken`).
    pub value: String,
    /// The 2.x token type (`ISO14443`, `Central`, ...); 1.6 tags have none.
    pub kind: Option<String>,
}

/// What an authorization is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthPurpose {
    /// An Authorize request.
    Authorize,
    /// A transaction starting with this token on `evse`/`connector` (1.6
    /// StartTransaction, 2.x TransactionEvent Started with an idToken).
    StartTransaction {
        /// The EVSE.
        evse: i32,
        /// The connector.
        connector: i32,
    },
    /// A token presented during a running transaction (2.x TransactionEvent
    /// Updated with an idToken).
    Transaction {
        /// The transaction id.
        id: String,
    },
}

/// An authorization status, the union of both versions' sets (sent to 1.6
/// chargers as Invalid where 1.6 lacks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AuthStatus {
    /// Allowed.
    Accepted,
    /// Blocked.
    Blocked,
    /// Expired.
    Expired,
    /// Not valid.
    Invalid,
    /// Already in use in another transaction.
    ConcurrentTx,
    /// Unknown token (2.x).
    Unknown,
    /// No credit left (2.x).
    NoCredit,
    /// Not allowed on this EVSE type (2.x).
    NotAllowedTypeEvse,
    /// Not allowed at this location (2.x).
    NotAtThisLocation,
    /// Not allowed at this time (2.x).
    NotAtThisTime,
}

/// The application's answer to an authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The status.
    pub status: AuthStatus,
    /// Until when the charger may cache it.
    pub expiry: Option<DateTime<Utc>>,
    /// The group (1.6 `parentIdTag`, 2.x `groupIdToken` of type Central).
    pub group: Option<String>,
}

impl Authorization {
    /// Accepted, no expiry, no group.
    pub fn accepted() -> Self {
        Self::with_status(AuthStatus::Accepted)
    }
    /// `status`, no expiry, no group.
    pub fn with_status(status: AuthStatus) -> Self {
        Authorization {
            status,
            expiry: None,
            group: None,
        }
    }
}

/// The application's answer to a DataTransfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataTransferAnswer {
    /// The status.
    pub status: DataTransferStatus,
    /// Data to return (1.6: sent as a string; a JSON string stays as is,
    /// other values are written as JSON text).
    pub data: Option<serde_json::Value>,
}

/// The status of a DataTransfer answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataTransferStatus {
    /// Handled.
    Accepted,
    /// Refused.
    Rejected,
    /// The messageId is not known.
    UnknownMessageId,
    /// The vendorId is not known.
    UnknownVendorId,
}

/// Why a transaction ended, neutral across versions; a reason without an
/// equivalent is kept as its wire name in [`Other`](StopReason::Other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// Stopped at the charger (also when no reason was sent).
    Local,
    /// Stopped by the CSMS.
    Remote,
    /// The EV was unplugged.
    EvDisconnected,
    /// The token was found invalid.
    DeAuthorized,
    /// The emergency stop.
    EmergencyStop,
    /// Power failed.
    PowerLoss,
    /// The charger rebooted.
    Reboot,
    /// A hard reset (1.6 HardReset, 2.x ImmediateReset).
    HardReset,
    /// A soft reset (1.6).
    SoftReset,
    /// An UnlockConnector command (1.6).
    UnlockCommand,
    /// Another reason, by its wire name.
    Other(String),
}

/// One meter reading, normalised: values are exact decimals, units carry
/// no prefix (`kWh` becomes `Wh`, `kW` becomes `W`; a 2.x `multiplier` is
/// applied), and every optional field has its OCPP default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The measurand's wire name (default `Energy.Active.Import.Register`).
    pub measurand: String,
    /// The phase's wire name (`L1`, `L1-N`, ...), none for a total.
    pub phase: Option<String>,
    /// The unit: `Wh`, `varh`, `W`, `var`, `VA`, `A`, `V`, `Hz`, `K`,
    /// `Celsius`, `Fahrenheit`, `Percent`, or as sent when unknown. Absent,
    /// it is derived from the measurand (energy `Wh`, power `W`, ...).
    pub unit: String,
    /// The value in `unit`.
    #[serde(with = "super::decimal_text")]
    pub value: Decimal,
    /// When it was measured.
    pub timestamp: DateTime<Utc>,
    /// The reading context's wire name (default `Sample.Periodic`).
    pub context: String,
    /// The location's wire name (default `Outlet`).
    pub location: String,
}

/// What a [`Session`](super::Session) tells its application. The same
/// messages of different versions give the same events; see the
/// [module docs](super) for the mapping.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A BootNotification waits for [`answer_boot`](super::Session::answer_boot)
    /// (only without `auto_accept_boot`).
    BootRequested {
        /// Answer with this.
        ticket: Ticket,
        /// Who the charger is.
        charge_point: ChargePointInfo,
        /// The 2.x boot reason's wire name; none on 1.6.
        reason: Option<String>,
    },
    /// A boot was answered (by the application or automatically).
    Booted {
        /// Who the charger is.
        charge_point: ChargePointInfo,
        /// The answer given.
        status: Registration,
    },
    /// A connector's state changed.
    StatusChanged {
        /// The EVSE (1.6: connectorId).
        evse: i32,
        /// The connector (1.6: 1, or 0 for the whole charger).
        connector: i32,
        /// The new state.
        status: ConnectorStatus,
        /// The 1.6 error code, if not NoError.
        error: Option<String>,
    },
    /// The charger reports a problem: a 1.6 StatusNotification error code,
    /// or a 2.x NotifyEvent on a `Problem` variable set to true.
    Fault {
        /// The EVSE (0: the charger).
        evse: i32,
        /// The connector (0: the EVSE or charger).
        connector: i32,
        /// The 1.6 error code, or the 2.x techCode (else the component name).
        code: String,
        /// Free text (1.6 info, 2.x techInfo).
        info: Option<String>,
    },
    /// A token waits for [`answer_authorization`](super::Session::answer_authorization)
    /// (only without `accept_all_tokens`).
    AuthorizationRequested {
        /// Answer with this.
        ticket: Ticket,
        /// The token.
        id_token: IdToken,
        /// What for.
        purpose: AuthPurpose,
    },
    /// 1.6 only: a StartTransaction waits for the transaction id the CSMS
    /// issues ([`answer_transaction_id`](super::Session::answer_transaction_id));
    /// only with [`TransactionIds::Ask`](super::TransactionIds::Ask).
    TransactionIdRequested {
        /// Answer with this.
        ticket: Ticket,
        /// The connector.
        evse: i32,
        /// The token that started it.
        id_token: IdToken,
        /// The meter at start, Wh.
        meter_start_wh: Decimal,
        /// When it started.
        timestamp: DateTime<Utc>,
    },
    /// A transaction began.
    TransactionStarted {
        /// The transaction id (1.6: the issued integer, as text).
        id: String,
        /// The EVSE (1.6: connectorId).
        evse: i32,
        /// The connector (1.6: 1).
        connector: i32,
        /// The token that started it, if any yet.
        id_token: Option<IdToken>,
        /// The energy register at start, Wh.
        meter_start_wh: Option<Decimal>,
        /// When it started.
        timestamp: DateTime<Utc>,
    },
    /// Meter readings of a running transaction.
    TransactionUpdated {
        /// The transaction id.
        id: String,
        /// The readings, normalised.
        samples: Vec<Sample>,
    },
    /// A transaction ended.
    TransactionEnded {
        /// The transaction id.
        id: String,
        /// Why.
        reason: StopReason,
        /// The energy register at the end, Wh (2.x: the Transaction.End
        /// register reading, else the last one seen).
        meter_stop_wh: Option<Decimal>,
        /// The energy delivered, Wh, when start and stop are both known.
        energy_wh: Option<Decimal>,
        /// When it ended.
        timestamp: DateTime<Utc>,
    },
    /// Meter readings outside a transaction (1.6 MeterValues without a
    /// transactionId, 2.x MeterValues).
    MeterSamples {
        /// The EVSE (0: the main meter).
        evse: i32,
        /// The readings, normalised.
        samples: Vec<Sample>,
    },
    /// 2.x: a TransactionEvent's seqNo skipped numbers (messages lost).
    SeqNoGap {
        /// The transaction id.
        id: String,
        /// The seqNo expected.
        expected: i32,
        /// The seqNo received.
        received: i32,
    },
    /// A message repeated one already processed; it was acknowledged
    /// (1.6 StartTransaction with the same transactionId) and not counted
    /// again.
    Duplicate {
        /// The action.
        action: String,
        /// The transaction concerned.
        transaction: String,
        /// The 2.x seqNo.
        seq_no: Option<i32>,
    },
    /// A Heartbeat was answered.
    Heartbeat {
        /// The time sent back.
        at: DateTime<Utc>,
    },
    /// A firmware update progressed (1.6 FirmwareStatusNotification and
    /// SignedFirmwareStatusNotification, 2.x FirmwareStatusNotification).
    FirmwareStatus {
        /// The status's wire name.
        status: String,
        /// The request id, if any.
        request_id: Option<i32>,
    },
    /// A DataTransfer for one of `data_transfer_vendors` waits for
    /// [`answer_data_transfer`](super::Session::answer_data_transfer).
    DataTransferRequested {
        /// Answer with this.
        ticket: Ticket,
        /// The vendor.
        vendor_id: String,
        /// The message id.
        message_id: Option<String>,
        /// The data (1.6: the string).
        data: Option<serde_json::Value>,
    },
    /// Another CALL the session does not answer itself (certificates, EV
    /// charging needs, ...): answer with
    /// [`answer_request`](super::Session::answer_request) or
    /// [`answer_error`](super::Session::answer_error).
    Request {
        /// Answer with this.
        ticket: Ticket,
        /// The request.
        request: AnyRequest,
    },
    /// A notification the session acknowledged and has no event for
    /// (NotifyReport, SecurityEventNotification, a 2.1 SEND, ...).
    Notification {
        /// The message.
        request: AnyRequest,
    },
    /// A command sent with [`call`](super::Session::call) or a helper resolved.
    CommandResult {
        /// The handle the call returned.
        call: CallId,
        /// The action.
        action: String,
        /// The typed response, or why there is none.
        result: Result<AnyResponse, CallFailure>,
    },
    /// An incoming message broke the schema in a way the tolerance policy
    /// accepts, or a meter value could not be read; delivered all the same.
    Deviation {
        /// The action.
        action: String,
        /// The JSON path.
        path: String,
        /// What kind (none for an unreadable meter value).
        kind: Option<DeviationKind>,
        /// The details.
        detail: String,
    },
    /// An incoming message was refused: answered with an error (also by the
    /// boot gate), or dropped.
    Rejected {
        /// The message id, if readable.
        id: Option<String>,
        /// The action, if known.
        action: Option<String>,
        /// The error code sent back, if any.
        code: Option<ErrorCode>,
        /// Why.
        reason: String,
    },
    /// The connection closed; pending tickets are void.
    Disconnected {
        /// When.
        at: DateTime<Utc>,
    },
}
