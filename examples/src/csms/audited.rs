//! A [`Session`] that hands every frame in and out to the audit log, and
//! leaves its durable state behind when the connection ends.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use ocpp_rpc::csms::{Event, Session};
use ocpp_rpc::machine::Machine;

use super::service::States;
use super::store::AuditFrame;

/// The CSMS machine of one connection.
pub struct Audited {
    /// The session.
    pub session: Session,
    /// The charger.
    pub id: Arc<str>,
    /// The audit writer (`None` is its stop signal, never sent here).
    pub audit: Sender<Option<AuditFrame>>,
    /// Where the session leaves its state when the connection closes.
    pub states: States,
}

impl Audited {
    fn log(&self, incoming: bool, frame: &str) {
        // The writer only goes away at shutdown, when nothing is left to log.
        let _ = self.audit.send(Some(AuditFrame {
            charger_id: self.id.to_string(),
            at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            incoming,
            frame: frame.to_owned(),
        }));
    }
}

impl Machine for Audited {
    type Event = Event;

    fn handle_connected(&mut self, now: Instant) {
        self.session.handle_connected(now);
    }
    fn handle_text(&mut self, now: Instant, text: &str) {
        self.log(true, text);
        self.session.handle_text(now, text);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }
    fn handle_closed(&mut self, now: Instant) {
        self.session.handle_closed(now);
        if let Ok(mut states) = self.states.lock() {
            states.insert(self.id.to_string(), self.session.snapshot());
        }
    }
    fn poll_transmit(&mut self) -> Option<String> {
        let text = self.session.poll_transmit()?;
        self.log(false, &text);
        Some(text)
    }
    fn poll_event(&mut self) -> Option<Event> {
        self.session.poll_event()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
}
