//! `/account/email`: a signed-in user asks to change their address,
//! re-entering their password unless they authenticated in the last five
//! minutes (the account pages' gate; a user without a password confirms
//! it is them by signing in again, e.g. with a passkey). A link goes to the new address and a notice
//! to the current one; the address changes when the link is followed.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::journey::may_change;
use portcullis_authn::{AccountAccess, AuthnError, Change, Password};
use portcullis_store::{Session, User};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::{render, retry_after};

#[derive(Template)]
#[template(path = "pages/account_email.html")]
struct EmailPage<'a> {
    csrf_token: &'a str,
    available: bool,
    current: &'a str,
    new_email: &'a str,
    sent_to: Option<&'a str>,
    message: Option<&'a str>,
    /// A recent authentication: no password asked.
    recent: bool,
}

/// The form as posted.
#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    current_password: String,
}
csrf_protected!(EmailForm);

/// Where a user without a password confirms it is them.
const REAUTH: &str = "/login?return=/account/email";

fn to(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// The fully signed-in session and its user, and whether the session
/// authenticated recently and strongly enough to skip the password.
async fn signed_in(
    state: &AppState,
    session: Option<Session>,
) -> Result<Result<(Session, User, bool), HttpResponse>, PageError> {
    let access = state.interaction().account_access(session.as_ref()).await?;
    let (AccountAccess::Full(user), Some(session)) = (access, session) else {
        return Ok(Err(to("/account")));
    };
    let recent = may_change(&session, Change::Security, state.clock.now());
    if !recent && user.password_hash.is_none() {
        return Ok(Err(to(REAUTH)));
    }
    Ok(Ok((session, user, recent)))
}

/// `GET /account/email`: the form, for a signed-in user.
pub(crate) async fn show(
    state: web::Data<AppState>,
    CurrentSession(session): CurrentSession,
) -> Result<HttpResponse, PageError> {
    let (session, user, recent) = match signed_in(&state, session).await? {
        Ok(found) => found,
        Err(res) => return Ok(res),
    };
    let page = EmailPage {
        csrf_token: &session.csrf_token,
        available: state.mail.available,
        current: &user.email,
        new_email: "",
        sent_to: None,
        message: None,
        recent,
    };
    render(StatusCode::OK, &page)
}

/// `POST /account/email`: password check (throttled, unless the session is
/// recent and strong), the request limit, then the link and the notice.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let mail = &state.mail;
    let (session, user, recent) = match signed_in(&state, Some(session)).await? {
        Ok(found) => found,
        Err(res) => return Ok(res),
    };
    let page = |sent_to, message| EmailPage {
        csrf_token: &session.csrf_token,
        available: mail.available,
        current: &user.email,
        new_email: &form.new_email,
        sent_to,
        message,
        recent,
    };
    if !mail.available {
        return render(StatusCode::OK, &page(None, None));
    }
    let password = (!recent).then(|| Password::new(form.current_password.clone()));
    let recovery = state.recovery();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match recovery.request_email_change(&user, password, &form.new_email, &info).await {
        Ok(()) => {
            mail.wake();
            render(StatusCode::OK, &page(Some(form.new_email.trim()), None))
        }
        Err(AuthnError::WrongPassword) => {
            render(unprocessable, &page(None, Some("Your current password is wrong.")))
        }
        Err(AuthnError::Locked { until }) => {
            let message = "Too many failed attempts. Wait a few minutes, then try again.";
            let mut res = render(StatusCode::TOO_MANY_REQUESTS, &page(None, Some(message)))?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        Err(AuthnError::TooManyRequests) => {
            let message = "Too many email changes asked for. Try again in an hour.";
            render(StatusCode::TOO_MANY_REQUESTS, &page(None, Some(message)))
        }
        Err(AuthnError::InvalidIdentity(message)) => render(unprocessable, &page(None, Some(&message))),
        Err(e) => Err(e.into()),
    }
}
