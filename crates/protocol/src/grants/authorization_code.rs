//! The authorization code: issued at the end of `/authorize` with a new
//! grant, redeemed once at `/token` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use portcullis_store::{CodeRow, GrantRow, Redemption, RefreshTokenRow};

use crate::authorize::AuthorizationRequest;
use crate::claims::{Subject, groups_for};
use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::Jkt;
use crate::grants::{TokenParams, audience, grant_usable, grant_user, refresh_binding};
use crate::interaction::{Authentication, OFFLINE_ACCESS};
use crate::tokens::{self, TokenResponse, new_secret, secret_hash};
use crate::{Client, CodeChallenge, CodeVerifier, GrantType, OAuthError, ScopeSet};

/// Creates the grant for an authorized request and its single-use code
/// (stored hashed, valid `config.code_ttl`); returns the code.
#[tracing::instrument(skip_all)]
pub async fn issue_code(
    ctx: &Ctx<'_>,
    request: &AuthorizationRequest,
    auth: &Authentication,
) -> Result<String, ProtocolError> {
    let offline = request.scopes.contains(OFFLINE_ACCESS);
    let grant = GrantRow {
        id: portcullis_core::random::hex_id(),
        client_id: request.client_id.as_str().to_owned(),
        user_id: auth.user_id,
        sid: Some(auth.sid.clone()),
        session_bound: !offline,
        scopes: request.scopes.iter().map(str::to_owned).collect(),
        auth_time: auth.auth_time,
        amr: auth.amr.clone(),
        acr: crate::acr::granted(auth.acr.as_deref(), &request.acr_values),
        created_at: ctx.now,
        expires_at: ctx.now + ctx.config.refresh_token_ttl,
        revoked_at: None,
        resources: request.resources.iter().map(|r| r.as_str().to_owned()).collect(),
    };
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
    if !grant_usable(ctx, &grant).await? {
        return reject(OAuthError::InvalidGrant, "the grant was revoked or its session ended");
    }
    let user = grant_user(ctx, &grant).await?;
    let scopes = ScopeSet::from_tokens(grant.scopes.iter().map(String::as_str))
        .map_err(|_| ProtocolError::Rejected { error: OAuthError::InvalidGrant, description: "bad scope" })?;
    // Before the redemption: a refused resource leaves the code usable.
    let audience = audience(ctx, client, params, Some(&grant.resources))?;
    let access_scopes = audience.scopes(&scopes);
    let refresh = client.allows_grant(GrantType::RefreshToken).then(|| {
        let token = new_secret();
        let row = RefreshTokenRow {
            token_hash: secret_hash(&token),
            grant_id: grant.id.clone(),
            client_id: grant.client_id.clone(),
            scopes: grant.scopes.clone(),
            created_at: ctx.now,
            expires_at: grant.expires_at,
            rotated_at: None,
            dpop_jkt: refresh_binding(client, jkt),
        };
        (token, row)
    });
    match ctx.store.redeem_code(&hash, refresh.as_ref().map(|(_, r)| r), ctx.now).await? {
        Redemption::Redeemed => {}
        Redemption::Replayed | Redemption::Unknown => {
            return reject(OAuthError::InvalidGrant, "the authorization code was already used");
        }
    }
    let sub = user.id.to_string();
    let access = tokens::access_token(ctx, client, &sub, &access_scopes, Some(&grant), audience, jkt)?;
    let id_token = if scopes.is_oidc() {
        let groups = groups_for(ctx, user.id, &scopes).await?;
        let subject = Subject { user: &user, groups: &groups };
        Some(tokens::id_token(ctx, client, subject, &grant, &scopes, row.nonce.as_deref(), &access.token)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: tokens::token_type(jkt),
        expires_in: access.expires_in,
        scope: access_scopes.to_string(),
        refresh_token: refresh.map(|(t, _)| t),
        id_token,
    })
}
