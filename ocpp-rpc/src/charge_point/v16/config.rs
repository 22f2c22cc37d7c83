//! The 1.6 configuration keys (OCPP 1.6 §9 and the security extension):
//! their types, access, defaults and value checks, and the durable store
//! of their values that GetConfiguration / ChangeConfiguration work on.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use ocpp_types::BoundedString;
use ocpp_types::v16::{self, ConfigurationStatus, Measurand};
use serde::{Deserialize, Serialize};

/// Who may touch a key from the CSMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only.
    Read,
    /// Read and write.
    ReadWrite,
    /// Write-only: GetConfiguration reports the key without its value.
    Write,
}

/// What a key's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `true` / `false`.
    Bool,
    /// A non-negative integer.
    Int,
    /// A percentage 0..=100.
    Percent,
    /// A comma-separated list of measurands this charge point can read,
    /// at most as many as the named `…MaxLength` key says.
    Measurands(&'static str),
    /// `ConnectorPhaseRotation`: `n.RST` items.
    PhaseRotation,
    /// A comma-separated list of free words.
    List,
    /// Hexadecimal text of at most 40 characters (`AuthorizationKey`).
    Hex40,
    /// Free text.
    Text,
    /// `SecurityProfile`: 0..=3, and only ever increased.
    SecurityProfile,
}

/// One standard key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The key's name.
    pub name: &'static str,
    /// Its type.
    pub kind: KeyType,
    /// Its access.
    pub access: Access,
}

const fn key(name: &'static str, kind: KeyType, access: Access) -> KeySpec {
    KeySpec { name, kind, access }
}

use Access::{Read as R, ReadWrite as RW, Write as W};
use KeyType::*;

/// Every standard key this charge point knows (§3.1 of the fact sheet).
pub const KEYS: &[KeySpec] = &[
    key("AllowOfflineTxForUnknownId", Bool, RW),
    key("AuthorizationCacheEnabled", Bool, RW),
    key("AuthorizeRemoteTxRequests", Bool, RW),
    key("BlinkRepeat", Int, RW),
    key("ClockAlignedDataInterval", Int, RW),
    key("ConnectionTimeOut", Int, RW),
    key("ConnectorPhaseRotation", PhaseRotation, RW),
    key("ConnectorPhaseRotationMaxLength", Int, R),
    key("GetConfigurationMaxKeys", Int, R),
    key("HeartbeatInterval", Int, RW),
    key("LightIntensity", Percent, RW),
    key("LocalAuthorizeOffline", Bool, RW),
    key("LocalPreAuthorize", Bool, RW),
    key("MaxEnergyOnInvalidId", Int, RW),
    key(
        "MeterValuesAlignedData",
        Measurands("MeterValuesAlignedDataMaxLength"),
        RW,
    ),
    key("MeterValuesAlignedDataMaxLength", Int, R),
    key(
        "MeterValuesSampledData",
        Measurands("MeterValuesSampledDataMaxLength"),
        RW,
    ),
    key("MeterValuesSampledDataMaxLength", Int, R),
    key("MeterValueSampleInterval", Int, RW),
    key("MessageTimeout", Int, RW),
    key("MinimumStatusDuration", Int, RW),
    key("NumberOfConnectors", Int, R),
    key("ResetRetries", Int, RW),
    key("StopTransactionMaxMeterValues", Int, R),
    key("StopTransactionOnEVSideDisconnect", Bool, RW),
    key("StopTransactionOnInvalidId", Bool, RW),
    key(
        "StopTxnAlignedData",
        Measurands("StopTxnAlignedDataMaxLength"),
        RW,
    ),
    key("StopTxnAlignedDataMaxLength", Int, R),
    key(
        "StopTxnSampledData",
        Measurands("StopTxnSampledDataMaxLength"),
        RW,
    ),
    key("StopTxnSampledDataMaxLength", Int, R),
    key("SupportedFeatureProfiles", List, R),
    key("SupportedFeatureProfilesMaxLength", Int, R),
    key("TransactionMessageAttempts", Int, RW),
    key("TransactionMessageRetryInterval", Int, RW),
    key("UnlockConnectorOnEVSideDisconnect", Bool, RW),
    key("WebSocketPingInterval", Int, RW),
    key("LocalAuthListEnabled", Bool, RW),
    key("LocalAuthListMaxLength", Int, R),
    key("SendLocalListMaxLength", Int, R),
    key("ReserveConnectorZeroSupported", Bool, R),
    key("ConnectorSwitch3to1PhaseSupported", Bool, R),
    key("ChargeProfileMaxStackLevel", Int, R),
    key("ChargingScheduleAllowedChargingRateUnit", List, R),
    key("ChargingScheduleMaxPeriods", Int, R),
    key("MaxChargingProfilesInstalled", Int, R),
    key("SupportedFileTransferProtocols", List, R),
    key("AuthorizationKey", Hex40, W),
    key("AdditionalRootCertificateCheck", Bool, R),
    key("CertificateSignedMaxChainSize", Int, R),
    key("CertificateStoreMaxLength", Int, R),
    key("CpoName", Text, RW),
    key("SecurityProfile", SecurityProfile, RW),
];

/// The measurands this charge point can report from a [`Reading`](super::Reading).
pub const SUPPORTED_MEASURANDS: &[Measurand] = &[
    Measurand::EnergyActiveImportRegister,
    Measurand::PowerActiveImport,
    Measurand::CurrentImport,
    Measurand::Voltage,
    Measurand::SoC,
];

/// The spec of a standard key.
pub fn spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// The feature profiles this state machine implements.
pub const FEATURE_PROFILES: &str =
    "Core,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger";

/// The values of the configuration keys: durable, and all the charge point
/// reads its behaviour from. A key without a value is not supported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    values: BTreeMap<String, String>,
    /// Keys whose change takes effect only after a reboot (answered
    /// `RebootRequired`).
    #[serde(default)]
    reboot_required: BTreeSet<String>,
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not a key this charge point supports.
    #[error("unknown key `{0}`")]
    Unknown(String),
    /// The key is read-only.
    #[error("`{0}` is read-only")]
    ReadOnly(String),
    /// The value does not fit the key.
    #[error("bad value for `{key}`: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl Configuration {
    /// The defaults of a charge point with `connectors` connectors.
    pub fn new(connectors: u32) -> Self {
        let n = connectors.to_string();
        let rotation = (0..=connectors)
            .map(|c| format!("{c}.Unknown"))
            .collect::<Vec<_>>()
            .join(",");
        let defaults: &[(&str, &str)] = &[
            ("AllowOfflineTxForUnknownId", "false"),
            ("AuthorizationCacheEnabled", "true"),
            ("AuthorizeRemoteTxRequests", "false"),
            ("BlinkRepeat", "3"),
            ("ClockAlignedDataInterval", "0"),
            ("ConnectionTimeOut", "60"),
            ("ConnectorPhaseRotation", &rotation),
            ("ConnectorPhaseRotationMaxLength", "16"),
            ("GetConfigurationMaxKeys", "100"),
            ("HeartbeatInterval", "300"),
            ("LightIntensity", "100"),
            ("LocalAuthorizeOffline", "true"),
            ("LocalPreAuthorize", "false"),
            ("MaxEnergyOnInvalidId", "0"),
            ("MeterValuesAlignedData", "Energy.Active.Import.Register"),
            ("MeterValuesAlignedDataMaxLength", "5"),
            ("MeterValuesSampledData", "Energy.Active.Import.Register"),
            ("MeterValuesSampledDataMaxLength", "5"),
            ("MeterValueSampleInterval", "60"),
            ("MessageTimeout", "30"),
            ("MinimumStatusDuration", "0"),
            ("NumberOfConnectors", &n),
            ("ResetRetries", "1"),
            ("StopTransactionMaxMeterValues", "100"),
            ("StopTransactionOnEVSideDisconnect", "true"),
            ("StopTransactionOnInvalidId", "true"),
            ("StopTxnAlignedData", ""),
            ("StopTxnAlignedDataMaxLength", "5"),
            ("StopTxnSampledData", ""),
            ("StopTxnSampledDataMaxLength", "5"),
            ("SupportedFeatureProfiles", FEATURE_PROFILES),
            ("SupportedFeatureProfilesMaxLength", "6"),
            ("TransactionMessageAttempts", "3"),
            ("TransactionMessageRetryInterval", "60"),
            ("UnlockConnectorOnEVSideDisconnect", "true"),
            ("WebSocketPingInterval", "0"),
            ("LocalAuthListEnabled", "true"),
            ("LocalAuthListMaxLength", "1000"),
            ("SendLocalListMaxLength", "100"),
            ("ReserveConnectorZeroSupported", "false"),
            ("ConnectorSwitch3to1PhaseSupported", "false"),
            ("ChargeProfileMaxStackLevel", "8"),
            ("ChargingScheduleAllowedChargingRateUnit", "Current,Power"),
            ("ChargingScheduleMaxPeriods", "24"),
            ("MaxChargingProfilesInstalled", "32"),
            ("SupportedFileTransferProtocols", "HTTP,HTTPS,FTP,FTPS"),
            ("AuthorizationKey", ""),
            ("AdditionalRootCertificateCheck", "false"),
            ("CertificateSignedMaxChainSize", "10000"),
            ("CertificateStoreMaxLength", "8"),
            ("CpoName", ""),
            ("SecurityProfile", "0"),
        ];
        Configuration {
            values: defaults
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            reboot_required: BTreeSet::new(),
        }
    }

    /// The value of `key`, if supported.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A boolean key (`false` when unset or unreadable).
    pub fn bool(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// An integer key (0 when unset or unreadable).
    pub fn int(&self, key: &str) -> u64 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// A measurand list key.
    pub fn measurands(&self, key: &str) -> Vec<Measurand> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .filter_map(|m| Measurand::from_str(m.trim()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets `key` as the charge point itself (no access check, but the value
    /// is checked); adds keys the CSMS cannot add, such as vendor keys.
    pub fn set_local(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if spec(key).is_some() {
            self.check(key, value)?;
        }
        self.values.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Removes an optional key: it becomes unknown.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(key);
    }

    /// Marks `key` as taking effect only after a reboot.
    pub fn set_reboot_required(&mut self, key: &str) {
        self.reboot_required.insert(key.to_owned());
    }

    /// A ChangeConfiguration from the CSMS: the status to answer; the value
    /// is stored on `Accepted` and `RebootRequired`.
    pub fn change(&mut self, key: &str, value: &str) -> ConfigurationStatus {
        match self.check_remote(key, value) {
            Ok(()) => {
                self.values.insert(key.to_owned(), value.to_owned());
                if self.reboot_required.contains(key) {
                    ConfigurationStatus::RebootRequired
                } else {
                    ConfigurationStatus::Accepted
                }
            }
            Err(ConfigError::Unknown(_)) => ConfigurationStatus::NotSupported,
            Err(_) => ConfigurationStatus::Rejected,
        }
    }

    fn check_remote(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        if !self.values.contains_key(key) {
            return Err(ConfigError::Unknown(key.to_owned()));
        }
        match spec(key) {
            Some(s) if s.access == Access::Read => Err(ConfigError::ReadOnly(key.to_owned())),
            Some(_) => self.check(key, value),
            // A vendor key the charge point added: writable, free text.
            None => Ok(()),
        }
    }

    fn check(&self, key: &str, value: &str) -> Result<(), ConfigError> {
        let Some(spec) = spec(key) else {
            return Ok(());
        };
        let bad = |reason: &str| ConfigError::BadValue {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        match spec.kind {
            Bool => match value {
                "true" | "false" | "True" | "False" | "TRUE" | "FALSE" => Ok(()),
                _ => Err(bad("not a boolean")),
            },
            Int => value
                .parse::<u32>()
                .map(drop)
                .map_err(|_| bad("not a non-negative integer")),
            Percent => match value.parse::<u32>() {
                Ok(p) if p <= 100 => Ok(()),
                _ => Err(bad("not a percentage")),
            },
            Measurands(max_key) => {
                let items: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let max = self.get(max_key).and_then(|v| v.parse().ok()).unwrap_or(1);
                if items.len() > max {
                    return Err(bad("more measurands than its MaxLength"));
                }
                for item in items {
                    match Measurand::from_str(item) {
                        Ok(m) if SUPPORTED_MEASURANDS.contains(&m) => {}
                        _ => return Err(bad("unsupported measurand")),
                    }
                }
                Ok(())
            }
            PhaseRotation => {
                const ROTATIONS: &[&str] = &[
                    "NotApplicable",
                    "Unknown",
                    "RST",
                    "RTS",
                    "SRT",
                    "STR",
                    "TRS",
                    "TSR",
                ];
                for item in value.split(',').map(str::trim) {
                    let ok = item
                        .split_once('.')
                        .is_some_and(|(c, r)| c.parse::<u32>().is_ok() && ROTATIONS.contains(&r));
                    if !ok {
                        return Err(bad("not a phase rotation list"));
                    }
                }
                Ok(())
            }
            List | Text => Ok(()),
            Hex40 => {
                if value.len() <= 40 && value.chars().all(|c| c.is_ascii_hexdigit()) {
                    Ok(())
                } else {
                    Err(bad("not hexadecimal of at most 40 characters"))
                }
            }
            SecurityProfile => match value.parse::<u64>() {
                Ok(p) if p <= 3 && p >= self.int("SecurityProfile") => Ok(()),
                _ => Err(bad("a security profile is 0..=3 and only increases")),
            },
        }
    }

    /// The GetConfiguration answer for `keys` (all when `None` or empty).
    pub fn report(&self, keys: Option<&[BoundedString<50>]>) -> v16::GetConfigurationResponse {
        let entry = |name: &str, value: &str| {
            let access = spec(name).map_or(Access::ReadWrite, |s| s.access);
            v16::KeyValue {
                key: BoundedString::new_unchecked(name),
                readonly: access == Access::Read,
                value: (access != Access::Write)
                    .then(|| BoundedString::new(value).ok())
                    .flatten(),
            }
        };
        let (known, unknown): (Vec<_>, Vec<_>) = match keys {
            Some(keys) if !keys.is_empty() => {
                let mut known = Vec::new();
                let mut unknown = Vec::new();
                for k in keys {
                    match self.values.get(k.as_str()) {
                        Some(v) => known.push(entry(k.as_str(), v)),
                        None => unknown.push(k.clone()),
                    }
                }
                (known, unknown)
            }
            _ => (
                self.values
                    .iter()
                    .filter(|(k, _)| k.len() <= 50)
                    .map(|(k, v)| entry(k, v))
                    .collect(),
                Vec::new(),
            ),
        };
        v16::GetConfigurationResponse {
            configuration_key: (!known.is_empty()).then_some(known),
            unknown_key: (!unknown.is_empty()).then_some(unknown),
        }
    }
}
