//! `/consent`: the user allows (or denies) a client the requested scopes.
//! Remembered per user and client; `offline_access` always asks.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_protocol::authorize;
use serde::Deserialize;

use super::authorize::{RequestRef, follow, load_pending, see_other};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, csrf_protected};
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
fn describe(scope: &str) -> String {
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
    CurrentSession(session): CurrentSession,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &query.request).await?;
    let sign_in = state.interaction().state(session.as_ref()).await?;
    let (Some(session), Some(_)) = (session, sign_in.complete()) else {
        return Ok(see_other(&format!("/authorize/resume?request={}", pending.id)));
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
    CsrfForm { session, form }: CsrfForm<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &form.request).await?;
    let sign_in = state.interaction().state(Some(&session)).await?;
    let keys = state.keys();
    let next = authorize::consent(&state.ctx(&keys), &pending, &sign_in, form.decision == "allow").await?;
    Ok(follow(&next, &pending.id))
}
