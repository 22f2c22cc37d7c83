//! The endpoint's rules, shown through a `Pair` in virtual time.

use std::time::Duration;

use ocpp_rpc::endpoint::{
    CallError, CallFailure, CallId, Config, DeviationKind, Endpoint, Event, Tolerance,
};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::testing::{Direction, Pair};
use ocpp_types::{Protocol, v21, v201};

type P201 = Pair<v201::V201>;

fn events<P: Protocol>(e: &mut Endpoint<P>) -> Vec<Event<P>> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

fn time() -> chrono::DateTime<chrono::Utc> {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

fn heartbeat_response() -> v201::HeartbeatResponse {
    v201::HeartbeatResponse {
        current_time: time(),
        custom_data: None,
    }
}

fn clear_cache_response() -> v201::ClearCacheResponse {
    v201::ClearCacheResponse {
        status: v201::ClearCacheStatusEnum::Accepted,
        status_info: None,
        custom_data: None,
    }
}

/// Ids of the incoming CALLs among `events`.
fn requests(events: &[Event<v201::V201>]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Request { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn responses<P: Protocol>(
    events: &[Event<P>],
) -> Vec<(CallId, Result<P::AnyResponse, CallFailure>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { call, result } => Some((*call, result.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn one_call_in_flight_per_direction_while_both_sides_call_at_once() {
    let mut pair = P201::new();
    let now = pair.now();
    let cp_calls: Vec<CallId> = (0..3)
        .map(|_| {
            pair.charge_point
                .call(now, v201::HeartbeatRequest::default())
                .unwrap()
        })
        .collect();
    let cs_calls: Vec<CallId> = (0..3)
        .map(|_| {
            pair.csms
                .call(now, v201::ClearCacheRequest::default())
                .unwrap()
        })
        .collect();
    assert_eq!(pair.charge_point.queued_calls(), 2);
    assert_eq!(pair.csms.queued_calls(), 2);

    for round in 0..=3 {
        pair.drive();
        // One new CALL each way per round: the next waits for the answer.
        let calls = |d| {
            pair.frames_to(d)
                .iter()
                .filter(|f| f.starts_with("[2,"))
                .count()
        };
        assert_eq!(calls(Direction::ToCsms), (round + 1).min(3));
        assert_eq!(calls(Direction::ToChargePoint), (round + 1).min(3));
        let at_csms = events(&mut pair.csms);
        let at_cp = events(&mut pair.charge_point);
        if round > 0 {
            let got_cp = responses(&at_cp);
            let got_cs = responses(&at_csms);
            assert_eq!(got_cp.len(), 1);
            assert_eq!(got_cp[0].0, cp_calls[round - 1]);
            assert!(matches!(got_cp[0].1, Ok(v201::AnyResponse::Heartbeat(_))));
            assert_eq!(got_cs.len(), 1);
            assert_eq!(got_cs[0].0, cs_calls[round - 1]);
            assert!(matches!(got_cs[0].1, Ok(v201::AnyResponse::ClearCache(_))));
        }
        let (to_csms, to_cp) = (requests(&at_csms), requests(&at_cp));
        if round == 3 {
            assert!(to_csms.is_empty() && to_cp.is_empty());
            break;
        }
        assert_eq!(to_csms.len(), 1);
        assert_eq!(to_cp.len(), 1);
        pair.csms
            .respond(&to_csms[0], heartbeat_response())
            .unwrap();
        pair.charge_point
            .respond(&to_cp[0], clear_cache_response())
            .unwrap();
    }
    assert!(!pair.charge_point.has_call_in_flight());
    assert!(!pair.csms.has_call_in_flight());
}

#[test]
fn a_timed_out_call_ignores_its_late_reply_and_the_next_call_succeeds() {
    let mut pair = P201::new();
    let now = pair.now();
    let first = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    let second = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    let late = requests(&events(&mut pair.csms));
    assert_eq!(late, ["cp-1"]);

    pair.advance(Duration::from_secs(30));
    let evs = events(&mut pair.charge_point);
    assert_eq!(responses(&evs), [(first, Err(CallFailure::Timeout))]);
    // The second call went out when the first timed out.
    let next = requests(&events(&mut pair.csms));
    assert_eq!(next, ["cp-2"]);

    // Now the late reply to the first arrives, then the reply to the second.
    pair.csms.respond(&late[0], heartbeat_response()).unwrap();
    pair.step();
    let evs = events(&mut pair.charge_point);
    assert!(
        matches!(&evs[..], [Event::Rejected { id: Some(id), code: None, reason, .. }] if id == "cp-1" && reason.contains("late")),
        "{evs:?}"
    );
    assert!(
        pair.charge_point.has_call_in_flight(),
        "the late reply must not resolve the second call"
    );
    pair.csms.respond(&next[0], heartbeat_response()).unwrap();
    pair.step();
    let evs = events(&mut pair.charge_point);
    assert!(matches!(&responses(&evs)[..], [(c, Ok(_))] if *c == second));
    // Nothing was sent back for the late reply.
    assert_eq!(pair.frames_to(Direction::ToCsms).len(), 2);
}

#[test]
fn a_reply_with_an_unknown_id_is_dropped_and_reported_never_answered() {
    let mut pair = P201::new();
    let now = pair.now();
    let call = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    events(&mut pair.csms);
    pair.charge_point
        .handle_text(now, r#"[3,"nobody","{}"]"#.replace("\"{}\"", "{}").as_str());
    pair.charge_point
        .handle_text(now, r#"[4,"nobody","GenericError","",{}]"#);
    assert_eq!(pair.charge_point.poll_transmit(), None);
    let evs = events(&mut pair.charge_point);
    assert_eq!(evs.len(), 2);
    assert!(
        evs.iter()
            .all(|e| matches!(e, Event::Rejected { code: None, .. }))
    );
    // The real call is still waiting for its own answer.
    assert!(pair.charge_point.has_call_in_flight());
    pair.csms.respond("cp-1", heartbeat_response()).unwrap();
    pair.step();
    assert!(matches!(&responses(&events(&mut pair.charge_point))[..], [(c, Ok(_))] if *c == call));
}

#[test]
fn closing_resolves_the_pending_and_queued_calls_at_once_in_order() {
    let mut pair = P201::new();
    let now = pair.now();
    let calls: Vec<CallId> = (0..4)
        .map(|_| {
            pair.charge_point
                .call(now, v201::HeartbeatRequest::default())
                .unwrap()
        })
        .collect();
    pair.step();
    pair.close();
    let evs = events(&mut pair.charge_point);
    let got = responses(&evs);
    assert_eq!(got.len(), 4);
    for (i, (call, result)) in got.into_iter().enumerate() {
        assert_eq!(call, calls[i]);
        assert_eq!(result, Err(CallFailure::ConnectionLost));
    }
    assert_eq!(pair.charge_point.poll_timeout(), None);
    assert_eq!(
        pair.charge_point
            .call(now, v201::HeartbeatRequest::default()),
        Err(CallError::Closed)
    );
}

#[test]
fn the_queue_bound_refuses_instead_of_dropping() {
    let mut cp = Config::new(ocpp_types::Role::ChargePoint);
    cp.max_queued_calls = 2;
    let mut pair = Pair::<v201::V201>::with_configs(cp, Config::new(ocpp_types::Role::Csms));
    let now = pair.now();
    for _ in 0..3 {
        pair.charge_point
            .call(now, v201::HeartbeatRequest::default())
            .unwrap();
    }
    assert_eq!(
        pair.charge_point
            .call(now, v201::HeartbeatRequest::default()),
        Err(CallError::QueueFull(2))
    );
    // The three accepted calls all go out, one after another.
    for id in ["cp-1", "cp-2", "cp-3"] {
        pair.drive();
        assert_eq!(requests(&events(&mut pair.csms)), [id]);
        pair.csms.respond(id, heartbeat_response()).unwrap();
    }
    pair.drive();
    assert_eq!(responses(&events(&mut pair.charge_point)).len(), 3);
}

const LONG_SERIAL: &str = r#"[2,"b1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","serialNumber":"SERIAL-0123456789-0123456789"}}]"#;

#[test]
fn strict_refuses_an_over_long_serial_number() {
    let mut pair = P201::new();
    pair.csms.handle_text(pair.now(), LONG_SERIAL);
    assert_eq!(
        pair.csms.poll_transmit().as_deref(),
        Some(
            r#"[4,"b1","PropertyConstraintViolation","chargingStation.serialNumber: 28 chars, max 25",{}]"#
        )
    );
    assert!(requests(&events(&mut pair.csms)).is_empty());
}

#[test]
fn tolerant_accepts_the_same_serial_number_and_reports_it() {
    let mut pair = P201::new();
    let mut tolerance = Tolerance::strict();
    tolerance.over_long_strings = true;
    pair.csms.set_tolerance(tolerance);
    pair.csms.handle_text(pair.now(), LONG_SERIAL);
    assert_eq!(pair.csms.poll_transmit(), None);
    let evs = events(&mut pair.csms);
    match &evs[..] {
        [
            Event::Deviation { id, path, kind, .. },
            Event::Request {
                request: v201::AnyRequest::BootNotification(boot),
                ..
            },
        ] => {
            assert_eq!(id, "b1");
            assert_eq!(path, "chargingStation.serialNumber");
            assert_eq!(*kind, DeviationKind::OverLongString);
            let serial = boot.charging_station.serial_number.as_ref().unwrap();
            assert_eq!(serial.as_str(), "SERIAL-0123456789-0123456789");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invalid_outgoing_payload_never_reaches_the_wire() {
    let mut pair = P201::new();
    let now = pair.now();
    let mut boot = v201::BootNotificationRequest {
        charging_station: v201::ChargingStation {
            model: "M".parse().unwrap(),
            vendor_name: "V".parse().unwrap(),
            serial_number: None,
            firmware_version: None,
            modem: None,
            custom_data: None,
        },
        reason: v201::BootReasonEnum::PowerUp,
        custom_data: None,
    };
    boot.charging_station.serial_number =
        Some(ocpp_types::BoundedString::new_unchecked("x".repeat(26)));
    assert!(matches!(
        pair.charge_point.call(now, boot),
        Err(CallError::Invalid(_))
    ));
    // A CSMS may not send BootNotification at all.
    assert!(matches!(
        pair.csms.call(now, v201::HeartbeatRequest::default()),
        Err(CallError::WrongDirection("Heartbeat"))
    ));
    assert_eq!(pair.charge_point.poll_transmit(), None);
}

#[test]
fn v21_answers_an_invalid_callresult_with_callresulterror() {
    let mut pair = Pair::<v21::V21>::new();
    let now = pair.now();
    let call = pair
        .charge_point
        .call(now, v21::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    events(&mut pair.csms);
    // The CSMS's answer is tampered with: currentTime is not a date-time.
    pair.charge_point
        .handle_text(now, r#"[3,"cp-1",{"currentTime":"yesterday"}]"#);
    let sent = pair.charge_point.poll_transmit().unwrap();
    assert_eq!(
        sent,
        r#"[5,"cp-1","PropertyConstraintViolation","invalid value at `currentTime`: invalid date-time `yesterday`: premature end of input",{}]"#
    );
    let evs = events(&mut pair.charge_point);
    assert!(
        matches!(&responses(&evs)[..], [(c, Err(CallFailure::InvalidResponse(_)))] if *c == call)
    );
    // The CSMS learns that its reply was refused.
    pair.csms.handle_text(now, &sent);
    assert!(matches!(
        &events(&mut pair.csms)[..],
        [Event::ResultRefused { id, code: ErrorCode::PropertyConstraintViolation, .. }] if id == "cp-1"
    ));
}

#[test]
fn v201_drops_an_invalid_callresult_without_answering() {
    let mut pair = P201::new();
    let now = pair.now();
    let call = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    pair.charge_point
        .handle_text(now, r#"[3,"cp-1",{"currentTime":"yesterday"}]"#);
    assert_eq!(pair.charge_point.poll_transmit(), None);
    let evs = events(&mut pair.charge_point);
    assert!(
        matches!(&responses(&evs)[..], [(c, Err(CallFailure::InvalidResponse(_)))] if *c == call)
    );
}

#[test]
fn v21_send_frames_travel_without_a_reply_and_beside_a_call() {
    let mut pair = Pair::<v21::V21>::new();
    let now = pair.now();
    pair.charge_point
        .call(now, v21::HeartbeatRequest::default())
        .unwrap();
    let stream: v21::NotifyPeriodicEventStream = serde_json::from_str(
        r#"{"id":7,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0.5,"v":"230.1"}]}"#,
    )
    .unwrap();
    // Not held back by the CALL in flight.
    pair.charge_point.send(stream.clone()).unwrap();
    pair.step();
    let sends = pair.frames_to(Direction::ToCsms);
    assert_eq!(sends.len(), 2);
    assert_eq!(
        sends[1],
        r#"[6,"cp-2","NotifyPeriodicEventStream",{"basetime":"2025-01-01T00:00:00Z","data":[{"t":0.5,"v":"230.1"}],"id":7,"pending":0}]"#
    );
    let evs = events(&mut pair.csms);
    assert!(evs.iter().any(|e| matches!(e, Event::Send { message: v21::AnyRequest::NotifyPeriodicEventStream(m), .. } if **m == stream)));
    // Only the CALL is answered.
    pair.csms
        .respond(
            "cp-1",
            v21::HeartbeatResponse {
                current_time: time(),
                custom_data: None,
            },
        )
        .unwrap();
    pair.step();
    assert_eq!(pair.frames_to(Direction::ToChargePoint).len(), 1);
    // A SEND cannot go through `call`, nor a CALL through `send`.
    assert!(matches!(
        pair.charge_point.call(now, stream),
        Err(CallError::WrongFrameType("NotifyPeriodicEventStream"))
    ));
    assert!(matches!(
        pair.charge_point.send(v21::HeartbeatRequest::default()),
        Err(CallError::WrongFrameType("Heartbeat"))
    ));
}

#[test]
fn a_bad_send_is_dropped_and_reported_never_answered() {
    let mut pair = Pair::<v21::V21>::new();
    let now = pair.now();
    pair.csms.handle_text(
        now,
        r#"[6,"s1","NotifyPeriodicEventStream",{"id":"seven"}]"#,
    );
    assert_eq!(pair.csms.poll_transmit(), None);
    assert!(matches!(
        &events(&mut pair.csms)[..],
        [Event::Rejected { code: None, .. }]
    ));
}

#[test]
fn tampering_shows_a_dropped_reply_as_a_timeout() {
    let mut pair = P201::new();
    let now = pair.now();
    pair.tamper(|direction, frame| (direction == Direction::ToCsms).then_some(frame));
    let call = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    pair.csms.respond("cp-1", heartbeat_response()).unwrap();
    pair.step();
    assert!(responses(&events(&mut pair.charge_point)).is_empty());
    pair.advance(Duration::from_secs(29));
    assert!(responses(&events(&mut pair.charge_point)).is_empty());
    pair.advance(Duration::from_secs(1));
    assert_eq!(
        responses(&events(&mut pair.charge_point)),
        [(call, Err(CallFailure::Timeout))]
    );
}

#[test]
fn respond_checks_the_id_the_action_and_the_payload() {
    let mut pair = P201::new();
    let now = pair.now();
    pair.charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    events(&mut pair.csms);
    assert!(pair.csms.respond("nope", heartbeat_response()).is_err());
    assert!(pair.csms.respond("cp-1", clear_cache_response()).is_err());
    pair.csms.respond("cp-1", heartbeat_response()).unwrap();
    // Exactly one reply per CALL.
    assert!(pair.csms.respond("cp-1", heartbeat_response()).is_err());
    assert!(
        pair.csms
            .respond_error("cp-1", ErrorCode::InternalError, "")
            .is_err()
    );
}

#[test]
fn a_malformed_answer_to_the_call_in_flight_resolves_it() {
    let mut pair = P201::new();
    let now = pair.now();
    let first = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    let second = pair
        .charge_point
        .call(now, v201::HeartbeatRequest::default())
        .unwrap();
    pair.step();
    // A CALLERROR whose details are not an object.
    pair.charge_point
        .handle_text(now, r#"[4,"cp-1","GenericError","",[]]"#);
    let evs = events(&mut pair.charge_point);
    assert!(
        matches!(&responses(&evs)[..], [(c, Err(CallFailure::InvalidResponse(_)))] if *c == first)
    );
    // Nothing goes back for a reply, and the next call is on its way.
    assert_eq!(
        pair.charge_point.poll_transmit().as_deref(),
        Some(r#"[2,"cp-2","Heartbeat",{}]"#)
    );
    pair.csms.handle_text(now, r#"[2,"cp-2","Heartbeat",{}]"#);
    pair.csms.respond("cp-2", heartbeat_response()).unwrap();
    pair.step();
    assert!(
        matches!(&responses(&events(&mut pair.charge_point))[..], [(c, Ok(_))] if *c == second)
    );
}
