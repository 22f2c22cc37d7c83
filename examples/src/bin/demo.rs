//! The demo: a CSMS and three simulated charge points (OCPP 1.6, 2.0.1 and
//! 2.1) charging over real WebSockets on loopback, built only on the
//! crates' public API.
//!
//! The CSMS is [`Server::bind_machines`] hosting one sans-IO
//! [`Session`] per connection, all three versions on one port, with
//! [`Config::open`] answering boots, tokens and 1.6 transaction ids. A
//! task per connection reads the session's events and records per charger
//! its version, boot, status changes and transactions with the energy the
//! CSMS computed from the meter readings; a refused message or a schema
//! deviation counts as an error.
//!
//! The charge points are the simulator ([`run_station`]): each boots and
//! charges two short sessions (plug in, present a tag, meter rising energy,
//! stop, unplug). Once the 2.0.1 station has booted, the CSMS sends it a
//! GetVariables of its `TxUpdatedInterval` and waits for the answer.
//!
//! The demo prints what happens as it goes, then a table per charger, and
//! exits 0 only if every station finished without error, every
//! transaction the CSMS saw start also ended there with energy above 0,
//! and the command succeeded. Every wait is bounded, so a hang fails.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use ocpp_examples::sim::{StationOptions, StationReport, run_station};
use ocpp_rpc::csms::{AnyResponse, Config, Event, Registration, Session};
use ocpp_rpc::endpoint::CallId;
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::WallClock;
use ocpp_rpc::tokio::{Hosted, Incoming, Server, ServerConfig};
use ocpp_types::{Version, v201};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The charge points: id and version.
const STATIONS: [(&str, Version); 3] = [
    ("CP-16", Version::V16),
    ("CP-201", Version::V201),
    ("CP-21", Version::V21),
];

/// The charger the CSMS sends its command to.
const COMMANDED: &str = "CP-201";

/// The longest wait for a connection or for the next event of a session.
const STEP: Duration = Duration::from_secs(20);

/// The longest the stations may take, all together.
const RUN: Duration = Duration::from_secs(60);

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the CSMS saw of one charger.
#[derive(Debug, Default)]
struct Charger {
    version: String,
    booted: bool,
    status_changes: usize,
    /// Transaction id → energy in Wh once ended (`None` while running or
    /// when the CSMS could not compute it).
    transactions: BTreeMap<String, Option<f64>>,
    ended: usize,
    command: Option<Result<String, String>>,
    errors: Vec<String>,
}

type Seen = Arc<Mutex<BTreeMap<String, Charger>>>;

fn update(seen: &Seen, id: &str, f: impl FnOnce(&mut Charger)) {
    if let Ok(mut seen) = seen.lock() {
        f(seen.entry(id.to_owned()).or_default());
    }
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::V16 => "1.6",
        Version::V201 => "2.0.1",
        _ => "2.1",
    }
}

/// A session per connection, its clock read from the system.
fn session(incoming: &Incoming) -> Session {
    let now = Instant::now();
    Session::new(
        incoming.version,
        Config::open(),
        WallClock::new(now, Utc::now()),
        now,
    )
}

/// The GetVariables the CSMS sends: the 2.0.1 station's transaction meter
/// interval.
const GET_VARIABLES: &str = r#"{"getVariableData":[{"component":{"name":"SampledDataCtrlr"},"variable":{"name":"TxUpdatedInterval"}}]}"#;

/// What the answer to the GetVariables says, or why it failed.
fn read_answer(result: Result<AnyResponse, impl std::fmt::Debug>) -> Result<String, String> {
    match result {
        Ok(AnyResponse::V201(v201::AnyResponse::GetVariables(answer))) => {
            match answer.get_variable_result.first() {
                Some(r) if r.attribute_status == v201::GetVariableStatusEnum::Accepted => {
                    Ok(format!(
                        "{}.{} = {}",
                        r.component.name.as_str(),
                        r.variable.name.as_str(),
                        r.attribute_value.as_ref().map_or("", |v| v.as_str())
                    ))
                }
                other => Err(format!("not accepted: {other:?}")),
            }
        }
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The CSMS's application for one connection: records and prints the
/// session's events until the connection ends.
async fn application(mut hosted: Hosted<Session>, seen: Seen) {
    let id = hosted.incoming.charge_point_id.to_string();
    let version = hosted.incoming.version;
    update(&seen, &id, |c| c.version = version_name(version).to_owned());
    println!("{id}: [csms] connected ({})", version.subprotocol());
    let mut command: Option<CallId> = None;
    loop {
        let event = match timeout(STEP, hosted.events.recv()).await {
            Err(_) => {
                update(&seen, &id, |c| c.errors.push("no event in time".into()));
                println!("{id}: [csms] FAILED: no event in time");
                hosted.handle.stop().await;
                return;
            }
            Ok(None) => return,
            Ok(Some(event)) => event,
        };
        match event {
            Event::Booted {
                charge_point,
                status,
            } => {
                println!(
                    "{id}: [csms] boot {status:?}: {} {}",
                    charge_point.vendor, charge_point.model
                );
                update(&seen, &id, |c| c.booted = status == Registration::Accepted);
                if id == COMMANDED && status == Registration::Accepted {
                    let sent = hosted
                        .handle
                        .with(|s, now| s.call_json(now, "GetVariables", GET_VARIABLES))
                        .await;
                    match sent {
                        Ok(Ok(call)) => {
                            println!("{id}: [csms] sent GetVariables");
                            command = Some(call);
                        }
                        other => {
                            let e = format!("GetVariables not sent: {other:?}");
                            println!("{id}: [csms] FAILED: {e}");
                            update(&seen, &id, |c| c.command = Some(Err(e)));
                        }
                    }
                }
            }
            Event::StatusChanged {
                evse,
                connector,
                status,
                ..
            } => {
                println!("{id}: [csms] connector {evse}/{connector} {status:?}");
                update(&seen, &id, |c| c.status_changes += 1);
            }
            Event::TransactionStarted { id: tx, .. } => {
                println!("{id}: [csms] transaction {tx} started");
                update(&seen, &id, |c| {
                    c.transactions.insert(tx, None);
                });
            }
            Event::TransactionEnded {
                id: tx,
                reason,
                energy_wh,
                ..
            } => {
                let energy = energy_wh.and_then(|e| e.to_string().parse::<f64>().ok());
                match energy {
                    Some(wh) => {
                        println!("{id}: [csms] transaction {tx} ended ({reason:?}): {wh} Wh")
                    }
                    None => {
                        println!("{id}: [csms] transaction {tx} ended ({reason:?}): energy unknown")
                    }
                }
                update(&seen, &id, |c| {
                    c.ended += 1;
                    c.transactions.insert(tx, energy);
                });
            }
            Event::CommandResult { call, result, .. } if Some(call) == command => {
                let answer = read_answer(result);
                match &answer {
                    Ok(text) => println!("{id}: [csms] GetVariables answered: {text}"),
                    Err(e) => println!("{id}: [csms] FAILED: GetVariables: {e}"),
                }
                update(&seen, &id, |c| c.command = Some(answer));
            }
            Event::Request { ticket, request } => {
                // Nothing the demo's stations should send.
                let e = format!("unexpected request {}", request.action());
                println!("{id}: [csms] ERROR: {e}");
                update(&seen, &id, |c| c.errors.push(e));
                let _ = hosted
                    .handle
                    .with(move |s, _| {
                        s.answer_error(ticket, ErrorCode::NotImplemented, "not in the demo")
                    })
                    .await;
            }
            Event::Rejected { action, reason, .. } => {
                let e = format!("refused {}: {reason}", action.unwrap_or_default());
                println!("{id}: [csms] ERROR: {e}");
                update(&seen, &id, |c| c.errors.push(e));
            }
            Event::Deviation {
                action,
                path,
                detail,
                ..
            } => {
                let e = format!("deviation in {action} at {path}: {detail}");
                println!("{id}: [csms] ERROR: {e}");
                update(&seen, &id, |c| c.errors.push(e));
            }
            Event::Disconnected { .. } => println!("{id}: [csms] disconnected"),
            _ => {}
        }
    }
}

/// Options for two short sessions: about 4 s each at 11 kW, meter values
/// every second.
fn options(addr: SocketAddr, id: &str, version: Version) -> StationOptions {
    let mut options = StationOptions::new(format!("ws://{addr}/ocpp"), id, version);
    options.sessions = 2;
    options.session_time = Duration::from_secs(4);
    options.tick = Duration::from_secs(1);
    options.sample_secs = 1;
    options.step_timeout = Duration::from_secs(15);
    options
}

/// Runs the CSMS and the stations; whether every check passed.
async fn run() -> Result<bool, Failure> {
    let seen = Seen::default();
    let server = Server::bind_machines(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        ServerConfig::default(),
        session,
    )
    .await?;
    let addr = server.local_addr();
    println!("CSMS listening on ws://{addr}/ocpp/<id> for ocpp1.6, ocpp2.0.1 and ocpp2.1\n");

    // Accepting before the stations start, so each session's events are
    // read from the first.
    let acceptor = tokio::spawn({
        let seen = Arc::clone(&seen);
        let mut server = server;
        async move {
            let mut applications = Vec::new();
            for _ in 0..STATIONS.len() {
                match timeout(STEP, server.accept()).await {
                    Ok(Some(hosted)) => {
                        applications.push(tokio::spawn(application(hosted, Arc::clone(&seen))));
                    }
                    _ => return (server, applications, false),
                }
            }
            (server, applications, true)
        }
    });
    let stations: Vec<(&str, JoinHandle<_>)> = STATIONS
        .iter()
        .map(|&(id, version)| (id, tokio::spawn(run_station(options(addr, id, version)))))
        .collect();

    let mut ok = true;
    let mut reports: BTreeMap<String, StationReport> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + RUN;
    for (id, station) in stations {
        match tokio::time::timeout_at(deadline, station).await {
            Err(_) => {
                ok = false;
                println!("FAILED: {id} did not finish in time");
            }
            Ok(Err(e)) => {
                ok = false;
                println!("FAILED: {id}: {e}");
            }
            Ok(Ok(Err(e))) => {
                ok = false;
                println!("FAILED: {e}");
            }
            Ok(Ok(Ok(report))) => {
                if !report.errors.is_empty() {
                    ok = false;
                    println!("FAILED: {id}: {}", report.errors.join("; "));
                }
                reports.insert(id.to_owned(), report);
            }
        }
    }
    let (server, applications, all_connected) = timeout(STEP, acceptor)
        .await
        .map_err(|_| "the acceptor did not finish")??;
    if !all_connected {
        ok = false;
        println!("FAILED: not every station connected in time");
    }
    // The stations closed their connections; the sessions end with them.
    for application in applications {
        if timeout(STEP, application).await.is_err() {
            ok = false;
            println!("FAILED: a CSMS session did not end in time");
        }
    }
    server.shutdown(Duration::from_secs(1)).await;

    let seen = seen.lock().map_err(|_| "lock poisoned")?;
    println!(
        "\n{:<8} {:<7} {:>8} {:>10} {:>18}  errors",
        "charger", "version", "sessions", "energy Wh", "frames sent/recv"
    );
    for &(id, _) in &STATIONS {
        let Some(charger) = seen.get(id) else {
            ok = false;
            println!("{id:<8} FAILED: never seen by the CSMS");
            continue;
        };
        let energy: f64 = charger.transactions.values().flatten().sum();
        let (sent, received) = reports
            .get(id)
            .map_or((0, 0), |r| (r.frames_sent, r.frames_received));
        let errors = charger.errors.len() + reports.get(id).map_or(0, |r| r.errors.len());
        println!(
            "{id:<8} {:<7} {:>8} {energy:>10} {:>18}  {errors}",
            charger.version,
            charger.ended,
            format!("{sent}/{received}")
        );
        let mut failed = Vec::new();
        if !charger.booted {
            failed.push("not booted".to_owned());
        }
        if charger.transactions.is_empty() {
            failed.push("no transaction".to_owned());
        }
        for (tx, energy) in &charger.transactions {
            match energy {
                None => failed.push(format!("transaction {tx} did not end with energy")),
                Some(wh) if *wh <= 0.0 => failed.push(format!("transaction {tx}: {wh} Wh")),
                Some(_) => {}
            }
        }
        failed.extend(charger.errors.iter().cloned());
        if id == COMMANDED {
            match &charger.command {
                Some(Ok(_)) => {}
                Some(Err(e)) => failed.push(format!("GetVariables: {e}")),
                None => failed.push("GetVariables unanswered".to_owned()),
            }
        }
        for f in &failed {
            println!("  FAILED: {id}: {f}");
        }
        ok &= failed.is_empty();
    }
    Ok(ok)
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
    let ok = match runtime.block_on(run()) {
        Ok(ok) => ok,
        Err(e) => {
            println!("FAILED: {e}");
            false
        }
    };
    if ok {
        println!("\nevery step checked out");
        ExitCode::SUCCESS
    } else {
        println!("\nsome steps failed");
        ExitCode::FAILURE
    }
}
