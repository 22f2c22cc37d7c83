//! Decoding a payload into a message type, with errors that say what is
//! wrong and where.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::strict::Strict;

/// What made a payload undecodable. The RPC layer maps each kind to a
/// CALLERROR code of the connection's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Not JSON at all, or cut short.
    BadJson,
    /// A required member is absent.
    MissingField,
    /// A member has the wrong JSON type (a string where a number belongs, ...).
    WrongType,
    /// A member the schema does not allow (`additionalProperties: false`).
    UnknownField,
    /// A string that is not a member of its enumeration.
    UnknownEnumMember,
    /// A `date-time` without a UTC offset (`2025-01-01T10:00:00`).
    TimestampWithoutOffset,
    /// A value of the right JSON type that cannot be read: a malformed
    /// `date-time`, an integer outside 32 bits, a number beyond 28 digits.
    InvalidValue,
    /// The action is not a message of this version (or has no such payload).
    UnknownAction,
}

impl DecodeErrorKind {
    /// A short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorKind::BadJson => "bad json",
            DecodeErrorKind::MissingField => "missing field",
            DecodeErrorKind::WrongType => "wrong type",
            DecodeErrorKind::UnknownField => "unknown field",
            DecodeErrorKind::UnknownEnumMember => "unknown enum member",
            DecodeErrorKind::TimestampWithoutOffset => "timestamp without offset",
            DecodeErrorKind::InvalidValue => "invalid value",
            DecodeErrorKind::UnknownAction => "unknown action",
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload that does not decode: the kind, the JSON path of the offending
/// member (empty for the payload itself) and serde's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at `{path}`: {message}")]
#[non_exhaustive]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Where, as `chargingStation.serialNumber` or `meterValue[0].sampledValue`.
    pub path: String,
    /// The decoder's own words.
    pub message: String,
}

impl DecodeError {
    /// An action that this version does not have.
    pub fn unknown_action(action: &str) -> Self {
        DecodeError {
            kind: DecodeErrorKind::UnknownAction,
            path: String::new(),
            message: format!("no message `{action}` in this version"),
        }
    }
}

/// The message the `date-time` reader gives for a timestamp without offset;
/// decoding recognises it to report [`DecodeErrorKind::TimestampWithoutOffset`].
pub(crate) const NO_OFFSET: &str = "timestamp without UTC offset";

/// Decodes `payload` into `T`, checking shape only (types, required members,
/// enum members, unknown members); constraints are left to
/// [`Validate`](crate::Validate).
pub fn decode<T: DeserializeOwned>(payload: &str) -> Result<T, DecodeError> {
    // The fast path tracks no path; only a failure pays for a second,
    // path-tracking pass to say where it went wrong.
    let mut de = serde_json::Deserializer::from_str(payload);
    T::deserialize(Strict(&mut de))
        .and_then(|v| de.end().map(|()| v))
        .map_err(|_| locate::<T>(payload))
}

fn locate<T: DeserializeOwned>(payload: &str) -> DecodeError {
    let mut de = serde_json::Deserializer::from_str(payload);
    let err = match serde_path_to_error::deserialize::<_, T>(Strict(&mut de)) {
        Ok(_) => {
            // The value decodes, so what failed is what follows it.
            let message = de.end().err().map_or_else(
                || "payload decodes on a second reading only".to_owned(),
                |e| e.to_string(),
            );
            return DecodeError {
                kind: DecodeErrorKind::BadJson,
                path: String::new(),
                message: strip_position(&message).to_owned(),
            };
        }
        Err(err) => err,
    };
    let mut path = render(err.path());
    let inner = err.into_inner();
    let message = inner.to_string();
    let kind = if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        // serde_json reports some type mismatches (a number where an enum's
        // string belongs) as syntax; in well-formed JSON they are types.
        if serde_json::from_str::<serde::de::IgnoredAny>(payload).is_ok() {
            DecodeErrorKind::WrongType
        } else {
            DecodeErrorKind::BadJson
        }
    } else {
        classify(&message, &mut path)
    };
    DecodeError {
        kind,
        path,
        message: strip_position(&message).to_owned(),
    }
}

/// Sorts serde's data errors by their fixed wording; for a missing or
/// unknown member the member's name is appended to the path.
fn classify(message: &str, path: &mut String) -> DecodeErrorKind {
    let member = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let mut push = |name: Option<String>, unknown: bool| {
        // The path of an unknown member already ends in it; that of a
        // missing one stops at its object.
        let ends_in = |n: &str| {
            path.strip_suffix(n)
                .is_some_and(|p| p.is_empty() || p.ends_with('.'))
        };
        if let Some(name) = name.filter(|n| !(unknown && ends_in(n))) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&name);
        }
    };
    if message.starts_with("missing field `") {
        push(member("missing field `"), false);
        DecodeErrorKind::MissingField
    } else if message.starts_with("unknown field `") {
        push(member("unknown field `"), true);
        DecodeErrorKind::UnknownField
    } else if message.starts_with("unknown variant `") {
        DecodeErrorKind::UnknownEnumMember
    } else if message.starts_with("invalid type: ") {
        DecodeErrorKind::WrongType
    } else if message.starts_with(NO_OFFSET) {
        DecodeErrorKind::TimestampWithoutOffset
    } else {
        DecodeErrorKind::InvalidValue
    }
}

/// serde_json appends ` at line L column C`; the path says more.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

fn render(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}
