//! Smart charging, sans IO: profile validation and storage, composite
//! schedules, and load sharing.
//!
//! Pure, deterministic functions over the typed messages of every version,
//! for a charge point (answer GetCompositeSchedule, limit charging) and for
//! a CSMS (predict what a charger will do, share a site limit):
//!
//! * [`model`]: the version-neutral profile every version converts to
//!   (with the 2.1-only period fields, [`PeriodExtras`], so that a stored
//!   profile reports back what was installed);
//! * [`store`]: the profiles of one charge point: install with the
//!   specification's checks (including the optional 2.1 features a station
//!   declares, [`StoreConfig::supported_additional_purposes`] and
//!   [`StoreConfig::supports_dynamic_profiles`]), clear (never external
//!   constraints nor local generation), report; limits from an external
//!   system ([`ProfileStore::install_external`],
//!   [`ProfileStore::install_local_generation`]); the bookkeeping of 2.1
//!   Dynamic profiles (`dynUpdateTime`, and the pulls `dynUpdateInterval`
//!   asks for: [`ProfileStore::dynamic_pulls_due`]); serde-serialisable;
//! * [`schedule`]: the composite schedule of a connector / EVSE;
//! * [`units`]: amperes per phase ↔ watts;
//! * [`load_sharing`]: a site limit shared among sessions, as TxProfiles
//!   (version-neutral, and typed for 2.1:
//!   [`tx_request_v21`](load_sharing::tx_request_v21));
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

pub use model::{
    FreqWattPoint, Kind, OperationMode, Period, PeriodExtras, Profile, Purpose, RateUnit,
    Recurrency, Schedule, SignalWattPoint, Source,
};
pub use schedule::{
    Composite, CompositeOptions, CompositePeriod, CompositeRequest, TransactionState, composite,
    composite_with,
};
pub use store::{
    ActiveTransaction, ClearFilter, CompositeError, Dialect, DynamicUpdateError, Installed,
    PriorityChargingError, ProfileStore, Rejection, ReportFilter, StoreConfig,
};
pub use units::Electrical;
