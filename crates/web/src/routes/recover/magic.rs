//! Magic-link sign-in (`recovery.magic_link`, off by default): `POST
//! /login/magic` mails a link bound to this browser's session; opening it
//! in that browser signs in at once, anywhere else asks "Sign in on this
//! device?" first (a CSRF-protected button).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::recovery::{LinkRequest, MagicLinkCheck};
use portcullis_authn::{AuthnError, Continue, RequestInfo};
use portcullis_mailer::templates::lifetime;
use portcullis_store::Session;
use serde::Deserialize;

use super::{TokenQuery, invalid_link, with_cookie};
use crate::errors::PageError;
use crate::extract::{CsrfForm, CurrentSession, Requester, csrf_protected};
use crate::pages::render;
use crate::routes::login::step_redirect;
use crate::routes::oidc::authorize::live_request_id;
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

const AGAIN: (&str, &str) = ("/login", "Back to sign-in");

fn enabled(mail: &Mail) -> Result<(), PageError> {
    if mail.magic_link && mail.available {
        Ok(())
    } else {
        Err(PageError::BadRequest("magic-link sign-in is not enabled".into()))
    }
}

/// The pending authorization request to resume, if `id` names a live one.
async fn resume_id(state: &AppState, id: &str) -> Result<Option<String>, PageError> {
    Ok(Some(live_request_id(state, id).await?).filter(|id| !id.is_empty()))
}

/// `POST /login/magic`: one answer whatever the address.
pub(crate) async fn request(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<MagicForm>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    let resume = resume_id(&state, &form.request).await?;
    let outcome = state
        .recovery()
        .request_magic_link(&form.address, &session.id_hash, resume.as_deref(), &info)
        .await?;
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

/// Uses the link: a first factor for this browser (replacing `session`),
/// the second factor next when the account has one.
async fn sign_in_with(
    state: &AppState,
    info: &RequestInfo,
    session: &Session,
    token: &str,
    request: &str,
) -> Result<HttpResponse, PageError> {
    let then =
        Continue { request: resume_id(state, request).await?.unwrap_or_default(), return_to: String::new() };
    let recovery = state.recovery();
    let outcome = match state.interaction().magic_link(&recovery, session, token, then, info).await {
        Ok(outcome) => outcome,
        Err(AuthnError::InvalidLink) => return invalid_link(AGAIN.0, AGAIN.1),
        Err(e) => return Err(e.into()),
    };
    state.auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
    step_redirect(&outcome).ok_or_else(|| PageError::internal("unexpected magic-link outcome"))
}

/// `GET /login/magic?token=…`: the asking browser signs in at once; any
/// other gets the confirmation page.
pub(crate) async fn open(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CurrentSession(current): CurrentSession,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    let recovery = state.recovery();
    let check = recovery.check_magic_link(&query.token, current.as_ref().map(|s| s.id_hash.as_str())).await;
    match (check, current) {
        (Err(AuthnError::InvalidLink), _) => invalid_link(AGAIN.0, AGAIN.1),
        (Err(e), _) => Err(e.into()),
        (Ok(MagicLinkCheck::SameBrowser), Some(session)) => {
            sign_in_with(&state, &info, &session, &query.token, &query.request).await
        }
        (Ok(_), current) => {
            let (session, cookie) = CurrentSession(current).or_anonymous(&state, &info).await?;
            let request = resume_id(&state, &query.request).await?.unwrap_or_default();
            let page = MagicPage {
                confirm: true,
                csrf_token: &session.csrf_token,
                token: &query.token,
                request: &request,
                valid_for: "",
            };
            with_cookie(render(StatusCode::OK, &page)?, cookie)
        }
    }
}

/// `POST /login/magic/confirm`: "Sign in on this device".
pub(crate) async fn confirm(
    state: web::Data<AppState>,
    Requester(info): Requester,
    CsrfForm { session, form }: CsrfForm<MagicForm>,
) -> Result<HttpResponse, PageError> {
    enabled(&state.mail)?;
    sign_in_with(&state, &info, &session, &form.token, &form.request).await
}
