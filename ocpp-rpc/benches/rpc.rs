//! Endpoint throughput and CALL round trips against an untyped
//! `serde_json::Value` parse of the same frames; run with
//! `cargo bench -p ocpp-rpc --bench rpc` and see `BENCHMARKS.md`.
//!
//! * `csms_incoming`: a CSMS endpoint reads a 2.0.1 mix of five CALLs
//!   (frame parse, typed decode, validation, a `Request` event each);
//! * `cp_incoming`: a charge point endpoint reads the five CALLRESULTs that
//!   answer its calls (parse, decode, validate, a `Response` event each);
//! * `round_trip_*`: call, carry, respond, carry, response event: between
//!   two long-lived endpoints wired by hand (`endpoints`, the steady state
//!   of a connection) and through a fresh `Pair` each time (`pair_fresh`:
//!   first-use allocations and the `Pair`'s frame log included);
//! * `parts_*`: the pieces of a round trip, to see where its time goes.
//!
//! Every `value_parse` function parses the same texts into `Value`s.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use ocpp_rpc::endpoint::{Config, Endpoint, Event, SequentialIds};
use ocpp_rpc::frame::Frame;
use ocpp_rpc::testing::Pair;
use ocpp_types::{Role, Validate, Version, v201};
use serde_json::Value;

type P = v201::V201;

/// One action of the mix: its CALL payload and the CALLRESULT payload.
struct Message {
    action: &'static str,
    request: &'static str,
    response: &'static str,
}

const HEARTBEAT: Message = Message {
    action: "Heartbeat",
    request: "{}",
    response: r#"{"currentTime":"2025-03-14T09:21:07.412Z"}"#,
};

const STATUS_NOTIFICATION: Message = Message {
    action: "StatusNotification",
    request: r#"{"timestamp":"2025-03-14T09:21:07.412Z","connectorStatus":"Occupied","evseId":1,"connectorId":1}"#,
    response: "{}",
};

/// Ten sampled values, as a three-phase AC charger sends them every minute.
const METER_VALUES: Message = Message {
    action: "MeterValues",
    request: concat!(
        r#"{"evseId":1,"meterValue":[{"timestamp":"2025-03-14T09:21:07.412Z","sampledValue":["#,
        r#"{"value":15234.7,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","location":"Outlet","unitOfMeasure":{"unit":"Wh"}},"#,
        r#"{"value":7210,"context":"Sample.Periodic","measurand":"Power.Active.Import","location":"Outlet","unitOfMeasure":{"unit":"W"}},"#,
        r#"{"value":10.45,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","unitOfMeasure":{"unit":"A"}},"#,
        r#"{"value":10.41,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L2","unitOfMeasure":{"unit":"A"}},"#,
        r#"{"value":10.47,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L3","unitOfMeasure":{"unit":"A"}},"#,
        r#"{"value":230.1,"context":"Sample.Periodic","measurand":"Voltage","phase":"L1-N","unitOfMeasure":{"unit":"V"}},"#,
        r#"{"value":229.8,"context":"Sample.Periodic","measurand":"Voltage","phase":"L2-N","unitOfMeasure":{"unit":"V"}},"#,
        r#"{"value":230.4,"context":"Sample.Periodic","measurand":"Voltage","phase":"L3-N","unitOfMeasure":{"unit":"V"}},"#,
        r#"{"value":16,"context":"Sample.Periodic","measurand":"Current.Offered","unitOfMeasure":{"unit":"A"}},"#,
        r#"{"value":62,"context":"Sample.Periodic","measurand":"SoC","location":"EV","unitOfMeasure":{"unit":"Percent"}}"#,
        r#"]}]}"#
    ),
    response: "{}",
};

const TRANSACTION_EVENT: Message = Message {
    action: "TransactionEvent",
    request: concat!(
        r#"{"eventType":"Updated","timestamp":"2025-03-14T09:21:07.412Z","triggerReason":"MeterValuePeriodic","seqNo":17,"#,
        r#""transactionInfo":{"transactionId":"f3c2a1b0-5d4e-4f6a-8b9c-0d1e2f3a4b5c","chargingState":"Charging"},"#,
        r#""evse":{"id":1,"connectorId":1},"#,
        r#""meterValue":[{"timestamp":"2025-03-14T09:21:07.412Z","sampledValue":["#,
        r#"{"value":15234.7,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"Wh"}},"#,
        r#"{"value":7210,"context":"Sample.Periodic","measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W"}},"#,
        r#"{"value":31.3,"context":"Sample.Periodic","measurand":"Current.Import","unitOfMeasure":{"unit":"A"}},"#,
        r#"{"value":62,"context":"Sample.Periodic","measurand":"SoC","location":"EV","unitOfMeasure":{"unit":"Percent"}}"#,
        r#"]}]}"#
    ),
    response: "{}",
};

const BOOT_NOTIFICATION: Message = Message {
    action: "BootNotification",
    request: r#"{"reason":"PowerUp","chargingStation":{"model":"AC-22-T2","vendorName":"ACME Charging","serialNumber":"ACME-0012345","firmwareVersion":"4.2.1-rc3","modem":{"iccid":"8931440400012345678","imsi":"262011234567890"}}}"#,
    response: r#"{"currentTime":"2025-03-14T09:21:07.412Z","interval":300,"status":"Accepted"}"#,
};

/// What a CSMS reads most, in a realistic proportion per charger.
const MIX: [&Message; 5] = [
    &HEARTBEAT,
    &STATUS_NOTIFICATION,
    &METER_VALUES,
    &TRANSACTION_EVENT,
    &BOOT_NOTIFICATION,
];

fn call_text(id: &str, m: &Message) -> String {
    format!(r#"[2,"{id}","{}",{}]"#, m.action, m.request)
}

fn result_text(id: &str, m: &Message) -> String {
    format!(r#"[3,"{id}",{}]"#, m.response)
}

fn request(m: &Message) -> v201::AnyRequest {
    let request = v201::decode_request(m.action, m.request).expect("decodes");
    request.validate().expect("valid");
    request
}

fn response(m: &Message) -> v201::AnyResponse {
    let response = v201::decode_response(m.action, m.response).expect("decodes");
    response.validate().expect("valid");
    response
}

fn endpoint(role: Role, prefix: &str) -> Endpoint<P> {
    let ids = Box::new(SequentialIds::new(prefix));
    Endpoint::with_ids(Config::new(role), ids, Instant::now())
}

/// A charge point with the five calls of the mix made: the first in
/// flight as `cp-1`, the others queued as `cp-2` to `cp-5`.
fn charge_point_waiting() -> Endpoint<P> {
    let mut cp = endpoint(Role::ChargePoint, "cp-");
    let now = Instant::now();
    for m in MIX {
        cp.call(now, request(m)).expect("a valid call");
    }
    while cp.poll_transmit().is_some() {}
    cp
}

fn value_parse_all(texts: &[String]) {
    for text in texts {
        black_box(serde_json::from_str::<Value>(black_box(text)).expect("JSON"));
    }
}

/// A CSMS reads the mix: each text is parsed, decoded and validated, and
/// yields a `Request` event, which is taken and dropped. A fresh endpoint
/// per batch keeps the table of unanswered CALLs at five.
fn csms_incoming(c: &mut Criterion) {
    let texts: Vec<String> = MIX
        .iter()
        .enumerate()
        .map(|(i, m)| call_text(&format!("{}", 1000 + i), m))
        .collect();
    // Every text is accepted: the success path is what is timed.
    let mut csms = endpoint(Role::Csms, "cs-");
    for text in &texts {
        csms.handle_text(Instant::now(), text);
        assert!(matches!(csms.poll_event(), Some(Event::Request { .. })));
        assert!(csms.poll_event().is_none() && csms.poll_transmit().is_none());
    }

    let mut group = c.benchmark_group("csms_incoming");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("endpoint", |b| {
        b.iter_batched(
            || (endpoint(Role::Csms, "cs-"), Instant::now()),
            |(mut csms, now)| {
                for text in &texts {
                    csms.handle_text(now, black_box(text));
                    while let Some(event) = csms.poll_event() {
                        black_box(event);
                    }
                }
                csms
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("value_parse", |b| b.iter(|| value_parse_all(&texts)));
    group.finish();
}

/// A charge point reads the CALLRESULTs to its five calls, one after the
/// other; each resolves the call in flight and lets the next one out.
fn cp_incoming(c: &mut Criterion) {
    let texts: Vec<String> = MIX
        .iter()
        .enumerate()
        .map(|(i, m)| result_text(&format!("cp-{}", i + 1), m))
        .collect();
    let mut cp = charge_point_waiting();
    for text in &texts {
        cp.handle_text(Instant::now(), text);
        assert!(matches!(
            cp.poll_event(),
            Some(Event::Response { result: Ok(_), .. })
        ));
    }
    assert!(!cp.has_call_in_flight());

    let mut group = c.benchmark_group("cp_incoming");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("endpoint", |b| {
        b.iter_batched(
            || (charge_point_waiting(), Instant::now()),
            |(mut cp, now)| {
                for text in &texts {
                    cp.handle_text(now, black_box(text));
                    while let Some(event) = cp.poll_event() {
                        black_box(event);
                    }
                }
                cp
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("value_parse", |b| b.iter(|| value_parse_all(&texts)));
    group.finish();
}

/// One CALL round trip through a `Pair`: the charge point calls, the CSMS
/// gets the request and answers, the charge point gets the response.
fn pair_round_trip(
    mut pair: Pair<P>,
    request: v201::AnyRequest,
    response: v201::AnyResponse,
) -> Pair<P> {
    let now = pair.now();
    let call = pair.charge_point.call(now, request).expect("call");
    pair.step();
    let Some(Event::Request { id, .. }) = pair.csms.poll_event() else {
        panic!("no request");
    };
    pair.csms.respond(&id, response).expect("respond");
    pair.step();
    match pair.charge_point.poll_event() {
        Some(Event::Response {
            call: done,
            result: Ok(response),
        }) if done == call => {
            black_box(response);
        }
        other => panic!("no response: {other:?}"),
    }
    pair
}

/// The same round trip between two long-lived endpoints wired by hand:
/// the steady state of a connection, without the `Pair`'s frame log.
fn endpoints_round_trip(
    cp: &mut Endpoint<P>,
    csms: &mut Endpoint<P>,
    now: Instant,
    request: v201::AnyRequest,
    response: v201::AnyResponse,
) {
    let call = cp.call(now, request).expect("call");
    let text = cp.poll_transmit().expect("a CALL");
    csms.handle_text(now, &text);
    let Some(Event::Request { id, .. }) = csms.poll_event() else {
        panic!("no request");
    };
    csms.respond(&id, response).expect("respond");
    let text = csms.poll_transmit().expect("a CALLRESULT");
    cp.handle_text(now, &text);
    match cp.poll_event() {
        Some(Event::Response {
            call: done,
            result: Ok(response),
        }) if done == call => {
            black_box(response);
        }
        other => panic!("no response: {other:?}"),
    }
}

fn round_trip(c: &mut Criterion, name: &str, m: &Message) {
    let (req, resp) = (request(m), response(m));
    // The same two texts the endpoints write and read.
    let texts = [call_text("cp-1", m), result_text("cp-1", m)];
    let mut pair = Pair::<P>::new();
    pair = pair_round_trip(pair, req.clone(), resp.clone());
    let frames: Vec<&str> = pair.frames().iter().map(|(_, f)| f.as_str()).collect();
    let parsed: Vec<Value> = frames
        .iter()
        .map(|f| serde_json::from_str(f).expect("JSON"))
        .collect();
    let expected: Vec<Value> = texts
        .iter()
        .map(|t| serde_json::from_str(t).expect("JSON"))
        .collect();
    assert_eq!(parsed, expected, "the benchmarked texts are the wire texts");

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group.bench_function("pair_fresh", |b| {
        b.iter_batched(
            || (Pair::<P>::new(), req.clone(), resp.clone()),
            |(pair, req, resp)| pair_round_trip(pair, req, resp),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("endpoints", |b| {
        let mut cp = endpoint(Role::ChargePoint, "cp-");
        let mut csms = endpoint(Role::Csms, "cs-");
        let now = Instant::now();
        b.iter_batched(
            || (req.clone(), resp.clone()),
            |(req, resp)| endpoints_round_trip(&mut cp, &mut csms, now, req, resp),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("value_parse", |b| b.iter(|| value_parse_all(&texts)));
    group.finish();
}

/// The pieces of a round trip, each on the two frames (or payloads) it
/// handles: where the time of `endpoints` goes.
fn parts(c: &mut Criterion, name: &str, m: &Message) {
    let (req, resp) = (request(m), response(m));
    let texts = [call_text("cp-1", m), result_text("cp-1", m)];
    let mut group = c.benchmark_group(name);
    group.bench_function("frame_parse", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(Frame::parse(black_box(text), Version::V201, 1 << 20).expect("a frame"));
            }
        });
    });
    group.bench_function("decode_validate", |b| {
        b.iter(|| {
            let request = v201::decode_request(m.action, black_box(m.request)).expect("decodes");
            request.validate().expect("valid");
            black_box(request);
            let response = v201::decode_response(m.action, black_box(m.response)).expect("decodes");
            response.validate().expect("valid");
            black_box(response);
        });
    });
    group.bench_function("validate_encode", |b| {
        b.iter(|| {
            black_box(&req).validate().expect("valid");
            black_box(serde_json::to_string(black_box(&req)).expect("encodes"));
            black_box(&resp).validate().expect("valid");
            black_box(serde_json::to_string(black_box(&resp)).expect("encodes"));
        });
    });
    group.finish();
}

fn round_trips(c: &mut Criterion) {
    round_trip(c, "round_trip_heartbeat", &HEARTBEAT);
    round_trip(c, "round_trip_meter_values", &METER_VALUES);
    parts(c, "parts_heartbeat", &HEARTBEAT);
    parts(c, "parts_meter_values", &METER_VALUES);
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
    csms_incoming(&mut criterion);
    cp_incoming(&mut criterion);
    round_trips(&mut criterion);
}

criterion_main!(benches);
