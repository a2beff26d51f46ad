//! `/setup`: the one-time page that creates the first administrator.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_authn::accounts::NewAccount;
use portcullis_authn::{AuthnError, Password};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Browser, CsrfForm, Requester, csrf_protected};
use crate::pages::{SetupPage, render};

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

/// `GET /setup?token=…`: the form.
pub(crate) async fn show(
    state: web::Data<AppState>,
    browser: Browser,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, PageError> {
    if !state.first_admin().link_valid(&query.token).await? {
        return Err(PageError::SetupLink);
    }
    let page = SetupPage {
        csrf_token: &browser.session.csrf_token,
        token: &query.token,
        username: "",
        email: "",
        min_length: state.auth.policy.min_length,
        message: None,
    };
    browser.set_cookie(render(StatusCode::OK, &page)?)
}

/// `POST /setup`: CSRF, link, form checks; then the token is consumed and the
/// administrator created.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let new = NewAccount {
        username: form.username.clone(),
        email: form.email.clone(),
        password: Password::new(form.password),
        admin: true,
    };
    let confirm = Password::new(form.password_confirm);
    let message = match state.first_admin().create(&form.token, new, &confirm, &info).await {
        Ok(_) => {
            state.mail.wake();
            return Ok(HttpResponse::SeeOther().insert_header((LOCATION, "/login?setup=done")).finish());
        }
        Err(AuthnError::InvalidLink) => return Err(PageError::SetupLink),
        Err(AuthnError::PasswordsDiffer) => "The two passwords differ.".to_owned(),
        Err(e @ (AuthnError::InvalidIdentity(_) | AuthnError::Policy(_))) => e.to_string(),
        Err(e) => return Err(e.into()),
    };
    let page = SetupPage {
        csrf_token: &session.csrf_token,
        token: &form.token,
        username: &form.username,
        email: &form.email,
        min_length: state.auth.policy.min_length,
        message: Some(&message),
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
