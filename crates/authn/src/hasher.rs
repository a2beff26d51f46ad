//! argon2id hashing and verification, counted, timed and run off the async
//! executor; the computation itself, on memory reused per thread, is in
//! [`compute`].

use argon2::Params;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{AuthnError, Password};
use compute::{Memory, StoredHash, new_hash};

mod compute;

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
    /// A hash of a random password at the configured cost, verified when
    /// there is no stored hash so that every verification costs the same.
    dummy: StoredHash,
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
        // On memory of its own: the thread that builds the hasher (the
        // server's main thread) keeps no argon2 buffer.
        let random = portcullis_core::random::hex_id();
        let dummy =
            new_hash(&params, random.as_bytes(), &salt(), Memory::Fresh).map_err(AuthnError::Hashing)?;
        let dummy = StoredHash::parse(&dummy).map_err(AuthnError::Hashing)?;
        Ok(Self { params, dummy, verifications: AtomicU64::new(0), observer: None })
    }

    /// Reports every hashing duration to `observer`.
    pub fn with_observer(mut self, observer: DurationObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Memory for the hashes of the calling thread: its own buffer, kept at
    /// the configured cost.
    fn memory(&self) -> Memory {
        Memory::PerThread { keep: self.params.block_count() }
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
        let salt = salt();
        self.timed(|| new_hash(&self.params, password.expose().as_bytes(), &salt, self.memory()))
            .map_err(AuthnError::Hashing)
    }

    /// Checks `password` against `stored` (a PHC string); with `None` (no such
    /// user, or no password) verifies against the dummy hash and fails.
    /// Exactly one argon2 computation either way, with the algorithm,
    /// version, parameters and salt of the stored hash.
    pub fn verify(&self, stored: Option<&str>, password: &Password) -> Verification {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let parsed = stored.and_then(|s| match StoredHash::parse(s) {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "a stored password hash cannot be verified; treating as no password");
                None
            }
        });
        let password = password.expose().as_bytes();
        let Some(hash) = parsed else {
            self.timed(|| self.dummy.matches(password, self.memory()));
            return Verification::Mismatch;
        };
        if self.timed(|| hash.matches(password, self.memory())) {
            Verification::Match { needs_rehash: !hash.is_current(&self.params) }
        } else {
            Verification::Mismatch
        }
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

/// A fresh random salt (16 bytes).
fn salt() -> [u8; 16] {
    portcullis_core::random::bytes::<16>()
}

#[cfg(test)]
mod tests;
