//! The CSMS side of the tokio transport for sans-IO machines: a server
//! hosting one `csms::Session` per charger connection over loopback
//! WebSockets, 1.6 and 2.0.1 on one port, with keepalive, replacement of
//! a duplicate id and shutdown. Bounded in time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ocpp_rpc::csms::{Config, ConnectorStatus, Event, Registration, Session, TriggerKind};
use ocpp_rpc::machine::WallClock;
use ocpp_rpc::tokio::{
    ClientConfig, Hosted, Incoming, Keepalive, MachineServer, Router, Server, ServerConfig, connect,
};
use ocpp_types::{Version, v16, v201};
use serde_json::json;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const LIMIT: Duration = Duration::from_secs(10);

fn session(incoming: &Incoming) -> Session {
    let now = Instant::now();
    let clock = WallClock::new(now, "2026-12-01T10:00:00Z".parse().unwrap());
    Session::new(incoming.version, Config::open(), clock, now)
}

async fn serve(config: ServerConfig) -> MachineServer<Session> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    Server::bind_machines(addr, config, session).await.unwrap()
}

/// The next event that `pick` keeps, skipping others; a refused message
/// on the way fails the test.
async fn wait_for<T>(hosted: &mut Hosted<Session>, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    loop {
        let event = timeout(LIMIT, hosted.events.recv())
            .await
            .expect("an event in time")
            .expect("the session is still running");
        assert!(
            !matches!(event, Event::Rejected { .. } | Event::Deviation { .. }),
            "{event:?}"
        );
        if let Some(kept) = pick(&event) {
            return kept;
        }
    }
}

/// The session hears the close, then its event receiver closes.
async fn ends(hosted: &mut Hosted<Session>) {
    wait_for(hosted, |e| {
        matches!(e, Event::Disconnected { .. }).then_some(())
    })
    .await;
    loop {
        match timeout(LIMIT, hosted.events.recv()).await.unwrap() {
            None => break,
            Some(event) => assert!(!matches!(event, Event::Rejected { .. }), "{event:?}"),
        }
    }
    assert!(hosted.handle.with(|_, _| ()).await.is_err());
    assert!(!hosted.handle.is_connected());
}

/// What the application does with each session: sees the boot, heartbeat
/// and status, sends a TriggerMessage and sees its result, then closes.
async fn application(mut hosted: Hosted<Session>) -> Version {
    let version = hosted.incoming.version;
    assert_eq!(hosted.handle.with(|s, _| s.version()).await, Ok(version));
    wait_for(&mut hosted, |e| {
        matches!(
            e,
            Event::Booted {
                status: Registration::Accepted,
                ..
            }
        )
        .then_some(())
    })
    .await;
    wait_for(&mut hosted, |e| {
        matches!(e, Event::Heartbeat { .. }).then_some(())
    })
    .await;
    let (evse, connector) = wait_for(&mut hosted, |e| match e {
        Event::StatusChanged {
            evse,
            connector,
            status: ConnectorStatus::Available,
            ..
        } => Some((*evse, *connector)),
        _ => None,
    })
    .await;
    assert_eq!((evse, connector), (1, 1));
    let call = hosted
        .handle
        .with(|s, now| s.trigger(now, TriggerKind::Heartbeat, None, None))
        .await
        .unwrap()
        .unwrap();
    let action = wait_for(&mut hosted, |e| match e {
        Event::CommandResult {
            call: c,
            action,
            result: Ok(_),
        } if *c == call => Some(action.clone()),
        Event::CommandResult {
            call: c, result, ..
        } if *c == call => panic!("{result:?}"),
        _ => None,
    })
    .await;
    assert_eq!(action, "TriggerMessage");
    hosted.handle.stop().await;
    ends(&mut hosted).await;
    version
}

fn status(response: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(response).unwrap()["status"].clone()
}

async fn charger_v201(addr: SocketAddr) {
    let router = Router::<v201::V201>::new().on(|_, _: v201::TriggerMessageRequest| async {
        Ok(serde_json::from_value(json!({ "status": "Accepted" })).unwrap())
    });
    let config = ClientConfig::new(format!("ws://{addr}/ocpp"), "CS-201");
    let cs = connect(&config, router).await.unwrap();
    assert_eq!(cs.version(), Version::V201);
    let boot: v201::BootNotificationRequest = serde_json::from_value(json!({
        "chargingStation": { "model": "M1", "vendorName": "ACME" },
        "reason": "PowerUp"
    }))
    .unwrap();
    assert_eq!(status(&cs.call(boot).await.unwrap()), "Accepted");
    let beat = cs.call(v201::HeartbeatRequest::default()).await.unwrap();
    assert!(
        beat.current_time
            .to_rfc3339()
            .starts_with("2026-12-01T10:0")
    );
    let available: v201::StatusNotificationRequest = serde_json::from_value(json!({
        "timestamp": "2026-12-01T10:00:00Z",
        "connectorStatus": "Available",
        "evseId": 1,
        "connectorId": 1
    }))
    .unwrap();
    cs.call(available).await.unwrap();
    // The CSMS closes after its command.
    timeout(LIMIT, cs.closed()).await.unwrap();
}

async fn charger_v16(addr: SocketAddr) {
    let router = Router::<v16::V16>::new().on(|_, _: v16::TriggerMessageRequest| async {
        Ok(serde_json::from_value(json!({ "status": "Accepted" })).unwrap())
    });
    let config = ClientConfig::new(format!("ws://{addr}/ocpp/v16"), "CP-16");
    let cp = connect(&config, router).await.unwrap();
    assert_eq!(cp.version(), Version::V16);
    let boot: v16::BootNotificationRequest = serde_json::from_value(json!({
        "chargePointVendor": "ACME",
        "chargePointModel": "M1"
    }))
    .unwrap();
    let booted = cp.call(boot).await.unwrap();
    assert_eq!(status(&booted), "Accepted");
    assert_eq!(booted.interval, 300);
    cp.call(v16::HeartbeatRequest::default()).await.unwrap();
    let available: v16::StatusNotificationRequest = serde_json::from_value(json!({
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Available"
    }))
    .unwrap();
    cp.call(available).await.unwrap();
    timeout(LIMIT, cp.closed()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_2_0_1_and_1_6_are_served_on_one_port_at_once() {
    let mut server = serve(ServerConfig::default()).await;
    let addr = server.local_addr();
    let chargers = tokio::spawn(async move { tokio::join!(charger_v201(addr), charger_v16(addr)) });
    let mut apps = Vec::new();
    for _ in 0..2 {
        let hosted = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
        assert_eq!(hosted.incoming.remote.ip(), addr.ip());
        let expected = match hosted.incoming.version {
            Version::V16 => "CP-16",
            _ => "CS-201",
        };
        assert_eq!(&*hosted.incoming.charge_point_id, expected);
        apps.push(tokio::spawn(application(hosted)));
    }
    let mut versions = Vec::new();
    for app in apps {
        versions.push(timeout(LIMIT, app).await.unwrap().unwrap());
    }
    versions.sort_by_key(|v| v.subprotocol());
    assert_eq!(versions, [Version::V16, Version::V201]);
    timeout(LIMIT, chargers).await.unwrap().unwrap();
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charger_that_stops_answering_pings_is_closed() {
    let mut config = ServerConfig::default();
    config.keepalive = Keepalive {
        ping_interval: Some(Duration::from_millis(100)),
        pong_timeout: Duration::from_millis(200),
    };
    let mut server = serve(config).await;
    // A client that completes the handshake and then never reads, so it
    // never answers a ping.
    let mut request = format!("ws://{}/ocpp/CS-SILENT", server.local_addr())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let (silent, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let mut hosted = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let started = tokio::time::Instant::now();
    assert!(hosted.handle.is_connected());
    ends(&mut hosted).await;
    // One ping interval and one pong timeout, with slack for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The server forgets it once the connection's task is over.
    timeout(LIMIT, async {
        while server.machine("CS-SILENT").is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_of_an_id_replaces_the_first_and_shutdown_closes_all() {
    let mut server = serve(ServerConfig::default()).await;
    let config = ClientConfig::new(format!("ws://{}/ocpp/CS-R", server.local_addr()), "CS-R");
    let first = connect(&config, Router::<v201::V201>::new()).await.unwrap();
    let mut hosted1 = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let second = connect(&config, Router::<v201::V201>::new()).await.unwrap();
    let mut hosted2 = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    assert_eq!(&*hosted2.incoming.charge_point_id, "CS-R");

    ends(&mut hosted1).await;
    timeout(LIMIT, first.closed()).await.unwrap();
    assert!(!second.is_closed());
    assert!(hosted2.handle.is_connected());
    let live = server.machine("CS-R").unwrap();
    assert_eq!(live.with(|s, _| s.version()).await, Ok(Version::V201));

    server.shutdown(Duration::from_millis(100)).await;
    ends(&mut hosted2).await;
    timeout(LIMIT, second.closed()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_hook_refuses_before_any_machine_is_built() {
    let mut config = ServerConfig::default();
    config.auth = Some(std::sync::Arc::new(
        |request: &ocpp_rpc::tokio::AuthRequest<'_>| {
            if request.charge_point_id == "CS-OK" && request.password == Some(&b"secret"[..]) {
                ocpp_rpc::tokio::AuthDecision::Accept
            } else {
                ocpp_rpc::tokio::AuthDecision::Unauthorized
            }
        },
    ));
    let mut server = serve(config).await;
    let url = format!("ws://{}/ocpp", server.local_addr());
    let mut refused = ClientConfig::new(url.clone(), "CS-BAD");
    refused.password = Some(b"secret".to_vec());
    assert!(
        connect(&refused, Router::<v201::V201>::new())
            .await
            .is_err()
    );
    let mut allowed = ClientConfig::new(url, "CS-OK");
    allowed.password = Some(b"secret".to_vec());
    let cs = connect(&allowed, Router::<v201::V201>::new())
        .await
        .unwrap();
    // The refused charger got no session: the first one delivered is CS-OK's.
    let mut hosted = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    assert_eq!(&*hosted.incoming.charge_point_id, "CS-OK");
    cs.close().await;
    ends(&mut hosted).await;
}
