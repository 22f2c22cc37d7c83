//! Conformance of the generated types with the official OCA JSON schemas,
//! checked against the independent `jsonschema` validator.
//!
//! * Every one of the 387 schema files: a minimal and a full instance, built
//!   from the schema alone, are accepted by the schema and by us, and we
//!   write back exactly what we read.
//! * Every enum member of every enum field round-trips.
//! * Every constraint the schemas express, broken at every place it applies,
//!   is rejected by the schema and by us, with the same path and kind.
//!
//! Run with `--nocapture` to see the per-version tables.

#![cfg(all(feature = "v16", feature = "v201", feature = "v21"))]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ocpp_types::{
    Actual, Constraint, DecodeError, DecodeErrorKind, Validate, Violation, Violations, v16, v21,
    v201,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

use support::instance::{Builder, Mode, enum_members};
use support::json_path::{dotted_member, pointer_to_dotted};
use support::mutation::{Case, Kind, Mutation, Site, cases, kinds_expressed, sites};
use support::{Direction, Folder, SchemaFile, files_in, schema_files};

// ---------------------------------------------------------------------------
// Our side: decode by action name, validate, re-encode.

/// What `ocpp_types` made of a payload that decodes.
struct Decoded {
    /// The action the decoded message says it belongs to.
    action: &'static str,
    /// The message written back.
    value: Value,
    /// The message's constraint check.
    validation: Result<(), Violations>,
}

impl Decoded {
    fn of<T: Serialize + Validate>(message: &T, action: &'static str) -> Self {
        Decoded {
            action,
            value: serde_json::to_value(message).expect("a decoded message encodes"),
            validation: message.validate(),
        }
    }
}

/// Decodes `payload` as the message `file` describes, through the version
/// module's dynamic `decode_request` / `decode_response`.
fn decode(file: &SchemaFile, payload: &str) -> Result<Decoded, DecodeError> {
    macro_rules! via {
        ($version:ident) => {
            match file.direction {
                Direction::Request => $version::decode_request(&file.action, payload)
                    .map(|m| Decoded::of(&m, m.action().as_str())),
                Direction::Response => $version::decode_response(&file.action, payload)
                    .map(|m| Decoded::of(&m, m.action().as_str())),
            }
        };
    }
    match file.folder {
        Folder::V16 | Folder::V16Security => via!(v16),
        Folder::V201 => via!(v201),
        Folder::V21 => via!(v21),
    }
}

/// Checks that `instance`, valid by the schema, decodes, validates, keeps
/// its action and is written back unchanged, in a form the schema accepts.
fn round_trip(file: &SchemaFile, instance: &Value, what: &str) -> Result<(), String> {
    file.assert_accepts(instance, what);
    let payload = instance.to_string();
    let decoded = decode(file, &payload).map_err(|e| format!("{what}: decode fails: {e}"))?;
    if decoded.action != file.action {
        return Err(format!("{what}: decoded as action {}", decoded.action));
    }
    if let Err(violations) = decoded.validation {
        return Err(format!("{what}: validate fails: {violations}"));
    }
    if decoded.value != *instance {
        let (sent, written) = first_difference(instance, &decoded.value);
        return Err(format!(
            "{what}: written back differently: sent {sent}, written {written}"
        ));
    }
    let complaints = file.complaints(&decoded.value);
    if !complaints.is_empty() {
        return Err(format!(
            "{what}: the schema rejects what we write: {complaints:?}"
        ));
    }
    Ok(())
}

/// The first place where two values differ, as (`path: left`, `path: right`),
/// so that a failure names the member instead of dumping megabytes.
fn first_difference(left: &Value, right: &Value) -> (String, String) {
    fn walk(path: String, l: &Value, r: &Value) -> Option<(String, String)> {
        match (l, r) {
            (Value::Object(a), Value::Object(b)) => {
                for key in a.keys().chain(b.keys()) {
                    let p = dotted_member(&path, key);
                    match (a.get(key), b.get(key)) {
                        (Some(x), Some(y)) => {
                            if let Some(d) = walk(p, x, y) {
                                return Some(d);
                            }
                        }
                        (x, y) => return Some((format!("{p}: {x:?}"), format!("{p}: {y:?}"))),
                    }
                }
                None
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| walk(format!("{path}[{i}]"), x, y)),
            _ if l == r => None,
            _ => Some((format!("{path}: {l}"), format!("{path}: {r}"))),
        }
    }
    walk(String::new(), left, right).unwrap_or_default()
}

/// Panics listing (at most 40 of) `failures`; all of them go to the
/// captured output.
fn assert_no_failures(what: &str, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    for failure in failures {
        println!("FAILED {failure}");
    }
    let mut text = format!("{} {what} failed:\n", failures.len());
    for failure in failures.iter().take(40) {
        let _ = writeln!(text, "  {failure}");
    }
    if failures.len() > 40 {
        let _ = writeln!(text, "  ... and {} more", failures.len() - 40);
    }
    panic!("{text}");
}

// ---------------------------------------------------------------------------
// Every file, valid instances.

#[test]
fn every_schema_file_round_trips_a_minimal_and_a_full_instance() {
    let mut builder = Builder::new();
    let mut failures = Vec::new();
    let mut per_folder: BTreeMap<Folder, usize> = BTreeMap::new();
    for file in schema_files() {
        for mode in [Mode::Minimal, Mode::Full] {
            let instance = builder.message(&file.schema, mode);
            let what = format!("{mode:?}");
            if let Err(e) = round_trip(file, &instance, &what) {
                failures.push(format!("{}: {e}", file.rel));
            }
        }
        *per_folder.entry(file.folder).or_default() += 1;
    }
    let (enums, members, used) = builder.enum_coverage();
    println!("files exercised: {per_folder:?}");
    println!("enum members used by these instances: {used} of {members} ({enums} distinct enums)");
    assert_no_failures("round trips", &failures);
    assert_eq!(
        per_folder.values().sum::<usize>(),
        387,
        "every schema file is exercised"
    );
    assert_eq!(
        per_folder.into_iter().collect::<Vec<_>>(),
        [
            (Folder::V16, 56),
            (Folder::V16Security, 22),
            (Folder::V201, 128),
            (Folder::V21, 181)
        ]
    );
}

#[test]
fn every_enum_member_round_trips_at_every_enum_field() {
    let mut builder = Builder::new();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut swept = BTreeSet::new();
    for file in schema_files() {
        let base = builder.message(&file.schema, Mode::Compact);
        for Site { at, node, .. } in sites(&file.schema, &base) {
            let Some(members) = enum_members(node) else {
                continue;
            };
            swept.insert(members.clone());
            for member in members {
                // Read but never written: see `celsius_and_celcius_both_decode`.
                if member == "Celsius" {
                    continue;
                }
                let mut instance = base.clone();
                *at.get_mut(&mut instance) = json!(member);
                let what = format!("`{}` = {member:?}", at.dotted());
                if let Err(e) = round_trip(file, &instance, &what) {
                    failures.push(format!("{}: {e}", file.rel));
                }
                count += 1;
            }
        }
    }
    println!(
        "enum member round trips: {count} ({} distinct enums)",
        swept.len()
    );
    assert_no_failures("enum member round trips", &failures);
    // Every enum any schema declares was swept.
    let mut declared = BTreeSet::new();
    for file in schema_files() {
        all_enums(&file.schema, &mut declared);
    }
    assert_eq!(swept, declared);
}

/// Every `enum` member list anywhere in `schema`.
fn all_enums<'s>(schema: &'s Value, out: &mut BTreeSet<Vec<&'s str>>) {
    match schema {
        Value::Object(members) => {
            for (key, value) in members {
                match (key.as_str(), value) {
                    ("enum", Value::Array(list)) => {
                        out.insert(list.iter().filter_map(Value::as_str).collect());
                    }
                    _ => all_enums(value, out),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| all_enums(v, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// The rejection matrix.

/// What we must answer to a case.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    /// Decoding fails with this kind.
    Decode(DecodeErrorKind),
    /// Decoding succeeds and `validate` reports exactly this constraint.
    Violation(Constraint),
}

fn expected(mutation: &Mutation) -> Expected {
    match *mutation {
        Mutation::TooLong { max } => Expected::Violation(Constraint::MaxLength { max }),
        Mutation::BelowMinimum { min } => Expected::Violation(Constraint::Minimum { min }),
        Mutation::AboveMaximum { max } => Expected::Violation(Constraint::Maximum { max }),
        Mutation::NotMultiple { factor } => Expected::Violation(Constraint::MultipleOf { factor }),
        Mutation::EmptyArray { min } => Expected::Violation(Constraint::MinItems { min }),
        Mutation::TooManyItems { max } => Expected::Violation(Constraint::MaxItems { max }),
        Mutation::UnknownEnumMember => Expected::Decode(DecodeErrorKind::UnknownEnumMember),
        Mutation::MissingField { .. } => Expected::Decode(DecodeErrorKind::MissingField),
        Mutation::WrongType => Expected::Decode(DecodeErrorKind::WrongType),
        Mutation::UnknownField { .. } => Expected::Decode(DecodeErrorKind::UnknownField),
        Mutation::NoOffset => Expected::Decode(DecodeErrorKind::TimestampWithoutOffset),
    }
}

/// A violation's fields (the type cannot be built outside its crate).
fn parts(v: &Violation) -> (&str, Constraint, Actual) {
    (v.path.as_str(), v.constraint, v.actual)
}

/// The value a violation must report as found: the length of a string or
/// array, or the number itself.
fn actual_of(value: &Value) -> Actual {
    match value {
        Value::String(s) => Actual::Count(s.chars().count()),
        Value::Array(a) => Actual::Count(a.len()),
        Value::Number(n) => Actual::Number(
            n.to_string()
                .parse::<Decimal>()
                .unwrap_or_else(|e| panic!("{n}: {e}")),
        ),
        other => panic!("no count or number: {other}"),
    }
}

/// Checks one case on both sides; the error says what differs.
fn check_case(file: &SchemaFile, case: &Case) -> Result<(), String> {
    let kind = case.mutation.kind();
    let pointer = case.at.pointer();

    // The official schema rejects the case, only there and with the keyword.
    let complaints = file.complaints(&case.instance);
    let Some(complaint) = complaints.iter().find(|c| c.keyword == kind.keyword()) else {
        return Err(format!(
            "the schema does not complain with `{}`: {complaints:?}",
            kind.keyword()
        ));
    };
    if let Some(other) = complaints.iter().find(|c| c.pointer != pointer) {
        return Err(format!("the schema complains elsewhere too: {other}"));
    }
    if let (Some(theirs), Some(ours)) = (&complaint.member, case.mutation.member())
        && theirs != ours
    {
        return Err(format!("the schema names member `{theirs}`"));
    }

    // Our path is the schema's instance path in dotted form, extended by
    // the member for missing and unknown members.
    let mut path = pointer_to_dotted(&complaint.pointer);
    if let Some(member) = case.mutation.member() {
        path = dotted_member(&path, member);
    }
    assert_eq!(
        pointer_to_dotted(&pointer),
        case.at.dotted(),
        "pointer conversion"
    );

    let payload = case.instance.to_string();
    match (expected(&case.mutation), decode(file, &payload)) {
        (Expected::Decode(want), Err(e)) => {
            if e.kind != want || e.path != path {
                return Err(format!(
                    "want {want:?} at `{path}`, got {:?} at `{}` ({e})",
                    e.kind, e.path
                ));
            }
        }
        (Expected::Decode(want), Ok(_)) => {
            return Err(format!("want {want:?} at `{path}`, but it decodes"));
        }
        (Expected::Violation(want), Err(e)) => {
            return Err(format!(
                "want {want:?} at `{path}`, but decoding fails: {e}"
            ));
        }
        (Expected::Violation(want), Ok(decoded)) => {
            let want = (path.as_str(), want, actual_of(case.at.get(&case.instance)));
            match &decoded.validation {
                Err(found) if found.iter().map(parts).eq([want]) => {}
                Err(found) => return Err(format!("want {want:?}, got `{found}`")),
                Ok(()) => return Err(format!("want {want:?}, but it validates")),
            }
            // A tolerant receiver must see exactly what was sent, except
            // that an empty optional array is left out when written (`[]`
            // is invalid there, absence is not).
            let mut sent = case.instance.clone();
            if matches!(case.mutation, Mutation::EmptyArray { .. }) && case.optional {
                case.at.remove(&mut sent);
            }
            if decoded.value != sent {
                let (sent, written) = first_difference(&sent, &decoded.value);
                return Err(format!(
                    "written back differently: sent {sent}, written {written}"
                ));
            }
        }
    }
    Ok(())
}

/// Runs every case of every file of `folder`, prints the table and checks
/// that exactly the kinds in `expressible` have cases, all passing.
fn rejection_matrix(folder: Folder, expressible: &[Kind]) {
    let mut builder = Builder::new();
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for file in files_in(folder) {
        let base = builder.message(&file.schema, Mode::Compact);
        file.assert_accepts(&base, "compact");
        for case in cases(&file.schema, &base, &mut builder) {
            *counts.entry(case.mutation.kind()).or_default() += 1;
            if let Err(e) = check_case(file, &case) {
                failures.push(format!(
                    "{}: {} at `{}`: {e}",
                    file.rel,
                    case.mutation.kind(),
                    case.at.dotted()
                ));
            }
        }
    }

    let mut table = format!("rejection cases for {folder}:\n");
    for kind in Kind::ALL {
        let _ = writeln!(
            table,
            "  {:<22} {:>6}",
            kind.to_string(),
            counts.get(&kind).unwrap_or(&0)
        );
    }
    let _ = writeln!(
        table,
        "  {:<22} {:>6}",
        "total",
        counts.values().sum::<usize>()
    );
    println!("{table}");

    // The kinds expected here are those the folder's schemas express, and
    // each of them has cases.
    let mut expressed = BTreeSet::new();
    for file in files_in(folder) {
        kinds_expressed(&file.schema, &mut expressed);
    }
    let expressed: Vec<Kind> = expressed.into_iter().collect();
    assert_eq!(expressed, expressible, "kinds the {folder} schemas express");
    let found: Vec<Kind> = counts.keys().copied().collect();
    assert_eq!(found, expressible, "kinds with cases in {folder}");
    assert_no_failures(&format!("{folder} rejection cases"), &failures);
}

#[test]
fn rejection_matrix_v16() {
    use Kind::*;
    // 1.6 core: no bounds on numbers or arrays; the only `multipleOf`s.
    rejection_matrix(
        Folder::V16,
        &[
            MaxLength,
            MultipleOf,
            Enum,
            Required,
            Type,
            AdditionalProperties,
            DateTime,
        ],
    );
}

#[test]
fn rejection_matrix_v16_security() {
    use Kind::*;
    rejection_matrix(
        Folder::V16Security,
        &[
            MaxLength,
            Enum,
            Required,
            Type,
            AdditionalProperties,
            MinItems,
            DateTime,
        ],
    );
}

#[test]
fn rejection_matrix_v201() {
    use Kind::*;
    rejection_matrix(
        Folder::V201,
        &[
            MaxLength,
            Minimum,
            Maximum,
            Enum,
            Required,
            Type,
            AdditionalProperties,
            MinItems,
            MaxItems,
            DateTime,
        ],
    );
}

#[test]
fn rejection_matrix_v21() {
    use Kind::*;
    rejection_matrix(
        Folder::V21,
        &[
            MaxLength,
            Minimum,
            Maximum,
            Enum,
            Required,
            Type,
            AdditionalProperties,
            MinItems,
            MaxItems,
            DateTime,
        ],
    );
}

// ---------------------------------------------------------------------------
// Actions.

/// The actions of the schema files of `folders`, sorted.
fn schema_actions(folders: &[Folder]) -> Vec<String> {
    let mut actions: Vec<String> = schema_files()
        .iter()
        .filter(|f| folders.contains(&f.folder))
        .map(|f| f.action.clone())
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

#[test]
fn actions_are_exactly_the_schema_files() {
    macro_rules! check {
        ($version:ident, $folders:expr, $count:expr) => {{
            let mut ours: Vec<String> = $version::Action::iter()
                .map(|a| {
                    assert_eq!(a.to_string(), a.as_str());
                    assert_eq!(a.as_str().parse::<$version::Action>().ok(), Some(a));
                    a.as_str().to_owned()
                })
                .collect();
            ours.sort();
            assert_eq!(ours, schema_actions(&$folders), stringify!($version));
            assert_eq!(ours.len(), $count, stringify!($version));
            let e = $version::decode_request("NoSuchAction", "{}").expect_err("unknown action");
            assert_eq!(e.kind, DecodeErrorKind::UnknownAction);
        }};
    }
    check!(v16, [Folder::V16, Folder::V16Security], 39);
    check!(v201, [Folder::V201], 64);
    check!(v21, [Folder::V21], 91);
}

#[test]
fn the_send_message_has_no_response() {
    let e =
        v21::decode_response("NotifyPeriodicEventStream", "{}").expect_err("no response payload");
    assert_eq!(e.kind, DecodeErrorKind::UnknownAction);
    // The request side knows it: `{}` lacks its members.
    let e = v21::decode_request("NotifyPeriodicEventStream", "{}").expect_err("members missing");
    assert_eq!(e.kind, DecodeErrorKind::MissingField);
}

// ---------------------------------------------------------------------------
// Named examples.

/// The schema file at `rel`, e.g. `v201/BootNotificationRequest.json`.
fn schema(rel: &str) -> &'static SchemaFile {
    schema_files()
        .iter()
        .find(|f| f.rel == rel)
        .unwrap_or_else(|| panic!("no schema file {rel}"))
}

fn boot_notification(serial_number: &str) -> Value {
    json!({
        "reason": "PowerUp",
        "chargingStation": {"model": "M1", "vendorName": "ACME", "serialNumber": serial_number}
    })
}

#[test]
fn an_over_long_serial_number_decodes_and_fails_validation() {
    let file = schema("v201/BootNotificationRequest.json");
    let instance = boot_notification(&"S".repeat(26));
    assert!(
        !file.complaints(&instance).is_empty(),
        "the schema rejects it"
    );

    let request = v201::decode_request("BootNotification", &instance.to_string())
        .expect("an over-long string still decodes");
    let violations = request.validate().expect_err("but does not validate");
    assert_eq!(
        violations.to_string(),
        "chargingStation.serialNumber: 26 chars, max 25"
    );
    assert_eq!(
        violations.iter().map(parts).collect::<Vec<_>>(),
        [(
            "chargingStation.serialNumber",
            Constraint::MaxLength { max: 25 },
            Actual::Count(26)
        )]
    );
}

#[test]
fn max_length_counts_characters_not_bytes() {
    let file = schema("v201/BootNotificationRequest.json");
    for (len, valid) in [(25, true), (26, false)] {
        let instance = boot_notification(&"é".repeat(len));
        assert_eq!(
            file.complaints(&instance).is_empty(),
            valid,
            "schema, {len}"
        );
        let request = v201::decode_request("BootNotification", &instance.to_string()).unwrap();
        assert_eq!(request.validate().is_ok(), valid, "ours, {len}");
    }
}

fn set_charging_profile(limit: f64) -> Value {
    json!({
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 7,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]
            }
        }
    })
}

#[test]
fn multiple_of_a_tenth_is_exact() {
    let file = schema("v16/SetChargingProfile.json");

    let good = set_charging_profile(32.1);
    assert!(file.complaints(&good).is_empty());
    let request = v16::decode_request("SetChargingProfile", &good.to_string()).unwrap();
    request.validate().expect("32.1 is a multiple of 0.1");
    assert_eq!(serde_json::to_value(&request).unwrap(), good);

    let bad = set_charging_profile(32.15);
    assert!(!file.complaints(&bad).is_empty());
    let request = v16::decode_request("SetChargingProfile", &bad.to_string()).unwrap();
    let violations = request.validate().expect_err("32.15 is not");
    assert_eq!(
        violations.iter().map(parts).collect::<Vec<_>>(),
        [(
            "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit",
            Constraint::MultipleOf {
                factor: Decimal::new(1, 1)
            },
            Actual::Number(Decimal::new(3215, 2))
        )]
    );
    assert_eq!(
        violations.to_string(),
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit: 32.15, not a multiple of 0.1"
    );
}

#[test]
fn custom_data_keeps_vendor_members() {
    let file = schema("v201/BootNotificationRequest.json");
    let instance = json!({
        "customData": {"vendorId": "com.example", "fleet": {"id": 7, "tags": ["a", "b"]}, "ratio": 0.25},
        "reason": "PowerUp",
        "chargingStation": {
            "customData": {"vendorId": "com.example", "enabled": true, "note": null},
            "model": "M1",
            "vendorName": "ACME"
        }
    });
    assert!(file.complaints(&instance).is_empty());
    let request = v201::decode_request("BootNotification", &instance.to_string()).unwrap();
    request.validate().unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap(), instance);
}

#[test]
fn celsius_and_celcius_both_decode() {
    let sampled = |unit: &str| json!([{"value": "21.5", "unit": unit}]);
    let cases = [
        (
            "MeterValues",
            json!({"connectorId": 1, "meterValue": [{"timestamp": "2025-01-02T03:04:05Z", "sampledValue": sampled("Celsius")}]}),
            "/meterValue/0/sampledValue/0/unit",
        ),
        (
            "StopTransaction",
            json!({
                "meterStop": 100, "timestamp": "2025-01-02T03:04:05Z", "transactionId": 5,
                "transactionData": [{"timestamp": "2025-01-02T03:04:05Z", "sampledValue": sampled("Celsius")}]
            }),
            "/transactionData/0/sampledValue/0/unit",
        ),
    ];
    for (action, with_celsius, unit) in cases {
        let file = schema(&format!("v16/{action}.json"));
        let mut with_celcius = with_celsius.clone();
        *with_celcius.pointer_mut(unit).unwrap() = json!("Celcius");
        for instance in [&with_celsius, &with_celcius] {
            assert!(file.complaints(instance).is_empty(), "{action}: {instance}");
            let request = v16::decode_request(action, &instance.to_string()).unwrap();
            request.validate().unwrap();
            assert_eq!(
                serde_json::to_value(&request).unwrap(),
                with_celcius,
                "{action} writes Celcius"
            );
        }
    }
}
