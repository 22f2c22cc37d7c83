//! A [`Machine`] adapter that counts (and, verbose, prints) every frame.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ocpp_rpc::machine::Machine;

/// Frames seen by a [`Logged`] machine, shared with the application.
#[derive(Debug, Default)]
pub struct Frames {
    /// Frames the machine sent.
    pub sent: AtomicU64,
    /// Frames the machine received.
    pub received: AtomicU64,
}

/// Wraps a machine: every frame in and out is counted, and printed with
/// the station id when `verbose`.
pub struct Logged<M> {
    /// The machine.
    pub inner: M,
    /// The station id printed before each frame.
    pub id: String,
    /// Whether to print each frame.
    pub verbose: bool,
    /// The counters.
    pub frames: Arc<Frames>,
}

impl<M: Machine> Machine for Logged<M> {
    type Event = M::Event;

    fn handle_connected(&mut self, now: Instant) {
        if self.verbose {
            println!("{}: connected", self.id);
        }
        self.inner.handle_connected(now);
    }
    fn handle_text(&mut self, now: Instant, text: &str) {
        self.frames.received.fetch_add(1, Ordering::Relaxed);
        if self.verbose {
            println!("{} <- {text}", self.id);
        }
        self.inner.handle_text(now, text);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn handle_closed(&mut self, now: Instant) {
        if self.verbose {
            println!("{}: connection closed", self.id);
        }
        self.inner.handle_closed(now);
    }
    fn poll_transmit(&mut self) -> Option<String> {
        let text = self.inner.poll_transmit()?;
        self.frames.sent.fetch_add(1, Ordering::Relaxed);
        if self.verbose {
            println!("{} -> {text}", self.id);
        }
        Some(text)
    }
    fn poll_event(&mut self) -> Option<M::Event> {
        self.inner.poll_event()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}
