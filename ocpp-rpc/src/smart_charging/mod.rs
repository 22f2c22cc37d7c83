//! Smart charging, sans IO: profile validation and storage, composite
//! schedules, and load sharing.
//!
//! Pure, deterministic functions over the typed messages of every version,
//! for a charge point (answer GetCompositeSchedule, limit charging) and for
//! a CSMS (predict what a charger will do, share a site limit):
//!
//! * [`model`]: the version-neutral profile every version converts to;
//! * [`store`]: the profiles of one charge point: install with the
//!   specification's checks, clear, report; serde-serialisable;
//! * [`schedule`]: the composite schedule of a connector / EVSE;
//! * [`units`]: amperes per phase ↔ watts;
//! * [`load_sharing`]: a site limit shared among sessions, as TxProfiles;
//! * [`v16`], [`v201`], [`v21`]: conversions from and to the typed messages,
//!   and the charge point's answers.
//!
//! Nothing here reads the clock: every "now" is a parameter.

pub mod load_sharing;
pub mod model;
pub mod schedule;
pub mod store;
pub mod units;
pub mod v16;
pub mod v201;
pub mod v21;

pub use model::{Kind, Period, Profile, Purpose, RateUnit, Recurrency, Schedule, Source};
pub use schedule::{
    Composite, CompositeOptions, CompositePeriod, CompositeRequest, TransactionState, composite,
    composite_with,
};
pub use store::{
    ActiveTransaction, ClearFilter, CompositeError, Dialect, DynamicUpdateError, Installed,
    PriorityChargingError, ProfileStore, Rejection, ReportFilter, StoreConfig,
};
pub use units::Electrical;
