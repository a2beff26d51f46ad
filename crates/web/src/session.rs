//! The session cookie: reading it from a request and setting it on a
//! response. What a session is and how it changes lives in
//! `portcullis_authn::sessions`.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use portcullis_authn::{RequestInfo, Sessions};
use portcullis_store::{Session, StoreError, User};

use crate::{AppState, Auth};

/// The session cookie. `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`.
pub const SESSION_COOKIE: &str = "__Host-portcullis_session";

/// The cookie carrying `value`: `Secure; HttpOnly; SameSite=Lax; Path=/`.
pub(crate) fn cookie(value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .finish()
}

/// The app's sessions.
pub(crate) fn sessions<'a>(state: &'a AppState, auth: &'a Auth) -> Sessions<'a> {
    Sessions { store: state.store.as_ref(), clock: state.clock.as_ref(), policy: &auth.sessions }
}

/// The browser's session, if its cookie names a live one.
pub(crate) async fn current(
    req: &HttpRequest,
    state: &AppState,
    auth: &Auth,
) -> Result<Option<Session>, StoreError> {
    let Some(raw) = req.cookie(SESSION_COOKIE) else { return Ok(None) };
    sessions(state, auth).current(raw.value()).await
}

/// The signed-in, still enabled user of `session`, if any.
pub(crate) async fn user_of(
    state: &AppState,
    auth: &Auth,
    session: Option<&Session>,
) -> Result<Option<User>, StoreError> {
    sessions(state, auth).user_of(session).await
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
    let (session, raw) = sessions(state, auth).start_anonymous(request).await?;
    Ok((session, Some(cookie(raw))))
}
