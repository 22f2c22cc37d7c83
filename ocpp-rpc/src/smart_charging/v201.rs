//! OCPP 2.0.1: conversions between the typed messages and the model, and the
//! charging station's answers to SetChargingProfile, ClearChargingProfile,
//! GetChargingProfiles and GetCompositeSchedule.

use chrono::{DateTime, Utc};
use ocpp_types::BoundedString;
use ocpp_types::v201 as vx;

use super::model::{Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule, Source};
use super::schedule::{Composite, CompositePeriod};
use super::store::{ClearFilter, CompositeError, ProfileStore, Rejection, ReportFilter};

impl From<vx::ChargingProfilePurposeEnum> for Purpose {
    fn from(p: vx::ChargingProfilePurposeEnum) -> Self {
        use vx::ChargingProfilePurposeEnum as P;
        match p {
            P::ChargingStationMaxProfile => Purpose::StationMax,
            P::ChargingStationExternalConstraints => Purpose::ExternalConstraints,
            P::TxDefaultProfile => Purpose::TxDefault,
            P::TxProfile => Purpose::Tx,
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
        Purpose::PriorityCharging | Purpose::LocalGeneration => None,
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

fn source_in(s: vx::ChargingLimitSourceEnum) -> Source {
    match s {
        vx::ChargingLimitSourceEnum::CSO => Source::Cso,
        vx::ChargingLimitSourceEnum::EMS => Source::Ems,
        vx::ChargingLimitSourceEnum::SO => Source::So,
        vx::ChargingLimitSourceEnum::Other => Source::Other("Other".into()),
    }
}

fn source_out(s: &Source) -> vx::ChargingLimitSourceEnum {
    match s {
        Source::Cso => vx::ChargingLimitSourceEnum::CSO,
        Source::Ems => vx::ChargingLimitSourceEnum::EMS,
        Source::So => vx::ChargingLimitSourceEnum::SO,
        Source::Other(_) => vx::ChargingLimitSourceEnum::Other,
    }
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
        _ => return Err(Rejection::Recurrency),
    })
}

fn kind_out(kind: Kind) -> Option<(vx::ChargingProfileKindEnum, Option<vx::RecurrencyKindEnum>)> {
    use vx::ChargingProfileKindEnum as K;
    use vx::RecurrencyKindEnum as R;
    Some(match kind {
        Kind::Absolute => (K::Absolute, None),
        Kind::Relative => (K::Relative, None),
        Kind::Recurring(Recurrency::Daily) => (K::Recurring, Some(R::Daily)),
        Kind::Recurring(Recurrency::Weekly) => (K::Recurring, Some(R::Weekly)),
        Kind::Dynamic => return None,
    })
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
                            limit: Some(q.limit),
                            phases: q.number_phases,
                            extras: None,
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// The 2.0.1 form of a profile: `None` when 2.0.1 cannot express it (a
/// 2.1-only purpose or kind, a period without limit, or a transaction id
/// longer than 36 characters).
pub fn profile_to_v201(p: &Profile) -> Option<vx::ChargingProfile> {
    let (kind, recurrency) = kind_out(p.kind)?;
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
                charging_rate_unit: s.unit.into(),
                charging_schedule_period: s
                    .periods
                    .iter()
                    .map(|q| {
                        Some(vx::ChargingSchedulePeriod {
                            custom_data: None,
                            limit: q.limit?,
                            number_phases: q.phases,
                            phase_to_use: None,
                            start_period: q.start,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
                custom_data: None,
                duration: s.duration,
                id: s
                    .id
                    .unwrap_or_else(|| p.id.saturating_add(i32::try_from(i).unwrap_or(0))),
                min_charging_rate: s.min_rate,
                sales_tariff: None,
                start_schedule: s.start,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(vx::ChargingProfile {
        charging_profile_kind: kind,
        charging_profile_purpose: purpose_out(p.purpose)?,
        charging_schedule: schedules,
        custom_data: None,
        id: p.id,
        recurrency_kind: recurrency,
        stack_level: p.stack_level,
        transaction_id,
        valid_from: p.valid_from,
        valid_to: p.valid_to,
    })
}

fn period_out(p: &CompositePeriod) -> vx::ChargingSchedulePeriod {
    vx::ChargingSchedulePeriod {
        custom_data: None,
        limit: p.limit,
        number_phases: p.phases,
        phase_to_use: None,
        start_period: p.start,
    }
}

fn status_info(reason: &Rejection) -> vx::StatusInfo {
    vx::StatusInfo {
        additional_info: BoundedString::new(reason.to_string()).ok(),
        custom_data: None,
        reason_code: BoundedString::new_unchecked(reason.reason_code()),
    }
}

impl Composite {
    /// The 2.0.1 `CompositeSchedule`.
    pub fn to_v201(&self) -> vx::CompositeSchedule {
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
    /// Answers a 2.0.1 SetChargingProfileRequest: `Accepted` when installed,
    /// else `Rejected` with a `statusInfo` naming the reason.
    pub fn set_charging_profile_v201(
        &mut self,
        request: &vx::SetChargingProfileRequest,
    ) -> (vx::SetChargingProfileResponse, Result<Vec<i32>, Rejection>) {
        let outcome = Profile::try_from(&request.charging_profile)
            .and_then(|p| self.install(request.evse_id, p));
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

    /// Answers a 2.0.1 ClearChargingProfileRequest: by `chargingProfileId`,
    /// else by the AND of the criteria; external constraints are never
    /// cleared. `Unknown` when nothing matched.
    pub fn clear_charging_profile_v201(
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

    /// Answers a 2.0.1 GetChargingProfilesRequest: the response, and the
    /// ReportChargingProfilesRequests to send after it (one per EVSE and
    /// source, `tbc` on all but the last; none with `NoProfiles`).
    pub fn get_charging_profiles_v201(
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
                .map(|s| source_in(*s))
                .collect(),
        };
        let mut reports: Vec<vx::ReportChargingProfilesRequest> = Vec::new();
        for installed in self.report(&filter) {
            let Some(profile) = profile_to_v201(&installed.profile) else {
                continue;
            };
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

    /// Answers a 2.0.1 GetCompositeScheduleRequest received at `now`.
    pub fn get_composite_schedule_v201(
        &self,
        request: &vx::GetCompositeScheduleRequest,
        now: DateTime<Utc>,
    ) -> vx::GetCompositeScheduleResponse {
        match self.composite_v201(request, now) {
            Ok(c) => vx::GetCompositeScheduleResponse {
                custom_data: None,
                schedule: Some(c.to_v201()),
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

    /// The composite a 2.0.1 GetCompositeScheduleRequest asks for.
    pub fn composite_v201(
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
}
