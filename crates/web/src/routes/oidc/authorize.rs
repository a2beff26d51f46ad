//! `/authorize` (GET and POST) and its resumption after sign-in: the
//! authorization code flow's front channel (RFC 6749 §4.1, OIDC Core §3.1.2).
//!
//! The request is checked by `portcullis_protocol::authorize::validate`;
//! until the client and redirect URI are verified, errors are shown on a
//! page, never redirected. A verified request is stored as pending, then
//! `interaction::next_step` decides: sign-in, consent, or the code. Every
//! authorization response carries `iss` (RFC 9207).

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizeParams, check_client_id, validate,
};
use portcullis_protocol::grants::authorization_code::issue_code;
use portcullis_protocol::interaction::next_step;
use portcullis_protocol::{Client, OAuthError, RedirectUri, ScopeSet, Step};
use portcullis_store::AuthRequestRow;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{ctx, keys};
use crate::pages::PageError;
use crate::{AppState, Auth, session};

/// A pending request, loaded and re-checked.
pub(crate) struct Pending {
    pub(crate) id: String,
    pub(crate) requested_at: OffsetDateTime,
    pub(crate) request: AuthorizationRequest,
    pub(crate) client: Client,
}

/// `?request=…` of the pages that resume a pending request.
#[derive(Deserialize)]
pub(crate) struct RequestRef {
    #[serde(default)]
    pub(crate) request: String,
}

/// `GET /authorize`.
pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    params: web::Query<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    start(&req, &state, &auth, params.into_inner()).await
}

/// `POST /authorize` (form-encoded, OIDC Core §3.1.2.1).
pub(crate) async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    params: web::Form<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    start(&req, &state, &auth, params.into_inner()).await
}

async fn start(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
    params: AuthorizeParams,
) -> Result<HttpResponse, PageError> {
    let keys = keys(state);
    let ctx = ctx(state, &keys);
    let client = match check_client_id(&params) {
        Ok(id) => portcullis_protocol::access::client_for_page(&ctx, id.as_str()).await?,
        Err(e) => return refused(state, e),
    };
    let request = match validate(&params, client.as_ref()) {
        Ok(request) => request,
        Err(e) => return refused(state, e),
    };
    let Some(client) = client else {
        return Err(PageError::Protocol("unknown client"));
    };
    let row = AuthRequestRow {
        id: portcullis_core::random::hex_id(),
        client_id: client.client_id.as_str().to_owned(),
        request: serde_json::to_string(&params).map_err(|e| PageError::Internal(e.to_string()))?,
        created_at: ctx.now,
        expires_at: ctx.now + state.protocol.auth_request_ttl,
    };
    state.store.create_auth_request(&row).await?;
    let pending = Pending { id: row.id, requested_at: row.created_at, request, client };
    proceed(req, state, auth, &pending).await
}

/// `GET /authorize/resume?request=…`: where sign-in returns to.
pub(crate) async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &query.request).await?;
    proceed(&req, &state, &auth, &pending).await
}

/// The id when it names a live pending request, else empty (a page that
/// carries a request id along tolerates a stale one: it just goes home).
pub(crate) async fn live_request_id(state: &AppState, id: &str) -> String {
    if id.is_empty() {
        return String::new();
    }
    load_pending(state, id).await.map(|p| p.id).unwrap_or_default()
}

/// Loads a pending request by id and re-validates it against the client as
/// it is now; unknown or expired requests are a friendly page.
pub(crate) async fn load_pending(state: &AppState, id: &str) -> Result<Pending, PageError> {
    let expired = PageError::RequestExpired;
    if id.is_empty() || id.len() > 64 {
        return Err(expired);
    }
    let Some(row) = state.store.find_auth_request(id).await? else { return Err(expired) };
    let now = state.clock.now();
    if now >= row.expires_at {
        state.store.delete_auth_request(id).await?;
        return Err(expired);
    }
    let params: AuthorizeParams =
        serde_json::from_str(&row.request).map_err(|e| PageError::Internal(e.to_string()))?;
    let keys = keys(state);
    let ctx = ctx(state, &keys);
    let client = portcullis_protocol::access::client_for_page(&ctx, &row.client_id).await?;
    let request = validate(&params, client.as_ref()).map_err(|e| PageError::Protocol(e.description))?;
    let Some(client) = client else { return Err(PageError::Protocol("unknown client")) };
    Ok(Pending { id: row.id, requested_at: row.created_at, request, client })
}

/// Decides and performs the next step of a pending request.
async fn proceed(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
    pending: &Pending,
) -> Result<HttpResponse, PageError> {
    let session = session::current(req, state, auth).await?;
    let user = session::user_of(state, session.as_ref()).await?;
    let authn = session.as_ref().and_then(session::authentication).filter(|_| user.is_some());
    let consent = match &authn {
        Some(a) => state
            .store
            .find_consent(a.user_id, pending.client.client_id.as_str())
            .await?
            .and_then(|scopes| ScopeSet::from_tokens(scopes.iter().map(String::as_str)).ok()),
        None => None,
    };
    let now = state.clock.now();
    let step = next_step(
        &pending.request,
        pending.requested_at,
        &pending.client,
        authn.as_ref(),
        consent.as_ref(),
        now,
    );
    if let (Ok(Step::Consent | Step::Issue), Some(user)) = (&step, &user)
        && auth.mfa.requires_mfa(user)
        && auth.mfa.must_enroll(user, &portcullis_authn::Factors::of(state.store.as_ref(), user).await?)
    {
        // The policy wants a second factor this user does not have yet:
        // enrollment first, then back here.
        return Ok(see_other(&format!("/account?enroll=required&request={}", pending.id)));
    }
    match (step, authn) {
        (Err((error, description)), _) => {
            state.store.delete_auth_request(&pending.id).await?;
            Ok(redirect_error(state, &pending.request, error, description))
        }
        (Ok(Step::Login), _) | (Ok(_), None) => Ok(see_other(&format!("/login?request={}", pending.id))),
        (Ok(Step::StepUp), Some(_)) => Ok(see_other(&format!("/login/mfa?request={}", pending.id))),
        (Ok(Step::Consent), Some(_)) => Ok(see_other(&format!("/consent?request={}", pending.id))),
        (Ok(Step::Issue), Some(authn)) => issue(state, pending, &authn).await,
    }
}

/// Issues the code for a satisfied request and sends it to the client.
pub(crate) async fn issue(
    state: &AppState,
    pending: &Pending,
    authn: &portcullis_protocol::Authentication,
) -> Result<HttpResponse, PageError> {
    let keys = keys(state);
    let ctx = ctx(state, &keys);
    let code =
        issue_code(&ctx, &pending.request, authn).await.map_err(|e| PageError::Internal(e.to_string()))?;
    state.store.delete_auth_request(&pending.id).await?;
    let request = &pending.request;
    Ok(respond(state, &request.redirect_uri, request.state.as_deref(), &[("code", &code)]))
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// The authorization response: a 303 to the verified redirect URI with
/// `pairs`, then the client's `state` (if any) and `iss` (RFC 9207) added to its query.
fn respond(
    state: &AppState,
    redirect_uri: &RedirectUri,
    client_state: Option<&str>,
    pairs: &[(&str, &str)],
) -> HttpResponse {
    let mut url = redirect_uri.url().clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(s) = client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", state.issuer.as_str());
    }
    see_other(url.as_str())
}

/// An error sent to the verified redirect URI (RFC 6749 §4.1.2.1).
pub(crate) fn redirect_error(
    state: &AppState,
    request: &AuthorizationRequest,
    error: OAuthError,
    description: &str,
) -> HttpResponse {
    let pairs = [("error", error.code()), ("error_description", description)];
    respond(state, &request.redirect_uri, request.state.as_deref(), &pairs)
}

/// A refused request: redirected when the redirect URI is verified,
/// otherwise an error page (RFC 6749 §4.1.2.1).
fn refused(state: &AppState, e: AuthorizeError) -> Result<HttpResponse, PageError> {
    match &e.redirect {
        Some(target) if e.may_redirect() => {
            let pairs = [("error", e.error.code()), ("error_description", e.description)];
            Ok(respond(state, &target.redirect_uri, target.state.as_deref(), &pairs))
        }
        _ => Err(PageError::Protocol(e.description)),
    }
}
