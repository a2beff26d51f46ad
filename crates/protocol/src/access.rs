//! Using tokens: checking a bearer access token (signature, type, issuer,
//! expiry, revocation, and — tokens being session-backed — its grant and
//! browser session), the UserInfo response (OIDC Core §5.3), introspection
//! (RFC 7662) and revocation (RFC 7009).

use portcullis_core::Issuer;
use portcullis_keys::KeySet;
use portcullis_store::User;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::claims::{Subject, groups_for, user_claims};
use crate::client_auth::load_client;
use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::{self, DpopRequest, Scheme};
use crate::grants::{grant_usable, grant_usable_with};
use crate::token_state_cache::TokenState;
use crate::tokens::{ACCESS_TOKEN_TYP, GRANT_CLAIM, secret_hash, unix};
use crate::{Client, OAuthError, ScopeSet};

/// A valid access token, with what it is bound to.
#[derive(Debug, Clone)]
pub struct ValidAccessToken {
    /// The verified claims.
    pub claims: Map<String, Value>,
    /// The scopes it carries.
    pub scopes: ScopeSet,
    /// Its grant, session and user, as read from the store or the cache
    /// (shared with the cache, not copied per request).
    state: Arc<TokenState>,
}

impl ValidAccessToken {
    /// The grant's user (user-bound tokens).
    pub fn user(&self) -> Option<&User> {
        self.state.user.as_ref()
    }
}

/// The key under which a revoked access token's `jti` is recorded.
fn revoked_key(jti: &str) -> String {
    format!("revoked:{jti}")
}

fn invalid<T>(description: &'static str) -> Result<T, ProtocolError> {
    reject(OAuthError::InvalidToken, description)
}

/// The checks of [`check_access_token`] that need no store: the signature
/// against `keys`, then `typ`, `iss` and `exp` at `now`. Returns the claims.
pub fn verified_access_claims(
    keys: &KeySet,
    issuer: &Issuer,
    now: OffsetDateTime,
    token: &str,
) -> Result<Map<String, Value>, ProtocolError> {
    let Ok(verified) = keys.verify_jwt(token) else {
        return invalid("the token is not ours or is malformed");
    };
    if verified.typ.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(ACCESS_TOKEN_TYP) {
        return invalid("not an access token");
    }
    let claims = verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
        return invalid("the token is not ours");
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= unix(now) {
        return invalid("the token expired");
    }
    Ok(claims)
}

/// Checks a bearer access token; `invalid_token` for anything wrong.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn check_access_token(ctx: &Ctx<'_>, token: &str) -> Result<ValidAccessToken, ProtocolError> {
    let claims = verified_access_claims(ctx.keys, ctx.issuer, ctx.now, token)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let Some(jti) = text("jti") else { return invalid("the token has no jti") };
    let grant_id = text(GRANT_CLAIM);
    let scopes = ScopeSet::parse(text("scope").unwrap_or("")).unwrap_or_default();
    // The generation is read from the database (one primary-key read) before
    // anything else: a write committing after it, on any instance, moves it,
    // so what is read below is cached under a generation that is already
    // stale, and a cached state is used only if nothing committed since.
    let generation = ctx.store.token_state_generation().await?;
    if let Some(generation) = generation
        && let Some(state) = ctx.tokens.get(jti, ctx.now, generation)
        && state.grant.as_ref().map(|g| g.id.as_str()) == grant_id
        && state.grant.as_ref().is_none_or(|g| grant_usable_with(ctx, g, state.session.as_ref()))
    {
        return Ok(ValidAccessToken { claims, scopes, state });
    }
    // One read for the revocation list, the grant and its session.
    let state = ctx.store.access_token_state(&revoked_key(jti), grant_id, ctx.now).await?;
    if state.revoked {
        return invalid("the token was revoked");
    }
    let (grant, user) = match grant_id {
        None => (None, None),
        Some(_) => {
            let Some(grant) = state.grant else { return invalid("the grant is gone") };
            if !grant_usable_with(ctx, &grant, state.session.as_ref()) {
                return invalid("the grant was revoked or its session ended");
            }
            let user = ctx.store.find_user(grant.user_id).await?.filter(|u| !u.disabled);
            let Some(user) = user else { return invalid("the user is disabled") };
            (Some(grant), Some(user))
        }
    };
    let groups = match &user {
        Some(user) => groups_for(ctx, user.id, &scopes).await?,
        None => Vec::new(),
    };
    let state = Arc::new(TokenState { grant, session: state.session, user, groups });
    if let Some(generation) = generation {
        ctx.tokens.put(jti, state.clone(), ctx.now, generation);
    }
    Ok(ValidAccessToken { claims, scopes, state })
}

impl ValidAccessToken {
    /// Whether the token is the provider's own (`aud` is the issuer), not
    /// one for a resource server (RFC 8707), which only that server takes.
    pub fn is_for_issuer(&self, issuer: &Issuer) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(aud)) => aud == issuer.as_str(),
            Some(Value::Array(auds)) => auds.len() == 1 && auds[0].as_str() == Some(issuer.as_str()),
            _ => false,
        }
    }
}

/// The UserInfo claims for a valid token: `sub` and what its scopes release.
/// Client-credentials tokens (no user), tokens for a resource server (their
/// `aud` is not the issuer) and tokens without `openid` are refused.
pub fn userinfo(token: &ValidAccessToken, issuer: &Issuer) -> Result<Map<String, Value>, ProtocolError> {
    if !token.is_for_issuer(issuer) {
        return invalid("the token is for a resource server, not for UserInfo");
    }
    let Some(user) = token.user() else { return invalid("the token has no user") };
    if !token.scopes.is_oidc() {
        return reject(OAuthError::InsufficientScope, "the token lacks the openid scope");
    }
    let mut claims = user_claims(Subject { user, groups: &token.state.groups }, &token.scopes);
    claims.insert("sub".into(), json!(user.id.to_string()));
    Ok(claims)
}

/// A refused resource request, and which challenge answers it: `DPoP`
/// (RFC 9449 §7.1) when the token was presented as DPoP, is DPoP-bound or
/// the proof failed; `Bearer` (RFC 6750 §3) otherwise.
#[derive(Debug)]
pub struct ResourceRefusal {
    /// Why.
    pub error: ProtocolError,
    /// Whether the challenge is `DPoP`.
    pub dpop: bool,
}

/// UserInfo for `token` presented with `scheme`, and the request's DPoP
/// proof (RFC 9449 §7): a DPoP-bound token needs the `DPoP` scheme and a
/// proof by its key with this token's `ath`. A proof at UserInfo need not
/// carry a nonce; one it carries must be current.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn userinfo_request(
    ctx: &Ctx<'_>,
    scheme: Scheme,
    token: &str,
    proof: &DpopRequest<'_>,
) -> Result<Map<String, Value>, ResourceRefusal> {
    let refusal = |error: ProtocolError, bound: bool| {
        let dpop_error = matches!(error.oauth(), OAuthError::InvalidDpopProof | OAuthError::UseDpopNonce);
        ResourceRefusal { dpop: bound || scheme == Scheme::Dpop || dpop_error, error }
    };
    let valid = check_access_token(ctx, token).await.map_err(|e| refusal(e, false))?;
    let bound = dpop::bound_key(&valid.claims);
    dpop::resource_proof(ctx.dpop, ctx.now, bound, scheme, token, proof)
        .map_err(|e| refusal(e, bound.is_some()))?;
    userinfo(&valid, ctx.issuer).map_err(|e| refusal(e, bound.is_some()))
}

/// `{"active": false}`.
pub fn inactive() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(false));
    m
}

/// Introspects `token` for the authenticated `caller` (RFC 7662 §2.2).
/// Access tokens may be introspected by any confidential client (resource
/// servers); refresh tokens only by the client they were issued to.
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %caller.client_id))]
pub async fn introspect(
    ctx: &Ctx<'_>,
    caller: &Client,
    token: &str,
) -> Result<Map<String, Value>, ProtocolError> {
    if token.split('.').count() == 3 {
        return match check_access_token(ctx, token).await {
            Ok(valid) => Ok(active_access(valid)),
            Err(ProtocolError::Rejected { .. }) => Ok(inactive()),
            Err(e) => Err(e),
        };
    }
    let Some((row, grant)) = ctx.store.find_refresh_token(&secret_hash(token)).await? else {
        return Ok(inactive());
    };
    let live = row.client_id == caller.client_id.as_str()
        && row.rotated_at.is_none()
        && ctx.now < row.expires_at
        && grant_usable(ctx, &grant).await?;
    if !live {
        return Ok(inactive());
    }
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    m.insert("token_type".into(), json!("refresh_token"));
    m.insert("client_id".into(), json!(row.client_id));
    m.insert("scope".into(), json!(row.scopes.join(" ")));
    m.insert("sub".into(), json!(grant.user_id.to_string()));
    m.insert("iss".into(), json!(ctx.issuer.as_str()));
    m.insert("iat".into(), json!(unix(row.created_at)));
    m.insert("exp".into(), json!(unix(row.expires_at)));
    if let Some(sid) = &grant.sid {
        m.insert("sid".into(), json!(sid));
    }
    if let Some(user) = ctx.store.find_user(grant.user_id).await? {
        m.insert("username".into(), json!(user.username));
    }
    Ok(m)
}

fn active_access(valid: ValidAccessToken) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    // RFC 9449 §6.2: a bound token says so, with its key, so the resource
    // server can check the proof.
    let token_type = if dpop::bound_key(&valid.claims).is_some() { "DPoP" } else { "Bearer" };
    m.insert("token_type".into(), json!(token_type));
    for name in [
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "jti",
        "sid",
        "auth_time",
        "acr",
        "amr",
        "cnf",
    ] {
        if let Some(v) = valid.claims.get(name) {
            m.insert(name.into(), v.clone());
        }
    }
    if let Some(user) = valid.user() {
        m.insert("username".into(), json!(user.username));
    }
    m
}

/// Revokes `token` for the authenticated `caller` (RFC 7009 §2.1): a refresh
/// token revokes its whole grant (and so the access tokens issued from it);
/// an access token is recorded as revoked until it expires. Tokens that are
/// unknown, invalid or another client's are ignored (the answer is 200 all the same).
#[tracing::instrument(level = "debug", skip_all, fields(client_id = %caller.client_id))]
pub async fn revoke(ctx: &Ctx<'_>, caller: &Client, token: &str) -> Result<(), ProtocolError> {
    if token.split('.').count() == 3 {
        let Ok(verified) = ctx.keys.verify_jwt(token) else { return Ok(()) };
        let claims = &verified.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("client_id") != Some(caller.client_id.as_str()) || text("iss") != Some(ctx.issuer.as_str()) {
            return Ok(());
        }
        let (Some(jti), Some(exp)) = (text("jti"), claims.get("exp").and_then(Value::as_i64)) else {
            return Ok(());
        };
        if exp > unix(ctx.now) {
            let until = time::OffsetDateTime::from_unix_timestamp(exp).unwrap_or(ctx.now);
            ctx.store.record_jti(&revoked_key(jti), ctx.now, until).await?;
        }
        return Ok(());
    }
    if let Some((row, _)) = ctx.store.find_refresh_token(&secret_hash(token)).await?
        && row.client_id == caller.client_id.as_str()
    {
        ctx.store.revoke_grant(&row.grant_id, ctx.now).await?;
    }
    Ok(())
}

/// Loads the client named by `client_id` for pages (consent, logout).
#[tracing::instrument(skip_all, fields(client_id = %id))]
pub async fn client_for_page(ctx: &Ctx<'_>, id: &str) -> Result<Option<Client>, ProtocolError> {
    match load_client(ctx, id).await {
        Ok(c) => Ok(Some(c)),
        Err(ProtocolError::Rejected { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The client calling the admin API with the bearer `token`: a valid access
/// token without a user (the client-credentials grant) carrying the `admin`
/// scope, of a client that — at this moment — exists, is enabled and is
/// still marked `admin_api`. `invalid_token` for a token that is not one of
/// ours or no longer valid; `insufficient_scope` otherwise. Returns the
/// client id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn admin_api_client(ctx: &Ctx<'_>, token: &str) -> Result<String, ProtocolError> {
    use crate::grants::client_credentials::ADMIN_SCOPE;
    let valid = check_access_token(ctx, token).await?;
    if !valid.is_for_issuer(ctx.issuer) {
        return invalid("the token is for a resource server, not for the admin API");
    }
    if valid.user().is_some() || !valid.scopes.contains(ADMIN_SCOPE) {
        return reject(OAuthError::InsufficientScope, "the token lacks the admin scope");
    }
    let Some(id) = valid.claims.get("client_id").and_then(Value::as_str) else {
        return invalid("the token names no client");
    };
    match load_client(ctx, id).await {
        Ok(client) if client.admin_api => Ok(id.to_owned()),
        Ok(_) => reject(OAuthError::InsufficientScope, "the client may no longer use the admin API"),
        Err(ProtocolError::Rejected { .. }) => invalid("the client is gone or disabled"),
        Err(e) => Err(e),
    }
}
