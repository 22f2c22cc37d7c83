//! The one shape every sans-IO protocol machine of this crate has, so that
//! one tokio driver and one virtual-time test harness serve them all.
//!
//! An [`Endpoint`](crate::endpoint::Endpoint) lives for one connection;
//! the charge-point state machines outlive connections (they keep charging
//! and queueing while offline) and the CSMS session lives for one. The
//! driver tells a machine when a connection comes up and goes down, feeds
//! it text and timeouts, and after **any** input drains it in this order:
//! [`poll_transmit`](Machine::poll_transmit) until `None`,
//! [`poll_event`](Machine::poll_event) until `None`, then
//! [`poll_timeout`](Machine::poll_timeout).

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// A sans-IO protocol machine of one side of an OCPP-J link.
pub trait Machine {
    /// What the machine tells its application.
    type Event;

    /// A connection to the peer is up (a new one after any earlier close).
    fn handle_connected(&mut self, now: Instant);
    /// One text message from the peer.
    fn handle_text(&mut self, now: Instant, text: &str);
    /// Time passed; do what fell due.
    fn handle_timeout(&mut self, now: Instant);
    /// The connection is gone.
    fn handle_closed(&mut self, now: Instant);
    /// The next text to write to the socket.
    fn poll_transmit(&mut self) -> Option<String>;
    /// The next event for the application.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When [`handle_timeout`](Machine::handle_timeout) is next due.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Wall-clock time without reading a clock: one reading taken by the
/// application (`utc` at `instant`), from which every later `now` is
/// projected. Machines that write timestamps keep one and let the
/// application (or a CSMS's `currentTime`) move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// The monotonic instant of the reading.
    pub instant: Instant,
    /// The wall-clock time at that instant.
    pub utc: DateTime<Utc>,
}

impl WallClock {
    /// A reading: `utc` at `instant`.
    pub fn new(instant: Instant, utc: DateTime<Utc>) -> Self {
        WallClock { instant, utc }
    }

    /// The wall-clock time at `now` (before the reading, it is projected
    /// backwards).
    pub fn at(&self, now: Instant) -> DateTime<Utc> {
        let delta = |d: std::time::Duration| TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX);
        if now >= self.instant {
            self.utc
                .checked_add_signed(delta(now - self.instant))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        } else {
            self.utc
                .checked_sub_signed(delta(self.instant - now))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
    }

    /// The monotonic instant at which the wall clock reads `utc` (clamped
    /// to the reading's instant for times before it that cannot be
    /// represented).
    pub fn instant_at(&self, utc: DateTime<Utc>) -> Instant {
        let delta = utc.signed_duration_since(self.utc);
        match delta.to_std() {
            Ok(ahead) => self.instant.checked_add(ahead).unwrap_or(self.instant),
            Err(_) => (-delta)
                .to_std()
                .ok()
                .and_then(|behind| self.instant.checked_sub(behind))
                .unwrap_or(self.instant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn projects_both_ways() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let utc = "2025-01-01T00:00:00Z".parse().unwrap_or_default();
        let clock = WallClock::new(t0, utc);
        assert_eq!(
            clock.at(t0 + Duration::from_secs(90)).to_rfc3339(),
            "2025-01-01T00:01:30+00:00"
        );
        assert_eq!(
            clock.at(t0 - Duration::from_secs(30)).to_rfc3339(),
            "2024-12-31T23:59:30+00:00"
        );
        let later = "2025-01-01T01:00:00Z".parse().unwrap_or_default();
        assert_eq!(clock.instant_at(later), t0 + Duration::from_secs(3600));
    }
}
