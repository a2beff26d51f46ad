//! The pending authorization request: stored once verified, resumed after
//! each interaction (sign-in, second factor, enrollment, consent) until the
//! code is issued or the request ends with an error at the redirect URI.

use portcullis_store::AuthRequestRow;
use time::OffsetDateTime;
use url::Url;

use super::{AuthorizationRequest, AuthorizeParams, validate};
use crate::context::{Ctx, ProtocolError, reject};
use crate::grants::authorization_code::issue_code;
use crate::interaction::{SignInState, Step, next_step};
use crate::{Client, OAuthError, RedirectUri, ScopeSet};

/// A pending request, loaded and re-checked against its client as it is now.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its id (the `request` parameter of the interaction pages).
    pub id: String,
    /// When it arrived (an authentication at or after it is fresh for it).
    pub requested_at: OffsetDateTime,
    /// The verified request.
    pub request: AuthorizationRequest,
    /// Its client.
    pub client: Client,
}

/// Where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Sign in (again).
    Login,
    /// The second factor of the sign-in started.
    SecondFactor,
    /// Enroll the second factor the policy requires.
    Enroll,
    /// Prove a stronger factor (`acr_values`).
    StepUp,
    /// Consent to the client and scopes.
    Consent,
    /// Back to the client: the authorization response (a code, or an error),
    /// always to the verified redirect URI.
    Redirect(Url),
}

/// Whether `id` has the shape of a pending request's id (1–64 ASCII
/// letters and digits): anything else names no request, and is never put
/// in a URL.
pub fn is_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Stores a verified request as pending for `config.auth_request_ttl`.
#[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
pub async fn store_pending(
    ctx: &Ctx<'_>,
    params: &AuthorizeParams,
    request: AuthorizationRequest,
    client: Client,
) -> Result<Pending, ProtocolError> {
    let Ok(raw) = serde_json::to_string(params) else {
        return reject(OAuthError::InvalidRequest, "the request cannot be stored");
    };
    let row = AuthRequestRow {
        id: portcullis_core::random::hex_id(),
        client_id: client.client_id.as_str().to_owned(),
        request: raw,
        created_at: ctx.now,
        expires_at: ctx.now + ctx.config.auth_request_ttl,
    };
    ctx.requests.create_auth_request(&row).await?;
    Ok(Pending { id: row.id, requested_at: row.created_at, request, client })
}

/// The live pending request `id`, re-validated against its client as it is
/// now (a client changed or removed meanwhile is noticed). `None` when it
/// is unknown or expired (an expired one is deleted); a store failure is an
/// error, never taken for "unknown".
#[tracing::instrument(skip_all, fields(request = %id))]
pub async fn load_pending(ctx: &Ctx<'_>, id: &str) -> Result<Option<Pending>, ProtocolError> {
    if !is_request_id(id) {
        return Ok(None);
    }
    let Some(row) = ctx.requests.find_auth_request(id).await? else { return Ok(None) };
    if ctx.now >= row.expires_at {
        ctx.requests.delete_auth_request(id).await?;
        return Ok(None);
    }
    let Ok(params) = serde_json::from_str::<AuthorizeParams>(&row.request) else {
        return reject(OAuthError::InvalidRequest, "the stored request is unreadable");
    };
    let client = crate::access::client_for_page(ctx, &row.client_id).await?;
    let request = match validate(&params, client.as_ref(), &ctx.config.resources) {
        Ok(request) => request,
        Err(e) => return reject(e.error, e.description),
    };
    let Some(client) = client else { return reject(OAuthError::InvalidClient, "unknown client") };
    Ok(Some(Pending { id: row.id, requested_at: row.created_at, request, client }))
}

/// Decides and performs the next step of `pending` for the browser's
/// sign-in `state`: an interaction page, or the authorization response (the
/// code only for a complete sign-in; with `prompt=none`, an error instead of
/// any interaction). A request that ends is deleted.
#[tracing::instrument(skip_all, fields(request = %pending.id))]
pub async fn resume(ctx: &Ctx<'_>, pending: &Pending, state: &SignInState) -> Result<Next, ProtocolError> {
    let consent = match state.complete() {
        Some(auth) => ctx
            .store
            .find_consent(auth.user_id, pending.client.client_id.as_str())
            .await?
            .and_then(|scopes| ScopeSet::from_tokens(scopes.iter().map(String::as_str)).ok()),
        None => None,
    };
    let step =
        next_step(&pending.request, pending.requested_at, &pending.client, state, consent.as_ref(), ctx.now);
    match step {
        Err((error, description)) => fail(ctx, pending, error, description).await,
        Ok(Step::Login) => Ok(Next::Login),
        Ok(Step::SecondFactor) => Ok(Next::SecondFactor),
        Ok(Step::Enroll) => Ok(Next::Enroll),
        Ok(Step::StepUp) => Ok(Next::StepUp),
        Ok(Step::Consent) => Ok(Next::Consent),
        Ok(Step::Issue) => issue(ctx, pending, state).await,
    }
}

/// The user's answer on the consent page: allowed scopes are remembered
/// (what was allowed before stays allowed) and the request resumes; a
/// denial ends it with `access_denied`. Needs a complete sign-in.
#[tracing::instrument(skip_all, fields(request = %pending.id, allow))]
pub async fn consent(
    ctx: &Ctx<'_>,
    pending: &Pending,
    state: &SignInState,
    allow: bool,
) -> Result<Next, ProtocolError> {
    let Some(auth) = state.complete() else { return resume(ctx, pending, state).await };
    if !allow {
        return fail(ctx, pending, OAuthError::AccessDenied, "the user denied the request").await;
    }
    let client_id = pending.client.client_id.as_str();
    let mut scopes = ctx.store.find_consent(auth.user_id, client_id).await?.unwrap_or_default();
    for scope in pending.request.scopes.iter() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    ctx.store.save_consent(auth.user_id, client_id, &scopes, ctx.now).await?;
    issue(ctx, pending, state).await
}

/// Issues the code of a request a complete sign-in satisfied.
async fn issue(ctx: &Ctx<'_>, pending: &Pending, state: &SignInState) -> Result<Next, ProtocolError> {
    let Some(auth) = state.complete() else { return Ok(Next::Login) };
    let code = issue_code(ctx, &pending.request, auth).await?;
    ctx.requests.delete_auth_request(&pending.id).await?;
    let request = &pending.request;
    Ok(Next::Redirect(response_url(ctx, &request.redirect_uri, request.state.as_deref(), &[("code", &code)])))
}

/// Ends the request with `error` at its verified redirect URI.
async fn fail(
    ctx: &Ctx<'_>,
    pending: &Pending,
    error: OAuthError,
    description: &str,
) -> Result<Next, ProtocolError> {
    ctx.requests.delete_auth_request(&pending.id).await?;
    Ok(Next::Redirect(error_url(ctx, &pending.request, error, description)))
}

/// An error response for `request` at its verified redirect URI (RFC 6749
/// §4.1.2.1).
pub fn error_url(ctx: &Ctx<'_>, request: &AuthorizationRequest, error: OAuthError, description: &str) -> Url {
    let pairs = [("error", error.code()), ("error_description", description)];
    response_url(ctx, &request.redirect_uri, request.state.as_deref(), &pairs)
}

/// The authorization response: the verified `redirect_uri` with `pairs`,
/// then the client's `state` (if any) and `iss` (RFC 9207) in its query.
pub fn response_url(
    ctx: &Ctx<'_>,
    redirect_uri: &RedirectUri,
    client_state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Url {
    let mut url = redirect_uri.url().clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(s) = client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", ctx.issuer.as_str());
    }
    url
}
