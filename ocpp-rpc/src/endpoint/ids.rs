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
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
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
        format!("{}{}", self.prefix, self.next)
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
    }
}
