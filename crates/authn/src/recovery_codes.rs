//! Recovery codes: ten single-use codes of 80 random bits each, shown once
//! and stored as SHA-256 hashes (80 bits make a fast hash safe: there is
//! nothing to guess offline). Regenerating replaces them all.

use data_encoding::BASE32_NOPAD;
use portcullis_store::Store;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AuthnError;

/// How many codes a set has.
pub const CODES: usize = 10;

/// A new code: 16 base32 characters in four groups, lowercase (`abcd-efgh-ijkl-mnop`).
fn generate() -> String {
    let text = BASE32_NOPAD.encode(&portcullis_core::random::bytes::<10>()).to_lowercase();
    text.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// The stored form of a code as typed (case, spaces and dashes ignored).
pub fn hash(typed: &str) -> String {
    let normal: String =
        typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// A new set of [`CODES`] codes: the codes (to show once) and their hashes
/// (to store).
pub fn new_set() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..CODES).map(|_| generate()).collect();
    let hashes = codes.iter().map(|c| hash(c)).collect();
    (codes, hashes)
}

/// Replaces the user's codes by [`CODES`] new ones; returns them, to show once.
pub async fn regenerate(
    store: &dyn Store,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<Vec<String>, AuthnError> {
    let (codes, hashes) = new_set();
    store.replace_recovery_codes(user_id, &hashes, now).await?;
    Ok(codes)
}

/// Uses `typed` if it is one of the user's unused codes: true once, then false.
pub async fn redeem(
    store: &dyn Store,
    user_id: Uuid,
    typed: &str,
    now: OffsetDateTime,
) -> Result<bool, AuthnError> {
    if typed.trim().is_empty() || typed.len() > 64 {
        return Ok(false);
    }
    Ok(store.use_recovery_code(user_id, &hash(typed), now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_typing_is_forgiving() {
        let codes: Vec<String> = (0..CODES).map(|_| generate()).collect();
        assert_eq!(codes[0].len(), 19, "{}", codes[0]);
        assert!(codes.iter().all(|c| c.split('-').count() == 4));
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), CODES);
        assert_eq!(hash(&codes[0]), hash(&codes[0].to_uppercase().replace('-', " ")));
        assert_ne!(hash(&codes[0]), hash(&codes[1]));
    }
}
