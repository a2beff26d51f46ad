//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4), one module each,
//! and the checks they share.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use portcullis_store::{GrantRow, SessionTimes, User};

use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::Jkt;
use crate::resource::Audience;
use crate::{Client, GrantType, OAuthError};

/// The form parameters of `POST /token`, as received.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenParams {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `code` (authorization_code).
    pub code: Option<String>,
    /// `redirect_uri` (authorization_code).
    pub redirect_uri: Option<String>,
    /// `code_verifier` (authorization_code).
    pub code_verifier: Option<String>,
    /// `refresh_token` (refresh_token).
    pub refresh_token: Option<String>,
    /// `scope` (refresh_token narrowing, client_credentials).
    pub scope: Option<String>,
    /// `resource` (RFC 8707): the resource server the access token is for
    /// (one per request; none: the provider's own token).
    pub resource: Option<String>,
}

/// The audience of the access token `params` asks for (its `resource`),
/// allowed for `client` and, for a user's grant, among the resources it
/// names (`granted`); `invalid_target` otherwise.
pub fn audience<'r>(
    ctx: &Ctx<'r>,
    client: &Client,
    params: &TokenParams,
    granted: Option<&[String]>,
) -> Result<Audience<'r>, ProtocolError> {
    Audience::select(params.resource.as_deref(), client, &ctx.config.resources, granted)
        .or_else(|(error, description)| reject(error, description))
}

/// The grant named by `grant_type`, if `client` may use it.
pub fn requested_grant(client: &Client, params: &TokenParams) -> Result<GrantType, ProtocolError> {
    let grant = match params.grant_type.as_deref() {
        None | Some("") => return reject(OAuthError::InvalidRequest, "grant_type is required"),
        Some(name) => match GrantType::parse(name) {
            Ok(g) => g,
            Err(_) => return reject(OAuthError::UnsupportedGrantType, "unsupported grant_type"),
        },
    };
    if !client.allows_grant(grant) {
        return reject(OAuthError::UnauthorizedClient, "the client may not use this grant type");
    }
    Ok(grant)
}

/// Runs the grant named by `grant_type` for an authenticated `client`;
/// the access token is bound to `jkt` when the request proved a DPoP key.
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %client.client_id, grant_type = ?params.grant_type))]
pub async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<crate::TokenResponse, ProtocolError> {
    match requested_grant(client, params)? {
        GrantType::AuthorizationCode => authorization_code::exchange(ctx, client, params, jkt).await,
        GrantType::RefreshToken => refresh_token::exchange(ctx, client, params, jkt).await,
        GrantType::ClientCredentials => client_credentials::exchange(ctx, client, params, jkt),
    }
}

/// The DPoP key a new refresh-token family is bound to: a public client's
/// proof key (RFC 9449 §5); a confidential client's refresh tokens stay
/// unbound (they are bound to its credentials already).
pub fn refresh_binding(client: &Client, jkt: Option<&Jkt>) -> Option<String> {
    if client.is_public() { jkt.map(|k| k.as_str().to_owned()) } else { None }
}

/// The grant's user, if still enabled.
pub(crate) async fn grant_user(ctx: &Ctx<'_>, grant: &GrantRow) -> Result<User, ProtocolError> {
    match ctx.store.find_user(grant.user_id).await? {
        Some(user) if !user.disabled => Ok(user),
        _ => reject(OAuthError::InvalidGrant, "the user no longer exists or is disabled"),
    }
}

/// Whether the grant may still be used at `ctx.now`: not revoked nor
/// expired, and — when it is bound to a browser session — that session is
/// alive and still the same user's.
pub async fn grant_usable(ctx: &Ctx<'_>, grant: &GrantRow) -> Result<bool, ProtocolError> {
    if !grant.is_live(ctx.now) {
        return Ok(false);
    }
    if !grant.session_bound {
        return Ok(true);
    }
    let Some(sid) = &grant.sid else { return Ok(false) };
    let session = ctx.store.find_session_by_sid(sid).await?;
    Ok(session.is_some_and(|s| s.user_id == Some(grant.user_id) && ctx.config.session_alive(&s, ctx.now)))
}

/// [`grant_usable`] over a session already read (the one the grant's `sid`
/// names, as [`Store::access_token_state`] returns it).
///
/// [`Store::access_token_state`]: portcullis_store::Store::access_token_state
pub(crate) fn grant_usable_with(ctx: &Ctx<'_>, grant: &GrantRow, session: Option<&SessionTimes>) -> bool {
    if !grant.is_live(ctx.now) {
        return false;
    }
    if !grant.session_bound {
        return true;
    }
    if grant.sid.is_none() {
        return false;
    }
    session.is_some_and(|s| {
        s.user_id == Some(grant.user_id)
            && ctx.config.session_times_alive(s.created_at, s.last_seen_at, ctx.now)
    })
}
