//! `/account`: the signed-in user's security settings: passkeys, the
//! authenticator app, recovery codes, active sessions and the password.
//!
//! Who may do what is `portcullis_authn`'s: a session whose user's second
//! factor is due goes to it first; a session that must enroll a factor sees
//! only the enrollment; every change needs a recent, strong authentication
//! (`journey::may_change`), then the session id changes, the user's other
//! sessions and grants end where a credential was removed or replaced (one
//! store transaction with the notice), and an audit event is written.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use portcullis_authn::audit::record;
use portcullis_authn::journey::may_change;
use portcullis_authn::{
    AuthnError, Change, Factors, Password, RequestInfo, SignInOutcome, TotpState, confirm_password,
    recovery_codes,
};
use portcullis_store::{AuditOutcome, FactorRef, Session, User};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::format_description;

use super::oidc::authorize::{live_request_id, see_other};
use crate::errors::PageError;
use crate::extract::{AccountForm, Requester, SignedIn, csrf_protected};
use crate::pages::{AccountPage, EnrollmentView, PasskeyView, RecoveryCodesPage, SessionView, render};
use crate::{AppState, session};
use portcullis_authn::notify::Notification;

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default()
}

/// Mails the account's address about a change that is already made; a
/// failure to queue it is logged (the change stands).
pub(crate) async fn notify(state: &AppState, user: &User, notification: Notification) {
    let now = state.clock.now();
    match portcullis_authn::notify::security_event(
        state.store.as_ref(),
        &state.mail.context,
        now,
        user,
        &notification,
    )
    .await
    {
        Ok(()) => state.mail.wake(),
        Err(e) => tracing::warn!(user_id = %user.id, error = %e, "cannot queue a security notification"),
    }
}

/// Audits an action on `user`'s account, at the current time.
async fn audit(
    state: &AppState,
    info: &RequestInfo,
    user: &User,
    kind: &str,
    outcome: AuditOutcome,
    detail: serde_json::Value,
) {
    record(state.store.as_ref(), state.clock.now(), kind, outcome, Some(user.id), info, detail).await;
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
    request: String,
}
csrf_protected!(Fields);

/// The fixed notices a change may report (never reflected text).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "passkey-added" => "Passkey added.",
        "passkey-removed" => "Passkey removed. Your other sessions were signed out.",
        "totp-enabled" => "Authenticator app enabled.",
        "totp-removed" => "Authenticator app removed. Your other sessions were signed out.",
        "password-changed" => "Password changed. Your other sessions were signed out.",
        "session-ended" => "The session was signed out.",
        _ => return None,
    })
}

/// What a change needs of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// Enrolling a second factor: also in a session that must enroll.
    Enrollment,
    /// Anything else: a fully signed-in session.
    FullOnly,
}

/// For a change (the form's CSRF token already matched): a session allowed
/// this change, and a recent, strong authentication (else the user confirms
/// it is them first).
async fn for_change(
    req: &HttpRequest,
    state: &AppState,
    info: &RequestInfo,
    account: &SignedIn,
    allowed: Allowed,
) -> Result<(), PageError> {
    if account.enroll_only && allowed == Allowed::FullOnly {
        return Err(PageError::BadRequest("set up a second factor first".into()));
    }
    if !may_change(&account.session, Change::Security, state.clock.now()) {
        reauth_required(req, state, info, &account.user).await;
        return Err(PageError::SignInAgain);
    }
    Ok(())
}

async fn reauth_required(req: &HttpRequest, state: &AppState, info: &RequestInfo, user: &User) {
    let detail = json!({ "path": req.path() });
    audit(state, info, user, "account.reauth_required", AuditOutcome::Failure, detail).await;
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
async fn page(
    state: &AppState,
    session: &Session,
    user: &User,
    view: View<'_>,
) -> Result<HttpResponse, PageError> {
    let store = state.store.as_ref();
    let auth = &state.auth;
    let factors = Factors::of(store, user).await?;
    let totp = state.totp();
    let totp_state = totp.state(user.id).await?;
    let enrollment = if totp_state == TotpState::Pending {
        totp.pending(user.id, &user.username).await?.map(|e| EnrollmentView {
            qr_data_uri: format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes())
            ),
            secret: e.secret,
        })
    } else {
        None
    };
    let passkeys = store
        .list_passkeys(user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id.to_string(),
            name: p.name,
            created: when(p.created_at),
            last_used: p.last_used_at.map(when).unwrap_or_else(|| "never".to_owned()),
        })
        .collect();
    let sessions = store
        .list_user_sessions(user.id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id_hash == session.id_hash,
            sid: s.sid,
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
            ip: s.ip.unwrap_or_default(),
            user_agent: s.user_agent.unwrap_or_default(),
        })
        .collect();
    let must_enroll = auth.mfa.must_enroll(user, &factors);
    let now = state.clock.now();
    let page = AccountPage {
        csrf_token: &session.csrf_token,
        username: &user.username,
        request: view.request,
        enroll_required: must_enroll || (view.enroll && !factors.any()),
        enroll_only: must_enroll,
        can_continue: !view.request.is_empty() && !must_enroll,
        notice: view.notice,
        error: view.error,
        passkeys_enabled: auth.passkeys.is_some(),
        passkeys,
        totp_enabled: totp_state == TotpState::Enabled,
        enrollment,
        has_factor: factors.any(),
        recovery_left: factors.recovery_codes,
        sessions,
        recent: may_change(session, Change::Security, now),
        password_confirmed: may_change(session, Change::Password { current_password_given: false }, now),
        min_length: auth.policy.min_length,
    };
    render(view.status, &page)
}

/// `GET /account`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    SignedIn { session, user, .. }: SignedIn,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    let request = live_request_id(&state, &query.request).await?;
    let view =
        View { enroll: query.enroll == "required", notice: notice(&query.done), ..View::new(&request) };
    page(&state, &session, &user, view).await
}

fn done(raw: String, what: &str, request: &str) -> HttpResponse {
    let location = if request.is_empty() {
        format!("/account?done={what}")
    } else {
        format!("/account?done={what}&request={request}")
    };
    HttpResponse::SeeOther().insert_header((LOCATION, location)).cookie(session::cookie(raw)).finish()
}

/// `POST /account/totp`: starts enrolling an authenticator app.
pub(crate) async fn totp_begin(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    for_change(&req, &state, &info, &account, Allowed::Enrollment).await?;
    let SignedIn { session, user, .. } = account;
    let request = live_request_id(&state, &form.request).await?;
    match state.totp().begin(user.id, &user.username, state.clock.now()).await {
        Ok(_) => {}
        Err(AuthnError::Taken) => {
            let error = "An authenticator app is already enabled. Remove it first.";
            return page(&state, &session, &user, View::error(&request, error, StatusCode::CONFLICT)).await;
        }
        Err(e) => return Err(e.into()),
    }
    page(&state, &session, &user, View::new(&request)).await
}

/// `POST /account/totp/confirm`: the first valid code enables the app (and,
/// in a session that had to enroll, completes the sign-in). At the first
/// second factor, the recovery codes are shown.
pub(crate) async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    for_change(&req, &state, &info, &account, Allowed::Enrollment).await?;
    let SignedIn { session, user, .. } = account;
    let request = live_request_id(&state, &form.request).await?;
    let confirmed =
        state.interaction().confirm_totp(&session, &user, &form.code, &state.mail.context, &info).await?;
    let Some((rotated, raw, codes)) = confirmed else {
        let error = "That code is not valid. Check the time on your device and enter the current code.";
        return page(&state, &session, &user, View::error(&request, error, StatusCode::OK)).await;
    };
    state.mail.wake();
    match codes {
        Some(codes) => show_codes(&rotated, raw, &codes, &request, true),
        None => Ok(done(raw, "totp-enabled", &request)),
    }
}

/// The page showing recovery codes (once), with the session's new cookie.
fn show_codes(
    session: &Session,
    raw: String,
    codes: &[String],
    request: &str,
    first: bool,
) -> Result<HttpResponse, PageError> {
    let page = RecoveryCodesPage { codes, request, first, csrf_token: &session.csrf_token };
    let mut res = render(StatusCode::OK, &page)?;
    res.add_cookie(&session::cookie(raw))?;
    Ok(res)
}

/// Generates and shows a new set of recovery codes (once).
async fn recovery_codes_page(
    state: &AppState,
    session: &Session,
    user: &User,
    raw: String,
    info: &RequestInfo,
    request: &str,
    first: bool,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let codes = recovery_codes::regenerate(state.store.as_ref(), user.id, now).await?;
    let detail = json!({ "count": codes.len(), "first": first });
    audit(state, info, user, "recovery_codes.generated", AuditOutcome::Success, detail).await;
    show_codes(session, raw, &codes, request, first)
}

/// Removes a factor (and ends everything else of the user's), then rotates
/// this session's id.
async fn remove_factor(
    req: &HttpRequest,
    state: &AppState,
    info: &RequestInfo,
    account: &SignedIn,
    factor: FactorRef,
    what: &str,
) -> Result<HttpResponse, PageError> {
    for_change(req, state, info, account, Allowed::FullOnly).await?;
    let SignedIn { session, user, .. } = account;
    let removed =
        state.accounts().remove_factor(user, factor, &session.id_hash, &state.mail.context, info).await?;
    if removed.is_none() && matches!(factor, FactorRef::Passkey(_)) {
        return Err(PageError::BadRequest("unknown passkey".into()));
    }
    state.mail.wake();
    let (_, raw) = state.sessions().rotate(session, None).await?;
    Ok(done(raw, what, ""))
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
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    for_change(&req, &state, &info, &account, Allowed::FullOnly).await?;
    let SignedIn { session, user, .. } = account;
    if !Factors::of(state.store.as_ref(), &user).await?.any() {
        return Err(PageError::BadRequest("recovery codes need a second factor".into()));
    }
    let (rotated, raw) = state.sessions().rotate(&session, None).await?;
    let request = live_request_id(&state, &form.request).await?;
    notify(&state, &user, Notification::RecoveryCodesRegenerated).await;
    recovery_codes_page(&state, &rotated, &user, raw, &info, &request, false).await
}

/// `POST /account/recovery-codes/initial`: after the first passkey, the
/// first set of codes (only when the user has a factor and no codes).
pub(crate) async fn recovery_initial(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    for_change(&req, &state, &info, &account, Allowed::Enrollment).await?;
    let SignedIn { session, user, .. } = account;
    let factors = Factors::of(state.store.as_ref(), &user).await?;
    let request = live_request_id(&state, &form.request).await?;
    if !factors.any() || factors.recovery_codes > 0 {
        let location =
            if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
        return Ok(see_other(&location));
    }
    let (rotated, raw) = state.sessions().rotate(&session, None).await?;
    recovery_codes_page(&state, &rotated, &user, raw, &info, &request, true).await
}

/// `POST /account/password`: a new password (policy-checked). It needs the
/// current password, unless the session authenticated within minutes with
/// a second factor or a passkey; the current password is checked on the
/// same throttled counters as a sign-in.
pub(crate) async fn password_change(
    req: HttpRequest,
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    let SignedIn { session, user, enroll_only } = account;
    if enroll_only {
        return Err(PageError::BadRequest("set up a second factor first".into()));
    }
    let retry = |error: &'static str, status| page(&state, &session, &user, View::error("", error, status));
    let now = state.clock.now();
    if !may_change(&session, Change::Password { current_password_given: false }, now) {
        if form.current_password.is_empty() {
            reauth_required(&req, &state, &info, &user).await;
            return retry("Enter your current password.", StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let typed = Password::new(form.current_password.clone());
        match confirm_password(state.sign_in(), &user, typed, &info).await? {
            SignInOutcome::Success(_) => {}
            SignInOutcome::Failed => {
                return retry("Your current password is wrong.", StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            SignInOutcome::Refused { until } => {
                let mut res = retry(super::login::REFUSED, StatusCode::TOO_MANY_REQUESTS).await?;
                crate::pages::retry_after(&mut res, until, now);
                return Ok(res);
            }
        }
    }
    if form.password != form.password_confirm {
        return retry("The two passwords differ.", StatusCode::OK).await;
    }
    let password = Password::new(form.password.clone());
    match state
        .accounts()
        .change_password(&user, password, Some(&session.id_hash), &state.mail.context, &info)
        .await
    {
        Ok(_) => state.mail.wake(),
        Err(AuthnError::Policy(e)) => {
            let message = e.to_string();
            return page(&state, &session, &user, View::error("", &message, StatusCode::OK)).await;
        }
        Err(e) => return Err(e.into()),
    }
    let (_, raw) = state.sessions().rotate(&session, None).await?;
    Ok(done(raw, "password-changed", ""))
}

/// `POST /account/sessions/end`: signs out one of the user's other sessions.
pub(crate) async fn session_end(
    state: web::Data<AppState>,
    Requester(info): Requester,
    AccountForm { account, form }: AccountForm<Fields>,
) -> Result<HttpResponse, PageError> {
    let SignedIn { session, user, .. } = account;
    let target = state.store.find_session_by_sid(&form.sid).await?;
    let Some(target) = target.filter(|t| t.user_id == Some(user.id) && t.id_hash != session.id_hash) else {
        return Err(PageError::BadRequest("unknown session".into()));
    };
    let now = state.clock.now();
    state.store.end_session(&target.id_hash, now).await?;
    audit(&state, &info, &user, "session.ended", AuditOutcome::Success, json!({ "sid": target.sid })).await;
    Ok(see_other("/account?done=session-ended"))
}
