//! `/verify-email?token=…`: confirms an address (a new account's, or the
//! new one of an email change). The GET only shows a button, so mail
//! scanners that fetch links use nothing; the POST consumes the link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::AuthnError;
use serde::Deserialize;

use super::{TokenQuery, invalid_link};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Browser, CsrfForm, Requester, csrf_protected};
use crate::pages::render;

#[derive(Template)]
#[template(path = "pages/verify_email.html")]
struct VerifyPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    username: &'a str,
    email: &'a str,
    done: bool,
}

/// The confirmation form as posted.
#[derive(Deserialize)]
pub(crate) struct VerifyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    token: String,
}
csrf_protected!(VerifyForm);

const HOME: (&str, &str) = ("/", "Go to the start page");

/// `GET /verify-email?token=…`: "Confirm this address", if the link is live.
pub(crate) async fn show(
    state: web::Data<AppState>,
    browser: Browser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let (token, user) = match state.recovery().verification_link(&query.token).await {
        Ok(found) => found,
        Err(AuthnError::InvalidLink) => return invalid_link(HOME.0, HOME.1),
        Err(e) => return Err(e.into()),
    };
    let page = VerifyPage {
        csrf_token: &browser.session.csrf_token,
        token: &query.token,
        username: &user.username,
        email: token.new_email.as_deref().unwrap_or(&user.email),
        done: false,
    };
    browser.set_cookie(render(StatusCode::OK, &page)?)
}

/// `POST /verify-email`: uses the link once.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<VerifyForm>,
) -> Result<HttpResponse, PageError> {
    let (token, user) = match state.recovery().verify_email(&form.token, &info).await {
        Ok(verified) => verified,
        // Not live (or used meanwhile), or the new address was taken by another account.
        Err(AuthnError::InvalidLink | AuthnError::Taken) => return invalid_link(HOME.0, HOME.1),
        Err(e) => return Err(e.into()),
    };
    state.mail.wake();
    let page = VerifyPage {
        csrf_token: &session.csrf_token,
        token: "",
        username: &user.username,
        email: token.new_email.as_deref().unwrap_or(&user.email),
        done: true,
    };
    render(StatusCode::OK, &page)
}
