//! Meter readings of any version made into neutral [`Sample`]s: defaults
//! filled in, unit prefixes and 2.x multipliers applied.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::event::Sample;

/// The measurand that counts a transaction's energy.
pub(crate) const ENERGY_REGISTER: &str = "Energy.Active.Import.Register";

/// One reading as a message carries it, fields as wire names.
pub(crate) struct RawSample {
    pub measurand: Option<String>,
    pub phase: Option<String>,
    pub unit: Option<String>,
    /// 2.x `unitOfMeasure.multiplier` (a power of ten); 0 on 1.6.
    pub multiplier: i32,
    pub value: Decimal,
    pub timestamp: DateTime<Utc>,
    pub context: Option<String>,
    pub location: Option<String>,
}

/// The unit a measurand is in when the message names none.
fn default_unit(measurand: &str) -> &'static str {
    if measurand.starts_with("Energy.Reactive") {
        "varh"
    } else if measurand.starts_with("Energy") {
        "Wh"
    } else if measurand.starts_with("Power.Reactive") {
        "var"
    } else if measurand == "Power.Factor" {
        ""
    } else if measurand.starts_with("Power") {
        "W"
    } else if measurand.starts_with("Current") {
        "A"
    } else if measurand == "Voltage" {
        "V"
    } else if measurand == "Frequency" {
        "Hz"
    } else if measurand == "Temperature" {
        "Celsius"
    } else if measurand == "SoC" {
        "Percent"
    } else {
        ""
    }
}

/// The unit without its kilo prefix and the factor that takes it off;
/// also the one spelling for units with several.
fn base_unit(unit: &str) -> (&str, i32) {
    match unit {
        "kWh" => ("Wh", 3),
        "kW" => ("W", 3),
        "kvarh" => ("varh", 3),
        "kvar" => ("var", 3),
        "kVA" => ("VA", 3),
        "Celcius" => ("Celsius", 0),
        "Hertz" => ("Hz", 0),
        other => (other, 0),
    }
}

/// `value` × 10^`exponent`, `None` on overflow or an absurd exponent.
fn scale(value: Decimal, exponent: i32) -> Option<Decimal> {
    if !(-20..=20).contains(&exponent) {
        return None;
    }
    let factor = Decimal::from_i128_with_scale(10i128.checked_pow(exponent.unsigned_abs())?, 0);
    if exponent >= 0 {
        value.checked_mul(factor)
    } else {
        value.checked_div(factor)
    }
}

/// The neutral sample, or `None` if its value cannot be expressed.
pub(crate) fn normalise(raw: RawSample) -> Option<Sample> {
    let measurand = raw.measurand.unwrap_or_else(|| ENERGY_REGISTER.to_owned());
    let unit = raw
        .unit
        .unwrap_or_else(|| default_unit(&measurand).to_owned());
    let (unit, exponent) = base_unit(&unit);
    let value = scale(raw.value, exponent.checked_add(raw.multiplier)?)?.normalize();
    Some(Sample {
        unit: unit.to_owned(),
        measurand,
        phase: raw.phase,
        value,
        timestamp: raw.timestamp,
        context: raw.context.unwrap_or_else(|| "Sample.Periodic".to_owned()),
        location: raw.location.unwrap_or_else(|| "Outlet".to_owned()),
    })
}

/// Whether `sample` is the total energy import register (the reading a
/// transaction's energy is counted from).
pub(crate) fn is_energy_register(sample: &Sample) -> bool {
    sample.measurand == ENERGY_REGISTER && sample.phase.is_none() && sample.unit == "Wh"
}

/// The last total energy register reading among `samples`, Wh.
pub(crate) fn last_energy(samples: &[Sample]) -> Option<Decimal> {
    samples
        .iter()
        .rev()
        .find(|s| is_energy_register(s))
        .map(|s| s.value)
}

/// Takes out of `samples` the energy register reading of `context`
/// (`Transaction.Begin` or `Transaction.End`) and returns its value: in a
/// start or end message it is the meter start or stop, not an update.
pub(crate) fn take_register(samples: &mut Vec<Sample>, context: &str) -> Option<Decimal> {
    let at = samples
        .iter()
        .position(|s| is_energy_register(s) && s.context == context)?;
    Some(samples.remove(at).value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(unit: Option<&str>, multiplier: i32, value: &str) -> RawSample {
        RawSample {
            measurand: None,
            phase: None,
            unit: unit.map(str::to_owned),
            multiplier,
            value: value.parse().unwrap_or_default(),
            timestamp: DateTime::<Utc>::MIN_UTC,
            context: None,
            location: None,
        }
    }

    #[test]
    fn kilo_units_and_multipliers_become_base_units() {
        let s = normalise(raw(Some("kWh"), 0, "1.5")).unwrap();
        assert_eq!(
            (s.unit.as_str(), s.value.to_string()),
            ("Wh", "1500".into())
        );
        let s = normalise(raw(Some("Wh"), 3, "2")).unwrap();
        assert_eq!(s.value.to_string(), "2000");
        let s = normalise(raw(None, -1, "25")).unwrap();
        assert_eq!((s.unit.as_str(), s.value.to_string()), ("Wh", "2.5".into()));
        assert_eq!(s.measurand, ENERGY_REGISTER);
        assert_eq!(
            (s.context.as_str(), s.location.as_str()),
            ("Sample.Periodic", "Outlet")
        );
        assert!(normalise(raw(None, 1000, "1")).is_none());
    }

    #[test]
    fn default_units_follow_the_measurand() {
        assert_eq!(default_unit("Voltage"), "V");
        assert_eq!(default_unit("Power.Active.Import"), "W");
        assert_eq!(default_unit("Energy.Reactive.Export.Register"), "varh");
        assert_eq!(base_unit("Celcius"), ("Celsius", 0));
    }
}
