//! Every error becomes an HTTP answer here, and nowhere else. Three
//! surfaces, one type each:
//!
//! - [`PageError`]: the browser pages — a friendly error page, or a
//!   redirect (sign in again, the second factor first).
//! - [`ApiError`]: the JSON API of the passkey script — RFC 9457 problem
//!   details (`application/problem+json`), with the `error` code,
//!   `error_description` and `redirect` members the script reads.
//! - [`AdminApiError`]: the admin API (`/admin/api/v1`) — RFC 9457 problem
//!   details whose `type` names the problem (`urn:portcullis:problem:…`).
//! - [`OAuthFailure`]: the OAuth endpoints — RFC 6749 §5.2 JSON errors,
//!   with `WWW-Authenticate` where RFC 6749 §5.2 and RFC 6750 §3 ask for it.
//!
//! The library errors (`AuthnError`, `ProtocolError`, `KeyError`,
//! `StoreError`, `MailError`) convert into each with `From`. What failed on
//! our side is a [`Failure`]: it keeps the error with its source chain,
//! which is logged once, when the answer is made, and never shown.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use portcullis_authn::AuthnError;
use portcullis_keys::KeyError;
use portcullis_mailer::MailError;
use portcullis_protocol::back_channel::BackChannelError;
use portcullis_protocol::client_auth::ClientAuthError;
use portcullis_protocol::clients::RegistryError;
use portcullis_protocol::{OAuthError, ProtocolError};
use portcullis_store::StoreError;
use serde_json::{Value, json};
use std::error::Error as StdError;
use std::fmt;
use time::OffsetDateTime;

/// Where [`PageError::SignInAgain`] sends the browser.
pub(crate) const SIGN_IN_AGAIN: &str = "/login?return=/account";

/// Something that failed on our side: the error and its source chain, for
/// the log only.
pub struct Failure(Box<dyn StdError + 'static>);

impl Failure {
    /// Wraps `error`, keeping its sources.
    pub fn new(error: impl Into<Box<dyn StdError + 'static>>) -> Self {
        Self(error.into())
    }

    /// Logs the failure with every source in its chain.
    fn log(&self, what: &str) {
        tracing::error!(error = %self.0, chain = %self, "{}", what);
    }
}

/// `e` and each of its sources, `: `-separated (a source whose text the
/// message before it already shows is skipped: many errors print their
/// source in their own message too).
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut shown = out.clone();
    let mut source = e.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !shown.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        shown = text;
        source = e.source();
    }
    out
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&chain(self.0.as_ref()))
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Failure").field(&self.0).finish()
    }
}

/// Whether a failure is the database being unreachable (503 with
/// `Retry-After`: try again) rather than a fault (500): a
/// `StoreError::Unavailable` anywhere in its chain, whichever library error
/// wraps it. Every surface below decides with this one function.
fn unavailable(e: &(dyn StdError + 'static)) -> bool {
    portcullis_store::is_unavailable(e)
}

/// `Retry-After` (seconds) on every 503 for a database that is away: a
/// restart or a fail-over takes a few seconds, and the pool reconnects by
/// itself.
pub(crate) const RETRY_AFTER_UNAVAILABLE: &str = "2";

/// `res` with `Retry-After: RETRY_AFTER_UNAVAILABLE`.
fn retry_after(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_UNAVAILABLE));
    res
}

// ---------------------------------------------------------------- pages

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    /// The way on: `(path, label)`.
    back: (&'a str, &'a str),
}

/// Why a page cannot be shown; each maps to a friendly page (or a
/// redirect), never a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// The CSRF token is missing or wrong.
    #[error("forbidden: bad or missing CSRF token")]
    Csrf,
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The setup link is unknown, used or expired.
    #[error("invalid setup link")]
    SetupLink,
    /// An authorization request refused before its redirect URI was
    /// verified (so shown here, never redirected); a fixed description.
    #[error("authorization request refused: {0}")]
    Protocol(&'static str),
    /// The pending authorization request is unknown or expired.
    #[error("authorization request expired")]
    RequestExpired,
    /// The account pages need a (recent) sign-in: a 303 to sign in again,
    /// then back to `/account`.
    #[error("sign in again")]
    SignInAgain,
    /// The database cannot be reached right now (logged, not shown): a 503
    /// with `Retry-After`, never a request silently dropped.
    #[error("unavailable: {0}")]
    Unavailable(Failure),
    /// The account pages need the user's second factor first: a 303 to it.
    #[error("second factor first")]
    SecondFactorFirst,
    /// No such page (for this browser: the admin console answers it to
    /// anyone who is not an administrator).
    #[error("not found")]
    NotFound,
    /// The page is not for this browser now: a 303 to where it is (a fixed
    /// local path).
    #[error("see {0}")]
    SeeOther(&'static str),
    /// A console change refused for a reason the administrator must read
    /// (a fixed text, shown): nothing changed.
    #[error("not changed: {1}")]
    NotChanged(StatusCode, &'static str),
    /// A sign-in through an upstream provider ended without one (audited
    /// by the journey): a page saying why, with a way back to sign-in.
    #[error("upstream sign-in failed: {0}")]
    Upstream(portcullis_authn::upstream::UpstreamFailure),
    /// Something failed on our side (logged, not shown).
    #[error("internal error: {0}")]
    Internal(Failure),
}

impl PageError {
    /// An internal failure described by `message` (a state that should not be).
    pub(crate) fn internal(message: &'static str) -> Self {
        Self::Internal(Failure::new(message))
    }

    /// A failure on our side: [`PageError::Unavailable`] when it is the
    /// database being away, [`PageError::Internal`] otherwise.
    fn failure<E: StdError + 'static>(e: E) -> Self {
        if unavailable(&e) { Self::Unavailable(Failure::new(e)) } else { Self::Internal(Failure::new(e)) }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::failure(e)
    }
}

impl From<ProtocolError> for PageError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::Rejected { description, .. } => Self::Protocol(description),
            ProtocolError::Store(e) => e.into(),
            // The sign-in side's own error, mapped as that side's.
            ProtocolError::SignIn(e) => match e.downcast::<AuthnError>() {
                Ok(e) => (*e).into(),
                Err(e) => Self::failure(ProtocolError::SignIn(e)),
            },
            other => Self::failure(other),
        }
    }
}

impl From<AuthnError> for PageError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::Store(e) => e.into(),
            AuthnError::ReauthenticationRequired => Self::SignInAgain,
            AuthnError::LastSignInMethod => Self::NotChanged(
                StatusCode::CONFLICT,
                "This is the only way to sign in to your account: add a passkey or link another \
                 provider before removing it.",
            ),
            AuthnError::EnrollFirst
            | AuthnError::UnknownUpstreamIdentity
            | AuthnError::NoSecondFactor
            | AuthnError::UnknownPasskey
            | AuthnError::UnknownSession => Self::BadRequest(e.to_string()),
            other => Self::failure(other),
        }
    }
}

impl From<RegistryError> for PageError {
    fn from(e: RegistryError) -> Self {
        let not_changed = |status, message| Self::NotChanged(status, message);
        match e {
            RegistryError::ReauthenticationRequired => Self::SeeOther(crate::extract::REAUTH_ADMIN),
            RegistryError::UnknownClient => Self::NotFound,
            RegistryError::DeclaredInConfig => not_changed(
                StatusCode::CONFLICT,
                "This client is declared in the configuration file, which is its source of truth: \
                 change it there.",
            ),
            RegistryError::Taken => {
                not_changed(StatusCode::CONFLICT, "A client with this id exists already.")
            }
            RegistryError::NoSecret => not_changed(
                StatusCode::CONFLICT,
                "This client has no secret to rotate (it is public or uses private_key_jwt).",
            ),
            RegistryError::ConfirmationMismatch => not_changed(
                StatusCode::BAD_REQUEST,
                "The client id typed does not match the client's: nothing was deleted.",
            ),
            RegistryError::OverlapTooLong => not_changed(
                StatusCode::BAD_REQUEST,
                "The old secret may overlap with the new one for at most 30 days (2592000 seconds).",
            ),
            RegistryError::Invalid(e) => Self::BadRequest(e.to_string()),
            RegistryError::Store(e) => e.into(),
            other => Self::failure(other),
        }
    }
}

impl From<KeyError> for PageError {
    fn from(e: KeyError) -> Self {
        Self::failure(e)
    }
}

impl From<MailError> for PageError {
    fn from(e: MailError) -> Self {
        Self::failure(e)
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(Failure::new(e))
    }
}

impl From<actix_web::error::HttpError> for PageError {
    fn from(e: actix_web::error::HttpError) -> Self {
        Self::Internal(Failure::new(e))
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Csrf | Self::SetupLink => StatusCode::FORBIDDEN,
            Self::BadRequest(_) | Self::Protocol(_) | Self::RequestExpired => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotChanged(status, _) => *status,
            Self::SignInAgain | Self::SecondFactorFirst | Self::SeeOther(_) => StatusCode::SEE_OTHER,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(failure) => upstream_status(*failure),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let upstream_message;
        let mut back = ("/", "Back to the start page");
        let (title, message) = match self {
            Self::SignInAgain => return see_other(SIGN_IN_AGAIN),
            Self::SecondFactorFirst => return see_other("/login/mfa"),
            Self::SeeOther(location) => return see_other(location),
            Self::Csrf => (
                "Request refused",
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ),
            Self::BadRequest(_) => ("Bad request", "The request could not be understood."),
            Self::NotFound => ("Not found", "There is no such page."),
            Self::NotChanged(_, message) => ("Not changed", *message),
            Self::Protocol(description) => ("Sign-in request refused", *description),
            Self::RequestExpired => (
                "Sign-in request expired",
                "This sign-in request is unknown or has expired. Go back to the application and start again.",
            ),
            Self::SetupLink => {
                ("Setup link not valid", "This setup link is unknown, already used or expired.")
            }
            Self::Unavailable(failure) => {
                failure.log("page unavailable: the database cannot be reached");
                ("Temporarily unavailable", "Please try again in a moment.")
            }
            Self::Upstream(failure) => {
                upstream_message = failure.to_string();
                back = ("/login", "Back to sign-in");
                ("Sign-in did not work", upstream_message.as_str())
            }
            Self::Internal(failure) => {
                failure.log("page failed");
                ("Something went wrong", "Please try again in a moment.")
            }
        };
        let html = ErrorPage { title, message, back }.render().unwrap_or_else(|_| title.to_owned());
        let res = HttpResponse::build(self.status_code()).content_type(ContentType::html()).body(html);
        if matches!(self, Self::Unavailable(_)) { retry_after(res) } else { res }
    }
}

/// The status of an upstream sign-in's failure: the provider's fault 502,
/// a refusal 403, a stale or foreign response 400.
fn upstream_status(failure: portcullis_authn::upstream::UpstreamFailure) -> StatusCode {
    use portcullis_authn::upstream::UpstreamFailure as F;
    match failure {
        F::UnknownProvider => StatusCode::NOT_FOUND,
        F::Unavailable | F::Rejected => StatusCode::BAD_GATEWAY,
        F::Refused(_) | F::Disabled | F::LinkedElsewhere | F::Reauthenticate => StatusCode::FORBIDDEN,
        F::NotStarted | F::Cancelled => StatusCode::BAD_REQUEST,
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

// ---------------------------------------------------------------- JSON API

/// Why a call of the passkey script failed: RFC 9457 problem details. The
/// `error` member is the variant's stable code, the one the script and
/// logs see.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// `csrf`: the `X-CSRF-Token` header is missing or not the session's.
    #[error("csrf")]
    Csrf,
    /// `invalid_request`: the body could not be understood.
    #[error("invalid_request")]
    InvalidRequest,
    /// `passkeys_unavailable`: the issuer's host is not a domain name.
    #[error("passkeys_unavailable")]
    PasskeysUnavailable,
    /// `expired`: the ceremony's kept state is gone (expired, or never started).
    #[error("expired")]
    Expired,
    /// `passkey_failed`: the assertion was not accepted at sign-in.
    #[error("passkey_failed")]
    PasskeyRefused,
    /// `passkey_failed`: the registration response was not accepted.
    #[error("passkey_failed")]
    RegistrationRefused,
    /// `duplicate`: the passkey is registered already.
    #[error("duplicate")]
    Duplicate,
    /// `locked`: too many failed attempts (nothing was checked).
    #[error("locked")]
    Locked,
    /// `login_required`: the browser is not signed in.
    #[error("login_required")]
    LoginRequired,
    /// `second_factor_required`: the user's second factor is due first.
    #[error("second_factor_required")]
    SecondFactorRequired,
    /// `reauthentication_required`: the change needs a recent, strong sign-in.
    #[error("reauthentication_required")]
    ReauthenticationRequired,
    /// `temporarily_unavailable`: the database cannot be reached (logged);
    /// 503 with `Retry-After`.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(Failure),
    /// `server_error`: something failed on our side (logged, not shown).
    #[error("server_error: {0}")]
    Internal(Failure),
}

impl ApiError {
    /// A failure on our side: [`ApiError::Unavailable`] when it is the
    /// database being away, [`ApiError::Internal`] otherwise.
    fn failure<E: StdError + 'static>(e: E) -> Self {
        if unavailable(&e) { Self::Unavailable(Failure::new(e)) } else { Self::Internal(Failure::new(e)) }
    }

    /// The stable code, its status, the text for the person, and where the
    /// script should send the browser (if anywhere).
    fn parts(&self) -> (&'static str, StatusCode, &'static str, Option<&'static str>) {
        match self {
            Self::Csrf => {
                ("csrf", StatusCode::FORBIDDEN, "This page has expired. Reload it and try again.", None)
            }
            Self::InvalidRequest => {
                ("invalid_request", StatusCode::BAD_REQUEST, "The request could not be understood.", None)
            }
            Self::PasskeysUnavailable => (
                "passkeys_unavailable",
                StatusCode::NOT_FOUND,
                "Passkeys are not available on this server.",
                None,
            ),
            Self::Expired => {
                ("expired", StatusCode::BAD_REQUEST, "This passkey request expired. Try again.", None)
            }
            Self::PasskeyRefused => (
                "passkey_failed",
                StatusCode::BAD_REQUEST,
                "This passkey was not accepted. Use another passkey or your password.",
                None,
            ),
            Self::RegistrationRefused => {
                ("passkey_failed", StatusCode::BAD_REQUEST, "The passkey could not be registered.", None)
            }
            Self::Duplicate => {
                ("duplicate", StatusCode::CONFLICT, "This passkey is already registered.", None)
            }
            Self::Locked => (
                "locked",
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed attempts. Wait a few minutes, then try again.",
                None,
            ),
            Self::LoginRequired => ("login_required", StatusCode::UNAUTHORIZED, "Sign in first.", None),
            Self::SecondFactorRequired => (
                "second_factor_required",
                StatusCode::FORBIDDEN,
                "Use your second factor first.",
                Some("/login/mfa"),
            ),
            Self::ReauthenticationRequired => (
                "reauthentication_required",
                StatusCode::FORBIDDEN,
                "Confirm it is you first.",
                Some(SIGN_IN_AGAIN),
            ),
            Self::Unavailable(_) => (
                "temporarily_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable. Try again in a moment.",
                None,
            ),
            Self::Internal(_) => {
                ("server_error", StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong. Try again.", None)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::failure(e)
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        Self::failure(e)
    }
}

impl From<AuthnError> for ApiError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::CeremonyExpired => Self::Expired,
            AuthnError::PasskeysUnavailable => Self::PasskeysUnavailable,
            AuthnError::ReauthenticationRequired => Self::ReauthenticationRequired,
            AuthnError::Taken => Self::Duplicate,
            AuthnError::Passkey(reason) => {
                tracing::info!(error = %reason, "passkey registration refused");
                Self::RegistrationRefused
            }
            other => Self::failure(other),
        }
    }
}

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Csrf => Self::Csrf,
            PageError::BadRequest(_) => Self::InvalidRequest,
            PageError::SignInAgain => Self::LoginRequired,
            PageError::SecondFactorFirst => Self::SecondFactorRequired,
            PageError::Unavailable(failure) => Self::Unavailable(failure),
            PageError::Internal(failure) => Self::Internal(failure),
            other => Self::Internal(Failure::new(other.to_string())),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().1
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(failure) | Self::Unavailable(failure) = self {
            failure.log("passkey endpoint failed");
        }
        let (code, status, detail, redirect) = self.parts();
        let mut problem = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "error": code,
            "error_description": detail,
        });
        if let (Some(to), Value::Object(members)) = (redirect, &mut problem) {
            members.insert("redirect".into(), Value::from(to));
        }
        let res = HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")))
            .body(problem.to_string());
        if matches!(self, Self::Unavailable(_)) { retry_after(res) } else { res }
    }
}

// ---------------------------------------------------------------- OAuth

/// Why an OAuth endpoint refused a request, as RFC 6749 §5.2 JSON (never
/// cached).
#[derive(Debug)]
pub(crate) enum OAuthFailure {
    /// A refusal decided here, with a fixed description.
    Refused(OAuthError, &'static str),
    /// A protocol operation failed: refused, or (logged) `server_error`.
    Protocol(ProtocolError),
    /// Client authentication failed: 401 `invalid_client` (with
    /// `WWW-Authenticate: Basic` when the client tried Basic), or 429 with
    /// `Retry-After` while the client backs off (RFC 6585).
    ClientAuth(ClientAuthError, OffsetDateTime),
    /// A bearer token refused at UserInfo: the RFC 6750 §3 challenge;
    /// `None` when the request had no credentials at all (the bare
    /// challenge, no error code).
    Bearer(Option<(OAuthError, &'static str)>),
    /// A DPoP-bound token or a DPoP proof refused at UserInfo: the RFC 9449
    /// §7.1 `DPoP` challenge (401 for proof and nonce errors).
    Dpop((OAuthError, &'static str)),
    /// Another failure, answered with a fresh `DPoP-Nonce` header (RFC 9449
    /// §8: the client retries `use_dpop_nonce` with it).
    WithNonce(Box<OAuthFailure>, String),
}

impl From<ProtocolError> for OAuthFailure {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl OAuthFailure {
    /// A failed back-channel call (`/token`, `/introspect`, `/revoke`); `now`
    /// dates a client's back-off for `Retry-After`.
    pub(crate) fn back_channel(e: BackChannelError, now: OffsetDateTime) -> Self {
        match e {
            BackChannelError::ClientAuth(e) => Self::ClientAuth(e, now),
            BackChannelError::Refused(error, description) => Self::Refused(error, description),
            BackChannelError::Protocol(e) => Self::Protocol(e),
        }
    }

    /// This failure, answered with `nonce` in `DPoP-Nonce`.
    pub(crate) fn with_dpop_nonce(self, nonce: String) -> Self {
        Self::WithNonce(Box::new(self), nonce)
    }
}

impl fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(error, description)
            | Self::Bearer(Some((error, description)))
            | Self::Dpop((error, description)) => write!(f, "{}: {description}", error.code()),
            Self::WithNonce(inner, _) => inner.fmt(f),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::ClientAuth(e, _) => write!(f, "{}", e.error),
            Self::Bearer(None) => f.write_str("no bearer token"),
        }
    }
}

/// An RFC 6749 §5.2 error body with its status, never cached;
/// `temporarily_unavailable` (503) says when to try again (`Retry-After`).
fn oauth_json(error: OAuthError, description: &str) -> HttpResponse {
    let res = HttpResponse::build(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": error.code(), "error_description": description }));
    if error == OAuthError::TemporarilyUnavailable { retry_after(res) } else { res }
}

/// The answer to a failed protocol operation; internal failures are logged
/// with their chain and answered `server_error` without detail.
fn protocol_json(e: &ProtocolError) -> HttpResponse {
    if e.is_unavailable() {
        tracing::warn!(error = %e, chain = %chain(e), "protocol operation failed: the database cannot be reached");
    } else if !matches!(e, ProtocolError::Rejected { .. }) {
        tracing::error!(error = %e, chain = %chain(e), "protocol operation failed");
    }
    oauth_json(e.oauth(), e.description())
}

impl ResponseError for OAuthFailure {
    fn status_code(&self) -> StatusCode {
        let error = match self {
            Self::Refused(error, _) | Self::Bearer(Some((error, _))) => *error,
            Self::Protocol(e) => e.oauth(),
            Self::ClientAuth(e, _) if e.refused_until.is_some() => return StatusCode::TOO_MANY_REQUESTS,
            Self::ClientAuth(e, _) => e.error.oauth(),
            Self::Bearer(None) => return StatusCode::UNAUTHORIZED,
            Self::Dpop((error, _)) => return dpop_status(*error),
            Self::WithNonce(inner, _) => return inner.status_code(),
        };
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Refused(error, description) => oauth_json(*error, description),
            Self::Protocol(e) => protocol_json(e),
            Self::ClientAuth(e, now) => client_auth_json(e, *now),
            Self::Bearer(refusal) => bearer_challenge(*refusal),
            Self::Dpop((error, description)) => dpop_challenge(*error, description),
            Self::WithNonce(inner, nonce) => {
                let mut res = inner.error_response();
                if let Ok(v) = HeaderValue::from_str(nonce) {
                    res.headers_mut().insert(header::HeaderName::from_static("dpop-nonce"), v);
                }
                res
            }
        }
    }
}

/// The status of a refusal under the `DPoP` scheme: proof and nonce
/// errors are 401 at a resource (RFC 9449 §7.1, §9).
fn dpop_status(error: OAuthError) -> StatusCode {
    match error {
        OAuthError::InvalidDpopProof | OAuthError::UseDpopNonce => StatusCode::UNAUTHORIZED,
        other => StatusCode::from_u16(other.status()).unwrap_or(StatusCode::BAD_REQUEST),
    }
}

/// A refusal with the `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1),
/// naming the algorithms proofs may use.
fn dpop_challenge(error: OAuthError, description: &str) -> HttpResponse {
    let algs: Vec<&str> = portcullis_keys::dpop::DPOP_ALGORITHMS.iter().map(|a| a.as_str()).collect();
    let value = format!(
        "DPoP algs=\"{}\", error=\"{}\", error_description=\"{}\"",
        algs.join(" "),
        error.code(),
        description
    );
    let mut res = oauth_json(error, description);
    *res.status_mut() = dpop_status(error);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// A client-authentication failure (RFC 6749 §5.2).
fn client_auth_json(e: &ClientAuthError, now: OffsetDateTime) -> HttpResponse {
    if let Some(until) = e.refused_until {
        // Backing off: nothing was checked. 429 (RFC 6585) with the wait.
        let wait = (until - now).whole_seconds().max(1);
        return HttpResponse::TooManyRequests()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::RETRY_AFTER, wait.to_string()))
            .json(json!({ "error": e.error.oauth().code(), "error_description": e.error.description() }));
    }
    let mut res = protocol_json(&e.error);
    if e.error.oauth() == OAuthError::InvalidClient && e.used_basic {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis\", charset=\"UTF-8\""),
        );
    }
    res
}

/// A 401/403/400 with the `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
fn bearer_challenge(error: Option<(OAuthError, &str)>) -> HttpResponse {
    let Some((error, description)) = error else {
        // No credentials at all: the bare challenge (RFC 6750 §3.1).
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"portcullis\""))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    };
    let value = format!(
        "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
        error.code(),
        description
    );
    let mut res = oauth_json(error, description);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_failure_keeps_its_source_chain() {
        let failure = Failure::new(Outer(std::io::Error::other("inner")));
        assert_eq!(failure.to_string(), "outer: inner");
        let store = StoreError::unavailable(std::io::Error::other("refused"));
        assert!(matches!(PageError::from(store), PageError::Unavailable(_)));
        let store = StoreError::Backend(Box::new(std::io::Error::other("no such table")));
        assert!(matches!(PageError::from(store), PageError::Internal(_)), "a fault is not an outage");
        let failure = Failure::new(StoreError::Backend(Box::new(std::io::Error::other("refused"))));
        assert_eq!(failure.to_string(), "database error: refused", "a repeated source is shown once");
    }

    /// The one mapping: a database that is away is a 503 with
    /// `Retry-After` on every surface, whichever library error carries it.
    #[test]
    fn a_database_that_is_away_is_a_503_with_retry_after_everywhere() {
        let away = || StoreError::unavailable(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let retry = |res: &HttpResponse| {
            res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let responses = [
            PageError::from(away()).error_response(),
            PageError::from(AuthnError::from(away())).error_response(),
            PageError::from(ProtocolError::SignIn(Box::new(AuthnError::from(away())))).error_response(),
            ApiError::from(AuthnError::from(away())).error_response(),
            AdminApiError::from(away()).error_response(),
            AdminApiError::from(AuthnError::from(away())).error_response(),
            OAuthFailure::Protocol(ProtocolError::Store(away())).error_response(),
            OAuthFailure::Protocol(ProtocolError::Keys(KeyError::from(away()))).error_response(),
        ];
        for res in &responses {
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(retry(res).as_deref(), Some(RETRY_AFTER_UNAVAILABLE));
        }
        // A fault stays a 500, without Retry-After.
        let fault = OAuthFailure::Protocol(ProtocolError::Store(StoreError::Corrupt("x".into())));
        let res = fault.error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry(&res), None);
    }

    #[test]
    fn problem_details_carry_the_scripts_members() {
        let res = ApiError::ReauthenticationRequired.error_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let res = ApiError::Csrf.error_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}

/// Why an admin API call failed: RFC 9457 problem details
/// (`application/problem+json`) with `type` `urn:portcullis:problem:<code>`,
/// `title`, `status`, `detail` and the `code` member.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminApiError {
    /// 400 `invalid_request`: the request is malformed (a field, a cursor).
    #[error("invalid_request: {0}")]
    Invalid(String),
    /// 401 `invalid_token`: no usable credentials (a bearer token that is
    /// not valid, or neither a token nor an administrator's session).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`: a valid token without the `admin` scope, or
    /// of a client no longer allowed the admin API.
    #[error("insufficient_scope")]
    InsufficientScope,
    /// 403 `csrf`: a session call that changes something without the
    /// session's `X-CSRF-Token` header.
    #[error("csrf")]
    Csrf,
    /// 403 `reauthentication_required`: the administrator's session is not
    /// recent enough for this (15 minutes to read, 5 to change).
    #[error("reauthentication_required")]
    Reauthenticate,
    /// 403 `second_factor_required`: the session has not used a second factor.
    #[error("second_factor_required")]
    SecondFactor,
    /// 404 `not_found`: no such resource (or, for anyone but an
    /// administrator, no admin API).
    #[error("not_found")]
    NotFound,
    /// 409 `conflict`: the change conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412 `precondition_failed`: `If-Match` names an outdated version.
    #[error("precondition_failed")]
    Stale,
    /// 422 `unprocessable`: well-formed but refused (a rule of the change).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 428 `precondition_required`: an update without `If-Match`.
    #[error("precondition_required")]
    IfMatchRequired,
    /// 429 `too_many_requests`.
    #[error("too_many_requests")]
    TooMany,
    /// 503 `unavailable`: the database cannot be reached (logged).
    #[error("unavailable")]
    Unavailable(Failure),
    /// 500 `server_error`: something failed on our side (logged, not shown).
    #[error("server_error")]
    Internal(Failure),
}

impl AdminApiError {
    /// A failure on our side: [`AdminApiError::Unavailable`] when it is the
    /// database being away, [`AdminApiError::Internal`] otherwise.
    fn failure<E: StdError + 'static>(e: E) -> Self {
        if unavailable(&e) { Self::Unavailable(Failure::new(e)) } else { Self::Internal(Failure::new(e)) }
    }

    /// The code, the status and the detail shown.
    fn parts(&self) -> (&'static str, StatusCode, String) {
        let s = |text: &str| text.to_owned();
        match self {
            Self::Invalid(why) => ("invalid_request", StatusCode::BAD_REQUEST, why.clone()),
            Self::InvalidToken(why) => ("invalid_token", StatusCode::UNAUTHORIZED, s(why)),
            Self::InsufficientScope => (
                "insufficient_scope",
                StatusCode::FORBIDDEN,
                s("the token does not carry the admin scope of an admin_api client"),
            ),
            Self::Csrf => ("csrf", StatusCode::FORBIDDEN, s("send the session's CSRF token in X-CSRF-Token")),
            Self::Reauthenticate => (
                "reauthentication_required",
                StatusCode::FORBIDDEN,
                s("sign in again: reading needs an authentication within 15 minutes, changing within 5"),
            ),
            Self::SecondFactor => {
                ("second_factor_required", StatusCode::FORBIDDEN, s("sign in with a second factor first"))
            }
            Self::NotFound => ("not_found", StatusCode::NOT_FOUND, s("no such resource")),
            Self::Conflict(why) => ("conflict", StatusCode::CONFLICT, why.clone()),
            Self::Stale => (
                "precondition_failed",
                StatusCode::PRECONDITION_FAILED,
                s("the resource changed since this version was read: nothing was written; read it again"),
            ),
            Self::Unprocessable(why) => ("unprocessable", StatusCode::UNPROCESSABLE_ENTITY, why.clone()),
            Self::IfMatchRequired => (
                "precondition_required",
                StatusCode::PRECONDITION_REQUIRED,
                s("send If-Match with the ETag of the version this change is based on"),
            ),
            Self::TooMany => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS, s("too many requests")),
            Self::Unavailable(_) => {
                ("unavailable", StatusCode::SERVICE_UNAVAILABLE, s("the database cannot be reached"))
            }
            Self::Internal(_) => {
                ("server_error", StatusCode::INTERNAL_SERVER_ERROR, s("something failed on our side"))
            }
        }
    }
}

impl ResponseError for AdminApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().1
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(failure) | Self::Unavailable(failure) = self {
            failure.log("admin API call failed");
        }
        let (code, status, detail) = self.parts();
        let problem = json!({
            "type": format!("urn:portcullis:problem:{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        });
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        match self {
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE));
            }
            Self::InvalidToken(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
            }
            Self::InsufficientScope => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer error="insufficient_scope", scope="admin""#,
                ));
            }
            _ => {}
        }
        response.body(problem.to_string())
    }
}

impl From<StoreError> for AdminApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            e => Self::failure(e),
        }
    }
}

impl From<AuthnError> for AdminApiError {
    fn from(e: AuthnError) -> Self {
        match e {
            AuthnError::Store(e) => e.into(),
            AuthnError::ReauthenticationRequired => Self::Reauthenticate,
            AuthnError::UnknownUser
            | AuthnError::UnknownGroup
            | AuthnError::UnknownClient
            | AuthnError::UnknownSession => Self::NotFound,
            AuthnError::Taken => Self::Conflict("the name or email address is taken".into()),
            AuthnError::Stale => Self::Stale,
            AuthnError::NotOnYourself => {
                Self::Unprocessable("an administrator cannot do this to their own account".into())
            }
            AuthnError::InvalidIdentity(why) => Self::Unprocessable(why),
            AuthnError::Policy(e) => Self::Unprocessable(e.to_string()),
            AuthnError::TooManyRequests | AuthnError::Locked { .. } => Self::TooMany,
            other => Self::failure(other),
        }
    }
}

impl From<RegistryError> for AdminApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::ReauthenticationRequired => Self::Reauthenticate,
            RegistryError::UnknownClient => Self::NotFound,
            RegistryError::DeclaredInConfig => Self::Conflict(RegistryError::DECLARED_IN_CONFIG.into()),
            RegistryError::Taken => Self::Conflict("a client with this id exists already".into()),
            RegistryError::NoSecret => {
                Self::Conflict("this client has no secret (public, or private_key_jwt)".into())
            }
            e @ (RegistryError::OverlapTooLong
            | RegistryError::ConfirmationMismatch
            | RegistryError::OwnClient) => Self::Unprocessable(e.to_string()),
            RegistryError::Invalid(e) => Self::Unprocessable(e.to_string()),
            RegistryError::Store(e) => e.into(),
            other => Self::failure(other),
        }
    }
}

impl From<KeyError> for AdminApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::UnknownKey(_) => Self::NotFound,
            KeyError::Refused(why) => Self::Conflict(why),
            other => Self::failure(other),
        }
    }
}

impl From<ProtocolError> for AdminApiError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::Rejected { error: OAuthError::InsufficientScope, .. } => Self::InsufficientScope,
            ProtocolError::Rejected { description, .. } => Self::InvalidToken(description),
            ProtocolError::Store(e) => e.into(),
            other => Self::failure(other),
        }
    }
}

impl From<PageError> for AdminApiError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Unavailable(failure) => Self::Unavailable(failure),
            PageError::Internal(failure) => Self::Internal(failure),
            other => Self::Internal(Failure::new(other.to_string())),
        }
    }
}
