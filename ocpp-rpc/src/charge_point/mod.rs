//! Sans-IO charging-station state machines.

pub mod v2x;
