//! Extractors for what handlers would otherwise re-derive from the request:
//! who is asking ([`Requester`]), the browser's session ([`CurrentSession`]),
//! the account pages' signed-in user ([`SignedIn`]), and forms whose CSRF
//! token matched the browser's session ([`CsrfForm`], [`AccountForm`]). A
//! refusal is a [`PageError`], answered by the shared error mapping.

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};
use portcullis_authn::{AccountAccess, RequestInfo};
use portcullis_store::{Session, User};
use serde::de::DeserializeOwned;

use crate::errors::{ApiError, PageError};
use crate::session::{SESSION_COOKIE, cookie};
use crate::{AppState, client, csrf};

/// The application state of `req`.
pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, PageError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| PageError::internal("the application state is not registered"))
}

/// Who is asking: the client address (see [`client::client_ip`]) and user
/// agent, as the audit log keeps them.
#[derive(Debug, Clone)]
pub(crate) struct Requester(pub(crate) RequestInfo);

impl FromRequest for Requester {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let info = app_state(req).map(|state| Self(client::request_info(req, &state.auth.trusted_proxies)));
        ready(info.map_err(Into::into))
    }
}

/// The browser's session, if its cookie names a live one.
#[derive(Debug)]
pub(crate) struct CurrentSession(pub(crate) Option<Session>);

/// Reads the session cookie of `req` (see [`portcullis_authn::Sessions::current`]).
async fn current(req: &HttpRequest) -> Result<Option<Session>, PageError> {
    let Some(raw) = req.cookie(SESSION_COOKIE) else { return Ok(None) };
    let state = app_state(req)?;
    Ok(state.sessions().current(raw.value()).await?)
}

impl CurrentSession {
    /// This session, or a new anonymous one (with the cookie to set).
    pub(crate) async fn or_anonymous(
        self,
        state: &AppState,
        info: &RequestInfo,
    ) -> Result<(Session, Option<Cookie<'static>>), PageError> {
        if let Some(session) = self.0 {
            return Ok((session, None));
        }
        let (session, raw) = state.sessions().start_anonymous(info).await?;
        Ok((session, Some(cookie(raw))))
    }
}

impl FromRequest for CurrentSession {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Self(current(&req).await?)) })
    }
}

/// A signed-in browser on the account pages: its session and user, and
/// whether the session may only enroll a second factor. Otherwise the
/// second factor first, or sign in (again).
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) session: Session,
    pub(crate) user: User,
    /// The policy wants a second factor the user has none of: enrollment only.
    pub(crate) enroll_only: bool,
}

/// The signed-in user of `session` for the account pages.
async fn signed_in(state: &AppState, session: Option<Session>) -> Result<SignedIn, PageError> {
    let access = state.interaction().account_access(session.as_ref()).await?;
    match (access, session) {
        (AccountAccess::Full(user), Some(session)) => Ok(SignedIn { session, user, enroll_only: false }),
        (AccountAccess::EnrollOnly(user), Some(session)) => Ok(SignedIn { session, user, enroll_only: true }),
        (AccountAccess::SecondFactorFirst, _) => Err(PageError::SecondFactorFirst),
        _ => Err(PageError::SignInAgain),
    }
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            Ok(signed_in(&state, current(&req).await?).await?)
        })
    }
}

/// A form that carries the session's CSRF token (`csrf_token`).
pub(crate) trait CsrfProtected {
    /// The token as posted.
    fn csrf_token(&self) -> &str;
}

/// Implements [`CsrfProtected`] for forms with a `csrf_token` field.
macro_rules! csrf_protected {
    ($($form:ty),+ $(,)?) => {$(
        impl $crate::extract::CsrfProtected for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    )+};
}
pub(crate) use csrf_protected;

/// A posted form whose CSRF token is the browser's live session's: the
/// handler gets the form only then; otherwise the 403 page, before anything
/// is read or written.
#[derive(Debug)]
pub(crate) struct CsrfForm<F> {
    /// The session the token belongs to.
    pub(crate) session: Session,
    /// The form.
    pub(crate) form: F,
}

impl<F: DeserializeOwned + CsrfProtected + 'static> FromRequest for CsrfForm<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?.into_inner();
            let session = current(&req).await?;
            let session = session.filter(|s| csrf::matches(Some(s), Some(form.csrf_token())));
            let session = session.ok_or(PageError::Csrf)?;
            Ok(Self { session, form })
        })
    }
}

/// An account-page form: the browser is signed in (else the second factor
/// first, or sign in again), then its CSRF token matched (else 403).
#[derive(Debug)]
pub(crate) struct AccountForm<F> {
    /// Who posted it.
    pub(crate) account: SignedIn,
    /// The form.
    pub(crate) form: F,
}

impl<F: DeserializeOwned + CsrfProtected + 'static> FromRequest for AccountForm<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?.into_inner();
            let state = app_state(&req)?;
            let account = signed_in(&state, current(&req).await?).await?;
            if !csrf::matches(Some(&account.session), Some(form.csrf_token())) {
                return Err(PageError::Csrf.into());
            }
            Ok(Self { account, form })
        })
    }
}

/// A call of the passkey script whose `X-CSRF-Token` header is the
/// browser's live session's token: the session; otherwise
/// [`ApiError::Csrf`] (problem details, 403).
#[derive(Debug)]
pub(crate) struct CsrfHeader(pub(crate) Session);

impl FromRequest for CsrfHeader {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let session = current(&req).await?;
            let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
            session.filter(|s| csrf::matches(Some(s), token)).map(Self).ok_or(ApiError::Csrf)
        })
    }
}
