//! The demo: one boot, heartbeat and status exchange per OCPP version,
//! through the typed message layer.
//!
//! Each payload is decoded by action name, validated against every schema
//! constraint, and encoded again; the demo also shows what a strict receiver
//! reports for a payload from a non-compliant charger. It exits non-zero if
//! any step does not check out.
//!
//! The WebSocket CSMS and simulated charge points take its place as the
//! RPC layer and the state machines land.

use std::process::ExitCode;

use ocpp_types::{DecodeError, Validate, Violations, v16, v21, v201};

/// One payload of one exchange: the version, the action, request or response, and the JSON.
struct Step {
    version: &'static str,
    action: &'static str,
    response: bool,
    payload: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        version: "1.6",
        action: "BootNotification",
        response: false,
        payload: r#"{"chargePointVendor":"ACME","chargePointModel":"Wallbox 22","chargePointSerialNumber":"WB-0001","firmwareVersion":"1.4.2"}"#,
    },
    Step {
        version: "1.6",
        action: "BootNotification",
        response: true,
        payload: r#"{"status":"Accepted","currentTime":"2026-12-01T10:00:00Z","interval":300}"#,
    },
    Step {
        version: "1.6",
        action: "StatusNotification",
        response: false,
        payload: r#"{"connectorId":1,"errorCode":"NoError","status":"Available","timestamp":"2026-12-01T10:00:01Z"}"#,
    },
    Step {
        version: "1.6",
        action: "Heartbeat",
        response: true,
        payload: r#"{"currentTime":"2026-12-01T10:05:00Z"}"#,
    },
    Step {
        version: "2.0.1",
        action: "BootNotification",
        response: false,
        payload: r#"{"reason":"PowerUp","chargingStation":{"model":"Wallbox 22","vendorName":"ACME","serialNumber":"WB-0002"}}"#,
    },
    Step {
        version: "2.0.1",
        action: "BootNotification",
        response: true,
        payload: r#"{"currentTime":"2026-12-01T10:00:00Z","interval":300,"status":"Accepted"}"#,
    },
    Step {
        version: "2.0.1",
        action: "StatusNotification",
        response: false,
        payload: r#"{"timestamp":"2026-12-01T10:00:01Z","connectorStatus":"Available","evseId":1,"connectorId":1}"#,
    },
    Step {
        version: "2.1",
        action: "BootNotification",
        response: false,
        payload: r#"{"reason":"PowerUp","chargingStation":{"model":"Wallbox 22","vendorName":"ACME"}}"#,
    },
    Step {
        version: "2.1",
        action: "BootNotification",
        response: true,
        payload: r#"{"currentTime":"2026-12-01T10:00:00Z","interval":300,"status":"Accepted"}"#,
    },
    Step {
        version: "2.1",
        action: "Heartbeat",
        response: false,
        payload: "{}",
    },
];

/// Validates a decoded payload and encodes it again.
fn check<T: Validate + serde::Serialize>(
    decoded: Result<T, DecodeError>,
) -> Result<serde_json::Value, String> {
    let payload = decoded.map_err(|e| format!("decode: {e}"))?;
    payload
        .validate()
        .map_err(|v: Violations| format!("validate: {v}"))?;
    serde_json::to_value(&payload).map_err(|e| format!("encode: {e}"))
}

/// Decodes, validates and re-encodes one payload; the re-encoding must equal the input.
fn run(step: &Step) -> Result<(), String> {
    let (a, p) = (step.action, step.payload);
    let again = match (step.version, step.response) {
        ("1.6", false) => check(v16::decode_request(a, p)),
        ("1.6", true) => check(v16::decode_response(a, p)),
        ("2.0.1", false) => check(v201::decode_request(a, p)),
        ("2.0.1", true) => check(v201::decode_response(a, p)),
        ("2.1", false) => check(v21::decode_request(a, p)),
        _ => check(v21::decode_response(a, p)),
    }?;
    let input: serde_json::Value = serde_json::from_str(p).map_err(|e| format!("input: {e}"))?;
    if again != input {
        return Err(format!("re-encoded differently: {again}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut failures = 0;
    println!(
        "{:<7} {:<20} {:<9} {:>6}  result",
        "version", "action", "kind", "bytes"
    );
    for step in STEPS {
        let kind = if step.response { "response" } else { "request" };
        let result = run(step);
        let outcome = match &result {
            Ok(()) => "decoded, valid, re-encoded equal".to_owned(),
            Err(e) => {
                failures += 1;
                format!("FAILED: {e}")
            }
        };
        println!(
            "{:<7} {:<20} {:<9} {:>6}  {outcome}",
            step.version,
            step.action,
            kind,
            step.payload.len()
        );
    }

    // A charger that overruns a length limit: the message decodes (nothing is
    // lost) and validation names the offending field, so a receiver can
    // answer with the right error or, by policy, accept and report it.
    let sloppy = r#"{"reason":"PowerUp","chargingStation":{"model":"Wallbox 22","vendorName":"ACME","serialNumber":"SERIAL-NUMBER-TOO-LONG-0001"}}"#;
    println!("\nnon-compliant 2.0.1 BootNotification:");
    match v201::decode_request("BootNotification", sloppy).map(|r| r.validate()) {
        Ok(Err(violations)) => println!("  decoded; validation reports: {violations}"),
        other => {
            failures += 1;
            println!("  FAILED: expected one length violation, got {other:?}");
        }
    }
    let unknown = r#"{"status":"Maybe","currentTime":"2026-12-01T10:00:00Z","interval":300}"#;
    match v16::decode_response("BootNotification", unknown) {
        Err(e) => println!("  1.6 BootNotification response with status \"Maybe\": {e}"),
        Ok(r) => {
            failures += 1;
            println!("  FAILED: an unknown status decoded as {r:?}");
        }
    }

    if failures == 0 {
        println!("\nall {} payloads checked out", STEPS.len());
        ExitCode::SUCCESS
    } else {
        println!("\n{failures} step(s) failed");
        ExitCode::FAILURE
    }
}
