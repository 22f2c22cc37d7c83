//! The OCPP-J RPC layer over [`ocpp_types`].
//!
//! * [`frame`]: OCPP-J frames, parsed without copying payloads;
//! * [`error`]: error codes per version and the one cause -> code table;
//! * [`endpoint`]: the sans-IO endpoint of one connection;
//! * [`charge_point`]: the sans-IO charge-point state machines;
//! * [`csms`]: the sans-IO CSMS session of one charger connection, any version;
//! * [`machine`]: the shape all sans-IO machines share, and a wall clock for them;
//! * [`smart_charging`]: composite schedules, profile validation, load sharing;
//! * `testing` (feature `testing`): two machines wired together in virtual time;
//! * `tokio` (feature `tokio`): the WebSocket client and server.

pub mod charge_point;
pub mod csms;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod machine;
pub mod smart_charging;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use ocpp_types;

/// The README's examples (both crates), run as doctests here, where both are in scope.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
