//! The 2.0.1 / 2.1 charge-point state machine against a scripted CSMS, in
//! virtual time: sessions, the offline queue, restarts, retries.

#[macro_use]
mod cp2x_support;

use std::time::Duration;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::{Event, State};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::WallClock;
use ocpp_types::{Protocol, v21};
use serde_json::json;

both_versions!(
    full_session,
    offline_then_reconnect_loses_nothing,
    restart_from_snapshot_while_offline,
    refused_message_is_retried_then_dropped,
    rejected_boot_refuses_calls_and_retries,
    invalid_token_in_transaction_response_ends_it,
    no_cable_in_time_ends_the_authorization,
    boot_on_every_connection_when_configured,
);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn started_session<P: Protocol>(h: &mut Harness<P>) {
    h.connect();
    let now = h.now();
    h.cp().meter_reading(now, 1, reading(1000));
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
}

fn full_session<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    let mut boots = 0;
    h.respond_with(move |action, p| match action {
        "BootNotification" => {
            boots += 1;
            let status = if boots == 1 { "Pending" } else { "Accepted" };
            Reply::Ok(json!({"currentTime": T0, "interval": if boots == 1 { 10 } else { 300 }, "status": status}))
        }
        _ => standard(action, p),
    });
    h.connect();
    assert_eq!(h.received("BootNotification").len(), 1);
    let boot = &h.received("BootNotification")[0];
    assert_eq!(boot["reason"], "PowerUp");
    assert_eq!(boot["chargingStation"]["vendorName"], "Acme");
    // Pending: nothing else goes out; the boot is retried after the interval.
    assert!(h.received("StatusNotification").is_empty());
    h.advance(secs(9));
    assert_eq!(h.received("BootNotification").len(), 1);
    h.advance(secs(1));
    assert_eq!(h.received("BootNotification").len(), 2);
    assert!(h.events.contains(&Event::Registered {
        status: v21::RegistrationStatusEnum::Accepted
    }));
    // One status per connector.
    let status = h.received("StatusNotification");
    assert_eq!(status.len(), 2);
    assert!(status.iter().all(|s| s["connectorStatus"] == "Available"));

    // Plug in: Occupied; the token authorizes online; Started.
    let now = h.now();
    h.cp().meter_reading(now, 1, reading(1000));
    h.cp().plug_in(now, 1, 1);
    h.settle();
    let status = h.received("StatusNotification");
    assert_eq!(status.last().unwrap()["connectorStatus"], "Occupied");
    assert_eq!(status.last().unwrap()["evseId"], 1);
    assert!(
        h.received("TransactionEvent").is_empty(),
        "TxStartPoint is PowerPathClosed"
    );
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
    assert_eq!(h.received("Authorize").len(), 1);
    assert!(h.events.contains(&Event::StartCharging { evse: 1 }));
    let tx = h.received("TransactionEvent");
    assert_eq!(tx.len(), 1);
    let started = &tx[0];
    assert_eq!(started["eventType"], "Started");
    assert_eq!(started["seqNo"], 0);
    assert_eq!(started["triggerReason"], "Authorized");
    assert_eq!(started["idToken"]["idToken"], "TAG1");
    assert_eq!(started["evse"], json!({"id": 1, "connectorId": 1}));
    assert_eq!(started["transactionInfo"]["chargingState"], "SuspendedEV");
    assert_eq!(
        started["meterValue"][0]["sampledValue"][0]["context"],
        "Transaction.Begin"
    );
    assert!(started.get("offline").is_none());
    let id = started["transactionInfo"]["transactionId"].clone();

    // The EV draws energy; meter values every TxUpdatedInterval (60 s).
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    for minute in 1..=3 {
        let now = h.now();
        h.cp().meter_reading(now, 1, reading(1000 + 100 * minute));
        h.advance(secs(60));
    }
    let tx = h.received("TransactionEvent");
    let periodic: Vec<_> = tx
        .iter()
        .filter(|t| t["triggerReason"] == "MeterValuePeriodic")
        .collect();
    assert_eq!(periodic.len(), 3);
    assert_eq!(
        periodic[2]["meterValue"][0]["sampledValue"][0]["value"],
        json!(1300)
    );
    assert_eq!(
        periodic[2]["meterValue"][0]["sampledValue"][0]["context"],
        "Sample.Periodic"
    );
    assert_eq!(
        periodic[0]["timestamp"], "2025-01-01T10:01:00Z",
        "the boot set the clock"
    );

    // Heartbeat at the interval (300 s after the accepted boot).
    h.advance(secs(120));
    assert_eq!(h.received("Heartbeat").len(), 1);

    // The same token stops the transaction: Ended, Local (so no stoppedReason).
    let now = h.now();
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
    let tx = h.received("TransactionEvent");
    let ended = tx.last().unwrap();
    assert_eq!(ended["eventType"], "Ended");
    assert_eq!(ended["triggerReason"], "StopAuthorized");
    assert_eq!(ended["transactionInfo"]["transactionId"], id);
    assert!(ended["transactionInfo"].get("stoppedReason").is_none());
    let contexts: Vec<_> = ended["meterValue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sampledValue"][0]["context"].clone())
        .collect();
    assert_eq!(
        contexts,
        vec![json!("Transaction.Begin"), json!("Transaction.End")]
    );
    assert!(h.events.contains(&Event::StopCharging { evse: 1 }));
    let seq: Vec<i64> = h.tx_events().iter().map(|t| t.1).collect();
    assert_eq!(seq, (0..seq.len() as i64).collect::<Vec<_>>());
    h.cp().unplug(now, 1);
    h.settle();
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Available"
    );
    h.assert_clean();
}

fn offline_then_reconnect_loses_nothing<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    started_session(&mut h);
    let now = h.now();
    h.cp().energy_transfer(now, 1, true);
    h.settle();
    let online = h.tx_events().len();
    assert_eq!(online, 2);
    h.close();
    for minute in 1..=3 {
        let now = h.now();
        h.cp().meter_reading(now, 1, reading(1000 + 100 * minute));
        h.advance(secs(60));
    }
    let now = h.now();
    h.cp().unplug(now, 1);
    h.advance(secs(10));
    assert_eq!(h.tx_events().len(), online, "nothing reaches a closed link");
    assert_eq!(h.cp().snapshot().queue.len(), 4);
    h.reconnect();
    // Registered already: no boot on reconnect (B04), the queue goes out in order.
    assert_eq!(h.received("BootNotification").len(), 1);
    let tx = h.tx_events();
    assert_eq!(tx.len(), online + 4);
    let seq: Vec<i64> = tx.iter().map(|t| t.1).collect();
    assert_eq!(
        seq,
        (0..tx.len() as i64).collect::<Vec<_>>(),
        "seqNo contiguous"
    );
    for t in &tx[online..] {
        assert!(t.3, "offline flag on {t:?}");
    }
    assert_eq!(tx.last().unwrap().0, "Ended");
    assert_eq!(tx.last().unwrap().2, "EVCommunicationLost");
    let ended = h.received("TransactionEvent").last().unwrap().clone();
    assert_eq!(ended["transactionInfo"]["stoppedReason"], "EVDisconnected");
    assert!(h.cp().snapshot().queue.is_empty());
    // The connector status changed while offline: reported.
    assert_eq!(
        h.received("StatusNotification").last().unwrap()["connectorStatus"],
        "Available"
    );
    // Each message exactly once.
    let mut seen = std::collections::BTreeSet::new();
    for p in h.received("TransactionEvent") {
        assert!(seen.insert(p["seqNo"].as_i64().unwrap()), "doubled: {p}");
    }
    h.assert_clean();
}

fn restart_from_snapshot_while_offline<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    started_session(&mut h);
    let online = h.tx_events().len();
    h.close();
    let now = h.now();
    h.cp().meter_reading(now, 1, reading(1500));
    h.advance(secs(60));
    // The station restarts: the snapshot goes through JSON.
    let text = serde_json::to_string(&h.cp().snapshot()).unwrap();
    let state: State = serde_json::from_str(&text).unwrap();
    assert_eq!(state, h.cp().snapshot());
    let now = h.now();
    let clock = WallClock::new(now, h.cp().clock().at(now));
    let mut config = config(version_of::<P>());
    config.boot_reason = v21::BootReasonEnum::PowerUp;
    let mut h2 = Harness::<P>::with_state(config, state, clock, now);
    let now = h2.now();
    // The transaction continues after the restart; the EV leaves offline.
    h2.cp().meter_reading(now, 1, reading(1700));
    h2.advance(secs(60));
    let now = h2.now();
    h2.cp().unplug(now, 1);
    h2.connect();
    assert_eq!(h2.received("BootNotification").len(), 1);
    let tx = h2.tx_events();
    // Updated (before restart), Updated (after), Ended.
    assert_eq!(tx.len(), 3, "{tx:?}");
    let seq: Vec<i64> = tx.iter().map(|t| t.1).collect();
    assert_eq!(seq, (online as i64..online as i64 + 3).collect::<Vec<_>>());
    assert!(tx.iter().all(|t| t.3));
    assert_eq!(tx[2].0, "Ended");
    let ended = h2.received("TransactionEvent").last().unwrap().clone();
    let first = h.received("TransactionEvent")[0].clone();
    assert_eq!(
        ended["transactionInfo"]["transactionId"],
        first["transactionInfo"]["transactionId"]
    );
    // A new transaction gets a new id, never a reused one.
    let now = h2.now();
    h2.cp().plug_in(now, 1, 1);
    h2.cp().present_id_token(now, 1, token("TAG2"));
    h2.settle();
    let next = h2.received("TransactionEvent").last().unwrap().clone();
    assert_eq!(next["eventType"], "Started");
    assert_eq!(next["seqNo"], 0);
    assert_ne!(
        next["transactionInfo"]["transactionId"],
        first["transactionInfo"]["transactionId"]
    );
    h.assert_clean();
    h2.assert_clean();
}

fn refused_message_is_retried_then_dropped<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    h.connect();
    let now = h.now();
    h.cp()
        .set_variable("OCPPCommCtrlr/MessageAttempts[TransactionEvent]", "3", now)
        .unwrap();
    h.cp()
        .set_variable(
            "OCPPCommCtrlr/MessageAttemptInterval[TransactionEvent]",
            "10",
            now,
        )
        .unwrap();
    h.respond_with(|action, p| match action {
        "TransactionEvent" if p["seqNo"] == 0 => Reply::Error(ErrorCode::InternalError),
        _ => standard(action, p),
    });
    h.cp().meter_reading(now, 1, reading(1000));
    h.cp().plug_in(now, 1, 1);
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
    assert_eq!(h.tx_events().len(), 1);
    // Retries after 10 s, then 20 s more.
    h.advance(secs(9));
    assert_eq!(h.tx_events().len(), 1);
    h.advance(secs(1));
    assert_eq!(h.tx_events().len(), 2);
    h.advance(secs(19));
    assert_eq!(h.tx_events().len(), 2);
    h.advance(secs(1));
    let first: Vec<_> = h.tx_events().into_iter().filter(|t| t.1 == 0).collect();
    assert_eq!(first.len(), 3, "tried exactly MessageAttempts times");
    let dropped: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TransactionMessageDropped { request, .. } => Some(request.seq_no),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, vec![0]);
    assert!(h.cp().snapshot().queue.is_empty());
    // The queue moves on.
    h.advance(secs(60));
    assert_eq!(h.tx_events().last().unwrap().1, 1);
    assert_eq!(h.tx_events().iter().filter(|t| t.1 == 0).count(), 3);
    h.assert_clean();
}

fn rejected_boot_refuses_calls_and_retries<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    let mut boots = 0;
    h.respond_with(move |action, p| match action {
        "BootNotification" => {
            boots += 1;
            let status = if boots == 1 { "Rejected" } else { "Accepted" };
            Reply::Ok(json!({"currentTime": T0, "interval": 20, "status": status}))
        }
        _ => standard(action, p),
    });
    h.connect();
    match h.call("GetLocalListVersion", json!({})) {
        Err(ocpp_rpc::endpoint::CallFailure::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::SecurityError)
        }
        other => panic!("{other:?}"),
    }
    h.advance(secs(20));
    assert_eq!(h.received("BootNotification").len(), 2);
    assert_eq!(h.ok("GetLocalListVersion", json!({}))["versionNumber"], 0);
    h.assert_clean();
}

fn invalid_token_in_transaction_response_ends_it<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    h.respond_with(|action, p| match action {
        // The token passes Authorize, the transaction's answer says Invalid (E05).
        "TransactionEvent" if p["eventType"] == "Started" => {
            Reply::Ok(json!({"idTokenInfo": {"status": "Invalid"}}))
        }
        _ => standard(action, p),
    });
    started_session(&mut h);
    let tx = h.received("TransactionEvent");
    assert_eq!(tx.len(), 2, "{tx:?}");
    assert_eq!(tx[1]["eventType"], "Ended");
    assert_eq!(tx[1]["triggerReason"], "Deauthorized");
    assert_eq!(tx[1]["transactionInfo"]["stoppedReason"], "DeAuthorized");
    assert!(h.events.contains(&Event::StopCharging { evse: 1 }));
    assert_eq!(
        h.cp().snapshot().auth_cache["ISO14443:TAG1"].info.status,
        v21::AuthorizationStatusEnum::Invalid
    );
    h.assert_clean();
}

fn no_cable_in_time_ends_the_authorization<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    h.connect();
    let now = h.now();
    // Idle: the authorization lapses after EVConnectionTimeOut (60 s).
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
    assert!(h.cp().snapshot().evses[&1].authorized.is_some());
    h.advance(secs(60));
    assert!(h.cp().snapshot().evses[&1].authorized.is_none());
    assert!(h.received("TransactionEvent").is_empty());
    // With TxStartPoint Authorized the transaction it started ends.
    let now = h.now();
    h.cp()
        .set_variable("TxCtrlr/TxStartPoint", "Authorized", now)
        .unwrap();
    h.cp().present_id_token(now, 1, token("TAG1"));
    h.settle();
    assert_eq!(h.received("TransactionEvent")[0]["eventType"], "Started");
    h.advance(secs(59));
    assert_eq!(h.received("TransactionEvent").len(), 1);
    h.advance(secs(1));
    let ended = h.received("TransactionEvent").last().unwrap().clone();
    assert_eq!(ended["eventType"], "Ended");
    assert_eq!(ended["triggerReason"], "EVConnectTimeout");
    assert_eq!(ended["transactionInfo"]["stoppedReason"], "Timeout");
    // A cable in time keeps it.
    let now = h.now();
    h.cp().present_id_token(now, 2, token("TAG2"));
    h.advance(secs(30));
    let now = h.now();
    h.cp().plug_in(now, 2, 1);
    h.advance(secs(60));
    assert!(h.cp().snapshot().evses[&2].transaction.is_some());
    h.assert_clean();
}

fn boot_on_every_connection_when_configured<P: Protocol>() {
    let mut config = config(version_of::<P>());
    config.boot_on_reconnect = true;
    let mut h = Harness::<P>::new(config);
    h.connect();
    h.close();
    h.advance(secs(5));
    h.reconnect();
    assert_eq!(h.received("BootNotification").len(), 2);
    // Offline for less than OfflineThreshold, but a new boot: every connector again.
    assert_eq!(h.received("StatusNotification").len(), 4);
    // Message ids never repeat across connections.
    let ids: Vec<String> = h
        .link
        .frames_to(ocpp_rpc::testing::Direction::ToCsms)
        .iter()
        .filter(|f| f.starts_with("[2,"))
        .map(|f| f.split(',').nth(1).unwrap().to_owned())
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    h.assert_clean();
}
