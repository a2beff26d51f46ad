//! Passkey ceremonies over JSON (the page script `web/static/passkey.js`):
//! discoverable sign-in from the sign-in page (button or autofill), and
//! registration from the account page. Each ceremony's state is kept in the
//! store by `portcullis_authn`, bound to the browser session and taken
//! once; every call carries the session's CSRF token in `X-CSRF-Token`.
//! Refusals are [`ApiError`]s (problem details).

use actix_web::{HttpResponse, web};
use portcullis_authn::{Continue, StepOutcome};
use serde::Deserialize;
use serde_json::{Value, json};

use super::login::{next_after, safe_return};
use crate::errors::ApiError;
use crate::extract::{CsrfHeader, Live, PasskeyAccount, Requester, names_request};
use crate::{AppState, session};

/// `POST /login/passkey/options`: starts a discoverable sign-in.
pub(crate) async fn signin_options(
    state: web::Data<AppState>,
    CsrfHeader(session): CsrfHeader,
) -> Result<HttpResponse, ApiError> {
    let options = state.interaction().begin_passkey(&session).await?;
    Ok(HttpResponse::Ok().json(options))
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
names_request!(Finish);

/// `POST /login/passkey`: verifies the assertion and signs the browser in.
pub(crate) async fn signin(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfHeader(session): CsrfHeader,
    body: Live<web::Json<Finish>>,
) -> Result<HttpResponse, ApiError> {
    if state.auth.passkeys.is_none() {
        return Err(ApiError::PasskeysUnavailable);
    }
    let (request, body) = (body.request().to_owned(), &body.inner);
    let then = Continue { request, return_to: safe_return(&body.return_to).unwrap_or_default().to_owned() };
    let outcome = state.interaction().passkey(&session, &body.credential, then, &info).await;
    let label = match &outcome {
        Ok(StepOutcome::SignedIn(_)) => "passkey_success",
        Ok(StepOutcome::Refused { .. }) => "locked",
        _ => "passkey_failure",
    };
    state.auth.metrics.signins.with_label_values(&[label]).inc();
    match outcome? {
        StepOutcome::SignedIn(signed) => Ok(HttpResponse::Ok()
            .cookie(session::cookie(signed.cookie.clone()))
            .json(json!({ "redirect": next_after(signed.standing, &signed.then) }))),
        StepOutcome::Refused { .. } => Err(ApiError::Locked),
        StepOutcome::NotStarted => Err(ApiError::Expired),
        _ => Err(ApiError::PasskeyRefused),
    }
}

/// `POST /account/passkeys/options`: starts registering a passkey.
pub(crate) async fn register_options(
    state: web::Data<AppState>,
    PasskeyAccount(account): PasskeyAccount,
) -> Result<HttpResponse, ApiError> {
    let options = state.account().begin_passkey(&account).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// `POST /account/passkeys`: verifies and stores the new passkey; the
/// session id changes (and, in a session that had to enroll, the sign-in
/// completes). Tells the script whether recovery codes are due.
pub(crate) async fn register(
    state: web::Data<AppState>,
    Requester(info): Requester,
    PasskeyAccount(account): PasskeyAccount,
    body: Live<web::Json<Finish>>,
) -> Result<HttpResponse, ApiError> {
    let (request, body) = (body.request(), &body.inner);
    let registered = state.account().register_passkey(&account, &body.name, &body.credential, &info).await?;
    state.mail.wake();
    let redirect =
        if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
    Ok(HttpResponse::Ok()
        .cookie(session::cookie(registered.cookie))
        .json(json!({ "redirect": redirect, "recovery_codes_due": registered.recovery_codes_due })))
}
