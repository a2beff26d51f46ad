//! Signing-key settings: rotation schedule, JWKS caching and the
//! key-encryption key (a secret).

use portcullis_keys::Algorithm;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

use super::ConfigError;

/// Signing keys (JWKS).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSettings {
    /// The key-encryption key sealing private keys at rest: 32 random bytes
    /// as base64url. A secret (redacted when printed). When neither this nor
    /// `encryption_key_file` is set, one is generated into
    /// `<data_dir>/keys.kek` (mode 0600) on first start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<SecretKey>,
    /// A file holding the key-encryption key (base64url), instead of `encryption_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_key_file: Option<PathBuf>,
    /// Algorithms with an active key: RS256 (required by OIDC) and ES256 by
    /// default; add `EdDSA` to opt in.
    pub algorithms: Vec<String>,
    /// Seconds a key signs before its successor takes over (default 30 days).
    pub rotation_period_secs: u64,
    /// `Cache-Control: max-age` of the JWKS, in seconds (default 1 hour).
    pub jwks_max_age_secs: u64,
    /// Seconds a successor is published before it signs (default 2 × the
    /// JWKS max-age; at least max-age + `refresh_interval_secs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_time_secs: Option<u64>,
    /// The longest lifetime of any token we sign, in seconds (default 1 day);
    /// retired keys stay published this long plus a margin.
    pub max_token_lifetime_secs: u64,
    /// How often each instance re-reads the keys from the database and runs
    /// the rotation schedule, in seconds (default 10).
    pub refresh_interval_secs: u64,
}

impl Default for KeysSettings {
    fn default() -> Self {
        Self {
            encryption_key: None,
            encryption_key_file: None,
            algorithms: vec!["RS256".into(), "ES256".into()],
            rotation_period_secs: 30 * 86_400,
            jwks_max_age_secs: 3_600,
            lead_time_secs: None,
            max_token_lifetime_secs: 86_400,
            refresh_interval_secs: 10,
        }
    }
}

impl KeysSettings {
    /// The configured algorithms, parsed.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.algorithms.iter().filter_map(|a| Algorithm::parse(a)).collect()
    }

    /// The staging lead time in effect.
    pub fn lead_time_secs(&self) -> u64 {
        self.lead_time_secs.unwrap_or(2 * self.jwks_max_age_secs)
    }

    /// How long a retired key stays published: the longest token lifetime,
    /// plus one refresh interval (an instance may sign with a key for that
    /// long after another retired it), plus five minutes for clock skew.
    pub fn retire_after_secs(&self) -> u64 {
        self.max_token_lifetime_secs + self.refresh_interval_secs + 300
    }

    /// Checks that cannot be expressed by types alone.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, msg: &str| Err(ConfigError::invalid(key, msg));
        for name in &self.algorithms {
            if Algorithm::parse(name).is_none() {
                return invalid(
                    "keys.algorithms",
                    &format!("unknown algorithm {name:?} (RS256, ES256, EdDSA)"),
                );
            }
        }
        if !self.algorithms.iter().any(|a| a == "RS256") {
            return invalid("keys.algorithms", "must include RS256 (the OpenID Connect default)");
        }
        if self.encryption_key.is_some() && self.encryption_key_file.is_some() {
            return invalid("keys.encryption_key_file", "set either encryption_key or encryption_key_file");
        }
        if let Some(key) = &self.encryption_key {
            portcullis_keys::Kek::parse(&key.0)
                .map_err(|e| ConfigError::invalid("keys.encryption_key", &e.to_string()))?;
        }
        if self.refresh_interval_secs == 0 {
            return invalid("keys.refresh_interval_secs", "must be at least 1");
        }
        if self.jwks_max_age_secs == 0 {
            return invalid("keys.jwks_max_age_secs", "must be at least 1");
        }
        if self.lead_time_secs() < self.jwks_max_age_secs + self.refresh_interval_secs {
            return invalid(
                "keys.lead_time_secs",
                "must be at least jwks_max_age_secs + refresh_interval_secs, or verifiers meet unknown keys",
            );
        }
        if self.rotation_period_secs <= self.lead_time_secs() {
            return invalid("keys.rotation_period_secs", "must be longer than the lead time");
        }
        Ok(())
    }
}

/// A secret string: `Debug`, `Display` and `Serialize` print `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself: only for use, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_consistent() {
        let keys = KeysSettings::default();
        keys.validate().expect("valid");
        assert_eq!(keys.lead_time_secs(), 7_200);
        assert_eq!(keys.algorithms(), vec![Algorithm::Rs256, Algorithm::Es256]);
    }

    #[test]
    fn refuses_a_lead_time_shorter_than_the_cache_and_unknown_algorithms() {
        let short = KeysSettings { lead_time_secs: Some(3_600), ..KeysSettings::default() };
        assert!(short.validate().is_err_and(|e| e.to_string().contains("keys.lead_time_secs")));
        let hs = KeysSettings { algorithms: vec!["RS256".into(), "HS256".into()], ..KeysSettings::default() };
        assert!(hs.validate().is_err_and(|e| e.to_string().contains("HS256")));
        let no_rs = KeysSettings { algorithms: vec!["ES256".into()], ..KeysSettings::default() };
        assert!(no_rs.validate().is_err());
        let bad = KeysSettings { encryption_key: Some(SecretKey("short".into())), ..KeysSettings::default() };
        assert!(bad.validate().is_err_and(|e| e.to_string().contains("keys.encryption_key")));
    }

    #[test]
    fn the_encryption_key_is_never_printed() {
        let secret = portcullis_keys::Kek::generate().to_base64url();
        let keys =
            KeysSettings { encryption_key: Some(SecretKey(secret.clone())), ..KeysSettings::default() };
        assert!(!format!("{keys:?}").contains(&secret));
        assert!(!toml::to_string(&keys).expect("toml").contains(&secret));
    }
}
