//! Server-side sessions: a random 256-bit id in a `__Host-` cookie, only its
//! SHA-256 hash in the store, idle and absolute timeouts from the clock.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use portcullis_authn::RequestInfo;
use portcullis_store::{Session, StoreError, User};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{AppState, Auth, csrf};

/// The session cookie. `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`.
pub const SESSION_COOKIE: &str = "__Host-portcullis_session";

/// Touch the row at most this often (each touch is a write).
const TOUCH_EVERY_SECS: i64 = 60;

/// The stored form of a cookie value.
pub(crate) fn hash_id(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// The cookie carrying `value`: `Secure; HttpOnly; SameSite=Lax; Path=/`.
pub(crate) fn cookie(value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .finish()
}

/// The browser's session, if its cookie names a live one. Expired sessions
/// are deleted on sight.
pub(crate) async fn current(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
) -> Result<Option<Session>, StoreError> {
    let Some(raw) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else { return Ok(None) };
    if raw.is_empty() {
        return Ok(None);
    }
    let Some(session) = state.store.find_session(&hash_id(&raw)).await? else { return Ok(None) };
    let now = state.clock.now();
    if is_expired(&session, auth, now) {
        state.store.delete_session(&session.id_hash).await?;
        return Ok(None);
    }
    if (now - session.last_seen_at).whole_seconds() >= TOUCH_EVERY_SECS {
        state.store.touch_session(&session.id_hash, now).await?;
    }
    Ok(Some(session))
}

fn is_expired(session: &Session, auth: &Auth, now: OffsetDateTime) -> bool {
    now - session.last_seen_at >= auth.sessions.idle_timeout
        || now - session.created_at >= auth.sessions.absolute_timeout
}

/// The signed-in, still enabled user of `session`, if any.
pub(crate) async fn user_of(state: &AppState, session: Option<&Session>) -> Result<Option<User>, StoreError> {
    let Some(user_id) = session.and_then(|s| s.user_id) else { return Ok(None) };
    Ok(state.store.find_user(user_id).await?.filter(|u| !u.disabled))
}

/// Who a new session is for.
#[derive(Debug)]
pub(crate) enum Principal<'a> {
    /// A visitor not signed in (binds the sign-in form's CSRF token).
    Anonymous,
    /// A user who just authenticated with these methods (RFC 8176 `amr`).
    User(&'a User, &'a [&'a str]),
}

fn new_session(state: &AppState, principal: Principal<'_>, request: &RequestInfo) -> (Session, String) {
    let raw = hex::encode(portcullis_core::random::bytes::<32>());
    let now = state.clock.now();
    let (user_id, auth_time, amr) = match principal {
        Principal::Anonymous => (None, None, Vec::new()),
        Principal::User(user, amr) => {
            (Some(user.id), Some(now), amr.iter().map(|m| (*m).to_owned()).collect())
        }
    };
    let acr = user_id.map(|_| portcullis_protocol::acr::of_amr(&amr).to_owned());
    let session = Session {
        id_hash: hash_id(&raw),
        sid: portcullis_core::random::hex_id(),
        csrf_token: csrf::new_token(),
        user_id,
        auth_time,
        amr,
        acr,
        ip: request.ip.clone(),
        user_agent: request.user_agent.clone(),
        created_at: now,
        last_seen_at: now,
    };
    (session, raw)
}

/// Creates a session with a NEW random id; returns it and the cookie value.
pub(crate) async fn start(
    state: &AppState,
    principal: Principal<'_>,
    request: &RequestInfo,
) -> Result<(Session, String), StoreError> {
    let (session, raw) = new_session(state, principal, request);
    state.store.create_session(&session).await?;
    Ok((session, raw))
}

/// Signs `user` in on this browser, replacing `previous` with a session
/// under a NEW id (fixation defence). Re-authenticating the same user keeps
/// the public `sid`, so the tokens of their other applications live on; a
/// different user's session is ended properly (back-channel logout included).
pub(crate) async fn sign_in(
    state: &AppState,
    previous: &Session,
    user: &User,
    amr: &[&str],
    request: &RequestInfo,
) -> Result<(Session, String), StoreError> {
    let (mut session, raw) = new_session(state, Principal::User(user, amr), request);
    if previous.user_id == Some(user.id) {
        session.sid.clone_from(&previous.sid);
    } else if previous.user_id.is_some() {
        state.store.end_session(&previous.id_hash, state.clock.now()).await?;
    }
    state.store.replace_session(&previous.id_hash, &session).await?;
    Ok((session, raw))
}

/// Sensitive changes (credentials, password) need an authentication at most
/// this old.
pub(crate) const REAUTH_WINDOW: time::Duration = time::Duration::minutes(5);

/// True when the session's user authenticated within [`REAUTH_WINDOW`].
pub(crate) fn is_recent(session: &Session, now: OffsetDateTime) -> bool {
    session.user_id.is_some() && session.auth_time.is_some_and(|t| now - t <= REAUTH_WINDOW)
}

/// The same session under a NEW id (after a privilege change); returns it
/// and the cookie value. The CSRF token and the public `sid` stay.
pub(crate) async fn rotate(state: &AppState, session: &Session) -> Result<(Session, String), StoreError> {
    let raw = hex::encode(portcullis_core::random::bytes::<32>());
    let mut rotated = session.clone();
    rotated.id_hash = hash_id(&raw);
    state.store.replace_session(&session.id_hash, &rotated).await?;
    Ok((rotated, raw))
}

/// What the protocol needs to know about a signed-in session.
pub(crate) fn authentication(session: &Session) -> Option<portcullis_protocol::Authentication> {
    Some(portcullis_protocol::Authentication {
        user_id: session.user_id?,
        sid: session.sid.clone(),
        auth_time: session.auth_time?,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
    })
}

/// The browser's session, or a new anonymous one (with the cookie to set).
pub(crate) async fn current_or_anonymous(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
    request: &RequestInfo,
) -> Result<(Session, Option<Cookie<'static>>), StoreError> {
    if let Some(session) = current(req, state, auth).await? {
        return Ok((session, None));
    }
    let (session, raw) = start(state, Principal::Anonymous, request).await?;
    Ok((session, Some(cookie(raw))))
}
