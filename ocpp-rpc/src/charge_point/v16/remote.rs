//! The CSMS's calls to the charge point: the registration gate, then one
//! handler per action. What this charge point does not implement is
//! answered `NotSupported`.

use std::time::Instant;

use ocpp_types::v16::{
    self, AnyRequest, AnyResponse, AvailabilityStatus, AvailabilityType,
    ChargingProfilePurposeType, ClearCacheStatus, DataTransferStatus, MessageTrigger,
    MessageTriggerEnum, Reason, RemoteStartStopStatus, ReservationStatus, ResetType,
    TriggerMessageStatus, UnlockStatus,
};

use super::{ChargePoint, Event, PendingCall, Registration, Reservation, Sent};
use crate::error::ErrorCode;

impl ChargePoint {
    fn respond(&mut self, id: &str, response: impl Into<AnyResponse>) {
        let Some(endpoint) = self.endpoint.as_mut() else {
            return;
        };
        if let Err(e) = endpoint.respond(id, response) {
            self.refused += 1;
            self.events
                .push_back(Event::Protocol(format!("response refused: {e}")));
            let _ = endpoint.respond_error(id, ErrorCode::InternalError, "");
        }
    }

    fn respond_error(&mut self, id: &str, code: ErrorCode, description: &str) {
        if let Some(endpoint) = self.endpoint.as_mut() {
            let _ = endpoint.respond_error(id, code, description);
        }
    }

    fn pending(&self, id: &str) -> PendingCall {
        PendingCall {
            id: id.to_owned(),
            connection: self.connection,
        }
    }

    /// A connector number from the wire, if it names a connector
    /// (`allow_zero`: also the charge point as a whole).
    fn wire_connector(&self, c: i32, allow_zero: bool) -> Option<u32> {
        let c = u32::try_from(c).ok()?;
        ((allow_zero || c > 0) && c <= self.config.connectors).then_some(c)
    }

    pub(super) fn on_request(&mut self, now: Instant, id: String, request: AnyRequest) {
        match self.registration {
            // Rejected: neither send nor answer until the retry.
            Registration::Rejected => return,
            Registration::Booting | Registration::Offline => {
                return self.respond_error(&id, ErrorCode::SecurityError, "not registered");
            }
            Registration::Pending => {
                if matches!(
                    request,
                    AnyRequest::RemoteStartTransaction(_) | AnyRequest::RemoteStopTransaction(_)
                ) {
                    return self.respond(
                        &id,
                        v16::RemoteStartTransactionResponse {
                            status: RemoteStartStopStatus::Rejected,
                        },
                    );
                }
            }
            Registration::Accepted => {}
        }
        match request {
            AnyRequest::RemoteStartTransaction(r) => self.remote_start(now, &id, *r),
            AnyRequest::RemoteStopTransaction(r) => self.remote_stop(now, &id, &r),
            AnyRequest::Reset(r) => self.reset(now, &id, r.kind),
            AnyRequest::ChangeAvailability(r) => self.change_availability(now, &id, &r),
            AnyRequest::UnlockConnector(r) => self.unlock(now, &id, r.connector_id),
            AnyRequest::GetConfiguration(r) => {
                // The key list may be limited (GetConfigurationMaxKeys); a
                // longer one breaks the field's occurrence constraint.
                let max = self.state.configuration.int("GetConfigurationMaxKeys");
                let asked = r.key.as_ref().map_or(0, Vec::len);
                if u64::try_from(asked).unwrap_or(u64::MAX) > max {
                    return self.respond_error(
                        &id,
                        ErrorCode::OccurrenceConstraintViolation,
                        "more keys than GetConfigurationMaxKeys",
                    );
                }
                let response = self.state.configuration.report(r.key.as_deref());
                self.respond(&id, response);
            }
            AnyRequest::ChangeConfiguration(r) => self.change_configuration(now, &id, &r),
            AnyRequest::SendLocalList(r) => {
                let cfg = &self.state.configuration;
                let status = if !cfg.bool("LocalAuthListEnabled") {
                    v16::UpdateStatus::NotSupported
                } else if r.local_authorization_list.as_ref().map_or(0, Vec::len)
                    > cfg.int("SendLocalListMaxLength") as usize
                {
                    v16::UpdateStatus::Failed
                } else {
                    let max = cfg.int("LocalAuthListMaxLength") as usize;
                    self.dirty = true;
                    self.state.local_list.apply(&r, max)
                };
                self.respond(&id, v16::SendLocalListResponse { status });
            }
            AnyRequest::GetLocalListVersion(_) => {
                let list_version = if !self.state.configuration.bool("LocalAuthListEnabled") {
                    -1
                } else if self.state.local_list.is_empty() {
                    0
                } else {
                    self.state.local_list.version
                };
                self.respond(&id, v16::GetLocalListVersionResponse { list_version });
            }
            AnyRequest::ClearCache(_) => {
                let status = if self.state.configuration.bool("AuthorizationCacheEnabled") {
                    self.state.cache.clear();
                    self.dirty = true;
                    ClearCacheStatus::Accepted
                } else {
                    ClearCacheStatus::Rejected
                };
                self.respond(&id, v16::ClearCacheResponse { status });
            }
            AnyRequest::TriggerMessage(r) => {
                let what = match r.requested_message {
                    MessageTrigger::BootNotification => Trigger::Boot,
                    MessageTrigger::DiagnosticsStatusNotification => Trigger::Diagnostics,
                    MessageTrigger::FirmwareStatusNotification => Trigger::Firmware,
                    MessageTrigger::Heartbeat => Trigger::Heartbeat,
                    MessageTrigger::MeterValues => Trigger::MeterValues,
                    MessageTrigger::StatusNotification => Trigger::Status,
                };
                let status = self.trigger(now, what, r.connector_id);
                self.respond(&id, v16::TriggerMessageResponse { status });
                self.send_triggered(now, status, what, r.connector_id);
            }
            AnyRequest::ExtendedTriggerMessage(r) => {
                let what = match r.requested_message {
                    MessageTriggerEnum::BootNotification => Trigger::Boot,
                    MessageTriggerEnum::LogStatusNotification => Trigger::Log,
                    MessageTriggerEnum::FirmwareStatusNotification => Trigger::SignedFirmware,
                    MessageTriggerEnum::Heartbeat => Trigger::Heartbeat,
                    MessageTriggerEnum::MeterValues => Trigger::MeterValues,
                    MessageTriggerEnum::SignChargePointCertificate => Trigger::Certificate,
                    MessageTriggerEnum::StatusNotification => Trigger::Status,
                };
                let status = match self.trigger(now, what, r.connector_id) {
                    TriggerMessageStatus::Accepted => v16::TriggerMessageStatusEnum::Accepted,
                    TriggerMessageStatus::Rejected => v16::TriggerMessageStatusEnum::Rejected,
                    TriggerMessageStatus::NotImplemented => {
                        v16::TriggerMessageStatusEnum::NotImplemented
                    }
                };
                self.respond(&id, v16::ExtendedTriggerMessageResponse { status });
                let plain = match status {
                    v16::TriggerMessageStatusEnum::Accepted => TriggerMessageStatus::Accepted,
                    _ => TriggerMessageStatus::Rejected,
                };
                self.send_triggered(now, plain, what, r.connector_id);
            }
            AnyRequest::ReserveNow(r) => self.reserve(now, &id, &r),
            AnyRequest::CancelReservation(r) => {
                let mut found = false;
                for c in self.state.connectors.iter_mut() {
                    if c.reservation
                        .as_ref()
                        .is_some_and(|x| x.id == r.reservation_id)
                    {
                        c.reservation = None;
                        found = true;
                    }
                }
                self.dirty |= found;
                let status = if found {
                    v16::CancelReservationStatus::Accepted
                } else {
                    v16::CancelReservationStatus::Rejected
                };
                self.respond(&id, v16::CancelReservationResponse { status });
            }
            AnyRequest::DataTransfer(r) => {
                if self
                    .config
                    .data_transfer_vendors
                    .iter()
                    .any(|v| v == r.vendor_id.as_str())
                {
                    let call = self.pending(&id);
                    self.events
                        .push_back(Event::DataTransfer { call, request: *r });
                } else {
                    self.respond(
                        &id,
                        v16::DataTransferResponse {
                            data: None,
                            status: DataTransferStatus::UnknownVendorId,
                        },
                    );
                }
            }
            AnyRequest::SetChargingProfile(r) => {
                let (response, outcome) = self.state.profiles.set_charging_profile_v16(&r);
                self.respond(&id, response);
                if outcome.is_ok() {
                    self.dirty = true;
                    self.emit_all_limits(now);
                }
            }
            AnyRequest::ClearChargingProfile(r) => {
                let response = self.state.profiles.clear_charging_profile_v16(&r);
                let cleared = response.status == v16::ClearChargingProfileStatus::Accepted;
                self.respond(&id, response);
                if cleared {
                    self.dirty = true;
                    self.emit_all_limits(now);
                }
            }
            AnyRequest::GetCompositeSchedule(r) => {
                let response = self
                    .state
                    .profiles
                    .get_composite_schedule_v16(&r, self.utc(now));
                self.respond(&id, response);
            }
            request
                if super::APPLICATION_ACTIONS.contains(&request.action())
                    && self.config.application_actions.contains(&request.action()) =>
            {
                let call = self.pending(&id);
                self.events.push_back(Event::Request { call, request });
            }
            _ => self.respond_error(
                &id,
                ErrorCode::NotSupported,
                "not supported by this charge point",
            ),
        }
    }

    fn emit_all_limits(&mut self, now: Instant) {
        for connector in 0..=self.config.connectors {
            self.emit_limit(now, connector);
        }
    }

    fn remote_start(&mut self, now: Instant, id: &str, r: v16::RemoteStartTransactionRequest) {
        let reject = |cp: &mut Self| {
            cp.respond(
                id,
                v16::RemoteStartTransactionResponse {
                    status: RemoteStartStopStatus::Rejected,
                },
            );
        };
        if let Some(p) = &r.charging_profile
            && (p.charging_profile_purpose != ChargingProfilePurposeType::TxProfile
                || p.transaction_id.is_some())
        {
            return reject(self);
        }
        let connector = match r.connector_id {
            Some(c) => match self.wire_connector(c, false) {
                Some(c) => c,
                None => return reject(self),
            },
            // The first connector that can start.
            None => match (1..=self.config.connectors).find(|&c| self.can_start(c)) {
                Some(c) => c,
                None => return reject(self),
            },
        };
        let utc = self.utc(now);
        let local = self.local_info(&r.id_tag, utc);
        if !self.can_start(connector)
            || !self.reservation_allows(connector, &r.id_tag, local.as_ref())
        {
            return reject(self);
        }
        self.respond(
            id,
            v16::RemoteStartTransactionResponse {
                status: RemoteStartStopStatus::Accepted,
            },
        );
        if let Some(slot) = self.remote_profiles.get_mut(connector as usize) {
            *slot = r.charging_profile;
        }
        if self.state.configuration.bool("AuthorizeRemoteTxRequests") {
            self.authorize_for_start(now, connector, &r.id_tag, local);
        } else {
            let parent = local.and_then(|i| i.parent_id_tag.map(String::from));
            self.authorized(now, connector, &r.id_tag, parent);
        }
    }

    fn remote_stop(&mut self, now: Instant, id: &str, r: &v16::RemoteStopTransactionRequest) {
        let found = (1..=self.config.connectors).find(|&c| {
            self.connector(c)
                .and_then(|c| c.transaction.as_ref())
                .and_then(|t| self.state.queue.transaction_id(t.local_id))
                == Some(r.transaction_id)
        });
        let status = if found.is_some() {
            RemoteStartStopStatus::Accepted
        } else {
            RemoteStartStopStatus::Rejected
        };
        self.respond(id, v16::RemoteStopTransactionResponse { status });
        if let Some(c) = found {
            self.end_transaction(now, c, Reason::Remote, None, true);
        }
    }

    fn reset(&mut self, now: Instant, id: &str, kind: ResetType) {
        self.respond(
            id,
            v16::ResetResponse {
                status: v16::ResetStatus::Accepted,
            },
        );
        let reason = match kind {
            ResetType::Hard => Reason::HardReset,
            ResetType::Soft => Reason::SoftReset,
        };
        for c in 1..=self.config.connectors {
            self.end_transaction(now, c, reason, None, true);
        }
        let info = format!("{kind:?} reset");
        self.raise_own(now, "ResetOrReboot", Some(&info));
        self.events.push_back(Event::Reboot(kind));
    }

    fn change_availability(&mut self, now: Instant, id: &str, r: &v16::ChangeAvailabilityRequest) {
        let Some(target) = self.wire_connector(r.connector_id, true) else {
            return self.respond(
                id,
                v16::ChangeAvailabilityResponse {
                    status: AvailabilityStatus::Rejected,
                },
            );
        };
        let inoperative = r.kind == AvailabilityType::Inoperative;
        let affected: Vec<u32> = if target == 0 {
            (0..=self.config.connectors).collect()
        } else {
            vec![target]
        };
        let mut scheduled = false;
        for c in affected {
            let Some(con) = self.connector_mut(c) else {
                continue;
            };
            if con.transaction.is_some() && inoperative && !con.inoperative {
                con.inoperative_scheduled = Some(true);
                scheduled = true;
            } else {
                con.inoperative = inoperative;
                con.inoperative_scheduled = None;
            }
        }
        self.dirty = true;
        let status = if scheduled {
            AvailabilityStatus::Scheduled
        } else {
            AvailabilityStatus::Accepted
        };
        self.respond(id, v16::ChangeAvailabilityResponse { status });
        if !scheduled {
            self.events.push_back(Event::AvailabilityChanged {
                connector: target,
                operative: !inoperative,
            });
        }
        self.refresh_statuses(now);
    }

    fn unlock(&mut self, now: Instant, id: &str, connector: i32) {
        let Some(c) = self.wire_connector(connector, false) else {
            return self.respond(
                id,
                v16::UnlockConnectorResponse {
                    status: UnlockStatus::NotSupported,
                },
            );
        };
        self.end_transaction(now, c, Reason::UnlockCommand, None, true);
        let call = self.pending(id);
        self.events
            .push_back(Event::UnlockConnector { call, connector: c });
    }

    fn change_configuration(
        &mut self,
        now: Instant,
        id: &str,
        r: &v16::ChangeConfigurationRequest,
    ) {
        let status = self.state.configuration.change(&r.key, &r.value);
        if matches!(
            status,
            v16::ConfigurationStatus::Accepted | v16::ConfigurationStatus::RebootRequired
        ) {
            self.dirty = true;
            match r.key.as_str() {
                "HeartbeatInterval" => self.reset_heartbeat(now),
                // Security parameters (no value in the event).
                "AuthorizationKey" | "SecurityProfile" => {
                    self.raise_own(now, "ReconfigurationOfSecurityParameters", Some(&r.key));
                }
                "ClockAlignedDataInterval" => {
                    let interval = self.state.configuration.int("ClockAlignedDataInterval");
                    self.aligned_next = super::meter::next_aligned(self.utc(now), interval);
                }
                _ => {}
            }
        }
        self.respond(id, v16::ChangeConfigurationResponse { status });
    }

    fn reserve(&mut self, now: Instant, id: &str, r: &v16::ReserveNowRequest) {
        let status = self.reserve_status(now, r);
        if status == ReservationStatus::Accepted {
            let Some(target) = self.wire_connector(r.connector_id, true) else {
                return;
            };
            for c in self.state.connectors.iter_mut() {
                if c.reservation
                    .as_ref()
                    .is_some_and(|x| x.id == r.reservation_id)
                {
                    c.reservation = None;
                }
            }
            if let Some(c) = self.connector_mut(target) {
                c.reservation = Some(Reservation {
                    id: r.reservation_id,
                    id_tag: r.id_tag.to_string(),
                    parent_id_tag: r.parent_id_tag.as_ref().map(|p| p.to_string()),
                    expiry: r.expiry_date,
                });
            }
            self.dirty = true;
        }
        self.respond(id, v16::ReserveNowResponse { status });
    }

    fn reserve_status(&self, now: Instant, r: &v16::ReserveNowRequest) -> ReservationStatus {
        let Some(target) = self.wire_connector(r.connector_id, true) else {
            return ReservationStatus::Rejected;
        };
        if target == 0
            && !self
                .state
                .configuration
                .bool("ReserveConnectorZeroSupported")
        {
            return ReservationStatus::Rejected;
        }
        if r.expiry_date <= self.utc(now) {
            return ReservationStatus::Rejected;
        }
        let Some(c) = self.connector(target) else {
            return ReservationStatus::Rejected;
        };
        let station = self.connector(0);
        if c.fault.is_some_and(|(_, w)| !w) {
            return ReservationStatus::Faulted;
        }
        if c.inoperative || station.is_some_and(|s| s.inoperative) {
            return ReservationStatus::Unavailable;
        }
        let replaces = c
            .reservation
            .as_ref()
            .is_some_and(|x| x.id == r.reservation_id);
        if !replaces && (c.transaction.is_some() || c.plugged || c.reservation.is_some()) {
            return ReservationStatus::Occupied;
        }
        if target == 0 {
            // Connector 0 keeps one connector free: another must be idle.
            let free = (1..=self.config.connectors).any(|n| {
                self.connector(n).is_some_and(|x| {
                    x.transaction.is_none() && x.reservation.is_none() && !x.plugged
                })
            });
            if !free {
                return ReservationStatus::Occupied;
            }
        }
        ReservationStatus::Accepted
    }

    fn trigger(
        &mut self,
        _now: Instant,
        what: Trigger,
        connector: Option<i32>,
    ) -> TriggerMessageStatus {
        // An irrelevant connectorId is ignored; a relevant one must exist.
        let relevant = matches!(what, Trigger::Status | Trigger::MeterValues);
        if relevant
            && let Some(c) = connector
            && self.wire_connector(c, true).is_none()
        {
            return TriggerMessageStatus::Rejected;
        }
        match what {
            Trigger::Boot if self.registration == Registration::Accepted => {
                TriggerMessageStatus::Rejected
            }
            Trigger::Certificate
                if !self
                    .config
                    .application_actions
                    .contains(&v16::Action::CertificateSigned) =>
            {
                TriggerMessageStatus::NotImplemented
            }
            _ => TriggerMessageStatus::Accepted,
        }
    }

    fn send_triggered(
        &mut self,
        now: Instant,
        status: TriggerMessageStatus,
        what: Trigger,
        connector: Option<i32>,
    ) {
        if status != TriggerMessageStatus::Accepted {
            return;
        }
        let connector = connector.and_then(|c| self.wire_connector(c, true));
        match what {
            Trigger::Boot => {
                let request = self.config.boot.clone();
                self.call_unchecked(now, request.into(), Sent::Boot);
            }
            Trigger::Heartbeat => {
                self.call_triggered(now, v16::HeartbeatRequest {}, Sent::Heartbeat);
            }
            Trigger::Status => {
                let all: Vec<u32> = match connector {
                    Some(c) => vec![c],
                    None => (0..=self.config.connectors).collect(),
                };
                for c in all {
                    if let Some(current) = self.compute_status(c) {
                        self.send_status(now, c, current, true);
                    }
                }
            }
            Trigger::MeterValues => self.send_triggered_meter_values(now, connector),
            Trigger::Diagnostics => {
                // Idle unless an upload is under way.
                let status = match self.flows.diagnostics {
                    Some(s @ v16::DiagnosticsStatus::Uploading) => s,
                    _ => v16::DiagnosticsStatus::Idle,
                };
                let request = v16::DiagnosticsStatusNotificationRequest { status };
                self.call_triggered(now, request, Sent::Other);
            }
            Trigger::Firmware => {
                use v16::FirmwareStatus as F;
                let status = match self.flows.firmware {
                    Some(s @ (F::Downloading | F::Downloaded | F::Installing)) => s,
                    _ => F::Idle,
                };
                let request = v16::FirmwareStatusNotificationRequest { status };
                self.call_triggered(now, request, Sent::Other);
            }
            Trigger::SignedFirmware => {
                use v16::FirmwareStatusEnum as F;
                let (status, request_id) = match self.flows.signed_firmware {
                    Some((
                        s @ (F::Downloading
                        | F::Downloaded
                        | F::DownloadScheduled
                        | F::DownloadPaused
                        | F::SignatureVerified
                        | F::InstallScheduled
                        | F::InstallRebooting
                        | F::Installing),
                        id,
                    )) => (s, id),
                    _ => (F::Idle, None),
                };
                let request = v16::SignedFirmwareStatusNotificationRequest { request_id, status };
                self.call_triggered(now, request, Sent::Other);
            }
            Trigger::Log => {
                let (status, request_id) = match self.flows.log {
                    Some((s @ v16::UploadLogStatusEnum::Uploading, id)) => (s, id),
                    _ => (v16::UploadLogStatusEnum::Idle, None),
                };
                let request = v16::LogStatusNotificationRequest { request_id, status };
                self.call_triggered(now, request, Sent::Other);
            }
            Trigger::Certificate => self.events.push_back(Event::SignCertificate),
        }
    }
}

/// A message TriggerMessage / ExtendedTriggerMessage can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Boot,
    Diagnostics,
    Firmware,
    SignedFirmware,
    Log,
    Heartbeat,
    MeterValues,
    Status,
    Certificate,
}
