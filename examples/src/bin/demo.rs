//! The demo: a CSMS and three charge points (OCPP 1.6, 2.0.1 and 2.1)
//! talking over real WebSockets on loopback.
//!
//! The CSMS serves all three versions on one port. Each charge point boots,
//! reports its connector, sends a heartbeat, and answers a call from the
//! CSMS; every payload in both directions is validated against the schemas.
//! The demo ends with a table per charger and exits non-zero unless every
//! step checked out.
//!
//! The full demo (storage, an HTTP API, simulated charging sessions) grows
//! from this as the state machines land.

use std::collections::BTreeMap;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use ocpp_rpc::tokio::{
    Accepted, ClientConfig, Context, HandlerError, Router, Routers, Server, ServerConfig, connect,
};
use ocpp_types::{BoundedString, Request, Validate, v16, v21, v201};

/// What the CSMS saw of each charger: its version and the actions it handled.
type Seen = Arc<Mutex<BTreeMap<String, (String, Vec<String>)>>>;

fn record(seen: &Seen, id: &str, version: &str, action: &str) {
    if let Ok(mut seen) = seen.lock() {
        let entry = seen
            .entry(id.to_owned())
            .or_insert_with(|| (version.to_owned(), Vec::new()));
        entry.1.push(action.to_owned());
    }
}

fn text<const N: usize>(s: &str) -> BoundedString<N> {
    BoundedString::new_unchecked(s)
}

/// A handler that records the call and answers with `respond()`.
fn counted<R: Request>(
    seen: &Seen,
    version: &'static str,
    respond: impl Fn() -> R::Response + Send + Sync + 'static,
) -> impl Fn(Context, R) -> Ready<Result<R::Response, HandlerError>> + Send + Sync + 'static {
    let seen = Arc::clone(seen);
    move |ctx, _| {
        record(&seen, &ctx.charge_point_id, version, R::ACTION);
        ready(Ok(respond()))
    }
}

/// The CSMS's handlers: accept every boot, acknowledge status, give the time.
fn csms_routers(seen: &Seen) -> Routers {
    Routers {
        v16: Router::new()
            .on(counted::<v16::BootNotificationRequest>(seen, "1.6", || {
                v16::BootNotificationResponse {
                    current_time: Utc::now(),
                    interval: 300,
                    status: v16::RegistrationStatus::Accepted,
                }
            }))
            .on(counted::<v16::StatusNotificationRequest>(
                seen,
                "1.6",
                || v16::StatusNotificationResponse {},
            ))
            .on(counted::<v16::HeartbeatRequest>(seen, "1.6", || {
                v16::HeartbeatResponse {
                    current_time: Utc::now(),
                }
            })),
        v201: Router::new()
            .on(counted::<v201::BootNotificationRequest>(
                seen,
                "2.0.1",
                || v201::BootNotificationResponse {
                    current_time: Utc::now(),
                    interval: 300,
                    status: v201::RegistrationStatusEnum::Accepted,
                    status_info: None,
                    custom_data: None,
                },
            ))
            .on(counted::<v201::StatusNotificationRequest>(
                seen,
                "2.0.1",
                Default::default,
            ))
            .on(counted::<v201::HeartbeatRequest>(seen, "2.0.1", || {
                v201::HeartbeatResponse {
                    current_time: Utc::now(),
                    custom_data: None,
                }
            })),
        v21: Router::new()
            .on(counted::<v21::BootNotificationRequest>(seen, "2.1", || {
                v21::BootNotificationResponse {
                    current_time: Utc::now(),
                    interval: 300,
                    status: v21::RegistrationStatusEnum::Accepted,
                    status_info: None,
                    custom_data: None,
                }
            }))
            .on(counted::<v21::StatusNotificationRequest>(
                seen,
                "2.1",
                Default::default,
            ))
            .on(counted::<v21::HeartbeatRequest>(seen, "2.1", || {
                v21::HeartbeatResponse {
                    current_time: Utc::now(),
                    custom_data: None,
                }
            })),
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn config(addr: SocketAddr, id: &str) -> ClientConfig {
    let mut c = ClientConfig::new(format!("ws://{addr}/ocpp"), id);
    c.reconnect = None;
    c
}

async fn charge_point_16(addr: SocketAddr) -> Result<(), Failure> {
    let router = Router::<v16::V16>::new().on(|_, _: v16::ClearCacheRequest| async {
        Ok(v16::ClearCacheResponse {
            status: v16::ClearCacheStatus::Accepted,
        })
    });
    let cp = connect(&config(addr, "CP-16"), router).await?;
    let boot = cp
        .call(v16::BootNotificationRequest {
            charge_point_vendor: text("ACME"),
            charge_point_model: text("Wallbox 22"),
            charge_point_serial_number: Some(text("WB-0016")),
            charge_box_serial_number: None,
            firmware_version: Some(text("1.4.2")),
            iccid: None,
            imsi: None,
            meter_type: None,
            meter_serial_number: None,
        })
        .await?;
    if boot.status != v16::RegistrationStatus::Accepted {
        return Err("boot not accepted".into());
    }
    cp.call(v16::StatusNotificationRequest {
        connector_id: 1,
        error_code: v16::ChargePointErrorCode::NoError,
        status: v16::ChargePointStatus::Available,
        timestamp: Some(Utc::now()),
        info: None,
        vendor_id: None,
        vendor_error_code: None,
    })
    .await?;
    cp.call(v16::HeartbeatRequest {}).await?;
    cp.closed().await;
    Ok(())
}

fn station_201() -> v201::ChargingStation {
    v201::ChargingStation {
        model: text("Wallbox 22"),
        vendor_name: text("ACME"),
        serial_number: Some(text("WB-0201")),
        firmware_version: None,
        modem: None,
        custom_data: None,
    }
}

async fn charge_point_201(addr: SocketAddr) -> Result<(), Failure> {
    let router = Router::<v201::V201>::new().on(|_, _: v201::ClearCacheRequest| async {
        Ok(v201::ClearCacheResponse {
            status: v201::ClearCacheStatusEnum::Accepted,
            status_info: None,
            custom_data: None,
        })
    });
    let cp = connect(&config(addr, "CP-201"), router).await?;
    cp.call(v201::BootNotificationRequest {
        charging_station: station_201(),
        reason: v201::BootReasonEnum::PowerUp,
        custom_data: None,
    })
    .await?;
    cp.call(v201::StatusNotificationRequest {
        timestamp: Utc::now(),
        connector_status: v201::ConnectorStatusEnum::Available,
        evse_id: 1,
        connector_id: 1,
        custom_data: None,
    })
    .await?;
    cp.call(v201::HeartbeatRequest::default()).await?;
    cp.closed().await;
    Ok(())
}

async fn charge_point_21(addr: SocketAddr) -> Result<(), Failure> {
    let router = Router::<v21::V21>::new().on(|_, _: v21::ClearCacheRequest| async {
        Ok(v21::ClearCacheResponse {
            status: v21::ClearCacheStatusEnum::Accepted,
            status_info: None,
            custom_data: None,
        })
    });
    let cp = connect(&config(addr, "CP-21"), router).await?;
    cp.call(v21::BootNotificationRequest {
        charging_station: v21::ChargingStation {
            model: text("Wallbox 22"),
            vendor_name: text("ACME"),
            serial_number: Some(text("WB-0021")),
            firmware_version: None,
            modem: None,
            custom_data: None,
        },
        reason: v21::BootReasonEnum::PowerUp,
        custom_data: None,
    })
    .await?;
    cp.call(v21::StatusNotificationRequest {
        timestamp: Utc::now(),
        connector_status: v21::ConnectorStatusEnum::Available,
        evse_id: 1,
        connector_id: 1,
        custom_data: None,
    })
    .await?;
    cp.call(v21::HeartbeatRequest::default()).await?;
    cp.closed().await;
    Ok(())
}

/// The CSMS calls each charger once (ClearCache) and then closes it.
async fn csms_calls(charger: Accepted) -> Result<String, Failure> {
    // Give the charger time to boot, report and beat first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = match &charger {
        Accepted::V16(c) => format!("{:?}", c.call(v16::ClearCacheRequest {}).await?.status),
        Accepted::V201(c) => format!(
            "{:?}",
            c.call(v201::ClearCacheRequest::default()).await?.status
        ),
        Accepted::V21(c) => format!(
            "{:?}",
            c.call(v21::ClearCacheRequest::default()).await?.status
        ),
        _ => return Err("unexpected version".into()),
    };
    charger.close().await;
    Ok(status)
}

async fn run() -> Result<bool, Failure> {
    let seen: Seen = Arc::default();
    let mut server = Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ServerConfig::default(),
        csms_routers(&seen),
    )
    .await?;
    let addr = server.local_addr();
    println!("CSMS listening on ws://{addr}/ocpp/<id> for ocpp1.6, ocpp2.0.1 and ocpp2.1\n");

    let chargers = tokio::spawn(async move {
        let (a, b, c) = tokio::join!(
            charge_point_16(addr),
            charge_point_201(addr),
            charge_point_21(addr)
        );
        [("CP-16", a), ("CP-201", b), ("CP-21", c)]
    });
    let mut calls = Vec::new();
    for _ in 0..3 {
        let charger = tokio::time::timeout(Duration::from_secs(10), server.accept())
            .await?
            .ok_or("the server stopped")?;
        println!(
            "connected: {} ({})",
            charger.charge_point_id(),
            charger.version().subprotocol()
        );
        let id = charger.charge_point_id().to_owned();
        calls.push((id, tokio::spawn(csms_calls(charger))));
    }
    let mut ok = true;
    let mut clear_cache = BTreeMap::new();
    for (id, call) in calls {
        match call.await? {
            Ok(status) => {
                clear_cache.insert(id, status);
            }
            Err(e) => {
                ok = false;
                println!("FAILED: the CSMS's call to {id}: {e}");
            }
        }
    }
    for (id, result) in tokio::time::timeout(Duration::from_secs(10), chargers).await?? {
        if let Err(e) = result {
            ok = false;
            println!("FAILED: charge point {id}: {e}");
        }
    }
    server.shutdown(Duration::from_secs(1)).await;

    println!(
        "\n{:<8} {:<7} {:<55} ClearCache",
        "charger", "version", "handled by the CSMS"
    );
    let seen = seen.lock().map_err(|_| "lock poisoned")?.clone();
    for (id, (version, actions)) in &seen {
        let answer = clear_cache.get(id).map_or("-", String::as_str);
        println!("{id:<8} {version:<7} {:<55} {answer}", actions.join(", "));
        ok &= actions.len() == 3 && answer == "Accepted";
    }
    ok &= seen.len() == 3;
    Ok(ok)
}

/// A non-compliant charger's payload: it decodes (nothing is lost) and
/// validation names what is wrong, so a CSMS can refuse it precisely or,
/// by policy, accept and report it.
fn strictness() -> bool {
    let sloppy = r#"{"reason":"PowerUp","chargingStation":{"model":"Wallbox 22","vendorName":"ACME","serialNumber":"SERIAL-NUMBER-TOO-LONG-0001"}}"#;
    println!("\nnon-compliant 2.0.1 BootNotification payload:");
    match v201::decode_request("BootNotification", sloppy).map(|r| r.validate()) {
        Ok(Err(violations)) => {
            println!("  decoded; validation reports: {violations}");
            true
        }
        other => {
            println!("  FAILED: expected one length violation, got {other:?}");
            false
        }
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let over_websockets = match runtime.block_on(run()) {
        Ok(ok) => ok,
        Err(e) => {
            println!("FAILED: {e}");
            false
        }
    };
    if over_websockets && strictness() {
        println!("\nevery step checked out");
        ExitCode::SUCCESS
    } else {
        println!("\nsome steps failed");
        ExitCode::FAILURE
    }
}
