//! The CSMS session against a hand-driven charge point, per version, in
//! virtual time.

mod csms_support;

use std::time::Duration;

use csms_support::*;
use ocpp_rpc::csms::{
    AuthPurpose, AuthStatus, Authorization, BootDecision, CommandError, Config, ConnectorStatus,
    DataTransferAnswer, DataTransferStatus, Event, Registration, RemoteStart, ResetKind,
    SessionState, StopReason, TransactionIds, TriggerKind,
};
use ocpp_rpc::endpoint::{CallError, CallFailure};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::Machine;
use ocpp_types::{Protocol, v16, v21, v201};
use serde_json::json;

fn asking() -> Config {
    let mut config = Config::default();
    config.transaction_ids = TransactionIds::Sequential { next: 1 };
    config
}

fn booted<P: Protocol>(config: Config) -> CpLink<P> {
    let mut config = config;
    config.auto_accept_boot = true;
    let mut link = link::<P>(config);
    let (action, payload) = boot(P::VERSION);
    send(&mut link, action, payload);
    assert_eq!(reply(&mut link)["status"], "Accepted");
    events(&mut link);
    link
}

fn no_refusals(events: &[Event]) {
    for e in events {
        assert!(
            !matches!(
                e,
                Event::Rejected {
                    code: Some(ErrorCode::InternalError),
                    ..
                }
            ),
            "the session refused its own answer: {e:?}"
        );
    }
}

// ----- the boot gate -----

fn boot_gate<P: Protocol>() {
    let mut link = link::<P>(Config::default());
    let v = P::VERSION;

    // Before any boot: refused with SecurityError.
    send(&mut link, "Heartbeat", json!({}));
    assert_eq!(error_reply(&mut link), "SecurityError");
    let evs = events(&mut link);
    assert!(
        matches!(
            &evs[..],
            [Event::Rejected {
                code: Some(ErrorCode::SecurityError),
                ..
            }]
        ),
        "{evs:?}"
    );

    // The boot waits for the application, which answers Pending.
    let (action, payload) = boot(v);
    send(&mut link, action, payload);
    assert!(
        at_cp(&mut link).is_empty(),
        "answered before the application decided"
    );
    let ticket = match &events(&mut link)[..] {
        [
            Event::BootRequested {
                ticket,
                charge_point,
                ..
            },
        ] => {
            assert_eq!(
                (charge_point.vendor.as_str(), charge_point.model.as_str()),
                ("ACME", "M1")
            );
            assert_eq!(charge_point.serial_number.as_deref(), Some("S-1"));
            *ticket
        }
        other => panic!("{other:?}"),
    };
    let now = link.now();
    link.csms
        .answer_boot(now, ticket, BootDecision::pending(60))
        .unwrap();
    link.drive();
    let got = reply(&mut link);
    assert_eq!(
        (got["status"].as_str(), got["interval"].as_i64()),
        (Some("Pending"), Some(60))
    );
    assert!(matches!(
        &events(&mut link)[..],
        [Event::Booted {
            status: Registration::Pending,
            ..
        }]
    ));

    // Pending: a heartbeat is still refused; no remote start may be sent.
    send(&mut link, "Heartbeat", json!({}));
    assert_eq!(error_reply(&mut link), "SecurityError");
    events(&mut link);
    let start = RemoteStart {
        id_token: ocpp_rpc::csms::IdToken {
            value: "T".into(),
            kind: None,
        },
        evse: Some(1),
        remote_start_id: 1,
    };
    assert!(matches!(
        link.csms.remote_start(now, &start),
        Err(CommandError::NotAllowed {
            registration: Registration::Pending,
            ..
        })
    ));

    // Pending: a triggered StatusNotification passes once the trigger is accepted.
    let (action, payload) = status(v, 1, "Available", "Available", T0);
    send(&mut link, action, payload.clone());
    assert_eq!(error_reply(&mut link), "SecurityError");
    events(&mut link);
    let trigger = link
        .csms
        .trigger(now, TriggerKind::StatusNotification, Some(1), Some(1))
        .unwrap();
    link.drive();
    let (id, action_name, _) = request(&mut link);
    assert_eq!(action_name, "TriggerMessage");
    answer(
        &mut link,
        &id,
        "TriggerMessage",
        json!({ "status": "Accepted" }),
    );
    assert!(
        matches!(&events(&mut link)[..], [Event::CommandResult { call, action, result: Ok(_) }] if *call == trigger && action == "TriggerMessage")
    );
    send(&mut link, action, payload);
    reply(&mut link);
    assert!(matches!(
        &events(&mut link)[..],
        [Event::StatusChanged {
            status: ConnectorStatus::Available,
            ..
        }]
    ));

    // Boot again, accepted: now everything passes, and Heartbeat gets the time.
    link.advance(Duration::from_secs(90));
    let (action, payload) = boot(v);
    send(&mut link, action, payload);
    let Some(Event::BootRequested { ticket, .. }) = events(&mut link).pop() else {
        panic!()
    };
    let now = link.now();
    link.csms
        .answer_boot(now, ticket, BootDecision::accepted(300))
        .unwrap();
    link.drive();
    let got = reply(&mut link);
    assert_eq!(got["status"], "Accepted");
    assert_eq!(got["currentTime"], "2025-01-01T00:01:30Z");
    assert_eq!(link.csms.registration(), Registration::Accepted);
    events(&mut link);
    send(&mut link, "Heartbeat", json!({}));
    assert_eq!(reply(&mut link)["currentTime"], "2025-01-01T00:01:30Z");
    let evs = events(&mut link);
    assert!(
        matches!(&evs[..], [Event::Heartbeat { at }] if at.to_rfc3339() == "2025-01-01T00:01:30+00:00"),
        "{evs:?}"
    );
}

#[test]
fn boot_gate_v16() {
    boot_gate::<v16::V16>();
}
#[test]
fn boot_gate_v201() {
    boot_gate::<v201::V201>();
}
#[test]
fn boot_gate_v21() {
    boot_gate::<v21::V21>();
}

fn rejected_boot<P: Protocol>() {
    let mut link = link::<P>(Config::default());
    let (action, payload) = boot(P::VERSION);
    send(&mut link, action, payload);
    let Some(Event::BootRequested { ticket, .. }) = events(&mut link).pop() else {
        panic!()
    };
    let now = link.now();
    link.csms
        .answer_boot(now, ticket, BootDecision::rejected(600))
        .unwrap();
    link.drive();
    assert_eq!(reply(&mut link)["status"], "Rejected");
    // Answered once only: a second answer has no CALL left.
    assert!(
        link.csms
            .answer_boot(now, ticket, BootDecision::accepted(1))
            .is_err()
    );
    events(&mut link);
    let (action, payload) = authorize(P::VERSION, "T");
    send(&mut link, action, payload);
    assert_eq!(error_reply(&mut link), "SecurityError");
    assert!(matches!(
        link.csms.reset(now, ResetKind::Graceful),
        Err(CommandError::NotAllowed {
            registration: Registration::Rejected,
            ..
        })
    ));
}

#[test]
fn a_rejected_charger_may_only_boot_again() {
    rejected_boot::<v16::V16>();
    rejected_boot::<v201::V201>();
    rejected_boot::<v21::V21>();
}

// ----- status -----

fn status_tracking<P: Protocol>() {
    let mut link = booted::<P>(Config::open());
    let v = P::VERSION;
    let (a, p) = status(v, 1, "Available", "Available", T0);
    send(&mut link, a, p.clone());
    assert_eq!(reply(&mut link), json!({}));
    // The same state again is no change.
    send(&mut link, a, p);
    reply(&mut link);
    let (a, p) = status(v, 2, "Occupied", "Charging", T0);
    send(&mut link, a, p);
    reply(&mut link);
    let evs = events(&mut link);
    assert_eq!(
        evs,
        [
            Event::StatusChanged {
                evse: 1,
                connector: 1,
                status: ConnectorStatus::Available,
                error: None
            },
            Event::StatusChanged {
                evse: 2,
                connector: 1,
                status: ConnectorStatus::Occupied,
                error: None
            },
        ]
    );
    let table: Vec<_> = link
        .csms
        .connectors()
        .iter()
        .map(|c| (c.evse, c.status))
        .collect();
    assert_eq!(
        table,
        [
            (1, ConnectorStatus::Available),
            (2, ConnectorStatus::Occupied)
        ]
    );
}

#[test]
fn status_is_tracked_per_connector() {
    status_tracking::<v16::V16>();
    status_tracking::<v201::V201>();
    status_tracking::<v21::V21>();
}

#[test]
fn a_v16_error_code_is_a_fault_and_connector_zero_is_the_charger() {
    let mut link = booted::<v16::V16>(Config::open());
    send(
        &mut link,
        "StatusNotification",
        json!({ "connectorId": 0, "errorCode": "NoError", "status": "Unavailable" }),
    );
    reply(&mut link);
    send(
        &mut link,
        "StatusNotification",
        json!({ "connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted", "info": "RCD" }),
    );
    reply(&mut link);
    assert_eq!(
        events(&mut link),
        [
            Event::StatusChanged {
                evse: 0,
                connector: 0,
                status: ConnectorStatus::Unavailable,
                error: None
            },
            Event::StatusChanged {
                evse: 1,
                connector: 1,
                status: ConnectorStatus::Faulted,
                error: Some("GroundFailure".into())
            },
            Event::Fault {
                evse: 1,
                connector: 1,
                code: "GroundFailure".into(),
                info: Some("RCD".into())
            },
        ]
    );
}

#[test]
fn a_v2x_problem_event_is_a_fault() {
    let mut link = booted::<v201::V201>(Config::open());
    send(
        &mut link,
        "NotifyEvent",
        json!({ "generatedAt": T0, "seqNo": 0, "eventData": [
            { "eventId": 1, "timestamp": T0, "trigger": "Alerting", "actualValue": "true",
              "eventNotificationType": "HardWiredNotification", "techCode": "GroundFailure",
              "component": { "name": "EVSE", "evse": { "id": 1 } }, "variable": { "name": "Problem" } },
            { "eventId": 2, "timestamp": T0, "trigger": "Delta", "actualValue": "Unavailable",
              "eventNotificationType": "HardWiredNotification",
              "component": { "name": "Connector", "evse": { "id": 1, "connectorId": 1 } },
              "variable": { "name": "AvailabilityState" } } ] }),
    );
    assert_eq!(reply(&mut link), json!({}));
    assert_eq!(
        events(&mut link),
        [
            Event::StatusChanged {
                evse: 1,
                connector: 1,
                status: ConnectorStatus::Unavailable,
                error: None
            },
            Event::Fault {
                evse: 1,
                connector: 0,
                code: "GroundFailure".into(),
                info: None
            },
        ]
    );
}

// ----- authorization, deferred -----

fn deferred_authorization<P: Protocol>() {
    let mut link = booted::<P>(asking());
    let v = P::VERSION;
    for (tag, answer_with, expected) in [
        ("GOOD", AuthStatus::Accepted, "Accepted"),
        ("BAD", AuthStatus::Blocked, "Blocked"),
    ] {
        let (a, p) = authorize(v, tag);
        send(&mut link, a, p);
        assert!(at_cp(&mut link).is_empty());
        let ticket = match &events(&mut link)[..] {
            [
                Event::AuthorizationRequested {
                    ticket,
                    id_token,
                    purpose: AuthPurpose::Authorize,
                },
            ] => {
                assert_eq!(id_token.value, tag);
                *ticket
            }
            other => panic!("{other:?}"),
        };
        // A wrong kind of answer is refused and the ticket stays open.
        assert!(link.csms.answer_transaction_id(ticket, 5).is_err());
        link.csms
            .answer_authorization(ticket, Authorization::with_status(answer_with))
            .unwrap();
        link.drive();
        assert_eq!(auth_status(v, &reply(&mut link)), expected);
    }
}

#[test]
fn authorization_is_answered_by_the_application() {
    deferred_authorization::<v16::V16>();
    deferred_authorization::<v201::V201>();
    deferred_authorization::<v21::V21>();
}

#[test]
fn accept_all_tokens_answers_without_asking() {
    let mut link = booted::<v201::V201>(Config::open());
    let (a, p) = authorize(link.csms.version(), "ANY");
    send(&mut link, a, p);
    assert_eq!(reply(&mut link)["idTokenInfo"]["status"], "Accepted");
    assert!(events(&mut link).is_empty());
}

#[test]
fn data_transfer_asks_for_known_vendors_only() {
    let mut config = Config::open();
    config.data_transfer_vendors = vec!["com.acme".into()];
    let mut link = booted::<v16::V16>(config);
    send(
        &mut link,
        "DataTransfer",
        json!({ "vendorId": "org.other" }),
    );
    assert_eq!(reply(&mut link)["status"], "UnknownVendorId");
    send(
        &mut link,
        "DataTransfer",
        json!({ "vendorId": "com.acme", "messageId": "m", "data": "x" }),
    );
    let Some(Event::DataTransferRequested { ticket, data, .. }) = events(&mut link).pop() else {
        panic!()
    };
    assert_eq!(data, Some(json!("x")));
    let answer = DataTransferAnswer {
        status: DataTransferStatus::Accepted,
        data: Some(json!({ "k": 1 })),
    };
    link.csms.answer_data_transfer(ticket, &answer).unwrap();
    link.drive();
    assert_eq!(
        reply(&mut link),
        json!({ "status": "Accepted", "data": "{\"k\":1}" })
    );
}

#[test]
fn an_unhandled_request_goes_to_the_application_and_notifications_are_acknowledged() {
    let mut link = booted::<v201::V201>(Config::open());
    send(&mut link, "SignCertificate", json!({ "csr": "CSR" }));
    let Some(Event::Request { ticket, request }) = events(&mut link).pop() else {
        panic!()
    };
    assert_eq!(request.action(), "SignCertificate");
    assert!(
        link.csms
            .answer_request_json(ticket, r#"{"status":"Maybe"}"#)
            .is_err()
    );
    link.csms
        .answer_request_json(ticket, r#"{"status":"Accepted"}"#)
        .unwrap();
    link.drive();
    assert_eq!(reply(&mut link)["status"], "Accepted");

    send(
        &mut link,
        "SecurityEventNotification",
        json!({ "type": "StartupOfTheDevice", "timestamp": T0 }),
    );
    assert_eq!(reply(&mut link), json!({}));
    assert!(
        matches!(&events(&mut link)[..], [Event::Notification { request }] if request.action() == "SecurityEventNotification")
    );
}

// ----- 1.6 transactions -----

fn v16_start(meter_start: i32) -> serde_json::Value {
    json!({ "connectorId": 1, "idTag": "TAG1", "meterStart": meter_start, "timestamp": "2025-01-01T00:05:00Z" })
}

#[test]
fn v16_transaction_ids_come_from_the_application_and_a_repeated_start_gets_the_same() {
    let mut config = Config::open();
    config.accept_all_tokens = false;
    config.transaction_ids = TransactionIds::Ask;
    let mut link = booted::<v16::V16>(config.clone());
    send(&mut link, "StartTransaction", v16_start(1000));
    let evs = events(&mut link);
    let (auth, id_ticket) = match &evs[..] {
        [
            Event::AuthorizationRequested {
                ticket: a,
                purpose:
                    AuthPurpose::StartTransaction {
                        evse: 1,
                        connector: 1,
                    },
                ..
            },
            Event::TransactionIdRequested {
                ticket: t,
                evse: 1,
                meter_start_wh,
                ..
            },
        ] => {
            assert_eq!(meter_start_wh.to_string(), "1000");
            (*a, *t)
        }
        other => panic!("{other:?}"),
    };
    link.csms.answer_transaction_id(id_ticket, 4711).unwrap();
    link.drive();
    assert!(
        at_cp(&mut link).is_empty(),
        "answered before the authorization"
    );
    link.csms
        .answer_authorization(auth, Authorization::accepted())
        .unwrap();
    link.drive();
    let answer = reply(&mut link);
    assert_eq!(
        (
            answer["transactionId"].as_i64(),
            answer["idTagInfo"]["status"].as_str()
        ),
        (Some(4711), Some("Accepted"))
    );
    assert!(
        matches!(&events(&mut link)[..], [Event::TransactionStarted { id, evse: 1, connector: 1, .. }] if id == "4711")
    );

    // The reply was lost: the charger reconnects and sends the same start again.
    let state = link.csms.snapshot();
    link.close();
    let json = serde_json::to_string(&state).unwrap();
    let restored: SessionState = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, state);
    let now = link.now();
    let mut next = session(link.csms.version(), config, now);
    next.restore(restored);
    link.charge_point = ocpp_rpc::endpoint::Endpoint::with_ids(
        ocpp_rpc::endpoint::Config::new(ocpp_types::Role::ChargePoint),
        Box::new(ocpp_rpc::endpoint::SequentialIds::new("cp2-")),
        now,
    );
    link.reconnect(next);
    at_cp(&mut link);
    send(&mut link, "StartTransaction", v16_start(1000));
    assert_eq!(reply(&mut link)["transactionId"], 4711);
    assert_eq!(
        events(&mut link),
        [Event::Duplicate {
            action: "StartTransaction".into(),
            transaction: "4711".into(),
            seq_no: None
        }]
    );
    assert_eq!(link.csms.transactions().running().count(), 1);

    // A different start is a new transaction.
    send(&mut link, "StartTransaction", v16_start(1001));
    assert!(matches!(
        &events(&mut link)[..],
        [
            Event::AuthorizationRequested { .. },
            Event::TransactionIdRequested { .. }
        ]
    ));
}

#[test]
fn v16_transaction_with_meter_values_and_stop() {
    let mut link = booted::<v16::V16>(Config::open());
    send(&mut link, "StartTransaction", v16_start(1000));
    assert_eq!(reply(&mut link)["transactionId"], 1);
    events(&mut link);
    send(
        &mut link,
        "MeterValues",
        json!({ "connectorId": 1, "transactionId": 1, "meterValue": [{ "timestamp": "2025-01-01T00:10:00Z",
            "sampledValue": [ { "value": "1.5", "unit": "kWh" }, { "value": "7.2", "measurand": "Power.Active.Import", "unit": "kW" },
                              { "value": "n/a", "measurand": "Voltage" } ] }] }),
    );
    reply(&mut link);
    let evs = events(&mut link);
    assert!(
        matches!(&evs[0], Event::Deviation { action, .. } if action == "MeterValues"),
        "{evs:?}"
    );
    match &evs[1] {
        Event::TransactionUpdated { id, samples } => {
            assert_eq!(id, "1");
            let got: Vec<_> = samples
                .iter()
                .map(|s| (s.measurand.as_str(), s.unit.as_str(), s.value.to_string()))
                .collect();
            assert_eq!(
                got,
                [
                    ("Energy.Active.Import.Register", "Wh", "1500".into()),
                    ("Power.Active.Import", "W", "7200".into())
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    send(
        &mut link,
        "StopTransaction",
        json!({ "transactionId": 1, "meterStop": 2500, "timestamp": "2025-01-01T00:20:00Z", "reason": "EVDisconnected" }),
    );
    assert_eq!(reply(&mut link), json!({}));
    match &events(&mut link)[..] {
        [
            Event::TransactionEnded {
                id,
                reason: StopReason::EvDisconnected,
                meter_stop_wh,
                energy_wh,
                ..
            },
        ] => {
            assert_eq!(id, "1");
            assert_eq!(
                meter_stop_wh.map(|d| d.to_string()).as_deref(),
                Some("2500")
            );
            assert_eq!(energy_wh.map(|d| d.to_string()).as_deref(), Some("1500"));
        }
        other => panic!("{other:?}"),
    }
    // A repeated stop is acknowledged, not counted again.
    send(
        &mut link,
        "StopTransaction",
        json!({ "transactionId": 1, "meterStop": 2500, "timestamp": "2025-01-01T00:20:00Z" }),
    );
    assert_eq!(reply(&mut link), json!({}));
    assert!(
        matches!(&events(&mut link)[..], [Event::Duplicate { action, .. }] if action == "StopTransaction")
    );
    assert_eq!(link.csms.transactions().running().count(), 0);
    assert_eq!(
        link.csms
            .transactions()
            .get("1")
            .and_then(|t| t.energy_wh())
            .map(|d| d.to_string())
            .as_deref(),
        Some("1500")
    );
}

// ----- 2.x transactions -----

fn seq_nos<P: Protocol>() {
    let mut link = booted::<P>(Config::open());
    let tx = "0f3a6c1e-2b8d-4e1a-9d3c-000000000001";
    let (a, p) = tx_event(
        "Started",
        tx,
        0,
        T0,
        "CablePluggedIn",
        json!({ "evse": { "id": 1, "connectorId": 1 } }),
    );
    send(&mut link, a, p);
    assert_eq!(reply(&mut link), json!({}));
    assert!(
        matches!(&events(&mut link)[..], [Event::TransactionStarted { id, evse: 1, connector: 1, meter_start_wh: None, .. }] if id == tx)
    );

    let update = |seq, wh| {
        tx_event(
            "Updated",
            tx,
            seq,
            T0,
            "MeterValuePeriodic",
            json!({ "meterValue": [{ "timestamp": T0, "sampledValue": [energy(wh, "Sample.Periodic")] }] }),
        )
    };
    let (a, p) = update(2, 1200);
    send(&mut link, a, p);
    reply(&mut link);
    let evs = events(&mut link);
    assert!(
        matches!(
            &evs[..],
            [
                Event::SeqNoGap {
                    expected: 1,
                    received: 2,
                    ..
                },
                Event::TransactionUpdated { .. }
            ]
        ),
        "{evs:?}"
    );

    // The same seqNo again: acknowledged, reported, not counted.
    let (a, p) = update(2, 1200);
    send(&mut link, a, p);
    assert_eq!(reply(&mut link), json!({}));
    assert_eq!(
        events(&mut link),
        [Event::Duplicate {
            action: "TransactionEvent".into(),
            transaction: tx.into(),
            seq_no: Some(2)
        }]
    );

    // The missing one arrives late: it fills the gap.
    let (a, p) = update(1, 1100);
    send(&mut link, a, p);
    reply(&mut link);
    assert!(matches!(
        &events(&mut link)[..],
        [Event::TransactionUpdated { .. }]
    ));
    let record = link.csms.transactions().get(tx).unwrap();
    assert!(record.seq_nos.missing.is_empty());
    assert_eq!(record.seq_nos.next, 3);
}

#[test]
fn v2x_seq_no_gaps_and_duplicates_are_reported() {
    seq_nos::<v201::V201>();
    seq_nos::<v21::V21>();
}

fn token_in_transaction_event<P: Protocol>() {
    let mut link = booted::<P>(asking());
    let tx = "TX-7";
    let (a, p) = tx_event(
        "Started",
        tx,
        0,
        T0,
        "Authorized",
        json!({ "evse": { "id": 2, "connectorId": 1 }, "idToken": { "idToken": "TAG9", "type": "ISO14443" } }),
    );
    send(&mut link, a, p);
    assert!(at_cp(&mut link).is_empty());
    let evs = events(&mut link);
    let ticket = match &evs[..] {
        [
            Event::AuthorizationRequested {
                ticket,
                purpose:
                    AuthPurpose::StartTransaction {
                        evse: 2,
                        connector: 1,
                    },
                ..
            },
            Event::TransactionStarted { .. },
        ] => *ticket,
        other => panic!("{other:?}"),
    };
    link.csms
        .answer_authorization(ticket, Authorization::with_status(AuthStatus::Invalid))
        .unwrap();
    link.drive();
    assert_eq!(reply(&mut link)["idTokenInfo"]["status"], "Invalid");
}

#[test]
fn v2x_transaction_event_tokens_are_authorized_by_the_application() {
    token_in_transaction_event::<v201::V201>();
    token_in_transaction_event::<v21::V21>();
}

// ----- commands -----

fn typed_command<P: Protocol>(command: ocpp_rpc::csms::AnyRequest) {
    let mut link = booted::<P>(Config::open());
    let now = link.now();
    // Answered.
    let call = link.csms.call(now, command.clone()).unwrap();
    link.drive();
    let (id, action, _) = request(&mut link);
    assert_eq!(action, "ClearCache");
    answer(
        &mut link,
        &id,
        "ClearCache",
        json!({ "status": "Rejected" }),
    );
    match &events(&mut link)[..] {
        [
            Event::CommandResult {
                call: c,
                action,
                result: Ok(response),
            },
        ] => {
            assert_eq!((*c, action.as_str()), (call, "ClearCache"));
            assert_eq!(response.status().as_deref(), Some("Rejected"));
        }
        other => panic!("{other:?}"),
    }
    // Refused with a CALLERROR.
    let call = link.csms.call(now, command.clone()).unwrap();
    link.drive();
    let (id, _, _) = request(&mut link);
    link.charge_point
        .respond_error(&id, ErrorCode::NotSupported, "no cache")
        .unwrap();
    link.drive();
    assert!(matches!(&events(&mut link)[..],
        [Event::CommandResult { call: c, result: Err(CallFailure::Error { code: ErrorCode::NotSupported, .. }), .. }] if *c == call));
    // Never answered.
    let call = link.csms.call(now, command).unwrap();
    link.drive();
    at_cp(&mut link);
    link.advance(Duration::from_secs(30));
    assert_eq!(
        events(&mut link),
        [Event::CommandResult {
            call,
            action: "ClearCache".into(),
            result: Err(CallFailure::Timeout)
        }]
    );
}

#[test]
fn typed_commands_resolve_with_their_response_error_or_timeout() {
    typed_command::<v16::V16>(v16::AnyRequest::from(v16::ClearCacheRequest::default()).into());
    typed_command::<v201::V201>(v201::AnyRequest::from(v201::ClearCacheRequest::default()).into());
    typed_command::<v21::V21>(v21::AnyRequest::from(v21::ClearCacheRequest::default()).into());
}

#[test]
fn a_command_of_another_version_is_refused() {
    let mut link = booted::<v201::V201>(Config::open());
    let now = link.now();
    let wrong = v16::AnyRequest::from(v16::ClearCacheRequest::default());
    assert!(matches!(
        link.csms.call(now, wrong),
        Err(CommandError::WrongVersion { .. })
    ));
}

fn raw_json<P: Protocol>(valid: &str, action: &str) {
    let mut link = booted::<P>(Config::open());
    let now = link.now();
    let call = link.csms.call_json(now, action, valid).unwrap();
    link.drive();
    let (_, sent, payload) = request(&mut link);
    assert_eq!(sent, action);
    assert_eq!(
        payload,
        serde_json::from_str::<serde_json::Value>(valid).unwrap()
    );
    let _ = call;
    // Not the shape, a bad enum member, an unknown action, the wrong direction.
    for (action, payload) in [
        (action, r#"{"type":"Sideways"}"#),
        (action, r#"{"tipe":"Hard"}"#),
        ("Teleport", "{}"),
    ] {
        assert!(
            matches!(
                link.csms.call_json(now, action, payload),
                Err(CommandError::Decode(_))
            ),
            "{action} {payload}"
        );
    }
    assert!(matches!(
        link.csms.call_json(now, "Heartbeat", "{}"),
        Err(CommandError::Call(CallError::WrongDirection(_)))
    ));
    assert!(at_cp(&mut link).is_empty(), "nothing invalid went out");
}

#[test]
fn raw_json_commands_are_validated_before_sending() {
    raw_json::<v16::V16>(r#"{"type":"Hard"}"#, "Reset");
    raw_json::<v201::V201>(r#"{"type":"Immediate"}"#, "Reset");
    raw_json::<v21::V21>(r#"{"type":"Immediate","evseId":1}"#, "Reset");
}

#[test]
fn over_long_strings_are_refused_before_sending() {
    let mut link = booted::<v16::V16>(Config::open());
    let now = link.now();
    let long = "x".repeat(21);
    let payload = format!(r#"{{"idTag":"{long}"}}"#);
    assert!(matches!(
        link.csms.call_json(now, "RemoteStartTransaction", &payload),
        Err(CommandError::Decode(_))
    ));
}

fn helpers<P: Protocol>(expected: [(&str, serde_json::Value); 5]) {
    let mut link = booted::<P>(Config::open());
    let now = link.now();
    let start = RemoteStart {
        id_token: ocpp_rpc::csms::IdToken {
            value: "TAG1".into(),
            kind: None,
        },
        evse: Some(1),
        remote_start_id: 42,
    };
    link.csms.remote_start(now, &start).unwrap();
    link.csms.remote_stop(now, "17").unwrap();
    link.csms.reset(now, ResetKind::Immediate).unwrap();
    link.csms
        .change_availability(
            now,
            &ocpp_rpc::csms::Availability {
                evse: Some(2),
                connector: None,
                operative: false,
            },
        )
        .unwrap();
    link.csms
        .trigger(now, TriggerKind::Heartbeat, None, None)
        .unwrap();
    for (action, payload) in expected {
        link.drive();
        let (id, sent, got) = request(&mut link);
        assert_eq!((sent.as_str(), &got), (action, &payload));
        answer(&mut link, &id, action, json!({ "status": "Accepted" }));
    }
    let results: Vec<_> = events(&mut link)
        .into_iter()
        .map(|e| match e {
            Event::CommandResult { result: Ok(r), .. } => r.status(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(results.len(), 5);
}

#[test]
fn neutral_helpers_pick_each_versions_message() {
    helpers::<v16::V16>([
        (
            "RemoteStartTransaction",
            json!({ "idTag": "TAG1", "connectorId": 1 }),
        ),
        ("RemoteStopTransaction", json!({ "transactionId": 17 })),
        ("Reset", json!({ "type": "Hard" })),
        (
            "ChangeAvailability",
            json!({ "connectorId": 2, "type": "Inoperative" }),
        ),
        ("TriggerMessage", json!({ "requestedMessage": "Heartbeat" })),
    ]);
    let v2x = || {
        [
            (
                "RequestStartTransaction",
                json!({ "idToken": { "idToken": "TAG1", "type": "Central" }, "remoteStartId": 42, "evseId": 1 }),
            ),
            ("RequestStopTransaction", json!({ "transactionId": "17" })),
            ("Reset", json!({ "type": "Immediate" })),
            (
                "ChangeAvailability",
                json!({ "operationalStatus": "Inoperative", "evse": { "id": 2 } }),
            ),
            ("TriggerMessage", json!({ "requestedMessage": "Heartbeat" })),
        ]
    };
    helpers::<v201::V201>(v2x());
    helpers::<v21::V21>(v2x());

    let mut link = booted::<v16::V16>(Config::open());
    let now = link.now();
    assert!(matches!(
        link.csms.remote_stop(now, "not-a-number"),
        Err(CommandError::Unsupported(_))
    ));
}

#[test]
fn closing_resolves_commands_and_voids_tickets() {
    let mut link = booted::<v201::V201>(asking());
    let now = link.now();
    let call = link.csms.reset(now, ResetKind::Graceful).unwrap();
    let (a, p) = authorize(link.csms.version(), "T");
    send(&mut link, a, p);
    let Some(Event::AuthorizationRequested { ticket, .. }) = events(&mut link).pop() else {
        panic!()
    };
    link.close();
    let evs = events(&mut link);
    assert!(
        matches!(&evs[..], [
        Event::CommandResult { call: c, result: Err(CallFailure::ConnectionLost), .. },
        Event::Disconnected { at },
    ] if *c == call && at.to_rfc3339() == "2025-01-01T00:00:00+00:00"),
        "{evs:?}"
    );
    assert!(
        link.csms
            .answer_authorization(ticket, Authorization::accepted())
            .is_err()
    );
    assert!(link.csms.poll_timeout().is_none());
}

// ----- one event model -----

/// An equivalent session in each version: boot, status, authorize, a
/// transaction with one update, its end, status, heartbeat.
fn equivalent_session<P: Protocol>() -> Vec<String> {
    let v = P::VERSION;
    let mut config = asking();
    config.auto_accept_boot = true;
    let mut link = link::<P>(config);
    let mut all = Vec::new();
    let mut step = |link: &mut CpLink<P>, (action, payload): (&str, serde_json::Value)| {
        send(link, action, payload);
        let mut evs = events(link);
        // Answer what the application is asked, then collect what follows.
        for e in evs.clone() {
            if let Event::AuthorizationRequested { ticket, .. } = e {
                link.csms
                    .answer_authorization(ticket, Authorization::accepted())
                    .unwrap();
                link.drive();
                evs.extend(events(link));
            }
        }
        for r in at_cp(link) {
            assert!(matches!(r, AtCp::Response(_, Ok(_))), "{r:?}");
        }
        all.extend(evs);
    };
    let tx = "9b2f7d4c-1a5e-4c3b-8d2f-6e7a8b9c0d1e";
    let v16 = is_v16(v);
    step(&mut link, boot(v));
    step(&mut link, status(v, 1, "Available", "Available", T0));
    step(&mut link, authorize(v, "TAG1"));
    step(
        &mut link,
        status(v, 1, "Occupied", "Preparing", "2025-01-01T00:04:00Z"),
    );
    step(
        &mut link,
        if v16 {
            ("StartTransaction", v16_start(1000))
        } else {
            tx_event(
                "Started",
                tx,
                0,
                "2025-01-01T00:05:00Z",
                "Authorized",
                json!({
                "evse": { "id": 1, "connectorId": 1 }, "idToken": { "idToken": "TAG1", "type": "ISO14443" },
                "meterValue": [{ "timestamp": "2025-01-01T00:05:00Z", "sampledValue": [energy(1000, "Transaction.Begin")] }] }),
            )
        },
    );
    let samples_v16 = json!([{ "timestamp": "2025-01-01T00:10:00Z", "sampledValue": [
        { "value": "1.5", "unit": "kWh" }, { "value": "7200", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1" } ] }]);
    let samples_v2x = json!([{ "timestamp": "2025-01-01T00:10:00Z", "sampledValue": [
        { "value": 15, "unitOfMeasure": { "unit": "Wh", "multiplier": 2 } },
        { "value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": { "unit": "kW" }, "phase": "L1" } ] }]);
    step(
        &mut link,
        if v16 {
            (
                "MeterValues",
                json!({ "connectorId": 1, "transactionId": 1, "meterValue": samples_v16 }),
            )
        } else {
            tx_event(
                "Updated",
                tx,
                1,
                "2025-01-01T00:10:00Z",
                "MeterValuePeriodic",
                json!({ "meterValue": samples_v2x }),
            )
        },
    );
    step(
        &mut link,
        if v16 {
            (
                "StopTransaction",
                json!({ "transactionId": 1, "meterStop": 2500, "timestamp": "2025-01-01T00:20:00Z", "reason": "EVDisconnected" }),
            )
        } else {
            tx_event(
                "Ended",
                tx,
                2,
                "2025-01-01T00:20:00Z",
                "EVCommunicationLost",
                json!({
                "transactionInfo": { "stoppedReason": "EVDisconnected" },
                "meterValue": [{ "timestamp": "2025-01-01T00:20:00Z", "sampledValue": [energy(2500, "Transaction.End")] }] }),
            )
        },
    );
    step(
        &mut link,
        status(v, 1, "Available", "Available", "2025-01-01T00:21:00Z"),
    );
    step(&mut link, ("Heartbeat", json!({})));
    no_refusals(&all);
    // Ignore the version-specific: tickets, transaction ids, token types.
    all.iter()
        .map(|e| {
            let text = format!("{e:?}")
                .replace(&format!("{tx:?}"), "\"TX\"")
                .replace("\"1\"", "\"TX\"");
            let text = text.replace("kind: Some(\"ISO14443\")", "kind: None");
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("Ticket(") {
                out.push_str(&rest[..at]);
                rest = &rest[at..];
                rest = &rest[rest.find(')').unwrap() + 1..];
                out.push_str("Ticket(_)");
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[test]
fn equivalent_sessions_give_equal_events_in_every_version() {
    let a = equivalent_session::<v16::V16>();
    let b = equivalent_session::<v201::V201>();
    let c = equivalent_session::<v21::V21>();
    assert_eq!(a, b);
    assert_eq!(b, c);
    let kinds: Vec<&str> = a
        .iter()
        .map(|t| t.split([' ', '{']).next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Booted",
            "StatusChanged",
            "AuthorizationRequested",
            "StatusChanged",
            "AuthorizationRequested",
            "TransactionStarted",
            "TransactionUpdated",
            "TransactionEnded",
            "StatusChanged",
            "Heartbeat",
        ]
    );
    assert!(a[5].contains("meter_start_wh: Some(1000)"), "{}", a[5]);
    assert!(
        a[6].contains("value: 1500") && a[6].contains("value: 7200"),
        "{}",
        a[6]
    );
    assert!(
        a[7].contains("energy_wh: Some(1500)") && a[7].contains("EvDisconnected"),
        "{}",
        a[7]
    );
}

#[test]
fn v16_a_start_repeated_while_the_first_waits_joins_it() {
    let mut config = Config::open();
    config.transaction_ids = TransactionIds::Ask;
    let mut link = booted::<v16::V16>(config);
    send(&mut link, "StartTransaction", v16_start(1000));
    let Some(Event::TransactionIdRequested { ticket, .. }) = events(&mut link).pop() else {
        panic!()
    };
    // The application is slow: the charger gives up and sends it again.
    link.advance(Duration::from_secs(30));
    assert!(matches!(
        &at_cp(&mut link)[..],
        [AtCp::Response(_, Err(CallFailure::Timeout))]
    ));
    let retry = send(&mut link, "StartTransaction", v16_start(1000));
    assert!(events(&mut link).is_empty());
    link.csms.answer_transaction_id(ticket, 9).unwrap();
    link.drive();
    // Both CALLs are answered with the one id; the late one is the charger's to drop.
    let got = at_cp(&mut link);
    assert!(
        got.iter().any(
            |r| matches!(r, AtCp::Response(c, Ok(v)) if *c == retry && v["transactionId"] == 9)
        ),
        "{got:?}"
    );
    let started: Vec<_> = events(&mut link)
        .into_iter()
        .filter(|e| matches!(e, Event::TransactionStarted { .. }))
        .collect();
    assert_eq!(started.len(), 1);
    assert_eq!(link.csms.transactions().running().count(), 1);
}

#[test]
fn the_config_and_state_round_trip_through_serde() {
    let mut config = Config::open();
    config.data_transfer_vendors = vec!["com.acme".into()];
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), config);

    let mut link = booted::<v201::V201>(Config::open());
    let (a, p) = tx_event(
        "Started",
        "T-1",
        0,
        T0,
        "Authorized",
        json!({ "evse": { "id": 1, "connectorId": 1 },
        "meterValue": [{ "timestamp": T0, "sampledValue": [energy(1000, "Transaction.Begin")] }] }),
    );
    send(&mut link, a, p);
    let (a, p) = status(link.csms.version(), 1, "Occupied", "Charging", T0);
    send(&mut link, a, p);
    let state = link.csms.snapshot();
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<SessionState>(&json).unwrap(), state);
    assert_eq!(state.registration, Registration::Accepted);
    let record = state.transactions.get("T-1").unwrap();
    assert_eq!(
        record.meter_start_wh.map(|d| d.to_string()).as_deref(),
        Some("1000")
    );
    assert!(state.last_contact.is_some());
}

fn firmware_status<P: Protocol>(payload: serde_json::Value, request_id: Option<i32>) {
    let mut link = booted::<P>(Config::open());
    send(&mut link, "FirmwareStatusNotification", payload);
    assert_eq!(reply(&mut link), json!({}));
    assert_eq!(
        events(&mut link),
        [Event::FirmwareStatus {
            status: "Installed".into(),
            request_id
        }]
    );
}

#[test]
fn firmware_status_is_reported_in_every_version() {
    firmware_status::<v16::V16>(json!({ "status": "Installed" }), None);
    firmware_status::<v201::V201>(json!({ "status": "Installed", "requestId": 3 }), Some(3));
    firmware_status::<v21::V21>(json!({ "status": "Installed", "requestId": 3 }), Some(3));
}

#[test]
fn a_v21_send_is_passed_on_unanswered() {
    let mut link = booted::<v21::V21>(Config::open());
    let message = v21::decode_request(
        "NotifyPeriodicEventStream",
        &json!({ "id": 1, "pending": 0, "basetime": T0, "data": [{ "t": 0, "v": "230" }] })
            .to_string(),
    )
    .unwrap();
    let to_cp = |link: &CpLink<v21::V21>| {
        link.frames_to(ocpp_rpc::testing::Direction::ToChargePoint)
            .len()
    };
    let before = to_cp(&link);
    link.charge_point.send(message).unwrap();
    link.drive();
    assert!(
        matches!(&events(&mut link)[..], [Event::Notification { request }] if request.action() == "NotifyPeriodicEventStream")
    );
    assert!(at_cp(&mut link).is_empty());
    assert_eq!(to_cp(&link), before, "a SEND got an answer");
}

fn unknown_charger_is_asked_to_boot<P: Protocol>() {
    let mut link = link::<P>(Config::open());
    for _ in 0..2 {
        send(&mut link, "Heartbeat", json!({}));
        let got = at_cp(&mut link);
        assert!(
            matches!(
                &got[0],
                AtCp::Response(
                    _,
                    Err(CallFailure::Error {
                        code: ErrorCode::SecurityError,
                        ..
                    })
                )
            ),
            "{got:?}"
        );
        events(&mut link);
    }
    // Asked once, not per refused CALL.
    let triggers: Vec<_> = link
        .frames_to(ocpp_rpc::testing::Direction::ToChargePoint)
        .into_iter()
        .filter(|f| f.contains("TriggerMessage"))
        .map(str::to_owned)
        .collect();
    assert_eq!(triggers.len(), 1, "{triggers:?}");
    assert!(triggers[0].contains(r#""requestedMessage":"BootNotification""#));
}

#[test]
fn a_charger_of_unknown_registration_is_asked_to_boot() {
    unknown_charger_is_asked_to_boot::<v16::V16>();
    unknown_charger_is_asked_to_boot::<v201::V201>();
    unknown_charger_is_asked_to_boot::<v21::V21>();
}
