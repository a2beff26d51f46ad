//! The JWS algorithms Portcullis signs with.

use std::fmt;

/// A signing algorithm; each has its own key and its own rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: the OIDC default for ID tokens.
    Rs256,
    /// ECDSA on P-256 with SHA-256: cheap to sign, the default for access tokens.
    Es256,
    /// Ed25519 (opt-in).
    EdDsa,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa];

    /// Whether one signature costs enough CPU (RSA: 0.3–0.7 ms, against
    /// 20–50 µs for ES256 and EdDSA) that an async caller should make it
    /// off its event loop.
    pub fn slow_to_sign(self) -> bool {
        matches!(self, Self::Rs256)
    }

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE name, exactly as spelled by the specifications.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unsupported signing algorithm {s:?} (RS256, ES256 or EdDSA)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        assert_eq!(Algorithm::parse("rs256"), None);
        assert_eq!(Algorithm::parse("HS256"), None);
        assert_eq!(Algorithm::parse("none"), None);
    }
}
