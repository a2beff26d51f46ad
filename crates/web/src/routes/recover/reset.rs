//! `/recover`: ask for a reset link (one answer whether or not the address
//! is known), and `/recover/reset?token=…`: choose the new password, which
//! ends every session and refresh token of the account; the link then counts
//! as a first factor (the mailbox), so a second factor is asked next when
//! the account has one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::recovery::LinkRequest;
use portcullis_authn::{AuthnError, Password, ResetOutcome};
use portcullis_mailer::templates::lifetime;
use serde::Deserialize;

use super::{TokenQuery, invalid_link};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Browser, CsrfForm, Requester, csrf_protected};
use crate::pages::render;
use crate::routes::login::step_redirect;

#[derive(Template)]
#[template(path = "pages/recover.html")]
struct RecoverPage<'a> {
    csrf_token: &'a str,
    available: bool,
    sent: bool,
    valid_for: &'a str,
}

#[derive(Template)]
#[template(path = "pages/reset_password.html")]
struct ResetPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    username: &'a str,
    min_length: usize,
    message: Option<&'a str>,
}

/// The "forgot password" form as posted.
#[derive(Deserialize)]
pub(crate) struct RecoverForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    address: String,
}
csrf_protected!(RecoverForm);

/// The new-password form as posted.
#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}
csrf_protected!(ResetForm);

const ASK_AGAIN: (&str, &str) = ("/recover", "Ask for a new link");

/// `GET /recover`: the form (or, without mail, why there is none).
pub(crate) async fn show_request(
    state: web::Data<AppState>,
    browser: Browser,
) -> Result<HttpResponse, PageError> {
    let mail = &state.mail;
    let valid_for = lifetime(mail.rules.link_ttl);
    let page = RecoverPage {
        csrf_token: &browser.session.csrf_token,
        available: mail.available,
        sent: false,
        valid_for: &valid_for,
    };
    browser.set_cookie(render(StatusCode::OK, &page)?)
}

/// `POST /recover`: the same page and status whatever the address; a link
/// goes out only for an active account not over its rate limit.
pub(crate) async fn submit_request(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<RecoverForm>,
) -> Result<HttpResponse, PageError> {
    let mail = &state.mail;
    if mail.available {
        let outcome = state.recovery().request_reset(&form.address, &info).await?;
        if outcome == LinkRequest::Queued {
            mail.wake();
        }
    }
    let valid_for = lifetime(mail.rules.link_ttl);
    let page = RecoverPage {
        csrf_token: &session.csrf_token,
        available: mail.available,
        sent: mail.available,
        valid_for: &valid_for,
    };
    render(StatusCode::OK, &page)
}

/// `GET /recover/reset?token=…`: the new-password form, if the link is live.
pub(crate) async fn show_reset(
    state: web::Data<AppState>,
    browser: Browser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let user = match state.recovery().reset_link_user(&query.token).await {
        Ok(user) => user,
        Err(AuthnError::InvalidLink) => return invalid_link(ASK_AGAIN.0, ASK_AGAIN.1),
        Err(e) => return Err(e.into()),
    };
    let page = ResetPage {
        csrf_token: &browser.session.csrf_token,
        token: &query.token,
        username: &user.username,
        min_length: state.auth.policy.min_length,
        message: None,
    };
    browser.set_cookie(render(StatusCode::OK, &page)?)
}

/// `POST /recover/reset`: sets the password (ending all sessions and
/// revoking refresh tokens in the same transaction); the link then counts
/// as a first factor on a new session: signed in, or the second factor next.
pub(crate) async fn submit_reset(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<ResetForm>,
) -> Result<HttpResponse, PageError> {
    let (recovery, interaction) = (state.recovery(), state.interaction());
    let (password, confirm) = (Password::new(form.password), Password::new(form.password_confirm));
    let reset = interaction.reset_password(&recovery, &session, &form.token, password, confirm, &info);
    let outcome = match reset.await {
        Ok(ResetOutcome::Done(outcome)) => outcome,
        Ok(ResetOutcome::Retry { username, why }) => {
            let message = match why {
                AuthnError::PasswordsDiffer => "The two passwords differ.".to_owned(),
                other => other.to_string(),
            };
            let page = ResetPage {
                csrf_token: &session.csrf_token,
                token: &form.token,
                username: &username,
                min_length: state.auth.policy.min_length,
                message: Some(&message),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(AuthnError::InvalidLink) => return invalid_link(ASK_AGAIN.0, ASK_AGAIN.1),
        Err(e) => return Err(e.into()),
    };
    state.mail.wake();
    // The link proved the mailbox: a second factor, if the account has one,
    // is asked next.
    step_redirect(&outcome, "").ok_or_else(|| PageError::internal("unexpected reset outcome"))
}
