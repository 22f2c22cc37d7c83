//! The OCPP-J RPC layer: frames, error codes, the sans-IO endpoint, the
//! charge-point and CSMS state machines and the tokio transport.
//!
//! Nothing is here yet: the layer is built on top of [`ocpp_types`].

pub use ocpp_types;
