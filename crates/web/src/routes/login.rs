//! `/login`: the sign-in page and its password form. The journey's steps
//! are `portcullis_authn::Interaction`'s; this renders where they lead.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use portcullis_authn::{Continue, Password, Standing, StepOutcome};
use portcullis_protocol::device::VERIFICATION_PATH;
use serde::Deserialize;

use crate::errors::PageError;
use crate::extract::{Browser, CsrfForm, Live, Requester, csrf_protected, names_request};
use crate::pages::{LoginPage, UpstreamButton, render_redirecting, retry_after};
use crate::{AppState, session};

/// The one message for an unknown user, a wrong password and a disabled account.
const FAILED: &str = "Wrong username or password.";
pub(crate) const REFUSED: &str = "Too many failed attempts. Wait a few minutes, then try again.";

/// The sign-in form as posted.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// The pending authorization request to resume after sign-in.
    #[serde(default)]
    request: String,
    /// Where to go after a re-authentication (an `/account` path).
    #[serde(default, rename = "return")]
    return_to: String,
}
csrf_protected!(LoginForm);
names_request!(LoginForm, LoginQuery);

/// `GET /login` query: `?request=…` when an authorization request waits,
/// `?setup=done` after the first administrator was created.
#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    request: String,
    #[serde(default)]
    setup: String,
    /// Where to go after a re-authentication (an `/account` path).
    #[serde(default, rename = "return")]
    return_to: String,
    /// The upstream whose identity waits for this account's proof (then
    /// linked), when a sign-in through it found the account's address.
    #[serde(default)]
    link: String,
}

/// `return_to` when it is a local account, console or device page path
/// (never an open redirect).
pub(crate) fn safe_return(return_to: &str) -> Option<&str> {
    let under = |root: &str| {
        return_to.strip_prefix(root).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
    };
    let ok = (under("/account") || under("/admin") || under(VERIFICATION_PATH))
        && !return_to.contains("//")
        && return_to.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(return_to)
}

/// Where a signed-in browser goes: enrollment first when that is all the
/// session may do, else the pending authorization request, the account
/// page being re-authenticated for, or home.
pub(crate) fn next_after(standing: Standing, then: &Continue) -> String {
    let request = then.request.as_str();
    if standing == Standing::NeedsEnrollment {
        return format!("/account?enroll=required&request={request}");
    }
    if !request.is_empty() {
        format!("/authorize/resume?request={request}")
    } else {
        safe_return(&then.return_to).unwrap_or("/").to_owned()
    }
}

/// Where the browser goes after a step that signed in or asks for a second
/// factor (for the pending authorization `request`, if any), with the
/// session cookie to set; `None` for the outcomes each page renders itself.
pub(crate) fn step_target(outcome: &StepOutcome, request: &str) -> Option<(String, Option<String>)> {
    match outcome {
        StepOutcome::SecondFactor { cookie } => {
            let to = if request.is_empty() {
                "/login/mfa".to_owned()
            } else {
                format!("/login/mfa?request={request}")
            };
            Some((to, cookie.clone()))
        }
        StepOutcome::SignedIn(signed) => {
            Some((next_after(signed.standing, &signed.then), Some(signed.cookie.clone())))
        }
        StepOutcome::NotStarted => Some(("/login".to_owned(), None)),
        StepOutcome::Failed | StepOutcome::Refused { .. } => None,
    }
}

/// The browser's answer to a step that signed in or asks for a second
/// factor (see [`step_target`]): a 303.
pub(crate) fn step_redirect(outcome: &StepOutcome, request: &str) -> Option<HttpResponse> {
    let (to, cookie) = step_target(outcome, request)?;
    let mut res = HttpResponse::SeeOther().insert_header((LOCATION, to)).finish();
    if let Some(raw) = cookie {
        res.add_cookie(&session::cookie(raw)).ok()?;
    }
    Some(res)
}

/// "Continue with …" for each upstream, resuming `request` or returning to
/// `return_to` once signed in.
pub(crate) fn upstream_buttons(state: &AppState, request: &str, return_to: &str) -> Vec<UpstreamButton> {
    state
        .auth
        .upstreams
        .iter()
        .map(|u| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            if !request.is_empty() {
                query.append_pair("request", request);
            }
            if !return_to.is_empty() {
                query.append_pair("return", return_to);
            }
            let query = query.finish();
            let path = format!("/login/upstream/{}", u.id());
            let href = if query.is_empty() { path } else { format!("{path}?{query}") };
            UpstreamButton { href, label: u.display_name.clone() }
        })
        .collect()
}

/// `GET /login`: the form, bound to the browser's (possibly new, anonymous) session.
pub(crate) async fn show(
    state: web::Data<AppState>,
    browser: Browser,
    query: Live<web::Query<LoginQuery>>,
) -> Result<HttpResponse, PageError> {
    let (session, q) = (&browser.session, &query.inner);
    let return_to = safe_return(&q.return_to).unwrap_or_default();
    let linking = state.auth.upstreams.get(&q.link).map(|u| {
        let name = &u.display_name;
        format!(
            "An account here already uses the email address {name} gave. Sign in to it to link {name}: \
             with its password (and second factor) or a passkey."
        )
    });
    let mut notice = (q.setup == "done").then_some("The administrator account is ready. Sign in with it.");
    if let Some(text) = &linking {
        notice = Some(text);
    }
    let mut hint = query.pending.as_ref().and_then(|p| p.request.login_hint.clone()).unwrap_or_default();
    if return_to.starts_with(VERIFICATION_PATH) {
        notice = Some("Sign in to connect your device.");
    } else if !return_to.is_empty()
        && let Some(user) = state.sessions().user_of(Some(session)).await?
    {
        notice = Some("Confirm it is you: sign in again to change your security settings.");
        hint = user.username;
    }
    let page = LoginPage {
        csrf_token: &session.csrf_token,
        request: query.request(),
        return_to,
        username: &hint,
        message: None,
        notice,
        passkeys: state.auth.passkeys.is_some(),
        // A mailed link proves the mailbox only: it never links.
        magic_link: state.mail.magic_link && state.mail.available && linking.is_none(),
        upstreams: upstream_buttons(&state, query.request(), return_to),
    };
    browser.set_cookie(render_redirecting(StatusCode::OK, &page, query.redirect_uri())?)
}

/// `POST /login`: CSRF check, then one password step of the journey.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<CsrfForm<LoginForm>>,
) -> Result<HttpResponse, PageError> {
    let (request, redirect) = (live.request().to_owned(), live.redirect_uri().cloned());
    let Live { inner: CsrfForm { session, form }, .. } = live;
    let return_to = safe_return(&form.return_to).unwrap_or_default();
    let then = Continue { request: request.clone(), return_to: return_to.to_owned() };
    let password = Password::new(form.password);
    let outcome = state.interaction().password(&session, &form.username, password, then, &info).await?;
    state.auth.metrics.signins.with_label_values(&[outcome.label()]).inc();
    if let Some(res) = step_redirect(&outcome, &request) {
        return Ok(res);
    }
    let page = |message| LoginPage {
        csrf_token: &session.csrf_token,
        request: &request,
        return_to,
        // Not echoed: the failure page must not differ between known and unknown users.
        username: "",
        message: Some(message),
        notice: None,
        passkeys: state.auth.passkeys.is_some(),
        magic_link: state.mail.magic_link && state.mail.available,
        upstreams: upstream_buttons(&state, &request, return_to),
    };
    match outcome {
        StepOutcome::Refused { until } => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = render_redirecting(status, &page(REFUSED), redirect.as_ref())?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        _ => render_redirecting(StatusCode::OK, &page(FAILED), redirect.as_ref()),
    }
}
