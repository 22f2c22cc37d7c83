//! An endpoint of every version and both roles, fed the input line by line.
//!
//! The first byte picks the configuration (bit 0: lenient tolerance, bit 1:
//! a 1 KiB frame limit). The rest is split at `\n`; each line is a text from
//! the peer, except these commands:
//!
//! * `!a<n>` / `!e<n>`: answer open request number `n` (mod the count) with
//!   a response / a CALLERROR;
//! * `!c`: make a call of our own; `!r` / `!R`: the peer answers it with a
//!   CALLRESULT / a CALLERROR;
//! * `!t<n>`: `n` seconds pass.
//!
//! After every step it checks the invariants of
//! `ocpp-rpc/tests/robustness.rs`: one reply per CALL with a free id, none
//! for a second CALL with an unanswered id, nothing for replies and SENDs
//! except the 2.1 CALLRESULTERROR exactly when our call resolves as
//! invalid, own calls one at a time and resolved once each, in order, and
//! afterwards a working endpoint.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ocpp_rpc::endpoint::{
    CallError, CallFailure, CallId, Config, Endpoint, Event, SequentialIds, Tolerance,
};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::frame::{Frame, FrameError, MessageType};
use ocpp_types::{Protocol, Role, Version, v16, v21, v201};
use serde_json::Value;

const TIME: &str = r#"{"currentTime":"2025-01-01T00:00:00Z"}"#;
const ACCEPTED: &str = r#"{"status":"Accepted"}"#;

/// A valid response payload for the actions the dictionary names.
fn response_payload(version: Version, action: &str) -> Option<&'static str> {
    let v16 = version == Version::V16;
    Some(match action {
        "Heartbeat" => TIME,
        "BootNotification" => {
            r#"{"status":"Accepted","currentTime":"2025-01-01T00:00:00Z","interval":300}"#
        }
        "StatusNotification" | "MeterValues" | "TransactionEvent" | "StopTransaction" => "{}",
        "Authorize" if v16 => r#"{"idTagInfo":{"status":"Accepted"}}"#,
        "Authorize" => r#"{"idTokenInfo":{"status":"Accepted"}}"#,
        "ClearCache" | "Reset" | "DataTransfer" | "ChangeAvailability" => ACCEPTED,
        _ => return None,
    })
}

/// What our side calls by itself; both take `{}`.
fn own_action(role: Role) -> &'static str {
    match role {
        Role::ChargePoint => "Heartbeat",
        Role::Csms => "ClearCache",
    }
}

fn other(role: Role) -> Role {
    match role {
        Role::ChargePoint => Role::Csms,
        Role::Csms => Role::ChargePoint,
    }
}

const V16_CODES: &[&str] = &[
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
];

const V2_CODES: &[&str] = &[
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormatViolation",
    "PropertyConstraintViolation",
    "OccurrenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
    "MessageTypeNotSupported",
    "RpcFrameworkError",
];

/// The error codes `version` spells.
fn codes(version: Version) -> &'static [&'static str] {
    if version == Version::V16 {
        V16_CODES
    } else {
        V2_CODES
    }
}

/// A frame the endpoint wrote: type, id, and for error frames the code and
/// description.
struct Out {
    text: String,
    message_type: u64,
    id: String,
    error: Option<(String, String)>,
}

fn read_out(text: String) -> Out {
    let parts: Vec<Value> = serde_json::from_str(&text).expect("the endpoint writes arrays");
    let message_type = parts[0].as_u64().expect("a type");
    let id = parts[1].as_str().expect("a string id").to_owned();
    assert!(id.chars().count() <= 36, "over-long id in `{text}`");
    let error = match &parts[..] {
        [
            _,
            _,
            Value::String(code),
            Value::String(description),
            Value::Object(_),
        ] => Some((code.clone(), description.clone())),
        _ => None,
    };
    assert!(
        (message_type == 4 || message_type == 5) == error.is_some(),
        "`{text}`"
    );
    Out {
        text,
        message_type,
        id,
        error,
    }
}

struct Step<P: Protocol> {
    replies: Vec<Out>,
    own_call_sent: bool,
    requests: Vec<(String, &'static str)>,
    resolution: Option<Result<P::AnyResponse, CallFailure>>,
    events: usize,
}

struct Harness<P: Protocol> {
    endpoint: Endpoint<P>,
    role: Role,
    max_frame_len: usize,
    now: Instant,
    open: Vec<(String, &'static str)>,
    in_flight: Option<String>,
    calls: Vec<CallId>,
    resolved: usize,
}

impl<P: Protocol> Harness<P> {
    fn new(role: Role, lenient: bool, small_frames: bool) -> Self {
        let now = Instant::now();
        let mut config = Config::new(role);
        if lenient {
            config.tolerance = Tolerance::lenient();
        }
        if small_frames {
            config.max_frame_len = 1024;
        }
        let max_frame_len = config.max_frame_len;
        Harness {
            endpoint: Endpoint::with_ids(config, Box::new(SequentialIds::new("own-")), now),
            role,
            max_frame_len,
            now,
            open: Vec::new(),
            in_flight: None,
            calls: Vec::new(),
            resolved: 0,
        }
    }

    fn is_open(&self, id: &str) -> bool {
        self.open.iter().any(|(open, _)| open == id)
    }

    fn drain(&mut self) -> Step<P> {
        let mut step = Step {
            replies: Vec::new(),
            own_call_sent: false,
            requests: Vec::new(),
            resolution: None,
            events: 0,
        };
        let mut own_calls = Vec::new();
        while let Some(text) = self.endpoint.poll_transmit() {
            let out = read_out(text);
            match out.message_type {
                2 => own_calls.push(out),
                3..=5 => step.replies.push(out),
                _ => panic!("an unexpected frame `{}`", out.text),
            }
        }
        for reply in &step.replies {
            if let Some((code, description)) = &reply.error {
                assert!(
                    codes(P::VERSION).contains(&code.as_str()),
                    "`{}`",
                    reply.text
                );
                assert!(description.chars().count() <= 255, "`{}`", reply.text);
            }
        }
        while let Some(event) = self.endpoint.poll_event() {
            step.events += 1;
            match event {
                Event::Request { id, request } => {
                    step.requests
                        .push((id, P::action_name(P::request_action(&request))));
                }
                Event::Response { call, result } => {
                    assert!(step.resolution.is_none(), "two calls resolved in one step");
                    assert_eq!(self.calls.get(self.resolved), Some(&call), "out of order");
                    self.resolved += 1;
                    self.in_flight = None;
                    step.resolution = Some(result);
                }
                _ => {}
            }
        }
        assert!(own_calls.len() <= 1, "two own calls went out at once");
        if let Some(call) = own_calls.pop() {
            assert!(self.in_flight.is_none(), "`{}` beside another", call.text);
            self.in_flight = Some(call.id);
            step.own_call_sent = true;
        }
        assert_eq!(self.endpoint.has_call_in_flight(), self.in_flight.is_some());
        step
    }

    fn text(&mut self, text: &str) {
        let own = self.in_flight.clone();
        let is_own = |id: &str| own.as_deref() == Some(id);
        let parsed = Frame::parse(text, P::VERSION, self.max_frame_len);
        self.endpoint.handle_text(self.now, text);
        let step = self.drain();
        let replies: Vec<&str> = step.replies.iter().map(|r| r.text.as_str()).collect();
        assert!(step.events > 0, "`{text}` was not reported");
        assert!(
            step.replies.iter().all(|r| r.message_type != 3),
            "{replies:?}"
        );
        for reply in &step.replies {
            if let Some((_, description)) = &reply.error {
                assert!(
                    text.chars().count() <= 16 || !description.contains(text),
                    "{replies:?} echoes `{text}`"
                );
            }
        }
        let one_error_to =
            |id: &str| matches!(&step.replies[..], [one] if one.message_type == 4 && one.id == id);
        let delivered = !step.requests.is_empty();
        // A reply, well-formed or not, with the id of our call in flight.
        let reply_to_own = match &parsed {
            Ok(Frame::CallResult { id, .. }) if is_own(id) => Some(true),
            Ok(Frame::CallError { id, .. }) if is_own(id) => Some(false),
            Err(FrameError::Malformed {
                message_type: message_type @ (MessageType::CallResult | MessageType::CallError),
                id,
                ..
            }) if is_own(id) => Some(*message_type == MessageType::CallResult),
            _ => None,
        };
        if let Some(is_result) = reply_to_own {
            return self.reply_to_own(text, own.as_deref().unwrap_or(""), is_result, &step);
        }
        assert!(step.resolution.is_none(), "`{text}` resolved our call");
        match parsed {
            Ok(Frame::Call { id, .. }) if !self.is_open(&id) => {
                if delivered {
                    assert!(replies.is_empty(), "`{text}`: {replies:?} and delivered");
                    assert_eq!(step.requests.len(), 1);
                    assert_eq!(step.requests[0].0, id);
                    self.open.push(step.requests[0].clone());
                } else {
                    assert!(one_error_to(&id), "`{text}`: {replies:?}");
                }
            }
            Err(FrameError::Malformed {
                message_type: MessageType::Call,
                id,
                ..
            }) if !self.is_open(&id) => {
                assert!(!delivered && one_error_to(&id), "`{text}`: {replies:?}");
            }
            Err(FrameError::NotAnArray(_) | FrameError::NoMessageType | FrameError::BadId) => {
                assert!(!delivered);
                let expected: &[&str] = if P::VERSION == Version::V16 {
                    &[]
                } else {
                    &[r#"[4,"-1","RpcFrameworkError","",{}]"#]
                };
                assert_eq!(replies, expected, "`{text}`");
            }
            Err(FrameError::TooLarge { .. }) => {
                assert!(!delivered && replies.len() <= 1, "`{text}`: {replies:?}");
                if let [one] = &step.replies[..] {
                    assert_eq!(one.message_type, 4);
                    assert!(
                        one.id == "-1" || !self.is_open(&one.id),
                        "a second reply {replies:?} to the unanswered CALL `{}`",
                        one.id
                    );
                }
            }
            // A second CALL with an unanswered id, a reply to nothing, a SEND,
            // an unknown message type: nothing goes out.
            _ => {
                assert!(!delivered, "`{text}` delivered");
                assert!(replies.is_empty(), "`{text}`: {replies:?}");
            }
        }
    }

    fn reply_to_own(&self, text: &str, id: &str, is_result: bool, step: &Step<P>) {
        assert!(step.requests.is_empty());
        let resolution = step
            .resolution
            .as_ref()
            .expect("the reply resolves our call");
        let invalid = matches!(resolution, Err(CallFailure::InvalidResponse(_)));
        let refused = match &step.replies[..] {
            [] => false,
            [one] if one.message_type == 5 && one.id == id => true,
            other => panic!("`{text}` answered with {} frames", other.len()),
        };
        let v21 = P::VERSION == Version::V21;
        assert_eq!(refused, invalid && is_result && v21, "`{text}`");
    }

    fn answer(&mut self, at: usize, with_error: bool) {
        let (id, action) = self.open.remove(at);
        match response_payload(P::VERSION, action) {
            Some(payload) if !with_error => {
                let response = P::decode_response(action, payload).expect("a valid response");
                self.endpoint.respond(&id, response).expect("answered");
            }
            _ => self
                .endpoint
                .respond_error(&id, ErrorCode::InternalError, "no")
                .expect("answered"),
        }
        assert!(
            self.endpoint
                .respond_error(&id, ErrorCode::GenericError, "")
                .is_err()
        );
        let step = self.drain();
        assert!(
            matches!(&step.replies[..], [one] if one.id == id && matches!(one.message_type, 3 | 4)),
            "the answer to `{id}`"
        );
        assert!(!step.own_call_sent && step.resolution.is_none());
    }

    fn call(&mut self) {
        let was_idle = self.in_flight.is_none();
        let request = P::decode_request(own_action(self.role), "{}").expect("valid");
        match self.endpoint.call(self.now, request) {
            Ok(call) => self.calls.push(call),
            Err(CallError::QueueFull(_)) => return,
            Err(e) => panic!("our call was refused: {e}"),
        }
        let step = self.drain();
        assert_eq!(step.own_call_sent, was_idle);
        assert!(step.replies.is_empty() && step.events == 0);
    }

    fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        let before = self.in_flight.is_some();
        self.endpoint.handle_timeout(self.now);
        let step = self.drain();
        assert!(step.replies.is_empty());
        if let Some(result) = step.resolution {
            assert!(before && result == Err(CallFailure::Timeout));
        }
    }

    fn line(&mut self, line: &[u8]) {
        let number = || {
            std::str::from_utf8(&line[2..])
                .ok()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match line {
            [b'!', kind @ (b'a' | b'e'), ..] if !self.open.is_empty() => {
                let at = (number() % self.open.len() as u64) as usize;
                self.answer(at, *kind == b'e');
            }
            [b'!', b'a' | b'e', ..] => {}
            [b'!', b'c', ..] => self.call(),
            [b'!', b't', ..] => self.advance(number() % 100),
            [b'!', kind @ (b'r' | b'R'), ..] => {
                if let Some(id) = self.in_flight.clone() {
                    let id = serde_json::to_string(&id).expect("a string");
                    let text = match response_payload(P::VERSION, own_action(self.role)) {
                        Some(payload) if *kind == b'r' => format!("[3,{id},{payload}]"),
                        _ => format!(r#"[4,{id},"GenericError","",{{}}]"#),
                    };
                    self.text(&text);
                }
            }
            _ => self.text(&String::from_utf8_lossy(line)),
        }
    }

    fn finish(mut self) {
        while !self.open.is_empty() {
            self.answer(0, false);
        }
        for _ in 0..=self.calls.len() {
            if self.in_flight.is_none() {
                break;
            }
            self.advance(60);
        }
        assert_eq!(self.resolved, self.calls.len(), "a call never resolved");
        // The peer's call is served.
        let action = own_action(other(self.role));
        self.text(&format!(r#"[2,"liveness-1","{action}",{{}}]"#));
        assert_eq!(self.open.len(), 1, "the peer's call was not delivered");
        self.answer(0, false);
        // Our call round-trips with a fresh peer.
        let mut peer = Endpoint::<P>::new(Config::new(other(self.role)), self.now);
        let request = P::decode_request(own_action(self.role), "{}").expect("valid");
        let call = self.endpoint.call(self.now, request).expect("a call");
        let sent = self.endpoint.poll_transmit().expect("the call goes out");
        peer.handle_text(self.now, &sent);
        let Some(Event::Request { id, request }) = peer.poll_event() else {
            panic!("the peer did not get `{sent}`");
        };
        let action = P::action_name(P::request_action(&request));
        let payload = response_payload(P::VERSION, action).expect("a response");
        let response = P::decode_response(action, payload).expect("valid");
        peer.respond(&id, response).expect("answered");
        let reply = peer.poll_transmit().expect("a reply");
        self.endpoint.handle_text(self.now, &reply);
        assert!(matches!(
            self.endpoint.poll_event(),
            Some(Event::Response { call: c, result: Ok(_) }) if c == call
        ));
        assert!(self.endpoint.poll_transmit().is_none());
    }
}

fn run<P: Protocol>(role: Role, setup: u8, lines: &[&[u8]]) {
    let mut harness = Harness::<P>::new(role, setup & 1 != 0, setup & 2 != 0);
    for line in lines {
        harness.line(line);
    }
    harness.finish();
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(64).collect();
    for role in [Role::ChargePoint, Role::Csms] {
        run::<v16::V16>(role, setup, &lines);
        run::<v201::V201>(role, setup, &lines);
        run::<v21::V21>(role, setup, &lines);
    }
});
