//! What every message type offers, whatever its version: its action name,
//! its version and, for a request, its response type.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{DecodeError, Validate};

/// An OCPP-J protocol version, as negotiated by WebSocket subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Version {
    /// OCPP 1.6-J with the security extension (`ocpp1.6`).
    V16,
    /// OCPP 2.0.1 (`ocpp2.0.1`).
    V201,
    /// OCPP 2.1 (`ocpp2.1`).
    V21,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 3] = [Version::V16, Version::V201, Version::V21];

    /// The WebSocket subprotocol name.
    pub const fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => "ocpp1.6",
            Version::V201 => "ocpp2.0.1",
            Version::V21 => "ocpp2.1",
        }
    }

    /// The version for a subprotocol name.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.subprotocol() == name)
    }
}

/// The two ends of an OCPP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// The charge point (1.6) or charging station (2.x): the WebSocket client.
    ChargePoint,
    /// The central system (1.6) or CSMS (2.x): the WebSocket server.
    Csms,
}

/// A request payload (the body of a CALL).
pub trait Request:
    Serialize + DeserializeOwned + Validate + Debug + Clone + Send + Sync + 'static
{
    /// The action name on the wire (`BootNotification`).
    const ACTION: &'static str;
    /// The version this type belongs to.
    const VERSION: Version;
    /// The payload of the CALLRESULT that answers it.
    type Response: Response<Protocol = Self::Protocol>;
    /// The version's messages.
    type Protocol: Protocol<AnyRequest: From<Self>>;
}

/// A response payload (the body of a CALLRESULT).
pub trait Response:
    Serialize + DeserializeOwned + Validate + Debug + Clone + Send + Sync + 'static
{
    /// The action of the request it answers.
    const ACTION: &'static str;
    /// The version this type belongs to.
    const VERSION: Version;
    /// The version's messages.
    type Protocol: Protocol<AnyResponse: From<Self> + TryInto<Self>>;
}

/// A message sent without a reply (the body of a 2.1 SEND frame).
pub trait SendMessage:
    Serialize + DeserializeOwned + Validate + Debug + Clone + Send + Sync + 'static
{
    /// The action name on the wire (`NotifyPeriodicEventStream`).
    const ACTION: &'static str;
    /// The version this type belongs to.
    const VERSION: Version;
    /// The version's messages.
    type Protocol: Protocol<AnyRequest: From<Self>>;
}

/// One OCPP version's messages, for code that is generic over versions
/// (the RPC endpoint, the transport). Implemented by `v16::V16`,
/// `v201::V201` and `v21::V21`.
pub trait Protocol: Debug + Clone + Copy + Default + Send + Sync + 'static {
    /// The version.
    const VERSION: Version;
    /// The version's `Action` enum.
    type Action: Debug
        + Clone
        + Copy
        + PartialEq
        + Eq
        + std::hash::Hash
        + std::fmt::Display
        + Send
        + Sync
        + 'static;
    /// The version's `AnyRequest`: every request and SEND payload.
    type AnyRequest: Serialize + Validate + Debug + Clone + PartialEq + Send + Sync + 'static;
    /// The version's `AnyResponse`: every response payload.
    type AnyResponse: Serialize + Validate + Debug + Clone + PartialEq + Send + Sync + 'static;

    /// The action with wire name `name`.
    fn action(name: &str) -> Option<Self::Action>;
    /// The wire name of `action`.
    fn action_name(action: Self::Action) -> &'static str;
    /// Whether `role` may send `action`.
    fn is_sent_by(action: Self::Action, role: Role) -> bool;
    /// Whether `action` travels in a SEND frame (2.1), never answered.
    fn is_send(action: Self::Action) -> bool;
    /// The action of a request payload.
    fn request_action(request: &Self::AnyRequest) -> Self::Action;
    /// The action of a response payload.
    fn response_action(response: &Self::AnyResponse) -> Self::Action;
    /// Decodes the request (or SEND) payload of `action`.
    fn decode_request(action: &str, payload: &str) -> Result<Self::AnyRequest, DecodeError>;
    /// Decodes the response payload of `action`.
    fn decode_response(action: &str, payload: &str) -> Result<Self::AnyResponse, DecodeError>;
}
