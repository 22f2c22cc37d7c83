//! One endpoint of whichever version the connection speaks, and the
//! messages of any version in one type.

use std::time::Instant;

use ocpp_types::{Protocol, Validate, Version, v16, v21, v201};

use crate::endpoint::{
    CallError, CallFailure, CallId, Config, DeviationKind, Endpoint, Event, IdGenerator,
};
use crate::error::ErrorCode;

/// A request of any version: a command to send, or a charger's request
/// passed through.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyRequest {
    /// OCPP 1.6.
    V16(v16::AnyRequest),
    /// OCPP 2.0.1.
    V201(v201::AnyRequest),
    /// OCPP 2.1.
    V21(v21::AnyRequest),
}

/// A response of any version.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyResponse {
    /// OCPP 1.6.
    V16(v16::AnyResponse),
    /// OCPP 2.0.1.
    V201(v201::AnyResponse),
    /// OCPP 2.1.
    V21(v21::AnyResponse),
}

impl From<v16::AnyRequest> for AnyRequest {
    fn from(r: v16::AnyRequest) -> Self {
        AnyRequest::V16(r)
    }
}
impl From<v201::AnyRequest> for AnyRequest {
    fn from(r: v201::AnyRequest) -> Self {
        AnyRequest::V201(r)
    }
}
impl From<v21::AnyRequest> for AnyRequest {
    fn from(r: v21::AnyRequest) -> Self {
        AnyRequest::V21(r)
    }
}
impl From<v16::AnyResponse> for AnyResponse {
    fn from(r: v16::AnyResponse) -> Self {
        AnyResponse::V16(r)
    }
}
impl From<v201::AnyResponse> for AnyResponse {
    fn from(r: v201::AnyResponse) -> Self {
        AnyResponse::V201(r)
    }
}
impl From<v21::AnyResponse> for AnyResponse {
    fn from(r: v21::AnyResponse) -> Self {
        AnyResponse::V21(r)
    }
}

macro_rules! by_version {
    ($value:expr, $name:ident => $body:expr) => {
        match $value {
            Self::V16($name) => $body,
            Self::V201($name) => $body,
            Self::V21($name) => $body,
        }
    };
}

impl AnyRequest {
    /// The version.
    pub fn version(&self) -> Version {
        match self {
            AnyRequest::V16(_) => Version::V16,
            AnyRequest::V201(_) => Version::V201,
            AnyRequest::V21(_) => Version::V21,
        }
    }

    /// The action's wire name.
    pub fn action(&self) -> &'static str {
        match self {
            AnyRequest::V16(r) => v16::V16::action_name(v16::V16::request_action(r)),
            AnyRequest::V201(r) => v201::V201::action_name(v201::V201::request_action(r)),
            AnyRequest::V21(r) => v21::V21::action_name(v21::V21::request_action(r)),
        }
    }

    /// The payload as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        by_version!(self, r => serde_json::to_value(r).unwrap_or(serde_json::Value::Null))
    }

    /// Decodes and validates `payload` as a request `action` of `version`.
    pub fn decode(version: Version, action: &str, payload: &str) -> Result<Self, DecodeFailure> {
        let request: AnyRequest = match version {
            Version::V16 => v16::decode_request(action, payload).map(Into::into),
            Version::V201 => v201::decode_request(action, payload).map(Into::into),
            _ => v21::decode_request(action, payload).map(Into::into),
        }
        .map_err(|e| DecodeFailure::Decode(e.to_string()))?;
        by_version!(&request, r => r.validate())
            .map_err(|v| DecodeFailure::Invalid(v.to_string()))?;
        Ok(request)
    }
}

impl AnyResponse {
    /// The version.
    pub fn version(&self) -> Version {
        match self {
            AnyResponse::V16(_) => Version::V16,
            AnyResponse::V201(_) => Version::V201,
            AnyResponse::V21(_) => Version::V21,
        }
    }

    /// The action's wire name.
    pub fn action(&self) -> &'static str {
        match self {
            AnyResponse::V16(r) => v16::V16::action_name(v16::V16::response_action(r)),
            AnyResponse::V201(r) => v201::V201::action_name(v201::V201::response_action(r)),
            AnyResponse::V21(r) => v21::V21::action_name(v21::V21::response_action(r)),
        }
    }

    /// The payload as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        by_version!(self, r => serde_json::to_value(r).unwrap_or(serde_json::Value::Null))
    }

    /// The top-level `status` member's wire value, which most responses
    /// have (`Accepted`, `Rejected`, ...).
    pub fn status(&self) -> Option<String> {
        match self.to_json().get("status") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Decodes and validates `payload` as a response `action` of `version`.
    pub fn decode(version: Version, action: &str, payload: &str) -> Result<Self, DecodeFailure> {
        let response: AnyResponse = match version {
            Version::V16 => v16::decode_response(action, payload).map(Into::into),
            Version::V201 => v201::decode_response(action, payload).map(Into::into),
            _ => v21::decode_response(action, payload).map(Into::into),
        }
        .map_err(|e| DecodeFailure::Decode(e.to_string()))?;
        by_version!(&response, r => r.validate())
            .map_err(|v| DecodeFailure::Invalid(v.to_string()))?;
        Ok(response)
    }
}

/// Why a JSON payload is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeFailure {
    /// Unknown action, or the payload does not have the message's shape.
    #[error("{0}")]
    Decode(String),
    /// The payload breaks the schema's constraints.
    #[error("invalid payload: {0}")]
    Invalid(String),
}

/// What the endpoint reported, with the version taken out.
pub(crate) enum WireEvent {
    Request {
        id: String,
        request: AnyRequest,
    },
    Send {
        message: AnyRequest,
    },
    Response {
        call: CallId,
        result: Result<AnyResponse, CallFailure>,
    },
    Deviation {
        action: String,
        path: String,
        kind: DeviationKind,
        detail: String,
    },
    Rejected {
        id: Option<String>,
        action: Option<String>,
        code: Option<ErrorCode>,
        reason: String,
    },
}

fn neutral<P: Protocol>(
    event: Event<P>,
    request: fn(P::AnyRequest) -> AnyRequest,
    response: fn(P::AnyResponse) -> AnyResponse,
) -> WireEvent {
    match event {
        Event::Request { id, request: r } => WireEvent::Request {
            id,
            request: request(r),
        },
        Event::Send { message, .. } => WireEvent::Send {
            message: request(message),
        },
        Event::Response { call, result } => WireEvent::Response {
            call,
            result: result.map(response),
        },
        Event::Deviation {
            action,
            path,
            kind,
            detail,
            ..
        } => WireEvent::Deviation {
            action,
            path,
            kind,
            detail,
        },
        Event::Rejected {
            id,
            action,
            code,
            reason,
        } => WireEvent::Rejected {
            id,
            action,
            code,
            reason,
        },
        Event::ResultRefused {
            id,
            code,
            description,
        } => WireEvent::Rejected {
            id: Some(id),
            action: None,
            code: Some(code),
            reason: format!("the charger refused our CALLRESULT: {description}"),
        },
    }
}

/// The endpoint of the connection's version.
pub(crate) enum Wire {
    V16(Endpoint<v16::V16>),
    V201(Endpoint<v201::V201>),
    V21(Endpoint<v21::V21>),
}

/// Why an answer to an incoming CALL could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// No CALL waits under this ticket (answered already, or the
    /// connection closed).
    #[error("no CALL waits under this ticket")]
    UnknownTicket,
    /// The ticket is for another kind of answer.
    #[error("this ticket takes {0}")]
    WrongKind(&'static str),
    /// The response is of another version than the connection's.
    #[error("the response is for OCPP {found:?}, the connection speaks {expected:?}")]
    WrongVersion {
        /// The connection's version.
        expected: Version,
        /// The response's.
        found: Version,
    },
    /// The endpoint refused the response (invalid, wrong action).
    #[error("{0}")]
    Refused(String),
}

impl Wire {
    pub(crate) fn new(
        version: Version,
        config: Config,
        ids: Box<dyn IdGenerator>,
        now: Instant,
    ) -> Self {
        match version {
            Version::V16 => Wire::V16(Endpoint::with_ids(config, ids, now)),
            Version::V201 => Wire::V201(Endpoint::with_ids(config, ids, now)),
            _ => Wire::V21(Endpoint::with_ids(config, ids, now)),
        }
    }

    pub(crate) fn version(&self) -> Version {
        match self {
            Wire::V16(_) => Version::V16,
            Wire::V201(_) => Version::V201,
            Wire::V21(_) => Version::V21,
        }
    }

    pub(crate) fn handle_text(&mut self, now: Instant, text: &str) {
        by_version!(self, e => e.handle_text(now, text))
    }
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        by_version!(self, e => e.handle_timeout(now))
    }
    pub(crate) fn handle_closed(&mut self, now: Instant) {
        by_version!(self, e => e.handle_closed(now))
    }
    pub(crate) fn is_closed(&self) -> bool {
        by_version!(self, e => e.is_closed())
    }
    pub(crate) fn poll_transmit(&mut self) -> Option<String> {
        by_version!(self, e => e.poll_transmit())
    }
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        by_version!(self, e => e.poll_timeout())
    }

    /// The next endpoint event.
    pub(crate) fn poll_event(&mut self) -> Option<WireEvent> {
        Some(match self {
            Wire::V16(e) => neutral(e.poll_event()?, AnyRequest::V16, AnyResponse::V16),
            Wire::V201(e) => neutral(e.poll_event()?, AnyRequest::V201, AnyResponse::V201),
            Wire::V21(e) => neutral(e.poll_event()?, AnyRequest::V21, AnyResponse::V21),
        })
    }

    /// Answers the CALL `id` of action `action` with `payload` (JSON text).
    pub(crate) fn respond_json(
        &mut self,
        id: &str,
        action: &str,
        payload: &str,
    ) -> Result<(), AnswerError> {
        let response = AnyResponse::decode(self.version(), action, payload)
            .map_err(|e| AnswerError::Refused(e.to_string()))?;
        self.respond(id, response)
    }

    pub(crate) fn respond(&mut self, id: &str, response: AnyResponse) -> Result<(), AnswerError> {
        let refused = |e: crate::endpoint::RespondError| AnswerError::Refused(e.to_string());
        match (self, response) {
            (Wire::V16(e), AnyResponse::V16(r)) => e.respond(id, r).map_err(refused),
            (Wire::V201(e), AnyResponse::V201(r)) => e.respond(id, r).map_err(refused),
            (Wire::V21(e), AnyResponse::V21(r)) => e.respond(id, r).map_err(refused),
            (wire, response) => Err(AnswerError::WrongVersion {
                expected: wire.version(),
                found: response.version(),
            }),
        }
    }

    pub(crate) fn respond_error(
        &mut self,
        id: &str,
        code: ErrorCode,
        description: &str,
    ) -> Result<(), AnswerError> {
        by_version!(self, e => e.respond_error(id, code, description))
            .map_err(|e| AnswerError::Refused(e.to_string()))
    }

    /// Sends a request of the connection's version.
    pub(crate) fn call(
        &mut self,
        now: Instant,
        request: AnyRequest,
    ) -> Result<CallId, WireCallError> {
        match (self, request) {
            (Wire::V16(e), AnyRequest::V16(r)) => e.call(now, r).map_err(WireCallError::Call),
            (Wire::V201(e), AnyRequest::V201(r)) => e.call(now, r).map_err(WireCallError::Call),
            (Wire::V21(e), AnyRequest::V21(r)) => e.call(now, r).map_err(WireCallError::Call),
            (wire, request) => Err(WireCallError::WrongVersion {
                expected: wire.version(),
                found: request.version(),
            }),
        }
    }
}

pub(crate) enum WireCallError {
    Call(CallError),
    WrongVersion { expected: Version, found: Version },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_survive_the_way_to_json() {
        let payload = r#"{"evseId":1,"meterValue":[{"timestamp":"2025-01-01T00:00:00Z","sampledValue":[{"value":32.1}]}]}"#;
        let request = AnyRequest::decode(Version::V201, "MeterValues", payload).unwrap();
        assert_eq!(request.action(), "MeterValues");
        let json = request.to_json();
        assert_eq!(
            json["meterValue"][0]["sampledValue"][0]["value"].to_string(),
            "32.1"
        );
        assert!(matches!(
            AnyRequest::decode(Version::V16, "MeterValues", payload),
            Err(DecodeFailure::Decode(_))
        ));
        let response =
            AnyResponse::decode(Version::V21, "Reset", r#"{"status":"Scheduled"}"#).unwrap();
        assert_eq!(
            (response.status().as_deref(), response.version()),
            (Some("Scheduled"), Version::V21)
        );
    }
}
