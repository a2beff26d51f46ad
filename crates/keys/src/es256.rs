//! ES256 signing (RFC 7518 §3.4) with a long-lived OpenSSL key: the key is
//! parsed once per key set, and a token costs one SHA-256 and one
//! `ECDSA_do_sign` — none of the per-call `EVP_DigestSignInit` set-up
//! (algorithm fetch, key context, DER encoding and decoding of the signature)
//! a josekit signer goes through.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Private;
use sha2::{Digest, Sha256};

use crate::KeyError;

/// The length of `r` and of `s` on P-256.
const SCALAR_LEN: usize = 32;

/// An ES256 signature: `r ‖ s`, each big-endian and left-padded to 32 bytes.
pub(crate) type Es256Signature = [u8; 2 * SCALAR_LEN];

/// A P-256 private key. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Es256Key(EcKey<Private>);

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Es256Key([redacted])")
    }
}

/// A base64url member of `jwk` as a number.
fn member(jwk: &Jwk, name: &str) -> Result<BigNum, KeyError> {
    let text = jwk
        .parameter(name)
        .and_then(|v| v.as_str())
        .ok_or_else(|| KeyError::Crypto(format!("the ES256 key has no {name}")))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::Crypto(format!("the ES256 key's {name} is not base64url")))?;
    BigNum::from_slice(&bytes).map_err(KeyError::crypto)
}

impl Es256Key {
    /// Parses a private JWK (`kty` `EC`, `crv` `P-256`, `d`, `x`, `y`) and
    /// checks it: the point is on the curve and is `d`·G.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.key_type() != "EC" || jwk.curve() != Some("P-256") {
            return Err(KeyError::Crypto("an ES256 key is an EC key on P-256".into()));
        }
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(KeyError::crypto)?;
        let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
        let public = EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(KeyError::crypto)?;
        let mut d = member(jwk, "d")?;
        let key = EcKey::from_private_components(&group, &d, public.public_key());
        d.clear();
        let key = key.map_err(KeyError::crypto)?;
        key.check_key().map_err(|_| KeyError::Crypto("the ES256 key's d does not match x and y".into()))?;
        Ok(Self(key))
    }

    /// Signs `input` (a JWS signing input).
    pub(crate) fn sign(&self, input: &[u8]) -> Result<Es256Signature, KeyError> {
        let digest = Sha256::digest(input);
        let signature = EcdsaSig::sign(&digest, &self.0).map_err(KeyError::crypto)?;
        let mut out = [0; 2 * SCALAR_LEN];
        let (r, s) = out.split_at_mut(SCALAR_LEN);
        // `to_vec_padded` fails rather than truncate a longer number.
        r.copy_from_slice(&signature.r().to_vec_padded(SCALAR_LEN as i32).map_err(KeyError::crypto)?);
        s.copy_from_slice(&signature.s().to_vec_padded(SCALAR_LEN as i32).map_err(KeyError::crypto)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;
    use crate::material::generate;
    use josekit::jws::{ES256, JwsVerifier};

    fn key_pair() -> (Es256Key, Jwk) {
        let generated = generate(Algorithm::Es256).expect("generate");
        let private = Jwk::from_bytes(generated.private_jwk.as_bytes()).expect("private jwk");
        let public = Jwk::from_bytes(generated.public_jwk.as_bytes()).expect("public jwk");
        (Es256Key::from_jwk(&private).expect("parse"), public)
    }

    #[test]
    fn every_signature_is_r_and_s_padded_to_64_bytes_and_verifies() {
        let (key, public) = key_pair();
        let verifier = ES256.verifier_from_jwk(&public).expect("verifier");
        let mut short_scalars = 0;
        for i in 0..2000 {
            let input = format!("eyJhbGciOiJFUzI1NiJ9.{i}");
            let signature = key.sign(input.as_bytes()).expect("sign");
            // A scalar under 2^248 would be 31 bytes or fewer unpadded.
            short_scalars += usize::from(signature[0] == 0) + usize::from(signature[SCALAR_LEN] == 0);
            verifier.verify(input.as_bytes(), &signature).expect("josekit verifies");
            assert!(verifier.verify(format!("{input}x").as_bytes(), &signature).is_err());
        }
        // About 16 expected in 4000 scalars; none at all has odds near 1e-7.
        assert!(short_scalars > 0, "no r or s with a leading zero byte was exercised");
    }

    #[test]
    fn refuses_other_curves_and_mismatched_halves() {
        let rsa =
            Jwk::from_bytes(generate(Algorithm::Rs256).expect("rsa").private_jwk.as_bytes()).expect("jwk");
        assert!(Es256Key::from_jwk(&rsa).is_err());
        let mut mixed =
            Jwk::from_bytes(generate(Algorithm::Es256).expect("a").private_jwk.as_bytes()).expect("jwk");
        let other =
            Jwk::from_bytes(generate(Algorithm::Es256).expect("b").private_jwk.as_bytes()).expect("jwk");
        let d = other.parameter("d").expect("d").clone();
        mixed.set_parameter("d", Some(d)).expect("set d");
        assert!(Es256Key::from_jwk(&mixed).is_err());
        assert_eq!(format!("{:?}", key_pair().0), "Es256Key([redacted])");
    }
}
