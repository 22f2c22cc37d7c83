//! Variable monitoring (N02–N07): monitors set by the CSMS on device-model
//! variables, kept in the durable state (N07.FR.13), reported on request,
//! and a NotifyEvent when one of them triggers.
//!
//! Built: UpperThreshold, LowerThreshold and Delta monitors on the
//! variables this machine owns (a change by SetVariables or
//! [`set_variable`](ChargePoint::set_variable), a live value such as an
//! AvailabilityState). Periodic, PeriodicClockAligned and the 2.1 target
//! monitors are answered `UnsupportedMonitorType`; there are no
//! preconfigured or hard-wired monitors. A `transaction` monitor is active
//! only while a transaction runs. Monitors are evaluated only
//! while the station can send: a change that happens and reverts while
//! offline stays unseen (the N07 remark's allowed way, in place of an
//! offline queue).

use std::time::Instant;

use ocpp_types::BoundedString;
use ocpp_types::v21::{self, DataEnum, MonitorEnum, MonitoringCriterionEnum};
use rust_decimal::Decimal;

use super::device_model::{Lookup, VariableDef};
use super::report::{selects, wire_names};
use super::state::Monitor;
use super::{ChargePoint, Pending};

/// The lowest-priority severity (Debug): reporting everything.
const ALL_SEVERITIES: i32 = 9;

impl ChargePoint {
    /// N04: one result per item, in order.
    pub(super) fn set_variable_monitoring(
        &mut self,
        now: Instant,
        r: &v21::SetVariableMonitoringRequest,
    ) -> v21::SetVariableMonitoringResponse {
        let results = r
            .set_monitoring_data
            .iter()
            .map(|d| {
                let (status, id) = self.set_monitor(now, d);
                v21::SetMonitoringResult {
                    component: d.component.clone(),
                    custom_data: None,
                    id,
                    severity: d.severity,
                    status,
                    status_info: None,
                    kind: d.kind,
                    variable: d.variable.clone(),
                }
            })
            .collect();
        v21::SetVariableMonitoringResponse {
            custom_data: None,
            set_monitoring_result: results,
        }
    }

    fn set_monitor(
        &mut self,
        now: Instant,
        d: &v21::SetMonitoringData,
    ) -> (v21::SetMonitoringStatusEnum, Option<i32>) {
        use v21::SetMonitoringStatusEnum as S;
        let def = match self.model.find(&d.component, &d.variable) {
            Err(Lookup::UnknownComponent) => return (S::UnknownComponent, d.id),
            Err(Lookup::UnknownVariable) => return (S::UnknownVariable, d.id),
            Ok(def) => def,
        };
        let key = def.key();
        let numeric = is_numeric(def);
        let out_of_range =
            def.min.is_some_and(|m| d.value < m) || def.max.is_some_and(|m| d.value > m);
        match d.kind {
            MonitorEnum::UpperThreshold | MonitorEnum::LowerThreshold if !numeric => {
                return (S::UnsupportedMonitorType, d.id);
            }
            // N04.FR.06.
            MonitorEnum::UpperThreshold | MonitorEnum::LowerThreshold if out_of_range => {
                return (S::Rejected, d.id);
            }
            MonitorEnum::UpperThreshold | MonitorEnum::LowerThreshold => {}
            // N04.FR.14.
            MonitorEnum::Delta if d.value < Decimal::ZERO => return (S::Rejected, d.id),
            MonitorEnum::Delta => {}
            _ => return (S::UnsupportedMonitorType, d.id),
        }
        if !(0..=ALL_SEVERITIES).contains(&d.severity) {
            return (S::Rejected, d.id);
        }
        if let Some(id) = d.id {
            // N04.FR.13/16: only an existing monitor of the same variable.
            if self.state.monitors.get(&id).is_none_or(|m| m.key != key) {
                return (S::Rejected, Some(id));
            }
        }
        // N04.FR.10: one monitor per variable, type and severity.
        let duplicate = self.state.monitors.iter().any(|(&id, m)| {
            Some(id) != d.id && m.key == key && m.kind == d.kind && m.severity == d.severity
        });
        if duplicate {
            return (S::Duplicate, d.id);
        }
        let current = self.actual(def, now);
        let id = d.id.unwrap_or_else(|| self.next_monitor_id());
        let monitor = Monitor {
            key,
            kind: d.kind,
            value: d.value,
            severity: d.severity,
            transaction: d.transaction.unwrap_or(false),
            // A replaced threshold keeps its state, so that N07.FR.11 clears
            // or raises it against the new value.
            tripped: self
                .state
                .monitors
                .get(&id)
                .is_some_and(|m| m.tripped && m.kind == d.kind),
            reference: Some(current),
        };
        self.state.monitors.insert(id, monitor);
        self.changed();
        (S::Accepted, Some(id))
    }

    /// A variable's Actual value as a monitor sees it (empty when
    /// write-only, N07.FR.10).
    fn actual(&self, def: &VariableDef, now: Instant) -> String {
        if def.mutability == v21::MutabilityEnum::WriteOnly {
            String::new()
        } else {
            self.read_value(def, now)
        }
    }

    fn next_monitor_id(&mut self) -> i32 {
        loop {
            self.state.monitor_counter = self.state.monitor_counter.wrapping_add(1).max(1);
            if !self
                .state
                .monitors
                .contains_key(&self.state.monitor_counter)
            {
                return self.state.monitor_counter;
            }
        }
    }

    /// N06: Accepted or NotFound per id (no monitor here is hard-wired).
    pub(super) fn clear_variable_monitoring(
        &mut self,
        r: &v21::ClearVariableMonitoringRequest,
    ) -> v21::ClearVariableMonitoringResponse {
        let results =
            r.id.iter()
                .map(|&id| {
                    // N07.FR.12: a removed threshold sends no cleared event.
                    let status = if self.state.monitors.remove(&id).is_some() {
                        self.changed();
                        v21::ClearMonitoringStatusEnum::Accepted
                    } else {
                        v21::ClearMonitoringStatusEnum::NotFound
                    };
                    v21::ClearMonitoringResult {
                        custom_data: None,
                        id,
                        status,
                        status_info: None,
                    }
                })
                .collect();
        v21::ClearVariableMonitoringResponse {
            clear_monitoring_result: results,
            custom_data: None,
        }
    }

    /// N03: no preconfigured monitors exist, so All keeps the custom ones
    /// and FactoryDefault and HardWiredOnly delete them.
    pub(super) fn set_monitoring_base(
        &mut self,
        r: &v21::SetMonitoringBaseRequest,
    ) -> v21::SetMonitoringBaseResponse {
        if r.monitoring_base != v21::MonitoringBaseEnum::All && !self.state.monitors.is_empty() {
            self.state.monitors.clear();
            self.changed();
        }
        v21::SetMonitoringBaseResponse {
            custom_data: None,
            status: v21::GenericDeviceModelStatusEnum::Accepted,
            status_info: None,
        }
    }

    /// N05: severities 0–9; events of monitors above it are not sent.
    pub(super) fn set_monitoring_level(
        &mut self,
        r: &v21::SetMonitoringLevelRequest,
    ) -> v21::SetMonitoringLevelResponse {
        let status = if (0..=ALL_SEVERITIES).contains(&r.severity) {
            self.state.monitoring_level = Some(r.severity);
            self.changed();
            v21::GenericStatusEnum::Accepted
        } else {
            v21::GenericStatusEnum::Rejected
        };
        v21::SetMonitoringLevelResponse {
            custom_data: None,
            status,
            status_info: None,
        }
    }

    /// N02: the monitors matching the criteria (OR-ed) and the
    /// componentVariables (as GetReport's); none: EmptyResultSet and no
    /// NotifyMonitoringReport.
    pub(super) fn get_monitoring_report(
        &mut self,
        now: Instant,
        id: &str,
        r: &v21::GetMonitoringReportRequest,
    ) {
        let criteria = r.monitoring_criteria.as_deref().unwrap_or_default();
        let wanted = r.component_variable.as_deref().unwrap_or_default();
        let meets = |m: &Monitor| {
            criteria.is_empty()
                || criteria.iter().any(|c| match c {
                    MonitoringCriterionEnum::ThresholdMonitoring => matches!(
                        m.kind,
                        MonitorEnum::UpperThreshold | MonitorEnum::LowerThreshold
                    ),
                    MonitoringCriterionEnum::DeltaMonitoring => m.kind == MonitorEnum::Delta,
                    MonitoringCriterionEnum::PeriodicMonitoring => false,
                })
        };
        let data: Vec<v21::MonitoringData> = self
            .model
            .variables()
            .iter()
            .filter(|d| wanted.is_empty() || wanted.iter().any(|cv| selects(cv, d)))
            .filter_map(|d| {
                let key = d.key();
                let monitors: Vec<v21::VariableMonitoring> = self
                    .state
                    .monitors
                    .iter()
                    .filter(|(_, m)| m.key == key && meets(m))
                    .map(|(&id, m)| v21::VariableMonitoring {
                        custom_data: None,
                        event_notification_type: v21::EventNotificationEnum::CustomMonitor,
                        id,
                        severity: m.severity,
                        transaction: m.transaction,
                        kind: m.kind,
                        value: m.value,
                    })
                    .collect();
                (!monitors.is_empty()).then(|| {
                    let (component, variable) = wire_names(d);
                    v21::MonitoringData {
                        component,
                        custom_data: None,
                        variable,
                        variable_monitoring: monitors,
                    }
                })
            })
            .collect();
        let status = if data.is_empty() {
            v21::GenericDeviceModelStatusEnum::EmptyResultSet
        } else {
            v21::GenericDeviceModelStatusEnum::Accepted
        };
        let response = v21::GetMonitoringReportResponse {
            custom_data: None,
            status,
            status_info: None,
        };
        self.respond(id, response.into());
        let per = usize::try_from(self.var_int("DeviceDataCtrlr/ItemsPerMessage[GetReport]"))
            .unwrap_or(1)
            .max(1);
        let parts: Vec<Vec<v21::MonitoringData>> = data.chunks(per).map(<[_]>::to_vec).collect();
        let count = parts.len();
        let generated_at = self.clock.at(now);
        for (i, part) in parts.into_iter().enumerate() {
            let request = v21::NotifyMonitoringReportRequest {
                custom_data: None,
                generated_at,
                monitor: Some(part),
                request_id: r.request_id,
                seq_no: i32::try_from(i).unwrap_or(i32::MAX),
                tbc: (i + 1 < count).then_some(true),
            };
            self.call(now, request.into(), Pending::Other);
        }
    }

    /// N07: evaluates every monitor against its variable's value now and
    /// sends a NotifyEvent for those that trigger (and whose severity the
    /// monitoring level lets through, N07.FR.15).
    pub(super) fn check_monitors(&mut self, now: Instant) {
        if self.state.monitors.is_empty() || !self.can_send() {
            return;
        }
        let level = self.state.monitoring_level.unwrap_or(ALL_SEVERITIES);
        let mut events = Vec::new();
        let ids: Vec<i32> = self.state.monitors.keys().copied().collect();
        for id in ids {
            let Some(m) = self.state.monitors.get(&id).cloned() else {
                continue;
            };
            let Some(def) = self.model.get(&m.key) else {
                continue;
            };
            // A transaction monitor is active only while a transaction runs
            // (on its EVSE, for an EVSE's component).
            let running = self
                .state
                .evses
                .iter()
                .any(|(&e, s)| s.transaction.is_some() && def.evse.is_none_or(|d| d == e));
            let current = self.actual(def, now);
            if m.transaction && !running {
                // What changes meanwhile is no delta once it is active.
                if m.kind == MonitorEnum::Delta && m.reference.as_deref() != Some(current.as_str())
                {
                    if let Some(stored) = self.state.monitors.get_mut(&id) {
                        stored.reference = Some(current);
                    }
                    self.changed();
                }
                continue;
            }
            let Some((trigger, cleared, update)) = evaluate(&m, def, &current) else {
                continue;
            };
            let (component, variable) = wire_names(def);
            if let Some(stored) = self.state.monitors.get_mut(&id) {
                update(stored, &current);
            }
            self.changed();
            if m.severity > level {
                continue;
            }
            self.state.event_counter = self.state.event_counter.wrapping_add(1).max(0);
            events.push(v21::EventData {
                actual_value: BoundedString::new(current.chars().take(2500).collect::<String>())
                    .unwrap_or_else(|_| BoundedString::new_unchecked("")),
                cause: None,
                cleared: cleared.then_some(true),
                component,
                custom_data: None,
                event_id: self.state.event_counter,
                event_notification_type: v21::EventNotificationEnum::CustomMonitor,
                // 2.1 only: never on a 2.0.1 wire.
                severity: None,
                tech_code: None,
                tech_info: None,
                timestamp: self.clock.at(now),
                transaction_id: None,
                trigger,
                variable,
                variable_monitoring_id: Some(id),
            });
        }
        if !events.is_empty() {
            let request = v21::NotifyEventRequest {
                custom_data: None,
                event_data: events,
                generated_at: self.clock.at(now),
                seq_no: 0,
                tbc: None,
            };
            self.call(now, request.into(), Pending::Other);
        }
    }
}

fn is_numeric(def: &VariableDef) -> bool {
    matches!(def.data_type, DataEnum::Integer | DataEnum::Decimal)
}

type Update = fn(&mut Monitor, &str);

/// Whether `m` triggers at `current`: the event's trigger, whether it
/// clears, and how the monitor's state moves.
fn evaluate(
    m: &Monitor,
    def: &VariableDef,
    current: &str,
) -> Option<(v21::EventTriggerEnum, bool, Update)> {
    let number = current.trim().parse::<Decimal>().ok();
    match m.kind {
        MonitorEnum::UpperThreshold | MonitorEnum::LowerThreshold => {
            let value = number?;
            // N07.FR.16/17: beyond the threshold, not on it.
            let beyond = if m.kind == MonitorEnum::UpperThreshold {
                value > m.value
            } else {
                value < m.value
            };
            match (beyond, m.tripped) {
                (true, false) => Some((v21::EventTriggerEnum::Alerting, false, |m, _| {
                    m.tripped = true
                })),
                // N07.FR.02: back within the threshold.
                (false, true) => Some((v21::EventTriggerEnum::Alerting, true, |m, _| {
                    m.tripped = false
                })),
                _ => None,
            }
        }
        MonitorEnum::Delta => {
            let changed = match (is_numeric(def), number, m.reference.as_deref()) {
                // N07.FR.18: by more than the value since set or last sent.
                (true, Some(now), Some(before)) => before
                    .trim()
                    .parse::<Decimal>()
                    .map_or(true, |before| (now - before).abs() > m.value),
                // N07.FR.19: any change of a non-numeric value.
                _ => m.reference.as_deref() != Some(current),
            };
            changed.then_some((v21::EventTriggerEnum::Delta, false, |m, current| {
                m.reference = Some(current.to_owned())
            }))
        }
        _ => None,
    }
}
