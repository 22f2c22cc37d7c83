//! How optional members are left out of, or read from, the JSON.

/// An array with `minItems: 1` is omitted when empty: the schema forbids `[]`.
pub(crate) fn none_or_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// A member of any JSON value (no `type` in the schema): `null` is a value
/// here, not an absent member.
pub(crate) fn any_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}
