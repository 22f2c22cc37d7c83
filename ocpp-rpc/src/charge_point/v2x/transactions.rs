//! Transactions (E), their durable message queue (E13), meter values (J)
//! and authorization (C): the domain inputs and what they cause.

use std::collections::BTreeSet;
use std::time::Instant;

use ocpp_types::BoundedString;
use ocpp_types::v21::{
    self, AnyResponse, AuthorizationStatusEnum as Auth, ChargingStateEnum, IdToken, MeasurandEnum,
    ReadingContextEnum, ReasonEnum, TransactionEventEnum, TriggerReasonEnum as Trigger,
};
use rust_decimal::Decimal;

use super::state::{CacheEntry, QueuedEvent, Transaction};
use super::{ChargePoint, Event, MeterReading, Pending};
use crate::endpoint::{CallFailure, CallId};

/// The key of a token in the local list and the cache.
pub(crate) fn token_key(token: &IdToken) -> String {
    format!("{}:{}", token.kind.as_str(), token.id_token.as_str())
}

/// The most TxEndedInterval samples a transaction keeps for its Ended event.
const MAX_ENDED_SAMPLES: usize = 256;

/// An IdTokenInfo of only a status (a decision made without the CSMS).
fn status_only(status: Auth) -> v21::IdTokenInfo {
    v21::IdTokenInfo {
        cache_expiry_date_time: None,
        charging_priority: None,
        custom_data: None,
        evse_id: None,
        group_id_token: None,
        language1: None,
        language2: None,
        personal_message: None,
        status,
    }
}

fn same_token(a: &IdToken, b: &IdToken) -> bool {
    a.id_token == b.id_token && a.kind == b.kind
}

impl ChargePoint {
    // ----- domain inputs -----

    /// An EV was plugged into `connector` of `evse`.
    pub fn plug_in(&mut self, now: Instant, evse: i32, connector: i32) {
        if connector < 1 || connector > self.connectors_of(evse) {
            return;
        }
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.plugged.is_some() {
            return;
        }
        e.plugged = Some(connector);
        self.connect_by.remove(&evse);
        self.changed();
        self.evaluate(now, evse, Trigger::CablePluggedIn, ReasonEnum::Other);
        self.report_status(now);
    }

    /// The EV was unplugged from `evse`.
    pub fn unplug(&mut self, now: Instant, evse: i32) {
        let stop_on_disconnect = self.var_bool("TxCtrlr/StopTxOnEVSideDisconnect");
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.plugged.take().is_none() {
            return;
        }
        e.energy_transfer = false;
        if stop_on_disconnect || e.transaction.is_none() {
            e.authorized = None;
        }
        self.changed();
        self.evaluate(
            now,
            evse,
            Trigger::EVCommunicationLost,
            ReasonEnum::EVDisconnected,
        );
        self.report_status(now);
    }

    /// The EV started (`true`) or stopped drawing energy on `evse`.
    pub fn energy_transfer(&mut self, now: Instant, evse: i32, flowing: bool) {
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.energy_transfer == flowing {
            return;
        }
        e.energy_transfer = flowing;
        self.changed();
        self.evaluate(
            now,
            evse,
            Trigger::ChargingStateChanged,
            ReasonEnum::StoppedByEV,
        );
    }

    /// A new reading of the meter of `evse`.
    pub fn meter_reading(&mut self, _now: Instant, evse: i32, reading: MeterReading) {
        if let Some(e) = self.state.evses.get_mut(&evse) {
            e.reading = Some(reading);
        }
        self.check_invalid_energy(evse);
    }

    /// The driver stopped the transaction at the station (a button, the app).
    pub fn local_stop(&mut self, now: Instant, evse: i32) {
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.transaction.is_none() {
            return;
        }
        e.authorized = None;
        self.changed();
        self.end_transaction(now, evse, Trigger::StopAuthorized, ReasonEnum::Local, None);
        self.report_status(now);
    }

    /// A token was presented at `evse`: it authorizes, or stops the
    /// transaction it started.
    pub fn present_id_token(&mut self, now: Instant, evse: i32, token: IdToken) {
        let Some(e) = self.state.evses.get(&evse) else {
            return;
        };
        if let Some(current) = &e.authorized {
            if same_token(current, &token) && e.transaction.is_some() {
                if let Some(e) = self.state.evses.get_mut(&evse) {
                    e.authorized = None;
                }
                self.changed();
                self.deauthorized(
                    now,
                    evse,
                    Trigger::StopAuthorized,
                    ReasonEnum::Local,
                    Some(token),
                );
                self.report_status(now);
                return;
            }
            // Another token at a busy EVSE matters only as a master pass.
            if same_token(current, &token) || self.master_pass_group().is_none() {
                return;
            }
        }
        let local = self.local_info(&token, now);
        if self.can_send() {
            let pre = self.var_bool("AuthCtrlr/LocalPreAuthorize");
            if let Some(info) = local.filter(|i| pre && i.status == Auth::Accepted) {
                self.authorization_decided(now, evse, token, &info);
                return;
            }
            let request = v21::AuthorizeRequest {
                certificate: None,
                custom_data: None,
                id_token: token.clone(),
                iso15118_certificate_hash_data: None,
            };
            if self
                .call(
                    now,
                    request.into(),
                    Pending::Authorize {
                        evse,
                        token: token.clone(),
                    },
                )
                .is_none()
            {
                self.authorize_offline(now, evse, token);
            }
        } else {
            self.authorize_offline(now, evse, token);
        }
    }

    fn authorize_offline(&mut self, now: Instant, evse: i32, token: IdToken) {
        let info = match self.local_info(&token, now) {
            Some(info) if self.var_bool("AuthCtrlr/LocalAuthorizeOffline") => info,
            Some(_) => status_only(Auth::Unknown),
            None if self.var_bool("AuthCtrlr/OfflineTxForUnknownIdEnabled") => {
                status_only(Auth::Accepted)
            }
            None => status_only(Auth::Unknown),
        };
        self.authorization_decided(now, evse, token, &info);
    }

    /// `AuthCtrlr.MasterPassGroupId`, when set.
    fn master_pass_group(&self) -> Option<String> {
        let group = self.raw("AuthCtrlr/MasterPassGroupId");
        (!group.is_empty()).then(|| group.to_owned())
    }

    /// What the local list or the cache says about `token`.
    fn local_info(&self, token: &IdToken, now: Instant) -> Option<v21::IdTokenInfo> {
        let key = token_key(token);
        if self.var_bool("LocalAuthListCtrlr/Enabled") {
            if let Some(info) = self.state.local_list.get(&key) {
                return Some(info.clone());
            }
        }
        if !self.var_bool("AuthCacheCtrlr/Enabled") {
            return None;
        }
        let entry = self.state.auth_cache.get(&key)?;
        let utc = self.clock.at(now);
        let lifetime = chrono::TimeDelta::seconds(self.var_int("AuthCacheCtrlr/LifeTime"));
        let expires = entry
            .info
            .cache_expiry_date_time
            .unwrap_or(entry.stored_at + lifetime);
        if utc >= expires {
            return None;
        }
        Some(entry.info.clone())
    }

    fn cache(&mut self, token: &IdToken, info: &v21::IdTokenInfo, now: Instant) {
        if !self.var_bool("AuthCacheCtrlr/Enabled") {
            return;
        }
        self.state.auth_cache.insert(
            token_key(token),
            CacheEntry {
                info: info.clone(),
                stored_at: self.clock.at(now),
            },
        );
        self.changed();
    }

    pub(super) fn on_authorize_response(
        &mut self,
        now: Instant,
        evse: i32,
        token: IdToken,
        result: Result<AnyResponse, CallFailure>,
    ) {
        match result {
            Ok(AnyResponse::Authorize(r)) => {
                self.cache(&token, &r.id_token_info, now);
                self.authorization_decided(now, evse, token, &r.id_token_info);
            }
            _ => self.authorize_offline(now, evse, token),
        }
    }

    fn authorization_decided(
        &mut self,
        now: Instant,
        evse: i32,
        token: IdToken,
        info: &v21::IdTokenInfo,
    ) {
        let status = info.status;
        self.events.push_back(Event::Authorization {
            evse,
            id_token: token.id_token.as_str().to_owned(),
            status,
        });
        if status != Auth::Accepted {
            return;
        }
        let master = self.master_pass_group().is_some_and(|group| {
            info.group_id_token
                .as_ref()
                .is_some_and(|g| g.id_token.as_str().eq_ignore_ascii_case(&group))
        });
        if master {
            return self.master_pass(now, token);
        }
        let reservation = self
            .state
            .reservations
            .iter()
            .find(|(_, r)| {
                r.evse == evse
                    && (same_token(&r.id_token, &token)
                        || r.group_id_token
                            .as_ref()
                            .is_some_and(|g| same_token(g, &token)))
            })
            .map(|(&id, _)| id);
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.authorized.is_some() {
            return;
        }
        e.authorized = Some(token);
        if let Some(id) = reservation {
            e.reservation_id = Some(id);
            self.state.reservations.remove(&id);
        }
        self.changed();
        self.await_cable(now, evse);
        let trigger = if self
            .state
            .evses
            .get(&evse)
            .is_some_and(|e| e.remote_start_id.is_some())
        {
            Trigger::RemoteStart
        } else {
            Trigger::Authorized
        };
        self.evaluate(now, evse, trigger, ReasonEnum::Other);
        self.report_status(now);
    }

    /// C16: a master pass token stops every transaction (stoppedReason
    /// MasterPass) and never starts one.
    fn master_pass(&mut self, now: Instant, token: IdToken) {
        for evse in self.evses_in_transaction() {
            if let Some(e) = self.state.evses.get_mut(&evse) {
                e.authorized = None;
            }
            self.end_transaction(
                now,
                evse,
                Trigger::StopAuthorized,
                ReasonEnum::MasterPass,
                Some(token.clone()),
            );
        }
        self.changed();
        self.report_status(now);
    }

    /// Authorization ended by `trigger`: the transaction ends if a stop
    /// point says so, else the energy stops.
    pub(super) fn deauthorized(
        &mut self,
        now: Instant,
        evse: i32,
        trigger: Trigger,
        reason: ReasonEnum,
        token: Option<IdToken>,
    ) {
        let stops = self.var_list("TxCtrlr/TxStopPoint");
        let ends = stops.iter().any(|s| {
            matches!(
                s.as_str(),
                "Authorized" | "PowerPathClosed" | "EnergyTransfer"
            )
        });
        if ends {
            self.end_transaction(now, evse, trigger, reason, token);
        } else {
            self.evaluate(now, evse, trigger, reason);
        }
    }

    // ----- the transaction rules -----

    fn conditions(&self, evse: i32) -> BTreeSet<&'static str> {
        let mut c = BTreeSet::new();
        if let Some(e) = self.state.evses.get(&evse) {
            if e.plugged.is_some() {
                c.insert("EVConnected");
            }
            if e.authorized.is_some() {
                c.insert("Authorized");
            }
            if e.plugged.is_some() && e.authorized.is_some() {
                c.insert("PowerPathClosed");
                if e.energy_transfer {
                    c.insert("EnergyTransfer");
                }
            }
        }
        c
    }

    fn charging_state(&self, evse: i32) -> ChargingStateEnum {
        let c = self.conditions(evse);
        if c.contains("EnergyTransfer") {
            ChargingStateEnum::Charging
        } else if c.contains("PowerPathClosed") {
            ChargingStateEnum::SuspendedEV
        } else if c.contains("EVConnected") {
            ChargingStateEnum::EVConnected
        } else {
            ChargingStateEnum::Idle
        }
    }

    /// Applies the start and stop points after a change on `evse`, sends
    /// what changed and switches the power path.
    pub(super) fn evaluate(
        &mut self,
        now: Instant,
        evse: i32,
        trigger: Trigger,
        reason: ReasonEnum,
    ) {
        let conditions = self.conditions(evse);
        let power = conditions.contains("PowerPathClosed");
        let Some(e) = self.state.evses.get(&evse) else {
            return;
        };
        let running = e.transaction.is_some();
        if !running {
            let starts = self.var_list("TxCtrlr/TxStartPoint");
            if starts.iter().any(|s| conditions.contains(s.as_str())) {
                self.start_transaction(now, evse, trigger);
            }
        } else {
            let stops = self.var_list("TxCtrlr/TxStopPoint");
            let seen = e
                .transaction
                .as_ref()
                .map(|t| t.seen.clone())
                .unwrap_or_default();
            let ended = stops
                .iter()
                .any(|s| seen.contains(s.as_str()) && !conditions.contains(s.as_str()));
            if ended {
                self.end_transaction(now, evse, trigger, reason, None);
            } else {
                self.update_transaction(now, evse, trigger);
            }
        }
        let running = self
            .state
            .evses
            .get(&evse)
            .is_some_and(|e| e.transaction.is_some());
        self.switch_power(evse, power && running && !self.energy_withheld(evse));
    }

    fn switch_power(&mut self, evse: i32, on: bool) {
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.power == on {
            return;
        }
        e.power = on;
        self.events.push_back(if on {
            Event::StartCharging { evse }
        } else {
            Event::StopCharging { evse }
        });
        self.changed();
    }

    fn new_transaction_id(&mut self) -> String {
        self.state.transaction_counter += 1;
        let number = self.state.transaction_counter.to_string();
        let room = 36usize.saturating_sub(number.len());
        let prefix: String = self
            .config
            .transaction_id_prefix
            .chars()
            .take(room)
            .collect();
        format!("{prefix}{number}")
    }

    fn start_transaction(&mut self, now: Instant, evse: i32, trigger: Trigger) {
        let id = self.new_transaction_id();
        let utc = self.clock.at(now);
        let reading = self.state.evses.get(&evse).and_then(|e| e.reading);
        if let Some(e) = self.state.evses.get_mut(&evse) {
            e.transaction = Some(Transaction {
                id: id.clone(),
                seq_no: 0,
                started_at: utc,
                start_reading: reading,
                evse_sent: false,
                id_token_sent: None,
                charging_state: None,
                seen: BTreeSet::new(),
                deauthorized: false,
                invalid_energy_limit: None,
                ended_samples: Vec::new(),
                resuming: false,
                resumed_without_energy: false,
            });
        }
        // Only a known EVSE gets here, so the store accepts it.
        let _ = self.state.profiles.start_transaction(evse, id, utc);
        let measurands = self.var_list("SampledDataCtrlr/TxStartedMeasurands");
        let meter = self.sample(evse, &measurands, ReadingContextEnum::TransactionBegin, now);
        self.transaction_event(
            now,
            evse,
            TransactionEventEnum::Started,
            trigger,
            meter.map(|m| vec![m]),
            None,
            None,
        );
        self.schedule_sample(evse, now);
        self.schedule_ended_sample(evse, now);
        self.apply_limit(now, evse);
        self.install_pending_profile(now, evse);
    }

    fn update_transaction(&mut self, now: Instant, evse: i32, trigger: Trigger) {
        // Only when something is new: a token, a state, the EVSE.
        let Some(e) = self.state.evses.get(&evse) else {
            return;
        };
        let Some(tx) = &e.transaction else {
            return;
        };
        let state_changed = tx.charging_state != Some(self.charging_state(evse));
        let token_changed = match (&e.authorized, &tx.id_token_sent) {
            (Some(a), Some(b)) => !same_token(a, b),
            (Some(_), None) => true,
            _ => false,
        };
        let remote = e.remote_start_id.is_some();
        if state_changed || token_changed || remote || !tx.evse_sent {
            self.transaction_event(
                now,
                evse,
                TransactionEventEnum::Updated,
                trigger,
                None,
                None,
                None,
            );
        } else {
            self.mark_seen(evse);
        }
    }

    fn mark_seen(&mut self, evse: i32) {
        let conditions = self.conditions(evse);
        if let Some(tx) = self
            .state
            .evses
            .get_mut(&evse)
            .and_then(|e| e.transaction.as_mut())
        {
            tx.seen.extend(conditions.iter().map(|c| (*c).to_owned()));
        }
    }

    /// Ends the transaction on `evse` (if any) with Ended.
    pub(super) fn end_transaction(
        &mut self,
        now: Instant,
        evse: i32,
        trigger: Trigger,
        reason: ReasonEnum,
        token: Option<IdToken>,
    ) {
        let Some(tx) = self
            .state
            .evses
            .get(&evse)
            .and_then(|e| e.transaction.clone())
        else {
            return;
        };
        let measurands = self.var_list("SampledDataCtrlr/TxEndedMeasurands");
        let mut meter = Vec::new();
        if let Some(start) = tx.start_reading {
            if let Some(mv) = self.sample_of(
                &start,
                &measurands,
                ReadingContextEnum::TransactionBegin,
                tx.started_at,
            ) {
                meter.push(mv);
            }
        }
        meter.extend(tx.ended_samples.iter().cloned());
        meter.extend(self.sample(evse, &measurands, ReadingContextEnum::TransactionEnd, now));
        let stopped = (reason != ReasonEnum::Local).then_some(reason);
        self.transaction_event(
            now,
            evse,
            TransactionEventEnum::Ended,
            trigger,
            Some(meter),
            stopped,
            token,
        );
        if let Some(e) = self.state.evses.get_mut(&evse) {
            e.transaction = None;
            e.remote_start_id = None;
            e.reservation_id = None;
            e.pending_profile = None;
            if e.plugged.is_none() {
                e.authorized = None;
            }
        }
        self.sample_at.remove(&evse);
        self.ended_sample_at.remove(&evse);
        self.state.profiles.end_transaction(evse);
        self.switch_power(evse, false);
        self.changed();
        self.apply_limit(now, evse);
        self.after_transaction(now);
    }

    /// Builds the next message of the transaction on `evse` and queues it.
    #[allow(clippy::too_many_arguments)]
    fn transaction_event(
        &mut self,
        now: Instant,
        evse: i32,
        kind: TransactionEventEnum,
        trigger: Trigger,
        meter: Option<Vec<v21::MeterValue>>,
        stopped: Option<ReasonEnum>,
        stop_token: Option<IdToken>,
    ) {
        let charging_state = self.charging_state(evse);
        let conditions = self.conditions(evse);
        let offline = self.conn.is_none();
        let utc = self.clock.at(now);
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        let Some(tx) = e.transaction.as_mut() else {
            return;
        };
        tx.seen.extend(conditions.iter().map(|c| (*c).to_owned()));
        let id_token = match (&stop_token, &e.authorized, &tx.id_token_sent) {
            (Some(t), _, _) => Some(t.clone()),
            (None, Some(a), Some(s)) if same_token(a, s) => None,
            (None, Some(a), _) => Some(a.clone()),
            _ => None,
        };
        if let Some(t) = &id_token {
            tx.id_token_sent = Some(t.clone());
        }
        let state = (tx.charging_state != Some(charging_state)
            || kind == TransactionEventEnum::Started)
            .then_some(charging_state);
        tx.charging_state = Some(charging_state);
        let evse_field = (!tx.evse_sent).then_some(v21::EVSE {
            connector_id: e.plugged,
            custom_data: None,
            id: evse,
        });
        tx.evse_sent = true;
        let seq_no = tx.seq_no;
        tx.seq_no = tx.seq_no.saturating_add(1);
        let request = v21::TransactionEventRequest {
            cable_max_current: None,
            cost_details: None,
            custom_data: None,
            event_type: kind,
            evse: evse_field,
            evse_sleep: None,
            id_token,
            meter_value: meter.filter(|m| !m.is_empty()),
            number_of_phases_used: None,
            offline: offline.then_some(true),
            preconditioning_status: None,
            reservation_id: e.reservation_id.take(),
            seq_no,
            timestamp: utc,
            transaction_info: v21::Transaction {
                charging_state: state,
                custom_data: None,
                operation_mode: None,
                remote_start_id: e.remote_start_id.take(),
                stopped_reason: stopped,
                tariff_id: None,
                time_spent_charging: None,
                transaction_id: BoundedString::new_unchecked(tx.id.as_str()),
                transaction_limit: None,
            },
            trigger_reason: trigger,
        };
        self.state.queue.push_back(QueuedEvent {
            request,
            attempts: 0,
        });
        self.changed();
        self.pump(now);
    }

    // ----- the queue -----

    /// Sends the head of the queue when nothing else of it is in flight.
    pub(super) fn pump(&mut self, now: Instant) {
        self.pump_security(now);
        if !self.can_send() || self.tx_in_flight.is_some() || self.retry_at.is_some_and(|t| t > now)
        {
            return;
        }
        while let Some(front) = self.state.queue.front() {
            let request = front.request.clone();
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            match conn.call(now, request.into()) {
                Ok(id) => {
                    self.pending.insert(id, Pending::TransactionEvent);
                    self.tx_in_flight = Some(id);
                    return;
                }
                Err(e) => {
                    // It can never go out: report and drop it rather than block the queue.
                    if let Some(q) = self.state.queue.pop_front() {
                        self.events.push_back(Event::Refused {
                            reason: e.to_string(),
                        });
                        self.events.push_back(Event::TransactionMessageDropped {
                            request: Box::new(q.request),
                            reason: e.to_string(),
                        });
                    }
                    self.changed();
                }
            }
        }
    }

    /// The acknowledgement of the queue's head. A CALLERROR, a timeout or
    /// an invalid answer counts as a failed try: after
    /// `MessageAttempts[TransactionEvent]` tries in all (the first send
    /// included) the message is dropped and reported. A lost connection
    /// is no try: the message goes again on the next connection.
    pub(super) fn on_transaction_response(
        &mut self,
        now: Instant,
        call: CallId,
        result: Result<AnyResponse, CallFailure>,
    ) {
        if self.tx_in_flight == Some(call) {
            self.tx_in_flight = None;
        }
        match result {
            Ok(AnyResponse::TransactionEvent(r)) => {
                let Some(done) = self.state.queue.pop_front() else {
                    return;
                };
                self.changed();
                if let (Some(info), Some(token)) = (&r.id_token_info, &done.request.id_token) {
                    self.cache(token, info, now);
                    if info.status != Auth::Accepted {
                        self.invalid_token(now, &done.request, token);
                    }
                }
            }
            Err(CallFailure::ConnectionLost) => {}
            other => {
                let reason = match other {
                    Err(f) => f.to_string(),
                    Ok(r) => format!("unexpected response {r:?}"),
                };
                let attempts =
                    u32::try_from(self.var_int("OCPPCommCtrlr/MessageAttempts[TransactionEvent]"))
                        .unwrap_or(1);
                let interval = self.secs("OCPPCommCtrlr/MessageAttemptInterval[TransactionEvent]");
                let Some(front) = self.state.queue.front_mut() else {
                    return;
                };
                front.attempts += 1;
                let tried = front.attempts;
                if tried >= attempts.max(1) {
                    if let Some(q) = self.state.queue.pop_front() {
                        self.events.push_back(Event::TransactionMessageDropped {
                            request: Box::new(q.request),
                            reason,
                        });
                    }
                } else {
                    // E13: wait MessageAttemptInterval × the tries so far.
                    let wait = interval.checked_mul(tried).unwrap_or(interval);
                    self.retry_at = Some(now.checked_add(wait).unwrap_or(now));
                }
                self.changed();
            }
        }
        self.pump(now);
    }

    /// E05: the CSMS says the token of a running transaction is not valid.
    fn invalid_token(
        &mut self,
        now: Instant,
        request: &v21::TransactionEventRequest,
        token: &IdToken,
    ) {
        let id = request.transaction_info.transaction_id.as_str();
        let found = self.state.evses.iter().find_map(|(&evse, e)| {
            let tx = e.transaction.as_ref()?;
            (tx.id == id && e.authorized.as_ref().is_some_and(|a| same_token(a, token)))
                .then_some(evse)
        });
        let Some(evse) = found else {
            return;
        };
        if self.var_bool("TxCtrlr/StopTxOnInvalidId") {
            if let Some(e) = self.state.evses.get_mut(&evse) {
                e.authorized = None;
            }
            self.deauthorized(
                now,
                evse,
                v21::TriggerReasonEnum::Deauthorized,
                ReasonEnum::DeAuthorized,
                None,
            );
        } else {
            // Energy stops, after MaxEnergyOnInvalidId Wh if that is set.
            let allowance = self.var_int("TxCtrlr/MaxEnergyOnInvalidId");
            if let Some(e) = self.state.evses.get_mut(&evse)
                && let Some(tx) = e.transaction.as_mut()
            {
                if allowance > 0 {
                    let start = tx
                        .start_reading
                        .or(e.reading)
                        .map_or(Decimal::ZERO, |r| r.energy_wh);
                    tx.invalid_energy_limit = Some(start.saturating_add(Decimal::from(allowance)));
                } else {
                    tx.deauthorized = true;
                }
            }
            self.changed();
            self.check_invalid_energy(evse);
            if self.energy_withheld(evse) {
                self.switch_power(evse, false);
            }
        }
    }

    /// Whether energy is withheld from the transaction on `evse`: its
    /// token was refused, or it was resumed after a reset without
    /// `TxAllowEnergyTransferResumption`, or it waits for that reset.
    fn energy_withheld(&self, evse: i32) -> bool {
        self.state
            .evses
            .get(&evse)
            .and_then(|e| e.transaction.as_ref())
            .is_some_and(|t| t.deauthorized || t.resumed_without_energy || t.resuming)
    }

    /// B13.FR.04/10/20: before a Reset ImmediateAndResume, an Updated
    /// (ResetCommand) for each transaction on `evses`, whose energy stops;
    /// they are kept, to resume after the reset.
    pub(super) fn suspend_for_reset(&mut self, now: Instant, evses: &[i32]) {
        for &evse in evses {
            let Some(tx) = self
                .state
                .evses
                .get_mut(&evse)
                .and_then(|e| e.transaction.as_mut())
            else {
                continue;
            };
            tx.resuming = true;
            self.changed();
            self.transaction_event(
                now,
                evse,
                TransactionEventEnum::Updated,
                Trigger::ResetCommand,
                None,
                None,
                None,
            );
            self.switch_power(evse, false);
        }
    }

    /// B13.FR.12/23/30: the transactions a reset interrupted (on `evse`, or
    /// anywhere) resume in the state they had, with an Updated (TxResumed);
    /// energy flows again only with `TxAllowEnergyTransferResumption`.
    pub(super) fn resume_transactions(&mut self, now: Instant, evse: Option<i32>) {
        let energy = self.var_bool("TxCtrlr/TxAllowEnergyTransferResumption");
        let waiting: Vec<i32> = self
            .state
            .evses
            .iter()
            .filter(|(id, e)| {
                evse.is_none_or(|x| x == **id) && e.transaction.as_ref().is_some_and(|t| t.resuming)
            })
            .map(|(&id, _)| id)
            .collect();
        for evse in waiting {
            if let Some(tx) = self
                .state
                .evses
                .get_mut(&evse)
                .and_then(|e| e.transaction.as_mut())
            {
                tx.resuming = false;
                tx.resumed_without_energy = !energy;
            }
            self.changed();
            self.transaction_event(
                now,
                evse,
                TransactionEventEnum::Updated,
                Trigger::TxResumed,
                None,
                None,
                None,
            );
            let power = self.conditions(evse).contains("PowerPathClosed");
            self.switch_power(evse, power && !self.energy_withheld(evse));
        }
    }

    /// Stops the energy of a transaction whose token was refused once its
    /// allowance (`MaxEnergyOnInvalidId`) is used up.
    fn check_invalid_energy(&mut self, evse: i32) {
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        let energy = e.reading.map(|r| r.energy_wh);
        let Some(tx) = e.transaction.as_mut() else {
            return;
        };
        let reached = matches!(
            (tx.invalid_energy_limit, energy),
            (Some(limit), Some(energy)) if energy >= limit
        );
        if reached && !tx.deauthorized {
            tx.deauthorized = true;
            self.changed();
            self.switch_power(evse, false);
        }
    }

    // ----- meter values -----

    /// A MeterValue of the measurands the reading has.
    fn sample_of(
        &self,
        reading: &MeterReading,
        measurands: &[String],
        context: ReadingContextEnum,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<v21::MeterValue> {
        let mut values = Vec::new();
        for m in measurands {
            let Ok(measurand) = m.parse::<MeasurandEnum>() else {
                continue;
            };
            let (value, unit) = match measurand {
                MeasurandEnum::EnergyActiveImportRegister => (Some(reading.energy_wh), "Wh"),
                MeasurandEnum::PowerActiveImport => (reading.power_w, "W"),
                MeasurandEnum::CurrentImport => (reading.current_a, "A"),
                MeasurandEnum::Voltage => (reading.voltage_v, "V"),
                MeasurandEnum::SoC => (reading.soc, "Percent"),
                _ => (None, ""),
            };
            let Some(value) = value else {
                continue;
            };
            values.push(v21::SampledValue {
                context: Some(context),
                custom_data: None,
                location: None,
                measurand: Some(measurand),
                phase: None,
                signed_meter_value: None,
                unit_of_measure: (unit != "Wh").then(|| v21::UnitOfMeasure {
                    custom_data: None,
                    multiplier: None,
                    unit: Some(BoundedString::new_unchecked(unit)),
                }),
                value,
            });
        }
        if values.is_empty() {
            return None;
        }
        Some(v21::MeterValue {
            custom_data: None,
            sampled_value: values,
            timestamp: at,
        })
    }

    pub(super) fn sample(
        &self,
        evse: i32,
        measurands: &[String],
        context: ReadingContextEnum,
        now: Instant,
    ) -> Option<v21::MeterValue> {
        let reading = self.state.evses.get(&evse)?.reading?;
        self.sample_of(&reading, measurands, context, self.clock.at(now))
    }

    pub(super) fn periodic_sample(&mut self, now: Instant, evse: i32) {
        if self
            .state
            .evses
            .get(&evse)
            .is_none_or(|e| e.transaction.is_none())
        {
            self.sample_at.remove(&evse);
            return;
        }
        let measurands = self.var_list("SampledDataCtrlr/TxUpdatedMeasurands");
        if let Some(mv) = self.sample(evse, &measurands, ReadingContextEnum::SamplePeriodic, now) {
            self.transaction_event(
                now,
                evse,
                TransactionEventEnum::Updated,
                Trigger::MeterValuePeriodic,
                Some(vec![mv]),
                None,
                None,
            );
        }
    }

    /// A SampledDataCtrlr.TxEndedInterval sample, kept for the Ended event.
    pub(super) fn ended_sample(&mut self, now: Instant, evse: i32) {
        let measurands = self.var_list("SampledDataCtrlr/TxEndedMeasurands");
        let sample = self.sample(evse, &measurands, ReadingContextEnum::SamplePeriodic, now);
        if !self.keep_ended_sample(evse, sample) {
            self.ended_sample_at.remove(&evse);
        }
    }

    /// An AlignedDataCtrlr.TxEndedInterval sample of every transaction,
    /// kept for its Ended event.
    pub(super) fn aligned_ended_sample(&mut self, now: Instant) {
        if !self.var_bool("AlignedDataCtrlr/Enabled") {
            return;
        }
        let measurands = self.var_list("AlignedDataCtrlr/TxEndedMeasurands");
        for evse in 1..=self.evse_count() {
            let sample = self.sample(evse, &measurands, ReadingContextEnum::SampleClock, now);
            self.keep_ended_sample(evse, sample);
        }
    }

    /// Keeps `sample` for the Ended event of the transaction on `evse`
    /// (`false`: there is none). Past [`MAX_ENDED_SAMPLES`] every other one
    /// is dropped (the 1st, 3rd, ...), so a long transaction keeps a
    /// bounded, evenly thinned series.
    fn keep_ended_sample(&mut self, evse: i32, sample: Option<v21::MeterValue>) -> bool {
        let Some(tx) = self
            .state
            .evses
            .get_mut(&evse)
            .and_then(|e| e.transaction.as_mut())
        else {
            return false;
        };
        let Some(mv) = sample else {
            return true;
        };
        tx.ended_samples.push(mv);
        if tx.ended_samples.len() > MAX_ENDED_SAMPLES {
            let mut n = 0;
            tx.ended_samples.retain(|_| {
                n += 1;
                n % 2 == 0
            });
        }
        self.changed();
        true
    }

    pub(super) fn aligned_sample(&mut self, now: Instant) {
        if !self.var_bool("AlignedDataCtrlr/Enabled") {
            return;
        }
        let measurands = self.var_list("AlignedDataCtrlr/Measurands");
        let idle_only = self.var_bool("AlignedDataCtrlr/SendDuringIdle");
        for evse in 1..=self.evse_count() {
            let running = self
                .state
                .evses
                .get(&evse)
                .is_some_and(|e| e.transaction.is_some());
            let Some(mv) = self.sample(evse, &measurands, ReadingContextEnum::SampleClock, now)
            else {
                continue;
            };
            if running && !idle_only {
                self.transaction_event(
                    now,
                    evse,
                    TransactionEventEnum::Updated,
                    Trigger::MeterValueClock,
                    Some(vec![mv]),
                    None,
                    None,
                );
            } else if !running && self.can_send() {
                let request = v21::MeterValuesRequest {
                    custom_data: None,
                    evse_id: evse,
                    meter_value: vec![mv],
                };
                self.call(now, request.into(), Pending::Other);
            }
        }
    }

    // ----- after a transaction -----

    fn after_transaction(&mut self, now: Instant) {
        let busy = |cp: &ChargePoint, evse: i32| {
            cp.state
                .evses
                .get(&evse)
                .is_some_and(|e| e.transaction.is_some())
        };
        let scheduled = std::mem::take(&mut self.state.scheduled_availability);
        for ((evse, connector), operative) in scheduled {
            let evses: Vec<i32> = if evse == 0 {
                (1..=self.evse_count()).collect()
            } else {
                vec![evse]
            };
            if evses.iter().any(|&e| busy(self, e)) {
                self.state
                    .scheduled_availability
                    .push(((evse, connector), operative));
            } else {
                self.set_operative(evse, connector, operative);
            }
        }
        if self.reset_scheduled && (1..=self.evse_count()).all(|e| !busy(self, e)) {
            self.reset_scheduled = false;
            self.reboot(now, None);
        }
        self.changed();
        self.report_status(now);
    }

    pub(super) fn set_operative(&mut self, evse: i32, connector: i32, operative: bool) {
        if operative {
            self.state.inoperative.remove(&(evse, connector));
        } else {
            self.state.inoperative.insert((evse, connector));
        }
    }

    /// The limit of `evse` changed (profiles or transaction): tell the hardware.
    pub(super) fn apply_limit(&mut self, now: Instant, evse: i32) {
        let composite = self
            .state
            .profiles
            .composite(evse, self.clock.at(now), 86_400, None)
            .ok();
        self.events.push_back(Event::ApplyLimit { evse, composite });
    }

    // ----- reservations -----

    pub(super) fn next_reservation_expiry(&self) -> Option<Instant> {
        self.state
            .reservations
            .values()
            .map(|r| self.clock.instant_at(r.expires))
            .min()
    }

    pub(super) fn expire_reservations(&mut self, now: Instant) {
        let utc = self.clock.at(now);
        let expired: Vec<i32> = self
            .state
            .reservations
            .iter()
            .filter(|(_, r)| r.expires <= utc)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.state.reservations.remove(&id);
            self.changed();
            if self.can_send() {
                let request = v21::ReservationStatusUpdateRequest {
                    custom_data: None,
                    reservation_id: id,
                    reservation_update_status: v21::ReservationUpdateStatusEnum::Expired,
                };
                self.call(now, request.into(), Pending::Other);
            }
        }
        self.report_status(now);
    }

    /// F06: a TransactionEvent Updated with triggerReason Trigger.
    pub(super) fn triggered_transaction_event(&mut self, now: Instant, evse: i32) {
        let measurands = self.var_list("SampledDataCtrlr/TxUpdatedMeasurands");
        let meter = self
            .sample(evse, &measurands, ReadingContextEnum::Trigger, now)
            .map(|mv| vec![mv]);
        self.transaction_event(
            now,
            evse,
            TransactionEventEnum::Updated,
            Trigger::Trigger,
            meter,
            None,
            None,
        );
    }

    /// An authorized EVSE without a cable waits EVConnectionTimeOut for it.
    pub(super) fn await_cable(&mut self, now: Instant, evse: i32) {
        let timeout = self.secs("TxCtrlr/EVConnectionTimeOut");
        let unplugged = self
            .state
            .evses
            .get(&evse)
            .is_some_and(|e| e.plugged.is_none());
        if unplugged && !timeout.is_zero() {
            self.connect_by.insert(evse, super::later(now, timeout));
        }
    }

    /// No cable in time: the authorization lapses, and a transaction it
    /// started ends with EVConnectTimeout.
    pub(super) fn connect_timeout(&mut self, now: Instant, evse: i32) {
        let Some(e) = self.state.evses.get_mut(&evse) else {
            return;
        };
        if e.plugged.is_some() || e.authorized.is_none() {
            return;
        }
        e.authorized = None;
        e.remote_start_id = None;
        self.changed();
        self.end_transaction(
            now,
            evse,
            Trigger::EVConnectTimeout,
            ReasonEnum::Timeout,
            None,
        );
        self.report_status(now);
    }
}
