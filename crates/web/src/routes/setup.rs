//! `/setup`: the one-time page that creates the first administrator.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_authn::accounts::{NewAccount, check_email, check_username};
use portcullis_authn::{AuthnError, Password};
use serde::Deserialize;

use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::first_admin::hash_token;
use crate::pages::{SetupPage, render};
use crate::{AppState, Auth};

/// `?token=…`
#[derive(Deserialize)]
pub(crate) struct SetupQuery {
    #[serde(default)]
    token: String,
}

/// The setup form as posted.
#[derive(Deserialize)]
pub(crate) struct SetupForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}
csrf_protected!(SetupForm);

/// The link works while no user exists and the token is known and unexpired.
async fn link_is_valid(state: &AppState, token: &str) -> Result<bool, PageError> {
    if token.is_empty() || state.store.count_users().await? > 0 {
        return Ok(false);
    }
    Ok(state.store.setup_token_valid(&hash_token(token), state.clock.now()).await?)
}

/// `GET /setup?token=…`: the form.
pub(crate) async fn show(
    state: web::Data<AppState>,
    Requester(info): Requester,
    current: CurrentSession,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, PageError> {
    if !link_is_valid(&state, &query.token).await? {
        return Err(PageError::SetupLink);
    }
    let (session, cookie) = current.or_anonymous(&state, &info).await?;
    let page = SetupPage {
        csrf_token: &session.csrf_token,
        token: &query.token,
        username: "",
        email: "",
        min_length: state.auth.policy.min_length,
        message: None,
    };
    let mut res = render(StatusCode::OK, &page)?;
    if let Some(cookie) = cookie {
        res.add_cookie(&cookie)?;
    }
    Ok(res)
}

/// What is wrong with the form, as a message for the person filling it.
fn form_problem(form: &SetupForm, auth: &Auth) -> Option<String> {
    if form.password != form.password_confirm {
        return Some("The two passwords differ.".into());
    }
    let checks =
        check_username(form.username.trim()).and_then(|()| check_email(form.email.trim())).and_then(|()| {
            let ids = [form.username.as_str(), form.email.as_str()];
            auth.policy.check(&Password::new(form.password.clone()), &ids).map_err(AuthnError::from)
        });
    checks.err().map(|e| e.to_string())
}

/// `POST /setup`: CSRF, link, form checks; then the token is consumed and the
/// administrator created.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<SetupForm>,
) -> Result<HttpResponse, PageError> {
    if !link_is_valid(&state, &form.token).await? {
        return Err(PageError::SetupLink);
    }
    if let Some(message) = form_problem(&form, &state.auth) {
        let page = SetupPage {
            csrf_token: &session.csrf_token,
            token: &form.token,
            username: &form.username,
            email: &form.email,
            min_length: state.auth.policy.min_length,
            message: Some(&message),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if !state.store.consume_setup_token(&hash_token(&form.token), state.clock.now()).await? {
        return Err(PageError::SetupLink);
    }
    let new = NewAccount {
        username: form.username,
        email: form.email,
        password: Password::new(form.password),
        admin: true,
    };
    let user = state.accounts().create(new, &info).await?;
    if state.mail.available && !user.email_verified {
        state.recovery().send_verification(&user).await?;
        state.mail.wake();
    }
    Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/login?setup=done")).finish())
}
