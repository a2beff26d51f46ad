//! The refresh-token grant (RFC 6749 §6): rotated on every use; reuse of a
//! rotated token revokes the whole family (RFC 9700 §4.14.2); the scope may
//! narrow, never widen. Within `refresh_reuse_grace` of a rotation, the same
//! client presenting the rotated token again (a second tab) gets the same
//! successor back instead.

use portcullis_store::{RefreshState, RefreshTokenRow, Rotate, RotateOutcome};

use crate::claims::{Subject, groups_for};
use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::{Jkt, check_refresh_binding};
use crate::grants::{TokenParams, audience, grant_usable_with};
use crate::tokens::{self, TokenResponse, new_secret, open_successor, seal_successor, secret_hash};
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

/// The instant from which a reused refresh token is forgiven, if the grace is on.
pub fn grace_since(ctx: &Ctx<'_>) -> Option<time::OffsetDateTime> {
    let grace = ctx.config.refresh_reuse_grace;
    grace.is_positive().then(|| ctx.now - grace)
}

/// Rotates the presented refresh token: one read (the token, its grant,
/// session and user), the signatures, one `INSERT` of the successor.
pub(crate) async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<TokenResponse, ProtocolError> {
    let presented = presented_token(params)?;
    let hash = secret_hash(presented);
    let Some(RefreshState { token: row, grant, session, user }) = ctx.store.refresh_state(&hash).await?
    else {
        return reject(OAuthError::InvalidGrant, "unknown refresh token");
    };
    if row.client_id != client.client_id.as_str() {
        return reject(OAuthError::InvalidGrant, "the refresh token was issued to another client");
    }
    // Before reuse detection: a stolen bound token alone cannot even
    // revoke its family (nor, within the grace, open its successor).
    check_refresh_binding(row.dpop_jkt.as_deref(), jkt)?;
    let grace_since = grace_since(ctx);
    if let Some(rotated_at) = row.rotated_at
        && grace_since.is_none_or(|since| rotated_at < since)
    {
        ctx.store.revoke_grant(&row.grant_id, ctx.now).await?;
        tracing::warn!(client_id = %row.client_id, "rotated refresh token reused; its family is revoked");
        return reject(OAuthError::InvalidGrant, "the refresh token was already used");
    }
    if ctx.now >= row.expires_at || !grant_usable_with(ctx, &grant, session.as_ref()) {
        return reject(OAuthError::InvalidGrant, "the refresh token expired or was revoked");
    }
    let Some(user) = user.filter(|u| !u.disabled && u.id == grant.user_id) else {
        return reject(OAuthError::InvalidGrant, "the user no longer exists or is disabled");
    };
    let granted = ScopeSet::from_tokens(row.scopes.iter().map(String::as_str))
        .map_err(|_| ProtocolError::Rejected { error: OAuthError::InvalidGrant, description: "bad scope" })?;
    let scopes = narrowed_scopes(&granted, params)?;
    // Before the rotation: a refused resource leaves the token usable.
    let audience = audience(ctx, client, params, Some(&grant.resources))?;
    let access_scopes = audience.scopes(&scopes);
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
        // The family keeps the key it began with.
        dpop_jkt: row.dpop_jkt.clone(),
    };
    let sealed = grace_since.and_then(|_| seal_successor(presented, &next_token));
    let rotate = Rotate { token_hash: &hash, next: &next, sealed_successor: sealed.as_deref(), grace_since };
    let refresh_token = match ctx.store.rotate_refresh_token(&rotate, ctx.now).await? {
        RotateOutcome::Rotated => next_token,
        // Another request (a second tab) rotated it a moment ago: the same successor.
        RotateOutcome::Graced(sealed) => match open_successor(presented, &sealed) {
            Some(successor) => successor,
            None => return reject(OAuthError::InvalidGrant, "the refresh token was already used"),
        },
        RotateOutcome::Replayed | RotateOutcome::Unknown => {
            return reject(OAuthError::InvalidGrant, "the refresh token was already used");
        }
    };
    let sub = user.id.to_string();
    let access = tokens::access_token(ctx, client, &sub, &access_scopes, Some(&grant), audience, jkt).await?;
    let id_token = if scopes.is_oidc() {
        let groups = groups_for(ctx, user.id, &scopes).await?;
        let subject = Subject { user: &user, groups: &groups };
        Some(tokens::id_token(ctx, client, subject, &grant, &scopes, None, &access.token).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: tokens::token_type(jkt),
        expires_in: access.expires_in,
        scope: access_scopes.to_string(),
        refresh_token: Some(refresh_token),
        id_token,
    })
}
