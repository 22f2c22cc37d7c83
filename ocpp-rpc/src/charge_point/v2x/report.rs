//! Device-model reports: GetBaseReport (B07) and GetReport (B08), answered
//! first and then sent as NotifyReport in parts of
//! `ItemsPerMessage[GetReport]`, numbered from 0 (FR.05, B07.FR.10).

use std::time::Instant;

use ocpp_types::BoundedString;
use ocpp_types::v21::{self, AttributeEnum, ComponentCriterionEnum, MutabilityEnum};

use super::device_model::VariableDef;
use super::{ChargePoint, Pending};

impl ChargePoint {
    pub(super) fn get_base_report(
        &mut self,
        now: Instant,
        id: &str,
        r: &v21::GetBaseReportRequest,
    ) {
        let configuration = match r.report_base {
            v21::ReportBaseEnum::FullInventory => false,
            v21::ReportBaseEnum::ConfigurationInventory => true,
            v21::ReportBaseEnum::SummaryInventory => {
                let response = v21::GetBaseReportResponse {
                    custom_data: None,
                    status: v21::GenericDeviceModelStatusEnum::NotSupported,
                    status_info: None,
                };
                return self.respond(id, response.into());
            }
        };
        let data: Vec<v21::ReportData> = self
            .model
            .variables()
            .iter()
            .filter(|d| !configuration || d.mutability != MutabilityEnum::ReadOnly)
            .map(|d| self.report_data(d, now))
            .collect();
        let response = v21::GetBaseReportResponse {
            custom_data: None,
            status: v21::GenericDeviceModelStatusEnum::Accepted,
            status_info: None,
        };
        self.respond(id, response.into());
        self.notify_report(now, r.request_id, data);
    }

    /// B08: the variables matching the component criteria (OR-ed,
    /// FR.13) and the componentVariables (FR.11, FR.20–25); both given,
    /// a variable must match both (FR.05). Nothing matches: EmptyResultSet
    /// and no NotifyReport (FR.15).
    pub(super) fn get_report(&mut self, now: Instant, id: &str, r: &v21::GetReportRequest) {
        let criteria = r.component_criteria.as_deref().unwrap_or_default();
        let wanted = r.component_variable.as_deref().unwrap_or_default();
        let data: Vec<v21::ReportData> = self
            .model
            .variables()
            .iter()
            .filter(|d| wanted.is_empty() || wanted.iter().any(|cv| selects(cv, d)))
            .filter(|d| criteria.is_empty() || criteria.iter().any(|&c| self.meets(d, c, now)))
            .map(|d| self.report_data(d, now))
            .collect();
        let status = if data.is_empty() {
            v21::GenericDeviceModelStatusEnum::EmptyResultSet
        } else {
            v21::GenericDeviceModelStatusEnum::Accepted
        };
        let response = v21::GetReportResponse {
            custom_data: None,
            status,
            status_info: None,
        };
        self.respond(id, response.into());
        if !data.is_empty() {
            self.notify_report(now, r.request_id, data);
        }
    }

    /// Whether the component of `def` meets `criterion` (B08.FR.07–10): it
    /// has the criterion's variable set to true, or (but for Problem) has
    /// no such variable. A faulted EVSE has a problem.
    fn meets(&self, def: &VariableDef, criterion: ComponentCriterionEnum, now: Instant) -> bool {
        let name = match criterion {
            ComponentCriterionEnum::Active => "Active",
            ComponentCriterionEnum::Available => "Available",
            ComponentCriterionEnum::Enabled => "Enabled",
            ComponentCriterionEnum::Problem => "Problem",
        };
        let value = self
            .model
            .variables()
            .iter()
            .find(|v| same_component(v, def) && v.name == name && v.instance.is_none())
            .map(|v| self.read_value(v, now));
        match (criterion, value) {
            (_, Some(v)) => v == "true",
            (ComponentCriterionEnum::Problem, None) => {
                def.component == "EVSE"
                    && def.connector.is_none()
                    && def
                        .evse
                        .and_then(|e| self.state.evses.get(&e))
                        .is_some_and(|e| e.faulted)
            }
            (_, None) => true,
        }
    }

    fn report_data(&self, d: &VariableDef, now: Instant) -> v21::ReportData {
        let (component, variable) = wire_names(d);
        v21::ReportData {
            component,
            custom_data: None,
            variable,
            variable_attribute: vec![v21::VariableAttribute {
                constant: None,
                custom_data: None,
                mutability: Some(d.mutability),
                persistent: Some(true),
                kind: Some(AttributeEnum::Actual),
                value: (d.mutability != MutabilityEnum::WriteOnly)
                    .then(|| BoundedString::new_unchecked(self.read_value(d, now))),
            }],
            variable_characteristics: Some(v21::VariableCharacteristics {
                custom_data: None,
                data_type: d.data_type,
                max_elements: None,
                max_limit: d.max,
                min_limit: d.min,
                // Delta on every variable, thresholds on numeric ones.
                supports_monitoring: true,
                unit: d.unit.as_deref().map(BoundedString::new_unchecked),
                values_list: d.values_list.as_deref().map(BoundedString::new_unchecked),
            }),
        }
    }

    /// Sends `data` after the answer, in parts of ItemsPerMessage[GetReport].
    fn notify_report(&mut self, now: Instant, request_id: i32, data: Vec<v21::ReportData>) {
        let per = usize::try_from(self.var_int("DeviceDataCtrlr/ItemsPerMessage[GetReport]"))
            .unwrap_or(1)
            .max(1);
        let parts: Vec<Vec<v21::ReportData>> = data.chunks(per).map(<[_]>::to_vec).collect();
        let count = parts.len();
        let generated_at = self.clock.at(now);
        for (i, part) in parts.into_iter().enumerate() {
            let request = v21::NotifyReportRequest {
                custom_data: None,
                generated_at,
                report_data: Some(part),
                request_id,
                seq_no: i32::try_from(i).unwrap_or(i32::MAX),
                tbc: (i + 1 < count).then_some(true),
            };
            self.call(now, request.into(), Pending::Other);
        }
    }
}

/// The component and variable of `d`, as messages name them.
pub(super) fn wire_names(d: &VariableDef) -> (v21::Component, v21::Variable) {
    (
        v21::Component {
            custom_data: None,
            evse: d.evse.map(|e| v21::EVSE {
                connector_id: d.connector,
                custom_data: None,
                id: e,
            }),
            instance: d
                .component_instance
                .as_deref()
                .map(BoundedString::new_unchecked),
            name: BoundedString::new_unchecked(d.component.as_str()),
        },
        v21::Variable {
            custom_data: None,
            instance: d.instance.as_deref().map(BoundedString::new_unchecked),
            name: BoundedString::new_unchecked(d.name.as_str()),
        },
    )
}

fn same_component(a: &VariableDef, b: &VariableDef) -> bool {
    a.component == b.component
        && a.component_instance == b.component_instance
        && a.evse == b.evse
        && a.connector == b.connector
}

/// Whether a componentVariable selects `def`: an absent evse, connector,
/// instance or variable stands for all of them (B08.FR.20–25).
pub(super) fn selects(cv: &v21::ComponentVariable, def: &VariableDef) -> bool {
    let c = &cv.component;
    if !c.name.as_str().eq_ignore_ascii_case(&def.component) {
        return false;
    }
    if let Some(i) = &c.instance
        && def.component_instance.as_deref() != Some(i.as_str())
    {
        return false;
    }
    if let Some(e) = &c.evse {
        if def.evse != Some(e.id) {
            return false;
        }
        if e.connector_id.is_some() && def.connector != e.connector_id {
            return false;
        }
    }
    match &cv.variable {
        None => true,
        Some(v) => {
            v.name.as_str().eq_ignore_ascii_case(&def.name)
                && v.instance
                    .as_ref()
                    .is_none_or(|i| def.instance.as_deref() == Some(i.as_str()))
        }
    }
}
