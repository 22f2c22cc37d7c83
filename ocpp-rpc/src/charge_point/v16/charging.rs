//! Transactions: their start and end, and driving the durable queue of
//! their messages (retries, dropping after `TransactionMessageAttempts`,
//! the transactionId learnt from StartTransaction.conf).

use std::time::Instant;

use ocpp_types::v16::{self, AnyRequest, AnyResponse, IdTagInfo, ReadingContext, Reason};

use super::{
    ChargePoint, Event, Sent, Suspension, Transaction, TxMessage, auth, clamp_i32, secs, tag,
    trim_middle,
};
use crate::endpoint::CallFailure;

impl ChargePoint {
    pub(super) fn try_start(&mut self, now: Instant, connector: u32) {
        let Some(c) = self.connector(connector) else {
            return;
        };
        if !c.plugged || c.transaction.is_some() || !self.can_start(connector) {
            return;
        }
        let Some((id_tag, parent)) = c.authorized.clone() else {
            return;
        };
        let utc = self.utc(now);
        let meter_start = c.reading.as_ref().map_or(0, |r| r.energy_wh);
        let reservation_id = self.consume_reservation(connector, &id_tag);
        self.state.last_local_transaction += 1;
        let local_id = self.state.last_local_transaction;
        let stop_measurands = self.state.configuration.measurands("StopTxnSampledData");
        let begin = self
            .connector(connector)
            .and_then(|c| c.reading.as_ref())
            .and_then(|r| r.sample(utc, &stop_measurands, ReadingContext::TransactionBegin));
        let transaction = Transaction {
            local_id,
            id_tag: id_tag.clone(),
            parent_id_tag: parent,
            meter_start,
            started: utc,
            reservation_id,
            stop_data: begin.into_iter().collect(),
            samples: 0,
            deauthorized: false,
            invalid_energy_limit: None,
        };
        if let Some(c) = self.connector_mut(connector) {
            c.authorized = None;
            c.transaction = Some(transaction);
            c.suspension = Suspension::None;
        }
        if let Some(slot) = self.authorized_until.get_mut(connector as usize) {
            *slot = None;
        }
        let request = v16::StartTransactionRequest {
            connector_id: i32::try_from(connector).unwrap_or(i32::MAX),
            id_tag: tag(&id_tag),
            meter_start: clamp_i32(meter_start),
            reservation_id,
            timestamp: utc,
        };
        self.state.queue.push(local_id, TxMessage::Start(request));
        let evse = i32::try_from(connector).unwrap_or(i32::MAX);
        let _ = self
            .state
            .profiles
            .start_transaction(evse, format!("local-{local_id}"), utc);
        if let Some(profile) = self
            .remote_profiles
            .get_mut(connector as usize)
            .and_then(Option::take)
        {
            let request = v16::SetChargingProfileRequest {
                connector_id: evse,
                cs_charging_profiles: profile,
            };
            let _ = self.state.profiles.set_charging_profile_v16(&request);
        }
        self.dirty = true;
        self.events.push_back(Event::StartCharging {
            connector,
            transaction: local_id,
        });
        self.emit_limit(now, connector);
    }

    pub(super) fn consume_reservation(&mut self, connector: u32, id_tag: &str) -> Option<i32> {
        if let Some(r) = self
            .connector_mut(connector)
            .and_then(|c| c.reservation.take())
        {
            return Some(r.id);
        }
        // A reservation of connector 0 by this tag is used by any connector.
        let station = self.connector_mut(0)?;
        if station
            .reservation
            .as_ref()
            .is_some_and(|r| r.id_tag.eq_ignore_ascii_case(id_tag))
        {
            return station.reservation.take().map(|r| r.id);
        }
        None
    }

    /// Ends the transaction on `connector`: queues its StopTransaction.
    pub(super) fn end_transaction(
        &mut self,
        now: Instant,
        connector: u32,
        reason: Reason,
        id_tag: Option<String>,
        unlock: bool,
    ) {
        let utc = self.utc(now);
        let stop_measurands = self.state.configuration.measurands("StopTxnSampledData");
        let max_values = self
            .state
            .configuration
            .int("StopTransactionMaxMeterValues") as usize;
        let Some(c) = self.connector_mut(connector) else {
            return;
        };
        let Some(mut tx) = c.transaction.take() else {
            return;
        };
        c.finishing = c.plugged;
        c.suspension = Suspension::None;
        let meter_stop = c.reading.as_ref().map_or(tx.meter_start, |r| r.energy_wh);
        if let Some(end) = c
            .reading
            .as_ref()
            .and_then(|r| r.sample(utc, &stop_measurands, ReadingContext::TransactionEnd))
        {
            tx.stop_data.push(end);
        }
        if let Some(scheduled) = c.inoperative_scheduled.take() {
            c.inoperative = scheduled;
        }
        trim_middle(&mut tx.stop_data, max_values);
        let request = v16::StopTransactionRequest {
            id_tag: id_tag.as_deref().map(tag),
            meter_stop: clamp_i32(meter_stop),
            reason: Some(reason),
            timestamp: utc,
            transaction_data: (!tx.stop_data.is_empty()).then_some(tx.stop_data),
            // Filled in when it goes out.
            transaction_id: 0,
        };
        self.state.queue.push(tx.local_id, TxMessage::Stop(request));
        let evse = i32::try_from(connector).unwrap_or(i32::MAX);
        self.state.profiles.end_transaction(evse);
        self.dirty = true;
        self.events.push_back(Event::StopCharging {
            connector,
            transaction: tx.local_id,
            reason,
            ended: true,
            unlock,
        });
        self.emit_limit(now, connector);
    }

    pub(super) fn running_local_ids(&self) -> Vec<u64> {
        self.state
            .connectors
            .iter()
            .filter_map(|c| c.transaction.as_ref().map(|t| t.local_id))
            .collect()
    }

    pub(super) fn connector_of(&self, local_id: u64) -> Option<u32> {
        self.state
            .connectors
            .iter()
            .position(|c| {
                c.transaction
                    .as_ref()
                    .is_some_and(|t| t.local_id == local_id)
            })
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Sends the head of the transaction queue when it may go.
    pub(super) fn pump_queue(&mut self, now: Instant) {
        while self.online() && !self.tx_in_flight && self.tx_retry_at.is_none_or(|t| t <= now) {
            self.tx_retry_at = None;
            let Some(head) = self.state.queue.front() else {
                return;
            };
            let transaction = head.transaction;
            let Some(message) = self.state.queue.ready() else {
                // Waits for an id no queued StartTransaction will bring.
                self.drop_head(transaction);
                continue;
            };
            let request: AnyRequest = match message {
                TxMessage::Start(s) => s.into(),
                TxMessage::Stop(s) => s.into(),
                TxMessage::MeterValues(m) => m.into(),
            };
            if self.call(now, request, Sent::Tx) {
                self.tx_in_flight = true;
            } else {
                // Never valid: it can never go out.
                self.drop_head(transaction);
            }
        }
    }

    /// Drops the head of the queue and reports it; a dropped
    /// StartTransaction takes its transaction's other messages with it.
    pub(super) fn drop_head(&mut self, transaction: u64) {
        let Some(head) = self.state.queue.pop() else {
            return;
        };
        let start = matches!(head.message, TxMessage::Start(_));
        self.events.push_back(Event::TransactionMessageDropped {
            transaction,
            message: head.message,
        });
        if start && self.state.queue.transaction_id(transaction).is_none() {
            for gone in self.state.queue.remove_transaction(transaction) {
                self.events.push_back(Event::TransactionMessageDropped {
                    transaction,
                    message: gone.message,
                });
            }
        }
        self.dirty = true;
    }

    pub(super) fn on_tx_response(
        &mut self,
        now: Instant,
        result: Result<AnyResponse, CallFailure>,
    ) {
        self.tx_in_flight = false;
        let Some(head) = self.state.queue.front() else {
            return;
        };
        let transaction = head.transaction;
        match result {
            Ok(response) => {
                let head = self.state.queue.pop();
                match (response, head.map(|h| h.message)) {
                    (AnyResponse::StartTransaction(r), Some(TxMessage::Start(s))) => {
                        self.state
                            .queue
                            .set_transaction_id(transaction, r.transaction_id);
                        self.cache_info(now, &s.id_tag, &r.id_tag_info);
                        self.on_start_answered(now, transaction, r.transaction_id, &r.id_tag_info);
                    }
                    (AnyResponse::StopTransaction(r), Some(TxMessage::Stop(s))) => {
                        if let (Some(info), Some(id_tag)) = (&r.id_tag_info, &s.id_tag) {
                            self.cache_info(now, id_tag, info);
                        }
                    }
                    _ => {}
                }
                let running = self.running_local_ids();
                self.state.queue.forget_ids(&running);
                self.dirty = true;
            }
            Err(CallFailure::ConnectionLost) => {}
            Err(_) => {
                let attempts = self
                    .state
                    .configuration
                    .int("TransactionMessageAttempts")
                    .max(1);
                let interval = self
                    .state
                    .configuration
                    .int("TransactionMessageRetryInterval");
                let failed = match self.state.queue.front_mut() {
                    Some(head) => {
                        head.failed_attempts += 1;
                        head.failed_attempts
                    }
                    None => return,
                };
                if u64::from(failed) >= attempts {
                    self.drop_head(transaction);
                } else {
                    self.tx_retry_at = Some(now + secs(interval.saturating_mul(u64::from(failed))));
                }
                self.dirty = true;
            }
        }
    }

    pub(super) fn on_start_answered(
        &mut self,
        now: Instant,
        local_id: u64,
        id: i32,
        info: &IdTagInfo,
    ) {
        let Some(connector) = self.connector_of(local_id) else {
            return;
        };
        let utc = self.utc(now);
        let started = self
            .connector(connector)
            .and_then(|c| c.transaction.as_ref())
            .map_or(utc, |t| t.started);
        let evse = i32::try_from(connector).unwrap_or(i32::MAX);
        // The store knows the transaction by its CSMS id from now on, so
        // that a TxProfile naming it is accepted.
        let _ = self
            .state
            .profiles
            .start_transaction(evse, id.to_string(), started);
        if let Some(tx) = self
            .connector_mut(connector)
            .and_then(|c| c.transaction.as_mut())
        {
            tx.parent_id_tag = info.parent_id_tag.as_ref().map(|p| p.to_string());
        }
        if auth::is_valid(info, utc) {
            return;
        }
        if self.state.configuration.bool("StopTransactionOnInvalidId") {
            self.end_transaction(now, connector, Reason::DeAuthorized, None, false);
            return;
        }
        // Energy stops once MaxEnergyOnInvalidId Wh have been delivered.
        let max = self.state.configuration.int("MaxEnergyOnInvalidId");
        if let Some(tx) = self
            .connector_mut(connector)
            .and_then(|c| c.transaction.as_mut())
        {
            tx.invalid_energy_limit = Some(
                tx.meter_start
                    .saturating_add(i64::try_from(max).unwrap_or(i64::MAX)),
            );
            self.dirty = true;
        }
        self.check_invalid_energy(connector);
    }

    /// Stops the energy of a transaction whose tag the CSMS refused once
    /// its allowance is used up.
    pub(super) fn check_invalid_energy(&mut self, connector: u32) {
        let Some(c) = self.connector_mut(connector) else {
            return;
        };
        let energy = c.reading.as_ref().map(|r| r.energy_wh);
        let Some(tx) = c.transaction.as_mut() else {
            return;
        };
        let Some(limit) = tx.invalid_energy_limit else {
            return;
        };
        if tx.deauthorized || energy.unwrap_or(tx.meter_start) < limit {
            return;
        }
        tx.deauthorized = true;
        let transaction = tx.local_id;
        self.dirty = true;
        self.events.push_back(Event::StopCharging {
            connector,
            transaction,
            reason: Reason::DeAuthorized,
            ended: false,
            unlock: false,
        });
    }
}
