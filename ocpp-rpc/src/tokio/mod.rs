//! The tokio WebSocket transport (feature `tokio`): a thin driver around
//! the sans-IO [`Endpoint`](crate::endpoint::Endpoint) on tokio-tungstenite
//! and rustls.
//!
//! * [`Server`]: the CSMS side, all versions on one address, an auth hook,
//!   TLS and client certificates, replacement of duplicate ids;
//! * [`Client`] and [`connect`]: the charge-point side, Basic auth, TLS,
//!   keepalive and reconnect with the OCPP back-off;
//! * [`Connection`]: the typed async handle of one connection;
//!   [`Router`]: typed handlers for incoming calls;
//! * [`run_client`]: any sans-IO [`Machine`](crate::machine::Machine) (a
//!   charge-point state machine) as a reconnecting client, reached through
//!   a [`MachineHandle`];
//! * [`Server::bind_machines`]: the CSMS side for sans-IO machines, one
//!   [`Machine`](crate::machine::Machine) per charger connection (a
//!   [`csms::Session`](crate::csms::Session)), built by a factory from the
//!   [`Incoming`] connection and delivered as [`Hosted`] by a
//!   [`MachineServer`]. The machine hears `handle_connected` when the
//!   connection is up and `handle_closed` when it ends (closed by either
//!   side, a pong timeout, a replacing connection of the same id,
//!   shutdown); its task then ends and its event receiver closes after
//!   the last events. Everything else is as for [`Server::bind`].

mod client;
mod connection;
mod machine;
mod router;
mod server;

pub use client::{BackOff, Client, ClientConfig, ConnectError, LinkEvent, connect};
pub use connection::{Connection, Keepalive, Notice};
pub use machine::{MachineHandle, Stopped, run_client};
pub use router::{Context, HandlerError, Router};
pub use server::{
    Accepted, AuthDecision, AuthHook, AuthRequest, Hosted, Incoming, MachineServer, Routers,
    Server, ServerConfig,
};

/// A seed from the OS-seeded hasher keys of the standard library: message
/// ids and back-off need unpredictability, not cryptographic strength.
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x6f63_7070);
    h.finish()
}
