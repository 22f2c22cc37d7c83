//! OCPP 1.6 to and from the neutral model: what a charger's request means,
//! and the payloads of the answers and commands.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use ocpp_types::v16::{self, AnyRequest};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::event::{AuthStatus, Authorization, ChargePointInfo, DataTransferAnswer, IdToken};
use super::incoming::{Incoming, Interpreted, stop_reason};
use super::meter::{RawSample, normalise};
use super::{Availability, RemoteStart, ResetKind, TriggerKind};

fn wire<T: ToString>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(ToString::to_string)
}

fn tag(id_tag: &str) -> IdToken {
    IdToken {
        value: id_tag.to_owned(),
        kind: None,
    }
}

/// Reads meter values; unreadable values (signed data, not a number) are
/// left out and described in `deviations`.
fn samples(
    action: &str,
    values: &[v16::MeterValue],
    out: &mut Interpreted,
) -> Vec<super::event::Sample> {
    let mut samples = Vec::new();
    for (i, value) in values.iter().enumerate() {
        for (j, sampled) in value.sampled_value.iter().enumerate() {
            let path = format!("meterValue[{i}].sampledValue[{j}].value");
            if sampled.format == Some(v16::ValueFormat::SignedData) {
                continue;
            }
            let number = Decimal::from_str(sampled.value.trim())
                .or_else(|_| Decimal::from_scientific(sampled.value.trim()));
            let Ok(number) = number else {
                out.deviation(action, path, format!("`{}` is not a number", sampled.value));
                continue;
            };
            let raw = RawSample {
                measurand: wire(&sampled.measurand),
                phase: wire(&sampled.phase),
                unit: wire(&sampled.unit),
                multiplier: 0,
                value: number,
                timestamp: value.timestamp,
                context: wire(&sampled.context),
                location: wire(&sampled.location),
            };
            match normalise(raw) {
                Some(sample) => samples.push(sample),
                None => out.deviation(action, path, "value out of range".into()),
            }
        }
    }
    samples
}

/// What a 1.6 request means.
pub(crate) fn interpret(request: &AnyRequest) -> Interpreted {
    let mut out = Interpreted::default();
    out.incoming = match request {
        AnyRequest::BootNotification(r) => Incoming::Boot {
            info: ChargePointInfo {
                vendor: r.charge_point_vendor.to_string(),
                model: r.charge_point_model.to_string(),
                serial_number: wire(&r.charge_point_serial_number)
                    .or(wire(&r.charge_box_serial_number)),
                firmware_version: wire(&r.firmware_version),
            },
            reason: None,
        },
        AnyRequest::Heartbeat(_) => Incoming::Heartbeat,
        AnyRequest::Authorize(r) => Incoming::Authorize {
            id_token: tag(&r.id_tag),
        },
        AnyRequest::StatusNotification(r) => {
            let (evse, connector) = if r.connector_id == 0 {
                (0, 0)
            } else {
                (r.connector_id, 1)
            };
            let error = (r.error_code != v16::ChargePointErrorCode::NoError)
                .then(|| r.error_code.to_string());
            Incoming::Status {
                evse,
                connector,
                status: r.status.to_string(),
                error,
                info: wire(&r.info).or(wire(&r.vendor_error_code)),
                timestamp: r.timestamp,
            }
        }
        AnyRequest::MeterValues(r) => {
            let samples = samples("MeterValues", &r.meter_value, &mut out);
            Incoming::Meter {
                evse: r.connector_id,
                transaction: r.transaction_id.map(|id| id.to_string()),
                samples,
            }
        }
        AnyRequest::StartTransaction(r) => Incoming::StartV16 {
            connector: r.connector_id,
            id_tag: r.id_tag.to_string(),
            meter_start: r.meter_start,
            timestamp: r.timestamp,
        },
        AnyRequest::StopTransaction(r) => {
            let samples = samples(
                "StopTransaction",
                r.transaction_data.as_deref().unwrap_or_default(),
                &mut out,
            );
            Incoming::StopV16 {
                transaction_id: r.transaction_id,
                meter_stop: r.meter_stop,
                timestamp: r.timestamp,
                reason: r
                    .reason
                    .map_or(super::event::StopReason::Local, |r| stop_reason(r.as_ref())),
                samples,
            }
        }
        AnyRequest::DataTransfer(r) => Incoming::DataTransfer {
            vendor_id: r.vendor_id.to_string(),
            message_id: wire(&r.message_id),
            data: r.data.clone().map(Value::String),
        },
        AnyRequest::FirmwareStatusNotification(r) => Incoming::Firmware {
            status: r.status.to_string(),
            request_id: None,
        },
        AnyRequest::SignedFirmwareStatusNotification(r) => Incoming::Firmware {
            status: r.status.to_string(),
            request_id: r.request_id,
        },
        _ => Incoming::Other,
    };
    out
}

fn auth_status(status: AuthStatus) -> &'static str {
    match status {
        AuthStatus::Accepted => "Accepted",
        AuthStatus::Blocked => "Blocked",
        AuthStatus::Expired => "Expired",
        AuthStatus::ConcurrentTx => "ConcurrentTx",
        // 1.6 has no finer refusals.
        _ => "Invalid",
    }
}

fn id_tag_info(auth: &Authorization) -> Value {
    let mut info = json!({ "status": auth_status(auth.status) });
    if let Some(expiry) = auth.expiry {
        info["expiryDate"] = json!(expiry);
    }
    if let Some(group) = &auth.group {
        info["parentIdTag"] = json!(group);
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
    json!({ "idTagInfo": id_tag_info(auth) })
}

pub(crate) fn start(transaction_id: i32, auth: &Authorization) -> Value {
    json!({ "transactionId": transaction_id, "idTagInfo": id_tag_info(auth) })
}

pub(crate) fn data_transfer(answer: &DataTransferAnswer) -> Value {
    let mut out = json!({ "status": super::incoming::data_transfer_status(answer.status) });
    match &answer.data {
        Some(Value::String(s)) => out["data"] = json!(s),
        Some(other) => out["data"] = json!(other.to_string()),
        None => {}
    }
    out
}

pub(crate) fn remote_start(start: &RemoteStart) -> Value {
    let mut out = json!({ "idTag": start.id_token.value });
    if let Some(evse) = start.evse {
        out["connectorId"] = json!(evse);
    }
    out
}

pub(crate) fn remote_stop(transaction_id: &str) -> Option<Value> {
    let id: i32 = transaction_id.parse().ok()?;
    Some(json!({ "transactionId": id }))
}

pub(crate) fn reset(kind: ResetKind) -> Value {
    let kind = match kind {
        ResetKind::Graceful => "Soft",
        ResetKind::Immediate => "Hard",
    };
    json!({ "type": kind })
}

pub(crate) fn change_availability(a: &Availability) -> Value {
    let kind = if a.operative {
        "Operative"
    } else {
        "Inoperative"
    };
    json!({ "connectorId": a.evse.unwrap_or(0), "type": kind })
}

pub(crate) fn trigger(kind: TriggerKind, evse: Option<i32>) -> Value {
    let mut out = json!({ "requestedMessage": kind.wire_name() });
    if let Some(evse) = evse {
        out["connectorId"] = json!(evse);
    }
    out
}
