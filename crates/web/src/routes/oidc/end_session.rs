//! `/end_session` (RP-Initiated Logout 1.0). With an `id_token_hint` naming
//! the signed-in user the session ends at once; otherwise the user confirms
//! (a cross-site request must not sign anyone out). Ending the session
//! queues Back-Channel Logout tokens for its clients (in the same
//! transaction). Redirects go only to registered post-logout URIs.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_protocol::logout::{EndSession, EndSessionParams, EndSessionRefusal, check_end_session};
use portcullis_store::{AuditOutcome, Session};
use serde::Deserialize;
use serde_json::json;

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
    let ctx = state.ctx(&keys);
    let checked = check_end_session(&ctx, &params).await?;
    let session = session.filter(|s| s.user_id.is_some());
    let (logout, notice) = match checked {
        Ok(logout) => (logout, None),
        Err(refusal) => (EndSession::default(), Some(refusal_text(refusal))),
    };
    let Some(session) = session else {
        // Nobody to sign out here: done.
        return finish(state, &logout, None).await;
    };
    let hint_matches = logout.hinted_sub.as_deref() == session.user_id.map(|u| u.to_string()).as_deref()
        && logout.hinted_sid.as_deref().is_none_or(|sid| sid == session.sid);
    if hint_matches && notice.is_none() {
        return finish(state, &logout, Some((info, &session))).await;
    }
    let page = EndSessionPage {
        csrf_token: &session.csrf_token,
        client_name: logout.client.as_ref().map(|c| c.name.as_str()),
        notice,
        id_token_hint: if notice.is_none() { params.id_token_hint.as_deref().unwrap_or("") } else { "" },
        post_logout_redirect_uri: if notice.is_none() {
            params.post_logout_redirect_uri.as_deref().unwrap_or("")
        } else {
            ""
        },
        state: params.state.as_deref().unwrap_or(""),
        client_id: if notice.is_none() { params.client_id.as_deref().unwrap_or("") } else { "" },
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
    let ctx = state.ctx(&keys);
    let params = EndSessionParams {
        id_token_hint: form.params.id_token_hint.filter(|s| !s.is_empty()),
        post_logout_redirect_uri: form.params.post_logout_redirect_uri.filter(|s| !s.is_empty()),
        state: form.params.state.filter(|s| !s.is_empty()),
        client_id: form.params.client_id.filter(|s| !s.is_empty()),
        ..EndSessionParams::default()
    };
    let checked = check_end_session(&ctx, &params).await?;
    let logout = checked.unwrap_or_default();
    finish(&state, &logout, Some((&info, &session))).await
}

/// Ends the session (if any), clears the cookie, and redirects to the
/// registered post-logout URI or shows the signed-out page.
async fn finish(
    state: &AppState,
    logout: &EndSession,
    session: Option<(&RequestInfo, &Session)>,
) -> Result<HttpResponse, PageError> {
    if let Some((info, session)) = session {
        let now = state.clock.now();
        state.store.end_session(&session.id_hash, now).await?;
        portcullis_authn::audit::record(
            state.store.as_ref(),
            now,
            "signout",
            AuditOutcome::Success,
            session.user_id,
            info,
            json!({ "client_id": logout.client.as_ref().map(|c| c.client_id.as_str()) }),
        )
        .await;
    }
    let mut res = match &logout.redirect {
        Some(url) => see_other(url.as_str()),
        None => render(
            StatusCode::OK,
            &SignedOutPage { client_name: logout.client.as_ref().map(|c| c.name.as_str()) },
        )?,
    };
    if session.is_some() {
        res.add_removal_cookie(&session::cookie(String::new()))?;
    }
    Ok(res)
}
