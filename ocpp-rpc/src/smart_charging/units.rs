//! Conversion between amperes per phase and watts.
//!
//! `A` limits are per phase, `W` limits are the total over all phases; on
//! AC, `P = I × U × phases` with the phase-to-neutral voltage `U`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::model::RateUnit;

/// The electrical parameters used to convert between `A` and `W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Electrical {
    /// Phase-to-neutral voltage in volts (default 230).
    #[serde(with = "super::model::decimal_serde")]
    pub voltage: Decimal,
    /// Phases assumed when a period gives no `numberPhases` (default 3).
    pub default_phases: i32,
}

impl Default for Electrical {
    fn default() -> Self {
        Electrical {
            voltage: Decimal::from(230),
            default_phases: 3,
        }
    }
}

impl Electrical {
    /// The phases of a period: its own `numberPhases` if it is 1 to 3, else
    /// the default.
    pub fn phases(&self, number_phases: Option<i32>) -> i32 {
        match number_phases {
            Some(n @ 1..=3) => n,
            _ => self.default_phases.clamp(1, 3),
        }
    }

    /// `value` in unit `from`, expressed in unit `to`, for a load on
    /// `phases` phases. Exact (no rounding); a zero voltage converts W to
    /// 0 A.
    pub fn convert(&self, value: Decimal, from: RateUnit, to: RateUnit, phases: i32) -> Decimal {
        let factor = self.voltage * Decimal::from(phases.clamp(1, 3));
        match (from, to) {
            (RateUnit::A, RateUnit::W) => value * factor,
            (RateUnit::W, RateUnit::A) => value.checked_div(factor).unwrap_or(Decimal::ZERO),
            _ => value,
        }
    }
}

/// `value` rounded down to the 0.1 steps of OCPP limits (`multipleOf 0.1`),
/// so that a rounded limit never exceeds the exact one.
pub fn floor_tenth(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(1, RoundingStrategy::ToNegativeInfinity)
        .normalize()
}

/// `value` rounded up to a 0.1 step.
pub fn ceil_tenth(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(1, RoundingStrategy::ToPositiveInfinity)
        .normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn amps_to_watts_and_back() {
        let e = Electrical::default();
        assert_eq!(e.convert(d("16"), RateUnit::A, RateUnit::W, 3), d("11040"));
        assert_eq!(e.convert(d("16"), RateUnit::A, RateUnit::W, 1), d("3680"));
        assert_eq!(e.convert(d("11040"), RateUnit::W, RateUnit::A, 3), d("16"));
        assert_eq!(
            floor_tenth(e.convert(d("11000"), RateUnit::W, RateUnit::A, 3)),
            d("15.9")
        );
        assert_eq!(e.phases(None), 3);
        assert_eq!(e.phases(Some(1)), 1);
        assert_eq!(e.phases(Some(7)), 3);
    }

    #[test]
    fn rounding_to_tenths() {
        assert_eq!(floor_tenth(d("15.99")), d("15.9"));
        assert_eq!(ceil_tenth(d("6.01")), d("6.1"));
        assert_eq!(floor_tenth(d("6")), d("6"));
    }
}
