//! The tokio transport over loopback: bounded in time, stopping by themselves.

// tungstenite's handshake callback returns its own (large) error type.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ocpp_rpc::endpoint::CallFailure;
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::tokio::{
    Accepted, AuthDecision, BackOff, Client, ClientConfig, ConnectError, Keepalive, LinkEvent,
    Notice, Router, Routers, Server, ServerConfig, connect,
};
use ocpp_types::{Version, v16, v21, v201};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-12-01T10:00:00Z".parse().unwrap()
}

/// Heartbeat handlers for every version.
fn heartbeats() -> Routers {
    Routers {
        v16: Router::new().on(|_, _: v16::HeartbeatRequest| async {
            Ok(v16::HeartbeatResponse {
                current_time: now(),
            })
        }),
        v201: Router::new().on(|_, _: v201::HeartbeatRequest| async {
            Ok(v201::HeartbeatResponse {
                current_time: now(),
                custom_data: None,
            })
        }),
        v21: Router::new().on(|_, _: v21::HeartbeatRequest| async {
            Ok(v21::HeartbeatResponse {
                current_time: now(),
                custom_data: None,
            })
        }),
    }
}

fn client(server: &Server, id: &str) -> ClientConfig {
    let mut c = ClientConfig::new(format!("ws://{}/ocpp", server.local_addr()), id);
    c.reconnect = None;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_serves_three_versions_at_once_both_ways() {
    let mut server = Server::bind(loopback(), ServerConfig::default(), heartbeats())
        .await
        .unwrap();
    let cp16 = connect(
        &client(&server, "CP-16"),
        Router::<v16::V16>::new().on(|_, _: v16::ClearCacheRequest| async {
            Ok(v16::ClearCacheResponse {
                status: v16::ClearCacheStatus::Accepted,
            })
        }),
    )
    .await
    .unwrap();
    let cp201 = connect(
        &client(&server, "CP-201"),
        Router::<v201::V201>::new().on(|_, _: v201::ClearCacheRequest| async {
            Ok(v201::ClearCacheResponse {
                status: v201::ClearCacheStatusEnum::Accepted,
                status_info: None,
                custom_data: None,
            })
        }),
    )
    .await
    .unwrap();
    let cp21 = connect(
        &client(&server, "CP 21"),
        Router::<v21::V21>::new().on(|_, _: v21::ClearCacheRequest| async {
            Ok(v21::ClearCacheResponse {
                status: v21::ClearCacheStatusEnum::Accepted,
                status_info: None,
                custom_data: None,
            })
        }),
    )
    .await
    .unwrap();

    let mut seen = Vec::new();
    for _ in 0..3 {
        let accepted = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
        seen.push((accepted.charge_point_id().to_owned(), accepted.version()));
        // The server calls each charge point in its own version.
        match &accepted {
            Accepted::V16(c) => {
                let r = c.call(v16::ClearCacheRequest::default()).await.unwrap();
                assert_eq!(r.status, v16::ClearCacheStatus::Accepted);
            }
            Accepted::V201(c) => {
                let r = c.call(v201::ClearCacheRequest::default()).await.unwrap();
                assert_eq!(r.status, v201::ClearCacheStatusEnum::Accepted);
            }
            Accepted::V21(c) => {
                let r = c.call(v21::ClearCacheRequest::default()).await.unwrap();
                assert_eq!(r.status, v21::ClearCacheStatusEnum::Accepted);
            }
            other => panic!("{other:?}"),
        }
    }
    seen.sort();
    // The id is the percent-decoded last path segment.
    assert_eq!(
        seen,
        [
            ("CP 21".to_owned(), Version::V21),
            ("CP-16".to_owned(), Version::V16),
            ("CP-201".to_owned(), Version::V201)
        ]
    );
    // And each charge point calls the server.
    assert_eq!(
        cp16.call(v16::HeartbeatRequest::default())
            .await
            .unwrap()
            .current_time,
        now()
    );
    assert_eq!(
        cp201
            .call(v201::HeartbeatRequest::default())
            .await
            .unwrap()
            .current_time,
        now()
    );
    assert_eq!(
        cp21.call(v21::HeartbeatRequest::default())
            .await
            .unwrap()
            .current_time,
        now()
    );
    // An action without a handler is answered NotImplemented.
    let auth = v16::AuthorizeRequest {
        id_tag: "TAG".parse().unwrap(),
    };
    match cp16.call(auth).await {
        Err(CallFailure::Error { code, .. }) => assert_eq!(code, ErrorCode::NotImplemented),
        other => panic!("{other:?}"),
    }
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_no_common_subprotocol_and_wrong_password() {
    let mut config = ServerConfig::default();
    config.versions = vec![Version::V201];
    config.auth = Some(Arc::new(|req| {
        if req.username == Some(req.charge_point_id)
            && req.password == Some(b"correct horse".as_slice())
        {
            AuthDecision::Accept
        } else {
            AuthDecision::Unauthorized
        }
    }));
    let server = Server::bind(loopback(), config, Routers::default())
        .await
        .unwrap();

    let err = connect(&client(&server, "CP-1"), Router::<v16::V16>::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::NoSubprotocol), "{err:?}");

    let mut wrong = client(&server, "CP-1");
    wrong.password = Some(b"battery staple".to_vec());
    let err = connect(&wrong, Router::<v201::V201>::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Refused(401)), "{err:?}");

    let mut right = client(&server, "CP-1");
    right.password = Some(b"correct horse".to_vec());
    connect(&right, Router::<v201::V201>::new()).await.unwrap();
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_closes_that_connection_only() {
    let mut config = ServerConfig::default();
    config.max_message_len = 4096;
    let server = Server::bind(loopback(), config, heartbeats())
        .await
        .unwrap();
    let big = connect(&client(&server, "BIG"), Router::<v201::V201>::new())
        .await
        .unwrap();
    let transfer = v201::DataTransferRequest {
        vendor_id: "ACME".parse().unwrap(),
        message_id: None,
        data: Some(serde_json::Value::String("x".repeat(64 * 1024))),
        custom_data: None,
    };
    let result = timeout(LIMIT, big.call(transfer)).await.unwrap();
    assert_eq!(result.unwrap_err(), CallFailure::ConnectionLost);
    timeout(LIMIT, big.closed()).await.unwrap();
    // The server is fine.
    let small = connect(&client(&server, "SMALL"), Router::<v201::V201>::new())
        .await
        .unwrap();
    small.call(v201::HeartbeatRequest::default()).await.unwrap();
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_for_an_id_replaces_the_first() {
    let mut server = Server::bind(loopback(), ServerConfig::default(), Routers::default())
        .await
        .unwrap();
    // The first charge point never answers ClearCache.
    let slow = Router::<v201::V201>::new().on(|_, _: v201::ClearCacheRequest| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Err(ocpp_rpc::tokio::HandlerError::internal("never"))
    });
    let first_cp = connect(&client(&server, "CP-1"), slow).await.unwrap();
    let first = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let Accepted::V201(first) = first else {
        panic!()
    };
    let pending = tokio::spawn({
        let first = first.clone();
        async move { first.call(v201::ClearCacheRequest::default()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let _second_cp = connect(&client(&server, "CP-1"), Router::<v201::V201>::new())
        .await
        .unwrap();
    let second = timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let started = tokio::time::Instant::now();
    let result = timeout(LIMIT, pending).await.unwrap().unwrap();
    assert_eq!(result.unwrap_err(), CallFailure::ConnectionLost);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the pending call failed at once"
    );
    timeout(LIMIT, first_cp.closed()).await.unwrap();
    assert!(!second.charge_point_id().is_empty());
    assert_eq!(
        server.connection("CP-1").map(|c| c.version()),
        Some(Version::V201)
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_after_the_server_restarts() {
    let server = Server::bind(loopback(), ServerConfig::default(), heartbeats())
        .await
        .unwrap();
    let addr = server.local_addr();
    let mut config = client(&server, "CP-R");
    let backoff = BackOff {
        wait_minimum: Duration::from_millis(100),
        random_range: Duration::from_millis(100),
        repeat_times: 2,
    };
    config.reconnect = Some(backoff);
    let cp = Client::<v201::V201>::start(config, Router::new());
    let mut link = cp.link_events();
    cp.connected(LIMIT).await.unwrap();
    cp.call(v201::HeartbeatRequest::default()).await.unwrap();

    server.shutdown(Duration::from_millis(100)).await;
    loop {
        if timeout(LIMIT, link.recv()).await.unwrap().unwrap() == LinkEvent::Disconnected {
            break;
        }
    }
    // Offline: calls fail at once, so the layer above can queue.
    assert_eq!(
        cp.call(v201::HeartbeatRequest::default())
            .await
            .unwrap_err(),
        CallFailure::ConnectionLost
    );
    let down = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = Server::bind(addr, ServerConfig::default(), heartbeats())
        .await
        .unwrap();
    let up = tokio::time::Instant::now();
    cp.connected(LIMIT).await.unwrap();
    // The attempts after `down` waited at most min*2^k + range each; the
    // reconnect lands within one back-off step of the restart.
    let worst_step = backoff.delay(backoff.repeat_times, 1.0);
    assert!(
        up.elapsed() <= worst_step + Duration::from_millis(500),
        "reconnected {:?} after the restart",
        up.elapsed()
    );
    assert!(down.elapsed() >= Duration::from_millis(300));
    cp.call(v201::HeartbeatRequest::default()).await.unwrap();
    cp.stop().await;
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_answering_pings_is_declared_dead() {
    // A WebSocket server that completes the handshake and then never reads,
    // so it never answers a ping.
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_hdr_async(
            tcp,
            |_: &_, mut r: tokio_tungstenite::tungstenite::handshake::server::Response| {
                r.headers_mut()
                    .insert("Sec-WebSocket-Protocol", "ocpp2.0.1".parse().unwrap());
                Ok(r)
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(ws);
    });
    let mut config = ClientConfig::new(format!("ws://{addr}/ocpp"), "CP-P");
    config.reconnect = None;
    config.keepalive = Keepalive {
        ping_interval: Some(Duration::from_millis(100)),
        pong_timeout: Duration::from_millis(200),
    };
    let cp = connect(&config, Router::<v201::V201>::new()).await.unwrap();
    let mut notices = cp.notices();
    let started = tokio::time::Instant::now();
    timeout(Duration::from_secs(2), cp.closed()).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed <= Duration::from_millis(100 + 200 + 300),
        "declared dead after {elapsed:?}"
    );
    assert_eq!(notices.try_recv().ok(), Some(Notice::PingTimeout));
    silent.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_call_in_flight_finish_within_the_grace() {
    let routers = Routers {
        v201: Router::new().on(|_, _: v201::HeartbeatRequest| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(v201::HeartbeatResponse {
                current_time: now(),
                custom_data: None,
            })
        }),
        ..Routers::default()
    };
    let mut server = Server::bind(loopback(), ServerConfig::default(), routers)
        .await
        .unwrap();
    let cp = connect(&client(&server, "CP-S"), Router::<v201::V201>::new())
        .await
        .unwrap();
    timeout(LIMIT, server.accept()).await.unwrap().unwrap();
    let call = tokio::spawn({
        let cp = cp.clone();
        async move { cp.call(v201::HeartbeatRequest::default()).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeout(LIMIT, server.shutdown(Duration::from_secs(3)))
        .await
        .unwrap();
    assert!(
        call.await.unwrap().is_ok(),
        "the call in flight was cut off"
    );
    timeout(LIMIT, cp.closed()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_refused_with_503() {
    let mut config = ServerConfig::default();
    config.max_connections = 1;
    let server = Server::bind(loopback(), config, heartbeats())
        .await
        .unwrap();
    let first = connect(&client(&server, "CP-1"), Router::<v201::V201>::new())
        .await
        .unwrap();
    let err = connect(&client(&server, "CP-2"), Router::<v201::V201>::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Refused(503)), "{err:?}");
    first.call(v201::HeartbeatRequest::default()).await.unwrap();
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v21_send_reaches_its_handler_without_a_reply() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let routers = Routers {
        v21: Router::new().on_send(move |ctx, m: v21::NotifyPeriodicEventStream| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((ctx.charge_point_id.to_string(), m.id));
            }
        }),
        ..Routers::default()
    };
    let server = Server::bind(loopback(), ServerConfig::default(), routers)
        .await
        .unwrap();
    let cp = connect(&client(&server, "CP-21"), Router::<v21::V21>::new())
        .await
        .unwrap();
    let stream: v21::NotifyPeriodicEventStream = serde_json::from_str(
        r#"{"id":7,"pending":0,"basetime":"2026-12-01T10:00:00Z","data":[{"t":0.5,"v":"230.1"}]}"#,
    )
    .unwrap();
    cp.send(stream).await.unwrap();
    let got = timeout(LIMIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!(got, ("CP-21".to_owned(), 7));
    server.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_outlives_the_handshake_timeout_and_is_forgotten_when_it_closes() {
    let mut config = ServerConfig::default();
    config.handshake_timeout = Duration::from_millis(200);
    let server = Server::bind(loopback(), config, heartbeats())
        .await
        .unwrap();
    let cp = connect(&client(&server, "CP-L"), Router::<v201::V201>::new())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.connection_count(), 1);
    assert!(server.connection("CP-L").is_some());
    cp.call(v201::HeartbeatRequest::default()).await.unwrap();
    cp.close().await;
    let forgotten = async {
        while server.connection("CP-L").is_some() || server.connection_count() != 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(LIMIT, forgotten).await.unwrap();
    server.shutdown(Duration::from_millis(100)).await;
}
