//! The CSMS's CALLs: the call gate, Get/SetVariables (B05/B06), remote
//! commands (B11–B13, F, G, H), local list and cache (C, D) and smart
//! charging (K). Reports are in `report`, the calls the application
//! answers (firmware, logs, certificates, DataTransfer) in `flows`.

use std::time::Instant;

use ocpp_types::BoundedString;
use ocpp_types::v21::{self, AnyRequest, AnyResponse, AttributeEnum, MutabilityEnum};

use super::device_model::Lookup;
use super::flows::AppCall;
use super::state::Reservation;
use super::transactions::token_key;
use super::{ChargePoint, Event, Pending, Registration, status_info};
use crate::error::ErrorCode;

impl ChargePoint {
    pub(super) fn on_request(&mut self, now: Instant, id: String, request: AnyRequest) {
        match self.registration {
            // B02/B03: nothing but the boot before Accepted, except what
            // Pending allows.
            Registration::Unknown | Registration::Rejected => {
                self.respond_error(&id, ErrorCode::SecurityError);
                return;
            }
            Registration::Pending | Registration::Accepted => {}
        }
        let pending = self.registration == Registration::Pending;
        // B06.FR.16 / B05: more items than ItemsPerMessage is a cardinality error.
        let items = match &request {
            AnyRequest::GetVariables(r) => Some((r.get_variable_data.len(), "GetVariables")),
            AnyRequest::SetVariables(r) => Some((r.set_variable_data.len(), "SetVariables")),
            // B08.FR.17.
            AnyRequest::GetReport(r) => Some((
                r.component_variable.as_ref().map_or(0, Vec::len),
                "GetReport",
            )),
            // N04.FR.09, N06.FR.06.
            AnyRequest::SetVariableMonitoring(r) => {
                Some((r.set_monitoring_data.len(), "SetVariableMonitoring"))
            }
            AnyRequest::ClearVariableMonitoring(r) => Some((r.id.len(), "ClearVariableMonitoring")),
            _ => None,
        };
        if let Some((count, action)) = items {
            let controller = if action.ends_with("Monitoring") {
                "MonitoringCtrlr"
            } else {
                "DeviceDataCtrlr"
            };
            let limit = self.var_int(&format!("{controller}/ItemsPerMessage[{action}]"));
            if i64::try_from(count).unwrap_or(i64::MAX) > limit {
                self.respond_error(&id, ErrorCode::OccurrenceConstraintViolation);
                return;
            }
        }
        let response: AnyResponse = match request {
            AnyRequest::GetVariables(r) => self.get_variables(now, &id, &r).into(),
            AnyRequest::SetVariables(r) => self.set_variables(now, &r).into(),
            AnyRequest::GetBaseReport(r) => {
                return self.get_base_report(now, &id, &r);
            }
            AnyRequest::GetReport(r) => return self.get_report(now, &id, &r),
            AnyRequest::SetVariableMonitoring(r) => self.set_variable_monitoring(now, &r).into(),
            AnyRequest::ClearVariableMonitoring(r) => self.clear_variable_monitoring(&r).into(),
            AnyRequest::GetMonitoringReport(r) => {
                self.get_monitoring_report(now, &id, &r);
                return self.report_status(now);
            }
            AnyRequest::SetMonitoringBase(r) => self.set_monitoring_base(&r).into(),
            AnyRequest::SetMonitoringLevel(r) => self.set_monitoring_level(&r).into(),
            AnyRequest::RequestStartTransaction(r) => {
                if pending {
                    reject_start("NotAccepted").into()
                } else {
                    self.request_start(now, *r).into()
                }
            }
            AnyRequest::RequestStopTransaction(r) => {
                let status = if !pending && self.request_stop(now, &r) {
                    v21::RequestStartStopStatusEnum::Accepted
                } else {
                    v21::RequestStartStopStatusEnum::Rejected
                };
                v21::RequestStopTransactionResponse {
                    custom_data: None,
                    status,
                    status_info: None,
                }
                .into()
            }
            AnyRequest::Reset(r) => return self.reset(now, &id, &r),
            AnyRequest::ChangeAvailability(r) => return self.change_availability(now, &id, &r),
            AnyRequest::UnlockConnector(r) => match self.unlock(&id, &r) {
                Some(response) => response.into(),
                None => return,
            },
            AnyRequest::TriggerMessage(r) => return self.trigger(now, &id, &r),
            AnyRequest::DataTransfer(r) => {
                return self.for_application(AppCall::DataTransfer, id, |id| Event::DataTransfer {
                    id,
                    request: *r,
                });
            }
            AnyRequest::ReserveNow(r) => self.reserve(now, &r).into(),
            AnyRequest::CancelReservation(r) => {
                let status = if self.state.reservations.remove(&r.reservation_id).is_some() {
                    self.changed();
                    v21::CancelReservationStatusEnum::Accepted
                } else {
                    v21::CancelReservationStatusEnum::Rejected
                };
                self.respond(
                    &id,
                    v21::CancelReservationResponse {
                        custom_data: None,
                        status,
                        status_info: None,
                    }
                    .into(),
                );
                self.report_status(now);
                return;
            }
            AnyRequest::SendLocalList(r) => self.send_local_list(&r).into(),
            AnyRequest::GetLocalListVersion(_) => v21::GetLocalListVersionResponse {
                custom_data: None,
                version_number: self.state.local_list_version,
            }
            .into(),
            AnyRequest::ClearCache(_) => {
                let status = if self.var_bool("AuthCacheCtrlr/Enabled") {
                    self.state.auth_cache.clear();
                    self.changed();
                    v21::ClearCacheStatusEnum::Accepted
                } else {
                    v21::ClearCacheStatusEnum::Rejected
                };
                v21::ClearCacheResponse {
                    custom_data: None,
                    status,
                    status_info: None,
                }
                .into()
            }
            AnyRequest::GetTransactionStatus(r) => {
                let wanted = r.transaction_id.as_ref().map(|t| t.as_str().to_owned());
                let messages_in_queue = self.state.queue.iter().any(|q| {
                    wanted
                        .as_deref()
                        .is_none_or(|w| q.request.transaction_info.transaction_id.as_str() == w)
                });
                let ongoing_indicator = wanted.as_deref().map(|w| {
                    self.state
                        .evses
                        .values()
                        .any(|e| e.transaction.as_ref().is_some_and(|t| t.id == w))
                });
                v21::GetTransactionStatusResponse {
                    custom_data: None,
                    messages_in_queue,
                    ongoing_indicator,
                }
                .into()
            }
            AnyRequest::SetChargingProfile(r) => {
                let (response, outcome) = self.state.profiles.set_charging_profile_v21(&r);
                if outcome.is_ok() {
                    self.changed();
                    self.respond(&id, response.into());
                    self.limits_changed(now, r.evse_id);
                    return;
                }
                response.into()
            }
            AnyRequest::ClearChargingProfile(r) => {
                let response = self.state.profiles.clear_charging_profile_v21(&r);
                if response.status == v21::ClearChargingProfileStatusEnum::Accepted {
                    self.changed();
                    self.respond(&id, response.into());
                    self.limits_changed(now, 0);
                    return;
                }
                response.into()
            }
            AnyRequest::GetChargingProfiles(r) => {
                let (response, reports) = self.state.profiles.get_charging_profiles_v21(&r);
                self.respond(&id, response.into());
                for report in reports {
                    self.call(now, report.into(), Pending::Other);
                }
                return;
            }
            AnyRequest::GetCompositeSchedule(r) => self
                .state
                .profiles
                .get_composite_schedule_v21(&r, self.clock.at(now))
                .into(),
            AnyRequest::UpdateFirmware(request) => {
                let kind = AppCall::UpdateFirmware {
                    request_id: request.request_id,
                };
                return self.for_application(kind, id, |id| Event::InstallFirmware { id, request });
            }
            AnyRequest::GetLog(request) => {
                let kind = AppCall::GetLog {
                    request_id: request.request_id,
                };
                return self.for_application(kind, id, |id| Event::UploadLogs { id, request });
            }
            AnyRequest::CertificateSigned(request) => {
                return self.for_application(AppCall::CertificateSigned, id, |id| {
                    Event::CertificateSigned { id, request }
                });
            }
            _ => {
                self.respond_error(&id, ErrorCode::NotSupported);
                return;
            }
        };
        self.respond(&id, response);
        // Reservations and similar change a connector's status.
        self.report_status(now);
    }

    // ----- answers the application gives -----

    /// The reset of `evse` asked by [`Event::Reboot`] is done: the
    /// transactions a Reset ImmediateAndResume kept there resume (B13.FR.12).
    pub fn reset_done(&mut self, now: Instant, evse: i32) {
        self.resume_transactions(now, Some(evse));
        self.report_status(now);
    }

    /// The connector unlock asked by [`Event::UnlockConnector`] ended.
    pub fn connector_unlocked(&mut self, _now: Instant, evse: i32, connector: i32, unlocked: bool) {
        if let Some(id) = self.unlocks.remove(&(evse, connector)) {
            let status = if unlocked {
                v21::UnlockStatusEnum::Unlocked
            } else {
                v21::UnlockStatusEnum::UnlockFailed
            };
            self.respond(
                &id,
                v21::UnlockConnectorResponse {
                    custom_data: None,
                    status,
                    status_info: None,
                }
                .into(),
            );
        }
    }

    /// A fault on `component` (`variable`, e.g. `Problem`) was raised or
    /// cleared: NotifyEvent, and a Faulted connector or EVSE.
    pub fn fault(&mut self, now: Instant, component: v21::Component, variable: &str, raised: bool) {
        if let Some(evse) = component.evse.as_ref().map(|e| e.id) {
            if let Some(e) = self.state.evses.get_mut(&evse) {
                e.faulted = raised;
                self.changed();
            }
        }
        self.state.event_counter = self.state.event_counter.wrapping_add(1).max(0);
        let event_id = self.state.event_counter;
        self.changed();
        if self.can_send() {
            let request = v21::NotifyEventRequest {
                custom_data: None,
                event_data: vec![v21::EventData {
                    actual_value: BoundedString::new_unchecked(if raised {
                        "true"
                    } else {
                        "false"
                    }),
                    cause: None,
                    cleared: (!raised).then_some(true),
                    component,
                    custom_data: None,
                    event_id,
                    event_notification_type: v21::EventNotificationEnum::HardWiredNotification,
                    // 2.1 only: never on a 2.0.1 wire.
                    severity: None,
                    tech_code: None,
                    tech_info: None,
                    timestamp: self.clock.at(now),
                    transaction_id: None,
                    trigger: v21::EventTriggerEnum::Alerting,
                    variable: v21::Variable {
                        custom_data: None,
                        instance: None,
                        name: BoundedString::new(variable)
                            .unwrap_or_else(|_| BoundedString::new_unchecked("Problem")),
                    },
                    variable_monitoring_id: None,
                }],
                generated_at: self.clock.at(now),
                seq_no: 0,
                tbc: None,
            };
            self.call(now, request.into(), Pending::Other);
        }
        self.report_status(now);
    }

    // ----- device model -----

    fn get_variables(
        &mut self,
        now: Instant,
        id: &str,
        r: &v21::GetVariablesRequest,
    ) -> v21::GetVariablesResponse {
        let _ = id;
        let results = r
            .get_variable_data
            .iter()
            .map(|d| {
                let (status, value) = match self.model.find(&d.component, &d.variable) {
                    Err(Lookup::UnknownComponent) => {
                        (v21::GetVariableStatusEnum::UnknownComponent, None)
                    }
                    Err(Lookup::UnknownVariable) => {
                        (v21::GetVariableStatusEnum::UnknownVariable, None)
                    }
                    Ok(_) if d.attribute_type.is_some_and(|a| a != AttributeEnum::Actual) => {
                        (v21::GetVariableStatusEnum::NotSupportedAttributeType, None)
                    }
                    Ok(def) if def.mutability == MutabilityEnum::WriteOnly => {
                        (v21::GetVariableStatusEnum::Rejected, None)
                    }
                    Ok(def) => (
                        v21::GetVariableStatusEnum::Accepted,
                        Some(self.read_value(def, now)),
                    ),
                };
                v21::GetVariableResult {
                    attribute_status: status,
                    attribute_status_info: None,
                    attribute_type: d.attribute_type,
                    attribute_value: value.map(BoundedString::new_unchecked),
                    component: d.component.clone(),
                    custom_data: None,
                    variable: d.variable.clone(),
                }
            })
            .collect();
        v21::GetVariablesResponse {
            custom_data: None,
            get_variable_result: results,
        }
    }

    fn set_variables(
        &mut self,
        now: Instant,
        r: &v21::SetVariablesRequest,
    ) -> v21::SetVariablesResponse {
        let mut results = Vec::new();
        for d in &r.set_variable_data {
            let (status, reason) = match self.model.find(&d.component, &d.variable) {
                Err(Lookup::UnknownComponent) => {
                    (v21::SetVariableStatusEnum::UnknownComponent, None)
                }
                Err(Lookup::UnknownVariable) => (v21::SetVariableStatusEnum::UnknownVariable, None),
                Ok(_) if d.attribute_type.is_some_and(|a| a != AttributeEnum::Actual) => {
                    (v21::SetVariableStatusEnum::NotSupportedAttributeType, None)
                }
                Ok(def) if def.mutability == MutabilityEnum::ReadOnly => {
                    (v21::SetVariableStatusEnum::Rejected, Some("ReadOnly"))
                }
                Ok(def) => match def.validate(d.attribute_value.as_str()) {
                    Err(_) => (v21::SetVariableStatusEnum::Rejected, Some("InvalidValue")),
                    Ok(()) => {
                        let key = def.key();
                        let reboot = def.reboot_required;
                        self.state
                            .variables
                            .insert(key.clone(), d.attribute_value.as_str().to_owned());
                        self.after_variable_change(&key, now);
                        self.changed();
                        if reboot {
                            (v21::SetVariableStatusEnum::RebootRequired, None)
                        } else {
                            (v21::SetVariableStatusEnum::Accepted, None)
                        }
                    }
                },
            };
            results.push(v21::SetVariableResult {
                attribute_status: status,
                attribute_status_info: reason.and_then(status_info),
                attribute_type: d.attribute_type,
                component: d.component.clone(),
                custom_data: None,
                variable: d.variable.clone(),
            });
        }
        v21::SetVariablesResponse {
            custom_data: None,
            set_variable_result: results,
        }
    }

    // ----- remote commands -----

    fn request_start(
        &mut self,
        now: Instant,
        r: v21::RequestStartTransactionRequest,
    ) -> v21::RequestStartTransactionResponse {
        let evse = match r.evse_id {
            Some(e) => e,
            None => match (1..=self.evse_count()).find(|&e| self.startable(e, &r.id_token)) {
                Some(e) => e,
                None => return reject_start("NoEvse"),
            },
        };
        if !self.state.evses.contains_key(&evse) {
            return reject_start("UnknownEvse");
        }
        if !self.startable(evse, &r.id_token) {
            return reject_start("NotAvailable");
        }
        if let Some(p) = &r.charging_profile {
            if p.charging_profile_purpose != v21::ChargingProfilePurposeEnum::TxProfile {
                return reject_start("InvalidProfile");
            }
        }
        let existing = self
            .state
            .evses
            .get(&evse)
            .and_then(|e| e.transaction.as_ref())
            .map(|t| BoundedString::new_unchecked(t.id.as_str()));
        if let Some(e) = self.state.evses.get_mut(&evse) {
            e.remote_start_id = Some(r.remote_start_id);
        }
        self.changed();
        let token = r.id_token.clone();
        if self.var_bool("AuthCtrlr/AuthorizeRemoteStart") {
            self.present_id_token(now, evse, token);
        } else {
            self.authorization_granted(now, evse, token);
        }
        if let Some(profile) = r.charging_profile {
            if let Some(e) = self.state.evses.get_mut(&evse) {
                e.pending_profile = Some(profile);
            }
            self.install_pending_profile(now, evse);
        }
        v21::RequestStartTransactionResponse {
            custom_data: None,
            status: v21::RequestStartStopStatusEnum::Accepted,
            status_info: None,
            transaction_id: existing,
        }
    }

    fn authorization_granted(&mut self, now: Instant, evse: i32, token: v21::IdToken) {
        let status = v21::AuthorizationStatusEnum::Accepted;
        // The same path as a local Accepted.
        self.events.push_back(Event::Authorization {
            evse,
            id_token: token.id_token.as_str().to_owned(),
            status,
        });
        if let Some(e) = self.state.evses.get_mut(&evse) {
            if e.authorized.is_none() {
                e.authorized = Some(token);
            }
        }
        self.changed();
        self.await_cable(now, evse);
        self.evaluate(
            now,
            evse,
            v21::TriggerReasonEnum::RemoteStart,
            v21::ReasonEnum::Other,
        );
        self.report_status(now);
    }

    /// F01.FR.xx: not Unavailable/Faulted, not authorized, not reserved for another.
    fn startable(&self, evse: i32, token: &v21::IdToken) -> bool {
        let Some(e) = self.state.evses.get(&evse) else {
            return false;
        };
        let status = self.connector_status(evse, e.plugged.unwrap_or(1));
        if matches!(
            status,
            v21::ConnectorStatusEnum::Unavailable | v21::ConnectorStatusEnum::Faulted
        ) {
            return false;
        }
        if e.authorized.is_some() {
            return false;
        }
        !self
            .state
            .reservations
            .values()
            .any(|r| r.evse == evse && token_key(&r.id_token) != token_key(token))
    }

    fn request_stop(&mut self, now: Instant, r: &v21::RequestStopTransactionRequest) -> bool {
        let wanted = r.transaction_id.as_str();
        let found = self
            .state
            .evses
            .iter()
            .find(|(_, e)| e.transaction.as_ref().is_some_and(|t| t.id == wanted))
            .map(|(&evse, _)| evse);
        let Some(evse) = found else {
            return false;
        };
        if let Some(e) = self.state.evses.get_mut(&evse) {
            e.authorized = None;
        }
        self.end_transaction(
            now,
            evse,
            v21::TriggerReasonEnum::RemoteStop,
            v21::ReasonEnum::Remote,
            None,
        );
        self.report_status(now);
        true
    }

    fn reset(&mut self, now: Instant, id: &str, r: &v21::ResetRequest) {
        let evses: Vec<i32> = match r.evse_id {
            Some(e) if self.state.evses.contains_key(&e) => vec![e],
            Some(0) | None => (1..=self.evse_count()).collect(),
            Some(_) => {
                let response = v21::ResetResponse {
                    custom_data: None,
                    status: v21::ResetStatusEnum::Rejected,
                    status_info: status_info("UnknownEvse"),
                };
                return self.respond(id, response.into());
            }
        };
        let busy: Vec<i32> = evses
            .iter()
            .copied()
            .filter(|e| {
                self.state
                    .evses
                    .get(e)
                    .is_some_and(|s| s.transaction.is_some())
            })
            .collect();
        let resume = r.kind == v21::ResetEnum::ImmediateAndResume;
        let status = match r.kind {
            v21::ResetEnum::OnIdle if !busy.is_empty() => v21::ResetStatusEnum::Scheduled,
            v21::ResetEnum::OnIdle | v21::ResetEnum::Immediate => v21::ResetStatusEnum::Accepted,
            // B13.FR.01: resumption is supported only with a timeout set.
            v21::ResetEnum::ImmediateAndResume
                if self.var_int("TxCtrlr/TxResumptionTimeout") > 0 =>
            {
                v21::ResetStatusEnum::Accepted
            }
            v21::ResetEnum::ImmediateAndResume => v21::ResetStatusEnum::Rejected,
        };
        self.respond(
            id,
            v21::ResetResponse {
                custom_data: None,
                status,
                status_info: None,
            }
            .into(),
        );
        match status {
            v21::ResetStatusEnum::Scheduled => self.reset_scheduled = true,
            v21::ResetStatusEnum::Accepted if resume => {
                self.suspend_for_reset(now, &busy);
                let evse = r.evse_id.filter(|&e| e > 0);
                self.reboot(now, evse);
            }
            v21::ResetStatusEnum::Accepted => {
                for evse in busy {
                    if let Some(e) = self.state.evses.get_mut(&evse) {
                        e.authorized = None;
                    }
                    self.end_transaction(
                        now,
                        evse,
                        v21::TriggerReasonEnum::ResetCommand,
                        v21::ReasonEnum::ImmediateReset,
                        None,
                    );
                }
                let evse = r.evse_id.filter(|&e| e > 0);
                self.reboot(now, evse);
            }
            _ => {}
        }
    }

    fn change_availability(&mut self, now: Instant, id: &str, r: &v21::ChangeAvailabilityRequest) {
        let (evse, connector) = match &r.evse {
            None => (0, 0),
            Some(e) => (e.id, e.connector_id.unwrap_or(0)),
        };
        let known = evse == 0 && connector == 0
            || (evse >= 1
                && evse <= self.evse_count()
                && connector >= 0
                && connector <= self.connectors_of(evse));
        let operative = r.operational_status == v21::OperationalStatusEnum::Operative;
        let status = if !known {
            v21::ChangeAvailabilityStatusEnum::Rejected
        } else {
            let affected: Vec<i32> = if evse == 0 {
                (1..=self.evse_count()).collect()
            } else {
                vec![evse]
            };
            let busy = affected.iter().any(|e| {
                self.state
                    .evses
                    .get(e)
                    .is_some_and(|s| s.transaction.is_some())
            });
            if !operative && busy {
                self.state
                    .scheduled_availability
                    .push(((evse, connector), operative));
                v21::ChangeAvailabilityStatusEnum::Scheduled
            } else {
                self.set_operative(evse, connector, operative);
                v21::ChangeAvailabilityStatusEnum::Accepted
            }
        };
        self.respond(
            id,
            v21::ChangeAvailabilityResponse {
                custom_data: None,
                status,
                status_info: None,
            }
            .into(),
        );
        self.changed();
        self.report_status(now);
    }

    fn unlock(
        &mut self,
        id: &str,
        r: &v21::UnlockConnectorRequest,
    ) -> Option<v21::UnlockConnectorResponse> {
        let respond = |status| {
            Some(v21::UnlockConnectorResponse {
                custom_data: None,
                status,
                status_info: None,
            })
        };
        if r.connector_id < 1 || r.connector_id > self.connectors_of(r.evse_id) {
            return respond(v21::UnlockStatusEnum::UnknownConnector);
        }
        let authorized_tx = self
            .state
            .evses
            .get(&r.evse_id)
            .is_some_and(|e| e.transaction.is_some() && e.authorized.is_some());
        if authorized_tx {
            return respond(v21::UnlockStatusEnum::OngoingAuthorizedTransaction);
        }
        self.unlocks
            .insert((r.evse_id, r.connector_id), id.to_owned());
        self.events.push_back(Event::UnlockConnector {
            evse: r.evse_id,
            connector: r.connector_id,
        });
        None
    }

    fn trigger(&mut self, now: Instant, id: &str, r: &v21::TriggerMessageRequest) {
        use v21::MessageTriggerEnum as M;
        let evse = r.evse.as_ref().map(|e| e.id);
        let status = match r.requested_message {
            M::BootNotification if self.registration == Registration::Accepted => {
                v21::TriggerMessageStatusEnum::Rejected
            }
            M::StatusNotification if r.evse.as_ref().is_none_or(|e| e.connector_id.is_none()) => {
                v21::TriggerMessageStatusEnum::Rejected
            }
            M::TransactionEvent
                if evse.is_some_and(|e| {
                    self.state
                        .evses
                        .get(&e)
                        .is_none_or(|s| s.transaction.is_none())
                }) =>
            {
                v21::TriggerMessageStatusEnum::Rejected
            }
            M::BootNotification
            | M::Heartbeat
            | M::StatusNotification
            | M::MeterValues
            | M::TransactionEvent
            | M::FirmwareStatusNotification
            | M::LogStatusNotification => v21::TriggerMessageStatusEnum::Accepted,
            _ => v21::TriggerMessageStatusEnum::NotImplemented,
        };
        self.respond(
            id,
            v21::TriggerMessageResponse {
                custom_data: None,
                status,
                status_info: None,
            }
            .into(),
        );
        if status != v21::TriggerMessageStatusEnum::Accepted {
            return;
        }
        let evses: Vec<i32> = match evse {
            Some(e) => vec![e],
            None => (1..=self.evse_count()).collect(),
        };
        match r.requested_message {
            M::BootNotification => self.send_boot(now),
            M::Heartbeat => self.send_heartbeat(now),
            M::StatusNotification => {
                if let Some(e) = &r.evse {
                    let connector = e.connector_id.unwrap_or(1);
                    let status = self.connector_status(e.id, connector);
                    self.reported.insert((e.id, connector), status);
                    let request = v21::StatusNotificationRequest {
                        connector_id: connector,
                        connector_status: status,
                        custom_data: None,
                        evse_id: e.id,
                        timestamp: self.clock.at(now),
                    };
                    self.call(now, request.into(), Pending::Other);
                }
            }
            M::MeterValues => {
                let measurands = self.var_list("AlignedDataCtrlr/Measurands");
                for e in evses {
                    if let Some(mv) =
                        self.sample(e, &measurands, v21::ReadingContextEnum::Trigger, now)
                    {
                        let request = v21::MeterValuesRequest {
                            custom_data: None,
                            evse_id: e,
                            meter_value: vec![mv],
                        };
                        self.call(now, request.into(), Pending::Other);
                    }
                }
            }
            M::TransactionEvent => {
                for e in evses {
                    if self
                        .state
                        .evses
                        .get(&e)
                        .is_some_and(|s| s.transaction.is_some())
                    {
                        self.triggered_transaction_event(now, e);
                    }
                }
            }
            M::FirmwareStatusNotification => {
                self.send_firmware_status(now, self.firmware_triggered())
            }
            M::LogStatusNotification => self.send_log_status(now, self.log_triggered()),
            _ => {}
        }
    }

    fn reserve(&mut self, now: Instant, r: &v21::ReserveNowRequest) -> v21::ReserveNowResponse {
        let respond = |status| v21::ReserveNowResponse {
            custom_data: None,
            status,
            status_info: None,
        };
        // NonEvseSpecific is false: a reservation names its EVSE.
        let Some(evse) = r.evse_id.filter(|e| self.state.evses.contains_key(e)) else {
            return respond(v21::ReserveNowStatusEnum::Rejected);
        };
        let status = self.connector_status(evse, 1);
        let busy = self
            .state
            .evses
            .get(&evse)
            .is_some_and(|e| e.plugged.is_some() || e.transaction.is_some());
        let other = self
            .state
            .reservations
            .iter()
            .any(|(&id, res)| res.evse == evse && id != r.id);
        match status {
            v21::ConnectorStatusEnum::Faulted => {
                return respond(v21::ReserveNowStatusEnum::Faulted);
            }
            v21::ConnectorStatusEnum::Unavailable => {
                return respond(v21::ReserveNowStatusEnum::Unavailable);
            }
            _ if busy || other => return respond(v21::ReserveNowStatusEnum::Occupied),
            _ => {}
        }
        self.state.reservations.insert(
            r.id,
            Reservation {
                evse,
                id_token: r.id_token.clone(),
                group_id_token: r.group_id_token.clone(),
                expires: r.expiry_date_time,
            },
        );
        self.changed();
        let _ = now;
        respond(v21::ReserveNowStatusEnum::Accepted)
    }

    fn send_local_list(&mut self, r: &v21::SendLocalListRequest) -> v21::SendLocalListResponse {
        let respond = |status| v21::SendLocalListResponse {
            custom_data: None,
            status,
            status_info: None,
        };
        if !self.var_bool("LocalAuthListCtrlr/Enabled") || r.version_number <= 0 {
            return respond(v21::SendLocalListStatusEnum::Failed);
        }
        let entries = r.local_authorization_list.as_deref().unwrap_or_default();
        let mut list = match r.update_type {
            v21::UpdateEnum::Full => Default::default(),
            v21::UpdateEnum::Differential => {
                if r.version_number <= self.state.local_list_version {
                    return respond(v21::SendLocalListStatusEnum::VersionMismatch);
                }
                self.state.local_list.clone()
            }
        };
        for entry in entries {
            let key = token_key(&entry.id_token);
            match &entry.id_token_info {
                Some(info) => {
                    list.insert(key, info.clone());
                }
                None => {
                    list.remove(&key);
                }
            }
        }
        let capacity = self
            .model
            .get("LocalAuthListCtrlr/Entries")
            .and_then(|d| d.max)
            .and_then(|m| usize::try_from(m.mantissa()).ok())
            .unwrap_or(usize::MAX);
        if list.len() > capacity {
            return respond(v21::SendLocalListStatusEnum::Failed);
        }
        self.state.local_list = list;
        self.state.local_list_version = r.version_number;
        self.changed();
        respond(v21::SendLocalListStatusEnum::Accepted)
    }

    /// Installs RequestStartTransaction's TxProfile once the transaction
    /// runs, with its id (F01.FR.08/09).
    pub(super) fn install_pending_profile(&mut self, now: Instant, evse: i32) {
        let Some(tx) = self.state.profiles.transaction(evse).map(|t| t.id.clone()) else {
            return;
        };
        let Some(mut profile) = self
            .state
            .evses
            .get_mut(&evse)
            .and_then(|e| e.pending_profile.take())
        else {
            return;
        };
        profile.transaction_id = BoundedString::new(tx).ok();
        let request = v21::SetChargingProfileRequest {
            charging_profile: profile,
            custom_data: None,
            evse_id: evse,
        };
        self.changed();
        if self
            .state
            .profiles
            .set_charging_profile_v21(&request)
            .1
            .is_ok()
        {
            self.limits_changed(now, evse);
        }
    }

    fn limits_changed(&mut self, now: Instant, evse: i32) {
        if evse == 0 {
            for e in 0..=self.evse_count() {
                self.apply_limit(now, e);
            }
        } else {
            self.apply_limit(now, evse);
        }
    }
}

fn reject_start(reason: &str) -> v21::RequestStartTransactionResponse {
    v21::RequestStartTransactionResponse {
        custom_data: None,
        status: v21::RequestStartStopStatusEnum::Rejected,
        status_info: status_info(reason),
        transaction_id: None,
    }
}
