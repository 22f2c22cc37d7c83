//! ISO 15118 schedule selection and the OCPP 2.1 composite rules:
//! PriorityCharging, LocalGeneration and Dynamic profiles. Each case cites
//! the requirement of OCPP 2.1 Part 2, chapter K, it checks.

use chrono::{DateTime, Duration, Utc};
use ocpp_rpc::smart_charging::v21::profile_to_v21;
use ocpp_rpc::smart_charging::{
    CompositeOptions, CompositeRequest, Dialect, DynamicUpdateError, Kind, Period,
    PriorityChargingError, Profile, ProfileStore, Purpose, RateUnit, Rejection, ReportFilter,
    Schedule, Source, StoreConfig, TransactionState, composite, composite_with,
};
use ocpp_types::{BoundedString, v21};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// 2025-01-01T00:00:00Z plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

const H: i64 = 3600;

fn schedule(id: i32, kind: Kind, unit: RateUnit, periods: &[(i32, &str)]) -> Schedule {
    Schedule {
        id: Some(id),
        start: match kind {
            Kind::Relative | Kind::Dynamic => None,
            _ => Some(t(0)),
        },
        duration: None,
        unit,
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
    }
}

fn profile(
    id: i32,
    purpose: Purpose,
    stack_level: i32,
    kind: Kind,
    unit: RateUnit,
    periods: &[(i32, &str)],
) -> Profile {
    Profile {
        id,
        stack_level,
        purpose,
        kind,
        valid_from: None,
        valid_to: None,
        transaction_id: (purpose == Purpose::Tx).then(|| "tx1".to_owned()),
        schedules: vec![schedule(1, kind, unit, periods)],
    }
}

fn amps(id: i32, purpose: Purpose, stack_level: i32, limit: &str) -> Profile {
    profile(
        id,
        purpose,
        stack_level,
        Kind::Absolute,
        RateUnit::A,
        &[(0, limit)],
    )
}

fn store(evses: i32, max_schedules: usize) -> ProfileStore {
    ProfileStore::new(
        Dialect::V2x,
        StoreConfig {
            evse_count: evses,
            max_schedules,
            ..StoreConfig::default()
        },
    )
}

/// The composite as `(startPeriod, limit)` pairs.
fn periods(s: &ProfileStore, evse: i32, duration: i64, unit: RateUnit) -> Vec<(i32, Decimal)> {
    s.composite(evse, t(0), duration as i32, Some(unit))
        .unwrap()
        .periods
        .iter()
        .map(|p| (p.start, p.limit))
        .collect()
}

fn flat(s: &ProfileStore, evse: i32, unit: RateUnit) -> Decimal {
    let p = periods(s, evse, H, unit);
    assert_eq!(p.len(), 1, "{p:?}");
    p[0].1
}

fn expect(pairs: &[(i64, &str)]) -> Vec<(i32, Decimal)> {
    pairs.iter().map(|&(s, l)| (s as i32, d(l))).collect()
}

// ---------------------------------------------------------------------------
// Schedule selection (ISO 15118 alternatives)
// ---------------------------------------------------------------------------

/// A TxProfile with three alternative schedules (K15.FR.07), ids 1, 2, 3.
fn three_schedules() -> Profile {
    let mut p = amps(5, Purpose::Tx, 0, "10");
    p.kind = Kind::Relative;
    p.schedules = vec![
        schedule(1, Kind::Relative, RateUnit::A, &[(0, "10")]),
        schedule(2, Kind::Relative, RateUnit::A, &[(0, "16")]),
        schedule(3, Kind::Relative, RateUnit::A, &[(0, "32")]),
    ];
    p
}

#[test]
fn the_composite_uses_the_schedule_the_ev_selected_else_the_first() {
    let mut s = store(1, 3);
    s.start_transaction(1, "tx1", t(0)).unwrap();
    s.install(1, three_schedules()).unwrap();
    s.install(0, amps(1, Purpose::StationMax, 0, "20")).unwrap();

    // (selected schedule id, expected limit): K15.FR.21, K16.FR.14,
    // K17.FR.18 name the selected chargingSchedule by its id; without one
    // (K15.FR.18: one schedule is recommended), the first.
    let cases: &[(Option<i32>, &str)] = &[
        (None, "10"),
        (Some(1), "10"),
        (Some(2), "16"),
        (Some(3), "20"), // capped by the station maximum
        (Some(99), "10"),
    ];
    for &(selected, limit) in cases {
        s.select_schedule(1, selected).unwrap();
        assert_eq!(flat(&s, 1, RateUnit::A), d(limit), "selected {selected:?}");
        assert_eq!(s.transaction(1).unwrap().selected_schedule, selected);
    }

    // The same rule in the pure function.
    let p = three_schedules();
    let request = CompositeRequest {
        evse: 1,
        start: t(0),
        duration: 60,
        unit: RateUnit::A,
    };
    let options = CompositeOptions::default();
    let state = TransactionState {
        start: Some(t(0)),
        selected_schedule: Some(2),
        priority_charging: false,
    };
    let c = composite_with([(1, &p)], &state, &request, &options);
    assert_eq!(c.limit_at(0), Some(d("16")));
    let c = composite([(1, &p)], Some(t(0)), &request, &options);
    assert_eq!(c.limit_at(0), Some(d("10")));

    // The selection belongs to the transaction.
    assert_eq!(
        s.select_schedule(0, Some(2)),
        Err(Rejection::NoTransaction(0))
    );
    s.select_schedule(1, Some(2)).unwrap();
    s.end_transaction(1);
    s.start_transaction(1, "tx2", t(0)).unwrap();
    assert_eq!(s.transaction(1).unwrap().selected_schedule, None);
}

// ---------------------------------------------------------------------------
// PriorityCharging (K21, K22, §3.6)
// ---------------------------------------------------------------------------

fn priority_store() -> ProfileStore {
    let mut s = store(2, 1);
    s.start_transaction(1, "tx1", t(0)).unwrap();
    s.start_transaction(2, "tx2", t(0)).unwrap();
    s.install(0, amps(1, Purpose::StationMax, 0, "40")).unwrap();
    s.install(0, amps(2, Purpose::TxDefault, 0, "6")).unwrap();
    s.install(1, amps(3, Purpose::Tx, 0, "10")).unwrap();
    s
}

#[test]
fn priority_charging_replaces_the_tx_profile_while_active() {
    // (requirement, where the PriorityCharging profile is, its limit,
    //  activate, expected outcome, expected evse 1 limit, evse 2 limit)
    type Case = (
        &'static str,
        Option<i32>,
        &'static str,
        bool,
        Result<i32, PriorityChargingError>,
        &'static str,
        &'static str,
    );
    let no_profile = || Err(PriorityChargingError::NoProfile("tx1".into()));
    let cases: &[Case] = &[
        (
            "K21.FR.03/.04 on EVSE 0",
            Some(0),
            "32",
            true,
            Ok(1),
            "32",
            "6",
        ),
        (
            "K21.FR.03/.04 on the EVSE",
            Some(1),
            "32",
            true,
            Ok(1),
            "32",
            "6",
        ),
        (
            "K21.FR.04 station max stays",
            Some(0),
            "63",
            true,
            Ok(1),
            "40",
            "6",
        ),
        (
            "K21.FR.04 below the TxProfile",
            Some(0),
            "8",
            true,
            Ok(1),
            "8",
            "6",
        ),
        (
            "K21.FR.01 no profile",
            None,
            "",
            true,
            no_profile(),
            "10",
            "6",
        ),
        (
            "K21.FR.01 other EVSE only",
            Some(2),
            "32",
            true,
            no_profile(),
            "10",
            "6",
        ),
        (
            "K21.FR.06 off without profile",
            None,
            "",
            false,
            Ok(1),
            "10",
            "6",
        ),
        (
            "inactive: not applied",
            Some(0),
            "32",
            false,
            Ok(1),
            "10",
            "6",
        ),
    ];
    for (rule, on, limit, activate, outcome, evse1, evse2) in cases {
        let mut s = priority_store();
        if let Some(on) = on {
            s.install(*on, amps(9, Purpose::PriorityCharging, 0, limit))
                .unwrap();
        }
        assert_eq!(
            &s.use_priority_charging("tx1", *activate),
            outcome,
            "{rule}"
        );
        assert_eq!(flat(&s, 1, RateUnit::A), d(evse1), "{rule}: evse 1");
        assert_eq!(flat(&s, 2, RateUnit::A), d(evse2), "{rule}: evse 2");
    }
}

#[test]
fn priority_charging_switches_off_and_ends_with_the_transaction() {
    let mut s = priority_store();
    s.install(0, amps(9, Purpose::PriorityCharging, 0, "32"))
        .unwrap();
    s.install(0, amps(10, Purpose::PriorityCharging, 1, "24"))
        .unwrap();
    // K21.FR.02: unknown transaction.
    assert_eq!(
        s.use_priority_charging("nope", true),
        Err(PriorityChargingError::TxNotFound("nope".into()))
    );
    // K21.FR.04 with stacking: the higher stack level leads.
    s.use_priority_charging("tx1", true).unwrap();
    assert_eq!(flat(&s, 1, RateUnit::A), d("24"));
    // Whole station: priority charging is per transaction, not on EVSE 0.
    assert_eq!(flat(&s, 0, RateUnit::A), d("6"));
    // K21.FR.07 / K22.FR.04: switched off, the TxProfile applies again.
    s.use_priority_charging("tx1", false).unwrap();
    assert_eq!(flat(&s, 1, RateUnit::A), d("10"));
    // It ceases with the transaction (K21 remarks); the profile stays
    // (K01.FR.27: it is persistent).
    s.use_priority_charging("tx1", true).unwrap();
    s.end_transaction(1);
    s.start_transaction(1, "tx3", t(0)).unwrap();
    assert!(!s.transaction(1).unwrap().priority_charging);
    assert_eq!(flat(&s, 1, RateUnit::A), d("6"));
    assert_eq!(s.profiles().len(), 4);
}

#[test]
fn priority_charging_typed_messages() {
    let mut s = priority_store();
    let request = |activate| v21::UsePriorityChargingRequest {
        activate,
        custom_data: None,
        transaction_id: BoundedString::new("tx1").unwrap(),
    };
    // K21.FR.01: NoProfile, reasonCode NotFound.
    let (reply, _) = s.use_priority_charging_v21(&request(true));
    assert_eq!(reply.status, v21::PriorityChargingStatusEnum::NoProfile);
    assert_eq!(reply.status_info.unwrap().reason_code, "NotFound");
    // K21.FR.02: Rejected, reasonCode TxNotFound.
    let (reply, _) = s.use_priority_charging_v21(&v21::UsePriorityChargingRequest {
        transaction_id: BoundedString::new("other").unwrap(),
        ..request(true)
    });
    assert_eq!(reply.status, v21::PriorityChargingStatusEnum::Rejected);
    assert_eq!(reply.status_info.unwrap().reason_code, "TxNotFound");
    // K21.FR.03: Accepted; the outcome names the EVSE for K21.FR.05.
    s.install(0, amps(9, Purpose::PriorityCharging, 0, "32"))
        .unwrap();
    let (reply, outcome) = s.use_priority_charging_v21(&request(true));
    assert_eq!(reply.status, v21::PriorityChargingStatusEnum::Accepted);
    assert_eq!(outcome, Ok(1));
    assert_eq!(flat(&s, 1, RateUnit::A), d("32"));
}

#[test]
fn a_priority_charging_schedule_may_not_have_a_duration() {
    // K01.FR.70: Rejected, reasonCode InvalidSchedule.
    let mut s = store(1, 1);
    let mut p = amps(9, Purpose::PriorityCharging, 0, "32");
    p.schedules[0].duration = Some(3600);
    let (reply, outcome) = s.set_charging_profile_v21(&v21::SetChargingProfileRequest {
        charging_profile: profile_to_v21(&p).unwrap(),
        custom_data: None,
        evse_id: 0,
    });
    assert_eq!(outcome, Err(Rejection::PriorityChargingDuration));
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Rejected);
    assert_eq!(reply.status_info.unwrap().reason_code, "InvalidSchedule");
}

// ---------------------------------------------------------------------------
// LocalGeneration (§3.6, SC.01, K08.FR.04, K27)
// ---------------------------------------------------------------------------

/// K27 scenario 1: a 5 kW relative TxDefaultProfile, and local generation
/// of 2 kW then 1 kW.
fn k27_store(generation_on: i32) -> ProfileStore {
    let mut s = store(1, 1);
    s.install(
        0,
        profile(
            1,
            Purpose::TxDefault,
            0,
            Kind::Relative,
            RateUnit::W,
            &[(0, "5000")],
        ),
    )
    .unwrap();
    s.install(
        generation_on,
        profile(
            2,
            Purpose::LocalGeneration,
            0,
            Kind::Absolute,
            RateUnit::W,
            &[(0, "2000"), (H as i32, "1000")],
        ),
    )
    .unwrap();
    s
}

#[test]
fn local_generation_adds_on_top_of_the_composite() {
    // K27 scenario 1, steps 3b and 4b: 7000 W, then 6000 W.
    for on in [0, 1] {
        let s = k27_store(on);
        assert_eq!(
            periods(&s, 1, 2 * H, RateUnit::W),
            expect(&[(0, "7000"), (H, "6000")]),
            "generation on evse {on}"
        );
    }
    // K08.FR.03/.04: for EVSE 0 the station's own generation adds too; an
    // EVSE's generation does not.
    assert_eq!(
        periods(&k27_store(0), 0, 2 * H, RateUnit::W),
        expect(&[(0, "7000"), (H, "6000")])
    );
    assert_eq!(
        periods(&k27_store(1), 0, 2 * H, RateUnit::W),
        expect(&[(0, "5000")])
    );

    // SC.01: added to the lowest limit of the merged schedules.
    let mut s = k27_store(0);
    s.install(
        0,
        profile(
            3,
            Purpose::StationMax,
            0,
            Kind::Absolute,
            RateUnit::W,
            &[(0, "4000")],
        ),
    )
    .unwrap();
    assert_eq!(
        periods(&s, 1, 2 * H, RateUnit::W),
        expect(&[(0, "6000"), (H, "5000")])
    );

    // One stack per purpose (§3.6): the higher stack level leads, the
    // generation profiles are not summed.
    let mut s = k27_store(0);
    s.install(
        1,
        profile(
            4,
            Purpose::LocalGeneration,
            1,
            Kind::Absolute,
            RateUnit::W,
            &[(0, "500")],
        ),
    )
    .unwrap();
    assert_eq!(periods(&s, 1, 2 * H, RateUnit::W), expect(&[(0, "5500")]));

    // Unit conversion: 2000 W of generation is 2.8 A on 3 × 230 V.
    assert_eq!(
        periods(&k27_store(0), 1, 2 * H, RateUnit::A),
        expect(&[(0, "10.1"), (H, "8.6")])
    );
}

#[test]
fn local_generation_alone_does_not_limit() {
    // Nothing else sets a limit: no limit stays no limit.
    let mut s = store(1, 1);
    s.install(0, amps(2, Purpose::LocalGeneration, 0, "5"))
        .unwrap();
    assert_eq!(
        flat(&s, 1, RateUnit::A),
        CompositeOptions::default().no_limit(RateUnit::A)
    );
}

// ---------------------------------------------------------------------------
// Dynamic profiles (K28, K29)
// ---------------------------------------------------------------------------

fn dynamic(id: i32, purpose: Purpose, limit: &str) -> Profile {
    profile(id, purpose, 0, Kind::Dynamic, RateUnit::W, &[(0, limit)])
}

fn set(
    s: &mut ProfileStore,
    evse: i32,
    p: v21::ChargingProfile,
) -> v21::SetChargingProfileResponse {
    s.set_charging_profile_v21(&v21::SetChargingProfileRequest {
        charging_profile: p,
        custom_data: None,
        evse_id: evse,
    })
    .0
}

#[test]
fn dynamic_profiles_have_one_schedule_with_one_period() {
    let mut s = store(1, 3);
    // (requirement, profile, expected reasonCode or None for Accepted)
    let two_periods = profile(
        1,
        Purpose::TxDefault,
        0,
        Kind::Dynamic,
        RateUnit::W,
        &[(0, "5000"), (60, "4000")],
    );
    let mut two_schedules = dynamic(2, Purpose::TxDefault, "5000");
    two_schedules
        .schedules
        .push(schedule(2, Kind::Dynamic, RateUnit::W, &[(0, "1")]));
    let mut absolute_with_interval = profile_to_v21(&amps(3, Purpose::TxDefault, 1, "16")).unwrap();
    absolute_with_interval.dyn_update_interval = Some(60);
    let cases: Vec<(&str, v21::ChargingProfile, Option<&str>)> = vec![
        (
            "K28.FR.01/.03",
            profile_to_v21(&two_periods).unwrap(),
            Some("InvalidSchedule"),
        ),
        (
            "K28.FR.01/.03",
            profile_to_v21(&two_schedules).unwrap(),
            Some("InvalidSchedule"),
        ),
        (
            "K01.FR.122, K28.FR.04",
            absolute_with_interval,
            Some("InvalidProfile"),
        ),
        (
            "K28 scenario 1",
            profile_to_v21(&dynamic(4, Purpose::TxDefault, "5000")).unwrap(),
            None,
        ),
        (
            "K28 scenario 2",
            {
                let mut p = profile_to_v21(&dynamic(5, Purpose::TxDefault, "5000")).unwrap();
                p.stack_level = 2;
                p.dyn_update_interval = Some(60);
                p
            },
            None,
        ),
    ];
    for (rule, p, reason) in cases {
        let reply = set(&mut s, 1, p);
        match reason {
            Some(code) => {
                assert_eq!(
                    reply.status,
                    v21::ChargingProfileStatusEnum::Rejected,
                    "{rule}"
                );
                assert_eq!(reply.status_info.unwrap().reason_code, code, "{rule}");
            }
            None => assert_eq!(
                reply.status,
                v21::ChargingProfileStatusEnum::Accepted,
                "{rule}"
            ),
        }
    }
}

#[test]
fn dynamic_updates_change_the_limit_in_place() {
    let mut s = store(1, 1);
    s.install(1, dynamic(1, Purpose::TxDefault, "5000"))
        .unwrap();
    // K28 scenario 1 step 2: the limit applies at once (K28.FR.02).
    assert_eq!(flat(&s, 1, RateUnit::W), d("5000"));
    let update = |id, limit: &str| v21::UpdateDynamicScheduleRequest {
        charging_profile_id: id,
        custom_data: None,
        schedule_update: v21::ChargingScheduleUpdate {
            limit: Some(d(limit)),
            ..Default::default()
        },
    };

    // K28.FR.06, K28.FR.09: Accepted, applied, dynUpdateTime set.
    let reply = s.update_dynamic_schedule_v21(&update(1, "3000"), t(60));
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
    assert_eq!(flat(&s, 1, RateUnit::W), d("3000"));
    assert_eq!(s.profiles()[0].dyn_update_time, Some(t(60)));
    let (_, reports) = s.get_charging_profiles_v21(&v21::GetChargingProfilesRequest {
        charging_profile: v21::ChargingProfileCriterion {
            charging_limit_source: None,
            charging_profile_id: Some(vec![1]),
            charging_profile_purpose: None,
            custom_data: None,
            stack_level: None,
        },
        custom_data: None,
        evse_id: None,
        request_id: 1,
    });
    assert_eq!(reports[0].charging_profile[0].dyn_update_time, Some(t(60)));

    // An update without limit (e.g. only a setpoint) leaves it as it is.
    let reply = s.update_dynamic_schedule_v21(
        &v21::UpdateDynamicScheduleRequest {
            schedule_update: v21::ChargingScheduleUpdate::default(),
            ..update(1, "0")
        },
        t(90),
    );
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
    assert_eq!(flat(&s, 1, RateUnit::W), d("3000"));

    // K28.FR.11: not a Dynamic profile; and an unknown id.
    s.install(0, amps(7, Purpose::StationMax, 0, "32")).unwrap();
    for (id, code) in [(7, "InvalidProfile"), (99, "UnknownProfile")] {
        let reply = s.update_dynamic_schedule_v21(&update(id, "1000"), t(120));
        assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Rejected);
        assert_eq!(reply.status_info.unwrap().reason_code, code);
    }
    assert_eq!(
        s.update_dynamic(1, Some(d("-1")), t(120)),
        Err(DynamicUpdateError::NegativeLimit)
    );

    // K28.FR.08, K28.FR.09: a pulled update is applied; a rejected pull or
    // one without update changes nothing.
    let pulled = |status, limit: Option<&str>| v21::PullDynamicScheduleUpdateResponse {
        custom_data: None,
        schedule_update: limit.map(|l| v21::ChargingScheduleUpdate {
            limit: Some(d(l)),
            ..Default::default()
        }),
        status,
        status_info: None,
    };
    let accepted = v21::ChargingProfileStatusEnum::Accepted;
    let rejected = v21::ChargingProfileStatusEnum::Rejected;
    let cases = [
        (pulled(accepted, Some("4000")), Ok(true), "4000"),
        (pulled(rejected, Some("1000")), Ok(false), "4000"),
        (pulled(accepted, None), Ok(false), "4000"),
    ];
    for (response, outcome, limit) in cases {
        assert_eq!(
            s.pull_dynamic_schedule_update_v21(1, &response, t(180)),
            outcome
        );
        assert_eq!(flat(&s, 1, RateUnit::W), d(limit));
    }
    let installed = s.profiles().iter().find(|p| p.profile.id == 1).unwrap();
    assert_eq!(installed.dyn_update_time, Some(t(180)));
}

#[test]
fn external_and_local_generation_limits_update_dynamically() {
    let mut s = store(1, 1);
    s.install(
        0,
        profile(
            1,
            Purpose::TxDefault,
            0,
            Kind::Relative,
            RateUnit::W,
            &[(0, "5000")],
        ),
    )
    .unwrap();
    // K29.FR.04, .05, .06: an external single-value limit as a Dynamic
    // ChargingStationExternalConstraints profile, updated in place.
    s.install_external(
        1,
        dynamic(100, Purpose::ExternalConstraints, "6000"),
        Source::Ems,
    )
    .unwrap();
    assert_eq!(flat(&s, 1, RateUnit::W), d("5000"));
    s.update_dynamic(100, Some(d("3500")), t(10)).unwrap();
    assert_eq!(flat(&s, 1, RateUnit::W), d("3500"));
    s.remove_external(100);

    // K27 scenario 2: a Dynamic LocalGeneration profile: 5000 W plus its
    // current limit.
    s.install(0, dynamic(200, Purpose::LocalGeneration, "1500"))
        .unwrap();
    assert_eq!(flat(&s, 1, RateUnit::W), d("6500"));
    s.update_dynamic(200, Some(d("2500")), t(20)).unwrap();
    assert_eq!(flat(&s, 1, RateUnit::W), d("7500"));
    let reported = s.report(&ReportFilter {
        ids: vec![200],
        ..ReportFilter::default()
    });
    assert_eq!(reported[0].dyn_update_time, Some(t(20)));
}
