//! Example tools built on the OCPP crates. The library part holds what
//! the binaries share, so that tests and the demo can run it in-process:
//!
//! - [`csms`]: the CSMS (SQLite, HTTP API), as the `csms` binary runs it;
//! - [`sim`]: the charge-point simulator (one station per task).

pub mod csms;
pub mod sim;
