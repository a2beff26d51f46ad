//! PKCE (RFC 7636): S256 challenges and verifiers. `plain` is never accepted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::client::ModelError;

/// An S256 code challenge: BASE64URL(SHA-256(verifier)) without padding,
/// so exactly 43 characters of the base64url alphabet (RFC 7636 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses an S256 challenge.
    pub fn parse_s256(s: &str) -> Result<Self, ModelError> {
        let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        let decodes = URL_SAFE_NO_PAD.decode(s).is_ok_and(|d| d.len() == 32);
        if s.len() == 43 && s.bytes().all(alphabet) && decodes {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::CodeChallenge)
        }
    }

    /// The challenge derived from `verifier`.
    pub fn from_verifier(verifier: &CodeVerifier) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes())))
    }

    /// Whether `verifier` hashes to this challenge (constant time).
    pub fn verify(&self, verifier: &CodeVerifier) -> bool {
        let derived = Self::from_verifier(verifier);
        derived.0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }

    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code verifier: 43–128 characters of `[A-Z] / [a-z] / [0-9] / - . _ ~` (RFC 7636 §4.1).
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Parses a verifier.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if (43..=128).contains(&s.len()) && s.bytes().all(unreserved) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::CodeVerifier)
        }
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b_example_verifies() {
        let verifier = CodeVerifier::parse(VERIFIER).expect("valid verifier");
        let challenge = CodeChallenge::parse_s256(CHALLENGE).expect("valid challenge");
        assert_eq!(CodeChallenge::from_verifier(&verifier), challenge);
        assert!(challenge.verify(&verifier));
    }

    #[test]
    fn a_different_verifier_fails() {
        let challenge = CodeChallenge::parse_s256(CHALLENGE).expect("valid challenge");
        let other = CodeVerifier::parse(&"a".repeat(43)).expect("valid verifier");
        assert!(!challenge.verify(&other));
    }

    #[test]
    fn challenge_format_is_checked() {
        for bad in [
            "",
            "short",
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            &format!("{}=", &CHALLENGE[..42]),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
        ] {
            assert!(CodeChallenge::parse_s256(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifier_length_and_alphabet_are_checked() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"~.-_".repeat(32)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
    }

    #[test]
    fn verifier_debug_is_redacted() {
        let verifier = CodeVerifier::parse(VERIFIER).expect("valid verifier");
        assert!(!format!("{verifier:?}").contains(VERIFIER));
    }
}
