//! `/login/mfa`: the second factor of a sign-in whose first factor passed
//! (then the browser signs in), or a step-up of a signed-in session
//! (`acr_values` asking for more than it has; then its methods grow and its
//! id changes). The step itself is `portcullis_authn::Interaction::second_factor`.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_authn::interaction::SecondFactorPrompt;
use portcullis_authn::{Continue, SecondFactor, StepOutcome};
use portcullis_store::Session;
use serde::Deserialize;

use super::login::{REFUSED, safe_return, step_redirect};
use super::oidc::authorize::pending_for_page;
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{SecondFactorPage, render_redirecting, retry_after};

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
csrf_protected!(MfaForm);

async fn page(
    state: &AppState,
    session: &Session,
    prompt: &SecondFactorPrompt,
    request: &str,
    status: StatusCode,
    message: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let request = if request.is_empty() { prompt.then.request.as_str() } else { request };
    let pending = pending_for_page(state, request).await?;
    let codes = !prompt.step_up_to_passkey;
    let page = SecondFactorPage {
        csrf_token: &session.csrf_token,
        request: pending.as_ref().map_or("", |p| p.id.as_str()),
        totp: codes && prompt.factors.totp,
        recovery: codes && prompt.factors.recovery_codes > 0,
        passkey: prompt.factors.passkeys > 0 && state.auth.passkeys.is_some(),
        enroll: !prompt.factors.any(),
        message,
    };
    // The form's redirect chain may end at the client (resume → code):
    // `form-action` must allow the verified redirect URI, as on /login.
    render_redirecting(status, &page, pending.as_ref().map(|p| p.request.redirect_uri.url()))
}

fn see_login(request: &str) -> HttpResponse {
    let location = if request.is_empty() { "/login".to_owned() } else { format!("/login?request={request}") };
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// `GET /login/mfa`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    CurrentSession(session): CurrentSession,
    query: web::Query<MfaQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(session) = session else {
        return Ok(see_login(&query.request));
    };
    let Some(prompt) = state.interaction().second_factor_prompt(&session).await? else {
        return Ok(see_login(&query.request));
    };
    page(&state, &session, &prompt, &query.request, StatusCode::OK, None).await
}

/// `POST /login/mfa`: one TOTP or recovery code.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<MfaForm>,
) -> Result<HttpResponse, PageError> {
    let factor = match form.method.as_str() {
        "totp" => SecondFactor::Totp(&form.code),
        "recovery" => SecondFactor::RecoveryCode(&form.code),
        _ => return Err(PageError::BadRequest("unknown second factor".into())),
    };
    let interaction = state.interaction();
    // Read before the step: a success replaces the session it is bound to.
    let Some(prompt) = interaction.second_factor_prompt(&session).await? else {
        return Ok(see_login(&form.request));
    };
    let mut outcome = interaction.second_factor(&session, factor, &info).await?;
    state.auth.metrics.signins.with_label_values(&[second_factor_label(&outcome)]).inc();
    // A request named by the form (a step-up) goes on from here.
    if let StepOutcome::SignedIn(signed) = &mut outcome
        && let Some(pending) = pending_for_page(&state, &form.request).await?
    {
        let return_to = safe_return(&signed.then.return_to).unwrap_or_default().to_owned();
        signed.then = Continue { request: pending.id, return_to };
    }
    if let Some(res) = step_redirect(&outcome) {
        return Ok(res);
    }
    match outcome {
        StepOutcome::Refused { until } => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = page(&state, &session, &prompt, &form.request, status, Some(REFUSED)).await?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        _ => {
            let message = Some("That code is not valid. Codes can be used once only.");
            page(&state, &session, &prompt, &form.request, StatusCode::OK, message).await
        }
    }
}

fn second_factor_label(outcome: &StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::SignedIn(_) => "second_factor_success",
        StepOutcome::Refused { .. } => "locked",
        _ => "second_factor_failure",
    }
}
