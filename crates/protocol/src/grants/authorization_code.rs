//! The authorization code: issued at the end of `/authorize` with a new
//! grant, redeemed once at `/token` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use portcullis_store::CodeRow;

use crate::authorize::AuthorizationRequest;
use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::Jkt;
use crate::grants::{FirstUse, TokenParams, first_tokens, new_grant};
use crate::interaction::Authentication;
use crate::tokens::{TokenResponse, new_secret, secret_hash};
use crate::{Client, CodeChallenge, CodeVerifier, OAuthError};

/// Creates the grant for an authorized request and its single-use code
/// (stored hashed, valid `config.code_ttl`); returns the code.
#[tracing::instrument(skip_all)]
pub async fn issue_code(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    auth: &Authentication,
) -> Result<String, ProtocolError> {
    let resources = request.resources.iter().map(|r| r.as_str().to_owned()).collect();
    let grant = new_grant(ctx, &request.client_id, &request.scopes, auth, &request.acr_values, resources);
    let code = new_secret();
    let row = CodeRow {
        code_hash: secret_hash(&code),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        redirect_uri: request.redirect_uri.as_str().to_owned(),
        code_challenge: request.code_challenge.as_str().to_owned(),
        nonce: request.nonce.clone(),
        created_at: ctx.now,
        expires_at: ctx.now + ctx.config.code_ttl,
        consumed_at: None,
    };
    ctx.store.create_grant_with_code(&grant, &row).await?;
    Ok(code)
}

/// The form checks before any store read: a `code`, and a well-formed
/// `code_verifier` (RFC 7636 §4.1).
pub fn code_and_verifier(params: &TokenParams) -> Result<(&str, CodeVerifier), ProtocolError> {
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
        return reject(OAuthError::InvalidRequest, "code is required");
    };
    let Some(verifier) = params.code_verifier.as_deref() else {
        return reject(OAuthError::InvalidRequest, "code_verifier is required");
    };
    let Ok(verifier) = CodeVerifier::parse(verifier) else {
        return reject(OAuthError::InvalidRequest, "code_verifier is malformed");
    };
    Ok((code, verifier))
}

/// Redeems a code: bound to the client, the redirect URI and the PKCE
/// verifier, once. A second redemption revokes every token issued from it.
pub(crate) async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<TokenResponse, ProtocolError> {
    let (code, verifier) = code_and_verifier(params)?;
    let hash = secret_hash(code);
    let Some((row, grant)) = ctx.store.find_code(&hash).await? else {
        return reject(OAuthError::InvalidGrant, "unknown authorization code");
    };
    if row.consumed_at.is_some() {
        // RFC 6749 §4.1.2 / RFC 9700 §4.5: a replayed code revokes what it issued.
        ctx.store.revoke_grant(&row.grant_id, ctx.now).await?;
        tracing::warn!(client_id = %row.client_id, "authorization code replayed; its grant is revoked");
        return reject(OAuthError::InvalidGrant, "the authorization code was already used");
    }
    if ctx.now >= row.expires_at {
        return reject(OAuthError::InvalidGrant, "the authorization code expired");
    }
    if row.client_id != client.client_id.as_str() {
        return reject(OAuthError::InvalidGrant, "the code was issued to another client");
    }
    if params.redirect_uri.as_deref() != Some(row.redirect_uri.as_str()) {
        return reject(OAuthError::InvalidGrant, "redirect_uri does not match the authorization request");
    }
    let challenge_ok =
        CodeChallenge::parse_s256(&row.code_challenge).is_ok_and(|challenge| challenge.verify(&verifier));
    if !challenge_ok {
        return reject(OAuthError::InvalidGrant, "code_verifier does not match the code_challenge");
    }
    first_tokens(ctx, client, &grant, row.nonce.as_deref(), FirstUse::Code(&hash), params, jkt).await
}
