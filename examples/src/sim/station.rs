//! One interface over the 1.6 and the 2.0.1 / 2.1 charge points, so the
//! simulator's scenario is written once.

use std::time::Instant;

use ocpp_rpc::charge_point::{v2x, v16};
use ocpp_rpc::machine::{Machine, WallClock};
use ocpp_types::{BoundedString, v21};

/// What the simulator does with a machine event.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// The CSMS answered BootNotification (`Some(true)`: accepted,
    /// `Some(false)`: rejected, `None`: pending).
    Registered(Option<bool>),
    /// Energy flows on `connector`.
    StartCharging(u32),
    /// Energy stops on `connector` (the transaction may have ended).
    StopCharging(u32),
    /// A presented tag was refused.
    Refused(String),
    /// Reboot from the snapshot.
    Reboot,
    /// Persist the snapshot.
    StateChanged,
    /// The machine refused something or reported a deviation.
    Problem(String),
    /// Answered by the simulator in place (unlock, DataTransfer) or not of
    /// interest.
    Handled,
}

/// A charge point the simulator can drive.
pub trait Station: Machine + Send + Sized + 'static
where
    Self::Event: Send + std::fmt::Debug,
{
    /// A fresh station with `connectors` connectors and a short meter
    /// sample interval of `sample_secs`.
    fn build(version: ocpp_types::Version, connectors: u32, sample_secs: u32, now: Instant)
    -> Self;
    /// Its durable state.
    type Snapshot: Clone + Send + serde::Serialize + serde::de::DeserializeOwned + 'static;
    /// Its durable state now.
    fn save(&self) -> Self::Snapshot;
    /// Restarts from `snapshot`, as after a reboot (configured as
    /// [`build`](Self::build) configures it).
    fn restored(
        snapshot: Self::Snapshot,
        version: ocpp_types::Version,
        connectors: u32,
        now: Instant,
    ) -> Self;
    /// A cable in `connector`.
    fn plug(&mut self, now: Instant, connector: u32);
    /// The cable out of `connector`.
    fn unplug_cable(&mut self, now: Instant, connector: u32);
    /// A tag presented at `connector` (starts or stops).
    fn present(&mut self, now: Instant, connector: u32, tag: &str);
    /// The meter of `connector` reads `energy_wh` at `power_w`.
    fn meter(&mut self, now: Instant, connector: u32, energy_wh: i64, power_w: i64);
    /// Energy starts (or stops) flowing, as the EV reports it.
    fn flowing(&mut self, now: Instant, connector: u32, flowing: bool);
    /// The energy register of `connector` as last metered, Wh (0 before
    /// any reading); durable, so a restored station continues from it.
    fn register(&self, connector: u32) -> i64;
    /// Whether transaction messages still wait to be delivered.
    fn queue_pending(&self) -> bool;
    /// Sorts an event, answering what the application must answer
    /// (UnlockConnector: unlocked; DataTransfer: unknown vendor).
    fn happened(&mut self, now: Instant, event: Self::Event) -> Happened;
}

fn clock(now: Instant) -> WallClock {
    WallClock::new(now, chrono::Utc::now())
}

impl Station for v16::ChargePoint {
    fn build(_: ocpp_types::Version, connectors: u32, sample_secs: u32, now: Instant) -> Self {
        let config = v16::Config::new("OCPP-RS", "Simulator", connectors);
        let mut cp = v16::ChargePoint::new(config, clock(now), now);
        let cfg = cp.configuration_mut();
        // Valid values for known keys: a failure would only keep the default.
        let _ = cfg.set_local("MeterValueSampleInterval", &sample_secs.to_string());
        let _ = cfg.set_local(
            "MeterValuesSampledData",
            "Energy.Active.Import.Register,Power.Active.Import",
        );
        cp
    }
    type Snapshot = v16::State;
    fn save(&self) -> v16::State {
        self.snapshot()
    }
    fn restored(state: v16::State, _: ocpp_types::Version, connectors: u32, now: Instant) -> Self {
        let config = v16::Config::new("OCPP-RS", "Simulator", connectors);
        v16::ChargePoint::restore(config, state, clock(now), now)
    }
    fn plug(&mut self, now: Instant, connector: u32) {
        let _ = self.plug_in(now, connector);
    }
    fn unplug_cable(&mut self, now: Instant, connector: u32) {
        let _ = self.unplug(now, connector);
    }
    fn present(&mut self, now: Instant, connector: u32, tag: &str) {
        let _ = self.present_id_tag(now, connector, tag);
    }
    fn meter(&mut self, now: Instant, connector: u32, energy_wh: i64, power_w: i64) {
        let reading = v16::Reading {
            energy_wh,
            power_w: Some(power_w.into()),
            ..v16::Reading::default()
        };
        let _ = self.meter_reading(now, connector, reading);
    }
    fn flowing(&mut self, _: Instant, _: u32, _: bool) {}
    fn register(&self, connector: u32) -> i64 {
        let connectors = &self.state().connectors;
        connectors
            .get(connector as usize)
            .and_then(|c| c.reading.as_ref())
            .map_or(0, |r| r.energy_wh)
    }
    fn queue_pending(&self) -> bool {
        !self.state().queue.is_empty()
    }
    fn happened(&mut self, now: Instant, event: v16::Event) -> Happened {
        use ocpp_types::v16::RegistrationStatus as R;
        match event {
            v16::Event::Registration(status) => Happened::Registered(match status {
                R::Accepted => Some(true),
                R::Rejected => Some(false),
                R::Pending => None,
            }),
            v16::Event::StartCharging { connector, .. } => Happened::StartCharging(connector),
            v16::Event::StopCharging { connector, .. } => Happened::StopCharging(connector),
            v16::Event::AuthorizationRefused { id_tag, status, .. } => {
                Happened::Refused(format!("{id_tag}: {status:?}"))
            }
            v16::Event::UnlockConnector { call, .. } => {
                let _ = self.unlock_result(now, &call, ocpp_types::v16::UnlockStatus::Unlocked);
                Happened::Handled
            }
            v16::Event::DataTransfer { call, .. } => {
                let response = ocpp_types::v16::DataTransferResponse {
                    data: None,
                    status: ocpp_types::v16::DataTransferStatus::UnknownVendorId,
                };
                let _ = self.answer_data_transfer(now, &call, response);
                Happened::Handled
            }
            v16::Event::Reboot(_) => Happened::Reboot,
            v16::Event::StateChanged => Happened::StateChanged,
            v16::Event::TransactionMessageDropped { message, .. } => {
                Happened::Problem(format!("dropped {}", message.action()))
            }
            v16::Event::Protocol(text) => Happened::Problem(text),
            _ => Happened::Handled,
        }
    }
}

fn evse(connector: u32) -> i32 {
    i32::try_from(connector).unwrap_or(i32::MAX)
}

impl Station for v2x::ChargePoint {
    fn build(
        version: ocpp_types::Version,
        connectors: u32,
        sample_secs: u32,
        now: Instant,
    ) -> Self {
        let config = v2x_config(version, connectors);
        let state = v2x::State::new(&config);
        let mut cp = v2x::ChargePoint::new(config, state, clock(now), now);
        let _ = cp.set_variable(
            "SampledDataCtrlr/TxUpdatedInterval",
            &sample_secs.to_string(),
            now,
        );
        let _ = cp.set_variable(
            "SampledDataCtrlr/TxUpdatedMeasurands",
            "Energy.Active.Import.Register,Power.Active.Import",
            now,
        );
        cp
    }
    type Snapshot = v2x::State;
    fn save(&self) -> v2x::State {
        self.snapshot()
    }
    fn restored(
        state: v2x::State,
        version: ocpp_types::Version,
        connectors: u32,
        now: Instant,
    ) -> Self {
        let config = v2x_config(version, connectors);
        v2x::ChargePoint::new(config, state, clock(now), now)
    }
    fn plug(&mut self, now: Instant, connector: u32) {
        self.plug_in(now, evse(connector), 1);
    }
    fn unplug_cable(&mut self, now: Instant, connector: u32) {
        self.unplug(now, evse(connector));
    }
    fn present(&mut self, now: Instant, connector: u32, tag: &str) {
        let token = v21::IdToken {
            additional_info: None,
            custom_data: None,
            id_token: BoundedString::new_unchecked(tag),
            kind: BoundedString::new_unchecked("ISO14443"),
        };
        self.present_id_token(now, evse(connector), token);
    }
    fn meter(&mut self, now: Instant, connector: u32, energy_wh: i64, power_w: i64) {
        let reading = v2x::MeterReading {
            energy_wh: energy_wh.into(),
            power_w: Some(power_w.into()),
            ..v2x::MeterReading::default()
        };
        self.meter_reading(now, evse(connector), reading);
    }
    fn flowing(&mut self, now: Instant, connector: u32, flowing: bool) {
        self.energy_transfer(now, evse(connector), flowing);
    }
    fn register(&self, connector: u32) -> i64 {
        use rust_decimal::prelude::ToPrimitive;
        let state = self.snapshot();
        state
            .evses
            .get(&evse(connector))
            .and_then(|e| e.reading.as_ref())
            .and_then(|r| r.energy_wh.trunc().to_i64())
            .unwrap_or(0)
    }
    fn queue_pending(&self) -> bool {
        !self.snapshot().queue.is_empty()
    }
    fn happened(&mut self, now: Instant, event: v2x::Event) -> Happened {
        use v21::RegistrationStatusEnum as R;
        match event {
            v2x::Event::Registered { status } => Happened::Registered(match status {
                R::Accepted => Some(true),
                R::Rejected => Some(false),
                _ => None,
            }),
            v2x::Event::StartCharging { evse } => {
                Happened::StartCharging(u32::try_from(evse).unwrap_or(0))
            }
            v2x::Event::StopCharging { evse } => {
                Happened::StopCharging(u32::try_from(evse).unwrap_or(0))
            }
            v2x::Event::Authorization {
                id_token, status, ..
            } if status != v21::AuthorizationStatusEnum::Accepted => {
                Happened::Refused(format!("{id_token}: {status:?}"))
            }
            v2x::Event::UnlockConnector { evse, connector } => {
                self.connector_unlocked(now, evse, connector, true);
                Happened::Handled
            }
            v2x::Event::DataTransfer { id, .. } => {
                let response = v21::DataTransferResponse {
                    custom_data: None,
                    data: None,
                    status: v21::DataTransferStatusEnum::UnknownVendorId,
                    status_info: None,
                };
                self.answer_data_transfer(&id, response);
                Happened::Handled
            }
            // Nothing to download or upload: accepted and reported done at once.
            v2x::Event::InstallFirmware { id, .. } => {
                let response = v21::UpdateFirmwareResponse {
                    custom_data: None,
                    status: v21::UpdateFirmwareStatusEnum::Accepted,
                    status_info: None,
                };
                if let Err(e) = self.answer_update_firmware(&id, response) {
                    return Happened::Problem(format!("UpdateFirmware: {e}"));
                }
                use v21::FirmwareStatusEnum as F;
                for status in [F::Downloading, F::Downloaded, F::Installing, F::Installed] {
                    self.firmware_status(now, status, None);
                }
                Happened::Handled
            }
            v2x::Event::UploadLogs { id, .. } => {
                let response = v21::GetLogResponse {
                    custom_data: None,
                    filename: None,
                    status: v21::LogStatusEnum::Accepted,
                    status_info: None,
                };
                if let Err(e) = self.answer_get_log(&id, response) {
                    return Happened::Problem(format!("GetLog: {e}"));
                }
                use v21::UploadLogStatusEnum as L;
                for status in [L::Uploading, L::Uploaded] {
                    self.log_status(now, status, None);
                }
                Happened::Handled
            }
            // The simulator sends no CSR, so no certificate can be its own.
            v2x::Event::CertificateSigned { id, .. } => {
                let response = v21::CertificateSignedResponse {
                    custom_data: None,
                    status: v21::CertificateSignedStatusEnum::Rejected,
                    status_info: None,
                };
                match self.answer_certificate_signed(&id, response) {
                    Ok(()) => Happened::Handled,
                    Err(e) => Happened::Problem(format!("CertificateSigned: {e}")),
                }
            }
            v2x::Event::Reboot { .. } => Happened::Reboot,
            v2x::Event::StateChanged => Happened::StateChanged,
            v2x::Event::TransactionMessageDropped { reason, .. } => {
                Happened::Problem(format!("dropped TransactionEvent: {reason}"))
            }
            v2x::Event::Refused { reason } => Happened::Problem(reason),
            v2x::Event::Notice(text) => Happened::Problem(text),
            _ => Happened::Handled,
        }
    }
}

fn v2x_config(version: ocpp_types::Version, connectors: u32) -> v2x::Config {
    let version = match version {
        ocpp_types::Version::V201 => v2x::Version::V201,
        _ => v2x::Version::V21,
    };
    let identity = v2x::Identity {
        vendor_name: "OCPP-RS".to_owned(),
        model: "Simulator".to_owned(),
        serial_number: None,
        firmware_version: None,
    };
    // One connector per EVSE: the simulator's "connector N" is EVSE N.
    v2x::Config::new(version, identity, vec![1; connectors.max(1) as usize])
}
