//! `/authorize` (GET and POST) and its resumption after each interaction:
//! the authorization code flow's front channel (RFC 6749 §4.1, OIDC Core
//! §3.1.2).
//!
//! The request is checked by `portcullis_protocol::authorize::validate`;
//! until the client and redirect URI are verified, errors are shown on a
//! page, never redirected. A verified request is stored as pending; then
//! `portcullis_protocol::authorize::resume` decides from the browser's
//! sign-in state (`portcullis_authn::Interaction::state`): sign-in, second
//! factor, enrollment, step-up, consent, or the response. Every
//! authorization response carries `iss` (RFC 9207).

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_protocol::ProtocolError;
use portcullis_protocol::authorize::{
    self, AuthorizeError, AuthorizeParams, Next, Pending, check_client_id, validate,
};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::CurrentSession;

/// `?request=…` of the pages that resume a pending request.
#[derive(Deserialize)]
pub(crate) struct RequestRef {
    #[serde(default)]
    pub(crate) request: String,
}

/// `GET /authorize`.
pub(crate) async fn get(
    state: web::Data<AppState>,
    session: CurrentSession,
    params: web::Query<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    start(&state, session, params.into_inner()).await
}

/// `POST /authorize` (form-encoded, OIDC Core §3.1.2.1).
pub(crate) async fn post(
    state: web::Data<AppState>,
    session: CurrentSession,
    params: web::Form<AuthorizeParams>,
) -> Result<HttpResponse, PageError> {
    start(&state, session, params.into_inner()).await
}

async fn start(
    state: &AppState,
    session: CurrentSession,
    params: AuthorizeParams,
) -> Result<HttpResponse, PageError> {
    let keys = state.keys();
    let ctx = state.ctx(&keys);
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
    let pending = authorize::store_pending(&ctx, &params, request, client).await?;
    proceed(state, session, &pending).await
}

/// `GET /authorize/resume?request=…`: where every interaction returns to.
pub(crate) async fn resume(
    state: web::Data<AppState>,
    session: CurrentSession,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &query.request).await?;
    proceed(&state, session, &pending).await
}

/// The live pending request `id`, if any: an unknown or expired id is
/// `None` (a page that carries a request id along tolerates a stale one);
/// a database failure is a 503 page, never taken for "unknown".
/// A request its client no longer allows is `None` here too (resuming it
/// shows why).
pub(crate) async fn pending_for_page(state: &AppState, id: &str) -> Result<Option<Pending>, PageError> {
    if id.is_empty() {
        return Ok(None);
    }
    let keys = state.keys();
    match authorize::load_pending(&state.ctx(&keys), id).await {
        Err(ProtocolError::Rejected { .. }) => Ok(None),
        other => Ok(other?),
    }
}

/// The id when it names a live pending request, else empty.
pub(crate) async fn live_request_id(state: &AppState, id: &str) -> Result<String, PageError> {
    Ok(pending_for_page(state, id).await?.map(|p| p.id).unwrap_or_default())
}

/// The live pending request `id`; unknown or expired is a friendly page.
pub(crate) async fn load_pending(state: &AppState, id: &str) -> Result<Pending, PageError> {
    let keys = state.keys();
    authorize::load_pending(&state.ctx(&keys), id).await?.ok_or(PageError::RequestExpired)
}

/// Where the pending request goes next for this browser.
async fn proceed(
    state: &AppState,
    CurrentSession(session): CurrentSession,
    pending: &Pending,
) -> Result<HttpResponse, PageError> {
    let sign_in = state.interaction().state(session.as_ref()).await?;
    let keys = state.keys();
    let next = authorize::resume(&state.ctx(&keys), pending, &sign_in).await?;
    Ok(follow(&next, &pending.id))
}

/// The redirect for `next`.
pub(crate) fn follow(next: &Next, request: &str) -> HttpResponse {
    match next {
        Next::Login => see_other(&format!("/login?request={request}")),
        Next::SecondFactor | Next::StepUp => see_other(&format!("/login/mfa?request={request}")),
        Next::Enroll => see_other(&format!("/account?enroll=required&request={request}")),
        Next::Consent => see_other(&format!("/consent?request={request}")),
        Next::Redirect(url) => see_other(url.as_str()),
    }
}

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// A refused request: redirected when the redirect URI is verified,
/// otherwise an error page (RFC 6749 §4.1.2.1).
fn refused(state: &AppState, e: AuthorizeError) -> Result<HttpResponse, PageError> {
    match &e.redirect {
        Some(target) if e.may_redirect() => {
            let keys = state.keys();
            let pairs = [("error", e.error.code()), ("error_description", e.description)];
            let url = authorize::response_url(
                &state.ctx(&keys),
                &target.redirect_uri,
                target.state.as_deref(),
                &pairs,
            );
            Ok(see_other(url.as_str()))
        }
        _ => Err(PageError::Protocol(e.description)),
    }
}
