//! Message ids for outgoing CALLs and SENDs, from an injectable source so
//! that the endpoint reads no OS randomness and tests are reproducible.

/// A source of message ids: strings of at most 36 characters that never
/// repeat on one station identity.
pub trait IdGenerator: Send {
    /// The next id.
    fn next_id(&mut self) -> String;
}

/// UUID v4 ids from a seeded SplitMix64 generator. Seed it from OS
/// randomness in production (the tokio transport does), from a constant in
/// tests.
#[derive(Debug, Clone)]
pub struct RandomIds {
    state: u64,
}

impl RandomIds {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        RandomIds { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdGenerator for RandomIds {
    fn next_id(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        // Version 4, variant 10xx.
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        // Written by hand: `format!` costs more than the rest of a small
        // CALL's bookkeeping.
        let mut id = String::with_capacity(36);
        push_hex(&mut id, hi >> 32, 8);
        id.push('-');
        push_hex(&mut id, hi >> 16, 4);
        id.push('-');
        push_hex(&mut id, hi, 4);
        id.push('-');
        push_hex(&mut id, lo >> 48, 4);
        id.push('-');
        push_hex(&mut id, lo, 12);
        id
    }
}

/// Appends the low `digits` hex digits of `value`, lowercase.
fn push_hex(out: &mut String, value: u64, digits: u32) {
    for shift in (0..digits).rev() {
        let nibble = (value >> (shift * 4)) & 0xF;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

/// Ids `1`, `2`, `3`, ... with an optional prefix: readable in tests and logs.
#[derive(Debug, Clone, Default)]
pub struct SequentialIds {
    prefix: String,
    next: u64,
}

impl SequentialIds {
    /// Ids `<prefix>1`, `<prefix>2`, ...
    pub fn new(prefix: impl Into<String>) -> Self {
        SequentialIds {
            prefix: prefix.into(),
            next: 0,
        }
    }
}

impl IdGenerator for SequentialIds {
    fn next_id(&mut self) -> String {
        self.next += 1;
        let mut id = String::with_capacity(self.prefix.len() + 20);
        id.push_str(&self.prefix);
        push_decimal(&mut id, self.next);
        id
    }
}

/// Appends `value` in decimal.
fn push_decimal(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut n = value;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_uuid_v4_and_reproducible() {
        let mut a = RandomIds::new(7);
        let mut b = RandomIds::new(7);
        let id = a.next_id();
        assert_eq!(id, b.next_id());
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(a.next_id(), id);
        let hex = |c: char| c.is_ascii_hexdigit() && !c.is_ascii_uppercase();
        assert!(id.split('-').map(str::len).eq([8, 4, 4, 4, 12]));
        assert!(id.chars().all(|c| c == '-' || hex(c)), "{id}");
    }

    #[test]
    fn sequential_ids_count_from_one() {
        let mut ids = SequentialIds::new("cp-");
        assert_eq!(ids.next_id(), "cp-1");
        ids.next = 9;
        assert_eq!(ids.next_id(), "cp-10");
        ids.next = u64::MAX - 1;
        assert_eq!(ids.next_id(), format!("cp-{}", u64::MAX));
    }
}
