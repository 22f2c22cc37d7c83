//! Both sides agree: a CSMS sends profiles and asks for the composite
//! schedule; the charge point answers from its store; the CSMS's own
//! prediction from the same profiles equals the answer.

use chrono::{DateTime, Duration, Utc};
use ocpp_rpc::endpoint::{Endpoint, Event};
use ocpp_rpc::smart_charging::v16::profile_to_v16;
use ocpp_rpc::smart_charging::v201::profile_to_v201;
use ocpp_rpc::smart_charging::{
    Dialect, Kind, Period, Profile, ProfileStore, Purpose, RateUnit, Recurrency, Schedule,
    StoreConfig,
};
use ocpp_rpc::testing::Pair;
use ocpp_types::{Protocol, v16, v201};
use rust_decimal::Decimal;

fn t(secs: i64) -> DateTime<Utc> {
    "2025-03-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(secs)
}

fn events<P: Protocol>(e: &mut Endpoint<P>) -> Vec<Event<P>> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

fn profiles() -> Vec<(i32, Profile)> {
    let period = |start, limit: i64, phases| Period {
        start,
        limit: Some(Decimal::from(limit)),
        phases,
        extras: None,
    };
    let schedule = |start, unit, periods| Schedule {
        id: None,
        start,
        duration: None,
        unit,
        min_rate: None,
        periods,
    };
    let profile = |id, purpose, stack_level, kind, schedule| Profile {
        id,
        stack_level,
        purpose,
        kind,
        valid_from: None,
        valid_to: None,
        transaction_id: None,
        schedules: vec![schedule],
    };
    let mut evening = profile(
        2,
        Purpose::TxDefault,
        1,
        Kind::Recurring(Recurrency::Daily),
        schedule(
            Some(t(-86_400 + 17 * 3600)),
            RateUnit::A,
            vec![period(0, 10, None), period(3600, 6, Some(1))],
        ),
    );
    evening.schedules[0].duration = Some(4 * 3600);
    let mut tx = profile(
        3,
        Purpose::Tx,
        0,
        Kind::Relative,
        schedule(
            None,
            RateUnit::A,
            vec![period(0, 32, None), period(5400, 13, None)],
        ),
    );
    tx.transaction_id = Some("1".into());
    vec![
        (
            0,
            profile(
                1,
                Purpose::StationMax,
                0,
                Kind::Absolute,
                schedule(
                    Some(t(16 * 3600)),
                    RateUnit::W,
                    vec![period(0, 22_080, None), period(3600, 11_040, None)],
                ),
            ),
        ),
        (0, evening),
        (1, tx),
    ]
}

fn config() -> StoreConfig {
    StoreConfig {
        evse_count: 2,
        ..StoreConfig::default()
    }
}

#[test]
fn v1_6_csms_prediction_equals_the_charge_point_answer() {
    let mut pair = Pair::<v16::V16>::new();
    let now = pair.now();
    // Both sides know the transaction (the CSMS from StartTransaction).
    let mut charger = ProfileStore::new(Dialect::V16, config());
    let mut mirror = ProfileStore::new(Dialect::V16, config());
    for s in [&mut charger, &mut mirror] {
        s.start_transaction(1, "1", t(16 * 3600)).unwrap();
    }
    for (connector, p) in profiles() {
        let request = v16::SetChargingProfileRequest {
            connector_id: connector,
            cs_charging_profiles: profile_to_v16(&p).unwrap(),
        };
        mirror.set_charging_profile_v16(&request).1.unwrap();
        pair.csms.call(now, request).unwrap();
    }
    let ask = v16::GetCompositeScheduleRequest {
        charging_rate_unit: Some(v16::ChargingRateUnitType::W),
        connector_id: 1,
        duration: 6 * 3600,
    };
    let call = pair.csms.call(now, ask.clone()).unwrap();
    let received_at = t(16 * 3600 + 1800);

    let mut answered = 0;
    let mut reply = None;
    for _ in 0..10 {
        pair.drive();
        for e in events(&mut pair.charge_point) {
            if let Event::Request { id, request } = e {
                match request {
                    v16::AnyRequest::SetChargingProfile(r) => {
                        let (response, outcome) = charger.set_charging_profile_v16(&r);
                        assert!(outcome.is_ok(), "{outcome:?}");
                        pair.charge_point.respond(&id, response).unwrap();
                    }
                    v16::AnyRequest::GetCompositeSchedule(r) => {
                        let response = charger.get_composite_schedule_v16(&r, received_at);
                        pair.charge_point.respond(&id, response).unwrap();
                    }
                    other => panic!("unexpected {other:?}"),
                }
                answered += 1;
            }
        }
        for e in events(&mut pair.csms) {
            if let Event::Response { call: c, result } = e {
                if c == call {
                    reply = Some(result.unwrap());
                } else {
                    assert!(matches!(
                        result,
                        Ok(v16::AnyResponse::SetChargingProfile(ref r))
                            if r.status == v16::ChargingProfileStatus::Accepted
                    ));
                }
            }
        }
        if reply.is_some() {
            break;
        }
    }
    assert_eq!(answered, 4);
    let Some(v16::AnyResponse::GetCompositeSchedule(reply)) = reply else {
        panic!("no composite schedule");
    };
    let predicted = mirror.get_composite_schedule_v16(&ask, received_at);
    assert_eq!(*reply, predicted);
    // And it is not trivial: the max profile, the TxProfile and its step all show.
    let limits: Vec<_> = reply
        .charging_schedule
        .unwrap()
        .charging_schedule_period
        .iter()
        .map(|p| (p.start_period, p.limit))
        .collect();
    assert_eq!(
        limits,
        [
            (0, Decimal::from(22_080)),
            (1800, Decimal::from(11_040)),
            (3600, Decimal::from(8970)),
        ]
    );
}

#[test]
fn v2_0_1_csms_prediction_equals_the_charging_station_answer() {
    let mut pair = Pair::<v201::V201>::new();
    let now = pair.now();
    let mut charger = ProfileStore::new(Dialect::V2x, config());
    let mut mirror = ProfileStore::new(Dialect::V2x, config());
    for s in [&mut charger, &mut mirror] {
        s.start_transaction(1, "1", t(16 * 3600)).unwrap();
    }
    for (evse, p) in profiles() {
        let request = v201::SetChargingProfileRequest {
            charging_profile: profile_to_v201(&p).unwrap(),
            custom_data: None,
            evse_id: evse,
        };
        mirror.set_charging_profile_v201(&request).1.unwrap();
        pair.csms.call(now, request).unwrap();
    }
    let ask = v201::GetCompositeScheduleRequest {
        charging_rate_unit: Some(v201::ChargingRateUnitEnum::A),
        custom_data: None,
        duration: 6 * 3600,
        evse_id: 1,
    };
    let call = pair.csms.call(now, ask.clone()).unwrap();
    let received_at = t(16 * 3600 + 1800);
    let mut reply = None;
    for _ in 0..10 {
        pair.drive();
        for e in events(&mut pair.charge_point) {
            if let Event::Request { id, request } = e {
                match request {
                    v201::AnyRequest::SetChargingProfile(r) => {
                        let (response, _) = charger.set_charging_profile_v201(&r);
                        assert_eq!(response.status, v201::ChargingProfileStatusEnum::Accepted);
                        pair.charge_point.respond(&id, response).unwrap();
                    }
                    v201::AnyRequest::GetCompositeSchedule(r) => {
                        let response = charger.get_composite_schedule_v201(&r, received_at);
                        pair.charge_point.respond(&id, response).unwrap();
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        for e in events(&mut pair.csms) {
            if let Event::Response { call: c, result } = e
                && c == call
            {
                reply = Some(result.unwrap());
            }
        }
        if reply.is_some() {
            break;
        }
    }
    let Some(v201::AnyResponse::GetCompositeSchedule(reply)) = reply else {
        panic!("no composite schedule");
    };
    assert_eq!(
        *reply,
        mirror.get_composite_schedule_v201(&ask, received_at)
    );
    assert_eq!(reply.status, v201::GenericStatusEnum::Accepted);
}
