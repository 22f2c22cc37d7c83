//! Sans-IO charge-point state machines: they outlive connections, keep
//! charging and queueing transaction messages while offline, and speak
//! the protocol's behaviour on top of an [`Endpoint`](crate::endpoint::Endpoint).
//!
//! * [`v16`]: OCPP 1.6-J with the security extension;
//! * [`v2x`]: OCPP 2.0.1 and 2.1, one machine (2.1 types inside, bridged
//!   to 2.0.1 on the wire).

pub mod v16;
pub mod v2x;
