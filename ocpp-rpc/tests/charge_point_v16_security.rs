//! The 1.6 charge point's security events (security whitepaper A04):
//! critical ones queued durably and delivered in order once registered,
//! retried until acknowledged; non-critical ones only while registered;
//! and the events the machine raises itself.

#[path = "support/cp16_csms.rs"]
mod support;

use ocpp_rpc::charge_point::v16::{self as cp16, ChargePoint, Event, InputError, State};
use ocpp_rpc::machine::WallClock;
use ocpp_rpc::testing::Link;
use ocpp_types::v16::{self, AnyResponse};
use support::*;

fn kinds(link: &L) -> Vec<String> {
    calls_of(link, "SecurityEventNotification")
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_start_is_reported_once_registered() {
    let (link, _script) = link_with(config(1));
    assert_eq!(link.charge_point.snapshot().security_queue.len(), 1);
    let (link, _script) = registered(1);
    assert_eq!(kinds(&link), ["StartupOfTheDevice"]);
    let sent = calls_of(&link, "SecurityEventNotification");
    assert_eq!(sent[0]["timestamp"], "2025-01-01T10:00:00Z");
    assert!(link.charge_point.snapshot().security_queue.is_empty());
    assert_clean(&link);
}

#[test]
fn critical_events_wait_offline_survive_a_restart_and_go_in_order() {
    let (mut link, mut script) = registered(1);
    link.close();
    settle(&mut link, &mut script);
    let now = link.now();
    let cp = &mut link.charge_point;
    assert!(matches!(
        cp.security_event(now, "TamperDetectionActivated", Some("lid opened")),
        Ok(true)
    ));
    assert!(matches!(
        cp.security_event(now, "MemoryExhaustion", None),
        Ok(true)
    ));
    // Not critical in 1.6 (unlike 2.x): dropped while offline.
    assert!(matches!(
        cp.security_event(now, "InvalidTLSVersion", None),
        Ok(false)
    ));
    assert!(matches!(
        cp.security_event(now, &"X".repeat(51), None),
        Err(InputError::Refused(_))
    ));

    let mut json = serde_json::to_value(link.charge_point.snapshot()).unwrap();
    let state: State = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(state.security_queue.len(), 2);
    // A state written before the queue existed still reads.
    json.as_object_mut().unwrap().remove("security_queue");
    let old: State = serde_json::from_value(json).unwrap();
    assert!(old.security_queue.is_empty());

    let clock = WallClock::new(now, script.utc(now));
    let restarted = ChargePoint::restore(config(1), state, clock, now);
    let mut link2 = Link::between(restarted, csms_endpoint(now, "cs2-"), now);
    link2.connect();
    settle(&mut link2, &mut script);
    assert_eq!(
        kinds(&link2),
        [
            "TamperDetectionActivated",
            "MemoryExhaustion",
            "StartupOfTheDevice"
        ]
    );
    assert_eq!(
        calls_of(&link2, "SecurityEventNotification")[0]["techInfo"],
        "lid opened"
    );
    assert!(link2.charge_point.snapshot().security_queue.is_empty());
    assert_clean(&link2);
}

#[test]
fn a_callerror_retries_until_acknowledged() {
    let (mut link, mut script) = registered(1);
    // The scripted CSMS names SecurityEventNotification "other".
    script.fail = vec!["other"];
    let now = link.now();
    link.charge_point
        .security_event(now, "SecurityLogWasCleared", None)
        .unwrap();
    settle(&mut link, &mut script);
    assert_eq!(kinds(&link).len(), 2);
    assert_eq!(link.charge_point.snapshot().security_queue.len(), 1);
    // 30 s after the first failure, 60 s after the second.
    advance(&mut link, &mut script, 29);
    assert_eq!(kinds(&link).len(), 2);
    advance(&mut link, &mut script, 1);
    assert_eq!(kinds(&link).len(), 3);
    script.fail.clear();
    advance(&mut link, &mut script, 60);
    assert_eq!(
        kinds(&link),
        [
            "StartupOfTheDevice",
            "SecurityLogWasCleared",
            "SecurityLogWasCleared",
            "SecurityLogWasCleared"
        ]
    );
    assert!(link.charge_point.snapshot().security_queue.is_empty());
    // Nothing further.
    advance(&mut link, &mut script, 120);
    assert_eq!(kinds(&link).len(), 4);
}

#[test]
fn non_critical_events_go_while_registered() {
    let (mut link, mut script) = registered(1);
    let now = link.now();
    assert!(matches!(
        link.charge_point
            .security_event(now, "InvalidMessages", Some("bad frame")),
        Ok(true)
    ));
    settle(&mut link, &mut script);
    let sent = calls_of(&link, "SecurityEventNotification");
    assert_eq!(sent[1]["type"], "InvalidMessages");
    assert_eq!(sent[1]["techInfo"], "bad frame");
    assert!(link.charge_point.snapshot().security_queue.is_empty());
    // No Answered event: that is notify's.
    assert!(
        !events(&mut link)
            .iter()
            .any(|e| matches!(e, Event::Answered { .. }))
    );
    assert_clean(&link);
}

#[test]
fn a_reset_a_security_key_and_an_installed_firmware_are_reported() {
    let (mut link, mut script) = registered(1);
    let key = "0123456789abcdef0123456789abcdef01234567";
    let r = csms_call(
        &mut link,
        &mut script,
        v16::ChangeConfigurationRequest {
            key: tag("AuthorizationKey"),
            value: tag(key),
        },
    );
    assert!(matches!(r, Ok(AnyResponse::ChangeConfiguration(_))));
    // Another key is no security parameter.
    csms_call(
        &mut link,
        &mut script,
        v16::ChangeConfigurationRequest {
            key: tag("HeartbeatInterval"),
            value: tag("600"),
        },
    )
    .unwrap();
    let now = link.now();
    link.charge_point
        .notify(
            now,
            v16::FirmwareStatusNotificationRequest {
                status: v16::FirmwareStatus::Installed,
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    drain_cp(&mut link);
    csms_call(
        &mut link,
        &mut script,
        v16::ResetRequest {
            kind: v16::ResetType::Soft,
        },
    )
    .unwrap();
    assert!(events(&mut link).contains(&Event::Reboot(v16::ResetType::Soft)));
    assert_eq!(
        kinds(&link),
        [
            "StartupOfTheDevice",
            "ReconfigurationOfSecurityParameters",
            "FirmwareUpdated",
            "ResetOrReboot"
        ]
    );
    let sent = calls_of(&link, "SecurityEventNotification");
    assert_eq!(sent[1]["techInfo"], "AuthorizationKey");
    assert_eq!(sent[3]["techInfo"], "Soft reset");
    assert!(!sent.iter().any(|p| p.to_string().contains(key)));
    assert_clean(&link);
}

#[test]
fn the_critical_list_is_the_whitepaper_one() {
    let c = cp16::CRITICAL_SECURITY_EVENTS;
    assert_eq!(c.len(), 7);
    assert!(c.contains(&"SettingSystemTime"));
    assert!(!c.contains(&"InvalidFirmwareSignature"));
}
