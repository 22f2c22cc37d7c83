//! OCPP 1.6: conversions between the typed messages and the model, and the
//! charge point's answers to SetChargingProfile, ClearChargingProfile and
//! GetCompositeSchedule.

use chrono::{DateTime, Utc};
use ocpp_types::v16;

use super::model::{Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule};
use super::schedule::Composite;
use super::store::{ClearFilter, CompositeError, ProfileStore, Rejection};

impl From<v16::ChargingProfilePurposeType> for Purpose {
    fn from(p: v16::ChargingProfilePurposeType) -> Self {
        match p {
            v16::ChargingProfilePurposeType::ChargePointMaxProfile => Purpose::StationMax,
            v16::ChargingProfilePurposeType::TxDefaultProfile => Purpose::TxDefault,
            v16::ChargingProfilePurposeType::TxProfile => Purpose::Tx,
        }
    }
}

/// The 1.6 purpose, if 1.6 has one.
pub fn purpose_to_v16(p: Purpose) -> Option<v16::ChargingProfilePurposeType> {
    match p {
        Purpose::StationMax => Some(v16::ChargingProfilePurposeType::ChargePointMaxProfile),
        Purpose::TxDefault => Some(v16::ChargingProfilePurposeType::TxDefaultProfile),
        Purpose::Tx => Some(v16::ChargingProfilePurposeType::TxProfile),
        _ => None,
    }
}

impl From<v16::ChargingRateUnitType> for RateUnit {
    fn from(u: v16::ChargingRateUnitType) -> Self {
        match u {
            v16::ChargingRateUnitType::A => RateUnit::A,
            v16::ChargingRateUnitType::W => RateUnit::W,
        }
    }
}

impl From<RateUnit> for v16::ChargingRateUnitType {
    fn from(u: RateUnit) -> Self {
        match u {
            RateUnit::A => v16::ChargingRateUnitType::A,
            RateUnit::W => v16::ChargingRateUnitType::W,
        }
    }
}

impl TryFrom<&v16::ChargingProfile> for Profile {
    type Error = Rejection;

    /// Fails only on `recurrencyKind` given without `Recurring`, or missing
    /// with it.
    fn try_from(p: &v16::ChargingProfile) -> Result<Self, Rejection> {
        use v16::ChargingProfileKindType as K;
        let kind = match (p.charging_profile_kind, p.recurrency_kind) {
            (K::Absolute, None) => Kind::Absolute,
            (K::Relative, None) => Kind::Relative,
            (K::Recurring, Some(v16::RecurrencyKindType::Daily)) => {
                Kind::Recurring(Recurrency::Daily)
            }
            (K::Recurring, Some(v16::RecurrencyKindType::Weekly)) => {
                Kind::Recurring(Recurrency::Weekly)
            }
            _ => return Err(Rejection::Recurrency),
        };
        let s = &p.charging_schedule;
        Ok(Profile {
            id: p.charging_profile_id,
            stack_level: p.stack_level,
            purpose: p.charging_profile_purpose.into(),
            kind,
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            transaction_id: p.transaction_id.map(|t| t.to_string()),
            schedules: vec![Schedule {
                id: None,
                start: s.start_schedule,
                duration: s.duration,
                unit: s.charging_rate_unit.into(),
                min_rate: s.min_charging_rate,
                periods: s
                    .charging_schedule_period
                    .iter()
                    .map(|p| Period {
                        start: p.start_period,
                        limit: Some(p.limit),
                        phases: p.number_phases,
                        extras: None,
                    })
                    .collect(),
            }],
        })
    }
}

/// The 1.6 form of a profile: `None` when 1.6 cannot express it (a 2.x-only
/// purpose or kind, a non-integer transaction id, no schedule, or a period
/// without limit).
pub fn profile_to_v16(p: &Profile) -> Option<v16::ChargingProfile> {
    let (kind, recurrency) = match p.kind {
        Kind::Absolute => (v16::ChargingProfileKindType::Absolute, None),
        Kind::Relative => (v16::ChargingProfileKindType::Relative, None),
        Kind::Recurring(r) => (
            v16::ChargingProfileKindType::Recurring,
            Some(match r {
                Recurrency::Daily => v16::RecurrencyKindType::Daily,
                Recurrency::Weekly => v16::RecurrencyKindType::Weekly,
            }),
        ),
        Kind::Dynamic => return None,
    };
    let transaction_id = match &p.transaction_id {
        Some(t) => Some(t.parse().ok()?),
        None => None,
    };
    let s = p.schedules.first()?;
    let periods = s
        .periods
        .iter()
        .map(|q| {
            Some(v16::ChargingSchedulePeriod {
                limit: q.limit?,
                number_phases: q.phases,
                start_period: q.start,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(v16::ChargingProfile {
        charging_profile_id: p.id,
        charging_profile_kind: kind,
        charging_profile_purpose: purpose_to_v16(p.purpose)?,
        charging_schedule: v16::ChargingSchedule {
            charging_rate_unit: s.unit.into(),
            charging_schedule_period: periods,
            duration: s.duration,
            min_charging_rate: s.min_rate,
            start_schedule: s.start,
        },
        recurrency_kind: recurrency,
        stack_level: p.stack_level,
        transaction_id,
        valid_from: p.valid_from,
        valid_to: p.valid_to,
    })
}

impl Composite {
    /// The 1.6 `GetCompositeSchedule.conf`: `scheduleStart` carries the
    /// start, so the schedule's own `startSchedule` is omitted; `duration`
    /// is the window's.
    pub fn to_v16_response(&self) -> v16::GetCompositeScheduleResponse {
        v16::GetCompositeScheduleResponse {
            charging_schedule: Some(v16::ChargingSchedule {
                charging_rate_unit: self.unit.into(),
                charging_schedule_period: self
                    .periods
                    .iter()
                    .map(|p| v16::ChargingSchedulePeriod {
                        limit: p.limit,
                        number_phases: p.phases,
                        start_period: p.start,
                    })
                    .collect(),
                duration: Some(self.duration),
                min_charging_rate: self.min_rate,
                start_schedule: None,
            }),
            connector_id: Some(self.evse),
            schedule_start: Some(self.start),
            status: v16::GetCompositeScheduleStatus::Accepted,
        }
    }
}

impl ProfileStore {
    /// Answers a 1.6 SetChargingProfile.req: `Accepted` when installed,
    /// `Rejected` with the reason otherwise.
    pub fn set_charging_profile_v16(
        &mut self,
        request: &v16::SetChargingProfileRequest,
    ) -> (v16::SetChargingProfileResponse, Result<Vec<i32>, Rejection>) {
        let outcome = Profile::try_from(&request.cs_charging_profiles)
            .and_then(|p| self.install(request.connector_id, p));
        let status = match outcome {
            Ok(_) => v16::ChargingProfileStatus::Accepted,
            Err(_) => v16::ChargingProfileStatus::Rejected,
        };
        (v16::SetChargingProfileResponse { status }, outcome)
    }

    /// Answers a 1.6 ClearChargingProfile.req: `Accepted` when something
    /// was cleared, else `Unknown`.
    pub fn clear_charging_profile_v16(
        &mut self,
        request: &v16::ClearChargingProfileRequest,
    ) -> v16::ClearChargingProfileResponse {
        let cleared = self.clear(&ClearFilter {
            id: request.id,
            evse: request.connector_id,
            purpose: request.charging_profile_purpose.map(Purpose::from),
            stack_level: request.stack_level,
        });
        let status = if cleared.is_empty() {
            v16::ClearChargingProfileStatus::Unknown
        } else {
            v16::ClearChargingProfileStatus::Accepted
        };
        v16::ClearChargingProfileResponse { status }
    }

    /// Answers a 1.6 GetCompositeSchedule.req received at `now`: the window
    /// is `[now, now + duration)`; an unknown connector, a negative duration
    /// or an unsupported unit gives `Rejected`.
    pub fn get_composite_schedule_v16(
        &self,
        request: &v16::GetCompositeScheduleRequest,
        now: DateTime<Utc>,
    ) -> v16::GetCompositeScheduleResponse {
        match self.composite_v16(request, now) {
            Ok(c) => c.to_v16_response(),
            Err(_) => v16::GetCompositeScheduleResponse {
                charging_schedule: None,
                connector_id: None,
                schedule_start: None,
                status: v16::GetCompositeScheduleStatus::Rejected,
            },
        }
    }

    /// The composite a 1.6 GetCompositeSchedule.req asks for.
    pub fn composite_v16(
        &self,
        request: &v16::GetCompositeScheduleRequest,
        now: DateTime<Utc>,
    ) -> Result<Composite, CompositeError> {
        self.composite(
            request.connector_id,
            now,
            request.duration,
            request.charging_rate_unit.map(RateUnit::from),
        )
    }
}
