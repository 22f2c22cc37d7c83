//! `number` fields as exact [`Decimal`]s on the wire.
//!
//! JSON numbers are read through their shortest round-trip decimal form, so
//! `32.1` is exactly 32.1 and `multipleOf 0.1` is checked exactly; they are
//! written as plain JSON numbers (never strings, never exponents).

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // Rust prints the shortest digits that read back as `v`: the text
        // the sender wrote, for any number of up to 15 significant digits.
        let text = v.to_string();
        Decimal::from_str(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|_| {
                E::invalid_value(de::Unexpected::Float(v), &"a number of at most 28 digits")
            })
    }
}

/// Reads a JSON number.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

/// Writes a JSON number with the decimal's own digits.
pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let raw = serde_json::value::RawValue::from_string(v.normalize().to_string())
        .map_err(serde::ser::Error::custom)?;
    raw.serialize(s)
}

/// The same for `Option<Decimal>`.
pub mod option {
    use super::*;

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Decimal>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
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

    /// Reads an optional JSON number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    /// Writes an optional JSON number (the field is skipped when `None`).
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct N {
        #[serde(with = "super")]
        n: Decimal,
    }

    #[test]
    fn numbers_read_and_write_exactly() {
        for text in ["32.1", "32.15", "0", "-7", "1234567.891", "0.001"] {
            let json = format!("{{\"n\":{text}}}");
            let n: N = serde_json::from_str(&json).unwrap();
            assert_eq!(n.n, Decimal::from_str(text).unwrap());
            assert_eq!(serde_json::to_string(&n).unwrap(), json);
        }
    }

    #[test]
    fn a_string_is_not_a_number() {
        let err = serde_json::from_str::<N>("{\"n\":\"32.1\"}").unwrap_err();
        assert!(err.to_string().starts_with("invalid type: string"));
    }
}
