//! The 1.6 charge point's application flows: firmware, diagnostics, logs
//! and certificates answered by the application, their status
//! notifications, and what triggers report meanwhile.

#[path = "support/cp16_csms.rs"]
mod support;

use ocpp_rpc::charge_point::v16::{Event, PendingCall};
use ocpp_rpc::endpoint::CallFailure;
use ocpp_rpc::error::ErrorCode;
use ocpp_types::v16::{self, AnyRequest, AnyResponse};
use support::*;

fn flows_link() -> (L, Script) {
    let mut cfg = config(1);
    cfg.application_actions = vec![
        v16::Action::UpdateFirmware,
        v16::Action::GetLog,
        v16::Action::CertificateSigned,
    ];
    let (mut link, mut script) = link_with(cfg);
    link.connect();
    settle(&mut link, &mut script);
    (link, script)
}

fn requested(link: &mut L) -> (PendingCall, AnyRequest) {
    events(link)
        .into_iter()
        .find_map(|e| match e {
            Event::Request { call, request } => Some((call, request)),
            _ => None,
        })
        .expect("a request for the application")
}

fn trigger_firmware(link: &mut L, script: &mut Script) -> String {
    let before = calls_of(link, "FirmwareStatusNotification").len();
    let r = csms_call(
        link,
        script,
        v16::TriggerMessageRequest {
            connector_id: None,
            requested_message: v16::MessageTrigger::FirmwareStatusNotification,
        },
    );
    assert!(matches!(r, Ok(AnyResponse::TriggerMessage(_))));
    let sent = calls_of(link, "FirmwareStatusNotification");
    assert_eq!(sent.len(), before + 1);
    sent[before]["status"].as_str().unwrap().to_owned()
}

#[test]
fn update_firmware_is_answered_by_the_application_and_reports_progress() {
    let (mut link, mut script) = flows_link();
    let now = link.now();
    let call = link
        .csms
        .call(
            now,
            v16::UpdateFirmwareRequest {
                location: "https://example.com/fw.bin".into(),
                retries: None,
                retrieve_date: t0(),
                retry_interval: None,
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    let (pending, request) = requested(&mut link);
    assert!(matches!(request, AnyRequest::UpdateFirmware(_)));
    link.charge_point
        .answer_call(now, &pending, v16::UpdateFirmwareResponse {})
        .unwrap();
    settle(&mut link, &mut script);
    assert!(matches!(
        script.responses.remove(&call),
        Some(Ok(AnyResponse::UpdateFirmware(_)))
    ));
    // A second answer to the same call is refused.
    assert!(
        link.charge_point
            .answer_call(now, &pending, v16::UpdateFirmwareResponse {})
            .is_err()
    );
    assert_eq!(trigger_firmware(&mut link, &mut script), "Idle");
    link.charge_point
        .notify(
            now,
            v16::FirmwareStatusNotificationRequest {
                status: v16::FirmwareStatus::Downloading,
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    assert!(events(&mut link).iter().any(|e| matches!(
        e,
        Event::Answered {
            action: v16::Action::FirmwareStatusNotification,
            response: Some(_)
        }
    )));
    assert_eq!(trigger_firmware(&mut link, &mut script), "Downloading");
    link.charge_point
        .notify(
            now,
            v16::FirmwareStatusNotificationRequest {
                status: v16::FirmwareStatus::Installed,
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    assert_eq!(trigger_firmware(&mut link, &mut script), "Idle");
    // Not a notification: refused locally.
    assert!(
        link.charge_point
            .notify(now, v16::HeartbeatRequest {})
            .is_err()
    );
    assert_clean(&link);
}

#[test]
fn actions_the_application_did_not_take_are_not_supported() {
    let (mut link, mut script) = flows_link();
    let r = csms_call(
        &mut link,
        &mut script,
        v16::InstallCertificateRequest {
            certificate: tag("-----BEGIN CERTIFICATE-----"),
            certificate_type: v16::CertificateUseEnum::CentralSystemRootCertificate,
        },
    );
    match r {
        Err(CallFailure::Error { code, .. }) => assert_eq!(code, ErrorCode::NotSupported),
        other => panic!("{other:?}"),
    }
}

#[test]
fn certificate_renewal_on_trigger() {
    let (mut link, mut script) = flows_link();
    let r = csms_call(
        &mut link,
        &mut script,
        v16::ExtendedTriggerMessageRequest {
            connector_id: None,
            requested_message: v16::MessageTriggerEnum::SignChargePointCertificate,
        },
    );
    match r {
        Ok(AnyResponse::ExtendedTriggerMessage(r)) => {
            assert_eq!(r.status, v16::TriggerMessageStatusEnum::Accepted)
        }
        other => panic!("{other:?}"),
    }
    assert!(events(&mut link).contains(&Event::SignCertificate));
    let now = link.now();
    link.charge_point
        .notify(
            now,
            v16::SignCertificateRequest {
                csr: tag("-----BEGIN CERTIFICATE REQUEST-----"),
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    assert_eq!(calls_of(&link, "SignCertificate").len(), 1);
    // The signed chain comes back to the application.
    let now = link.now();
    let call = link
        .csms
        .call(
            now,
            v16::CertificateSignedRequest {
                certificate_chain: tag("-----BEGIN CERTIFICATE-----"),
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    let (pending, request) = requested(&mut link);
    assert!(matches!(request, AnyRequest::CertificateSigned(_)));
    link.charge_point
        .answer_call(
            now,
            &pending,
            v16::CertificateSignedResponse {
                status: v16::CertificateSignedStatusEnum::Rejected,
            },
        )
        .unwrap();
    link.charge_point
        .notify(
            now,
            v16::SecurityEventNotificationRequest {
                tech_info: None,
                timestamp: t0(),
                kind: tag("InvalidChargePointCertificate"),
            },
        )
        .unwrap();
    settle(&mut link, &mut script);
    assert!(matches!(
        script.responses.remove(&call),
        Some(Ok(AnyResponse::CertificateSigned(_)))
    ));
    // The start (StartupOfTheDevice), then the application's one.
    let events = calls_of(&link, "SecurityEventNotification");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["type"], "InvalidChargePointCertificate");
    assert_clean(&link);
}

#[test]
fn diagnostics_and_signed_firmware_are_refused_or_accepted_by_the_application() {
    let mut cfg = config(1);
    cfg.application_actions = vec![
        v16::Action::GetDiagnostics,
        v16::Action::SignedUpdateFirmware,
    ];
    let (mut link, mut script) = link_with(cfg);
    link.connect();
    settle(&mut link, &mut script);
    let now = link.now();
    // GetDiagnostics: no fileName means nothing to upload.
    for file_name in [None, Some("diag.zip")] {
        let call = link
            .csms
            .call(
                now,
                v16::GetDiagnosticsRequest {
                    location: "ftp://logs.example/".into(),
                    retries: None,
                    retry_interval: None,
                    start_time: None,
                    stop_time: None,
                },
            )
            .unwrap();
        settle(&mut link, &mut script);
        assert!(
            !script.responses.contains_key(&call),
            "answered before the application"
        );
        let (pending, request) = requested(&mut link);
        assert!(matches!(request, AnyRequest::GetDiagnostics(_)));
        link.charge_point
            .answer_call(
                now,
                &pending,
                v16::GetDiagnosticsResponse {
                    file_name: file_name.map(tag),
                },
            )
            .unwrap();
        settle(&mut link, &mut script);
        match script.responses.remove(&call) {
            Some(Ok(AnyResponse::GetDiagnostics(r))) => {
                assert_eq!(r.file_name.as_ref().map(|f| f.as_str()), file_name)
            }
            other => panic!("{other:?}"),
        }
    }
    // SignedUpdateFirmware: a bad signing certificate, then a good one.
    for status in [
        v16::UpdateFirmwareStatusEnum::InvalidCertificate,
        v16::UpdateFirmwareStatusEnum::Accepted,
    ] {
        let call = link
            .csms
            .call(
                now,
                v16::SignedUpdateFirmwareRequest {
                    firmware: v16::Firmware {
                        install_date_time: None,
                        location: tag("https://fw.example/2.0"),
                        retrieve_date_time: t0(),
                        signature: tag("c2ln"),
                        signing_certificate: tag("-----BEGIN CERTIFICATE-----"),
                    },
                    request_id: 7,
                    retries: None,
                    retry_interval: None,
                },
            )
            .unwrap();
        settle(&mut link, &mut script);
        let (pending, request) = requested(&mut link);
        assert!(matches!(request, AnyRequest::SignedUpdateFirmware(_)));
        // The answer must be of the call's action.
        assert!(
            link.charge_point
                .answer_call(now, &pending, v16::UpdateFirmwareResponse {})
                .is_err()
        );
        link.charge_point
            .answer_call(now, &pending, v16::SignedUpdateFirmwareResponse { status })
            .unwrap();
        settle(&mut link, &mut script);
        match script.responses.remove(&call) {
            Some(Ok(AnyResponse::SignedUpdateFirmware(r))) => assert_eq!(r.status, status),
            other => panic!("{other:?}"),
        }
    }
    assert_clean(&link);
}
