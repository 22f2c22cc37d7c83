//! Security events (security whitepaper, A04): SecurityEventNotification.
//!
//! Critical events (the whitepaper's §8 list) are queued in
//! [`State::security_queue`](super::State::security_queue) and go out one
//! at a time, in order, once registered, until the Central System
//! acknowledges each (A04.FR.01/02: guaranteed delivery). Non-critical ones
//! go out only while registered: A04 asks only that they be logged
//! (A04.FR.04), which is the application's part.

use std::time::{Duration, Instant};

use ocpp_types::BoundedString;
use ocpp_types::v16::{self, AnyResponse};

use super::{ChargePoint, Event, InputError, Sent, secs};
use crate::endpoint::CallFailure;

/// The critical events of the 1.6 security whitepaper's list (§8).
pub const CRITICAL_SECURITY_EVENTS: &[&str] = &[
    "FirmwareUpdated",
    "SettingSystemTime",
    "StartupOfTheDevice",
    "ResetOrReboot",
    "SecurityLogWasCleared",
    "MemoryExhaustion",
    "TamperDetectionActivated",
];

/// The first wait after a failed try, and the longest.
const RETRY: Duration = Duration::from_secs(30);
const MAX_RETRY: Duration = Duration::from_secs(3600);

impl ChargePoint {
    /// A security event happened now: `kind` is a name of the security
    /// event list (≤50 characters, e.g. `TamperDetectionActivated`),
    /// `tech_info` the details (≤255). A critical one is queued durably and
    /// delivered once registered, retried until acknowledged; any other goes
    /// out only while registered and is otherwise dropped (A04 requires only
    /// the critical ones to reach the Central System). Returns whether it
    /// was queued or sent. Unlike [`notify`](Self::notify), no
    /// [`Event::Answered`] follows.
    pub fn security_event(
        &mut self,
        now: Instant,
        kind: &str,
        tech_info: Option<&str>,
    ) -> Result<bool, InputError> {
        let request = self.security_request(now, kind, tech_info)?;
        let done = if CRITICAL_SECURITY_EVENTS.contains(&kind) {
            self.state.security_queue.push_back(request);
            self.dirty = true;
            true
        } else {
            self.call(now, request, Sent::Other)
        };
        self.pump(now);
        Ok(done)
    }

    /// The notification of `kind` happening now, within the limits.
    pub(super) fn security_request(
        &self,
        now: Instant,
        kind: &str,
        tech_info: Option<&str>,
    ) -> Result<v16::SecurityEventNotificationRequest, InputError> {
        Ok(v16::SecurityEventNotificationRequest {
            tech_info: tech_info
                .map(BoundedString::new)
                .transpose()
                .map_err(|e| InputError::Refused(format!("techInfo: {e}")))?,
            timestamp: self.utc(now),
            kind: BoundedString::new(kind)
                .map_err(|e| InputError::Refused(format!("type: {e}")))?,
        })
    }

    /// Raises a security event the machine itself saw.
    pub(super) fn raise_own(&mut self, now: Instant, kind: &str, tech_info: Option<&str>) {
        if let Err(e) = self.security_event(now, kind, tech_info) {
            self.events.push_back(Event::Protocol(e.to_string()));
        }
    }

    /// Sends the head of the critical queue when none of it is in flight.
    pub(super) fn pump_security(&mut self, now: Instant) {
        while self.online()
            && !self.security_in_flight
            && self.security_retry_at.is_none_or(|t| t <= now)
        {
            self.security_retry_at = None;
            let Some(head) = self.state.security_queue.front() else {
                return;
            };
            let request = head.clone();
            if self.call(now, request, Sent::Security) {
                self.security_in_flight = true;
            } else {
                // Never valid: it can never go out.
                self.state.security_queue.pop_front();
                self.dirty = true;
            }
        }
    }

    /// The answer to the critical queue's head: acknowledged, it leaves the
    /// queue; a CALLERROR, a timeout or an odd answer retries it after 30 s
    /// × the failures so far (at most an hour); a lost connection retries it
    /// on the next one. It is never dropped.
    pub(super) fn on_security_response(
        &mut self,
        now: Instant,
        result: Result<AnyResponse, CallFailure>,
    ) {
        self.security_in_flight = false;
        match result {
            Ok(AnyResponse::SecurityEventNotification(_)) => {
                self.state.security_queue.pop_front();
                self.security_failures = 0;
                self.dirty = true;
            }
            Err(CallFailure::ConnectionLost) => {}
            _ => {
                self.security_failures = self.security_failures.saturating_add(1);
                let wait = RETRY
                    .checked_mul(self.security_failures)
                    .unwrap_or(MAX_RETRY)
                    .min(MAX_RETRY);
                self.security_retry_at = Some(now + secs(wait.as_secs()));
            }
        }
    }
}
