//! The `csms` example end to end on loopback: simulated chargers of every
//! version against it, its HTTP API and commands, its SQLite file across a
//! restart (with a simulator that keeps its state), TLS (security profiles
//! 2 and 3), refused connections and a charger that vanishes. Every wait is
//! bounded.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use ocpp_examples::csms::{self, Options, Running};
use ocpp_examples::sim::{Scenario, StationOptions, StationReport, run_station};
use ocpp_rpc::tokio::Keepalive;
use ocpp_types::Version;
use serde_json::{Value, json};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The longest any one test step may take.
const LIMIT: Duration = Duration::from_secs(30);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn options(db: &Path) -> Options {
    let mut options = Options::new(loopback(), loopback(), db);
    options.command_timeout = Duration::from_secs(5);
    options
}

async fn start(db: &Path) -> Running {
    csms::start(options(db)).await.expect("the CSMS starts")
}

/// The API client of one CSMS.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(running: &Running) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: format!("http://{}/api", running.api_addr),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = timeout(LIMIT, request.send())
            .await
            .expect("the API answers in time")
            .expect("the API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// Posts a command and asserts the charger answered `Accepted`; the
    /// API's answer.
    async fn accepted(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.post(path, body).await;
        assert_eq!(
            (status, &body["response"]["status"]),
            (200, &json!("Accepted")),
            "{path}: {body}"
        );
        body
    }

    /// Registers a charger with a password and its station's tag.
    async fn register(&self, station: &StationOptions, password: &str) {
        let (status, _) = self
            .put(
                &format!("/chargers/{}", station.id),
                json!({ "password": password }),
            )
            .await;
        assert_eq!(status, 201);
        let (status, _) = self
            .put(
                &format!("/id-tokens/{}", station.tag()),
                json!({ "status": "Accepted" }),
            )
            .await;
        assert_eq!(status, 201);
    }

    /// Waits until `check` holds for the charger's entry in the list.
    async fn wait_for_charger(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let (_, list) = self.get("/chargers").await;
            let entry = list
                .as_array()
                .and_then(|l| l.iter().find(|c| c["id"] == id))
                .cloned();
            if entry.as_ref().is_some_and(&check) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id}: not {what} in time: {entry:?}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }
}

fn station(running: &Running, id: &str, version: Version, password: &str) -> StationOptions {
    let mut options = StationOptions::new(format!("ws://{}/ocpp", running.ocpp_addr), id, version);
    options.password = Some(password.to_owned());
    options.session_time = Duration::from_secs(2);
    options.tick = Duration::from_millis(500);
    options.sample_secs = 1;
    options.step_timeout = Duration::from_secs(10);
    options
}

async fn finish(
    task: tokio::task::JoinHandle<Result<StationReport, ocpp_examples::sim::SimError>>,
) -> StationReport {
    let report = timeout(LIMIT, task)
        .await
        .expect("the station finishes in time")
        .expect("the station's task")
        .expect("the station succeeds");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.energy_wh > 0, "{report}");
    report
}

/// The transactions of `charger` from the API.
async fn transactions(api: &Api, charger: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/chargers/{charger}")).await;
    assert_eq!(status, 200, "{body}");
    body["sessions"].as_array().cloned().unwrap_or_default()
}

/// One ended transaction per connector of a report of one session each,
/// with the energy the station metered there.
async fn assert_sessions_stored(api: &Api, report: &StationReport) {
    let sessions = transactions(api, &report.id).await;
    assert_eq!(
        sessions.len(),
        report.connectors.len(),
        "{}: {sessions:?}",
        report.id
    );
    for entry in &report.connectors {
        assert_eq!(entry.sessions, 1, "{report}");
        let tx = sessions
            .iter()
            .find(|t| t["evse"] == entry.connector)
            .unwrap_or_else(|| panic!("{report}: {sessions:?}"));
        assert!(tx["ended_at"].is_string(), "{tx}");
        assert_eq!(
            tx["energy_wh"].as_f64(),
            Some(entry.energy_wh as f64),
            "{}: {tx}",
            report.id
        );
        assert!(tx["samples"].as_i64().unwrap_or(0) > 0, "{tx}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_charges_into_sqlite_and_a_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("csms.sqlite");
    let running = start(&db).await;
    let api = Api::new(&running);
    let mut stations = [
        station(&running, "CP-16", Version::V16, "secret-16"),
        station(&running, "CP-201", Version::V201, "secret-201"),
        station(&running, "CP-21", Version::V21, "secret-21"),
    ];
    // The 2.0.1 station keeps its state on disk.
    let state = dir.path().join("sim");
    stations[1].state_dir = Some(state.clone());
    for (s, password) in stations
        .iter()
        .zip(["secret-16", "secret-201", "secret-21"])
    {
        api.register(s, password).await;
    }
    let tasks: Vec<_> = stations
        .iter()
        .map(|s| tokio::spawn(run_station(s.clone())))
        .collect();
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(finish(task).await);
    }
    for report in &reports {
        assert_sessions_stored(&api, report).await;
    }
    let (_, list) = api.get("/chargers").await;
    let before: Vec<(String, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["frames"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(before.len(), 3, "{list}");
    let (_, all) = api.get("/transactions").await;
    running.shutdown().await;

    // The same file, a new process: everything is still there.
    let running = start(&db).await;
    let api = Api::new(&running);
    let (_, again) = api.get("/transactions").await;
    assert_eq!(again, all);
    let (_, list) = api.get("/chargers").await;
    for c in list.as_array().unwrap() {
        assert_eq!(c["online"], false, "{c}");
        assert_eq!(c["registration"], "Accepted", "{c}");
        let frames = c["frames"].as_i64().unwrap();
        let seen = before
            .iter()
            .find(|(id, _)| c["id"] == id.as_str())
            .unwrap()
            .1;
        // The audit log is complete once the CSMS has shut down.
        assert!(frames >= seen && frames > 10, "{c}");
    }
    // A charger registered before the restart still gets in, and its 1.6
    // transaction id continues the stored sequence.
    // The 2.0.1 station, a new simulator too, continues from its state
    // file: its next transaction id is a new one.
    assert!(state.join("CP-201.json").is_file());
    let again = station(&running, "CP-16", Version::V16, "secret-16");
    let mut again_201 = station(&running, "CP-201", Version::V201, "secret-201");
    again_201.state_dir = Some(state);
    let tasks = [
        tokio::spawn(run_station(again)),
        tokio::spawn(run_station(again_201)),
    ];
    for (task, [first, second]) in tasks.into_iter().zip([["1", "2"], ["tx-1", "tx-2"]]) {
        let report = finish(task).await;
        let sessions = transactions(&api, &report.id).await;
        assert_eq!(sessions.len(), 2, "{report}: {sessions:?}");
        let ids: Vec<&str> = sessions.iter().filter_map(|t| t["id"].as_str()).collect();
        assert!(ids.contains(&first) && ids.contains(&second), "{ids:?}");
        if report.id == "CP-201" {
            // Its meter continues from where the first session left it.
            let meter = |id: &str, field: &str| {
                let tx = sessions.iter().find(|t| t["id"] == id).unwrap();
                tx[field].as_f64().unwrap_or_else(|| panic!("{tx}"))
            };
            assert_eq!(
                meter(second, "meter_start_wh"),
                meter(first, "meter_stop_wh"),
                "{sessions:?}"
            );
        }
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_start_stop_reset_and_availability_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(&dir.path().join("csms.sqlite")).await;
    let api = Api::new(&running);
    let mut v16 = station(&running, "RS-16", Version::V16, "pw");
    let mut v201 = station(&running, "RS-201", Version::V201, "pw");
    for s in [&mut v16, &mut v201] {
        s.scenario = Scenario::Remote;
        // Long: the CSMS stops the session.
        s.session_time = LIMIT;
        api.register(s, "pw").await;
    }
    // The 1.6 station has a second connector, started remotely as well.
    v16.connectors = 2;
    let (status, _) = api
        .put(
            &format!("/id-tokens/{}", v16.tag_at(2)),
            json!({ "status": "Accepted" }),
        )
        .await;
    assert_eq!(status, 201);
    let tasks = [
        tokio::spawn(run_station(v16.clone())),
        tokio::spawn(run_station(v201.clone())),
    ];
    for s in [&v16, &v201] {
        api.wait_for_charger(&s.id, "booted", |c| c["registration"] == "Accepted")
            .await;
    }
    for connector in [1, 2] {
        api.accepted(
            "/chargers/RS-16/commands/RemoteStartTransaction",
            json!({ "idTag": v16.tag_at(connector), "connectorId": connector }),
        )
        .await;
    }
    api.accepted(
        "/chargers/RS-201/commands/RequestStartTransaction",
        json!({
            "idToken": { "idToken": v201.tag(), "type": "ISO14443" },
            "evseId": 1,
            "remoteStartId": 7
        }),
    )
    .await;
    // Commands the route refuses, each with its status.
    let cases = [
        (
            "/chargers/NOPE/commands/Reset",
            json!({"type": "Soft"}),
            404,
        ),
        ("/chargers/RS-16/commands/NoSuchAction", json!({}), 400),
        (
            "/chargers/RS-16/commands/Reset",
            json!({"type": "Sideways"}),
            400,
        ),
        (
            "/chargers/RS-16/commands/BootNotification",
            json!({"chargePointVendor": "X", "chargePointModel": "Y"}),
            400,
        ),
    ];
    for (path, body, want) in cases {
        let (status, answer) = api.post(path, body).await;
        assert_eq!(status, want, "{path}: {answer}");
        assert!(answer["error"].is_string(), "{path}: {answer}");
    }
    // A charging profile on the running 2.0.1 session, then the schedule
    // it makes.
    let profile = json!({
        "evseId": 1,
        "chargingProfile": {
            "id": 1, "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{
                "id": 1, "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]
            }]
        }
    });
    api.accepted("/chargers/RS-201/commands/SetChargingProfile", profile)
        .await;
    let (status, body) = api
        .post(
            "/chargers/RS-201/commands/GetCompositeSchedule",
            json!({"evseId": 1, "duration": 60, "chargingRateUnit": "W"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let limit = &body["response"]["schedule"]["chargingSchedulePeriod"][0]["limit"];
    assert_eq!(limit.as_f64(), Some(7400.0), "{body}");
    api.accepted(
        "/chargers/RS-201/commands/ClearChargingProfile",
        json!({"chargingProfileId": 1}),
    )
    .await;
    api.accepted(
        "/chargers/RS-16/commands/TriggerMessage",
        json!({"requestedMessage": "Heartbeat"}),
    )
    .await;
    // Every session stopped by the CSMS once it metered something.
    let stop16 =
        (|id: &str| json!({ "transactionId": id.parse::<i64>().unwrap() })) as fn(&str) -> Value;
    let stop201 = (|id: &str| json!({ "transactionId": id })) as fn(&str) -> Value;
    for (id, connector, action, transaction) in [
        ("RS-16", 1, "RemoteStopTransaction", stop16),
        ("RS-16", 2, "RemoteStopTransaction", stop16),
        ("RS-201", 1, "RequestStopTransaction", stop201),
    ] {
        let tx = running_transaction(&api, id, connector).await;
        api.accepted(
            &format!("/chargers/{id}/commands/{action}"),
            transaction(&tx),
        )
        .await;
    }
    let [t16, t201] = tasks;
    for (report, sessions) in [(finish(t16).await, 2), (finish(t201).await, 1)] {
        assert_eq!(report.sessions, sessions, "{report}");
        assert_sessions_stored(&api, &report).await;
    }
    // The 1.6 transaction ids came from the database's sequence.
    let mut ids: Vec<Value> = transactions(&api, "RS-16")
        .await
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    ids.sort_by_key(Value::to_string);
    assert_eq!(ids, [json!("1"), json!("2")]);
    // Gone now: a command finds the charger offline.
    let (status, _) = api
        .post("/chargers/RS-16/commands/Reset", json!({"type": "Soft"}))
        .await;
    assert_eq!(status, 409);
    reset_and_change_availability(&running, &api).await;
    running.shutdown().await;
}

/// The id of `charger`'s running transaction on `evse`, once it metered
/// energy.
async fn running_transaction(api: &Api, charger: &str, evse: u32) -> String {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let sessions = transactions(api, charger).await;
        let running = sessions.iter().find(|t| {
            t["evse"] == evse
                && t["ended_at"].is_null()
                && t["energy_wh"].as_f64().unwrap_or(0.0) > 0.0
        });
        if let Some(tx) = running {
            return tx["id"].as_str().unwrap().to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{charger}: no running transaction in time: {sessions:?}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

/// Connector 1 (EVSE 1) of `charger` as the API shows it.
async fn connector(api: &Api, charger: &str) -> Value {
    let (_, body) = api.get(&format!("/chargers/{charger}")).await;
    let connectors = body["connectors"].as_array().cloned().unwrap_or_default();
    connectors
        .into_iter()
        .find(|c| c["evse"] == 1)
        .unwrap_or(Value::Null)
}

/// Waits until connector 1 of `charger` satisfies `check`.
async fn wait_for_connector(api: &Api, charger: &str, what: &str, check: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let c = connector(api, charger).await;
        if check(&c) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{charger}: connector not {what} in time: {c}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

/// Reset and ChangeAvailability through the API on idle 1.6 and 2.0.1
/// stations: each reboots (and boots again), then its connector goes
/// unavailable and back.
async fn reset_and_change_availability(running: &Running, api: &Api) {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut stations = Vec::new();
    let cases = [
        (
            "IDLE-16",
            Version::V16,
            json!({"type": "Soft"}),
            (|status: &str| json!({"connectorId": 1, "type": status})) as fn(&str) -> Value,
        ),
        (
            "IDLE-201",
            Version::V201,
            json!({"type": "Immediate"}),
            |status: &str| json!({"evse": {"id": 1}, "operationalStatus": status}),
        ),
    ];
    for (id, version, _, _) in &cases {
        let mut s = station(running, id, *version, "pw");
        s.scenario = Scenario::Idle;
        s.stop = Some(stop.clone());
        api.register(&s, "pw").await;
        stations.push(tokio::spawn(run_station(s)));
    }
    for (id, _, reset, availability) in &cases {
        wait_for_connector(api, id, "available", |c| c["status"] == "Available").await;
        let (_, body) = api.get(&format!("/chargers/{id}")).await;
        let boots = body["charger"]["boots"].as_i64().unwrap();
        api.accepted(&format!("/chargers/{id}/commands/Reset"), reset.clone())
            .await;
        api.wait_for_charger(id, "booted again", |c| {
            c["boots"].as_i64() > Some(boots) && c["registration"] == "Accepted"
        })
        .await;
        for (operational, shown) in [("Inoperative", "Unavailable"), ("Operative", "Available")] {
            api.accepted(
                &format!("/chargers/{id}/commands/ChangeAvailability"),
                availability(operational),
            )
            .await;
            wait_for_connector(api, id, shown, |c| c["status"] == shown).await;
        }
    }
    // The 2.x simulator takes a firmware update and reports it installed
    // (its status notifications must not count as errors below).
    let firmware = json!({"requestId": 7, "firmware": {
        "location": "https://firmware.example/sim.bin",
        "retrieveDateTime": "2026-01-01T00:00:00Z"}});
    api.accepted("/chargers/IDLE-201/commands/UpdateFirmware", firmware)
        .await;
    let _ = stop_tx.send(true);
    for task in stations {
        let report = timeout(LIMIT, task)
            .await
            .expect("the station stops in time")
            .expect("the station's task")
            .expect("the station succeeds");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.reboots, 1, "{report}");
    }
}

/// A WebSocket handshake as a 1.6 charger, with an optional password; the
/// HTTP status of a refusal, or the open socket.
async fn handshake(
    running: &Running,
    id: &str,
    password: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>, u16> {
    let url = format!("ws://{}/ocpp/{id}", running.ocpp_addr);
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
    if let Some(password) = password {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{password}"));
        headers.insert("Authorization", format!("Basic {basic}").parse().unwrap());
    }
    let tcp = tokio::net::TcpStream::connect(running.ocpp_addr)
        .await
        .unwrap();
    match timeout(LIMIT, tokio_tungstenite::client_async(request, tcp))
        .await
        .expect("the handshake ends in time")
    {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("{id}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_chargers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(&dir.path().join("csms.sqlite")).await;
    let api = Api::new(&running);
    let (status, _) = api
        .put("/chargers/CP-1", json!({"password": "right"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        handshake(&running, "CP-1", Some("wrong")).await.err(),
        Some(401)
    );
    assert_eq!(handshake(&running, "CP-1", None).await.err(), Some(401));
    assert_eq!(
        handshake(&running, "CP-9", Some("right")).await.err(),
        Some(404)
    );
    let ws = handshake(&running, "CP-1", Some("right")).await;
    assert!(ws.is_ok(), "the right password is accepted");
    // Only known chargers were stored.
    let (_, list) = api.get("/chargers").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    // What axum refuses before the handlers is a JSON error too.
    let (status, body) = api.get("/chargers/%FF").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = api
        .send(api.http.delete(format!("{}/chargers", api.base)))
        .await;
    assert_eq!(status, 405, "{body}");
    assert!(body["error"].is_string(), "{body}");
    drop(ws);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charger_that_vanishes_is_marked_offline_within_the_ping_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&dir.path().join("csms.sqlite"));
    options.open = true;
    // Short, so that a vanished charger is noticed quickly (only here: on
    // a busy machine a late pong would drop the other tests' chargers).
    options.keepalive = Keepalive {
        ping_interval: Some(Duration::from_millis(200)),
        pong_timeout: Duration::from_millis(400),
    };
    let running = csms::start(options).await.expect("the CSMS starts");
    let api = Api::new(&running);
    // Open mode: an unknown charger is registered as it connects.
    let mut ws = handshake(&running, "GONE", None).await.expect("accepted");
    let boot = r#"[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#;
    ws.send(tungstenite::Message::text(boot)).await.unwrap();
    let answer = timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains("Accepted"), "{answer}");
    api.wait_for_charger("GONE", "online", |c| c["online"] == true)
        .await;
    // From now on nothing is read: pings go unanswered.
    let went = tokio::time::Instant::now();
    api.wait_for_charger("GONE", "offline", |c| c["online"] == false)
        .await;
    // One ping interval plus the pong timeout, with slack for a busy machine.
    assert!(
        went.elapsed() < Duration::from_secs(5),
        "{:?}",
        went.elapsed()
    );
    drop(ws);
    running.shutdown().await;
}

/// PEM files of a test CA, a server certificate for 127.0.0.1 and
/// localhost, and a client certificate for `client_cn`, in `dir`.
fn write_pki(dir: &Path, client_cn: &str) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "Test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, client_cn);
    let client = client.signed_by(&client_key, &ca).unwrap();
    // Signed by the same CA, but naming another charger.
    let mut stranger = CertificateParams::new(Vec::<String>::new()).unwrap();
    stranger
        .distinguished_name
        .push(DnType::CommonName, "SOMEONE-ELSE");
    let stranger = stranger.signed_by(&client_key, &ca).unwrap();
    for (name, pem) in [
        ("ca.pem", ca.pem()),
        ("server.pem", server.pem()),
        ("server.key", server_key.serialize_pem()),
        ("client.pem", client.pem()),
        ("client.key", client_key.serialize_pem()),
        ("stranger.pem", stranger.pem()),
    ] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
}

async fn start_tls(db: &Path, pki: &Path, client_ca: bool) -> Running {
    let mut options = options(db);
    options.tls = Some(csms::TlsFiles {
        cert: pki.join("server.pem"),
        key: pki.join("server.key"),
        client_ca: client_ca.then(|| pki.join("ca.pem")),
    });
    csms::start(options)
        .await
        .expect("the CSMS starts with TLS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_server_certificate_then_with_client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path(), "TLS-3");
    let db = dir.path().join("csms.sqlite");
    let ca = dir.path().join("ca.pem");

    // Profile 2: TLS with the server's certificate, HTTP Basic password.
    let running = start_tls(&db, dir.path(), false).await;
    let api = Api::new(&running);
    let mut two = station(&running, "TLS-2", Version::V201, "pw-2");
    two.url = format!("wss://{}/ocpp", running.ocpp_addr);
    two.tls = Some(ocpp_examples::sim::client_tls(&ca, None).unwrap());
    api.register(&two, "pw-2").await;
    let report = finish(tokio::spawn(run_station(two))).await;
    assert_sessions_stored(&api, &report).await;
    // A plain WebSocket finds no OCPP server on the TLS port.
    let tcp = tokio::net::TcpStream::connect(running.ocpp_addr)
        .await
        .unwrap();
    let request = format!("ws://{}/ocpp/TLS-2", running.ocpp_addr)
        .into_client_request()
        .unwrap();
    let plain = timeout(LIMIT, tokio_tungstenite::client_async(request, tcp))
        .await
        .expect("the plain handshake ends in time");
    assert!(plain.is_err());
    running.shutdown().await;

    // Profile 3: the client certificate is checked against the CA; the
    // charger is registered without a password.
    let running = start_tls(&db, dir.path(), true).await;
    let api = Api::new(&running);
    let (status, _) = api.put("/chargers/TLS-3", json!({})).await;
    assert_eq!(status, 201);
    let mut three = station(&running, "TLS-3", Version::V16, "");
    three.password = None;
    three.url = format!("wss://{}/ocpp", running.ocpp_addr);
    let identity = (dir.path().join("client.pem"), dir.path().join("client.key"));
    three.tls = Some(
        ocpp_examples::sim::client_tls(&ca, Some((identity.0.as_path(), identity.1.as_path())))
            .unwrap(),
    );
    let (status, _) = api
        .put(
            &format!("/id-tokens/{}", three.tag()),
            json!({ "status": "Accepted" }),
        )
        .await;
    assert_eq!(status, 201);
    let report = finish(tokio::spawn(run_station(three.clone()))).await;
    assert_sessions_stored(&api, &report).await;
    // Without a client certificate the TLS handshake is refused.
    let mut config = ocpp_rpc::tokio::ClientConfig::new(three.url.clone(), "TLS-3");
    config.tls = Some(ocpp_examples::sim::client_tls(&ca, None).unwrap());
    config.reconnect = None;
    config.connect_timeout = Duration::from_secs(5);
    let refused = ocpp_rpc::tokio::connect(
        &config,
        ocpp_rpc::tokio::Router::<ocpp_types::v16::V16>::new(),
    )
    .await;
    assert!(refused.is_err(), "a charger without a certificate got in");
    // A certificate of the CA that names someone else: the TLS handshake
    // succeeds, the boot is never answered and the connection is closed
    // (A00.FR.405).
    let (_, before) = api.get("/chargers/TLS-3").await;
    let mut stranger = three.clone();
    stranger.step_timeout = Duration::from_secs(3);
    let stranger_pem = dir.path().join("stranger.pem");
    stranger.tls = Some(
        ocpp_examples::sim::client_tls(&ca, Some((stranger_pem.as_path(), identity.1.as_path())))
            .unwrap(),
    );
    let outcome = timeout(LIMIT, run_station(stranger))
        .await
        .expect("the stranger gives up in time");
    assert!(
        outcome.is_err(),
        "a certificate naming another charger booted"
    );
    let (_, after) = api.get("/chargers/TLS-3").await;
    assert!(
        after["charger"]["errors"].as_i64() > before["charger"]["errors"].as_i64(),
        "{after}"
    );
    running.shutdown().await;
}
