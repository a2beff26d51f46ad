//! `/authorize` (GET and POST) and its resumption after each interaction:
//! the authorization code flow's front channel (RFC 6749 §4.1, OIDC Core
//! §3.1.2).
//!
//! One call each into `portcullis_protocol::authorize`: the request is
//! checked (until the client and redirect URI are verified, errors are
//! shown on a page, never redirected) and stored as pending; then the
//! protocol asks the sign-in side (`AppState::sign_ins`, answered by
//! `portcullis_authn::Interaction::state`) and decides: sign-in, second
//! factor, enrollment, step-up, consent, or the response. Every
//! authorization response carries `iss` (RFC 9207).

use actix_web::http::header::LOCATION;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use portcullis_authn::RequestInfo;
use portcullis_protocol::authorize::{self, AuthorizeParams, Next, Refused, Resumed};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CurrentSession, Requester, names_request};

/// `?request=…` of the pages that resume a pending request.
#[derive(Deserialize)]
pub(crate) struct RequestRef {
    #[serde(default)]
    pub(crate) request: String,
}
names_request!(RequestRef);

/// The parameters of a query or form: each once, but `resource` may repeat.
fn params(bytes: &[u8]) -> Result<AuthorizeParams, PageError> {
    AuthorizeParams::from_urlencoded(bytes).map_err(|(_, description)| PageError::Protocol(description))
}

/// `GET /authorize`.
pub(crate) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    session: CurrentSession,
) -> Result<HttpResponse, PageError> {
    let params = params(req.query_string().as_bytes())?;
    start(&state, &info, session, params).await
}

/// `POST /authorize` (form-encoded, OIDC Core §3.1.2.1).
pub(crate) async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    session: CurrentSession,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = req.content_type().eq_ignore_ascii_case("application/x-www-form-urlencoded");
    if !form {
        return Err(PageError::BadRequest("the body must be application/x-www-form-urlencoded".into()));
    }
    start(&state, &info, session, params(&body)?).await
}

async fn start(
    state: &AppState,
    info: &RequestInfo,
    CurrentSession(session): CurrentSession,
    params: AuthorizeParams,
) -> Result<HttpResponse, PageError> {
    let (keys, sign_ins) = (state.keys(), state.sign_ins(info));
    match authorize::authorize(&state.ctx(&keys), &params, &sign_ins, session.as_ref()).await? {
        Ok(resumed) => Ok(follow(&resumed)),
        Err(Refused::Redirect(url)) => Ok(see_other(url.as_str())),
        Err(Refused::Page(description)) => Err(PageError::Protocol(description)),
    }
}

/// `GET /authorize/resume?request=…`: where every interaction returns to.
pub(crate) async fn resume(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CurrentSession(session): CurrentSession,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let (keys, sign_ins) = (state.keys(), state.sign_ins(&info));
    let resumed =
        authorize::resume_request(&state.ctx(&keys), &query.request, &sign_ins, session.as_ref()).await?;
    Ok(follow(&resumed.ok_or(PageError::RequestExpired)?))
}

/// The redirect for where a request goes next.
pub(crate) fn follow(Resumed { request, next }: &Resumed) -> HttpResponse {
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
