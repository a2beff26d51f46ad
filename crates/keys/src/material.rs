//! Key generation and the public half of a key, as published.

use josekit::jwk::Jwk;
use serde_json::{Map, Value};

use crate::{Algorithm, KeyError};

/// Public members kept per key type; everything else (private parts such as
/// `d`, `p`, `q`, `dp`, `dq`, `qi`, `k`) is dropped by construction.
fn public_members(kty: &str) -> &'static [&'static str] {
    match kty {
        "RSA" => &["kty", "n", "e"],
        "EC" => &["kty", "crv", "x", "y"],
        "OKP" => &["kty", "crv", "x"],
        _ => &[],
    }
}

/// A freshly generated key pair.
pub(crate) struct Generated {
    /// Its id.
    pub kid: String,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    /// The private JWK, as JSON text (to be sealed at once).
    pub private_jwk: String,
}

/// Generates a key for `alg` with a random kid.
pub(crate) fn generate(alg: Algorithm) -> Result<Generated, KeyError> {
    let mut jwk = match alg {
        Algorithm::Rs256 => Jwk::generate_rsa_key(2048),
        Algorithm::Es256 => Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256),
        Algorithm::EdDsa => Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519),
    }
    .map_err(KeyError::crypto)?;
    let kid = portcullis_core::random::hex_id();
    jwk.set_key_id(kid.clone());
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    let public_jwk = Value::Object(public_jwk(jwk.as_ref(), &kid, alg)).to_string();
    Ok(Generated { kid, public_jwk, private_jwk: jwk.to_string() })
}

/// The publishable members of `jwk`, with `kid`, `alg` and `use` set.
pub(crate) fn public_jwk(jwk: &Map<String, Value>, kid: &str, alg: Algorithm) -> Map<String, Value> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let mut out: Map<String, Value> = public_members(kty)
        .iter()
        .filter_map(|m| jwk.get(*m).map(|v| ((*m).to_owned(), v.clone())))
        .collect();
    out.insert("kid".into(), Value::String(kid.to_owned()));
    out.insert("alg".into(), Value::String(alg.as_str().to_owned()));
    out.insert("use".into(), Value::String("sig".into()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_half_has_no_private_member() {
        for alg in Algorithm::ALL {
            let key = generate(alg).expect("generate");
            let private: Map<String, Value> = serde_json::from_str(&key.private_jwk).expect("json");
            assert!(private.contains_key("d"), "{alg}: the private key has d");
            let public: Map<String, Value> = serde_json::from_str(&key.public_jwk).expect("json");
            for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                assert!(!public.contains_key(member), "{alg}: {member} published");
            }
            assert_eq!(public["kid"], key.kid.as_str());
            assert_eq!(public["alg"], alg.as_str());
            assert_eq!(public["use"], "sig");
        }
    }
}
