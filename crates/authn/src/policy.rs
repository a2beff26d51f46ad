//! The password policy of NIST SP 800-63B §3.1.1.2.

use portcullis_store::normalise_login;

use crate::common_passwords;

/// A password in memory; `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password as typed.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The password itself: pass it only to the hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Shorter than the minimum.
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    /// Longer than the maximum (a bound on hashing work).
    #[error("the password must have at most {0} characters")]
    TooLong(usize),
    /// Equal to the username or email.
    #[error("the password must not be your username or email")]
    SameAsIdentity,
    /// On the list of common and breached passwords (compared trimmed and
    /// case-insensitively), so among the first an attacker tries.
    #[error("this password is too common: it is on lists of breached passwords that attackers try first")]
    Common,
}

/// Length limits (no composition rules), not the account's own username or
/// email, and not a common password (NIST SP 800-63B §3.1.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (NIST: at least 8; configurations may
    /// not go below [`LEAST_MIN_LENGTH`](crate::LEAST_MIN_LENGTH)).
    pub min_length: usize,
    /// Maximum length in characters (NIST: at least 64 must be allowed).
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 8, max_length: 1024 }
    }
}

impl PasswordPolicy {
    /// Checks `password` for an account with these identifiers.
    pub fn check(&self, password: &Password, identities: &[&str]) -> Result<(), PolicyError> {
        let length = password.expose().chars().count();
        if length < self.min_length {
            return Err(PolicyError::TooShort(self.min_length));
        }
        if length > self.max_length {
            return Err(PolicyError::TooLong(self.max_length));
        }
        let typed = normalise_login(password.expose());
        if identities.iter().any(|id| !id.trim().is_empty() && normalise_login(id) == typed) {
            return Err(PolicyError::SameAsIdentity);
        }
        if common_passwords::is_common(password.expose()) {
            return Err(PolicyError::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_only_and_never_the_identity() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check(&Password::new("short"), &[]), Err(PolicyError::TooShort(8)));
        assert_eq!(policy.check(&Password::new("ünïcödé8"), &[]), Ok(()));
        assert_eq!(policy.check(&Password::new("alllowercase"), &[]), Ok(()));
        assert_eq!(policy.check(&Password::new("x".repeat(64)), &[]), Ok(()));
        assert_eq!(policy.check(&Password::new("x".repeat(1025)), &[]), Err(PolicyError::TooLong(1024)));
        assert_eq!(
            policy.check(&Password::new("Alice@Example.com"), &["alice", "alice@example.com"]),
            Err(PolicyError::SameAsIdentity)
        );
        assert_eq!(
            policy.check(&Password::new("AliceAlice"), &["aliceALICE"]),
            Err(PolicyError::SameAsIdentity)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let policy = PasswordPolicy::default();
        for common in ["password", "12345678", "Password1", "PASSWORD", " iloveyou ", "QwErTyUiOp"] {
            assert_eq!(policy.check(&Password::new(common), &[]), Err(PolicyError::Common), "{common}");
        }
        assert!(PolicyError::Common.to_string().contains("too common"));
        for fine in ["correct horse battery staple", "vq7Lk2-bR9pzW", "Tr0ub4dor&3 but longer"] {
            assert_eq!(policy.check(&Password::new(fine), &[]), Ok(()), "{fine}");
        }
    }

    #[test]
    fn debug_redacts() {
        assert_eq!(format!("{:?}", Password::new("hunter22")), "Password([redacted])");
    }
}
