//! argon2id hashing and verification, counted, timed and run off the async executor.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{AuthnError, Password};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Passes (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Self { memory_kib: 19456, iterations: 2, parallelism: 1 }
    }
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `needs_rehash` when the stored hash uses other
    /// parameters than the configured ones.
    Match {
        /// Upgrade the stored hash.
        needs_rehash: bool,
    },
    /// It does not (or there was nothing to match).
    Mismatch,
}

/// Called with the duration of every hash or verification (for a histogram).
pub type DurationObserver = Arc<dyn Fn(Duration) + Send + Sync>;

/// Hashes and verifies passwords with one set of parameters.
pub struct PasswordHasher {
    params: Params,
    dummy: String,
    verifications: AtomicU64,
    observer: Option<DurationObserver>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("verifications", &self.verifications())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Checks the parameters and computes the dummy hash (one hash, at start).
    pub fn new(cost: Argon2Cost) -> Result<Self, AuthnError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| AuthnError::Parameters(e.to_string()))?;
        let mut hasher =
            Self { params, dummy: String::new(), verifications: AtomicU64::new(0), observer: None };
        let random = portcullis_core::random::hex_id();
        hasher.dummy = hasher.hash(&Password::new(random))?;
        Ok(hasher)
    }

    /// Reports every hashing duration to `observer`.
    pub fn with_observer(mut self, observer: DurationObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        if let Some(observer) = &self.observer {
            observer(started.elapsed());
        }
        out
    }

    /// A new PHC string for `password`, with a fresh random salt.
    pub fn hash(&self, password: &Password) -> Result<String, AuthnError> {
        let salt = portcullis_core::random::bytes::<16>();
        self.timed(|| self.argon2().hash_password_with_salt(password.expose().as_bytes(), &salt))
            .map(|h| h.to_string())
            .map_err(|e| AuthnError::Hashing(e.to_string()))
    }

    /// Checks `password` against `stored` (a PHC string); with `None` (no such
    /// user, or no password) verifies against the dummy hash and fails.
    /// Exactly one argon2 verification either way.
    pub fn verify(&self, stored: Option<&str>, password: &Password) -> Verification {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let parsed = stored.and_then(|s| match PasswordHash::new(s) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "a stored password hash cannot be parsed; treating as no password");
                None
            }
        });
        let Some(hash) = parsed else {
            let dummy = PasswordHash::new(&self.dummy);
            let _ =
                self.timed(|| dummy.map(|d| self.argon2().verify_password(password.expose().as_bytes(), &d)));
            return Verification::Mismatch;
        };
        match self.timed(|| self.argon2().verify_password(password.expose().as_bytes(), &hash)) {
            Ok(()) => Verification::Match { needs_rehash: self.is_outdated(&hash) },
            Err(_) => Verification::Mismatch,
        }
    }

    /// True when `hash` was made with another algorithm or other parameters.
    fn is_outdated(&self, hash: &PasswordHash) -> bool {
        let current = (self.params.m_cost(), self.params.t_cost(), self.params.p_cost());
        hash.algorithm.as_str() != Algorithm::Argon2id.as_str()
            || hash.version != Some(Version::V0x13.into())
            || Params::try_from(hash).map(|p| (p.m_cost(), p.t_cost(), p.p_cost())).ok() != Some(current)
    }

    /// How many verifications this hasher has run (dummy ones included).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// [`Self::verify`] on the blocking pool, in a span.
    pub async fn verify_blocking(
        self: &Arc<Self>,
        stored: Option<String>,
        password: Password,
    ) -> Verification {
        let hasher = self.clone();
        let span = tracing::info_span!("argon2_verify");
        tokio::task::spawn_blocking(move || span.in_scope(|| hasher.verify(stored.as_deref(), &password)))
            .await
            .unwrap_or(Verification::Mismatch)
    }

    /// [`Self::hash`] on the blocking pool, in a span.
    pub async fn hash_blocking(self: &Arc<Self>, password: Password) -> Result<String, AuthnError> {
        let hasher = self.clone();
        let span = tracing::info_span!("argon2_hash");
        tokio::task::spawn_blocking(move || span.in_scope(|| hasher.hash(&password)))
            .await
            .map_err(|e| AuthnError::Hashing(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(memory_kib: u32) -> PasswordHasher {
        PasswordHasher::new(Argon2Cost { memory_kib, iterations: 1, parallelism: 1 }).expect("valid")
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let hasher = cheap(64);
        let a = hasher.hash(&Password::new("correct horse")).expect("hash");
        let b = hasher.hash(&Password::new("correct horse")).expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b);
        let right = hasher.verify(Some(&a), &Password::new("correct horse"));
        assert_eq!(right, Verification::Match { needs_rehash: false });
        assert_eq!(hasher.verify(Some(&a), &Password::new("wrong horse")), Verification::Mismatch);
        assert_eq!(hasher.verify(None, &Password::new("correct horse")), Verification::Mismatch);
        assert_eq!(hasher.verify(Some("garbage"), &Password::new("x")), Verification::Mismatch);
        assert_eq!(hasher.verifications(), 4);
    }

    #[test]
    fn outdated_parameters_ask_for_a_rehash() {
        let old = cheap(64).hash(&Password::new("correct horse")).expect("hash");
        let newer = cheap(128);
        assert_eq!(
            newer.verify(Some(&old), &Password::new("correct horse")),
            Verification::Match { needs_rehash: true }
        );
    }

    #[test]
    fn owasp_defaults_and_bad_parameters() {
        assert_eq!(Argon2Cost::default(), Argon2Cost { memory_kib: 19456, iterations: 2, parallelism: 1 });
        let err = PasswordHasher::new(Argon2Cost { memory_kib: 1, iterations: 1, parallelism: 1 });
        assert!(matches!(err, Err(AuthnError::Parameters(_))));
    }
}
