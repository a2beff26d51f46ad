use super::*;
use crate::client::tests::public;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);
const TOKEN_URL: &str = "https://id.example.test/token";

/// A client key: signs proofs.
struct Key {
    private: Jwk,
    public: Map<String, Value>,
    alg: &'static str,
}

impl Key {
    fn es256() -> Self {
        let private = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).expect("ec");
        Self::from(private, "ES256")
    }

    fn eddsa() -> Self {
        let private = Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519).expect("ed");
        Self::from(private, "EdDSA")
    }

    fn from(private: Jwk, alg: &'static str) -> Self {
        let public: Map<String, Value> = private.to_public_key().expect("public").into();
        Self { private, public, alg }
    }

    fn jkt(&self) -> String {
        portcullis_keys::dpop::jwk_thumbprint(&self.public).expect("jkt")
    }

    /// A proof with `claims` (over the defaults for POST /token at NOW).
    fn proof(&self, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_claim("jwk", Some(Value::Object(self.public.clone()))).expect("jwk");
        let mut all = json!({
            "jti": portcullis_core::random::hex_id(),
            "htm": "POST",
            "htu": TOKEN_URL,
            "iat": NOW.unix_timestamp(),
        });
        if let (Value::Object(all), Value::Object(extra)) = (&mut all, claims) {
            for (k, v) in extra {
                if v.is_null() {
                    all.remove(&k);
                } else {
                    all.insert(k, v);
                }
            }
        }
        let Value::Object(map) = all else { unreachable!() };
        let payload = JwtPayload::from_map(map).expect("payload");
        match self.alg {
            "ES256" => {
                jwt::encode_with_signer(&payload, &header, &ES256.signer_from_jwk(&self.private).expect("s"))
            }
            _ => {
                jwt::encode_with_signer(&payload, &header, &EdDSA.signer_from_jwk(&self.private).expect("s"))
            }
        }
        .expect("sign")
    }
}

fn dpop() -> Dpop {
    Dpop::with_capacity([9; 32], 100)
}

fn post(proofs: &[String]) -> DpopRequest<'_> {
    DpopRequest { proofs, method: "POST", uri: TOKEN_URL }
}

fn code(result: Result<impl std::fmt::Debug, ProtocolError>) -> OAuthError {
    result.expect_err("refused").oauth()
}

/// Verifies at the token endpoint, nonce required.
fn at_token(dpop: &Dpop, proof: String) -> Result<Jkt, ProtocolError> {
    verify_proof(dpop, NOW, &proof, &post(&[]), NonceRule::Required, None)
}

#[test]
fn a_valid_proof_with_the_nonce_gives_its_keys_thumbprint_for_both_algorithms() {
    let dpop = dpop();
    for key in [Key::es256(), Key::eddsa()] {
        let proof = key.proof(json!({ "nonce": dpop.nonce(NOW) }));
        assert_eq!(at_token(&dpop, proof).expect("valid").as_str(), key.jkt());
    }
}

#[test]
fn a_replayed_jti_is_refused() {
    let (dpop, key) = (dpop(), Key::es256());
    let proof = key.proof(json!({ "nonce": dpop.nonce(NOW) }));
    at_token(&dpop, proof.clone()).expect("first use");
    assert_eq!(code(at_token(&dpop, proof)), OAuthError::InvalidDpopProof);
    let same_jti = key.proof(json!({ "jti": "fixed", "nonce": dpop.nonce(NOW) }));
    at_token(&dpop, same_jti.clone()).expect("new jti");
    let again = key.proof(json!({ "jti": "fixed", "nonce": dpop.nonce(NOW) }));
    assert_eq!(code(at_token(&dpop, again)), OAuthError::InvalidDpopProof, "same jti, same key");
    assert_eq!(
        code(at_token(&dpop, key.proof(json!({ "jti": null, "nonce": dpop.nonce(NOW) })))),
        OAuthError::InvalidDpopProof
    );
}

#[test]
fn htm_must_be_the_method() {
    let (dpop, key) = (dpop(), Key::es256());
    let proof = key.proof(json!({ "htm": "GET", "nonce": dpop.nonce(NOW) }));
    assert_eq!(code(at_token(&dpop, proof)), OAuthError::InvalidDpopProof);
    assert_eq!(code(check_htm(&Map::new(), "POST")), OAuthError::InvalidDpopProof, "missing");
}

#[test]
fn htu_must_be_the_endpoint_ignoring_query_and_fragment() {
    let claims = |htu: &str| {
        let Value::Object(m) = json!({ "htu": htu }) else { unreachable!() };
        m
    };
    for good in [
        TOKEN_URL,
        "https://id.example.test/token?x=1",
        "https://id.example.test/token#f",
        "https://ID.example.test:443/token",
    ] {
        check_htu(&claims(good), TOKEN_URL).unwrap_or_else(|_| panic!("{good}"));
    }
    for bad in [
        "https://id.example.test/userinfo",
        "http://id.example.test/token",
        "https://other.test/token",
        "/token",
        "",
    ] {
        assert_eq!(code(check_htu(&claims(bad), TOKEN_URL)), OAuthError::InvalidDpopProof, "{bad}");
    }
    let (dpop, key) = (dpop(), Key::es256());
    let proof = key.proof(json!({ "htu": "https://id.example.test/introspect", "nonce": dpop.nonce(NOW) }));
    assert_eq!(code(at_token(&dpop, proof)), OAuthError::InvalidDpopProof);
}

#[test]
fn iat_must_be_within_the_window() {
    let iat = |secs: i64| {
        let Value::Object(m) = json!({ "iat": NOW.unix_timestamp() + secs }) else { unreachable!() };
        m
    };
    for ok in [-MAX_AGE_SECS, 0, MAX_SKEW_SECS] {
        check_iat(&iat(ok), NOW).unwrap_or_else(|_| panic!("{ok}"));
    }
    for stale in [-MAX_AGE_SECS - 1, MAX_SKEW_SECS + 1, -3600] {
        assert_eq!(code(check_iat(&iat(stale), NOW)), OAuthError::InvalidDpopProof, "{stale}");
    }
    assert_eq!(code(check_iat(&Map::new(), NOW)), OAuthError::InvalidDpopProof, "missing");
    let (dpop, key) = (dpop(), Key::es256());
    let old =
        key.proof(json!({ "iat": (NOW - Duration::minutes(5)).unix_timestamp(), "nonce": dpop.nonce(NOW) }));
    assert_eq!(code(at_token(&dpop, old)), OAuthError::InvalidDpopProof);
}

#[test]
fn the_token_endpoint_requires_a_current_nonce() {
    let (dpop, key) = (dpop(), Key::es256());
    assert_eq!(code(at_token(&dpop, key.proof(json!({})))), OAuthError::UseDpopNonce, "none");
    let stale = dpop.nonce(NOW - Duration::minutes(15));
    assert_eq!(
        code(at_token(&dpop, key.proof(json!({ "nonce": stale })))),
        OAuthError::UseDpopNonce,
        "stale"
    );
    assert_eq!(code(at_token(&dpop, key.proof(json!({ "nonce": 7 })))), OAuthError::UseDpopNonce, "not text");
    let previous = dpop.nonce(NOW - Duration::seconds(NONCE_BUCKET_SECS));
    at_token(&dpop, key.proof(json!({ "nonce": previous }))).expect("the previous bucket's nonce");
}

#[test]
fn a_nonce_is_optional_at_a_resource_but_checked_when_present() {
    let (dpop, key) = (dpop(), Key::es256());
    let get = DpopRequest { proofs: &[], method: "POST", uri: TOKEN_URL };
    let check = |proof: String| verify_proof(&dpop, NOW, &proof, &get, NonceRule::IfPresent, None);
    check(key.proof(json!({}))).expect("no nonce");
    assert_eq!(code(check(key.proof(json!({ "nonce": "old" })))), OAuthError::UseDpopNonce);
}

#[test]
fn ath_must_hash_the_access_token() {
    // RFC 9449 §7.1's example.
    assert_eq!(
        ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
    let (dpop, key) = (dpop(), Key::es256());
    let check =
        |proof: String| verify_proof(&dpop, NOW, &proof, &post(&[]), NonceRule::IfPresent, Some("tok"));
    check(key.proof(json!({ "ath": ath("tok") }))).expect("right ath");
    assert_eq!(code(check(key.proof(json!({ "ath": ath("other") })))), OAuthError::InvalidDpopProof);
    assert_eq!(code(check(key.proof(json!({})))), OAuthError::InvalidDpopProof, "missing");
}

#[test]
fn a_bad_signature_or_header_is_invalid_dpop_proof() {
    let (dpop, key) = (dpop(), Key::es256());
    let proof = key.proof(json!({ "nonce": dpop.nonce(NOW) }));
    let tampered = format!("{}x", &proof[..proof.len() - 1]);
    assert_eq!(code(at_token(&dpop, tampered)), OAuthError::InvalidDpopProof);
    assert_eq!(code(at_token(&dpop, "not.a.jwt".into())), OAuthError::InvalidDpopProof);
}

#[test]
fn one_proof_at_most() {
    let two = ["a".to_owned(), "b".to_owned()];
    assert_eq!(code(single_proof(&post(&two))), OAuthError::InvalidDpopProof);
    assert_eq!(single_proof(&post(&[])).expect("none"), None);
}

#[test]
fn a_client_requiring_dpop_is_refused_without_a_proof() {
    let dpop = dpop();
    assert_eq!(token_proof(&dpop, NOW, &public(), &post(&[])).expect("optional"), None);
    let strict = Client { dpop_bound_access_tokens: true, ..public() };
    assert_eq!(code(token_proof(&dpop, NOW, &strict, &post(&[]))), OAuthError::InvalidDpopProof);
    let key = Key::eddsa();
    let proofs = [key.proof(json!({ "nonce": dpop.nonce(NOW) }))];
    let jkt = token_proof(&dpop, NOW, &strict, &post(&proofs)).expect("with a proof");
    assert_eq!(jkt.map(|k| k.0), Some(key.jkt()));
}

#[test]
fn a_bound_refresh_token_needs_a_proof_by_its_key() {
    let jkt = Jkt("k1".into());
    check_refresh_binding(None, None).expect("unbound, no proof");
    check_refresh_binding(None, Some(&jkt)).expect("unbound, a proof");
    check_refresh_binding(Some("k1"), Some(&jkt)).expect("its key");
    assert_eq!(code(check_refresh_binding(Some("k2"), Some(&jkt))), OAuthError::InvalidGrant);
    assert_eq!(code(check_refresh_binding(Some("k1"), None)), OAuthError::InvalidGrant);
}

#[test]
fn refresh_tokens_of_public_clients_only_are_bound() {
    let jkt = Jkt("k1".into());
    assert_eq!(crate::grants::refresh_binding(&public(), Some(&jkt)), Some("k1".into()));
    assert_eq!(crate::grants::refresh_binding(&public(), None), None);
    assert_eq!(crate::grants::refresh_binding(&crate::client::tests::confidential(), Some(&jkt)), None);
}

#[test]
fn at_a_resource_a_bound_token_needs_the_dpop_scheme_and_a_proof_by_its_key() {
    let (dpop, key, other) = (dpop(), Key::es256(), Key::es256());
    let userinfo = "https://id.example.test/userinfo";
    let claims = |k: &Key| k.proof(json!({ "htm": "GET", "htu": userinfo, "ath": ath("tok") }));
    let request = |proofs: &[String]| -> Result<(), ProtocolError> {
        let get = DpopRequest { proofs, method: "GET", uri: userinfo };
        resource_proof(&dpop, NOW, Some(&key.jkt()), Scheme::Dpop, "tok", &get)
    };
    request(&[claims(&key)]).expect("its key, its token");
    assert_eq!(code(request(&[claims(&other)])), OAuthError::InvalidDpopProof, "another key");
    assert_eq!(code(request(&[])), OAuthError::InvalidDpopProof, "no proof");
    let get = DpopRequest { proofs: &[], method: "GET", uri: userinfo };
    let bearer = resource_proof(&dpop, NOW, Some(&key.jkt()), Scheme::Bearer, "tok", &get);
    assert_eq!(code(bearer), OAuthError::InvalidToken, "a bound token as bearer");
    assert_eq!(code(resource_proof(&dpop, NOW, None, Scheme::Dpop, "tok", &get)), OAuthError::InvalidToken);
    resource_proof(&dpop, NOW, None, Scheme::Bearer, "tok", &get).expect("plain bearer");
}

#[test]
fn the_bound_key_is_read_from_cnf() {
    let Value::Object(claims) = json!({ "cnf": { "jkt": "abc" } }) else { unreachable!() };
    assert_eq!(bound_key(&claims), Some("abc"));
    assert_eq!(bound_key(&Map::new()), None);
}
