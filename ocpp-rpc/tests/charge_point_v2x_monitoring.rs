//! The 2.0.1 / 2.1 charge point's variable monitoring: monitors set,
//! refused, reported and cleared (N02–N06), and the NotifyEvents their
//! thresholds and deltas raise (N07), filtered by the monitoring level.

#[macro_use]
mod cp2x_support;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::Event;
use ocpp_rpc::endpoint::CallFailure;
use ocpp_rpc::error::ErrorCode;
use ocpp_types::Protocol;
use serde_json::{Value, json};

both_versions!(
    monitors_are_set_refused_reported_and_cleared,
    thresholds_and_deltas_raise_events,
    level_and_base_limit_what_is_reported,
);

fn monitor(component: Value, variable: &str, kind: &str, value: f64, severity: i32) -> Value {
    json!({"component": component, "variable": {"name": variable}, "type": kind, "value": value, "severity": severity})
}

fn named(name: &str) -> Value {
    json!({"name": name})
}

/// Sets the monitors; their (status, id).
fn set_monitors<P: Protocol>(h: &mut Harness<P>, items: Vec<Value>) -> Vec<(String, Value)> {
    let r = h.ok("SetVariableMonitoring", json!({"setMonitoringData": items}));
    r["setMonitoringResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["status"].as_str().unwrap().to_owned(), x["id"].clone()))
        .collect()
}

fn set_var<P: Protocol>(h: &mut Harness<P>, component: &str, variable: &str, value: &str) {
    let r = h.ok(
        "SetVariables",
        json!({"setVariableData": [{"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}]}),
    );
    assert_eq!(r["setVariableResult"][0]["attributeStatus"], "Accepted");
}

/// The eventData of the NotifyEvents after `from`.
fn events_after<P: Protocol>(h: &Harness<P>, from: usize) -> Vec<Value> {
    h.received("NotifyEvent")[from..]
        .iter()
        .flat_map(|p| p["eventData"].as_array().unwrap().clone())
        .collect()
}

fn monitors_are_set_refused_reported_and_cleared<P: Protocol>() {
    let mut h = connected::<P>();
    let comm = named("OCPPCommCtrlr");
    let tx = named("TxCtrlr");
    let results = set_monitors(
        &mut h,
        vec![
            monitor(
                comm.clone(),
                "HeartbeatInterval",
                "UpperThreshold",
                400.0,
                4,
            ),
            monitor(tx.clone(), "TxStartPoint", "Delta", 1.0, 5),
            // Same variable, type and severity as the first: N04.FR.10.
            monitor(
                comm.clone(),
                "HeartbeatInterval",
                "UpperThreshold",
                500.0,
                4,
            ),
            monitor(named("NoSuchCtrlr"), "X", "Delta", 1.0, 5),
            monitor(tx.clone(), "NoSuchVariable", "Delta", 1.0, 5),
            monitor(comm.clone(), "HeartbeatInterval", "Periodic", 60.0, 5),
            // A threshold on a list, a negative delta, beyond the range.
            monitor(tx.clone(), "TxStartPoint", "UpperThreshold", 1.0, 5),
            monitor(comm.clone(), "HeartbeatInterval", "Delta", -1.0, 5),
        ],
    );
    let statuses: Vec<&str> = results.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "Accepted",
            "Accepted",
            "Duplicate",
            "UnknownComponent",
            "UnknownVariable",
            "UnsupportedMonitorType",
            "UnsupportedMonitorType",
            "Rejected"
        ]
    );
    let (threshold, delta) = (results[0].1.clone(), results[1].1.clone());
    assert_ne!(threshold, delta);
    let mut unknown_id = monitor(comm.clone(), "HeartbeatInterval", "LowerThreshold", 10.0, 4);
    unknown_id["id"] = json!(999);
    let mut other_variable = monitor(comm.clone(), "OfflineThreshold", "Delta", 10.0, 4);
    other_variable["id"] = threshold.clone();
    let results = set_monitors(
        &mut h,
        vec![
            unknown_id,
            other_variable,
            monitor(comm.clone(), "HeartbeatInterval", "LowerThreshold", 1e6, 4),
            monitor(
                comm.clone(),
                "HeartbeatInterval",
                "LowerThreshold",
                10.0,
                12,
            ),
        ],
    );
    let statuses: Vec<&str> = results.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses, ["Rejected"; 4],
        "unknown id, other variable, range, severity"
    );
    // More items than ItemsPerMessage[SetVariableMonitoring] (8).
    let nine: Vec<Value> = (0..9)
        .map(|_| monitor(tx.clone(), "TxStartPoint", "Delta", 1.0, 5))
        .collect();
    match h.call("SetVariableMonitoring", json!({"setMonitoringData": nine})) {
        Err(CallFailure::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::OccurrenceConstraintViolation)
        }
        other => panic!("{other:?}"),
    }

    // Reports: all, by criterion, by componentVariable, none.
    let report = |h: &mut Harness<P>, request_id: i64, filter: Value| -> (Value, Vec<Value>) {
        let mut payload = filter;
        payload["requestId"] = json!(request_id);
        let r = h.ok("GetMonitoringReport", payload);
        let monitors = h
            .received("NotifyMonitoringReport")
            .into_iter()
            .filter(|p| p["requestId"] == request_id)
            .flat_map(|p| p["monitor"].as_array().unwrap().clone())
            .collect();
        (r["status"].clone(), monitors)
    };
    let (status, all) = report(&mut h, 1, json!({}));
    assert_eq!(status, "Accepted");
    assert_eq!(all.len(), 2);
    let heartbeat = all
        .iter()
        .find(|m| m["variable"]["name"] == "HeartbeatInterval")
        .unwrap();
    let vm = &heartbeat["variableMonitoring"][0];
    assert_eq!(
        (vm["id"].clone(), vm["type"].clone()),
        (threshold.clone(), json!("UpperThreshold"))
    );
    assert_eq!(vm["severity"], 4);
    // 2.1 requires eventNotificationType; 2.0.1 does not know it.
    let expected = (P::VERSION == ocpp_types::Version::V21).then(|| json!("CustomMonitor"));
    assert_eq!(vm.get("eventNotificationType").cloned(), expected);
    let (_, thresholds) = report(
        &mut h,
        2,
        json!({"monitoringCriteria": ["ThresholdMonitoring"]}),
    );
    assert_eq!(thresholds.len(), 1);
    let (_, on_tx) = report(
        &mut h,
        3,
        json!({"componentVariable": [{"component": tx.clone()}]}),
    );
    assert_eq!(on_tx.len(), 1);
    assert_eq!(on_tx[0]["variable"]["name"], "TxStartPoint");
    let (status, none) = report(
        &mut h,
        4,
        json!({"monitoringCriteria": ["PeriodicMonitoring"]}),
    );
    assert_eq!((status, none.len()), (json!("EmptyResultSet"), 0));
    assert!(
        h.received("NotifyMonitoringReport")
            .iter()
            .all(|p| p["requestId"] != 4)
    );

    // Monitors are durable; clearing answers per id.
    assert_eq!(h.cp().snapshot().monitors.len(), 2);
    let r = h.ok("ClearVariableMonitoring", json!({"id": [delta, 77]}));
    let cleared: Vec<&str> = r["clearMonitoringResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(cleared, ["Accepted", "NotFound"]);
    assert_eq!(h.cp().snapshot().monitors.len(), 1);
    h.assert_clean();
}

fn thresholds_and_deltas_raise_events<P: Protocol>() {
    let mut h = connected::<P>();
    let results = set_monitors(
        &mut h,
        vec![
            monitor(
                named("OCPPCommCtrlr"),
                "HeartbeatInterval",
                "UpperThreshold",
                400.0,
                4,
            ),
            monitor(named("TxCtrlr"), "EVConnectionTimeOut", "Delta", 30.0, 6),
            monitor(
                json!({"name": "EVSE", "evse": {"id": 1}}),
                "AvailabilityState",
                "Delta",
                1.0,
                7,
            ),
        ],
    );
    assert!(results.iter().all(|(s, _)| s == "Accepted"));
    let ids: Vec<Value> = results.into_iter().map(|(_, id)| id).collect();
    assert!(
        h.received("NotifyEvent").is_empty(),
        "nothing triggers at once"
    );

    // Beyond the threshold: Alerting; back within: cleared; on it: nothing.
    let mark = h.received("NotifyEvent").len();
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "500");
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "450");
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "400");
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "300");
    let events = events_after(&h, mark);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["trigger"], "Alerting");
    assert_eq!(events[0]["actualValue"], "500");
    assert_eq!(events[0]["variableMonitoringId"], ids[0]);
    assert_eq!(events[0]["eventNotificationType"], "CustomMonitor");
    assert!(events[0].get("cleared").is_none());
    assert!(events[0].get("severity").is_none(), "2.1-only, not set");
    assert_eq!(events[1]["cleared"], true);
    assert_eq!(events[1]["actualValue"], "400");

    // Delta: more than 30 away from the value last reported (60).
    let mark = h.received("NotifyEvent").len();
    set_var(&mut h, "TxCtrlr", "EVConnectionTimeOut", "80");
    assert!(events_after(&h, mark).is_empty());
    set_var(&mut h, "TxCtrlr", "EVConnectionTimeOut", "100");
    set_var(&mut h, "TxCtrlr", "EVConnectionTimeOut", "120");
    let events = events_after(&h, mark);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            events[0]["trigger"].clone(),
            events[0]["actualValue"].clone()
        ),
        (json!("Delta"), json!("100"))
    );

    // A transaction monitor waits for a transaction.
    let mut during = monitor(named("TxCtrlr"), "StopTxOnInvalidId", "Delta", 1.0, 6);
    during["transaction"] = json!(true);
    assert_eq!(set_monitors(&mut h, vec![during])[0].0, "Accepted");
    let mark = h.received("NotifyEvent").len();
    set_var(&mut h, "TxCtrlr", "StopTxOnInvalidId", "false");
    assert!(
        events_after(&h, mark).is_empty(),
        "no transaction: inactive"
    );
    let now = h.now();
    h.cp().meter_reading(now, 2, reading(1000));
    h.cp().plug_in(now, 2, 1);
    h.cp().present_id_token(now, 2, token("TAG1"));
    h.settle();
    set_var(&mut h, "TxCtrlr", "StopTxOnInvalidId", "true");
    let events = events_after(&h, mark);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actualValue"], "true");

    // A live value the machine owns: the EVSE's availability.
    let mark = h.received("NotifyEvent").len();
    let r = h.ok(
        "ChangeAvailability",
        json!({"operationalStatus": "Inoperative", "evse": {"id": 1}}),
    );
    assert_eq!(r["status"], "Accepted");
    let events = events_after(&h, mark);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actualValue"], "Unavailable");
    assert_eq!(events[0]["component"]["evse"]["id"], 1);
    assert_eq!(events[0]["variableMonitoringId"], ids[2]);
    assert!(!h.events.iter().any(|e| matches!(e, Event::Refused { .. })));
    h.assert_clean();
}

fn level_and_base_limit_what_is_reported<P: Protocol>() {
    let mut h = connected::<P>();
    set_monitors(
        &mut h,
        vec![monitor(
            named("OCPPCommCtrlr"),
            "HeartbeatInterval",
            "UpperThreshold",
            400.0,
            4,
        )],
    );
    // Level 3: a severity-4 monitor triggers unreported.
    assert_eq!(
        h.ok("SetMonitoringLevel", json!({"severity": 3}))["status"],
        "Accepted"
    );
    assert_eq!(
        h.ok("SetMonitoringLevel", json!({"severity": 10}))["status"],
        "Rejected"
    );
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "500");
    assert!(h.received("NotifyEvent").is_empty());
    // Level 4 again: its clearing is reported.
    assert_eq!(
        h.ok("SetMonitoringLevel", json!({"severity": 4}))["status"],
        "Accepted"
    );
    set_var(&mut h, "OCPPCommCtrlr", "HeartbeatInterval", "300");
    let events = events_after(&h, 0);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["cleared"], true);
    // All keeps the custom monitors; FactoryDefault deletes them.
    let base = |h: &mut Harness<P>, b: &str| {
        h.ok("SetMonitoringBase", json!({"monitoringBase": b}))["status"].clone()
    };
    assert_eq!(base(&mut h, "All"), "Accepted");
    assert_eq!(h.cp().snapshot().monitors.len(), 1);
    assert_eq!(base(&mut h, "FactoryDefault"), "Accepted");
    assert!(h.cp().snapshot().monitors.is_empty());
    let r = h.ok("GetMonitoringReport", json!({"requestId": 5}));
    assert_eq!(r["status"], "EmptyResultSet");
    h.assert_clean();
}
