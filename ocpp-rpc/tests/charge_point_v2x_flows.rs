//! The 2.0.1 / 2.1 charge point's application flows: firmware, logs and
//! the station certificate, answered by the application (accepted or
//! not), with the requestIds and triggered statuses the machine keeps.

#[macro_use]
mod cp2x_support;

use cp2x_support::*;
use ocpp_rpc::charge_point::v2x::{Event, LinkError, State};
use ocpp_rpc::machine::WallClock;
use ocpp_types::{BoundedString, Protocol, v21};
use serde_json::{Value, json};

both_versions!(
    update_firmware_rejected_or_accepted_by_the_application,
    get_log_rejected_or_accepted_by_the_application,
    certificate_signed_answered_by_the_application,
    answers_refused_after_a_reconnect_or_when_invalid,
    a_firmware_update_spans_the_restart_that_installs_it,
);

/// The CSMS calls `action`; the call waits for the application, whose
/// event `pick` recognises. Returns the CALL's id.
fn to_application<P: Protocol>(
    h: &mut Harness<P>,
    action: &str,
    payload: Value,
    pick: impl Fn(&Event) -> Option<String>,
) -> String {
    let request = P::decode_request(action, &payload.to_string()).unwrap();
    let before = h.responses.len();
    h.events.clear();
    let now = h.now();
    h.link.csms.call(now, request).unwrap();
    h.settle();
    assert_eq!(
        h.responses.len(),
        before,
        "{action} answered before the application"
    );
    h.events
        .iter()
        .find_map(pick)
        .expect("the request reached the application")
}

fn firmware<P: Protocol>(h: &mut Harness<P>, request_id: i32) -> String {
    let payload = json!({"requestId": request_id, "firmware": {"location": "https://fw.example/1.1", "retrieveDateTime": T0}});
    to_application(h, "UpdateFirmware", payload, |e| match e {
        Event::InstallFirmware { id, request } if request.request_id == request_id => {
            Some(id.clone())
        }
        _ => None,
    })
}

fn get_log<P: Protocol>(h: &mut Harness<P>, request_id: i32) -> String {
    let payload = json!({"requestId": request_id, "logType": "DiagnosticsLog", "log": {"remoteLocation": "https://logs.example/"}});
    to_application(h, "GetLog", payload, |e| match e {
        Event::UploadLogs { id, request } if request.request_id == request_id => Some(id.clone()),
        _ => None,
    })
}

fn firmware_answer(status: v21::UpdateFirmwareStatusEnum) -> v21::UpdateFirmwareResponse {
    v21::UpdateFirmwareResponse {
        custom_data: None,
        status,
        status_info: None,
    }
}

fn log_answer(status: v21::LogStatusEnum, filename: Option<&str>) -> v21::GetLogResponse {
    v21::GetLogResponse {
        custom_data: None,
        filename: filename.map(BoundedString::new_unchecked),
        status,
        status_info: None,
    }
}

/// The answer the CSMS got last.
fn answered<P: Protocol>(h: &mut Harness<P>) -> Value {
    h.responses.pop().expect("an answer").expect("a CALLRESULT")
}

/// What a triggered `message` says: (status, requestId).
fn triggered<P: Protocol>(h: &mut Harness<P>, message: &str) -> (Value, Value) {
    let r = h.ok("TriggerMessage", json!({"requestedMessage": message}));
    assert_eq!(r["status"], "Accepted");
    let sent = h.received(message).pop().expect("the triggered message");
    (sent["status"].clone(), sent["requestId"].clone())
}

fn update_firmware_rejected_or_accepted_by_the_application<P: Protocol>() {
    use v21::FirmwareStatusEnum as F;
    use v21::UpdateFirmwareStatusEnum as U;
    let mut h = connected::<P>();
    // Rejected: nothing under way, a trigger says Idle without a requestId.
    let id = firmware(&mut h, 11);
    h.cp()
        .answer_update_firmware(&id, firmware_answer(U::InvalidCertificate))
        .unwrap();
    h.settle();
    assert_eq!(answered(&mut h)["status"], "InvalidCertificate");
    let notifications = "FirmwareStatusNotification";
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Idle"), Value::Null)
    );
    // A second answer to the same call is refused.
    assert_eq!(
        h.cp()
            .answer_update_firmware(&id, firmware_answer(U::Accepted)),
        Err(LinkError::UnknownCall)
    );

    // Accepted: its progress carries its requestId, and a trigger repeats it.
    let id = firmware(&mut h, 12);
    h.cp()
        .answer_update_firmware(&id, firmware_answer(U::Accepted))
        .unwrap();
    let now = h.now();
    h.cp().firmware_status(now, F::Downloading, None);
    h.settle();
    assert_eq!(answered(&mut h)["status"], "Accepted");
    assert_eq!(h.received(notifications).last().unwrap()["requestId"], 12);
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Downloading"), json!(12))
    );

    // A new update replaces it (AcceptedCanceled): Idle until it reports.
    let id = firmware(&mut h, 13);
    h.cp()
        .answer_update_firmware(&id, firmware_answer(U::AcceptedCanceled))
        .unwrap();
    h.settle();
    assert_eq!(answered(&mut h)["status"], "AcceptedCanceled");
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Idle"), Value::Null)
    );
    let now = h.now();
    h.cp().firmware_status(now, F::Installing, None);
    h.settle();
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Installing"), json!(13))
    );
    // Installed ends it: Idle again; an Idle never carries a requestId.
    let now = h.now();
    h.cp().firmware_status(now, F::Installed, None);
    h.cp().firmware_status(now, F::Idle, Some(13));
    h.settle();
    let sent = h.received(notifications);
    assert_eq!(sent[sent.len() - 2]["requestId"], 13);
    assert_eq!(sent[sent.len() - 1], json!({"status": "Idle"}));
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Idle"), Value::Null)
    );
    h.assert_clean();
}

fn get_log_rejected_or_accepted_by_the_application<P: Protocol>() {
    use v21::UploadLogStatusEnum as S;
    let mut h = connected::<P>();
    let id = get_log(&mut h, 20);
    h.cp()
        .answer_get_log(&id, log_answer(v21::LogStatusEnum::Rejected, None))
        .unwrap();
    h.settle();
    assert_eq!(answered(&mut h), json!({"status": "Rejected"}));
    let notifications = "LogStatusNotification";
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Idle"), Value::Null)
    );

    let id = get_log(&mut h, 21);
    h.cp()
        .answer_get_log(
            &id,
            log_answer(v21::LogStatusEnum::Accepted, Some("diag-21.tar.gz")),
        )
        .unwrap();
    h.settle();
    assert_eq!(
        answered(&mut h),
        json!({"status": "Accepted", "filename": "diag-21.tar.gz"})
    );
    let now = h.now();
    h.cp().log_status(now, S::Uploading, None);
    h.settle();
    assert_eq!(h.received(notifications).last().unwrap()["requestId"], 21);
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Uploading"), json!(21))
    );
    let now = h.now();
    h.cp().log_status(now, S::Uploaded, None);
    h.settle();
    assert_eq!(
        h.received(notifications).last().unwrap(),
        &json!({"status": "Uploaded", "requestId": 21})
    );
    assert_eq!(
        triggered(&mut h, notifications),
        (json!("Idle"), Value::Null)
    );
    h.assert_clean();
}

fn certificate_signed_answered_by_the_application<P: Protocol>() {
    let mut h = connected::<P>();
    let now = h.now();
    h.cp()
        .sign_certificate(now, "-----BEGIN CERTIFICATE REQUEST-----", None);
    h.settle();
    assert_eq!(h.received("SignCertificate").len(), 1);
    let pick = |e: &Event| match e {
        Event::CertificateSigned { id, request } => {
            assert_eq!(
                request.certificate_chain.as_str(),
                "-----BEGIN CERTIFICATE-----"
            );
            Some(id.clone())
        }
        _ => None,
    };
    let chain = json!({"certificateChain": "-----BEGIN CERTIFICATE-----"});
    for status in [
        v21::CertificateSignedStatusEnum::Rejected,
        v21::CertificateSignedStatusEnum::Accepted,
    ] {
        let id = to_application(&mut h, "CertificateSigned", chain.clone(), pick);
        h.cp()
            .answer_certificate_signed(
                &id,
                v21::CertificateSignedResponse {
                    custom_data: None,
                    status,
                    status_info: None,
                },
            )
            .unwrap();
        h.settle();
        assert_eq!(answered(&mut h)["status"], status.to_string());
    }
    h.assert_clean();
}

fn answers_refused_after_a_reconnect_or_when_invalid<P: Protocol>() {
    let mut h = connected::<P>();
    // An answer that does not validate is refused and the call keeps waiting.
    let id = get_log(&mut h, 30);
    let too_long = "x".repeat(300);
    let refused = h.cp().answer_get_log(
        &id,
        log_answer(v21::LogStatusEnum::Accepted, Some(&too_long)),
    );
    assert!(
        matches!(refused, Err(LinkError::Respond { .. })),
        "{refused:?}"
    );
    h.settle();
    assert!(h.responses.is_empty());
    h.cp()
        .answer_get_log(&id, log_answer(v21::LogStatusEnum::Accepted, None))
        .unwrap();
    h.settle();
    assert_eq!(answered(&mut h)["status"], "Accepted");

    // A call from an earlier connection cannot be answered on a new one.
    let id = firmware(&mut h, 31);
    h.reconnect();
    assert_eq!(
        h.cp().answer_update_firmware(
            &id,
            firmware_answer(v21::UpdateFirmwareStatusEnum::Accepted)
        ),
        Err(LinkError::UnknownCall)
    );
    h.assert_clean();
}

fn a_firmware_update_spans_the_restart_that_installs_it<P: Protocol>() {
    use v21::FirmwareStatusEnum as F;
    let mut h = connected::<P>();
    let id = firmware(&mut h, 40);
    h.cp()
        .answer_update_firmware(
            &id,
            firmware_answer(v21::UpdateFirmwareStatusEnum::Accepted),
        )
        .unwrap();
    let now = h.now();
    h.cp().firmware_status(now, F::InstallRebooting, None);
    h.settle();
    // The station reboots into the new firmware, from its snapshot.
    let text = serde_json::to_string(&h.cp().snapshot()).unwrap();
    let state: State = serde_json::from_str(&text).unwrap();
    let now = h.now();
    let clock = WallClock::new(now, h.cp().clock().at(now));
    let mut h2 = Harness::<P>::with_state(config(version_of::<P>()), state, clock, now);
    h2.connect();
    let notifications = "FirmwareStatusNotification";
    assert_eq!(
        triggered(&mut h2, notifications),
        (json!("InstallRebooting"), json!(40))
    );
    let now = h2.now();
    h2.cp().firmware_status(now, F::Installed, None);
    h2.settle();
    assert_eq!(
        h2.received(notifications).last().unwrap(),
        &json!({"status": "Installed", "requestId": 40})
    );
    assert_eq!(
        triggered(&mut h2, notifications),
        (json!("Idle"), Value::Null)
    );
    h.assert_clean();
    h2.assert_clean();
}
