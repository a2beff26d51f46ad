//! Passkey ceremonies over JSON (the page script `web/static/passkey.js`):
//! discoverable sign-in from the sign-in page (button or autofill), and
//! registration from the account page. Each ceremony's state is kept in the
//! store by `portcullis_authn`, bound to the browser session and taken
//! once; every call carries the session's CSRF token in `X-CSRF-Token`.
//! Refusals are [`ApiError`]s (problem details).

use actix_web::{HttpResponse, web};
use portcullis_authn::journey::may_change;
use portcullis_authn::{AccountAccess, Change, Continue, Factors, Passkeys, StepOutcome};
use portcullis_store::{Session, User};
use serde::Deserialize;
use serde_json::{Value, json};

use super::login::{next_after, safe_return};
use super::oidc::authorize::live_request_id;
use crate::errors::ApiError;
use crate::extract::{CsrfHeader, Requester};
use crate::{AppState, Auth, session};

/// The relying party, when passkeys work here.
fn relying_party(auth: &Auth) -> Result<&Passkeys, ApiError> {
    auth.passkeys.as_deref().ok_or(ApiError::PasskeysUnavailable)
}

/// `POST /login/passkey/options`: starts a discoverable sign-in.
pub(crate) async fn signin_options(
    state: web::Data<AppState>,
    CsrfHeader(session): CsrfHeader,
) -> Result<HttpResponse, ApiError> {
    let rp = relying_party(&state.auth)?;
    let options = rp.begin_signin(state.store.as_ref(), &session.id_hash, state.clock.now()).await?;
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

/// `POST /login/passkey`: verifies the assertion and signs the browser in.
pub(crate) async fn signin(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfHeader(session): CsrfHeader,
    body: web::Json<Finish>,
) -> Result<HttpResponse, ApiError> {
    relying_party(&state.auth)?;
    let request = live_request_id(&state, &body.request).await?;
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

/// The signed-in user of a checked session (fully, or to enroll a factor),
/// recently and strongly authenticated.
async fn recent_user(state: &AppState, session: &Session) -> Result<User, ApiError> {
    let user = match state.interaction().account_access(Some(session)).await? {
        AccountAccess::Full(user) | AccountAccess::EnrollOnly(user) => user,
        AccountAccess::SecondFactorFirst => return Err(ApiError::SecondFactorRequired),
        AccountAccess::SignIn => return Err(ApiError::LoginRequired),
    };
    if !may_change(session, Change::Security, state.clock.now()) {
        return Err(ApiError::ReauthenticationRequired);
    }
    Ok(user)
}

/// `POST /account/passkeys/options`: starts registering a passkey.
pub(crate) async fn register_options(
    state: web::Data<AppState>,
    CsrfHeader(session): CsrfHeader,
) -> Result<HttpResponse, ApiError> {
    let rp = relying_party(&state.auth)?;
    let user = recent_user(&state, &session).await?;
    let options =
        rp.begin_registration(state.store.as_ref(), &session.id_hash, &user, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// `POST /account/passkeys`: verifies and stores the new passkey; the
/// session id changes (and, in a session that had to enroll, the sign-in
/// completes). Tells the script whether recovery codes are due.
pub(crate) async fn register(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfHeader(session): CsrfHeader,
    body: web::Json<Finish>,
) -> Result<HttpResponse, ApiError> {
    let rp = relying_party(&state.auth)?;
    let user = recent_user(&state, &session).await?;
    let now = state.clock.now();
    let store = state.store.as_ref();
    let (row, method) = rp
        .finish_registration_for(store, &session.id_hash, &user, &body.name, &body.credential, now, &info)
        .await?;
    let notification = portcullis_authn::notify::Notification::PasskeyAdded { name: row.name };
    super::account::notify(&state, &user, notification).await;
    let codes = Factors::of(store, &user).await?.recovery_codes;
    let (_, raw) = state.interaction().enrolled(&session, method).await?;
    let request = live_request_id(&state, &body.request).await?;
    let redirect =
        if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
    Ok(HttpResponse::Ok()
        .cookie(session::cookie(raw))
        .json(json!({ "redirect": redirect, "recovery_codes_due": codes == 0 })))
}
