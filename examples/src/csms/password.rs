//! Charger passwords: stored as Argon2id PHC strings, checked against the
//! Basic-auth password of each connection.
//!
//! Hashing is slow on purpose, and the auth hook runs on the server's task:
//! a password once verified is remembered by its SHA-256 for that stored
//! hash, so reconnects cost a hash compare, not an Argon2 run.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use password_hash::rand_core::OsRng;
use password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

/// A password failed to hash.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// The PHC string of `password` with a fresh salt.
pub fn hash(password: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `phc` (an unreadable one
/// matches nothing).
pub fn verify(phc: &str, password: &[u8]) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password, &h).is_ok())
}

/// Passwords already verified, per charger: the stored hash they matched
/// and the SHA-256 of the password.
#[derive(Debug, Default)]
pub struct Verified {
    known: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Verified {
    /// Whether `password` matches `phc` for charger `id`, running Argon2
    /// only the first time (or after the password changed).
    pub fn check(&self, id: &str, phc: &str, password: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(password).into();
        let lock = || self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((stored, seen)) = lock().get(id)
            && stored == phc
        {
            return *seen == digest;
        }
        let ok = verify(phc, password);
        if ok {
            lock().insert(id.to_owned(), (phc.to_owned(), digest));
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash(b"secret").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(&phc, b"secret"));
        assert!(!verify(&phc, b"wrong"));
        assert!(!verify("not a hash", b"secret"));
    }

    #[test]
    fn the_cache_refuses_another_password_and_follows_a_new_hash() {
        let verified = Verified::default();
        let first = hash(b"one").unwrap();
        assert!(verified.check("CP", &first, b"one"));
        assert!(!verified.check("CP", &first, b"two"));
        let second = hash(b"two").unwrap();
        assert!(!verified.check("CP", &second, b"one"));
        assert!(verified.check("CP", &second, b"two"));
    }
}
