//! The 2.0.1 / 2.1 charge point's transaction rules around tokens and the
//! Ended event: MaxEnergyOnInvalidId (E05), the master pass (C16) and
//! TxEndedInterval samples, and (2.1) Reset ImmediateAndResume (B13), each
//! with its accepted and refused side.

#[macro_use]
mod cp2x_support;

use std::time::Duration;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::{Event, State, Version};
use ocpp_rpc::machine::WallClock;
use ocpp_types::{Protocol, v21, v201};
use serde_json::{Value, json};

both_versions!(
    a_refused_token_keeps_max_energy_on_invalid_id,
    a_refused_token_without_allowance_stops_energy_at_once,
    a_master_pass_stops_every_transaction_and_starts_none,
    without_a_master_pass_group_another_token_changes_nothing,
    ended_carries_tx_ended_interval_samples,
    ended_carries_clock_aligned_tx_ended_samples,
);

fn set<P: Protocol>(h: &mut Harness<P>, key: &str, value: &str) {
    let now = h.now();
    h.cp().set_variable(key, value, now).unwrap();
}

fn session<P: Protocol>(h: &mut Harness<P>, evse: i32, tag: &str) {
    let now = h.now();
    h.cp().meter_reading(now, evse, reading(1000));
    h.cp().plug_in(now, evse, 1);
    h.cp().present_id_token(now, evse, token(tag));
    h.settle();
}

fn meter<P: Protocol>(h: &mut Harness<P>, evse: i32, wh: i64) {
    let now = h.now();
    h.cp().meter_reading(now, evse, reading(wh));
    h.settle();
}

/// How often the charge point told the hardware to start and to stop energy.
fn power_switches<P: Protocol>(h: &Harness<P>) -> (usize, usize) {
    let count = |f: fn(&Event) -> bool| h.events.iter().filter(|e| f(e)).count();
    (
        count(|e| matches!(e, Event::StartCharging { .. })),
        count(|e| matches!(e, Event::StopCharging { .. })),
    )
}

fn event_types<P: Protocol>(h: &Harness<P>) -> Vec<String> {
    h.tx_events().into_iter().map(|(kind, ..)| kind).collect()
}

/// The CSMS refuses the token in its answer to Started.
fn refusing_started<P: Protocol>(h: &mut Harness<P>) {
    h.respond_with(|action, p| match action {
        "TransactionEvent" if p["eventType"] == "Started" => {
            Reply::Ok(json!({"idTokenInfo": {"status": "Invalid"}}))
        }
        _ => standard(action, p),
    });
}

fn a_refused_token_keeps_max_energy_on_invalid_id<P: Protocol>() {
    let mut h = connected::<P>();
    set(&mut h, "TxCtrlr/StopTxOnInvalidId", "false");
    set(&mut h, "TxCtrlr/MaxEnergyOnInvalidId", "500");
    refusing_started(&mut h);
    session(&mut h, 1, "TAG1");
    assert_eq!(
        power_switches(&h),
        (1, 0),
        "energy flows within the allowance"
    );
    meter(&mut h, 1, 1499);
    assert_eq!(power_switches(&h), (1, 0));
    meter(&mut h, 1, 1500);
    assert_eq!(power_switches(&h), (1, 1), "the allowance is used up");
    // The transaction goes on without energy, whatever the EV does.
    let now = h.now();
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    assert_eq!(power_switches(&h), (1, 1));
    assert!(!event_types(&h).contains(&"Ended".to_owned()));
    let tx = h.cp().snapshot().evses[&1].transaction.clone().unwrap();
    assert!(tx.deauthorized);
    assert_eq!(tx.invalid_energy_limit, Some(1500.into()));
    h.assert_clean();
}

fn a_refused_token_without_allowance_stops_energy_at_once<P: Protocol>() {
    let mut h = connected::<P>();
    set(&mut h, "TxCtrlr/StopTxOnInvalidId", "false");
    refusing_started(&mut h);
    session(&mut h, 1, "TAG1");
    assert_eq!(power_switches(&h), (1, 1));
    let now = h.now();
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    assert_eq!(power_switches(&h), (1, 1), "no energy after the refusal");
    assert!(!event_types(&h).contains(&"Ended".to_owned()));
    // With StopTxOnInvalidId (the default) the refusal ends the transaction
    // instead: see the session tests.
    h.assert_clean();
}

fn master_csms<P: Protocol>(h: &mut Harness<P>) {
    h.respond_with(|action, p| match action {
        "Authorize" if p["idToken"]["idToken"] == "BOSS" => Reply::Ok(json!({
            "idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "MASTER", "type": "Central"}}
        })),
        _ => standard(action, p),
    });
}

fn a_master_pass_stops_every_transaction_and_starts_none<P: Protocol>() {
    let mut h = connected::<P>();
    set(&mut h, "AuthCtrlr/MasterPassGroupId", "MASTER");
    master_csms(&mut h);
    session(&mut h, 1, "TAG1");
    session(&mut h, 2, "TAG2");
    assert_eq!(event_types(&h), ["Started", "Started"]);
    // Presented at a busy EVSE, the master pass ends both transactions.
    let now = h.now();
    h.cp().present_id_token(now, 1, token("BOSS"));
    h.settle();
    let ended: Vec<Value> = h
        .received("TransactionEvent")
        .into_iter()
        .filter(|p| p["eventType"] == "Ended")
        .collect();
    assert_eq!(ended.len(), 2);
    let mut evses: Vec<i64> = Vec::new();
    for e in &ended {
        assert_eq!(e["transactionInfo"]["stoppedReason"], "MasterPass");
        assert_eq!(e["triggerReason"], "StopAuthorized");
        assert_eq!(e["idToken"]["idToken"], "BOSS");
        evses.push(
            h.received("TransactionEvent")
                .iter()
                .find(|s| {
                    s["eventType"] == "Started"
                        && s["transactionInfo"]["transactionId"]
                            == e["transactionInfo"]["transactionId"]
                })
                .unwrap()["evse"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    evses.sort();
    assert_eq!(evses, [1, 2]);
    // It never starts one: presented again at an idle EVSE with a cable.
    let before = h.received("TransactionEvent").len();
    let now = h.now();
    h.cp().present_id_token(now, 1, token("BOSS"));
    h.settle();
    assert_eq!(h.received("TransactionEvent").len(), before);
    assert!(h.cp().snapshot().evses[&1].authorized.is_none());
    h.assert_clean();
}

fn without_a_master_pass_group_another_token_changes_nothing<P: Protocol>() {
    let mut h = connected::<P>();
    master_csms(&mut h);
    session(&mut h, 1, "TAG1");
    let authorizes = h.received("Authorize").len();
    let now = h.now();
    h.cp().present_id_token(now, 1, token("BOSS"));
    h.settle();
    assert_eq!(h.received("Authorize").len(), authorizes, "not even asked");
    assert_eq!(event_types(&h), ["Started"]);
    h.assert_clean();
}

fn ended_carries_tx_ended_interval_samples<P: Protocol>() {
    let mut h = connected::<P>();
    set(&mut h, "SampledDataCtrlr/TxEndedInterval", "60");
    session(&mut h, 1, "TAG1");
    h.advance(Duration::from_secs(60));
    meter(&mut h, 1, 1500);
    h.advance(Duration::from_secs(60));
    meter(&mut h, 1, 2000);
    h.advance(Duration::from_secs(30));
    // The samples are durable, and a snapshot from before they existed
    // still reads (the new fields default).
    let state = h.cp().snapshot();
    let tx = state.evses[&1].transaction.as_ref().unwrap();
    assert_eq!(tx.ended_samples.len(), 2);
    let mut old = serde_json::to_value(&state).unwrap();
    let old_tx = &mut old["evses"]["1"]["transaction"];
    for field in ["ended_samples", "deauthorized", "invalid_energy_limit"] {
        old_tx.as_object_mut().unwrap().remove(field).unwrap();
    }
    let read: State = serde_json::from_value(old).unwrap();
    assert!(
        read.evses[&1]
            .transaction
            .as_ref()
            .unwrap()
            .ended_samples
            .is_empty()
    );

    let now = h.now();
    h.cp().local_stop(now, 1);
    h.settle();
    let expected = [
        ("Transaction.Begin", 1000.0),
        ("Sample.Periodic", 1000.0),
        ("Sample.Periodic", 1500.0),
        ("Transaction.End", 2000.0),
    ];
    let expected: Vec<(String, f64)> = expected
        .iter()
        .map(|(c, v)| ((*c).to_owned(), *v))
        .collect();
    assert_eq!(ended_samples(&h), expected);
    // Samples stop with the transaction.
    let received = h.received("TransactionEvent").len();
    h.advance(Duration::from_secs(300));
    assert_eq!(h.received("TransactionEvent").len(), received);
    h.assert_clean();
}

/// The Updated events after `from` with their triggerReason.
fn updates<P: Protocol>(h: &Harness<P>, from: usize) -> Vec<String> {
    h.tx_events()[from..]
        .iter()
        .filter(|(kind, ..)| kind == "Updated")
        .map(|(_, _, trigger, _)| trigger.clone())
        .collect()
}

#[test]
fn reset_immediate_and_resume_needs_a_resumption_timeout() {
    // 2.1 only: a 2.0.1 station has neither the variable nor the reset type.
    let h201 = Harness::<v201::V201>::new(config(version_of::<v201::V201>()));
    let now = h201.now();
    assert_eq!(
        h201.link
            .charge_point
            .variable("TxCtrlr/TxResumptionTimeout", now),
        None
    );
    let mut h = connected::<v21::V21>();
    session(&mut h, 1, "TAG1");
    // B13.FR.01: TxResumptionTimeout 0 means not supported.
    let r = h.ok("Reset", json!({"type": "ImmediateAndResume"}));
    assert_eq!(r["status"], "Rejected");
    assert_eq!(event_types(&h), ["Started"]);
    assert!(!h.events.iter().any(|e| matches!(e, Event::Reboot { .. })));
    h.assert_clean();
}

#[test]
fn a_station_reset_with_resume_keeps_transactions_over_the_restart() {
    let mut h = connected::<v21::V21>();
    set(&mut h, "TxCtrlr/TxResumptionTimeout", "60");
    session(&mut h, 1, "TAG1");
    session(&mut h, 2, "TAG2");
    let now = h.now();
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    let before = h.tx_events().len();
    let r = h.ok("Reset", json!({"type": "ImmediateAndResume"}));
    assert_eq!(r["status"], "Accepted");
    // B13.FR.04/20: an Updated (ResetCommand) each, energy stops, nothing ends.
    assert_eq!(updates(&h, before), ["ResetCommand", "ResetCommand"]);
    assert_eq!(power_switches(&h), (2, 2));
    assert!(h.events.contains(&Event::Reboot { evse: None }));
    assert!(!event_types(&h).contains(&"Ended".to_owned()));

    // The station restarts from its snapshot: both transactions resume
    // (TxResumed), without energy as TxAllowEnergyTransferResumption is off.
    let state: State =
        serde_json::from_str(&serde_json::to_string(&h.cp().snapshot()).unwrap()).unwrap();
    let now = h.now();
    let clock = WallClock::new(now, h.cp().clock().at(now));
    let mut h2 = Harness::<v21::V21>::with_state(config(Version::V21), state, clock, now);
    h2.connect();
    assert_eq!(updates(&h2, 0), ["TxResumed", "TxResumed"]);
    let resumed = h2.received("TransactionEvent");
    let ids = |h: &Harness<v21::V21>| -> Vec<Value> {
        let mut ids: Vec<Value> = h
            .received("TransactionEvent")
            .iter()
            .filter(|p| p["eventType"] == "Started")
            .map(|p| p["transactionInfo"]["transactionId"].clone())
            .collect();
        ids.sort_by_key(|v| v.to_string());
        ids
    };
    let mut resumed_ids: Vec<Value> = resumed
        .iter()
        .map(|p| p["transactionInfo"]["transactionId"].clone())
        .collect();
    resumed_ids.sort_by_key(|v| v.to_string());
    assert_eq!(resumed_ids, ids(&h), "the same transactions");
    let now = h2.now();
    h2.cp().energy_transfer(now, 2, true);
    h2.settle();
    assert_eq!(
        power_switches(&h2),
        (0, 0),
        "no energy after the resumption"
    );
    h.assert_clean();
    h2.assert_clean();
}

#[test]
fn an_evse_reset_with_resume_resumes_when_done_with_energy_if_allowed() {
    let mut h = connected::<v21::V21>();
    set(&mut h, "TxCtrlr/TxResumptionTimeout", "60");
    set(&mut h, "TxCtrlr/TxAllowEnergyTransferResumption", "true");
    session(&mut h, 1, "TAG1");
    session(&mut h, 2, "TAG2");
    let before = h.tx_events().len();
    let r = h.ok("Reset", json!({"type": "ImmediateAndResume", "evseId": 1}));
    assert_eq!(r["status"], "Accepted");
    assert_eq!(updates(&h, before), ["ResetCommand"]);
    assert!(h.events.contains(&Event::Reboot { evse: Some(1) }));
    assert!(h.events.contains(&Event::StopCharging { evse: 1 }));
    assert!(!h.events.contains(&Event::StopCharging { evse: 2 }));
    // Until the EVSE reset is done, no energy.
    h.events.clear();
    let now = h.now();
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    assert!(!h.events.contains(&Event::StartCharging { evse: 1 }));
    h.cp().reset_done(now, 1);
    h.settle();
    let after = updates(&h, before);
    assert_eq!(after.first().map(String::as_str), Some("ResetCommand"));
    assert_eq!(after.last().map(String::as_str), Some("TxResumed"));
    assert_eq!(after.iter().filter(|t| *t == "TxResumed").count(), 1);
    assert!(h.events.contains(&Event::StartCharging { evse: 1 }));
    // A second report of the same reset resumes nothing more.
    let count = h.tx_events().len();
    h.cp().reset_done(now, 1);
    h.settle();
    assert_eq!(h.tx_events().len(), count);
    h.assert_clean();
}

/// The (context, value) of each meterValue of the last Ended event.
fn ended_samples<P: Protocol>(h: &Harness<P>) -> Vec<(String, f64)> {
    let ended = h.received("TransactionEvent").pop().unwrap();
    assert_eq!(ended["eventType"], "Ended");
    ended["meterValue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mv| {
            let v = &mv["sampledValue"][0];
            (
                v["context"].as_str().unwrap().to_owned(),
                v["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn ended_carries_clock_aligned_tx_ended_samples<P: Protocol>() {
    let mut h = connected::<P>();
    // The scripted heartbeats always say 10:00: keep the station's own clock.
    set(&mut h, "ClockCtrlr/TimeSource", "RealTimeClock");
    set(&mut h, "AlignedDataCtrlr/Enabled", "true");
    set(&mut h, "AlignedDataCtrlr/TxEndedInterval", "900");
    // T0 is 10:00:00: the slots are 10:15 and 10:30, counted from midnight.
    h.advance(Duration::from_secs(60));
    session(&mut h, 1, "TAG1");
    h.advance(Duration::from_secs(14 * 60));
    meter(&mut h, 1, 1800);
    h.advance(Duration::from_secs(15 * 60 + 30));
    meter(&mut h, 1, 2500);
    let now = h.now();
    h.cp().local_stop(now, 1);
    h.settle();
    let expected: Vec<(String, f64)> = [
        ("Transaction.Begin", 1000.0),
        ("Sample.Clock", 1000.0),
        ("Sample.Clock", 1800.0),
        ("Transaction.End", 2500.0),
    ]
    .iter()
    .map(|(c, v)| ((*c).to_owned(), *v))
    .collect();
    assert_eq!(ended_samples(&h), expected);
    let ended = h.received("TransactionEvent").pop().unwrap();
    let at: Vec<&str> = ended["meterValue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mv| mv["timestamp"].as_str().unwrap())
        .collect();
    assert!(at[1].starts_with("2025-01-01T10:15:00"), "{at:?}");
    assert!(at[2].starts_with("2025-01-01T10:30:00"), "{at:?}");
    h.assert_clean();
}
