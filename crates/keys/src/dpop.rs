//! DPoP proofs (RFC 9449 §4): the JOSE side. A proof is a JWT whose header
//! carries the client's public key (`jwk`); it is checked here — `typ`
//! `dpop+jwt`, an asymmetric algorithm we verify ([`DPOP_ALGORITHMS`]), a
//! public key only, the signature with that key — and the key's RFC 7638
//! thumbprint (`jkt`) is returned with the claims. The claims' rules
//! (`htm`, `htu`, `iat`, `jti`, `nonce`, `ath`) are the protocol's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{Algorithm, KeyError};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// The algorithms a DPoP proof may be signed with, as advertised in
/// `dpop_signing_alg_values_supported`.
pub const DPOP_ALGORITHMS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

/// JWK members that only a private (or symmetric) key has: a proof's `jwk`
/// carrying any of them is refused (RFC 9449 §4.3, check 7).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof whose header and signature are valid.
#[derive(Debug, Clone, PartialEq)]
pub struct DpopProof {
    /// The payload (`jti`, `htm`, `htu`, `iat`, maybe `nonce` and `ath`).
    pub claims: Map<String, Value>,
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The RFC 7638 SHA-256 thumbprint of its key, base64url.
    pub jkt: String,
}

fn invalid(what: &str) -> KeyError {
    KeyError::InvalidToken(what.to_owned())
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over the required
/// members in lexicographic order, without whitespace, base64url.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, KeyError> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        Some("RSA") => &["e", "kty", "n"],
        _ => return Err(invalid("unsupported key type")),
    };
    let mut canonical = Map::new();
    for name in members {
        let Some(value @ Value::String(_)) = jwk.get(*name) else {
            return Err(invalid("the key lacks a required member"));
        };
        canonical.insert((*name).to_owned(), value.clone());
    }
    // serde_json's map keeps keys sorted and writes no whitespace.
    let text = Value::Object(canonical).to_string();
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes())))
}

/// The header of a compact JWS, decoded (before any verification).
fn header(token: &str) -> Result<Map<String, Value>, KeyError> {
    let encoded = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| invalid("the header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("the header is not a JSON object")),
    }
}

/// Whether `jwk` is a key of the type `alg` needs.
fn key_fits(jwk: &Map<String, Value>, alg: Algorithm) -> bool {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    match alg {
        Algorithm::Es256 => text("kty") == Some("EC") && text("crv") == Some("P-256"),
        Algorithm::EdDsa => text("kty") == Some("OKP") && text("crv") == Some("Ed25519"),
        Algorithm::Rs256 => false,
    }
}

/// Verifies a DPoP proof's header and signature with the key it carries.
pub fn verify_dpop_proof(token: &str) -> Result<DpopProof, KeyError> {
    if token.split('.').count() != 3 || token.len() > 8 * 1024 {
        return Err(invalid("not a signed JWT"));
    }
    let header = header(token)?;
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case(DPOP_TYP)) {
        return Err(invalid("typ is not dpop+jwt"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::parse)
        .filter(|alg| DPOP_ALGORITHMS.contains(alg))
        .ok_or_else(|| invalid("unsupported alg"))?;
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(invalid("the header has no jwk"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(invalid("the jwk is not a public key"));
    }
    if !key_fits(jwk, alg) {
        return Err(invalid("the jwk does not fit the alg"));
    }
    if header.contains_key("crit") {
        return Err(invalid("critical header parameters are not understood"));
    }
    let jkt = jwk_thumbprint(jwk)?;
    let (input, signature) = token.rsplit_once('.').ok_or_else(|| invalid("not a signed JWT"))?;
    let signature =
        URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid("the signature is not base64url"))?;
    if !signature_valid(jwk, alg, input.as_bytes(), &signature)? {
        return Err(invalid("the signature does not verify with the proof's key"));
    }
    let payload = input.split('.').nth(1).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid("the payload is not base64url"))?;
    let claims = match serde_json::from_slice(&payload) {
        Ok(Value::Object(claims)) => claims,
        _ => return Err(invalid("the payload is not a JSON object")),
    };
    Ok(DpopProof { claims, alg, jkt })
}

/// A base64url member of a public JWK, decoded.
fn member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, KeyError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .ok_or_else(|| invalid("the key lacks a required member"))
}

/// Whether `signature` over `input` verifies with the public `jwk` (which
/// fits `alg`). The key is built from its coordinates or raw bytes, not
/// through a JWK library's DER encoding and OpenSSL 3's key decoders, which
/// cost several times the verification itself (each proof brings its own
/// key, so nothing can be parsed once). The point must lie on P-256.
fn signature_valid(
    jwk: &Map<String, Value>,
    alg: Algorithm,
    input: &[u8],
    signature: &[u8],
) -> Result<bool, KeyError> {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcKey, EcPoint};
    use openssl::ecdsa::EcdsaSig;
    use openssl::nid::Nid;
    use openssl::pkey::{Id, PKey};
    use openssl::sign::Verifier;
    let bad_key = |_| invalid("the jwk is not a valid public key");
    match alg {
        Algorithm::Es256 => {
            let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
            if x.len() != 32 || y.len() != 32 || signature.len() != 64 {
                return Ok(false);
            }
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(KeyError::crypto)?;
            let mut ctx = BigNumContext::new().map_err(KeyError::crypto)?;
            let point =
                EcPoint::from_bytes(&group, &[&[4u8][..], &x, &y].concat(), &mut ctx).map_err(bad_key)?;
            let key = EcKey::from_public_key(&group, &point).map_err(bad_key)?;
            let (r, s) = signature.split_at(32);
            let (r, s) = (BigNum::from_slice(r), BigNum::from_slice(s));
            let sig =
                EcdsaSig::from_private_components(r.map_err(KeyError::crypto)?, s.map_err(KeyError::crypto)?)
                    .map_err(KeyError::crypto)?;
            Ok(sig.verify(&Sha256::digest(input), &key).unwrap_or(false))
        }
        Algorithm::EdDsa => {
            let x = member(jwk, "x")?;
            if x.len() != 32 || signature.len() != 64 {
                return Ok(false);
            }
            let key = PKey::public_key_from_raw_bytes(&x, Id::ED25519).map_err(bad_key)?;
            let mut verifier = Verifier::new_without_digest(&key).map_err(KeyError::crypto)?;
            Ok(verifier.verify_oneshot(signature, input).unwrap_or(false))
        }
        Algorithm::Rs256 => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::Jwk;
    use josekit::jws::{ES256, EdDSA, JwsHeader, RS256};
    use josekit::jwt::{self, JwtPayload};
    use serde_json::json;

    /// A fresh key of `alg` as (private JWK, public JWK map).
    fn key(alg: Algorithm) -> (Jwk, Map<String, Value>) {
        let generated = crate::material::generate(alg).expect("generate");
        let private = Jwk::from_bytes(generated.private_jwk.as_bytes()).expect("private");
        let public: Map<String, Value> = serde_json::from_str(&generated.public_jwk).expect("public");
        (private, public)
    }

    fn sign(alg: Algorithm, private: &Jwk, typ: &str, jwk: &Map<String, Value>) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_claim("jwk", Some(Value::Object(jwk.clone()))).expect("jwk");
        let mut payload = JwtPayload::new();
        payload.set_jwt_id("j1");
        payload.set_claim("htm", Some(json!("POST"))).expect("htm");
        match alg {
            Algorithm::Es256 => {
                jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(private).expect("s"))
            }
            Algorithm::EdDsa => {
                jwt::encode_with_signer(&payload, &header, &EdDSA.signer_from_jwk(private).expect("s"))
            }
            Algorithm::Rs256 => {
                jwt::encode_with_signer(&payload, &header, &RS256.signer_from_jwk(private).expect("s"))
            }
        }
        .expect("encode")
    }

    #[test]
    fn the_thumbprint_matches_rfc_7638s_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let Value::Object(jwk) = jwk else { unreachable!() };
        assert_eq!(jwk_thumbprint(&jwk).expect("thumbprint"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn es256_and_eddsa_proofs_verify_with_their_own_key() {
        for alg in DPOP_ALGORITHMS {
            let (private, public) = key(alg);
            let proof = verify_dpop_proof(&sign(alg, &private, DPOP_TYP, &public)).expect("valid");
            assert_eq!(proof.alg, alg);
            assert_eq!(proof.jkt, jwk_thumbprint(&public).expect("jkt"));
            assert_eq!(proof.claims["jti"], "j1");
            assert_eq!(proof.jkt.len(), 43);
        }
    }

    #[test]
    fn a_proof_signed_by_another_key_than_its_jwk_is_refused() {
        let (private, _) = key(Algorithm::Es256);
        let (_, other) = key(Algorithm::Es256);
        assert!(verify_dpop_proof(&sign(Algorithm::Es256, &private, DPOP_TYP, &other)).is_err());
    }

    #[test]
    fn a_point_off_the_curve_or_a_tampered_signature_is_refused() {
        let (private, public) = key(Algorithm::Es256);
        let mut off_curve = public.clone();
        let y = URL_SAFE_NO_PAD.decode(public["y"].as_str().expect("y")).expect("b64");
        let moved: Vec<u8> = y.iter().enumerate().map(|(i, b)| if i == 31 { b ^ 1 } else { *b }).collect();
        off_curve.insert("y".into(), Value::String(URL_SAFE_NO_PAD.encode(moved)));
        let err =
            verify_dpop_proof(&sign(Algorithm::Es256, &private, DPOP_TYP, &off_curve)).expect_err("off");
        assert!(err.to_string().contains("not a valid public key"), "{err}");
        for alg in DPOP_ALGORITHMS {
            let (private, public) = key(alg);
            let token = sign(alg, &private, DPOP_TYP, &public);
            let (input, sig) = token.rsplit_once('.').expect("three parts");
            let mut bytes = URL_SAFE_NO_PAD.decode(sig).expect("b64");
            bytes[10] ^= 1;
            let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert!(verify_dpop_proof(&tampered).is_err(), "{alg:?}");
            let (head, rest) = token.split_once('.').expect("parts");
            let mut header: Map<String, Value> =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).expect("b64")).expect("json");
            header.insert("crit".into(), serde_json::json!(["x"]));
            let crit = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()));
            assert!(verify_dpop_proof(&crit).is_err(), "crit {alg:?}");
        }
    }

    #[test]
    fn the_typ_must_be_dpop_jwt() {
        let (private, public) = key(Algorithm::Es256);
        for typ in ["JWT", "at+jwt", ""] {
            assert!(verify_dpop_proof(&sign(Algorithm::Es256, &private, typ, &public)).is_err(), "{typ}");
        }
    }

    #[test]
    fn rsa_hmac_and_none_are_refused() {
        let (private, public) = key(Algorithm::Rs256);
        assert!(verify_dpop_proof(&sign(Algorithm::Rs256, &private, DPOP_TYP, &public)).is_err());
        let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let (_, ec) = key(Algorithm::Es256);
        let payload = b64(json!({"jti": "x"}));
        for alg in ["none", "HS256"] {
            let header = b64(json!({"typ": "dpop+jwt", "alg": alg, "jwk": ec}));
            assert!(verify_dpop_proof(&format!("{header}.{payload}.")).is_err(), "{alg}");
            assert!(verify_dpop_proof(&format!("{header}.{payload}.c2ln")).is_err(), "{alg}");
        }
    }

    #[test]
    fn a_jwk_with_private_members_is_refused() {
        let (private, mut public) = key(Algorithm::Es256);
        let d = private.parameter("d").expect("d").clone();
        public.insert("d".into(), d);
        assert!(verify_dpop_proof(&sign(Algorithm::Es256, &private, DPOP_TYP, &public)).is_err());
    }

    #[test]
    fn a_key_of_the_wrong_type_or_none_is_refused() {
        let (private, public) = key(Algorithm::Es256);
        let (_, ed) = key(Algorithm::EdDsa);
        assert!(verify_dpop_proof(&sign(Algorithm::Es256, &private, DPOP_TYP, &ed)).is_err());
        let valid = sign(Algorithm::Es256, &private, DPOP_TYP, &public);
        let rest = valid.split_once('.').expect("three parts").1;
        let no_jwk = URL_SAFE_NO_PAD.encode(json!({"typ": "dpop+jwt", "alg": "ES256"}).to_string());
        assert!(verify_dpop_proof(&format!("{no_jwk}.{rest}")).is_err(), "no jwk");
        assert!(verify_dpop_proof("a.b").is_err());
        assert!(verify_dpop_proof("").is_err());
    }
}
