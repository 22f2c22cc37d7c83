//! The JSON Schemas derived from our types (`Action::request_schema()` /
//! `Action::response_schema()`, through `schemars`) agree with the official
//! OCA schema files, for every action of every version (387 files).
//!
//! Compared at the top level and recursively through nested objects and
//! arrays (`$ref` resolved on both sides: `#/definitions/X` in the official
//! files, `#/$defs/X` from schemars 1.x):
//!
//! * property names,
//! * required sets,
//! * `additionalProperties: false` (closed object) or not (open object),
//! * JSON types (`null` ignored, see below),
//! * enum members (an `enum` array, or schemars' `oneOf` of `const`s),
//! * `maxLength`.
//!
//! Normalisation: our `Option<T>` fields appear as `anyOf [T, {"type":
//! "null"}]` or `"type": [T, "null"]`; the `null` alternative is dropped (the
//! official schemas express optionality through `required` only, which is
//! compared). Descriptions, formats, titles and defaults are not compared.
//! `minimum`, `maximum`, `multipleOf`, `minItems` and `maxItems` are not
//! compared either: the derived schemas carry none of them (those checks live
//! in `Validate`, exercised by `tests/conformance.rs`).
//!
//! Intended differences, allowed here and nowhere else:
//!
//! * 1.6 `UnitOfMeasure`: the official enum lists both `Celcius` (the
//!   spelling of the 1.6 specification) and `Celsius`. Our enum writes
//!   `Celcius` and accepts `Celsius` as a serde alias, which schemars does not
//!   list; the derived enum may therefore lack exactly `Celsius` (and must
//!   then contain `Celcius`).
//! * 2.x `customData` (`CustomDataType`): an open object (no
//!   `additionalProperties: false`) whose members beyond `vendorId` are kept
//!   in a flattened `serde_json::Map`; schemars describes that map as
//!   `additionalProperties: true`, which is what "open" means here, so
//!   it compares equal and needs no exception. Its extra members have no
//!   schema on either side.
//!
//! Any other difference fails the test; all are collected first and reported
//! with the file, the JSON path and what differs. Run with `--nocapture` to
//! see the number of schemas compared.

#![cfg(all(
    feature = "schemars",
    feature = "v16",
    feature = "v201",
    feature = "v21"
))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use ocpp_types::{v16, v21, v201};
use serde_json::{Map, Value};

/// The number of official schema files.
const EXPECTED_FILES: usize = 387;

/// One message schema derived from our types, with where its official file lives.
struct Derived {
    /// `v16`, `v16-security`, `v201` or `v21`.
    folder: &'static str,
    /// The file name inside `folder`.
    file: String,
    /// E.g. `v201::TransactionEvent request`.
    what: String,
    /// The derived schema.
    schema: Value,
}

/// Every request and response schema of every version, derived from the types.
fn derived(dir: &Path) -> Vec<Derived> {
    let mut out = Vec::new();
    macro_rules! version {
        ($version:ident, $label:literal) => {
            for action in $version::Action::iter() {
                let name = action.as_str();
                let (folder, request_file, response_file) = if $label == "v16" {
                    // 1.6 core and the security extension share `ocpp_types::v16`.
                    let folder = if dir.join("v16").join(format!("{name}.json")).is_file() {
                        "v16"
                    } else {
                        "v16-security"
                    };
                    (
                        folder,
                        format!("{name}.json"),
                        format!("{name}Response.json"),
                    )
                } else if action.is_send() {
                    (
                        $label,
                        format!("{name}.json"),
                        format!("{name}Response.json"),
                    )
                } else {
                    (
                        $label,
                        format!("{name}Request.json"),
                        format!("{name}Response.json"),
                    )
                };
                out.push(Derived {
                    folder,
                    file: request_file,
                    what: format!("{}::{name} request", $label),
                    schema: action.request_schema().to_value(),
                });
                match action.response_schema() {
                    Some(schema) => out.push(Derived {
                        folder,
                        file: response_file,
                        what: format!("{}::{name} response", $label),
                        schema: schema.to_value(),
                    }),
                    None => assert!(
                        !dir.join(folder).join(&response_file).exists(),
                        "{}::{name} has no response schema but {folder}/{response_file} exists",
                        $label
                    ),
                }
            }
        };
    }
    version!(v16, "v16");
    version!(v201, "v201");
    version!(v21, "v21");
    out
}

// ---------------------------------------------------------------------------
// A normalised view of one schema node.

/// What a schema node says, after following `$ref`, `allOf` of one, and
/// nullable `anyOf` / `oneOf` / `type` arrays.
#[derive(Default)]
struct View<'a> {
    /// The last `$ref` target followed, e.g. `#/$defs/UnitOfMeasure`.
    def: Option<String>,
    /// JSON types without `null`; `None` when unconstrained.
    types: Option<BTreeSet<String>>,
    /// Object members.
    properties: Option<&'a Map<String, Value>>,
    /// Required members.
    required: BTreeSet<String>,
    /// `additionalProperties: false`.
    closed: bool,
    /// Enum members (from `enum`, `const` or a `oneOf` of `const`s), without `null`.
    members: Option<BTreeSet<String>>,
    /// `maxLength`.
    max_length: Option<u64>,
    /// Array item schema.
    items: Option<&'a Value>,
    /// Constructs this normaliser does not understand.
    unsupported: Vec<String>,
}

/// A string for an enum member.
fn member(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `node` only says "null".
fn is_null_schema(node: &Value) -> bool {
    match node {
        Value::Object(map) => {
            map.get("type") == Some(&Value::String("null".into()))
                || map.get("const") == Some(&Value::Null)
                || map.get("enum") == Some(&Value::Array(vec![Value::Null]))
        }
        _ => false,
    }
}

/// Resolves a local `$ref` against `root`.
fn resolve<'a>(reference: &str, root: &'a Value) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Builds the view of `node`, whose `$ref`s point into `root`.
fn view<'a>(node: &'a Value, root: &'a Value) -> View<'a> {
    let mut v = View::default();
    absorb(&mut v, node, root, 0);
    v
}

/// Adds what `node` says to `v`.
fn absorb<'a>(v: &mut View<'a>, node: &'a Value, root: &'a Value, depth: usize) {
    if depth > 32 {
        v.unsupported.push("`$ref` chain too deep".into());
        return;
    }
    let map = match node {
        Value::Bool(true) => return,
        Value::Object(map) => map,
        other => {
            v.unsupported.push(format!("schema {other}"));
            return;
        }
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        match resolve(reference, root) {
            Some(target) => {
                v.def = Some(reference.to_owned());
                absorb(v, target, root, depth + 1);
            }
            None => v.unsupported.push(format!("unresolved $ref {reference}")),
        }
    }
    if let Some(all) = map.get("allOf").and_then(Value::as_array) {
        for branch in all {
            absorb(v, branch, root, depth + 1);
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        let Some(branches) = map.get(keyword).and_then(Value::as_array) else {
            continue;
        };
        let rest: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
        if let [only] = rest.as_slice() {
            absorb(v, only, root, depth + 1);
            continue;
        }
        // Several alternatives: only a choice of constants (an enum) is understood.
        let mut members = BTreeSet::new();
        let mut types = BTreeSet::new();
        for branch in rest {
            let b = view(branch, root);
            match (b.members, b.properties, b.items) {
                (Some(m), None, None) if b.unsupported.is_empty() => {
                    members.extend(m);
                    types.extend(b.types.unwrap_or_default());
                }
                _ => {
                    v.unsupported
                        .push(format!("`{keyword}` of non-constant alternatives"));
                    return;
                }
            }
        }
        v.members.get_or_insert_with(BTreeSet::new).extend(members);
        if !types.is_empty() {
            v.types.get_or_insert_with(BTreeSet::new).extend(types);
        }
    }
    match map.get("type") {
        Some(Value::String(t)) if t != "null" => {
            v.types.get_or_insert_with(BTreeSet::new).insert(t.clone());
        }
        Some(Value::Array(ts)) => {
            let ts: BTreeSet<String> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(str::to_owned)
                .collect();
            v.types.get_or_insert_with(BTreeSet::new).extend(ts);
        }
        _ => {}
    }
    if let Some(members) = map.get("enum").and_then(Value::as_array) {
        v.members
            .get_or_insert_with(BTreeSet::new)
            .extend(members.iter().filter(|m| !m.is_null()).map(member));
    }
    if let Some(constant) = map.get("const").filter(|c| !c.is_null()) {
        v.members
            .get_or_insert_with(BTreeSet::new)
            .insert(member(constant));
    }
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        v.properties = Some(properties);
    }
    if let Some(required) = map.get("required").and_then(Value::as_array) {
        v.required
            .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        v.closed = true;
    }
    if let Some(n) = map.get("maxLength").and_then(Value::as_u64) {
        v.max_length = Some(n);
    }
    match map.get("items") {
        Some(items @ Value::Object(_)) | Some(items @ Value::Bool(_)) => v.items = Some(items),
        Some(other) => v.unsupported.push(format!("`items` {other}")),
        None => {}
    }
}

// ---------------------------------------------------------------------------
// The comparison.

/// Where we are and what we found.
struct Compare<'a> {
    /// The official schema file.
    official_root: &'a Value,
    /// The derived schema.
    ours_root: &'a Value,
    /// Whether the 1.6 `Celsius` alias allowance applies.
    v16: bool,
    /// Differences, as `path: what`.
    mismatches: Vec<String>,
    /// Allowed differences, as `path: what`.
    allowed: Vec<String>,
    /// `(official $ref, our $ref)` pairs on the current descent, against cycles.
    stack: Vec<(Option<String>, Option<String>)>,
    /// Schema nodes compared.
    nodes: usize,
}

/// What comparing one official schema with one derived schema found.
struct Outcome {
    /// Differences, as `path: what`.
    mismatches: Vec<String>,
    /// Allowed differences, as `path: what`.
    allowed: Vec<String>,
    /// Schema nodes compared.
    nodes: usize,
}

/// Compares `official` with `ours`; `v16` enables the 1.6 `Celsius` allowance.
fn compare(official: &Value, ours: &Value, v16: bool) -> Outcome {
    let mut cmp = Compare {
        official_root: official,
        ours_root: ours,
        v16,
        mismatches: Vec::new(),
        allowed: Vec::new(),
        stack: Vec::new(),
        nodes: 0,
    };
    cmp.node(official, ours, "");
    Outcome {
        mismatches: cmp.mismatches,
        allowed: cmp.allowed,
        nodes: cmp.nodes,
    }
}

/// A set for messages.
fn list(set: &BTreeSet<String>) -> String {
    let items: Vec<&str> = set.iter().map(String::as_str).collect();
    format!("[{}]", items.join(", "))
}

/// `path` for messages.
fn shown(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

impl<'a> Compare<'a> {
    fn mismatch(&mut self, path: &str, what: String) {
        self.mismatches.push(format!("{}: {what}", shown(path)));
    }

    fn node(&mut self, official: &'a Value, ours: &'a Value, path: &str) {
        self.nodes += 1;
        let o = view(official, self.official_root);
        let u = view(ours, self.ours_root);
        for what in &o.unsupported {
            self.mismatch(path, format!("official schema: unsupported {what}"));
        }
        for what in &u.unsupported {
            self.mismatch(path, format!("derived schema: unsupported {what}"));
        }
        let key = (o.def.clone(), u.def.clone());
        if (key.0.is_some() || key.1.is_some()) && self.stack.contains(&key) {
            return;
        }

        if o.types != u.types {
            let show = |t: &Option<BTreeSet<String>>| t.as_ref().map_or("any".to_owned(), list);
            self.mismatch(
                path,
                format!("type: official {}, ours {}", show(&o.types), show(&u.types)),
            );
        }

        if o.max_length != u.max_length {
            let show = |n: Option<u64>| n.map_or("none".to_owned(), |n| n.to_string());
            self.mismatch(
                path,
                format!(
                    "maxLength: official {}, ours {}",
                    show(o.max_length),
                    show(u.max_length)
                ),
            );
        }

        match (&o.members, &u.members) {
            (None, None) => {}
            (Some(om), Some(um)) if om == um => {}
            (Some(om), Some(um)) => {
                let missing: BTreeSet<String> = om.difference(um).cloned().collect();
                let extra: BTreeSet<String> = um.difference(om).cloned().collect();
                let celsius_alias = self.v16
                    && extra.is_empty()
                    && missing.len() == 1
                    && missing.contains("Celsius")
                    && um.contains("Celcius");
                if celsius_alias {
                    self.allowed.push(format!(
                        "{}: enum {} lacks `Celsius` (1.6 UnitOfMeasure: written `Celcius`, `Celsius` accepted as an alias)",
                        shown(path),
                        u.def.as_deref().unwrap_or("(inline)")
                    ));
                } else {
                    self.mismatch(
                        path,
                        format!(
                            "enum members: missing from ours {}, extra in ours {}",
                            list(&missing),
                            list(&extra)
                        ),
                    );
                }
            }
            (Some(om), None) => {
                self.mismatch(
                    path,
                    format!("enum: official {}, ours not an enum", list(om)),
                );
            }
            (None, Some(um)) => {
                self.mismatch(
                    path,
                    format!("enum: official not an enum, ours {}", list(um)),
                );
            }
        }

        if o.properties.is_some() || u.properties.is_some() {
            let names = |p: Option<&Map<String, Value>>| -> BTreeSet<String> {
                p.map(|p| p.keys().cloned().collect()).unwrap_or_default()
            };
            let on = names(o.properties);
            let un = names(u.properties);
            if on != un {
                self.mismatch(
                    path,
                    format!(
                        "properties: missing from ours {}, extra in ours {}",
                        list(&on.difference(&un).cloned().collect()),
                        list(&un.difference(&on).cloned().collect())
                    ),
                );
            }
            if o.required != u.required {
                self.mismatch(
                    path,
                    format!(
                        "required: official {}, ours {}",
                        list(&o.required),
                        list(&u.required)
                    ),
                );
            }
            if o.closed != u.closed {
                let show = |closed: bool| if closed { "closed" } else { "open" };
                self.mismatch(
                    path,
                    format!(
                        "additionalProperties: official {}, ours {}",
                        show(o.closed),
                        show(u.closed)
                    ),
                );
            }
            self.stack.push(key.clone());
            let (op, up) = (o.properties.into_iter().flatten(), u.properties);
            for (name, official_member) in op {
                if let Some(our_member) = up.and_then(|up| up.get(name)) {
                    let child = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    self.node(official_member, our_member, &child);
                }
            }
            self.stack.pop();
        }

        match (o.items, u.items) {
            (None, None) => {}
            (Some(oi), Some(ui)) => {
                self.stack.push(key);
                self.node(oi, ui, &format!("{path}[]"));
                self.stack.pop();
            }
            (Some(_), None) => self.mismatch(path, "items: official has, ours has none".into()),
            (None, Some(_)) => self.mismatch(path, "items: official has none, ours has".into()),
        }
    }
}

#[test]
fn derived_schemas_match_the_official_schemas() {
    let dir = schema_dir();

    let mut files: BTreeSet<String> = BTreeSet::new();
    for folder in ["v16", "v16-security", "v201", "v21"] {
        for entry in std::fs::read_dir(dir.join(folder)).expect("a schema folder") {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".json") {
                files.insert(format!("{folder}/{name}"));
            }
        }
    }

    let mut failures: Vec<String> = Vec::new();
    let mut allowed: Vec<String> = Vec::new();
    let mut per_folder: BTreeMap<&str, usize> = BTreeMap::new();
    let mut compared = 0;
    let mut nodes = 0;
    for d in derived(&dir) {
        let rel = format!("{}/{}", d.folder, d.file);
        if !files.remove(&rel) {
            failures.push(format!("{rel} ({}): no such official file", d.what));
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&rel)).expect("a readable schema file");
        let official: Value = serde_json::from_str(&text).expect("a JSON schema file");
        let outcome = compare(&official, &d.schema, d.folder.starts_with("v16"));
        compared += 1;
        nodes += outcome.nodes;
        *per_folder.entry(d.folder).or_default() += 1;
        failures.extend(
            outcome
                .mismatches
                .into_iter()
                .map(|m| format!("{rel} ({}) {m}", d.what)),
        );
        allowed.extend(outcome.allowed.into_iter().map(|m| format!("{rel} {m}")));
    }
    for rel in files {
        failures.push(format!("{rel}: no action's schema corresponds to it"));
    }

    let mut summary = format!("compared {compared} derived schemas with the official files (");
    for (i, (folder, n)) in per_folder.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(summary, "{sep}{folder}: {n}");
    }
    let _ = write!(
        summary,
        "); {nodes} schema nodes; {} allowed difference(s)",
        allowed.len()
    );
    println!("{summary}");
    for a in &allowed {
        println!("  allowed: {a}");
    }

    assert!(
        failures.is_empty(),
        "{} mismatch(es) between derived and official schemas:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert_eq!(compared, EXPECTED_FILES, "{summary}");
}

/// The verified copy of the official schemas.
fn schema_dir() -> std::path::PathBuf {
    ocpp_codegen::schemas::locate().expect("the official OCA schemas")
}

/// The comparison itself finds each kind of difference, at the right path,
/// when a derived schema is altered.
#[test]
fn comparison_detects_differences() {
    let dir = schema_dir();
    let read = |rel: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(rel)).expect("a readable schema file");
        serde_json::from_str(&text).expect("a JSON schema file")
    };
    let official = read("v201/TransactionEventRequest.json");
    let ours = v201::Action::TransactionEvent.request_schema().to_value();
    let clean = compare(&official, &ours, false);
    assert!(clean.mismatches.is_empty(), "{:?}", clean.mismatches);

    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 8] = [
        (
            "a nested member removed",
            |s| {
                s.pointer_mut("/$defs/SampledValue/properties")
                    .and_then(Value::as_object_mut)
                    .expect("SampledValue members")
                    .remove("phase")
                    .expect("phase");
            },
            "meterValue[].sampledValue[]: properties: missing from ours [phase]",
        ),
        (
            "a nested maxLength changed",
            |s| {
                *s.pointer_mut("/$defs/IdToken/properties/idToken/maxLength")
                    .expect("maxLength") = 20.into()
            },
            "idToken.idToken: maxLength: official 36, ours 20",
        ),
        (
            "a nested maxLength removed",
            |s| {
                s.pointer_mut("/$defs/IdToken/properties/idToken")
                    .and_then(Value::as_object_mut)
                    .expect("idToken")
                    .remove("maxLength");
            },
            "idToken.idToken: maxLength: official 36, ours none",
        ),
        (
            "an enum member removed",
            |s| {
                let branches = s
                    .pointer_mut("/$defs/TransactionEventEnum/oneOf")
                    .and_then(Value::as_array_mut)
                    .expect("TransactionEventEnum");
                branches.retain(|b| b["const"] != "Updated");
            },
            "eventType: enum members: missing from ours [Updated], extra in ours []",
        ),
        (
            "a required member made optional",
            |s| {
                s["required"]
                    .as_array_mut()
                    .expect("required")
                    .retain(|r| r != "seqNo");
            },
            "(root): required: official [eventType, seqNo, timestamp, transactionInfo, triggerReason], ours [eventType, timestamp, transactionInfo, triggerReason]",
        ),
        (
            "a closed object opened",
            |s| s["$defs"]["EVSE"]["additionalProperties"] = true.into(),
            "evse: additionalProperties: official closed, ours open",
        ),
        (
            "a type changed",
            |s| s["$defs"]["EVSE"]["properties"]["id"]["type"] = "number".into(),
            "evse.id: type: official [integer], ours [number]",
        ),
        (
            "a nested enum member removed",
            |s| {
                s["$defs"]["MeasurandEnum"]["oneOf"]
                    .as_array_mut()
                    .expect("MeasurandEnum")
                    .retain(|b| b["const"] != "Voltage");
            },
            "meterValue[].sampledValue[].measurand: enum members: missing from ours [Voltage]",
        ),
    ];
    for (what, edit, expected) in cases {
        let mut altered = ours.clone();
        edit(&mut altered);
        let outcome = compare(&official, &altered, false);
        assert!(
            outcome.mismatches.iter().any(|m| m.starts_with(expected)),
            "{what}: expected a mismatch starting with {expected:?}, got {:?}",
            outcome.mismatches
        );
    }

    // The 1.6 allowance is exactly "lacks `Celsius`, has `Celcius`".
    let official = read("v16/MeterValues.json");
    let ours = v16::Action::MeterValues.request_schema().to_value();
    let clean = compare(&official, &ours, true);
    assert!(clean.mismatches.is_empty(), "{:?}", clean.mismatches);
    let mut altered = ours.clone();
    altered["$defs"]["UnitOfMeasure"]["oneOf"]
        .as_array_mut()
        .expect("UnitOfMeasure")
        .retain(|b| b["const"] != "Celcius");
    let outcome = compare(&official, &altered, true);
    assert!(
        outcome.mismatches.iter().any(|m| m.starts_with(
            "meterValue[].sampledValue[].unit: enum members: missing from ours [Celcius"
        )),
        "{:?}",
        outcome.mismatches
    );
}
