//! `/login`: the password sign-in page and its form.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_authn::{Password, SignIn, SignInOutcome, sign_in};
use serde::Deserialize;

use crate::client::request_info;
use crate::pages::{LoginPage, PageError, render};
use crate::session::{self, Principal};
use crate::{AppState, Auth, csrf};

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
}

/// `GET /login`: the form, bound to the browser's (possibly new, anonymous) session.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, PageError> {
    let info = request_info(&req, &auth.trusted_proxies);
    let (session, cookie) = session::current_or_anonymous(&req, &state, &auth, &info).await?;
    let notice = req
        .query_string()
        .split('&')
        .any(|p| p == "setup=done")
        .then_some("The administrator account is ready. Sign in with it.");
    let page = LoginPage { csrf_token: &session.csrf_token, message: None, notice };
    let mut res = render(StatusCode::OK, &page)?;
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
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let session = session::current(&req, &state, &auth).await?;
    let Some(session) = session.filter(|s| csrf::matches(Some(s), Some(&form.csrf_token))) else {
        return Err(PageError::Csrf);
    };
    let info = request_info(&req, &auth.trusted_proxies);
    let ctx = SignIn {
        store: state.store.as_ref(),
        hasher: &auth.hasher,
        lockouts: &auth.lockouts,
        clock: state.clock.as_ref(),
    };
    let outcome = sign_in(ctx, &form.username, Password::new(form.password), &info).await?;
    auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
    match outcome {
        SignInOutcome::Success(user) => {
            state.store.delete_session(&session.id_hash).await?;
            let (_, raw) = session::start(&state, Principal::User(&user, &["pwd"]), &info).await?;
            Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/")).cookie(session::cookie(raw)).finish())
        }
        SignInOutcome::Failed => render(
            StatusCode::OK,
            &LoginPage { csrf_token: &session.csrf_token, message: Some(FAILED), notice: None },
        ),
        SignInOutcome::Refused { until } => {
            let page = LoginPage { csrf_token: &session.csrf_token, message: Some(REFUSED), notice: None };
            let mut res = render(StatusCode::TOO_MANY_REQUESTS, &page)?;
            let wait = (until - state.clock.now()).whole_seconds().max(1);
            if let Ok(value) = wait.to_string().parse() {
                res.headers_mut().insert(RETRY_AFTER, value);
            }
            Ok(res)
        }
    }
}
