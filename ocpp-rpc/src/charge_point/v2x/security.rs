//! Security events (A04): SecurityEventNotification.
//!
//! Critical events (the Appendix's security event list) are queued in
//! [`State::security_queue`](super::State::security_queue) and go out one
//! at a time, in order, once the boot is accepted, until the CSMS
//! acknowledges each (A04.FR.01/02: guaranteed delivery). Non-critical
//! ones go out only while online: A04 asks only that they be logged
//! (A04.FR.04), which is the application's part.

use std::time::{Duration, Instant};

use ocpp_types::BoundedString;
use ocpp_types::v21::{self, AnyResponse};

use super::{ChargePoint, Pending, later};
use crate::endpoint::{CallFailure, CallId};

/// The critical events of the 2.0.1/2.1 security event list (Appendix 1).
pub const CRITICAL_SECURITY_EVENTS: &[&str] = &[
    "FirmwareUpdated",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "MemoryExhaustion",
    "TamperDetectionActivated",
    "InvalidFirmwareSignature",
    "InvalidFirmwareSigningCertificate",
    "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
];

/// The longest wait between two tries of a critical event.
const MAX_RETRY: Duration = Duration::from_secs(3600);

impl ChargePoint {
    /// A security event happened now (A04): `kind` is a name of the
    /// security event list (≤50 characters, e.g. `TamperDetectionActivated`),
    /// `tech_info` the details (≤255). A critical one is queued durably and
    /// delivered after the boot is accepted, retried until acknowledged; any
    /// other goes out only if the station is online and registered, and is
    /// otherwise dropped (A04 requires only the critical ones to reach the
    /// CSMS). Returns whether it was queued or sent.
    pub fn security_event(
        &mut self,
        now: Instant,
        kind: &str,
        tech_info: Option<&str>,
    ) -> Result<bool, String> {
        let request = v21::SecurityEventNotificationRequest {
            custom_data: None,
            tech_info: tech_info
                .map(BoundedString::new)
                .transpose()
                .map_err(|e| format!("techInfo: {e}"))?,
            timestamp: self.clock.at(now),
            kind: BoundedString::new(kind).map_err(|e| format!("type: {e}"))?,
        };
        Ok(self.raise(now, request))
    }

    /// Queues or sends `request` (see [`security_event`](Self::security_event)).
    pub(super) fn raise(
        &mut self,
        now: Instant,
        request: v21::SecurityEventNotificationRequest,
    ) -> bool {
        if CRITICAL_SECURITY_EVENTS.contains(&request.kind.as_str()) {
            self.state.security_queue.push_back(request);
            self.changed();
            self.pump_security(now);
            true
        } else if self.can_send() {
            self.call(now, request.into(), Pending::Other).is_some()
        } else {
            false
        }
    }

    /// Raises a security event the machine itself saw.
    pub(super) fn raise_own(&mut self, now: Instant, kind: &str, tech_info: Option<&str>) {
        // The names and details are the machine's own, within the limits.
        if let Err(reason) = self.security_event(now, kind, tech_info) {
            self.events.push_back(super::Event::Refused { reason });
        }
    }

    /// Sends the head of the critical queue when none of it is in flight.
    pub(super) fn pump_security(&mut self, now: Instant) {
        if !self.can_send()
            || self.security_in_flight.is_some()
            || self.security_retry_at.is_some_and(|t| t > now)
        {
            return;
        }
        while let Some(front) = self.state.security_queue.front() {
            let request = front.clone();
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            match conn.call(now, request.into()) {
                Ok(id) => {
                    self.pending.insert(id, Pending::SecurityEvent);
                    self.security_in_flight = Some(id);
                    return;
                }
                Err(e) => {
                    // It can never go out: report and drop it rather than block the queue.
                    self.state.security_queue.pop_front();
                    self.events.push_back(super::Event::Refused {
                        reason: e.to_string(),
                    });
                    self.changed();
                }
            }
        }
    }

    /// The answer to the critical queue's head: acknowledged, it leaves the
    /// queue; a CALLERROR, a timeout or an odd answer retries it after
    /// `MessageAttemptInterval[TransactionEvent]` × the failures so far
    /// (at least 1 s, at most an hour); a lost connection retries it on the
    /// next one. It is never dropped.
    pub(super) fn on_security_response(
        &mut self,
        now: Instant,
        call: CallId,
        result: Result<AnyResponse, CallFailure>,
    ) {
        if self.security_in_flight == Some(call) {
            self.security_in_flight = None;
        }
        match result {
            Ok(AnyResponse::SecurityEventNotification(_)) => {
                self.state.security_queue.pop_front();
                self.security_failures = 0;
                self.changed();
            }
            Err(CallFailure::ConnectionLost) => {}
            _ => {
                self.security_failures = self.security_failures.saturating_add(1);
                let interval = self
                    .secs("OCPPCommCtrlr/MessageAttemptInterval[TransactionEvent]")
                    .max(Duration::from_secs(1));
                let wait = interval
                    .checked_mul(self.security_failures)
                    .unwrap_or(MAX_RETRY)
                    .min(MAX_RETRY);
                self.security_retry_at = Some(later(now, wait));
            }
        }
        self.pump_security(now);
    }
}
