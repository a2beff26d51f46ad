//! `/consent`: the user allows (or denies) a client the requested scopes.
//! Remembered per user and client; `offline_access` always asks.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_protocol::authorize::{self, ConsentPrompt};
use serde::Deserialize;

use super::authorize::{RequestRef, follow, see_other};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{ConsentPage, render_redirecting};

/// The consent form as posted.
#[derive(Deserialize)]
pub(crate) struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}
csrf_protected!(ConsentForm);

/// A human description of a scope.
pub(crate) fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are".into(),
        "profile" => "Your name and username".into(),
        "email" => "Your email address".into(),
        "roles" => "Your roles".into(),
        "offline_access" => "Stay connected when you are not signed in here".into(),
        other => format!("Access to “{other}”"),
    }
}

/// `GET /consent?request=…`: only for a complete sign-in (anything else
/// resumes the request, which says what is missing).
pub(crate) async fn show(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CurrentSession(session): CurrentSession,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let (keys, sign_ins) = (state.keys(), state.sign_ins(&info));
    let prompt =
        authorize::consent_prompt(&state.ctx(&keys), &query.request, &sign_ins, session.as_ref()).await?;
    let (ConsentPrompt::Ask(pending), Some(session)) = (prompt.ok_or(PageError::RequestExpired)?, session)
    else {
        // Not fully signed in: the request says what is missing.
        return Ok(see_other(&format!("/authorize/resume?request={}", query.request)));
    };
    let scopes: Vec<String> = pending.request.scopes.iter().map(describe).collect();
    let page = ConsentPage {
        csrf_token: &session.csrf_token,
        request: &pending.id,
        client_name: &pending.client.name,
        scopes: &scopes,
    };
    render_redirecting(StatusCode::OK, &page, Some(pending.request.redirect_uri.url()))
}

/// `POST /consent`: allow → remember and issue the code; deny → `access_denied`.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let (keys, sign_ins) = (state.keys(), state.sign_ins(&info));
    let allow = form.decision == "allow";
    let resumed = authorize::decide(&state.ctx(&keys), &form.request, &sign_ins, &session, allow).await?;
    Ok(follow(&resumed.ok_or(PageError::RequestExpired)?))
}
