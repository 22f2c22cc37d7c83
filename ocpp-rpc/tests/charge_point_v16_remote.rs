//! The 1.6 charge point answering the CSMS's remote commands and
//! configuration requests, each with its accepted and refused outcomes.

#[path = "support/cp16_csms.rs"]
mod support;

use ocpp_rpc::charge_point::v16::{Event, Reading};
use ocpp_rpc::endpoint::CallFailure;
use ocpp_rpc::error::ErrorCode;
use ocpp_types::v16::{self, AnyResponse};
use rust_decimal::Decimal;
use support::*;

macro_rules! answer {
    ($link:expr, $script:expr, $req:expr, $variant:ident) => {
        match csms_call($link, $script, $req) {
            Ok(AnyResponse::$variant(r)) => r,
            other => panic!("{other:?}"),
        }
    };
}

fn charging(link: &mut L, script: &mut Script, connector: u32, id_tag: &str) {
    let now = link.now();
    link.charge_point.plug_in(now, connector).unwrap();
    link.charge_point
        .present_id_tag(now, connector, id_tag)
        .unwrap();
    settle(link, script);
}

fn remote_start(connector: Option<i32>, id_tag: &str) -> v16::RemoteStartTransactionRequest {
    v16::RemoteStartTransactionRequest {
        charging_profile: None,
        connector_id: connector,
        id_tag: tag(id_tag),
    }
}

#[test]
fn remote_start_and_stop() {
    let (mut link, mut script) = registered(2);
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    settle(&mut link, &mut script);
    let r = answer!(
        &mut link,
        &mut script,
        remote_start(Some(1), "R1"),
        RemoteStartTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Accepted);
    // AuthorizeRemoteTxRequests is false: no Authorize.
    assert!(calls_of(&link, "Authorize").is_empty());
    assert_eq!(calls_of(&link, "StartTransaction")[0]["idTag"], "R1");
    // Busy, unknown connector, a profile that is not a TxProfile: Rejected.
    let r = answer!(
        &mut link,
        &mut script,
        remote_start(Some(1), "R2"),
        RemoteStartTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Rejected);
    let r = answer!(
        &mut link,
        &mut script,
        remote_start(Some(7), "R2"),
        RemoteStartTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Rejected);
    let mut bad = remote_start(Some(2), "R2");
    bad.charging_profile = Some(profile(
        v16::ChargingProfilePurposeType::TxDefaultProfile,
        1,
    ));
    let r = answer!(&mut link, &mut script, bad, RemoteStartTransaction);
    assert_eq!(r.status, v16::RemoteStartStopStatus::Rejected);
    // With AuthorizeRemoteTxRequests an Authorize comes first; a refused tag does not start.
    set(&mut link, "AuthorizeRemoteTxRequests", "true");
    script.authorize = v16::AuthorizationStatus::Blocked;
    let r = answer!(
        &mut link,
        &mut script,
        remote_start(None, "R3"),
        RemoteStartTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Accepted);
    assert_eq!(calls_of(&link, "Authorize").len(), 1);
    assert_eq!(calls_of(&link, "StartTransaction").len(), 1);
    assert!(events(&mut link).iter().any(|e| matches!(
        e,
        Event::AuthorizationRefused {
            connector: 2,
            status: v16::AuthorizationStatus::Blocked,
            ..
        }
    )));
    // RemoteStop: an unknown id is Rejected, the running one stops.
    let r = answer!(
        &mut link,
        &mut script,
        v16::RemoteStopTransactionRequest { transaction_id: 99 },
        RemoteStopTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Rejected);
    let r = answer!(
        &mut link,
        &mut script,
        v16::RemoteStopTransactionRequest { transaction_id: 1 },
        RemoteStopTransaction
    );
    assert_eq!(r.status, v16::RemoteStartStopStatus::Accepted);
    let stop = calls_of(&link, "StopTransaction");
    assert_eq!(stop[0]["reason"], "Remote");
    assert_eq!(stop[0]["transactionId"], 1);
    assert_clean(&link);
}

fn profile(purpose: v16::ChargingProfilePurposeType, id: i32) -> v16::ChargingProfile {
    v16::ChargingProfile {
        charging_profile_id: id,
        charging_profile_kind: v16::ChargingProfileKindType::Absolute,
        charging_profile_purpose: purpose,
        charging_schedule: v16::ChargingSchedule {
            charging_rate_unit: v16::ChargingRateUnitType::A,
            charging_schedule_period: vec![v16::ChargingSchedulePeriod {
                limit: Decimal::from(16),
                number_phases: None,
                start_period: 0,
            }],
            duration: None,
            min_charging_rate: None,
            start_schedule: Some(after(t0(), -3600)),
        },
        recurrency_kind: None,
        stack_level: 0,
        transaction_id: None,
        valid_from: None,
        valid_to: None,
    }
}

#[test]
fn reset_stops_transactions_with_its_reason_then_reboots() {
    for (kind, reason) in [
        (v16::ResetType::Soft, "SoftReset"),
        (v16::ResetType::Hard, "HardReset"),
    ] {
        let (mut link, mut script) = registered(1);
        charging(&mut link, &mut script, 1, "T");
        drain_cp(&mut link);
        let r = answer!(&mut link, &mut script, v16::ResetRequest { kind }, Reset);
        assert_eq!(r.status, v16::ResetStatus::Accepted);
        assert_eq!(calls_of(&link, "StopTransaction")[0]["reason"], reason);
        let evs = events(&mut link);
        assert!(evs.contains(&Event::Reboot(kind)));
        assert_clean(&link);
    }
}

#[test]
fn change_availability_is_scheduled_while_charging() {
    let (mut link, mut script) = registered(2);
    charging(&mut link, &mut script, 1, "T");
    let req = |c, kind| v16::ChangeAvailabilityRequest {
        connector_id: c,
        kind,
    };
    let r = answer!(
        &mut link,
        &mut script,
        req(1, v16::AvailabilityType::Inoperative),
        ChangeAvailability
    );
    assert_eq!(r.status, v16::AvailabilityStatus::Scheduled);
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Charging)
    );
    let now = link.now();
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::Local)
        .unwrap();
    link.charge_point.unplug(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert_eq!(statuses(&link).last(), Some(&(1, "Unavailable".to_owned())));
    let r = answer!(
        &mut link,
        &mut script,
        req(2, v16::AvailabilityType::Inoperative),
        ChangeAvailability
    );
    assert_eq!(r.status, v16::AvailabilityStatus::Accepted);
    assert_eq!(statuses(&link).last(), Some(&(2, "Unavailable".to_owned())));
    // Unavailable refuses a start.
    let now = link.now();
    assert!(link.charge_point.present_id_tag(now, 2, "T").is_err());
    // Connector 0 makes them all operative again.
    let r = answer!(
        &mut link,
        &mut script,
        req(0, v16::AvailabilityType::Operative),
        ChangeAvailability
    );
    assert_eq!(r.status, v16::AvailabilityStatus::Accepted);
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Available)
    );
    assert_eq!(
        link.charge_point.status(2),
        Some(v16::ChargePointStatus::Available)
    );
    let r = answer!(
        &mut link,
        &mut script,
        req(3, v16::AvailabilityType::Operative),
        ChangeAvailability
    );
    assert_eq!(r.status, v16::AvailabilityStatus::Rejected);
    assert_clean(&link);
}

#[test]
fn unlock_connector_stops_first_and_the_application_answers() {
    let (mut link, mut script) = registered(1);
    charging(&mut link, &mut script, 1, "T");
    drain_cp(&mut link);
    let now = link.now();
    let call = link
        .csms
        .call(now, v16::UnlockConnectorRequest { connector_id: 1 })
        .unwrap();
    settle(&mut link, &mut script);
    assert_eq!(
        calls_of(&link, "StopTransaction")[0]["reason"],
        "UnlockCommand"
    );
    let pending = events(&mut link)
        .into_iter()
        .find_map(|e| match e {
            Event::UnlockConnector { call, connector: 1 } => Some(call),
            _ => None,
        })
        .unwrap();
    link.charge_point
        .unlock_result(now, &pending, v16::UnlockStatus::Unlocked)
        .unwrap();
    settle(&mut link, &mut script);
    match script.responses.remove(&call) {
        Some(Ok(AnyResponse::UnlockConnector(r))) => {
            assert_eq!(r.status, v16::UnlockStatus::Unlocked)
        }
        other => panic!("{other:?}"),
    }
    let r = answer!(
        &mut link,
        &mut script,
        v16::UnlockConnectorRequest { connector_id: 4 },
        UnlockConnector
    );
    assert_eq!(r.status, v16::UnlockStatus::NotSupported);
    assert_clean(&link);
}

fn entry(id: &str, status: Option<v16::AuthorizationStatus>) -> v16::AuthorizationData {
    v16::AuthorizationData {
        id_tag: tag(id),
        id_tag_info: status.map(|status| v16::IdTagInfo {
            expiry_date: None,
            parent_id_tag: None,
            status,
        }),
    }
}

#[test]
fn local_list_full_differential_and_version_mismatch() {
    let (mut link, mut script) = registered(1);
    let version = |link: &mut L, script: &mut Script| {
        answer!(
            link,
            script,
            v16::GetLocalListVersionRequest {},
            GetLocalListVersion
        )
        .list_version
    };
    assert_eq!(version(&mut link, &mut script), 0);
    let send = |v, kind, list| v16::SendLocalListRequest {
        list_version: v,
        local_authorization_list: Some(list),
        update_type: kind,
    };
    let ok = Some(v16::AuthorizationStatus::Accepted);
    let r = answer!(
        &mut link,
        &mut script,
        send(
            3,
            v16::UpdateType::Full,
            vec![entry("A", ok), entry("B", ok)]
        ),
        SendLocalList
    );
    assert_eq!(r.status, v16::UpdateStatus::Accepted);
    assert_eq!(version(&mut link, &mut script), 3);
    let r = answer!(
        &mut link,
        &mut script,
        send(3, v16::UpdateType::Differential, vec![entry("C", ok)]),
        SendLocalList
    );
    assert_eq!(r.status, v16::UpdateStatus::VersionMismatch);
    let r = answer!(
        &mut link,
        &mut script,
        send(
            4,
            v16::UpdateType::Differential,
            vec![entry("C", ok), entry("A", None)]
        ),
        SendLocalList
    );
    assert_eq!(r.status, v16::UpdateStatus::Accepted);
    let list = &link.charge_point.state().local_list;
    assert!(list.get("a").is_none() && list.get("b").is_some() && list.get("C").is_some());
    // With LocalPreAuthorize a listed tag starts without an Authorize.
    set(&mut link, "LocalPreAuthorize", "true");
    charging(&mut link, &mut script, 1, "b");
    assert!(calls_of(&link, "Authorize").is_empty());
    assert_eq!(calls_of(&link, "StartTransaction").len(), 1);
    // The list disabled: NotSupported and version -1.
    set(&mut link, "LocalAuthListEnabled", "false");
    assert_eq!(version(&mut link, &mut script), -1);
    let r = answer!(
        &mut link,
        &mut script,
        send(5, v16::UpdateType::Full, vec![]),
        SendLocalList
    );
    assert_eq!(r.status, v16::UpdateStatus::NotSupported);
    assert_clean(&link);
}

#[test]
fn authorization_cache_feeds_offline_starts_and_clear_cache() {
    let (mut link, mut script) = registered(1);
    let now = link.now();
    link.charge_point.present_id_tag(now, 1, "CACHED").unwrap();
    settle(&mut link, &mut script);
    assert!(link.charge_point.state().cache.get("cached").is_some());
    // Offline, the cached tag starts (LocalAuthorizeOffline), an unknown one does not.
    link.close();
    let now = link.now();
    link.charge_point.present_id_tag(now, 1, "UNKNOWN").unwrap();
    assert!(
        events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::AuthorizationRefused { .. }))
    );
    link.charge_point.plug_in(now, 1).unwrap();
    assert!(
        events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::StartCharging { .. }))
    );
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::Local)
        .unwrap();
    link.reconnect(csms_endpoint(now, "cs2-"));
    settle(&mut link, &mut script);
    let r = answer!(
        &mut link,
        &mut script,
        v16::ClearCacheRequest {},
        ClearCache
    );
    assert_eq!(r.status, v16::ClearCacheStatus::Accepted);
    assert!(link.charge_point.state().cache.is_empty());
    set(&mut link, "AuthorizationCacheEnabled", "false");
    let r = answer!(
        &mut link,
        &mut script,
        v16::ClearCacheRequest {},
        ClearCache
    );
    assert_eq!(r.status, v16::ClearCacheStatus::Rejected);
    assert_clean(&link);
}

#[test]
fn an_invalid_id_in_the_start_answer_stops_the_transaction() {
    let (mut link, mut script) = registered(1);
    script.start_status = v16::AuthorizationStatus::Invalid;
    charging(&mut link, &mut script, 1, "T");
    let stop = calls_of(&link, "StopTransaction");
    assert_eq!(stop[0]["reason"], "DeAuthorized");
    // With StopTransactionOnInvalidId false only the energy stops.
    let (mut link, mut script) = registered(1);
    set(&mut link, "StopTransactionOnInvalidId", "false");
    script.start_status = v16::AuthorizationStatus::Invalid;
    charging(&mut link, &mut script, 1, "T");
    assert!(calls_of(&link, "StopTransaction").is_empty());
    assert!(
        events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::StopCharging { ended: false, .. }))
    );
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::SuspendedEVSE)
    );
    assert_clean(&link);
    // MaxEnergyOnInvalidId Wh may still flow.
    let (mut link, mut script) = registered(1);
    set(&mut link, "StopTransactionOnInvalidId", "false");
    set(&mut link, "MaxEnergyOnInvalidId", "500");
    script.start_status = v16::AuthorizationStatus::Invalid;
    let now = link.now();
    link.charge_point
        .meter_reading(now, 1, Reading::energy(1000))
        .unwrap();
    charging(&mut link, &mut script, 1, "T");
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Charging)
    );
    drain_cp(&mut link);
    link.charge_point
        .meter_reading(now, 1, Reading::energy(1499))
        .unwrap();
    assert!(
        !events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::StopCharging { .. }))
    );
    link.charge_point
        .meter_reading(now, 1, Reading::energy(1500))
        .unwrap();
    assert!(
        events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::StopCharging { ended: false, .. }))
    );
    settle(&mut link, &mut script);
    assert_eq!(
        statuses(&link).last(),
        Some(&(1, "SuspendedEVSE".to_owned()))
    );
    assert_clean(&link);
}

#[test]
fn ev_side_disconnect_follows_its_key() {
    let (mut link, mut script) = registered(1);
    charging(&mut link, &mut script, 1, "T");
    let now = link.now();
    link.charge_point.unplug(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert_eq!(
        calls_of(&link, "StopTransaction")[0]["reason"],
        "EVDisconnected"
    );
    let (mut link, mut script) = registered(1);
    set(&mut link, "StopTransactionOnEVSideDisconnect", "false");
    charging(&mut link, &mut script, 1, "T");
    let now = link.now();
    link.charge_point.unplug(now, 1).unwrap();
    settle(&mut link, &mut script);
    assert!(calls_of(&link, "StopTransaction").is_empty());
    assert_eq!(statuses(&link).last(), Some(&(1, "SuspendedEV".to_owned())));
    assert_clean(&link);
}

#[test]
fn trigger_message_answers_first_then_sends() {
    let (mut link, mut script) = registered(2);
    let before = statuses(&link).len();
    let trigger = |m, c| v16::TriggerMessageRequest {
        connector_id: c,
        requested_message: m,
    };
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::StatusNotification, None),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Accepted);
    assert_eq!(statuses(&link).len(), before + 3);
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::StatusNotification, Some(9)),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Rejected);
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::Heartbeat, Some(9)),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Accepted);
    assert_eq!(calls_of(&link, "Heartbeat").len(), 1);
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::BootNotification, None),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Rejected);
    let now = link.now();
    link.charge_point
        .meter_reading(now, 1, Reading::energy(77))
        .unwrap();
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::MeterValues, Some(1)),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Accepted);
    let mv = calls_of(&link, "MeterValues");
    assert_eq!(
        mv[0]["meterValue"][0]["sampledValue"][0]["context"],
        "Trigger"
    );
    let r = answer!(
        &mut link,
        &mut script,
        trigger(v16::MessageTrigger::DiagnosticsStatusNotification, None),
        TriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatus::Accepted);
    assert_eq!(
        calls_of(&link, "DiagnosticsStatusNotification")[0]["status"],
        "Idle"
    );
    let r = answer!(
        &mut link,
        &mut script,
        v16::ExtendedTriggerMessageRequest {
            connector_id: None,
            requested_message: v16::MessageTriggerEnum::SignChargePointCertificate
        },
        ExtendedTriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatusEnum::NotImplemented);
    let r = answer!(
        &mut link,
        &mut script,
        v16::ExtendedTriggerMessageRequest {
            connector_id: Some(1),
            requested_message: v16::MessageTriggerEnum::StatusNotification
        },
        ExtendedTriggerMessage
    );
    assert_eq!(r.status, v16::TriggerMessageStatusEnum::Accepted);
    assert_clean(&link);
}

#[test]
fn reservations() {
    let (mut link, mut script) = registered(2);
    let reserve = |c, id, t: &str| v16::ReserveNowRequest {
        connector_id: c,
        expiry_date: after(t0(), 600),
        id_tag: tag(t),
        parent_id_tag: None,
        reservation_id: id,
    };
    let r = answer!(&mut link, &mut script, reserve(1, 5, "OWNER"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Accepted);
    assert_eq!(statuses(&link).last(), Some(&(1, "Reserved".to_owned())));
    let r = answer!(&mut link, &mut script, reserve(1, 6, "OTHER"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Occupied);
    let r = answer!(&mut link, &mut script, reserve(0, 7, "OTHER"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Rejected);
    let now = link.now();
    link.charge_point
        .fault(now, 2, v16::ChargePointErrorCode::GroundFailure, false)
        .unwrap();
    let r = answer!(&mut link, &mut script, reserve(2, 8, "OTHER"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Faulted);
    // Another tag cannot use the reservation; the owner's start carries its id.
    link.charge_point.present_id_tag(now, 1, "OTHER").unwrap();
    settle(&mut link, &mut script);
    assert!(calls_of(&link, "Authorize").is_empty());
    charging(&mut link, &mut script, 1, "OWNER");
    assert_eq!(calls_of(&link, "StartTransaction")[0]["reservationId"], 5);
    let cancel = |id| v16::CancelReservationRequest { reservation_id: id };
    let r = answer!(&mut link, &mut script, cancel(5), CancelReservation);
    assert_eq!(r.status, v16::CancelReservationStatus::Rejected);
    link.charge_point.clear_fault(now, 2).unwrap();
    let r = answer!(&mut link, &mut script, reserve(2, 9, "X"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Accepted);
    let r = answer!(&mut link, &mut script, cancel(9), CancelReservation);
    assert_eq!(r.status, v16::CancelReservationStatus::Accepted);
    // A reservation expires by itself.
    let r = answer!(&mut link, &mut script, reserve(2, 10, "X"), ReserveNow);
    assert_eq!(r.status, v16::ReservationStatus::Accepted);
    assert_eq!(
        link.charge_point.status(2),
        Some(v16::ChargePointStatus::Reserved)
    );
    advance(&mut link, &mut script, 601);
    assert_eq!(
        link.charge_point.status(2),
        Some(v16::ChargePointStatus::Available)
    );
    assert_clean(&link);
}

#[test]
fn data_transfer_to_the_application() {
    let mut cfg = config(1);
    cfg.data_transfer_vendors = vec!["com.acme".into()];
    let (mut link, mut script) = link_with(cfg);
    link.connect();
    settle(&mut link, &mut script);
    let dt = |v: &str| v16::DataTransferRequest {
        data: Some("x".into()),
        message_id: None,
        vendor_id: tag(v),
    };
    let r = answer!(&mut link, &mut script, dt("org.other"), DataTransfer);
    assert_eq!(r.status, v16::DataTransferStatus::UnknownVendorId);
    let now = link.now();
    let call = link.csms.call(now, dt("com.acme")).unwrap();
    settle(&mut link, &mut script);
    let pending = events(&mut link)
        .into_iter()
        .find_map(|e| match e {
            Event::DataTransfer { call, request } => {
                assert_eq!(request.data.as_deref(), Some("x"));
                Some(call)
            }
            _ => None,
        })
        .unwrap();
    link.charge_point
        .answer_data_transfer(
            now,
            &pending,
            v16::DataTransferResponse {
                data: None,
                status: v16::DataTransferStatus::Rejected,
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    match script.responses.remove(&call) {
        Some(Ok(AnyResponse::DataTransfer(r))) => {
            assert_eq!(r.status, v16::DataTransferStatus::Rejected)
        }
        other => panic!("{other:?}"),
    }
    // And from the charge point to the CSMS.
    link.charge_point
        .data_transfer(now, dt("com.acme"))
        .unwrap();
    settle(&mut link, &mut script);
    assert!(events(&mut link).contains(&Event::DataTransferAnswered {
        status: Some(v16::DataTransferStatus::Accepted),
        data: Some("ok".into())
    }));
    assert_clean(&link);
}

#[test]
fn smart_charging_through_the_profile_store() {
    let (mut link, mut script) = registered(1);
    let set_req = |c, p| v16::SetChargingProfileRequest {
        connector_id: c,
        cs_charging_profiles: p,
    };
    // A TxProfile without a transaction: Rejected.
    let r = answer!(
        &mut link,
        &mut script,
        set_req(1, profile(v16::ChargingProfilePurposeType::TxProfile, 1)),
        SetChargingProfile
    );
    assert_eq!(r.status, v16::ChargingProfileStatus::Rejected);
    drain_cp(&mut link);
    let r = answer!(
        &mut link,
        &mut script,
        set_req(
            0,
            profile(v16::ChargingProfilePurposeType::TxDefaultProfile, 2)
        ),
        SetChargingProfile
    );
    assert_eq!(r.status, v16::ChargingProfileStatus::Accepted);
    let limit = events(&mut link).into_iter().find_map(|e| match e {
        Event::ApplyLimit {
            connector: 1,
            schedule,
        } => Some(schedule),
        _ => None,
    });
    assert_eq!(limit.unwrap().periods[0].limit, Decimal::from(16));
    let r = answer!(
        &mut link,
        &mut script,
        v16::GetCompositeScheduleRequest {
            charging_rate_unit: Some(v16::ChargingRateUnitType::A),
            connector_id: 1,
            duration: 3600
        },
        GetCompositeSchedule
    );
    assert_eq!(r.status, v16::GetCompositeScheduleStatus::Accepted);
    let r = answer!(
        &mut link,
        &mut script,
        v16::GetCompositeScheduleRequest {
            charging_rate_unit: None,
            connector_id: 5,
            duration: 3600
        },
        GetCompositeSchedule
    );
    assert_eq!(r.status, v16::GetCompositeScheduleStatus::Rejected);
    // A TxProfile for the running transaction, by its id.
    charging(&mut link, &mut script, 1, "T");
    let mut tx = profile(v16::ChargingProfilePurposeType::TxProfile, 3);
    tx.transaction_id = Some(1);
    let r = answer!(&mut link, &mut script, set_req(1, tx), SetChargingProfile);
    assert_eq!(r.status, v16::ChargingProfileStatus::Accepted);
    let clear = |id| v16::ClearChargingProfileRequest {
        charging_profile_purpose: None,
        connector_id: None,
        id: Some(id),
        stack_level: None,
    };
    let r = answer!(&mut link, &mut script, clear(2), ClearChargingProfile);
    assert_eq!(r.status, v16::ClearChargingProfileStatus::Accepted);
    let r = answer!(&mut link, &mut script, clear(2), ClearChargingProfile);
    assert_eq!(r.status, v16::ClearChargingProfileStatus::Unknown);
    assert_clean(&link);
}

#[test]
fn unbuilt_actions_answer_not_supported() {
    let (mut link, mut script) = registered(1);
    let r = csms_call(
        &mut link,
        &mut script,
        v16::GetDiagnosticsRequest {
            location: "ftp://example.com/".into(),
            retries: None,
            retry_interval: None,
            start_time: None,
            stop_time: None,
        },
    );
    match r {
        Err(CallFailure::Error { code, .. }) => assert_eq!(code, ErrorCode::NotSupported),
        other => panic!("{other:?}"),
    }
}

#[test]
fn configuration_keys_read_and_written() {
    let (mut link, mut script) = registered(2);
    let get = |keys: Option<Vec<&str>>| v16::GetConfigurationRequest {
        key: keys.map(|k| k.into_iter().map(tag).collect()),
    };
    let all = answer!(&mut link, &mut script, get(None), GetConfiguration);
    let keys = all.configuration_key.unwrap();
    for spec in ocpp_rpc::charge_point::v16::config::KEYS {
        let kv = keys
            .iter()
            .find(|k| k.key == spec.name)
            .unwrap_or_else(|| panic!("{}", spec.name));
        assert_eq!(
            kv.readonly,
            spec.access == ocpp_rpc::charge_point::v16::config::Access::Read
        );
    }
    assert!(all.unknown_key.is_none());
    let some = answer!(
        &mut link,
        &mut script,
        get(Some(vec![
            "NumberOfConnectors",
            "NoSuchKey",
            "AuthorizationKey"
        ])),
        GetConfiguration
    );
    let known = some.configuration_key.unwrap();
    assert_eq!(known[0].value.as_ref().unwrap().as_str(), "2");
    assert!(known[0].readonly);
    assert!(known[1].value.is_none(), "write-only keys show no value");
    assert_eq!(some.unknown_key.unwrap()[0].as_str(), "NoSuchKey");
    let change = |k: &str, v: &str| v16::ChangeConfigurationRequest {
        key: tag(k),
        value: tag(v),
    };
    use v16::ConfigurationStatus::*;
    let cases = [
        ("HeartbeatInterval", "120", Accepted),
        ("HeartbeatInterval", "-5", Rejected),
        ("LocalPreAuthorize", "true", Accepted),
        ("LocalPreAuthorize", "yes", Rejected),
        ("NumberOfConnectors", "3", Rejected),
        ("NoSuchKey", "1", NotSupported),
        (
            "MeterValuesSampledData",
            "Energy.Active.Import.Register,SoC",
            Accepted,
        ),
        ("MeterValuesSampledData", "Temperature", Rejected),
        ("LightIntensity", "101", Rejected),
        ("ConnectorPhaseRotation", "0.RST,1.RTS,2.Unknown", Accepted),
        ("ConnectorPhaseRotation", "1.XYZ", Rejected),
        ("AuthorizationKey", "00ff00ff00ff00ff", Accepted),
        ("AuthorizationKey", "not-hex", Rejected),
        ("SecurityProfile", "1", Accepted),
        ("SecurityProfile", "0", Rejected),
        ("CpoName", "Acme CPO", Accepted),
    ];
    for (key, value, expected) in cases {
        let r = answer!(
            &mut link,
            &mut script,
            change(key, value),
            ChangeConfiguration
        );
        assert_eq!(r.status, expected, "{key}={value}");
    }
    assert_eq!(
        link.charge_point.configuration().get("HeartbeatInterval"),
        Some("120")
    );
    assert_eq!(
        link.charge_point.configuration().get("NumberOfConnectors"),
        Some("2")
    );
    link.charge_point
        .configuration_mut()
        .set_reboot_required("WebSocketPingInterval");
    let r = answer!(
        &mut link,
        &mut script,
        change("WebSocketPingInterval", "30"),
        ChangeConfiguration
    );
    assert_eq!(r.status, RebootRequired);
    // The new HeartbeatInterval is in force.
    let beats = calls_of(&link, "Heartbeat").len();
    advance(&mut link, &mut script, 120);
    assert_eq!(calls_of(&link, "Heartbeat").len(), beats + 1);
    assert_clean(&link);
}

#[test]
fn a_remote_start_profile_applies_to_its_transaction() {
    let (mut link, mut script) = registered(1);
    let now = link.now();
    link.charge_point.plug_in(now, 1).unwrap();
    settle(&mut link, &mut script);
    drain_cp(&mut link);
    let mut tx = profile(v16::ChargingProfilePurposeType::TxProfile, 4);
    tx.charging_schedule.charging_schedule_period[0].limit = Decimal::from(10);
    let mut req = remote_start(Some(1), "R");
    req.charging_profile = Some(tx);
    let r = answer!(&mut link, &mut script, req, RemoteStartTransaction);
    assert_eq!(r.status, v16::RemoteStartStopStatus::Accepted);
    let limit = events(&mut link).into_iter().find_map(|e| match e {
        Event::ApplyLimit {
            connector: 1,
            schedule,
        } => Some(schedule),
        _ => None,
    });
    assert_eq!(limit.unwrap().periods[0].limit, Decimal::from(10));
    assert_eq!(link.charge_point.state().profiles.profiles().len(), 1);
    // The TxProfile ends with its transaction.
    let now = link.now();
    link.charge_point
        .stop_transaction(now, 1, v16::Reason::Local)
        .unwrap();
    settle(&mut link, &mut script);
    assert!(link.charge_point.state().profiles.profiles().is_empty());
    assert_clean(&link);
}

#[test]
fn broken_and_unknown_calls_get_errors_and_the_machine_keeps_working() {
    use ocpp_rpc::machine::Machine;
    let (mut link, mut script) = registered(1);
    let now = link.now();
    let frames = [
        r#"[2,"x1","NoSuchAction",{}]"#,
        r#"[2,"x2","Reset",{"type":"Sideways"}]"#,
        r#"[2,"x3","ChangeAvailability",{"connectorId":"one","type":"Operative"}]"#,
        r#"[2,"x4","RemoteStopTransaction",{}]"#,
        r#"not json"#,
        r#"[3,"nobody",{}]"#,
        r#"[2,"x5","ReserveNow",{"connectorId":-3,"expiryDate":"2025-01-01T11:00:00Z","idTag":"A","reservationId":1}]"#,
        r#"[2,"x6","ChangeAvailability",{"connectorId":2147483647,"type":"Operative"}]"#,
        r#"[2,"x7","GetCompositeSchedule",{"connectorId":-1,"duration":-5}]"#,
        r#"[2,"x8","TriggerMessage",{"requestedMessage":"MeterValues","connectorId":-1}]"#,
    ];
    for f in frames {
        link.charge_point.handle_text(now, f);
    }
    let replies: Vec<String> = std::iter::from_fn(|| link.charge_point.poll_transmit()).collect();
    let code = |id: &str| {
        replies
            .iter()
            .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap())
            .find(|v| v[1] == id)
            .map(|v| (v[0].as_i64().unwrap(), v[2].clone()))
    };
    assert_eq!(code("x1").unwrap().1, "NotImplemented");
    assert_eq!(code("x2").unwrap().0, 4);
    assert_eq!(code("x3").unwrap().1, "TypeConstraintViolation");
    assert_eq!(code("x4").unwrap().0, 4);
    assert_eq!(code("x5").unwrap().1["status"], "Rejected");
    assert_eq!(code("x6").unwrap().1["status"], "Rejected");
    assert_eq!(code("x7").unwrap().1["status"], "Rejected");
    assert_eq!(code("x8").unwrap().1["status"], "Rejected");
    // Still a working charge point.
    charging(&mut link, &mut script, 1, "T");
    assert_eq!(
        link.charge_point.status(1),
        Some(v16::ChargePointStatus::Charging)
    );
}

#[test]
fn get_configuration_max_keys_is_honoured() {
    let (mut link, mut script) = registered(1);
    set(&mut link, "GetConfigurationMaxKeys", "2");
    let get = |keys: Option<Vec<&str>>| v16::GetConfigurationRequest {
        key: keys.map(|k| k.into_iter().map(tag).collect()),
    };
    let two = answer!(
        &mut link,
        &mut script,
        get(Some(vec!["HeartbeatInterval", "NoSuchKey"])),
        GetConfiguration
    );
    assert_eq!(two.configuration_key.unwrap().len(), 1);
    assert_eq!(two.unknown_key.unwrap().len(), 1);
    // More keys than allowed: the key list breaks its occurrence constraint.
    let r = csms_call(
        &mut link,
        &mut script,
        get(Some(vec![
            "HeartbeatInterval",
            "NumberOfConnectors",
            "ResetRetries",
        ])),
    );
    match r {
        Err(CallFailure::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::OccurrenceConstraintViolation)
        }
        other => panic!("{other:?}"),
    }
    // The limit is on keys asked for: all keys still come without a list.
    let all = answer!(&mut link, &mut script, get(None), GetConfiguration);
    assert!(all.configuration_key.unwrap().len() > 2);
}
