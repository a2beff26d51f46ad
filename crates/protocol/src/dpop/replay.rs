//! The `jti` replay cache of DPoP proofs (RFC 9449 §11.1): a proof is
//! accepted once. An entry lives as long as its proof could pass the `iat`
//! window, so the cache holds only a minute or so of proofs. It is in this
//! instance's memory: behind several instances, a proof replayed to
//! another instance within that minute is not detected (the `htm`/`htu`
//! binding, the short window and — at the token endpoint — the nonce
//! still apply). Its size is bounded: when it is full of live entries, new
//! proofs are refused (fail closed) until entries expire. Expired entries
//! are swept when it is full, at most once a second, so a full cache costs
//! no scan per request.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many live proofs the cache holds by default: about 50 MB when full,
/// enough for some 15,000 DPoP requests a second (an entry lives about 65 s).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Why a proof was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This `jti` was already used with this key.
    Replayed,
    /// The cache is full of live entries.
    Full,
}

/// Seen proofs: SHA-256 of (key thumbprint, `jti`) → expiry (unix seconds).
#[derive(Debug)]
pub struct ReplayCache {
    seen: Mutex<Seen>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Seen {
    entries: HashMap<[u8; 32], i64>,
    /// When expired entries were last swept (unix seconds).
    swept_at: i64,
}

impl ReplayCache {
    /// An empty cache of at most `capacity` live proofs.
    pub fn new(capacity: usize) -> Self {
        Self { seen: Mutex::new(Seen::default()), capacity }
    }

    fn key(jkt: &str, jti: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(jkt.as_bytes());
        hash.update([0]);
        hash.update(jti.as_bytes());
        hash.finalize().into()
    }

    /// Records the proof `jti` of the key `jkt`, kept until `expires`;
    /// refused if it was seen (and has not expired) at `now`.
    pub fn record(&self, jkt: &str, jti: &str, expires: i64, now: i64) -> Result<(), Refusal> {
        let key = Self::key(jkt, jti);
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.entries.get(&key).is_some_and(|&until| until >= now) {
            return Err(Refusal::Replayed);
        }
        if seen.entries.len() >= self.capacity {
            if now > seen.swept_at {
                seen.entries.retain(|_, until| *until >= now);
                seen.swept_at = now;
            }
            if seen.entries.len() >= self.capacity {
                return Err(Refusal::Full);
            }
        }
        seen.entries.insert(key, expires);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_accepted_once_per_key_until_it_expires() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.record("k1", "a", 160, 100), Ok(()));
        assert_eq!(cache.record("k1", "a", 160, 150), Err(Refusal::Replayed));
        assert_eq!(cache.record("k2", "a", 160, 150), Ok(()), "another key's jti is another proof");
        assert_eq!(cache.record("k1", "a", 230, 161), Ok(()), "expired: the iat window refuses it anyway");
    }

    #[test]
    fn the_size_is_bounded_expired_entries_go_first_then_it_fails_closed() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.record("k", "a", 110, 100), Ok(()));
        assert_eq!(cache.record("k", "b", 200, 100), Ok(()));
        assert_eq!(cache.record("k", "c", 200, 105), Err(Refusal::Full), "full of live entries");
        assert_eq!(cache.record("k", "c", 200, 111), Ok(()), "a's entry expired and made room");
        assert_eq!(cache.record("k", "b", 200, 112), Err(Refusal::Replayed));
    }
}
