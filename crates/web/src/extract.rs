//! Extractors for what handlers would otherwise re-derive from the request:
//! who is asking ([`Requester`]), the browser's session ([`CurrentSession`]),
//! the account pages' signed-in user ([`SignedIn`]), forms whose CSRF
//! token matched the browser's session ([`CsrfForm`], [`AccountForm`],
//! [`AccountView`]), the pending authorization request a page carries
//! ([`Live`]) and the browser's session or a new one ([`Browser`]). A
//! refusal is a [`PageError`] (or an [`ApiError`]), answered by the shared
//! error mapping.
//!
//! Extractors only read (and start an anonymous session for a sign-in
//! form): whatever a request changes or decides is the handler's one call
//! into `authn`, `protocol` or `keys`.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};
use portcullis_authn::admin::{Admin, AdminAccess, By};
use portcullis_authn::interaction::SecondFactorPrompt;
use portcullis_authn::journey::AdminStanding;
use portcullis_authn::{AccountAccess, AccountOverview, AccountSession, RequestInfo};
use portcullis_protocol::ProtocolError;
use portcullis_protocol::authorize::{self, Pending};
use portcullis_store::{Session, User};
use serde::de::DeserializeOwned;
use std::rc::Rc;

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
pub(crate) async fn current(req: &HttpRequest) -> Result<Option<Session>, PageError> {
    let Some(raw) = req.cookie(SESSION_COOKIE) else { return Ok(None) };
    let state = app_state(req)?;
    Ok(state.sessions().current(raw.value()).await?)
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
pub(crate) struct SignedIn(pub(crate) AccountSession);

/// Who may use the account pages with `session`: its user, fully or to
/// enroll a second factor; otherwise why not.
async fn account_session(
    state: &AppState,
    session: Option<Session>,
) -> Result<Result<AccountSession, AccountAccess>, PageError> {
    let access = state.interaction().account_access(session.as_ref()).await?;
    Ok(match (access, session) {
        (AccountAccess::Full(user), Some(session)) => {
            Ok(AccountSession { session, user, enroll_only: false })
        }
        (AccountAccess::EnrollOnly(user), Some(session)) => {
            Ok(AccountSession { session, user, enroll_only: true })
        }
        (AccountAccess::SecondFactorFirst, _) => Err(AccountAccess::SecondFactorFirst),
        _ => Err(AccountAccess::SignIn),
    })
}

/// The signed-in user of `session` for the account pages.
async fn signed_in(state: &AppState, session: Option<Session>) -> Result<AccountSession, PageError> {
    match account_session(state, session).await? {
        Ok(account) => Ok(account),
        Err(AccountAccess::SecondFactorFirst) => Err(PageError::SecondFactorFirst),
        Err(_) => Err(PageError::SignInAgain),
    }
}

impl FromRequest for SignedIn {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            Ok(Self(signed_in(&state, current(&req).await?).await?))
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
    pub(crate) account: AccountSession,
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

/// An [`AccountForm`] with what the account page shows before the change:
/// a refused change re-renders the page from it (nothing changed).
#[derive(Debug)]
pub(crate) struct AccountView<F> {
    /// Who posted it.
    pub(crate) account: AccountSession,
    /// What the page shows them.
    pub(crate) overview: AccountOverview,
    /// The form.
    pub(crate) form: F,
}

impl<F: DeserializeOwned + CsrfProtected + 'static> FromRequest for AccountView<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = AccountForm::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let AccountForm { account, form } = form.await?;
            let state = app_state(&req)?;
            let overview = state.account().overview(&account).await.map_err(PageError::from)?;
            Ok(Self { account, overview, form })
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

/// A call of the passkey script on the account page: its `X-CSRF-Token`
/// matched (else [`ApiError::Csrf`]) and the browser is signed in, fully or
/// to enroll a second factor (else `login_required` or
/// `second_factor_required`).
#[derive(Debug)]
pub(crate) struct PasskeyAccount(pub(crate) AccountSession);

impl FromRequest for PasskeyAccount {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = CsrfHeader::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CsrfHeader(session) = checked.await?;
            let state = app_state(&req)?;
            match account_session(&state, Some(session)).await? {
                Ok(account) => Ok(Self(account)),
                Err(AccountAccess::SecondFactorFirst) => Err(ApiError::SecondFactorRequired),
                Err(_) => Err(ApiError::LoginRequired),
            }
        })
    }
}

/// A query, form or JSON body that names a pending authorization request
/// (its `request` field), which the page carries along.
pub(crate) trait NamesRequest {
    /// How a failed lookup is answered on this surface.
    type Failure: From<ProtocolError> + Into<actix_web::Error>;
    /// The id as sent (possibly empty).
    fn request_id(&self) -> &str;
}

/// Implements [`NamesRequest`] for deserialized types with a `request` field.
macro_rules! names_request {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::extract::NamesRequest for $t {
            type Failure = $crate::errors::PageError;
            fn request_id(&self) -> &str {
                &self.request
            }
        }
    )+};
}
pub(crate) use names_request;

impl<T: NamesRequest> NamesRequest for web::Query<T> {
    type Failure = PageError;
    fn request_id(&self) -> &str {
        self.0.request_id()
    }
}

impl<T: NamesRequest> NamesRequest for CsrfForm<T> {
    type Failure = PageError;
    fn request_id(&self) -> &str {
        self.form.request_id()
    }
}

impl<T: NamesRequest> NamesRequest for AccountForm<T> {
    type Failure = PageError;
    fn request_id(&self) -> &str {
        self.form.request_id()
    }
}

impl<T: NamesRequest> NamesRequest for AccountView<T> {
    type Failure = PageError;
    fn request_id(&self) -> &str {
        self.form.request_id()
    }
}

impl<T: NamesRequest> NamesRequest for web::Json<T> {
    type Failure = ApiError;
    fn request_id(&self) -> &str {
        self.0.request_id()
    }
}

/// `X` with the pending authorization request it names, resolved: `None`
/// when it names none, or one unknown, expired or no longer allowed to its
/// client (a page carrying a request along tolerates a stale one; resuming
/// it says why). A database failure is answered (503), never taken for
/// "unknown".
#[derive(Debug)]
pub(crate) struct Live<X> {
    /// The query, form or body.
    pub(crate) inner: X,
    /// The live request it names.
    pub(crate) pending: Option<Pending>,
}

impl<X> Live<X> {
    /// The live request's id, or empty.
    pub(crate) fn request(&self) -> &str {
        self.pending.as_ref().map_or("", |p| p.id.as_str())
    }

    /// Where the live request's authorization response goes, for the
    /// page's `form-action` (see [`crate::pages::render_redirecting`]).
    pub(crate) fn redirect_uri(&self) -> Option<&url::Url> {
        self.pending.as_ref().map(|p| p.request.redirect_uri.url())
    }
}

/// The live pending request `id`, if any (see [`Live`]).
async fn live_request(state: &AppState, id: &str) -> Result<Option<Pending>, ProtocolError> {
    if id.is_empty() {
        return Ok(None);
    }
    let keys = state.keys();
    match authorize::load_pending(&state.ctx(&keys), id).await {
        Err(ProtocolError::Rejected { .. }) => Ok(None),
        other => other,
    }
}

impl<X> FromRequest for Live<X>
where
    X: FromRequest + NamesRequest + 'static,
    X::Error: Into<actix_web::Error>,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let inner = X::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let inner = inner.await.map_err(Into::into)?;
            let state = app_state(&req)?;
            let pending = live_request(&state, inner.request_id())
                .await
                .map_err(|e| <X as NamesRequest>::Failure::from(e).into())?;
            Ok(Self { inner, pending })
        })
    }
}

/// The browser's live session, or a new anonymous one (it binds the
/// sign-in forms' CSRF token) whose cookie the page must set.
#[derive(Debug)]
pub(crate) struct Browser {
    /// The session.
    pub(crate) session: Session,
    /// The new session's cookie, when one was started.
    pub(crate) cookie: Option<Cookie<'static>>,
}

impl Browser {
    /// `res` with the new session's cookie, if any.
    pub(crate) fn set_cookie(
        &self,
        mut res: actix_web::HttpResponse,
    ) -> Result<actix_web::HttpResponse, PageError> {
        if let Some(cookie) = &self.cookie {
            res.add_cookie(cookie).map_err(|e| PageError::Internal(crate::errors::Failure::new(e)))?;
        }
        Ok(res)
    }
}

impl FromRequest for Browser {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            if let Some(session) = current(&req).await? {
                return Ok(Self { session, cookie: None });
            }
            let info = client::request_info(&req, &state.auth.trusted_proxies);
            let (session, raw) = state.sessions().start_anonymous(&info).await.map_err(PageError::from)?;
            Ok(Self { session, cookie: Some(cookie(raw)) })
        })
    }
}

/// `?request=…` of a page.
#[derive(serde::Deserialize)]
struct RequestQuery {
    #[serde(default)]
    request: String,
}

/// The browser on the second-factor page: what the page offers its
/// waiting sign-in, and the live request it names — the query's, else the
/// one the sign-in started with (so that the form may lead back to the
/// client). `waiting` is `None` when no sign-in waits.
pub(crate) struct Waiting {
    /// `?request=` as sent.
    pub(crate) request: String,
    /// The session, the page's offer and the live request.
    pub(crate) waiting: Option<(Session, SecondFactorPrompt, Option<Pending>)>,
}

impl FromRequest for Waiting {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let query = web::Query::<RequestQuery>::from_query(req.query_string())?.into_inner();
            let state = app_state(&req)?;
            let Some(session) = current(&req).await? else {
                return Ok(Self { request: query.request, waiting: None });
            };
            let prompt = state.interaction().second_factor_prompt(&session).await.map_err(PageError::from)?;
            let Some(prompt) = prompt else { return Ok(Self { request: query.request, waiting: None }) };
            let id = if query.request.is_empty() { &prompt.then.request } else { &query.request };
            let pending = live_request(&state, id).await.map_err(PageError::from)?;
            Ok(Self { request: query.request, waiting: Some((session, prompt, pending)) })
        })
    }
}

/// Where a user without a password confirms it is them.
const REAUTH_EMAIL: &str = "/login?return=/account/email";

/// A fully signed-in browser on the email page: its session, its user and
/// whether the session authenticated recently and strongly enough to skip
/// the password. Otherwise the account page (which says what is due), or
/// signing in again for a user without a password whose session is not recent.
pub(crate) struct EmailChanger {
    /// The session.
    pub(crate) session: Session,
    /// Its user.
    pub(crate) user: User,
    /// No password needed.
    pub(crate) recent: bool,
}

async fn email_changer(state: &AppState, session: Option<Session>) -> Result<EmailChanger, PageError> {
    let Some((user, recent)) = state.interaction().email_change_access(session.as_ref()).await? else {
        return Err(PageError::SeeOther("/account"));
    };
    if !recent && user.password_hash.is_none() {
        return Err(PageError::SeeOther(REAUTH_EMAIL));
    }
    let session = session.ok_or(PageError::SeeOther("/account"))?;
    Ok(EmailChanger { session, user, recent })
}

impl FromRequest for EmailChanger {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let current = CurrentSession::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CurrentSession(session) = current.await?;
            let state = app_state(&req)?;
            Ok(email_changer(&state, session).await?)
        })
    }
}

/// A form posted by an [`EmailChanger`] whose CSRF token matched.
pub(crate) struct ChangeForm<F> {
    /// Who posted it.
    pub(crate) changer: EmailChanger,
    /// The form.
    pub(crate) form: F,
}

impl<F: DeserializeOwned + CsrfProtected + 'static> FromRequest for ChangeForm<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = CsrfForm::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CsrfForm { session, form } = checked.await?;
            let state = app_state(&req)?;
            Ok(Self { changer: email_changer(&state, Some(session)).await?, form })
        })
    }
}

/// Where an administrator whose authentication is too old signs in again.
pub(crate) const REAUTH_ADMIN: &str = "/login?return=/admin";

/// Why `standing` may not use the console, as a page answer.
fn refusal(standing: AdminStanding) -> PageError {
    match standing {
        AdminStanding::SecondFactorFirst => PageError::SecondFactorFirst,
        AdminStanding::EnrollFirst => PageError::SeeOther("/account?enroll=required"),
        AdminStanding::Reauthenticate => PageError::SeeOther(REAUTH_ADMIN),
        AdminStanding::NotAdmin | AdminStanding::Read | AdminStanding::Change => PageError::NotFound,
    }
}

/// An administrator reading the console.
pub(crate) struct AdminReader(pub(crate) Admin);

async fn admin_of(req: &HttpRequest) -> Result<Admin, PageError> {
    let state = app_state(req)?;
    let session = current(req).await?;
    match state.admin().access(session.as_ref()).await? {
        AdminAccess::Allowed(admin) => Ok(*admin),
        AdminAccess::Refused(standing) => Err(refusal(standing)),
    }
}

impl FromRequest for AdminReader {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Self(admin_of(&req).await?)) })
    }
}

/// A console form: an administrator, then its CSRF token (else 403,
/// nothing read or written). A change by a session authenticated more than
/// 5 minutes ago is refused by the operation (sign in again).
pub(crate) struct AdminChange<F> {
    pub(crate) admin: Admin,
    pub(crate) form: F,
}

impl<F: DeserializeOwned + CsrfProtected + 'static> FromRequest for AdminChange<F> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<F>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            // The gate first: a non-admin learns nothing, not even that the
            // form was malformed.
            let admin = admin_of(&req).await?;
            let form = form.await?.into_inner();
            if !crate::csrf::matches(Some(&admin.session), Some(form.csrf_token())) {
                return Err(PageError::Csrf.into());
            }
            Ok(Self { admin, form })
        })
    }
}

/// The header a session caller of the admin API sends its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "X-CSRF-Token";

/// Who calls: an administrator's session or an admin-API client, and from where.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    who: Who,
    /// The request's address and user agent, for the audit log.
    pub(crate) info: RequestInfo,
}

#[derive(Debug, Clone)]
enum Who {
    Admin(Box<Admin>),
    Client(String),
}

impl Caller {
    /// The caller as the console's operations take it.
    pub(crate) fn by(&self) -> By<'_> {
        match &self.who {
            Who::Admin(admin) => By::Admin(admin),
            Who::Client(id) => By::Client(id),
        }
    }

    /// The caller as the client registry takes it.
    pub(crate) fn registry_actor(&self) -> portcullis_protocol::clients::Actor {
        use portcullis_protocol::clients::Actor;
        let (ip, user_agent) = (self.info.ip.clone(), self.info.user_agent.clone());
        match &self.who {
            Who::Admin(admin) => {
                Actor::Admin { id: admin.user.id, may_change: admin.may_change().is_ok(), ip, user_agent }
            }
            Who::Client(id) => Actor::ApiClient { id: id.clone(), ip, user_agent },
        }
    }

    /// The caller as the keys console takes it, once it may change things
    /// (an administrator authenticated within 5 minutes, or a client).
    pub(crate) fn keys_actor(&self) -> Result<portcullis_keys::Actor, crate::errors::AdminApiError> {
        self.by().may_change()?;
        let user_id = match &self.who {
            Who::Admin(admin) => admin.user.id.to_string(),
            Who::Client(id) => format!("client:{id}"),
        };
        let info = self.info.clone();
        Ok(portcullis_keys::Actor { user_id: Some(user_id), ip: info.ip, user_agent: info.user_agent })
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = req.extensions().get::<Rc<Caller>>().map(|c| Caller::clone(c));
        // Only reachable behind the gate, which always leaves a caller.
        ready(caller.ok_or_else(|| crate::errors::AdminApiError::InvalidToken("no credentials").into()))
    }
}

/// Decides who calls before anything else of the request is read.
pub(crate) async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let caller = caller(req.request()).await?;
    req.extensions_mut().insert(Rc::new(caller));
    next.call(req).await
}

async fn caller(req: &HttpRequest) -> Result<Caller, crate::errors::AdminApiError> {
    let state = app_state(req)?;
    let info = client::request_info(req, &state.auth.trusted_proxies);
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(crate::errors::AdminApiError::InvalidToken("send Authorization: Bearer <access token>"))?;
        let keys = state.keys();
        let id = portcullis_protocol::access::admin_api_client(&state.ctx(&keys), token).await?;
        return Ok(Caller { who: Who::Client(id), info });
    }
    let Some(session) = current(req).await? else {
        return Err(crate::errors::AdminApiError::InvalidToken(
            "no credentials: a bearer token or an administrator's session",
        ));
    };
    match state.admin().access(Some(&session)).await? {
        AdminAccess::Allowed(admin) => {
            if !req.method().is_safe() {
                let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !csrf::matches(Some(&admin.session), sent) {
                    return Err(crate::errors::AdminApiError::Csrf);
                }
            }
            Ok(Caller { who: Who::Admin(admin), info })
        }
        AdminAccess::Refused(AdminStanding::Reauthenticate) => {
            Err(crate::errors::AdminApiError::Reauthenticate)
        }
        AdminAccess::Refused(AdminStanding::SecondFactorFirst | AdminStanding::EnrollFirst) => {
            Err(crate::errors::AdminApiError::SecondFactor)
        }
        AdminAccess::Refused(_) => Err(crate::errors::AdminApiError::NotFound),
    }
}
