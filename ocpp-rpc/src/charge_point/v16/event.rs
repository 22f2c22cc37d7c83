//! What a 1.6 charge point tells its application.

use ocpp_types::v16::{
    AuthorizationStatus, DataTransferRequest, Reason, RegistrationStatus, ResetType,
};

use super::transactions::TxMessage;
use crate::smart_charging::Composite;

/// An incoming CALL the application must answer (unlock, data transfer):
/// pass it back to the answering method. It is tied to the connection it
/// came on; after a reconnect the answer is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PendingCall {
    pub(crate) id: String,
    pub(crate) connection: u64,
}

impl PendingCall {
    /// The CALL's message id.
    pub fn message_id(&self) -> &str {
        &self.id
    }
}

/// A domain event, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The durable state changed: persist [`snapshot`](super::ChargePoint::snapshot).
    StateChanged,
    /// The CSMS answered BootNotification.
    Registration(RegistrationStatus),
    /// A tag was accepted for `connector`.
    Authorized {
        /// The connector.
        connector: u32,
        /// The tag.
        id_tag: String,
    },
    /// A tag was refused.
    AuthorizationRefused {
        /// The connector.
        connector: u32,
        /// The tag.
        id_tag: String,
        /// Why (`Invalid` for an unknown tag refused offline).
        status: AuthorizationStatus,
    },
    /// Start delivering energy (lock the cable first).
    StartCharging {
        /// The connector.
        connector: u32,
        /// The charge point's local number of the transaction.
        transaction: u64,
    },
    /// Stop delivering energy.
    StopCharging {
        /// The connector.
        connector: u32,
        /// The local number of the transaction.
        transaction: u64,
        /// Why.
        reason: Reason,
        /// Whether the transaction ended (`false`: only energy stops, the
        /// tag was refused and `StopTransactionOnInvalidId` is off).
        ended: bool,
        /// Whether to unlock the cable.
        unlock: bool,
    },
    /// The CSMS asks to unlock `connector`: answer with
    /// [`unlock_result`](super::ChargePoint::unlock_result).
    UnlockConnector {
        /// The call to answer.
        call: PendingCall,
        /// The connector.
        connector: u32,
    },
    /// The limit of `connector` changed (after a charging profile change
    /// or a transaction start or end): apply it.
    ApplyLimit {
        /// The connector (0: the whole charge point).
        connector: u32,
        /// Its composite schedule from now on.
        schedule: Composite,
    },
    /// Reboot now (the queue is durable: persist the snapshot first).
    Reboot(ResetType),
    /// A DataTransfer for the application: answer with
    /// [`answer_data_transfer`](super::ChargePoint::answer_data_transfer).
    DataTransfer {
        /// The call to answer.
        call: PendingCall,
        /// The request.
        request: DataTransferRequest,
    },
    /// The CSMS answered the application's DataTransfer
    /// ([`data_transfer`](super::ChargePoint::data_transfer)).
    DataTransferAnswered {
        /// The status (`None`: no answer, the call failed).
        status: Option<ocpp_types::v16::DataTransferStatus>,
        /// The data.
        data: Option<String>,
    },
    /// A transaction message was dropped after `TransactionMessageAttempts`
    /// tries (or because its StartTransaction was).
    TransactionMessageDropped {
        /// The local number of its transaction.
        transaction: u64,
        /// The message.
        message: TxMessage,
    },
    /// The availability of `connector` changed (ChangeAvailability).
    AvailabilityChanged {
        /// The connector (0: all).
        connector: u32,
        /// Whether it is now operative.
        operative: bool,
    },
    /// A CSMS request the application took over
    /// ([`Config::application_actions`](super::Config::application_actions)):
    /// answer it with [`answer_call`](super::ChargePoint::answer_call), then
    /// report progress with [`notify`](super::ChargePoint::notify).
    Request {
        /// The call to answer.
        call: PendingCall,
        /// The request.
        request: ocpp_types::v16::AnyRequest,
    },
    /// The CSMS asks for a new charge point certificate
    /// (ExtendedTriggerMessage SignChargePointCertificate): make a key and
    /// a CSR and send SignCertificate with [`notify`](super::ChargePoint::notify).
    SignCertificate,
    /// The CSMS answered a [`notify`](super::ChargePoint::notify).
    Answered {
        /// The notification's action.
        action: ocpp_types::v16::Action,
        /// The answer (`None`: the call failed).
        response: Option<ocpp_types::v16::AnyResponse>,
    },
    /// The endpoint refused something or reported a deviation.
    Protocol(String),
}
