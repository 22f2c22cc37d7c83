//! CALLERROR codes per version, and the one table that maps each failure
//! of an incoming message to what goes back.
//!
//! | cause | 1.6 | 2.0.1 / 2.1 |
//! |---|---|---|
//! | frame not JSON, not an OCPP-J array, or id unreadable | drop and report | `RpcFrameworkError` with id `"-1"` |
//! | readable id, but not a CALL of the right shape | `FormationViolation` | `RpcFrameworkError` |
//! | unknown message type number | ignore and report | ignore and report |
//! | payload not an object, or its JSON broken | `FormationViolation` | `FormatViolation` |
//! | unknown action | `NotImplemented` | `NotImplemented` |
//! | action not sent in this direction, or not supported here | `NotSupported` | `NotSupported` |
//! | missing required field | `OccurenceConstraintViolation` | `OccurrenceConstraintViolation` |
//! | wrong JSON type | `TypeConstraintViolation` | `TypeConstraintViolation` |
//! | value out of bounds (length, range, multipleOf, enum member, malformed date-time) | `PropertyConstraintViolation` | `PropertyConstraintViolation` |
//! | unknown field (`additionalProperties: false`) | `FormationViolation` | `FormatViolation` |
//! | fewer or more items than allowed | `OccurenceConstraintViolation` | `OccurrenceConstraintViolation` |
//! | a CALL other than BootNotification before boot is Accepted | `SecurityError` | `SecurityError` |
//! | the application's handler failed | `InternalError` | `InternalError` |
//!
//! A CALLERROR answers a CALL only, never a reply: a bad CALLRESULT is
//! dropped and reported (1.6, 2.0.1) or answered with CALLRESULTERROR
//! `FormatViolation`-family codes (2.1, FR.06).

use std::fmt;

use ocpp_types::{Constraint, DecodeErrorKind, Version};

/// An OCPP-J error code. Parsed leniently (either spelling; unknown codes
/// kept as [`ErrorCode::Other`]), always written in the connection's version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The action is not known.
    NotImplemented,
    /// The action is known but not supported.
    NotSupported,
    /// An internal error stopped the receiver from processing it.
    InternalError,
    /// The payload is incomplete.
    ProtocolError,
    /// A security issue stopped the receiver (e.g. a CALL before boot).
    SecurityError,
    /// Syntax: 1.6 `FormationViolation`, 2.x `FormatViolation`.
    FormatViolation,
    /// A value breaks a constraint.
    PropertyConstraintViolation,
    /// Cardinality: 1.6 `OccurenceConstraintViolation`, 2.x `OccurrenceConstraintViolation`.
    OccurrenceConstraintViolation,
    /// A value of the wrong type.
    TypeConstraintViolation,
    /// Any other error.
    GenericError,
    /// 2.x only: the message type is not supported.
    MessageTypeNotSupported,
    /// 2.x only: the frame is not a valid RPC message.
    RpcFrameworkError,
    /// A code outside the specification, kept as received.
    Other(String),
}

impl ErrorCode {
    /// Reads a code, accepting the spellings of every version.
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "NotImplemented" => ErrorCode::NotImplemented,
            "NotSupported" => ErrorCode::NotSupported,
            "InternalError" => ErrorCode::InternalError,
            "ProtocolError" => ErrorCode::ProtocolError,
            "SecurityError" => ErrorCode::SecurityError,
            "FormationViolation" | "FormatViolation" => ErrorCode::FormatViolation,
            "PropertyConstraintViolation" => ErrorCode::PropertyConstraintViolation,
            "OccurenceConstraintViolation" | "OccurrenceConstraintViolation" => {
                ErrorCode::OccurrenceConstraintViolation
            }
            "TypeConstraintViolation" => ErrorCode::TypeConstraintViolation,
            "GenericError" => ErrorCode::GenericError,
            "MessageTypeNotSupported" => ErrorCode::MessageTypeNotSupported,
            "RpcFrameworkError" => ErrorCode::RpcFrameworkError,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The spelling for `version`. The 2.x-only codes do not exist in 1.6
    /// and are written as `GenericError` there.
    pub fn as_str(&self, version: Version) -> &str {
        let v16 = version == Version::V16;
        match self {
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::NotSupported => "NotSupported",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::ProtocolError => "ProtocolError",
            ErrorCode::SecurityError => "SecurityError",
            ErrorCode::FormatViolation if v16 => "FormationViolation",
            ErrorCode::FormatViolation => "FormatViolation",
            ErrorCode::PropertyConstraintViolation => "PropertyConstraintViolation",
            ErrorCode::OccurrenceConstraintViolation if v16 => "OccurenceConstraintViolation",
            ErrorCode::OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            ErrorCode::TypeConstraintViolation => "TypeConstraintViolation",
            ErrorCode::GenericError => "GenericError",
            ErrorCode::MessageTypeNotSupported | ErrorCode::RpcFrameworkError if v16 => {
                "GenericError"
            }
            ErrorCode::MessageTypeNotSupported => "MessageTypeNotSupported",
            ErrorCode::RpcFrameworkError => "RpcFrameworkError",
            ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    /// The 2.x spelling (the 1.6 one only differs in two misspellings).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str(Version::V201))
    }
}

/// Why an incoming message failed: the rows of the table in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// Not JSON, not an OCPP-J array, or the message id unreadable.
    UnreadableFrame,
    /// A readable id, but not a CALL of the right shape.
    MalformedCall,
    /// A message type number the version does not have.
    UnknownMessageType,
    /// The payload is not a JSON object, or its JSON is broken.
    PayloadNotObject,
    /// The action is not known.
    UnknownAction,
    /// The action is known but not accepted here (direction, profile, feature).
    NotSupported,
    /// A required field is missing.
    MissingField,
    /// A value has the wrong JSON type.
    WrongType,
    /// A value breaks a constraint: length, range, multipleOf, enum member, format.
    ConstraintViolated,
    /// A member the schema does not allow.
    UnknownField,
    /// Fewer or more items than the schema allows.
    ItemCount,
    /// A CALL before the boot is accepted.
    NotAccepted,
    /// The application's handler failed.
    HandlerFailed,
}

/// What goes back for a failed incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// Nothing: drop the message and report it.
    Drop,
    /// An error frame with this code, to the message's own id.
    Error(ErrorCode),
    /// An error frame with this code to id `"-1"`: the id was unreadable.
    ErrorToUnknownId(ErrorCode),
}

impl Cause {
    /// The table: what `version` answers for this cause.
    pub fn reply(self, version: Version) -> Reply {
        let v16 = version == Version::V16;
        match self {
            Cause::UnreadableFrame if v16 => Reply::Drop,
            Cause::UnreadableFrame => Reply::ErrorToUnknownId(ErrorCode::RpcFrameworkError),
            Cause::MalformedCall if v16 => Reply::Error(ErrorCode::FormatViolation),
            Cause::MalformedCall => Reply::Error(ErrorCode::RpcFrameworkError),
            Cause::UnknownMessageType => Reply::Drop,
            Cause::PayloadNotObject | Cause::UnknownField => {
                Reply::Error(ErrorCode::FormatViolation)
            }
            Cause::UnknownAction => Reply::Error(ErrorCode::NotImplemented),
            Cause::NotSupported => Reply::Error(ErrorCode::NotSupported),
            Cause::MissingField | Cause::ItemCount => {
                Reply::Error(ErrorCode::OccurrenceConstraintViolation)
            }
            Cause::WrongType => Reply::Error(ErrorCode::TypeConstraintViolation),
            Cause::ConstraintViolated => Reply::Error(ErrorCode::PropertyConstraintViolation),
            Cause::NotAccepted => Reply::Error(ErrorCode::SecurityError),
            Cause::HandlerFailed => Reply::Error(ErrorCode::InternalError),
        }
    }

    /// The cause of a payload that did not decode.
    pub fn of_decode(kind: DecodeErrorKind) -> Cause {
        match kind {
            DecodeErrorKind::BadJson => Cause::PayloadNotObject,
            DecodeErrorKind::MissingField => Cause::MissingField,
            DecodeErrorKind::WrongType => Cause::WrongType,
            DecodeErrorKind::UnknownField => Cause::UnknownField,
            DecodeErrorKind::UnknownAction => Cause::UnknownAction,
            _ => Cause::ConstraintViolated,
        }
    }

    /// The cause of a broken constraint.
    pub fn of_constraint(constraint: &Constraint) -> Cause {
        match constraint {
            Constraint::MinItems { .. } | Constraint::MaxItems { .. } => Cause::ItemCount,
            _ => Cause::ConstraintViolated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_each_version_writes_its_own() {
        for code in ["FormationViolation", "FormatViolation"] {
            let c = ErrorCode::parse(code);
            assert_eq!(c.as_str(Version::V16), "FormationViolation");
            assert_eq!(c.as_str(Version::V201), "FormatViolation");
            assert_eq!(c.as_str(Version::V21), "FormatViolation");
        }
        for code in [
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ] {
            let c = ErrorCode::parse(code);
            assert_eq!(c.as_str(Version::V16), "OccurenceConstraintViolation");
            assert_eq!(c.as_str(Version::V21), "OccurrenceConstraintViolation");
        }
        assert_eq!(
            ErrorCode::parse("VendorSpecific"),
            ErrorCode::Other("VendorSpecific".into())
        );
        assert_eq!(
            ErrorCode::RpcFrameworkError.as_str(Version::V16),
            "GenericError"
        );
    }
}
