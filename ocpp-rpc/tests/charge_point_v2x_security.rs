//! The 2.0.1 / 2.1 charge point's security events (A04): critical ones
//! queued durably and delivered in order after the boot, retried until
//! acknowledged; non-critical ones only while online; and the events the
//! machine raises itself (start, reset, firmware, security variables,
//! clock).

#[macro_use]
mod cp2x_support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::{Event, State};
use ocpp_rpc::error::ErrorCode;
use ocpp_types::{Protocol, v21};
use serde_json::{Value, json};

both_versions!(
    the_start_is_reported_after_the_boot_is_accepted,
    critical_events_wait_offline_survive_a_restart_and_go_in_order,
    a_pending_boot_holds_them_until_accepted,
    a_callerror_or_a_timeout_retries_until_acknowledged,
    non_critical_events_go_only_while_online,
    bad_names_and_details_are_refused,
    a_reset_is_reported,
    an_installed_firmware_is_reported,
    a_change_of_a_security_variable_is_reported_without_its_value,
    a_clock_jump_beyond_the_threshold_is_reported,
);

/// The SecurityEventNotifications received, as (type, techInfo).
fn security_events<P: Protocol>(h: &Harness<P>) -> Vec<(String, Option<String>)> {
    h.received("SecurityEventNotification")
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap().to_owned(),
                p["techInfo"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn kinds<P: Protocol>(h: &Harness<P>) -> Vec<String> {
    security_events(h).into_iter().map(|(k, _)| k).collect()
}

fn the_start_is_reported_after_the_boot_is_accepted<P: Protocol>() {
    let mut h = connected::<P>();
    let actions: Vec<&str> = h.received.iter().map(|(a, _)| a.as_str()).collect();
    let boot = actions.iter().position(|a| *a == "BootNotification");
    let event = actions
        .iter()
        .position(|a| *a == "SecurityEventNotification");
    assert!(boot < event, "{actions:?}");
    let sent = h.received("SecurityEventNotification");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "StartupOfTheDevice");
    assert_eq!(sent[0]["timestamp"], "2025-01-01T10:00:00Z");
    assert!(h.cp().snapshot().security_queue.is_empty());
    h.assert_clean();
}

fn critical_events_wait_offline_survive_a_restart_and_go_in_order<P: Protocol>() {
    let mut h = connected::<P>();
    h.close();
    h.clear();
    let now = h.now();
    assert_eq!(
        h.cp()
            .security_event(now, "TamperDetectionActivated", Some("lid opened")),
        Ok(true)
    );
    h.advance(Duration::from_secs(5));
    let now = h.now();
    assert_eq!(
        h.cp().security_event(now, "MemoryExhaustion", None),
        Ok(true)
    );
    assert!(kinds(&h).is_empty());

    // Through serde, as an application persists it; and a state written
    // before the queue existed still reads.
    let mut json = serde_json::to_value(h.cp().snapshot()).unwrap();
    let state: State = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(state.security_queue.len(), 2);
    json.as_object_mut().unwrap().remove("security_queue");
    let old: State = serde_json::from_value(json).unwrap();
    assert!(old.security_queue.is_empty());

    let now = h.now();
    let clock = h.cp().clock();
    let mut h = Harness::<P>::with_state(config(version_of::<P>()), state, clock, now);
    h.connect();
    let sent = h.received("SecurityEventNotification");
    assert_eq!(
        kinds(&h),
        [
            "TamperDetectionActivated",
            "MemoryExhaustion",
            "StartupOfTheDevice"
        ]
    );
    assert_eq!(sent[0]["techInfo"], "lid opened");
    // The time each happened, not the time it went out.
    assert_eq!(sent[0]["timestamp"], "2025-01-01T10:00:00Z");
    assert_eq!(sent[1]["timestamp"], "2025-01-01T10:00:05Z");
    assert!(h.cp().snapshot().security_queue.is_empty());
    h.assert_clean();
}

fn a_pending_boot_holds_them_until_accepted<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    let accept = Rc::new(Cell::new(false));
    let flag = accept.clone();
    h.respond_with(move |action, payload| match action {
        "BootNotification" if !flag.get() => {
            Reply::Ok(json!({"currentTime": T0, "interval": 60, "status": "Pending"}))
        }
        _ => standard(action, payload),
    });
    h.connect();
    h.advance(Duration::from_secs(90));
    assert!(h.received("BootNotification").len() >= 2);
    assert!(kinds(&h).is_empty());
    assert_eq!(h.cp().snapshot().security_queue.len(), 1);
    accept.set(true);
    h.advance(Duration::from_secs(60));
    assert_eq!(kinds(&h), ["StartupOfTheDevice"]);
    assert!(h.cp().snapshot().security_queue.is_empty());
    h.assert_clean();
}

fn a_callerror_or_a_timeout_retries_until_acknowledged<P: Protocol>() {
    let mut h = Harness::<P>::new(config(version_of::<P>()));
    let tries = Rc::new(Cell::new(0));
    let count = tries.clone();
    h.respond_with(move |action, payload| match action {
        "SecurityEventNotification" => {
            count.set(count.get() + 1);
            match count.get() {
                1 => Reply::Error(ErrorCode::InternalError),
                2 => Reply::Hold,
                _ => Reply::Ok(json!({})),
            }
        }
        _ => standard(action, payload),
    });
    h.connect();
    let now = h.now();
    h.cp().security_event(now, "ResetOrReboot", None).unwrap();
    // One at a time: the second waits behind the failing first.
    assert_eq!(kinds(&h), ["StartupOfTheDevice"]);
    assert_eq!(h.cp().snapshot().security_queue.len(), 2);
    // MessageAttemptInterval (60 s) after the CALLERROR, then the 30 s
    // call timeout, then 2 × 60 s.
    h.advance(Duration::from_secs(59));
    assert_eq!(tries.get(), 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(tries.get(), 2);
    h.advance(Duration::from_secs(30 + 120));
    assert_eq!(
        kinds(&h),
        [
            "StartupOfTheDevice",
            "StartupOfTheDevice",
            "StartupOfTheDevice",
            "ResetOrReboot"
        ]
    );
    assert!(h.cp().snapshot().security_queue.is_empty());
}

fn non_critical_events_go_only_while_online<P: Protocol>() {
    let mut h = connected::<P>();
    h.clear();
    let now = h.now();
    assert_eq!(
        h.cp()
            .security_event(now, "InvalidMessages", Some("bad frame")),
        Ok(true)
    );
    h.settle();
    assert_eq!(
        security_events(&h),
        [("InvalidMessages".to_owned(), Some("bad frame".to_owned()))]
    );
    assert!(h.cp().snapshot().security_queue.is_empty());
    h.close();
    let now = h.now();
    assert_eq!(
        h.cp().security_event(now, "AttemptedReplayAttacks", None),
        Ok(false)
    );
    h.reconnect();
    assert_eq!(kinds(&h), ["InvalidMessages"]);
    h.assert_clean();
}

fn bad_names_and_details_are_refused<P: Protocol>() {
    let mut h = connected::<P>();
    h.clear();
    let now = h.now();
    let long_kind = "X".repeat(51);
    assert!(h.cp().security_event(now, &long_kind, None).is_err());
    let long_info = "i".repeat(256);
    assert!(
        h.cp()
            .security_event(now, "TamperDetectionActivated", Some(&long_info))
            .is_err()
    );
    h.settle();
    assert!(kinds(&h).is_empty());
    assert!(h.cp().snapshot().security_queue.is_empty());
}

fn a_reset_is_reported<P: Protocol>() {
    let mut h = connected::<P>();
    h.clear();
    let answer = h.ok("Reset", json!({"type": "Immediate"}));
    assert_eq!(answer["status"], "Accepted");
    assert!(h.events.contains(&Event::Reboot { evse: None }));
    assert_eq!(
        security_events(&h),
        [("ResetOrReboot".to_owned(), Some("station".to_owned()))]
    );
    // A reboot that restores the state reports the start as well.
    let state = h.cp().snapshot();
    let (clock, now) = (h.cp().clock(), h.now());
    let mut h = Harness::<P>::with_state(config(version_of::<P>()), state, clock, now);
    h.connect();
    assert_eq!(kinds(&h), ["StartupOfTheDevice"]);
    h.assert_clean();
}

fn an_installed_firmware_is_reported<P: Protocol>() {
    let mut h = connected::<P>();
    h.clear();
    let now = h.now();
    h.cp()
        .firmware_status(now, v21::FirmwareStatusEnum::Installing, Some(1));
    h.settle();
    assert!(kinds(&h).is_empty());
    let now = h.now();
    h.cp()
        .firmware_status(now, v21::FirmwareStatusEnum::Installed, Some(1));
    h.settle();
    assert_eq!(kinds(&h), ["FirmwareUpdated"]);
    h.assert_clean();
}

fn a_change_of_a_security_variable_is_reported_without_its_value<P: Protocol>() {
    let mut h = connected::<P>();
    h.clear();
    let password = "s3cret-password-123";
    let answer = h.ok(
        "SetVariables",
        json!({"setVariableData": [{
            "component": {"name": "SecurityCtrlr"},
            "variable": {"name": "BasicAuthPassword"},
            "attributeValue": password,
        }]}),
    );
    assert_eq!(
        answer["setVariableResult"][0]["attributeStatus"],
        "RebootRequired"
    );
    // The profile is read-only to the CSMS; the station changes it itself.
    let now = h.now();
    h.cp()
        .set_variable("SecurityCtrlr/SecurityProfile", "2", now)
        .unwrap();
    // Another variable is no security parameter.
    let now = h.now();
    h.cp()
        .set_variable("OCPPCommCtrlr/HeartbeatInterval", "600", now)
        .unwrap();
    h.settle();
    assert_eq!(
        security_events(&h),
        [
            (
                "ReconfigurationOfSecurityParameters".to_owned(),
                Some("SecurityCtrlr/BasicAuthPassword".to_owned())
            ),
            (
                "ReconfigurationOfSecurityParameters".to_owned(),
                Some("SecurityCtrlr/SecurityProfile".to_owned())
            ),
        ]
    );
    let all: Vec<Value> = h.received("SecurityEventNotification");
    assert!(!all.iter().any(|p| p.to_string().contains(password)));
    h.assert_clean();
}

fn a_clock_jump_beyond_the_threshold_is_reported<P: Protocol>() {
    let mut h = connected::<P>();
    // The CSMS always says T0: each heartbeat (every 300 s) sets the
    // station's clock back by 300 s.
    let now = h.now();
    h.cp()
        .set_variable("ClockCtrlr/TimeAdjustmentReportingThreshold", "3600", now)
        .unwrap();
    h.clear();
    h.advance(Duration::from_secs(300));
    assert_eq!(h.received("Heartbeat").len(), 1);
    assert!(kinds(&h).is_empty());
    let now = h.now();
    h.cp()
        .set_variable("ClockCtrlr/TimeAdjustmentReportingThreshold", "10", now)
        .unwrap();
    h.advance(Duration::from_secs(300));
    assert_eq!(h.received("Heartbeat").len(), 2);
    let sent = h.received("SecurityEventNotification");
    assert_eq!(kinds(&h), ["SettingSystemTime"]);
    assert_eq!(sent[0]["techInfo"], "adjusted by 300 s");
    // Stamped with the time as set.
    assert_eq!(sent[0]["timestamp"], "2025-01-01T10:00:00Z");
    h.assert_clean();
}

#[test]
fn the_critical_list_is_the_appendix_one() {
    use ocpp_rpc::charge_point::v2x::CRITICAL_SECURITY_EVENTS as C;
    assert_eq!(C.len(), 15);
    for k in ["StartupOfTheDevice", "ResetOrReboot", "FirmwareUpdated"] {
        assert!(C.contains(&k));
    }
    for k in [
        "ReconfigurationOfSecurityParameters",
        "InvalidMessages",
        "FailedToAuthenticateAtCsms",
    ] {
        assert!(!C.contains(&k));
    }
}
