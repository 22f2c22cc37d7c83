//! Typed decode + validation (`vXX::decode_request` then `Validate::validate`) against an untyped `serde_json::Value` parse of the same real-looking payloads; run with `cargo bench -p ocpp-types --bench decode` and see `BENCHMARKS.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use ocpp_types::{Validate, v16, v201};
use serde_json::{Value, json};

/// The version module a payload belongs to.
#[derive(Clone, Copy)]
enum Version {
    V16,
    V201,
}

/// One benchmarked payload.
struct Frame {
    /// The criterion group name.
    group: &'static str,
    version: Version,
    action: &'static str,
    /// The official schema file, relative to the schema directory.
    schema: &'static str,
    /// The CALL payload, compact JSON.
    payload: String,
}

/// Typed path: decode by action name, then check every constraint.
fn typed(version: Version, action: &str, payload: &str) {
    match version {
        Version::V16 => {
            let request = v16::decode_request(action, payload).expect("decodes");
            request.validate().expect("valid");
            black_box(request);
        }
        Version::V201 => {
            let request = v201::decode_request(action, payload).expect("decodes");
            request.validate().expect("valid");
            black_box(request);
        }
    }
}

/// Untyped path: parse into a `serde_json::Value`, nothing checked.
fn untyped(payload: &str) -> Value {
    serde_json::from_str::<Value>(payload).expect("parses")
}

fn v16_status_notification() -> Value {
    json!({
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging",
        "timestamp": "2024-05-14T09:21:07.412Z",
        "info": "Charging started by local authorization",
        "vendorId": "com.acme.charger",
        "vendorErrorCode": "0x0000"
    })
}

/// 1.6 sampled values, as a three-phase AC charger with an EV reporting SoC sends them.
fn v16_sampled_values(n: usize) -> Vec<Value> {
    let all = [
        json!({"value": "15234.7", "context": "Sample.Periodic", "format": "Raw", "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "Wh"}),
        json!({"value": "7210", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "location": "Outlet", "unit": "W"}),
        json!({"value": "2405", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "phase": "L1", "unit": "W"}),
        json!({"value": "2398", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "phase": "L2", "unit": "W"}),
        json!({"value": "2407", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "phase": "L3", "unit": "W"}),
        json!({"value": "10.45", "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1", "unit": "A"}),
        json!({"value": "10.41", "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L2", "unit": "A"}),
        json!({"value": "10.47", "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L3", "unit": "A"}),
        json!({"value": "0.02", "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "N", "unit": "A"}),
        json!({"value": "230.1", "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N", "unit": "V"}),
        json!({"value": "229.8", "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L2-N", "unit": "V"}),
        json!({"value": "230.4", "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L3-N", "unit": "V"}),
        json!({"value": "16", "context": "Sample.Periodic", "measurand": "Current.Offered", "unit": "A"}),
        json!({"value": "11040", "context": "Sample.Periodic", "measurand": "Power.Offered", "unit": "W"}),
        json!({"value": "0.99", "context": "Sample.Periodic", "measurand": "Power.Factor"}),
        json!({"value": "50.01", "context": "Sample.Periodic", "measurand": "Frequency"}),
        json!({"value": "38.5", "context": "Sample.Periodic", "measurand": "Temperature", "location": "Body", "unit": "Celsius"}),
        json!({"value": "61", "context": "Sample.Periodic", "measurand": "SoC", "location": "EV", "unit": "Percent"}),
        json!({"value": "112.3", "context": "Sample.Periodic", "measurand": "Energy.Reactive.Import.Register", "unit": "varh"}),
        json!({"value": "15.2", "context": "Sample.Periodic", "format": "Raw", "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unit": "kWh"}),
    ];
    assert!(n <= all.len());
    all.into_iter().take(n).collect()
}

fn v16_meter_values(n: usize) -> Value {
    json!({
        "connectorId": 1,
        "transactionId": 418_223,
        "meterValue": [{
            "timestamp": "2024-05-14T09:36:07Z",
            "sampledValue": v16_sampled_values(n)
        }]
    })
}

fn v201_transaction_event() -> Value {
    json!({
        "eventType": "Updated",
        "timestamp": "2024-05-14T09:36:07.000Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 7,
        "offline": false,
        "numberOfPhasesUsed": 3,
        "transactionInfo": {
            "transactionId": "5b6c1d2e-3f40-4a51-9b62-7c83d94ea5f6",
            "chargingState": "Charging",
            "timeSpentCharging": 900
        },
        "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"},
        "meterValue": [{
            "timestamp": "2024-05-14T09:36:07.000Z",
            "sampledValue": [
                {"value": 15234.7, "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register", "location": "Outlet", "unitOfMeasure": {"unit": "Wh", "multiplier": 0}},
                {"value": 7210, "context": "Sample.Periodic", "measurand": "Power.Active.Import", "location": "Outlet", "unitOfMeasure": {"unit": "W"}},
                {"value": 10.45, "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}},
                {"value": 230.1, "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}},
                {"value": 61, "context": "Sample.Periodic", "measurand": "SoC", "location": "EV", "unitOfMeasure": {"unit": "Percent"}}
            ]
        }]
    })
}

fn v201_set_charging_profile(periods: usize) -> Value {
    // A day-ahead tariff-driven profile: one period per hour, cheap at night.
    let periods: Vec<Value> = (0..periods)
        .map(|hour| {
            let limit = match hour {
                0..=5 | 22..=23 => 32.0,
                6..=9 | 17..=20 => 6.0,
                _ => 16.0 + f64::from(u8::try_from(hour % 4).expect("small")) * 0.5,
            };
            json!({"startPeriod": hour * 3600, "limit": limit, "numberPhases": 3})
        })
        .collect();
    json!({
        "evseId": 1,
        "chargingProfile": {
            "id": 1024,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "validFrom": "2024-05-01T00:00:00Z",
            "validTo": "2024-12-31T23:59:59Z",
            "chargingSchedule": [{
                "id": 1,
                "startSchedule": "2024-05-14T00:00:00Z",
                "duration": 86_400,
                "chargingRateUnit": "A",
                "minChargingRate": 6.0,
                "chargingSchedulePeriod": periods
            }]
        }
    })
}

fn v201_notify_report(entries: usize) -> Value {
    // (component, variable, value, mutability, data type, unit)
    let variables = [
        (
            "OCPPCommCtrlr",
            "HeartbeatInterval",
            "300",
            "ReadWrite",
            "integer",
            Some("s"),
        ),
        (
            "OCPPCommCtrlr",
            "NetworkProfileConnectionAttempts",
            "3",
            "ReadWrite",
            "integer",
            None,
        ),
        (
            "OCPPCommCtrlr",
            "MessageTimeout",
            "30",
            "ReadOnly",
            "integer",
            Some("s"),
        ),
        (
            "DeviceDataCtrlr",
            "ItemsPerMessage",
            "50",
            "ReadOnly",
            "integer",
            None,
        ),
        (
            "DeviceDataCtrlr",
            "BytesPerMessage",
            "65536",
            "ReadOnly",
            "integer",
            None,
        ),
        (
            "AuthCtrlr",
            "AuthorizeRemoteStart",
            "true",
            "ReadWrite",
            "boolean",
            None,
        ),
        (
            "AuthCtrlr",
            "LocalPreAuthorize",
            "false",
            "ReadWrite",
            "boolean",
            None,
        ),
        (
            "TxCtrlr",
            "EVConnectionTimeOut",
            "120",
            "ReadWrite",
            "integer",
            Some("s"),
        ),
        (
            "TxCtrlr",
            "TxStartPoint",
            "PowerPathClosed",
            "ReadWrite",
            "MemberList",
            None,
        ),
        (
            "SampledDataCtrlr",
            "TxUpdatedMeasurands",
            "Energy.Active.Import.Register,Power.Active.Import,SoC",
            "ReadWrite",
            "MemberList",
            None,
        ),
        (
            "SampledDataCtrlr",
            "TxUpdatedInterval",
            "60",
            "ReadWrite",
            "integer",
            Some("s"),
        ),
        (
            "SecurityCtrlr",
            "SecurityProfile",
            "2",
            "ReadOnly",
            "integer",
            None,
        ),
        (
            "SecurityCtrlr",
            "Identity",
            "CS-ACME-000421",
            "ReadOnly",
            "string",
            None,
        ),
        ("EVSE", "Power", "22000", "ReadOnly", "decimal", Some("W")),
        (
            "EVSE",
            "AvailabilityState",
            "Available",
            "ReadOnly",
            "OptionList",
            None,
        ),
        (
            "Connector",
            "ConnectorType",
            "cType2",
            "ReadOnly",
            "OptionList",
            None,
        ),
        (
            "Connector",
            "SupplyPhases",
            "3",
            "ReadOnly",
            "integer",
            None,
        ),
    ];
    let report: Vec<Value> = (0..entries)
        .map(|i| {
            let (component, variable, value, mutability, data_type, unit) =
                variables[i % variables.len()];
            let evse = i / variables.len() + 1;
            let mut component = json!({"name": component});
            if matches!(component["name"].as_str(), Some("EVSE" | "Connector")) {
                component["evse"] = json!({"id": evse, "connectorId": 1});
            }
            let mut characteristics = json!({"dataType": data_type, "supportsMonitoring": false});
            if let Some(unit) = unit {
                characteristics["unit"] = json!(unit);
                characteristics["supportsMonitoring"] = json!(true);
            }
            if data_type == "OptionList" {
                characteristics["valuesList"] = json!(if variable == "AvailabilityState" {
                    "Available,Occupied,Reserved,Unavailable,Faulted"
                } else {
                    "cType2,sType2,cCCS2"
                });
            }
            json!({
                "component": component,
                "variable": {"name": variable},
                "variableAttribute": [{
                    "type": "Actual",
                    "value": value,
                    "mutability": mutability,
                    "persistent": true,
                    "constant": mutability == "ReadOnly"
                }],
                "variableCharacteristics": characteristics
            })
        })
        .collect();
    json!({
        "requestId": 4711,
        "generatedAt": "2024-05-14T09:40:00Z",
        "tbc": false,
        "seqNo": 0,
        "reportData": report
    })
}

fn frames() -> Vec<Frame> {
    let frame = |group, version, action, schema, payload: Value| Frame {
        group,
        version,
        action,
        schema,
        payload: payload.to_string(),
    };
    vec![
        Frame {
            group: "v16_heartbeat",
            version: Version::V16,
            action: "Heartbeat",
            schema: "v16/Heartbeat.json",
            payload: "{}".to_owned(),
        },
        frame(
            "v16_status_notification",
            Version::V16,
            "StatusNotification",
            "v16/StatusNotification.json",
            v16_status_notification(),
        ),
        frame(
            "v16_meter_values_1",
            Version::V16,
            "MeterValues",
            "v16/MeterValues.json",
            v16_meter_values(1),
        ),
        frame(
            "v16_meter_values_20",
            Version::V16,
            "MeterValues",
            "v16/MeterValues.json",
            v16_meter_values(20),
        ),
        frame(
            "v201_transaction_event",
            Version::V201,
            "TransactionEvent",
            "v201/TransactionEventRequest.json",
            v201_transaction_event(),
        ),
        frame(
            "v201_set_charging_profile_24",
            Version::V201,
            "SetChargingProfile",
            "v201/SetChargingProfileRequest.json",
            v201_set_charging_profile(24),
        ),
        frame(
            "v201_notify_report_50",
            Version::V201,
            "NotifyReport",
            "v201/NotifyReportRequest.json",
            v201_notify_report(50),
        ),
    ]
}

/// Checks that every payload is valid by its official schema, decodes and validates.
fn check(frames: &[Frame]) {
    let dir = ocpp_codegen::schemas::locate().expect("the official OCA schemas");
    for f in frames {
        let text = std::fs::read_to_string(dir.join(f.schema)).expect("a schema file");
        let schema: Value = serde_json::from_str(&text).expect("a JSON schema");
        let draft = match f.version {
            Version::V16 => jsonschema::Draft::Draft4,
            Version::V201 => jsonschema::Draft::Draft6,
        };
        let validator = jsonschema::options()
            .with_draft(draft)
            .should_validate_formats(true)
            .build(&schema)
            .expect("a compilable schema");
        let instance = untyped(&f.payload);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{}: {e}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: not valid by {}: {errors:?}",
            f.group,
            f.schema
        );
        match f.version {
            Version::V16 => {
                let request = v16::decode_request(f.action, &f.payload)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.group));
                request
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", f.group));
                assert_eq!(request.action().as_str(), f.action);
            }
            Version::V201 => {
                let request = v201::decode_request(f.action, &f.payload)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.group));
                request
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", f.group));
                assert_eq!(request.action().as_str(), f.action);
            }
        }
    }
}

fn decode(c: &mut Criterion) {
    let frames = frames();
    check(&frames);
    for f in &frames {
        let mut group = c.benchmark_group(f.group);
        group.throughput(Throughput::Bytes(f.payload.len() as u64));
        group.bench_function("typed_decode_validate", |b| {
            b.iter(|| typed(f.version, black_box(f.action), black_box(&f.payload)));
        });
        group.bench_function("value_parse", |b| {
            b.iter(|| untyped(black_box(&f.payload)));
        });
        group.finish();
    }
}

/// Short runs: the whole bench takes about a minute on two cores.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

/// The benchmark group (written out rather than through `criterion_group!`,
/// whose generated `pub fn` has no documentation).
fn benches() {
    let mut criterion = config().configure_from_args();
    decode(&mut criterion);
}

criterion_main!(benches);
