//! OCPP 2.0.1 and 2.1 to and from the neutral model. 2.1 messages are
//! 2.0.1's plus optional members, so one reader (generated per version by a
//! macro over the same field names) and one set of payload builders serve
//! both.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::{AuthStatus, Authorization, DataTransferAnswer, IdToken, Sample};
use super::incoming::{Incoming, Interpreted, Problem, TxEvent, TxPhase, stop_reason};
use super::meter::{RawSample, normalise};
use super::{Availability, RemoteStart, ResetKind, TriggerKind};

fn wire<T: ToString>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(ToString::to_string)
}

macro_rules! reader {
    ($name:ident, $version:ident) => {
        /// What a request of this version means.
        pub(crate) fn $name(request: &ocpp_types::$version::AnyRequest) -> Interpreted {
            use ocpp_types::$version::{AnyRequest, MeterValue};

            fn token(t: &ocpp_types::$version::IdToken) -> IdToken {
                IdToken {
                    value: t.id_token.to_string(),
                    kind: Some(t.kind.to_string()),
                }
            }

            fn samples(action: &str, values: &[MeterValue], out: &mut Interpreted) -> Vec<Sample> {
                let mut samples = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    for (j, sampled) in value.sampled_value.iter().enumerate() {
                        let uom = sampled.unit_of_measure.as_ref();
                        let raw = RawSample {
                            measurand: wire(&sampled.measurand),
                            phase: wire(&sampled.phase),
                            unit: uom.and_then(|u| wire(&u.unit)),
                            multiplier: uom.and_then(|u| u.multiplier).unwrap_or(0),
                            value: sampled.value,
                            timestamp: value.timestamp,
                            context: wire(&sampled.context),
                            location: wire(&sampled.location),
                        };
                        match normalise(raw) {
                            Some(sample) => samples.push(sample),
                            None => out.deviation(
                                action,
                                format!("meterValue[{i}].sampledValue[{j}]"),
                                "value out of range".into(),
                            ),
                        }
                    }
                }
                samples
            }

            let mut out = Interpreted::default();
            out.incoming = match request {
                AnyRequest::BootNotification(r) => Incoming::Boot {
                    info: super::event::ChargePointInfo {
                        vendor: r.charging_station.vendor_name.to_string(),
                        model: r.charging_station.model.to_string(),
                        serial_number: wire(&r.charging_station.serial_number),
                        firmware_version: wire(&r.charging_station.firmware_version),
                    },
                    reason: Some(r.reason.to_string()),
                },
                AnyRequest::Heartbeat(_) => Incoming::Heartbeat,
                AnyRequest::Authorize(r) => Incoming::Authorize {
                    id_token: token(&r.id_token),
                },
                AnyRequest::StatusNotification(r) => Incoming::Status {
                    evse: r.evse_id,
                    connector: r.connector_id,
                    status: r.connector_status.to_string(),
                    error: None,
                    info: None,
                    timestamp: Some(r.timestamp),
                },
                AnyRequest::MeterValues(r) => {
                    let samples = samples("MeterValues", &r.meter_value, &mut out);
                    Incoming::Meter {
                        evse: r.evse_id,
                        transaction: None,
                        samples,
                    }
                }
                AnyRequest::TransactionEvent(r) => {
                    let phase = match r.event_type.to_string().as_str() {
                        "Started" => TxPhase::Started,
                        "Ended" => TxPhase::Ended,
                        _ => TxPhase::Updated,
                    };
                    let samples = samples(
                        "TransactionEvent",
                        r.meter_value.as_deref().unwrap_or_default(),
                        &mut out,
                    );
                    Incoming::Transaction(TxEvent {
                        phase,
                        id: r.transaction_info.transaction_id.to_string(),
                        seq_no: r.seq_no,
                        timestamp: r.timestamp,
                        evse: r.evse.as_ref().map(|e| (e.id, e.connector_id)),
                        id_token: r.id_token.as_ref().map(token),
                        samples,
                        stopped_reason: r
                            .transaction_info
                            .stopped_reason
                            .as_ref()
                            .map(|s| stop_reason(&s.to_string())),
                    })
                }
                AnyRequest::DataTransfer(r) => Incoming::DataTransfer {
                    vendor_id: r.vendor_id.to_string(),
                    message_id: wire(&r.message_id),
                    data: r.data.clone(),
                },
                AnyRequest::FirmwareStatusNotification(r) => Incoming::Firmware {
                    status: r.status.to_string(),
                    request_id: r.request_id,
                },
                AnyRequest::NotifyEvent(r) => {
                    let mut problems = Vec::new();
                    let mut statuses = Vec::new();
                    for data in &r.event_data {
                        let evse = data.component.evse.as_ref();
                        let (evse, connector) = (
                            evse.map_or(0, |e| e.id),
                            evse.and_then(|e| e.connector_id).unwrap_or(0),
                        );
                        let variable = data.variable.name.as_str();
                        let value = data.actual_value.as_str();
                        if variable == "Problem" && value.eq_ignore_ascii_case("true") {
                            problems.push(Problem {
                                evse,
                                connector,
                                code: wire(&data.tech_code)
                                    .unwrap_or_else(|| data.component.name.to_string()),
                                info: wire(&data.tech_info),
                            });
                        } else if variable == "AvailabilityState"
                            && data.component.name.as_str() == "Connector"
                        {
                            statuses.push((evse, connector, value.to_owned()));
                        }
                    }
                    Incoming::Notify { problems, statuses }
                }
                _ => Incoming::Other,
            };
            out
        }
    };
}

reader!(interpret_v201, v201);
reader!(interpret_v21, v21);

fn auth_status(status: AuthStatus) -> &'static str {
    match status {
        AuthStatus::Accepted => "Accepted",
        AuthStatus::Blocked => "Blocked",
        AuthStatus::Expired => "Expired",
        AuthStatus::Invalid => "Invalid",
        AuthStatus::ConcurrentTx => "ConcurrentTx",
        AuthStatus::Unknown => "Unknown",
        AuthStatus::NoCredit => "NoCredit",
        AuthStatus::NotAllowedTypeEvse => "NotAllowedTypeEVSE",
        AuthStatus::NotAtThisLocation => "NotAtThisLocation",
        AuthStatus::NotAtThisTime => "NotAtThisTime",
    }
}

fn id_token_info(auth: &Authorization) -> Value {
    let mut info = json!({ "status": auth_status(auth.status) });
    if let Some(expiry) = auth.expiry {
        info["cacheExpiryDateTime"] = json!(expiry);
    }
    if let Some(group) = &auth.group {
        info["groupIdToken"] = json!({ "idToken": group, "type": "Central" });
    }
    info
}

pub(crate) fn boot(status: &str, interval: u32, now: DateTime<Utc>) -> Value {
    let interval = i32::try_from(interval).unwrap_or(i32::MAX);
    json!({ "status": status, "interval": interval, "currentTime": now })
}

pub(crate) fn heartbeat(now: DateTime<Utc>) -> Value {
    json!({ "currentTime": now })
}

pub(crate) fn authorize(auth: &Authorization) -> Value {
    json!({ "idTokenInfo": id_token_info(auth) })
}

pub(crate) fn transaction_event(auth: Option<&Authorization>) -> Value {
    match auth {
        Some(auth) => json!({ "idTokenInfo": id_token_info(auth) }),
        None => json!({}),
    }
}

pub(crate) fn data_transfer(answer: &DataTransferAnswer) -> Value {
    let mut out = json!({ "status": super::incoming::data_transfer_status(answer.status) });
    if let Some(data) = &answer.data {
        out["data"] = data.clone();
    }
    out
}

pub(crate) fn remote_start(start: &RemoteStart) -> Value {
    let kind = start.id_token.kind.as_deref().unwrap_or("Central");
    let mut out = json!({
        "idToken": { "idToken": start.id_token.value, "type": kind },
        "remoteStartId": start.remote_start_id,
    });
    if let Some(evse) = start.evse {
        out["evseId"] = json!(evse);
    }
    out
}

pub(crate) fn remote_stop(transaction_id: &str) -> Value {
    json!({ "transactionId": transaction_id })
}

pub(crate) fn reset(kind: ResetKind, evse: Option<i32>) -> Value {
    let kind = match kind {
        ResetKind::Graceful => "OnIdle",
        ResetKind::Immediate => "Immediate",
    };
    let mut out = json!({ "type": kind });
    if let Some(evse) = evse {
        out["evseId"] = json!(evse);
    }
    out
}

fn evse(evse: Option<i32>, connector: Option<i32>) -> Option<Value> {
    let mut out = json!({ "id": evse? });
    if let Some(connector) = connector {
        out["connectorId"] = json!(connector);
    }
    Some(out)
}

pub(crate) fn change_availability(a: &Availability) -> Value {
    let status = if a.operative {
        "Operative"
    } else {
        "Inoperative"
    };
    let mut out = json!({ "operationalStatus": status });
    if let Some(e) = evse(a.evse, a.connector) {
        out["evse"] = e;
    }
    out
}

pub(crate) fn trigger(kind: TriggerKind, evse_id: Option<i32>, connector: Option<i32>) -> Value {
    let mut out = json!({ "requestedMessage": kind.wire_name() });
    if let Some(e) = evse(evse_id, connector) {
        out["evse"] = e;
    }
    out
}
