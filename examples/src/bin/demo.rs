//! The demo: the `csms` example and three simulated charge points (OCPP
//! 1.6, 2.0.1 and 2.1) charging over real WebSockets on loopback, built
//! only on the crates' public API.
//!
//! The CSMS ([`csms::start`]) runs in-process with a temporary SQLite file:
//! every version on one port, its HTTP API on another. The demo registers
//! the chargers (with passwords) and their id tokens through the API, then
//! runs the simulator ([`run_station`]):
//!
//! - the 1.6 station charges two sessions started with its tag;
//! - the 2.0.1 station plugs in and waits: its session is started through
//!   the API (`POST /api/chargers/CP-201/commands/RequestStartTransaction`);
//! - the 2.1 station charges two sessions with a charging profile applied
//!   through the API (SetChargingProfile), read back with
//!   GetCompositeSchedule.
//!
//! Once the stations are done and the CSMS has shut down, the demo reads
//! the database back and prints a table per charger. It exits 0 only if
//! every command was accepted, every session landed in SQLite ended with
//! the energy the station metered, and nothing was refused. Every wait is
//! bounded, so a hang fails.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use ocpp_examples::csms::{self, Options, Running, Store};
use ocpp_examples::sim::{Scenario, StationOptions, StationReport, run_station};
use ocpp_types::Version;
use serde_json::{Value, json};
use tokio::time::timeout;

/// The charge points: id, version, password and what they do.
const STATIONS: [(&str, Version, &str, Scenario, u32); 3] = [
    ("CP-16", Version::V16, "secret-16", Scenario::Session, 2),
    ("CP-201", Version::V201, "secret-201", Scenario::Remote, 1),
    ("CP-21", Version::V21, "secret-21", Scenario::Session, 2),
];

/// The charger whose session the API starts.
const REMOTE: &str = "CP-201";
/// The charger that gets a charging profile.
const PROFILED: &str = "CP-21";
/// The profile's limit, W.
const LIMIT_W: f64 = 7400.0;

/// The longest wait for one step (an API answer, a charger to boot).
const STEP: Duration = Duration::from_secs(20);
/// The longest the stations may take, all together.
const RUN: Duration = Duration::from_secs(60);

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The HTTP API of the running CSMS.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// Sends a request; the status and the JSON body.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = &body {
            request = request.json(body);
        }
        match timeout(STEP, request.send()).await {
            Err(_) => (0, json!({"error": "no answer in time"})),
            Ok(Err(e)) => (0, json!({"error": e.to_string()})),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                (status, body)
            }
        }
    }

    /// A PUT or POST that should succeed; printed either way.
    async fn expect(&self, method: reqwest::Method, path: &str, body: Value) -> Option<Value> {
        let (status, answer) = self.call(method.clone(), path, Some(body)).await;
        if (200..300).contains(&status) {
            println!("[api] {method} /api{path}: {status}");
            Some(answer)
        } else {
            println!("[api] FAILED: {method} /api{path}: {status} {answer}");
            None
        }
    }

    /// Waits until the charger's boot was accepted.
    async fn booted(&self, id: &str) -> bool {
        let deadline = tokio::time::Instant::now() + STEP;
        while tokio::time::Instant::now() < deadline {
            let (_, body) = self
                .call(reqwest::Method::GET, &format!("/chargers/{id}"), None)
                .await;
            if body["charger"]["registration"] == "Accepted" {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!("[api] FAILED: {id} did not boot in time");
        false
    }
}

/// Short sessions: about 3 s each at 11 kW, meter values every second.
fn options(running: &Running, id: &str, version: Version) -> StationOptions {
    let mut options = StationOptions::new(format!("ws://{}/ocpp", running.ocpp_addr), id, version);
    options.session_time = Duration::from_secs(3);
    options.tick = Duration::from_secs(1);
    options.sample_secs = 1;
    options.step_timeout = Duration::from_secs(15);
    options
}

/// The remote start of the 2.0.1 station's session.
async fn remote_start(api: &Api, tag: &str) -> bool {
    if !api.booted(REMOTE).await {
        return false;
    }
    let body = json!({
        "idToken": { "idToken": tag, "type": "ISO14443" },
        "evseId": 1,
        "remoteStartId": 1
    });
    let path = format!("/chargers/{REMOTE}/commands/RequestStartTransaction");
    let answer = api.expect(reqwest::Method::POST, &path, body).await;
    let status = answer
        .as_ref()
        .and_then(|a| a["response"]["status"].as_str().map(str::to_owned));
    let status = status.as_deref().unwrap_or("failed");
    println!("[api] {REMOTE}: remote start {status}");
    status == "Accepted"
}

/// The charging profile of the 2.1 station, and the schedule it makes.
async fn charging_profile(api: &Api) -> bool {
    if !api.booted(PROFILED).await {
        return false;
    }
    let profile = json!({
        "evseId": 1,
        "chargingProfile": {
            "id": 1, "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{
                "id": 1, "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{ "startPeriod": 0, "limit": LIMIT_W }]
            }]
        }
    });
    let path = format!("/chargers/{PROFILED}/commands/SetChargingProfile");
    let set = api.expect(reqwest::Method::POST, &path, profile).await;
    if set.map(|a| a["response"]["status"].clone()) != Some(json!("Accepted")) {
        println!("[api] FAILED: {PROFILED}: the profile was not accepted");
        return false;
    }
    let path = format!("/chargers/{PROFILED}/commands/GetCompositeSchedule");
    let query = json!({ "evseId": 1, "duration": 600, "chargingRateUnit": "W" });
    let schedule = api.expect(reqwest::Method::POST, &path, query).await;
    let limit = schedule
        .as_ref()
        .and_then(|a| a["response"]["schedule"]["chargingSchedulePeriod"][0]["limit"].as_f64());
    match limit {
        Some(w) => println!("[api] {PROFILED}: profile accepted, composite schedule limit {w} W"),
        None => println!("[api] FAILED: {PROFILED}: no composite schedule"),
    }
    limit == Some(LIMIT_W)
}

/// Runs the CSMS and the stations; whether every check passed.
async fn run(dir: &std::path::Path) -> Result<bool, Failure> {
    let db = dir.join("csms.sqlite");
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let running = csms::start(Options::new(local, local, &db)).await?;
    println!(
        "CSMS on ws://{}/ocpp/<id> (ocpp1.6, ocpp2.0.1, ocpp2.1), API on http://{}/api, database {}\n",
        running.ocpp_addr,
        running.api_addr,
        db.display()
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://{}/api", running.api_addr),
    };
    let mut ok = true;

    let mut stations = Vec::new();
    for (id, version, password, scenario, sessions) in STATIONS {
        let mut station = options(&running, id, version);
        station.password = Some(password.to_owned());
        station.scenario = scenario;
        station.sessions = sessions;
        let registered = api
            .expect(
                reqwest::Method::PUT,
                &format!("/chargers/{id}"),
                json!({ "password": password }),
            )
            .await;
        let token = api
            .expect(
                reqwest::Method::PUT,
                &format!("/id-tokens/{}", station.tag()),
                json!({ "status": "Accepted" }),
            )
            .await;
        ok &= registered.is_some() && token.is_some();
        stations.push(station);
    }
    let tasks: Vec<_> = stations
        .iter()
        .map(|s| (s.id.clone(), tokio::spawn(run_station(s.clone()))))
        .collect();

    let remote_tag = stations
        .iter()
        .find(|s| s.id == REMOTE)
        .map(StationOptions::tag)
        .unwrap_or_default();
    let (started, profiled) = tokio::join!(remote_start(&api, &remote_tag), charging_profile(&api));
    ok &= started && profiled;

    let mut reports: BTreeMap<String, StationReport> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + RUN;
    for (id, task) in tasks {
        match tokio::time::timeout_at(deadline, task).await {
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
                reports.insert(id, report);
            }
        }
    }
    // Shut down first: the audit log is complete then.
    running.shutdown().await;
    ok &= table(&db, &reports)?;
    Ok(ok)
}

/// Prints the table read back from SQLite; whether every charger checked out.
fn table(db: &std::path::Path, reports: &BTreeMap<String, StationReport>) -> Result<bool, Failure> {
    let store = Store::open(db)?;
    let transactions = store.transactions(None)?;
    println!(
        "\n{:<8} {:<7} {:>8} {:>10} {:>7}  errors",
        "charger", "version", "sessions", "energy Wh", "frames"
    );
    let mut ok = true;
    for (id, _, _, _, sessions) in STATIONS {
        let Some(charger) = store.charger(id)? else {
            println!("{id:<8} FAILED: not in the database");
            ok = false;
            continue;
        };
        let mine: Vec<_> = transactions.iter().filter(|t| t.charger_id == id).collect();
        let ended = mine.iter().filter(|t| t.ended_at.is_some()).count();
        let energy: f64 = mine.iter().filter_map(|t| t.energy_wh).sum();
        let report = reports.get(id);
        let errors = charger.errors + report.map_or(0, |r| r.errors.len() as i64);
        println!(
            "{id:<8} {:<7} {ended:>8} {energy:>10} {:>7}  {errors}",
            charger.version.as_deref().unwrap_or("?"),
            charger.frames
        );
        let mut failed = Vec::new();
        if charger.registration.as_deref() != Some("Accepted") {
            failed.push("not booted".to_owned());
        }
        if ended != sessions as usize || mine.len() != ended {
            failed.push(format!(
                "{ended} of {} sessions ended, {sessions} expected",
                mine.len()
            ));
        }
        for t in &mine {
            if t.energy_wh.is_none_or(|e| e <= 0.0) {
                failed.push(format!("transaction {}: energy {:?}", t.id, t.energy_wh));
            }
        }
        match report {
            None => failed.push("the station failed".to_owned()),
            Some(r) if r.energy_wh as f64 != energy => failed.push(format!(
                "the station metered {} Wh, the database has {energy}",
                r.energy_wh
            )),
            Some(r) => failed.extend(r.errors.iter().cloned()),
        }
        if charger.errors > 0 {
            failed.push(format!("{} refused or deviating messages", charger.errors));
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
    // The database lives in a temporary directory, deleted at the end.
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("cannot make a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ok = match runtime.block_on(run(dir.path())) {
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
