//! A minimal CSMS for the simulator tests: it accepts (or rejects) the
//! boot, acknowledges everything a session sends, and notes each call.

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocpp_rpc::tokio::{Router, Routers, Server, ServerConfig};
use ocpp_types::{v16, v21, v201};
use tokio::time::timeout;

/// How long any wait of the tests may take.
pub const LIMIT: Duration = Duration::from_secs(20);

/// What the CSMS saw, one line per call: `id action[ detail]`.
pub type Seen = Arc<Mutex<Vec<String>>>;

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

/// The CSMS on a loopback port, answering BootNotification with `boot`.
pub async fn csms(seen: &Seen, boot: &'static str) -> Server {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    Server::bind(addr, ServerConfig::default(), routers_booting(seen, boot))
        .await
        .unwrap()
}

/// Lines starting with `prefix`.
pub fn count(seen: &[String], prefix: &str) -> usize {
    seen.iter().filter(|l| l.starts_with(prefix)).count()
}

/// Waits until the CSMS has seen `n` lines starting with `prefix`.
pub async fn seen_at_least(seen: &Seen, prefix: &str, n: usize) {
    timeout(LIMIT, async {
        while count(&seen.lock().unwrap(), prefix) < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
}
