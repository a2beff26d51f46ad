//! `/login/upstream/{id}`: "Continue with …" — the browser goes to the
//! upstream provider, and comes back to `/login/upstream/{id}/callback`.
//! The steps (the request's secrets kept in the browser's session, the
//! response and ID token checked, the account found, linked or created)
//! are `portcullis_authn::Interaction`'s; this renders where they lead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_authn::Continue;
use portcullis_authn::upstream::client::Callback;
use portcullis_authn::upstream::{UpstreamOutcome, UpstreamStart};
use serde::Deserialize;

use super::login::{safe_return, step_target};
use super::oidc::authorize::see_other;
use crate::errors::{Failure, PageError};
use crate::extract::{Browser, Live, Requester, names_request};
use crate::pages::{ContinuePage, render};
use crate::{AppState, session};

/// `GET /login/upstream/{id}` query.
#[derive(Deserialize)]
pub(crate) struct StartQuery {
    /// The pending authorization request to resume once signed in.
    #[serde(default)]
    request: String,
    /// The account page a re-authentication returns to.
    #[serde(default, rename = "return")]
    return_to: String,
}
names_request!(StartQuery);

/// The callback's query (RFC 6749 §4.1.2, RFC 9207).
#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// `GET /login/upstream/{id}`: to the upstream, with this browser's request.
pub(crate) async fn start(
    state: web::Data<AppState>,
    browser: Browser,
    Requester(info): Requester,
    id: web::Path<String>,
    query: Live<web::Query<StartQuery>>,
) -> Result<HttpResponse, PageError> {
    // Only a live authorization request is carried through the upstream.
    let return_to = safe_return(&query.inner.return_to).unwrap_or_default().to_owned();
    let then = Continue { request: query.request().to_owned(), return_to };
    match state.interaction().begin_upstream(&browser.session, &id, false, then, &info).await? {
        UpstreamStart::Redirect(to) => browser.set_cookie(see_other(&to)),
        UpstreamStart::Failed(failure) => Err(PageError::Upstream(failure)),
    }
}

/// `GET /login/upstream/{id}/callback`: the upstream's answer.
pub(crate) async fn callback(
    state: web::Data<AppState>,
    browser: Browser,
    Requester(info): Requester,
    id: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let callback = Callback {
        state: query.state.as_deref(),
        code: query.code.as_deref(),
        iss: query.iss.as_deref(),
        error: query.error.as_deref(),
    };
    let outcome = state.interaction().finish_upstream(&browser.session, &id, callback, &info).await?;
    match outcome {
        UpstreamOutcome::Step { outcome, request } => {
            state.auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
            let (to, cookie) = step_target(&outcome, &request)
                .ok_or_else(|| PageError::internal("an upstream step without a page"))?;
            let mut res = render(StatusCode::OK, &ContinuePage { to: &to })?;
            if let Some(raw) = cookie {
                res.add_cookie(&session::cookie(raw)).map_err(|e| PageError::Internal(Failure::new(e)))?;
            }
            Ok(res)
        }
        UpstreamOutcome::ProveAccount { upstream_id, then } => {
            // The sign-in page (with the CSP its pending request needs),
            // saying why.
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("link", &upstream_id);
            if !then.request.is_empty() {
                query.append_pair("request", &then.request);
            }
            if let Some(return_to) = safe_return(&then.return_to) {
                query.append_pair("return", return_to);
            }
            browser.set_cookie(see_other(&format!("/login?{}", query.finish())))
        }
        UpstreamOutcome::Linked { .. } => Ok(see_other("/account?done=upstream-linked")),
        UpstreamOutcome::Failed(failure) => Err(PageError::Upstream(failure)),
    }
}
