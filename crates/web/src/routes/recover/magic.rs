//! Magic-link sign-in (`recovery.magic_link`, off by default): `POST
//! /login/magic` mails a link bound to this browser's session; opening it
//! in that browser signs in at once, anywhere else asks "Sign in on this
//! device?" first (a CSRF-protected button).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::recovery::LinkRequest;
use portcullis_authn::{AuthnError, Continue, StepOutcome};
use portcullis_mailer::templates::lifetime;
use serde::Deserialize;

use super::{TokenQuery, invalid_link};
use crate::errors::PageError;
use crate::extract::{Browser, CsrfForm, Live, Requester, csrf_protected, names_request};
use crate::pages::render;
use crate::routes::login::step_redirect;
use crate::{AppState, Mail};

#[derive(Template)]
#[template(path = "pages/magic_link.html")]
struct MagicPage<'a> {
    confirm: bool,
    csrf_token: &'a str,
    token: &'a str,
    request: &'a str,
    valid_for: &'a str,
}

/// The request form (on the sign-in page) or the confirmation, as posted.
#[derive(Deserialize)]
pub(crate) struct MagicForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    request: String,
}
csrf_protected!(MagicForm);
names_request!(MagicForm);

const AGAIN: (&str, &str) = ("/login", "Back to sign-in");

fn enabled(mail: &Mail) -> Result<(), PageError> {
    if mail.magic_link && mail.available {
        Ok(())
    } else {
        Err(PageError::BadRequest("magic-link sign-in is not enabled".into()))
    }
}

/// `POST /login/magic`: one answer whatever the address.
pub(crate) async fn request(
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<CsrfForm<MagicForm>>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    let (resume, CsrfForm { session, form }) = (live.pending.as_ref().map(|p| p.id.as_str()), &live.inner);
    let outcome = state.recovery().request_magic_link(&form.address, &session.id_hash, resume, &info).await?;
    if outcome == LinkRequest::Queued {
        state.mail.wake();
    }
    let valid_for = lifetime(state.mail.rules.link_ttl);
    let page = MagicPage {
        confirm: false,
        csrf_token: &session.csrf_token,
        token: "",
        request: "",
        valid_for: &valid_for,
    };
    render(StatusCode::OK, &page)
}

/// `GET /login/magic?token=…`: the asking browser signs in at once; any
/// other gets the confirmation page.
pub(crate) async fn open(
    state: web::Data<AppState>,
    Requester(info): Requester,
    browser: Browser,
    query: Live<web::Query<TokenQuery>>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    let (request, token) = (query.request(), &query.inner.token);
    let then = Continue { request: request.to_owned(), return_to: String::new() };
    let recovery = state.recovery();
    match state.interaction().open_magic_link(&recovery, &browser.session, token, then, &info).await {
        Err(AuthnError::InvalidLink) => invalid_link(AGAIN.0, AGAIN.1),
        Err(e) => Err(e.into()),
        Ok(Some(outcome)) => signed_in(&state, &outcome, request),
        Ok(None) => {
            let page = MagicPage {
                confirm: true,
                csrf_token: &browser.session.csrf_token,
                token,
                request,
                valid_for: "",
            };
            browser.set_cookie(render(StatusCode::OK, &page)?)
        }
    }
}

/// `POST /login/magic/confirm`: "Sign in on this device" — the link, a
/// first factor for this browser (replacing its session), then the second
/// factor when the account has one.
pub(crate) async fn confirm(
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<CsrfForm<MagicForm>>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    let (request, CsrfForm { session, form }) = (live.request(), &live.inner);
    let then = Continue { request: request.to_owned(), return_to: String::new() };
    let recovery = state.recovery();
    match state.interaction().magic_link(&recovery, session, &form.token, then, &info).await {
        Ok(outcome) => signed_in(&state, &outcome, request),
        Err(AuthnError::InvalidLink) => invalid_link(AGAIN.0, AGAIN.1),
        Err(e) => Err(e.into()),
    }
}

/// Where the link's sign-in step leads.
fn signed_in(state: &AppState, outcome: &StepOutcome, request: &str) -> Result<HttpResponse, PageError> {
    state.auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
    step_redirect(outcome, request).ok_or_else(|| PageError::internal("unexpected magic-link outcome"))
}
