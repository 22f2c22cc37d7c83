//! Worked examples of the smart charging rules, written out by hand.

use chrono::{DateTime, Duration, Utc};
use ocpp_rpc::smart_charging::load_sharing::{SessionDemand, SiteLimit, share, tx_profile};
use ocpp_rpc::smart_charging::v16::profile_to_v16;
use ocpp_rpc::smart_charging::v201::profile_to_v201;
use ocpp_rpc::smart_charging::{
    ClearFilter, Dialect, Kind, Period, Profile, ProfileStore, Purpose, RateUnit, Recurrency,
    Rejection, ReportFilter, Schedule, Source, StoreConfig,
};
use ocpp_types::{v16, v21, v201};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// 2025-01-01T00:00:00Z plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

const H: i64 = 3600;

/// A profile with one schedule of `(startPeriod, limit)` periods.
fn profile(
    id: i32,
    purpose: Purpose,
    stack_level: i32,
    kind: Kind,
    periods: &[(i32, &str)],
) -> Profile {
    Profile {
        id,
        stack_level,
        purpose,
        kind,
        valid_from: None,
        valid_to: None,
        transaction_id: None,
        schedules: vec![Schedule {
            id: None,
            start: match kind {
                Kind::Relative => None,
                _ => Some(t(0)),
            },
            duration: None,
            unit: RateUnit::A,
            min_rate: None,
            periods: periods
                .iter()
                .map(|&(start, limit)| Period {
                    start,
                    limit: Some(d(limit)),
                    phases: None,
                    extras: None,
                })
                .collect(),
        }],
    }
}

fn store(dialect: Dialect, evses: i32) -> ProfileStore {
    ProfileStore::new(
        dialect,
        StoreConfig {
            evse_count: evses,
            ..StoreConfig::default()
        },
    )
}

/// The composite as `(startPeriod, limit)` pairs.
fn periods(
    store: &ProfileStore,
    evse: i32,
    start: i64,
    duration: i64,
    unit: RateUnit,
) -> Vec<(i32, Decimal)> {
    let c = store
        .composite(evse, t(start), duration as i32, Some(unit))
        .unwrap();
    assert_eq!(c.duration, duration as i32);
    c.periods.iter().map(|p| (p.start, p.limit)).collect()
}

fn expect(pairs: &[(i64, &str)]) -> Vec<(i32, Decimal)> {
    pairs.iter().map(|&(s, l)| (s as i32, d(l))).collect()
}

#[test]
fn the_highest_stack_level_with_a_period_wins_then_the_lower_one_returns() {
    let mut s = store(Dialect::V16, 1);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    let mut top = profile(2, Purpose::TxDefault, 1, Kind::Absolute, &[(0, "16")]);
    top.schedules[0].start = Some(t(H));
    top.schedules[0].duration = Some(2 * H as i32);
    s.install(1, top).unwrap();
    assert_eq!(
        periods(&s, 1, 0, 4 * H, RateUnit::A),
        expect(&[(0, "32"), (H, "16"), (3 * H, "32")])
    );
}

#[test]
fn a_recurring_daily_profile_crosses_midnight() {
    let mut s = store(Dialect::V16, 1);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    // Every night 22:00-06:00: 10 A until midnight, then 6 A.
    let mut night = profile(
        2,
        Purpose::TxDefault,
        1,
        Kind::Recurring(Recurrency::Daily),
        &[(0, "10"), (2 * H as i32, "6")],
    );
    night.schedules[0].start = Some(t(22 * H));
    night.schedules[0].duration = Some(8 * H as i32);
    s.install(1, night).unwrap();
    // From 20:00 on the second day, for 12 hours.
    assert_eq!(
        periods(&s, 1, 24 * H + 20 * H, 12 * H, RateUnit::A),
        expect(&[(0, "32"), (2 * H, "10"), (4 * H, "6"), (10 * H, "32")])
    );
    // Before its first startSchedule the recurring profile does not apply.
    assert_eq!(periods(&s, 1, 0, 22 * H, RateUnit::A), expect(&[(0, "32")]));
}

#[test]
fn a_relative_tx_profile_runs_from_the_transaction_start_then_falls_back() {
    let mut s = store(Dialect::V16, 1);
    s.install(
        0,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    s.start_transaction(1, "7", t(600)).unwrap();
    let mut tx = profile(2, Purpose::Tx, 0, Kind::Relative, &[(0, "16"), (1800, "8")]);
    tx.schedules[0].duration = Some(3600);
    tx.transaction_id = Some("7".into());
    s.install(1, tx).unwrap();
    // The window starts 10 minutes into the transaction.
    assert_eq!(
        periods(&s, 1, 1200, H, RateUnit::A),
        expect(&[(0, "16"), (1200, "8"), (3000, "32")])
    );
    // The TxProfile goes with its transaction.
    assert_eq!(s.end_transaction(1), vec![2]);
    assert_eq!(periods(&s, 1, 1200, H, RateUnit::A), expect(&[(0, "32")]));
}

#[test]
fn the_station_maximum_caps_the_tx_profile_and_is_connector_zero() {
    let mut s = store(Dialect::V16, 2);
    s.install(
        0,
        profile(1, Purpose::StationMax, 0, Kind::Absolute, &[(0, "20")]),
    )
    .unwrap();
    s.start_transaction(1, "1", t(0)).unwrap();
    s.install(
        1,
        profile(2, Purpose::Tx, 0, Kind::Relative, &[(0, "32"), (600, "10")]),
    )
    .unwrap();
    assert_eq!(
        periods(&s, 1, 0, H, RateUnit::A),
        expect(&[(0, "20"), (600, "10")])
    );
    assert_eq!(periods(&s, 0, 0, H, RateUnit::A), expect(&[(0, "20")]));
}

#[test]
fn watts_and_amps_convert_with_voltage_and_phases() {
    let mut s = store(Dialect::V16, 1);
    let mut max = profile(1, Purpose::StationMax, 0, Kind::Absolute, &[(0, "11040")]);
    max.schedules[0].unit = RateUnit::W;
    s.install(0, max).unwrap();
    let mut one_phase = profile(
        2,
        Purpose::TxDefault,
        0,
        Kind::Absolute,
        &[(0, "20"), (600, "20")],
    );
    one_phase.schedules[0].periods[1].phases = Some(1);
    s.install(1, one_phase).unwrap();
    // 11 040 W on 3 × 230 V (the max profile's own phases) is 16 A, the
    // lower limit in A; in W, 20 A on 3 phases is 13 800 W, on one phase
    // 4 600 W.
    assert_eq!(periods(&s, 1, 0, H, RateUnit::A), expect(&[(0, "16")]));
    assert_eq!(
        periods(&s, 1, 0, H, RateUnit::W),
        expect(&[(0, "11040"), (600, "4600")])
    );
}

#[test]
fn valid_to_ends_a_profile_mid_window() {
    let mut s = store(Dialect::V16, 1);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    let mut short = profile(2, Purpose::TxDefault, 1, Kind::Absolute, &[(0, "10")]);
    short.valid_to = Some(t(1800));
    s.install(1, short).unwrap();
    assert_eq!(
        periods(&s, 1, 0, H, RateUnit::A),
        expect(&[(0, "10"), (1800, "32")])
    );
}

#[test]
fn a_connector_specific_tx_default_overrides_connector_zero() {
    let mut s = store(Dialect::V16, 2);
    s.install(
        0,
        profile(1, Purpose::TxDefault, 5, Kind::Absolute, &[(0, "10")]),
    )
    .unwrap();
    s.install(
        1,
        profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "20")]),
    )
    .unwrap();
    assert_eq!(periods(&s, 1, 0, H, RateUnit::A), expect(&[(0, "20")]));
    assert_eq!(periods(&s, 2, 0, H, RateUnit::A), expect(&[(0, "10")]));
}

#[test]
fn no_applicable_profile_means_the_configured_no_limit_value() {
    let s = store(Dialect::V16, 1);
    assert_eq!(periods(&s, 1, 0, H, RateUnit::A), expect(&[(0, "48")]));
    assert_eq!(periods(&s, 1, 0, H, RateUnit::W), expect(&[(0, "33120")]));
}

#[test]
fn the_1_6_reply_carries_schedule_start_and_duration_not_start_schedule() {
    let mut s = store(Dialect::V16, 1);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")]),
    )
    .unwrap();
    let reply = s.get_composite_schedule_v16(
        &v16::GetCompositeScheduleRequest {
            charging_rate_unit: None,
            connector_id: 1,
            duration: 600,
        },
        t(30),
    );
    assert_eq!(reply.status, v16::GetCompositeScheduleStatus::Accepted);
    assert_eq!(reply.schedule_start, Some(t(30)));
    assert_eq!(reply.connector_id, Some(1));
    let schedule = reply.charging_schedule.unwrap();
    assert_eq!(schedule.start_schedule, None);
    assert_eq!(schedule.duration, Some(600));
    assert_eq!(schedule.charging_rate_unit, v16::ChargingRateUnitType::A);
    let unknown = s.get_composite_schedule_v16(
        &v16::GetCompositeScheduleRequest {
            charging_rate_unit: None,
            connector_id: 9,
            duration: 600,
        },
        t(0),
    );
    assert_eq!(unknown.status, v16::GetCompositeScheduleStatus::Rejected);
}

#[test]
fn v1_6_installation_rules() {
    let mut s = store(Dialect::V16, 2);
    let tx = |id| profile(id, Purpose::Tx, 0, Kind::Relative, &[(0, "16")]);
    assert_eq!(s.install(1, tx(1)), Err(Rejection::NoTransaction(1)));
    assert!(matches!(
        s.install(
            1,
            profile(1, Purpose::StationMax, 0, Kind::Absolute, &[(0, "16")])
        ),
        Err(Rejection::PurposeNotAllowedHere { .. })
    ));
    assert_eq!(
        s.install(
            3,
            profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")])
        ),
        Err(Rejection::UnknownEvse(3))
    );
    assert!(matches!(
        s.install(
            1,
            profile(1, Purpose::TxDefault, 9, Kind::Absolute, &[(0, "16")])
        ),
        Err(Rejection::StackLevel { level: 9, max: 8 })
    ));
    assert_eq!(
        s.install(
            1,
            profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(5, "16")])
        ),
        Err(Rejection::FirstPeriodNotZero(5))
    );
    assert_eq!(
        s.install(
            1,
            profile(
                1,
                Purpose::TxDefault,
                0,
                Kind::Absolute,
                &[(0, "16"), (0, "8")]
            )
        ),
        Err(Rejection::PeriodsNotAscending)
    );
    let mut no_start = profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")]);
    no_start.schedules[0].start = None;
    assert_eq!(s.install(1, no_start), Err(Rejection::MissingStartSchedule));
    // Same purpose and stack level on the same connector: replaced.
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")]),
    )
    .unwrap();
    assert_eq!(
        s.install(
            1,
            profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")])
        ),
        Ok(vec![1])
    );
    // ... on another connector: both kept.
    assert_eq!(
        s.install(
            2,
            profile(3, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")])
        ),
        Ok(vec![])
    );
    // Same id elsewhere: replaced.
    assert_eq!(
        s.install(
            1,
            profile(3, Purpose::TxDefault, 1, Kind::Absolute, &[(0, "10")])
        ),
        Ok(vec![3])
    );
    s.start_transaction(1, "42", t(0)).unwrap();
    let mut wrong = tx(9);
    wrong.transaction_id = Some("41".into());
    assert_eq!(
        s.install(1, wrong),
        Err(Rejection::TransactionMismatch("41".into()))
    );
    assert_eq!(s.install(1, tx(9)), Ok(vec![]));
    // A unit the charger does not support.
    let mut only_amps = store(Dialect::V16, 1);
    only_amps = ProfileStore::new(
        Dialect::V16,
        StoreConfig {
            units: vec![RateUnit::A],
            ..only_amps.config().clone()
        },
    );
    let mut watts = profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")]);
    watts.schedules[0].unit = RateUnit::W;
    assert_eq!(
        only_amps.install(1, watts),
        Err(Rejection::UnitNotAllowed(RateUnit::W))
    );
}

#[test]
fn v1_6_typed_messages_round_trip_through_the_store() {
    let mut s = store(Dialect::V16, 1);
    let p = profile(
        5,
        Purpose::TxDefault,
        0,
        Kind::Recurring(Recurrency::Weekly),
        &[(0, "16")],
    );
    let typed = profile_to_v16(&p).unwrap();
    assert_eq!(typed.recurrency_kind, Some(v16::RecurrencyKindType::Weekly));
    let (reply, outcome) = s.set_charging_profile_v16(&v16::SetChargingProfileRequest {
        connector_id: 1,
        cs_charging_profiles: typed.clone(),
    });
    assert_eq!(reply.status, v16::ChargingProfileStatus::Accepted);
    assert_eq!(outcome, Ok(vec![]));
    assert_eq!(s.profiles()[0].profile, p);
    // recurrencyKind without Recurring is refused.
    let mut bad = typed;
    bad.charging_profile_kind = v16::ChargingProfileKindType::Absolute;
    let (reply, _) = s.set_charging_profile_v16(&v16::SetChargingProfileRequest {
        connector_id: 1,
        cs_charging_profiles: bad,
    });
    assert_eq!(reply.status, v16::ChargingProfileStatus::Rejected);
    // Clear: nothing matching is Unknown, then by purpose.
    let clear = |s: &mut ProfileStore, req| s.clear_charging_profile_v16(&req).status;
    assert_eq!(
        clear(
            &mut s,
            v16::ClearChargingProfileRequest {
                id: Some(99),
                ..Default::default()
            }
        ),
        v16::ClearChargingProfileStatus::Unknown
    );
    assert_eq!(
        clear(
            &mut s,
            v16::ClearChargingProfileRequest {
                charging_profile_purpose: Some(v16::ChargingProfilePurposeType::TxDefaultProfile),
                connector_id: Some(1),
                ..Default::default()
            }
        ),
        v16::ClearChargingProfileStatus::Accepted
    );
    assert!(s.profiles().is_empty());
}

#[test]
fn v2_duplicate_rules_k01() {
    let mut s = store(Dialect::V2x, 2);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "16")]),
    )
    .unwrap();
    // K01.FR.06: same purpose, stack level and EVSE, overlapping validity.
    assert_eq!(
        s.install(
            1,
            profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")])
        ),
        Err(Rejection::DuplicateProfile(1))
    );
    // K01.FR.53: a TxDefault on EVSE 0 clashing with one on EVSE 1.
    assert_eq!(
        s.install(
            0,
            profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")])
        ),
        Err(Rejection::DuplicateTxDefault(1))
    );
    // K01.FR.05: the same id replaces.
    assert_eq!(
        s.install(
            1,
            profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")])
        ),
        Ok(vec![1])
    );
    // Disjoint validity is allowed.
    let mut later = profile(3, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "6")]);
    later.valid_from = Some(t(10 * H));
    let mut first = s.profiles()[0].profile.clone();
    first.valid_to = Some(t(10 * H));
    s.install(1, first).unwrap();
    assert_eq!(s.install(1, later), Ok(vec![]));
    // K01.FR.03 and K01.FR.39 for TxProfiles.
    s.start_transaction(2, "tx-a", t(0)).unwrap();
    assert_eq!(
        s.install(2, profile(4, Purpose::Tx, 0, Kind::Relative, &[(0, "16")])),
        Err(Rejection::MissingTransactionId)
    );
    let mut tx = profile(4, Purpose::Tx, 0, Kind::Relative, &[(0, "16")]);
    tx.transaction_id = Some("tx-a".into());
    s.install(2, tx.clone()).unwrap();
    tx.id = 5;
    assert_eq!(s.install(2, tx), Err(Rejection::DuplicateTxProfile(4)));
    // K01.FR.22 and K01.FR.38.
    assert_eq!(
        s.install(
            0,
            profile(
                6,
                Purpose::ExternalConstraints,
                0,
                Kind::Absolute,
                &[(0, "6")]
            )
        ),
        Err(Rejection::ExternalFromCsms)
    );
    assert_eq!(
        s.install(
            0,
            profile(6, Purpose::StationMax, 0, Kind::Relative, &[(0, "6")])
        ),
        Err(Rejection::RelativeStationMax)
    );
    // K01.FR.41: no startSchedule on a Relative profile.
    let mut relative = profile(6, Purpose::TxDefault, 2, Kind::Relative, &[(0, "6")]);
    relative.schedules[0].start = Some(t(0));
    assert_eq!(
        s.install(1, relative),
        Err(Rejection::ExtraneousStartSchedule)
    );
}

#[test]
fn v2_external_constraints_cap_the_composite_and_are_never_cleared_by_the_csms() {
    let mut s = store(Dialect::V2x, 1);
    s.install(
        1,
        profile(1, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    s.install_external(
        0,
        profile(
            100,
            Purpose::ExternalConstraints,
            0,
            Kind::Absolute,
            &[(0, "25"), (600, "12")],
        ),
        Source::Ems,
    )
    .unwrap();
    assert_eq!(
        periods(&s, 1, 0, H, RateUnit::A),
        expect(&[(0, "25"), (600, "12")])
    );
    assert_eq!(s.clear(&ClearFilter::default()), vec![1]);
    assert_eq!(
        s.clear(&ClearFilter {
            id: Some(100),
            ..Default::default()
        }),
        Vec::<i32>::new()
    );
    // The CSMS cannot replace it by id either.
    assert_eq!(
        s.install(
            1,
            profile(100, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")])
        ),
        Err(Rejection::ReplacesExternal(100))
    );
    assert!(s.remove_external(100));
}

#[test]
fn v2_get_charging_profiles_reports_by_evse_and_source() {
    let mut s = store(Dialect::V2x, 2);
    s.install(
        0,
        profile(1, Purpose::StationMax, 0, Kind::Absolute, &[(0, "63")]),
    )
    .unwrap();
    s.install(
        1,
        profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "32")]),
    )
    .unwrap();
    s.install(
        2,
        profile(3, Purpose::TxDefault, 1, Kind::Absolute, &[(0, "16")]),
    )
    .unwrap();
    s.install_external(
        0,
        profile(
            4,
            Purpose::ExternalConstraints,
            0,
            Kind::Absolute,
            &[(0, "40")],
        ),
        Source::So,
    )
    .unwrap();
    let ids = |f: ReportFilter| {
        s.report(&f)
            .iter()
            .map(|p| p.profile.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(ReportFilter::default()), [1, 4, 2, 3]);
    assert_eq!(
        ids(ReportFilter {
            evse: Some(0),
            ..Default::default()
        }),
        [1, 4]
    );
    assert_eq!(
        ids(ReportFilter {
            purpose: Some(Purpose::TxDefault),
            stack_level: Some(1),
            ..Default::default()
        }),
        [3]
    );
    assert_eq!(
        ids(ReportFilter {
            sources: vec![Source::So],
            ..Default::default()
        }),
        [4]
    );

    let (reply, reports) = s.get_charging_profiles_v201(&v201::GetChargingProfilesRequest {
        charging_profile: v201::ChargingProfileCriterion::default(),
        custom_data: None,
        evse_id: None,
        request_id: 7,
    });
    assert_eq!(reply.status, v201::GetChargingProfileStatusEnum::Accepted);
    let shape: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.evse_id,
                r.charging_limit_source,
                r.charging_profile.len(),
                r.tbc,
            )
        })
        .collect();
    use v201::ChargingLimitSourceEnum::{CSO, SO};
    assert_eq!(
        shape,
        [
            (0, CSO, 1, Some(true)),
            (0, SO, 1, Some(true)),
            (1, CSO, 1, Some(true)),
            (2, CSO, 1, None)
        ]
    );
    let (reply, reports) = s.get_charging_profiles_v201(&v201::GetChargingProfilesRequest {
        charging_profile: v201::ChargingProfileCriterion {
            charging_profile_id: Some(vec![99]),
            ..Default::default()
        },
        custom_data: None,
        evse_id: None,
        request_id: 8,
    });
    assert_eq!(reply.status, v201::GetChargingProfileStatusEnum::NoProfiles);
    assert!(reports.is_empty());
}

#[test]
fn v2_set_and_composite_replies_are_typed_and_carry_reasons() {
    let mut s = store(Dialect::V2x, 1);
    let typed = profile_to_v201(&profile(
        1,
        Purpose::TxDefault,
        0,
        Kind::Absolute,
        &[(0, "16")],
    ))
    .unwrap();
    let (reply, _) = s.set_charging_profile_v201(&v201::SetChargingProfileRequest {
        charging_profile: typed.clone(),
        custom_data: None,
        evse_id: 1,
    });
    assert_eq!(reply.status, v201::ChargingProfileStatusEnum::Accepted);
    let (reply, _) = s.set_charging_profile_v201(&v201::SetChargingProfileRequest {
        charging_profile: v201::ChargingProfile { id: 2, ..typed },
        custom_data: None,
        evse_id: 1,
    });
    assert_eq!(reply.status, v201::ChargingProfileStatusEnum::Rejected);
    assert_eq!(reply.status_info.unwrap().reason_code, "DuplicateProfile");

    let reply = s.get_composite_schedule_v201(
        &v201::GetCompositeScheduleRequest {
            charging_rate_unit: Some(v201::ChargingRateUnitEnum::W),
            custom_data: None,
            duration: 300,
            evse_id: 1,
        },
        t(0),
    );
    let schedule = reply.schedule.unwrap();
    assert_eq!(schedule.schedule_start, t(0));
    assert_eq!(schedule.evse_id, 1);
    assert_eq!(schedule.duration, 300);
    assert_eq!(schedule.charging_schedule_period.len(), 1);
    assert_eq!(schedule.charging_schedule_period[0].limit, d("11040"));
}

#[test]
fn v2_1_a_period_without_limit_hides_lower_levels_but_sets_no_limit() {
    let mut s = store(Dialect::V2x, 1);
    s.install(
        0,
        profile(1, Purpose::StationMax, 0, Kind::Absolute, &[(0, "40")]),
    )
    .unwrap();
    s.install(
        1,
        profile(2, Purpose::TxDefault, 0, Kind::Absolute, &[(0, "10")]),
    )
    .unwrap();
    let mut top = profile(
        3,
        Purpose::TxDefault,
        1,
        Kind::Absolute,
        &[(0, "20"), (600, "0")],
    );
    top.schedules[0].periods[1].limit = None;
    s.install(1, top).unwrap();
    let reply = s.get_composite_schedule_v21(
        &v21::GetCompositeScheduleRequest {
            charging_rate_unit: None,
            custom_data: None,
            duration: 1200,
            evse_id: 1,
        },
        t(0),
    );
    let limits: Vec<_> = reply
        .schedule
        .unwrap()
        .charging_schedule_period
        .iter()
        .map(|p| (p.start_period, p.limit))
        .collect();
    assert_eq!(limits, [(0, Some(d("20"))), (600, Some(d("40")))]);
}

#[test]
fn the_store_survives_serialisation() {
    let mut s = store(Dialect::V2x, 2);
    s.install(
        1,
        profile(
            1,
            Purpose::TxDefault,
            0,
            Kind::Recurring(Recurrency::Daily),
            &[(0, "16.5")],
        ),
    )
    .unwrap();
    s.start_transaction(2, "abc", t(5)).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: ProfileStore = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn load_sharing_water_fills_by_priority_and_pauses_what_cannot_get_its_minimum() {
    let session = |key: &str, max: &str, min: Option<&str>, priority| SessionDemand {
        key: key.into(),
        max: d(max),
        min: min.map(d),
        priority,
    };
    let site = SiteLimit::amps(d("64"));
    let sessions = [
        session("a", "10", None, 0),
        session("b", "32", None, 0),
        session("c", "32", None, 0),
    ];
    let a = share(&site, &sessions, None);
    // a is capped at 10 A; b and c share the rest: 27 A each.
    assert_eq!(a.get("a"), Some(d("10")));
    assert_eq!(a.get("b"), Some(d("27")));
    assert_eq!(a.get("c"), Some(d("27")));

    // Priority first: p gets all it can take.
    let sessions = [
        session("p", "32", None, 1),
        session("q", "32", Some("6"), 0),
    ];
    let a = share(&SiteLimit::amps(d("36")), &sessions, None);
    assert_eq!(a.get("q"), Some(d("6")));
    assert_eq!(a.get("p"), Some(d("30")));
    // A minimum that does not fit pauses the session.
    let a = share(&SiteLimit::amps(d("5")), &sessions, None);
    assert_eq!(a.get("q"), Some(d("0")));
    assert_eq!(a.get("p"), Some(d("5")));
}

#[test]
fn load_sharing_changes_only_what_must_change() {
    let session = |key: &str, max: &str| SessionDemand {
        key: key.into(),
        max: d(max),
        min: None,
        priority: 0,
    };
    let site = SiteLimit::amps(d("60"));
    let before = share(
        &site,
        &[session("a", "10"), session("b", "32"), session("c", "32")],
        None,
    );
    assert_eq!(before.get("b"), Some(d("25")));
    // d starts: a stays at 10 A (below the level), b and c make room.
    let after = share(
        &site,
        &[
            session("a", "10"),
            session("b", "32"),
            session("c", "32"),
            session("d", "32"),
        ],
        Some(&before),
    );
    assert!(after.total() <= d("60"));
    let changed: Vec<_> = after.changes(&before).into_iter().map(|c| c.key).collect();
    assert_eq!(changed, ["b", "c", "d"]);
    // Within the deadband, the previous limit is kept.
    let nudged = share(
        &SiteLimit::amps(d("60.6")),
        &[session("a", "10"), session("b", "32"), session("c", "32")],
        Some(&before),
    );
    assert!(nudged.changes(&before).is_empty());

    // The typed TxProfiles for a session.
    let p = tx_profile(10, 1, "42", d("22"), RateUnit::A);
    let v16 = profile_to_v16(&p).unwrap();
    assert_eq!(v16.transaction_id, Some(42));
    assert_eq!(
        v16.charging_profile_kind,
        v16::ChargingProfileKindType::Relative
    );
    let v201 = profile_to_v201(&p).unwrap();
    assert_eq!(
        v201.charging_schedule[0].charging_schedule_period[0].limit,
        d("22")
    );
}
