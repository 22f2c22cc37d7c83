//! OCPP 2.1 smart charging details: what ClearChargingProfile leaves alone
//! (K10), the optional features a station declares (K01.FR.120, .121), the
//! bookkeeping of Dynamic profiles (K28.FR.05, .09, .10), limits from an EMS
//! that represent local generation (K27.FR.01, .02), the 2.1-only period
//! fields, and the 2.1 TxProfile of load sharing. Each case cites the
//! requirement of OCPP 2.1 Part 2, chapter K, it checks.

use chrono::{DateTime, Duration, Utc};
use ocpp_rpc::smart_charging::load_sharing::{tx_profile, tx_request_v21};
use ocpp_rpc::smart_charging::model::{OperationMode, PeriodExtras};
use ocpp_rpc::smart_charging::v21::profile_to_v21;
use ocpp_rpc::smart_charging::{
    Dialect, Kind, Period, Profile, ProfileStore, Purpose, RateUnit, Rejection, Schedule, Source,
    StoreConfig,
};
use ocpp_types::Validate;
use ocpp_types::v21;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// 2025-01-01T00:00:00Z plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

fn profile(id: i32, purpose: Purpose, kind: Kind, unit: RateUnit, limit: &str) -> Profile {
    Profile {
        id,
        stack_level: 0,
        purpose,
        kind,
        valid_from: None,
        valid_to: None,
        transaction_id: (purpose == Purpose::Tx).then(|| "tx1".to_owned()),
        schedules: vec![Schedule {
            id: Some(1),
            start: match kind {
                Kind::Relative | Kind::Dynamic => None,
                _ => Some(t(0)),
            },
            duration: None,
            unit,
            min_rate: None,
            periods: vec![Period {
                start: 0,
                limit: Some(d(limit)),
                phases: None,
                extras: None,
            }],
        }],
    }
}

fn watts(id: i32, purpose: Purpose, limit: &str) -> Profile {
    let kind = if purpose == Purpose::TxDefault {
        Kind::Relative
    } else {
        Kind::Absolute
    };
    profile(id, purpose, kind, RateUnit::W, limit)
}

fn store(config: StoreConfig) -> ProfileStore {
    ProfileStore::new(Dialect::V2x, config)
}

fn two_evses() -> StoreConfig {
    StoreConfig {
        evse_count: 2,
        ..StoreConfig::default()
    }
}

/// The limit of the composite of `evse` over one hour, which must be flat.
fn flat(s: &ProfileStore, evse: i32, unit: RateUnit) -> Decimal {
    let c = s.composite(evse, t(0), 3600, Some(unit)).unwrap();
    assert_eq!(c.periods.len(), 1, "{:?}", c.periods);
    c.periods[0].limit
}

fn ids(s: &ProfileStore) -> Vec<i32> {
    let mut ids: Vec<i32> = s.profiles().iter().map(|p| p.profile.id).collect();
    ids.sort();
    ids
}

fn set_request(evse: i32, profile: v21::ChargingProfile) -> v21::SetChargingProfileRequest {
    v21::SetChargingProfileRequest {
        charging_profile: profile,
        custom_data: None,
        evse_id: evse,
    }
}

fn get_all() -> v21::GetChargingProfilesRequest {
    v21::GetChargingProfilesRequest {
        charging_profile: v21::ChargingProfileCriterion {
            charging_limit_source: None,
            charging_profile_id: None,
            charging_profile_purpose: None,
            custom_data: None,
            stack_level: None,
        },
        custom_data: None,
        evse_id: None,
        request_id: 7,
    }
}

/// Every reported profile with its EVSE and source, in report order.
fn reported(s: &ProfileStore) -> Vec<(i32, String, v21::ChargingProfile)> {
    let (_, reports) = s.get_charging_profiles_v21(&get_all());
    for r in &reports {
        r.validate().unwrap();
    }
    reports
        .into_iter()
        .flat_map(|r| {
            let source = r.charging_limit_source.as_str().to_owned();
            let evse = r.evse_id;
            r.charging_profile
                .into_iter()
                .map(move |p| (evse, source.clone(), p))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// K10: ClearChargingProfile disregards external constraints and local
// generation
// ---------------------------------------------------------------------------

/// StationMax 1 on 0, TxDefault 2 on 1, the CSMS's LocalGeneration 3 on 0,
/// the EMS's LocalGeneration -1 on 1 and external constraint -2 on 0.
fn k10_store() -> ProfileStore {
    let mut s = store(two_evses());
    s.install(0, watts(1, Purpose::StationMax, "20000"))
        .unwrap();
    s.install(1, watts(2, Purpose::TxDefault, "7000")).unwrap();
    s.install(0, watts(3, Purpose::LocalGeneration, "1000"))
        .unwrap();
    s.install_local_generation(1, watts(-1, Purpose::TxDefault, "2000"), Source::Ems)
        .unwrap();
    s.install_external(0, watts(-2, Purpose::StationMax, "15000"), Source::So)
        .unwrap();
    s
}

#[test]
fn clear_charging_profile_never_clears_external_constraints_or_local_generation() {
    use v21::ChargingProfilePurposeEnum as P;
    use v21::ClearChargingProfileStatusEnum as S;
    let by_id = |id| v21::ClearChargingProfileRequest {
        charging_profile_criteria: None,
        charging_profile_id: Some(id),
        custom_data: None,
    };
    let by = |evse: Option<i32>, purpose: Option<P>, level: Option<i32>| {
        v21::ClearChargingProfileRequest {
            charging_profile_criteria: Some(v21::ClearChargingProfile {
                charging_profile_purpose: purpose,
                custom_data: None,
                evse_id: evse,
                stack_level: level,
            }),
            charging_profile_id: None,
            custom_data: None,
        }
    };
    let cases: Vec<(&str, v21::ClearChargingProfileRequest, S, Vec<i32>)> = vec![
        // K10.FR.03: by id, a profile of another purpose.
        ("id 2", by_id(2), S::Accepted, vec![-2, -1, 1, 3]),
        // K10.FR.09: by id, external constraints or local generation.
        ("id 3", by_id(3), S::Unknown, vec![-2, -1, 1, 2, 3]),
        ("id -1", by_id(-1), S::Unknown, vec![-2, -1, 1, 2, 3]),
        ("id -2", by_id(-2), S::Unknown, vec![-2, -1, 1, 2, 3]),
        // K10.FR.08: criteria that match only those purposes.
        (
            "purpose LocalGeneration",
            by(None, Some(P::LocalGeneration), None),
            S::Unknown,
            vec![-2, -1, 1, 2, 3],
        ),
        (
            "purpose ExternalConstraints",
            by(None, Some(P::ChargingStationExternalConstraints), None),
            S::Unknown,
            vec![-2, -1, 1, 2, 3],
        ),
        // K10.FR.04: the AND of the criteria, except those purposes.
        (
            "evse 0",
            by(Some(0), None, None),
            S::Accepted,
            vec![-2, -1, 2, 3],
        ),
        (
            "evse 1, level 0",
            by(Some(1), None, Some(0)),
            S::Accepted,
            vec![-2, -1, 1, 3],
        ),
        (
            "level 0",
            by(None, None, Some(0)),
            S::Accepted,
            vec![-2, -1, 3],
        ),
    ];
    for (name, request, status, left) in cases {
        let mut s = k10_store();
        let reply = s.clear_charging_profile_v21(&request);
        assert_eq!(reply.status, status, "{name}");
        assert_eq!(ids(&s), left, "{name}");
    }
}

// ---------------------------------------------------------------------------
// K01.FR.120, K01.FR.121: optional purposes and kinds
// ---------------------------------------------------------------------------

#[test]
fn unsupported_purposes_and_dynamic_profiles_are_rejected() {
    let priority = || {
        let mut p = watts(5, Purpose::PriorityCharging, "22000");
        p.kind = Kind::Absolute;
        p
    };
    let generation = || watts(6, Purpose::LocalGeneration, "2000");
    let dynamic = || profile(7, Purpose::TxDefault, Kind::Dynamic, RateUnit::W, "5000");
    let plain = || watts(8, Purpose::TxDefault, "5000");
    let all = vec![Purpose::PriorityCharging, Purpose::LocalGeneration];
    type Case = (
        &'static str,
        Vec<Purpose>,
        bool,
        fn() -> Profile,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        ("defaults", all.clone(), true, priority, None),
        ("defaults", all.clone(), true, generation, None),
        ("defaults", all.clone(), true, dynamic, None),
        (
            "no additional purposes",
            vec![],
            true,
            priority,
            Some("UnsupportedPurpose"),
        ),
        (
            "no additional purposes",
            vec![],
            true,
            generation,
            Some("UnsupportedPurpose"),
        ),
        (
            "priority only",
            vec![Purpose::PriorityCharging],
            true,
            priority,
            None,
        ),
        (
            "priority only",
            vec![Purpose::PriorityCharging],
            true,
            generation,
            Some("UnsupportedPurpose"),
        ),
        (
            "no dynamic",
            all.clone(),
            false,
            dynamic,
            Some("UnsupportedKind"),
        ),
        // Other purposes and kinds are not optional.
        ("nothing optional", vec![], false, plain, None),
    ];
    for (name, purposes, dynamic_ok, make, code) in cases {
        let mut s = store(StoreConfig {
            supported_additional_purposes: purposes,
            supports_dynamic_profiles: dynamic_ok,
            ..StoreConfig::default()
        });
        let wire = profile_to_v21(&make()).unwrap();
        let (reply, outcome) = s.set_charging_profile_v21(&set_request(0, wire));
        reply.validate().unwrap();
        match code {
            None => assert_eq!(
                reply.status,
                v21::ChargingProfileStatusEnum::Accepted,
                "{name}: {outcome:?}"
            ),
            Some(code) => {
                assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Rejected);
                assert_eq!(
                    reply.status_info.unwrap().reason_code.as_str(),
                    code,
                    "{name}"
                );
            }
        }
    }

    // The station's own limits are not governed by these variables.
    let mut s = store(StoreConfig {
        supported_additional_purposes: vec![],
        supports_dynamic_profiles: false,
        ..StoreConfig::default()
    });
    let ems_dynamic = profile(
        -3,
        Purpose::LocalGeneration,
        Kind::Dynamic,
        RateUnit::W,
        "9",
    );
    assert!(s.install_external(0, ems_dynamic, Source::Ems).is_ok());
    assert_eq!(
        s.install(0, generation()),
        Err(Rejection::UnsupportedPurpose(Purpose::LocalGeneration))
    );
}

#[test]
fn the_new_settings_default_to_the_old_behaviour_in_old_snapshots() {
    let config = StoreConfig::default();
    assert_eq!(
        config.supported_additional_purposes,
        vec![Purpose::PriorityCharging, Purpose::LocalGeneration]
    );
    assert!(config.supports_dynamic_profiles);
    // A snapshot taken before the settings existed restores to the defaults.
    let mut json = serde_json::to_value(&config).unwrap();
    let object = json.as_object_mut().unwrap();
    object.remove("supported_additional_purposes").unwrap();
    object.remove("supports_dynamic_profiles").unwrap();
    let back: StoreConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, config);
}

// ---------------------------------------------------------------------------
// K28: dynUpdateTime and dynUpdateInterval
// ---------------------------------------------------------------------------

fn dynamic_wire(
    id: i32,
    interval: Option<i32>,
    time: Option<DateTime<Utc>>,
) -> v21::ChargingProfile {
    let mut wire = profile_to_v21(&profile(
        id,
        Purpose::TxDefault,
        Kind::Dynamic,
        RateUnit::W,
        "5000",
    ))
    .unwrap();
    wire.dyn_update_interval = interval;
    wire.dyn_update_time = time;
    wire
}

#[test]
fn dynamic_profiles_keep_and_report_their_update_time_and_interval() {
    // (dynUpdateTime sent, received at, dynUpdateTime kept): K28.FR.05.
    let cases = [(None, t(100), t(100)), (Some(t(40)), t(100), t(40))];
    for (sent, now, kept) in cases {
        let mut s = store(StoreConfig::default());
        let (reply, _) =
            s.set_charging_profile_v21_at(&set_request(1, dynamic_wire(1, Some(60), sent)), now);
        assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
        assert_eq!(s.profiles()[0].dyn_update_time, Some(kept));
        let (_, _, p) = &reported(&s)[0];
        assert_eq!(p.dyn_update_time, Some(kept));
        assert_eq!(p.dyn_update_interval, Some(60));
    }

    // Without a time of receipt the given dynUpdateTime is still kept.
    let mut s = store(StoreConfig::default());
    let _ = s.set_charging_profile_v21(&set_request(1, dynamic_wire(1, None, Some(t(5)))));
    assert_eq!(s.profiles()[0].dyn_update_time, Some(t(5)));

    // K28.FR.04 / K01.FR.122 still hold for the timed variant.
    let mut plain = dynamic_wire(2, Some(60), None);
    plain.charging_profile_kind = v21::ChargingProfileKindEnum::Relative;
    let (reply, outcome) = s.set_charging_profile_v21_at(&set_request(1, plain), t(0));
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Rejected);
    assert_eq!(outcome, Err(Rejection::DynUpdateNotDynamic));
}

#[test]
fn dynamic_profiles_with_an_interval_are_pulled_on_time() {
    let mut s = store(StoreConfig {
        evse_count: 3,
        ..StoreConfig::default()
    });
    // Profile 1 pulls every 60 s, 2 every 0 s (never: K28.FR.10 needs > 0),
    // 3 has no interval.
    for (evse, id, interval) in [(1, 1, Some(60)), (2, 2, Some(0)), (3, 3, None)] {
        let (reply, _) = s.set_charging_profile_v21_at(
            &set_request(evse, dynamic_wire(id, interval, None)),
            t(0),
        );
        assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
    }
    // (now, what happens first, pulls due at now, next pull).
    enum Step {
        Nothing,
        Pulled,
        Updated,
    }
    let steps = [
        (59, Step::Nothing, vec![], Some(t(60))),
        (60, Step::Nothing, vec![1], Some(t(60))),
        // K28.FR.10: the request is sent; the next waits a whole interval,
        // even if this one is rejected.
        (61, Step::Pulled, vec![], Some(t(121))),
        // K28.FR.09: an update (pushed or pulled) restarts the interval.
        (100, Step::Updated, vec![], Some(t(160))),
        (160, Step::Nothing, vec![1], Some(t(160))),
    ];
    for (now, step, due, next) in steps {
        match step {
            Step::Nothing => {}
            Step::Pulled => assert!(s.record_dynamic_pull(1, t(now))),
            Step::Updated => s.update_dynamic(1, Some(d("4000")), t(now)).unwrap(),
        }
        assert_eq!(s.dynamic_pulls_due(t(now)), due, "at {now}");
        assert_eq!(s.next_dynamic_pull(), next, "at {now}");
    }
    // Not a Dynamic profile: nothing to record.
    s.install(0, watts(9, Purpose::StationMax, "20000"))
        .unwrap();
    assert!(!s.record_dynamic_pull(9, t(0)));
    assert!(!s.set_dynamic_bookkeeping(9, Some(60), Some(t(0))));

    // The bookkeeping survives a snapshot.
    let back: ProfileStore = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.next_dynamic_pull(), Some(t(160)));
}

// ---------------------------------------------------------------------------
// K27.FR.01, .02: limits from an EMS that represent local generation
// ---------------------------------------------------------------------------

#[test]
fn ems_local_generation_is_a_local_generation_profile() {
    // (purpose given to install_external, purpose installed, composite of
    // EVSE 1 under a 5000 W TxDefault): K27.FR.01 keeps local generation,
    // anything else is an external constraint.
    let cases = [
        (Purpose::LocalGeneration, Purpose::LocalGeneration, "7000"),
        (
            Purpose::ExternalConstraints,
            Purpose::ExternalConstraints,
            "2000",
        ),
        (Purpose::TxDefault, Purpose::ExternalConstraints, "2000"),
        (Purpose::StationMax, Purpose::ExternalConstraints, "2000"),
    ];
    for (given, installed, limit) in cases {
        let mut s = store(StoreConfig::default());
        s.install(0, watts(1, Purpose::TxDefault, "5000")).unwrap();
        s.install_external(1, watts(-1, given, "2000"), Source::Ems)
            .unwrap();
        let p = s.profiles().iter().find(|p| p.profile.id == -1).unwrap();
        assert_eq!(p.profile.purpose, installed, "{given:?}");
        assert!(p.is_from_station());
        assert_eq!(flat(&s, 1, RateUnit::W), d(limit), "{given:?}");
    }

    // install_local_generation forces the purpose (K27 scenario 1: 5 kW of
    // TxDefault plus 2 kW generated on site).
    let mut s = store(StoreConfig::default());
    s.install(0, watts(1, Purpose::TxDefault, "5000")).unwrap();
    s.install_local_generation(
        0,
        watts(-1, Purpose::ExternalConstraints, "2000"),
        Source::Ems,
    )
    .unwrap();
    assert_eq!(flat(&s, 1, RateUnit::W), d("7000"));

    // K27.FR.02: reported, with its purpose and source.
    let all = reported(&s);
    let (evse, source, p) = all.iter().find(|(_, _, p)| p.id == -1).unwrap();
    assert_eq!((*evse, source.as_str()), (0, "EMS"));
    assert_eq!(
        p.charging_profile_purpose,
        v21::ChargingProfilePurposeEnum::LocalGeneration
    );

    // The CSMS can neither replace it by id nor clear it; the station can
    // remove it.
    assert_eq!(
        s.install(0, watts(-1, Purpose::TxDefault, "9000")),
        Err(Rejection::ReplacesExternal(-1))
    );
    assert!(s.clear(&Default::default()).contains(&1));
    assert_eq!(ids(&s), vec![-1]);
    assert!(s.remove_external(-1));
    assert!(s.profiles().is_empty());

    // A LocalGeneration profile the CSMS installed is the CSMS's: it may
    // replace it, and the station's remove_external leaves it.
    let mut s = store(StoreConfig::default());
    s.install(0, watts(3, Purpose::LocalGeneration, "1000"))
        .unwrap();
    assert!(!s.profiles()[0].is_from_station());
    assert!(!s.remove_external(3));
    assert_eq!(
        s.install(0, watts(3, Purpose::LocalGeneration, "1500")),
        Ok(vec![3])
    );
}

// ---------------------------------------------------------------------------
// 2.1-only period fields
// ---------------------------------------------------------------------------

/// A SetChargingProfileRequest whose period carries every 2.1-only field.
fn rich_request() -> v21::SetChargingProfileRequest {
    serde_json::from_value(serde_json::json!({
        "evseId": 1,
        "chargingProfile": {
            "id": 11,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [{
                "id": 1,
                "startSchedule": "2025-01-01T00:00:00Z",
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {
                        "startPeriod": 0,
                        "limit": 11000,
                        "limit_L2": 10000,
                        "limit_L3": 9000,
                        "dischargeLimit": -5000,
                        "dischargeLimit_L2": -4000,
                        "dischargeLimit_L3": -3000,
                        "setpoint": 2000,
                        "setpoint_L2": 1000,
                        "setpoint_L3": 500,
                        "setpointReactive": 300,
                        "setpointReactive_L2": 200,
                        "setpointReactive_L3": 100,
                        "operationMode": "CentralSetpoint",
                        "preconditioningRequest": true,
                        "evseSleep": false,
                        "v2xBaseline": 1500,
                        "v2xFreqWattCurve": [
                            {"frequency": 49.8, "power": 3000},
                            {"frequency": 50.2, "power": -3000}
                        ],
                        "v2xSignalWattCurve": [
                            {"signal": 1, "power": 1000},
                            {"signal": 2, "power": -1000}
                        ]
                    },
                    {
                        "startPeriod": 1800,
                        "limit": 4000,
                        "numberPhases": 1,
                        "phaseToUse": 2,
                        "operationMode": "ChargingOnly"
                    }
                ]
            }]
        }
    }))
    .unwrap()
}

#[test]
fn a_stored_profile_reports_back_its_2_1_period_fields() {
    let request = rich_request();
    request.validate().unwrap();
    let mut s = store(StoreConfig::default());
    let (reply, _) = s.set_charging_profile_v21(&request);
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
    let x = s.profiles()[0].profile.schedules[0].periods[0]
        .extras
        .as_deref()
        .unwrap();
    assert_eq!(x.operation_mode, Some(OperationMode::CentralSetpoint));
    assert_eq!(x.setpoint, Some(d("2000")));
    assert_eq!(x.v2x_freq_watt_curve.len(), 2);

    let all = reported(&s);
    assert_eq!(
        all[0].2.charging_schedule[0].charging_schedule_period,
        request.charging_profile.charging_schedule[0].charging_schedule_period
    );
    // And through a snapshot.
    let back: ProfileStore = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);

    // A period without 2.1-only fields keeps none.
    let mut s = store(StoreConfig::default());
    let plain = profile_to_v21(&watts(1, Purpose::TxDefault, "5000")).unwrap();
    let _ = s.set_charging_profile_v21(&set_request(0, plain));
    assert_eq!(s.profiles()[0].profile.schedules[0].periods[0].extras, None);
}

#[test]
fn the_composite_keeps_what_it_can_of_the_2_1_period_fields() {
    let with = |unit, limit: &str, extras: PeriodExtras| {
        let mut p = profile(1, Purpose::TxDefault, Kind::Relative, unit, limit);
        p.schedules[0].periods[0].extras = Some(Box::new(extras));
        p
    };
    let cases: Vec<(&str, Profile, RateUnit, &str)> = vec![
        (
            "evseSleep: nothing drawn",
            with(
                RateUnit::A,
                "16",
                PeriodExtras {
                    evse_sleep: Some(true),
                    ..Default::default()
                },
            ),
            RateUnit::A,
            "0",
        ),
        (
            "evseSleep false: no change",
            with(
                RateUnit::A,
                "16",
                PeriodExtras {
                    evse_sleep: Some(false),
                    ..Default::default()
                },
            ),
            RateUnit::A,
            "16",
        ),
        (
            "per-phase amps: the lowest phase",
            with(
                RateUnit::A,
                "16",
                PeriodExtras {
                    limit_l2: Some(d("10")),
                    limit_l3: Some(d("13")),
                    ..Default::default()
                },
            ),
            RateUnit::A,
            "10",
        ),
        (
            "per-phase watts: three times the lowest phase",
            with(
                RateUnit::W,
                "3000",
                PeriodExtras {
                    limit_l2: Some(d("2300")),
                    limit_l3: Some(d("2500")),
                    ..Default::default()
                },
            ),
            RateUnit::W,
            "6900",
        ),
        (
            "per-phase watts in amps",
            with(
                RateUnit::W,
                "3000",
                PeriodExtras {
                    limit_l2: Some(d("2300")),
                    limit_l3: Some(d("2500")),
                    ..Default::default()
                },
            ),
            RateUnit::A,
            "10",
        ),
        (
            "setpoints and modes do not change the limit",
            with(
                RateUnit::W,
                "7000",
                PeriodExtras {
                    setpoint: Some(d("2000")),
                    discharge_limit: Some(d("-3000")),
                    operation_mode: Some(OperationMode::CentralSetpoint),
                    ..Default::default()
                },
            ),
            RateUnit::W,
            "7000",
        ),
    ];
    for (name, p, unit, limit) in cases {
        let mut s = store(StoreConfig::default());
        s.install(1, p).unwrap();
        assert_eq!(flat(&s, 1, unit), d(limit), "{name}");
    }
}

#[test]
fn dynamic_updates_apply_setpoints_and_per_phase_values() {
    let mut s = store(StoreConfig::default());
    s.install(
        1,
        profile(1, Purpose::TxDefault, Kind::Dynamic, RateUnit::A, "16"),
    )
    .unwrap();
    let update = |u: v21::ChargingScheduleUpdate| v21::UpdateDynamicScheduleRequest {
        charging_profile_id: 1,
        custom_data: None,
        schedule_update: u,
    };
    // K28.FR.06: the values given are applied, the others kept.
    let reply = s.update_dynamic_schedule_v21(
        &update(v21::ChargingScheduleUpdate {
            limit_l2: Some(d("12")),
            setpoint: Some(d("8")),
            ..Default::default()
        }),
        t(10),
    );
    assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
    assert_eq!(flat(&s, 1, RateUnit::A), d("12"));
    let pulled = v21::PullDynamicScheduleUpdateResponse {
        custom_data: None,
        schedule_update: Some(v21::ChargingScheduleUpdate {
            setpoint: Some(d("6")),
            discharge_limit: Some(d("-4")),
            ..Default::default()
        }),
        status: v21::ChargingProfileStatusEnum::Accepted,
        status_info: None,
    };
    assert_eq!(
        s.pull_dynamic_schedule_update_v21(1, &pulled, t(20)),
        Ok(true)
    );
    let period = &reported(&s)[0].2.charging_schedule[0].charging_schedule_period[0];
    assert_eq!(period.limit, Some(d("16")));
    assert_eq!(period.limit_l2, Some(d("12")));
    assert_eq!(period.setpoint, Some(d("6")));
    assert_eq!(period.discharge_limit, Some(d("-4")));
    assert_eq!(s.profiles()[0].dyn_update_time, Some(t(20)));
}

// ---------------------------------------------------------------------------
// Load sharing: the 2.1 TxProfile
// ---------------------------------------------------------------------------

#[test]
fn load_sharing_makes_valid_2_1_tx_profiles_the_station_accepts() {
    let cases = [
        (RateUnit::A, "13.3"),
        (RateUnit::W, "9200"),
        (RateUnit::A, "0"),
    ];
    for (unit, limit) in cases {
        let request = tx_request_v21(1, 40, 2, "tx-42", d(limit), unit).unwrap();
        request.validate().unwrap();
        assert_eq!(request.evse_id, 1);
        assert_eq!(
            request.charging_profile,
            profile_to_v21(&tx_profile(40, 2, "tx-42", d(limit), unit)).unwrap()
        );
        let mut s = store(StoreConfig::default());
        s.start_transaction(1, "tx-42", t(0)).unwrap();
        let (reply, _) = s.set_charging_profile_v21(&request);
        assert_eq!(reply.status, v21::ChargingProfileStatusEnum::Accepted);
        assert_eq!(flat(&s, 1, unit), d(limit));
    }
    // A transaction id longer than 2.1 allows gives no profile.
    assert!(tx_request_v21(1, 1, 0, "x".repeat(37), d("6"), RateUnit::A).is_none());
}
