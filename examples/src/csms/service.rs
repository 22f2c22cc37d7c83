//! Hosting the chargers: who may connect, one [`Session`] per connection
//! restored from the database, its events written to the store, deferred
//! authorizations and 1.6 transaction ids answered from it, and commands
//! sent on behalf of the HTTP API with their answers routed back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use ocpp_rpc::csms::{
    AnyResponse, AuthStatus, Authorization, BootDecision, CommandError, Config, Event, Sample,
    Session, SessionState, TransactionIds,
};
use ocpp_rpc::endpoint::{CallError, CallFailure, CallId};
use ocpp_rpc::error::ErrorCode;
use ocpp_rpc::machine::WallClock;
use ocpp_rpc::tokio::{AuthDecision, AuthRequest, Hosted, Incoming, MachineHandle};
use ocpp_types::Version;
use tokio::sync::oneshot;

use super::audited::Audited;
use super::identity;
use super::password::Verified;
use super::store::{AuditFrame, NewTransaction, SampleRow, Store, StoreResult};

type Answer = Result<AnyResponse, CallFailure>;
type Waiting = Arc<Mutex<HashMap<CallId, oneshot::Sender<Answer>>>>;
/// Charger id → what its last session knew.
pub type States = Arc<Mutex<HashMap<String, SessionState>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent across a panicking holder: keep using them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn now_text() -> String {
    rfc3339(Utc::now())
}

/// `1.6`, `2.0.1` or `2.1`.
pub fn version_name(version: Version) -> &'static str {
    match version {
        Version::V16 => "1.6",
        Version::V201 => "2.0.1",
        _ => "2.1",
    }
}

/// A live connection.
struct Live {
    generation: u64,
    handle: MachineHandle<Audited>,
    waiting: Waiting,
}

/// Why a command got no typed response.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandFailure {
    /// No such charger.
    UnknownCharger,
    /// The charger is not connected.
    Offline,
    /// Not sent: unknown action, invalid payload, wrong direction.
    Invalid(String),
    /// Not sent: not allowed in the charger's registration state.
    NotAllowed(String),
    /// Not sent: too many commands wait already.
    Busy(String),
    /// The charger answered with a CALLERROR.
    CallError {
        /// The error code.
        code: String,
        /// The description.
        description: String,
        /// The details object.
        details: serde_json::Value,
    },
    /// The charger's answer broke the schema, or the connection was lost.
    BadAnswer(String),
    /// No answer in time.
    Timeout,
}

/// The service shared by the transport, the connection tasks and the API.
pub struct Service {
    store: Arc<Store>,
    open: bool,
    heartbeat_interval: u32,
    command_timeout: Duration,
    /// Charger id → password hash: the chargers table as the auth hook
    /// reads it, without touching the database.
    chargers: Mutex<HashMap<String, Option<String>>>,
    verified: Verified,
    /// Charger id → the CN of the client certificate it connected with.
    certificates: Mutex<HashMap<String, String>>,
    /// Charger id → what its last session knew.
    states: States,
    live: Mutex<HashMap<String, Live>>,
    generation: AtomicU64,
    audit: Mutex<Sender<Option<AuditFrame>>>,
}

impl Service {
    /// The service over `store`, its caches loaded.
    pub fn new(
        store: Arc<Store>,
        open: bool,
        heartbeat_interval: u32,
        command_timeout: Duration,
        audit: Sender<Option<AuditFrame>>,
    ) -> StoreResult<Service> {
        store.all_offline()?;
        let chargers = store.passwords()?.into_iter().collect();
        let states = store
            .session_states()?
            .into_iter()
            .filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?)))
            .collect();
        Ok(Service {
            store,
            open,
            heartbeat_interval,
            command_timeout,
            chargers: Mutex::new(chargers),
            verified: Verified::default(),
            certificates: Mutex::default(),
            states: Arc::new(Mutex::new(states)),
            live: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            audit: Mutex::new(audit),
        })
    }

    /// Runs `f` on the store off the async workers; a failure is logged.
    pub async fn db<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    ) -> Option<T> {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                eprintln!("csms: {what}: {e}");
                None
            }
            Err(e) => {
                eprintln!("csms: {what}: {e}");
                None
            }
        }
    }

    /// Whether the charger is known.
    pub fn knows(&self, id: &str) -> bool {
        lock(&self.chargers).contains_key(id)
    }

    /// Records a charger's password hash (after the store has it).
    pub fn set_password(&self, id: &str, hash: Option<String>) {
        lock(&self.chargers).insert(id.to_owned(), hash);
    }

    // ----- the transport's hooks -----

    /// The auth hook: known chargers with their password; unknown ones
    /// only in open mode.
    pub fn authorize(&self, request: &AuthRequest<'_>) -> AuthDecision {
        let id = request.charge_point_id;
        // The CN is checked against the serial number once the charger boots.
        let mut certificates = lock(&self.certificates);
        match request.client_certificate.map(identity::common_name) {
            Some(None) => return AuthDecision::Unauthorized,
            Some(Some(cn)) => certificates.insert(id.to_owned(), cn),
            None => certificates.remove(id),
        };
        drop(certificates);
        let known = lock(&self.chargers).get(id).cloned();
        let phc = match known {
            None if self.open => return AuthDecision::Accept,
            None => return AuthDecision::UnknownChargePoint,
            Some(None) => return AuthDecision::Accept,
            Some(Some(phc)) => phc,
        };
        let Some(password) = request.password else {
            return AuthDecision::Unauthorized;
        };
        if request.username.is_some_and(|u| u != id) {
            return AuthDecision::Unauthorized;
        }
        // Argon2 takes tens of milliseconds: tell a multi-threaded runtime
        // so that it moves the other tasks off this worker.
        let check = || self.verified.check(id, &phc, password);
        let ok = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(check),
            _ => check(),
        };
        if ok {
            AuthDecision::Accept
        } else {
            AuthDecision::Unauthorized
        }
    }

    /// The machine of a new connection: a session restored from what the
    /// charger's last one knew.
    pub fn machine(&self, incoming: &Incoming) -> Audited {
        let now = Instant::now();
        let mut config = Config::default();
        // A charger with a client certificate boots only once it names it.
        config.auto_accept_boot =
            !lock(&self.certificates).contains_key(&*incoming.charge_point_id);
        config.heartbeat_interval = self.heartbeat_interval;
        config.accept_all_tokens = self.open;
        config.transaction_ids = TransactionIds::Ask;
        config.trigger_boot_when_unknown = true;
        config.endpoint.call_timeout = self.command_timeout;
        config.endpoint.id_seed = seed();
        let mut session = Session::new(
            incoming.version,
            config,
            WallClock::new(now, Utc::now()),
            now,
        );
        if let Some(state) = lock(&self.states).get(&*incoming.charge_point_id) {
            session.restore(state.clone());
        }
        Audited {
            session,
            id: Arc::clone(&incoming.charge_point_id),
            audit: lock(&self.audit).clone(),
            states: Arc::clone(&self.states),
        }
    }

    // ----- one connection -----

    /// Serves one connection until it ends.
    pub async fn serve(self: Arc<Self>, mut hosted: Hosted<Audited>) {
        let id = hosted.incoming.charge_point_id.to_string();
        let version = version_name(hosted.incoming.version);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting::default();
        lock(&self.live).insert(
            id.clone(),
            Live {
                generation,
                handle: hosted.handle.clone(),
                waiting: Arc::clone(&waiting),
            },
        );
        lock(&self.chargers).entry(id.clone()).or_insert(None);
        {
            let id = id.clone();
            self.db("connected", move |s| {
                s.ensure_charger(&id)?;
                s.connected(&id, version, &now_text())
            })
            .await;
        }
        while let Some(event) = hosted.events.recv().await {
            self.on_event(&id, &hosted.handle, &waiting, event).await;
        }
        // The connection ended; the newest connection of the id owns its
        // state, so a replaced one leaves it alone.
        let current = {
            let mut live = lock(&self.live);
            let current = live.get(&id).is_some_and(|l| l.generation == generation);
            if current {
                live.remove(&id);
            }
            current
        };
        lock(&waiting).clear();
        if current {
            // Left there by the machine as it heard the close.
            let json = lock(&self.states)
                .get(&id)
                .and_then(|s| serde_json::to_string(s).ok())
                .unwrap_or_default();
            self.db("disconnected", move |s| {
                if json.is_empty() {
                    s.touch(&id, &now_text())
                } else {
                    s.disconnected(&id, &json)
                }
            })
            .await;
        }
    }

    async fn save_state(&self, id: &str, handle: &MachineHandle<Audited>) {
        let Ok(state) = handle.with(|m, _| m.session.snapshot()).await else {
            return;
        };
        let Ok(json) = serde_json::to_string(&state) else {
            return;
        };
        lock(&self.states).insert(id.to_owned(), state);
        let id = id.to_owned();
        self.db("session state", move |s| s.save_session_state(&id, &json))
            .await;
    }

    async fn on_event(
        &self,
        id: &str,
        handle: &MachineHandle<Audited>,
        waiting: &Waiting,
        event: Event,
    ) {
        let charger = id.to_owned();
        match event {
            Event::Booted {
                charge_point,
                status,
            } => {
                self.db("boot", move |s| {
                    s.touch(&charger, &now_text())?;
                    s.booted(
                        &charger,
                        &charge_point.vendor,
                        &charge_point.model,
                        &format!("{status:?}"),
                    )
                })
                .await;
                self.save_state(id, handle).await;
            }
            Event::BootRequested {
                ticket,
                charge_point,
                ..
            } => {
                let serial = charge_point.serial_number.as_deref();
                let cn = lock(&self.certificates).get(id).cloned();
                if let Some(cn) = cn
                    && !identity::names(&cn, id, serial)
                {
                    eprintln!(
                        "csms: {id}: its certificate (CN {cn}) does not name it (serial number {serial:?}): closing"
                    );
                    self.db("error count", move |s| s.count_error(&charger))
                        .await;
                    handle.stop().await;
                    return;
                }
                let decision = BootDecision::accepted(self.heartbeat_interval);
                let _ = handle
                    .with(move |m, now| m.session.answer_boot(now, ticket, decision))
                    .await;
            }
            Event::StatusChanged {
                evse,
                connector,
                status,
                error,
            } => {
                self.db("status", move |s| {
                    let at = now_text();
                    s.touch(&charger, &at)?;
                    s.connector_status(
                        &charger,
                        evse,
                        connector,
                        &format!("{status:?}"),
                        error.as_deref(),
                        &at,
                    )
                })
                .await;
            }
            Event::AuthorizationRequested {
                ticket, id_token, ..
            } => {
                let token = id_token.value.clone();
                let found = self.db("authorization", move |s| s.id_token(&token)).await;
                let _ = handle
                    .with(move |m, _| match found {
                        Some(row) => {
                            let authorization = authorization(row.as_ref());
                            m.session.answer_authorization(ticket, authorization)
                        }
                        None => m.session.answer_error(
                            ticket,
                            ErrorCode::InternalError,
                            "the authorization list is not available",
                        ),
                    })
                    .await;
            }
            Event::TransactionIdRequested { ticket, .. } => {
                let next = self.db("transaction id", |s| s.next_transaction_id()).await;
                let _ = handle
                    .with(move |m, _| match next {
                        Some(tx) => m.session.answer_transaction_id(ticket, tx),
                        None => m.session.answer_error(
                            ticket,
                            ErrorCode::InternalError,
                            "no transaction id available",
                        ),
                    })
                    .await;
            }
            Event::TransactionStarted {
                id: tx,
                evse,
                connector,
                id_token,
                meter_start_wh,
                timestamp,
            } => {
                self.db("transaction start", move |s| {
                    s.touch(&charger, &now_text())?;
                    s.transaction_started(&NewTransaction {
                        charger_id: &charger,
                        id: &tx,
                        evse,
                        connector,
                        id_token: id_token.as_ref().map(|t| t.value.as_str()),
                        meter_start_wh: meter_start_wh.and_then(decimal),
                        started_at: &rfc3339(timestamp),
                    })
                })
                .await;
                self.save_state(id, handle).await;
            }
            Event::TransactionUpdated { id: tx, samples } => {
                // The energy so far, as the session reckons it.
                let key = tx.clone();
                let energy = handle
                    .with(move |m, _| {
                        m.session
                            .transactions()
                            .get(&key)
                            .and_then(|r| r.energy_wh())
                    })
                    .await
                    .ok()
                    .flatten()
                    .and_then(decimal);
                self.db("meter values", move |s| {
                    s.touch(&charger, &now_text())?;
                    s.samples(&charger, Some(&tx), None, &rows(&samples))?;
                    match energy {
                        Some(wh) => s.transaction_progress(&charger, &tx, wh),
                        None => Ok(()),
                    }
                })
                .await;
            }
            Event::MeterSamples { evse, samples } => {
                self.db("meter values", move |s| {
                    s.touch(&charger, &now_text())?;
                    s.samples(&charger, None, Some(evse), &rows(&samples))
                })
                .await;
            }
            Event::TransactionEnded {
                id: tx,
                reason,
                meter_stop_wh,
                energy_wh,
                timestamp,
            } => {
                self.db("transaction end", move |s| {
                    s.touch(&charger, &now_text())?;
                    s.transaction_ended(
                        &charger,
                        &tx,
                        meter_stop_wh.and_then(decimal),
                        energy_wh.and_then(decimal),
                        &rfc3339(timestamp),
                        &format!("{reason:?}"),
                    )
                })
                .await;
                self.save_state(id, handle).await;
            }
            Event::CommandResult { call, result, .. } => {
                if let Some(tx) = lock(waiting).remove(&call) {
                    // The API may have given up waiting: nothing to tell then.
                    let _ = tx.send(result);
                }
            }
            Event::Request { ticket, request } => {
                let _ = handle
                    .with(move |m, _| {
                        m.session.answer_error(
                            ticket,
                            ErrorCode::NotImplemented,
                            &format!("{} is not handled by this CSMS", request.action()),
                        )
                    })
                    .await;
            }
            Event::DataTransferRequested { ticket, .. } => {
                let _ = handle
                    .with(move |m, _| {
                        m.session
                            .answer_error(ticket, ErrorCode::NotImplemented, "no vendor")
                    })
                    .await;
            }
            Event::Rejected { action, reason, .. } => {
                eprintln!(
                    "csms: {id}: refused {}: {reason}",
                    action.unwrap_or_default()
                );
                self.db("error count", move |s| s.count_error(&charger))
                    .await;
            }
            Event::Deviation {
                action,
                path,
                detail,
                ..
            } => {
                eprintln!("csms: {id}: deviation in {action} at {path}: {detail}");
                self.db("error count", move |s| s.count_error(&charger))
                    .await;
            }
            Event::Disconnected { .. } => {}
            _ => {
                self.db("last contact", move |s| s.touch(&charger, &now_text()))
                    .await;
            }
        }
    }

    // ----- commands -----

    /// Sends `action` with the JSON `payload` to the charger and waits for
    /// its answer: the response's action and payload.
    pub async fn command(
        &self,
        id: &str,
        action: &str,
        payload: String,
    ) -> Result<serde_json::Value, CommandFailure> {
        let (handle, waiting) = match lock(&self.live).get(id) {
            Some(live) => (live.handle.clone(), Arc::clone(&live.waiting)),
            None if self.knows(id) => return Err(CommandFailure::Offline),
            None => return Err(CommandFailure::UnknownCharger),
        };
        let (tx, rx) = oneshot::channel();
        let action_owned = action.to_owned();
        // Registered on the machine's task, before its answer can come.
        let sent = handle
            .with(move |m, now| {
                let call = m.session.call_json(now, &action_owned, &payload)?;
                lock(&waiting).insert(call, tx);
                Ok::<_, CommandError>(call)
            })
            .await;
        match sent {
            Err(_) => return Err(CommandFailure::Offline),
            Ok(Err(e)) => return Err(refused(e)),
            Ok(Ok(_)) => {}
        }
        // The endpoint's call timeout answers first; this is the backstop.
        let answer = match tokio::time::timeout(self.command_timeout + Duration::from_secs(1), rx)
            .await
        {
            Err(_) => return Err(CommandFailure::Timeout),
            Ok(Err(_)) => return Err(CommandFailure::BadAnswer("the connection was lost".into())),
            Ok(Ok(answer)) => answer,
        };
        match answer {
            Ok(response) => Ok(response.to_json()),
            Err(CallFailure::Timeout) => Err(CommandFailure::Timeout),
            Err(CallFailure::Error {
                code,
                description,
                details,
            }) => Err(CommandFailure::CallError {
                code: code.as_str(Version::V201).to_owned(),
                description,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            }),
            Err(CallFailure::Refused(e)) => Err(refused(CommandError::Call(e))),
            Err(other) => Err(CommandFailure::BadAnswer(other.to_string())),
        }
    }
}

fn refused(e: CommandError) -> CommandFailure {
    match e {
        CommandError::NotAllowed { .. } => CommandFailure::NotAllowed(e.to_string()),
        CommandError::Call(CallError::Closed) => CommandFailure::Offline,
        CommandError::Call(CallError::QueueFull(_)) => CommandFailure::Busy(e.to_string()),
        other => CommandFailure::Invalid(other.to_string()),
    }
}

/// The answer for a token found (or not) in the authorization list.
fn authorization(row: Option<&super::store::IdTokenRow>) -> Authorization {
    let Some(row) = row else {
        return Authorization::with_status(AuthStatus::Unknown);
    };
    let expiry = row
        .expiry
        .as_deref()
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .map(|e| e.with_timezone(&Utc));
    let status = match row.status.as_str() {
        _ if expiry.is_some_and(|e| e <= Utc::now()) => AuthStatus::Expired,
        "Accepted" => AuthStatus::Accepted,
        "Blocked" => AuthStatus::Blocked,
        "Expired" => AuthStatus::Expired,
        "ConcurrentTx" => AuthStatus::ConcurrentTx,
        "NoCredit" => AuthStatus::NoCredit,
        "NotAllowedTypeEVSE" => AuthStatus::NotAllowedTypeEvse,
        "NotAtThisLocation" => AuthStatus::NotAtThisLocation,
        "NotAtThisTime" => AuthStatus::NotAtThisTime,
        "Unknown" => AuthStatus::Unknown,
        _ => AuthStatus::Invalid,
    };
    let mut authorization = Authorization::with_status(status);
    authorization.expiry = expiry;
    authorization.group = row.group.clone();
    authorization
}

/// The statuses an id token may be stored with.
pub const TOKEN_STATUSES: [&str; 10] = [
    "Accepted",
    "Blocked",
    "Expired",
    "Invalid",
    "ConcurrentTx",
    "Unknown",
    "NoCredit",
    "NotAllowedTypeEVSE",
    "NotAtThisLocation",
    "NotAtThisTime",
];

fn decimal(d: rust_decimal::Decimal) -> Option<f64> {
    d.to_string().parse().ok()
}

fn rows(samples: &[Sample]) -> Vec<SampleRow<'_>> {
    samples
        .iter()
        .map(|s| SampleRow {
            measurand: &s.measurand,
            phase: s.phase.as_deref(),
            unit: &s.unit,
            value: s.value.to_string(),
            timestamp: rfc3339(s.timestamp),
            context: &s.context,
        })
        .collect()
}

/// A message-id seed per connection, from the standard library's
/// OS-seeded hasher keys.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x6373_6d73);
    h.finish()
}
