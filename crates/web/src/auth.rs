//! The sign-in settings of [`crate::AppState`]: the hasher, the policies,
//! session timeouts, passkeys and the authentication metrics.

use portcullis_authn::{
    DurationObserver, Lockouts, MfaPolicy, Passkeys, PasswordHasher, PasswordPolicy, SessionPolicy,
};
use portcullis_keys::Kek;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry};
use std::net::IpAddr;
use std::sync::Arc;

/// Sign-in attempts by outcome and argon2 durations.
#[derive(Debug, Clone)]
pub struct AuthMetrics {
    /// `portcullis_signin_attempts_total{outcome}`.
    pub signins: IntCounterVec,
    /// `portcullis_password_hash_duration_seconds`.
    pub hash_seconds: Histogram,
}

impl AuthMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let signins = IntCounterVec::new(
            Opts::new("portcullis_signin_attempts_total", "Password sign-in attempts, by outcome"),
            &["outcome"],
        )?;
        let hash_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "portcullis_password_hash_duration_seconds",
                "Time of one argon2 hash or verification",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
        )?;
        registry.register(Box::new(signins.clone()))?;
        registry.register(Box::new(hash_seconds.clone()))?;
        Ok(Self { signins, hash_seconds })
    }

    /// An observer for [`PasswordHasher::with_observer`].
    pub fn hash_observer(&self) -> DurationObserver {
        let histogram = self.hash_seconds.clone();
        Arc::new(move |d| histogram.observe(d.as_secs_f64()))
    }
}

/// The sign-in settings ([`crate::AppState::auth`]).
#[derive(Debug, Clone)]
pub struct Auth {
    /// Hashes and verifies passwords.
    pub hasher: Arc<PasswordHasher>,
    /// The password policy.
    pub policy: PasswordPolicy,
    /// Back-off after failures.
    pub lockouts: Lockouts,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Sign-in metrics.
    pub metrics: AuthMetrics,
    /// Who must use a second factor.
    pub mfa: MfaPolicy,
    /// The WebAuthn relying party; `None` when the issuer's host is not a
    /// domain name (browsers refuse IP addresses), which disables passkeys.
    pub passkeys: Option<Arc<Passkeys>>,
    /// Seals TOTP secrets at rest.
    pub kek: Arc<Kek>,
    /// The issuer name authenticator apps show.
    pub totp_issuer: String,
    /// The upstream identity providers (`[[upstreams]]`).
    pub upstreams: Arc<portcullis_authn::upstream::Upstreams>,
}
