//! The session cookie set on a response (reading it is the
//! [`crate::extract::CurrentSession`] extractor's). What a session is and
//! how it changes lives in `portcullis_authn::sessions`.

use actix_web::cookie::{Cookie, SameSite};

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
