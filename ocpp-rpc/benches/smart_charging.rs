//! Smart charging costs; run with `cargo bench -p ocpp-rpc --bench
//! smart_charging` and see `BENCHMARKS.md`.
//!
//! * `composite_10x24_24h`: the composite schedule of a connector with 10
//!   stacked TxDefault profiles of 24 periods each (plus a station maximum),
//!   over 24 hours, in A and in W;
//! * `load_sharing_1000`: a site limit shared among 1,000 sessions of three
//!   priorities, fresh and with the previous allocation.

use std::hint::black_box;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::Criterion;
use ocpp_rpc::smart_charging::load_sharing::{SessionDemand, SiteLimit, share};
use ocpp_rpc::smart_charging::{
    CompositeOptions, CompositeRequest, Kind, Period, Profile, Purpose, RateUnit, Schedule,
    composite,
};
use rust_decimal::Decimal;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).unwrap_or_default()
}

fn profiles() -> Vec<(i32, Profile)> {
    let mut out: Vec<(i32, Profile)> = (0..10)
        .map(|level| {
            let periods = (0..24)
                .map(|i| Period {
                    // Staggered so that the stack levels interleave.
                    start: i * 3600 + level * 97,
                    limit: Some(Decimal::from(6 + (i * 7 + level * 3) % 26)),
                    phases: None,
                    extras: None,
                })
                .map(|mut p| {
                    if p.start == level * 97 {
                        p.start = 0;
                    }
                    p
                })
                .collect();
            (
                1,
                Profile {
                    id: level + 1,
                    stack_level: level,
                    purpose: Purpose::TxDefault,
                    kind: Kind::Absolute,
                    valid_from: None,
                    valid_to: None,
                    transaction_id: None,
                    schedules: vec![Schedule {
                        id: None,
                        start: Some(start()),
                        // Higher levels end earlier, uncovering the lower ones.
                        duration: Some(86_400 - level * 3000),
                        unit: RateUnit::A,
                        min_rate: None,
                        periods,
                    }],
                },
            )
        })
        .collect();
    out.push((
        0,
        Profile {
            id: 100,
            stack_level: 0,
            purpose: Purpose::StationMax,
            kind: Kind::Absolute,
            valid_from: None,
            valid_to: None,
            transaction_id: None,
            schedules: vec![Schedule {
                id: None,
                start: Some(start()),
                duration: None,
                unit: RateUnit::W,
                min_rate: None,
                periods: vec![Period {
                    start: 0,
                    limit: Some(Decimal::from(20_000)),
                    phases: None,
                    extras: None,
                }],
            }],
        },
    ));
    out
}

fn bench_composite(c: &mut Criterion) {
    let profiles = profiles();
    let options = CompositeOptions::default();
    for unit in [RateUnit::A, RateUnit::W] {
        let request = CompositeRequest {
            evse: 1,
            start: start(),
            duration: 86_400,
            unit,
        };
        let periods = composite(
            profiles.iter().map(|(e, p)| (*e, p)),
            None,
            &request,
            &options,
        )
        .periods
        .len();
        c.bench_function(
            &format!("composite_10x24_24h_{unit:?} ({periods} periods out)"),
            |b| {
                b.iter(|| {
                    composite(
                        black_box(&profiles).iter().map(|(e, p)| (*e, p)),
                        None,
                        &request,
                        &options,
                    )
                })
            },
        );
    }
}

fn bench_load_sharing(c: &mut Criterion) {
    let sessions: Vec<SessionDemand> = (0..1000)
        .map(|i| SessionDemand {
            key: format!("cp{i:04}"),
            max: Decimal::from(6 + i % 27),
            min: (i % 4 == 0).then(|| Decimal::from(6)),
            priority: i % 3,
        })
        .collect();
    let site = SiteLimit::amps(Decimal::from(8000));
    let previous = share(&site, &sessions, None);
    c.bench_function("load_sharing_1000_fresh", |b| {
        b.iter(|| share(black_box(&site), black_box(&sessions), None))
    });
    let nudged = SiteLimit::amps(Decimal::from(7990));
    c.bench_function("load_sharing_1000_with_previous", |b| {
        b.iter(|| share(black_box(&nudged), black_box(&sessions), Some(&previous)))
    });
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args();
    bench_composite(&mut c);
    bench_load_sharing(&mut c);
    c.final_summary();
}
