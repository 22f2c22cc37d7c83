//! The simulator against a minimal CSMS on loopback, one session per
//! version: the report adds up and the CSMS saw the transaction start,
//! advance and end. Bounded in time; every step uses short intervals.

mod simulator_csms;

use std::time::Duration;

use ocpp_examples::sim::{Scenario, SimError, StationOptions, run_station};
use ocpp_rpc::tokio::{Accepted, Server};
use ocpp_types::{BoundedString, Version, v16};
use tokio::sync::watch;
use tokio::time::timeout;

use simulator_csms::{LIMIT, Seen, count, csms, seen_at_least};

/// Options with short sessions, ticks and timeouts.
fn short(server: &Server, id: &str, version: Version) -> StationOptions {
    let url = format!("ws://{}/ocpp", server.local_addr());
    let mut options = StationOptions::new(url, id, version);
    options.session_time = Duration::from_secs(3);
    options.tick = Duration::from_millis(500);
    options.sample_secs = 1;
    options.step_timeout = Duration::from_secs(8);
    options
}

/// Runs one station of `version` for one session; the CSMS's lines.
async fn one_session(version: Version, id: &str) -> Vec<String> {
    let seen = Seen::default();
    let server = csms(&seen, "Accepted").await;
    let options = short(&server, id, version);
    let report = timeout(LIMIT, run_station(options))
        .await
        .expect("the station finishes in time")
        .expect("the station succeeds");
    assert_eq!(report.id, id);
    assert_eq!(report.sessions, 1);
    // 11 kW for about 3 s: about 9 Wh.
    assert!(report.energy_wh > 0, "{report}");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.frames_sent > 5 && report.frames_received > 5,
        "{report}"
    );
    server.shutdown(Duration::from_secs(1)).await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|l| l.starts_with(id)), "{seen:?}");
    seen.into_iter()
        .map(|l| l[id.len() + 1..].to_owned())
        .collect()
}

fn position(seen: &[String], prefix: &str) -> usize {
    seen.iter().position(|l| l.starts_with(prefix)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_station_charges_one_session() {
    let seen = one_session(Version::V16, "SIM-16").await;
    assert_eq!(count(&seen, "BootNotification"), 1, "{seen:?}");
    assert_eq!(count(&seen, "StartTransaction"), 1, "{seen:?}");
    assert_eq!(count(&seen, "StopTransaction"), 1, "{seen:?}");
    assert!(count(&seen, "MeterValues") >= 1, "{seen:?}");
    assert!(count(&seen, "StatusNotification Charging") == 1, "{seen:?}");
    let start = position(&seen, "StartTransaction");
    let stop = position(&seen, "StopTransaction");
    assert!(start < stop);
    let meter_stop: i64 = seen[stop]["StopTransaction ".len()..].parse().unwrap();
    assert!(meter_stop > 0, "{seen:?}");
}

fn assert_2x_session(seen: &[String]) {
    assert_eq!(count(seen, "BootNotification"), 1, "{seen:?}");
    assert_eq!(count(seen, "TransactionEvent Started"), 1, "{seen:?}");
    assert_eq!(count(seen, "TransactionEvent Ended"), 1, "{seen:?}");
    assert!(count(seen, "TransactionEvent Updated") >= 1, "{seen:?}");
    assert!(position(seen, "TransactionEvent Started") < position(seen, "TransactionEvent Ended"));
    assert!(count(seen, "StatusNotification Occupied") >= 1, "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_201_station_charges_one_session() {
    assert_2x_session(&one_session(Version::V201, "SIM-201").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_21_station_charges_one_session() {
    assert_2x_session(&one_session(Version::V21, "SIM-21").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_boot_fails_the_station() {
    let seen = Seen::default();
    let server = csms(&seen, "Rejected").await;
    let result = timeout(LIMIT, run_station(short(&server, "SIM-R", Version::V21)))
        .await
        .unwrap();
    assert_eq!(result, Err(SimError::NotAccepted { id: "SIM-R".into() }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_station_answers_commands_reboots_and_stops() {
    let seen = Seen::default();
    let server = csms(&seen, "Accepted").await;
    let mut options = short(&server, "SIM-IDLE", Version::V16);
    options.scenario = Scenario::Idle;
    let (stop, stopped) = watch::channel(false);
    options.stop = Some(stopped);
    let station = tokio::spawn(run_station(options));
    seen_at_least(&seen, "SIM-IDLE BootNotification", 1).await;
    let Some(Accepted::V16(cp)) = server.connection("SIM-IDLE") else {
        panic!("a 1.6 connection");
    };
    let answer = cp
        .call(v16::DataTransferRequest {
            data: None,
            message_id: None,
            vendor_id: BoundedString::new_unchecked("com.example"),
        })
        .await
        .unwrap();
    assert_eq!(answer.status, v16::DataTransferStatus::UnknownVendorId);
    let answer = cp
        .call(v16::UnlockConnectorRequest { connector_id: 1 })
        .await
        .unwrap();
    assert_eq!(answer.status, v16::UnlockStatus::Unlocked);
    let answer = cp
        .call(v16::ResetRequest {
            kind: v16::ResetType::Soft,
        })
        .await
        .unwrap();
    assert_eq!(answer.status, v16::ResetStatus::Accepted);
    // Restarted from its snapshot, the station boots again.
    seen_at_least(&seen, "SIM-IDLE BootNotification", 2).await;
    stop.send(true).unwrap();
    let report = timeout(LIMIT, station).await.unwrap().unwrap().unwrap();
    assert_eq!(report.sessions, 0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}
