//! The 1.6 charge point against a scripted CSMS in virtual time: boot,
//! a full session, and the transaction queue that loses and doubles nothing.

#[path = "support/cp16_csms.rs"]
mod support;

use ocpp_rpc::charge_point::v16::{ChargePoint, Event, Reading, Registration, State};
use ocpp_rpc::testing::Link;
use ocpp_types::v16::{self, RegistrationStatus};
use support::*;

#[test]
fn boot_pending_then_accepted_gates_calls_until_registered() {
    let (mut link, mut script) = link_with(config(2));
    script.boot = vec![RegistrationStatus::Pending, RegistrationStatus::Accepted];
    script.boot_interval = 10;
    link.connect();
    settle(&mut link, &mut script);
    assert_eq!(link.charge_point.registration(), Registration::Pending);
    // A cable while Pending: no StatusNotification goes out yet.
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert_eq!(calls(&link).len(), 1);
    // A CSMS call while Pending is answered (GetConfiguration) ...
    let r = csms_call(
        &mut link,
        &mut script,
        v16::GetConfigurationRequest {
            key: Some(vec![tag("HeartbeatInterval")]),
        },
    );
    assert!(matches!(r, Ok(v16::AnyResponse::GetConfiguration(_))));
    // ... but RemoteStart is refused.
    let r = csms_call(
        &mut link,
        &mut script,
        v16::RemoteStartTransactionRequest {
            charging_profile: None,
            connector_id: Some(1),
            id_tag: tag("TAG"),
        },
    );
    match r {
        Ok(v16::AnyResponse::RemoteStartTransaction(r)) => {
            assert_eq!(r.status, v16::RemoteStartStopStatus::Rejected)
        }
        other => panic!("{other:?}"),
    }
    advance(&mut link, &mut script, 10);
    assert_eq!(link.charge_point.registration(), Registration::Accepted);
    assert_eq!(calls_of(&link, "BootNotification").len(), 2);
    // After Accepted: connector 0 and every connector, in order.
    assert_eq!(
        statuses(&link),
        vec![
            (0, "Available".into()),
            (1, "Preparing".into()),
            (2, "Available".into())
        ]
    );
    // HeartbeatInterval came from the boot answer.
    assert_eq!(
        link.charge_point.configuration().get("HeartbeatInterval"),
        Some("10")
    );
    advance(&mut link, &mut script, 10);
    assert_eq!(calls_of(&link, "Heartbeat").len(), 1);
    assert_clean(&link);
}

#[test]
fn rejected_boot_retries_after_the_interval_and_answers_nothing() {
    let (mut link, mut script) = link_with(config(1));
    script.boot = vec![RegistrationStatus::Rejected, RegistrationStatus::Accepted];
    script.boot_interval = 30;
    link.connect();
    settle(&mut link, &mut script);
    assert_eq!(link.charge_point.registration(), Registration::Rejected);
    let now = link.now();
    link.csms.call(now, v16::ClearCacheRequest {}).unwrap();
    settle(&mut link, &mut script);
    assert!(
        script.responses.is_empty(),
        "nothing answered while Rejected"
    );
    advance(&mut link, &mut script, 29);
    assert_eq!(calls_of(&link, "BootNotification").len(), 1);
    advance(&mut link, &mut script, 1);
    assert_eq!(calls_of(&link, "BootNotification").len(), 2);
    assert_eq!(link.charge_point.registration(), Registration::Accepted);
}

#[test]
fn a_full_session_with_meter_values_at_the_configured_interval() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "MeterValueSampleInterval", "60");
    set(
        &mut link,
        "MeterValuesSampledData",
        "Energy.Active.Import.Register,Power.Active.Import",
    );
    set(
        &mut link,
        "StopTxnSampledData",
        "Energy.Active.Import.Register",
    );
    let now = link.now();
    link.charge_point
        .meter_reading(now, 1, Reading::energy(1000))
        .unwrap();
    link.charge_point.plug_in(now, 1).unwrap();
    settle(&mut link, &mut script);
    link.charge_point.present_id_tag(now, 1, "TAG-1").unwrap();
    settle(&mut link, &mut script);
    let evs = events(&mut link);
    assert!(evs.iter().any(|e| matches!(
        e,
        Event::StartCharging {
            connector: 1,
            transaction: 1
        }
    )));
    assert!(evs.contains(&Event::StateChanged));
    assert_eq!(calls_of(&link, "Authorize").len(), 1);
    let start = calls_of(&link, "StartTransaction");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["meterStart"], 1000);
    assert_eq!(start[0]["idTag"], "TAG-1");
    assert_eq!(link.charge_point.transaction_id(1), Some(1));
    for minute in 1..=3 {
        let now = link.now();
        let reading = Reading {
            energy_wh: 1000 + minute * 100,
            power_w: Some(7000.into()),
            ..Reading::default()
        };
        link.charge_point.meter_reading(now, 1, reading).unwrap();
        advance(&mut link, &mut script, 60);
    }
    let mv = calls_of(&link, "MeterValues");
    assert_eq!(mv.len(), 3, "one per MeterValueSampleInterval");
    for (i, m) in mv.iter().enumerate() {
        assert_eq!(m["transactionId"], 1);
        assert_eq!(m["connectorId"], 1);
        let sv = &m["meterValue"][0]["sampledValue"];
        assert_eq!(sv[0]["value"], (1100 + 100 * i).to_string());
        assert_eq!(sv[1]["measurand"], "Power.Active.Import");
        let at = m["meterValue"][0]["timestamp"].as_str().unwrap();
        let expected =
            after(t0(), 60 * (i as i64 + 1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert!(at.starts_with(&expected[..19]), "{at} vs {expected}");
    }
    let now = link.now();
    link.charge_point.present_id_tag(now, 1, "tag-1").unwrap();
    settle(&mut link, &mut script);
    let stop = calls_of(&link, "StopTransaction");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0]["transactionId"], 1);
    assert_eq!(stop[0]["meterStop"], 1300);
    assert_eq!(stop[0]["reason"], "Local");
    let data = stop[0]["transactionData"].as_array().unwrap();
    assert_eq!(
        data.first().unwrap()["sampledValue"][0]["context"],
        "Transaction.Begin"
    );
    assert_eq!(
        data.last().unwrap()["sampledValue"][0]["context"],
        "Transaction.End"
    );
    link.charge_point.unplug(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert_eq!(
        statuses(&link),
        vec![
            (0, "Available".into()),
            (1, "Available".into()),
            (1, "Preparing".into()),
            (1, "Charging".into()),
            (1, "Finishing".into()),
            (1, "Available".into()),
        ]
    );
    assert_clean(&link);
}

fn start_session(link: &mut L, script: &mut Script) {
    set(link, "MeterValueSampleInterval", "60");
    let now = link.now();
    link.charge_point
        .meter_reading(now, 1, Reading::energy(0))
        .unwrap();
    link.charge_point.plug_in(now, 1).unwrap();
    link.charge_point.present_id_tag(now, 1, "TAG").unwrap();
    settle(link, script);
}

fn offline_charging(link: &mut L, script: &mut Script) {
    link.close();
    for minute in 1..=2 {
        let now = link.now();
        link.charge_point
            .meter_reading(now, 1, Reading::energy(minute * 500))
            .unwrap();
        advance(link, script, 60);
    }
    let now = link.now();
    // Offline, the same tag still stops the transaction.
    link.charge_point.present_id_tag(now, 1, "TAG").unwrap();
    settle(link, script);
    assert_eq!(link.charge_point.state().queue.len(), 3);
}

/// The transaction messages after the boot of the last connection.
fn replayed(link: &L) -> Vec<(String, serde_json::Value)> {
    calls(link)
        .into_iter()
        .filter(|(a, _)| {
            matches!(
                a.as_str(),
                "StartTransaction" | "StopTransaction" | "MeterValues"
            )
        })
        .collect()
}

#[test]
fn a_dropped_connection_mid_transaction_loses_nothing() {
    let (mut link, mut script) = registered(1);
    start_session(&mut link, &mut script);
    offline_charging(&mut link, &mut script);
    let now = link.now();
    link.reconnect(csms_endpoint(now, "cs2-"));
    settle(&mut link, &mut script);
    let sent = replayed(&link);
    let actions: Vec<&str> = sent.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "StartTransaction",
            "MeterValues",
            "MeterValues",
            "StopTransaction"
        ]
    );
    assert_eq!(
        sent[1].1["meterValue"][0]["sampledValue"][0]["value"],
        "500"
    );
    assert_eq!(
        sent[2].1["meterValue"][0]["sampledValue"][0]["value"],
        "1000"
    );
    assert!(sent[1..].iter().all(|(_, p)| p["transactionId"] == 1));
    assert_eq!(sent[3].1["meterStop"], 1000);
    assert!(link.charge_point.state().queue.is_empty());
    assert_clean(&link);
}

#[test]
fn an_offline_start_gets_its_transaction_id_patched_in_on_reconnect() {
    let (mut link, mut script) = registered(1);
    link.close();
    set(&mut link, "MeterValueSampleInterval", "60");
    set(&mut link, "AllowOfflineTxForUnknownId", "true");
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    link.charge_point.present_id_tag(now, 1, "NEW").unwrap();
    settle(&mut link, &mut script);
    assert!(
        events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::StartCharging { .. }))
    );
    let now = link.now();
    link.charge_point
        .meter_reading(now, 1, Reading::energy(250))
        .unwrap();
    advance(&mut link, &mut script, 60);
    let now = link.now();
    link.charge_point.present_id_tag(now, 1, "NEW").unwrap();
    script.next_tx_id = 42;
    link.reconnect(csms_endpoint(now, "cs2-"));
    settle(&mut link, &mut script);
    let sent = replayed(&link);
    let actions: Vec<&str> = sent.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["StartTransaction", "MeterValues", "StopTransaction"]
    );
    assert_eq!(sent[1].1["transactionId"], 42);
    assert_eq!(sent[2].1["transactionId"], 42);
    assert!(sent.iter().all(|(_, p)| p["transactionId"] != -1));
    assert_clean(&link);
}

#[test]
fn a_restart_from_the_snapshot_while_offline_replays_the_queue_once() {
    let (mut link, mut script) = registered(1);
    start_session(&mut link, &mut script);
    offline_charging(&mut link, &mut script);
    // The charger restarts: its state went through serde.
    let json = serde_json::to_string(&link.charge_point.snapshot()).unwrap();
    let state: State = serde_json::from_str(&json).unwrap();
    assert_eq!(
        state,
        link.charge_point.snapshot(),
        "the snapshot round-trips"
    );
    let now = link.now();
    let clock = ocpp_rpc::machine::WallClock::new(now, script.utc(now));
    let restarted = ChargePoint::restore(config(1), state, clock, now);
    assert_eq!(restarted.state().queue.len(), 3);
    let before = replayed(&link).len();
    let mut link2 = Link::between(restarted, csms_endpoint(now, "cs3-"), now);
    link2.connect();
    settle(&mut link2, &mut script);
    let sent = replayed(&link2);
    let actions: Vec<&str> = sent.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["MeterValues", "MeterValues", "StopTransaction"]);
    assert!(sent.iter().all(|(_, p)| p["transactionId"] == 1));
    assert_eq!(
        before, 1,
        "only the StartTransaction went out before the restart"
    );
    // Nothing more after it is answered, even after a further reconnect.
    let now = link2.now();
    link2.close();
    link2.reconnect(csms_endpoint(now, "cs4-"));
    settle(&mut link2, &mut script);
    assert_eq!(replayed(&link2).len(), 3);
    assert_eq!(calls_of(&link2, "StopTransaction").len(), 1);
    // Message ids differ from those of the first run.
    let first: Vec<String> = calls_ids(&link);
    assert!(calls_ids(&link2).iter().all(|id| !first.contains(id)));
    assert_clean(&link2);
}

fn calls_ids(link: &L) -> Vec<String> {
    link.frames_to(ocpp_rpc::testing::Direction::ToCsms)
        .iter()
        .filter_map(|f| {
            let v: serde_json::Value = serde_json::from_str(f).unwrap();
            (v[0] == 2).then(|| v[1].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn a_message_the_csms_keeps_refusing_is_tried_attempts_times_then_dropped() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "TransactionMessageAttempts", "3");
    set(&mut link, "TransactionMessageRetryInterval", "10");
    start_session(&mut link, &mut script);
    drain_cp(&mut link);
    script.fail = vec!["MeterValues"];
    advance(&mut link, &mut script, 60);
    assert_eq!(calls_of(&link, "MeterValues").len(), 1);
    // Waits 10 s × 1, then 10 s × 2.
    advance(&mut link, &mut script, 9);
    assert_eq!(calls_of(&link, "MeterValues").len(), 1);
    advance(&mut link, &mut script, 1);
    assert_eq!(calls_of(&link, "MeterValues").len(), 2);
    advance(&mut link, &mut script, 20);
    assert_eq!(calls_of(&link, "MeterValues").len(), 3);
    let evs = events(&mut link);
    let dropped: Vec<_> = evs
        .iter()
        .filter(|e| matches!(e, Event::TransactionMessageDropped { transaction: 1, .. }))
        .collect();
    assert_eq!(dropped.len(), 1);
    // The queue moves on: the stop still goes out.
    script.fail.clear();
    let now = link.now();
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::EmergencyStop)
        .unwrap();
    settle(&mut link, &mut script);
    let stop = calls_of(&link, "StopTransaction");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0]["reason"], "EmergencyStop");
    advance(&mut link, &mut script, 60);
    assert_eq!(calls_of(&link, "MeterValues").len(), 3);
    assert_clean(&link);
}

#[test]
fn a_timed_out_start_is_retried_and_its_stop_waits_for_the_id() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "TransactionMessageRetryInterval", "5");
    script.silent = vec!["StartTransaction"];
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    link.charge_point.present_id_tag(now, 1, "TAG").unwrap();
    settle(&mut link, &mut script);
    let now = link.now();
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::Local)
        .unwrap();
    settle(&mut link, &mut script);
    assert!(calls_of(&link, "StopTransaction").is_empty());
    script.silent.clear();
    // 30 s call timeout, then 5 s.
    advance(&mut link, &mut script, 36);
    assert_eq!(calls_of(&link, "StartTransaction").len(), 2);
    let stop = calls_of(&link, "StopTransaction");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0]["transactionId"], 1);
    assert_clean(&link);
}

#[test]
fn clock_aligned_meter_values_count_from_midnight() {
    // t0 is 10:00:00; 900 s slots fall at 10:15, 10:30, ...
    let (mut link, mut script) = registered(2);
    set(&mut link, "MeterValueSampleInterval", "0");
    set(
        &mut link,
        "StopTxnAlignedData",
        "Energy.Active.Import.Register",
    );
    let now = link.now();
    let r = csms_call(
        &mut link,
        &mut script,
        v16::ChangeConfigurationRequest {
            key: tag("ClockAlignedDataInterval"),
            value: tag("900"),
        },
    );
    assert!(matches!(r, Ok(v16::AnyResponse::ChangeConfiguration(_))));
    link.charge_point
        .meter_reading(now, 1, Reading::energy(10))
        .unwrap();
    link.charge_point
        .meter_reading(now, 2, Reading::energy(20))
        .unwrap();
    link.charge_point.plug_in(now, 1).unwrap();
    link.charge_point.present_id_tag(now, 1, "TAG").unwrap();
    settle(&mut link, &mut script);
    advance(&mut link, &mut script, 899);
    assert!(calls_of(&link, "MeterValues").is_empty());
    advance(&mut link, &mut script, 1);
    let mv = calls_of(&link, "MeterValues");
    assert_eq!(mv.len(), 2);
    for m in &mv {
        assert_eq!(m["meterValue"][0]["timestamp"], "2025-01-01T10:15:00Z");
        assert_eq!(
            m["meterValue"][0]["sampledValue"][0]["context"],
            "Sample.Clock"
        );
    }
    let with_tx = mv.iter().find(|m| m["connectorId"] == 1).unwrap();
    assert_eq!(with_tx["transactionId"], 1);
    let idle = mv.iter().find(|m| m["connectorId"] == 2).unwrap();
    assert!(idle.get("transactionId").is_none());
    advance(&mut link, &mut script, 900);
    assert_eq!(calls_of(&link, "MeterValues").len(), 4);
    let now = link.now();
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::Local)
        .unwrap();
    settle(&mut link, &mut script);
    let stop = &calls_of(&link, "StopTransaction")[0];
    let data = stop["transactionData"].as_array().unwrap();
    assert_eq!(data.len(), 2, "the two clock-aligned samples");
    assert_eq!(data[0]["timestamp"], "2025-01-01T10:15:00Z");
    assert_clean(&link);
}

#[test]
fn an_authorization_without_a_cable_lapses_after_connection_timeout() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "ConnectionTimeOut", "30");
    let now = link.now();
    link.charge_point.present_id_tag(now, 1, "TAG").unwrap();
    settle(&mut link, &mut script);
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Preparing)
    );
    advance(&mut link, &mut script, 30);
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Available)
    );
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert!(calls_of(&link, "StartTransaction").is_empty());
    assert_eq!(
        statuses(&link)[2..],
        [
            (1, "Preparing".to_owned()),
            (1, "Available".to_owned()),
            (1, "Preparing".to_owned())
        ]
    );
    assert_clean(&link);
}

#[test]
fn a_status_shorter_than_minimum_status_duration_is_not_reported() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "MinimumStatusDuration", "10");
    let booted = statuses(&link).len();
    assert_eq!(booted, 2, "the first report goes out at once");
    let new = |link: &L| statuses(link)[booted..].to_vec();
    // Preparing for 5 s, then Available again: nothing is reported.
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    advance(&mut link, &mut script, 5);
    let now = link.now();
    link.charge_point.unplug(now, 1).unwrap();
    advance(&mut link, &mut script, 30);
    assert_eq!(new(&link), vec![]);
    // Preparing, then Faulted 3 s later: only the latest, once it has held.
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    advance(&mut link, &mut script, 3);
    let now = link.now();
    link.charge_point
        .fault(now, 1, v16::ChargePointErrorCode::GroundFailure, false)
        .unwrap();
    advance(&mut link, &mut script, 9);
    assert_eq!(new(&link), vec![]);
    advance(&mut link, &mut script, 1);
    assert_eq!(new(&link), vec![(1, "Faulted".to_owned())]);
    // A triggered StatusNotification reports the current state at once.
    let now = link.now();
    link.charge_point.clear_fault(now, 1).unwrap();
    settle(&mut link, &mut script);
    let r = csms_call(
        &mut link,
        &mut script,
        v16::TriggerMessageRequest {
            connector_id: Some(1),
            requested_message: v16::MessageTrigger::StatusNotification,
        },
    );
    assert!(matches!(r, Ok(v16::AnyResponse::TriggerMessage(_))));
    assert_eq!(new(&link)[1..], [(1, "Preparing".to_owned())]);
    advance(&mut link, &mut script, 30);
    assert_eq!(new(&link).len(), 2, "nothing more: Preparing was reported");
    assert_clean(&link);
}
