//! `/logout`: a confirmation page (GET) and the sign-out itself (POST, CSRF).

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_store::AuditOutcome;
use serde::Deserialize;
use serde_json::json;

use crate::client::request_info;
use crate::pages::{LogoutPage, PageError, render};
use crate::{AppState, Auth, csrf, session};

/// The sign-out form as posted.
#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

fn to_landing() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish()
}

/// `GET /logout`: asks for confirmation (a GET must not change state).
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, PageError> {
    match session::current(&req, &state, &auth).await? {
        Some(s) if s.user_id.is_some() => render(StatusCode::OK, &LogoutPage { csrf_token: &s.csrf_token }),
        _ => Ok(to_landing()),
    }
}

/// `POST /logout`: deletes the session server-side and clears the cookie.
pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    state.store.end_session(&session.id_hash, state.clock.now()).await?;
    if let Some(user_id) = session.user_id {
        let info = request_info(&req, &auth.trusted_proxies);
        let now = state.clock.now();
        portcullis_authn::audit::record(
            state.store.as_ref(),
            now,
            "signout",
            AuditOutcome::Success,
            Some(user_id),
            &info,
            json!({}),
        )
        .await;
    }
    let mut res = to_landing();
    res.add_removal_cookie(&session::cookie(String::new()))
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(res)
}
