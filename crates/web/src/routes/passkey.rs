//! Passkey ceremonies over JSON (the page script `web/static/passkey.js`):
#![allow(clippy::result_large_err)] // helpers answer early with a ready HttpResponse (a cold path)
//! discoverable sign-in from the sign-in page (button or autofill), and
//! registration from the account page. Each ceremony's state is kept in the
//! store by `portcullis_authn`, bound to the browser session and taken
//! once; every call carries the session's CSRF token in `X-CSRF-Token`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_authn::journey::may_change;
use portcullis_authn::{AccountAccess, AuthnError, Change, Continue, Factors, Passkeys, StepOutcome};
use portcullis_store::{Session, User};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::login::{next_after, safe_return};
use super::oidc::authorize::live_request_id;
use crate::extract::{CsrfHeader, Requester};
use crate::session;
use crate::{AppState, Auth};

/// A JSON error for the script.
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": error, "error_description": description }))
}

pub(crate) fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "passkey endpoint failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong. Try again.")
}

fn expired() -> HttpResponse {
    json_error(StatusCode::BAD_REQUEST, "expired", "This passkey request expired. Try again.")
}

fn relying_party(auth: &Auth) -> Result<&Arc<Passkeys>, HttpResponse> {
    auth.passkeys.as_ref().ok_or_else(|| {
        json_error(
            StatusCode::NOT_FOUND,
            "passkeys_unavailable",
            "Passkeys are not available on this server.",
        )
    })
}

/// `POST /login/passkey/options`: starts a discoverable sign-in.
pub(crate) async fn signin_options(
    state: web::Data<AppState>,
    CsrfHeader(session): CsrfHeader,
) -> HttpResponse {
    let rp = match relying_party(&state.auth) {
        Ok(rp) => rp,
        Err(res) => return res,
    };
    match rp.begin_signin(state.store.as_ref(), &session.id_hash, state.clock.now()).await {
        Ok(options) => HttpResponse::Ok().json(options),
        Err(e) => internal(e),
    }
}

/// A finished ceremony as the script posts it.
#[derive(Deserialize)]
pub(crate) struct Finish {
    credential: Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    request: String,
    #[serde(default, rename = "return")]
    return_to: String,
}

/// `POST /login/passkey`: verifies the assertion and signs the browser in.
pub(crate) async fn signin(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfHeader(session): CsrfHeader,
    body: web::Json<Finish>,
) -> HttpResponse {
    if let Err(res) = relying_party(&state.auth) {
        return res;
    }
    let request = match live_request_id(&state, &body.request).await {
        Ok(id) => id,
        Err(e) => return internal(e),
    };
    let then = Continue { request, return_to: safe_return(&body.return_to).unwrap_or_default().to_owned() };
    let outcome = state.interaction().passkey(&session, &body.credential, then, &info).await;
    let label = match &outcome {
        Ok(StepOutcome::SignedIn(_)) => "passkey_success",
        Ok(StepOutcome::Refused { .. }) => "locked",
        _ => "passkey_failure",
    };
    state.auth.metrics.signins.with_label_values(&[label]).inc();
    match outcome {
        Ok(StepOutcome::SignedIn(signed)) => HttpResponse::Ok()
            .cookie(session::cookie(signed.cookie.clone()))
            .json(json!({ "redirect": next_after(signed.standing, &signed.then) })),
        Ok(StepOutcome::Refused { .. }) => json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            "Too many failed attempts. Wait a few minutes, then try again.",
        ),
        Ok(StepOutcome::NotStarted) => expired(),
        Ok(_) => json_error(
            StatusCode::BAD_REQUEST,
            "passkey_failed",
            "This passkey was not accepted. Use another passkey or your password.",
        ),
        Err(e) => internal(e),
    }
}

/// The signed-in user of a checked session (fully, or to enroll a factor),
/// recently and strongly authenticated.
async fn recent_user(state: &AppState, session: &Session) -> Result<User, HttpResponse> {
    let access = state.interaction().account_access(Some(session)).await.map_err(internal)?;
    let user = match access {
        AccountAccess::Full(user) | AccountAccess::EnrollOnly(user) => user,
        AccountAccess::SecondFactorFirst => {
            return Err(HttpResponse::Forbidden().json(json!({
                "error": "second_factor_required",
                "error_description": "Use your second factor first.",
                "redirect": "/login/mfa",
            })));
        }
        AccountAccess::SignIn => {
            return Err(json_error(StatusCode::UNAUTHORIZED, "login_required", "Sign in first."));
        }
    };
    if !may_change(session, Change::Security, state.clock.now()) {
        return Err(HttpResponse::Forbidden().json(json!({
            "error": "reauthentication_required",
            "error_description": "Confirm it is you first.",
            "redirect": crate::pages::SIGN_IN_AGAIN,
        })));
    }
    Ok(user)
}

/// What a registration step needs of a checked session: the relying
/// party, and a recently authenticated user.
async fn registering<'a>(
    state: &'a AppState,
    session: &Session,
) -> Result<(&'a Arc<Passkeys>, User), HttpResponse> {
    let rp = relying_party(&state.auth)?;
    let user = recent_user(state, session).await?;
    Ok((rp, user))
}

/// `POST /account/passkeys/options`: starts registering a passkey.
pub(crate) async fn register_options(
    state: web::Data<AppState>,
    CsrfHeader(session): CsrfHeader,
) -> HttpResponse {
    let (rp, user) = match registering(&state, &session).await {
        Ok(ctx) => ctx,
        Err(res) => return res,
    };
    match rp.begin_registration(state.store.as_ref(), &session.id_hash, &user, state.clock.now()).await {
        Ok(options) => HttpResponse::Ok().json(options),
        Err(e) => internal(e),
    }
}

/// `POST /account/passkeys`: verifies and stores the new passkey; the
/// session id changes (and, in a session that had to enroll, the sign-in
/// completes). Tells the script whether recovery codes are due.
pub(crate) async fn register(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfHeader(session): CsrfHeader,
    body: web::Json<Finish>,
) -> HttpResponse {
    let (rp, user) = match registering(&state, &session).await {
        Ok(ctx) => ctx,
        Err(res) => return res,
    };
    let now = state.clock.now();
    let store = state.store.as_ref();
    let method = match rp
        .finish_registration_for(store, &session.id_hash, &user, &body.name, &body.credential, now, &info)
        .await
    {
        Ok((row, method)) => {
            let notification = portcullis_authn::notify::Notification::PasskeyAdded { name: row.name };
            super::account::notify(&state, &user, notification).await;
            method
        }
        Err(AuthnError::CeremonyExpired) => {
            return json_error(StatusCode::BAD_REQUEST, "expired", "This request expired. Try again.");
        }
        Err(AuthnError::Passkey(e)) => {
            tracing::info!(error = %e, "passkey registration refused");
            return json_error(
                StatusCode::BAD_REQUEST,
                "passkey_failed",
                "The passkey could not be registered.",
            );
        }
        Err(AuthnError::Taken) => {
            return json_error(StatusCode::CONFLICT, "duplicate", "This passkey is already registered.");
        }
        Err(e) => return internal(e),
    };
    let codes = match Factors::of(store, &user).await {
        Ok(f) => f.recovery_codes,
        Err(e) => return internal(e),
    };
    let raw = match state.interaction().enrolled(&session, method).await {
        Ok((_, raw)) => raw,
        Err(e) => return internal(e),
    };
    let request = match live_request_id(&state, &body.request).await {
        Ok(id) => id,
        Err(e) => return internal(e),
    };
    let redirect =
        if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
    HttpResponse::Ok()
        .cookie(session::cookie(raw))
        .json(json!({ "redirect": redirect, "recovery_codes_due": codes == 0 }))
}
