//! `POST /token`: the body → `portcullis_web::parse_token_form` (what the
//! endpoint runs) → the client it names → the checks of the grant that need
//! no store (`grants::requested_grant` and each grant's form checks), and a
//! client assertion, if any, through the `private_key_jwt` rules.

use portcullis_protocol::client_auth::{JWT_BEARER, unverified_issuer};
use portcullis_protocol::grants::authorization_code::code_and_verifier;
use portcullis_protocol::grants::client_credentials::requested_scopes;
use portcullis_protocol::grants::device_code::presented_device_code;
use portcullis_protocol::grants::refresh_token::{narrowed_scopes, presented_token};
use portcullis_protocol::grants::{TokenParams, requested_grant};
use portcullis_protocol::tokens::secret_hash;
use portcullis_protocol::{Client, CodeChallenge, GrantType, ProtocolError, ScopeSet};

use crate::Outcome;
use crate::fixtures::{CODE_CHALLENGE, REFRESH_GRANT_SCOPES, fixtures};

/// Runs one token request body.
pub fn token_form(data: &[u8]) -> Outcome {
    let Ok(form) = portcullis_web::parse_token_form(data) else {
        return Outcome::Rejected;
    };
    let fields = &form.client;
    // As client authentication picks the client: an assertion's issuer
    // (unverified, only to choose the keys), else `client_id`.
    let assertion = fields.client_assertion.as_deref();
    let named = assertion.and_then(unverified_issuer).or_else(|| fields.client_id.clone());
    let Some(client) = named.as_deref().and_then(|id| fixtures().client(id)) else {
        return Outcome::Rejected;
    };
    let authenticated = match (assertion, &fields.client_secret) {
        (Some(assertion), None) => {
            fields.client_assertion_type.as_deref() == Some(JWT_BEARER)
                && crate::jwt::assertion_accepted(assertion, client, fields.client_id.as_deref())
        }
        (None, Some(secret)) => client.verify_secret(secret, crate::fixtures::now()),
        (None, None) => client.is_public(),
        (Some(_), Some(_)) => false,
    };
    let grant = grant_checks(client, &form.params);
    if authenticated && grant.is_ok() { Outcome::Accepted } else { Outcome::Rejected }
}

/// Why a grant was refused by the harness's stand-in for the store: the
/// code or refresh token is not the one it holds.
const NOT_STORED: &str = "not what the store holds";

fn grant_checks(client: &Client, params: &TokenParams) -> Result<(), String> {
    let refused = |e: ProtocolError| e.to_string();
    match requested_grant(client, params).map_err(refused)? {
        GrantType::AuthorizationCode => {
            let (code, verifier) = code_and_verifier(params).map_err(refused)?;
            let hash = secret_hash(code);
            assert_eq!(hash.len(), 64, "a secret hash is hex SHA-256");
            // The stored code was issued for the fixture challenge and the
            // client's first redirect URI.
            let challenge = CodeChallenge::parse_s256(CODE_CHALLENGE).expect("the fixture challenge");
            let redirect = client.redirect_uris.first().map(|r| r.as_str());
            if !challenge.verify(&verifier) || params.redirect_uri.as_deref() != redirect {
                return Err(NOT_STORED.into());
            }
        }
        GrantType::RefreshToken => {
            let token = presented_token(params).map_err(refused)?;
            assert_eq!(secret_hash(token).len(), 64, "a secret hash is hex SHA-256");
            let granted = ScopeSet::parse(REFRESH_GRANT_SCOPES).expect("fixture scopes");
            let scopes = narrowed_scopes(&granted, params).map_err(refused)?;
            assert!(scopes.is_subset(&granted), "the scope widened to {scopes}");
        }
        GrantType::DeviceCode => {
            let code = presented_device_code(params).map_err(refused)?;
            assert_eq!(secret_hash(code).len(), 64, "a secret hash is hex SHA-256");
            // The harness's store holds no device authorization.
            return Err(NOT_STORED.into());
        }
        GrantType::ClientCredentials => {
            let scopes = requested_scopes(client, params).map_err(refused)?;
            assert!(scopes.is_subset(&client.scopes), "{scopes} is not the client's");
            assert!(!scopes.is_oidc() && !scopes.contains("offline_access"), "user scopes granted: {scopes}");
        }
    }
    Ok(())
}
