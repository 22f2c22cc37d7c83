//! A sans-IO machine driven by `tokio::run_client` over loopback: it is told
//! about every connection, keeps its timers while offline, reconnects with
//! the back-off and stops on request. Bounded in time.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ocpp_rpc::endpoint::{Config, Endpoint, Event};
use ocpp_rpc::machine::Machine;
use ocpp_rpc::tokio::{BackOff, ClientConfig, Router, Routers, Server, ServerConfig, run_client};
use ocpp_types::{Role, Version, v201};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

/// A charge point in miniature: a fresh endpoint per connection, a
/// Heartbeat on every connect, and a timer that can fire offline.
#[derive(Default)]
struct Station {
    endpoint: Option<Endpoint<v201::V201>>,
    connects: u32,
    tick_at: Option<Instant>,
    events: VecDeque<String>,
}

impl Machine for Station {
    type Event = String;

    fn handle_connected(&mut self, now: Instant) {
        self.connects += 1;
        self.events
            .push_back(format!("connected {}", self.connects));
        let mut endpoint = Endpoint::new(Config::new(Role::ChargePoint), now);
        endpoint
            .call(now, v201::HeartbeatRequest::default())
            .unwrap();
        self.endpoint = Some(endpoint);
    }
    fn handle_text(&mut self, now: Instant, text: &str) {
        if let Some(e) = &mut self.endpoint {
            e.handle_text(now, text);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let Some(e) = &mut self.endpoint {
            e.handle_timeout(now);
        }
        if self.tick_at.is_some_and(|t| t <= now) {
            self.tick_at = None;
            let online = self.endpoint.as_ref().is_some_and(|e| !e.is_closed());
            self.events.push_back(format!("tick online={online}"));
        }
    }
    fn handle_closed(&mut self, now: Instant) {
        if let Some(e) = &mut self.endpoint {
            e.handle_closed(now);
        }
        self.events.push_back("closed".into());
    }
    fn poll_transmit(&mut self) -> Option<String> {
        self.endpoint.as_mut()?.poll_transmit()
    }
    fn poll_event(&mut self) -> Option<String> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        match self.endpoint.as_mut()?.poll_event()? {
            Event::Response {
                result: Ok(v201::AnyResponse::Heartbeat(_)),
                ..
            } => Some("heartbeat".into()),
            other => Some(format!("{other:?}")),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let endpoint = self.endpoint.as_ref().and_then(|e| e.poll_timeout());
        [endpoint, self.tick_at].into_iter().flatten().min()
    }
}

async fn next(events: &mut UnboundedReceiver<String>) -> String {
    timeout(LIMIT, events.recv()).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_reconnects_keeps_its_timers_offline_and_stops() {
    let routers = Routers {
        v201: Router::new().on(|_, _: v201::HeartbeatRequest| async {
            Ok(v201::HeartbeatResponse {
                current_time: "2026-12-01T10:00:00Z".parse().unwrap(),
                custom_data: None,
            })
        }),
        ..Routers::default()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::bind(addr, ServerConfig::default(), routers)
        .await
        .unwrap();
    let mut config = ClientConfig::new(format!("ws://{}/ocpp", server.local_addr()), "CP-M");
    config.reconnect = Some(BackOff {
        wait_minimum: Duration::from_millis(300),
        random_range: Duration::ZERO,
        repeat_times: 0,
    });
    let (handle, mut events) = run_client(config, Version::V201, Station::default());

    assert_eq!(next(&mut events).await, "connected 1");
    assert_eq!(next(&mut events).await, "heartbeat");
    assert!(handle.is_connected());

    // The CSMS drops the link; the machine hears of it and, offline, its
    // timer still fires before the reconnect 300 ms later.
    server.connection("CP-M").unwrap().close().await;
    assert_eq!(next(&mut events).await, "closed");
    handle
        .with(|station, now| station.tick_at = Some(now + Duration::from_millis(20)))
        .await
        .unwrap();
    assert_eq!(next(&mut events).await, "tick online=false");
    assert_eq!(next(&mut events).await, "connected 2");
    assert_eq!(next(&mut events).await, "heartbeat");
    assert_eq!(handle.with(|station, _| station.connects).await, Ok(2));

    handle.stop().await;
    assert_eq!(next(&mut events).await, "closed");
    assert!(handle.with(|_, _| ()).await.is_err());
    assert!(timeout(LIMIT, events.recv()).await.unwrap().is_none());
}
