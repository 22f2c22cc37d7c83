//! Meter readings and the MeterValue samples built from them, and the
//! clock-aligned sampling instants (aligned to wall-clock midnight).

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use ocpp_types::v16::{
    Location, Measurand, MeterValue, ReadingContext, SampledValue, UnitOfMeasure,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What the meter of a connector reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Energy.Active.Import.Register in Wh (monotonic).
    pub energy_wh: i64,
    /// Power.Active.Import in W.
    #[serde(default, with = "crate::smart_charging::model::decimal_serde::option")]
    pub power_w: Option<Decimal>,
    /// Current.Import in A.
    #[serde(default, with = "crate::smart_charging::model::decimal_serde::option")]
    pub current_a: Option<Decimal>,
    /// Voltage in V.
    #[serde(default, with = "crate::smart_charging::model::decimal_serde::option")]
    pub voltage_v: Option<Decimal>,
    /// State of charge in percent.
    #[serde(default, with = "crate::smart_charging::model::decimal_serde::option")]
    pub soc: Option<Decimal>,
}

impl Reading {
    /// A reading of the energy register only.
    pub fn energy(wh: i64) -> Self {
        Reading {
            energy_wh: wh,
            ..Reading::default()
        }
    }

    fn value(&self, measurand: Measurand) -> Option<(String, UnitOfMeasure)> {
        let fmt = |d: &Decimal| d.normalize().to_string();
        match measurand {
            Measurand::EnergyActiveImportRegister => {
                Some((self.energy_wh.to_string(), UnitOfMeasure::Wh))
            }
            Measurand::PowerActiveImport => {
                self.power_w.as_ref().map(|p| (fmt(p), UnitOfMeasure::W))
            }
            Measurand::CurrentImport => self.current_a.as_ref().map(|a| (fmt(a), UnitOfMeasure::A)),
            Measurand::Voltage => self.voltage_v.as_ref().map(|v| (fmt(v), UnitOfMeasure::V)),
            Measurand::SoC => self.soc.as_ref().map(|s| (fmt(s), UnitOfMeasure::Percent)),
            _ => None,
        }
    }

    /// One MeterValue at `at` with the `measurands` this reading has
    /// (`None` when it has none of them).
    pub fn sample(
        &self,
        at: DateTime<Utc>,
        measurands: &[Measurand],
        context: ReadingContext,
    ) -> Option<MeterValue> {
        let sampled_value: Vec<SampledValue> = measurands
            .iter()
            .filter_map(|m| {
                let (value, unit) = self.value(*m)?;
                Some(SampledValue {
                    context: (context != ReadingContext::SamplePeriodic).then_some(context),
                    format: None,
                    location: match m {
                        Measurand::SoC => Some(Location::EV),
                        _ => None,
                    },
                    measurand: (*m != Measurand::EnergyActiveImportRegister).then_some(*m),
                    phase: None,
                    unit: (unit != UnitOfMeasure::Wh).then_some(unit),
                    value,
                })
            })
            .collect();
        (!sampled_value.is_empty()).then_some(MeterValue {
            sampled_value,
            timestamp: at,
        })
    }
}

/// The first clock-aligned instant strictly after `after` for an interval
/// of `interval` seconds counted from midnight UTC (`None` when off).
pub fn next_aligned(after: DateTime<Utc>, interval: u64) -> Option<DateTime<Utc>> {
    if interval == 0 {
        return None;
    }
    let midnight = after
        .with_hour(0)?
        .with_minute(0)?
        .with_second(0)?
        .with_nanosecond(0)?;
    let since = (after - midnight).num_seconds().max(0) as u64;
    let slots = since / interval + 1;
    let offset = i64::try_from(slots.checked_mul(interval)?).ok()?;
    let next = midnight.checked_add_signed(TimeDelta::try_seconds(offset)?)?;
    let next_midnight = midnight.checked_add_signed(TimeDelta::try_days(1)?)?;
    // Slots restart at every midnight.
    Some(next.min(next_midnight))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_instants_count_from_midnight() {
        let t: DateTime<Utc> = "2025-01-01T10:07:00Z".parse().unwrap();
        assert_eq!(
            next_aligned(t, 900).unwrap().to_rfc3339(),
            "2025-01-01T10:15:00+00:00"
        );
        let t: DateTime<Utc> = "2025-01-01T23:50:00Z".parse().unwrap();
        assert_eq!(
            next_aligned(t, 7 * 3600).unwrap().to_rfc3339(),
            "2025-01-02T00:00:00+00:00"
        );
        assert_eq!(next_aligned(t, 0), None);
    }

    #[test]
    fn a_sample_has_the_measurands_read() {
        let r = Reading {
            energy_wh: 1500,
            power_w: Some(Decimal::new(7200, 0)),
            ..Reading::default()
        };
        let t: DateTime<Utc> = "2025-01-01T10:00:00Z".parse().unwrap();
        let mv = r
            .sample(
                t,
                &[
                    Measurand::EnergyActiveImportRegister,
                    Measurand::PowerActiveImport,
                    Measurand::SoC,
                ],
                ReadingContext::SamplePeriodic,
            )
            .unwrap();
        assert_eq!(mv.sampled_value.len(), 2);
        assert_eq!(mv.sampled_value[0].value, "1500");
        assert_eq!(mv.sampled_value[1].unit, Some(UnitOfMeasure::W));
    }
}
