//! `users`: list, create (with an invitation), read, edit (`If-Match`),
//! delete; disable, enable, password reset, second factors; a user's
//! sessions and connected clients. One call into `authn` each.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_authn::admin::{NewMember, UserChanges, UsersPage, user_version};
use portcullis_store::{ConnectedClient, Session, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Caller, IfMatch, List, PageQuery, instant, list_schema, segment, tagged, text, uuid};
use crate::AppState;
use crate::errors::AdminApiError;

super::api_routes! {
    GET "/users" => list,
    POST "/users" => create,
    GET "/users/{id}" => show,
    PATCH "/users/{id}" => edit,
    DELETE "/users/{id}" => delete,
    POST "/users/{id}/disable" => disable,
    POST "/users/{id}/enable" => enable,
    POST "/users/{id}/password-reset" => password_reset,
    DELETE "/users/{id}/second-factors" => reset_second_factors,
    PUT "/users/{id}/second-factor-required" => require_second_factor,
    GET "/users/{id}/sessions" => sessions,
    DELETE "/users/{id}/sessions" => end_sessions,
    GET "/users/{id}/clients" => clients,
    DELETE "/users/{id}/clients/{client_id}" => revoke_client,
}

type Answer = Result<HttpResponse, AdminApiError>;

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserOut {
    id: Uuid,
    username: String,
    email: String,
    email_verified: bool,
    /// The name to show, if any.
    name: Option<String>,
    roles: Vec<String>,
    /// The names of the user's groups (the `groups` claim).
    groups: Vec<String>,
    /// A disabled user cannot sign in and holds no sessions or tokens.
    disabled: bool,
    /// The user must sign in with a second factor.
    mfa_required: bool,
    #[schema(format = DateTime)]
    created_at: String,
}

impl UserOut {
    fn of(user: &User, groups: &[String]) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            name: user.display_name.clone(),
            roles: user.roles.clone(),
            groups: groups.to_vec(),
            disabled: user.disabled,
            mfa_required: user.mfa_required,
            created_at: instant(user.created_at),
        }
    }
}

list_schema!(UserList, UserOut);

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserIn {
    username: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
    /// Roles (`admin` cannot be given here: an administrator needs a second
    /// factor, which no mailed link stands in for).
    #[serde(default)]
    roles: Vec<String>,
    /// Mail an invitation with a single-use link to choose a password
    /// (valid 7 days). Without it the account waits for a password reset.
    #[serde(default)]
    send_invitation: bool,
}

/// What changes of a user (fields left out stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
    /// A new address is unverified and ends the account's mailed links.
    #[serde(default)]
    email: Option<String>,
    /// An empty string removes the name.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

/// Whether the user must use a second factor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequiredIn {
    required: bool,
}

/// The search of the users list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsersQuery {
    /// Users whose username, email or name begins with this (case-insensitively).
    q: Option<String>,
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionOut {
    /// The session's public id (`sid` in tokens and logout).
    sid: String,
    user_id: Option<Uuid>,
    /// The user's username.
    username: String,
    ip: Option<String>,
    user_agent: Option<String>,
    /// Authentication methods used (`pwd`, `hwk`, `otp`, …).
    amr: Vec<String>,
    acr: Option<String>,
    #[schema(format = DateTime)]
    auth_time: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_seen_at: String,
}

impl SessionOut {
    pub(crate) fn of(session: &Session, username: &str) -> Self {
        Self {
            sid: session.sid.clone(),
            user_id: session.user_id,
            username: username.to_owned(),
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
            amr: session.amr.clone(),
            acr: session.acr.clone(),
            auth_time: session.auth_time.map(instant),
            created_at: instant(session.created_at),
            last_seen_at: instant(session.last_seen_at),
        }
    }
}

list_schema!(SessionList, SessionOut);

/// A client a user is connected to (consent or refresh tokens).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectedOut {
    client_id: String,
    name: String,
    /// What the client may access.
    scopes: Vec<String>,
    #[schema(format = DateTime)]
    since: String,
    /// Live grants (refresh tokens) it holds.
    grants: u64,
}

impl From<&ConnectedClient> for ConnectedOut {
    fn from(c: &ConnectedClient) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            scopes: c.scopes.clone(),
            since: instant(c.since),
            grants: c.grants,
        }
    }
}

list_schema!(ConnectedList, ConnectedOut);

/// What an ending did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ended {
    /// Sessions ended.
    sessions: u64,
    /// Grants (refresh tokens) revoked.
    grants: u64,
}

/// Lists users by username.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "users", params(UsersQuery, PageQuery),
    responses((status = 200, description = "A page of users", body = UserList)))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    search: web::Query<UsersQuery>,
    page: web::Query<PageQuery>,
) -> Answer {
    let prefix = text(search.q.as_deref(), "q")?.unwrap_or_default();
    let (limit, after) = (page.limit()?, page.after("users")?.unwrap_or_default());
    let UsersPage { users, groups, next } =
        state.admin().users_page_with_groups(caller.by(), &prefix, &after, limit).await?;
    let items = users.iter().zip(&groups).map(|(u, g)| UserOut::of(u, g)).collect();
    Ok(HttpResponse::Ok().json(List { items, next: next.map(|n| super::cursor("users", &n)) }))
}

/// Creates a user without a password; with `send_invitation`, mails them
/// a single-use link to choose one.
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "users", request_body = NewUserIn,
    responses((status = 201, description = "Created", body = UserOut,
        headers(("ETag" = String, description = "The user's version"), ("Location" = String)))))]
pub(crate) async fn create(state: web::Data<AppState>, caller: Caller, body: web::Json<NewUserIn>) -> Answer {
    let body = body.into_inner();
    let new = NewMember {
        username: body.username,
        email: body.email,
        display_name: body.name,
        roles: body.roles,
        send_invitation: body.send_invitation,
    };
    let user = state.admin().invite(caller.by(), new, &state.mail.context, &caller.info).await?;
    state.mail.wake();
    let mut response = tagged(StatusCode::CREATED, &UserOut::of(&user, &[]), &user_version(&user, &[]));
    if let Ok(location) = format!("{}/users/{}", super::BASE, user.id).parse() {
        response.headers_mut().insert(actix_web::http::header::LOCATION, location);
    }
    Ok(response)
}

/// Reads a user (with its `ETag`).
#[utoipa::path(get, path = "/admin/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The user", body = UserOut,
        headers(("ETag" = String, description = "The user's version: send it as If-Match to change them")))))]
pub(crate) async fn show(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let detail = state.admin().user(caller.by(), uuid(&id)?).await?;
    let version = user_version(&detail.user, &detail.groups);
    Ok(tagged(StatusCode::OK, &UserOut::of(&detail.user, &detail.groups), &version))
}

/// Changes a user's email, name or roles — only from the version `If-Match` names.
#[utoipa::path(patch, path = "/admin/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag this change is based on")),
    responses((status = 200, description = "The user as changed", body = UserOut,
        headers(("ETag" = String, description = "The new version")))))]
pub(crate) async fn edit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    body: web::Json<UserPatch>,
) -> Answer {
    let body = body.into_inner();
    let changes = UserChanges { display_name: body.name, email: body.email, roles: body.roles };
    let id = uuid(&id)?;
    let (user, groups) = state.admin().edit_user(caller.by(), id, &version, &changes, &caller.info).await?;
    Ok(tagged(StatusCode::OK, &UserOut::of(&user, &groups), &user_version(&user, &groups)))
}

/// Deletes a user: their sessions end, their tokens are revoked; audit
/// events keep their id.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, description = "Deleted", body = Ended)))]
pub(crate) async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let ended = state.admin().delete_user(caller.by(), uuid(&id)?, None, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions: ended.sessions, grants: ended.grants }))
}

/// Disables a user: their sessions end and their refresh tokens are revoked at once.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/disable", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, description = "Disabled", body = Ended)))]
pub(crate) async fn disable(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let ended = state.admin().disable(caller.by(), uuid(&id)?, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions: ended.sessions, grants: ended.grants }))
}

/// Enables a disabled user.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/enable", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Enabled")))]
pub(crate) async fn enable(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    state.admin().enable(caller.by(), uuid(&id)?, &caller.info).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mails the user a password-reset link (the "Forgot password?" rules and limits).
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/password-reset", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 202, description = "The mail is queued")))]
pub(crate) async fn password_reset(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Answer {
    let id = uuid(&id)?;
    state.admin().send_password_reset(caller.by(), id, &state.recovery(), &caller.info).await?;
    state.mail.wake();
    Ok(HttpResponse::Accepted().finish())
}

/// Removes every second factor of the user (passkeys, authenticator app,
/// recovery codes); their sessions end.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/second-factors", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, description = "Removed", body = Ended)))]
pub(crate) async fn reset_second_factors(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Answer {
    let ended = state.admin().reset_second_factors(caller.by(), uuid(&id)?, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions: ended.sessions, grants: ended.grants }))
}

/// Sets whether the user must sign in with a second factor.
#[utoipa::path(put, path = "/admin/api/v1/users/{id}/second-factor-required", tag = "users",
    params(("id" = Uuid, Path)), request_body = RequiredIn,
    responses((status = 204, description = "Set")))]
pub(crate) async fn require_second_factor(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RequiredIn>,
) -> Answer {
    let id = uuid(&id)?;
    state.admin().require_second_factor(caller.by(), id, body.required, &caller.info).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The user's live sessions, most recently used first.
#[utoipa::path(get, path = "/admin/api/v1/users/{id}/sessions", tag = "users",
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, description = "Their sessions", body = SessionList)))]
pub(crate) async fn sessions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Answer {
    let (limit, after) = (page.limit()?, page.after("user-sessions")?);
    let detail = state.admin().user(caller.by(), uuid(&id)?).await?;
    let username = detail.user.username.clone();
    let (items, next) =
        super::page_of(detail.sessions, |s| s.sid.clone(), after.as_deref(), limit, "user-sessions");
    let items = items.iter().map(|s| SessionOut::of(s, &username)).collect();
    Ok(HttpResponse::Ok().json(List { items, next }))
}

/// Ends every session of the user (with their back-channel logouts).
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/sessions", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, description = "Ended", body = Ended)))]
pub(crate) async fn end_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Answer {
    let sessions = state.admin().end_sessions(caller.by(), uuid(&id)?, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions, grants: 0 }))
}

/// The clients the user is connected to.
#[utoipa::path(get, path = "/admin/api/v1/users/{id}/clients", tag = "users",
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, description = "Their connected clients", body = ConnectedList)))]
pub(crate) async fn clients(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Answer {
    let (limit, after) = (page.limit()?, page.after("user-clients")?);
    let detail = state.admin().user(caller.by(), uuid(&id)?).await?;
    let (items, next) =
        super::page_of(detail.clients, |c| c.client_id.clone(), after.as_deref(), limit, "user-clients");
    Ok(HttpResponse::Ok().json(List { items: items.iter().map(ConnectedOut::from).collect(), next }))
}

/// Disconnects the user from a client: its consent is deleted, its
/// refresh tokens revoked, and it is sent a back-channel logout.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/clients/{client_id}", tag = "users",
    params(("id" = Uuid, Path), ("client_id" = String, Path)),
    responses((status = 200, description = "Disconnected", body = Ended)))]
pub(crate) async fn revoke_client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, client_id) = (uuid(&path.0)?, segment(&path.1)?);
    let grants = state.admin().revoke_client(caller.by(), id, client_id, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Ended { sessions: 0, grants }))
}
