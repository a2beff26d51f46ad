//! `/account`: the signed-in user's security settings: passkeys, the
//! authenticator app, recovery codes, active sessions and the password.
//!
//! Every change is a sensitive one: it needs an authentication within the
//! last five minutes (else the user confirms it is them first), then the
//! session id changes, the user's other sessions end where a credential was
//! removed or replaced, and an audit event is written.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use portcullis_authn::accounts::Accounts;
use portcullis_authn::audit::record;
use portcullis_authn::{Factors, Password, RequestInfo, TotpState, recovery_codes};
use portcullis_store::{AuditOutcome, Session, StoreError, User};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::format_description;

use super::oidc::authorize::{live_request_id, see_other};
use crate::client::request_info;
use crate::pages::{
    AccountPage, EnrollmentView, PageError, PasskeyView, RecoveryCodesPage, SessionView, render,
};
use crate::session;
use crate::{AppState, Auth, Mail, csrf};
use portcullis_authn::notify::Notification;

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default()
}

/// After a sensitive change: a NEW session id (returned as the cookie
/// value) and, when `end_others`, every other session of the user ended
/// (with their session-bound tokens and back-channel logout).
pub(crate) async fn after_sensitive_change(
    state: &AppState,
    session: &Session,
    user: &User,
    end_others: bool,
) -> Result<String, StoreError> {
    if end_others {
        let now = state.clock.now();
        for other in state.store.list_user_sessions(user.id).await? {
            if other.id_hash != session.id_hash {
                state.store.end_session(&other.id_hash, now).await?;
            }
        }
    }
    let (_, raw) = session::rotate(state, session).await?;
    Ok(raw)
}

/// Mails the account's address about a change that is already made; a
/// failure to queue it is logged (the change stands).
pub(crate) async fn notify(state: &AppState, mail: &Mail, user: &User, notification: Notification) {
    let now = state.clock.now();
    match portcullis_authn::notify::security_event(
        state.store.as_ref(),
        &mail.context,
        now,
        user,
        &notification,
    )
    .await
    {
        Ok(()) => mail.wake(),
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
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    sid: String,
    #[serde(default)]
    request: String,
}

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

/// The signed-in session and user; otherwise sign in first.
async fn signed_in(req: &HttpRequest, state: &AppState, auth: &Auth) -> Result<(Session, User), PageError> {
    let session = session::current(req, state, auth).await?;
    match (session::user_of(state, session.as_ref()).await?, session) {
        (Some(user), Some(session)) => Ok((session, user)),
        _ => Err(PageError::SignInAgain),
    }
}

/// For a change: signed in, the form's CSRF token, and a recent authentication.
async fn for_change(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
    form: &AccountForm,
) -> Result<(Session, User), PageError> {
    let (session, user) = signed_in(req, state, auth).await?;
    if !csrf::matches(Some(&session), Some(&form.csrf_token)) {
        return Err(PageError::Csrf);
    }
    if !session::is_recent(&session, state.clock.now()) {
        let info = request_info(req, &auth.trusted_proxies);
        let detail = json!({ "path": req.path() });
        audit(state, &info, &user, "account.reauth_required", AuditOutcome::Failure, detail).await;
        return Err(PageError::SignInAgain);
    }
    Ok((session, user))
}

/// Renders the account page.
#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    auth: &Auth,
    session: &Session,
    user: &User,
    request: &str,
    enroll: bool,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let store = state.store.as_ref();
    let factors = Factors::of(store, user).await?;
    let totp = auth.totp(store);
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
    let page = AccountPage {
        csrf_token: &session.csrf_token,
        username: &user.username,
        request,
        enroll_required: must_enroll || (enroll && !factors.any()),
        can_continue: !request.is_empty() && !must_enroll,
        notice,
        error,
        passkeys_enabled: auth.passkeys.is_some(),
        passkeys,
        totp_enabled: totp_state == TotpState::Enabled,
        enrollment,
        has_factor: factors.any(),
        recovery_left: factors.recovery_codes,
        sessions,
        recent: session::is_recent(session, state.clock.now()),
        min_length: auth.policy.min_length,
    };
    render(status, &page)
}

/// `GET /account`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = signed_in(&req, &state, &auth).await?;
    let request = live_request_id(&state, &query.request).await;
    let enroll = query.enroll == "required";
    page(&state, &auth, &session, &user, &request, enroll, notice(&query.done), None, StatusCode::OK).await
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
    auth: web::Data<Auth>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    let request = live_request_id(&state, &form.request).await;
    match auth.totp(state.store.as_ref()).begin(user.id, &user.username, state.clock.now()).await {
        Ok(_) => {}
        Err(portcullis_authn::AuthnError::Taken) => {
            let error = Some("An authenticator app is already enabled. Remove it first.");
            return page(&state, &auth, &session, &user, &request, false, None, error, StatusCode::CONFLICT)
                .await;
        }
        Err(e) => return Err(e.into()),
    }
    page(&state, &auth, &session, &user, &request, false, None, None, StatusCode::OK).await
}

/// `POST /account/totp/confirm`: the first valid code enables the app.
/// At the first second factor, the recovery codes are shown.
pub(crate) async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    let request = live_request_id(&state, &form.request).await;
    let now = state.clock.now();
    if !auth.totp(state.store.as_ref()).check(user.id, &form.code, true, now).await? {
        let error = Some("That code is not valid. Check the time on your device and enter the current code.");
        return page(&state, &auth, &session, &user, &request, false, None, error, StatusCode::OK).await;
    }
    let info = request_info(&req, &auth.trusted_proxies);
    audit(&state, &info, &user, "totp.enabled", AuditOutcome::Success, json!({})).await;
    notify(&state, &mail, &user, Notification::TotpEnabled).await;
    let raw = after_sensitive_change(&state, &session, &user, false).await?;
    if state.store.count_recovery_codes(user.id).await? == 0 {
        return recovery_codes_page(&state, &session, &user, raw, &info, &request, true).await;
    }
    Ok(done(raw, "totp-enabled", &request))
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
    let page = RecoveryCodesPage { codes: &codes, request, first, csrf_token: &session.csrf_token };
    let mut res = render(StatusCode::OK, &page)?;
    res.add_cookie(&session::cookie(raw)).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(res)
}

/// `POST /account/totp/delete`: removes the app.
pub(crate) async fn totp_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    let info = request_info(&req, &auth.trusted_proxies);
    if state.store.delete_totp(user.id).await? {
        audit(&state, &info, &user, "totp.removed", AuditOutcome::Success, json!({})).await;
        notify(&state, &mail, &user, Notification::TotpDisabled).await;
        drop_orphan_codes(&state, &user).await?;
    }
    let raw = after_sensitive_change(&state, &session, &user, true).await?;
    Ok(done(raw, "totp-removed", ""))
}

/// With no second factor left, recovery codes back up nothing: delete them.
async fn drop_orphan_codes(state: &AppState, user: &User) -> Result<(), PageError> {
    if !Factors::of(state.store.as_ref(), user).await?.any() {
        state.store.replace_recovery_codes(user.id, &[], state.clock.now()).await?;
    }
    Ok(())
}

/// `POST /account/passkeys/{id}/delete`.
pub(crate) async fn passkey_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    path: web::Path<String>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    let Ok(id) = path.parse::<uuid::Uuid>() else {
        return Err(PageError::BadRequest("unknown passkey".into()));
    };
    let name = state.store.list_passkeys(user.id).await?.into_iter().find(|p| p.id == id).map(|p| p.name);
    if !state.store.delete_passkey(user.id, id).await? {
        return Err(PageError::BadRequest("unknown passkey".into()));
    }
    let info = request_info(&req, &auth.trusted_proxies);
    audit(&state, &info, &user, "passkey.removed", AuditOutcome::Success, json!({ "passkey_id": id })).await;
    notify(&state, &mail, &user, Notification::PasskeyRemoved { name: name.unwrap_or_default() }).await;
    drop_orphan_codes(&state, &user).await?;
    let raw = after_sensitive_change(&state, &session, &user, true).await?;
    Ok(done(raw, "passkey-removed", ""))
}

/// `POST /account/recovery-codes`: replaces every code by new ones.
pub(crate) async fn recovery_regenerate(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    if !Factors::of(state.store.as_ref(), &user).await?.any() {
        return Err(PageError::BadRequest("recovery codes need a second factor".into()));
    }
    let info = request_info(&req, &auth.trusted_proxies);
    let raw = after_sensitive_change(&state, &session, &user, true).await?;
    let request = live_request_id(&state, &form.request).await;
    notify(&state, &mail, &user, Notification::RecoveryCodesRegenerated).await;
    recovery_codes_page(&state, &session, &user, raw, &info, &request, false).await
}

/// `POST /account/recovery-codes/initial`: after the first passkey, the
/// first set of codes (only when the user has a factor and no codes).
pub(crate) async fn recovery_initial(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    let factors = Factors::of(state.store.as_ref(), &user).await?;
    let request = live_request_id(&state, &form.request).await;
    if !factors.any() || factors.recovery_codes > 0 {
        let location =
            if request.is_empty() { "/account".to_owned() } else { format!("/account?request={request}") };
        return Ok(see_other(&location));
    }
    let info = request_info(&req, &auth.trusted_proxies);
    let raw = after_sensitive_change(&state, &session, &user, false).await?;
    recovery_codes_page(&state, &session, &user, raw, &info, &request, true).await
}

/// `POST /account/password`: a new password (policy-checked).
pub(crate) async fn password_change(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    mail: web::Data<Mail>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = for_change(&req, &state, &auth, &form).await?;
    if form.password != form.password_confirm {
        let error = Some("The two passwords differ.");
        return page(&state, &auth, &session, &user, "", false, None, error, StatusCode::OK).await;
    }
    let info = request_info(&req, &auth.trusted_proxies);
    let accounts = Accounts {
        store: state.store.as_ref(),
        hasher: &auth.hasher,
        policy: &auth.policy,
        clock: state.clock.as_ref(),
    };
    let password = Password::new(form.password.clone());
    match accounts.set_password_notifying(&user.username, password, &mail.context, &info).await {
        Ok(_) => {}
        Err(portcullis_authn::AuthnError::Policy(e)) => {
            let message = e.to_string();
            return page(&state, &auth, &session, &user, "", false, None, Some(&message), StatusCode::OK)
                .await;
        }
        Err(e) => return Err(e.into()),
    }
    let raw = after_sensitive_change(&state, &session, &user, true).await?;
    Ok(done(raw, "password-changed", ""))
}

/// `POST /account/sessions/end`: signs out one of the user's other sessions.
pub(crate) async fn session_end(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let (session, user) = signed_in(&req, &state, &auth).await?;
    if !csrf::matches(Some(&session), Some(&form.csrf_token)) {
        return Err(PageError::Csrf);
    }
    let target = state.store.find_session_by_sid(&form.sid).await?;
    let Some(target) = target.filter(|t| t.user_id == Some(user.id) && t.id_hash != session.id_hash) else {
        return Err(PageError::BadRequest("unknown session".into()));
    };
    let now = state.clock.now();
    state.store.end_session(&target.id_hash, now).await?;
    let info = request_info(&req, &auth.trusted_proxies);
    audit(&state, &info, &user, "session.ended", AuditOutcome::Success, json!({ "sid": target.sid })).await;
    Ok(see_other("/account?done=session-ended"))
}
