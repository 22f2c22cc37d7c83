//! OCPP-J frames: the JSON arrays `[2, id, action, payload]`,
//! `[3, id, payload]`, `[4, id, code, description, details]` and, on 2.1
//! only, `[5, id, code, description, details]` and `[6, id, action, payload]`.
//!
//! [`Frame::parse`] borrows from the text it reads: payloads stay raw JSON
//! (`&RawValue`) until the typed decoder reads them once.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::ErrorCode;
use ocpp_types::Version;

/// The longest message id OCPP-J allows.
pub const MAX_ID_LEN: usize = 36;

/// The message type number, the first element of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// `2`: a request.
    Call = 2,
    /// `3`: the answer to a CALL.
    CallResult = 3,
    /// `4`: the error answer to a CALL.
    CallError = 4,
    /// `5` (2.1): the error answer to an invalid CALLRESULT.
    CallResultError = 5,
    /// `6` (2.1): a message that is never answered.
    Send = 6,
}

impl MessageType {
    /// The type for `n` in `version`; 5 and 6 exist only in 2.1.
    pub fn from_number(n: u64, version: Version) -> Option<Self> {
        match n {
            2 => Some(MessageType::Call),
            3 => Some(MessageType::CallResult),
            4 => Some(MessageType::CallError),
            5 if version == Version::V21 => Some(MessageType::CallResultError),
            6 if version == Version::V21 => Some(MessageType::Send),
            _ => None,
        }
    }
}

/// One OCPP-J frame, borrowing from the text it was parsed from where it can.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// `[2, id, action, payload]`.
    Call {
        /// The message id.
        id: Cow<'a, str>,
        /// The action name.
        action: Cow<'a, str>,
        /// The payload, raw.
        payload: Cow<'a, RawValue>,
    },
    /// `[3, id, payload]`.
    CallResult {
        /// The id of the CALL it answers.
        id: Cow<'a, str>,
        /// The payload, raw.
        payload: Cow<'a, RawValue>,
    },
    /// `[4, id, code, description, details]`.
    CallError {
        /// The id of the CALL it answers.
        id: Cow<'a, str>,
        /// The error code, read leniently.
        code: ErrorCode,
        /// The description (`""` when unused).
        description: Cow<'a, str>,
        /// The details object (`{}` when empty).
        details: Cow<'a, RawValue>,
    },
    /// `[5, id, code, description, details]` (2.1).
    CallResultError {
        /// The id of the CALLRESULT it answers.
        id: Cow<'a, str>,
        /// The error code, read leniently.
        code: ErrorCode,
        /// The description (`""` when unused).
        description: Cow<'a, str>,
        /// The details object (`{}` when empty).
        details: Cow<'a, RawValue>,
    },
    /// `[6, id, action, payload]` (2.1).
    Send {
        /// The message id.
        id: Cow<'a, str>,
        /// The action name.
        action: Cow<'a, str>,
        /// The payload, raw.
        payload: Cow<'a, RawValue>,
    },
}

/// Why a text is not a frame of the connection's version. Where the
/// message id could be read it is kept, so that a CALL can still be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Longer than the configured limit; not parsed.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The frame's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, or not a JSON array.
    #[error("not an OCPP-J frame: {0}")]
    NotAnArray(String),
    /// The first element is not a message type number.
    #[error("no message type number")]
    NoMessageType,
    /// A message type this version does not have (ignored, by 1.6 §4.1.3 and 2.1).
    #[error("unknown message type {message_type}")]
    UnknownMessageType {
        /// The number found.
        message_type: u64,
    },
    /// The message id is missing, not a string, or longer than 36 characters.
    #[error("unreadable message id")]
    BadId,
    /// The id could be read, but the rest is not a frame of its type.
    #[error("malformed {message_type:?} frame: {reason}")]
    Malformed {
        /// The message type.
        message_type: MessageType,
        /// The message id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl<'a> Frame<'a> {
    /// Parses `text` as a frame of `version`, refusing texts over
    /// `max_len` bytes before reading them.
    pub fn parse(text: &'a str, version: Version, max_len: usize) -> Result<Self, FrameError> {
        if text.len() > max_len {
            return Err(FrameError::TooLarge {
                len: text.len(),
                max: max_len,
            });
        }
        if let Some(frame) = parse_plain(text, version) {
            return Ok(frame);
        }
        Self::parse_general(text, version)
    }

    /// The full reading through serde_json: every frame, every error.
    fn parse_general(text: &'a str, version: Version) -> Result<Self, FrameError> {
        let Elements { parts, count } =
            serde_json::from_str(text).map_err(|e| FrameError::NotAnArray(e.to_string()))?;
        let number = parts[0]
            .and_then(|raw| {
                let digits = raw.get();
                digits
                    .parse::<u64>()
                    .ok()
                    .or_else(|| serde_json::from_str::<u64>(digits).ok())
            })
            .ok_or(FrameError::NoMessageType)?;
        let message_type =
            MessageType::from_number(number, version).ok_or(FrameError::UnknownMessageType {
                message_type: number,
            })?;
        let id = parts[1]
            .and_then(string)
            .filter(|id| id.chars().count() <= MAX_ID_LEN)
            .ok_or(FrameError::BadId)?;
        let malformed = |reason| FrameError::Malformed {
            message_type,
            id: id.to_string(),
            reason,
        };
        let expected = match message_type {
            MessageType::Call | MessageType::Send => 4,
            MessageType::CallResult => 3,
            MessageType::CallError | MessageType::CallResultError => 5,
        };
        if count != expected {
            return Err(malformed(match expected {
                3 => "a CALLRESULT has 3 elements",
                4 => "a CALL or SEND has 4 elements",
                _ => "an error frame has 5 elements",
            }));
        }
        // The count matched, so the slots up to `expected` are filled.
        let part = |i: usize| parts[i].ok_or_else(|| malformed("an element is missing"));
        let frame = match message_type {
            MessageType::Call | MessageType::Send => {
                let action =
                    string(part(2)?).ok_or_else(|| malformed("the action is not a string"))?;
                let payload = Cow::Borrowed(part(3)?);
                if message_type == MessageType::Call {
                    Frame::Call {
                        id,
                        action,
                        payload,
                    }
                } else {
                    Frame::Send {
                        id,
                        action,
                        payload,
                    }
                }
            }
            MessageType::CallResult => {
                let payload = Cow::Borrowed(part(2)?);
                Frame::CallResult { id, payload }
            }
            MessageType::CallError | MessageType::CallResultError => {
                let code =
                    string(part(2)?).ok_or_else(|| malformed("the error code is not a string"))?;
                let description =
                    string(part(3)?).ok_or_else(|| malformed("the description is not a string"))?;
                let details = part(4)?;
                if !details.get().starts_with('{') {
                    return Err(malformed("the error details are not an object"));
                }
                let code = ErrorCode::parse(&code);
                let details = Cow::Borrowed(details);
                if message_type == MessageType::CallError {
                    Frame::CallError {
                        id,
                        code,
                        description,
                        details,
                    }
                } else {
                    Frame::CallResultError {
                        id,
                        code,
                        description,
                        details,
                    }
                }
            }
        };
        Ok(frame)
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Frame::Call { .. } => MessageType::Call,
            Frame::CallResult { .. } => MessageType::CallResult,
            Frame::CallError { .. } => MessageType::CallError,
            Frame::CallResultError { .. } => MessageType::CallResultError,
            Frame::Send { .. } => MessageType::Send,
        }
    }

    /// The message id.
    pub fn id(&self) -> &str {
        match self {
            Frame::Call { id, .. }
            | Frame::CallResult { id, .. }
            | Frame::CallError { id, .. }
            | Frame::CallResultError { id, .. }
            | Frame::Send { id, .. } => id,
        }
    }

    /// The frame as OCPP-J text, with error codes spelled for `version`.
    pub fn to_text(&self, version: Version) -> String {
        let mut out = String::new();
        match self {
            Frame::Call {
                id,
                action,
                payload,
            } => write_action_frame(&mut out, 2, id, action, payload.get()),
            Frame::Send {
                id,
                action,
                payload,
            } => write_action_frame(&mut out, 6, id, action, payload.get()),
            Frame::CallResult { id, payload } => write_result(&mut out, id, payload.get()),
            Frame::CallError {
                id,
                code,
                description,
                details,
            } => write_error(
                &mut out,
                4,
                id,
                code.as_str(version),
                description,
                details.get(),
            ),
            Frame::CallResultError {
                id,
                code,
                description,
                details,
            } => write_error(
                &mut out,
                5,
                id,
                code.as_str(version),
                description,
                details.get(),
            ),
        }
        out
    }
}

impl PartialEq for Frame<'_> {
    /// Equal frames have the same type, strings and raw JSON text.
    fn eq(&self, other: &Self) -> bool {
        self.message_type() == other.message_type()
            && self.to_text(Version::V21) == other.to_text(Version::V21)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageType::Call => "CALL",
            MessageType::CallResult => "CALLRESULT",
            MessageType::CallError => "CALLERROR",
            MessageType::CallResultError => "CALLRESULTERROR",
            MessageType::Send => "SEND",
        })
    }
}

/// The common CALL, CALLRESULT or SEND read by hand: a one-digit type, an
/// id and an action without escapes, an object payload. Only the payload
/// goes through serde_json (which checks it is one JSON value); the
/// general path costs about as much again in serde's element handling.
/// `None` for anything else, which `Frame::parse_general` then reads: it
/// alone decides errors, so both paths give the same result for any text.
fn parse_plain(text: &str, version: Version) -> Option<Frame<'_>> {
    let rest = skip_ws(text).strip_prefix('[')?;
    let rest = skip_ws(rest);
    let digit = *rest.as_bytes().first()?;
    let message_type = match digit {
        b'2' => MessageType::Call,
        b'3' => MessageType::CallResult,
        b'6' if version == Version::V21 => MessageType::Send,
        _ => return None,
    };
    let rest = skip_ws(&rest[1..]).strip_prefix(',')?;
    let (id, rest) = plain_string(rest)?;
    if id.len() > MAX_ID_LEN {
        // Perhaps still 36 characters or fewer; the general path counts them.
        return None;
    }
    let (action, rest) = match message_type {
        MessageType::CallResult => (None, rest),
        _ => {
            let (action, rest) = plain_string(rest)?;
            (Some(action), rest)
        }
    };
    // What is left is `payload ]`; a second element or trailing garbage
    // makes the payload not one JSON value and falls back.
    let inner = skip_ws_end(skip_ws_end(rest).strip_suffix(']')?);
    if !skip_ws(inner).starts_with('{') {
        return None;
    }
    let payload: &RawValue = serde_json::from_str(inner).ok()?;
    let (id, payload) = (Cow::Borrowed(id), Cow::Borrowed(payload));
    Some(match (message_type, action) {
        (MessageType::CallResult, _) => Frame::CallResult { id, payload },
        (MessageType::Call, Some(action)) => Frame::Call {
            id,
            action: Cow::Borrowed(action),
            payload,
        },
        (_, Some(action)) => Frame::Send {
            id,
            action: Cow::Borrowed(action),
            payload,
        },
        (_, None) => return None,
    })
}

/// `ws "text" ws ,`: a string without escapes or control characters (so
/// valid JSON whose value is the text between the quotes), and what follows
/// the comma.
fn plain_string(text: &str) -> Option<(&str, &str)> {
    let body = skip_ws(text).strip_prefix('"')?;
    let end = body
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
    if body.as_bytes()[end] != b'"' {
        return None;
    }
    let rest = skip_ws(&body[end + 1..]).strip_prefix(',')?;
    Some((&body[..end], rest))
}

/// JSON's whitespace: space, tab, line feed, carriage return.
fn is_ws(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

// Byte-wise rather than `trim_start_matches`, which decodes characters;
// whitespace is ASCII, so the cut is on a character boundary. Frames
// mostly have none, hence the look at the first byte.
fn skip_ws(text: &str) -> &str {
    match text.as_bytes().first() {
        Some(b) if is_ws(b) => &text[text.bytes().take_while(is_ws).count()..],
        _ => text,
    }
}

fn skip_ws_end(text: &str) -> &str {
    match text.as_bytes().last() {
        Some(b) if is_ws(b) => &text[..text.len() - text.bytes().rev().take_while(is_ws).count()],
        _ => text,
    }
}

/// A JSON string element, borrowed unless it has escapes.
fn string<'a>(raw: &'a RawValue) -> Option<Cow<'a, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        // Valid JSON without escapes: the text between the quotes is the string.
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// The elements of a frame's JSON array, read in one pass without
/// allocating: the first five raw, the rest only counted.
struct Elements<'a> {
    parts: [Option<&'a RawValue>; 5],
    count: usize,
}

impl<'de> Deserialize<'de> for Elements<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementsVisitor;
        impl<'de> Visitor<'de> for ElementsVisitor {
            type Value = Elements<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elements<'de>, A::Error> {
                let mut parts = [None; 5];
                let mut count = 0;
                for slot in &mut parts {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(raw) => *slot = Some(raw),
                        None => return Ok(Elements { parts, count }),
                    }
                    count += 1;
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(Elements { parts, count })
            }
        }
        deserializer.deserialize_seq(ElementsVisitor)
    }
}

/// Appends `s` as a JSON string.
fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // serde_json escapes whatever needs it; writing a str cannot fail.
        out.push_str(&serde_json::Value::from(s).to_string());
    }
}

/// `[2|6,"id","action",payload]`.
pub(crate) fn write_action_frame(out: &mut String, ty: u8, id: &str, action: &str, payload: &str) {
    out.reserve(payload.len() + id.len() + action.len() + 12);
    push_action_prefix(out, ty, id, action);
    out.push_str(payload);
    out.push(']');
}

/// `[2|6,"id","action",`.
fn push_action_prefix(out: &mut String, ty: u8, id: &str, action: &str) {
    out.push('[');
    out.push(char::from(b'0' + ty));
    out.push(',');
    push_json_string(out, id);
    out.push(',');
    push_json_string(out, action);
    out.push(',');
}

/// `[2|6,"id","action",payload]` with the payload encoded in place (one
/// buffer, no intermediate payload string).
pub(crate) fn encode_action_frame(
    ty: u8,
    id: &str,
    action: &str,
    payload: &impl serde::Serialize,
) -> Result<String, serde_json::Error> {
    let mut out = String::with_capacity(128);
    push_action_prefix(&mut out, ty, id, action);
    finish_with_payload(out, payload)
}

/// `[3,"id",payload]` with the payload encoded in place.
pub(crate) fn encode_result(
    id: &str,
    payload: &impl serde::Serialize,
) -> Result<String, serde_json::Error> {
    let mut out = String::with_capacity(64);
    out.push_str("[3,");
    push_json_string(&mut out, id);
    out.push(',');
    finish_with_payload(out, payload)
}

fn finish_with_payload(
    out: String,
    payload: &impl serde::Serialize,
) -> Result<String, serde_json::Error> {
    let mut bytes = out.into_bytes();
    serde_json::to_writer(&mut bytes, payload)?;
    bytes.push(b']');
    // serde_json writes UTF-8; the check only guards that promise.
    String::from_utf8(bytes).map_err(<serde_json::Error as serde::ser::Error>::custom)
}

/// `[3,"id",payload]`.
pub(crate) fn write_result(out: &mut String, id: &str, payload: &str) {
    out.reserve(payload.len() + id.len() + 8);
    out.push_str("[3,");
    push_json_string(out, id);
    out.push(',');
    out.push_str(payload);
    out.push(']');
}

/// `[4|5,"id","code","description",details]`.
pub(crate) fn write_error(
    out: &mut String,
    ty: u8,
    id: &str,
    code: &str,
    description: &str,
    details: &str,
) {
    out.push('[');
    out.push(char::from(b'0' + ty));
    out.push(',');
    push_json_string(out, id);
    out.push(',');
    push_json_string(out, code);
    out.push(',');
    push_json_string(out, description);
    out.push(',');
    out.push_str(details);
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 65536;

    #[test]
    fn a_call_parses_with_its_payload_raw() {
        let text = r#"[2, "19223201", "BootNotification", {"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"}]"#;
        let frame = Frame::parse(text, Version::V16, MAX).unwrap();
        let Frame::Call {
            id,
            action,
            payload,
        } = &frame
        else {
            panic!("{frame:?}");
        };
        assert_eq!(id, "19223201");
        assert_eq!(action, "BootNotification");
        assert_eq!(
            payload.get(),
            r#"{"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"}"#
        );
        assert!(matches!(id, Cow::Borrowed(_)));
    }

    #[test]
    fn frames_serialise_exactly() {
        for text in [
            r#"[2,"1","Heartbeat",{}]"#,
            r#"[3,"1",{"currentTime":"2025-01-01T00:00:00Z"}]"#,
            r#"[4,"1","NotImplemented","",{}]"#,
            r#"[5,"1","FormatViolation","bad",{}]"#,
            r#"[6,"1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[]}]"#,
            r#"[2,"a\"b","Heartbeat",{}]"#,
        ] {
            let frame = Frame::parse(text, Version::V21, MAX).unwrap();
            assert_eq!(frame.to_text(Version::V21), text);
        }
    }

    #[test]
    fn error_codes_are_written_in_the_connection_version() {
        let frame = Frame::parse(r#"[4,"1","FormatViolation","",{}]"#, Version::V201, MAX).unwrap();
        assert_eq!(
            frame.to_text(Version::V16),
            r#"[4,"1","FormationViolation","",{}]"#
        );
        assert_eq!(
            frame.to_text(Version::V201),
            r#"[4,"1","FormatViolation","",{}]"#
        );
    }

    #[test]
    fn send_and_callresulterror_exist_only_in_2_1() {
        for version in [Version::V16, Version::V201] {
            assert_eq!(
                Frame::parse(r#"[6,"1","X",{}]"#, version, MAX),
                Err(FrameError::UnknownMessageType { message_type: 6 })
            );
            assert_eq!(
                Frame::parse(r#"[5,"1","GenericError","",{}]"#, version, MAX),
                Err(FrameError::UnknownMessageType { message_type: 5 })
            );
        }
    }

    #[test]
    fn ids_longer_than_36_characters_are_refused() {
        let ok = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(36));
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37));
        assert!(Frame::parse(&ok, Version::V16, MAX).is_ok());
        assert_eq!(
            Frame::parse(&long, Version::V16, MAX),
            Err(FrameError::BadId)
        );
        assert_eq!(
            Frame::parse(r#"[2,7,"Heartbeat",{}]"#, Version::V16, MAX),
            Err(FrameError::BadId)
        );
    }

    #[test]
    fn element_counts_are_enforced_and_the_id_kept() {
        let err = Frame::parse(r#"[2,"42","Heartbeat"]"#, Version::V201, MAX).unwrap_err();
        assert!(
            matches!(err, FrameError::Malformed { ref id, .. } if id == "42"),
            "{err:?}"
        );
        let err = Frame::parse(r#"[3,"42",{},{}]"#, Version::V201, MAX).unwrap_err();
        assert!(matches!(err, FrameError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn the_plain_reading_agrees_with_the_general_one() {
        let long_id = format!(r#""{}""#, "x".repeat(37));
        let ids = [r#""1""#, r#""a\"b""#, r#""""#, "7", r#""é""#, &long_id];
        let mut plain_frames = 0;
        for lead in ["", " ", "\n\t"] {
            for ty in ["2", "3", "4", "6", "02", "2.0", "-2"] {
                for id in ids {
                    for action in [r#""Heartbeat","#, r#""A\u0042","#, ""] {
                        for payload in ["{}", r#" {"a":[1,{"b":"]"}]} "#, "[]", "{", "{},{}", "{}]"]
                        {
                            for end in ["]", " ] ", "]]", "", "] x"] {
                                let text = format!("{lead}[{ty} , {id},{action}{payload}{end}");
                                for version in [Version::V16, Version::V201, Version::V21] {
                                    let Some(plain) = parse_plain(&text, version) else {
                                        continue;
                                    };
                                    plain_frames += 1;
                                    let general = Frame::parse_general(&text, version);
                                    assert_eq!(Ok(plain), general, "{text}");
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(plain_frames > 100, "{plain_frames}");
    }

    #[test]
    fn oversized_and_non_json_frames_are_refused() {
        assert_eq!(
            Frame::parse(r#"[2,"1","Heartbeat",{}]"#, Version::V16, 10),
            Err(FrameError::TooLarge { len: 22, max: 10 })
        );
        assert!(matches!(
            Frame::parse("not json", Version::V16, MAX),
            Err(FrameError::NotAnArray(_))
        ));
        assert!(matches!(
            Frame::parse(r#"{"a":1}"#, Version::V16, MAX),
            Err(FrameError::NotAnArray(_))
        ));
        assert_eq!(
            Frame::parse(r#"["2","1"]"#, Version::V16, MAX),
            Err(FrameError::NoMessageType)
        );
    }
}
