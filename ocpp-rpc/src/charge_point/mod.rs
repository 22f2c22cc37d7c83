//! Sans-IO charge-point state machines: they outlive connections, keep
//! charging and queueing transaction messages while offline, and speak
//! the protocol's behaviour on top of an [`Endpoint`](crate::endpoint::Endpoint).
//!
//! * [`v16`]: OCPP 1.6-J with the security extension.

pub mod v16;
