//! Golden frames: for every row of the cause -> code table and every
//! version, the exact text a CSMS endpoint sends back.

use std::time::Instant;

use ocpp_rpc::endpoint::{Config, Endpoint, Event};
use ocpp_rpc::error::{Cause, ErrorCode, Reply};
use ocpp_types::{Protocol, Role, Version, v16, v21, v201};

/// What goes back for `input`: `None` = nothing at all.
fn reply_to<P: Protocol>(input: &str) -> Option<String> {
    let now = Instant::now();
    let mut csms = Endpoint::<P>::new(Config::new(Role::Csms), now);
    csms.handle_text(now, input);
    let out = csms.poll_transmit();
    assert_eq!(csms.poll_transmit(), None, "at most one reply to {input}");
    // Whatever was refused is also reported, answered or not.
    assert!(
        std::iter::from_fn(|| csms.poll_event()).any(|e| matches!(e, Event::Rejected { .. })),
        "no Rejected event for {input}"
    );
    out
}

/// The reply the application's `respond_error` produces for a valid CALL.
fn app_error<P: Protocol>(call: &str, id: &str, code: ErrorCode, description: &str) -> String {
    let now = Instant::now();
    let mut csms = Endpoint::<P>::new(Config::new(Role::Csms), now);
    csms.handle_text(now, call);
    assert!(matches!(csms.poll_event(), Some(Event::Request { .. })));
    csms.respond_error(id, code, description).unwrap();
    csms.poll_transmit().unwrap()
}

/// One row: a cause, an input that triggers it, and the reply per version.
struct Row {
    cause: Cause,
    v16: (&'static str, Option<&'static str>),
    v201: (&'static str, Option<&'static str>),
    v21: (&'static str, Option<&'static str>),
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            cause: Cause::UnreadableFrame,
            v16: ("this is not json", None),
            v201: (
                "this is not json",
                Some(r#"[4,"-1","RpcFrameworkError","",{}]"#),
            ),
            v21: (
                r#"{"not":"an array"}"#,
                Some(r#"[4,"-1","RpcFrameworkError","",{}]"#),
            ),
        },
        Row {
            cause: Cause::MalformedCall,
            v16: (
                r#"[2,"m1","Heartbeat"]"#,
                Some(r#"[4,"m1","FormationViolation","a CALL or SEND has 4 elements",{}]"#),
            ),
            v201: (
                r#"[2,"m1","Heartbeat"]"#,
                Some(r#"[4,"m1","RpcFrameworkError","a CALL or SEND has 4 elements",{}]"#),
            ),
            v21: (
                r#"[2,"m1",7,{}]"#,
                Some(r#"[4,"m1","RpcFrameworkError","the action is not a string",{}]"#),
            ),
        },
        Row {
            cause: Cause::UnknownMessageType,
            v16: (r#"[6,"t1","Heartbeat",{}]"#, None),
            v201: (r#"[5,"t1","GenericError","",{}]"#, None),
            v21: (r#"[9,"t1","Heartbeat",{}]"#, None),
        },
        Row {
            cause: Cause::PayloadNotObject,
            v16: (
                r#"[2,"p1","Heartbeat",[]]"#,
                Some(r#"[4,"p1","FormationViolation","the payload is not a JSON object",{}]"#),
            ),
            v201: (
                r#"[2,"p1","Heartbeat",null]"#,
                Some(r#"[4,"p1","FormatViolation","the payload is not a JSON object",{}]"#),
            ),
            v21: (
                r#"[2,"p1","Heartbeat","{}"]"#,
                Some(r#"[4,"p1","FormatViolation","the payload is not a JSON object",{}]"#),
            ),
        },
        Row {
            cause: Cause::UnknownAction,
            v16: (
                r#"[2,"u1","Teleport",{}]"#,
                Some(r#"[4,"u1","NotImplemented","unknown action `Teleport`",{}]"#),
            ),
            v201: (
                r#"[2,"u1","heartbeat",{}]"#,
                Some(r#"[4,"u1","NotImplemented","unknown action `heartbeat`",{}]"#),
            ),
            v21: (
                r#"[2,"u1","Teleport",{}]"#,
                Some(r#"[4,"u1","NotImplemented","unknown action `Teleport`",{}]"#),
            ),
        },
        Row {
            cause: Cause::NotSupported,
            v16: (
                r#"[2,"n1","Reset",{"type":"Soft"}]"#,
                Some(r#"[4,"n1","NotSupported","`Reset` is not sent in this direction",{}]"#),
            ),
            v201: (
                r#"[2,"n1","Reset",{"type":"Immediate"}]"#,
                Some(r#"[4,"n1","NotSupported","`Reset` is not sent in this direction",{}]"#),
            ),
            v21: (
                r#"[2,"n1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":1.5,"v":"1"}]}]"#,
                Some(
                    r#"[4,"n1","NotSupported","`NotifyPeriodicEventStream` does not travel in a CALL",{}]"#,
                ),
            ),
        },
        Row {
            cause: Cause::MissingField,
            v16: (
                r#"[2,"f1","BootNotification",{"chargePointVendor":"V"}]"#,
                Some(
                    r#"[4,"f1","OccurenceConstraintViolation","missing field at `chargePointModel`: missing field `chargePointModel`",{}]"#,
                ),
            ),
            v201: (
                r#"[2,"f1","BootNotification",{"reason":"PowerUp"}]"#,
                Some(
                    r#"[4,"f1","OccurrenceConstraintViolation","missing field at `chargingStation`: missing field `chargingStation`",{}]"#,
                ),
            ),
            v21: (
                r#"[2,"f1","BootNotification",{"reason":"PowerUp"}]"#,
                Some(
                    r#"[4,"f1","OccurrenceConstraintViolation","missing field at `chargingStation`: missing field `chargingStation`",{}]"#,
                ),
            ),
        },
        Row {
            cause: Cause::WrongType,
            v16: (
                r#"[2,"w1","Authorize",{"idTag":42}]"#,
                Some(
                    r#"[4,"w1","TypeConstraintViolation","wrong type at `idTag`: invalid type: integer `42`, expected a string",{}]"#,
                ),
            ),
            v201: (
                r#"[2,"w1","Heartbeat",{"customData":"x"}]"#,
                Some(
                    r#"[4,"w1","TypeConstraintViolation","wrong type at `customData`: invalid type: string \"x\", expected struct CustomData",{}]"#,
                ),
            ),
            v21: (
                r#"[2,"w1","Heartbeat",{"customData":[]}]"#,
                Some(
                    r#"[4,"w1","TypeConstraintViolation","wrong type at `customData`: invalid type: sequence, expected struct CustomData",{}]"#,
                ),
            ),
        },
        Row {
            cause: Cause::ConstraintViolated,
            v16: (
                r#"[2,"c1","Authorize",{"idTag":"123456789012345678901"}]"#,
                Some(r#"[4,"c1","PropertyConstraintViolation","idTag: 21 chars, max 20",{}]"#),
            ),
            v201: (
                r#"[2,"c1","BootNotification",{"reason":"Booting","chargingStation":{"model":"M","vendorName":"V"}}]"#,
                Some(
                    r#"[4,"c1","PropertyConstraintViolation","unknown enum member at `reason`: unknown variant `Booting`, expected one of `ApplicationReset`, `FirmwareUpdate`, `LocalReset`, `PowerUp`, `RemoteReset`, `ScheduledReset`, `Triggered`, `Unknown`, `Watchdog`",{}]"#,
                ),
            ),
            v21: (
                r#"[2,"c1","Heartbeat",{"customData":{"vendorId":""}}]"#
                    .replacen("\"\"", &format!("\"{}\"", "v".repeat(256)), 1)
                    .leak(),
                Some(
                    r#"[4,"c1","PropertyConstraintViolation","customData.vendorId: 256 chars, max 255",{}]"#,
                ),
            ),
        },
        Row {
            cause: Cause::UnknownField,
            v16: (
                r#"[2,"x1","Heartbeat",{"extra":1}]"#,
                Some(
                    r#"[4,"x1","FormationViolation","unknown field at `extra`: unknown field `extra`, there are no fields",{}]"#,
                ),
            ),
            v201: (
                r#"[2,"x1","Heartbeat",{"extra":1}]"#,
                Some(
                    r#"[4,"x1","FormatViolation","unknown field at `extra`: unknown field `extra`, expected `customData`",{}]"#,
                ),
            ),
            v21: (
                r#"[2,"x1","Heartbeat",{"extra":1}]"#,
                Some(
                    r#"[4,"x1","FormatViolation","unknown field at `extra`: unknown field `extra`, expected `customData`",{}]"#,
                ),
            ),
        },
        Row {
            cause: Cause::ItemCount,
            // 1.6 has no item bounds on anything a charge point sends; the
            // row is checked through `Cause::reply` below.
            v16: ("", None),
            v201: (
                r#"[2,"i1","MeterValues",{"evseId":1,"meterValue":[]}]"#,
                Some(r#"[4,"i1","OccurrenceConstraintViolation","meterValue: 0 items, min 1",{}]"#),
            ),
            v21: (
                r#"[2,"i1","MeterValues",{"evseId":1,"meterValue":[]}]"#,
                Some(r#"[4,"i1","OccurrenceConstraintViolation","meterValue: 0 items, min 1",{}]"#),
            ),
        },
    ]
}

fn check<P: Protocol>(row: &Row, (input, expected): (&str, Option<&str>)) {
    if input.is_empty() {
        return;
    }
    assert_eq!(
        reply_to::<P>(input).as_deref(),
        expected,
        "{:?} on {:?} for {input}",
        row.cause,
        P::VERSION
    );
}

#[test]
fn every_row_sends_the_exact_frame_in_every_version() {
    for row in rows() {
        check::<v16::V16>(&row, row.v16);
        check::<v201::V201>(&row, row.v201);
        check::<v21::V21>(&row, row.v21);
    }
}

#[test]
fn the_application_rows_spell_their_codes_per_version() {
    let hb = r#"[2,"a1","Heartbeat",{}]"#;
    for (code, text) in [
        (ErrorCode::SecurityError, "SecurityError"),
        (ErrorCode::InternalError, "InternalError"),
    ] {
        let expected = format!(r#"[4,"a1","{text}","",{{}}]"#);
        assert_eq!(app_error::<v16::V16>(hb, "a1", code.clone(), ""), expected);
        assert_eq!(
            app_error::<v201::V201>(hb, "a1", code.clone(), ""),
            expected
        );
        assert_eq!(app_error::<v21::V21>(hb, "a1", code, ""), expected);
    }
    let long = "d".repeat(300);
    let frame = app_error::<v201::V201>(hb, "a1", ErrorCode::GenericError, &long);
    assert_eq!(
        frame,
        format!(r#"[4,"a1","GenericError","{}",{{}}]"#, "d".repeat(255))
    );
}

#[test]
fn the_table_itself_per_version() {
    use Cause::*;
    let table = [
        (UnreadableFrame, None, Some("RpcFrameworkError")),
        (
            MalformedCall,
            Some("FormationViolation"),
            Some("RpcFrameworkError"),
        ),
        (UnknownMessageType, None, None),
        (
            PayloadNotObject,
            Some("FormationViolation"),
            Some("FormatViolation"),
        ),
        (
            UnknownAction,
            Some("NotImplemented"),
            Some("NotImplemented"),
        ),
        (NotSupported, Some("NotSupported"), Some("NotSupported")),
        (
            MissingField,
            Some("OccurenceConstraintViolation"),
            Some("OccurrenceConstraintViolation"),
        ),
        (
            WrongType,
            Some("TypeConstraintViolation"),
            Some("TypeConstraintViolation"),
        ),
        (
            ConstraintViolated,
            Some("PropertyConstraintViolation"),
            Some("PropertyConstraintViolation"),
        ),
        (
            UnknownField,
            Some("FormationViolation"),
            Some("FormatViolation"),
        ),
        (
            ItemCount,
            Some("OccurenceConstraintViolation"),
            Some("OccurrenceConstraintViolation"),
        ),
        (NotAccepted, Some("SecurityError"), Some("SecurityError")),
        (HandlerFailed, Some("InternalError"), Some("InternalError")),
    ];
    for (cause, v16, v2x) in table {
        for version in Version::ALL {
            let expected = if version == Version::V16 { v16 } else { v2x };
            let got = match cause.reply(version) {
                Reply::Drop => None,
                Reply::Error(code) | Reply::ErrorToUnknownId(code) => {
                    Some(code.as_str(version).to_owned())
                }
                other => panic!("{other:?}"),
            };
            assert_eq!(got.as_deref(), expected, "{cause:?} on {version:?}");
        }
    }
}
