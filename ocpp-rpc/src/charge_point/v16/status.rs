//! StatusNotification: each connector's status from its state (the 1.6
//! transition table follows from the order of the checks), sent on
//! every change while registered, once it has held
//! `MinimumStatusDuration`.

use std::time::{Duration, Instant};

use ocpp_types::v16::{self, ChargePointErrorCode, ChargePointStatus};

use super::{ChargePoint, Sent, Suspension};

impl ChargePoint {
    pub(super) fn compute_status(
        &self,
        connector: u32,
    ) -> Option<(ChargePointStatus, ChargePointErrorCode)> {
        use ChargePointStatus as S;
        let c = self.connector(connector)?;
        let code = c
            .fault
            .map_or(ChargePointErrorCode::NoError, |(code, _)| code);
        let faulted = c.fault.is_some_and(|(_, warning)| !warning);
        if faulted {
            return Some((S::Faulted, code));
        }
        let station = self.connector(0);
        if connector == 0 {
            let s = if c.inoperative {
                S::Unavailable
            } else {
                S::Available
            };
            return Some((s, code));
        }
        let status = if let Some(tx) = &c.transaction {
            if tx.deauthorized || c.suspension == Suspension::Evse {
                S::SuspendedEVSE
            } else if c.suspension == Suspension::Ev || !c.plugged {
                S::SuspendedEV
            } else {
                S::Charging
            }
        } else if c.inoperative || station.is_some_and(|s| s.inoperative) {
            S::Unavailable
        } else if station.is_some_and(|s| s.fault.is_some_and(|(_, w)| !w)) {
            S::Faulted
        } else if c.finishing && c.plugged && c.authorized.is_none() {
            S::Finishing
        } else if c.plugged || c.authorized.is_some() {
            S::Preparing
        } else if c.reservation.is_some() {
            S::Reserved
        } else {
            S::Available
        };
        Some((status, code))
    }

    fn minimum_status_duration(&self) -> Duration {
        super::secs(self.state.configuration.int("MinimumStatusDuration"))
    }

    /// Sends a StatusNotification for every connector whose state changed
    /// and has held `MinimumStatusDuration` (at once when it is 0 or the
    /// connector was not reported yet on this connection).
    pub(super) fn refresh_statuses(&mut self, now: Instant) {
        if !self.online() {
            return;
        }
        let minimum = self.minimum_status_duration();
        for connector in 0..=self.config.connectors {
            let Some(current) = self.compute_status(connector) else {
                continue;
            };
            let idx = connector as usize;
            let reported = self.reported.get(idx).copied().flatten();
            let Some(unsettled) = self.unsettled.get_mut(idx) else {
                continue;
            };
            if reported == Some(current) {
                // Back to what was reported: the short-lived state is dropped.
                *unsettled = None;
                continue;
            }
            if !minimum.is_zero() && reported.is_some() {
                match *unsettled {
                    Some((status, since)) if status == current => {
                        if now.saturating_duration_since(since) < minimum {
                            continue;
                        }
                    }
                    _ => {
                        *unsettled = Some((current, now));
                        continue;
                    }
                }
            }
            *unsettled = None;
            self.send_status(now, connector, current, false);
        }
    }

    /// When the earliest unsettled status has held long enough.
    pub(super) fn status_due(&self) -> Option<Instant> {
        let minimum = self.minimum_status_duration();
        self.unsettled
            .iter()
            .flatten()
            .map(|&(_, since)| since.checked_add(minimum).unwrap_or(since))
            .min()
    }

    pub(super) fn send_status(
        &mut self,
        now: Instant,
        connector: u32,
        (status, error_code): (ChargePointStatus, ChargePointErrorCode),
        triggered: bool,
    ) {
        let request = v16::StatusNotificationRequest {
            connector_id: i32::try_from(connector).unwrap_or(i32::MAX),
            error_code,
            info: None,
            status,
            timestamp: Some(self.utc(now)),
            vendor_error_code: None,
            vendor_id: None,
        };
        let sent = if triggered {
            self.call_triggered(now, request, Sent::Other)
        } else {
            self.call(now, request, Sent::Other)
        };
        if sent && let Some(slot) = self.reported.get_mut(connector as usize) {
            *slot = Some((status, error_code));
            if let Some(pending) = self.unsettled.get_mut(connector as usize) {
                *pending = None;
            }
        }
    }
}
