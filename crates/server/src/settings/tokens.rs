//! `[tokens]`: how issued tokens behave after issue.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The longest refresh reuse grace accepted: a window for tabs racing,
/// not a way to make rotation optional.
const MAX_REFRESH_REUSE_GRACE_SECS: u32 = 60;

/// Tokens.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// A rotated refresh token presented again within this many seconds of
    /// its rotation, by the same client (and DPoP key, when bound), gets
    /// the same successor instead of revoking the whole family — two tabs
    /// of one app refreshing at once. 0 (the default) forgives nothing, as
    /// RFC 9700 §4.14.2 describes; e.g. 10. At most 60.
    pub refresh_reuse_grace_secs: u32,
}

impl TokenSettings {
    /// Checks ranges the types cannot express.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.refresh_reuse_grace_secs > MAX_REFRESH_REUSE_GRACE_SECS {
            return Err(ConfigError::invalid(
                "tokens.refresh_reuse_grace_secs",
                &format!("must be between 0 and {MAX_REFRESH_REUSE_GRACE_SECS}"),
            ));
        }
        Ok(())
    }

    /// The grace as the protocol takes it.
    pub fn refresh_reuse_grace(&self) -> time::Duration {
        time::Duration::seconds(self.refresh_reuse_grace_secs.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_is_off_by_default_and_bounded() {
        let defaults = TokenSettings::default();
        assert!(defaults.validate().is_ok());
        assert_eq!(defaults.refresh_reuse_grace(), time::Duration::ZERO);
        let ten = TokenSettings { refresh_reuse_grace_secs: 10 };
        assert!(ten.validate().is_ok());
        assert_eq!(ten.refresh_reuse_grace(), time::Duration::seconds(10));
        let long = TokenSettings { refresh_reuse_grace_secs: 61 };
        let err = long.validate().expect_err("too long").to_string();
        assert!(err.contains("tokens.refresh_reuse_grace_secs"), "{err}");
    }
}
