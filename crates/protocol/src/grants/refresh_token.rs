//! The refresh-token grant (RFC 6749 §6): rotated on every use; reuse of a
//! rotated token revokes the whole family (RFC 9700 §4.14.2); the scope may
//! narrow, never widen.

use portcullis_store::{Redemption, RefreshTokenRow};

use crate::claims::{Subject, groups_for};
use crate::context::{Ctx, ProtocolError, reject};
use crate::grants::{TokenParams, audience, grant_usable, grant_user};
use crate::tokens::{self, TokenResponse, new_secret, secret_hash};
use crate::{Client, OAuthError, ScopeSet};

/// The `refresh_token` of the form, which must not be empty.
pub fn presented_token(params: &TokenParams) -> Result<&str, ProtocolError> {
    match params.refresh_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Ok(token),
        None => reject(OAuthError::InvalidRequest, "refresh_token is required"),
    }
}

/// The scopes of the new tokens: `granted`, or the narrower `scope` asked for.
pub fn narrowed_scopes(granted: &ScopeSet, params: &TokenParams) -> Result<ScopeSet, ProtocolError> {
    match params.scope.as_deref() {
        None | Some("") => Ok(granted.clone()),
        Some(raw) => match ScopeSet::parse(raw) {
            Ok(asked) if asked.is_subset(granted) => Ok(asked),
            _ => reject(OAuthError::InvalidScope, "the scope may narrow but never widen"),
        },
    }
}

pub(crate) async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
) -> Result<TokenResponse, ProtocolError> {
    let presented = presented_token(params)?;
    let hash = secret_hash(presented);
    let Some((row, grant)) = ctx.store.find_refresh_token(&hash).await? else {
        return reject(OAuthError::InvalidGrant, "unknown refresh token");
    };
    if row.client_id != client.client_id.as_str() {
        return reject(OAuthError::InvalidGrant, "the refresh token was issued to another client");
    }
    if row.rotated_at.is_some() {
        ctx.store.revoke_grant(&row.grant_id, ctx.now).await?;
        tracing::warn!(client_id = %row.client_id, "rotated refresh token reused; its family is revoked");
        return reject(OAuthError::InvalidGrant, "the refresh token was already used");
    }
    if ctx.now >= row.expires_at || !grant_usable(ctx, &grant).await? {
        return reject(OAuthError::InvalidGrant, "the refresh token expired or was revoked");
    }
    let granted = ScopeSet::from_tokens(row.scopes.iter().map(String::as_str))
        .map_err(|_| ProtocolError::Rejected { error: OAuthError::InvalidGrant, description: "bad scope" })?;
    let scopes = narrowed_scopes(&granted, params)?;
    // Before the rotation: a refused resource leaves the token usable.
    let audience = audience(ctx, client, params, Some(&grant.resources))?;
    let access_scopes = audience.scopes(&scopes);
    let user = grant_user(ctx, &grant).await?;
    let next_token = new_secret();
    // RFC 6749 §6: the new refresh token keeps the original scope.
    let next = RefreshTokenRow {
        token_hash: secret_hash(&next_token),
        grant_id: grant.id.clone(),
        client_id: row.client_id.clone(),
        scopes: row.scopes.clone(),
        created_at: ctx.now,
        expires_at: row.expires_at,
        rotated_at: None,
    };
    match ctx.store.rotate_refresh_token(&hash, &next, ctx.now).await? {
        Redemption::Redeemed => {}
        Redemption::Replayed | Redemption::Unknown => {
            return reject(OAuthError::InvalidGrant, "the refresh token was already used");
        }
    }
    let sub = user.id.to_string();
    let access = tokens::access_token(ctx, client, &sub, &access_scopes, Some(&grant), audience)?;
    let id_token = if scopes.is_oidc() {
        let groups = groups_for(ctx, user.id, &scopes).await?;
        let subject = Subject { user: &user, groups: &groups };
        Some(tokens::id_token(ctx, client, subject, &grant, &scopes, None, &access.token)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: access_scopes.to_string(),
        refresh_token: Some(next_token),
        id_token,
    })
}
