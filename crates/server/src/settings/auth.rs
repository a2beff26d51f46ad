//! `[auth]`: passwords (argon2id cost, policy), brute-force back-off,
//! session lifetimes and trusted proxies.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::ConfigError;

/// Accounts and sign-in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Minimum password length in characters (NIST SP 800-63B: at least 8).
    pub password_min_length: usize,
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id passes (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Failed sign-ins on one account before it backs off.
    pub max_failures_per_account: u32,
    /// Failed sign-ins from one client IP before it backs off.
    pub max_failures_per_ip: u32,
    /// Wrong second factors (app or recovery codes) for one account before
    /// it backs off; a separate counter that no password clears.
    pub max_second_factor_failures: u32,
    /// Failed client authentications of one client before it backs off
    /// (counted in each instance's memory).
    pub max_failures_per_client: u32,
    /// Wrong device user codes typed on `/device` by one signed-in user
    /// before their guesses back off (a counter of its own; the client IP
    /// has its own user-code counter too, with `max_failures_per_ip`).
    pub max_user_code_failures: u32,
    /// The first back-off, in seconds; it doubles with each further failure.
    pub lockout_base_secs: u32,
    /// The longest back-off, in seconds.
    pub lockout_max_secs: u32,
    /// Failure counters quiet this many seconds (since their last failure)
    /// start again; at least `lockout_max_secs`.
    pub failure_window_secs: u32,
    /// A session unused this many seconds ends.
    pub session_idle_timeout_secs: u32,
    /// A session ends this many seconds after sign-in, however busy.
    pub session_absolute_timeout_secs: u32,
    /// Proxy addresses whose `X-Forwarded-For` gives the client IP; from any
    /// other peer the TCP peer address is the client IP.
    pub trusted_proxies: Vec<IpAddr>,
    /// Users with the `admin` role must sign in with a passkey or an
    /// authenticator app (and are led through enrolling one).
    pub admins_require_mfa: bool,
    /// The issuer name authenticator apps show next to the account.
    pub totp_issuer: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            password_min_length: 8,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_failures_per_account: 5,
            max_failures_per_ip: 50,
            max_second_factor_failures: 5,
            max_failures_per_client: 20,
            max_user_code_failures: 5,
            lockout_base_secs: 30,
            lockout_max_secs: 3600,
            failure_window_secs: 86400,
            session_idle_timeout_secs: 3600,
            session_absolute_timeout_secs: 43200,
            trusted_proxies: Vec::new(),
            admins_require_mfa: true,
            totp_issuer: "Portcullis".to_owned(),
        }
    }
}

impl AuthSettings {
    /// Checks ranges the types cannot express.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, msg: &str| Err(ConfigError::invalid(&format!("auth.{key}"), msg));
        // Not below the blocklist's shortest entries (portcullis_authn::LEAST_MIN_LENGTH = 8).
        if !(portcullis_authn::LEAST_MIN_LENGTH..=64).contains(&self.password_min_length) {
            return invalid("password_min_length", "must be between 8 and 64");
        }
        if self.argon2_memory_kib < 8 * self.argon2_parallelism.max(1) {
            return invalid("argon2_memory_kib", "must be at least 8 × argon2_parallelism");
        }
        if self.argon2_iterations == 0 {
            return invalid("argon2_iterations", "must be at least 1");
        }
        if self.argon2_parallelism == 0 {
            return invalid("argon2_parallelism", "must be at least 1");
        }
        if self.max_failures_per_account == 0
            || self.max_failures_per_ip == 0
            || self.max_second_factor_failures == 0
            || self.max_failures_per_client == 0
            || self.max_user_code_failures == 0
        {
            return invalid("max_failures_per_account", "failure limits must be at least 1");
        }
        if self.lockout_base_secs == 0 || self.lockout_max_secs < self.lockout_base_secs {
            return invalid("lockout_max_secs", "need 0 < lockout_base_secs <= lockout_max_secs");
        }
        if self.failure_window_secs < self.lockout_max_secs {
            return invalid("failure_window_secs", "must be at least lockout_max_secs");
        }
        if self.session_idle_timeout_secs == 0
            || self.session_absolute_timeout_secs < self.session_idle_timeout_secs
        {
            return invalid(
                "session_absolute_timeout_secs",
                "need 0 < session_idle_timeout_secs <= session_absolute_timeout_secs",
            );
        }
        Ok(())
    }
}
