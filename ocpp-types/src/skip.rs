//! When optional members are left out of the JSON.

/// An array with `minItems: 1` is omitted when empty: the schema forbids `[]`.
pub(crate) fn none_or_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}
