//! `[recovery]`: mailed links — password reset, email verification and
//! magic-link sign-in: lifetimes, rate limits and the magic-link switch.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Mailed single-use links.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverySettings {
    /// How long a password-reset or magic sign-in link works, in seconds.
    pub link_ttl_secs: u32,
    /// How long an email-verification link works, in seconds.
    pub verify_ttl_secs: u32,
    /// Link requests (reset, magic link) per address within
    /// `rate_window_secs`; more are answered as usual but send nothing.
    pub max_requests_per_address: u32,
    /// Link requests per client IP within `rate_window_secs`.
    pub max_requests_per_ip: u32,
    /// A request counter quiet this many seconds starts again.
    pub rate_window_secs: u32,
    /// Offer "Email me a sign-in link" on the sign-in page.
    pub magic_link: bool,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        Self {
            link_ttl_secs: 900,
            verify_ttl_secs: 86_400,
            max_requests_per_address: 3,
            max_requests_per_ip: 20,
            rate_window_secs: 3600,
            magic_link: false,
        }
    }
}

impl RecoverySettings {
    /// Checks ranges the types cannot express.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, msg: &str| Err(ConfigError::invalid(&format!("recovery.{key}"), msg));
        if !(60..=86_400).contains(&self.link_ttl_secs) {
            return invalid("link_ttl_secs", "must be between 60 and 86400 (a day)");
        }
        if !(60..=30 * 86_400).contains(&self.verify_ttl_secs) {
            return invalid("verify_ttl_secs", "must be between 60 and 2592000 (30 days)");
        }
        if self.max_requests_per_address == 0 {
            return invalid("max_requests_per_address", "must be at least 1");
        }
        if self.max_requests_per_ip == 0 {
            return invalid("max_requests_per_ip", "must be at least 1");
        }
        if self.rate_window_secs < 60 {
            return invalid("rate_window_secs", "must be at least 60");
        }
        Ok(())
    }

    /// The rules the recovery flows apply.
    pub fn rules(&self) -> portcullis_authn::recovery::RecoveryRules {
        let secs = |s: u32| time::Duration::seconds(s.into());
        portcullis_authn::recovery::RecoveryRules {
            link_ttl: secs(self.link_ttl_secs),
            verify_ttl: secs(self.verify_ttl_secs),
            max_per_address: self.max_requests_per_address,
            max_per_ip: self.max_requests_per_ip,
            window: secs(self.rate_window_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_issue() {
        let s = RecoverySettings::default();
        s.validate().expect("defaults");
        assert_eq!(s.rules().link_ttl, time::Duration::minutes(15));
        assert!(!s.magic_link, "magic links are off by default");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("recovery.link_ttl_secs", RecoverySettings { link_ttl_secs: 10, ..Default::default() }),
            ("recovery.verify_ttl_secs", RecoverySettings { verify_ttl_secs: 0, ..Default::default() }),
            (
                "recovery.max_requests_per_address",
                RecoverySettings { max_requests_per_address: 0, ..Default::default() },
            ),
            (
                "recovery.max_requests_per_ip",
                RecoverySettings { max_requests_per_ip: 0, ..Default::default() },
            ),
            ("recovery.rate_window_secs", RecoverySettings { rate_window_secs: 1, ..Default::default() }),
        ];
        for (key, s) in cases {
            let err = s.validate().expect_err(key);
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
