//! Passkey ceremonies over JSON (the page script `web/static/passkey.js`):
#![allow(clippy::result_large_err)] // helpers answer early with a ready HttpResponse (a cold path)
//! discoverable sign-in from the sign-in page (button or autofill), and
//! registration from the account page. Each ceremony's state is kept in the
//! store, bound to the browser session and taken once; every call carries
//! the session's CSRF token in `X-CSRF-Token`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_authn::passkeys::{self, PasskeyOutcome};
use portcullis_authn::{Factors, Passkeys};
use portcullis_store::{Session, User};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::account::after_sensitive_change;
use super::login::{complete_sign_in, next_after_sign_in, safe_return};
use crate::client::request_info;
use crate::session;
use crate::{AppState, Auth, Mail, csrf};

/// State kinds.
const SIGNIN_STATE: &str = "passkey_signin";
const REGISTER_STATE: &str = "passkey_register";
/// How long a ceremony may take (WebAuthn's recommended timeout).
const CEREMONY_WINDOW: time::Duration = time::Duration::minutes(5);

/// A JSON error for the script.
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": error, "error_description": description }))
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "passkey endpoint failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong. Try again.")
}

/// The browser's session when the request carries its CSRF token.
async fn checked_session(req: &HttpRequest, state: &AppState, auth: &Auth) -> Result<Session, HttpResponse> {
    let session = session::current(req, state, auth).await.map_err(internal)?;
    let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
    session.filter(|s| csrf::matches(Some(s), token)).ok_or_else(|| {
        json_error(StatusCode::FORBIDDEN, "csrf", "This page has expired. Reload it and try again.")
    })
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
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
) -> HttpResponse {
    let (session, rp) = match (checked_session(&req, &state, &auth).await, relying_party(&auth)) {
        (Ok(s), Ok(rp)) => (s, rp),
        (Err(res), _) | (_, Err(res)) => return res,
    };
    let (options, ceremony) = match rp.start_signin() {
        Ok(started) => started,
        Err(e) => return internal(e),
    };
    let until = state.clock.now() + CEREMONY_WINDOW;
    if let Err(e) = state.store.put_session_state(&session.id_hash, SIGNIN_STATE, &ceremony, until).await {
        return internal(e);
    }
    HttpResponse::Ok().json(options)
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
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    body: web::Json<Finish>,
) -> HttpResponse {
    let (session, rp) = match (checked_session(&req, &state, &auth).await, relying_party(&auth)) {
        (Ok(s), Ok(rp)) => (s, rp),
        (Err(res), _) | (_, Err(res)) => return res,
    };
    let now = state.clock.now();
    let ceremony = match state.store.take_session_state(&session.id_hash, SIGNIN_STATE, now).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "expired",
                "This passkey request expired. Try again.",
            );
        }
        Err(e) => return internal(e),
    };
    let info = request_info(&req, &auth.trusted_proxies);
    let outcome =
        passkeys::sign_in(rp, state.store.as_ref(), &auth.lockouts, &ceremony, &body.credential, now, &info)
            .await;
    let label = match &outcome {
        Ok(PasskeyOutcome::Success { .. }) => "passkey_success",
        Ok(PasskeyOutcome::Refused { .. }) => "locked",
        _ => "passkey_failure",
    };
    auth.metrics.signins.with_label_values(&[label]).inc();
    match outcome {
        Ok(PasskeyOutcome::Success { user, amr }) => {
            let request = super::oidc::authorize::live_request_id(&state, &body.request).await;
            let next = next_after_sign_in(&request, safe_return(&body.return_to).unwrap_or_default());
            match complete_sign_in(&state, &auth, &session, &user, &amr, &info, next).await {
                Ok((next, raw)) => {
                    HttpResponse::Ok().cookie(session::cookie(raw)).json(json!({ "redirect": next }))
                }
                Err(e) => internal(e),
            }
        }
        Ok(PasskeyOutcome::Failed) => json_error(
            StatusCode::BAD_REQUEST,
            "passkey_failed",
            "This passkey was not accepted. Use another passkey or your password.",
        ),
        Ok(PasskeyOutcome::Refused { .. }) => json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "locked",
            "Too many failed attempts. Wait a few minutes, then try again.",
        ),
        Err(e) => internal(e),
    }
}

/// The signed-in user of a checked session, recently authenticated.
async fn recent_user(state: &AppState, session: &Session) -> Result<User, HttpResponse> {
    let user = session::user_of(state, Some(session)).await.map_err(internal)?;
    let Some(user) = user else {
        return Err(json_error(StatusCode::UNAUTHORIZED, "login_required", "Sign in first."));
    };
    if !session::is_recent(session, state.clock.now()) {
        return Err(HttpResponse::Forbidden().json(json!({
            "error": "reauthentication_required",
            "error_description": "Confirm it is you first.",
            "redirect": crate::pages::SIGN_IN_AGAIN,
        })));
    }
    Ok(user)
}

/// What a registration step needs: a checked session of a recently
/// authenticated user, and the relying party.
async fn registering<'a>(
    req: &HttpRequest,
    state: &AppState,
    auth: &'a Auth,
) -> Result<(Session, &'a Arc<Passkeys>, User), HttpResponse> {
    let session = checked_session(req, state, auth).await?;
    let rp = relying_party(auth)?;
    let user = recent_user(state, &session).await?;
    Ok((session, rp, user))
}

/// `POST /account/passkeys/options`: starts registering a passkey.
pub(crate) async fn register_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
) -> HttpResponse {
    let (session, rp, user) = match registering(&req, &state, &auth).await {
        Ok(ctx) => ctx,
        Err(res) => return res,
    };
    let existing = match state.store.list_passkeys(user.id).await {
        Ok(e) => e,
        Err(e) => return internal(e),
    };
    let (options, ceremony) = match rp.start_registration(&user, &existing) {
        Ok(started) => started,
        Err(e) => return internal(e),
    };
    let until = state.clock.now() + CEREMONY_WINDOW;
    if let Err(e) = state.store.put_session_state(&session.id_hash, REGISTER_STATE, &ceremony, until).await {
        return internal(e);
    }
    HttpResponse::Ok().json(options)
}

/// `POST /account/passkeys`: verifies and stores the new passkey; the
/// session id changes. Tells the script whether recovery codes are due.
pub(crate) async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    body: web::Json<Finish>,
) -> HttpResponse {
    let (session, rp, user) = match registering(&req, &state, &auth).await {
        Ok(ctx) => ctx,
        Err(res) => return res,
    };
    let now = state.clock.now();
    let ceremony = match state.store.take_session_state(&session.id_hash, REGISTER_STATE, now).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return json_error(StatusCode::BAD_REQUEST, "expired", "This request expired. Try again.");
        }
        Err(e) => return internal(e),
    };
    let new = match rp.finish_registration(&ceremony, &body.credential) {
        Ok(new) => new,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            return json_error(
                StatusCode::BAD_REQUEST,
                "passkey_failed",
                "The passkey could not be registered.",
            );
        }
    };
    let info = request_info(&req, &auth.trusted_proxies);
    match passkeys::register(state.store.as_ref(), &user, &body.name, new, now, &info).await {
        Ok(row) => {
            let notification = portcullis_authn::notify::Notification::PasskeyAdded { name: row.name };
            super::account::notify(&state, &mail, &user, notification).await;
        }
        Err(portcullis_authn::AuthnError::Taken) => {
            return json_error(StatusCode::CONFLICT, "duplicate", "This passkey is already registered.");
        }
        Err(e) => return internal(e),
    }
    let codes = match Factors::of(state.store.as_ref(), &user).await {
        Ok(f) => f.recovery_codes,
        Err(e) => return internal(e),
    };
    let raw = match after_sensitive_change(&state, &session, &user, false).await {
        Ok(raw) => raw,
        Err(e) => return internal(e),
    };
    let request = super::oidc::authorize::live_request_id(&state, &body.request).await;
    let redirect =
        if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
    HttpResponse::Ok()
        .cookie(session::cookie(raw))
        .json(json!({ "redirect": redirect, "recovery_codes_due": codes == 0 }))
}
