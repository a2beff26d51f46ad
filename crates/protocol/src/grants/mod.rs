//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4, RFC 8628 §3.4),
//! one module each, and what they share: the grant a user's authorization
//! creates ([`new_grant`]) and the first tokens issued from it
//! ([`first_tokens`]), for the authorization code and the device code alike.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use portcullis_store::{GrantRow, Redemption, RefreshTokenRow, SessionTimes, User};

use crate::claims::{Subject, groups_for};
use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::Jkt;
use crate::interaction::{Authentication, OFFLINE_ACCESS};
use crate::resource::Audience;
use crate::tokens::{self, TokenResponse, new_secret};
use crate::{Client, ClientId, GrantType, OAuthError, ScopeSet};

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
    /// `device_code` (urn:ietf:params:oauth:grant-type:device_code).
    pub device_code: Option<String>,
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
        GrantType::ClientCredentials => client_credentials::exchange(ctx, client, params, jkt).await,
        GrantType::DeviceCode => device_code::exchange(ctx, client, params, jkt).await,
    }
}

/// The DPoP key a new refresh-token family is bound to: a public client's
/// proof key (RFC 9449 §5); a confidential client's refresh tokens stay
/// unbound (they are bound to its credentials already).
pub fn refresh_binding(client: &Client, jkt: Option<&Jkt>) -> Option<String> {
    if client.is_public() { jkt.map(|k| k.as_str().to_owned()) } else { None }
}

/// The grant a user's authorization creates (at the end of `/authorize`,
/// or when the user approves a device): for `client_id` and `scopes`, from
/// the browser session's authentication, bound to that session unless
/// `offline_access` was granted, lasting `config.refresh_token_ttl`; its
/// `acr` is the first of `acr_values` the authentication meets; the access
/// tokens may be for `resources` (RFC 8707).
pub fn new_grant(
    ctx: &Ctx<'_>,
    client_id: &ClientId,
    scopes: &ScopeSet,
    auth: &Authentication,
    acr_values: &[String],
    resources: Vec<String>,
) -> GrantRow {
    GrantRow {
        id: portcullis_core::random::hex_id(),
        client_id: client_id.as_str().to_owned(),
        user_id: auth.user_id,
        sid: Some(auth.sid.clone()),
        session_bound: !scopes.contains(OFFLINE_ACCESS),
        scopes: scopes.iter().map(str::to_owned).collect(),
        auth_time: auth.auth_time,
        amr: auth.amr.clone(),
        acr: crate::acr::granted(auth.acr.as_deref(), acr_values),
        created_at: ctx.now,
        expires_at: ctx.now + ctx.config.refresh_token_ttl,
        revoked_at: None,
        resources,
    }
}

/// The single-use secret a grant's first tokens are redeemed with (by hash).
#[derive(Debug, Clone, Copy)]
pub(crate) enum FirstUse<'a> {
    /// An authorization code.
    Code(&'a str),
    /// A device code.
    DeviceCode(&'a str),
}

impl FirstUse<'_> {
    /// The refusal of a second redemption.
    fn used(self) -> &'static str {
        match self {
            Self::Code(_) => "the authorization code was already used",
            Self::DeviceCode(_) => "the device code was already used",
        }
    }
}

/// The first tokens of a grant the user authorized, redeeming `secret`
/// once: the access token (for the `resource` `params` asks for, bound to
/// the DPoP key `jkt` when given); a refresh token when the client may use
/// the refresh grant (stored in the redemption's transaction, bound to a
/// public client's key); an ID token (with `nonce`) when `openid` was
/// granted. The grant must still be usable and its user enabled; a second
/// redemption gets nothing.
pub(crate) async fn first_tokens(
    ctx: &Ctx<'_>,
    client: &Client,
    grant: &GrantRow,
    nonce: Option<&str>,
    secret: FirstUse<'_>,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<TokenResponse, ProtocolError> {
    if !grant_usable(ctx, grant).await? {
        return reject(OAuthError::InvalidGrant, "the grant was revoked or its session ended");
    }
    let user = grant_user(ctx, grant).await?;
    let scopes = ScopeSet::from_tokens(grant.scopes.iter().map(String::as_str))
        .map_err(|_| ProtocolError::Rejected { error: OAuthError::InvalidGrant, description: "bad scope" })?;
    // Before the redemption: a refused resource leaves the code usable.
    let audience = audience(ctx, client, params, Some(&grant.resources))?;
    let access_scopes = audience.scopes(&scopes);
    let refresh = client.allows_grant(GrantType::RefreshToken).then(|| {
        let token = new_secret();
        let row = RefreshTokenRow {
            token_hash: tokens::secret_hash(&token),
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
    let refresh_row = refresh.as_ref().map(|(_, r)| r);
    let redemption = match secret {
        FirstUse::Code(hash) => ctx.store.redeem_code(hash, refresh_row, ctx.now).await?,
        FirstUse::DeviceCode(hash) => ctx.store.redeem_device_code(hash, refresh_row, ctx.now).await?,
    };
    match redemption {
        Redemption::Redeemed => {}
        Redemption::Replayed | Redemption::Unknown => return reject(OAuthError::InvalidGrant, secret.used()),
    }
    let sub = user.id.to_string();
    let access = tokens::access_token(ctx, client, &sub, &access_scopes, Some(grant), audience, jkt).await?;
    let id_token = if scopes.is_oidc() {
        let groups = groups_for(ctx, user.id, &scopes).await?;
        let subject = Subject { user: &user, groups: &groups };
        Some(tokens::id_token(ctx, client, subject, grant, &scopes, nonce, &access.token).await?)
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
