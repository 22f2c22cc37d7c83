//! The `csms` example as a library: one port for every OCPP version, an
//! SQLite database, and an HTTP JSON API on a second address.
//!
//! [`start`] opens the database (migrating it), binds both addresses and
//! returns a [`Running`] CSMS; chargers connect at
//! `ws://HOST:PORT/<anything>/{id}`. Without [`Options::open`], only
//! chargers registered through the API (`PUT /api/chargers/{id}`) may
//! connect, with their password, and id tokens are checked against the
//! authorization list; in open mode unknown chargers are registered on
//! first connection and every token is accepted.
//!
//! - `store`: the database;
//! - `password`: Argon2 hashes of the chargers' passwords;
//! - `audited`: the session of one connection, each frame logged;
//! - `identity`: the charger named by its TLS client certificate;
//! - `service`: hosting the sessions, events into the store, commands;
//! - `api`: the HTTP routes;
//! - `tls`: the certificate files;
//! - [`command_line`]: the `csms` binary's arguments.

mod api;
mod audited;
pub mod command_line;
mod identity;
mod password;
mod service;
mod store;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ocpp_rpc::tokio::{Keepalive, Server, ServerConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use store::{
    AuditFrame, ChargerRow, ConnectorRow, IdTokenRow, Store, StoreError, TransactionRow,
};
pub use tls::TlsFiles;

/// How the CSMS runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The OCPP WebSocket address.
    pub listen: SocketAddr,
    /// The HTTP API address.
    pub api: SocketAddr,
    /// The SQLite file.
    pub db: PathBuf,
    /// Development mode: unknown chargers are registered on first
    /// connection and every id token is accepted.
    pub open: bool,
    /// TLS on the OCPP port (security profiles 2 and 3).
    pub tls: Option<TlsFiles>,
    /// Pings to find chargers that vanished without closing.
    pub keepalive: Keepalive,
    /// The heartbeat interval given to chargers at boot, seconds.
    pub heartbeat_interval: u32,
    /// How long a command waits for the charger's answer.
    pub command_timeout: Duration,
}

impl Options {
    /// Defaults with the two addresses and the database file.
    pub fn new(listen: SocketAddr, api: SocketAddr, db: impl Into<PathBuf>) -> Self {
        Options {
            listen,
            api,
            db: db.into(),
            open: false,
            tls: None,
            keepalive: Keepalive::default(),
            heartbeat_interval: 300,
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// Why the CSMS did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An address could not be bound.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// The TLS files could not be read.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A running CSMS.
#[derive(Debug)]
pub struct Running {
    /// Where chargers connect.
    pub ocpp_addr: SocketAddr,
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    stop: watch::Sender<bool>,
    ocpp: JoinHandle<()>,
    api: JoinHandle<()>,
    audit: std::thread::JoinHandle<()>,
    audit_stop: std::sync::mpsc::Sender<Option<AuditFrame>>,
}

impl Running {
    /// Closes every connection and both listeners, and waits until the
    /// audit log is written.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.ocpp.await;
        let _ = self.api.await;
        // The writer stores what came before this and ends.
        let _ = self.audit_stop.send(None);
        let _ = tokio::task::spawn_blocking(move || self.audit.join()).await;
    }
}

/// Starts the CSMS.
pub async fn start(options: Options) -> Result<Running, Error> {
    let db = options.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&db))
        .await
        .map_err(|e| Error::Listen(std::io::Error::other(e)))??;
    let store = Arc::new(store);
    let (audit_tx, audit_rx) = std::sync::mpsc::channel::<Option<AuditFrame>>();
    let audit = {
        let store = Arc::clone(&store);
        std::thread::Builder::new()
            .name("csms-audit".into())
            .spawn(move || write_audit(&store, &audit_rx))?
    };
    let service = Arc::new(service::Service::new(
        Arc::clone(&store),
        options.open,
        options.heartbeat_interval,
        options.command_timeout,
        audit_tx.clone(),
    )?);

    let mut config = ServerConfig::default();
    config.keepalive = options.keepalive;
    config.tls = match &options.tls {
        Some(files) => Some(files.server_config().map_err(Error::Tls)?),
        None => None,
    };
    config.auth = Some({
        let service = Arc::clone(&service);
        Arc::new(move |request| service.authorize(request))
    });
    let mut server = Server::bind_machines(options.listen, config, {
        let service = Arc::clone(&service);
        move |incoming| service.machine(incoming)
    })
    .await?;
    let ocpp_addr = server.local_addr();

    let listener = tokio::net::TcpListener::bind(options.api).await?;
    let api_addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);

    let ocpp = tokio::spawn({
        let service = Arc::clone(&service);
        let mut stopped = stopped.clone();
        async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    hosted = server.accept() => match hosted {
                        Some(hosted) => {
                            connections.spawn(Arc::clone(&service).serve(hosted));
                        }
                        None => break,
                    },
                    // Reaps finished connections as it goes.
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
            server.shutdown(Duration::from_secs(1)).await;
            while connections.join_next().await.is_some() {}
        }
    });
    let api = tokio::spawn({
        let app = api::router(Arc::clone(&service));
        let mut stopped = stopped;
        async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("csms: the API stopped: {e}");
            }
        }
    });
    // The tasks hold their clones; this one must not keep the audit open.
    drop(service);
    Ok(Running {
        ocpp_addr,
        api_addr,
        stop,
        ocpp,
        api,
        audit,
        audit_stop: audit_tx,
    })
}

/// The audit writer: frames in batches, until `None` comes.
fn write_audit(store: &Store, frames: &std::sync::mpsc::Receiver<Option<AuditFrame>>) {
    let mut running = true;
    while running && let Ok(first) = frames.recv() {
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Some(frame) => batch.push(frame),
                None => {
                    running = false;
                    break;
                }
            }
            if batch.len() < 512 {
                next = frames.try_recv().ok();
            }
        }
        if !batch.is_empty()
            && let Err(e) = store.audit(&batch)
        {
            eprintln!("csms: audit log: {e}");
        }
    }
}
