//! `/consent`: the user allows (or denies) a client the requested scopes.
//! Remembered per user and client; `offline_access` always asks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::OAuthError;
use serde::Deserialize;

use super::authorize::{RequestRef, issue, load_pending, redirect_error, see_other};
use crate::pages::{ConsentPage, PageError, render_redirecting};
use crate::{AppState, Auth, csrf, session};

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

/// `GET /consent?request=…`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &query.request).await?;
    let session = session::current(&req, &state, &auth).await?;
    let Some(session) = session.filter(|s| s.user_id.is_some()) else {
        return Ok(see_other(&format!("/login?request={}", pending.id)));
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
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    let pending = load_pending(&state, &form.request).await?;
    let user = session::user_of(&state, Some(&session)).await?;
    let (Some(user), Some(authn)) = (user, session::authentication(&session)) else {
        return Ok(see_other(&format!("/login?request={}", pending.id)));
    };
    if form.decision != "allow" {
        state.store.delete_auth_request(&pending.id).await?;
        return Ok(redirect_error(
            &state,
            &pending.request,
            OAuthError::AccessDenied,
            "the user denied the request",
        ));
    }
    // Remembered consent grows: what was allowed before stays allowed.
    let client_id = pending.client.client_id.as_str();
    let mut scopes = state.store.find_consent(user.id, client_id).await?.unwrap_or_default();
    for scope in pending.request.scopes.iter() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let now = state.clock.now();
    state.store.save_consent(user.id, client_id, &scopes, now).await?;
    issue(&state, &pending, &authn).await
}
