//! Meter values: periodic samples from the transaction start
//! (`MeterValueSampleInterval`), clock-aligned ones from midnight
//! (`ClockAlignedDataInterval`), the StopTxn samples kept for
//! StopTransaction, and triggered ones.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use ocpp_types::v16::{self, MeterValue, ReadingContext};

use super::{ChargePoint, MAX_WAIT, Reading, Sent, TxMessage, meter};

impl ChargePoint {
    pub(super) fn sample_due(&self, connector: u32) -> Option<DateTime<Utc>> {
        let interval = self.state.configuration.int("MeterValueSampleInterval");
        if interval == 0 {
            return None;
        }
        let tx = self.connector(connector)?.transaction.as_ref()?;
        let offset = i64::try_from(interval.saturating_mul(tx.samples + 1).min(MAX_WAIT)).ok()?;
        tx.started
            .checked_add_signed(TimeDelta::try_seconds(offset)?)
    }

    pub(super) fn take_samples(&mut self, now: Instant) {
        let utc = self.utc(now);
        let interval = self.state.configuration.int("MeterValueSampleInterval");
        let sampled = self
            .state
            .configuration
            .measurands("MeterValuesSampledData");
        let stop_sampled = self.state.configuration.measurands("StopTxnSampledData");
        for connector in 1..=self.config.connectors {
            let Some(due) = self.sample_due(connector) else {
                continue;
            };
            if due > utc {
                continue;
            }
            let Some(c) = self.connector_mut(connector) else {
                continue;
            };
            let Some(tx) = c.transaction.as_mut() else {
                continue;
            };
            let elapsed = u64::try_from((utc - tx.started).num_seconds()).unwrap_or(0);
            tx.samples = elapsed / interval.max(1);
            let local_id = tx.local_id;
            let reading = c
                .reading
                .clone()
                .unwrap_or_else(|| Reading::energy(tx.meter_start));
            if let Some(mv) = reading.sample(utc, &stop_sampled, ReadingContext::SamplePeriodic)
                && let Some(tx) = c.transaction.as_mut()
            {
                tx.stop_data.push(mv);
            }
            if let Some(mv) = reading.sample(utc, &sampled, ReadingContext::SamplePeriodic) {
                self.queue_meter_values(local_id, connector, mv);
            }
            self.dirty = true;
        }
        let aligned = self.state.configuration.int("ClockAlignedDataInterval");
        if aligned == 0 {
            self.aligned_next = None;
            return;
        }
        match self.aligned_next {
            None => self.aligned_next = meter::next_aligned(utc, aligned),
            Some(at) if at <= utc => {
                self.aligned_next = meter::next_aligned(utc, aligned);
                self.take_aligned(now, at);
            }
            Some(_) => {}
        }
    }

    pub(super) fn take_aligned(&mut self, now: Instant, at: DateTime<Utc>) {
        let measurands = self
            .state
            .configuration
            .measurands("MeterValuesAlignedData");
        let stop_aligned = self.state.configuration.measurands("StopTxnAlignedData");
        for connector in 0..=self.config.connectors {
            let Some(c) = self.connector_mut(connector) else {
                continue;
            };
            let Some(reading) = c.reading.clone() else {
                continue;
            };
            if let Some(tx) = c.transaction.as_mut() {
                let local_id = tx.local_id;
                if let Some(mv) = reading.sample(at, &stop_aligned, ReadingContext::SampleClock) {
                    tx.stop_data.push(mv);
                }
                if let Some(mv) = reading.sample(at, &measurands, ReadingContext::SampleClock) {
                    self.queue_meter_values(local_id, connector, mv);
                }
                self.dirty = true;
            } else if self.online()
                && let Some(mv) = reading.sample(at, &measurands, ReadingContext::SampleClock)
            {
                // Not transaction data: sent when online, else lost.
                let request = v16::MeterValuesRequest {
                    connector_id: i32::try_from(connector).unwrap_or(i32::MAX),
                    meter_value: vec![mv],
                    transaction_id: None,
                };
                self.call(now, request, Sent::Other);
            }
        }
    }

    pub(super) fn queue_meter_values(&mut self, local_id: u64, connector: u32, mv: MeterValue) {
        let request = v16::MeterValuesRequest {
            connector_id: i32::try_from(connector).unwrap_or(i32::MAX),
            meter_value: vec![mv],
            transaction_id: None,
        };
        self.state
            .queue
            .push(local_id, TxMessage::MeterValues(request));
        self.dirty = true;
    }

    /// Triggered MeterValues: the current readings (connector 0 included
    /// only when asked for by number).
    pub(super) fn send_triggered_meter_values(&mut self, now: Instant, connector: Option<u32>) {
        let utc = self.utc(now);
        let measurands = self
            .state
            .configuration
            .measurands("MeterValuesSampledData");
        let connectors: Vec<u32> = match connector {
            Some(c) => vec![c],
            None => (1..=self.config.connectors).collect(),
        };
        for c in connectors {
            let Some(con) = self.connector(c) else {
                continue;
            };
            let reading = con.reading.clone().unwrap_or_default();
            let transaction_id = con
                .transaction
                .as_ref()
                .and_then(|t| self.state.queue.transaction_id(t.local_id));
            if let Some(mv) = reading.sample(utc, &measurands, ReadingContext::Trigger) {
                let request = v16::MeterValuesRequest {
                    connector_id: i32::try_from(c).unwrap_or(i32::MAX),
                    meter_value: vec![mv],
                    transaction_id,
                };
                self.call_triggered(now, request, Sent::Other);
            }
        }
    }
}
