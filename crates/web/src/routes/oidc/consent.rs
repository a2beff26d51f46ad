//! `/consent`: the user allows (or denies) a client the requested scopes.
//! Remembered per user and client; `offline_access` always asks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::authorize;
use serde::Deserialize;

use super::authorize::{RequestRef, follow, load_pending, see_other};
use super::{ctx, keys};
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

/// `GET /consent?request=…`: only for a complete sign-in (anything else
/// resumes the request, which says what is missing).
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    query: web::Query<RequestRef>,
) -> Result<HttpResponse, PageError> {
    let pending = load_pending(&state, &query.request).await?;
    let session = session::current(&req, &state, &auth).await?;
    let sign_in = auth.interaction(&state).state(session.as_ref()).await?;
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
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    let pending = load_pending(&state, &form.request).await?;
    let sign_in = auth.interaction(&state).state(Some(&session)).await?;
    let keys = keys(&state);
    let next = authorize::consent(&ctx(&state, &keys), &pending, &sign_in, form.decision == "allow").await?;
    Ok(follow(&next, &pending.id))
}
