//! Sharing a site limit among charging sessions (for a CSMS).
//!
//! [`share`] turns a site limit and the active sessions into one limit per
//! session, to send as a TxProfile ([`tx_profile`], then
//! [`profile_to_v16`](super::v16::profile_to_v16),
//! [`profile_to_v201`](super::v201::profile_to_v201) or
//! [`profile_to_v21`](super::v21::profile_to_v21); for 2.1 directly
//! [`tx_profile_v21`] or the whole request, [`tx_request_v21`]). The rules:
//!
//! 1. **Never more than the site limit**, never more than a session's
//!    connector maximum. Limits are multiples of 0.1 (rounded down).
//! 2. **Minimums first, by priority**: in order of priority (higher first,
//!    then key), each session gets its minimum rate if what is left allows
//!    it; otherwise it is paused (limit 0), never given less than its
//!    minimum.
//! 3. **Max-min fairness within a priority, strict priority between them**:
//!    what is left is water-filled over the highest priority (every
//!    session rises to a common level, capped at its maximum), then what is
//!    still left over the next priority, and so on.
//! 4. **Stability**: given the previous allocation, a session keeps its
//!    previous limit when the fair one differs by at most
//!    [`SiteLimit::deadband`], it is still within its minimum and maximum,
//!    it is not switched between paused and charging, and the site limit
//!    still holds. So a session starting or ending changes only the limits
//!    that must change; [`Allocation::changes`] lists them.
//!
//! With the site limit in `A` (per phase) every session is counted on every
//! phase, which bounds each phase's current from above (a 1-phase session
//! loads one phase only): conservative for mixed installations.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::model::{Kind, Period, Profile, Purpose, RateUnit, Schedule};
use super::units::{ceil_tenth, floor_tenth};

/// The limit of the site (grid connection or a circuit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteLimit {
    /// The limit, in `unit`.
    pub limit: Decimal,
    /// `A` per phase or `W` total; sessions are given in the same unit.
    pub unit: RateUnit,
    /// The largest change from a previous limit that is not worth sending.
    pub deadband: Decimal,
}

impl SiteLimit {
    /// A limit in amperes per phase, with a deadband of 0.5 A.
    pub fn amps(limit: Decimal) -> Self {
        SiteLimit {
            limit,
            unit: RateUnit::A,
            deadband: Decimal::new(5, 1),
        }
    }

    /// A limit in watts, with a deadband of 345 W (0.5 A on 3 × 230 V).
    pub fn watts(limit: Decimal) -> Self {
        SiteLimit {
            limit,
            unit: RateUnit::W,
            deadband: Decimal::from(345),
        }
    }
}

/// An active session asking for power.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDemand {
    /// A key unique among the sessions (e.g. charge point id + transaction).
    pub key: String,
    /// What the connector (or the EV) can take, in the site's unit.
    pub max: Decimal,
    /// The least it may be given when charging (`minChargingRate`); below
    /// it the session is paused.
    pub min: Option<Decimal>,
    /// Higher is served first.
    pub priority: i32,
}

/// One limit per session, in the site's unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// Session key → limit (0: paused).
    pub limits: BTreeMap<String, Decimal>,
}

/// A session whose limit changed between two allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The session.
    pub key: String,
    /// Its previous limit (`None`: new).
    pub before: Option<Decimal>,
    /// Its new limit (`None`: ended).
    pub after: Option<Decimal>,
}

impl Allocation {
    /// The sum of all limits.
    pub fn total(&self) -> Decimal {
        self.limits.values().copied().sum()
    }

    /// The limit of a session.
    pub fn get(&self, key: &str) -> Option<Decimal> {
        self.limits.get(key).copied()
    }

    /// What differs from `previous`: the TxProfiles to send (or, for
    /// ended sessions, forget), in key order.
    pub fn changes(&self, previous: &Allocation) -> Vec<Change> {
        let mut keys: Vec<&String> = self.limits.keys().chain(previous.limits.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let before = previous.get(k);
                let after = self.get(k);
                (before != after).then(|| Change {
                    key: k.clone(),
                    before,
                    after,
                })
            })
            .collect()
    }
}

/// A session with its bounds rounded to 0.1 (max down, min up).
struct Bounds<'a> {
    key: &'a str,
    priority: i32,
    min: Decimal,
    max: Decimal,
}

/// Shares `site` among `sessions`; see the [module docs](self) for the
/// rules. Pure and deterministic; the order of `sessions` does not matter
/// (keys break ties). A later duplicate key is ignored.
pub fn share(
    site: &SiteLimit,
    sessions: &[SessionDemand],
    previous: Option<&Allocation>,
) -> Allocation {
    let budget_total = floor_tenth(site.limit.max(Decimal::ZERO));
    let mut bounds: Vec<Bounds<'_>> = sessions
        .iter()
        .map(|s| {
            let max = floor_tenth(s.max.max(Decimal::ZERO));
            let min = ceil_tenth(s.min.unwrap_or(Decimal::ZERO).max(Decimal::ZERO));
            Bounds {
                key: &s.key,
                priority: s.priority,
                min,
                max,
            }
        })
        .collect();
    bounds.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.key.cmp(b.key)));
    bounds.dedup_by(|later, earlier| later.key == earlier.key);

    // 1. Minimums, by priority; a session whose minimum does not fit is paused.
    let mut budget = budget_total;
    let mut given: Vec<Option<Decimal>> = Vec::with_capacity(bounds.len());
    for b in &bounds {
        if b.min <= b.max && b.min <= budget {
            budget -= b.min;
            given.push(Some(b.min));
        } else {
            given.push(None);
        }
    }

    // 2. Water-filling, one priority at a time.
    let mut fair: Vec<Decimal> = given.iter().map(|g| g.unwrap_or(Decimal::ZERO)).collect();
    let mut start = 0;
    while start < bounds.len() {
        let priority = bounds[start].priority;
        let end = start
            + bounds[start..]
                .iter()
                .take_while(|b| b.priority == priority)
                .count();
        let tier: Vec<usize> = (start..end).filter(|&i| given[i].is_some()).collect();
        let floors: Vec<(Decimal, Decimal)> =
            tier.iter().map(|&i| (fair[i], bounds[i].max)).collect();
        let level = water_level(&floors, budget);
        for &i in &tier {
            let value = floor_tenth(fair[i].max(level.min(bounds[i].max)));
            budget -= value - fair[i];
            fair[i] = value;
        }
        start = end;
    }

    // 3. Stability: keep previous limits within the deadband where allowed.
    let mut limits = fair.clone();
    if let Some(previous) = previous {
        let keepable = |i: usize| -> Option<Decimal> {
            let p = previous.get(bounds[i].key)?;
            let f = fair[i];
            let same_state = (p.is_zero()) == (f.is_zero());
            let within = p.is_zero() || (bounds[i].min <= p && p <= bounds[i].max);
            (p != f && same_state && within && (p - f).abs() <= site.deadband).then_some(p)
        };
        let mut total: Decimal = limits.iter().copied().sum();
        for i in 0..bounds.len() {
            if let Some(p) = keepable(i)
                && p < fair[i]
            {
                total -= fair[i] - p;
                limits[i] = p;
            }
        }
        for i in 0..bounds.len() {
            if let Some(p) = keepable(i)
                && p > fair[i]
                && total + (p - fair[i]) <= budget_total
            {
                total += p - fair[i];
                limits[i] = p;
            }
        }
    }
    Allocation {
        limits: bounds
            .iter()
            .zip(limits)
            .map(|(b, l)| (b.key.to_owned(), l))
            .collect(),
    }
}

/// The level `L` at which `Σ max(0, min(L, max_i) − floor_i) = budget`, for
/// sessions `(floor_i, max_i)` with `floor_i ≤ max_i`; the highest maximum
/// when the budget covers everyone.
fn water_level(sessions: &[(Decimal, Decimal)], budget: Decimal) -> Decimal {
    let mut points: Vec<Decimal> = sessions.iter().flat_map(|&(f, m)| [f, m]).collect();
    points.sort();
    points.dedup();
    let raised = |level: Decimal| -> Decimal {
        sessions
            .iter()
            .map(|&(f, m)| (level.min(m) - f).max(Decimal::ZERO))
            .sum()
    };
    let Some(&top) = points.last() else {
        return Decimal::ZERO;
    };
    if raised(top) <= budget {
        return top;
    }
    // Find the segment [lo, hi] of breakpoints where the budget runs out;
    // the function is linear on it, with slope = sessions rising there.
    let mut lo = points[0];
    for &hi in &points[1..] {
        let at_hi = raised(hi);
        if at_hi >= budget {
            let at_lo = raised(lo);
            let slope = sessions.iter().filter(|&&(f, m)| f <= lo && lo < m).count();
            if slope == 0 {
                return lo;
            }
            return lo + (budget - at_lo) / Decimal::from(slope);
        }
        lo = hi;
    }
    top
}

/// A TxProfile holding `limit` for the rest of a transaction: `Relative`,
/// one period at 0, no duration. Convert it with
/// [`profile_to_v16`](super::v16::profile_to_v16) (numeric transaction id)
/// or [`profile_to_v201`](super::v201::profile_to_v201).
pub fn tx_profile(
    id: i32,
    stack_level: i32,
    transaction_id: impl Into<String>,
    limit: Decimal,
    unit: RateUnit,
) -> Profile {
    Profile {
        id,
        stack_level,
        purpose: Purpose::Tx,
        kind: Kind::Relative,
        valid_from: None,
        valid_to: None,
        transaction_id: Some(transaction_id.into()),
        schedules: vec![Schedule {
            id: Some(id),
            start: None,
            duration: None,
            unit,
            min_rate: None,
            periods: vec![Period {
                start: 0,
                limit: Some(limit),
                phases: None,
                extras: None,
            }],
        }],
    }
}

/// [`tx_profile`] as a 2.1 `ChargingProfile` (no `operationMode`, i.e.
/// `ChargingOnly`); `None` when the transaction id is longer than 36
/// characters.
pub fn tx_profile_v21(
    id: i32,
    stack_level: i32,
    transaction_id: impl Into<String>,
    limit: Decimal,
    unit: RateUnit,
) -> Option<ocpp_types::v21::ChargingProfile> {
    super::v21::profile_to_v21(&tx_profile(id, stack_level, transaction_id, limit, unit))
}

/// The 2.1 SetChargingProfileRequest that sets [`tx_profile_v21`] on
/// `evse_id`, the EVSE of the transaction; `None` as for
/// [`tx_profile_v21`].
pub fn tx_request_v21(
    evse_id: i32,
    id: i32,
    stack_level: i32,
    transaction_id: impl Into<String>,
    limit: Decimal,
    unit: RateUnit,
) -> Option<ocpp_types::v21::SetChargingProfileRequest> {
    Some(ocpp_types::v21::SetChargingProfileRequest {
        charging_profile: tx_profile_v21(id, stack_level, transaction_id, limit, unit)?,
        custom_data: None,
        evse_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn water_level_splits_evenly_and_caps() {
        let level = water_level(
            &[(d("0"), d("10")), (d("0"), d("32")), (d("0"), d("32"))],
            d("60"),
        );
        assert_eq!(level, d("25"));
        let level = water_level(&[(d("6"), d("32")), (d("0"), d("32"))], d("20"));
        assert_eq!(level, d("13"));
    }
}
