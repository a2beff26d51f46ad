//! `/login/mfa`: the second factor, after a password (then the session
//! signs in) or for a step-up (`acr_values` asking for more than the
//! session has; then the session's methods grow and its id changes).

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_authn::{Factors, SecondFactor, SecondFactorCheck, SecondFactorOutcome, check_second_factor};
use portcullis_store::{Session, User};
use serde::Deserialize;

use super::login::{PENDING_SECOND_FACTOR, PendingSecondFactor, complete_sign_in, next_after_sign_in};
use crate::client::request_info;
use crate::pages::{PageError, SecondFactorPage, render_redirecting, retry_after};
use crate::session;
use crate::{AppState, Auth, csrf};

/// `GET /login/mfa` query.
#[derive(Deserialize)]
pub(crate) struct MfaQuery {
    #[serde(default)]
    request: String,
}

/// The second-factor form.
#[derive(Deserialize)]
pub(crate) struct MfaForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    request: String,
}

/// Whose second factor is asked for, with what first factor, going where.
struct FirstFactor {
    user: User,
    amr: Vec<String>,
    request: String,
    return_to: String,
}

/// The first factor this browser passed: a pending password sign-in, or
/// the signed-in session itself (a step-up).
async fn first_factor(
    state: &AppState,
    session: &Session,
    request: &str,
) -> Result<Option<FirstFactor>, PageError> {
    let now = state.clock.now();
    if let Some(raw) = state.store.find_session_state(&session.id_hash, PENDING_SECOND_FACTOR, now).await?
        && let Ok(p) = serde_json::from_str::<PendingSecondFactor>(&raw)
        && let Some(user) = state.store.find_user(p.user_id).await?.filter(|u| !u.disabled)
    {
        return Ok(Some(FirstFactor { user, amr: p.amr, request: p.request, return_to: p.return_to }));
    }
    let Some(user) = session::user_of(state, Some(session)).await? else { return Ok(None) };
    Ok(Some(FirstFactor {
        user,
        amr: session.amr.clone(),
        request: request.to_owned(),
        return_to: String::new(),
    }))
}

async fn page(
    state: &AppState,
    auth: &Auth,
    session: &Session,
    first: &FirstFactor,
    status: StatusCode,
    message: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let factors = Factors::of(state.store.as_ref(), &first.user).await?;
    // A session that already has two factors steps up to a passkey only.
    let codes_count = !first.amr.iter().any(|m| m == "mfa");
    let page = SecondFactorPage {
        csrf_token: &session.csrf_token,
        request: &first.request,
        totp: codes_count && factors.totp,
        recovery: codes_count && factors.recovery_codes > 0,
        passkey: factors.passkeys > 0 && auth.passkeys.is_some(),
        enroll: !factors.any(),
        message,
    };
    // The form's redirect chain may end at the client (resume → code):
    // `form-action` must allow the verified redirect URI, as on /login.
    let pending = match first.request.as_str() {
        "" => None,
        id => super::oidc::authorize::load_pending(state, id).await.ok(),
    };
    render_redirecting(status, &page, pending.as_ref().map(|p| p.request.redirect_uri.url()))
}

/// `GET /login/mfa`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    query: web::Query<MfaQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(session) = session::current(&req, &state, &auth).await? else {
        return Ok(see_login(&query.request));
    };
    let Some(first) = first_factor(&state, &session, &query.request).await? else {
        return Ok(see_login(&query.request));
    };
    page(&state, &auth, &session, &first, StatusCode::OK, None).await
}

fn see_login(request: &str) -> HttpResponse {
    let location = if request.is_empty() { "/login".to_owned() } else { format!("/login?request={request}") };
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// `POST /login/mfa`: one TOTP or recovery code.
pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<MfaForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    let Some(first) = first_factor(&state, &session, &form.request).await? else {
        return Ok(see_login(&form.request));
    };
    let factor = match form.method.as_str() {
        "totp" => SecondFactor::Totp(&form.code),
        "recovery" => SecondFactor::RecoveryCode(&form.code),
        _ => return Err(PageError::BadRequest("unknown second factor".into())),
    };
    let info = request_info(&req, &auth.trusted_proxies);
    let check = SecondFactorCheck {
        totp: auth.totp(state.store.as_ref()),
        lockouts: &auth.lockouts,
        clock: state.clock.as_ref(),
    };
    let outcome = check_second_factor(check, &first.user, factor, &info).await?;
    auth.metrics.signins.with_label_values(&[second_factor_label(&outcome)]).inc();
    match outcome {
        SecondFactorOutcome::Success(added) => {
            let mut amr: Vec<&str> =
                first.amr.iter().map(String::as_str).filter(|m| !added.contains(m)).collect();
            amr.extend(added);
            state
                .store
                .take_session_state(&session.id_hash, PENDING_SECOND_FACTOR, state.clock.now())
                .await?;
            let next = next_after_sign_in(&first.request, &first.return_to);
            let (next, raw) =
                complete_sign_in(&state, &auth, &session, &first.user, &amr, &info, next).await?;
            Ok(HttpResponse::SeeOther().insert_header((LOCATION, next)).cookie(session::cookie(raw)).finish())
        }
        SecondFactorOutcome::Failed => {
            let message = "That code is not valid. Codes can be used once only.";
            page(&state, &auth, &session, &first, StatusCode::OK, Some(message)).await
        }
        SecondFactorOutcome::Refused { until } => {
            let message = "Too many failed attempts. Wait a few minutes, then try again.";
            let mut res =
                page(&state, &auth, &session, &first, StatusCode::TOO_MANY_REQUESTS, Some(message)).await?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
    }
}

fn second_factor_label(outcome: &SecondFactorOutcome) -> &'static str {
    match outcome {
        SecondFactorOutcome::Success(_) => "second_factor_success",
        SecondFactorOutcome::Failed => "second_factor_failure",
        SecondFactorOutcome::Refused { .. } => "locked",
    }
}
