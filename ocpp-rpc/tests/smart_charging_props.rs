//! Properties of the composite schedule and of load sharing, against a naive
//! oracle written from the rules.

use chrono::{DateTime, Duration, Utc};
use ocpp_rpc::smart_charging::load_sharing::{SessionDemand, SiteLimit, share};
use ocpp_rpc::smart_charging::units::floor_tenth;
use ocpp_rpc::smart_charging::{
    Composite, CompositeOptions, CompositeRequest, Kind, Period, Profile, Purpose, RateUnit,
    Recurrency, Schedule, composite,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn t(secs: i64) -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

const DAY: i64 = 86_400;

fn tenth() -> impl Strategy<Value = Decimal> {
    (0i64..=800).prop_map(|n| Decimal::new(n, 1))
}

fn placed_profile() -> impl Strategy<Value = (i32, Profile)> {
    let placement = prop_oneof![
        Just((0, Purpose::StationMax)),
        Just((0, Purpose::TxDefault)),
        Just((1, Purpose::TxDefault)),
        Just((1, Purpose::Tx)),
        Just((0, Purpose::ExternalConstraints)),
        Just((1, Purpose::ExternalConstraints)),
    ];
    let kind = prop_oneof![
        Just(Kind::Absolute),
        Just(Kind::Relative),
        Just(Kind::Recurring(Recurrency::Daily)),
        Just(Kind::Recurring(Recurrency::Weekly)),
    ];
    let periods = prop::collection::vec((1i32..20_000, tenth(), prop::option::of(1i32..=3)), 0..5);
    (
        placement,
        kind,
        0i32..4,
        -2 * DAY..DAY,
        prop::option::of(1i32..(2 * DAY as i32)),
        prop::option::of(-DAY..2 * DAY),
        prop::option::of(0..2 * DAY),
        (tenth(), periods),
        prop::bool::ANY,
        0i32..1000,
    )
        .prop_map(
            |(
                (evse, purpose),
                kind,
                stack_level,
                start,
                duration,
                from,
                len,
                (first, rest),
                watts,
                id,
            )| {
                let mut at = 0;
                let mut list = vec![Period {
                    start: 0,
                    limit: Some(first),
                    phases: None,
                    extras: None,
                }];
                for (gap, limit, phases) in rest {
                    at += gap;
                    list.push(Period {
                        start: at,
                        limit: Some(if watts {
                            limit * Decimal::from(100)
                        } else {
                            limit
                        }),
                        phases,
                        extras: None,
                    });
                }
                let unit = if watts { RateUnit::W } else { RateUnit::A };
                if watts {
                    list[0].limit = list[0].limit.map(|l| l * Decimal::from(100));
                }
                (
                    evse,
                    Profile {
                        id,
                        stack_level,
                        purpose,
                        kind,
                        valid_from: from.map(t),
                        valid_to: from.zip(len).map(|(f, l)| t(f + l + 1)),
                        transaction_id: None,
                        schedules: vec![Schedule {
                            id: None,
                            start: (kind != Kind::Relative).then(|| t(start)),
                            duration,
                            unit,
                            min_rate: None,
                            periods: list,
                        }],
                    },
                )
            },
        )
}

/// The exact limit (in `unit`) one profile sets at `t`, from the definition:
/// `None` if it has no period then, `Some(None)` for a period without limit.
fn oracle_one(p: &Profile, at: i64, tx_start: i64, unit: RateUnit) -> Option<Option<Decimal>> {
    let options = CompositeOptions::default();
    if p.valid_from.is_some_and(|f| at < f.timestamp())
        || p.valid_to.is_some_and(|v| at >= v.timestamp())
    {
        return None;
    }
    let s = &p.schedules[0];
    let mut anchor = match p.kind {
        Kind::Relative => tx_start,
        _ => s.start?.timestamp(),
    };
    if at < anchor {
        return None;
    }
    if let Kind::Recurring(r) = p.kind {
        while anchor + r.seconds() <= at {
            anchor += r.seconds();
        }
    }
    let elapsed = at - anchor;
    if s.duration.is_some_and(|d| elapsed >= i64::from(d)) {
        return None;
    }
    let period = s
        .periods
        .iter()
        .rev()
        .find(|q| i64::from(q.start) <= elapsed)?;
    let phases = options.electrical.phases(period.phases);
    Some(
        period
            .limit
            .map(|l| options.electrical.convert(l, s.unit, unit, phases)),
    )
}

/// The top-stack winner among `candidates` at `t` (lowest limit on ties).
fn winner<'a>(
    candidates: impl Iterator<Item = &'a Profile>,
    at: i64,
    tx_start: i64,
    unit: RateUnit,
) -> Option<Option<Decimal>> {
    let mut best: Option<(i32, Option<Decimal>)> = None;
    for p in candidates {
        if let Some(limit) = oracle_one(p, at, tx_start, unit) {
            let better = match best {
                None => true,
                Some((level, l)) => {
                    p.stack_level > level
                        || (p.stack_level == level
                            && match (limit, l) {
                                (Some(a), Some(b)) => a < b,
                                (Some(_), None) => true,
                                _ => false,
                            })
                }
            };
            if better {
                best = Some((p.stack_level, limit));
            }
        }
    }
    best.map(|b| b.1)
}

fn oracle(
    profiles: &[(i32, Profile)],
    evse: i32,
    at: i64,
    tx_start: i64,
    unit: RateUnit,
) -> Decimal {
    let of = |on: i32, purpose: Purpose| {
        winner(
            profiles
                .iter()
                .filter(move |(e, p)| *e == on && p.purpose == purpose)
                .map(|(_, p)| p),
            at,
            tx_start,
            unit,
        )
    };
    let mut caps = vec![
        of(0, Purpose::StationMax),
        of(0, Purpose::ExternalConstraints),
    ];
    if evse == 0 {
        caps.push(of(0, Purpose::TxDefault));
    } else {
        caps.push(of(evse, Purpose::ExternalConstraints));
        caps.push(
            of(evse, Purpose::Tx)
                .or(of(evse, Purpose::TxDefault))
                .or(of(0, Purpose::TxDefault)),
        );
    }
    match caps.into_iter().flatten().flatten().min() {
        Some(l) => floor_tenth(l),
        None => CompositeOptions::default().no_limit(unit),
    }
}

fn value_at(c: &Composite, offset: i32) -> Decimal {
    c.limit_at(offset).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_composite_is_the_minimum_of_the_applicable_profiles_at_every_instant(
        profiles in prop::collection::vec(placed_profile(), 0..8),
        evse in 0i32..=1,
        start in -DAY..3 * DAY,
        duration in 1i32..(3 * DAY as i32),
        tx_offset in -DAY..DAY,
        watts in prop::bool::ANY,
        samples in prop::collection::vec(0.0f64..1.0, 8),
    ) {
        let unit = if watts { RateUnit::W } else { RateUnit::A };
        let request = CompositeRequest { evse, start: t(start), duration, unit };
        let tx_start = start + tx_offset;
        let options = CompositeOptions::default();
        let c = composite(profiles.iter().map(|(e, p)| (*e, p)), Some(t(tx_start)), &request, &options);

        // Sorted, contiguous, starting at 0, inside the window, merged.
        prop_assert_eq!(c.duration, duration);
        prop_assert_eq!(c.periods.first().map(|p| p.start), Some(0));
        for w in c.periods.windows(2) {
            prop_assert!(w[0].start < w[1].start);
            prop_assert!(w[0].limit != w[1].limit || w[0].phases != w[1].phases);
        }
        prop_assert!(c.periods.iter().all(|p| p.start < duration));

        // Equal to the oracle at every period start, just before it, and at samples.
        let mut offsets: Vec<i32> = c.periods.iter().flat_map(|p| [p.start, p.start - 1]).collect();
        offsets.push(duration - 1);
        offsets.extend(samples.iter().map(|f| (f * f64::from(duration)) as i32));
        for off in offsets.into_iter().filter(|o| (0..duration).contains(o)) {
            let expected = oracle(
                &profiles,
                evse,
                t(start + i64::from(off)).timestamp(),
                t(tx_start).timestamp(),
                unit,
            );
            prop_assert_eq!(value_at(&c, off), expected, "at offset {}", off);
        }

        // Deterministic, whatever the order of the profiles.
        let reversed = composite(profiles.iter().rev().map(|(e, p)| (*e, p)), Some(t(tx_start)), &request, &options);
        prop_assert_eq!(&reversed, &c);
    }

    #[test]
    fn load_sharing_respects_the_site_the_connectors_and_the_minimums(
        site in (0i64..20_000).prop_map(|n| Decimal::new(n, 1)),
        sessions in prop::collection::vec((1i64..800, prop::option::of(0i64..200), 0i32..3), 0..40),
        previous_site in (0i64..20_000).prop_map(|n| Decimal::new(n, 1)),
    ) {
        let sessions: Vec<SessionDemand> = sessions
            .into_iter()
            .enumerate()
            .map(|(i, (max, min, priority))| SessionDemand {
                key: format!("s{i:02}"),
                max: Decimal::new(max, 1),
                min: min.map(|m| Decimal::new(m, 1)),
                priority,
            })
            .collect();
        let previous = share(&SiteLimit::amps(previous_site), &sessions, None);
        for prev in [None, Some(&previous)] {
            let a = share(&SiteLimit::amps(site), &sessions, prev);
            prop_assert!(a.total() <= site, "{} > {}", a.total(), site);
            for s in &sessions {
                let l = a.get(&s.key).unwrap();
                prop_assert!(l <= s.max);
                prop_assert!(l.is_zero() || s.min.is_none_or(|m| l >= m), "{} below min {:?}", l, s.min);
                prop_assert_eq!(l, floor_tenth(l));
            }
            let mut shuffled = sessions.clone();
            shuffled.reverse();
            prop_assert_eq!(share(&SiteLimit::amps(site), &shuffled, prev), a);
        }
    }
}
