//! Server nonces (RFC 9449 §8): stateless and rotating. A nonce is the
//! HMAC-SHA256 of its time bucket (five minutes) under a key every instance
//! derives from the key-encryption key, so any instance accepts any
//! instance's nonce and nothing is stored per nonce. The current and the
//! previous bucket are accepted: a nonce is good for five to ten minutes.
//! Both are computed once per bucket, not per request (every `/token`
//! answer carries the current one).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// The length of a nonce's time bucket, in seconds.
pub const NONCE_BUCKET_SECS: i64 = 300;

/// Issues and checks nonces. `Debug` never shows the key.
#[derive(Clone)]
pub struct Nonces {
    key: [u8; 32],
    /// The nonces of the last bucket asked about.
    memo: Arc<Mutex<Option<Memo>>>,
}

/// A bucket's nonce and its predecessor's.
struct Memo {
    bucket: i64,
    current: String,
    previous: String,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces([redacted])")
    }
}

impl Nonces {
    /// Nonces under `key` (32 secret bytes shared by the instances).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key, memo: Arc::default() }
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

    /// (the nonce of `now`'s bucket, the previous bucket's), memoised.
    fn pair(&self, now: OffsetDateTime) -> (String, String) {
        let bucket = Self::bucket(now);
        let mut memo = self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*memo {
            Some(m) if m.bucket == bucket => (m.current.clone(), m.previous.clone()),
            _ => {
                let (current, previous) = (self.of_bucket(bucket), self.of_bucket(bucket - 1));
                *memo = Some(Memo { bucket, current: current.clone(), previous: previous.clone() });
                (current, previous)
            }
        }
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: OffsetDateTime) -> String {
        self.pair(now).0
    }

    /// Whether `nonce` is the current or the previous bucket's.
    pub fn accepts(&self, nonce: &str, now: OffsetDateTime) -> bool {
        let (current, previous) = self.pair(now);
        [current, previous].iter().any(|n| bool::from(n.as_bytes().ct_eq(nonce.as_bytes())))
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
