//! `/account/email`: a signed-in user asks to change their address,
//! re-entering their password unless they authenticated in the last five
//! minutes (the account pages' gate; a user without a password confirms
//! it is them by signing in again, e.g. with a passkey). A link goes to the new address and a notice
//! to the current one; the address changes when the link is followed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::{AuthnError, Password};
use serde::Deserialize;

use crate::AppState;
use crate::errors::PageError;
use crate::extract::{ChangeForm, EmailChanger, Requester, csrf_protected};
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

/// `GET /account/email`: the form, for a signed-in user.
pub(crate) async fn show(
    state: web::Data<AppState>,
    EmailChanger { session, user, recent }: EmailChanger,
) -> Result<HttpResponse, PageError> {
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
    ChangeForm { changer: EmailChanger { session, user, recent }, form }: ChangeForm<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let mail = &state.mail;
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
