//! Two protocol machines wired together in virtual time, for protocol
//! tests that need no sockets and no sleeps.
//!
//! A [`Link`] holds a charge-point side and a CSMS side, any two
//! [`Machine`]s: two endpoints (that is a [`Pair`]), a charge-point state
//! machine and a scripted CSMS endpoint, and so on.
//! [`step`](Link::step) carries the frames each side has written to the
//! other, [`drive`](Link::drive) steps until nothing moves, and
//! [`advance`](Link::advance) moves the virtual clock and fires due
//! timeouts. The connection can go down ([`close`](Link::close)) and come
//! back ([`connect`](Link::connect), [`reconnect`](Link::reconnect) with a
//! new CSMS side); while it is down, what a side writes is lost, as on a
//! dead socket, but timeouts still fire. A tamper hook can change or drop
//! frames in flight. Events stay in the machines for the test to poll.

use std::time::{Duration, Instant};

use ocpp_types::{Protocol, Role};

use crate::endpoint::{Config, Endpoint, SequentialIds};
use crate::machine::Machine;

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the charge point to the CSMS.
    ToCsms,
    /// From the CSMS to the charge point.
    ToChargePoint,
}

/// A hook that sees every frame in flight and returns what arrives instead
/// (`None` drops it).
pub type Tamper = Box<dyn FnMut(Direction, String) -> Option<String>>;

/// The most steps [`Link::drive`] takes before it gives up: two machines
/// that keep answering each other forever are a bug worth a panic in a test.
const MAX_STEPS: usize = 10_000;

/// A charge-point side and a CSMS side in virtual time.
pub struct Link<C, S> {
    /// The charge point's side.
    pub charge_point: C,
    /// The CSMS's side.
    pub csms: S,
    now: Instant,
    connected: bool,
    tamper: Option<Tamper>,
    frames: Vec<(Direction, String)>,
}

/// Two endpoints of one version, connected from the start.
pub type Pair<P> = Link<Endpoint<P>, Endpoint<P>>;

impl<P: Protocol> Pair<P> {
    /// Two endpoints with default configurations and readable ids
    /// (`cp-1`, `cp-2`, ... and `cs-1`, ...).
    pub fn new() -> Self {
        Self::with_configs(Config::new(Role::ChargePoint), Config::new(Role::Csms))
    }

    /// Two endpoints with the given configurations (their roles are set here).
    pub fn with_configs(mut charge_point: Config, mut csms: Config) -> Self {
        charge_point.role = Role::ChargePoint;
        csms.role = Role::Csms;
        // The one clock reading: the origin of virtual time.
        let now = Instant::now();
        let mut pair = Link::between(
            Endpoint::with_ids(charge_point, Box::new(SequentialIds::new("cp-")), now),
            Endpoint::with_ids(csms, Box::new(SequentialIds::new("cs-")), now),
            now,
        );
        pair.connected = true;
        pair
    }
}

impl<P: Protocol> Default for Pair<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Machine, S: Machine> Link<C, S> {
    /// Two sides, not yet connected, with virtual time starting at `now`
    /// (the instant the machines were made with).
    pub fn between(charge_point: C, csms: S, now: Instant) -> Self {
        Link {
            charge_point,
            csms,
            now,
            connected: false,
            tamper: None,
            frames: Vec::new(),
        }
    }

    /// Brings the connection up on both sides and drives.
    pub fn connect(&mut self) {
        self.connected = true;
        self.charge_point.handle_connected(self.now);
        self.csms.handle_connected(self.now);
        self.drive();
    }

    /// Replaces the CSMS side (a new session for a new connection) and
    /// connects.
    pub fn reconnect(&mut self, csms: S) {
        self.csms = csms;
        self.connect();
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Changes or drops frames in flight from now on.
    pub fn tamper(&mut self, hook: impl FnMut(Direction, String) -> Option<String> + 'static) {
        self.tamper = Some(Box::new(hook));
    }

    /// Stops tampering.
    pub fn stop_tampering(&mut self) {
        self.tamper = None;
    }

    /// Every frame that arrived so far (after tampering), in order.
    pub fn frames(&self) -> &[(Direction, String)] {
        &self.frames
    }

    /// The frames that arrived travelling `direction`.
    pub fn frames_to(&self, direction: Direction) -> Vec<&str> {
        self.frames
            .iter()
            .filter(|(d, _)| *d == direction)
            .map(|(_, f)| f.as_str())
            .collect()
    }

    /// Carries every frame each side has written so far to the other side.
    /// Returns whether anything was written.
    /// While the connection is down, what the sides write is lost.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        let now = self.now;
        while let Some(text) = self.charge_point.poll_transmit() {
            moved = true;
            if let Some(text) = self.pass(Direction::ToCsms, text) {
                self.csms.handle_text(now, &text);
            }
        }
        while let Some(text) = self.csms.poll_transmit() {
            moved = true;
            if let Some(text) = self.pass(Direction::ToChargePoint, text) {
                self.charge_point.handle_text(now, &text);
            }
        }
        moved
    }

    fn pass(&mut self, direction: Direction, text: String) -> Option<String> {
        if !self.connected {
            return None;
        }
        let text = match &mut self.tamper {
            Some(hook) => hook(direction, text)?,
            None => text,
        };
        self.frames.push((direction, text.clone()));
        Some(text)
    }

    /// Steps until neither side writes anything.
    ///
    /// # Panics
    /// After 10 000 steps: two machines talking forever is a bug.
    pub fn drive(&mut self) {
        for _ in 0..MAX_STEPS {
            if !self.step() {
                return;
            }
        }
        panic!("the machines kept talking for {MAX_STEPS} steps");
    }

    /// Carries what is already written, then moves the clock by `by`,
    /// firing the timeouts that fall due on both sides (earliest first)
    /// and driving after each.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        // What was written before time moves arrives before it moves.
        self.drive();
        loop {
            let next = [self.charge_point.poll_timeout(), self.csms.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|t| *t <= until)
                .min();
            let Some(at) = next else {
                break;
            };
            self.now = self.now.max(at);
            self.charge_point.handle_timeout(self.now);
            self.csms.handle_timeout(self.now);
            self.drive();
        }
        self.now = until;
        self.drive();
    }

    /// Takes the connection down on both sides.
    pub fn close(&mut self) {
        self.connected = false;
        self.charge_point.handle_closed(self.now);
        self.csms.handle_closed(self.now);
    }
}
