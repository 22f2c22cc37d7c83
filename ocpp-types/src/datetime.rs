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
    let mut buf = [0u8; 30];
    match write_rfc3339(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.collect_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff[fff[fff]]]Z` into `buf`, as chrono's
/// `AutoSi` writes it, without going through `core::fmt` (a fifth of a
/// small response's encoding time). `None` for years outside 0..=9999 and
/// leap seconds, which chrono writes.
fn write_rfc3339<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; 30]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    fn put(buf: &mut [u8], at: usize, value: u32, digits: usize) {
        let mut v = value;
        for i in (at..at + digits).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    put(buf, 0, year, 4);
    buf[4] = b'-';
    put(buf, 5, t.month(), 2);
    buf[7] = b'-';
    put(buf, 8, t.day(), 2);
    buf[10] = b'T';
    put(buf, 11, t.hour(), 2);
    buf[13] = b':';
    put(buf, 14, t.minute(), 2);
    buf[16] = b':';
    put(buf, 17, t.second(), 2);
    let mut end = 19;
    let digits = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    if digits > 0 {
        buf[end] = b'.';
        put(buf, end + 1, nanos / 10u32.pow(9 - digits as u32), digits);
        end += 1 + digits;
    }
    buf[end] = b'Z';
    std::str::from_utf8(&buf[..=end]).ok()
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

    #[test]
    fn the_writer_matches_chrono() {
        let nanos = [
            0,
            1,
            999,
            1_000,
            120_000,
            412_000_000,
            999_999_999,
            1_000_000_500,
        ];
        let secs = [
            0i64,
            59,
            951_782_400,
            1_741_944_067,
            253_402_300_799,
            -62_167_219_200,
        ];
        for &sec in &secs {
            for &nano in &nanos {
                let Some(t) = DateTime::<Utc>::from_timestamp(sec, nano) else {
                    continue;
                };
                let mut buf = [0u8; 30];
                let chrono = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                match write_rfc3339(&t, &mut buf) {
                    Some(ours) => assert_eq!(ours, chrono),
                    None => assert!(nano >= 1_000_000_000, "{chrono}"),
                }
            }
        }
        let far = DateTime::<Utc>::from_timestamp(253_402_300_800, 0).unwrap();
        assert_eq!(write_rfc3339(&far, &mut [0u8; 30]), None);
    }

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
