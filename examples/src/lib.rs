//! Example tools built on the OCPP crates. The library part holds what
//! the binaries share, so that tests and the demo can run it in-process:
//!
//! - [`sim`]: the charge-point simulator (one station per task).

pub mod sim;
