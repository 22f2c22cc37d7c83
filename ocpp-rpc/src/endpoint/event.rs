//! What an endpoint tells its application, and why a call or a reply
//! could not be made.

use std::fmt;

use ocpp_types::{Protocol, Violations};

use super::tolerance::DeviationKind;
use crate::error::ErrorCode;

/// The local handle of an outgoing call, returned by
/// [`Endpoint::call`](super::Endpoint::call) and carried by its
/// [`Event::Response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call#{}", self.0)
    }
}

/// Something the application must see or answer, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<P: Protocol> {
    /// A valid incoming CALL: answer it once, with
    /// [`respond`](super::Endpoint::respond) or
    /// [`respond_error`](super::Endpoint::respond_error).
    Request {
        /// The CALL's message id.
        id: String,
        /// The payload.
        request: P::AnyRequest,
    },
    /// A valid incoming SEND (2.1); it takes no answer.
    Send {
        /// The SEND's message id.
        id: String,
        /// The payload.
        message: P::AnyRequest,
    },
    /// An outgoing call resolved.
    Response {
        /// The handle [`call`](super::Endpoint::call) returned.
        call: CallId,
        /// The response, or why there is none.
        result: Result<P::AnyResponse, CallFailure>,
    },
    /// An incoming message broke the schema in a way the [`Tolerance`]
    /// policy accepts; it was delivered all the same.
    ///
    /// [`Tolerance`]: super::Tolerance
    Deviation {
        /// The message id.
        id: String,
        /// The action.
        action: String,
        /// The JSON path of the offending value.
        path: String,
        /// What kind of deviation.
        kind: DeviationKind,
        /// The details.
        detail: String,
    },
    /// An incoming message was refused: answered with an error, or dropped
    /// where OCPP-J forbids an answer (replies, SENDs, unreadable frames).
    Rejected {
        /// The message id, if it could be read.
        id: Option<String>,
        /// The action, if known.
        action: Option<String>,
        /// The error code sent back; `None` when dropped.
        code: Option<ErrorCode>,
        /// What was wrong.
        reason: String,
    },
    /// The peer refused one of our CALLRESULTs with a CALLRESULTERROR (2.1).
    ResultRefused {
        /// The id of our CALLRESULT.
        id: String,
        /// The peer's code.
        code: ErrorCode,
        /// The peer's description.
        description: String,
    },
}

/// Why an outgoing call has no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallFailure {
    /// The peer answered with a CALLERROR.
    #[error("the peer answered {code}: {description}")]
    Error {
        /// The code, read leniently.
        code: ErrorCode,
        /// The description.
        description: String,
        /// The details object, as raw JSON.
        details: String,
    },
    /// No answer within the call timeout; a late answer is dropped.
    #[error("no answer within the call timeout")]
    Timeout,
    /// The connection closed before the answer came.
    #[error("the connection was lost")]
    ConnectionLost,
    /// The answer does not decode or breaks the schema.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    /// Never sent: the endpoint refused the call (only from the async API;
    /// [`Endpoint::call`](super::Endpoint::call) returns the [`CallError`] itself).
    #[error("not sent: {0}")]
    Refused(CallError),
}

/// Why [`call`](super::Endpoint::call) or
/// [`send`](super::Endpoint::send) refused a message before it went out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The payload breaks the schema: nothing invalid goes on the wire.
    #[error("invalid payload: {0}")]
    Invalid(Violations),
    /// This side may not send this action.
    #[error("`{0}` is not sent by this side")]
    WrongDirection(&'static str),
    /// A SEND message passed to `call`, or a CALL to `send`.
    #[error("`{0}` travels in the other frame type (CALL vs SEND)")]
    WrongFrameType(&'static str),
    /// The queue of calls waiting behind the one in flight is full.
    #[error("{0} calls are already waiting")]
    QueueFull(usize),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// The payload could not be encoded.
    #[error("cannot encode the payload: {0}")]
    Encode(String),
}

/// Why [`respond`](super::Endpoint::respond) refused an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// No unanswered incoming CALL has this id.
    #[error("no unanswered CALL with id `{0}`")]
    UnknownId(String),
    /// The response is for another action than the CALL's.
    #[error("the CALL was `{expected}`, the response is for `{found}`")]
    WrongAction {
        /// The CALL's action.
        expected: &'static str,
        /// The response's action.
        found: &'static str,
    },
    /// The response breaks the schema; the CALL stays unanswered.
    #[error("invalid response: {0}")]
    Invalid(Violations),
    /// The response could not be encoded.
    #[error("cannot encode the response: {0}")]
    Encode(String),
}
