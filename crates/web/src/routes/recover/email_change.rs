//! `/account/email`: a signed-in user asks to change their address,
//! re-entering their password unless they authenticated in the last five
//! minutes (the account pages' gate; a user without a password confirms
//! it is them by signing in again, e.g. with a passkey). A link goes to the new address and a notice
//! to the current one; the address changes when the link is followed.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use portcullis_authn::{AuthnError, Password};
use serde::Deserialize;

use crate::client::request_info;
use crate::pages::{PageError, render};
use crate::{AppState, Auth, Mail, csrf, session};

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

/// Where a user without a password confirms it is them.
const REAUTH: &str = "/login?return=/account/email";

fn to_login() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, "/login")).finish()
}

/// `GET /account/email`: the form, for a signed-in user.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
) -> Result<HttpResponse, PageError> {
    let session = session::current(&req, &state, &auth).await?;
    let Some(user) = session::user_of(&state, session.as_ref()).await? else { return Ok(to_login()) };
    let Some(session) = session else { return Ok(to_login()) };
    let recent = session::is_recent(&session, state.clock.now());
    if !recent && user.password_hash.is_none() {
        return Ok(HttpResponse::SeeOther().insert_header((LOCATION, REAUTH)).finish());
    }
    let page = EmailPage {
        csrf_token: &session.csrf_token,
        available: mail.available,
        current: &user.email,
        new_email: "",
        sent_to: None,
        message: None,
        recent,
    };
    render(StatusCode::OK, &page)
}

/// `POST /account/email`: password check, then the link and the notice.
pub(crate) async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let session = csrf::checked_session(&req, &state, &auth, &form.csrf_token).await?;
    let Some(user) = session::user_of(&state, Some(&session)).await? else { return Ok(to_login()) };
    let recent = session::is_recent(&session, state.clock.now());
    if !recent && user.password_hash.is_none() {
        return Ok(HttpResponse::SeeOther().insert_header((LOCATION, REAUTH)).finish());
    }
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
    let info = request_info(&req, &auth.trusted_proxies);
    let password = (!recent).then(|| Password::new(form.current_password.clone()));
    let recovery = mail.recovery(&state, &auth);
    match recovery.request_email_change(&user, password, &form.new_email, &info).await {
        Ok(()) => {
            mail.wake();
            render(StatusCode::OK, &page(Some(form.new_email.trim()), None))
        }
        Err(AuthnError::WrongPassword) => {
            render(StatusCode::UNPROCESSABLE_ENTITY, &page(None, Some("Your current password is wrong.")))
        }
        Err(AuthnError::InvalidIdentity(message)) => {
            render(StatusCode::UNPROCESSABLE_ENTITY, &page(None, Some(&message)))
        }
        Err(e) => Err(e.into()),
    }
}
