//! `/end_session` (RP-Initiated Logout 1.0). With an `id_token_hint` naming
//! the signed-in user the session ends at once; otherwise the user confirms
//! (a cross-site request must not sign anyone out). Ending the session
//! queues Back-Channel Logout tokens for its clients (in the same
//! transaction). Redirects go only to registered post-logout URIs.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_protocol::logout::{
    EndSession, EndSessionParams, EndSessionRefusal, EndSessionStep, confirm_end_session, end_session,
};
use serde::Deserialize;

use super::authorize::see_other;
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{EndSessionPage, SignedOutPage, render, render_redirecting};
use crate::{AppState, session};
use portcullis_authn::RequestInfo;

/// `GET /end_session`.
pub(crate) async fn get(
    state: web::Data<AppState>,
    session: CurrentSession,
    Requester(info): Requester,
    params: web::Query<EndSessionParams>,
) -> Result<HttpResponse, PageError> {
    handle(&state, session, &info, params.into_inner()).await
}

/// `POST /end_session` (form-encoded).
pub(crate) async fn post(
    state: web::Data<AppState>,
    session: CurrentSession,
    Requester(info): Requester,
    params: web::Form<EndSessionParams>,
) -> Result<HttpResponse, PageError> {
    handle(&state, session, &info, params.into_inner()).await
}

fn refusal_text(r: EndSessionRefusal) -> &'static str {
    match r {
        EndSessionRefusal::BadHint => "The application sent a sign-out request we could not verify.",
        EndSessionRefusal::ClientMismatch => {
            "The application's sign-out request names two different applications."
        }
        EndSessionRefusal::UnregisteredRedirect => {
            "The application asked to be sent to an address it has not registered, so you will stay here."
        }
    }
}

async fn handle(
    state: &AppState,
    CurrentSession(session): CurrentSession,
    info: &RequestInfo,
    params: EndSessionParams,
) -> Result<HttpResponse, PageError> {
    let keys = state.keys();
    let sign_ins = state.sign_ins(info);
    let (logout, refusal) = match end_session(&state.ctx(&keys), &params, &sign_ins, session.as_ref()).await?
    {
        EndSessionStep::Done { logout, signed_out } => return finish(&logout, signed_out),
        EndSessionStep::Confirm { logout, refusal } => (logout, refusal),
    };
    let Some(session) = session else { return Err(PageError::internal("a confirmation without a session")) };
    // A refused request is not carried on: the user may only sign out here.
    let carried = |value: &Option<String>| {
        if refusal.is_none() { value.clone().unwrap_or_default() } else { String::new() }
    };
    let page = EndSessionPage {
        csrf_token: &session.csrf_token,
        client_name: logout.client.as_ref().map(|c| c.name.as_str()),
        notice: refusal.map(refusal_text),
        id_token_hint: &carried(&params.id_token_hint),
        post_logout_redirect_uri: &carried(&params.post_logout_redirect_uri),
        state: params.state.as_deref().unwrap_or(""),
        client_id: &carried(&params.client_id),
    };
    render_redirecting(StatusCode::OK, &page, logout.redirect.as_ref())
}

/// The confirmation form as posted.
#[derive(Deserialize)]
pub(crate) struct ConfirmForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    params: EndSessionParams,
}
csrf_protected!(ConfirmForm);

/// `POST /end_session/confirm`: the user confirmed; the request is checked again.
pub(crate) async fn confirm(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    let keys = state.keys();
    let sign_ins = state.sign_ins(&info);
    let logout = confirm_end_session(&state.ctx(&keys), form.params, &sign_ins, &session).await?;
    finish(&logout, true)
}

/// Redirects to the registered post-logout URI or shows the signed-out
/// page, clearing the cookie of a session that was signed out.
fn finish(logout: &EndSession, signed_out: bool) -> Result<HttpResponse, PageError> {
    let mut res = match &logout.redirect {
        Some(url) => see_other(url.as_str()),
        None => render(
            StatusCode::OK,
            &SignedOutPage { client_name: logout.client.as_ref().map(|c| c.name.as_str()) },
        )?,
    };
    if signed_out {
        res.add_removal_cookie(&session::cookie(String::new()))?;
    }
    Ok(res)
}
