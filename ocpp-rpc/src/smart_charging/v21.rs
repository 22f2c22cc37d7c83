//! OCPP 2.1: conversions between the typed messages and the model, and the
//! charging station's answers to SetChargingProfile, ClearChargingProfile,
//! GetChargingProfiles, GetCompositeSchedule, UsePriorityCharging,
//! UpdateDynamicSchedule, and its handling of a
//! PullDynamicScheduleUpdateResponse.

use chrono::{DateTime, Utc};
use ocpp_types::BoundedString;
use ocpp_types::v21 as vx;
use rust_decimal::Decimal;

use super::model::{
    FreqWattPoint, Kind, OperationMode, Period, PeriodExtras, Profile, Purpose, RateUnit,
    Recurrency, Schedule, SignalWattPoint, Source,
};
use super::schedule::{Composite, CompositePeriod};
use super::store::{
    ClearFilter, CompositeError, DynamicUpdateError, PriorityChargingError, ProfileStore,
    Rejection, ReportFilter,
};

impl From<vx::ChargingProfilePurposeEnum> for Purpose {
    fn from(p: vx::ChargingProfilePurposeEnum) -> Self {
        use vx::ChargingProfilePurposeEnum as P;
        match p {
            P::ChargingStationMaxProfile => Purpose::StationMax,
            P::ChargingStationExternalConstraints => Purpose::ExternalConstraints,
            P::TxDefaultProfile => Purpose::TxDefault,
            P::TxProfile => Purpose::Tx,
            P::PriorityCharging => Purpose::PriorityCharging,
            P::LocalGeneration => Purpose::LocalGeneration,
        }
    }
}

fn purpose_out(p: Purpose) -> Option<vx::ChargingProfilePurposeEnum> {
    use vx::ChargingProfilePurposeEnum as P;
    match p {
        Purpose::StationMax => Some(P::ChargingStationMaxProfile),
        Purpose::ExternalConstraints => Some(P::ChargingStationExternalConstraints),
        Purpose::TxDefault => Some(P::TxDefaultProfile),
        Purpose::Tx => Some(P::TxProfile),
        Purpose::PriorityCharging => Some(P::PriorityCharging),
        Purpose::LocalGeneration => Some(P::LocalGeneration),
    }
}

impl From<vx::ChargingRateUnitEnum> for RateUnit {
    fn from(u: vx::ChargingRateUnitEnum) -> Self {
        match u {
            vx::ChargingRateUnitEnum::A => RateUnit::A,
            vx::ChargingRateUnitEnum::W => RateUnit::W,
        }
    }
}

impl From<RateUnit> for vx::ChargingRateUnitEnum {
    fn from(u: RateUnit) -> Self {
        match u {
            RateUnit::A => vx::ChargingRateUnitEnum::A,
            RateUnit::W => vx::ChargingRateUnitEnum::W,
        }
    }
}

fn source_in(s: &BoundedString<20>) -> Source {
    Source::parse(s.as_str())
}

fn source_out(s: &Source) -> BoundedString<20> {
    BoundedString::new(s.as_str()).unwrap_or_else(|_| BoundedString::new_unchecked("Other"))
}

fn kind_in(
    kind: vx::ChargingProfileKindEnum,
    recurrency: Option<vx::RecurrencyKindEnum>,
) -> Result<Kind, Rejection> {
    use vx::ChargingProfileKindEnum as K;
    use vx::RecurrencyKindEnum as R;
    Ok(match (kind, recurrency) {
        (K::Absolute, None) => Kind::Absolute,
        (K::Relative, None) => Kind::Relative,
        (K::Recurring, Some(R::Daily)) => Kind::Recurring(Recurrency::Daily),
        (K::Recurring, Some(R::Weekly)) => Kind::Recurring(Recurrency::Weekly),
        (K::Dynamic, None) => Kind::Dynamic,
        _ => return Err(Rejection::Recurrency),
    })
}

fn kind_out(kind: Kind) -> (vx::ChargingProfileKindEnum, Option<vx::RecurrencyKindEnum>) {
    use vx::ChargingProfileKindEnum as K;
    use vx::RecurrencyKindEnum as R;
    match kind {
        Kind::Absolute => (K::Absolute, None),
        Kind::Relative => (K::Relative, None),
        Kind::Recurring(Recurrency::Daily) => (K::Recurring, Some(R::Daily)),
        Kind::Recurring(Recurrency::Weekly) => (K::Recurring, Some(R::Weekly)),
        Kind::Dynamic => (K::Dynamic, None),
    }
}

impl TryFrom<&vx::ChargingProfile> for Profile {
    type Error = Rejection;

    /// Fails only on `recurrencyKind` given without `Recurring`, or missing
    /// with it.
    fn try_from(p: &vx::ChargingProfile) -> Result<Self, Rejection> {
        Ok(Profile {
            id: p.id,
            stack_level: p.stack_level,
            purpose: p.charging_profile_purpose.into(),
            kind: kind_in(p.charging_profile_kind, p.recurrency_kind)?,
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            transaction_id: p.transaction_id.as_ref().map(|t| t.as_str().to_owned()),
            schedules: p
                .charging_schedule
                .iter()
                .map(|s| Schedule {
                    id: Some(s.id),
                    start: s.start_schedule,
                    duration: s.duration,
                    unit: s.charging_rate_unit.into(),
                    min_rate: s.min_charging_rate,
                    periods: s
                        .charging_schedule_period
                        .iter()
                        .map(|q| Period {
                            start: q.start_period,
                            limit: q.limit,
                            phases: q.number_phases,
                            extras: extras_in(q),
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

impl From<vx::OperationModeEnum> for OperationMode {
    fn from(m: vx::OperationModeEnum) -> Self {
        use vx::OperationModeEnum as M;
        match m {
            M::Idle => OperationMode::Idle,
            M::ChargingOnly => OperationMode::ChargingOnly,
            M::CentralSetpoint => OperationMode::CentralSetpoint,
            M::ExternalSetpoint => OperationMode::ExternalSetpoint,
            M::ExternalLimits => OperationMode::ExternalLimits,
            M::CentralFrequency => OperationMode::CentralFrequency,
            M::LocalFrequency => OperationMode::LocalFrequency,
            M::LocalLoadBalancing => OperationMode::LocalLoadBalancing,
        }
    }
}

impl From<OperationMode> for vx::OperationModeEnum {
    fn from(m: OperationMode) -> Self {
        use vx::OperationModeEnum as M;
        match m {
            OperationMode::Idle => M::Idle,
            OperationMode::ChargingOnly => M::ChargingOnly,
            OperationMode::CentralSetpoint => M::CentralSetpoint,
            OperationMode::ExternalSetpoint => M::ExternalSetpoint,
            OperationMode::ExternalLimits => M::ExternalLimits,
            OperationMode::CentralFrequency => M::CentralFrequency,
            OperationMode::LocalFrequency => M::LocalFrequency,
            OperationMode::LocalLoadBalancing => M::LocalLoadBalancing,
        }
    }
}

/// The 2.1-only fields of a wire period; `None` when it has none.
fn extras_in(q: &vx::ChargingSchedulePeriod) -> Option<Box<PeriodExtras>> {
    let extras = PeriodExtras {
        limit_l2: q.limit_l2,
        limit_l3: q.limit_l3,
        discharge_limit: q.discharge_limit,
        discharge_limit_l2: q.discharge_limit_l2,
        discharge_limit_l3: q.discharge_limit_l3,
        setpoint: q.setpoint,
        setpoint_l2: q.setpoint_l2,
        setpoint_l3: q.setpoint_l3,
        setpoint_reactive: q.setpoint_reactive,
        setpoint_reactive_l2: q.setpoint_reactive_l2,
        setpoint_reactive_l3: q.setpoint_reactive_l3,
        operation_mode: q.operation_mode.map(OperationMode::from),
        phase_to_use: q.phase_to_use,
        preconditioning_request: q.preconditioning_request,
        evse_sleep: q.evse_sleep,
        v2x_baseline: q.v2x_baseline,
        v2x_freq_watt_curve: q
            .v2x_freq_watt_curve
            .iter()
            .flatten()
            .map(|p| FreqWattPoint {
                frequency: p.frequency,
                power: p.power,
            })
            .collect(),
        v2x_signal_watt_curve: q
            .v2x_signal_watt_curve
            .iter()
            .flatten()
            .map(|p| SignalWattPoint {
                signal: p.signal,
                power: p.power,
            })
            .collect(),
    };
    (!extras.is_empty()).then(|| Box::new(extras))
}

/// The 2.1 wire form of a model period, its 2.1-only fields included.
pub fn period_to_v21(p: &Period) -> vx::ChargingSchedulePeriod {
    let mut out = period(p.start, p.limit, p.phases);
    if let Some(x) = p.extras.as_deref() {
        out.limit_l2 = x.limit_l2;
        out.limit_l3 = x.limit_l3;
        out.discharge_limit = x.discharge_limit;
        out.discharge_limit_l2 = x.discharge_limit_l2;
        out.discharge_limit_l3 = x.discharge_limit_l3;
        out.setpoint = x.setpoint;
        out.setpoint_l2 = x.setpoint_l2;
        out.setpoint_l3 = x.setpoint_l3;
        out.setpoint_reactive = x.setpoint_reactive;
        out.setpoint_reactive_l2 = x.setpoint_reactive_l2;
        out.setpoint_reactive_l3 = x.setpoint_reactive_l3;
        out.operation_mode = x.operation_mode.map(vx::OperationModeEnum::from);
        out.phase_to_use = x.phase_to_use;
        out.preconditioning_request = x.preconditioning_request;
        out.evse_sleep = x.evse_sleep;
        out.v2x_baseline = x.v2x_baseline;
        out.v2x_freq_watt_curve = (!x.v2x_freq_watt_curve.is_empty()).then(|| {
            x.v2x_freq_watt_curve
                .iter()
                .map(|p| vx::V2XFreqWattPoint {
                    custom_data: None,
                    frequency: p.frequency,
                    power: p.power,
                })
                .collect()
        });
        out.v2x_signal_watt_curve = (!x.v2x_signal_watt_curve.is_empty()).then(|| {
            x.v2x_signal_watt_curve
                .iter()
                .map(|p| vx::V2XSignalWattPoint {
                    custom_data: None,
                    power: p.power,
                    signal: p.signal,
                })
                .collect()
        });
    }
    out
}

/// The 2.1 form of a profile: `None` when the transaction id is longer
/// than 36 characters. The 2.1-only period fields are kept (see
/// [`PeriodExtras`]); the other 2.1-only fields the model does not hold
/// (price schedules, `randomizedDelay`, `limitAtSoC`, `useLocalTime`,
/// offline rules, ...) are left out, and `dynUpdateInterval` /
/// `dynUpdateTime`, which the store keeps per installed profile, are
/// filled in by
/// [`get_charging_profiles_v21`](ProfileStore::get_charging_profiles_v21).
pub fn profile_to_v21(p: &Profile) -> Option<vx::ChargingProfile> {
    let (kind, recurrency) = kind_out(p.kind);
    let transaction_id = match &p.transaction_id {
        Some(t) => Some(BoundedString::new(t.as_str()).ok()?),
        None => None,
    };
    let schedules = p
        .schedules
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Some(vx::ChargingSchedule {
                absolute_price_schedule: None,
                charging_rate_unit: s.unit.into(),
                charging_schedule_period: s.periods.iter().map(period_to_v21).collect(),
                custom_data: None,
                duration: s.duration,
                id: s
                    .id
                    .unwrap_or_else(|| p.id.saturating_add(i32::try_from(i).unwrap_or(0))),
                digest_value: None,
                limit_at_so_c: None,
                min_charging_rate: s.min_rate,
                power_tolerance: None,
                price_level_schedule: None,
                randomized_delay: None,
                sales_tariff: None,
                signature_id: None,
                start_schedule: s.start,
                use_local_time: None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(vx::ChargingProfile {
        charging_profile_kind: kind,
        charging_profile_purpose: purpose_out(p.purpose)?,
        charging_schedule: schedules,
        custom_data: None,
        dyn_update_interval: None,
        dyn_update_time: None,
        id: p.id,
        invalid_after_offline_duration: None,
        max_offline_duration: None,
        price_schedule_signature: None,
        recurrency_kind: recurrency,
        stack_level: p.stack_level,
        transaction_id,
        valid_from: p.valid_from,
        valid_to: p.valid_to,
    })
}

fn period(start: i32, limit: Option<Decimal>, phases: Option<i32>) -> vx::ChargingSchedulePeriod {
    vx::ChargingSchedulePeriod {
        custom_data: None,
        discharge_limit: None,
        discharge_limit_l2: None,
        discharge_limit_l3: None,
        evse_sleep: None,
        limit,
        limit_l2: None,
        limit_l3: None,
        number_phases: phases,
        operation_mode: None,
        phase_to_use: None,
        preconditioning_request: None,
        setpoint: None,
        setpoint_reactive: None,
        setpoint_reactive_l2: None,
        setpoint_reactive_l3: None,
        setpoint_l2: None,
        setpoint_l3: None,
        start_period: start,
        v2x_baseline: None,
        v2x_freq_watt_curve: None,
        v2x_signal_watt_curve: None,
    }
}

fn period_out(p: &CompositePeriod) -> vx::ChargingSchedulePeriod {
    period(p.start, Some(p.limit), p.phases)
}

fn status_info(reason: &Rejection) -> vx::StatusInfo {
    vx::StatusInfo {
        additional_info: BoundedString::new(reason.to_string()).ok(),
        custom_data: None,
        reason_code: BoundedString::new_unchecked(reason.reason_code()),
    }
}

impl Composite {
    /// The 2.1 `CompositeSchedule`.
    pub fn to_v21(&self) -> vx::CompositeSchedule {
        vx::CompositeSchedule {
            charging_rate_unit: self.unit.into(),
            charging_schedule_period: self.periods.iter().map(period_out).collect(),
            custom_data: None,
            duration: self.duration,
            evse_id: self.evse,
            schedule_start: self.start,
        }
    }
}

impl ProfileStore {
    /// Answers a 2.1 SetChargingProfileRequest: `Accepted` when installed,
    /// else `Rejected` with a `statusInfo` naming the reason. A `Dynamic`
    /// profile keeps its `dynUpdateInterval` and the `dynUpdateTime` given
    /// (none if none: use
    /// [`set_charging_profile_v21_at`](Self::set_charging_profile_v21_at),
    /// which stamps the time of receipt, K28.FR.05).
    pub fn set_charging_profile_v21(
        &mut self,
        request: &vx::SetChargingProfileRequest,
    ) -> (vx::SetChargingProfileResponse, Result<Vec<i32>, Rejection>) {
        self.set_charging_profile_v21_inner(request, None)
    }

    /// [`set_charging_profile_v21`](Self::set_charging_profile_v21) for a
    /// request received at `now`: a `Dynamic` profile without
    /// `dynUpdateTime` gets `now` (K28.FR.05), and its `dynUpdateInterval`
    /// schedules the pulls ([`dynamic_pulls_due`](Self::dynamic_pulls_due),
    /// K28.FR.10).
    pub fn set_charging_profile_v21_at(
        &mut self,
        request: &vx::SetChargingProfileRequest,
        now: DateTime<Utc>,
    ) -> (vx::SetChargingProfileResponse, Result<Vec<i32>, Rejection>) {
        self.set_charging_profile_v21_inner(request, Some(now))
    }

    fn set_charging_profile_v21_inner(
        &mut self,
        request: &vx::SetChargingProfileRequest,
        now: Option<DateTime<Utc>>,
    ) -> (vx::SetChargingProfileResponse, Result<Vec<i32>, Rejection>) {
        let wire = &request.charging_profile;
        let outcome = Profile::try_from(wire).and_then(|p| {
            // K01.FR.122, K28.FR.04: the dynamic fields need a Dynamic kind.
            if p.kind != Kind::Dynamic
                && (wire.dyn_update_interval.is_some() || wire.dyn_update_time.is_some())
            {
                return Err(Rejection::DynUpdateNotDynamic);
            }
            self.install(request.evse_id, p)
        });
        if outcome.is_ok() {
            self.set_dynamic_bookkeeping(
                wire.id,
                wire.dyn_update_interval,
                wire.dyn_update_time.or(now),
            );
        }
        let (status, status_info) = match &outcome {
            Ok(_) => (vx::ChargingProfileStatusEnum::Accepted, None),
            Err(e) => (
                vx::ChargingProfileStatusEnum::Rejected,
                Some(status_info(e)),
            ),
        };
        let response = vx::SetChargingProfileResponse {
            custom_data: None,
            status,
            status_info,
        };
        (response, outcome)
    }

    /// Answers a 2.1 ClearChargingProfileRequest: by `chargingProfileId`,
    /// else by the AND of the criteria; external constraints are never
    /// cleared. `Unknown` when nothing matched.
    pub fn clear_charging_profile_v21(
        &mut self,
        request: &vx::ClearChargingProfileRequest,
    ) -> vx::ClearChargingProfileResponse {
        let criteria = request.charging_profile_criteria.as_ref();
        let cleared = self.clear(&ClearFilter {
            id: request.charging_profile_id,
            evse: criteria.and_then(|c| c.evse_id),
            purpose: criteria
                .and_then(|c| c.charging_profile_purpose)
                .map(Purpose::from),
            stack_level: criteria.and_then(|c| c.stack_level),
        });
        let status = if cleared.is_empty() {
            vx::ClearChargingProfileStatusEnum::Unknown
        } else {
            vx::ClearChargingProfileStatusEnum::Accepted
        };
        vx::ClearChargingProfileResponse {
            custom_data: None,
            status,
            status_info: None,
        }
    }

    /// Answers a 2.1 GetChargingProfilesRequest: the response, and the
    /// ReportChargingProfilesRequests to send after it (one per EVSE and
    /// source, `tbc` on all but the last; none with `NoProfiles`).
    pub fn get_charging_profiles_v21(
        &self,
        request: &vx::GetChargingProfilesRequest,
    ) -> (
        vx::GetChargingProfilesResponse,
        Vec<vx::ReportChargingProfilesRequest>,
    ) {
        let c = &request.charging_profile;
        let filter = ReportFilter {
            evse: request.evse_id,
            ids: c.charging_profile_id.clone().unwrap_or_default(),
            purpose: c.charging_profile_purpose.map(Purpose::from),
            stack_level: c.stack_level,
            sources: c
                .charging_limit_source
                .iter()
                .flatten()
                .map(source_in)
                .collect(),
        };
        let mut reports: Vec<vx::ReportChargingProfilesRequest> = Vec::new();
        for installed in self.report(&filter) {
            let Some(mut profile) = profile_to_v21(&installed.profile) else {
                continue;
            };
            profile.dyn_update_time = installed.dyn_update_time;
            profile.dyn_update_interval = installed.dyn_update_interval;
            let source = source_out(&installed.source);
            match reports.last_mut() {
                Some(r) if r.evse_id == installed.evse && r.charging_limit_source == source => {
                    r.charging_profile.push(profile);
                }
                _ => reports.push(vx::ReportChargingProfilesRequest {
                    charging_limit_source: source,
                    charging_profile: vec![profile],
                    custom_data: None,
                    evse_id: installed.evse,
                    request_id: request.request_id,
                    tbc: Some(true),
                }),
            }
        }
        if let Some(last) = reports.last_mut() {
            last.tbc = None;
        }
        let status = if reports.is_empty() {
            vx::GetChargingProfileStatusEnum::NoProfiles
        } else {
            vx::GetChargingProfileStatusEnum::Accepted
        };
        let response = vx::GetChargingProfilesResponse {
            custom_data: None,
            status,
            status_info: None,
        };
        (response, reports)
    }

    /// Answers a 2.1 GetCompositeScheduleRequest received at `now`.
    pub fn get_composite_schedule_v21(
        &self,
        request: &vx::GetCompositeScheduleRequest,
        now: DateTime<Utc>,
    ) -> vx::GetCompositeScheduleResponse {
        match self.composite_v21(request, now) {
            Ok(c) => vx::GetCompositeScheduleResponse {
                custom_data: None,
                schedule: Some(c.to_v21()),
                status: vx::GenericStatusEnum::Accepted,
                status_info: None,
            },
            Err(e) => vx::GetCompositeScheduleResponse {
                custom_data: None,
                schedule: None,
                status: vx::GenericStatusEnum::Rejected,
                status_info: Some(vx::StatusInfo {
                    additional_info: BoundedString::new(e.to_string()).ok(),
                    custom_data: None,
                    reason_code: BoundedString::new_unchecked(match e {
                        CompositeError::UnknownEvse(_) => "UnknownEvse",
                        CompositeError::UnitNotAllowed(_) => "UnsupportedRateUnit",
                        _ => "InvalidValue",
                    }),
                }),
            },
        }
    }

    /// The composite a 2.1 GetCompositeScheduleRequest asks for.
    pub fn composite_v21(
        &self,
        request: &vx::GetCompositeScheduleRequest,
        now: DateTime<Utc>,
    ) -> Result<Composite, CompositeError> {
        self.composite(
            request.evse_id,
            now,
            request.duration,
            request.charging_rate_unit.map(RateUnit::from),
        )
    }

    /// Answers a 2.1 UsePriorityChargingRequest (K21): `Accepted`, else
    /// `Rejected` with `TxNotFound` (K21.FR.02) or `NoProfile` with
    /// `NotFound` (K21.FR.01). The outcome carries the EVSE of the
    /// transaction, for the NotifyPriorityChargingRequest to send after
    /// switching (K21.FR.05, K21.FR.08).
    pub fn use_priority_charging_v21(
        &mut self,
        request: &vx::UsePriorityChargingRequest,
    ) -> (
        vx::UsePriorityChargingResponse,
        Result<i32, PriorityChargingError>,
    ) {
        let outcome = self.use_priority_charging(request.transaction_id.as_str(), request.activate);
        let (status, status_info) = match &outcome {
            Ok(_) => (vx::PriorityChargingStatusEnum::Accepted, None),
            Err(e) => {
                let (status, code) = match e {
                    PriorityChargingError::NoProfile(_) => {
                        (vx::PriorityChargingStatusEnum::NoProfile, "NotFound")
                    }
                    _ => (vx::PriorityChargingStatusEnum::Rejected, "TxNotFound"),
                };
                (
                    status,
                    Some(vx::StatusInfo {
                        additional_info: BoundedString::new(e.to_string()).ok(),
                        custom_data: None,
                        reason_code: BoundedString::new_unchecked(code),
                    }),
                )
            }
        };
        let response = vx::UsePriorityChargingResponse {
            custom_data: None,
            status,
            status_info,
        };
        (response, outcome)
    }

    /// Answers a 2.1 UpdateDynamicScheduleRequest received at `now`: applies
    /// its `limit` to the Dynamic profile (K28.FR.06, K28.FR.09) and answers
    /// `Accepted`, else `Rejected` with a reason (K28.FR.11). Values the
    /// model does not hold (setpoints, per-phase and discharge limits) are
    /// not applied.
    pub fn update_dynamic_schedule_v21(
        &mut self,
        request: &vx::UpdateDynamicScheduleRequest,
        now: DateTime<Utc>,
    ) -> vx::UpdateDynamicScheduleResponse {
        let update = &request.schedule_update;
        let outcome =
            self.update_dynamic_with(request.charging_profile_id, update.limit, now, |period| {
                apply_update(period, update)
            });
        let (status, status_info) = match outcome {
            Ok(()) => (vx::ChargingProfileStatusEnum::Accepted, None),
            Err(e) => (
                vx::ChargingProfileStatusEnum::Rejected,
                Some(dynamic_status_info(&e)),
            ),
        };
        vx::UpdateDynamicScheduleResponse {
            custom_data: None,
            status,
            status_info,
        }
    }

    /// Applies the PullDynamicScheduleUpdateResponse received at `now` for
    /// the Dynamic profile `id` (K28.FR.08, K28.FR.09): `Ok(true)` when its
    /// update was applied, `Ok(false)` when the CSMS rejected the pull or
    /// sent no update.
    pub fn pull_dynamic_schedule_update_v21(
        &mut self,
        id: i32,
        response: &vx::PullDynamicScheduleUpdateResponse,
        now: DateTime<Utc>,
    ) -> Result<bool, DynamicUpdateError> {
        match (&response.status, &response.schedule_update) {
            (vx::ChargingProfileStatusEnum::Accepted, Some(update)) => self
                .update_dynamic_with(id, update.limit, now, |period| apply_update(period, update))
                .map(|()| true),
            _ => Ok(false),
        }
    }
}

/// Applies the values of a 2.1 `ChargingScheduleUpdate` other than `limit`
/// to a period: each value given replaces the period's, absent ones are
/// kept (K28.FR.06, K28.FR.08).
fn apply_update(period: &mut Period, u: &vx::ChargingScheduleUpdate) {
    let given = [
        u.limit_l2,
        u.limit_l3,
        u.discharge_limit,
        u.discharge_limit_l2,
        u.discharge_limit_l3,
        u.setpoint,
        u.setpoint_l2,
        u.setpoint_l3,
        u.setpoint_reactive,
        u.setpoint_reactive_l2,
        u.setpoint_reactive_l3,
    ];
    if given.iter().all(Option::is_none) {
        return;
    }
    let x = period.extras.get_or_insert_with(Default::default);
    let fields = [
        (&mut x.limit_l2, u.limit_l2),
        (&mut x.limit_l3, u.limit_l3),
        (&mut x.discharge_limit, u.discharge_limit),
        (&mut x.discharge_limit_l2, u.discharge_limit_l2),
        (&mut x.discharge_limit_l3, u.discharge_limit_l3),
        (&mut x.setpoint, u.setpoint),
        (&mut x.setpoint_l2, u.setpoint_l2),
        (&mut x.setpoint_l3, u.setpoint_l3),
        (&mut x.setpoint_reactive, u.setpoint_reactive),
        (&mut x.setpoint_reactive_l2, u.setpoint_reactive_l2),
        (&mut x.setpoint_reactive_l3, u.setpoint_reactive_l3),
    ];
    for (field, value) in fields {
        if value.is_some() {
            *field = value;
        }
    }
}

fn dynamic_status_info(e: &DynamicUpdateError) -> vx::StatusInfo {
    vx::StatusInfo {
        additional_info: BoundedString::new(e.to_string()).ok(),
        custom_data: None,
        reason_code: BoundedString::new_unchecked(e.reason_code()),
    }
}
