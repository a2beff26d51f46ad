//! `/login`: the password sign-in page and its form.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_authn::{Password, SignIn, SignInOutcome, sign_in};
use serde::Deserialize;

use super::oidc::authorize::load_pending;
use crate::client::request_info;
use crate::pages::{LoginPage, PageError, render_redirecting, retry_after};
use crate::session;
use crate::{AppState, Auth, Mail, csrf};

/// The one message for an unknown user, a wrong password and a disabled account.
const FAILED: &str = "Wrong username or password.";
const REFUSED: &str = "Too many failed attempts. Wait a few minutes, then try again.";

/// The sign-in form as posted.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// The pending authorization request to resume after sign-in.
    #[serde(default)]
    request: String,
    /// Where to go after a re-authentication (an `/account` path).
    #[serde(default, rename = "return")]
    return_to: String,
}

/// `GET /login` query: `?request=…` when an authorization request waits,
/// `?setup=done` after the first administrator was created.
#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    request: String,
    #[serde(default)]
    setup: String,
    /// Where to go after a re-authentication (an `/account` path).
    #[serde(default, rename = "return")]
    return_to: String,
}

/// What a second factor resumes: the request and where to go after.
#[derive(serde::Serialize, Deserialize)]
pub(crate) struct PendingSecondFactor {
    pub(crate) user_id: uuid::Uuid,
    pub(crate) amr: Vec<String>,
    pub(crate) request: String,
    pub(crate) return_to: String,
}

/// The session-state kind of a pending second factor.
pub(crate) const PENDING_SECOND_FACTOR: &str = "second_factor";
/// How long a passed first factor waits for the second.
const SECOND_FACTOR_WINDOW: time::Duration = time::Duration::minutes(10);

/// `return_to` when it is a local account path (never an open redirect).
pub(crate) fn safe_return(return_to: &str) -> Option<&str> {
    let ok =
        (return_to == "/account" || return_to.starts_with("/account/") || return_to.starts_with("/account?"))
            && !return_to.contains("//")
            && return_to.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(return_to)
}

/// Where a completed sign-in goes: the pending authorization request, the
/// account page being re-authenticated for, or home.
pub(crate) fn next_after_sign_in(request: &str, return_to: &str) -> String {
    if !request.is_empty() {
        format!("/authorize/resume?request={request}")
    } else {
        safe_return(return_to).unwrap_or("/").to_owned()
    }
}

/// Completes a sign-in with `amr`: a NEW session id, then the next page —
/// enrollment first when the policy wants a factor the user lacks.
pub(crate) async fn complete_sign_in(
    state: &AppState,
    auth: &Auth,
    session: &portcullis_store::Session,
    user: &portcullis_store::User,
    amr: &[&str],
    info: &portcullis_authn::RequestInfo,
    next: String,
) -> Result<(String, String), PageError> {
    let (_, raw) = session::sign_in(state, session, user, amr, info).await?;
    let mut next = next;
    if auth.mfa.requires_mfa(user) {
        let factors = portcullis_authn::Factors::of(state.store.as_ref(), user).await?;
        if auth.mfa.must_enroll(user, &factors) {
            let request = next.strip_prefix("/authorize/resume?request=").unwrap_or_default();
            next = format!("/account?enroll=required&request={request}");
        }
    }
    Ok((next, raw))
}

/// The pending request's redirect URI (for the CSP) and `login_hint`, when
/// `request` names a live one. Unknown ids are ignored: the form still
/// signs in, and resuming then reports the expiry.
async fn pending(state: &AppState, request: &str) -> (String, Option<url::Url>, String) {
    if request.is_empty() {
        return (String::new(), None, String::new());
    }
    match load_pending(state, request).await {
        Ok(p) => (p.id, Some(p.request.redirect_uri.url().clone()), p.request.login_hint.unwrap_or_default()),
        Err(_) => (String::new(), None, String::new()),
    }
}

/// `GET /login`: the form, bound to the browser's (possibly new, anonymous) session.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let info = request_info(&req, &auth.trusted_proxies);
    let (session, cookie) = session::current_or_anonymous(&req, &state, &auth, &info).await?;
    let return_to = safe_return(&query.return_to).unwrap_or_default();
    let mut notice =
        (query.setup == "done").then_some("The administrator account is ready. Sign in with it.");
    let (request, redirect, mut hint) = pending(&state, &query.request).await;
    if !return_to.is_empty()
        && let Some(user) = session::user_of(&state, Some(&session)).await?
    {
        notice = Some("Confirm it is you: sign in again to change your security settings.");
        hint = user.username;
    }
    let page = LoginPage {
        csrf_token: &session.csrf_token,
        request: &request,
        return_to,
        username: &hint,
        message: None,
        notice,
        passkeys: auth.passkeys.is_some(),
        magic_link: mail.magic_link && mail.available,
    };
    let mut res = render_redirecting(StatusCode::OK, &page, redirect.as_ref())?;
    if let Some(cookie) = cookie {
        res.add_cookie(&cookie).map_err(|e| PageError::Internal(e.to_string()))?;
    }
    Ok(res)
}

/// `POST /login`: CSRF check, then one sign-in attempt. Success replaces the
/// session with a NEW id; failure re-renders the form with one message.
pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    let info = request_info(&req, &auth.trusted_proxies);
    let ctx = SignIn {
        store: state.store.as_ref(),
        hasher: &auth.hasher,
        lockouts: &auth.lockouts,
        clock: state.clock.as_ref(),
    };
    let outcome = sign_in(ctx, &form.username, Password::new(form.password), &info).await?;
    auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
    let (request, redirect, _) = pending(&state, &form.request).await;
    let return_to = safe_return(&form.return_to).unwrap_or_default();
    let page = |message| LoginPage {
        csrf_token: &session.csrf_token,
        request: &request,
        return_to,
        // Not echoed: the failure page must not differ between known and unknown users.
        username: "",
        message: Some(message),
        notice: None,
        passkeys: auth.passkeys.is_some(),
        magic_link: mail.magic_link && mail.available,
    };
    match outcome {
        SignInOutcome::Success(user) => {
            let factors = portcullis_authn::Factors::of(state.store.as_ref(), &user).await?;
            if factors.any() {
                // The password was right; the session signs in only after
                // the second factor.
                let pending = PendingSecondFactor {
                    user_id: user.id,
                    amr: vec!["pwd".to_owned()],
                    request: request.clone(),
                    return_to: return_to.to_owned(),
                };
                let payload =
                    serde_json::to_string(&pending).map_err(|e| PageError::Internal(e.to_string()))?;
                let until = state.clock.now() + SECOND_FACTOR_WINDOW;
                state
                    .store
                    .put_session_state(&session.id_hash, PENDING_SECOND_FACTOR, &payload, until)
                    .await?;
                return Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/login/mfa")).finish());
            }
            let next = next_after_sign_in(&request, return_to);
            let (next, raw) = complete_sign_in(&state, &auth, &session, &user, &["pwd"], &info, next).await?;
            Ok(HttpResponse::SeeOther().insert_header((LOCATION, next)).cookie(session::cookie(raw)).finish())
        }
        SignInOutcome::Failed => render_redirecting(StatusCode::OK, &page(FAILED), redirect.as_ref()),
        SignInOutcome::Refused { until } => {
            let mut res =
                render_redirecting(StatusCode::TOO_MANY_REQUESTS, &page(REFUSED), redirect.as_ref())?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
    }
}
