//! The console's groups: list and create, a group's page (members in and
//! out, rename, delete). One call into `AdminConsole` each.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::AuthnError;
use portcullis_authn::admin::{By, GroupDetail};
use serde::Deserialize;
use uuid::Uuid;

use super::{Change, REAUTH, Reader};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Requester, csrf_protected};
use crate::pages::render;
use crate::routes::oidc::authorize::see_other;

super::console_routes! {
    GET "/groups" => list,
    POST "/groups" => create,
    GET "/groups/{id}" => show,
    POST "/groups/{id}/rename" => rename,
    POST "/groups/{id}/delete" => delete,
    POST "/groups/{id}/members" => add_member,
    POST "/groups/{id}/members/{user}/remove" => remove_member,
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    groups: Vec<(String, String)>,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    id: String,
    name: &'a str,
    members: Vec<(String, String, String)>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

/// The fixed notices and errors a change may report (never reflected text).
fn message(code: &str) -> (Option<&'static str>, Option<&'static str>) {
    match code {
        "added" => (Some("The user is now a member."), None),
        "already" => (Some("The user was a member already."), None),
        "removed" => (Some("The user is no longer a member."), None),
        "renamed" => (Some("The group was renamed."), None),
        "created" => (Some("The group was created."), None),
        "unknown-user" => (None, Some("No user has that username or email address.")),
        "taken" => (None, Some("Another group has that name.")),
        "invalid" => (None, Some("A group name is 1–64 characters.")),
        _ => (None, None),
    }
}

/// `?done=…` after a change.
#[derive(Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /admin/groups`.
pub(crate) async fn list(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let groups = state.admin().groups().list().await?;
    let page = GroupsPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        groups: groups.into_iter().map(|g| (g.id.to_string(), g.name)).collect(),
        error: message(&query.done).1,
    };
    render(StatusCode::OK, &page)
}

fn id_of(path: &str) -> Result<Uuid, PageError> {
    path.parse().map_err(|_| PageError::NotFound)
}

/// `GET /admin/groups/{id}`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    path: web::Path<String>,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let GroupDetail { group, members } = match state.admin().groups().detail(id_of(&path)?).await {
        Err(AuthnError::UnknownGroup) => return Err(PageError::NotFound),
        other => other?,
    };
    let (notice, error) = message(&query.done);
    let page = GroupPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        id: group.id.to_string(),
        name: &group.name,
        members: members.into_iter().map(|u| (u.id.to_string(), u.username, u.email)).collect(),
        notice,
        error,
    };
    render(StatusCode::OK, &page)
}

/// A group form: its name, or the member to add.
#[derive(Deserialize)]
pub(crate) struct GroupForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    login: String,
}
csrf_protected!(GroupForm);

/// Where a group change leads: back to `to` with its code; a refusal the
/// page explains, or a page answer.
fn after<T>(to: &str, done: &str, result: Result<T, AuthnError>) -> Result<HttpResponse, PageError> {
    let code = match result {
        Ok(_) => done,
        Err(AuthnError::ReauthenticationRequired) => return Err(PageError::SeeOther(REAUTH)),
        Err(AuthnError::UnknownGroup) => return Err(PageError::NotFound),
        Err(AuthnError::UnknownUser) => "unknown-user",
        Err(AuthnError::Taken) => "taken",
        Err(AuthnError::InvalidIdentity(_)) => "invalid",
        Err(e) => return Err(e.into()),
    };
    Ok(see_other(&format!("{to}?done={code}")))
}

/// `POST /admin/groups`: creates a group, then its page.
pub(crate) async fn create(
    state: web::Data<AppState>,
    Requester(info): Requester,
    Change { admin, form }: Change<GroupForm>,
) -> Result<HttpResponse, PageError> {
    match state.admin().groups().create_group(By::Admin(&admin), &form.name, &info).await {
        Ok(group) => Ok(see_other(&format!("/admin/groups/{}?done=created", group.id))),
        other => after("/admin/groups", "created", other),
    }
}

/// `POST /admin/groups/{id}/rename`.
pub(crate) async fn rename(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<GroupForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&path)?;
    after(
        &format!("/admin/groups/{id}"),
        "renamed",
        state.admin().groups().rename_group(By::Admin(&admin), id, &form.name, None, &info).await,
    )
}

/// `POST /admin/groups/{id}/delete`.
pub(crate) async fn delete(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<GroupForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&path)?;
    after("/admin/groups", "deleted", state.admin().groups().delete_group(By::Admin(&admin), id, &info).await)
}

/// `POST /admin/groups/{id}/members` (`login`: a username or email).
pub(crate) async fn add_member(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<GroupForm>,
) -> Result<HttpResponse, PageError> {
    let id = id_of(&path)?;
    let to = format!("/admin/groups/{id}");
    match state.admin().groups().add_member(By::Admin(&admin), id, &form.login, &info).await {
        Ok(false) => after(&to, "already", Ok(())),
        other => after(&to, "added", other),
    }
}

/// `POST /admin/groups/{id}/members/{user}/remove`.
pub(crate) async fn remove_member(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<(String, String)>,
    Change { admin, .. }: Change<GroupForm>,
) -> Result<HttpResponse, PageError> {
    let (id, user) = (id_of(&path.0)?, id_of(&path.1)?);
    after(
        &format!("/admin/groups/{id}"),
        "removed",
        state.admin().groups().remove_member(By::Admin(&admin), id, user, &info).await,
    )
}
