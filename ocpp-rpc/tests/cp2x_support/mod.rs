//! A scripted CSMS for the 2.x charge-point tests: an endpoint of either
//! version whose CALLs the test answers by hand, in JSON, through a
//! responder.

#![allow(dead_code)]

/// Runs each generic test once per version: `both_versions!(a, b)` makes
/// `v201_tests::a`, `v21_tests::a`, ...
macro_rules! both_versions {
    ($($name:ident),* $(,)?) => {
        mod v201_tests {
            $(#[test] fn $name() { super::$name::<ocpp_types::v201::V201>(); })*
        }
        mod v21_tests {
            $(#[test] fn $name() { super::$name::<ocpp_types::v21::V21>(); })*
        }
    };
}

use std::time::{Duration, Instant};

use ocpp_rpc::charge_point::v2x::{ChargePoint, Config, Event, Identity, State, Version};
use ocpp_rpc::endpoint::{self, CallFailure, Endpoint, SequentialIds};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::{Machine, WallClock};
use ocpp_rpc::testing::{Direction, Link};
use ocpp_types::{Protocol, Role};
use serde_json::{Value, json};

/// How the CSMS answers one CALL.
pub enum Reply {
    /// A CALLRESULT with this payload.
    Ok(Value),
    /// A CALLERROR.
    Error(ErrorCode),
    /// No answer (it times out).
    Hold,
}

/// The test's CSMS answers: `(action, payload) -> Reply`.
pub type Responder = Box<dyn FnMut(&str, &Value) -> Reply>;

pub const T0: &str = "2025-01-01T10:00:00Z";

/// The standard answers: every boot Accepted (interval 300), every
/// token Accepted, every other CALL with its empty or simplest result.
pub fn standard(action: &str, _payload: &Value) -> Reply {
    Reply::Ok(match action {
        "BootNotification" => json!({"currentTime": T0, "interval": 300, "status": "Accepted"}),
        "Heartbeat" => json!({"currentTime": T0}),
        "Authorize" => json!({"idTokenInfo": {"status": "Accepted"}}),
        "SignCertificate" => json!({"status": "Accepted"}),
        _ => json!({}),
    })
}

pub fn identity() -> Identity {
    Identity {
        vendor_name: "Acme".into(),
        model: "Wallbox".into(),
        serial_number: Some("SN-1".into()),
        firmware_version: Some("1.0".into()),
    }
}

pub fn config(version: Version) -> Config {
    Config::new(version, identity(), vec![1, 1])
}

pub fn token(id: &str) -> ocpp_types::v21::IdToken {
    serde_json::from_value(json!({"idToken": id, "type": "ISO14443"})).unwrap()
}

pub fn reading(wh: i64) -> ocpp_rpc::charge_point::v2x::MeterReading {
    ocpp_rpc::charge_point::v2x::MeterReading {
        energy_wh: wh.into(),
        power_w: Some(7400.into()),
        ..Default::default()
    }
}

/// A charge point, a scripted CSMS of version `P`, and what each side said.
pub struct Harness<P: Protocol> {
    pub link: Link<ChargePoint, Endpoint<P>>,
    pub responder: Responder,
    /// Every CALL the CSMS received: (action, payload).
    pub received: Vec<(String, Value)>,
    /// Every event of the charge point.
    pub events: Vec<Event>,
    /// Responses to the CSMS's own calls.
    pub responses: Vec<Result<Value, CallFailure>>,
    /// Anything the CSMS endpoint refused or reported.
    pub csms_problems: Vec<String>,
    pub start: Instant,
    csms_connections: u32,
}

pub fn csms_endpoint<P: Protocol>(n: u32, now: Instant) -> Endpoint<P> {
    Endpoint::with_ids(
        endpoint::Config::new(Role::Csms),
        Box::new(SequentialIds::new(format!("cs{n}-"))),
        now,
    )
}

impl<P: Protocol> Harness<P> {
    /// A station built as `config`, not yet connected.
    pub fn new(config: Config) -> Self {
        let now = Instant::now();
        let clock = WallClock::new(now, T0.parse().unwrap());
        let state = State::new(&config);
        Self::with_state(config, state, clock, now)
    }

    pub fn with_state(config: Config, state: State, clock: WallClock, now: Instant) -> Self {
        let cp = ChargePoint::new(config, state, clock, now);
        Harness {
            link: Link::between(cp, csms_endpoint(1, now), now),
            responder: Box::new(standard),
            received: Vec::new(),
            events: Vec::new(),
            responses: Vec::new(),
            csms_problems: Vec::new(),
            start: now,
            csms_connections: 1,
        }
    }

    pub fn cp(&mut self) -> &mut ChargePoint {
        &mut self.link.charge_point
    }

    pub fn now(&self) -> Instant {
        self.link.now()
    }

    pub fn respond_with(&mut self, f: impl FnMut(&str, &Value) -> Reply + 'static) {
        self.responder = Box::new(f);
    }

    /// Connects (the first time) and settles.
    pub fn connect(&mut self) {
        self.link.connect();
        self.settle();
    }

    /// A new connection with a fresh CSMS endpoint.
    pub fn reconnect(&mut self) {
        self.csms_connections += 1;
        let csms = csms_endpoint(self.csms_connections, self.now());
        self.link.reconnect(csms);
        self.settle();
    }

    pub fn close(&mut self) {
        self.link.close();
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(e) = self.link.charge_point.poll_event() {
            self.events.push(e);
        }
    }

    /// Drives and answers until nothing moves.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            self.link.drive();
            self.collect();
            let mut answered = false;
            while let Some(event) = self.link.csms.poll_event() {
                match event {
                    endpoint::Event::Request { id, request } => {
                        let action = P::action_name(P::request_action(&request));
                        let payload = serde_json::to_value(&request).unwrap();
                        self.received.push((action.to_owned(), payload.clone()));
                        match (self.responder)(action, &payload) {
                            Reply::Ok(v) => {
                                let response = P::decode_response(action, &v.to_string())
                                    .unwrap_or_else(|e| panic!("test reply for {action}: {e}"));
                                self.link.csms.respond(&id, response).unwrap();
                            }
                            Reply::Error(code) => {
                                self.link.csms.respond_error(&id, code, "").unwrap();
                            }
                            Reply::Hold => {}
                        }
                        answered = true;
                    }
                    endpoint::Event::Response { result, .. } => {
                        self.responses
                            .push(result.map(|r| serde_json::to_value(&r).unwrap()));
                    }
                    other => self.csms_problems.push(format!("{other:?}")),
                }
            }
            if !answered {
                return;
            }
        }
        panic!("never settled");
    }

    /// Moves virtual time by `by`, answering the CSMS's CALLs as they come.
    pub fn advance(&mut self, by: Duration) {
        // What the domain inputs wrote goes out before time moves.
        self.settle();
        let until = self.now() + by;
        loop {
            let next = [
                self.link.charge_point.poll_timeout(),
                self.link.csms.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .filter(|t| *t <= until)
            .min();
            let Some(at) = next else { break };
            let step = at.saturating_duration_since(self.now());
            self.link.advance(step);
            self.settle();
        }
        let rest = until.saturating_duration_since(self.now());
        self.link.advance(rest);
        self.settle();
    }

    /// The CSMS calls `action` with `payload` and returns the answer.
    pub fn call(&mut self, action: &str, payload: Value) -> Result<Value, CallFailure> {
        let request = P::decode_request(action, &payload.to_string())
            .unwrap_or_else(|e| panic!("test request {action}: {e}"));
        let before = self.responses.len();
        self.link.csms.call(self.now(), request).unwrap();
        self.settle();
        assert!(self.responses.len() > before, "no answer to {action}");
        self.responses.remove(before)
    }

    /// The CSMS calls and expects a CALLRESULT.
    pub fn ok(&mut self, action: &str, payload: Value) -> Value {
        self.call(action, payload).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The CALLs received of `action`.
    pub fn received(&self, action: &str) -> Vec<Value> {
        self.received
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Forgets what was received and the events so far.
    pub fn clear(&mut self) {
        self.received.clear();
        self.events.clear();
    }

    /// Asserts that nothing was refused on either side.
    pub fn assert_clean(&self) {
        let refused: Vec<_> = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Refused { .. } | Event::Notice(_)))
            .collect();
        assert!(refused.is_empty(), "the charge point reported {refused:?}");
        assert!(
            self.csms_problems.is_empty(),
            "the CSMS reported {:?}",
            self.csms_problems
        );
        // Every CALLERROR the CSMS saw is one the test asked for.
        let _ = Direction::ToCsms;
    }

    /// The TransactionEvents received, as (eventType, seqNo, triggerReason, offline).
    pub fn tx_events(&self) -> Vec<(String, i64, String, bool)> {
        self.received("TransactionEvent")
            .iter()
            .map(|p| {
                (
                    p["eventType"].as_str().unwrap().to_owned(),
                    p["seqNo"].as_i64().unwrap(),
                    p["triggerReason"].as_str().unwrap().to_owned(),
                    p["offline"].as_bool().unwrap_or(false),
                )
            })
            .collect()
    }
}

pub fn version_of<P: Protocol>() -> Version {
    match P::VERSION {
        ocpp_types::Version::V201 => Version::V201,
        _ => Version::V21,
    }
}

/// A harness of `P`'s version with the standard config, connected.
pub fn connected<P: Protocol>() -> Harness<P> {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    h.connect();
    h
}
