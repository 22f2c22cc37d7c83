//! The version-neutral model of a charging profile.
//!
//! 1.6, 2.0.1 and 2.1 profiles convert into these types (see the `v16`,
//! `v201` and `v21` modules), so that validation, stacking and the
//! composite schedule are written once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a profile is for (`chargingProfilePurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Purpose {
    /// 1.6 `ChargePointMaxProfile`, 2.x `ChargingStationMaxProfile`: caps the
    /// whole station (connector / EVSE 0 only).
    StationMax,
    /// 2.x `ChargingStationExternalConstraints`: set by the station itself
    /// for an external limit (EMS, DSO); the CSMS never sets or clears it.
    ExternalConstraints,
    /// `TxDefaultProfile`: the default for transactions.
    TxDefault,
    /// `TxProfile`: one transaction's profile; it hides `TxDefault`.
    Tx,
    /// 2.1 `PriorityCharging`: replaces Tx/TxDefault in the composite while
    /// priority charging is active for the transaction (K21, K22; see
    /// [`schedule`](super::schedule)).
    PriorityCharging,
    /// 2.1 `LocalGeneration`: locally generated capacity, added on top of
    /// the composite limit (§3.6, K08.FR.04, K27).
    LocalGeneration,
}

/// How the schedule is anchored in time (`chargingProfileKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// From `startSchedule`.
    Absolute,
    /// From `startSchedule`, repeated every day or week.
    Recurring(Recurrency),
    /// From the start of the transaction (or, with none, of the window).
    Relative,
    /// 2.1 `Dynamic`: one schedule with one period whose limit is updated
    /// in place (K28, K29); from `startSchedule` if given, else like
    /// `Relative`.
    Dynamic,
}

/// The repetition of a [`Kind::Recurring`] profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Recurrency {
    /// Every 24 hours.
    Daily,
    /// Every 7 days.
    Weekly,
}

impl Recurrency {
    /// The length of one cycle in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Recurrency::Daily => 86_400,
            Recurrency::Weekly => 7 * 86_400,
        }
    }
}

/// The unit of limits (`chargingRateUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RateUnit {
    /// Amperes per phase.
    A,
    /// Watts, total over all phases.
    W,
}

/// Where an installed profile came from (2.x `chargingLimitSource`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Source {
    /// Set by the CSMS (`CSO`).
    Cso,
    /// An energy management system (`EMS`).
    Ems,
    /// A system operator (`SO`).
    So,
    /// Anything else (`Other`, or a 2.1 open string).
    Other(String),
}

impl Source {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Cso => "CSO",
            Source::Ems => "EMS",
            Source::So => "SO",
            Source::Other(s) => s,
        }
    }

    /// Parses the wire spelling; unknown strings become [`Source::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "CSO" => Source::Cso,
            "EMS" => Source::Ems,
            "SO" => Source::So,
            other => Source::Other(other.to_owned()),
        }
    }
}

/// One period of a schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Seconds from the start of the schedule (`startPeriod`).
    pub start: i32,
    /// The limit in the schedule's unit. `None` (2.1 only: `limit` is
    /// optional there) means this period sets no limit.
    #[serde(with = "decimal_serde::option")]
    pub limit: Option<Decimal>,
    /// `numberPhases`; `None` means the default (3 on AC).
    pub phases: Option<i32>,
    /// The 2.1-only fields of the period (`None`: none given, and always
    /// for 1.6 and 2.0.1). Kept so that a stored profile reports back what
    /// was installed; what the composite makes of them is in
    /// [`schedule`](super::schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Box<PeriodExtras>>,
}

/// 2.1 `operationMode` of a period (absent means `ChargingOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OperationMode {
    /// `Idle`: neither charge nor discharge.
    Idle,
    /// `ChargingOnly`: charge within the limit (the default).
    ChargingOnly,
    /// `CentralSetpoint`: follow the CSMS's setpoint.
    CentralSetpoint,
    /// `ExternalSetpoint`: follow an external system's setpoint.
    ExternalSetpoint,
    /// `ExternalLimits`: limits come from an external system.
    ExternalLimits,
    /// `CentralFrequency`: frequency support controlled centrally.
    CentralFrequency,
    /// `LocalFrequency`: frequency support by the frequency-watt curve.
    LocalFrequency,
    /// `LocalLoadBalancing`: limits set by local load balancing.
    LocalLoadBalancing,
}

/// A point of a 2.1 `v2xFreqWattCurve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreqWattPoint {
    /// Net frequency in Hz.
    #[serde(with = "decimal_serde")]
    pub frequency: Decimal,
    /// Power in W at that frequency (negative: discharge).
    #[serde(with = "decimal_serde")]
    pub power: Decimal,
}

/// A point of a 2.1 `v2xSignalWattCurve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalWattPoint {
    /// Signal value (from an AFRRSignalRequest).
    pub signal: i32,
    /// Power in W at that signal (negative: discharge).
    #[serde(with = "decimal_serde")]
    pub power: Decimal,
}

/// The 2.1-only fields of a `ChargingSchedulePeriod`, in the schedule's
/// unit. `limit_l2`/`limit_l3` (and the `_l2`/`_l3` of the others) are the
/// values of phases L2 and L3; when they are given, the period's
/// [`Period::limit`] (and the plain fields here) are those of phase L1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodExtras {
    /// `limit_L2`.
    #[serde(default, with = "decimal_serde::option")]
    pub limit_l2: Option<Decimal>,
    /// `limit_L3`.
    #[serde(default, with = "decimal_serde::option")]
    pub limit_l3: Option<Decimal>,
    /// `dischargeLimit` (≤ 0).
    #[serde(default, with = "decimal_serde::option")]
    pub discharge_limit: Option<Decimal>,
    /// `dischargeLimit_L2`.
    #[serde(default, with = "decimal_serde::option")]
    pub discharge_limit_l2: Option<Decimal>,
    /// `dischargeLimit_L3`.
    #[serde(default, with = "decimal_serde::option")]
    pub discharge_limit_l3: Option<Decimal>,
    /// `setpoint` (negative: discharge).
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint: Option<Decimal>,
    /// `setpoint_L2`.
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint_l2: Option<Decimal>,
    /// `setpoint_L3`.
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint_l3: Option<Decimal>,
    /// `setpointReactive`.
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint_reactive: Option<Decimal>,
    /// `setpointReactive_L2`.
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint_reactive_l2: Option<Decimal>,
    /// `setpointReactive_L3`.
    #[serde(default, with = "decimal_serde::option")]
    pub setpoint_reactive_l3: Option<Decimal>,
    /// `operationMode` (`None`: `ChargingOnly`).
    #[serde(default)]
    pub operation_mode: Option<OperationMode>,
    /// `phaseToUse` (1..=3, with `numberPhases` 1 and phase switching).
    #[serde(default)]
    pub phase_to_use: Option<i32>,
    /// `preconditioningRequest`.
    #[serde(default)]
    pub preconditioning_request: Option<bool>,
    /// `evseSleep`: turn off the power electronics for this period.
    #[serde(default)]
    pub evse_sleep: Option<bool>,
    /// `v2xBaseline` in W.
    #[serde(default, with = "decimal_serde::option")]
    pub v2x_baseline: Option<Decimal>,
    /// `v2xFreqWattCurve` (empty: none).
    #[serde(default)]
    pub v2x_freq_watt_curve: Vec<FreqWattPoint>,
    /// `v2xSignalWattCurve` (empty: none).
    #[serde(default)]
    pub v2x_signal_watt_curve: Vec<SignalWattPoint>,
}

impl PeriodExtras {
    /// Whether no field is given (such extras are not kept).
    pub fn is_empty(&self) -> bool {
        *self == PeriodExtras::default()
    }
}

/// One schedule of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// 2.x schedule id (`None` for 1.6).
    pub id: Option<i32>,
    /// `startSchedule`.
    pub start: Option<DateTime<Utc>>,
    /// `duration` in seconds; `None` means the last period holds.
    pub duration: Option<i32>,
    /// `chargingRateUnit`.
    pub unit: RateUnit,
    /// `minChargingRate`, a hint in `unit`.
    #[serde(with = "decimal_serde::option")]
    pub min_rate: Option<Decimal>,
    /// The periods, first at 0, ascending.
    pub periods: Vec<Period>,
}

/// A charging profile, whatever the protocol version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `chargingProfileId` (1.6) / `id` (2.x).
    pub id: i32,
    /// `stackLevel`: higher wins within a purpose.
    pub stack_level: i32,
    /// `chargingProfilePurpose`.
    pub purpose: Purpose,
    /// `chargingProfileKind` with its recurrency.
    pub kind: Kind,
    /// `validFrom`.
    pub valid_from: Option<DateTime<Utc>>,
    /// `validTo`.
    pub valid_to: Option<DateTime<Utc>>,
    /// `transactionId` (a 1.6 integer is kept as its decimal text).
    pub transaction_id: Option<String>,
    /// The schedules. 1.6 has exactly one; 2.x one to three (more than
    /// one only with ISO 15118). The composite uses the one the EV
    /// selected, by `id`, else the first (see [`schedule`](super::schedule)).
    pub schedules: Vec<Schedule>,
}

impl Profile {
    /// Whether the validity intervals `[validFrom, validTo)` of the two
    /// profiles overlap (an absent bound is open).
    pub fn validity_overlaps(&self, other: &Profile) -> bool {
        let starts_before_end =
            |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| match (from, to) {
                (Some(f), Some(t)) => f < t,
                _ => true,
            };
        starts_before_end(self.valid_from, other.valid_to)
            && starts_before_end(other.valid_from, self.valid_to)
    }
}

/// Decimals as strings, exact in any serde format (rust_decimal's own serde
/// support is not enabled in this workspace).
pub(crate) mod decimal_serde {
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        v.normalize().to_string().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        Decimal::from_str(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Decimal>`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            v.map(|d| d.normalize().to_string()).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| Decimal::from_str(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}
