//! The device authorization grant's endpoints (RFC 8628): `POST
//! /device_authorization` (client-authenticated, as `/token`) and the
//! `/device` pages where a signed-in user enters a user code, sees the
//! client and scopes, and approves or denies. One call each into
//! `portcullis_protocol` (`back_channel::device_authorization`,
//! `device::verify::{entry, enter, decide}`), which asks the sign-in side
//! (`AppState::sign_ins`) where the browser stands and to throttle guesses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::back_channel;
use portcullis_protocol::device::VERIFICATION_PATH;
use portcullis_protocol::device::verify::{self, DevicePrompt, DeviceStep};
use serde::Deserialize;

use super::authorize::see_other;
use super::consent::describe;
use super::token::{credentials, parse_form};
use super::token_form::ClientFields;
use crate::AppState;
use crate::errors::{OAuthFailure, PageError};
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{DevicePage, render, retry_after};

/// The body of `POST /device_authorization`.
#[derive(Deserialize)]
struct DeviceAuthorizationForm {
    #[serde(flatten)]
    client: ClientFields,
    scope: Option<String>,
}

/// `POST /device_authorization` (RFC 8628 §3.1–3.2).
pub(crate) async fn device_authorization(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let form: DeviceAuthorizationForm = parse_form(&req, &body)?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let endpoint = state.publication.device_authorization_endpoint();
    let answer = back_channel::device_authorization(
        &ctx,
        &credentials(&req, form.client),
        endpoint,
        form.scope.as_deref(),
    )
    .await
    .map_err(|e| OAuthFailure::back_channel(e, ctx.now))?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(answer))
}

/// `?user_code=…` of `verification_uri_complete`: fills the form in.
#[derive(Deserialize)]
pub(crate) struct DeviceQuery {
    #[serde(default)]
    user_code: String,
}

/// The code form as posted (to look the code up, or to decide).
#[derive(Deserialize)]
pub(crate) struct DeviceForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    decision: String,
}
csrf_protected!(DeviceForm);

/// What the page says about the code typed.
const UNKNOWN: &str =
    "That code is not valid, has expired or was already used. Check the code on your device.";
const REFUSED: &str = "Too many wrong codes. Wait a few minutes, then try again.";

/// `GET /device[?user_code=…]`: the code form for a signed-in browser (a
/// code in the link is only filled in: approving still takes the click);
/// otherwise sign in first and come back.
pub(crate) async fn show(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CurrentSession(session): CurrentSession,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let step = verify::entry(&state.sign_ins(&info), session.as_ref()).await?;
    let (DeviceStep::Enter, Some(session)) = (step, session) else {
        return Ok(sign_in_first(&query.user_code));
    };
    render(StatusCode::OK, &DevicePage::enter(&session.csrf_token, &query.user_code, None))
}

/// `POST /device`: look the code up (one throttled guess) and ask.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let (keys, approvals) = (state.keys(), state.sign_ins(&info));
    let step = verify::enter(&state.ctx(&keys), &approvals, &session, &form.user_code).await?;
    answer(&state, &session.csrf_token, &form.user_code, step)
}

/// `POST /device/decide`: approve or deny the device the code names.
pub(crate) async fn decide(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let (keys, approvals) = (state.keys(), state.sign_ins(&info));
    let allow = form.decision == "allow";
    let step = verify::decide(&state.ctx(&keys), &approvals, &session, &form.user_code, allow).await?;
    answer(&state, &session.csrf_token, &form.user_code, step)
}

/// To the sign-in page, back here (with the code) once signed in.
fn sign_in_first(user_code: &str) -> HttpResponse {
    let back = if user_code.is_empty() {
        VERIFICATION_PATH.to_owned()
    } else {
        let query: String =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("user_code", user_code).finish();
        format!("{VERIFICATION_PATH}?{query}")
    };
    let login: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("return", &back).finish();
    see_other(&format!("/login?{login}"))
}

/// The page for where the code led.
fn answer(
    state: &AppState,
    csrf_token: &str,
    typed: &str,
    step: DeviceStep,
) -> Result<HttpResponse, PageError> {
    let scopes = |p: &DevicePrompt| p.scopes.iter().map(describe).collect::<Vec<_>>();
    match step {
        DeviceStep::SignIn => Ok(sign_in_first(typed)),
        DeviceStep::Enter => render(StatusCode::OK, &DevicePage::enter(csrf_token, typed, None)),
        DeviceStep::Unknown => render(StatusCode::OK, &DevicePage::enter(csrf_token, typed, Some(UNKNOWN))),
        DeviceStep::Refused { until } => {
            let mut res = render(StatusCode::TOO_MANY_REQUESTS, &DevicePage::refused(csrf_token, REFUSED))?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        DeviceStep::Confirm(p) => render(StatusCode::OK, &DevicePage::confirm(csrf_token, &p, scopes(&p))),
        DeviceStep::Approved(p) => render(StatusCode::OK, &DevicePage::done(csrf_token, &p, true)),
        DeviceStep::Denied(p) => render(StatusCode::OK, &DevicePage::done(csrf_token, &p, false)),
    }
}
