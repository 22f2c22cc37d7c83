//! The per-connection tolerance policy: which violations of a peer are
//! accepted and reported instead of answered with an error.
//!
//! Strict by default. Each flag names one kind of deviation seen in real
//! chargers; an accepted deviation becomes an
//! [`Event::Deviation`](super::Event::Deviation), so nothing goes unnoticed.
//! Unknown enumeration members are always refused: the typed enums have no
//! member to hold them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use ocpp_types::{Constraint, DecodeError, DecodeErrorKind, Violation};

/// Which deviations a connection accepts. Serde-serialisable, so that a CSMS
/// can keep one per charger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Tolerance {
    /// Accept strings longer than their `maxLength`.
    pub over_long_strings: bool,
    /// Accept numbers outside `minimum`/`maximum` or off their `multipleOf`.
    pub out_of_range_numbers: bool,
    /// Accept arrays with fewer or more items than allowed (such as `[]`
    /// where `minItems` is 1).
    pub item_counts: bool,
    /// Read a `date-time` without offset as UTC.
    pub timestamps_without_offset: bool,
    /// Ignore members the schema does not define.
    pub unknown_fields: bool,
    /// Read an optional member sent as `null` as absent.
    pub null_members: bool,
    /// Fill in required members that a charger leaves out, per action and path.
    pub defaults: Vec<FieldDefault>,
}

/// A value to use when a required member is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDefault {
    /// The action (`BootNotification`).
    pub action: String,
    /// The member's path (`chargingStation.model`).
    pub path: String,
    /// The value to use.
    pub value: Value,
}

impl Tolerance {
    /// The strict policy: every violation is refused.
    pub fn strict() -> Self {
        Tolerance::default()
    }

    /// Accepts everything this policy can accept.
    pub fn lenient() -> Self {
        Tolerance {
            over_long_strings: true,
            out_of_range_numbers: true,
            item_counts: true,
            timestamps_without_offset: true,
            unknown_fields: true,
            null_members: true,
            defaults: Vec::new(),
        }
    }

    /// Whether a broken constraint is accepted.
    pub fn accepts(&self, violation: &Violation) -> bool {
        match violation.constraint {
            Constraint::MaxLength { .. } => self.over_long_strings,
            Constraint::MinItems { .. } | Constraint::MaxItems { .. } => self.item_counts,
            Constraint::Minimum { .. }
            | Constraint::Maximum { .. }
            | Constraint::MultipleOf { .. } => self.out_of_range_numbers,
            _ => false,
        }
    }
}

/// The kind of an accepted deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeviationKind {
    /// A string over its `maxLength`.
    OverLongString,
    /// A number out of its bounds.
    OutOfRangeNumber,
    /// An array with a disallowed number of items.
    ItemCount,
    /// A `date-time` without offset, read as UTC.
    TimestampWithoutOffset,
    /// A member the schema does not define, ignored.
    UnknownField,
    /// A missing required member, filled in from the policy.
    MissingField,
    /// An optional member sent as `null`, read as absent.
    NullMember,
}

impl DeviationKind {
    /// The kind for an accepted broken constraint.
    pub fn of(violation: &Violation) -> Self {
        match violation.constraint {
            Constraint::MaxLength { .. } => DeviationKind::OverLongString,
            Constraint::MinItems { .. } | Constraint::MaxItems { .. } => DeviationKind::ItemCount,
            _ => DeviationKind::OutOfRangeNumber,
        }
    }
}

/// One repair made to a payload so that it decodes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Repair {
    pub path: String,
    pub kind: DeviationKind,
    pub detail: String,
}

/// The most repairs tried on one payload before giving up.
const MAX_REPAIRS: usize = 64;

/// Decodes `payload` with `decode`; where it fails for a reason the policy
/// accepts, repairs the JSON at the error's path and tries again.
pub(crate) fn decode_tolerant<T>(
    tolerance: &Tolerance,
    action: &str,
    payload: &str,
    decode: impl Fn(&str) -> Result<T, DecodeError>,
) -> Result<(T, Vec<Repair>), DecodeError> {
    let mut err = match decode(payload) {
        Ok(v) => return Ok((v, Vec::new())),
        Err(e) => e,
    };
    if !tolerance.may_repair(action, &err) {
        return Err(err);
    }
    let Ok(mut value) = serde_json::from_str::<Value>(payload) else {
        return Err(err);
    };
    let mut repairs = Vec::new();
    while repairs.len() < MAX_REPAIRS {
        let Some(repair) = tolerance.repair(action, &err, &mut value) else {
            return Err(err);
        };
        repairs.push(repair);
        match decode(&value.to_string()) {
            Ok(v) => return Ok((v, repairs)),
            Err(e) => err = e,
        }
    }
    Err(err)
}

impl Tolerance {
    fn may_repair(&self, action: &str, err: &DecodeError) -> bool {
        match err.kind {
            DecodeErrorKind::TimestampWithoutOffset => self.timestamps_without_offset,
            DecodeErrorKind::UnknownField => self.unknown_fields,
            DecodeErrorKind::MissingField => self.default_for(action, &err.path).is_some(),
            DecodeErrorKind::WrongType => self.null_members,
            _ => false,
        }
    }

    fn default_for(&self, action: &str, path: &str) -> Option<&Value> {
        self.defaults
            .iter()
            .find(|d| d.action == action && d.path == path)
            .map(|d| &d.value)
    }

    fn repair(&self, action: &str, err: &DecodeError, root: &mut Value) -> Option<Repair> {
        if !self.may_repair(action, err) {
            return None;
        }
        let segments = parse_path(&err.path)?;
        let (last, parents) = segments.split_last()?;
        let parent = locate(root, parents)?;
        let kind = match err.kind {
            DecodeErrorKind::TimestampWithoutOffset => {
                let slot = match (parent, last) {
                    (Value::Object(map), Segment::Key(k)) => map.get_mut(k)?,
                    (Value::Array(items), Segment::Index(i)) => items.get_mut(*i)?,
                    _ => return None,
                };
                let text = slot.as_str()?.to_owned();
                *slot = Value::String(format!("{text}Z"));
                DeviationKind::TimestampWithoutOffset
            }
            DecodeErrorKind::UnknownField => {
                let (Value::Object(map), Segment::Key(k)) = (parent, last) else {
                    return None;
                };
                map.remove(k)?;
                DeviationKind::UnknownField
            }
            DecodeErrorKind::MissingField => {
                let (Value::Object(map), Segment::Key(k)) = (parent, last) else {
                    return None;
                };
                map.insert(k.clone(), self.default_for(action, &err.path)?.clone());
                DeviationKind::MissingField
            }
            DecodeErrorKind::WrongType => {
                // Only a `null` member is repairable; any other type stays wrong.
                let (Value::Object(map), Segment::Key(k)) = (parent, last) else {
                    return None;
                };
                if !map.get(k)?.is_null() {
                    return None;
                }
                map.remove(k);
                DeviationKind::NullMember
            }
            _ => return None,
        };
        Some(Repair {
            path: err.path.clone(),
            kind,
            detail: err.message.clone(),
        })
    }
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `a.b[0].c` -> `a`, `b`, `0`, `c`.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_owned()));
        }
        while !rest.is_empty() {
            let (index, tail) = rest.split_once(']')?;
            out.push(Segment::Index(index.parse().ok()?));
            rest = tail.strip_prefix('[').unwrap_or(tail);
        }
    }
    Some(out)
}

fn locate<'v>(mut value: &'v mut Value, segments: &[Segment]) -> Option<&'v mut Value> {
    for segment in segments {
        value = match (value, segment) {
            (Value::Object(map), Segment::Key(k)) => map.get_mut(k)?,
            (Value::Array(items), Segment::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocpp_types::v201;

    fn decode(payload: &str) -> Result<v201::AnyRequest, DecodeError> {
        v201::decode_request("BootNotification", payload)
    }

    #[test]
    fn strict_refuses_what_lenient_repairs() {
        let payload = r#"{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","firmware":"x"}}"#;
        let strict = decode_tolerant(&Tolerance::strict(), "BootNotification", payload, decode);
        assert_eq!(strict.unwrap_err().kind, DecodeErrorKind::UnknownField);
        let (_, repairs) =
            decode_tolerant(&Tolerance::lenient(), "BootNotification", payload, decode).unwrap();
        assert_eq!(repairs.len(), 1);
        assert_eq!(repairs[0].path, "chargingStation.firmware");
        assert_eq!(repairs[0].kind, DeviationKind::UnknownField);
    }

    #[test]
    fn a_configured_default_fills_a_missing_member() {
        let payload = r#"{"reason":"PowerUp","chargingStation":{"vendorName":"V"}}"#;
        let mut t = Tolerance::strict();
        t.defaults.push(FieldDefault {
            action: "BootNotification".into(),
            path: "chargingStation.model".into(),
            value: Value::from("unknown"),
        });
        let (req, repairs) = decode_tolerant(&t, "BootNotification", payload, decode).unwrap();
        let v201::AnyRequest::BootNotification(b) = req else {
            panic!()
        };
        assert_eq!(b.charging_station.model, "unknown");
        assert_eq!(repairs[0].kind, DeviationKind::MissingField);
    }

    #[test]
    fn timestamps_without_offset_are_read_as_utc() {
        let payload = r#"{"timestamp":"2025-01-01T10:00:00","connectorStatus":"Available","evseId":1,"connectorId":1}"#;
        let mut t = Tolerance::strict();
        t.timestamps_without_offset = true;
        let (_, repairs) = decode_tolerant(&t, "StatusNotification", payload, |p| {
            v201::decode_request("StatusNotification", p)
        })
        .unwrap();
        assert_eq!(repairs[0].path, "timestamp");
    }

    #[test]
    fn null_members_are_refused_unless_tolerated() {
        let payload = r#"{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","serialNumber":null}}"#;
        let strict = decode_tolerant(&Tolerance::strict(), "BootNotification", payload, decode);
        assert_eq!(strict.unwrap_err().kind, DecodeErrorKind::WrongType);
        let mut t = Tolerance::strict();
        t.null_members = true;
        let (_, repairs) = decode_tolerant(&t, "BootNotification", payload, decode).unwrap();
        assert_eq!(repairs[0].kind, DeviationKind::NullMember);
        assert_eq!(repairs[0].path, "chargingStation.serialNumber");
        // A wrong type that is not null stays refused.
        let payload = r#"{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","serialNumber":7}}"#;
        assert!(
            decode_tolerant(&Tolerance::lenient(), "BootNotification", payload, decode).is_err()
        );
    }

    #[test]
    fn paths_parse_with_indexes() {
        let p = parse_path("meterValue[0].sampledValue[12].value").unwrap();
        assert_eq!(p.len(), 5);
        assert!(matches!(p[3], Segment::Index(12)));
    }

    #[test]
    fn the_policy_round_trips_through_serde() {
        let t = Tolerance::lenient();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Tolerance>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<Tolerance>("{}").unwrap(),
            Tolerance::strict()
        );
    }
}
