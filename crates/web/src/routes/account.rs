//! `/account`: the signed-in user's security settings: passkeys, the
//! authenticator app, recovery codes, active sessions and the password.
//!
//! Every change is one call into `portcullis_authn::AccountSecurity`,
//! which decides who may do what (a session whose user's second factor is
//! due goes to it first; a session that must enroll a factor sees only the
//! enrollment; every change needs a recent, strong authentication), makes
//! the change in one store transaction with its notice, audits it and
//! gives the session a new id. This renders where it leads.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use portcullis_authn::account::{RecoveryCodes, TotpConfirmed};
use portcullis_authn::upstream::{UpstreamFailure, UpstreamStart};
use portcullis_authn::{AccountOverview, AccountSession, AuthnError, Password, Rotated, TotpState};
use portcullis_store::FactorRef;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

use super::oidc::authorize::see_other;
use crate::errors::PageError;
use crate::extract::{AccountForm, AccountView, Live, Requester, SignedIn, csrf_protected, names_request};
use crate::pages::{
    AccountPage, AppView, EnrollmentView, LinkedView, PasskeyView, RecoveryCodesPage, SessionView, render,
    retry_after,
};
use crate::{AppState, session};

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default()
}

/// `GET /account` query.
#[derive(Deserialize)]
pub(crate) struct AccountQuery {
    #[serde(default)]
    enroll: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    done: String,
}

/// Every account form (each uses some fields).
#[derive(Deserialize)]
pub(crate) struct Fields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    sid: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    upstream: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    subject: String,
}
csrf_protected!(Fields);
names_request!(AccountQuery, Fields);

/// The fixed notices a change may report (never reflected text).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "passkey-added" => "Passkey added.",
        "passkey-removed" => "Passkey removed. Your other sessions were signed out.",
        "totp-enabled" => "Authenticator app enabled.",
        "totp-removed" => "Authenticator app removed. Your other sessions were signed out.",
        "password-changed" => "Password changed. Your other sessions were signed out.",
        "session-ended" => "The session was signed out.",
        "app-disconnected" => "The application was disconnected: its access ended.",
        "upstream-linked" => "The account at the provider is linked: it can sign you in here.",
        "upstream-unlinked" => "The account at the provider is unlinked.",
        _ => return None,
    })
}

/// What the page shows besides the factors.
struct View<'a> {
    request: &'a str,
    enroll: bool,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    status: StatusCode,
}

impl<'a> View<'a> {
    fn new(request: &'a str) -> Self {
        Self { request, enroll: false, notice: None, error: None, status: StatusCode::OK }
    }

    fn error(request: &'a str, error: &'a str, status: StatusCode) -> Self {
        Self { error: Some(error), status, ..Self::new(request) }
    }
}

/// Renders the account page.
fn page(
    state: &AppState,
    account: &AccountSession,
    overview: AccountOverview,
    view: View<'_>,
) -> Result<HttpResponse, PageError> {
    let enrollment = overview.enrollment.map(|e| EnrollmentView {
        qr_data_uri: format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes())
        ),
        secret: e.secret,
    });
    let passkeys = overview
        .passkeys
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id.to_string(),
            name: p.name,
            created: when(p.created_at),
            last_used: p.last_used_at.map(when).unwrap_or_else(|| "never".to_owned()),
        })
        .collect();
    let upstreams = &state.auth.upstreams;
    let sessions = overview
        .sessions
        .into_iter()
        .map(|s| SessionView {
            via: s.upstream_id.as_deref().map(|id| upstreams.display_name(id)).unwrap_or_default(),
            current: s.id_hash == account.session.id_hash,
            sid: s.sid,
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
            ip: s.ip.unwrap_or_default(),
            user_agent: s.user_agent.unwrap_or_default(),
        })
        .collect();
    let apps = overview
        .apps
        .into_iter()
        .map(|a| AppView {
            client_id: a.client_id,
            name: a.name,
            scopes: a.scopes.join(" "),
            since: when(a.since),
        })
        .collect();
    let linkable = upstreams
        .iter()
        .filter(|u| !overview.upstreams.iter().any(|l| l.upstream_id == u.id()))
        .map(|u| (u.id().to_owned(), u.display_name.clone()))
        .collect();
    let linked = overview
        .upstreams
        .into_iter()
        .map(|l| LinkedView {
            provider: upstreams.display_name(&l.upstream_id),
            email: l.email.unwrap_or_default(),
            issuer: l.issuer,
            subject: l.subject,
            linked: when(l.linked_at),
            last_used: l.last_sign_in_at.map(when).unwrap_or_else(|| "never".to_owned()),
        })
        .collect();
    let factors = overview.factors;
    let page = AccountPage {
        csrf_token: &account.session.csrf_token,
        username: &account.user.username,
        request: view.request,
        enroll_required: overview.must_enroll || (view.enroll && !factors.any()),
        enroll_only: overview.must_enroll,
        can_continue: !view.request.is_empty() && !overview.must_enroll,
        notice: view.notice,
        error: view.error,
        passkeys_enabled: state.auth.passkeys.is_some(),
        passkeys,
        totp_enabled: overview.totp == TotpState::Enabled,
        enrollment,
        has_factor: factors.any(),
        recovery_left: factors.recovery_codes,
        sessions,
        apps,
        linked,
        linkable,
        recent: overview.recent,
        password_confirmed: overview.password_confirmed,
        min_length: state.auth.policy.min_length,
    };
    let mut res = render(view.status, &page)?;
    // The link forms' redirect chain ends at the upstreams' authorization
    // endpoints: `form-action` must allow their origins.
    let issuers: Vec<url::Url> =
        upstreams.iter().filter_map(|u| url::Url::parse(&u.config.issuer).ok()).collect();
    if let Some(csp) = crate::headers::csp_allowing_redirects_to(&issuers) {
        res.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(res)
}

/// `GET /account`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    SignedIn(account): SignedIn,
    query: Live<web::Query<AccountQuery>>,
) -> Result<HttpResponse, PageError> {
    let overview = state.account().overview(&account).await?;
    let view = View {
        enroll: query.inner.enroll == "required",
        notice: notice(&query.inner.done),
        ..View::new(query.request())
    };
    page(&state, &account, overview, view)
}

/// The account page after a change, with the session's new cookie.
fn done(cookie: String, what: &str, request: &str) -> HttpResponse {
    let location = if request.is_empty() {
        format!("/account?done={what}")
    } else {
        format!("/account?done={what}&request={request}")
    };
    HttpResponse::SeeOther().insert_header((LOCATION, location)).cookie(session::cookie(cookie)).finish()
}

/// `POST /account/totp`: starts enrolling an authenticator app.
pub(crate) async fn totp_begin(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<AccountView<Fields>>,
) -> Result<HttpResponse, PageError> {
    let (request, AccountView { account, overview, .. }) = (live.request(), &live.inner);
    let overview = overview.clone();
    match state.account().begin_totp(account, req.path(), &info).await {
        Ok(enrollment) => page(&state, account, overview.with_enrollment(enrollment), View::new(request)),
        Err(AuthnError::Taken) => {
            let error = "An authenticator app is already enabled. Remove it first.";
            page(&state, account, overview, View::error(request, error, StatusCode::CONFLICT))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/totp/confirm`: the first valid code enables the app (and,
/// in a session that had to enroll, completes the sign-in). At the first
/// second factor, the recovery codes are shown.
pub(crate) async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<AccountView<Fields>>,
) -> Result<HttpResponse, PageError> {
    let (request, AccountView { account, overview, form }) = (live.request(), &live.inner);
    match state.account().confirm_totp(account, &form.code, req.path(), &info).await {
        Ok(TotpConfirmed { rotated, recovery_codes: Some(codes) }) => {
            state.mail.wake();
            show_codes(rotated, &codes, request, true)
        }
        Ok(TotpConfirmed { rotated, recovery_codes: None }) => {
            state.mail.wake();
            Ok(done(rotated.cookie, "totp-enabled", request))
        }
        Err(AuthnError::InvalidCode) => {
            let error = "That code is not valid. Check the time on your device and enter the current code.";
            page(&state, account, overview.clone(), View::error(request, error, StatusCode::OK))
        }
        Err(e) => Err(e.into()),
    }
}

/// The page showing recovery codes (once), with the session's new cookie.
fn show_codes(
    rotated: Rotated,
    codes: &[String],
    request: &str,
    first: bool,
) -> Result<HttpResponse, PageError> {
    let page = RecoveryCodesPage { codes, request, first, csrf_token: &rotated.session.csrf_token };
    let mut res = render(StatusCode::OK, &page)?;
    res.add_cookie(&session::cookie(rotated.cookie))?;
    Ok(res)
}

/// Removes a factor (which ends everything else of the user's).
async fn remove_factor(
    req: &HttpRequest,
    state: &AppState,
    info: &portcullis_authn::RequestInfo,
    account: &AccountSession,
    factor: FactorRef,
    what: &str,
) -> Result<HttpResponse, PageError> {
    let rotated = state.account().remove_factor(account, factor, req.path(), info).await?;
    state.mail.wake();
    Ok(done(rotated.cookie, what, ""))
}

/// `POST /account/totp/delete`: removes the app.
pub(crate) async fn totp_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, .. }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    remove_factor(&req, &state, &info, &account, FactorRef::Totp, "totp-removed").await
}

/// `POST /account/passkeys/{id}/delete`.
pub(crate) async fn passkey_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    AccountForm { account, .. }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    let Ok(id) = path.parse::<uuid::Uuid>() else {
        return Err(PageError::BadRequest("unknown passkey".into()));
    };
    remove_factor(&req, &state, &info, &account, FactorRef::Passkey(id), "passkey-removed").await
}

/// `POST /account/recovery-codes`: replaces every code by new ones.
pub(crate) async fn recovery_regenerate(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<AccountForm<Fields>>,
) -> Result<HttpResponse, PageError> {
    let account = &live.inner.account;
    let RecoveryCodes { rotated, codes } =
        state.account().regenerate_recovery_codes(account, req.path(), &info).await?;
    state.mail.wake();
    show_codes(rotated, &codes, live.request(), false)
}

/// `POST /account/recovery-codes/initial`: after the first passkey, the
/// first set of codes (only when the user has a factor and no codes).
pub(crate) async fn recovery_initial(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    live: Live<AccountForm<Fields>>,
) -> Result<HttpResponse, PageError> {
    let (request, account) = (live.request(), &live.inner.account);
    match state.account().initial_recovery_codes(account, req.path(), &info).await? {
        Some(RecoveryCodes { rotated, codes }) => show_codes(rotated, &codes, request, true),
        None if request.is_empty() => Ok(see_other("/account")),
        None => Ok(see_other(&format!("/account?request={request}"))),
    }
}

/// `POST /account/password`: a new password (policy-checked). It needs the
/// current password, unless the session authenticated within minutes with
/// a second factor or a passkey; the current password is checked on the
/// same throttled counters as a sign-in.
pub(crate) async fn password_change(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountView { account, overview, form }: AccountView<Fields>,
) -> Result<HttpResponse, PageError> {
    let (current, new, confirm) = (
        Password::new(form.current_password),
        Password::new(form.password),
        Password::new(form.password_confirm),
    );
    let changed = state.account().change_password(&account, current, new, confirm, req.path(), &info).await;
    let retry = |error: &str, status| page(&state, &account, overview, View::error("", error, status));
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match changed {
        Ok(rotated) => {
            state.mail.wake();
            Ok(done(rotated.cookie, "password-changed", ""))
        }
        Err(AuthnError::CurrentPasswordRequired) => retry("Enter your current password.", unprocessable),
        Err(AuthnError::WrongPassword) => retry("Your current password is wrong.", unprocessable),
        Err(AuthnError::Locked { until }) => {
            let mut res = retry(super::login::REFUSED, StatusCode::TOO_MANY_REQUESTS)?;
            retry_after(&mut res, until, state.clock.now());
            Ok(res)
        }
        Err(AuthnError::PasswordsDiffer) => retry("The two passwords differ.", StatusCode::OK),
        Err(AuthnError::Policy(e)) => retry(&e.to_string(), StatusCode::OK),
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/sessions/end`: signs out one of the user's other sessions.
pub(crate) async fn session_end(
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    state.account().end_other_session(&account, &form.sid, &info).await?;
    Ok(see_other("/account?done=session-ended"))
}

/// `POST /account/apps/disconnect`: ends a client's access (consent,
/// tokens) and tells it (back-channel logout).
pub(crate) async fn app_disconnect(
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    match state.account().disconnect_app(&account, &form.client_id, &info).await {
        Ok(_) => Ok(see_other("/account?done=app-disconnected")),
        Err(AuthnError::UnknownClient) => Err(PageError::BadRequest("unknown application".into())),
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/upstreams/link`: links an account at an upstream provider
/// (the browser goes there; the callback links it).
pub(crate) async fn upstream_link(
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    let then = portcullis_authn::Continue { request: String::new(), return_to: "/account".into() };
    match state.interaction().begin_upstream(&account.session, &form.upstream, true, then, &info).await? {
        UpstreamStart::Redirect(to) => Ok(see_other(&to)),
        UpstreamStart::Failed(UpstreamFailure::Reauthenticate) => Err(PageError::SignInAgain),
        UpstreamStart::Failed(failure) => Err(PageError::Upstream(failure)),
    }
}

/// `POST /account/upstreams/unlink`: unlinks an upstream identity.
pub(crate) async fn upstream_unlink(
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    let path = "/account/upstreams/unlink";
    let rotated = state.account().unlink_upstream(&account, &form.issuer, &form.subject, path, &info).await?;
    Ok(done(rotated.cookie, "upstream-unlinked", ""))
}
