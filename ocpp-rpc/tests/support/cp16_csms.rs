//! A scripted 1.6 CSMS for the charge-point tests: a plain CSMS endpoint
//! that answers the charge point's calls by a script the test sets, and
//! helpers to read what went over the wire.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use ocpp_rpc::charge_point::v16::{ChargePoint, Config, Event};
use ocpp_rpc::endpoint::{self, CallFailure, CallId, Endpoint, SequentialIds};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::{Machine, WallClock};
use ocpp_rpc::testing::{Direction, Link};
use ocpp_types::v16::{self, AnyRequest, AnyResponse, V16};
use ocpp_types::{BoundedString, Role};
use serde_json::Value;

pub type L = Link<ChargePoint, Endpoint<V16>>;

pub fn t0() -> DateTime<Utc> {
    "2025-01-01T10:00:00Z".parse().unwrap()
}

pub fn csms_endpoint(now: Instant, prefix: &str) -> Endpoint<V16> {
    Endpoint::with_ids(
        endpoint::Config::new(Role::Csms),
        Box::new(SequentialIds::new(prefix)),
        now,
    )
}

pub fn config(connectors: u32) -> Config {
    Config::new("Acme", "Model-1", connectors)
}

/// How the scripted CSMS answers.
pub struct Script {
    pub origin: Instant,
    pub boot: Vec<v16::RegistrationStatus>,
    pub boot_interval: i32,
    pub authorize: v16::AuthorizationStatus,
    pub start_status: v16::AuthorizationStatus,
    pub next_tx_id: i32,
    /// Actions answered with a CALLERROR.
    pub fail: Vec<&'static str>,
    /// Actions left unanswered.
    pub silent: Vec<&'static str>,
    pub seen: Vec<AnyRequest>,
    pub responses: HashMap<CallId, Result<AnyResponse, CallFailure>>,
}

impl Script {
    pub fn new(origin: Instant) -> Self {
        Script {
            origin,
            boot: vec![v16::RegistrationStatus::Accepted],
            boot_interval: 300,
            authorize: v16::AuthorizationStatus::Accepted,
            start_status: v16::AuthorizationStatus::Accepted,
            next_tx_id: 1,
            fail: Vec::new(),
            silent: Vec::new(),
            seen: Vec::new(),
            responses: HashMap::new(),
        }
    }

    pub fn utc(&self, now: Instant) -> DateTime<Utc> {
        WallClock::new(self.origin, t0()).at(now)
    }

    fn info(status: v16::AuthorizationStatus) -> v16::IdTagInfo {
        v16::IdTagInfo {
            expiry_date: None,
            parent_id_tag: None,
            status,
        }
    }

    fn answer(&mut self, now: Instant, request: &AnyRequest) -> Option<AnyResponse> {
        let utc = self.utc(now);
        Some(match request {
            AnyRequest::BootNotification(_) => {
                let status = if self.boot.len() > 1 {
                    self.boot.remove(0)
                } else {
                    self.boot[0]
                };
                v16::BootNotificationResponse {
                    current_time: utc,
                    interval: self.boot_interval,
                    status,
                }
                .into()
            }
            AnyRequest::Heartbeat(_) => v16::HeartbeatResponse { current_time: utc }.into(),
            AnyRequest::StatusNotification(_) => v16::StatusNotificationResponse {}.into(),
            AnyRequest::Authorize(_) => v16::AuthorizeResponse {
                id_tag_info: Self::info(self.authorize),
            }
            .into(),
            AnyRequest::StartTransaction(_) => {
                let id = self.next_tx_id;
                self.next_tx_id += 1;
                v16::StartTransactionResponse {
                    id_tag_info: Self::info(self.start_status),
                    transaction_id: id,
                }
                .into()
            }
            AnyRequest::StopTransaction(_) => {
                v16::StopTransactionResponse { id_tag_info: None }.into()
            }
            AnyRequest::MeterValues(_) => v16::MeterValuesResponse {}.into(),
            AnyRequest::DataTransfer(_) => v16::DataTransferResponse {
                data: Some("ok".into()),
                status: v16::DataTransferStatus::Accepted,
            }
            .into(),
            AnyRequest::DiagnosticsStatusNotification(_) => {
                v16::DiagnosticsStatusNotificationResponse {}.into()
            }
            AnyRequest::FirmwareStatusNotification(_) => {
                v16::FirmwareStatusNotificationResponse {}.into()
            }
            AnyRequest::SignCertificate(_) => v16::SignCertificateResponse {
                status: v16::GenericStatusEnum::Accepted,
            }
            .into(),
            AnyRequest::SecurityEventNotification(_) => {
                v16::SecurityEventNotificationResponse {}.into()
            }
            AnyRequest::LogStatusNotification(_) => v16::LogStatusNotificationResponse {}.into(),
            AnyRequest::SignedFirmwareStatusNotification(_) => {
                v16::SignedFirmwareStatusNotificationResponse {}.into()
            }
            _ => return None,
        })
    }
}

fn action_of(request: &AnyRequest) -> &'static str {
    match request {
        AnyRequest::BootNotification(_) => "BootNotification",
        AnyRequest::Heartbeat(_) => "Heartbeat",
        AnyRequest::StatusNotification(_) => "StatusNotification",
        AnyRequest::Authorize(_) => "Authorize",
        AnyRequest::StartTransaction(_) => "StartTransaction",
        AnyRequest::StopTransaction(_) => "StopTransaction",
        AnyRequest::MeterValues(_) => "MeterValues",
        AnyRequest::DataTransfer(_) => "DataTransfer",
        _ => "other",
    }
}

/// Drives the link, the CSMS answering by `script`, until nothing moves.
pub fn settle(link: &mut L, script: &mut Script) {
    loop {
        link.drive();
        let now = link.now();
        let mut any = false;
        while let Some(event) = link.csms.poll_event() {
            any = true;
            match event {
                endpoint::Event::Request { id, request } => {
                    script.seen.push(request.clone());
                    let action = action_of(&request);
                    if script.silent.contains(&action) {
                        continue;
                    }
                    if script.fail.contains(&action) {
                        link.csms
                            .respond_error(&id, ErrorCode::InternalError, "scripted failure")
                            .unwrap();
                        continue;
                    }
                    if let Some(response) = script.answer(now, &request) {
                        link.csms.respond(&id, response).unwrap();
                    }
                }
                endpoint::Event::Response { call, result } => {
                    script.responses.insert(call, result);
                }
                other => panic!("the CSMS saw {other:?}"),
            }
        }
        if !any {
            return;
        }
    }
}

/// Advances time by `secs` in one-second steps, the CSMS answering.
pub fn advance(link: &mut L, script: &mut Script, secs: u64) {
    for _ in 0..secs {
        link.advance(Duration::from_secs(1));
        settle(link, script);
    }
}

/// A CSMS call to the charge point; its answer.
pub fn csms_call(
    link: &mut L,
    script: &mut Script,
    request: impl Into<AnyRequest>,
) -> Result<AnyResponse, CallFailure> {
    let now = link.now();
    let call = link.csms.call(now, request).unwrap();
    settle(link, script);
    script.responses.remove(&call).expect("answered")
}

/// A charge point made at the origin of virtual time with `config`, not connected.
pub fn link_with(config: Config) -> (L, Script) {
    let now = Instant::now();
    let cp = ChargePoint::new(config, WallClock::new(now, t0()), now);
    (
        Link::between(cp, csms_endpoint(now, "cs-"), now),
        Script::new(now),
    )
}

/// Connected and registered (Accepted).
pub fn registered(connectors: u32) -> (L, Script) {
    let (mut link, mut script) = link_with(config(connectors));
    link.connect();
    settle(&mut link, &mut script);
    (link, script)
}

pub fn events(link: &mut L) -> Vec<Event> {
    std::iter::from_fn(|| link.charge_point.poll_event()).collect()
}

/// The CALLs the charge point sent, as (action, payload), in order.
pub fn calls(link: &L) -> Vec<(String, Value)> {
    link.frames_to(Direction::ToCsms)
        .iter()
        .filter_map(|f| {
            let v: Value = serde_json::from_str(f).unwrap();
            (v[0] == 2).then(|| (v[2].as_str().unwrap().to_owned(), v[3].clone()))
        })
        .collect()
}

pub fn calls_of(link: &L, action: &str) -> Vec<Value> {
    calls(link)
        .into_iter()
        .filter(|(a, _)| a == action)
        .map(|(_, p)| p)
        .collect()
}

/// Fails if either side refused or errored anything.
pub fn assert_clean(link: &L) {
    assert_eq!(
        link.charge_point.refused_calls(),
        0,
        "outgoing frames refused"
    );
    for (d, f) in link.frames() {
        let v: Value = serde_json::from_str(f).unwrap();
        if *d == Direction::ToCsms {
            assert_ne!(v[0], 4, "the charge point answered with an error: {f}");
        }
    }
}

pub fn tag<const N: usize>(s: &str) -> BoundedString<N> {
    BoundedString::new(s).unwrap()
}

pub fn after(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    t + TimeDelta::seconds(secs)
}

pub fn statuses(link: &L) -> Vec<(i64, String)> {
    calls_of(link, "StatusNotification")
        .iter()
        .map(|p| {
            (
                p["connectorId"].as_i64().unwrap(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn drain_cp(link: &mut L) {
    while link.charge_point.poll_event().is_some() {}
}

pub fn now(link: &L) -> Instant {
    link.now()
}

pub fn set(link: &mut L, key: &str, value: &str) {
    link.charge_point
        .configuration_mut()
        .set_local(key, value)
        .unwrap();
}
