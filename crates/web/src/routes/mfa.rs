//! `/login/mfa`: the second factor of a sign-in whose first factor passed
//! (then the browser signs in), or a step-up of a signed-in session
//! (`acr_values` asking for more than it has; then its methods grow and its
//! id changes). The step is `portcullis_authn::Interaction::second_factor_attempt`;
//! what the page offers, the [`Waiting`] extractor reads.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_authn::interaction::SecondFactorPrompt;
use portcullis_authn::{SecondFactor, StepOutcome};
use portcullis_protocol::authorize;
use portcullis_store::Session;
use serde::Deserialize;
use url::Url;

use super::login::{REFUSED, step_redirect};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CsrfForm, Live, Requester, Waiting, csrf_protected, names_request};
use crate::pages::{SecondFactorPage, render_redirecting, retry_after};

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
names_request!(MfaForm);

/// The page: what `prompt` offers, for the live `request` (whose verified
/// redirect URI the form's redirect chain may end at: `form-action` must
/// allow it, as on /login).
fn page(
    state: &AppState,
    session: &Session,
    prompt: &SecondFactorPrompt,
    (request, redirect): (&str, Option<&Url>),
    status: StatusCode,
    message: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let codes = !prompt.step_up_to_passkey;
    let page = SecondFactorPage {
        csrf_token: &session.csrf_token,
        request,
        totp: codes && prompt.factors.totp,
        recovery: codes && prompt.factors.recovery_codes > 0,
        passkey: prompt.factors.passkeys > 0 && state.auth.passkeys.is_some(),
        enroll: !prompt.factors.any(),
        message,
    };
    render_redirecting(status, &page, redirect)
}

/// To the sign-in page, carrying `request` only when it is shaped like a
/// request id (it is echoed into the `Location` header).
fn see_login(request: &str) -> HttpResponse {
    let location = if authorize::is_request_id(request) {
        format!("/login?request={request}")
    } else {
        "/login".to_owned()
    };
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// `GET /login/mfa`.
pub(crate) async fn show(state: web::Data<AppState>, page_for: Waiting) -> Result<HttpResponse, PageError> {
    let Some((session, prompt, pending)) = &page_for.waiting else {
        return Ok(see_login(&page_for.request));
    };
    let request =
        pending.as_ref().map_or(("", None), |p| (p.id.as_str(), Some(p.request.redirect_uri.url())));
    page(&state, session, prompt, request, StatusCode::OK, None)
}

/// `POST /login/mfa`: one TOTP or recovery code.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<CsrfForm<MfaForm>>,
) -> Result<HttpResponse, PageError> {
    let (request, CsrfForm { session, form }) = ((live.request(), live.redirect_uri()), &live.inner);
    let factor = match form.method.as_str() {
        "totp" => SecondFactor::Totp(&form.code),
        "recovery" => SecondFactor::RecoveryCode(&form.code),
        _ => return Err(PageError::BadRequest("unknown second factor".into())),
    };
    let attempt = state.interaction().second_factor_attempt(session, factor, request.0, &info).await?;
    let Some((prompt, outcome)) = attempt else {
        return Ok(see_login(request.0));
    };
    state.auth.metrics.signins.with_label_values(&[second_factor_label(&outcome)]).inc();
    if let Some(res) = step_redirect(&outcome, request.0) {
        return Ok(res);
    }
    match outcome {
        StepOutcome::Refused { until } => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = page(&state, session, &prompt, request, status, Some(REFUSED))?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        _ => {
            let message = Some("That code is not valid. Codes can be used once only.");
            page(&state, session, &prompt, request, StatusCode::OK, message)
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
