//! The device model (OCPP-FACTS §6.5): the components and variables the
//! station reports, their mutability, data types and limits, and the
//! validation of a written value. Values set by the CSMS live in the
//! durable [`State`](super::State); the rest are defaults or read live.

use std::collections::{BTreeMap, HashMap};

use ocpp_types::v21::{Component, DataEnum, MutabilityEnum, Variable};
use rust_decimal::Decimal;

/// One variable of one component.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableDef {
    /// The component's name.
    pub component: String,
    /// The component's instance.
    pub component_instance: Option<String>,
    /// The EVSE the component sits on.
    pub evse: Option<i32>,
    /// The connector (with `evse`) the component sits on.
    pub connector: Option<i32>,
    /// The variable's name.
    pub name: String,
    /// The variable's instance.
    pub instance: Option<String>,
    /// Who may read and write it.
    pub mutability: MutabilityEnum,
    /// The data type.
    pub data_type: DataEnum,
    /// The value until the CSMS writes one.
    pub default: String,
    /// The allowed values (OptionList, MemberList, SequenceList).
    pub values_list: Option<String>,
    /// The unit.
    pub unit: Option<String>,
    /// The smallest value (numbers) or length (strings).
    pub min: Option<Decimal>,
    /// The largest value (numbers) or length (strings).
    pub max: Option<Decimal>,
    /// A write takes effect after a reboot.
    pub reboot_required: bool,
    /// Read live from the machine's state, never stored.
    pub live: bool,
}

impl VariableDef {
    fn new(
        component: &str,
        name: &str,
        mutability: MutabilityEnum,
        data_type: DataEnum,
        default: &str,
    ) -> Self {
        VariableDef {
            component: component.to_owned(),
            component_instance: None,
            evse: None,
            connector: None,
            name: name.to_owned(),
            instance: None,
            mutability,
            data_type,
            default: default.to_owned(),
            values_list: None,
            unit: None,
            min: None,
            max: None,
            reboot_required: false,
            live: false,
        }
    }

    fn instance(mut self, instance: &str) -> Self {
        self.instance = Some(instance.to_owned());
        self
    }

    fn values(mut self, list: &str) -> Self {
        self.values_list = Some(list.to_owned());
        self
    }

    fn limits(mut self, min: i64, max: i64) -> Self {
        self.min = Some(Decimal::from(min));
        self.max = Some(Decimal::from(max));
        self
    }

    fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    fn live(mut self) -> Self {
        self.live = true;
        self
    }

    fn on(mut self, evse: i32, connector: Option<i32>) -> Self {
        self.evse = Some(evse);
        self.connector = connector;
        self
    }

    fn reboot(mut self) -> Self {
        self.reboot_required = true;
        self
    }

    /// The durable key of this variable.
    pub fn key(&self) -> String {
        key(
            &self.component,
            self.component_instance.as_deref(),
            self.evse,
            self.connector,
            &self.name,
            self.instance.as_deref(),
        )
    }

    /// Checks that `value` is allowed here.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        let number = |v: &str| -> Result<Decimal, String> {
            v.parse::<Decimal>()
                .map_err(|_| format!("`{v}` is not a number"))
        };
        let in_limits = |n: Decimal| -> Result<(), String> {
            if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                return Err(format!("{n} is out of range"));
            }
            Ok(())
        };
        let allowed = |v: &str| -> bool {
            self.values_list
                .as_deref()
                .is_none_or(|list| list.split(',').any(|a| a.trim() == v))
        };
        match self.data_type {
            DataEnum::Integer => {
                value
                    .parse::<i32>()
                    .map_err(|_| format!("`{value}` is not an integer"))?;
                in_limits(number(value)?)
            }
            DataEnum::Decimal => in_limits(number(value)?),
            DataEnum::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => Err(format!("`{value}` is not a boolean")),
            },
            DataEnum::DateTime => value
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map(|_| ())
                .map_err(|_| format!("`{value}` is not a date-time")),
            DataEnum::OptionList => {
                if allowed(value) {
                    Ok(())
                } else {
                    Err(format!("`{value}` is not an option"))
                }
            }
            DataEnum::MemberList | DataEnum::SequenceList => {
                let mut seen = Vec::new();
                for member in value.split(',').map(str::trim) {
                    if member.is_empty() || !allowed(member) || seen.contains(&member) {
                        return Err(format!("`{member}` is not an allowed member"));
                    }
                    seen.push(member);
                }
                Ok(())
            }
            DataEnum::String => {
                let len = Decimal::from(value.chars().count());
                if self.max.is_some_and(|m| len > m) {
                    return Err("too long".to_owned());
                }
                Ok(())
            }
        }
    }
}

/// The durable key of a variable.
pub(crate) fn key(
    component: &str,
    component_instance: Option<&str>,
    evse: Option<i32>,
    connector: Option<i32>,
    name: &str,
    instance: Option<&str>,
) -> String {
    let mut k = component.to_owned();
    if let Some(i) = component_instance {
        k.push_str(&format!("[{i}]"));
    }
    if let Some(e) = evse {
        k.push_str(&format!("@{e}"));
        if let Some(c) = connector {
            k.push_str(&format!(".{c}"));
        }
    }
    k.push('/');
    k.push_str(name);
    if let Some(i) = instance {
        k.push_str(&format!("[{i}]"));
    }
    k
}

/// Names that OCA's tables spell two ways (OCPP-FACTS §6.5): the
/// alternative and the name used here.
const ALIASES: &[(&str, &str)] = &[
    ("LocalAuthorizationOffline", "LocalAuthorizeOffline"),
    ("LocalPreAuthorization", "LocalPreAuthorize"),
];

/// Why a component/variable pair is not in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    UnknownComponent,
    UnknownVariable,
}

/// The station's device model.
#[derive(Debug, Clone)]
pub struct DeviceModel {
    defs: Vec<VariableDef>,
    index: HashMap<String, usize>,
}

/// The measurands this machine can sample.
pub(crate) const MEASURANDS: &str =
    "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC";
const TX_POINTS: &str =
    "ParkingBayOccupancy,EVConnected,Authorized,DataSigned,PowerPathClosed,EnergyTransfer";

impl DeviceModel {
    /// The model of a station with `connectors[i]` connectors on EVSE `i + 1`.
    pub fn new(connectors: &[u32], connector_type: &str, organization: &str) -> Self {
        use DataEnum as D;
        use MutabilityEnum as M;
        let v = VariableDef::new;
        let mut defs = vec![
            v(
                "OCPPCommCtrlr",
                "FileTransferProtocols",
                M::ReadOnly,
                D::MemberList,
                "HTTPS",
            )
            .values("FTP,FTPS,HTTP,HTTPS,SFTP"),
            v(
                "OCPPCommCtrlr",
                "MessageTimeout",
                M::ReadOnly,
                D::Integer,
                "30",
            )
            .instance("Default")
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "MessageAttempts",
                M::ReadWrite,
                D::Integer,
                "3",
            )
            .instance("TransactionEvent")
            .limits(1, 100),
            v(
                "OCPPCommCtrlr",
                "MessageAttemptInterval",
                M::ReadWrite,
                D::Integer,
                "60",
            )
            .instance("TransactionEvent")
            .limits(0, 86_400)
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "NetworkConfigurationPriority",
                M::ReadWrite,
                D::SequenceList,
                "0",
            )
            .values("0,1,2,3,4,5,6,7,8,9")
            .reboot(),
            v(
                "OCPPCommCtrlr",
                "NetworkProfileConnectionAttempts",
                M::ReadWrite,
                D::Integer,
                "3",
            )
            .limits(0, 100),
            v(
                "OCPPCommCtrlr",
                "OfflineThreshold",
                M::ReadWrite,
                D::Integer,
                "60",
            )
            .limits(0, i32::MAX.into())
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "ResetRetries",
                M::ReadWrite,
                D::Integer,
                "2",
            )
            .limits(0, 100),
            v(
                "OCPPCommCtrlr",
                "RetryBackOffRandomRange",
                M::ReadWrite,
                D::Integer,
                "10",
            )
            .limits(0, 3600)
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "RetryBackOffRepeatTimes",
                M::ReadWrite,
                D::Integer,
                "3",
            )
            .limits(0, 100),
            v(
                "OCPPCommCtrlr",
                "RetryBackOffWaitMinimum",
                M::ReadWrite,
                D::Integer,
                "5",
            )
            .limits(0, 3600)
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "UnlockOnEVSideDisconnect",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "OCPPCommCtrlr",
                "WebSocketPingInterval",
                M::ReadWrite,
                D::Integer,
                "30",
            )
            .limits(0, 3600)
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "HeartbeatInterval",
                M::ReadWrite,
                D::Integer,
                "300",
            )
            .limits(1, 86_400)
            .unit("s"),
            v(
                "OCPPCommCtrlr",
                "QueueAllMessages",
                M::ReadWrite,
                D::Boolean,
                "false",
            ),
            v(
                "SecurityCtrlr",
                "OrganizationName",
                M::ReadWrite,
                D::String,
                organization,
            )
            .limits(0, 50),
            v(
                "SecurityCtrlr",
                "CertificateEntries",
                M::ReadOnly,
                D::Integer,
                "0",
            ),
            v(
                "SecurityCtrlr",
                "SecurityProfile",
                M::ReadOnly,
                D::Integer,
                "1",
            ),
            v(
                "SecurityCtrlr",
                "BasicAuthPassword",
                M::WriteOnly,
                D::String,
                "",
            )
            .limits(16, 40)
            .reboot(),
            v("ClockCtrlr", "DateTime", M::ReadOnly, D::DateTime, "").live(),
            v(
                "ClockCtrlr",
                "TimeSource",
                M::ReadWrite,
                D::SequenceList,
                "Heartbeat",
            )
            .values("Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork,RadioTimeTransmitter"),
            // A clock jump beyond this is the security event SettingSystemTime (0: none is).
            v(
                "ClockCtrlr",
                "TimeAdjustmentReportingThreshold",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, 86_400)
            .unit("s"),
            v("AuthCtrlr", "Enabled", M::ReadWrite, D::Boolean, "true"),
            v(
                "AuthCtrlr",
                "AuthorizeRemoteStart",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "AuthCtrlr",
                "LocalAuthorizeOffline",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "AuthCtrlr",
                "LocalPreAuthorize",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "AuthCtrlr",
                "OfflineTxForUnknownIdEnabled",
                M::ReadWrite,
                D::Boolean,
                "false",
            ),
            // C16: a token of this group stops every transaction (empty: none).
            v(
                "AuthCtrlr",
                "MasterPassGroupId",
                M::ReadWrite,
                D::String,
                "",
            )
            .limits(0, 36),
            v(
                "AuthCacheCtrlr",
                "Enabled",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "AuthCacheCtrlr",
                "Available",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "AuthCacheCtrlr",
                "LifeTime",
                M::ReadWrite,
                D::Integer,
                "86400",
            )
            .limits(0, i32::MAX.into())
            .unit("s"),
            v(
                "LocalAuthListCtrlr",
                "Enabled",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "LocalAuthListCtrlr",
                "Available",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "LocalAuthListCtrlr",
                "Entries",
                M::ReadOnly,
                D::Integer,
                "0",
            )
            .limits(0, 1000)
            .live(),
            v(
                "LocalAuthListCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "100",
            ),
            v(
                "LocalAuthListCtrlr",
                "BytesPerMessage",
                M::ReadOnly,
                D::Integer,
                "16384",
            ),
            v(
                "TxCtrlr",
                "EVConnectionTimeOut",
                M::ReadWrite,
                D::Integer,
                "60",
            )
            .limits(0, 3600)
            .unit("s"),
            v(
                "TxCtrlr",
                "StopTxOnEVSideDisconnect",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "TxCtrlr",
                "StopTxOnInvalidId",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "TxCtrlr",
                "TxStartPoint",
                M::ReadWrite,
                D::MemberList,
                "PowerPathClosed",
            )
            .values(TX_POINTS),
            v(
                "TxCtrlr",
                "TxStopPoint",
                M::ReadWrite,
                D::MemberList,
                "EVConnected,Authorized",
            )
            .values(TX_POINTS),
            v(
                "TxCtrlr",
                "TxBeforeAcceptedEnabled",
                M::ReadWrite,
                D::Boolean,
                "false",
            ),
            v(
                "TxCtrlr",
                "MaxEnergyOnInvalidId",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, i32::MAX.into())
            .unit("Wh"),
            v(
                "SampledDataCtrlr",
                "Enabled",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "SampledDataCtrlr",
                "TxStartedMeasurands",
                M::ReadWrite,
                D::MemberList,
                "Energy.Active.Import.Register",
            )
            .values(MEASURANDS),
            v(
                "SampledDataCtrlr",
                "TxUpdatedMeasurands",
                M::ReadWrite,
                D::MemberList,
                "Energy.Active.Import.Register",
            )
            .values(MEASURANDS),
            v(
                "SampledDataCtrlr",
                "TxUpdatedInterval",
                M::ReadWrite,
                D::Integer,
                "60",
            )
            .limits(0, 86_400)
            .unit("s"),
            v(
                "SampledDataCtrlr",
                "TxEndedMeasurands",
                M::ReadWrite,
                D::MemberList,
                "Energy.Active.Import.Register",
            )
            .values(MEASURANDS),
            v(
                "SampledDataCtrlr",
                "TxEndedInterval",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, 86_400)
            .unit("s"),
            v(
                "AlignedDataCtrlr",
                "Enabled",
                M::ReadWrite,
                D::Boolean,
                "true",
            ),
            v(
                "AlignedDataCtrlr",
                "Interval",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, 86_400)
            .unit("s"),
            v(
                "AlignedDataCtrlr",
                "Measurands",
                M::ReadWrite,
                D::MemberList,
                "Energy.Active.Import.Register",
            )
            .values(MEASURANDS),
            v(
                "AlignedDataCtrlr",
                "TxEndedInterval",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, 86_400)
            .unit("s"),
            v(
                "AlignedDataCtrlr",
                "TxEndedMeasurands",
                M::ReadWrite,
                D::MemberList,
                "Energy.Active.Import.Register",
            )
            .values(MEASURANDS),
            v(
                "AlignedDataCtrlr",
                "SendDuringIdle",
                M::ReadWrite,
                D::Boolean,
                "false",
            ),
            v(
                "MonitoringCtrlr",
                "Enabled",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "MonitoringCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "8",
            )
            .instance("SetVariableMonitoring"),
            v(
                "MonitoringCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "8",
            )
            .instance("ClearVariableMonitoring"),
            v(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "4",
            )
            .instance("GetReport"),
            v(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "16",
            )
            .instance("GetVariables"),
            v(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                M::ReadOnly,
                D::Integer,
                "16",
            )
            .instance("SetVariables"),
            v(
                "DeviceDataCtrlr",
                "BytesPerMessage",
                M::ReadOnly,
                D::Integer,
                "65536",
            )
            .instance("GetReport"),
            v(
                "DeviceDataCtrlr",
                "BytesPerMessage",
                M::ReadOnly,
                D::Integer,
                "65536",
            )
            .instance("GetVariables"),
            v(
                "DeviceDataCtrlr",
                "BytesPerMessage",
                M::ReadOnly,
                D::Integer,
                "65536",
            )
            .instance("SetVariables"),
            v(
                "SmartChargingCtrlr",
                "Enabled",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "SmartChargingCtrlr",
                "ProfileStackLevel",
                M::ReadOnly,
                D::Integer,
                "8",
            ),
            v(
                "SmartChargingCtrlr",
                "RateUnit",
                M::ReadOnly,
                D::MemberList,
                "A,W",
            )
            .values("A,W"),
            v(
                "SmartChargingCtrlr",
                "PeriodsPerSchedule",
                M::ReadOnly,
                D::Integer,
                "24",
            ),
            v(
                "SmartChargingCtrlr",
                "Entries",
                M::ReadOnly,
                D::Integer,
                "0",
            )
            .instance("ChargingProfiles")
            .limits(0, 32)
            .live(),
            v(
                "SmartChargingCtrlr",
                "LimitChangeSignificance",
                M::ReadWrite,
                D::Integer,
                "10",
            )
            .limits(0, 100)
            .unit("Percent"),
            v(
                "ReservationCtrlr",
                "Enabled",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "ReservationCtrlr",
                "NonEvseSpecific",
                M::ReadOnly,
                D::Boolean,
                "false",
            ),
            v(
                "ChargingStation",
                "AvailabilityState",
                M::ReadOnly,
                D::OptionList,
                "Available",
            )
            .values("Available,Occupied,Reserved,Unavailable,Faulted")
            .live(),
            v(
                "ChargingStation",
                "Available",
                M::ReadOnly,
                D::Boolean,
                "true",
            ),
            v(
                "ChargingStation",
                "SupplyPhases",
                M::ReadOnly,
                D::Integer,
                "3",
            )
            .limits(0, 3),
        ];
        for (i, &count) in connectors.iter().enumerate() {
            let evse = i32::try_from(i + 1).unwrap_or(i32::MAX);
            defs.push(
                v(
                    "EVSE",
                    "AvailabilityState",
                    M::ReadOnly,
                    D::OptionList,
                    "Available",
                )
                .values("Available,Occupied,Reserved,Unavailable,Faulted")
                .on(evse, None)
                .live(),
            );
            defs.push(v("EVSE", "Available", M::ReadOnly, D::Boolean, "true").on(evse, None));
            defs.push(
                v("EVSE", "Power", M::ReadOnly, D::Decimal, "22000")
                    .unit("W")
                    .on(evse, None),
            );
            defs.push(v("EVSE", "AllowReset", M::ReadOnly, D::Boolean, "true").on(evse, None));
            for c in 1..=count {
                let connector = i32::try_from(c).unwrap_or(i32::MAX);
                defs.push(
                    v(
                        "Connector",
                        "AvailabilityState",
                        M::ReadOnly,
                        D::OptionList,
                        "Available",
                    )
                    .values("Available,Occupied,Reserved,Unavailable,Faulted")
                    .on(evse, Some(connector))
                    .live(),
                );
                defs.push(
                    v("Connector", "Available", M::ReadOnly, D::Boolean, "true")
                        .on(evse, Some(connector)),
                );
                defs.push(
                    v(
                        "Connector",
                        "ConnectorType",
                        M::ReadOnly,
                        D::String,
                        connector_type,
                    )
                    .on(evse, Some(connector)),
                );
            }
        }
        let index = defs.iter().enumerate().map(|(i, d)| (d.key(), i)).collect();
        DeviceModel { defs, index }
    }

    /// Adds the variables only 2.1 defines (B13 transaction resumption);
    /// a 2.0.1 station does not report them.
    pub(crate) fn with_v21_variables(mut self) -> Self {
        use DataEnum as D;
        use MutabilityEnum as M;
        let v = VariableDef::new;
        // 0: Reset ImmediateAndResume is not supported (B13.FR.01).
        self.defs.push(
            v(
                "TxCtrlr",
                "TxResumptionTimeout",
                M::ReadWrite,
                D::Integer,
                "0",
            )
            .limits(0, 86_400)
            .unit("s"),
        );
        self.defs.push(v(
            "TxCtrlr",
            "TxAllowEnergyTransferResumption",
            M::ReadWrite,
            D::Boolean,
            "false",
        ));
        self.index = self
            .defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.key(), i))
            .collect();
        self
    }

    /// Every variable, in report order.
    pub fn variables(&self) -> &[VariableDef] {
        &self.defs
    }

    /// The variable under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&VariableDef> {
        self.index.get(key).and_then(|&i| self.defs.get(i))
    }

    /// The variable a message names.
    pub(crate) fn find(
        &self,
        component: &Component,
        variable: &Variable,
    ) -> Result<&VariableDef, Lookup> {
        let evse = component.evse.as_ref().map(|e| e.id);
        let connector = component.evse.as_ref().and_then(|e| e.connector_id);
        let comp_instance = component.instance.as_ref().map(|s| s.as_str());
        let matches_component = |d: &VariableDef| {
            d.component == component.name.as_str()
                && d.component_instance.as_deref() == comp_instance
                && d.evse == evse
                && d.connector == connector
        };
        if !self.defs.iter().any(matches_component) {
            return Err(Lookup::UnknownComponent);
        }
        let name = variable.name.as_str();
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, real)| real);
        let instance = variable.instance.as_ref().map(|s| s.as_str());
        self.defs
            .iter()
            .find(|d| matches_component(d) && d.name == name && d.instance.as_deref() == instance)
            .ok_or(Lookup::UnknownVariable)
    }
}

/// The stored value of `key`, else the default.
pub(crate) fn stored<'a>(
    model: &'a DeviceModel,
    values: &'a BTreeMap<String, String>,
    key: &str,
) -> Option<&'a str> {
    values
        .get(key)
        .map(String::as_str)
        .or_else(|| model.get(key).map(|d| d.default.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_by_type() {
        let model = DeviceModel::new(&[1], "cType2", "Org");
        let get = |k: &str| model.get(k).cloned().unwrap_or_else(|| panic!("{k}"));
        let attempts = get("OCPPCommCtrlr/MessageAttempts[TransactionEvent]");
        assert!(attempts.validate("5").is_ok());
        assert!(attempts.validate("0").is_err());
        assert!(attempts.validate("x").is_err());
        let start = get("TxCtrlr/TxStartPoint");
        assert!(start.validate("EVConnected,Authorized").is_ok());
        assert!(start.validate("EVConnected,Bogus").is_err());
        assert!(start.validate("EVConnected,EVConnected").is_err());
        assert!(get("AuthCtrlr/Enabled").validate("yes").is_err());
        assert!(get("Connector@1.1/ConnectorType").validate("x").is_ok());
    }
}
