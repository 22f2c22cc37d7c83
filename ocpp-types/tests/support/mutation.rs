//! Rejection cases: a valid instance broken in exactly one place.
//!
//! [`cases`] walks a valid instance together with its schema and, at every
//! location where the schema can express a constraint, makes one copy that
//! breaks it. Arrays are entered through their last element only: every
//! element has the same schema, and the last one gives non-zero indexes.

use std::collections::BTreeSet;
use std::fmt;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::instance::{
    Builder, Mode, count_keyword, decimal_json, decimal_keyword, enum_members, integer_json,
    is_closed, properties, required, resolve, type_of,
};
use super::json_path::Loc;

/// The member added by [`Mutation::UnknownField`].
pub const UNKNOWN_MEMBER: &str = "notInTheSchema";

/// How a case breaks its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// A string one character longer than `maxLength`.
    TooLong {
        /// The schema's `maxLength`.
        max: usize,
    },
    /// A number one below `minimum`.
    BelowMinimum {
        /// The schema's `minimum`.
        min: Decimal,
    },
    /// A number one above `maximum`.
    AboveMaximum {
        /// The schema's `maximum`.
        max: Decimal,
    },
    /// A number half a `multipleOf` away from a multiple.
    NotMultiple {
        /// The schema's `multipleOf`.
        factor: Decimal,
    },
    /// A string outside the `enum` (a member in lower case).
    UnknownEnumMember,
    /// A `required` member removed.
    MissingField {
        /// The member removed.
        member: String,
    },
    /// A value of another JSON type.
    WrongType,
    /// A member added where `additionalProperties` is false.
    UnknownField {
        /// The member added.
        member: String,
    },
    /// An empty array where `minItems` is at least 1.
    EmptyArray {
        /// The schema's `minItems`.
        min: usize,
    },
    /// One element more than `maxItems`.
    TooManyItems {
        /// The schema's `maxItems`.
        max: usize,
    },
    /// A `date-time` without a UTC offset.
    NoOffset,
}

/// The kinds of [`Mutation`], for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// [`Mutation::TooLong`].
    MaxLength,
    /// [`Mutation::BelowMinimum`].
    Minimum,
    /// [`Mutation::AboveMaximum`].
    Maximum,
    /// [`Mutation::NotMultiple`].
    MultipleOf,
    /// [`Mutation::UnknownEnumMember`].
    Enum,
    /// [`Mutation::MissingField`].
    Required,
    /// [`Mutation::WrongType`].
    Type,
    /// [`Mutation::UnknownField`].
    AdditionalProperties,
    /// [`Mutation::EmptyArray`].
    MinItems,
    /// [`Mutation::TooManyItems`].
    MaxItems,
    /// [`Mutation::NoOffset`].
    DateTime,
}

impl Kind {
    /// Every kind, in table order.
    pub const ALL: [Kind; 11] = [
        Kind::MaxLength,
        Kind::Minimum,
        Kind::Maximum,
        Kind::MultipleOf,
        Kind::Enum,
        Kind::Required,
        Kind::Type,
        Kind::AdditionalProperties,
        Kind::MinItems,
        Kind::MaxItems,
        Kind::DateTime,
    ];

    /// The JSON Schema keyword that rejects this kind of case (as
    /// [`super::SchemaComplaint::keyword`] names it).
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::MaxLength => "maxLength",
            Kind::Minimum => "minimum",
            Kind::Maximum => "maximum",
            Kind::MultipleOf => "multipleOf",
            Kind::Enum => "enum",
            Kind::Required => "required",
            Kind::Type => "type",
            Kind::AdditionalProperties => "additionalProperties",
            Kind::MinItems => "minItems",
            Kind::MaxItems => "maxItems",
            Kind::DateTime => "format",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::DateTime => "format date-time",
            other => other.keyword(),
        })
    }
}

impl Mutation {
    /// The kind of this mutation.
    pub fn kind(&self) -> Kind {
        match self {
            Mutation::TooLong { .. } => Kind::MaxLength,
            Mutation::BelowMinimum { .. } => Kind::Minimum,
            Mutation::AboveMaximum { .. } => Kind::Maximum,
            Mutation::NotMultiple { .. } => Kind::MultipleOf,
            Mutation::UnknownEnumMember => Kind::Enum,
            Mutation::MissingField { .. } => Kind::Required,
            Mutation::WrongType => Kind::Type,
            Mutation::UnknownField { .. } => Kind::AdditionalProperties,
            Mutation::EmptyArray { .. } => Kind::MinItems,
            Mutation::TooManyItems { .. } => Kind::MaxItems,
            Mutation::NoOffset => Kind::DateTime,
        }
    }

    /// The member a missing- or unknown-member case is about.
    pub fn member(&self) -> Option<&str> {
        match self {
            Mutation::MissingField { member } | Mutation::UnknownField { member } => Some(member),
            _ => None,
        }
    }
}

/// One rejection case.
#[derive(Debug, Clone)]
pub struct Case {
    /// What was broken.
    pub mutation: Mutation,
    /// Where: the broken value, or for a missing or unknown member the
    /// object that lacks or has it.
    pub at: Loc,
    /// Whether the broken value is an optional member.
    pub optional: bool,
    /// The broken instance.
    pub instance: Value,
}

/// A location of an instance with its schema node.
#[derive(Debug, Clone)]
pub struct Site<'s> {
    /// Where.
    pub at: Loc,
    /// The (resolved) schema node of the value there.
    pub node: &'s Value,
    /// Whether the value is an optional member of its object.
    pub optional: bool,
}

/// Adds to `out` the kinds of case that some node of `schema` (a whole file,
/// read keyword by keyword, independently of any instance) can express.
pub fn kinds_expressed(schema: &Value, out: &mut BTreeSet<Kind>) {
    let Some(node) = schema.as_object() else {
        return;
    };
    let has = |keyword: &str| node.contains_key(keyword);
    if node.contains_key("type") {
        out.insert(Kind::Type);
    }
    for (keyword, kind) in [
        ("maxLength", Kind::MaxLength),
        ("minimum", Kind::Minimum),
        ("maximum", Kind::Maximum),
        ("multipleOf", Kind::MultipleOf),
        ("enum", Kind::Enum),
        ("maxItems", Kind::MaxItems),
    ] {
        if has(keyword) {
            out.insert(kind);
        }
    }
    if !required(schema).is_empty() {
        out.insert(Kind::Required);
    }
    if type_of(schema) == "object" && is_closed(schema) {
        out.insert(Kind::AdditionalProperties);
    }
    if count_keyword(schema, "minItems").is_some_and(|m| m >= 1) {
        out.insert(Kind::MinItems);
    }
    if node.get("format").and_then(Value::as_str) == Some("date-time") {
        out.insert(Kind::DateTime);
    }
    // Subschemas: member schemas, definitions and array items.
    for map in ["properties", "definitions"] {
        for sub in node
            .get(map)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            kinds_expressed(sub.1, out);
        }
    }
    if let Some(items) = node.get("items") {
        kinds_expressed(items, out);
    }
}

/// Every rejection case for the valid instance `base` of the message `root`.
/// `builder` makes the extra elements of [`Mutation::TooManyItems`].
pub fn cases(root: &Value, base: &Value, builder: &mut Builder) -> Vec<Case> {
    let mut out = Vec::new();
    for site in sites(root, base) {
        for (mutation, replacement) in mutations(root, site.node, site.at.get(base), builder) {
            let mut instance = base.clone();
            *site.at.get_mut(&mut instance) = replacement;
            out.push(Case {
                mutation,
                at: site.at.clone(),
                optional: site.optional,
                instance,
            });
        }
    }
    out
}

/// Every location of the instance `base` of the message `root` with its
/// (resolved) schema node, children before parents; arrays through their
/// last element.
pub fn sites<'s>(root: &'s Value, base: &Value) -> Vec<Site<'s>> {
    let mut out = Vec::new();
    collect(root, root, base, Loc::default(), false, &mut out);
    out
}

/// Every location of `value` (at `at`) with its schema node.
fn collect<'s>(
    root: &'s Value,
    node: &'s Value,
    value: &Value,
    at: Loc,
    optional: bool,
    out: &mut Vec<Site<'s>>,
) {
    let node = resolve(root, node);
    match (type_of(node), value) {
        ("object", Value::Object(members)) => {
            let required = required(node);
            for (name, child) in properties(node) {
                if let Some(v) = members.get(name) {
                    let optional = !required.contains(&name.as_str());
                    collect(root, child, v, at.key(name), optional, out);
                }
            }
        }
        ("array", Value::Array(elements)) if !elements.is_empty() => {
            let last = elements.len() - 1;
            collect(
                root,
                &node["items"],
                &elements[last],
                at.index(last),
                false,
                out,
            );
        }
        _ => {}
    }
    out.push(Site { at, node, optional });
}

/// The mutations applicable to `value` (valid for `node`), each with the
/// value that replaces it.
fn mutations(
    root: &Value,
    node: &Value,
    value: &Value,
    builder: &mut Builder,
) -> Vec<(Mutation, Value)> {
    let mut out = Vec::new();
    let ty = type_of(node);
    if ty == "any" {
        return out;
    }
    // Wrong JSON types; an integer also gets a fraction.
    let wrong = match ty {
        "string" => json!(7),
        "integer" => json!("7"),
        "number" => json!("7.5"),
        "boolean" => json!("true"),
        "object" => json!([]),
        _ => json!({}),
    };
    out.push((Mutation::WrongType, wrong));
    if ty == "integer" {
        out.push((Mutation::WrongType, json!(7.5)));
    }
    match ty {
        "string" => {
            if let Some(members) = enum_members(node) {
                let lower = members[0].to_lowercase();
                let bad = if members.contains(&lower.as_str()) {
                    "NotAMember".to_owned()
                } else {
                    lower
                };
                out.push((Mutation::UnknownEnumMember, Value::String(bad)));
            } else if node.get("format").and_then(Value::as_str) == Some("date-time") {
                out.push((Mutation::NoOffset, json!("2025-01-02T03:04:05")));
            }
            if let Some(max) = count_keyword(node, "maxLength") {
                let mut text = value.as_str().unwrap_or_default().to_owned();
                while text.chars().count() <= max {
                    text.push('x');
                }
                out.push((Mutation::TooLong { max }, Value::String(text)));
            }
        }
        "integer" | "number" => {
            let json = |d: Decimal| {
                if ty == "integer" {
                    integer_json(d)
                } else {
                    decimal_json(d)
                }
            };
            if let Some(min) = decimal_keyword(node, "minimum") {
                out.push((Mutation::BelowMinimum { min }, json(min - Decimal::ONE)));
            }
            if let Some(max) = decimal_keyword(node, "maximum") {
                out.push((Mutation::AboveMaximum { max }, json(max + Decimal::ONE)));
            }
            if let Some(factor) = decimal_keyword(node, "multipleOf") {
                // 32.15 for a factor of 0.1: positive, as jsonschema treats
                // no negative number as a multiple of a fraction.
                let whole = Decimal::from(32) + factor;
                let bad = whole + factor / Decimal::from(2);
                out.push((Mutation::NotMultiple { factor }, json(bad)));
            }
        }
        "object" => {
            let members = value.as_object().expect("object instance");
            for name in required(node) {
                let mut without = members.clone();
                without.remove(name);
                out.push((
                    Mutation::MissingField {
                        member: name.to_owned(),
                    },
                    Value::Object(without),
                ));
            }
            if is_closed(node) {
                let mut with = members.clone();
                with.insert(UNKNOWN_MEMBER.to_owned(), json!(1));
                out.push((
                    Mutation::UnknownField {
                        member: UNKNOWN_MEMBER.to_owned(),
                    },
                    Value::Object(with),
                ));
            }
        }
        "array" => {
            let elements = value.as_array().expect("array instance");
            if let Some(min) = count_keyword(node, "minItems").filter(|&m| m >= 1) {
                out.push((Mutation::EmptyArray { min }, json!([])));
            }
            if let Some(max) = count_keyword(node, "maxItems") {
                let mut more = elements.clone();
                while more.len() <= max {
                    more.push(builder.build(root, &node["items"], Mode::Minimal, 0));
                }
                out.push((Mutation::TooManyItems { max }, Value::Array(more)));
            }
        }
        _ => {}
    }
    out
}
