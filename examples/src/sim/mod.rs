//! The charge-point simulator: a station on a real WebSocket, driven by
//! the crate's sans-IO charge points (1.6, 2.0.1, 2.1) through
//! [`ocpp_rpc::tokio::run_client`].
//!
//! [`run_station`] boots a station, then either charges `sessions` times
//! on every connector at once (plug in, present a tag, meter rising
//! energy, stop, unplug), charges sessions the CSMS starts remotely, or
//! waits for CSMS commands until told to stop. The state machines answer
//! the CSMS themselves; the simulator plays the hardware: it switches the
//! simulated power on [`StartCharging`](ocpp_rpc::charge_point::v16::Event::StartCharging)
//! and off on `StopCharging`, unlocks at once, answers DataTransfer with
//! `UnknownVendorId`, keeps the latest snapshot (in a file too, with a
//! [state directory](StationOptions::state_dir)) and reboots from it.
//!
//! - `charging`: one round of sessions on every connector;
//! - `station`: the two machine families behind one trait;
//! - `state`: the snapshot file;
//! - `tls`: the client side of `wss://`;
//! - `logged`, `options`: frame counting, the command line.

mod charging;
mod logged;
mod options;
mod state;
mod station;
mod tls;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ocpp_rpc::charge_point::{v2x, v16};
use ocpp_rpc::tokio::{BackOff, ClientConfig, MachineHandle, run_client};
use ocpp_types::Version;
use tokio::sync::mpsc::UnboundedReceiver;

pub use logged::{Frames, Logged};
pub use options::{CommandLine, Scenario, StationOptions, USAGE, parse_version, split_url};
pub use station::{Happened, Station};
pub use tls::client_tls;

/// What a station did, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationReport {
    /// The station id.
    pub id: String,
    /// Sessions completed (transaction started and stopped).
    pub sessions: u32,
    /// Energy delivered over all sessions, Wh.
    pub energy_wh: i64,
    /// The same per connector (one entry per connector that charged).
    pub connectors: Vec<ConnectorReport>,
    /// Reboots the CSMS asked for (Reset).
    pub reboots: u32,
    /// Frames the station sent.
    pub frames_sent: u64,
    /// Frames the station received.
    pub frames_received: u64,
    /// Problems the machine reported (refused or dropped messages,
    /// deviations of the CSMS).
    pub errors: Vec<String>,
}

impl std::fmt::Display for StationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} session(s), {} Wh, {} frames sent, {} received, {} error(s)",
            self.id,
            self.sessions,
            self.energy_wh,
            self.frames_sent,
            self.frames_received,
            self.errors.len()
        )?;
        if self.connectors.len() > 1 {
            for c in &self.connectors {
                write!(
                    f,
                    "\n{}:   connector {} ({}): {} session(s), {} Wh",
                    self.id, c.connector, c.tag, c.sessions, c.energy_wh
                )?;
            }
        }
        Ok(())
    }
}

/// What one connector of a station did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorReport {
    /// The connector (the EVSE in 2.x).
    pub connector: u32,
    /// The tag it charged with.
    pub tag: String,
    /// Sessions completed on it.
    pub sessions: u32,
    /// Energy it delivered, Wh.
    pub energy_wh: i64,
}

/// Why a station failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The CSMS rejected the BootNotification.
    #[error("{id}: the CSMS rejected the boot")]
    NotAccepted {
        /// The station.
        id: String,
    },
    /// The tag or the transaction was refused.
    #[error("{id}: transaction refused ({reason})")]
    Refused {
        /// The station.
        id: String,
        /// What was refused.
        reason: String,
    },
    /// A step did not happen in time.
    #[error("{id}: timed out waiting for {step}")]
    Timeout {
        /// The station.
        id: String,
        /// The step.
        step: &'static str,
    },
    /// The state file could not be read or written.
    #[error("{id}: state file: {reason}")]
    State {
        /// The station.
        id: String,
        /// What failed.
        reason: String,
    },
    /// The machine's task ended unexpectedly.
    #[error("{id}: the station's task stopped")]
    Stopped {
        /// The station.
        id: String,
    },
}

/// Runs one station as `options` say; its report once it is done.
pub async fn run_station(options: StationOptions) -> Result<StationReport, SimError> {
    match options.version {
        Version::V16 => run::<v16::ChargePoint>(options).await,
        _ => run::<v2x::ChargePoint>(options).await,
    }
}

async fn run<S>(options: StationOptions) -> Result<StationReport, SimError>
where
    S: Station,
    S::Event: Send + std::fmt::Debug,
{
    let frames = Arc::new(Frames::default());
    let now = Instant::now();
    let file = options
        .state_dir
        .as_ref()
        .map(|dir| dir.join(format!("{}.json", options.id)));
    let snapshot = match &file {
        Some(file) => state::load::<S::Snapshot>(file).map_err(|reason| SimError::State {
            id: options.id.clone(),
            reason,
        })?,
        None => None,
    };
    let inner = match snapshot.clone() {
        Some(snapshot) => S::restored(snapshot, options.version, options.connectors, now),
        None => S::build(
            options.version,
            options.connectors,
            options.sample_secs,
            now,
        ),
    };
    let machine = Logged {
        inner,
        id: options.id.clone(),
        verbose: options.verbose,
        frames: Arc::clone(&frames),
    };
    let mut config = ClientConfig::new(options.url.clone(), options.id.clone());
    config.password = options.password.clone().map(String::into_bytes);
    config.tls = options.tls.clone();
    config.reconnect = Some(BackOff {
        wait_minimum: Duration::from_secs(1),
        random_range: Duration::from_millis(500),
        repeat_times: 3,
    });
    let (handle, events) = run_client(config, options.version, machine);
    let mut sim = Sim {
        snapshot,
        file,
        report: StationReport {
            id: options.id.clone(),
            ..StationReport::default()
        },
        options,
        handle,
        events,
    };
    let mut outcome = sim.scenario().await;
    // What the last steps changed (without an event) is kept too.
    if let Ok(snapshot) = sim.with(|m, _| m.save()).await {
        let kept = sim.keep(snapshot);
        outcome = outcome.and(kept);
    }
    sim.handle.stop().await;
    let mut report = sim.report;
    report.frames_sent = frames.sent.load(Ordering::Relaxed);
    report.frames_received = frames.received.load(Ordering::Relaxed);
    outcome.map(|()| report)
}

struct Sim<S: Station>
where
    S::Event: Send + std::fmt::Debug,
{
    options: StationOptions,
    handle: MachineHandle<Logged<S>>,
    events: UnboundedReceiver<S::Event>,
    /// The latest durable state, as a real charger would keep on disk.
    snapshot: Option<S::Snapshot>,
    /// Where the snapshot is written, if anywhere.
    file: Option<std::path::PathBuf>,
    report: StationReport,
}

impl<S: Station> Sim<S>
where
    S::Event: Send + std::fmt::Debug,
{
    fn id(&self) -> String {
        self.options.id.clone()
    }

    fn timeout(&self, step: &'static str) -> SimError {
        SimError::Timeout {
            id: self.id(),
            step,
        }
    }

    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S, Instant) -> R + Send + 'static,
    ) -> Result<R, SimError> {
        self.handle
            .with(move |m, now| f(&mut m.inner, now))
            .await
            .map_err(|_| SimError::Stopped { id: self.id() })
    }

    /// Keeps `snapshot` in memory and, with a state directory, on disk.
    fn keep(&mut self, snapshot: S::Snapshot) -> Result<(), SimError> {
        if let Some(file) = &self.file {
            state::store(file, &snapshot).map_err(|reason| SimError::State {
                id: self.id(),
                reason,
            })?;
        }
        self.snapshot = Some(snapshot);
        Ok(())
    }

    /// The next event that needs the scenario, serving the others;
    /// `None` once `deadline` passed.
    async fn next(&mut self, deadline: Instant) -> Result<Option<Happened>, SimError> {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let event = match tokio::time::timeout(wait, self.events.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err(SimError::Stopped { id: self.id() }),
                Ok(Some(event)) => event,
            };
            match self.with(move |m, now| m.happened(now, event)).await? {
                Happened::StateChanged => {
                    let snapshot = self.with(|m, _| m.save()).await?;
                    self.keep(snapshot)?;
                }
                Happened::Reboot => self.reboot().await?,
                Happened::Problem(text) => {
                    println!("{}: problem: {text}", self.options.id);
                    self.report.errors.push(text);
                }
                Happened::Handled => {}
                Happened::Registered(Some(false)) => {
                    return Err(SimError::NotAccepted { id: self.id() });
                }
                Happened::Refused(reason) => {
                    return Err(SimError::Refused {
                        id: self.id(),
                        reason,
                    });
                }
                other => return Ok(Some(other)),
            }
        }
    }

    /// Waits for an event `want` accepts, at most the step limit.
    async fn wait_for(
        &mut self,
        step: &'static str,
        want: impl Fn(&Happened) -> bool,
    ) -> Result<(), SimError> {
        let deadline = Instant::now() + self.options.step_timeout;
        loop {
            match self.next(deadline).await? {
                None => return Err(self.timeout(step)),
                Some(h) if want(&h) => return Ok(()),
                Some(_) => {}
            }
        }
    }

    /// Restarts the machine from the kept snapshot, as a charger does
    /// after a reset; on an open connection it boots again.
    async fn reboot(&mut self) -> Result<(), SimError> {
        println!("{}: rebooting", self.options.id);
        self.report.reboots += 1;
        let snapshot = match self.snapshot.clone() {
            Some(snapshot) => snapshot,
            None => self.with(|m, _| m.save()).await?,
        };
        let (version, connectors) = (self.options.version, self.options.connectors);
        let connected = self.handle.is_connected();
        self.with(move |m, now| {
            if connected {
                m.handle_closed(now);
            }
            *m = S::restored(snapshot, version, connectors, now);
            if connected {
                m.handle_connected(now);
            }
        })
        .await
    }

    async fn scenario(&mut self) -> Result<(), SimError> {
        self.wait_for("the boot to be accepted", |h| {
            *h == Happened::Registered(Some(true))
        })
        .await?;
        println!("{}: booted", self.options.id);
        match self.options.scenario {
            Scenario::Idle => self.idle().await,
            Scenario::Session | Scenario::Remote => {
                let remote = self.options.scenario == Scenario::Remote;
                for n in 1..=self.options.sessions {
                    self.sessions(n, remote).await?;
                }
                self.drain().await
            }
        }
    }

    async fn idle(&mut self) -> Result<(), SimError> {
        let Some(mut stop) = self.options.stop.clone() else {
            // Nothing can stop it: serve until the task ends.
            loop {
                self.next(Instant::now() + Duration::from_secs(3600))
                    .await?;
            }
        };
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { return Ok(()) },
                // `next` is not cancel-safe past `recv`, hence short turns.
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            self.next(Instant::now() + Duration::from_millis(50))
                .await?;
        }
    }

    /// Waits until every transaction message reached the CSMS.
    async fn drain(&mut self) -> Result<(), SimError> {
        let deadline = Instant::now() + self.options.step_timeout;
        while self.with(|m, _| m.queue_pending()).await? {
            if Instant::now() >= deadline {
                return Err(self.timeout("the transaction messages to be delivered"));
            }
            self.next(Instant::now() + Duration::from_millis(100))
                .await?;
        }
        Ok(())
    }
}
