//! The simulator against a minimal CSMS on loopback, one session per
//! version: the report adds up and the CSMS saw the transaction start,
//! advance and end. Bounded in time; every step uses short intervals.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocpp_examples::sim::{Scenario, SimError, StationOptions, run_station};
use ocpp_rpc::tokio::{Accepted, Router, Routers, Server, ServerConfig};
use ocpp_types::{BoundedString, Version, v16, v21, v201};
use tokio::sync::watch;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// What the CSMS saw, one line per call: `id action[ detail]`.
type Seen = Arc<Mutex<Vec<String>>>;

fn note(seen: &Seen, id: &str, line: String) {
    seen.lock().unwrap().push(format!("{id} {line}"));
}

/// A typed answer from JSON (the field lists are long).
macro_rules! reply {
    ($($json:tt)+) => {
        Ok(serde_json::from_value(serde_json::json!($($json)+)).unwrap())
    };
}

/// A handler that notes the call (with a detail of the request) and
/// answers the JSON.
macro_rules! handler {
    ($seen:expr, $req:ty, |$r:ident| $detail:expr, $($json:tt)+) => {{
        let seen = Arc::clone(&$seen);
        move |ctx: ocpp_rpc::tokio::Context, $r: $req| {
            note(&seen, &ctx.charge_point_id, $detail);
            async move { reply!($($json)+) }
        }
    }};
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

macro_rules! v2x_router {
    ($m:ident, $seen:expr, $boot:expr) => {
        Router::new()
            .on(handler!($seen, $m::BootNotificationRequest, |_r| "BootNotification".into(),
                {"currentTime": now(), "interval": 2, "status": $boot}))
            .on(handler!($seen, $m::HeartbeatRequest, |_r| "Heartbeat".into(),
                {"currentTime": now()}))
            .on(handler!($seen, $m::StatusNotificationRequest,
                |r| format!("StatusNotification {:?}", r.connector_status), {}))
            .on(handler!($seen, $m::AuthorizeRequest, |_r| "Authorize".into(),
                {"idTokenInfo": {"status": "Accepted"}}))
            .on(handler!($seen, $m::TransactionEventRequest,
                |r| format!("TransactionEvent {:?}", r.event_type), {}))
            .on(handler!($seen, $m::MeterValuesRequest, |_r| "MeterValues".into(), {}))
            .on(handler!($seen, $m::NotifyEventRequest, |_r| "NotifyEvent".into(), {}))
    };
}

/// The CSMS, answering every BootNotification with `boot`.
fn routers_booting(seen: &Seen, boot: &'static str) -> Routers {
    Routers {
        v16: Router::new()
            .on(
                handler!(seen, v16::BootNotificationRequest, |_r| "BootNotification".into(),
                {"currentTime": now(), "interval": 2, "status": "Accepted"}),
            )
            .on(
                handler!(seen, v16::HeartbeatRequest, |_r| "Heartbeat".into(),
                {"currentTime": now()}),
            )
            .on(handler!(
                seen,
                v16::StatusNotificationRequest,
                |r| format!("StatusNotification {:?}", r.status),
                {}
            ))
            .on(
                handler!(seen, v16::AuthorizeRequest, |_r| "Authorize".into(),
                {"idTagInfo": {"status": "Accepted"}}),
            )
            .on(
                handler!(seen, v16::StartTransactionRequest, |_r| "StartTransaction".into(),
                {"idTagInfo": {"status": "Accepted"}, "transactionId": 42}),
            )
            .on(handler!(
                seen,
                v16::StopTransactionRequest,
                |r| format!("StopTransaction {}", r.meter_stop),
                {}
            ))
            .on(handler!(
                seen,
                v16::MeterValuesRequest,
                |_r| "MeterValues".into(),
                {}
            )),
        v201: v2x_router!(v201, seen, boot),
        v21: v2x_router!(v21, seen, boot),
    }
}

async fn csms(seen: &Seen, boot: &'static str) -> Server {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    Server::bind(addr, ServerConfig::default(), routers_booting(seen, boot))
        .await
        .unwrap()
}

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

fn count(seen: &[String], prefix: &str) -> usize {
    seen.iter().filter(|l| l.starts_with(prefix)).count()
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

/// Waits until the CSMS has seen `n` lines starting with `prefix`.
async fn seen_at_least(seen: &Seen, prefix: &str, n: usize) {
    timeout(LIMIT, async {
        while count(&seen.lock().unwrap(), prefix) < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
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
