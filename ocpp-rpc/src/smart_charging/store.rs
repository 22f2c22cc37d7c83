//! The profiles installed on one charge point: install with the
//! specification's validation, clear, report, and the composite schedule.
//!
//! The store is what a charger persists (it is serde-serialisable) and what
//! a CSMS can mirror to predict the charger. The version front ends
//! (`set_charging_profile_v16`, `..._v201`, `..._v21` and friends, in the
//! `v16`, `v201` and `v21` modules) convert the typed messages and call the
//! version-neutral methods here.
//!
//! OCPP 2.1 specifics:
//!
//! * Limits from an external system (EMS, DSO) are installed by the station
//!   itself ([`ProfileStore::install_external`]): as
//!   `ChargingStationExternalConstraints`, or, when they represent locally
//!   generated capacity, as `LocalGeneration` (K27.FR.01,
//!   [`ProfileStore::install_local_generation`]). The CSMS can neither
//!   replace them by id nor clear them: ClearChargingProfile disregards
//!   external constraints and local generation, whoever installed it
//!   (K10.FR.03, .04, .08, .09).
//! * `PriorityCharging` and `LocalGeneration` profiles and `Dynamic`
//!   profiles from the CSMS are accepted only as the station declares
//!   (K01.FR.120, .121: [`StoreConfig::supported_additional_purposes`],
//!   [`StoreConfig::supports_dynamic_profiles`]; both allow everything by
//!   default).
//! * A `Dynamic` profile keeps its `dynUpdateTime` (the one given, else the
//!   time of receipt, K28.FR.05; reset by every update, K28.FR.09) and its
//!   `dynUpdateInterval`. With an interval above 0 the station pulls
//!   updates (K28.FR.10): a driver sends a PullDynamicScheduleUpdateRequest
//!   for every id of [`ProfileStore::dynamic_pulls_due`], records it with
//!   [`ProfileStore::record_dynamic_pull`], applies the answer with
//!   `pull_dynamic_schedule_update_v21`, and sleeps until
//!   [`ProfileStore::next_dynamic_pull`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::model::{Kind, Profile, Purpose, RateUnit, Source};
use super::schedule::{
    Composite, CompositeOptions, CompositeRequest, TransactionState, composite_with,
};

/// Which specification's rules the store follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dialect {
    /// OCPP 1.6: a profile with the same id, or the same purpose and stack
    /// level on the same connector, replaces the installed one.
    V16,
    /// OCPP 2.0.1 and 2.1: the same id replaces; a different profile with the
    /// same purpose, stack level and EVSE and an overlapping validity is
    /// refused (K01.FR.06, .39, .52, .53).
    V2x,
}

/// The charger's limits, from its configuration (1.6 keys / 2.x variables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Connectors (1.6) or EVSEs (2.x), numbered `1..=evse_count`.
    pub evse_count: i32,
    /// The highest `stackLevel` (1.6 `ChargeProfileMaxStackLevel`, 2.x
    /// `SmartChargingCtrlr.ProfileStackLevel`).
    pub max_stack_level: i32,
    /// Periods per schedule (1.6 `ChargingScheduleMaxPeriods`, 2.x
    /// `SmartChargingCtrlr.PeriodsPerSchedule`).
    pub max_periods: usize,
    /// Installed profiles (1.6 `MaxChargingProfilesInstalled`, 2.x
    /// `SmartChargingCtrlr.Entries`).
    pub max_profiles: usize,
    /// Schedules per profile: 1, or up to 3 with ISO 15118 (2.x).
    pub max_schedules: usize,
    /// Units accepted (1.6 `ChargingScheduleAllowedChargingRateUnit`, 2.x
    /// `SmartChargingCtrlr.RateUnit`); the first is the composite's default.
    pub units: Vec<RateUnit>,
    /// Electrical parameters and the no-limit value of the composite.
    pub composite: CompositeOptions,
    /// 2.1 `SmartChargingCtrlr.SupportedAdditionalPurposes`: which of
    /// `PriorityCharging` and `LocalGeneration` the CSMS may install
    /// (K01.FR.120; other purposes are always allowed). The default holds
    /// both, as before this setting existed; a 2.1 station that does not
    /// support one (the variable absent means neither) leaves it out.
    #[serde(default = "all_additional_purposes")]
    pub supported_additional_purposes: Vec<Purpose>,
    /// 2.1 `SmartChargingCtrlr.SupportsDynamicProfiles`: whether the CSMS
    /// may install `Dynamic` profiles (K01.FR.121). Default `true`, as
    /// before this setting existed; the variable absent means `false`.
    #[serde(default = "yes")]
    pub supports_dynamic_profiles: bool,
}

fn all_additional_purposes() -> Vec<Purpose> {
    vec![Purpose::PriorityCharging, Purpose::LocalGeneration]
}

fn yes() -> bool {
    true
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            evse_count: 1,
            max_stack_level: 8,
            max_periods: 24,
            max_profiles: 32,
            max_schedules: 1,
            units: vec![RateUnit::A, RateUnit::W],
            composite: CompositeOptions::default(),
            supported_additional_purposes: all_additional_purposes(),
            supports_dynamic_profiles: true,
        }
    }
}

/// An installed profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// The connector / EVSE it is installed on (0: the station).
    pub evse: i32,
    /// Who set it.
    pub source: Source,
    /// The profile.
    pub profile: Profile,
    /// 2.1 `dynUpdateTime`: when the limit of this `Dynamic` profile was
    /// last updated ([`ProfileStore::update_dynamic`], K28.FR.09,
    /// K29.FR.06); `None` until then.
    #[serde(default)]
    pub dyn_update_time: Option<DateTime<Utc>>,
    /// 2.1 `dynUpdateInterval` of this `Dynamic` profile, in seconds: when
    /// above 0 the station pulls an update (PullDynamicScheduleUpdate) that
    /// long after the last one (K28.FR.10); see
    /// [`ProfileStore::dynamic_pulls_due`].
    #[serde(default)]
    pub dyn_update_interval: Option<i32>,
    /// When the station last asked for an update of this profile
    /// ([`ProfileStore::record_dynamic_pull`]), so that an unanswered or
    /// rejected pull is not repeated before the next interval.
    #[serde(default)]
    pub dyn_pull_sent: Option<DateTime<Utc>>,
}

impl Installed {
    /// Whether the station installed it from an external system
    /// ([`ProfileStore::install_external`]): an external constraint, or
    /// local generation from another source than the CSMS. The CSMS can
    /// neither replace nor clear these.
    pub fn is_from_station(&self) -> bool {
        match self.profile.purpose {
            Purpose::ExternalConstraints => true,
            Purpose::LocalGeneration => self.source != Source::Cso,
            _ => false,
        }
    }

    /// When this `Dynamic` profile is next due for a pull
    /// (PullDynamicScheduleUpdate, K28.FR.10): `dynUpdateInterval` seconds
    /// after the later of its last update (`dynUpdateTime`) and the last
    /// pull sent; at once when it has neither. `None` when it is not
    /// `Dynamic` or has no interval above 0.
    pub fn next_dynamic_pull(&self) -> Option<DateTime<Utc>> {
        let interval = self.dyn_update_interval.filter(|&i| i > 0)?;
        if self.profile.kind != Kind::Dynamic {
            return None;
        }
        let base = self.dyn_update_time.max(self.dyn_pull_sent);
        Some(match base {
            Some(t) => t
                .checked_add_signed(chrono::TimeDelta::seconds(i64::from(interval)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            None => DateTime::<Utc>::MIN_UTC,
        })
    }
}

/// The transaction running on a connector / EVSE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveTransaction {
    /// Its id (1.6 integer as decimal text).
    pub id: String,
    /// When it started: the anchor of `Relative` profiles.
    pub start: DateTime<Utc>,
    /// The `ChargingSchedule.id` the EV selected among the alternatives of
    /// its TxProfile (ISO 15118, K15.FR.21); `None`: the first schedule.
    /// See [`ProfileStore::select_schedule`].
    #[serde(default)]
    pub selected_schedule: Option<i32>,
    /// Whether 2.1 priority charging is active (K21, K22). See
    /// [`ProfileStore::use_priority_charging`].
    #[serde(default)]
    pub priority_charging: bool,
}

/// Why a profile was refused. Each carries the specification's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No such connector / EVSE (K01.FR.28).
    #[error("unknown connector or evse {0}")]
    UnknownEvse(i32),
    /// Max only on 0, Tx only on > 0 (1.6 §3.13.2, K01.FR.16).
    #[error("purpose {purpose:?} is not allowed on connector or evse {evse}")]
    PurposeNotAllowedHere {
        /// The purpose.
        purpose: Purpose,
        /// Where it was to go.
        evse: i32,
    },
    /// Only the station sets external constraints (K01.FR.22).
    #[error("the csms may not set ChargingStationExternalConstraints")]
    ExternalFromCsms,
    /// A station maximum may not be `Relative` (K01.FR.38).
    #[error("a station maximum profile may not be relative")]
    RelativeStationMax,
    /// `stackLevel` outside `0..=max`.
    #[error("stack level {level} outside 0..={max}")]
    StackLevel {
        /// The level given.
        level: i32,
        /// The configured maximum.
        max: i32,
    },
    /// `validFrom` is not before `validTo`.
    #[error("validFrom is not before validTo")]
    EmptyValidity,
    /// Not 1..=max schedules.
    #[error("{count} schedules, allowed 1..={max}")]
    ScheduleCount {
        /// Schedules given.
        count: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Not 1..=max periods.
    #[error("{count} periods, allowed 1..={max}")]
    PeriodCount {
        /// Periods given.
        count: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The first period does not start at 0 (K01.FR.31).
    #[error("the first period starts at {0}, not 0")]
    FirstPeriodNotZero(i32),
    /// Periods not in strictly ascending order (K01.FR.35).
    #[error("periods are not in ascending order of startPeriod")]
    PeriodsNotAscending,
    /// A negative limit, a negative duration, or `numberPhases` outside 1..=3.
    #[error("invalid period or schedule value: {0}")]
    InvalidValue(&'static str),
    /// The unit is not configured (K01.FR.26).
    #[error("rate unit {0:?} is not supported")]
    UnitNotAllowed(RateUnit),
    /// Absolute/Recurring without `startSchedule` (K01.FR.40).
    #[error("absolute and recurring schedules need startSchedule")]
    MissingStartSchedule,
    /// Relative with `startSchedule` (K01.FR.41).
    #[error("a relative schedule may not have startSchedule")]
    ExtraneousStartSchedule,
    /// Recurring without `recurrencyKind`, or `recurrencyKind` on another kind.
    #[error("recurrencyKind goes with Recurring profiles only, and they need it")]
    Recurrency,
    /// A TxProfile on a connector / EVSE without a transaction (1.6
    /// §5.16, K01.FR.09).
    #[error("no transaction on connector or evse {0}")]
    NoTransaction(i32),
    /// A 2.x TxProfile without `transactionId` (K01.FR.03).
    #[error("a TxProfile needs a transactionId")]
    MissingTransactionId,
    /// `transactionId` is not that of the running transaction (K01.FR.09).
    #[error("transaction {0} is not running there")]
    TransactionMismatch(String),
    /// Same purpose, stack level and EVSE with overlapping validity
    /// (K01.FR.06).
    #[error("profile {0} has the same purpose, stack level and evse")]
    DuplicateProfile(i32),
    /// A TxProfile with the same stack level and transaction (K01.FR.39).
    #[error("TxProfile {0} has the same stack level and transaction")]
    DuplicateTxProfile(i32),
    /// A TxDefault at the same stack level on EVSE 0 and on a specific EVSE
    /// (K01.FR.52, K01.FR.53).
    #[error("TxDefaultProfile {0} has the same stack level on evse 0 or a specific evse")]
    DuplicateTxDefault(i32),
    /// The id belongs to an external constraint, which the CSMS cannot replace.
    #[error("profile {0} is an external constraint")]
    ReplacesExternal(i32),
    /// No room for another profile.
    #[error("already {0} profiles installed")]
    StoreFull(usize),
    /// A 2.1 `Dynamic` profile must have exactly one schedule with one
    /// period (K28.FR.01, .03; K29.FR.01).
    #[error("a dynamic profile has exactly one schedule with one period")]
    DynamicShape,
    /// A 2.1 PriorityCharging schedule may not have a duration (K01.FR.70).
    #[error("a PriorityCharging schedule may not have a duration")]
    PriorityChargingDuration,
    /// 2.1 `dynUpdateInterval` / `dynUpdateTime` on a profile that is not
    /// `Dynamic` (K01.FR.122, K28.FR.04).
    #[error("dynUpdateInterval and dynUpdateTime go with Dynamic profiles only")]
    DynUpdateNotDynamic,
    /// 2.1 `PriorityCharging` or `LocalGeneration` not in
    /// [`StoreConfig::supported_additional_purposes`] (K01.FR.120).
    #[error("purpose {0:?} is not supported")]
    UnsupportedPurpose(Purpose),
    /// A 2.1 `Dynamic` profile while
    /// [`StoreConfig::supports_dynamic_profiles`] is off (K01.FR.121).
    #[error("dynamic profiles are not supported")]
    UnsupportedKind,
}

impl Rejection {
    /// A 2.x `statusInfo.reasonCode` (at most 20 characters).
    pub fn reason_code(&self) -> &'static str {
        match self {
            Rejection::UnknownEvse(_) => "UnknownEvse",
            Rejection::NoTransaction(_)
            | Rejection::MissingTransactionId
            | Rejection::TransactionMismatch(_) => "TxNotFound",
            Rejection::DuplicateProfile(_)
            | Rejection::DuplicateTxProfile(_)
            | Rejection::DuplicateTxDefault(_) => "DuplicateProfile",
            Rejection::UnitNotAllowed(_) => "UnsupportedRateUnit",
            Rejection::StoreFull(_) => "NoCapacity",
            Rejection::UnsupportedPurpose(_) => "UnsupportedPurpose",
            Rejection::UnsupportedKind => "UnsupportedKind",
            Rejection::ScheduleCount { .. }
            | Rejection::PeriodCount { .. }
            | Rejection::FirstPeriodNotZero(_)
            | Rejection::PeriodsNotAscending
            | Rejection::MissingStartSchedule
            | Rejection::ExtraneousStartSchedule
            | Rejection::DynamicShape
            | Rejection::PriorityChargingDuration => "InvalidSchedule",
            _ => "InvalidProfile",
        }
    }
}

/// Why a composite schedule cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompositeError {
    /// No such connector / EVSE.
    #[error("unknown connector or evse {0}")]
    UnknownEvse(i32),
    /// The unit asked for is not supported.
    #[error("rate unit {0:?} is not supported")]
    UnitNotAllowed(RateUnit),
    /// A negative duration.
    #[error("negative duration {0}")]
    NegativeDuration(i32),
}

/// Why priority charging cannot be switched (2.1 UsePriorityCharging).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriorityChargingError {
    /// No ongoing transaction has that id (K21.FR.02: `Rejected`,
    /// `TxNotFound`).
    #[error("no ongoing transaction {0}")]
    TxNotFound(String),
    /// No PriorityCharging profile is installed on EVSE 0 or the EVSE of the
    /// transaction (K21.FR.01: `NoProfile`, `NotFound`; K22.FR.01).
    #[error("no PriorityCharging profile for the evse of transaction {0}")]
    NoProfile(String),
}

/// Why a dynamic schedule update cannot be applied (2.1
/// UpdateDynamicSchedule, PullDynamicScheduleUpdate).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DynamicUpdateError {
    /// No installed profile has that id.
    #[error("no charging profile {0}")]
    UnknownProfile(i32),
    /// The profile is not `Dynamic` (K28.FR.11: `Rejected`,
    /// `InvalidProfile`).
    #[error("charging profile {0} is not dynamic")]
    NotDynamic(i32),
    /// A negative limit.
    #[error("negative limit")]
    NegativeLimit,
}

impl DynamicUpdateError {
    /// A 2.1 `statusInfo.reasonCode`.
    pub fn reason_code(&self) -> &'static str {
        match self {
            DynamicUpdateError::UnknownProfile(_) => "UnknownProfile",
            DynamicUpdateError::NotDynamic(_) => "InvalidProfile",
            DynamicUpdateError::NegativeLimit => "InvalidValue",
        }
    }
}

/// Which profiles [`ProfileStore::clear`] removes: by `id` (the other fields
/// are then ignored), else the AND of the given fields; all with none.
/// External constraints and local generation are never cleared this way
/// (2.1 K10.FR.03, .04, .08, .09).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearFilter {
    /// A profile id.
    pub id: Option<i32>,
    /// A connector / EVSE.
    pub evse: Option<i32>,
    /// A purpose.
    pub purpose: Option<Purpose>,
    /// A stack level.
    pub stack_level: Option<i32>,
}

/// Which profiles [`ProfileStore::report`] lists (2.x GetChargingProfiles):
/// the AND of the given criteria.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// `None`: every EVSE; `Some(0)`: only the station's own profiles.
    pub evse: Option<i32>,
    /// Any of these ids (empty: any id).
    pub ids: Vec<i32>,
    /// A purpose.
    pub purpose: Option<Purpose>,
    /// A stack level.
    pub stack_level: Option<i32>,
    /// Any of these sources (empty: any source).
    pub sources: Vec<Source>,
}

/// The profiles of one charge point, and its running transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileStore {
    dialect: Dialect,
    config: StoreConfig,
    /// Sorted by (evse, id).
    profiles: Vec<Installed>,
    transactions: BTreeMap<i32, ActiveTransaction>,
}

impl ProfileStore {
    /// An empty store following `dialect`.
    pub fn new(dialect: Dialect, config: StoreConfig) -> Self {
        ProfileStore {
            dialect,
            config,
            profiles: Vec::new(),
            transactions: BTreeMap::new(),
        }
    }

    /// The rules followed.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Every installed profile, sorted by connector / EVSE then id.
    pub fn profiles(&self) -> &[Installed] {
        &self.profiles
    }

    /// The transaction running on `evse`.
    pub fn transaction(&self, evse: i32) -> Option<&ActiveTransaction> {
        self.transactions.get(&evse)
    }

    fn known(&self, evse: i32) -> bool {
        (0..=self.config.evse_count).contains(&evse)
    }

    /// Records that a transaction started on `evse` (needed to accept its
    /// TxProfile and to anchor `Relative` profiles).
    pub fn start_transaction(
        &mut self,
        evse: i32,
        id: impl Into<String>,
        start: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        if evse <= 0 || !self.known(evse) {
            return Err(Rejection::UnknownEvse(evse));
        }
        let id = id.into();
        self.transactions.insert(
            evse,
            ActiveTransaction {
                id,
                start,
                selected_schedule: None,
                priority_charging: false,
            },
        );
        Ok(())
    }

    /// Records the `ChargingSchedule.id` the EV selected for the transaction
    /// on `evse` (ISO 15118 `SAScheduleTupleID`, K15.FR.21, K16.FR.14,
    /// K17.FR.18); `None` goes back to the first schedule. The composite of
    /// `evse` then uses that schedule of every profile that has it (see
    /// [`schedule`](super::schedule)); an id no profile has selects nothing.
    pub fn select_schedule(&mut self, evse: i32, id: Option<i32>) -> Result<(), Rejection> {
        let tx = self
            .transactions
            .get_mut(&evse)
            .ok_or(Rejection::NoTransaction(evse))?;
        tx.selected_schedule = id;
        Ok(())
    }

    /// Switches 2.1 priority charging on or off for the ongoing transaction
    /// `transaction_id` (UsePriorityChargingRequest, K21; or the driver at
    /// the station, K22); returns its EVSE.
    ///
    /// Switching on needs a PriorityCharging profile installed on EVSE 0 or
    /// on the EVSE of the transaction (K21.FR.01, .03, K22.FR.01); switching
    /// off is always accepted for an ongoing transaction (K21.FR.06, .07).
    /// It ends with the transaction. While it is on, the composite of the
    /// EVSE applies the PriorityCharging profiles instead of TxProfile and
    /// TxDefaultProfile (K21.FR.04, K22.FR.02, K22.FR.04).
    pub fn use_priority_charging(
        &mut self,
        transaction_id: &str,
        activate: bool,
    ) -> Result<i32, PriorityChargingError> {
        let Some((&evse, _)) = self
            .transactions
            .iter()
            .find(|(_, t)| t.id == transaction_id)
        else {
            return Err(PriorityChargingError::TxNotFound(transaction_id.to_owned()));
        };
        if activate
            && !self.profiles.iter().any(|p| {
                p.profile.purpose == Purpose::PriorityCharging && (p.evse == 0 || p.evse == evse)
            })
        {
            return Err(PriorityChargingError::NoProfile(transaction_id.to_owned()));
        }
        if let Some(tx) = self.transactions.get_mut(&evse) {
            tx.priority_charging = activate;
        }
        Ok(evse)
    }

    /// Applies a new limit to the single period of the 2.1 `Dynamic`
    /// profile `id` (UpdateDynamicScheduleRequest, K28.FR.06; a
    /// PullDynamicScheduleUpdateResponse, K28.FR.08; an external system,
    /// K29.FR.05) and sets its `dynUpdateTime` to `now` (K28.FR.09,
    /// K29.FR.06). Any profile may be updated, external constraints and
    /// local generation included.
    ///
    /// `limit` is in the schedule's unit; `None` leaves the limit as it is
    /// (the update carried only values this model does not hold, such as
    /// setpoints or per-phase limits).
    pub fn update_dynamic(
        &mut self,
        id: i32,
        limit: Option<Decimal>,
        now: DateTime<Utc>,
    ) -> Result<(), DynamicUpdateError> {
        self.update_dynamic_with(id, limit, now, |_| {})
    }

    /// [`update_dynamic`](Self::update_dynamic) that also lets `apply`
    /// change the other values of the single period (2.1 setpoints,
    /// per-phase and discharge limits, in [`Period::extras`](super::model::Period::extras)).
    pub fn update_dynamic_with(
        &mut self,
        id: i32,
        limit: Option<Decimal>,
        now: DateTime<Utc>,
        apply: impl Fn(&mut super::model::Period),
    ) -> Result<(), DynamicUpdateError> {
        if limit.is_some_and(|l| l.is_sign_negative() && !l.is_zero()) {
            return Err(DynamicUpdateError::NegativeLimit);
        }
        let installed = self
            .profiles
            .iter_mut()
            .find(|p| p.profile.id == id)
            .ok_or(DynamicUpdateError::UnknownProfile(id))?;
        if installed.profile.kind != Kind::Dynamic {
            return Err(DynamicUpdateError::NotDynamic(id));
        }
        for schedule in &mut installed.profile.schedules {
            for period in &mut schedule.periods {
                if let Some(limit) = limit {
                    period.limit = Some(limit);
                }
                apply(period);
            }
        }
        installed.dyn_update_time = Some(now);
        Ok(())
    }

    /// Records the 2.1 dynamic bookkeeping of the installed profile `id`:
    /// its `dynUpdateInterval` (K28.FR.10) and `dynUpdateTime` (for a
    /// profile just installed: the one the CSMS gave, else the time of
    /// receipt, K28.FR.05). Does nothing unless the profile is `Dynamic`;
    /// returns whether it was.
    pub fn set_dynamic_bookkeeping(
        &mut self,
        id: i32,
        interval: Option<i32>,
        update_time: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(installed) = self
            .profiles
            .iter_mut()
            .find(|p| p.profile.id == id && p.profile.kind == Kind::Dynamic)
        else {
            return false;
        };
        installed.dyn_update_interval = interval;
        installed.dyn_update_time = update_time;
        installed.dyn_pull_sent = None;
        true
    }

    /// The ids of the `Dynamic` profiles due for a PullDynamicScheduleUpdate
    /// at `now` (K28.FR.10; see [`Installed::next_dynamic_pull`]), in
    /// (evse, id) order. Call [`record_dynamic_pull`](Self::record_dynamic_pull)
    /// for each request sent.
    pub fn dynamic_pulls_due(&self, now: DateTime<Utc>) -> Vec<i32> {
        self.profiles
            .iter()
            .filter(|p| p.next_dynamic_pull().is_some_and(|t| t <= now))
            .map(|p| p.profile.id)
            .collect()
    }

    /// The earliest instant a `Dynamic` profile is due for a pull: when to
    /// wake up next (`None`: no profile pulls).
    pub fn next_dynamic_pull(&self) -> Option<DateTime<Utc>> {
        self.profiles
            .iter()
            .filter_map(Installed::next_dynamic_pull)
            .min()
    }

    /// Records that a PullDynamicScheduleUpdateRequest for profile `id` was
    /// sent at `now`, so that the next one waits a whole interval even if
    /// this one is rejected or unanswered; returns whether `id` is a
    /// `Dynamic` profile.
    pub fn record_dynamic_pull(&mut self, id: i32, now: DateTime<Utc>) -> bool {
        match self
            .profiles
            .iter_mut()
            .find(|p| p.profile.id == id && p.profile.kind == Kind::Dynamic)
        {
            Some(installed) => {
                installed.dyn_pull_sent = Some(now);
                true
            }
            None => false,
        }
    }

    /// Records that the transaction on `evse` ended and deletes its
    /// TxProfiles (they end with their transaction); returns
    /// their ids.
    pub fn end_transaction(&mut self, evse: i32) -> Vec<i32> {
        self.transactions.remove(&evse);
        let mut removed = Vec::new();
        self.profiles.retain(|p| {
            let drop = p.evse == evse && p.profile.purpose == Purpose::Tx;
            if drop {
                removed.push(p.profile.id);
            }
            !drop
        });
        removed
    }

    /// Installs a profile sent by the CSMS on `evse`, with every check of
    /// the dialect; returns the ids of the profiles it replaced.
    pub fn install(&mut self, evse: i32, profile: Profile) -> Result<Vec<i32>, Rejection> {
        // K01.FR.120, K01.FR.121: optional 2.1 features the station declares.
        if matches!(
            profile.purpose,
            Purpose::PriorityCharging | Purpose::LocalGeneration
        ) && !self
            .config
            .supported_additional_purposes
            .contains(&profile.purpose)
        {
            return Err(Rejection::UnsupportedPurpose(profile.purpose));
        }
        if profile.kind == Kind::Dynamic && !self.config.supports_dynamic_profiles {
            return Err(Rejection::UnsupportedKind);
        }
        self.check(evse, &profile)?;
        if profile.purpose == Purpose::ExternalConstraints {
            return Err(Rejection::ExternalFromCsms);
        }
        let replaced = self.replaced_by(evse, &profile)?;
        self.put(evse, profile, Source::Cso, replaced)
    }

    /// Installs a limit set by the station itself from an external system
    /// (an EMS or DSO, K11-K14, K27, K29): the same checks, without the
    /// CSMS-only rules (nor [`StoreConfig::supported_additional_purposes`]
    /// and [`StoreConfig::supports_dynamic_profiles`], which govern the
    /// CSMS); it replaces one with the same id. A profile given with purpose
    /// `LocalGeneration` stays one: the external limit represents locally
    /// generated capacity, which is added on top of the composite (K27.FR.01,
    /// see [`install_local_generation`](Self::install_local_generation));
    /// any other purpose becomes `ExternalConstraints`.
    ///
    /// `source` must not be [`Source::Cso`] (K11.FR.05): it is what tells
    /// the station's own profiles from the CSMS's.
    pub fn install_external(
        &mut self,
        evse: i32,
        mut profile: Profile,
        source: Source,
    ) -> Result<Vec<i32>, Rejection> {
        if profile.purpose != Purpose::LocalGeneration {
            profile.purpose = Purpose::ExternalConstraints;
        }
        self.check(evse, &profile)?;
        let replaced = self
            .profiles
            .iter()
            .filter(|p| p.profile.id == profile.id)
            .map(|p| p.profile.id)
            .collect();
        self.put(evse, profile, source, replaced)
    }

    /// Installs an external schedule or limit that represents locally
    /// generated capacity (K27.FR.01): [`install_external`](Self::install_external)
    /// with the purpose forced to `LocalGeneration`. It is reported by
    /// GetChargingProfiles (K27.FR.02) and never cleared by
    /// ClearChargingProfile (K10.FR.04).
    pub fn install_local_generation(
        &mut self,
        evse: i32,
        mut profile: Profile,
        source: Source,
    ) -> Result<Vec<i32>, Rejection> {
        profile.purpose = Purpose::LocalGeneration;
        self.install_external(evse, profile, source)
    }

    /// Removes, by id, a limit the station installed from an external system
    /// (an external constraint, or local generation not set by the CSMS;
    /// K13); returns whether it existed.
    pub fn remove_external(&mut self, id: i32) -> bool {
        let before = self.profiles.len();
        self.profiles
            .retain(|p| !(p.profile.id == id && p.is_from_station()));
        before != self.profiles.len()
    }

    fn put(
        &mut self,
        evse: i32,
        profile: Profile,
        source: Source,
        replaced: Vec<i32>,
    ) -> Result<Vec<i32>, Rejection> {
        let kept = self
            .profiles
            .iter()
            .filter(|p| !replaced.contains(&p.profile.id))
            .count();
        if kept >= self.config.max_profiles {
            return Err(Rejection::StoreFull(self.profiles.len()));
        }
        self.profiles.retain(|p| !replaced.contains(&p.profile.id));
        let at = self
            .profiles
            .partition_point(|p| (p.evse, p.profile.id) < (evse, profile.id));
        self.profiles.insert(
            at,
            Installed {
                evse,
                source,
                profile,
                dyn_update_time: None,
                dyn_update_interval: None,
                dyn_pull_sent: None,
            },
        );
        Ok(replaced)
    }

    /// The checks that do not depend on the other profiles.
    fn check(&self, evse: i32, profile: &Profile) -> Result<(), Rejection> {
        if !self.known(evse) {
            return Err(Rejection::UnknownEvse(evse));
        }
        let misplaced = match profile.purpose {
            Purpose::StationMax => evse != 0,
            Purpose::Tx => evse == 0,
            _ => false,
        };
        if misplaced {
            return Err(Rejection::PurposeNotAllowedHere {
                purpose: profile.purpose,
                evse,
            });
        }
        if self.dialect == Dialect::V2x
            && profile.purpose == Purpose::StationMax
            && profile.kind == Kind::Relative
        {
            return Err(Rejection::RelativeStationMax);
        }
        if !(0..=self.config.max_stack_level).contains(&profile.stack_level) {
            return Err(Rejection::StackLevel {
                level: profile.stack_level,
                max: self.config.max_stack_level,
            });
        }
        if let (Some(from), Some(to)) = (profile.valid_from, profile.valid_to)
            && from >= to
        {
            return Err(Rejection::EmptyValidity);
        }
        let max_schedules = match self.dialect {
            Dialect::V16 => 1,
            Dialect::V2x => self.config.max_schedules.clamp(1, 3),
        };
        let count = profile.schedules.len();
        if count == 0 || count > max_schedules {
            return Err(Rejection::ScheduleCount {
                count,
                max: max_schedules,
            });
        }
        if profile.kind == Kind::Dynamic
            && (count != 1 || profile.schedules.iter().any(|s| s.periods.len() != 1))
        {
            return Err(Rejection::DynamicShape);
        }
        if profile.purpose == Purpose::PriorityCharging
            && profile.schedules.iter().any(|s| s.duration.is_some())
        {
            return Err(Rejection::PriorityChargingDuration);
        }
        for schedule in &profile.schedules {
            let count = schedule.periods.len();
            if count == 0 || count > self.config.max_periods {
                return Err(Rejection::PeriodCount {
                    count,
                    max: self.config.max_periods,
                });
            }
            if let Some(first) = schedule.periods.first()
                && first.start != 0
            {
                return Err(Rejection::FirstPeriodNotZero(first.start));
            }
            if schedule
                .periods
                .windows(2)
                .any(|w| w[0].start >= w[1].start)
            {
                return Err(Rejection::PeriodsNotAscending);
            }
            for period in &schedule.periods {
                if period
                    .limit
                    .is_some_and(|l| l.is_sign_negative() && !l.is_zero())
                {
                    return Err(Rejection::InvalidValue("negative limit"));
                }
                if period.phases.is_some_and(|n| !(1..=3).contains(&n)) {
                    return Err(Rejection::InvalidValue("numberPhases outside 1..=3"));
                }
            }
            if schedule.duration.is_some_and(|d| d < 0) {
                return Err(Rejection::InvalidValue("negative duration"));
            }
            if !self.config.units.contains(&schedule.unit) {
                return Err(Rejection::UnitNotAllowed(schedule.unit));
            }
            match (profile.kind, schedule.start) {
                (Kind::Absolute | Kind::Recurring(_), None) => {
                    return Err(Rejection::MissingStartSchedule);
                }
                (Kind::Relative, Some(_)) => return Err(Rejection::ExtraneousStartSchedule),
                _ => {}
            }
        }
        if profile.purpose == Purpose::Tx {
            let running = self
                .transactions
                .get(&evse)
                .ok_or(Rejection::NoTransaction(evse))?;
            match &profile.transaction_id {
                None if self.dialect == Dialect::V2x => {
                    return Err(Rejection::MissingTransactionId);
                }
                Some(id) if *id != running.id => {
                    return Err(Rejection::TransactionMismatch(id.clone()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The ids `profile` replaces, or why it clashes with one.
    fn replaced_by(&self, evse: i32, profile: &Profile) -> Result<Vec<i32>, Rejection> {
        let mut replaced = Vec::new();
        for installed in &self.profiles {
            let other = &installed.profile;
            if other.id == profile.id {
                if installed.is_from_station() {
                    return Err(Rejection::ReplacesExternal(other.id));
                }
                replaced.push(other.id);
                continue;
            }
            let same_slot =
                other.purpose == profile.purpose && other.stack_level == profile.stack_level;
            match self.dialect {
                Dialect::V16 => {
                    if same_slot && installed.evse == evse {
                        replaced.push(other.id);
                    }
                }
                Dialect::V2x if same_slot => {
                    let same_evse = installed.evse == evse;
                    if profile.purpose == Purpose::Tx {
                        // K01.FR.39: one TxProfile per stack level and transaction.
                        if other.transaction_id == profile.transaction_id {
                            return Err(Rejection::DuplicateTxProfile(other.id));
                        }
                    } else if same_evse {
                        // K01.FR.06: validity periods may not overlap.
                        if other.validity_overlaps(profile) {
                            return Err(Rejection::DuplicateProfile(other.id));
                        }
                    } else if profile.purpose == Purpose::TxDefault
                        && (installed.evse == 0 || evse == 0)
                    {
                        // K01.FR.52 / K01.FR.53: evse 0 against a specific evse.
                        return Err(Rejection::DuplicateTxDefault(other.id));
                    }
                }
                Dialect::V2x => {}
            }
        }
        Ok(replaced)
    }

    /// Removes the profiles `filter` selects, never external constraints
    /// nor local generation (2.1 K10.FR.03, .04; a match on those only, by
    /// id or by criteria, clears nothing: K10.FR.08, .09); returns their ids
    /// (empty: 1.6 `Unknown`, 2.x `Unknown`).
    pub fn clear(&mut self, filter: &ClearFilter) -> Vec<i32> {
        let mut cleared = Vec::new();
        self.profiles.retain(|p| {
            let hit = !matches!(
                p.profile.purpose,
                Purpose::ExternalConstraints | Purpose::LocalGeneration
            ) && match filter.id {
                Some(id) => p.profile.id == id,
                None => {
                    filter.evse.is_none_or(|e| e == p.evse)
                        && filter.purpose.is_none_or(|x| x == p.profile.purpose)
                        && filter
                            .stack_level
                            .is_none_or(|s| s == p.profile.stack_level)
                }
            };
            if hit {
                cleared.push(p.profile.id);
            }
            !hit
        });
        cleared
    }

    /// Removes the profiles whose `validTo` is at or before `now`; returns
    /// their ids.
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> Vec<i32> {
        let mut purged = Vec::new();
        self.profiles.retain(|p| {
            let expired = p.profile.valid_to.is_some_and(|to| to <= now);
            if expired {
                purged.push(p.profile.id);
            }
            !expired
        });
        purged
    }

    /// The installed profiles `filter` selects, in (evse, id) order.
    pub fn report(&self, filter: &ReportFilter) -> Vec<&Installed> {
        self.profiles
            .iter()
            .filter(|p| {
                filter.evse.is_none_or(|e| e == p.evse)
                    && (filter.ids.is_empty() || filter.ids.contains(&p.profile.id))
                    && filter.purpose.is_none_or(|x| x == p.profile.purpose)
                    && filter
                        .stack_level
                        .is_none_or(|s| s == p.profile.stack_level)
                    && (filter.sources.is_empty() || filter.sources.contains(&p.source))
            })
            .collect()
    }

    /// The composite schedule of `evse` over `[start, start + duration)` in
    /// `unit` (default: the first configured unit), with the selected
    /// schedule and the priority charging state of the transaction on `evse`
    /// (if any); see [`schedule`](super::schedule) for the rules.
    pub fn composite(
        &self,
        evse: i32,
        start: DateTime<Utc>,
        duration: i32,
        unit: Option<RateUnit>,
    ) -> Result<Composite, CompositeError> {
        if !self.known(evse) {
            return Err(CompositeError::UnknownEvse(evse));
        }
        if duration < 0 {
            return Err(CompositeError::NegativeDuration(duration));
        }
        let unit = match unit {
            Some(u) if !self.config.units.contains(&u) => {
                return Err(CompositeError::UnitNotAllowed(u));
            }
            Some(u) => u,
            None => self.config.units.first().copied().unwrap_or(RateUnit::A),
        };
        let request = CompositeRequest {
            evse,
            start,
            duration,
            unit,
        };
        let transaction = self
            .transactions
            .get(&evse)
            .map(|t| TransactionState {
                start: Some(t.start),
                selected_schedule: t.selected_schedule,
                priority_charging: t.priority_charging,
            })
            .unwrap_or_default();
        Ok(composite_with(
            self.profiles.iter().map(|p| (p.evse, &p.profile)),
            &transaction,
            &request,
            &self.config.composite,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Period, Schedule};
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_735_689_600 + secs, 0).unwrap()
    }

    fn installed(kind: Kind, interval: Option<i32>) -> Installed {
        Installed {
            evse: 1,
            source: Source::Cso,
            profile: Profile {
                id: 1,
                stack_level: 0,
                purpose: Purpose::TxDefault,
                kind,
                valid_from: None,
                valid_to: None,
                transaction_id: None,
                schedules: vec![Schedule {
                    id: Some(1),
                    start: None,
                    duration: None,
                    unit: RateUnit::W,
                    min_rate: None,
                    periods: vec![Period::default()],
                }],
            },
            dyn_update_time: None,
            dyn_update_interval: interval,
            dyn_pull_sent: None,
        }
    }

    #[test]
    fn next_dynamic_pull_follows_the_latest_update_or_pull() {
        // (kind, interval, dynUpdateTime, pull sent, next pull)
        let cases = [
            (Kind::Dynamic, Some(60), Some(0), None, Some(at(60))),
            (Kind::Dynamic, Some(60), Some(0), Some(30), Some(at(90))),
            (Kind::Dynamic, Some(60), Some(50), Some(30), Some(at(110))),
            (
                Kind::Dynamic,
                Some(60),
                None,
                None,
                Some(DateTime::<Utc>::MIN_UTC),
            ),
            (Kind::Dynamic, Some(0), Some(0), None, None),
            (Kind::Dynamic, Some(-5), Some(0), None, None),
            (Kind::Dynamic, None, Some(0), None, None),
            (Kind::Relative, Some(60), Some(0), None, None),
        ];
        for (kind, interval, time, sent, next) in cases {
            let mut p = installed(kind, interval);
            p.dyn_update_time = time.map(at);
            p.dyn_pull_sent = sent.map(at);
            assert_eq!(
                p.next_dynamic_pull(),
                next,
                "{kind:?} {interval:?} {time:?} {sent:?}"
            );
        }
    }

    #[test]
    fn only_the_station_own_limits_are_from_the_station() {
        let cases = [
            (Purpose::ExternalConstraints, Source::Ems, true),
            (Purpose::ExternalConstraints, Source::Cso, true),
            (Purpose::LocalGeneration, Source::Ems, true),
            (Purpose::LocalGeneration, Source::Other("PV".into()), true),
            (Purpose::LocalGeneration, Source::Cso, false),
            (Purpose::TxDefault, Source::Ems, false),
        ];
        for (purpose, source, expected) in cases {
            let mut p = installed(Kind::Absolute, None);
            p.profile.purpose = purpose;
            p.source = source;
            assert_eq!(p.is_from_station(), expected, "{purpose:?} {:?}", p.source);
        }
    }

    #[test]
    fn rejections_name_the_2_1_reason_codes() {
        assert_eq!(
            Rejection::UnsupportedPurpose(Purpose::LocalGeneration).reason_code(),
            "UnsupportedPurpose"
        );
        assert_eq!(Rejection::UnsupportedKind.reason_code(), "UnsupportedKind");
    }
}
