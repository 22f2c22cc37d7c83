//! The composite schedule: what a connector / EVSE may draw over a window.
//!
//! The rules, the same in every version (1.6 §3.13, 2.0.1 K08, 2.1 K08):
//!
//! * A profile applies at instant `t` when `validFrom ≤ t < validTo` and
//!   its schedule has a period at `t`: `Absolute` from `startSchedule`;
//!   `Recurring` from `startSchedule`, restarting every day or week (never
//!   before `startSchedule`); `Relative` from the start of the transaction,
//!   or, on an EVSE without one, from the start of the window ("as if a
//!   transaction started now", 2.0.1 K08); 2.1 `Dynamic` from
//!   `startSchedule` if given, else like `Relative` (its single period
//!   starts at 0, K28.FR.01/.02, so it applies from the start of the window;
//!   its limit is changed in place, see
//!   [`ProfileStore::update_dynamic`](super::store::ProfileStore::update_dynamic)).
//!   A period lasts until the next one, the last until `duration` (or
//!   forever without one, or until the recurrence restarts).
//! * Which schedule of a profile: 2.x profiles may carry up to three
//!   alternative schedules for ISO 15118 (K15.FR.07, K17.FR.07), of which
//!   the EV selects one (K15.FR.21, K16.FR.14, K17.FR.18:
//!   `selectedChargingScheduleId`). A profile takes part with the schedule
//!   whose `id` is [`TransactionState::selected_schedule`]; with no
//!   selection, or when none of its schedules has that id, with its first
//!   schedule (the CSMS is recommended to send only one, K15.FR.18).
//! * Within one purpose on one connector the applicable profile with the
//!   highest `stackLevel` wins. Equal stack levels (which validation keeps
//!   from happening) are broken by the lower limit, then the lower id, so
//!   the result never depends on the order profiles were given in.
//! * The transaction-level limit is the `TxProfile` if one applies, else the
//!   `TxDefaultProfile` of the connector itself if one applies, else the
//!   `TxDefaultProfile` of connector 0 (a connector-specific TxDefault
//!   overrides connector 0's; the fallback is per instant).
//! * 2.1 priority charging: while it is active for the transaction on the
//!   EVSE ([`TransactionState::priority_charging`]), the `PriorityCharging`
//!   profiles of the EVSE and of EVSE 0 (one stack, K21.FR.01: one on EVSE 0
//!   applies to all EVSEs) are the transaction-level limit instead: TxProfile
//!   and TxDefaultProfile are not applied (§3.6, K21.FR.04, K22.FR.02), the
//!   station maximum and external constraints still are. Where no
//!   PriorityCharging profile applies there is then no transaction-level
//!   limit. Without priority charging, PriorityCharging profiles take no part.
//! * The result is the minimum of the station maximum, the external
//!   constraints (2.x; those of EVSE 0 and of the EVSE itself) and the
//!   transaction-level limit, in the requested unit.
//! * 2.1 local generation: the limit of the leading `LocalGeneration`
//!   profile (those of the EVSE and of EVSE 0 form one stack) is added on
//!   top of that minimum (§3.6, SC.01, K08.FR.04; K27: a 5 kW TxDefault and
//!   2 kW of local generation give 7 kW). It adds nothing where no other
//!   profile sets a limit (no limit stays no limit).
//! * Connector / EVSE 0 is the whole station: the minimum of the station
//!   maximum, the external constraints of EVSE 0 and the TxDefault of 0,
//!   plus the local generation of EVSE 0.
//! * Where no profile applies there is no limit. A schedule must be
//!   contiguous, so such a gap is filled with
//!   [`CompositeOptions::no_limit_amps`] (default 48 A per phase, i.e.
//!   33 120 W on 3 phases at 230 V, as EVerest does): configure it to the
//!   hardware maximum of the connector.
//! * A 2.1 period without `limit` applies (it hides lower stack levels) but
//!   sets no limit.
//! * The other 2.1 period fields ([`PeriodExtras`](super::model::PeriodExtras)):
//!   `evseSleep = true` makes the period's limit 0 (the EVSE turns its power
//!   electronics off, so it expects to draw nothing). Per-phase limits
//!   (`limit_L2`, `limit_L3`, with `limit` then phase L1's) are folded into
//!   the one limit of the composite conservatively: the lowest of the three
//!   on every phase (in `W`, times the period's phases), so the composite
//!   never exceeds any phase's limit. Setpoints, discharge limits,
//!   `operationMode`, the V2X curves and baseline, `phaseToUse` and
//!   `preconditioningRequest` do not change the import limit and are not
//!   merged into the composite (it reports limits only); they are kept in
//!   the stored profile and reported back by GetChargingProfiles.
//!
//! Limits are converted between `A` and `W` exactly, with the voltage and the
//! period's `numberPhases` (default 3), and the result is rounded down to
//! the 0.1 steps of OCPP, so it never exceeds any applicable profile.
//! Instants are taken to whole seconds (sub-second parts dropped), as
//! `startPeriod` counts whole seconds.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::model::{Kind, Period, Profile, Purpose, RateUnit, Schedule};
use super::units::{Electrical, floor_tenth};

/// What to compute: a window on one connector / EVSE, in one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompositeRequest {
    /// The connector (1.6) or EVSE (2.x); 0 is the whole station.
    pub evse: i32,
    /// The start of the window (the receipt of the request, for a charger).
    pub start: DateTime<Utc>,
    /// The length of the window in seconds.
    pub duration: i32,
    /// The unit of the result.
    pub unit: RateUnit,
}

/// The transaction on the EVSE, as far as the composite depends on it
/// (see [`composite_with`]). The default is no transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionState {
    /// When it started: the anchor of `Relative` profiles (`None`: the
    /// start of the window).
    pub start: Option<DateTime<Utc>>,
    /// The `ChargingSchedule.id` the EV selected (ISO 15118
    /// `SAScheduleTupleID`, reported as `selectedChargingScheduleId`,
    /// K15.FR.21): a profile with that schedule takes part with it, any
    /// other with its first schedule. `None`: every profile's first.
    pub selected_schedule: Option<i32>,
    /// Whether 2.1 priority charging is active for it (K21.FR.04,
    /// K22.FR.02): PriorityCharging profiles then replace TxProfile and
    /// TxDefaultProfile. Ignored for EVSE 0.
    pub priority_charging: bool,
}

/// How to compute it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeOptions {
    /// Voltage and default phases for `A` ↔ `W`.
    pub electrical: Electrical,
    /// The limit, in amperes per phase, where no profile applies.
    #[serde(with = "super::model::decimal_serde")]
    pub no_limit_amps: Decimal,
}

impl Default for CompositeOptions {
    fn default() -> Self {
        CompositeOptions {
            electrical: Electrical::default(),
            no_limit_amps: Decimal::from(48),
        }
    }
}

impl CompositeOptions {
    /// [`no_limit_amps`](Self::no_limit_amps) in `unit`, on the default phases.
    pub fn no_limit(&self, unit: RateUnit) -> Decimal {
        let phases = self.electrical.phases(None);
        floor_tenth(
            self.electrical
                .convert(self.no_limit_amps, RateUnit::A, unit, phases),
        )
    }
}

/// One period of a composite schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositePeriod {
    /// Seconds from the start of the window.
    pub start: i32,
    /// The limit in the composite's unit, a multiple of 0.1.
    #[serde(with = "super::model::decimal_serde")]
    pub limit: Decimal,
    /// `numberPhases` of the period that set the limit, if it gave one.
    pub phases: Option<i32>,
}

/// A composite schedule: contiguous periods covering the window exactly,
/// the first at 0, adjacent periods different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composite {
    /// The connector / EVSE.
    pub evse: i32,
    /// The start of the window (whole seconds).
    pub start: DateTime<Utc>,
    /// The length of the window in seconds.
    pub duration: i32,
    /// The unit of every limit.
    pub unit: RateUnit,
    /// The periods.
    pub periods: Vec<CompositePeriod>,
    /// `minChargingRate` of the transaction-level schedule in effect at the
    /// start of the window, in `unit` (rounded down to 0.1), if it gives one.
    #[serde(with = "super::model::decimal_serde::option")]
    pub min_rate: Option<Decimal>,
}

impl Composite {
    /// The limit `offset` seconds into the window (`None` outside it).
    pub fn limit_at(&self, offset: i32) -> Option<Decimal> {
        if offset < 0 || (offset >= self.duration && self.duration > 0) {
            return None;
        }
        self.periods
            .iter()
            .take_while(|p| p.start <= offset)
            .last()
            .map(|p| p.limit)
    }
}

/// Which rule a profile takes part in, for the EVSE being computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    StationMax,
    ExternalStation,
    ExternalEvse,
    Tx,
    TxDefaultEvse,
    TxDefaultStation,
    /// 2.1 PriorityCharging of the EVSE or of EVSE 0, while active.
    Priority,
    /// 2.1 LocalGeneration of the EVSE or of EVSE 0.
    LocalGeneration,
}

const ROLES: usize = 8;

fn role(purpose: Purpose, on: i32, evse: i32, priority: bool) -> Option<Role> {
    match (purpose, on == 0, on == evse) {
        (Purpose::PriorityCharging, station, own) => {
            (priority && (station || own)).then_some(Role::Priority)
        }
        (Purpose::LocalGeneration, station, own) => {
            (station || own).then_some(Role::LocalGeneration)
        }
        (Purpose::StationMax, true, _) => Some(Role::StationMax),
        (Purpose::ExternalConstraints, true, _) => Some(Role::ExternalStation),
        (Purpose::ExternalConstraints, false, true) => Some(Role::ExternalEvse),
        (Purpose::TxDefault, true, _) => Some(Role::TxDefaultStation),
        (Purpose::TxDefault, false, true) => Some(Role::TxDefaultEvse),
        (Purpose::Tx, false, true) => Some(Role::Tx),
        _ => None,
    }
}

/// A profile placed in time: every instant as a whole second since the epoch.
struct Timed<'a> {
    role: Role,
    id: i32,
    stack_level: i32,
    schedule: &'a Schedule,
    valid_from: Option<i64>,
    valid_to: Option<i64>,
    /// `None`: the schedule never starts (Absolute/Recurring without start).
    anchor: Option<i64>,
    cycle: Option<i64>,
}

impl<'a> Timed<'a> {
    fn new(
        role: Role,
        profile: &'a Profile,
        transaction_start: Option<i64>,
        window_start: i64,
        selected: Option<i32>,
    ) -> Option<Self> {
        let schedule = selected
            .and_then(|id| profile.schedules.iter().find(|s| s.id == Some(id)))
            .or_else(|| profile.schedules.first())?;
        let start = schedule.start.map(|s| s.timestamp());
        let relative = transaction_start.unwrap_or(window_start);
        let (anchor, cycle) = match profile.kind {
            Kind::Absolute => (start, None),
            Kind::Recurring(r) => (start, Some(r.seconds())),
            Kind::Relative => (Some(relative), None),
            Kind::Dynamic => (Some(start.unwrap_or(relative)), None),
        };
        Some(Timed {
            role,
            id: profile.id,
            stack_level: profile.stack_level,
            schedule,
            valid_from: profile.valid_from.map(|t| t.timestamp()),
            valid_to: profile.valid_to.map(|t| t.timestamp()),
            anchor,
            cycle,
        })
    }

    /// The period in force at `t`, if any, and the next instant after `t`
    /// at which that may change (`i64::MAX`: never).
    fn at(&self, t: i64) -> (Option<&'a Period>, i64) {
        let mut next = i64::MAX;
        if let Some(from) = self.valid_from
            && t < from
        {
            return (None, from);
        }
        if let Some(to) = self.valid_to {
            if t >= to {
                return (None, i64::MAX);
            }
            next = to;
        }
        let Some(anchor) = self.anchor else {
            return (None, next);
        };
        if t < anchor {
            return (None, next.min(anchor));
        }
        let cycle_start = match self.cycle {
            Some(len) => {
                let start = anchor + (t - anchor).div_euclid(len) * len;
                next = next.min(start.saturating_add(len));
                start
            }
            None => anchor,
        };
        let elapsed = t - cycle_start;
        if let Some(duration) = self.schedule.duration {
            let duration = i64::from(duration);
            if elapsed >= duration {
                return (None, next);
            }
            next = next.min(cycle_start + duration);
        }
        let mut current: Option<&Period> = None;
        for period in &self.schedule.periods {
            let s = i64::from(period.start);
            if s <= elapsed {
                if current.is_none_or(|c| c.start <= period.start) {
                    current = Some(period);
                }
            } else {
                next = next.min(cycle_start + s);
            }
        }
        (current, next)
    }
}

/// The contribution of one role at one instant.
#[derive(Clone, Copy)]
struct Contribution<'a> {
    stack_level: i32,
    id: i32,
    /// Exact limit in the requested unit; `None`: no limit.
    limit: Option<Decimal>,
    period: &'a Period,
    schedule: &'a Schedule,
}

impl Contribution<'_> {
    /// Whether `self` beats `other` within the same role: the higher stack
    /// level, then the lower limit (none is the highest), then the lower id.
    fn beats(&self, other: &Self) -> bool {
        if self.stack_level != other.stack_level {
            return self.stack_level > other.stack_level;
        }
        match (self.limit, other.limit) {
            (Some(a), Some(b)) if a != b => a < b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            _ => self.id < other.id,
        }
    }
}

/// The limit a period sets, in its schedule's `unit`, with its 2.1 extras
/// (see the module docs): `evseSleep` sets 0; per-phase limits give the
/// lowest phase's, on every phase.
fn period_limit(period: &Period, unit: RateUnit, phases: i32) -> Option<Decimal> {
    let Some(extras) = period.extras.as_deref() else {
        return period.limit;
    };
    if extras.evse_sleep == Some(true) {
        return Some(Decimal::ZERO);
    }
    if extras.limit_l2.is_none() && extras.limit_l3.is_none() {
        return period.limit;
    }
    let lowest = [period.limit, extras.limit_l2, extras.limit_l3]
        .into_iter()
        .flatten()
        .min()?;
    Some(match unit {
        // Per-phase watts: a balanced load within the lowest phase.
        RateUnit::W => lowest * Decimal::from(phases),
        RateUnit::A => lowest,
    })
}

/// Computes the composite schedule of `request.evse` from the installed
/// `profiles`, each with the connector / EVSE it is installed on.
/// `transaction_start` is the start of the transaction on that EVSE, for
/// `Relative` profiles; no schedule is selected and priority charging is
/// off (see [`composite_with`]).
///
/// Pure and deterministic: the same inputs give the same output, whatever
/// their order.
pub fn composite<'a>(
    profiles: impl IntoIterator<Item = (i32, &'a Profile)>,
    transaction_start: Option<DateTime<Utc>>,
    request: &CompositeRequest,
    options: &CompositeOptions,
) -> Composite {
    let transaction = TransactionState {
        start: transaction_start,
        ..TransactionState::default()
    };
    composite_with(profiles, &transaction, request, options)
}

/// [`composite`] with the whole [`TransactionState`] of the EVSE: the
/// schedule the EV selected and whether priority charging is active, as
/// well as the start.
///
/// Pure and deterministic: the same inputs give the same output, whatever
/// their order.
pub fn composite_with<'a>(
    profiles: impl IntoIterator<Item = (i32, &'a Profile)>,
    transaction: &TransactionState,
    request: &CompositeRequest,
    options: &CompositeOptions,
) -> Composite {
    let t0 = request.start.timestamp();
    let duration = request.duration.max(0);
    let end = t0 + i64::from(duration);
    let tx_start = transaction.start.map(|t| t.timestamp());
    let priority = transaction.priority_charging && request.evse > 0;
    let timed: Vec<Timed<'a>> = profiles
        .into_iter()
        .filter_map(|(on, p)| {
            let role = role(p.purpose, on, request.evse, priority)?;
            Timed::new(role, p, tx_start, t0, transaction.selected_schedule)
        })
        .collect();
    let no_limit = options.no_limit(request.unit);
    let electrical = &options.electrical;

    let mut periods: Vec<CompositePeriod> = Vec::new();
    let mut min_rate = None;
    let mut t = t0;
    loop {
        let mut best: [Option<Contribution<'a>>; ROLES] = [None; ROLES];
        let mut next = i64::MAX;
        for p in &timed {
            let (period, change) = p.at(t);
            next = next.min(change);
            let Some(period) = period else { continue };
            let phases = electrical.phases(period.phases);
            let candidate = Contribution {
                stack_level: p.stack_level,
                id: p.id,
                limit: period_limit(period, p.schedule.unit, phases)
                    .map(|l| electrical.convert(l, p.schedule.unit, request.unit, phases)),
                period,
                schedule: p.schedule,
            };
            let slot = &mut best[p.role as usize];
            if slot.is_none_or(|b| candidate.beats(&b)) {
                *slot = Some(candidate);
            }
        }
        let tx_level = if priority {
            best[Role::Priority as usize]
        } else {
            best[Role::Tx as usize]
                .or(best[Role::TxDefaultEvse as usize])
                .or(best[Role::TxDefaultStation as usize])
        };
        if t == t0 {
            min_rate = tx_level.and_then(|c| {
                let phases = electrical.phases(c.period.phases);
                c.schedule.min_rate.map(|m| {
                    floor_tenth(electrical.convert(m, c.schedule.unit, request.unit, phases))
                })
            });
        }
        let binding = [
            best[Role::StationMax as usize],
            best[Role::ExternalStation as usize],
            best[Role::ExternalEvse as usize],
            tx_level,
        ]
        .into_iter()
        .flatten()
        .filter_map(|c| c.limit.map(|l| (l, c.period.phases)))
        .reduce(|a, b| if b.0 < a.0 { b } else { a });
        let generation = best[Role::LocalGeneration as usize]
            .and_then(|c| c.limit)
            .unwrap_or(Decimal::ZERO);
        let (limit, phases) = match binding {
            Some((l, phases)) => (floor_tenth((l + generation).max(Decimal::ZERO)), phases),
            None => (no_limit, None),
        };
        let offset = i32::try_from(t - t0).unwrap_or(i32::MAX);
        if periods
            .last()
            .is_none_or(|last| last.limit != limit || last.phases != phases)
        {
            periods.push(CompositePeriod {
                start: offset,
                limit,
                phases,
            });
        }
        let step_end = next.max(t + 1).min(end);
        if step_end >= end {
            break;
        }
        t = step_end;
    }
    Composite {
        evse: request.evse,
        start: DateTime::from_timestamp(t0, 0).unwrap_or(request.start),
        duration,
        unit: request.unit,
        periods,
        min_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::PeriodExtras;
    use super::*;

    fn period(limit: Option<i64>, extras: Option<PeriodExtras>) -> Period {
        Period {
            start: 0,
            limit: limit.map(Decimal::from),
            phases: None,
            extras: extras.map(Box::new),
        }
    }

    #[test]
    fn period_limits_fold_the_2_1_extras() {
        let l2_l3 = |l2: i64, l3: i64| PeriodExtras {
            limit_l2: Some(Decimal::from(l2)),
            limit_l3: Some(Decimal::from(l3)),
            ..PeriodExtras::default()
        };
        let sleep = PeriodExtras {
            evse_sleep: Some(true),
            ..PeriodExtras::default()
        };
        // (period, unit, phases, limit)
        let cases = [
            (period(Some(16), None), RateUnit::A, 3, Some(16)),
            (period(None, None), RateUnit::A, 3, None),
            (period(None, Some(sleep.clone())), RateUnit::W, 3, Some(0)),
            (
                period(Some(16), Some(l2_l3(10, 12))),
                RateUnit::A,
                3,
                Some(10),
            ),
            (
                period(Some(900), Some(l2_l3(1000, 800))),
                RateUnit::W,
                3,
                Some(2400),
            ),
            (
                period(Some(900), Some(l2_l3(1000, 800))),
                RateUnit::W,
                1,
                Some(800),
            ),
            (period(None, Some(l2_l3(10, 12))), RateUnit::A, 3, Some(10)),
            (
                period(Some(7), Some(PeriodExtras::default())),
                RateUnit::A,
                3,
                Some(7),
            ),
        ];
        for (p, unit, phases, expected) in cases {
            assert_eq!(
                period_limit(&p, unit, phases),
                expected.map(Decimal::from),
                "{p:?}"
            );
        }
    }
}
