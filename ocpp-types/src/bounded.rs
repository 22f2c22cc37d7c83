//! `BoundedString<N>`: a string whose schema allows at most `N` characters.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validate::{Constraint, Path, Validate, Violation};

/// A string with a schema `maxLength` of `N` characters (Unicode scalar values).
///
/// [`BoundedString::new`] checks the bound. Deserialising does **not**: an
/// over-long string from a non-compliant peer is kept, and
/// [`Validate`](crate::Validate) reports it, so that a tolerant receiver can
/// accept and log it instead of losing the message.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundedString<const N: usize>(String);

/// The error of [`BoundedString::new`]: the string is longer than the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("string of {len} characters exceeds the maximum of {max}")]
#[non_exhaustive]
pub struct LengthError {
    /// The number of characters of the rejected string.
    pub len: usize,
    /// The bound.
    pub max: usize,
}

impl<const N: usize> BoundedString<N> {
    /// The bound, in characters.
    pub const MAX: usize = N;

    /// Wraps `value` if it has at most `N` characters.
    pub fn new(value: impl Into<String>) -> Result<Self, LengthError> {
        let value = value.into();
        match char_count_over(&value, N) {
            None => Ok(Self(value)),
            Some(len) => Err(LengthError { len, max: N }),
        }
    }

    /// Wraps `value` without checking the bound; [`Validate`] reports it if it is too long.
    pub fn new_unchecked(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether the string respects the bound.
    pub fn is_within_bound(&self) -> bool {
        char_count_over(&self.0, N).is_none()
    }
}

/// `Some(chars)` when `s` has more than `max` characters; never counts a
/// string whose byte length already fits.
fn char_count_over(s: &str, max: usize) -> Option<usize> {
    if s.len() <= max {
        return None;
    }
    let chars = s.chars().count();
    (chars > max).then_some(chars)
}

impl<const N: usize> Validate for BoundedString<N> {
    fn validate_at(&self, path: &Path<'_>, out: &mut Vec<Violation>) {
        if let Some(len) = char_count_over(&self.0, N) {
            out.push(Violation::new(
                path,
                Constraint::MaxLength { max: N },
                len.into(),
            ));
        }
    }
}

impl<const N: usize> Deref for BoundedString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> AsRef<str> for BoundedString<N> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const N: usize> fmt::Display for BoundedString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> FromStr for BoundedString<N> {
    type Err = LengthError;
    fn from_str(s: &str) -> Result<Self, LengthError> {
        Self::new(s)
    }
}

impl<const N: usize> TryFrom<&str> for BoundedString<N> {
    type Error = LengthError;
    fn try_from(s: &str) -> Result<Self, LengthError> {
        Self::new(s)
    }
}

impl<const N: usize> TryFrom<String> for BoundedString<N> {
    type Error = LengthError;
    fn try_from(s: String) -> Result<Self, LengthError> {
        Self::new(s)
    }
}

impl<const N: usize> From<BoundedString<N>> for String {
    fn from(s: BoundedString<N>) -> String {
        s.0
    }
}

impl<const N: usize> PartialEq<str> for BoundedString<N> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl<const N: usize> PartialEq<&str> for BoundedString<N> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<const N: usize> Serialize for BoundedString<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const N: usize> Deserialize<'de> for BoundedString<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(feature = "schemars")]
impl<const N: usize> schemars::JsonSchema for BoundedString<N> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("BoundedString{N}").into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "maxLength": N })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_counts_characters_not_bytes() {
        assert!(BoundedString::<3>::new("äöü").is_ok());
        assert_eq!(
            BoundedString::<3>::new("äöüß"),
            Err(LengthError { len: 4, max: 3 })
        );
    }

    #[test]
    fn deserialising_keeps_an_over_long_string_and_validate_reports_it() {
        let s: BoundedString<2> = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(s, "abc");
        let violations = s.validate().unwrap_err();
        assert_eq!(violations.to_string(), "3 chars, max 2");
    }
}
