//! The console's dashboard and user pages: one call into
//! `portcullis_authn::admin::AdminConsole` each.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::admin::{Dashboard, NewMember, PAGE_SIZE, UserDetail, UsersPage as Page};
use portcullis_authn::{AuthnError, TotpState};
use portcullis_store::User;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use super::{Change, REAUTH, Reader};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Requester, csrf_protected};
use crate::pages::render;
use crate::routes::oidc::authorize::see_other;

super::console_routes! {
    GET "" => dashboard,
    GET "/users" => list,
    POST "/users" => create,
    GET "/users/new" => new_user,
    GET "/users/{id}" => show,
    POST "/users/{id}/disable" => disable,
    POST "/users/{id}/enable" => enable,
    POST "/users/{id}/reset-second-factors" => reset_second_factors,
    POST "/users/{id}/require-second-factor" => require_second_factor,
    POST "/users/{id}/end-sessions" => end_sessions,
    POST "/users/{id}/roles" => set_roles,
    POST "/users/{id}/clients/{client}/revoke" => revoke_client,
    POST "/users/{id}/profile" => update_profile,
    POST "/users/{id}/send-reset" => send_reset,
    POST "/users/{id}/delete" => delete,
}

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    d: Dashboard,
    oldest_unsent: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    users: &'a [UserRow],
    q: &'a str,
    /// The next page's address, if any.
    next: Option<String>,
}

struct UserRow {
    id: String,
    username: String,
    email: String,
    roles: String,
    disabled: bool,
    created: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            roles: u.roles.join(", "),
            disabled: u.disabled,
            created: when(u.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    user: UserRow,
    email_verified: bool,
    mfa_required: bool,
    totp: bool,
    passkeys: Vec<(String, String)>,
    recovery_codes: u64,
    sessions: Vec<SessionRow>,
    notice: Option<&'a str>,
    display_name: String,
    groups: String,
    /// (client id, name, scopes, since).
    clients: Vec<(String, String, String, String)>,
}

struct SessionRow {
    created: String,
    last_seen: String,
    ip: String,
    user_agent: String,
    amr: String,
}

/// `GET /admin`.
pub(crate) async fn dashboard(
    state: web::Data<AppState>,
    Reader(admin): Reader,
) -> Result<HttpResponse, PageError> {
    let d = state.admin().dashboard(&admin).await?;
    let oldest_unsent = d.outbox.oldest_pending_at.map(|at| age(d.at - at)).unwrap_or_else(|| "—".to_owned());
    let page = DashboardPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        d,
        oldest_unsent,
    };
    render(StatusCode::OK, &page)
}

/// A duration as people read it: "3 min", "2 h 5 min", "4 d".
fn age(d: time::Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

/// `GET /admin/users?q=…&after=…`.
#[derive(Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

/// `GET /admin/users`: search (a prefix of the username, email or name)
/// and keyset pages of 50.
pub(crate) async fn list(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<Search>,
) -> Result<HttpResponse, PageError> {
    let Page { users, next, .. } =
        state.admin().users_page(&admin, &query.q, &query.after, PAGE_SIZE).await?;
    let users: Vec<UserRow> = users.iter().map(UserRow::from).collect();
    let page = UsersPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        users: &users,
        q: &query.q,
        next: next.map(|after| {
            let query = serde_urlencoded::to_string([("q", query.q.as_str()), ("after", &after)]);
            format!("/admin/users?{}", query.unwrap_or_default())
        }),
    };
    render(StatusCode::OK, &page)
}

/// `?done=…` after a change.
#[derive(Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// The fixed notices a change may report (never reflected text).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "disabled" => "The user is disabled; their sessions and refresh tokens ended.",
        "enabled" => "The user is enabled.",
        "second-factors-reset" => "Every second factor of the user was removed; their sessions ended.",
        "second-factor-required" => "The user must use a second factor.",
        "second-factor-optional" => "A second factor is up to the user (or the policy).",
        "sessions-ended" => "Every session of the user ended.",
        "roles-changed" => "The user's roles were changed.",
        "invited" => "The user was created; the invitation is on its way.",
        "client-revoked" => "The application's access ended (consent and tokens); it was told.",
        "profile-changed" => "The profile was saved.",
        "reset-sent" => "A password-reset link is on its way to the user's address.",
        _ => return None,
    })
}

fn user_id(path: &str) -> Result<Uuid, PageError> {
    path.parse().map_err(|_| PageError::NotFound)
}

/// `GET /admin/users/{id}`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    path: web::Path<String>,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let detail = match state.admin().user(&admin, user_id(&path)?).await {
        Err(AuthnError::UnknownUser) => return Err(PageError::NotFound),
        other => other?,
    };
    let UserDetail { user, factors, totp, passkeys, sessions, groups, clients } = detail;
    let page = UserPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        email_verified: user.email_verified,
        mfa_required: user.mfa_required,
        totp: totp == TotpState::Enabled,
        passkeys: passkeys.into_iter().map(|p| (p.name, when(p.created_at))).collect(),
        recovery_codes: factors.recovery_codes,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                created: when(s.created_at),
                last_seen: when(s.last_seen_at),
                ip: s.ip.unwrap_or_default(),
                user_agent: s.user_agent.unwrap_or_default(),
                amr: s.amr.join(" "),
            })
            .collect(),
        notice: notice(&query.done),
        groups: groups.join(", "),
        display_name: user.display_name.clone().unwrap_or_default(),
        clients: clients
            .into_iter()
            .map(|c| (c.client_id, c.name, c.scopes.join(" "), when(c.since)))
            .collect(),
        user: UserRow::from(&user),
    };
    render(StatusCode::OK, &page)
}

/// A console action's form: the CSRF token (and, for the second-factor
/// requirement, `required=on|off`).
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    required: String,
    /// Roles, separated by commas or spaces.
    #[serde(default)]
    roles: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    /// The typed confirmation of a deletion (the username).
    #[serde(default)]
    confirm: String,
}
csrf_protected!(ActionForm);

/// Where an action on `id` leads: the user's page with its notice; a
/// refusal as a page (sign in again, not on yourself, unknown user).
fn after<T>(id: Uuid, done: &str, result: Result<T, AuthnError>) -> Result<HttpResponse, PageError> {
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/users/{id}?done={done}"))),
        Err(AuthnError::ReauthenticationRequired) => Err(PageError::SeeOther(REAUTH)),
        Err(AuthnError::UnknownUser | AuthnError::UnknownClient) => Err(PageError::NotFound),
        Err(AuthnError::InvalidIdentity(why)) => Err(PageError::BadRequest(why)),
        Err(AuthnError::Taken) => Err(PageError::BadRequest("another account has that email address".into())),
        Err(AuthnError::ConfirmationMismatch) => {
            Err(PageError::BadRequest("type the username exactly to confirm; nothing was deleted".into()))
        }
        Err(AuthnError::NotOnYourself) => {
            Err(PageError::BadRequest("another administrator must do this to your account".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/disable`.
pub(crate) async fn disable(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    after(id, "disabled", state.admin().disable(&admin, id, &info).await)
}

/// `POST /admin/users/{id}/enable`.
pub(crate) async fn enable(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    after(id, "enabled", state.admin().enable(&admin, id, &info).await)
}

/// `POST /admin/users/{id}/reset-second-factors`.
pub(crate) async fn reset_second_factors(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    after(id, "second-factors-reset", state.admin().reset_second_factors(&admin, id, &info).await)
}

/// `POST /admin/users/{id}/require-second-factor` (`required=on|off`).
pub(crate) async fn require_second_factor(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let (id, required) = (user_id(&path)?, form.required == "on");
    let done = if required { "second-factor-required" } else { "second-factor-optional" };
    after(id, done, state.admin().require_second_factor(&admin, id, required, &info).await)
}

/// `POST /admin/users/{id}/end-sessions`.
pub(crate) async fn end_sessions(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    after(id, "sessions-ended", state.admin().end_sessions(&admin, id, &info).await)
}

/// `POST /admin/users/{id}/roles` (`roles`: separated by commas or spaces).
pub(crate) async fn set_roles(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    let roles: Vec<String> = form.roles.split([',', ' ']).map(str::to_owned).collect();
    after(id, "roles-changed", state.admin().set_roles(&admin, id, &roles, &info).await)
}

#[derive(Template)]
#[template(path = "admin/new_user.html")]
struct NewUserPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    error: Option<&'a str>,
    username: &'a str,
    email: &'a str,
    name: &'a str,
    roles: &'a str,
}

/// `GET /admin/users/new`: the form.
pub(crate) async fn new_user(Reader(admin): Reader) -> Result<HttpResponse, PageError> {
    let page = NewUserPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        error: None,
        username: "",
        email: "",
        name: "",
        roles: "",
    };
    render(StatusCode::OK, &page)
}

/// The new-user form as posted.
#[derive(Deserialize)]
pub(crate) struct NewUserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: String,
}
csrf_protected!(NewUserForm);

/// `POST /admin/users`: creates the user and mails the invitation.
pub(crate) async fn create(
    state: web::Data<AppState>,
    Requester(info): Requester,
    Change { admin, form }: Change<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    let new = NewMember {
        username: form.username.clone(),
        email: form.email.clone(),
        display_name: Some(form.name.clone()),
        roles: form.roles.split([',', ' ']).filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        send_invitation: true,
    };
    let refused = |error: &str| {
        let page = NewUserPage {
            csrf_token: &admin.session.csrf_token,
            admin: &admin.user.username,
            error: Some(error),
            username: &form.username,
            email: &form.email,
            name: &form.name,
            roles: &form.roles,
        };
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    match state.admin().invite(&admin, new, &state.mail.context, &info).await {
        Ok(user) => {
            state.mail.wake();
            Ok(see_other(&format!("/admin/users/{}?done=invited", user.id)))
        }
        Err(AuthnError::ReauthenticationRequired) => Err(PageError::SeeOther(REAUTH)),
        Err(AuthnError::Taken) => refused("That username or email address is in use."),
        Err(AuthnError::InvalidIdentity(why)) => refused(&why),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/clients/{client}/revoke`.
pub(crate) async fn revoke_client(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<(String, String)>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path.0)?;
    after(id, "client-revoked", state.admin().revoke_client(&admin, id, &path.1, &info).await)
}

/// `POST /admin/users/{id}/profile` (`name`, `email`).
pub(crate) async fn update_profile(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    after(
        id,
        "profile-changed",
        state.admin().update_profile(&admin, id, &form.name, &form.email, &info).await,
    )
}

/// `POST /admin/users/{id}/send-reset`.
pub(crate) async fn send_reset(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    let sent = state.admin().send_password_reset(&admin, id, &state.recovery(), &info).await;
    if sent.is_ok() {
        state.mail.wake();
    }
    after(id, "reset-sent", sent)
}

/// `POST /admin/users/{id}/delete` (`confirm`: the username, typed).
pub(crate) async fn delete(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let id = user_id(&path)?;
    match state.admin().delete_user(&admin, id, Some(&form.confirm), &info).await {
        Ok(_) => Ok(see_other("/admin/users")),
        other => after(id, "deleted", other),
    }
}
