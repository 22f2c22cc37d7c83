//! Schema constraints checked after decoding: `maxLength`, `minimum`,
//! `maximum`, `multipleOf`, `minItems` and `maxItems`.
//!
//! Decoding (serde) checks the shape of a payload; [`Validate`] checks the
//! values and returns **every** violation with its JSON path, so that a
//! receiver can answer with one precise error or, by policy, accept and
//! report a deviation.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A type whose values can break schema constraints.
pub trait Validate {
    /// Pushes the violations of `self`, found at `path`, onto `out`.
    fn validate_at(&self, path: &Path<'_>, out: &mut Vec<Violation>);

    /// Checks every constraint and returns all violations.
    fn validate(&self) -> Result<(), Violations> {
        let mut out = Vec::new();
        self.validate_at(&Path::ROOT, &mut out);
        if out.is_empty() {
            Ok(())
        } else {
            Err(Violations(out))
        }
    }
}

/// A JSON path under construction, linked on the stack so that checking a
/// valid message allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment,
}

#[derive(Debug, Clone, Copy)]
enum Segment {
    Root,
    Field(&'static str),
    Index(usize),
}

impl<'a> Path<'a> {
    /// The payload itself.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
    };

    /// The member `name` of the object at `self`.
    pub fn field(&'a self, name: &'static str) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Field(name),
        }
    }

    /// The element `index` of the array at `self`.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }
}

impl fmt::Display for Path<'_> {
    /// Dotted members and bracketed indexes: `meterValue[0].sampledValue[2].value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            fmt::Display::fmt(parent, f)?;
        }
        match self.segment {
            Segment::Root => Ok(()),
            Segment::Field(name) if matches!(self.parent, Some(p) if !matches!(p.segment, Segment::Root)) =>
            {
                write!(f, ".{name}")
            }
            Segment::Field(name) => f.write_str(name),
            Segment::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Which schema keyword a value breaks, with the schema's bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Constraint {
    /// `maxLength`: at most `max` characters.
    MaxLength {
        /// The bound.
        max: usize,
    },
    /// `minimum`: at least `min`.
    Minimum {
        /// The bound.
        min: Decimal,
    },
    /// `maximum`: at most `max`.
    Maximum {
        /// The bound.
        max: Decimal,
    },
    /// `multipleOf`: a whole multiple of `factor`.
    MultipleOf {
        /// The factor.
        factor: Decimal,
    },
    /// `minItems`: at least `min` elements.
    MinItems {
        /// The bound.
        min: usize,
    },
    /// `maxItems`: at most `max` elements.
    MaxItems {
        /// The bound.
        max: usize,
    },
}

/// What was found where a [`Constraint`] was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Actual {
    /// A count: characters of a string, or elements of an array.
    Count(usize),
    /// A number.
    Number(Decimal),
}

impl From<usize> for Actual {
    fn from(n: usize) -> Self {
        Actual::Count(n)
    }
}

impl From<Decimal> for Actual {
    fn from(n: Decimal) -> Self {
        Actual::Number(n)
    }
}

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The JSON path of the value, e.g. `chargingStation.serialNumber`; empty for the payload itself.
    pub path: String,
    /// The constraint it breaks.
    pub constraint: Constraint,
    /// The value found.
    pub actual: Actual,
}

impl Violation {
    /// A violation at `path`.
    pub fn new(path: &Path<'_>, constraint: Constraint, actual: Actual) -> Self {
        Violation {
            path: path.to_string(),
            constraint,
            actual,
        }
    }
}

impl fmt::Display for Violation {
    /// `chargingStation.serialNumber: 33 chars, max 25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        let actual = match self.actual {
            Actual::Count(n) => n.to_string(),
            Actual::Number(n) => n.to_string(),
        };
        match self.constraint {
            Constraint::MaxLength { max } => write!(f, "{actual} chars, max {max}"),
            Constraint::Minimum { min } => write!(f, "{actual}, minimum {min}"),
            Constraint::Maximum { max } => write!(f, "{actual}, maximum {max}"),
            Constraint::MultipleOf { factor } => write!(f, "{actual}, not a multiple of {factor}"),
            Constraint::MinItems { min } => write!(f, "{actual} items, min {min}"),
            Constraint::MaxItems { max } => write!(f, "{actual} items, max {max}"),
        }
    }
}

/// Every violation found in one value (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// The violations, in document order.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            fmt::Display::fmt(v, f)?;
        }
        Ok(())
    }
}

// Leaves without constraints of their own: the generated code checks numbers
// explicitly, so these only let containers recurse uniformly.
macro_rules! no_constraints {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            #[inline]
            fn validate_at(&self, _: &Path<'_>, _: &mut Vec<Violation>) {}
        }
    )*};
}
no_constraints!(bool, i32, String, Decimal, DateTime<Utc>, serde_json::Value);

impl<T: Validate> Validate for Option<T> {
    #[inline]
    fn validate_at(&self, path: &Path<'_>, out: &mut Vec<Violation>) {
        if let Some(v) = self {
            v.validate_at(path, out);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, path: &Path<'_>, out: &mut Vec<Violation>) {
        for (i, v) in self.iter().enumerate() {
            v.validate_at(&path.index(i), out);
        }
    }
}

impl<K, V: Validate> Validate for serde_json::Map<K, V> {
    fn validate_at(&self, _: &Path<'_>, _: &mut Vec<Violation>) {}
}

/// Checks used by the generated `Validate` impls.
#[doc(hidden)]
pub mod check {
    use super::*;

    /// `minItems` / `maxItems` of an array.
    #[inline]
    pub fn items<T>(
        v: &[T],
        min: Option<usize>,
        max: Option<usize>,
        path: &Path<'_>,
        out: &mut Vec<Violation>,
    ) {
        let n = v.len();
        if let Some(min) = min.filter(|&m| n < m) {
            out.push(Violation::new(path, Constraint::MinItems { min }, n.into()));
        }
        if let Some(max) = max.filter(|&m| n > m) {
            out.push(Violation::new(path, Constraint::MaxItems { max }, n.into()));
        }
    }

    /// `minimum` / `maximum` / `multipleOf` of a number or integer.
    #[inline]
    pub fn number(
        v: Decimal,
        min: Option<Decimal>,
        max: Option<Decimal>,
        multiple_of: Option<Decimal>,
        path: &Path<'_>,
        out: &mut Vec<Violation>,
    ) {
        if let Some(min) = min.filter(|m| v < *m) {
            out.push(Violation::new(path, Constraint::Minimum { min }, v.into()));
        }
        if let Some(max) = max.filter(|m| v > *m) {
            out.push(Violation::new(path, Constraint::Maximum { max }, v.into()));
        }
        if let Some(factor) = multiple_of.filter(|f| !f.is_zero() && !(v % *f).is_zero()) {
            out.push(Violation::new(
                path,
                Constraint::MultipleOf { factor },
                v.into(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_dotted_with_indexes() {
        let root = Path::ROOT;
        let a = root.field("meterValue");
        let b = a.index(0);
        let c = b.field("sampledValue");
        let d = c.index(2);
        let e = d.field("value");
        assert_eq!(e.to_string(), "meterValue[0].sampledValue[2].value");
    }

    #[test]
    fn multiple_of_is_exact() {
        let mut out = Vec::new();
        let tenth = Some(Decimal::new(1, 1));
        check::number(
            Decimal::new(321, 1),
            None,
            None,
            tenth,
            &Path::ROOT,
            &mut out,
        );
        assert!(out.is_empty());
        check::number(
            Decimal::new(3215, 2),
            None,
            None,
            tenth,
            &Path::ROOT,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to_string(), "32.15, not a multiple of 0.1");
    }
}
