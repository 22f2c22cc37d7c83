//! Commands the CSMS sends: any request of the connection's version (typed
//! or as JSON), and version-neutral helpers for the common ones.

use std::time::Instant;

use ocpp_types::Version;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::{IdToken, Registration};
use super::wire::{AnyRequest, DecodeFailure, WireCallError};
use super::{Session, v2x, v16};
use crate::endpoint::{CallError, CallId};

/// A remote start, in any version (1.6 RemoteStartTransaction, 2.x
/// RequestStartTransaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteStart {
    /// The token to start with (2.x: type `Central` when it has none).
    pub id_token: IdToken,
    /// The EVSE (1.6: connectorId); none lets the charger choose.
    pub evse: Option<i32>,
    /// The 2.x remoteStartId the charger echoes in its TransactionEvent;
    /// not sent on 1.6.
    pub remote_start_id: i32,
}

/// How a charger should reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ResetKind {
    /// After ending transactions gracefully (1.6 Soft, 2.x OnIdle).
    Graceful,
    /// Now (1.6 Hard, 2.x Immediate).
    Immediate,
}

/// A ChangeAvailability, in any version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// The EVSE (1.6: connectorId); none for the whole charger.
    pub evse: Option<i32>,
    /// The connector on the EVSE (2.x only).
    pub connector: Option<i32>,
    /// Operative or inoperative.
    pub operative: bool,
}

/// A message a TriggerMessage can ask for in every version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TriggerKind {
    /// BootNotification.
    BootNotification,
    /// Heartbeat.
    Heartbeat,
    /// StatusNotification (2.x: needs the EVSE and connector).
    StatusNotification,
    /// MeterValues.
    MeterValues,
    /// FirmwareStatusNotification.
    FirmwareStatusNotification,
}

impl TriggerKind {
    /// The wire name (the same in every version).
    pub fn wire_name(self) -> &'static str {
        match self {
            TriggerKind::BootNotification => "BootNotification",
            TriggerKind::Heartbeat => "Heartbeat",
            TriggerKind::StatusNotification => "StatusNotification",
            TriggerKind::MeterValues => "MeterValues",
            TriggerKind::FirmwareStatusNotification => "FirmwareStatusNotification",
        }
    }
}

/// Why a command was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The endpoint refused it (invalid payload, wrong direction, closed,
    /// queue full).
    #[error(transparent)]
    Call(#[from] CallError),
    /// A JSON payload that is no such request.
    #[error(transparent)]
    Decode(#[from] DecodeFailure),
    /// A request of another version than the connection's.
    #[error("the request is for OCPP {found:?}, the connection speaks {expected:?}")]
    WrongVersion {
        /// The connection's version.
        expected: Version,
        /// The request's.
        found: Version,
    },
    /// Not allowed in the charger's registration state: nothing while
    /// Rejected, no remote start or stop before Accepted.
    #[error("`{action}` is not sent while the registration is {registration:?}")]
    NotAllowed {
        /// The action.
        action: String,
        /// The registration state.
        registration: Registration,
    },
    /// The arguments cannot be expressed in the connection's version (a
    /// 1.6 transactionId that is not an integer).
    #[error("{0}")]
    Unsupported(String),
}

/// The remote transaction commands a charger refuses before Accepted.
const REMOTE_TRANSACTION: [&str; 4] = [
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "RequestStartTransaction",
    "RequestStopTransaction",
];

/// The actions an accepted `request` lets a Pending charger send.
fn unlocks(request: &AnyRequest) -> Vec<String> {
    let action = request.action();
    match action {
        "TriggerMessage" | "ExtendedTriggerMessage" => {
            let json = request.to_json();
            let Some(Value::String(message)) = json.get("requestedMessage") else {
                return Vec::new();
            };
            let sent = match message.as_str() {
                m if m.starts_with("Sign") => "SignCertificate".to_owned(),
                "FirmwareStatusNotification" if action == "ExtendedTriggerMessage" => {
                    "SignedFirmwareStatusNotification".to_owned()
                }
                m => m.to_owned(),
            };
            vec![sent]
        }
        "GetBaseReport" | "GetReport" => vec!["NotifyReport".to_owned()],
        _ => Vec::new(),
    }
}

impl Session {
    fn command_allowed(&self, action: &str) -> Result<(), CommandError> {
        let registration = self.state.registration;
        let allowed = match registration {
            Registration::Accepted => true,
            Registration::Rejected => false,
            _ => !REMOTE_TRANSACTION.contains(&action),
        };
        if allowed {
            Ok(())
        } else {
            Err(CommandError::NotAllowed {
                action: action.to_owned(),
                registration,
            })
        }
    }

    /// Sends any CSMS-initiated request of the connection's version; its
    /// answer comes as [`Event::CommandResult`](super::Event::CommandResult)
    /// with the returned handle.
    pub fn call(
        &mut self,
        now: Instant,
        request: impl Into<AnyRequest>,
    ) -> Result<CallId, CommandError> {
        let request = request.into();
        let action = request.action();
        self.command_allowed(action)?;
        let unlocks = unlocks(&request);
        let call = self.wire.call(now, request).map_err(|e| match e {
            WireCallError::Call(e) => CommandError::Call(e),
            WireCallError::WrongVersion { expected, found } => {
                CommandError::WrongVersion { expected, found }
            }
        })?;
        self.commands
            .insert(call, super::Command { action, unlocks });
        Ok(call)
    }

    /// Sends one typed request of the connection's version (for example a
    /// `v201::ClearCacheRequest`).
    pub fn call_typed<R: ocpp_types::Request>(
        &mut self,
        now: Instant,
        request: R,
    ) -> Result<CallId, CommandError> {
        let payload = serde_json::to_string(&request)
            .map_err(|e| CommandError::Call(CallError::Encode(e.to_string())))?;
        if R::VERSION != self.version() {
            return Err(CommandError::WrongVersion {
                expected: self.version(),
                found: R::VERSION,
            });
        }
        self.call_json(now, R::ACTION, &payload)
    }

    /// Sends the request `action` with a JSON `payload`: decoded and
    /// validated for the connection's version first (an error, and nothing
    /// sent, if it is not such a request).
    pub fn call_json(
        &mut self,
        now: Instant,
        action: &str,
        payload: &str,
    ) -> Result<CallId, CommandError> {
        let request = AnyRequest::decode(self.version(), action, payload)?;
        self.call(now, request)
    }

    fn call_value(
        &mut self,
        now: Instant,
        action: &str,
        payload: Value,
    ) -> Result<CallId, CommandError> {
        self.call_json(now, action, &payload.to_string())
    }

    /// Starts a transaction remotely (1.6 RemoteStartTransaction, 2.x
    /// RequestStartTransaction).
    pub fn remote_start(
        &mut self,
        now: Instant,
        start: &RemoteStart,
    ) -> Result<CallId, CommandError> {
        match self.version() {
            Version::V16 => {
                self.call_value(now, "RemoteStartTransaction", v16::remote_start(start))
            }
            _ => self.call_value(now, "RequestStartTransaction", v2x::remote_start(start)),
        }
    }

    /// Stops a transaction remotely (1.6 RemoteStopTransaction, whose ids
    /// are integers; 2.x RequestStopTransaction).
    pub fn remote_stop(
        &mut self,
        now: Instant,
        transaction_id: &str,
    ) -> Result<CallId, CommandError> {
        match self.version() {
            Version::V16 => {
                let payload = v16::remote_stop(transaction_id).ok_or_else(|| {
                    CommandError::Unsupported(format!(
                        "`{transaction_id}` is not a 1.6 transactionId"
                    ))
                })?;
                self.call_value(now, "RemoteStopTransaction", payload)
            }
            _ => self.call_value(
                now,
                "RequestStopTransaction",
                v2x::remote_stop(transaction_id),
            ),
        }
    }

    /// Resets the charger.
    pub fn reset(&mut self, now: Instant, kind: ResetKind) -> Result<CallId, CommandError> {
        match self.version() {
            Version::V16 => self.call_value(now, "Reset", v16::reset(kind)),
            _ => self.call_value(now, "Reset", v2x::reset(kind, None)),
        }
    }

    /// Makes the charger, an EVSE or a connector operative or inoperative.
    pub fn change_availability(
        &mut self,
        now: Instant,
        availability: &Availability,
    ) -> Result<CallId, CommandError> {
        match self.version() {
            Version::V16 => self.call_value(
                now,
                "ChangeAvailability",
                v16::change_availability(availability),
            ),
            _ => self.call_value(
                now,
                "ChangeAvailability",
                v2x::change_availability(availability),
            ),
        }
    }

    /// Asks the charger to send a message now (1.6 connectorId = `evse`).
    pub fn trigger(
        &mut self,
        now: Instant,
        kind: TriggerKind,
        evse: Option<i32>,
        connector: Option<i32>,
    ) -> Result<CallId, CommandError> {
        match self.version() {
            Version::V16 => self.call_value(now, "TriggerMessage", v16::trigger(kind, evse)),
            _ => self.call_value(now, "TriggerMessage", v2x::trigger(kind, evse, connector)),
        }
    }
}
