//! Server nonces (RFC 9449 §8): stateless and rotating. A nonce is the
//! HMAC-SHA256 of its time bucket (five minutes) under a key every instance
//! derives from the key-encryption key, so any instance accepts any
//! instance's nonce and nothing is stored per nonce. The current and the
//! previous bucket are accepted: a nonce is good for five to ten minutes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The length of a nonce's time bucket, in seconds.
pub const NONCE_BUCKET_SECS: i64 = 300;

/// Issues and checks nonces. `Debug` never shows the key.
#[derive(Clone)]
pub struct Nonces {
    key: [u8; 32],
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces([redacted])")
    }
}

impl Nonces {
    /// Nonces under `key` (32 secret bytes shared by the instances).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn of_bucket(&self, bucket: i64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(b"portcullis dpop nonce ");
        mac.update(&bucket.to_be_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn bucket(now: OffsetDateTime) -> i64 {
        now.unix_timestamp().div_euclid(NONCE_BUCKET_SECS)
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: OffsetDateTime) -> String {
        self.of_bucket(Self::bucket(now))
    }

    /// Whether `nonce` is the current or the previous bucket's.
    pub fn accepts(&self, nonce: &str, now: OffsetDateTime) -> bool {
        let bucket = Self::bucket(now);
        [bucket, bucket - 1]
            .into_iter()
            .any(|b| bool::from(self.of_bucket(b).as_bytes().ct_eq(nonce.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn a_nonce_is_good_for_its_bucket_and_the_next_then_rotates() {
        let nonces = Nonces::new([7; 32]);
        let start = datetime!(2026-01-01 00:00 UTC);
        let nonce = nonces.current(start);
        assert_eq!(nonce.len(), 43);
        assert_eq!(nonces.current(start + Duration::seconds(299)), nonce, "same bucket");
        assert!(nonces.accepts(&nonce, start + Duration::seconds(299)));
        let next = start + Duration::seconds(NONCE_BUCKET_SECS);
        assert_ne!(nonces.current(next), nonce, "rotated");
        assert!(nonces.accepts(&nonce, next + Duration::seconds(299)), "the previous bucket is accepted");
        assert!(!nonces.accepts(&nonce, next + Duration::seconds(300)), "two buckets on: stale");
        assert!(!nonces.accepts(&nonce, start - Duration::seconds(1)), "not before its bucket");
    }

    #[test]
    fn nonces_depend_on_the_key_and_garbage_is_refused() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let (a, b) = (Nonces::new([1; 32]), Nonces::new([2; 32]));
        assert!(!b.accepts(&a.current(now), now));
        assert!(!a.accepts("", now));
        assert!(!a.accepts("not-a-nonce", now));
        assert_eq!(format!("{a:?}"), "Nonces([redacted])");
    }
}
