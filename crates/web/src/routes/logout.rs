//! `/logout`: a confirmation page (GET) and the sign-out itself (POST, CSRF).

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_store::AuditOutcome;
use serde::Deserialize;
use serde_json::json;

use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{LogoutPage, render};
use crate::{AppState, session};

/// The sign-out form as posted.
#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}
csrf_protected!(LogoutForm);

fn to_landing() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, "/")).finish()
}

/// `GET /logout`: asks for confirmation (a GET must not change state).
pub(crate) async fn show(CurrentSession(session): CurrentSession) -> Result<HttpResponse, PageError> {
    match session {
        Some(s) if s.user_id.is_some() => render(StatusCode::OK, &LogoutPage { csrf_token: &s.csrf_token }),
        _ => Ok(to_landing()),
    }
}

/// `POST /logout`: deletes the session server-side and clears the cookie.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, .. }: CsrfForm<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    state.store.end_session(&session.id_hash, state.clock.now()).await?;
    if let Some(user_id) = session.user_id {
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
    res.add_removal_cookie(&session::cookie(String::new()))?;
    Ok(res)
}
