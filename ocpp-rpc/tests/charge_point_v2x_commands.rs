//! The 2.0.1 / 2.1 charge point answering the CSMS: device model,
//! reports, remote commands, authorization, smart charging.

#[macro_use]
mod cp2x_support;

use std::time::Duration;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::Event;
use ocpp_rpc::endpoint::CallFailure;
use ocpp_rpc::error::ErrorCode;
use ocpp_types::{Protocol, v21};
use serde_json::{Value, json};

both_versions!(
    get_and_set_variables,
    base_report_in_parts,
    custom_report_filters,
    remote_start_and_stop,
    reset,
    change_availability,
    unlock_connector,
    reservations,
    trigger_message,
    data_transfer,
    local_list_cache_and_offline_authorization,
    smart_charging,
    aligned_meter_values,
    faults_notify_and_unsupported_actions,
);

fn var(component: &str, name: &str) -> Value {
    json!({"component": {"name": component}, "variable": {"name": name}})
}

fn get_and_set_variables<P: Protocol>() {
    let mut h = connected::<P>();
    let item = |c: &str, v: &str, inst: Option<&str>| {
        let mut x = var(c, v);
        if let Some(i) = inst {
            x["variable"]["instance"] = json!(i);
        }
        x
    };
    let mut connector = item("Connector", "ConnectorType", None);
    connector["component"]["evse"] = json!({"id": 1, "connectorId": 1});
    let mut target = item("TxCtrlr", "TxStartPoint", None);
    target["attributeType"] = json!("Target");
    let r = h.ok(
        "GetVariables",
        json!({"getVariableData": [
            item("TxCtrlr", "TxStartPoint", None),
            item("OCPPCommCtrlr", "MessageAttempts", Some("TransactionEvent")),
            item("NoSuchCtrlr", "X", None),
            item("TxCtrlr", "NoSuchVariable", None),
            item("SecurityCtrlr", "BasicAuthPassword", None),
            target,
            connector,
            item("AuthCtrlr", "LocalPreAuthorization", None),
        ]}),
    );
    let results = r["getVariableResult"].as_array().unwrap();
    let statuses: Vec<_> = results
        .iter()
        .map(|x| x["attributeStatus"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "Accepted",
            "Accepted",
            "UnknownComponent",
            "UnknownVariable",
            "Rejected",
            "NotSupportedAttributeType",
            "Accepted",
            "Accepted"
        ]
    );
    assert_eq!(results[0]["attributeValue"], "PowerPathClosed");
    assert_eq!(results[1]["attributeValue"], "3");
    assert_eq!(results[6]["attributeValue"], "cType2");
    assert!(results[4].get("attributeValue").is_none());

    let set = |c: &str, v: &str, value: &str| {
        let mut x = var(c, v);
        x["attributeValue"] = json!(value);
        x
    };
    let r = h.ok(
        "SetVariables",
        json!({"setVariableData": [
            set("TxCtrlr", "TxStartPoint", "EVConnected,Authorized"),
            set("TxCtrlr", "TxStartPoint", "Nonsense"),
            set("SecurityCtrlr", "CertificateEntries", "5"),
            set("NoSuchCtrlr", "X", "1"),
            set("TxCtrlr", "Nope", "1"),
            set("SampledDataCtrlr", "TxUpdatedInterval", "-1"),
            set("SecurityCtrlr", "BasicAuthPassword", "a-long-enough-password"),
            set("AuthCtrlr", "LocalAuthorizationOffline", "false"),
        ]}),
    );
    let statuses: Vec<_> = r["setVariableResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["attributeStatus"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "Accepted",
            "Rejected",
            "Rejected",
            "UnknownComponent",
            "UnknownVariable",
            "Rejected",
            "RebootRequired",
            "Accepted"
        ]
    );
    // More items than ItemsPerMessage[GetVariables] (16): refused whole.
    let many: Vec<Value> = (0..17)
        .map(|_| item("TxCtrlr", "TxStartPoint", None))
        .collect();
    match h.call("GetVariables", json!({ "getVariableData": many })) {
        Err(CallFailure::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::OccurrenceConstraintViolation)
        }
        other => panic!("{other:?}"),
    }
    let now = h.now();
    assert_eq!(
        h.cp().variable("TxCtrlr/TxStartPoint", now).unwrap(),
        "EVConnected,Authorized"
    );
    assert_eq!(
        h.cp()
            .variable("AuthCtrlr/LocalAuthorizeOffline", now)
            .unwrap(),
        "false"
    );
    assert!(h.events.contains(&Event::StateChanged));
    // The written value survives a snapshot.
    assert_eq!(
        h.cp()
            .snapshot()
            .variables
            .get("TxCtrlr/TxStartPoint")
            .unwrap(),
        "EVConnected,Authorized"
    );
    // The new start point is used: plugging in starts the transaction.
    h.cp().plug_in(now, 1, 1);
    h.settle();
    let tx = h.received("TransactionEvent");
    assert_eq!(tx[0]["triggerReason"], "CablePluggedIn");
    assert_eq!(tx[0]["transactionInfo"]["chargingState"], "EVConnected");
    h.assert_clean();
}

fn base_report_in_parts<P: Protocol>() {
    let mut h = connected::<P>();
    let r = h.ok(
        "GetBaseReport",
        json!({"requestId": 7, "reportBase": "FullInventory"}),
    );
    assert_eq!(r["status"], "Accepted");
    let parts = h.received("NotifyReport");
    let total = h.cp().device_model().variables().len();
    assert_eq!(parts.len(), total.div_ceil(4));
    let mut items = 0;
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["requestId"], 7);
        assert_eq!(p["seqNo"], i as i64);
        let n = p["reportData"].as_array().unwrap().len();
        assert!(n <= 4);
        items += n;
        if i + 1 < parts.len() {
            assert_eq!(p["tbc"], true);
        } else {
            assert!(p.get("tbc").is_none());
        }
    }
    assert_eq!(items, total);
    let all: Vec<Value> = parts
        .iter()
        .flat_map(|p| p["reportData"].as_array().unwrap().clone())
        .collect();
    let password = all
        .iter()
        .find(|d| d["variable"]["name"] == "BasicAuthPassword")
        .unwrap();
    assert!(
        password["variableAttribute"][0].get("value").is_none(),
        "write-only never reported"
    );
    assert_eq!(password["variableAttribute"][0]["mutability"], "WriteOnly");

    h.clear();
    let r = h.ok(
        "GetBaseReport",
        json!({"requestId": 8, "reportBase": "ConfigurationInventory"}),
    );
    assert_eq!(r["status"], "Accepted");
    let config: Vec<Value> = h
        .received("NotifyReport")
        .iter()
        .flat_map(|p| p["reportData"].as_array().unwrap().clone())
        .collect();
    assert!(!config.is_empty() && config.len() < total);
    assert!(
        config
            .iter()
            .all(|d| d["variableAttribute"][0]["mutability"] != "ReadOnly")
    );
    let r = h.ok(
        "GetBaseReport",
        json!({"requestId": 9, "reportBase": "SummaryInventory"}),
    );
    assert_eq!(r["status"], "NotSupported");
    h.assert_clean();
}

fn remote_start_and_stop<P: Protocol>() {
    let mut h = connected::<P>();
    let start = json!({"idToken": {"idToken": "REMOTE", "type": "Central"}, "remoteStartId": 42, "evseId": 1,
        "chargingProfile": {"id": 9, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}]}});
    let r = h.ok("RequestStartTransaction", start.clone());
    assert_eq!(r["status"], "Accepted");
    assert_eq!(
        h.received("Authorize").len(),
        1,
        "AuthorizeRemoteStart is true"
    );
    // Authorized, cable not yet in: nothing started (PowerPathClosed).
    assert!(h.received("TransactionEvent").is_empty());
    // The same EVSE is authorized now: a second start is Rejected.
    assert_eq!(
        h.ok("RequestStartTransaction", start.clone())["status"],
        "Rejected"
    );
    // An unknown EVSE is Rejected.
    let mut bad = start.clone();
    bad["evseId"] = json!(9);
    assert_eq!(h.ok("RequestStartTransaction", bad)["status"], "Rejected");
    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.settle();
    let started = h.received("TransactionEvent")[0].clone();
    assert_eq!(started["eventType"], "Started");
    assert_eq!(started["triggerReason"], "CablePluggedIn");
    assert_eq!(started["transactionInfo"]["remoteStartId"], 42);
    let id = started["transactionInfo"]["transactionId"].clone();
    // The TxProfile of the request is installed for this transaction.
    let profiles = h.cp().snapshot().profiles;
    assert_eq!(profiles.profiles().len(), 1, "{profiles:?}");
    assert!(h.events.iter().any(
        |e| matches!(e, Event::ApplyLimit { evse: 1, composite: Some(c) }
        if c.periods.first().is_some_and(|p| p.limit == 10.into()))
    ));

    assert_eq!(
        h.ok(
            "RequestStopTransaction",
            json!({"transactionId": "unknown"})
        )["status"],
        "Rejected"
    );
    assert_eq!(
        h.ok("RequestStopTransaction", json!({"transactionId": id}))["status"],
        "Accepted"
    );
    let ended = h.received("TransactionEvent").last().unwrap().clone();
    assert_eq!(ended["eventType"], "Ended");
    assert_eq!(ended["triggerReason"], "RemoteStop");
    assert_eq!(ended["transactionInfo"]["stoppedReason"], "Remote");
    h.assert_clean();
}

fn reset<P: Protocol>() {
    let mut h = connected::<P>();
    assert_eq!(
        h.ok("Reset", json!({"type": "OnIdle"}))["status"],
        "Accepted"
    );
    assert!(h.events.contains(&Event::Reboot { evse: None }));
    assert_eq!(
        h.ok("Reset", json!({"type": "Immediate", "evseId": 7}))["status"],
        "Rejected"
    );

    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("T"));
    h.settle();
    h.clear();
    assert_eq!(
        h.ok("Reset", json!({"type": "OnIdle"}))["status"],
        "Scheduled"
    );
    assert!(!h.events.iter().any(|e| matches!(e, Event::Reboot { .. })));
    let now = h.now();
    h.cp().unplug(now, 1);
    h.settle();
    assert!(
        h.events.contains(&Event::Reboot { evse: None }),
        "after the transaction"
    );

    h.cp().plug_in(now, 2, 1);
    h.cp().present_id_token(now, 2, token("T2"));
    h.settle();
    h.clear();
    assert_eq!(
        h.ok("Reset", json!({"type": "Immediate"}))["status"],
        "Accepted"
    );
    let ended = h.received("TransactionEvent").last().unwrap().clone();
    assert_eq!(ended["eventType"], "Ended");
    assert_eq!(ended["triggerReason"], "ResetCommand");
    assert_eq!(ended["transactionInfo"]["stoppedReason"], "ImmediateReset");
    assert!(h.events.contains(&Event::Reboot { evse: None }));
    h.assert_clean();
}

fn change_availability<P: Protocol>() {
    let mut h = connected::<P>();
    let r = h.ok(
        "ChangeAvailability",
        json!({"operationalStatus": "Inoperative", "evse": {"id": 2}}),
    );
    assert_eq!(r["status"], "Accepted");
    let last = h.received("StatusNotification").last().unwrap().clone();
    assert_eq!(
        (last["evseId"].clone(), last["connectorStatus"].clone()),
        (json!(2), json!("Unavailable"))
    );
    // Unavailable persists in the snapshot.
    assert!(h.cp().snapshot().inoperative.contains(&(2, 0)));
    let r = h.ok(
        "ChangeAvailability",
        json!({"operationalStatus": "Operative", "evse": {"id": 2}}),
    );
    assert_eq!(r["status"], "Accepted");
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Available"
    );
    let r = h.ok(
        "ChangeAvailability",
        json!({"operationalStatus": "Inoperative", "evse": {"id": 5}}),
    );
    assert_eq!(r["status"], "Rejected");
    // During a transaction: Scheduled, applied when it ends.
    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("T"));
    h.settle();
    let r = h.ok(
        "ChangeAvailability",
        json!({"operationalStatus": "Inoperative"}),
    );
    assert_eq!(r["status"], "Scheduled");
    h.cp().unplug(now, 1);
    h.settle();
    let status = h.received("StatusNotification");
    assert!(
        status
            .iter()
            .rev()
            .take(2)
            .all(|s| s["connectorStatus"] == "Unavailable"),
        "{status:?}"
    );
    h.assert_clean();
}

fn unlock_connector<P: Protocol>() {
    let mut h = connected::<P>();
    assert_eq!(
        h.ok("UnlockConnector", json!({"evseId": 1, "connectorId": 3}))["status"],
        "UnknownConnector"
    );
    let request = P::decode_request("UnlockConnector", r#"{"evseId":1,"connectorId":1}"#).unwrap();
    let now = h.now();
    h.link.csms.call(now, request).unwrap();
    h.settle();
    assert!(h.events.contains(&Event::UnlockConnector {
        evse: 1,
        connector: 1
    }));
    assert!(
        h.responses.is_empty(),
        "answered only once the hardware reports"
    );
    h.cp().connector_unlocked(now, 1, 1, true);
    h.settle();
    assert_eq!(h.responses.remove(0).unwrap()["status"], "Unlocked");
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("T"));
    h.settle();
    let r = h.ok("UnlockConnector", json!({"evseId": 1, "connectorId": 1}));
    assert_eq!(r["status"], "OngoingAuthorizedTransaction");
    h.assert_clean();
}

fn reservations<P: Protocol>() {
    let mut h = connected::<P>();
    let reserve = json!({"id": 5, "expiryDateTime": "2025-01-01T10:30:00Z", "idToken": {"idToken": "R1", "type": "ISO14443"}, "evseId": 1});
    assert_eq!(h.ok("ReserveNow", reserve.clone())["status"], "Accepted");
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Reserved"
    );
    let mut other = reserve.clone();
    other["id"] = json!(6);
    assert_eq!(h.ok("ReserveNow", other)["status"], "Occupied");
    assert_eq!(
        h.ok("CancelReservation", json!({"reservationId": 99}))["status"],
        "Rejected"
    );
    assert_eq!(
        h.ok("CancelReservation", json!({"reservationId": 5}))["status"],
        "Accepted"
    );
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Available"
    );
    // A reservation consumed by its token goes into the transaction.
    assert_eq!(h.ok("ReserveNow", reserve.clone())["status"], "Accepted");
    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("R1"));
    h.settle();
    assert_eq!(h.received("TransactionEvent")[0]["reservationId"], 5);
    // Expiry (the scripted heartbeats always say 10:00: keep the station's clock).
    let now = h.now();
    h.cp()
        .set_variable("ClockCtrlr/TimeSource", "RealTimeClock", now)
        .unwrap();
    let mut two = reserve.clone();
    two["id"] = json!(8);
    two["evseId"] = json!(2);
    assert_eq!(h.ok("ReserveNow", two)["status"], "Accepted");
    h.advance(Duration::from_secs(1800));
    let updates = h.received("ReservationStatusUpdate");
    assert_eq!(updates[0]["reservationUpdateStatus"], "Expired");
    assert_eq!(updates[0]["reservationId"], 8);
    h.assert_clean();
}

fn trigger_message<P: Protocol>() {
    let mut h = connected::<P>();
    assert_eq!(
        h.ok("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))["status"],
        "Accepted"
    );
    assert_eq!(h.received("Heartbeat").len(), 1);
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "BootNotification"})
        )["status"],
        "Rejected"
    );
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "StatusNotification"})
        )["status"],
        "Rejected"
    );
    let r = h.ok(
        "TriggerMessage",
        json!({"requestedMessage": "StatusNotification", "evse": {"id": 2, "connectorId": 1}}),
    );
    assert_eq!(r["status"], "Accepted");
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["evseId"],
        2
    );
    let now = h.now();
    h.cp().meter_reading(now, 1, reading(500));
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "MeterValues", "evse": {"id": 1}})
        )["status"],
        "Accepted"
    );
    assert_eq!(
        h.received("MeterValues")[0]["meterValue"][0]["sampledValue"][0]["context"],
        "Trigger"
    );
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "SignV2GCertificate"})
        )["status"],
        "NotImplemented"
    );
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "TransactionEvent", "evse": {"id": 1}})
        )["status"],
        "Rejected"
    );
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("T"));
    h.settle();
    assert_eq!(
        h.ok(
            "TriggerMessage",
            json!({"requestedMessage": "TransactionEvent", "evse": {"id": 1}})
        )["status"],
        "Accepted"
    );
    assert_eq!(
        h.received("TransactionEvent").last().unwrap()["triggerReason"],
        "Trigger"
    );
    h.assert_clean();
}

fn data_transfer<P: Protocol>() {
    let mut h = connected::<P>();
    let request =
        P::decode_request("DataTransfer", r#"{"vendorId":"acme","messageId":"x"}"#).unwrap();
    let now = h.now();
    h.link.csms.call(now, request).unwrap();
    h.settle();
    let id = h
        .events
        .iter()
        .find_map(|e| match e {
            Event::DataTransfer { id, request } => {
                assert_eq!(request.vendor_id.as_str(), "acme");
                Some(id.clone())
            }
            _ => None,
        })
        .unwrap();
    h.cp().answer_data_transfer(
        &id,
        v21::DataTransferResponse {
            custom_data: None,
            data: None,
            status: v21::DataTransferStatusEnum::UnknownVendorId,
            status_info: None,
        },
    );
    h.settle();
    assert_eq!(h.responses.remove(0).unwrap()["status"], "UnknownVendorId");
    h.assert_clean();
}

fn local_list_cache_and_offline_authorization<P: Protocol>() {
    let mut h = connected::<P>();
    let entry = |id: &str, status: Option<&str>| {
        let mut e = json!({"idToken": {"idToken": id, "type": "ISO14443"}});
        if let Some(s) = status {
            e["idTokenInfo"] = json!({"status": s});
        }
        e
    };
    let r = h.ok(
        "SendLocalList",
        json!({"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [entry("LIST1", Some("Accepted")), entry("BLOCK", Some("Blocked"))]}),
    );
    assert_eq!(r["status"], "Accepted");
    assert_eq!(h.ok("GetLocalListVersion", json!({}))["versionNumber"], 2);
    let r = h.ok("SendLocalList", json!({"versionNumber": 2, "updateType": "Differential", "localAuthorizationList": [entry("X", Some("Accepted"))]}));
    assert_eq!(r["status"], "VersionMismatch");
    let r = h.ok("SendLocalList", json!({"versionNumber": 3, "updateType": "Differential", "localAuthorizationList": [entry("BLOCK", None)]}));
    assert_eq!(r["status"], "Accepted");
    assert_eq!(h.cp().snapshot().local_list.len(), 1);
    // A list token Accepted starts without Authorize (LocalPreAuthorize).
    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("LIST1"));
    h.settle();
    assert!(h.received("Authorize").is_empty());
    assert_eq!(h.received("TransactionEvent")[0]["eventType"], "Started");
    h.cp().unplug(now, 1);
    // An online Authorize fills the cache.
    h.cp().present_id_token(now, 2, token("CACHED"));
    h.settle();
    assert_eq!(h.received("Authorize").len(), 1);
    assert!(h.cp().snapshot().auth_cache.contains_key("ISO14443:CACHED"));
    assert_eq!(h.ok("ClearCache", json!({}))["status"], "Accepted");
    assert!(h.cp().snapshot().auth_cache.is_empty());
    h.cp().present_id_token(now, 2, token("CACHED"));
    h.settle();
    // Offline: the list decides; unknown tokens only with OfflineTxForUnknownIdEnabled.
    h.close();
    let now = h.now();
    h.events.clear();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("STRANGER"));
    h.settle();
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::Authorization {
            status: v21::AuthorizationStatusEnum::Unknown,
            ..
        }
    )));
    assert!(h.cp().snapshot().evses[&1].transaction.is_none());
    h.cp()
        .set_variable("AuthCtrlr/OfflineTxForUnknownIdEnabled", "true", now)
        .unwrap();
    h.cp().present_id_token(now, 1, token("STRANGER"));
    let state = h.cp().snapshot();
    assert!(state.evses[&1].transaction.is_some());
    assert!(
        !state.auth_cache.contains_key("ISO14443:STRANGER"),
        "unknown offline tokens are never cached"
    );
    h.assert_clean();
}

fn smart_charging<P: Protocol>() {
    let mut h = connected::<P>();
    let profile = json!({
        "evseId": 0,
        "chargingProfile": {
            "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{"id": 1, "startSchedule": "2025-01-01T00:00:00Z", "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}]
        }
    });
    assert_eq!(
        h.ok("SetChargingProfile", profile.clone())["status"],
        "Accepted"
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::ApplyLimit {
            evse: 1,
            composite: Some(_)
        }
    )));
    let mut bad = profile.clone();
    bad["evseId"] = json!(9);
    assert_eq!(h.ok("SetChargingProfile", bad)["status"], "Rejected");
    let r = h.ok(
        "GetCompositeSchedule",
        json!({"evseId": 1, "duration": 3600, "chargingRateUnit": "A"}),
    );
    assert_eq!(r["status"], "Accepted");
    assert_eq!(
        r["schedule"]["chargingSchedulePeriod"][0]["limit"],
        json!(16)
    );
    let r = h.ok(
        "GetChargingProfiles",
        json!({"requestId": 3, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}}),
    );
    assert_eq!(r["status"], "Accepted");
    assert_eq!(h.received("ReportChargingProfiles")[0]["requestId"], 3);
    assert_eq!(
        h.ok("ClearChargingProfile", json!({"chargingProfileId": 1}))["status"],
        "Accepted"
    );
    assert_eq!(
        h.ok("ClearChargingProfile", json!({"chargingProfileId": 1}))["status"],
        "Unknown"
    );
    h.assert_clean();
}

fn aligned_meter_values<P: Protocol>() {
    let mut h = connected::<P>();
    let now = h.now();
    // The scripted heartbeats always say 10:00: keep the station's own clock.
    h.cp()
        .set_variable("ClockCtrlr/TimeSource", "RealTimeClock", now)
        .unwrap();
    h.cp()
        .set_variable("AlignedDataCtrlr/Interval", "900", now)
        .unwrap();
    h.cp().meter_reading(now, 1, reading(100));
    h.cp().meter_reading(now, 2, reading(200));
    h.advance(Duration::from_secs(1800));
    let mv = h.received("MeterValues");
    let stamps: Vec<_> = mv
        .iter()
        .map(|m| m["meterValue"][0]["timestamp"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        stamps,
        vec![
            "2025-01-01T10:15:00Z",
            "2025-01-01T10:15:00Z",
            "2025-01-01T10:30:00Z",
            "2025-01-01T10:30:00Z"
        ]
    );
    assert_eq!(
        mv[0]["meterValue"][0]["sampledValue"][0]["context"],
        "Sample.Clock"
    );
    // During a transaction the clock-aligned value rides on TransactionEvent.
    let now = h.now();
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("T"));
    h.settle();
    h.cp()
        .set_variable("SampledDataCtrlr/TxUpdatedInterval", "0", now)
        .unwrap();
    h.advance(Duration::from_secs(900));
    let clock: Vec<_> = h
        .received("TransactionEvent")
        .into_iter()
        .filter(|t| t["triggerReason"] == "MeterValueClock")
        .collect();
    assert_eq!(clock.len(), 1);
    assert_eq!(
        clock[0]["meterValue"][0]["timestamp"],
        "2025-01-01T10:45:00Z"
    );
    h.assert_clean();
}

fn faults_notify_and_unsupported_actions<P: Protocol>() {
    let mut h = connected::<P>();
    let component: v21::Component =
        serde_json::from_value(json!({"name": "Connector", "evse": {"id": 1, "connectorId": 1}}))
            .unwrap();
    let now = h.now();
    h.cp().fault(now, component.clone(), "Problem", true);
    h.settle();
    let events = h.received("NotifyEvent");
    assert_eq!(events[0]["eventData"][0]["variable"]["name"], "Problem");
    assert_eq!(events[0]["eventData"][0]["actualValue"], "true");
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Faulted"
    );
    assert_eq!(
        h.ok("ReserveNow", json!({"id": 1, "expiryDateTime": "2025-01-01T11:00:00Z", "idToken": {"idToken": "A", "type": "ISO14443"}, "evseId": 1}))["status"],
        "Faulted"
    );
    h.cp().fault(now, component, "Problem", false);
    h.settle();
    assert_eq!(
        h.received("NotifyEvent")[1]["eventData"][0]["cleared"],
        true
    );
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Available"
    );
    // Known actions outside what is built: NotSupported, and the machine goes on.
    match h.call("GetDisplayMessages", json!({"requestId": 1})) {
        Err(CallFailure::Error { code, .. }) => assert_eq!(code, ErrorCode::NotSupported),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.ok("GetLocalListVersion", json!({}))["versionNumber"], 0);
    h.assert_clean();
}

/// The items of the NotifyReports for `request_id`, checking their parts.
fn reported<P: Protocol>(h: &Harness<P>, request_id: i64) -> Vec<Value> {
    let parts: Vec<Value> = h
        .received("NotifyReport")
        .into_iter()
        .filter(|p| p["requestId"] == request_id)
        .collect();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["seqNo"], i as i64);
        assert_eq!(p.get("tbc").is_some(), i + 1 < parts.len());
    }
    parts
        .iter()
        .flat_map(|p| p["reportData"].as_array().unwrap().clone())
        .collect()
}

fn custom_report_filters<P: Protocol>() {
    let mut h = connected::<P>();
    let mut request_id = 20;
    let mut report = |h: &mut Harness<P>, filter: Value| -> (Value, Vec<Value>) {
        request_id += 1;
        let mut payload = filter;
        payload["requestId"] = json!(request_id);
        let r = h.ok("GetReport", payload);
        (r["status"].clone(), reported(h, request_id))
    };
    let count = |h: &mut Harness<P>, component: &str| {
        h.cp()
            .device_model()
            .variables()
            .iter()
            .filter(|d| d.component == component)
            .count()
    };
    // One variable, with its characteristics.
    let (status, items) = report(
        &mut h,
        json!({"componentVariable": [var("TxCtrlr", "TxStartPoint")]}),
    );
    assert_eq!(status, "Accepted");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["variableAttribute"][0]["value"], "PowerPathClosed");
    assert_eq!(
        items[0]["variableCharacteristics"]["dataType"],
        "MemberList"
    );
    // No variable: all of the component's, in parts of ItemsPerMessage.
    let (_, items) = report(
        &mut h,
        json!({"componentVariable": [{"component": {"name": "TxCtrlr"}}]}),
    );
    let tx_ctrlr = count(&mut h, "TxCtrlr");
    assert!(tx_ctrlr > 4);
    assert_eq!(items.len(), tx_ctrlr);
    // No evse: every EVSE's; an evse: only that one's.
    let availability = var("EVSE", "AvailabilityState");
    let (_, items) = report(&mut h, json!({"componentVariable": [availability]}));
    assert_eq!(items.len(), 2);
    let mut on_two = availability.clone();
    on_two["component"]["evse"] = json!({"id": 2});
    let (_, items) = report(&mut h, json!({"componentVariable": [on_two]}));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["component"]["evse"]["id"], 2);
    // Nothing matches: EmptyResultSet and no report.
    let before = h.received("NotifyReport").len();
    let (status, _) = report(
        &mut h,
        json!({"componentVariable": [{"component": {"name": "NoSuchCtrlr"}}]}),
    );
    assert_eq!(status, "EmptyResultSet");
    assert_eq!(h.received("NotifyReport").len(), before);

    // Criteria: Problem only once something has one.
    let (status, _) = report(&mut h, json!({"componentCriteria": ["Problem"]}));
    assert_eq!(status, "EmptyResultSet");
    let now = h.now();
    let evse_one: v21::Component =
        serde_json::from_value(json!({"name": "EVSE", "evse": {"id": 1}})).unwrap();
    h.cp().fault(now, evse_one, "Problem", true);
    h.settle();
    let (status, items) = report(&mut h, json!({"componentCriteria": ["Problem"]}));
    assert_eq!(status, "Accepted");
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|d| d["component"]["name"] == "EVSE" && d["component"]["evse"]["id"] == 1)
    );
    // Enabled: a disabled component is left out, one without the variable
    // is in; with a componentVariable both must hold.
    let now = h.now();
    h.cp()
        .set_variable("AuthCacheCtrlr/Enabled", "false", now)
        .unwrap();
    let (_, items) = report(&mut h, json!({"componentCriteria": ["Enabled"]}));
    assert!(
        items
            .iter()
            .all(|d| d["component"]["name"] != "AuthCacheCtrlr")
    );
    assert!(items.iter().any(|d| d["component"]["name"] == "TxCtrlr"));
    let (status, _) = report(
        &mut h,
        json!({"componentCriteria": ["Enabled", "Problem"], "componentVariable": [{"component": {"name": "AuthCacheCtrlr"}}]}),
    );
    assert_eq!(status, "EmptyResultSet");
    let (status, items) = report(
        &mut h,
        json!({"componentCriteria": ["Enabled", "Problem"], "componentVariable": [{"component": {"name": "EVSE"}}]}),
    );
    assert_eq!(status, "Accepted", "the EVSEs meet one of them");
    assert!(!items.is_empty());
    // More componentVariables than ItemsPerMessage[GetReport] (4).
    let five: Vec<Value> = (0..5).map(|_| var("TxCtrlr", "TxStartPoint")).collect();
    match h.call(
        "GetReport",
        json!({"requestId": 99, "componentVariable": five}),
    ) {
        Err(CallFailure::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::OccurrenceConstraintViolation)
        }
        other => panic!("{other:?}"),
    }
    h.assert_clean();
}
