//! `date-time` fields: RFC 3339 with a UTC offset, held as `DateTime<Utc>`.
//!
//! A timestamp without an offset is refused with a message of its own, so
//! that decoding can report it as
//! [`DecodeErrorKind::TimestampWithoutOffset`](crate::DecodeErrorKind) and a
//! tolerant receiver can choose to read it as UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

use crate::decode::NO_OFFSET;

fn parse<E: de::Error>(s: &str) -> Result<DateTime<Utc>, E> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(_) if NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok() => {
            Err(E::custom(format_args!("{NO_OFFSET}: `{s}`")))
        }
        Err(e) => Err(E::custom(format_args!("invalid date-time `{s}`: {e}"))),
    }
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date-time")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        parse(s)
    }
}

/// Reads an RFC 3339 date-time with an offset.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(TimeVisitor)
}

/// Writes UTC with `Z` and as many fraction digits as the value needs
/// (0, 3, 6 or 9).
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The same for `Option<DateTime<Utc>>`.
pub mod option {
    use super::*;

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 date-time")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }

    /// Reads an optional date-time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    /// Writes an optional date-time (the field is skipped when `None`).
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct T {
        #[serde(with = "super")]
        t: DateTime<Utc>,
    }

    #[test]
    fn offsets_are_read_and_utc_is_written() {
        let t: T = serde_json::from_str(r#"{"t":"2025-01-01T12:00:00.5+02:00"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"t":"2025-01-01T10:00:00.500Z"}"#
        );
    }

    #[test]
    fn a_timestamp_without_offset_is_named() {
        let err = serde_json::from_str::<T>(r#"{"t":"2025-01-01T12:00:00"}"#).unwrap_err();
        assert!(err.to_string().starts_with(NO_OFFSET), "{err}");
    }
}
