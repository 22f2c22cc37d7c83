//! The connection under the machine: one endpoint of either version, with
//! the machine's 2.1 messages converted at the boundary.
//!
//! 2.1 schemas are 2.0.1 plus optional fields and enum members (OCPP-FACTS
//! §7), so the machine builds and reads 2.1 types only. On a 2.0.1 link an
//! outgoing 2.1 payload is re-read as the 2.0.1 type through JSON; strict
//! 2.0.1 decoding refuses any 2.1-only field or member, so nothing 2.0.1
//! does not know reaches the wire (the caller reports the failure). An
//! incoming 2.0.1 payload always reads as 2.1.

use std::time::Instant;

use ocpp_types::{Protocol, v21, v201};

use crate::endpoint::{self, CallFailure, CallId, Endpoint, IdGenerator};
use crate::error::ErrorCode;

/// Which version the connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Version {
    /// OCPP 2.0.1 (`ocpp2.0.1`).
    V201,
    /// OCPP 2.1 (`ocpp2.1`).
    V21,
}

/// Why a message could not go out on the link.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The 2.1 message has no 2.0.1 form (a 2.1-only action, field or member).
    #[error("`{action}` has no 2.0.1 form: {detail}")]
    NoV201Form {
        /// The action.
        action: &'static str,
        /// What failed.
        detail: String,
    },
    /// The endpoint refused the call.
    #[error("the endpoint refused `{action}`: {error}")]
    Call {
        /// The action.
        action: &'static str,
        /// The endpoint's reason.
        error: endpoint::CallError,
    },
    /// The endpoint refused the response.
    #[error("the endpoint refused the response to `{action}`: {error}")]
    Respond {
        /// The action.
        action: &'static str,
        /// The endpoint's reason.
        error: endpoint::RespondError,
    },
    /// There is no connection.
    #[error("offline")]
    Offline,
    /// No CALL of that id waits for the application's answer (answered
    /// already, or it came on an earlier connection).
    #[error("no such call waits for an answer")]
    UnknownCall,
}

/// What the endpoint told the machine, in 2.1 terms.
#[derive(Debug)]
pub(crate) enum Incoming {
    Request {
        id: String,
        request: v21::AnyRequest,
    },
    Response {
        call: CallId,
        result: Result<v21::AnyResponse, CallFailure>,
    },
    /// An incoming 2.0.1 payload that does not read as 2.1 (a bug, reported).
    Unreadable { id: Option<String>, detail: String },
    /// Anything else the endpoint reports (rejected frames, deviations).
    Notice(String),
}

pub(crate) enum Conn {
    V201(Endpoint<v201::V201>),
    V21(Endpoint<v21::V21>),
}

fn action_of_request(request: &v21::AnyRequest) -> &'static str {
    v21::V21::action_name(v21::V21::request_action(request))
}

fn action_of_response(response: &v21::AnyResponse) -> &'static str {
    v21::V21::action_name(v21::V21::response_action(response))
}

impl Conn {
    pub(crate) fn new(
        version: Version,
        config: endpoint::Config,
        ids: Box<dyn IdGenerator>,
        now: Instant,
    ) -> Conn {
        match version {
            Version::V201 => Conn::V201(Endpoint::with_ids(config, ids, now)),
            Version::V21 => Conn::V21(Endpoint::with_ids(config, ids, now)),
        }
    }

    pub(crate) fn call(
        &mut self,
        now: Instant,
        request: v21::AnyRequest,
    ) -> Result<CallId, LinkError> {
        let action = action_of_request(&request);
        match self {
            Conn::V21(ep) => ep
                .call(now, request)
                .map_err(|error| LinkError::Call { action, error }),
            Conn::V201(ep) => {
                let old = to_v201_request(&request)?;
                ep.call(now, old)
                    .map_err(|error| LinkError::Call { action, error })
            }
        }
    }

    pub(crate) fn respond(
        &mut self,
        id: &str,
        response: v21::AnyResponse,
    ) -> Result<(), LinkError> {
        let action = action_of_response(&response);
        match self {
            Conn::V21(ep) => ep
                .respond(id, response)
                .map_err(|error| LinkError::Respond { action, error }),
            Conn::V201(ep) => {
                let payload =
                    serde_json::to_string(&response).map_err(|e| LinkError::NoV201Form {
                        action,
                        detail: e.to_string(),
                    })?;
                let old = v201::V201::decode_response(action, &payload).map_err(|e| {
                    LinkError::NoV201Form {
                        action,
                        detail: e.to_string(),
                    }
                })?;
                ep.respond(id, old)
                    .map_err(|error| LinkError::Respond { action, error })
            }
        }
    }

    pub(crate) fn respond_error(&mut self, id: &str, code: ErrorCode, description: &str) {
        // The only failure is an id already answered: nothing left to do.
        let _ = match self {
            Conn::V21(ep) => ep.respond_error(id, code, description),
            Conn::V201(ep) => ep.respond_error(id, code, description),
        };
    }

    pub(crate) fn handle_text(&mut self, now: Instant, text: &str) {
        match self {
            Conn::V21(ep) => ep.handle_text(now, text),
            Conn::V201(ep) => ep.handle_text(now, text),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        match self {
            Conn::V21(ep) => ep.handle_timeout(now),
            Conn::V201(ep) => ep.handle_timeout(now),
        }
    }

    pub(crate) fn handle_closed(&mut self, now: Instant) {
        match self {
            Conn::V21(ep) => ep.handle_closed(now),
            Conn::V201(ep) => ep.handle_closed(now),
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<String> {
        match self {
            Conn::V21(ep) => ep.poll_transmit(),
            Conn::V201(ep) => ep.poll_transmit(),
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Conn::V21(ep) => ep.poll_timeout(),
            Conn::V201(ep) => ep.poll_timeout(),
        }
    }

    pub(crate) fn poll_event(&mut self) -> Option<Incoming> {
        match self {
            Conn::V21(ep) => ep.poll_event().map(|e| match e {
                endpoint::Event::Request { id, request } => Incoming::Request { id, request },
                endpoint::Event::Response { call, result } => Incoming::Response { call, result },
                other => Incoming::Notice(format!("{other:?}")),
            }),
            Conn::V201(ep) => ep.poll_event().map(|e| match e {
                endpoint::Event::Request { id, request } => {
                    let action = v201::V201::action_name(v201::V201::request_action(&request));
                    match serde_json::to_string(&request)
                        .map_err(|e| e.to_string())
                        .and_then(|p| {
                            v21::V21::decode_request(action, &p).map_err(|e| e.to_string())
                        }) {
                        Ok(request) => Incoming::Request { id, request },
                        Err(detail) => Incoming::Unreadable {
                            id: Some(id),
                            detail,
                        },
                    }
                }
                endpoint::Event::Response { call, result } => {
                    let result = match result {
                        Ok(response) => {
                            let action =
                                v201::V201::action_name(v201::V201::response_action(&response));
                            serde_json::to_string(&response)
                                .map_err(|e| e.to_string())
                                .and_then(|p| {
                                    v21::V21::decode_response(action, &p).map_err(|e| e.to_string())
                                })
                                .map_err(CallFailure::InvalidResponse)
                        }
                        Err(f) => Err(f),
                    };
                    Incoming::Response { call, result }
                }
                other => Incoming::Notice(format!("{other:?}")),
            }),
        }
    }
}

/// The 2.0.1 form of a 2.1 request.
pub(crate) fn to_v201_request(request: &v21::AnyRequest) -> Result<v201::AnyRequest, LinkError> {
    let action = action_of_request(request);
    let mut payload = serde_json::to_value(request).map_err(|e| LinkError::NoV201Form {
        action,
        detail: e.to_string(),
    })?;
    // The one member 2.1 requires that 2.0.1 lacks: every monitor of a
    // 2.0.1 station is a custom one anyway.
    if let v21::AnyRequest::NotifyMonitoringReport(_) = request
        && let Some(monitors) = payload.get_mut("monitor").and_then(|m| m.as_array_mut())
    {
        for data in monitors {
            if let Some(list) = data
                .get_mut("variableMonitoring")
                .and_then(|v| v.as_array_mut())
            {
                for m in list {
                    if let Some(m) = m.as_object_mut() {
                        m.remove("eventNotificationType");
                    }
                }
            }
        }
    }
    let payload = payload.to_string();
    v201::V201::decode_request(action, &payload).map_err(|e| LinkError::NoV201Form {
        action,
        detail: e.to_string(),
    })
}

/// Message ids unique over every connection of the station: the
/// connection's number (durable) and a counter.
pub(crate) struct ConnectionIds {
    pub(crate) connection: u64,
    pub(crate) next: u64,
}

impl IdGenerator for ConnectionIds {
    fn next_id(&mut self) -> String {
        self.next += 1;
        format!("{}-{}", self.connection, self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(reason: &str) -> v21::AnyRequest {
        let json = format!(
            r#"{{"chargingStation":{{"model":"M","vendorName":"V"}},"reason":"{reason}"}}"#
        );
        v21::V21::decode_request("BootNotification", &json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_2_0_1_form_exists_only_without_2_1_extras() {
        assert!(to_v201_request(&boot("PowerUp")).is_ok());
        // `severity` is new in 2.1's EventData: refused, not sent.
        let json = r#"{"generatedAt":"2025-01-01T00:00:00Z","seqNo":0,"eventData":[{"eventId":1,"timestamp":"2025-01-01T00:00:00Z","trigger":"Alerting","actualValue":"true","eventNotificationType":"HardWiredNotification","component":{"name":"C"},"variable":{"name":"Problem"},"severity":1}]}"#;
        let request =
            v21::V21::decode_request("NotifyEvent", json).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            to_v201_request(&request),
            Err(LinkError::NoV201Form { .. })
        ));
        // A 2.1-only action has no 2.0.1 form either.
        let request =
            v21::V21::decode_request("ClearTariffs", "{}").unwrap_or_else(|e| panic!("{e}"));
        assert!(to_v201_request(&request).is_err());
    }
}
