//! The flows the application carries out: firmware (L01/L02), log upload
//! (N01), the station certificate (A02/A03) and DataTransfer (P01). The
//! CSMS's request reaches the application as an [`Event`] carrying the
//! CALL's id; the application decides and answers with the matching
//! `answer_*` method, then reports progress with the status methods. The
//! machine keeps what the protocol ties together: which calls still wait,
//! the requestId each status belongs to, and what a TriggerMessage reports
//! meanwhile (F06.FR.16, L01.FR.25/26); the last two are durable
//! ([`Flows`](super::Flows)), as an update spans the reboot that installs it.

use std::time::Instant;

use ocpp_types::BoundedString;
use ocpp_types::v21::{self, AnyResponse, FirmwareStatusEnum, UploadLogStatusEnum};

use super::{ChargePoint, Event, LinkError, Pending};

/// A CSMS call waiting for the application's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AppCall {
    DataTransfer,
    UpdateFirmware { request_id: i32 },
    GetLog { request_id: i32 },
    CertificateSigned,
}

impl ChargePoint {
    /// Hands the CALL `id` to the application: it waits for an `answer_*`.
    pub(super) fn for_application(
        &mut self,
        kind: AppCall,
        id: String,
        event: impl FnOnce(String) -> Event,
    ) {
        self.app_calls.insert(id.clone(), kind);
        self.events.push_back(event(id));
    }

    /// Answers a call handed to the application; on a refusal (a response
    /// that does not validate, of another action) the call keeps waiting.
    fn answer_application(
        &mut self,
        id: &str,
        response: AnyResponse,
    ) -> Result<AppCall, LinkError> {
        let kind = *self.app_calls.get(id).ok_or(LinkError::UnknownCall)?;
        self.conn
            .as_mut()
            .ok_or(LinkError::Offline)?
            .respond(id, response)?;
        self.app_calls.remove(id);
        Ok(kind)
    }

    /// Answers the DataTransfer `id` (from [`Event::DataTransfer`]). An
    /// unknown or already answered id is ignored; a response the link
    /// refuses is reported ([`Event::Refused`]) and the CALL answered
    /// `InternalError`, so that it does not stay unanswered.
    pub fn answer_data_transfer(&mut self, id: &str, response: v21::DataTransferResponse) {
        match self.answer_application(id, response.into()) {
            Ok(_) | Err(LinkError::UnknownCall) => {}
            Err(e) => {
                self.app_calls.remove(id);
                self.respond_error(id, crate::error::ErrorCode::InternalError);
                self.events.push_back(Event::Refused {
                    reason: e.to_string(),
                });
            }
        }
    }

    /// Answers the UpdateFirmware `id` (from [`Event::InstallFirmware`]):
    /// `Accepted` (or `AcceptedCanceled`, L01.FR.24, when it replaces an
    /// update under way) makes its requestId the one
    /// [`firmware_status`](Self::firmware_status) reports under; `Rejected`,
    /// `InvalidCertificate` or `RevokedCertificate` leave the update under
    /// way, if any, as it was.
    pub fn answer_update_firmware(
        &mut self,
        id: &str,
        response: v21::UpdateFirmwareResponse,
    ) -> Result<(), LinkError> {
        let status = response.status;
        let kind = self.answer_application(id, response.into())?;
        if let AppCall::UpdateFirmware { request_id } = kind
            && matches!(
                status,
                v21::UpdateFirmwareStatusEnum::Accepted
                    | v21::UpdateFirmwareStatusEnum::AcceptedCanceled
            )
        {
            self.state.flows.firmware_request = Some(request_id);
            self.state.flows.firmware = None;
            self.changed();
        }
        Ok(())
    }

    /// Answers the GetLog `id` (from [`Event::UploadLogs`]): `Accepted` or
    /// `AcceptedCanceled` (N01.FR.12, an upload under way is cancelled)
    /// makes its requestId the one [`log_status`](Self::log_status) reports
    /// under; `Rejected` leaves an upload under way as it was.
    pub fn answer_get_log(
        &mut self,
        id: &str,
        response: v21::GetLogResponse,
    ) -> Result<(), LinkError> {
        let status = response.status;
        let kind = self.answer_application(id, response.into())?;
        if let AppCall::GetLog { request_id } = kind
            && matches!(
                status,
                v21::LogStatusEnum::Accepted | v21::LogStatusEnum::AcceptedCanceled
            )
        {
            self.state.flows.log_request = Some(request_id);
            self.state.flows.log = None;
            self.changed();
        }
        Ok(())
    }

    /// Answers the CertificateSigned `id` (from [`Event::CertificateSigned`]):
    /// `Accepted` once the chain is verified and stored, `Rejected` when it
    /// is invalid (the application then also raises the security event
    /// InvalidChargingStationCertificate).
    pub fn answer_certificate_signed(
        &mut self,
        id: &str,
        response: v21::CertificateSignedResponse,
    ) -> Result<(), LinkError> {
        self.answer_application(id, response.into()).map(|_| ())
    }

    /// Firmware progress (L01.FR.01): a FirmwareStatusNotification. Without
    /// `request_id` the accepted UpdateFirmware's is used; `Idle` goes out
    /// without one (L01.FR.20). The status is what a TriggerMessage reports
    /// while the update is under way.
    pub fn firmware_status(
        &mut self,
        now: Instant,
        status: FirmwareStatusEnum,
        request_id: Option<i32>,
    ) {
        let request_id = if status == FirmwareStatusEnum::Idle {
            None
        } else {
            request_id.or(self.state.flows.firmware_request)
        };
        self.state.flows.firmware = Some((status, request_id));
        self.changed();
        if self.can_send() {
            self.send_firmware_status(now, (status, request_id));
        }
        if status == FirmwareStatusEnum::Installed {
            self.raise_own(now, "FirmwareUpdated", None);
        }
    }

    /// Log upload progress (N01): a LogStatusNotification. Without
    /// `request_id` the accepted GetLog's is used; `Idle` goes out without
    /// one.
    pub fn log_status(
        &mut self,
        now: Instant,
        status: UploadLogStatusEnum,
        request_id: Option<i32>,
    ) {
        let request_id = if status == UploadLogStatusEnum::Idle {
            None
        } else {
            request_id.or(self.state.flows.log_request)
        };
        self.state.flows.log = Some((status, request_id));
        self.changed();
        if self.can_send() {
            self.send_log_status(now, (status, request_id));
        }
    }

    /// What a triggered FirmwareStatusNotification says: the last status
    /// while an update is under way, else `Idle` (F06.FR.16, L01.FR.25/26).
    pub(super) fn firmware_triggered(&self) -> (FirmwareStatusEnum, Option<i32>) {
        use FirmwareStatusEnum as F;
        match self.state.flows.firmware {
            Some(
                last @ (
                    F::Downloaded
                    | F::Downloading
                    | F::DownloadScheduled
                    | F::DownloadPaused
                    | F::Installing
                    | F::InstallRebooting
                    | F::InstallScheduled
                    | F::SignatureVerified,
                    _,
                ),
            ) => last,
            _ => (F::Idle, None),
        }
    }

    /// What a triggered LogStatusNotification says: `Uploading` while an
    /// upload is under way, else `Idle`.
    pub(super) fn log_triggered(&self) -> (UploadLogStatusEnum, Option<i32>) {
        match self.state.flows.log {
            Some(last @ (UploadLogStatusEnum::Uploading, _)) => last,
            _ => (UploadLogStatusEnum::Idle, None),
        }
    }

    pub(super) fn send_firmware_status(
        &mut self,
        now: Instant,
        (status, request_id): (FirmwareStatusEnum, Option<i32>),
    ) {
        let request = v21::FirmwareStatusNotificationRequest {
            custom_data: None,
            request_id,
            status,
            status_info: None,
        };
        self.call(now, request.into(), Pending::Other);
    }

    pub(super) fn send_log_status(
        &mut self,
        now: Instant,
        (status, request_id): (UploadLogStatusEnum, Option<i32>),
    ) {
        let request = v21::LogStatusNotificationRequest {
            custom_data: None,
            request_id,
            status,
            status_info: None,
        };
        self.call(now, request.into(), Pending::Other);
    }

    /// Sends the station's CSR for signing (A02/A03); the certificate comes
    /// back as [`Event::CertificateSigned`]. Refused (reported) when the
    /// CSR is longer than 5500 characters or the station is not registered.
    pub fn sign_certificate(
        &mut self,
        now: Instant,
        csr: &str,
        certificate_type: Option<v21::CertificateSigningUseEnum>,
    ) {
        let Ok(csr) = BoundedString::new(csr) else {
            self.events.push_back(Event::Refused {
                reason: "the CSR is longer than 5500 characters".to_owned(),
            });
            return;
        };
        if !self.can_send() {
            self.events.push_back(Event::Refused {
                reason: "SignCertificate needs an accepted, online station".to_owned(),
            });
            return;
        }
        let request = v21::SignCertificateRequest {
            certificate_type,
            csr,
            custom_data: None,
            hash_root_certificate: None,
            request_id: None,
        };
        self.call(now, request.into(), Pending::Other);
    }
}
