//! Building valid instances of a message from its schema alone.
//!
//! The builder walks the schema (`serde_json::Value`, following
//! `$ref: "#/definitions/..."`) and produces a value for every node. Each
//! enum cycles through its own members, and a counter shared by all calls
//! varies timestamps, booleans, numbers and string contents, so that across
//! all instances many different values are exercised.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

/// Which instance to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Required members only; required arrays at `minItems` (at least 1
    /// element); empty strings; numbers as close to 0 as the bounds allow.
    Minimal,
    /// Every member; strings at exactly `maxLength`; arrays at `maxItems`
    /// (2 elements when unbounded; elements after the second are minimal);
    /// numbers on and inside their bounds.
    Full,
    /// Like [`Mode::Full`] but arrays at no more than 2 elements (the first
    /// minimal) and strings at no more than 16 characters: the base of the
    /// rejection cases, small enough to be mutated thousands of times.
    Compact,
}

/// Follows `$ref` (only local `#/...` references occur in the OCA files).
pub fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("non-local $ref `{reference}`"));
                node = root
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref `{reference}`"));
            }
            None => return node,
        }
    }
    panic!("$ref chain too long");
}

/// The schema's `type` keyword; `any` for a node without one (2.x
/// `DataTransfer.data`, which takes any JSON value).
pub fn type_of(node: &Value) -> &str {
    match node.get("type") {
        None => "any",
        Some(ty) => ty
            .as_str()
            .unwrap_or_else(|| panic!("schema node without a single `type`: {node}")),
    }
}

/// A non-negative integer keyword (`maxLength`, `minItems`, ...).
pub fn count_keyword(node: &Value, keyword: &str) -> Option<usize> {
    node.get(keyword).map(|v| {
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| panic!("`{keyword}` is not a count: {v}"))
    })
}

/// A numeric keyword (`minimum`, `maximum`, `multipleOf`) as an exact decimal,
/// read from its JSON text (`0.0` -> 0.0, `0.1` -> 0.1).
pub fn decimal_keyword(node: &Value, keyword: &str) -> Option<Decimal> {
    node.get(keyword).map(|v| {
        let text = v.to_string();
        text.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&text))
            .unwrap_or_else(|_| panic!("`{keyword}` is not a number: {v}"))
    })
}

/// `required` of an object node.
pub fn required(node: &Value) -> Vec<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `properties` of an object node (empty when absent).
pub fn properties(node: &Value) -> impl Iterator<Item = (&String, &Value)> {
    node.get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// Whether an object node forbids members it does not list.
pub fn is_closed(node: &Value) -> bool {
    node.get("additionalProperties") == Some(&Value::Bool(false))
}

/// The members of an enum node, if it is one.
pub fn enum_members(node: &Value) -> Option<Vec<&str>> {
    node.get("enum")
        .and_then(Value::as_array)
        .map(|members| members.iter().filter_map(Value::as_str).collect())
}

/// A decimal as a JSON number in its shortest form (an integer when integral),
/// exactly as `ocpp_types` writes it.
pub fn decimal_json(d: Decimal) -> Value {
    let text = d.normalize().to_string();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// An integral decimal as a JSON integer.
pub fn integer_json(d: Decimal) -> Value {
    let n = d
        .trunc()
        .to_i64()
        .unwrap_or_else(|| panic!("integer out of range: {d}"));
    Value::from(n)
}

/// A timestamp that `ocpp_types` writes back byte for byte.
pub fn timestamp(n: usize) -> String {
    format!("2025-01-02T03:{:02}:{:02}Z", (n / 60) % 60, n % 60)
}

/// The extra members put into every open object (2.x `CustomDataType`),
/// also the value of type-less nodes.
pub fn vendor_extension() -> Value {
    json!({
        "flag": true,
        "ratio": 0.25,
        "count": 7,
        "tags": ["a", "b"],
        "nested": {"none": null, "text": "x"}
    })
}

/// Builds instances; keep one across messages so that the counter keeps
/// varying the values.
#[derive(Debug, Default)]
pub struct Builder {
    counter: usize,
    /// For each distinct enum (keyed by its member list), the next member
    /// to use and the members used so far.
    enums: BTreeMap<Vec<String>, (usize, BTreeSet<String>)>,
}

impl Builder {
    /// A fresh builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An instance of the whole message described by `root`.
    pub fn message(&mut self, root: &Value, mode: Mode) -> Value {
        self.build(root, root, mode, 0)
    }

    /// An instance of the schema node `node` of the file `root`.
    pub fn build(&mut self, root: &Value, node: &Value, mode: Mode, depth: usize) -> Value {
        assert!(
            depth < 32,
            "schema nests too deeply (recursive definitions?)"
        );
        let node = resolve(root, node);
        self.counter += 1;
        let n = self.counter;
        match type_of(node) {
            "object" => {
                let required = required(node);
                let mut out = Map::new();
                for (name, child) in properties(node) {
                    if mode == Mode::Minimal && !required.contains(&name.as_str()) {
                        continue;
                    }
                    out.insert(name.clone(), self.build(root, child, mode, depth + 1));
                }
                if mode != Mode::Minimal && !is_closed(node) {
                    out.insert("vendorExtension".to_owned(), vendor_extension());
                }
                Value::Object(out)
            }
            "array" => {
                let items = node
                    .get("items")
                    .unwrap_or_else(|| panic!("array without items: {node}"));
                // Beyond two elements, a full array is filled up with minimal
                // ones: nested arrays of up to 1024 full elements would make
                // instances of hundreds of megabytes. A compact array has
                // minimal elements before its last one.
                let len = array_len(node, mode);
                let elements = (0..len)
                    .map(|i| {
                        let mode = match mode {
                            Mode::Full if i >= 2 => Mode::Minimal,
                            Mode::Compact if i + 1 < len => Mode::Minimal,
                            other => other,
                        };
                        self.build(root, items, mode, depth + 1)
                    })
                    .collect();
                Value::Array(elements)
            }
            "string" => self.string(node, mode, n),
            "integer" => integer_json(number(node, mode, n, true)),
            "number" => decimal_json(number(node, mode, n, false)),
            "boolean" => Value::Bool(mode != Mode::Minimal && n % 2 == 0),
            "any" => match mode {
                Mode::Minimal => Value::String(filler(4, n)),
                Mode::Full | Mode::Compact => vendor_extension(),
            },
            other => panic!("unexpected schema type `{other}`"),
        }
    }

    fn string(&mut self, node: &Value, mode: Mode, n: usize) -> Value {
        if let Some(members) = enum_members(node) {
            // Each enum cycles through its own members.
            let (next, used) = self
                .enums
                .entry(members.iter().map(|m| (*m).to_owned()).collect())
                .or_default();
            let member = pick_member(&members, *next);
            *next += 1;
            used.insert(member.to_owned());
            return Value::String(member.to_owned());
        }
        let max = count_keyword(node, "maxLength");
        match node.get("format").and_then(Value::as_str) {
            Some("date-time") => Value::String(timestamp(n)),
            Some("uri") => Value::String(uri(if mode == Mode::Minimal { None } else { max })),
            Some(other) => panic!("unexpected format `{other}`"),
            None => {
                let len = match mode {
                    Mode::Minimal => 0,
                    Mode::Full => max.unwrap_or(16),
                    Mode::Compact => max.unwrap_or(16).min(16),
                };
                Value::String(filler(len, n))
            }
        }
    }

    /// (distinct enums, their members in total, members used so far).
    pub fn enum_coverage(&self) -> (usize, usize, usize) {
        let total = self.enums.keys().map(Vec::len).sum();
        let used = self.enums.values().map(|(_, used)| used.len()).sum();
        (self.enums.len(), total, used)
    }
}

/// How many elements an array gets in `mode`.
pub fn array_len(node: &Value, mode: Mode) -> usize {
    let min = count_keyword(node, "minItems").unwrap_or(0);
    let max = count_keyword(node, "maxItems");
    match mode {
        Mode::Minimal => min.max(1),
        Mode::Full => max.unwrap_or(2).max(min),
        Mode::Compact => max.unwrap_or(2).min(2).max(min),
    }
}

/// The `n`th member, cyclically. 1.6's `Celsius` is skipped where `Celcius`
/// is offered too: both decode, but `Celcius` is what gets written back.
fn pick_member<'m>(members: &[&'m str], n: usize) -> &'m str {
    let usable: Vec<&str> = members
        .iter()
        .copied()
        .filter(|m| !(*m == "Celsius" && members.contains(&"Celcius")))
        .collect();
    usable[n % usable.len()]
}

/// `len` ASCII characters, starting at a position chosen by `n`.
pub fn filler(len: usize, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    (0..len)
        .map(|i| char::from(ALPHABET[(n + i) % ALPHABET.len()]))
        .collect()
}

/// A valid URI of exactly `len` characters (a fixed one when unbounded).
pub fn uri(len: Option<usize>) -> String {
    const BASE: &str = "https://example.com/";
    match len {
        None => format!("{BASE}diagnostics"),
        Some(len) => {
            assert!(len > BASE.len(), "uri bound {len} too small");
            format!("{BASE}{}", "u".repeat(len - BASE.len()))
        }
    }
}

/// A number valid for `node`: near 0 in [`Mode::Minimal`]; otherwise, by
/// turns, the maximum, the minimum or a non-integral value inside the bounds,
/// always a multiple of `multipleOf`.
fn number(node: &Value, mode: Mode, n: usize, integral: bool) -> Decimal {
    let min = decimal_keyword(node, "minimum");
    let max = decimal_keyword(node, "maximum");
    let factor = decimal_keyword(node, "multipleOf");
    let clamp = |v: Decimal| {
        let v = min.map_or(v, |m| v.max(m));
        max.map_or(v, |m| v.min(m))
    };
    let value = match (mode, n % 3) {
        (Mode::Minimal, _) => clamp(Decimal::ZERO),
        (_, 0) if max.is_some() => clamp(Decimal::MAX),
        (_, 1) if min.is_some() => clamp(Decimal::MIN),
        _ => {
            // 10.1 .. 99.9, shifted above the minimum, pulled below the maximum.
            let whole = Decimal::from(10 + n % 90);
            let tenths = if integral {
                Decimal::ZERO
            } else {
                Decimal::new(1 + (n % 9) as i64, 1)
            };
            let v = min.unwrap_or(Decimal::ZERO) + whole + tenths;
            match max {
                Some(max) if v > max => {
                    let lo = min.unwrap_or(max - Decimal::from(100));
                    let mid = (lo + max) / Decimal::from(2);
                    if integral { mid.floor() } else { mid }
                }
                _ => v,
            }
        }
    };
    match factor {
        Some(f) => {
            let down = (value / f).floor() * f;
            if min.is_some_and(|m| down < m) {
                (value / f).ceil() * f
            } else {
                down
            }
        }
        None => value,
    }
}
