//! A charge point scripted by hand against a `csms::Session`, in virtual time.

#![allow(dead_code)]

use std::time::Instant;

use ocpp_rpc::csms::{Config, Event, Session};
use ocpp_rpc::endpoint::{self, CallFailure, CallId, Endpoint, SequentialIds};
use ocpp_rpc::machine::{Machine, WallClock};
use ocpp_rpc::testing::Link;
use ocpp_types::{Protocol, Role, Version};
use serde_json::{Value, json};

/// The wall-clock time at the origin of virtual time.
pub const T0: &str = "2025-01-01T00:00:00Z";

pub type CpLink<P> = Link<Endpoint<P>, Session>;

pub fn version_of<P: Protocol>() -> Version {
    P::VERSION
}

pub fn session(version: Version, config: Config, now: Instant) -> Session {
    let clock = WallClock::new(now, T0.parse().unwrap());
    Session::with_ids(
        version,
        config,
        Box::new(SequentialIds::new("cs-")),
        clock,
        now,
    )
}

/// A connected link: a bare charge-point endpoint and a session.
pub fn link<P: Protocol>(config: Config) -> CpLink<P> {
    let now = Instant::now();
    let cp = Endpoint::<P>::with_ids(
        endpoint::Config::new(Role::ChargePoint),
        Box::new(SequentialIds::new("cp-")),
        now,
    );
    let mut link = Link::between(cp, session(P::VERSION, config, now), now);
    link.connect();
    link
}

/// The charge point sends `action` with `payload`; the frames are carried.
pub fn send<P: Protocol>(link: &mut CpLink<P>, action: &str, payload: Value) -> CallId {
    let request = P::decode_request(action, &payload.to_string())
        .unwrap_or_else(|e| panic!("{action} {payload}: {e}"));
    let now = link.now();
    let call = link.charge_point.call(now, request).unwrap();
    link.drive();
    call
}

/// The session's events so far.
pub fn events<P: Protocol>(link: &mut CpLink<P>) -> Vec<Event> {
    std::iter::from_fn(|| link.csms.poll_event()).collect()
}

/// What the charge point received: responses to its calls (as JSON) and
/// the CSMS's requests.
#[derive(Debug)]
pub enum AtCp {
    Response(CallId, Result<Value, CallFailure>),
    Request(String, String, Value),
    Other(String),
}

pub fn at_cp<P: Protocol>(link: &mut CpLink<P>) -> Vec<AtCp> {
    std::iter::from_fn(|| link.charge_point.poll_event())
        .map(|e| match e {
            endpoint::Event::Response { call, result } => {
                AtCp::Response(call, result.map(|r| serde_json::to_value(r).unwrap()))
            }
            endpoint::Event::Request { id, request } => {
                let action = P::action_name(P::request_action(&request)).to_owned();
                AtCp::Request(id, action, serde_json::to_value(request).unwrap())
            }
            other => AtCp::Other(format!("{other:?}")),
        })
        .collect()
}

/// The one response the charge point got, which must be a CALLRESULT.
pub fn reply<P: Protocol>(link: &mut CpLink<P>) -> Value {
    match &at_cp(link)[..] {
        [AtCp::Response(_, Ok(v))] => v.clone(),
        other => panic!("expected one CALLRESULT, got {other:?}"),
    }
}

/// The one response the charge point got, which must be a CALLERROR; its code.
pub fn error_reply<P: Protocol>(link: &mut CpLink<P>) -> String {
    match &at_cp(link)[..] {
        [AtCp::Response(_, Err(CallFailure::Error { code, .. }))] => code.to_string(),
        other => panic!("expected one CALLERROR, got {other:?}"),
    }
}

/// The one CSMS request the charge point got: its id, action and payload.
pub fn request<P: Protocol>(link: &mut CpLink<P>) -> (String, String, Value) {
    match at_cp(link).pop() {
        Some(AtCp::Request(id, action, payload)) => (id, action, payload),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The charge point answers the CSMS's request `id` with `payload`.
pub fn answer<P: Protocol>(link: &mut CpLink<P>, id: &str, action: &str, payload: Value) {
    let response = P::decode_response(action, &payload.to_string()).unwrap();
    link.charge_point.respond(id, response).unwrap();
    link.drive();
}

// ----- the same messages in each version -----

pub fn is_v16(version: Version) -> bool {
    version == Version::V16
}

pub fn boot(version: Version) -> (&'static str, Value) {
    let payload = if is_v16(version) {
        json!({ "chargePointVendor": "ACME", "chargePointModel": "M1",
                "chargePointSerialNumber": "S-1", "firmwareVersion": "1.0" })
    } else {
        json!({ "reason": "PowerUp", "chargingStation": { "vendorName": "ACME", "model": "M1",
                "serialNumber": "S-1", "firmwareVersion": "1.0" } })
    };
    ("BootNotification", payload)
}

/// A StatusNotification for EVSE `evse` connector 1 (1.6 connectorId
/// `evse`); `status` in the 2.x set, `v16_status` its 1.6 spelling.
pub fn status(
    version: Version,
    evse: i32,
    status: &str,
    v16_status: &str,
    at: &str,
) -> (&'static str, Value) {
    let payload = if is_v16(version) {
        json!({ "connectorId": evse, "errorCode": "NoError", "status": v16_status, "timestamp": at })
    } else {
        json!({ "evseId": evse, "connectorId": 1, "connectorStatus": status, "timestamp": at })
    };
    ("StatusNotification", payload)
}

pub fn authorize(version: Version, tag: &str) -> (&'static str, Value) {
    let payload = if is_v16(version) {
        json!({ "idTag": tag })
    } else {
        json!({ "idToken": { "idToken": tag, "type": "ISO14443" } })
    };
    ("Authorize", payload)
}

/// The authorization status in an Authorize answer.
pub fn auth_status(version: Version, reply: &Value) -> String {
    let info = if is_v16(version) {
        &reply["idTagInfo"]
    } else {
        &reply["idTokenInfo"]
    };
    info["status"].as_str().unwrap().to_owned()
}

pub fn energy(value: i64, context: &str) -> Value {
    json!({ "value": value, "context": context, "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": { "unit": "Wh" } })
}

/// 2.x TransactionEvent.
pub fn tx_event(
    kind: &str,
    id: &str,
    seq_no: i32,
    at: &str,
    trigger: &str,
    extra: Value,
) -> (&'static str, Value) {
    let mut payload = json!({
        "eventType": kind, "timestamp": at, "triggerReason": trigger, "seqNo": seq_no,
        "transactionInfo": { "transactionId": id },
    });
    if let (Value::Object(p), Value::Object(e)) = (&mut payload, extra) {
        for (k, v) in e {
            if k == "transactionInfo" {
                if let (Some(Value::Object(info)), Value::Object(more)) =
                    (p.get_mut("transactionInfo"), v)
                {
                    info.extend(more);
                }
            } else {
                p.insert(k, v);
            }
        }
    }
    ("TransactionEvent", payload)
}
